//! `WsParser` driven as `ks-engine` drives it (`ks_fuzz::Drive`). Byte 0 picks
//! permessage-deflate on/off and the two no-context-takeover flags; the rest holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's): messages go the right way, lie inside the bytes
//! seen and after the low-water mark, data and control messages each start in
//! order, payloads respect the caps, every message counted is emitted.
#![no_main]

use ks_fuzz::{split, Drive, DIRS};
use ks_proto::{ProbeInput, StreamParser};
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
    let mut drive = Drive::new(
        WsParser::new(cfg.clone(), deflate, [0, 0]),
        MAX_STREAM_BUFFER,
    );
    let mut emitted = 0u64;
    // Per direction: start of the last data and the last control message.
    let mut last_start = [[0u64; 2]; 2];
    drive.run_split(&s, &mut |dirs, d, out: &mut Vec<WsMessage>| {
        for m in out.drain(..) {
            emitted += 1;
            let dir = &dirs[d];
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
                m.start >= last_start[d][k],
                "message at {} after one at {}",
                m.start,
                last_start[d][k]
            );
            last_start[d][k] = m.start;
            assert!(m.payload.len() <= cfg.max_payload_kept);
            assert!(m.payload.len() as u64 <= m.payload_size);
            assert!(m.payload_size <= cfg.max_message_size.max(m.wire_size));
            assert!(m.fragments >= 1 && m.fragments <= cfg.max_fragments);
            if m.close.is_some() {
                assert_eq!(m.opcode, Opcode::Close);
            }
        }
    });
    assert_eq!(drive.parser.counters().messages, emitted);
    assert!(drive.parser.handoff().is_none());
});
