//! Defragmenter behaviour: ordering, duplicates, overlaps, timeouts, caps.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ks_decode::{DefragConfig, Defragmenter, Fragment, IpPacket};

fn frag<'a>(id: u32, offset: u32, more: bool, data: &'a [u8]) -> IpPacket<'a> {
    IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        version: 4,
        protocol: 17,
        ttl: 64,
        payload: data,
        payload_len: data.len() as u32,
        fragment: Some(Fragment { id, offset, more }),
    }
}

fn datagram(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Split into 3 fragments at multiples of 8.
fn three(d: &[u8]) -> [(u32, bool, &[u8]); 3] {
    [
        (0, true, &d[..16]),
        (16, true, &d[16..32]),
        (32, false, &d[32..]),
    ]
}

#[test]
fn ipv4_three_in_order() {
    let d = datagram(40);
    let mut df = Defragmenter::new(DefragConfig::default());
    let parts = three(&d);
    assert!(df
        .push(&frag(1, parts[0].0, parts[0].1, parts[0].2), 1)
        .is_none());
    assert!(df
        .push(&frag(1, parts[1].0, parts[1].1, parts[1].2), 2)
        .is_none());
    assert!(df.buffered_bytes() >= 32);
    let r = df
        .push(&frag(1, parts[2].0, parts[2].1, parts[2].2), 3)
        .unwrap();
    assert_eq!(r.payload, d);
    assert_eq!(r.protocol, 17);
    assert_eq!(r.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    let c = df.counters();
    assert_eq!((c.fragments, c.reassembled, c.overlaps), (3, 1, 0));
    assert_eq!(df.buffered_bytes(), 0);
}

#[test]
fn ipv4_three_reversed() {
    let d = datagram(40);
    let mut df = Defragmenter::new(DefragConfig::default());
    let mut out = None;
    for (off, more, data) in three(&d).into_iter().rev() {
        assert!(out.is_none());
        out = df.push(&frag(2, off, more, data), 0);
    }
    assert_eq!(out.unwrap().payload, d);
    assert_eq!(df.buffered_bytes(), 0);
}

#[test]
fn duplicates_are_overlaps_and_first_wins() {
    let d = datagram(40);
    let mut df = Defragmenter::new(DefragConfig::default());
    let p = three(&d);
    df.push(&frag(3, p[0].0, p[0].1, p[0].2), 0);
    // Exact duplicate with different bytes: the first copy must win.
    let bogus = [0xffu8; 16];
    df.push(&frag(3, 0, true, &bogus), 0);
    df.push(&frag(3, p[2].0, p[2].1, p[2].2), 0);
    df.push(&frag(3, p[2].0, p[2].1, p[2].2), 0);
    let r = df.push(&frag(3, p[1].0, p[1].1, p[1].2), 0).unwrap();
    assert_eq!(r.payload, d);
    let c = df.counters();
    assert_eq!((c.fragments, c.overlaps, c.reassembled), (5, 2, 1));
}

#[test]
fn partial_overlap_fills_only_holes() {
    let d = datagram(48);
    let mut df = Defragmenter::new(DefragConfig::default());
    df.push(&frag(4, 0, true, &d[..16]), 0);
    df.push(&frag(4, 32, false, &d[32..]), 0);
    // Covers 8..40: bytes 8..16 and 32..40 already held; junk there must lose.
    let mut middle = vec![0xee; 32];
    middle[8..24].copy_from_slice(&d[16..32]);
    let r = df.push(&frag(4, 8, true, &middle), 0).unwrap();
    assert_eq!(r.payload, d);
    assert_eq!(df.counters().overlaps, 1);
}

#[test]
fn conflicting_last_fragment_ignored() {
    let d = datagram(40);
    let mut df = Defragmenter::new(DefragConfig::default());
    df.push(&frag(5, 32, false, &d[32..]), 0);
    // A second "last" fragment claiming a different total, and a middle one past the end.
    assert!(df.push(&frag(5, 40, false, &[1; 8]), 0).is_none());
    assert!(df.push(&frag(5, 40, true, &[1; 8]), 0).is_none());
    assert_eq!(df.counters().overlaps, 2);
    df.push(&frag(5, 0, true, &d[..16]), 0);
    assert_eq!(
        df.push(&frag(5, 16, true, &d[16..32]), 0).unwrap().payload,
        d
    );
}

#[test]
fn ipv6_fragments() {
    let d = datagram(3000);
    let src = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let dst = IpAddr::V6("2001:db8::2".parse().unwrap());
    let mk = |offset: u32, more: bool, data: &'static [u8]| IpPacket {
        src,
        dst,
        version: 6,
        protocol: 6,
        ttl: 1,
        payload: data,
        payload_len: data.len() as u32,
        fragment: Some(Fragment {
            id: 0xabcdef01,
            offset,
            more,
        }),
    };
    let d: &'static [u8] = Box::leak(d.into_boxed_slice());
    let mut df = Defragmenter::new(DefragConfig::default());
    assert!(df.push(&mk(1448, true, &d[1448..2896]), 0).is_none());
    assert!(df.push(&mk(2896, false, &d[2896..]), 0).is_none());
    // Same id from a different source is a different datagram.
    let mut other = mk(0, true, &d[..1448]);
    other.src = IpAddr::V6("::2".parse().unwrap());
    assert!(df.push(&other, 0).is_none());
    let r = df.push(&mk(0, true, &d[..1448]), 0).unwrap();
    assert_eq!((r.src, r.dst, r.protocol), (src, dst, 6));
    assert_eq!(r.payload, d);
}

#[test]
fn timeout_expiry() {
    let cfg = DefragConfig {
        timeout_ns: 1_000,
        ..DefragConfig::default()
    };
    let mut df = Defragmenter::new(cfg);
    df.push(&frag(1, 0, true, &[0; 64]), 100);
    df.push(&frag(2, 0, true, &[0; 64]), 900);
    df.expire(1_150);
    assert_eq!(df.counters().timed_out, 1);
    assert_eq!(df.pending(), 1);
    df.expire(2_000);
    assert_eq!(df.counters().timed_out, 2);
    assert_eq!(df.buffered_bytes(), 0);
    // The expired datagram's tail cannot complete it any more.
    assert!(df.push(&frag(1, 64, false, &[0; 8]), 2_100).is_none());
}

#[test]
fn memory_cap_evicts_oldest() {
    let cfg = DefragConfig {
        max_bytes: 4096,
        ..DefragConfig::default()
    };
    let mut df = Defragmenter::new(cfg);
    let chunk = [1u8; 1000];
    for id in 0..20 {
        df.push(&frag(id, 0, true, &chunk), u64::from(id));
        assert!(df.buffered_bytes() <= 4096, "{}", df.buffered_bytes());
    }
    let c = df.counters();
    assert!(c.evicted_over_cap >= 15, "{c:?}");
    // The newest survive: completing id 19 works, id 0 was evicted.
    assert!(df.push(&frag(19, 1000, false, &[2; 8]), 30).is_some());
    assert!(df.push(&frag(0, 1000, false, &[2; 8]), 31).is_none());
    // A single datagram larger than the cap is refused.
    let big = vec![0u8; 5000];
    assert!(df.push(&frag(99, 0, true, &big), 40).is_none());
    assert_eq!(df.counters().too_large, 1);
    assert!(df.buffered_bytes() <= 4096);
}

#[test]
fn datagram_count_cap() {
    let cfg = DefragConfig {
        max_datagrams: 4,
        ..DefragConfig::default()
    };
    let mut df = Defragmenter::new(cfg);
    for id in 0..10 {
        df.push(&frag(id, 0, true, &[0; 8]), u64::from(id));
        assert!(df.pending() <= 4);
    }
    assert_eq!(df.counters().evicted_over_cap, 6);
}

#[test]
fn oversized_datagram() {
    let mut df = Defragmenter::new(DefragConfig::default());
    assert!(df.push(&frag(1, 65528, false, &[0; 100]), 0).is_none());
    assert_eq!(df.counters().too_large, 1);
    assert_eq!(df.buffered_bytes(), 0);
}

#[test]
fn truncated_fragment_poisons_datagram() {
    let d = datagram(40);
    let mut df = Defragmenter::new(DefragConfig::default());
    let p = three(&d);
    df.push(&frag(7, p[0].0, p[0].1, p[0].2), 0);
    let mut cut = frag(7, p[1].0, p[1].1, &p[1].2[..10]);
    cut.payload_len = 16;
    assert!(df.push(&cut, 0).is_none());
    assert_eq!(df.counters().truncated_fragments, 1);
    assert_eq!(df.buffered_bytes(), 0);
    // Even the full copy arriving later cannot revive it.
    assert!(df.push(&frag(7, p[1].0, p[1].1, p[1].2), 0).is_none());
    assert!(df.push(&frag(7, p[2].0, p[2].1, p[2].2), 0).is_none());
    assert_eq!(df.counters().reassembled, 0);
}

#[test]
fn non_fragment_is_ignored() {
    let mut df = Defragmenter::new(DefragConfig::default());
    let mut p = frag(1, 0, false, b"x");
    p.fragment = None;
    assert!(df.push(&p, 0).is_none());
    assert_eq!(df.counters().fragments, 0);
}
