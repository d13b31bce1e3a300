//! Frame builders and an engine-like driver shared by the integration tests.
#![allow(dead_code)]

use ks_proto::{Direction, StreamParser};
use ks_proto_http2::{Http2Config, Http2Parser, Message, Stream};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in entries {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(4, 0, 0, &p)
}

pub fn settings_ack() -> Vec<u8> {
    frame(4, 1, 0, &[])
}

/// HPACK string literal without Huffman (length < 127).
fn string(s: &str, out: &mut Vec<u8>) {
    assert!(s.len() < 127);
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Literal field without indexing, literal name (RFC 7541 6.2.2).
pub fn lit(name: &str, value: &str) -> Vec<u8> {
    let mut o = vec![0x00];
    string(name, &mut o);
    string(value, &mut o);
    o
}

/// Literal field with incremental indexing, literal name (RFC 7541 6.2.1).
pub fn lit_idx(name: &str, value: &str) -> Vec<u8> {
    let mut o = vec![0x40];
    string(name, &mut o);
    string(value, &mut o);
    o
}

/// Indexed field (index < 127).
pub fn idx(i: u8) -> Vec<u8> {
    vec![0x80 | i]
}

pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// `:method GET`, `:scheme http`, `:path /`, `:authority a`.
pub fn get_block() -> Vec<u8> {
    cat(&[idx(2), idx(6), idx(4), lit(":authority", "a")])
}

/// `:status 200`.
pub fn ok_block() -> Vec<u8> {
    idx(8)
}

pub fn headers(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    frame(1, flags, stream, block)
}

pub fn data(stream: u32, flags: u8, body: &[u8]) -> Vec<u8> {
    frame(0, flags, stream, body)
}

pub const ES: u8 = 0x1;
pub const EH: u8 = 0x4;

pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Engine-like driver: keeps the unconsumed rest per direction, honours
/// `needed`, calls again after an `Err`.
pub struct Driver {
    pub p: Http2Parser,
    pub out: Vec<Message>,
    buf: [Vec<u8>; 2],
    needed: [usize; 2],
    fresh: [usize; 2],
    seen: [u64; 2],
}

pub const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

impl Driver {
    pub fn new(cfg: Http2Config) -> Self {
        Driver::with(Http2Parser::new(cfg, [0, 0]), [0, 0])
    }

    /// `start`: the offsets the parser was created with.
    pub fn with(p: Http2Parser, start: [u64; 2]) -> Self {
        Driver {
            p,
            out: Vec::new(),
            buf: Default::default(),
            needed: [0; 2],
            fresh: [0; 2],
            seen: start,
        }
    }

    pub fn feed(&mut self, d: usize, bytes: &[u8]) {
        self.seen[d] += bytes.len() as u64;
        self.buf[d].extend_from_slice(bytes);
        self.fresh[d] += bytes.len();
        if self.fresh[d] < self.needed[d] {
            return;
        }
        self.fresh[d] = 0;
        self.run(d);
    }

    fn run(&mut self, d: usize) {
        let mut errors = 0;
        loop {
            let buf = std::mem::take(&mut self.buf[d]);
            let r = self.p.parse(DIRS[d], &buf, &mut self.out);
            self.buf[d] = buf;
            match r {
                Ok(p) => {
                    assert!(p.consumed <= self.buf[d].len());
                    self.buf[d].drain(..p.consumed);
                    self.needed[d] = p.needed;
                    if !self.buf[d].is_empty() {
                        assert!(p.needed >= 1 || p.consumed > 0, "spin");
                    }
                    if p.consumed == 0 || self.buf[d].is_empty() {
                        break;
                    }
                }
                Err(_) => {
                    errors += 1;
                    if errors > 2 {
                        break;
                    }
                }
            }
        }
        let lw = self.p.low_water(DIRS[d]);
        assert!(lw <= self.seen[d], "low water {lw} past {}", self.seen[d]);
    }

    pub fn feed_chunked(&mut self, d: usize, bytes: &[u8], chunk: usize) {
        for c in bytes.chunks(chunk.max(1)) {
            self.feed(d, c);
        }
    }

    pub fn lose(&mut self, d: usize, len: u64) {
        let held = self.buf[d].len() as u64;
        self.buf[d].clear();
        self.needed[d] = 0;
        self.fresh[d] = 0;
        self.seen[d] += len;
        self.p.gap(DIRS[d], held + len, &mut self.out);
    }

    pub fn end(&mut self) {
        for (d, dir) in DIRS.into_iter().enumerate() {
            if !self.buf[d].is_empty() {
                self.run(d);
            }
            self.p.end(dir, &mut self.out);
        }
    }

    pub fn streams(&self) -> Vec<Stream> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Stream(s) => Some((**s).clone()),
                _ => None,
            })
            .collect()
    }

    pub fn events(&self) -> Vec<&'static str> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Event(e) => Some(e.kind),
                _ => None,
            })
            .collect()
    }
}

/// Run a script of (direction, bytes) in one piece each, then end.
pub fn run(cfg: Http2Config, script: &[(usize, Vec<u8>)], chunk: usize) -> Driver {
    let mut d = Driver::new(cfg);
    for (dir, bytes) in script {
        if chunk == 0 {
            d.feed(*dir, bytes);
        } else {
            d.feed_chunked(*dir, bytes, chunk);
        }
    }
    d.end();
    d
}
