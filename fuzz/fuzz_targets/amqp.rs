//! `AmqpParser` driven as `ks-engine` drives it (`ks_fuzz::Drive`): the input holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's): messages lie inside the bytes seen (gaps
//! included), one-way messages come from the direction being parsed, kept bodies
//! and field tables respect the caps.
#![no_main]

use ks_fuzz::{split, Drive};
use ks_proto::{ProbeInput, StreamParser};
use ks_proto_amqp::{AmqpConfig, AmqpParser, FieldTable, FieldValue, Message, Method};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 8 << 10;

fn cfg() -> AmqpConfig {
    AmqpConfig {
        max_frame: 2048,
        max_table_depth: 4,
        max_table_entries: 32,
        max_body_kept: 512,
        max_pending: 4,
        max_channels: 8,
    }
}

/// Values in a table tree, checking the depth cap on the way.
fn count(t: &FieldTable, depth: usize, max_depth: usize) -> usize {
    assert!(depth <= max_depth, "table at depth {depth}");
    t.0.iter()
        .map(|(_, v)| 1 + count_value(v, depth, max_depth))
        .sum()
}

fn count_value(v: &FieldValue, depth: usize, max_depth: usize) -> usize {
    match v {
        FieldValue::Table(t) => count(t, depth + 1, max_depth),
        FieldValue::Array(a) => {
            assert!(depth < max_depth, "array at depth {}", depth + 1);
            a.iter()
                .map(|v| 1 + count_value(v, depth + 1, max_depth))
                .sum()
        }
        _ => 0,
    }
}

fn check_method(m: &Method, seen: [u64; 2], cfg: &AmqpConfig) {
    assert!(m.start <= m.end, "method {}..{}", m.start, m.end);
    assert!(
        m.end <= seen[0].max(seen[1]),
        "method ends at {} past the bytes seen",
        m.end
    );
    assert!(m.body.as_ref().map_or(0, Vec::len) <= cfg.max_body_kept);
    let mut n = 0;
    for (_, v) in &m.arguments.0 {
        n += count_value(v, 0, cfg.max_table_depth);
    }
    if let Some(h) = m.properties.as_ref().and_then(|p| p.headers.as_ref()) {
        count(h, 1, cfg.max_table_depth);
    }
    assert!(n <= cfg.max_table_entries, "{n} table values");
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    for (bytes, src_port, dst_port) in [(s.client, 40000, 5672), (s.server, 5672, 40000)] {
        let n = bytes.len().min(1024);
        let _ = AmqpParser::probe(&ProbeInput {
            data: &bytes[..n],
            src_port,
            dst_port,
        });
    }
    let cfg = cfg();
    let mut drive = Drive::new(AmqpParser::new(cfg.clone(), [0, 0]), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, d, out: &mut Vec<Message>| {
        let seen = [dirs[0].seen, dirs[1].seen];
        for m in out.drain(..) {
            match m {
                Message::Exchange(x) => {
                    assert!(x.request.is_some() || x.response.is_some());
                    for m in x.request.iter().chain(x.response.iter()) {
                        check_method(m, seen, &cfg);
                    }
                    let _ = x.summary();
                    let _ = x.error();
                }
                Message::OneWay(o) => {
                    assert_eq!(o.dir.index(), d, "one-way message in the wrong direction");
                    assert!(o.end <= seen[d]);
                    check_method(&o.message, seen, &cfg);
                    let _ = o.summary();
                }
                Message::Event(e) => assert!(e.offset <= seen[e.dir.index()]),
            }
        }
    });
    let _ = drive.parser.counters();
});
