//! `Http1Parser` driven as `ks-engine` drives it: per direction the unconsumed rest is
//! kept, new bytes are appended, and the parser is called again once `needed` bytes
//! have arrived; after an `Err` it is called again with the same bytes (at most 3
//! errors in a row). The input holds both directions and a schedule (see
//! `ks_fuzz::split`) that cuts them into interleaved chunks, some of them lost
//! (`gap`); each direction ends with `end`.
//!
//! Checks: `consumed` never exceeds the input, messages lie inside the bytes seen
//! (gaps included) and start in order, kept bodies and header lists respect the caps.
#![no_main]

use ks_fuzz::{split, Chunker};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_http::{Http1Parser, HttpConfig, Message};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 8 << 10;

fn cfg() -> HttpConfig {
    HttpConfig {
        max_header_bytes: 2048,
        max_headers: 32,
        max_body_kept: 512,
        max_decoded_bytes: 64 << 10,
        max_pipeline: 8,
    }
}

#[derive(Default)]
struct Dir {
    buf: Vec<u8>,
    needed: usize,
    fresh: usize,
    ended: bool,
    /// Bytes of the stream seen so far (delivered or lost).
    seen: u64,
    /// Start of the last message emitted.
    last_start: u64,
}

struct Drive {
    parser: Http1Parser,
    dirs: [Dir; 2],
    out: Vec<Message>,
    cfg: HttpConfig,
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

impl Drive {
    fn check_out(&mut self, d: usize) {
        for m in self.out.drain(..) {
            let (start, end) = (m.start(), m.end());
            assert!(start <= end, "message {start}..{end}");
            let dir = &mut self.dirs[d];
            assert!(
                end <= dir.seen,
                "message ends at {end}, only {} bytes seen",
                dir.seen
            );
            assert!(
                start >= dir.last_start,
                "message at {start} after one at {}",
                dir.last_start
            );
            dir.last_start = start;
            let (body, headers, is_req) = match &m {
                Message::Request(r) => (&r.body, &r.headers, true),
                Message::Response(r) => (&r.body, &r.headers, false),
            };
            assert_eq!(is_req, d == 0, "message in the wrong direction");
            assert!(body.data.len() <= self.cfg.max_body_kept);
            assert!(headers.len() <= self.cfg.max_headers);
        }
        let lw = self.parser.low_water(DIRS[d]);
        assert!(
            lw <= self.dirs[d].seen,
            "low water {lw} past {}",
            self.dirs[d].seen
        );
    }

    /// The engine's `run_parser`: returns bytes consumed.
    fn run(&mut self, d: usize, input: &[u8]) -> usize {
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            match self.parser.parse(DIRS[d], &input[pos..], &mut self.out) {
                Ok(p) => {
                    assert!(
                        p.consumed <= input.len() - pos,
                        "consumed {} of {}",
                        p.consumed,
                        input.len() - pos
                    );
                    errors_in_a_row = 0;
                    self.dirs[d].needed = p.needed;
                    pos += p.consumed;
                    self.check_out(d);
                    if p.consumed == 0 {
                        break;
                    }
                }
                Err(_) => {
                    errors_in_a_row += 1;
                    self.check_out(d);
                    if errors_in_a_row > 2 {
                        break;
                    }
                }
            }
            if self.parser.handoff().is_some() {
                break;
            }
        }
        pos
    }

    /// The engine's `feed`.
    fn feed(&mut self, d: usize, new: &[u8]) {
        if self.dirs[d].ended {
            return;
        }
        self.dirs[d].seen += new.len() as u64;
        if self.dirs[d].buf.is_empty() && self.dirs[d].needed == 0 {
            let used = self.run(d, new);
            if used < new.len() && self.parser.handoff().is_none() {
                self.dirs[d].buf.extend_from_slice(&new[used..]);
            }
        } else {
            let dir = &mut self.dirs[d];
            dir.buf.extend_from_slice(new);
            dir.fresh += new.len();
            if dir.fresh < dir.needed {
                return;
            }
            let buf = std::mem::take(&mut dir.buf);
            let used = self.run(d, &buf);
            let dir = &mut self.dirs[d];
            dir.buf = buf;
            dir.buf.drain(..used);
        }
        self.dirs[d].fresh = 0;
        if self.dirs[d].buf.len() > MAX_STREAM_BUFFER {
            let lost = self.drop_buffered(d);
            self.parser.gap(DIRS[d], lost, &mut self.out);
            self.check_out(d);
        }
    }

    fn drop_buffered(&mut self, d: usize) -> u64 {
        let dir = &mut self.dirs[d];
        let n = dir.buf.len() as u64;
        dir.buf.clear();
        dir.needed = 0;
        dir.fresh = 0;
        n
    }

    /// The engine's `on_gap`.
    fn lose(&mut self, d: usize, len: u64) {
        let lost = self.drop_buffered(d);
        self.dirs[d].seen += len;
        self.parser.gap(DIRS[d], lost + len, &mut self.out);
        self.check_out(d);
    }

    /// The engine's `on_end`.
    fn end(&mut self, d: usize) {
        if self.dirs[d].ended {
            return;
        }
        if !self.dirs[d].buf.is_empty() {
            let buf = std::mem::take(&mut self.dirs[d].buf);
            let _ = self.parser.parse(DIRS[d], &buf, &mut self.out);
            self.check_out(d);
        }
        self.parser.end(DIRS[d], &mut self.out);
        self.check_out(d);
        self.dirs[d].ended = true;
    }
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    for (bytes, src_port, dst_port) in [(s.client, 40000, 80), (s.server, 80, 40000)] {
        let n = bytes.len().min(1024);
        let _ = Http1Parser::probe(&ProbeInput {
            data: &bytes[..n],
            src_port,
            dst_port,
        });
    }
    let cfg = cfg();
    let mut drive = Drive {
        parser: Http1Parser::new(cfg.clone()),
        dirs: Default::default(),
        out: Vec::new(),
        cfg,
    };
    for chunk in Chunker::new(&s, 0) {
        if drive.parser.handoff().is_some() {
            break;
        }
        if chunk.lost {
            drive.lose(chunk.dir, chunk.bytes.len() as u64);
        } else {
            drive.feed(chunk.dir, chunk.bytes);
        }
        if chunk.last {
            drive.end(chunk.dir);
        }
    }
    // End of the connection (the engine's `finish_http`).
    if drive.parser.handoff().is_none() {
        for d in 0..2 {
            drive.end(d);
        }
    }
    let _ = drive.parser.counters();
});
