//! Evaluations per second of typical filters on the entries of real captures
//! (docs/performance.md, "Filters").

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, Output};
use ks_query::Filter;

fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for f in [
        "../../testdata/pcap/http1/zeek_http_methods.pcap",
        "../../testdata/pcap/dns/tcpdump_dns_udp.pcap",
        "../../testdata/pcap/http2/ks_h2c_prior-knowledge.pcap",
        "../../testdata/pcap/kafka/ks_kafka_clients.pcap",
        "../../testdata/pcap/redis/ks_redis_cli.pcap",
    ] {
        let Ok(source) = FileSource::open(f) else {
            continue;
        };
        for o in Dissector::new(source, EngineConfig::default()).flatten() {
            if let Output::Entry(e) = o {
                out.push(*e);
            }
        }
    }
    assert!(!out.is_empty(), "no entries: run from the crate directory");
    out
}

fn bench(c: &mut Criterion) {
    let entries = entries();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(entries.len() as u64));
    for expr in [
        "http",
        "http && status_code >= 500",
        r#"http && method == "POST" && path.startsWith("/api")"#,
        r#"request.headers["user-agent"].contains("curl")"#,
        r#"dns && dns_questions.exists(q, q.endsWith("example.com"))"#,
        "elapsed_time > 100000",
        "!(tcp || udp)",
        r#"entry.request.version == "1.0""#,
    ] {
        let f = Filter::new(expr).unwrap();
        g.bench_function(expr, |b| {
            b.iter(|| entries.iter().filter(|e| f.matches(e)).count())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
