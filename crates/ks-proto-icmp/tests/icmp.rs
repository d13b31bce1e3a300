//! Messages laid out by hand from RFC 792, 4443 and 4861.

use ks_proto_icmp::*;
use proptest::prelude::*;
use std::net::IpAddr;

/// An IPv4 header (20 bytes) + UDP ports, as an error quotes them.
fn quote_v4(proto: u8, src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
    let mut q = vec![0x45, 0, 0, 60, 0, 0, 0, 0, 64, proto, 0, 0];
    q.extend(src);
    q.extend(dst);
    q.extend(sp.to_be_bytes());
    q.extend(dp.to_be_bytes());
    q.extend([0, 8, 0, 0]);
    q
}

#[test]
fn echo_fields() {
    let m = decode(Family::V6, 128, 0, &[0, 1, 0, 3, 1, 2, 3, 4, 5]);
    assert_eq!(
        (m.type_name, m.ident, m.seq, m.data_size),
        ("echo-request", Some(1), Some(3), Some(5))
    );
    assert!(m.is_echo_request() && !m.is_echo_reply());
    let r = decode(Family::V4, 0, 0, &[0x04, 0xca, 0, 1]);
    assert!(r.is_echo_reply());
    assert_eq!(r.label(), "echo-reply 0/0 id=1226 seq=1");
}

#[test]
fn errors_quote_the_packet() {
    let mut rest = vec![0, 0, 0, 0];
    rest.extend(quote_v4(
        17,
        [192, 168, 1, 1],
        [192, 168, 1, 102],
        53,
        59207,
    ));
    let m = decode(Family::V4, 3, 3, &rest);
    assert_eq!(m.code_name, Some("port-unreachable"));
    let q = m.quoted.as_ref().unwrap();
    assert_eq!(
        (q.protocol, q.src_port, q.dst_port),
        (17, Some(53), Some(59207))
    );
    assert_eq!(q.src, "192.168.1.1".parse::<IpAddr>().unwrap());
    assert_eq!(
        m.label(),
        "destination-unreachable 3/3 port-unreachable udp 192.168.1.1:53 → 192.168.1.102:59207"
    );
    // Fragmentation needed carries the next-hop MTU; a quote cut before the ports
    // still names the addresses.
    let mut rest = vec![0, 0, 0x05, 0xdc];
    rest.extend(&quote_v4(6, [10, 0, 0, 1], [10, 0, 0, 2], 1, 2)[..20]);
    let m = decode(Family::V4, 3, 4, &rest);
    assert_eq!(m.mtu, Some(1500));
    assert_eq!(m.quoted.as_ref().unwrap().src_port, None);
    // ICMPv6 Packet Too Big with an IPv6 quote.
    let mut rest = 1280u32.to_be_bytes().to_vec();
    let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
    v6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    v6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
    v6.extend([0x30, 0x39, 0x00, 0x35]);
    rest.extend(v6);
    let m = decode(Family::V6, 2, 0, &rest);
    assert_eq!(m.mtu, Some(1280));
    assert_eq!(
        m.label(),
        "packet-too-big 2/0 udp [2001:db8::1]:12345 → [2001:db8::2]:53 mtu=1280"
    );
}

#[test]
fn an_error_about_a_ping_names_it() {
    // Host unreachable quoting an echo request (type 8, id 0x6c48, seq 1), as
    // ks_icmp_errors.pcap frame 51 (tshark: icmp.ident 27720 / seq 1 of the quote).
    let mut rest = vec![0, 0, 0, 0];
    let mut q = vec![0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0];
    q.extend([10, 0, 1, 2, 10, 0, 9, 9]);
    q.extend([8, 0, 0, 0, 0x6c, 0x48, 0, 1]);
    rest.extend(q);
    let m = decode(Family::V4, 3, 1, &rest);
    let quote = m.quoted.as_ref().unwrap();
    assert_eq!((quote.ident, quote.seq), (Some(27720), Some(1)));
    assert_eq!((m.ident, m.seq), (None, None));
    assert_eq!(
        m.label(),
        "destination-unreachable 3/1 host-unreachable echo id=27720 seq=1 10.0.1.2 → 10.0.9.9"
    );
    // An echo reply quoted (not a request) has no ping to name.
    rest[4 + 20] = 0;
    let m = decode(Family::V4, 3, 1, &rest);
    assert_eq!(m.quoted.as_ref().unwrap().seq, None);
}

#[test]
fn neighbour_discovery() {
    // Neighbor Solicitation for 2001:db8::1 with a source link-layer address option.
    let mut rest = vec![0, 0, 0, 0];
    rest.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    rest.extend([1, 1, 0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let m = decode(Family::V6, 135, 0, &rest);
    assert_eq!(m.type_name, "neighbor-solicitation");
    assert_eq!(m.target, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(m.options, ["source-link-layer-address 00:11:22:33:44:55"]);
    // Router Advertisement: lifetime, MTU option, a zero-length option stops the walk.
    let mut rest = vec![64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    rest.extend([5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
    rest.extend([3, 0]);
    let m = decode(Family::V6, 134, 0, &rest);
    assert_eq!(m.router_lifetime, Some(1800));
    assert_eq!(m.options, ["mtu 1500"]);
}

proptest! {
    #[test]
    fn never_panics(t in any::<u8>(), c in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
        let m = decode(if v6 { Family::V6 } else { Family::V4 }, t, c, &rest);
        let _ = m.label();
        prop_assert!(m.options.len() <= 16);
        serde_json::to_string(&m).unwrap();
    }
}
