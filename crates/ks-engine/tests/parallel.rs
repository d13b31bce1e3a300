//! Several workers give exactly the single-threaded output, in the same order.

use ks_capture::FileSource;
use ks_engine::{dissect_parallel, Dissector, EngineConfig, Output};
use std::path::{Path, PathBuf};

fn captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcap");
    let mut v = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

fn single(path: &Path, cfg: &EngineConfig) -> (Vec<Output>, ks_engine::Stats) {
    let mut d = Dissector::new(FileSource::open(path).unwrap(), cfg.clone());
    let out: Vec<Output> = d.by_ref().map(|o| o.unwrap()).collect();
    (out, d.engine().stats())
}

#[test]
fn any_number_of_threads_gives_the_single_threaded_output() {
    let cfg = EngineConfig::default();
    let mut checked = 0;
    for path in captures() {
        let (want, want_stats) = single(&path, &cfg);
        for threads in [2, 3] {
            let mut got = Vec::new();
            let (stats, err) =
                dissect_parallel(|| FileSource::open(&path), &cfg, threads, None, &mut |o| {
                    got.push(o)
                });
            assert!(err.is_none(), "{}: {err:?}", path.display());
            assert_eq!(
                got.len(),
                want.len(),
                "{} with {threads} threads",
                path.display()
            );
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{} with {threads} threads", path.display());
            }
            let key = |s: &ks_engine::Stats| {
                (
                    s.packets,
                    s.bytes,
                    s.tcp_flows,
                    s.udp_flows,
                    s.total_entries(),
                    s.tcp.gaps,
                    s.tcp.segments,
                    s.parse_errors,
                    s.decode_errors,
                )
            };
            assert_eq!(
                key(&stats),
                key(&want_stats),
                "{} counters with {threads} threads",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 28);
}

#[test]
fn threads_keep_the_order_when_flows_time_out_and_are_evicted() {
    // Tiny table and short idle timeout: evictions and sweeps interleave with entries.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap/http1/zeek_http_bro-org.pcap");
    let cfg = EngineConfig {
        max_flows: 3,
        flow_idle_ns: 50_000_000,
        ..EngineConfig::default()
    };
    let (want, want_stats) = single(&path, &cfg);
    assert!(want_stats.flows_evicted > 0 && want_stats.flows_timed_out > 0);
    let mut got = Vec::new();
    let (stats, _) = dissect_parallel(|| FileSource::open(&path), &cfg, 2, None, &mut |o| {
        got.push(o)
    });
    assert_eq!(got, want);
    assert_eq!(
        (stats.flows_evicted, stats.flows_timed_out),
        (want_stats.flows_evicted, want_stats.flows_timed_out)
    );
}

#[test]
fn a_damaged_file_gives_the_same_outputs_then_one_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap/http1/zeek_http_bro-org.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let cut = std::env::temp_dir().join(format!("ks-par-{}.pcap", std::process::id()));
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let mut d = Dissector::new(FileSource::open(&cut).unwrap(), EngineConfig::default());
    let mut want = Vec::new();
    let mut want_err = None;
    for o in d.by_ref() {
        match o {
            Ok(o) => want.push(o),
            Err(e) => want_err = Some(e.to_string()),
        }
    }
    let mut got = Vec::new();
    let (_, err) = dissect_parallel(
        || FileSource::open(&cut),
        &EngineConfig::default(),
        2,
        None,
        &mut |o| got.push(o),
    );
    let _ = std::fs::remove_file(&cut);
    assert_eq!(got, want);
    assert_eq!(err.map(|e| e.to_string()), want_err);
    assert!(!got.is_empty());
}
