//! The Kubernetes variables (`src.pod`, `dst.service`, ...) on entries labelled
//! from a snapshot (testdata/k8s/bro-org.snapshot.json): the capture's client
//! address was held by pod `browser-5f7c-old` until `browser-5f7c-new` started
//! at 17:04:08, the server's by `web-0` of StatefulSet `web`, behind service
//! `web` (by its EndpointSlice).

mod common;

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, IdentitySource, Output};
use ks_query::Filter;
use std::sync::Arc;

/// 2014-01-14T17:04:08Z, when the new pod started.
const NEW_POD_START_NS: u64 = 1_389_719_048_000_000_000;

fn labelled(with_identity: bool) -> Vec<Entry> {
    let snapshot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/k8s/bro-org.snapshot.json"
    ))
    .unwrap();
    let (index, summary) = ks_k8s::snapshot::load(&snapshot, u64::MAX, Default::default()).unwrap();
    assert_eq!(summary.indexed, summary.items);
    let cfg = EngineConfig {
        identity: with_identity.then(|| IdentitySource(Arc::new(index))),
        ..EngineConfig::default()
    };
    let source = FileSource::open(common::capture("http1/zeek_http_bro-org.pcap")).unwrap();
    Dissector::new(source, cfg)
        .filter_map(Result::ok)
        .filter_map(|o| match o {
            Output::Entry(e) => Some(*e),
            _ => None,
        })
        .collect()
}

fn count(entries: &[Entry], expr: &str) -> usize {
    let f = Filter::new(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    entries.iter().filter(|e| f.matches(e)).count()
}

#[test]
fn kubernetes_variables_follow_the_snapshot_and_the_time() {
    let entries = labelled(true);
    let n = entries.len();
    assert!(n > 30, "{n} entries");
    let after = entries
        .iter()
        .filter(|e| e.ts_ns >= NEW_POD_START_NS)
        .count();
    assert!(after > 0 && after < n, "the capture spans the pod change");

    assert_eq!(count(&entries, r#"src.pod == "browser-5f7c-new""#), after);
    assert_eq!(
        count(&entries, r#"src.pod == "browser-5f7c-old""#),
        n - after
    );
    assert_eq!(
        count(
            &entries,
            r#"src.name == "browser" && src.namespace == "lab""#
        ),
        n
    );
    assert_eq!(
        count(
            &entries,
            r#"src.workload.kind == "Deployment" && src.workload.name == "browser""#
        ),
        n
    );
    assert_eq!(
        count(&entries, r#"src.node == "node-a" && dst.node == "node-b""#),
        n
    );
    assert_eq!(count(&entries, r#"src.labels["app"] == "browser""#), n);
    assert_eq!(
        count(&entries, r#"dst.service == "web" && dst.pod == "web-0""#),
        n
    );
    assert_eq!(count(&entries, r#"dst.workload.kind == "StatefulSet""#), n);
    assert_eq!(count(&entries, r#"dst.labels["tier"] == "db""#), 0);
    // The client is in no service: the comparison is false, `has` says why.
    assert_eq!(count(&entries, r#"src.service == "web""#), 0);
    assert_eq!(count(&entries, "has(src.service)"), 0);
    assert_eq!(count(&entries, "has(dst.service)"), n);
    assert_eq!(
        count(
            &entries,
            r#"http && dst.service == "web" && path.startsWith("/images/")"#
        ),
        count(&entries, r#"http && path.startsWith("/images/")"#)
    );
}

#[test]
fn without_identity_the_kubernetes_variables_match_nothing() {
    let entries = labelled(false);
    assert!(entries
        .iter()
        .all(|e| e.src.k8s.is_none() && e.dst.k8s.is_none()));
    assert_eq!(count(&entries, r#"src.name == "browser""#), 0);
    assert_eq!(count(&entries, "has(dst.service)"), 0);
    assert_eq!(count(&entries, r#"!(dst.service == "web")"#), entries.len());
    // The addresses are still there.
    assert_eq!(count(&entries, r#"src.ip == "10.0.2.15""#), entries.len());
}
