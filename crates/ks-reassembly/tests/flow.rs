use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use ks_reassembly::{FlowKey, FlowTable, Side};

const TCP: u8 = 6;
const UDP: u8 = 17;

fn ep(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port)
}

#[test]
fn key_is_canonical() {
    let (c, s) = (ep(1, 40000), ep(2, 80));
    assert_eq!(FlowKey::new(TCP, c, s, 0), FlowKey::new(TCP, s, c, 0));
    assert_ne!(FlowKey::new(TCP, c, s, 0), FlowKey::new(UDP, c, s, 0));
    assert_ne!(FlowKey::new(TCP, c, s, 0), FlowKey::new(TCP, c, s, 7));
    assert_ne!(
        FlowKey::new(TCP, c, s, 0),
        FlowKey::new(TCP, c, ep(2, 81), 0)
    );
    let k = FlowKey::new(TCP, s, c, 3);
    assert_eq!((k.transport(), k.vlan()), (TCP, 3));
    // IPv6 flow info / scope do not split a flow.
    let ip6 = Ipv6Addr::LOCALHOST;
    let a = SocketAddr::V6(SocketAddrV6::new(ip6, 1, 5, 0));
    let b = SocketAddr::V6(SocketAddrV6::new(ip6, 1, 0, 0));
    assert_eq!(FlowKey::new(TCP, a, c, 0), FlowKey::new(TCP, c, b, 0));
}

#[test]
fn numbering_side_and_lookup() {
    let mut t: FlowTable<u32> = FlowTable::new(16);
    assert!(t.is_empty());
    let (c1, s1, c2, s2) = (ep(1, 1000), ep(2, 80), ep(3, 53), ep(4, 53));
    let k1 = FlowKey::new(TCP, c1, s1, 0);
    let k2 = FlowKey::new(UDP, c2, s2, 0);
    let k3 = FlowKey::new(TCP, ep(1, 1001), s1, 0);
    // B sent the first packet of flow 1: B's endpoint becomes side A.
    let f1 = t.insert(k1, s1, c1, 10, 100).unwrap();
    let f2 = t.insert(k2, c2, s2, 11, 200).unwrap();
    let f3 = t.insert(k3, ep(1, 1001), s1, 12, 300).unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t.get(f1).unwrap().stream, 0);
    assert_eq!(t.get(f2).unwrap().stream, 0);
    assert_eq!(t.get(f3).unwrap().stream, 1);
    assert_eq!(t.streams_created(TCP), 2);
    assert_eq!(t.streams_created(UDP), 1);
    assert_eq!(t.lookup(&FlowKey::new(TCP, c1, s1, 0)), Some(f1));
    assert_eq!(t.lookup(&FlowKey::new(TCP, c1, ep(2, 81), 0)), None);
    let f = t.get(f1).unwrap();
    assert_eq!((f.a, f.b), (s1, c1));
    assert_eq!(f.side_of(s1), Side::A);
    assert_eq!(f.side_of(c1), Side::B);
    t.get_mut(f2).unwrap().value += 1;
    assert_eq!(t.get(f2).unwrap().value, 201);
    assert!(t.get(999).is_none());
}

#[test]
fn touch_and_expire_oldest_first() {
    let mut t: FlowTable<&str> = FlowTable::new(8);
    let a = t
        .insert(
            FlowKey::new(TCP, ep(1, 1), ep(9, 9), 0),
            ep(1, 1),
            ep(9, 9),
            100,
            "a",
        )
        .unwrap();
    let b = t
        .insert(
            FlowKey::new(TCP, ep(2, 1), ep(9, 9), 0),
            ep(2, 1),
            ep(9, 9),
            200,
            "b",
        )
        .unwrap();
    let c = t
        .insert(
            FlowKey::new(TCP, ep(3, 1), ep(9, 9), 0),
            ep(3, 1),
            ep(9, 9),
            300,
            "c",
        )
        .unwrap();
    assert_eq!(t.oldest(), Some(a));
    t.touch(a, 400);
    assert_eq!(t.oldest(), Some(b));
    assert_eq!(t.get(a).unwrap().last_ts_ns, 400);
    assert_eq!(t.get(a).unwrap().first_ts_ns, 100);
    // Timestamps do not go backwards.
    t.touch(a, 350);
    assert_eq!(t.get(a).unwrap().last_ts_ns, 400);
    // Idle before 1000 - 650 = 350: b (200) and c (300), oldest first.
    let mut out = Vec::new();
    t.expire(1000, 650, |f| out.push(f.value));
    assert_eq!(out, vec!["b", "c"]);
    assert_eq!(t.len(), 1);
    assert_eq!(t.oldest(), Some(a));
    assert!(t.get(b).is_none() && t.get(c).is_none());
    t.expire(1000, 650, |f| out.push(f.value));
    assert_eq!(out.len(), 2);
    t.expire(10_000, 0, |f| out.push(f.value));
    assert_eq!(out, vec!["b", "c", "a"]);
    assert_eq!(t.oldest(), None);
    assert!(t.is_empty());
}

#[test]
fn expire_many_is_ordered() {
    let mut t: FlowTable<u64> = FlowTable::new(10_000);
    let ids: Vec<_> = (0..5000u64)
        .map(|i| {
            let s = ep((i % 250) as u8, (i / 250) as u16 + 1);
            t.insert(FlowKey::new(UDP, s, ep(0, 53), 0), s, ep(0, 53), i, i)
                .unwrap()
        })
        .collect();
    // Touch every even flow late: odd ones are now the oldest, in order.
    for (i, &id) in ids.iter().enumerate() {
        if i % 2 == 0 {
            t.touch(id, 10_000 + i as u64);
        }
    }
    let mut out = Vec::new();
    t.expire(10_000, 0, |f| out.push(f.value));
    assert_eq!(out, (0..5000).filter(|i| i % 2 == 1).collect::<Vec<_>>());
    assert_eq!(t.len(), 2500);
}

#[test]
fn remove_and_reinsert_gets_new_stream() {
    let mut t: FlowTable<()> = FlowTable::new(4);
    let k = FlowKey::new(TCP, ep(1, 1), ep(2, 2), 0);
    let other = t
        .insert(
            FlowKey::new(TCP, ep(5, 1), ep(2, 2), 0),
            ep(5, 1),
            ep(2, 2),
            0,
            (),
        )
        .unwrap();
    let id = t.insert(k, ep(1, 1), ep(2, 2), 0, ()).unwrap();
    let f = t.remove(id).unwrap();
    assert_eq!(f.stream, 1);
    assert!(t.remove(id).is_none());
    assert_eq!(t.lookup(&k), None);
    let id2 = t.insert(k, ep(2, 2), ep(1, 1), 5, ()).unwrap();
    assert_eq!(id2, id, "slot reused");
    assert_eq!(t.get(id2).unwrap().stream, 2);
    assert_eq!(t.get(other).unwrap().stream, 0, "others not renumbered");
    assert_eq!(t.lookup(&k), Some(id2));
}

#[test]
fn full_table_is_err() {
    let mut t: FlowTable<&str> = FlowTable::new(2);
    let k = |i| FlowKey::new(TCP, ep(i, 1), ep(9, 9), 0);
    let a = t.insert(k(1), ep(1, 1), ep(9, 9), 0, "a").unwrap();
    t.insert(k(2), ep(2, 1), ep(9, 9), 0, "b").unwrap();
    assert_eq!(t.insert(k(3), ep(3, 1), ep(9, 9), 0, "c"), Err("c"));
    assert_eq!(t.streams_created(TCP), 2);
    // Evict the oldest, then retry.
    let victim = t.oldest().unwrap();
    assert_eq!(victim, a);
    t.remove(victim);
    assert!(t.insert(k(3), ep(3, 1), ep(9, 9), 0, "c").is_ok());
    let mut zero: FlowTable<()> = FlowTable::new(0);
    assert!(zero.insert(k(1), ep(1, 1), ep(9, 9), 0, ()).is_err());
}

#[test]
fn drain_all_in_creation_order() {
    let mut t: FlowTable<u32> = FlowTable::new(8);
    let mut ids = Vec::new();
    for i in 0..6u8 {
        let tr = if i % 2 == 0 { TCP } else { UDP };
        ids.push(
            t.insert(
                FlowKey::new(tr, ep(i, 1), ep(9, 9), 0),
                ep(i, 1),
                ep(9, 9),
                0,
                u32::from(i),
            )
            .unwrap(),
        );
    }
    // Reuse a slot: the new flow is the youngest by creation despite its low id.
    t.remove(ids[0]);
    t.insert(
        FlowKey::new(TCP, ep(7, 1), ep(9, 9), 0),
        ep(7, 1),
        ep(9, 9),
        0,
        6,
    )
    .unwrap();
    t.touch(ids[5], 99);
    let mut out = Vec::new();
    t.drain_all(|f| out.push((f.value, f.stream)));
    assert_eq!(out, vec![(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3)]);
    assert!(t.is_empty());
    assert_eq!(t.oldest(), None);
}
