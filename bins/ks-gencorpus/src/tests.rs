use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ks_capture::{FileSource, PacketSource};
use ks_decode::{decode_link, decode_transport, Network, Transport};

use super::*;
use crate::gen::{checksum, Plan, Rng};
use crate::template::{Template, L4};

type Tuple = (u8, (IpAddr, u16), (IpAddr, u16));

struct Decoded {
    packets: u64,
    tuples: HashSet<Tuple>,
    /// Per tuple: SYN seen, FIN seen, payload-carrying packets.
    tcp: HashMap<Tuple, (bool, bool, u32)>,
    last_ts_ok: bool,
}

/// Reads a generated capture back with ks-capture and decodes every packet with ks-decode.
fn decode(bytes: Vec<u8>) -> Decoded {
    let mut src = FileSource::from_reader(Box::new(std::io::Cursor::new(bytes)), "gen").unwrap();
    let mut d = Decoded {
        packets: 0,
        tuples: HashSet::new(),
        tcp: HashMap::new(),
        last_ts_ok: true,
    };
    let mut last = 0;
    while let Some(p) = src.next_packet().unwrap() {
        d.packets += 1;
        d.last_ts_ok &= p.ts_ns >= last;
        last = p.ts_ns;
        let link = decode_link(p.link_type, p.data).expect("link decodes");
        let Network::Ip(ip) = link.net else {
            panic!("frame {} is not IP", p.frame)
        };
        if ip.fragment.is_some_and(|f| f.offset != 0) {
            continue;
        }
        let (proto, sp, dp, syn, fin, data) =
            match decode_transport(ip.protocol, ip.payload, ip.payload_len).expect("L4 decodes") {
                Transport::Tcp(t) => (
                    6,
                    t.src_port,
                    t.dst_port,
                    t.flags.syn(),
                    t.flags.fin(),
                    !t.payload.is_empty(),
                ),
                Transport::Udp(u) => (17, u.src_port, u.dst_port, false, false, true),
                other => panic!("unexpected transport {other:?}"),
            };
        let (a, b) = ((ip.src, sp), (ip.dst, dp));
        let key = if a <= b { (proto, a, b) } else { (proto, b, a) };
        d.tuples.insert(key);
        if proto == 6 {
            let e = d.tcp.entry(key).or_default();
            e.0 |= syn;
            e.1 |= fin;
            e.2 += u32::from(data);
        }
    }
    d
}

fn small_mixed(size: u64, seed: u64) -> (Vec<u8>, Report) {
    let mut out = Vec::new();
    let opt = Options {
        seed,
        ..Options::default()
    };
    let rep = mixed(size, None, &opt, &mut out).unwrap();
    (out, rep)
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
    assert_eq!(parse_size("50MB").unwrap(), 50_000_000);
    assert_eq!(parse_size("512K").unwrap(), 512 << 10);
    assert_eq!(parse_size("1.5MiB").unwrap(), 3 << 19);
    assert_eq!(parse_size("1000").unwrap(), 1000);
    assert!(parse_size("12 parsecs").is_err());
    assert!(parse_size("").is_err());
}

#[test]
fn every_source_replays() {
    let t = sources::templates().unwrap();
    assert_eq!(t.len(), sources::SOURCES.len());
    for (tpl, s) in t.iter().zip(sources::SOURCES) {
        assert!(!tpl.packets.is_empty(), "{}", s.path);
        assert!(tpl.flows > 0, "{}", s.path);
    }
    for (cat, _) in sources::MIX {
        assert!(
            sources::SOURCES.iter().any(|s| s.category == cat),
            "no capture for {cat:?}"
        );
    }
}

#[test]
fn mixed_output_is_a_readable_pcap_with_distinct_flows() {
    let (out, rep) = small_mixed(3_000_000, 1);
    assert_eq!(out.len() as u64, rep.bytes);
    assert!(
        rep.bytes >= 3_000_000 && rep.bytes < 3_600_000,
        "{}",
        rep.bytes
    );
    let d = decode(out);
    assert_eq!(d.packets, rep.packets);
    assert!(d.last_ts_ok, "timestamps go backwards");
    // Every copy's flows are new 5-tuples: nothing collides across copies.
    assert_eq!(d.tuples.len() as u64, rep.flows);
    assert!(rep.copies > 100, "{rep:?}");
    // The mix follows the weights to within a copy's worth of bytes.
    let total: u64 = rep.by_category.iter().map(|e| e.1).sum();
    for ((name, bytes), (_, w)) in rep.by_category.iter().zip(sources::MIX) {
        let share = *bytes as f64 * 100.0 / total as f64;
        assert!(
            (share - w as f64).abs() < 4.0,
            "{name}: {share:.1}% vs {w}%"
        );
    }
}

#[test]
fn deterministic_for_a_seed() {
    let (a, ra) = small_mixed(600_000, 42);
    let (b, _) = small_mixed(600_000, 42);
    let (c, _) = small_mixed(600_000, 43);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut s1 = Vec::new();
    let mut s2 = Vec::new();
    synthetic(50, &Options::default(), &mut s1).unwrap();
    synthetic(50, &Options::default(), &mut s2).unwrap();
    assert_eq!(s1, s2);
    assert!(ra.packets > 0);
}

#[test]
fn raw_ip_and_nanosecond_output_read_back() {
    let opt = Options {
        link: Link::Raw,
        nanos: true,
        ..Options::default()
    };
    let mut out = Vec::new();
    let rep = mixed(400_000, None, &opt, &mut out).unwrap();
    assert_eq!(&out[..4], &0xa1b2_3c4du32.to_le_bytes());
    let d = decode(out);
    assert_eq!(d.packets, rep.packets);
    assert_eq!(d.tuples.len() as u64, rep.flows);
}

/// IPv4 header and TCP/UDP checksums of one IP packet (`l4` from its template):
/// (header ok, transport ok), `None` where not checkable.
fn checks(ip: &[u8], v6: bool, frag: bool, l4: &L4, wire_len: u32) -> (Option<bool>, Option<bool>) {
    let hdr = (!v6).then(|| checksum(&ip[..usize::from(ip[0] & 15) * 4]) == 0);
    let (off, proto) = match l4 {
        L4::Tcp { off, .. } => (*off, 6u8),
        L4::Udp { off, .. } => (*off, 17u8),
        L4::None => return (hdr, None),
    };
    if ip.len() != wire_len as usize
        || frag
        || (proto == 17 && !v6 && ip[off + 6..off + 8] == [0, 0])
    {
        return (hdr, None);
    }
    let (sa, alen) = if v6 { (8, 16) } else { (12, 4) };
    let mut ph = Vec::new();
    ph.extend_from_slice(&ip[sa..sa + 2 * alen]);
    ph.extend_from_slice(&[0, proto]);
    ph.extend_from_slice(&((ip.len() - off) as u16).to_be_bytes());
    ph.extend_from_slice(&ip[off..]);
    (hdr, Some(checksum(&ph) == 0))
}

/// Starts each template once, in order.
struct Once(usize, usize);

impl Plan for Once {
    fn next(&mut self, _rng: &mut Rng) -> Option<usize> {
        (self.0 < self.1).then(|| {
            self.0 += 1;
            self.0 - 1
        })
    }
}

/// IP packets of a generated raw-IP capture, in file order.
fn ip_packets(out: Vec<u8>) -> Vec<Vec<u8>> {
    let mut src = FileSource::from_reader(Box::new(std::io::Cursor::new(out)), "gen").unwrap();
    let mut v = Vec::new();
    while let Some(p) = src.next_packet().unwrap() {
        v.push(p.data.to_vec());
    }
    v
}

#[test]
fn checksums_are_valid_after_rewriting() {
    let templates = sources::templates().unwrap();
    let opt = Options {
        link: Link::Raw,
        ..Options::default()
    };
    let (mut checked, mut full) = (0, 0);
    for (i, t) in templates.iter().enumerate() {
        let one: Vec<Template> = vec![t.clone()];
        let mut out = Vec::new();
        gen::run(&one, &["x"], &["x"], &mut Once(0, 1), &opt, &mut out).unwrap();
        let got = ip_packets(out);
        assert_eq!(got.len(), t.packets.len(), "template {i}");
        for (p, q) in t.packets.iter().zip(&got) {
            // Templates carry fixed checksums wherever the whole packet is there…
            let before = checks(&p.ip, p.v6, p.frag, &p.l4, p.wire_len);
            assert_ne!(before.1, Some(false), "{}: template checksum", t.name);
            // … and copies keep them valid.
            let after = checks(q, p.v6, p.frag, &p.l4, p.wire_len);
            assert_ne!(after.0, Some(false), "{}: IPv4 header checksum", t.name);
            assert_eq!(after.1, before.1, "{}: L4 checksum", t.name);
            full += u32::from(after.1.is_some());
            checked += 1;
        }
    }
    assert!(checked > 1000 && full > 1000, "{checked} {full}");
}

#[test]
fn synthetic_connections_are_complete_and_valid() {
    let n = 300;
    let opt = Options {
        link: Link::Raw,
        ..Options::default()
    };
    let mut out = Vec::new();
    let rep = synthetic(n, &opt, &mut out).unwrap();
    assert_eq!(rep.copies, n);
    assert_eq!(rep.flows, n);
    for q in ip_packets(out.clone()) {
        let off = usize::from(q[0] & 15) * 4;
        let l4 = L4::Tcp {
            off,
            ack: false,
            sack: vec![],
            rw_sport: false,
            rw_dport: false,
        };
        assert_eq!(
            checks(&q, false, false, &l4, q.len() as u32),
            (Some(true), Some(true))
        );
    }
    let d = decode(out);
    assert_eq!(d.tuples.len() as u64, n);
    let mut requests = 0;
    for (syn, fin, data) in d.tcp.values() {
        assert!(*syn && *fin);
        assert!(*data == 4 || *data == 6, "{data} data packets");
        requests += data / 2;
    }
    assert!(requests as u64 > 2 * n);
}
