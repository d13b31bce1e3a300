//! `DiameterParser` driven as `ks-engine` drives it (`ks_fuzz::Drive`): the input holds
//! both directions and a schedule (see `ks_fuzz::split`) that cuts them into
//! interleaved chunks, some of them lost (`gap`); each direction ends with `end`.
//!
//! Checks (besides the driver's: consumed within the input, errors at the first
//! byte, low water within the bytes seen): messages lie inside the bytes seen in the
//! direction they went (gaps included), AVP lists and nesting respect `MAX_AVPS` and
//! `MAX_DEPTH`, pending requests respect `max_pending`, summaries and JSON never fail.
#![no_main]

use ks_fuzz::{split, DirState, Drive};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_diameter::{
    Avp, DiameterConfig, DiameterMessage, DiameterParser, Message, MAX_AVPS, MAX_DEPTH,
    MAX_VALUE_BYTES,
};
use libfuzzer_sys::fuzz_target;

/// Unparsed bytes kept per direction (the engine's `max_stream_buffer`, scaled down).
const MAX_STREAM_BUFFER: usize = 16 << 10;

fn cfg() -> DiameterConfig {
    DiameterConfig {
        max_message: 8 << 10,
        max_pending: 8,
    }
}

/// Returns the AVPs in the tree; checks depth and value sizes.
fn check_avps(avps: &[Avp], depth: usize) -> usize {
    assert!(depth <= MAX_DEPTH);
    let mut n = 0;
    for a in avps {
        n += 1;
        if let Some(v) = &a.value {
            // Hex doubles the bytes; the cut note adds a few.
            assert!(v.len() <= 2 * MAX_VALUE_BYTES + 32, "{}", v.len());
        }
        n += check_avps(&a.avps, depth + 1);
    }
    n
}

fn check_message(m: &DiameterMessage, dir: Direction, dirs: &[DirState; 2]) {
    let seen = dirs[dir.index()].seen;
    assert!(
        m.start <= m.end && m.end <= seen,
        "{}..{} of {seen}",
        m.start,
        m.end
    );
    assert!(m.end - m.start >= 20);
    let n = check_avps(&m.avps, 1);
    assert!(n <= MAX_AVPS && n <= m.avp_count);
    assert_eq!(m.avps_truncated, m.avp_count > n);
    let _ = m.label();
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    for (bytes, src_port, dst_port) in [(s.client, 40000, 3868), (s.server, 3868, 40000)] {
        let n = bytes.len().min(1024);
        for dst in [dst_port, 9] {
            let _ = DiameterParser::probe(&ProbeInput {
                data: &bytes[..n],
                src_port,
                dst_port: dst,
            });
        }
    }
    let cfg = cfg();
    let mut drive = Drive::new(DiameterParser::new(cfg.clone(), [0, 0]), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<Message>| {
        for m in out.drain(..) {
            match &m {
                Message::Exchange(x) => {
                    if let Some(q) = &x.request {
                        assert!(q.is_request);
                        check_message(q, x.request_dir, dirs);
                    }
                    if let Some(r) = &x.response {
                        assert!(!r.is_request);
                        check_message(r, x.request_dir.reverse(), dirs);
                    }
                    let _ = x.summary();
                    let _ = x.label();
                    serde_json::to_string(x).expect("json");
                }
                Message::OneWay(o) => {
                    check_message(&o.message, o.dir, dirs);
                    let _ = o.summary();
                    serde_json::to_string(o).expect("json");
                }
                Message::Event(_) => {}
            }
        }
    });
    assert!(drive.parser.pending() <= cfg.max_pending);
    let _ = drive.parser.counters();
});
