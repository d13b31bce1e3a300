//! ICMP decode cost: an echo request, a port-unreachable quoting a UDP packet, and a
//! router advertisement with options (the engine decodes every ICMP message it sees).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ks_proto_icmp::{decode, Family};

fn bench(c: &mut Criterion) {
    let echo = [&[0x04, 0xca, 0, 1][..], &[0x61; 56]].concat();
    let mut unreach = vec![0, 0, 0, 0, 0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17, 0, 0];
    unreach.extend([
        192, 168, 1, 1, 192, 168, 1, 102, 0, 53, 0xe7, 0x47, 0, 8, 0, 0,
    ]);
    let mut ra = vec![64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    ra.extend([
        1, 1, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 5, 1, 0, 0, 0, 0, 0x05, 0xdc,
    ]);
    let mut g = c.benchmark_group("icmp_decode");
    g.bench_function("echo-request", |b| {
        b.iter(|| black_box(decode(Family::V4, 8, 0, black_box(&echo))))
    });
    g.bench_function("port-unreachable", |b| {
        b.iter(|| black_box(decode(Family::V4, 3, 3, black_box(&unreach))))
    });
    g.bench_function("router-advertisement", |b| {
        b.iter(|| black_box(decode(Family::V6, 134, 0, black_box(&ra))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
