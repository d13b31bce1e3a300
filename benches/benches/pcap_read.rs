//! `FileSource` reading a ~20 MB capture made of the bro-org records repeated:
//! as pcap from memory (`from_reader` on a `Cursor`), as pcap from a temporary
//! file (page cache), and converted to pcapng from memory. Every packet is
//! read and its length summed.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_benches::{drain_source, leak, memory_source, pcap_to_pcapng, replicated_pcap, BRO_ORG};
use ks_capture::FileSource;

const TARGET: usize = 20 << 20;

fn bench(c: &mut Criterion) {
    let pcap = replicated_pcap(BRO_ORG, TARGET).expect("build pcap image");
    let pcapng = pcap_to_pcapng(&pcap).expect("build pcapng image");
    let path = std::env::temp_dir().join(format!("ks-bench-pcap-read-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).expect("write temporary capture");
    let (pcap, pcapng) = (leak(pcap), leak(pcapng));

    let mut group = c.benchmark_group("pcap_read");
    group.throughput(Throughput::Bytes(pcap.len() as u64));
    group.bench_function("pcap_memory", |b| {
        b.iter(|| {
            let mut src = memory_source(pcap, "pcap").expect("open");
            black_box(drain_source(&mut src).expect("read"))
        })
    });
    group.bench_function("pcap_file", |b| {
        b.iter(|| {
            let mut src = FileSource::open(&path).expect("open");
            black_box(drain_source(&mut src).expect("read"))
        })
    });
    group.throughput(Throughput::Bytes(pcapng.len() as u64));
    group.bench_function("pcapng_memory", |b| {
        b.iter(|| {
            let mut src = memory_source(pcapng, "pcapng").expect("open");
            black_box(drain_source(&mut src).expect("read"))
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, bench);
criterion_main!(benches);
