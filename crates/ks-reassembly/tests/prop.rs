use ks_reassembly::{
    flags, Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};
use proptest::prelude::*;

/// Concatenated data, gaps (offset, len), data pieces (offset, bytes), FIN seen, final budget.
type Outcome = (Vec<u8>, Vec<(u64, u64)>, Vec<(u64, Vec<u8>)>, bool, Budget);

/// A SYN, then the data in segments (shuffled, with duplicates, optionally one
/// dropped), then a FIN-only segment inside the shuffle, then flush.
fn run(
    cfg: TcpConfig,
    isn: u32,
    data: &[u8],
    cuts: &[usize],
    order: &[usize],
    dups: &[usize],
    drop: Option<usize>,
) -> Outcome {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
    bounds.push(0);
    bounds.push(data.len());
    bounds.sort_unstable();
    bounds.dedup();
    // (start, end) of each segment; the FIN is the extra index `segs.len()`.
    let segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let n = segs.len() + 1;
    let mut seq_order: Vec<usize> = (0..n).collect();
    for (i, &o) in order.iter().enumerate() {
        let j = i % n;
        seq_order.swap(j, o % n);
    }
    for &dup in dups {
        seq_order.insert(dup % (seq_order.len() + 1), dup % n);
    }
    let mut budget = Budget::default();
    let mut c = TcpCounters::default();
    let mut conn = TcpConnection::new();
    let mut out = Vec::new();
    let mut gaps = Vec::new();
    let mut pieces = Vec::new();
    let mut fin = false;
    let mut emit = |e: StreamEvent<'_>| match e {
        StreamEvent::Data { side, offset, data } => {
            assert_eq!(side, Side::A);
            assert_eq!(
                offset,
                (out.len()
                    + gaps
                        .iter()
                        .map(|g: &(u64, u64)| g.1 as usize)
                        .sum::<usize>()) as u64
            );
            out.extend_from_slice(data);
            pieces.push((offset, data.to_vec()));
        }
        StreamEvent::Gap { offset, len, .. } => gaps.push((offset, len)),
        StreamEvent::Fin { .. } => fin = true,
        StreamEvent::Rst { .. } => panic!("no rst"),
    };
    let syn = Segment {
        seq: isn,
        ack: 0,
        flags: flags::SYN,
        payload: &[],
        payload_len: 0,
    };
    conn.segment(Side::A, &syn, &cfg, &mut budget, &mut c, &mut emit);
    for &i in &seq_order {
        if Some(i) == drop.map(|d| d % segs.len().max(1)) && !segs.is_empty() {
            continue;
        }
        let seg = if i == segs.len() {
            let s = isn.wrapping_add(1).wrapping_add(data.len() as u32);
            Segment {
                seq: s,
                ack: 0,
                flags: flags::FIN,
                payload: &[],
                payload_len: 0,
            }
        } else {
            let (a, b) = segs[i];
            let p = &data[a..b];
            Segment {
                seq: isn.wrapping_add(1).wrapping_add(a as u32),
                ack: 0,
                flags: flags::PSH,
                payload: p,
                payload_len: p.len() as u32,
            }
        };
        conn.segment(Side::A, &seg, &cfg, &mut budget, &mut c, &mut emit);
        assert_eq!(budget.used, conn.buffered_bytes());
    }
    conn.flush(&mut budget, &mut c, &mut emit);
    assert_eq!(conn.buffered_bytes(), 0);
    (out, gaps, pieces, fin, budget)
}

proptest! {
    #[test]
    fn shuffled_with_duplicates_reassembles(
        isn in any::<u32>(),
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        order in proptest::collection::vec(any::<usize>(), 0..60),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let (out, gaps, _, fin, budget) = run(TcpConfig::default(), isn, &data, &cuts, &order, &dups, None);
        prop_assert_eq!(out, data);
        prop_assert!(gaps.is_empty());
        prop_assert!(fin);
        prop_assert_eq!(budget.used, 0);
    }

    #[test]
    fn dropped_segment_becomes_gap(
        isn in any::<u32>(),
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(any::<usize>(), 1..40),
        order in proptest::collection::vec(any::<usize>(), 0..60),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
        drop in any::<usize>(),
    ) {
        let (out, gaps, pieces, fin, budget) = run(TcpConfig::default(), isn, &data, &cuts, &order, &dups, Some(drop));
        let gap_total: u64 = gaps.iter().map(|g| g.1).sum();
        prop_assert_eq!(out.len() as u64 + gap_total, data.len() as u64);
        prop_assert!(gap_total > 0);
        for (off, bytes) in pieces {
            let off = off as usize;
            prop_assert_eq!(&data[off..off + bytes.len()], &bytes[..]);
        }
        prop_assert!(fin);
        prop_assert_eq!(budget.used, 0);
    }

    #[test]
    fn tiny_caps_never_lose_track(
        isn in any::<u32>(),
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(any::<usize>(), 1..40),
        order in proptest::collection::vec(any::<usize>(), 0..60),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
        drop in proptest::option::of(any::<usize>()),
        max_bytes in 0usize..600,
        max_segs in 0usize..4,
    ) {
        let cfg = TcpConfig { max_ooo_bytes: max_bytes, max_ooo_segments: max_segs };
        let (out, gaps, pieces, fin, budget) = run(cfg, isn, &data, &cuts, &order, &dups, drop);
        let gap_total: u64 = gaps.iter().map(|g| g.1).sum();
        prop_assert_eq!(out.len() as u64 + gap_total, data.len() as u64);
        for (off, bytes) in pieces {
            let off = off as usize;
            prop_assert_eq!(&data[off..off + bytes.len()], &bytes[..]);
        }
        prop_assert!(fin);
        prop_assert_eq!(budget.used, 0);
    }
}
