//! `TcpConnection::segment` on synthetic 1460-byte segments of one direction:
//! in order, out of order (adjacent pairs swapped; windows of 16 segments sent
//! last-first), and every segment retransmitted once. Throughput counts the
//! segments handed to `segment` (retransmissions included). Each iteration
//! starts a new connection with a SYN and flushes it at the end.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_reassembly::{
    flags, Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};

const MSS: usize = 1460;
/// Segments per connection: 1.5 MB of data.
const SEGMENTS: usize = 1024;
const ISN: u32 = 0xfff0_0000; // near the wrap, so sequence numbers wrap too
const WINDOW: usize = 16;

/// Data segment `i` (0-based) of the stream.
fn seg(payload: &[u8], i: usize) -> Segment<'_> {
    let off = i * MSS;
    let data = &payload[off..off + MSS];
    Segment {
        seq: ISN.wrapping_add(1).wrapping_add(off as u32),
        ack: 0,
        flags: flags::ACK | flags::PSH,
        payload: data,
        payload_len: MSS as u32,
    }
}

/// The order in which segments are sent, per scenario.
fn order(scenario: &str) -> Vec<usize> {
    let ids: Vec<usize> = (0..SEGMENTS).collect();
    match scenario {
        "in_order" => ids,
        "pairs_swapped" => ids
            .chunks(2)
            .flat_map(|p| p.iter().rev().copied())
            .collect(),
        "windows_reversed" => ids
            .chunks(WINDOW)
            .flat_map(|w| w.iter().rev().copied())
            .collect(),
        "retransmitted" => ids.iter().flat_map(|&i| [i, i]).collect(),
        other => panic!("unknown scenario {other}"),
    }
}

/// One connection: SYN, the data segments in `sent` order, flush. Returns the
/// bytes delivered in order (checked at setup, black-boxed when measured).
fn run(segs: &[Segment<'_>], cfg: &TcpConfig) -> (u64, TcpCounters) {
    let mut conn = TcpConnection::new();
    let mut budget = Budget::default();
    let mut counters = TcpCounters::default();
    let mut delivered = 0u64;
    let mut emit = |ev: StreamEvent<'_>| {
        if let StreamEvent::Data { data, .. } = ev {
            delivered += data.len() as u64;
        }
    };
    let syn = Segment {
        seq: ISN,
        ack: 0,
        flags: flags::SYN,
        payload: &[],
        payload_len: 0,
    };
    conn.segment(Side::A, &syn, cfg, &mut budget, &mut counters, &mut emit);
    for s in segs {
        conn.segment(Side::A, s, cfg, &mut budget, &mut counters, &mut emit);
    }
    conn.flush(&mut budget, &mut counters, &mut emit);
    (delivered, counters)
}

fn bench(c: &mut Criterion) {
    let payload: Vec<u8> = (0..SEGMENTS * MSS).map(|i| (i % 251) as u8).collect();
    let cfg = TcpConfig::default();
    let mut group = c.benchmark_group("reassembly");
    for scenario in [
        "in_order",
        "pairs_swapped",
        "windows_reversed",
        "retransmitted",
    ] {
        let segs: Vec<Segment<'_>> = order(scenario)
            .into_iter()
            .map(|i| seg(&payload, i))
            .collect();
        let (delivered, counters) = run(&segs, &cfg);
        assert_eq!(delivered, (SEGMENTS * MSS) as u64, "{scenario}");
        assert_eq!(counters.gaps, 0, "{scenario}");
        eprintln!(
            "reassembly/{scenario}: {} segments, {} out of order, {} retransmissions",
            segs.len(),
            counters.out_of_order,
            counters.retransmissions
        );
        group.throughput(Throughput::Elements(segs.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(scenario), &segs, |b, segs| {
            b.iter(|| black_box(run(black_box(segs), &cfg).0))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
