//! `Http2Parser` driven as `ks-engine` drives it: per direction the unconsumed rest is
//! kept, new bytes are appended, and the parser is called again once `needed` bytes
//! have arrived; after an `Err` it is called again with the same bytes (at most 3
//! errors in a row). The input holds both directions and a schedule (see
//! `ks_fuzz::split`) that cuts them into interleaved chunks, some of them lost
//! (`gap`); each direction ends with `end`.
//!
//! Checks: `consumed` never exceeds the input, halves lie inside the bytes seen
//! (gaps included), kept bodies and header lists respect the caps, at most
//! `max_streams` streams are open, and `low_water` never passes the bytes seen.
#![no_main]

use ks_fuzz::{split, Chunker};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_http2::{Http2Config, Http2Parser, Message};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 8 << 10;

fn cfg() -> Http2Config {
    Http2Config {
        max_header_list_size: 1024,
        max_header_block: 2048,
        max_table_size: 1024,
        max_body_kept: 512,
        max_streams: 8,
        max_body_total: 1 << 20,
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
}

struct Drive {
    parser: Http2Parser,
    dirs: [Dir; 2],
    out: Vec<Message>,
    cfg: Http2Config,
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

impl Drive {
    fn check_out(&mut self, d: usize) {
        for m in self.out.drain(..) {
            let Message::Stream(st) = &m else { continue };
            for (k, h) in [&st.request, &st.response].into_iter().enumerate() {
                let Some(h) = h else { continue };
                // A pushed stream's request half is in the server's direction.
                let hd = if st.pushed { 1 } else { k };
                let seen = self.dirs[hd].seen;
                assert!(h.start <= h.end, "half {}..{}", h.start, h.end);
                assert!(
                    h.end <= seen,
                    "half ends at {}, only {seen} bytes seen",
                    h.end
                );
                assert!(h.body.len() <= self.cfg.max_body_kept);
                assert!(h.body.len() as u64 <= h.body_size);
                for list in [&h.headers, &h.trailers]
                    .into_iter()
                    .chain(h.interim.iter())
                {
                    let size: usize = list.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
                    assert!(size <= self.cfg.max_header_list_size, "header list {size}");
                }
            }
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
    for (bytes, src_port, dst_port) in [(s.client, 40000, 8080), (s.server, 8080, 40000)] {
        let n = bytes.len().min(1024);
        let _ = Http2Parser::probe(&ProbeInput {
            data: &bytes[..n],
            src_port,
            dst_port,
        });
    }
    let cfg = cfg();
    let mut drive = Drive {
        parser: Http2Parser::new(cfg.clone(), [0, 0]),
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
