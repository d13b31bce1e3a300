//! `process.comm` / `process.pid`: entries from `--tls-trace` plaintext.

use std::sync::Arc;

use ks_engine::{Engine, EngineConfig, Entry, Output, PlainChunk, PlainConn, Process};
use ks_query::Filter;

fn traced_entry() -> Entry {
    let curl = Arc::new(Process {
        pid: 4242,
        comm: "curl".into(),
    });
    let conn = PlainConn::Tcp {
        local: "10.0.0.1:50000".parse().unwrap(),
        remote: "10.0.0.2:443".parse().unwrap(),
    };
    let mut engine = Engine::new(EngineConfig::default());
    for (outbound, data) in [
        (true, &b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"[..]),
        (false, &b"HTTP/1.1 204 No Content\r\n\r\n"[..]),
    ] {
        engine.process_plaintext(&PlainChunk {
            ts_ns: 1_700_000_000_000_000_000,
            conn,
            session: 1,
            outbound,
            data,
            process: &curl,
        });
    }
    engine.finish();
    match engine.next_output() {
        Some(Output::Entry(e)) => *e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn process_variables_match_traced_entries_only() {
    let traced = traced_entry();
    let mut captured = traced.clone();
    captured.process = None;
    captured.tls = false;
    for (filter, on_traced, on_captured) in [
        (r#"process.comm == "curl""#, true, false),
        ("process.pid == 4242", true, false),
        ("process.pid == 1", false, false),
        ("has(process.comm)", true, false),
        ("tls && http", true, false),
        (
            r#"!has(process.comm) || process.comm != "curl""#,
            false,
            true,
        ),
    ] {
        let f = Filter::new(filter).unwrap();
        assert_eq!(
            f.matches(&traced),
            on_traced,
            "{filter} on the traced entry"
        );
        assert_eq!(
            f.matches(&captured),
            on_captured,
            "{filter} on a captured one"
        );
    }
}
