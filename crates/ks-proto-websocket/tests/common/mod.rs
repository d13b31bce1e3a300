//! Test helpers: a frame builder (RFC 6455 §5.2 layout) and a driver that calls
//! the parser the way `ks-engine` does.
#![allow(dead_code)]

use ks_proto::{Direction, StreamParser};
use ks_proto_websocket::{Deflate, WsConfig, WsMessage, WsParser};

pub const TO_SERVER: Direction = Direction::ToServer;
pub const TO_CLIENT: Direction = Direction::ToClient;

/// One frame: FIN, RSV bits (RSV1 = 0b100), opcode, optional masking key, payload
/// (given unmasked; masked here).
pub fn frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f)];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        f.push(m | n as u8);
    } else if n <= 0xffff {
        f.push(m | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(m | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    match mask {
        Some(k) => {
            f.extend_from_slice(&k);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// A client frame (masked with a fixed key).
pub fn cframe(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, rsv, opcode, Some([0x37, 0xfa, 0x21, 0x3d]), payload)
}

/// A server frame (unmasked).
pub fn sframe(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, rsv, opcode, None, payload)
}

/// Raw deflate of `data` followed by a sync flush, with the trailing
/// `00 00 ff ff` removed (RFC 7692 §7.2.1), using `c` (context takeover when
/// reused).
pub fn compress(c: &mut flate2::Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut input = data;
    loop {
        let before = c.total_in();
        out.reserve(4096);
        c.compress_vec(input, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// Drives a parser as the engine does: per direction the unconsumed rest is kept,
/// new bytes appended, and the parser called again once `needed` bytes arrived;
/// after an `Err` it is called again with the same bytes.
pub struct Driver {
    pub p: WsParser,
    buf: [Vec<u8>; 2],
    fresh: [usize; 2],
    needed: [usize; 2],
    pub out: Vec<WsMessage>,
    pub errors: u64,
}

impl Driver {
    pub fn new(cfg: WsConfig, deflate: Option<Deflate>) -> Self {
        Driver {
            p: WsParser::new(cfg, deflate, [0, 0]),
            buf: Default::default(),
            fresh: [0; 2],
            needed: [0; 2],
            out: Vec::new(),
            errors: 0,
        }
    }

    fn run(&mut self, dir: Direction, input: &[u8]) -> usize {
        let d = dir.index();
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            match self.p.parse(dir, &input[pos..], &mut self.out) {
                Ok(r) => {
                    assert!(r.consumed <= input.len() - pos);
                    assert!(r.consumed == input.len() - pos || r.needed >= 1 || r.consumed > 0);
                    errors_in_a_row = 0;
                    self.needed[d] = r.needed;
                    pos += r.consumed;
                    if r.consumed == 0 {
                        break;
                    }
                }
                Err(_) => {
                    self.errors += 1;
                    errors_in_a_row += 1;
                    assert!(errors_in_a_row < 2, "two errors in a row");
                }
            }
        }
        pos
    }

    pub fn feed(&mut self, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.buf[d].is_empty() && self.needed[d] == 0 {
            let used = self.run(dir, data);
            self.buf[d].extend_from_slice(&data[used..]);
        } else {
            self.buf[d].extend_from_slice(data);
            self.fresh[d] += data.len();
            if self.fresh[d] < self.needed[d] {
                return;
            }
            let buf = std::mem::take(&mut self.buf[d]);
            let used = self.run(dir, &buf);
            self.buf[d] = buf;
            self.buf[d].drain(..used);
        }
        self.fresh[d] = 0;
    }

    /// `data` in pieces of `chunk` bytes (0: one piece).
    pub fn feed_chunks(&mut self, dir: Direction, data: &[u8], chunk: usize) {
        if chunk == 0 {
            self.feed(dir, data);
        } else {
            for c in data.chunks(chunk) {
                self.feed(dir, c);
            }
        }
    }

    /// `len` bytes lost (plus whatever was buffered).
    pub fn lose(&mut self, dir: Direction, len: u64) {
        let d = dir.index();
        let held = self.buf[d].len() as u64;
        self.buf[d].clear();
        self.needed[d] = 0;
        self.fresh[d] = 0;
        self.p.gap(dir, held + len, &mut self.out);
    }

    pub fn end(&mut self, dir: Direction) {
        let d = dir.index();
        if !self.buf[d].is_empty() {
            let buf = std::mem::take(&mut self.buf[d]);
            let _ = self.p.parse(dir, &buf, &mut self.out);
        }
        self.p.end(dir, &mut self.out);
    }

    /// Takes the messages emitted so far.
    pub fn take(&mut self) -> Vec<WsMessage> {
        std::mem::take(&mut self.out)
    }
}

/// Parses `data` of `dir` in pieces of `chunk` (0: whole) and ends the direction.
pub fn run_all(
    cfg: &WsConfig,
    deflate: Option<Deflate>,
    dir: Direction,
    data: &[u8],
    chunk: usize,
) -> Vec<WsMessage> {
    let mut d = Driver::new(cfg.clone(), deflate);
    d.feed_chunks(dir, data, chunk);
    d.end(dir);
    d.take()
}
