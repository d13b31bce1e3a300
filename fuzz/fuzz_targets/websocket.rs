//! `WsParser` driven as `ks-engine` drives it: per direction the unconsumed rest is
//! kept, new bytes are appended, and the parser is called again once `needed`
//! bytes have arrived; after an `Err` it is called again with the same bytes (at
//! most 3 errors in a row). The input is byte 0 choosing the deflate parameters
//! (bit 0: permessage-deflate negotiated, bit 1: client_no_context_takeover, bit 2:
//! server_no_context_takeover), then an `http1`-style split (see
//! `ks_fuzz::split`): both directions and a schedule that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks: `consumed` never exceeds the input, `needed >= 1` whenever bytes are
//! left unconsumed after progress-free calls, messages lie inside the bytes seen
//! (gaps included) and not before the low-water mark reported earlier, data
//! messages and control frames each start in order, kept payloads and sizes
//! respect the caps, and the message counter matches.
#![no_main]

use ks_fuzz::{split, Chunker};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_websocket::{Deflate, Opcode, WsConfig, WsMessage, WsParser};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 8 << 10;

fn cfg() -> WsConfig {
    WsConfig {
        max_payload_kept: 512,
        max_message_size: 64 << 10,
        max_fragments: 16,
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
    /// Low-water mark after the last call: later messages start at or after it.
    low: u64,
    /// Start of the last data message / control frame emitted.
    last_start: [u64; 2],
}

struct Drive {
    parser: WsParser,
    dirs: [Dir; 2],
    out: Vec<WsMessage>,
    cfg: WsConfig,
    emitted: u64,
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

impl Drive {
    fn check_out(&mut self, d: usize) {
        for m in self.out.drain(..) {
            self.emitted += 1;
            let dir = &mut self.dirs[d];
            assert_eq!(m.dir, DIRS[d], "message in the wrong direction");
            assert!(m.start <= m.end, "message {}..{}", m.start, m.end);
            assert!(
                m.end <= dir.seen,
                "message ends at {}, only {} seen",
                m.end,
                dir.seen
            );
            assert!(
                m.start >= dir.low,
                "message at {} before low water {}",
                m.start,
                dir.low
            );
            let k = usize::from(m.opcode.is_control() || matches!(m.opcode, Opcode::Reserved(_)));
            assert!(
                m.start >= dir.last_start[k],
                "message at {} after one at {}",
                m.start,
                dir.last_start[k]
            );
            dir.last_start[k] = m.start;
            assert!(m.payload.len() <= self.cfg.max_payload_kept);
            assert!(m.payload.len() as u64 <= m.payload_size);
            assert!(m.payload_size <= self.cfg.max_message_size.max(m.wire_size));
            assert!(m.fragments >= 1 && m.fragments <= self.cfg.max_fragments);
            if m.close.is_some() {
                assert_eq!(m.opcode, Opcode::Close);
            }
        }
        let lw = self.parser.low_water(DIRS[d]);
        assert!(
            lw <= self.dirs[d].seen,
            "low water {lw} past {}",
            self.dirs[d].seen
        );
        self.dirs[d].low = lw;
    }

    /// The engine's `run_parser`: returns bytes consumed.
    fn run(&mut self, d: usize, input: &[u8]) -> usize {
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            match self.parser.parse(DIRS[d], &input[pos..], &mut self.out) {
                Ok(p) => {
                    let left = input.len() - pos;
                    assert!(p.consumed <= left, "consumed {} of {left}", p.consumed);
                    if p.consumed == 0 {
                        assert!(p.needed >= 1, "no progress and needed 0");
                    }
                    errors_in_a_row = 0;
                    self.dirs[d].needed = p.needed;
                    pos += p.consumed;
                    self.check_out(d);
                    if p.consumed == 0 {
                        break;
                    }
                }
                Err(e) => {
                    assert_eq!(e.offset, self.dirs[d].seen - (input.len() - pos) as u64);
                    errors_in_a_row += 1;
                    self.check_out(d);
                    assert!(errors_in_a_row < 2, "two errors in a row");
                }
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
            if used < new.len() {
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
    let (flags, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let deflate = (flags & 1 != 0).then_some(Deflate {
        client_no_context_takeover: flags & 2 != 0,
        server_no_context_takeover: flags & 4 != 0,
        client_max_window_bits: 15,
        server_max_window_bits: 15,
    });
    let s = split(rest);
    for (bytes, src_port, dst_port) in [(s.client, 40000, 80), (s.server, 80, 40000)] {
        let n = bytes.len().min(1024);
        let _ = WsParser::probe(&ProbeInput {
            data: &bytes[..n],
            src_port,
            dst_port,
        });
    }
    let cfg = cfg();
    let mut drive = Drive {
        parser: WsParser::new(cfg.clone(), deflate, [0, 0]),
        dirs: Default::default(),
        out: Vec::new(),
        cfg,
        emitted: 0,
    };
    for chunk in Chunker::new(&s, 0) {
        if chunk.lost {
            drive.lose(chunk.dir, chunk.bytes.len() as u64);
        } else {
            drive.feed(chunk.dir, chunk.bytes);
        }
        if chunk.last {
            drive.end(chunk.dir);
        }
    }
    for d in 0..2 {
        drive.end(d);
    }
    assert_eq!(drive.parser.counters().messages, drive.emitted);
    assert!(drive.parser.handoff().is_none());
});
