//! serde_json serialisation of the real `ks_engine::Entry` values of bro-org
//! (as produced by `Dissector`), one JSON object per line into a reused
//! `Vec<u8>`, as `ks-dissect --format jsonl` writes them. Throughput: entries.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_benches::{entries, write_jsonl, BRO_ORG};

fn bench(c: &mut Criterion) {
    let entries = entries(BRO_ORG).expect("dissect bro-org");
    let mut buf = Vec::new();
    write_jsonl(&entries, &mut buf).expect("serialise");
    eprintln!(
        "entry_serialise: {} entries, {} bytes of JSON lines",
        entries.len(),
        buf.len()
    );
    let mut group = c.benchmark_group("entry_serialise");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("jsonl_bro-org", |b| {
        b.iter(|| {
            write_jsonl(black_box(&entries), &mut buf).expect("serialise");
            black_box(buf.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
