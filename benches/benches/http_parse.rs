//! HTTP/1 parse throughput of `Http1Parser` on real traffic: the reassembled
//! client and server byte streams of the HTTP connections of a few testdata
//! captures, fed through the engine-like driver (unconsumed rest buffered,
//! `needed` honoured) in one piece per direction and in 1460-byte pieces (one
//! MSS, as TCP delivers them).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{http_connections, parse_connections, TcpStreams};

/// Captures (under testdata/pcap) and what they stress.
const CORPUS: &[(&str, &str)] = &[
    // 100+ requests of a web site: many small heads, gzip bodies.
    ("bro-org", "http1/zeek_http_bro-org.pcap"),
    // Pipelined requests, large bodies.
    ("pipelined", "http1/zeek_http_pipelined-requests.pcap"),
    // Expect: 100-continue and a large POST body.
    ("100-continue", "http1/zeek_http_100-continue.pcap"),
    // Chunked response.
    ("chunked", "http1/suricata-verify_http-chunked.pcap"),
    // gzip-encoded response.
    ("get-gzip", "http1/zeek_http_get-gzip.pcap"),
];

fn bytes(conns: &[TcpStreams]) -> u64 {
    conns
        .iter()
        .map(|c| (c.client.len() + c.server.len()) as u64)
        .sum()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_parse");
    for &(name, rel) in CORPUS {
        let conns = http_connections(rel);
        let (messages, _, errors) = parse_connections(&conns, 0);
        eprintln!(
            "http_parse/{name}: {} connections, {} bytes, {messages} messages, {errors} parse errors",
            conns.len(),
            bytes(&conns)
        );
        group.throughput(Throughput::Bytes(bytes(&conns)));
        for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
            group.bench_with_input(BenchmarkId::new(mode, name), &conns, |b, conns| {
                b.iter(|| black_box(parse_connections(black_box(conns), chunk)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
