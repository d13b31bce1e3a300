//! `Http1Parser` driven as `ks-engine` drives it (`ks_fuzz::Drive`): the input holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's): messages lie inside the bytes seen (gaps
//! included), start in order and in the right direction, kept bodies and header
//! lists respect the caps.
#![no_main]

use ks_fuzz::{split, Drive};
use ks_proto::{ProbeInput, StreamParser};
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
    let mut drive = Drive::new(Http1Parser::new(cfg.clone()), MAX_STREAM_BUFFER);
    let mut last_start = [0u64; 2];
    drive.run_split(&s, &mut |dirs, d, out: &mut Vec<Message>| {
        for m in out.drain(..) {
            let (start, end) = (m.start(), m.end());
            assert!(start <= end, "message {start}..{end}");
            let seen = dirs[d].seen;
            assert!(end <= seen, "message ends at {end}, only {seen} bytes seen");
            assert!(
                start >= last_start[d],
                "message at {start} after one at {}",
                last_start[d]
            );
            last_start[d] = start;
            let (body, headers, is_req) = match &m {
                Message::Request(r) => (&r.body, &r.headers, true),
                Message::Response(r) => (&r.body, &r.headers, false),
            };
            assert_eq!(is_req, d == 0, "message in the wrong direction");
            assert!(body.data.len() <= cfg.max_body_kept);
            assert!(headers.len() <= cfg.max_headers);
        }
    });
    let _ = drive.parser.counters();
});
