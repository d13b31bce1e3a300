//! `Http2Parser` driven as `ks-engine` drives it (`ks_fuzz::Drive`): the input holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's): halves lie inside the bytes seen (gaps included),
//! kept bodies and header lists respect the caps.
#![no_main]

use ks_fuzz::{split, Drive};
use ks_proto::{ProbeInput, StreamParser};
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
        max_body_total: 2048,
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
    let mut drive = Drive::new(Http2Parser::new(cfg.clone(), [0, 0]), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<Message>| {
        for m in out.drain(..) {
            let Message::Stream(st) = &m else { continue };
            for (k, h) in [&st.request, &st.response].into_iter().enumerate() {
                let Some(h) = h else { continue };
                // A pushed stream's request half is in the server's direction.
                let hd = if st.pushed { 1 } else { k };
                let seen = dirs[hd].seen;
                assert!(h.start <= h.end, "half {}..{}", h.start, h.end);
                assert!(
                    h.end <= seen,
                    "half ends at {}, only {seen} bytes seen",
                    h.end
                );
                assert!(h.body.len() <= cfg.max_body_kept);
                assert!(h.body.len() as u64 <= h.body_size);
                for list in [&h.headers, &h.trailers]
                    .into_iter()
                    .chain(h.interim.iter())
                {
                    let size: usize = list.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
                    assert!(size <= cfg.max_header_list_size, "header list {size}");
                }
            }
        }
    });
    let _ = drive.parser.counters();
});
