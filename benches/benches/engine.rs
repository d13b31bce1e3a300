//! The whole pipeline: `ks_engine::Dissector` over bro-org read from memory
//! (capture parsing, decoding, flow table, reassembly, probing, HTTP parsing,
//! pairing, entry building), every output drained. Throughput: capture bytes.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_benches::{leak, memory_source, pcap, BRO_ORG};
use ks_engine::{Dissector, EngineConfig, Output};

fn dissect(bytes: &'static [u8]) -> (u64, u64) {
    let src = memory_source(bytes, "bro-org").expect("open");
    let (mut entries, mut flows) = (0u64, 0u64);
    for out in Dissector::new(src, EngineConfig::default()) {
        match out.expect("capture read") {
            Output::Entry(e) => {
                entries += 1;
                black_box(&e);
            }
            Output::Flow(_) => flows += 1,
        }
    }
    (entries, flows)
}

fn bench(c: &mut Criterion) {
    let bytes = leak(std::fs::read(pcap(BRO_ORG)).expect("read bro-org"));
    let (entries, flows) = dissect(bytes);
    eprintln!(
        "engine/bro-org: {} bytes, {entries} entries, {flows} flows",
        bytes.len()
    );
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("dissect_bro-org", |b| b.iter(|| black_box(dissect(bytes))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
