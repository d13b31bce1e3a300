//! Rough per-segment speed: `cargo run --release -p ks-reassembly --example reassembly_throughput`.
use std::time::Instant;

use ks_reassembly::{
    flags, Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};

fn main() {
    let cfg = TcpConfig::default();
    let mut budget = Budget::default();
    let mut c = TcpCounters::default();
    let payload = vec![0x41u8; 1400];
    let n: u32 = 5_000_000;
    let mut total = 0u64;
    let mut emit = |e: StreamEvent<'_>| {
        if let StreamEvent::Data { data, .. } = e {
            total += data.len() as u64;
        }
    };
    for (name, swap) in [("in-order", false), ("pairwise swapped", true)] {
        let mut conn = TcpConnection::new();
        let syn = Segment {
            seq: 7,
            ack: 0,
            flags: flags::SYN,
            payload: &[],
            payload_len: 0,
        };
        conn.segment(Side::A, &syn, &cfg, &mut budget, &mut c, &mut emit);
        let t = Instant::now();
        for i in 0..n {
            let k = if swap { i ^ 1 } else { i };
            let seg = Segment {
                seq: 8u32.wrapping_add(k.wrapping_mul(1400)),
                ack: 1,
                flags: flags::ACK,
                payload: &payload,
                payload_len: 1400,
            };
            let side = Side::A;
            conn.segment(side, &seg, &cfg, &mut budget, &mut c, &mut emit);
        }
        let dt = t.elapsed().as_secs_f64();
        println!("{name}: {:.1} M segments/s", f64::from(n) / dt / 1e6);
    }
    println!("delivered {total} bytes, gaps {}", c.gaps);
}
