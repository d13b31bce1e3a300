//! `RedisParser` driven as `ks-engine` drives it (`ks_fuzz::Drive`): the input holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's): messages lie inside the bytes seen (gaps
//! included), kept values respect the caps, summaries and JSON never fail.
#![no_main]

use ks_fuzz::{split, Drive};
use ks_proto::{ProbeInput, StreamParser};
use ks_proto_redis::{Arg, Message, RedisConfig, RedisParser};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 8 << 10;

fn cfg() -> RedisConfig {
    RedisConfig {
        max_value_kept: 64,
        max_message_kept: 512,
        max_elements: 32,
        max_depth: 4,
        max_line: 1024,
        max_pending: 8,
    }
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    for (bytes, src_port, dst_port) in [(s.client, 40000, 6379), (s.server, 6379, 40000)] {
        let n = bytes.len().min(1024);
        let _ = RedisParser::probe(&ProbeInput {
            data: &bytes[..n],
            src_port,
            dst_port,
        });
    }
    let cfg = cfg();
    let mut drive = Drive::new(RedisParser::new(cfg.clone(), [0, 0]), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<Message>| {
        for m in out.drain(..) {
            match &m {
                Message::Exchange(x) => {
                    if let Some(r) = &x.request {
                        assert!(r.start <= r.end && r.end <= dirs[0].seen);
                        assert!(r.args.len() < cfg.max_elements);
                        for a in &r.args {
                            if let Arg::Partial { text, base64, .. } = a {
                                let n = text.as_ref().map_or(0, |t| t.len())
                                    + base64.as_ref().map_or(0, |b| {
                                        b.len() / 4 * 3 - b.bytes().filter(|&c| c == b'=').count()
                                    });
                                assert!(n <= cfg.max_value_kept);
                            }
                        }
                    }
                    if let Some(r) = &x.response {
                        assert!(r.start <= r.end && r.end <= dirs[1].seen);
                    }
                    let _ = x.summary();
                    serde_json::to_string(x).expect("json");
                }
                Message::OneWay(o) => {
                    assert!(o.start <= o.end && o.end <= dirs[1].seen);
                    let _ = o.summary();
                    serde_json::to_string(o).expect("json");
                }
                Message::Event(_) => {}
            }
        }
    });
    let _ = drive.parser.counters();
});
