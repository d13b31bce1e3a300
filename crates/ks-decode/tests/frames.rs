//! Hand-built frames for every supported link type and the tricky cases.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ks_decode::{
    decode_link, decode_transport, linktype, DecodeError, Fragment, IpPacket, LinkInfo, Network,
    TcpFlags, Transport,
};

const SRC4: [u8; 4] = [10, 0, 0, 1];
const DST4: [u8; 4] = [192, 168, 1, 2];

fn v6(last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

/// TCP header (20 bytes + options) followed by payload.
fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&1000u32.to_be_bytes());
    t.extend_from_slice(&2000u32.to_be_bytes());
    t.push((((20 + options.len()) / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&4096u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(options);
    t.extend_from_slice(payload);
    t
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn ipv4_frag(proto: u8, body: &[u8], id: u16, off8: u16, more: bool) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    let fo = off8 | if more { 0x2000 } else { 0 };
    h.extend_from_slice(&fo.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&SRC4);
    h.extend_from_slice(&DST4);
    h.extend_from_slice(body);
    h
}

fn ipv4(proto: u8, body: &[u8]) -> Vec<u8> {
    ipv4_frag(proto, body, 7, 0, false)
}

/// IPv6 header; `exts` is already-encoded extension headers, `first` the
/// next-header value of the fixed header.
fn ipv6(first: u8, exts: &[u8], body: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&((exts.len() + body.len()) as u16).to_be_bytes());
    h.push(first);
    h.push(33);
    h.extend_from_slice(&v6(1));
    h.extend_from_slice(&v6(2));
    h.extend_from_slice(exts);
    h.extend_from_slice(body);
    h
}

fn eth(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xaa; 6];
    f.extend_from_slice(&[0xbb; 6]);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn vlan_tag(id: u16, tpid_next: u16) -> Vec<u8> {
    let mut v = (0x2000 | id).to_be_bytes().to_vec();
    v.extend_from_slice(&tpid_next.to_be_bytes());
    v
}

fn ip(info: &LinkInfo<'_>) -> IpPacket<'static> {
    match info.net {
        // Tests hold the frames for the whole test, so leaking the copy is fine.
        Network::Ip(p) => IpPacket {
            payload: Box::leak(p.payload.to_vec().into_boxed_slice()),
            ..p
        },
        other => panic!("not IP: {other:?}"),
    }
}

fn assert_tcp4(info: &LinkInfo<'_>, sport: u16, dport: u16, payload: &[u8]) {
    let p = ip(info);
    assert_eq!(p.version, 4);
    assert_eq!(p.src, IpAddr::V4(Ipv4Addr::from(SRC4)));
    assert_eq!(p.dst, IpAddr::V4(Ipv4Addr::from(DST4)));
    assert_eq!(p.protocol, 6);
    assert_eq!(p.ttl, 64);
    let Transport::Tcp(t) = decode_transport(p.protocol, p.payload, p.payload_len).unwrap() else {
        panic!("not tcp")
    };
    assert_eq!((t.src_port, t.dst_port), (sport, dport));
    assert_eq!((t.seq, t.ack, t.window), (1000, 2000, 4096));
    assert_eq!(t.payload, payload);
    assert_eq!(t.payload_len as usize, payload.len());
    assert!(!t.header_truncated);
}

fn sample4() -> Vec<u8> {
    ipv4(
        6,
        &tcp(1234, 80, TcpFlags::PSH | TcpFlags::ACK, &[], b"GET /"),
    )
}

#[test]
fn ethernet_ipv4_tcp_with_padding_and_trailer() {
    let mut f = eth(0x0800, &sample4());
    f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0]); // trailer / padding
    let info = decode_link(linktype::ETHERNET, &f).unwrap();
    assert_eq!(info.vlans.depth, 0);
    assert_eq!(info.mpls_depth, 0);
    assert_tcp4(&info, 1234, 80, b"GET /");
}

#[test]
fn ethernet_vlan_depths() {
    for depth in 1..=3u16 {
        let tpids = [0x88a8, 0x9100, 0x8100];
        let mut body = Vec::new();
        for i in 0..depth {
            let next = if i + 1 == depth { 0x0800 } else { 0x8100 };
            body.extend_from_slice(&vlan_tag(100 + i, next));
        }
        body.extend_from_slice(&sample4());
        let f = eth(tpids[usize::from(depth) - 1], &body);
        let info = decode_link(linktype::ETHERNET, &f).unwrap();
        assert_eq!(info.vlans.depth as u16, depth);
        let want: Vec<u16> = (0..depth).map(|i| 100 + i).collect();
        assert_eq!(info.vlans.as_slice(), &want[..]);
        assert_tcp4(&info, 1234, 80, b"GET /");
    }
}

#[test]
fn ethernet_vlan_deeper_than_four_keeps_first_four() {
    let mut body = Vec::new();
    for i in 0..6u16 {
        body.extend_from_slice(&vlan_tag(i + 1, if i == 5 { 0x0800 } else { 0x8100 }));
    }
    body.extend_from_slice(&sample4());
    let frame = eth(0x8100, &body);
    let info = decode_link(linktype::ETHERNET, &frame).unwrap();
    assert_eq!(info.vlans.depth, 6);
    assert_eq!(info.vlans.ids, [1, 2, 3, 4]);
    assert_tcp4(&info, 1234, 80, b"GET /");
}

#[test]
fn ethernet_mpls_two_labels_ipv4_and_ipv6() {
    let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]; // second has BoS
    let mut body = labels.to_vec();
    body.extend_from_slice(&sample4());
    let frame = eth(0x8847, &body);
    let info = decode_link(linktype::ETHERNET, &frame).unwrap();
    assert_eq!(info.mpls_depth, 2);
    assert_tcp4(&info, 1234, 80, b"GET /");

    let mut body = labels.to_vec();
    body.extend_from_slice(&ipv6(17, &[], &udp(5353, 53, b"q")));
    let mut outer = vlan_tag(42, 0x8848);
    outer.extend_from_slice(&body);
    let frame = eth(0x8100, &outer);
    let info = decode_link(linktype::ETHERNET, &frame).unwrap();
    assert_eq!((info.mpls_depth, info.vlans.as_slice()), (2, &[42u16][..]));
    let p = ip(&info);
    assert_eq!((p.version, p.protocol), (6, 17));
    let Transport::Udp(u) = decode_transport(17, p.payload, p.payload_len).unwrap() else {
        panic!()
    };
    assert_eq!((u.src_port, u.dst_port, u.payload), (5353, 53, &b"q"[..]));
}

#[test]
fn ethernet_mpls_non_ip_payload_is_other() {
    let body = [0x00, 0x01, 0x01, 0x40, 0x00, 0x00, 0x00, 0x00];
    let frame = eth(0x8847, &body);
    let info = decode_link(linktype::ETHERNET, &frame).unwrap();
    assert!(matches!(info.net, Network::Other { ethertype: 0x8847 }));
    assert!(decode_link(linktype::ETHERNET, &eth(0x8847, &[0, 1, 0, 0])).is_err());
}

#[test]
fn ethernet_pppoe_arp_other() {
    let ip4 = sample4();
    let mut p = vec![0x11, 0x00, 0x00, 0x01];
    p.extend_from_slice(&((ip4.len() + 2) as u16).to_be_bytes());
    p.extend_from_slice(&[0x00, 0x21]);
    p.extend_from_slice(&ip4);
    assert_tcp4(
        &decode_link(1, &eth(0x8864, &p)).unwrap(),
        1234,
        80,
        b"GET /",
    );
    assert!(matches!(
        decode_link(1, &eth(0x0806, &[0; 28])).unwrap().net,
        Network::Arp
    ));
    assert!(matches!(
        decode_link(1, &eth(0x88cc, &[0; 10])).unwrap().net,
        Network::Other { ethertype: 0x88cc }
    ));
}

#[test]
fn linux_sll_and_sll2() {
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll.extend_from_slice(&0x0800u16.to_be_bytes());
    sll.extend_from_slice(&sample4());
    assert_tcp4(
        &decode_link(linktype::LINUX_SLL, &sll).unwrap(),
        1234,
        80,
        b"GET /",
    );

    let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
    sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    sll2.extend_from_slice(&ipv6(6, &[], &tcp(40000, 443, TcpFlags::SYN, &[], b"")));
    let p = ip(&decode_link(linktype::LINUX_SLL2, &sll2).unwrap());
    assert_eq!(p.src, IpAddr::V6(Ipv6Addr::from(v6(1))));
    assert_eq!(p.ttl, 33);
    let Transport::Tcp(t) = decode_transport(6, p.payload, p.payload_len).unwrap() else {
        panic!()
    };
    assert!(t.flags.syn() && !t.flags.ack());
}

#[test]
fn null_and_loop_both_byte_orders() {
    for lt in [linktype::NULL, linktype::LOOP] {
        for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut f = fam.to_vec();
            f.extend_from_slice(&sample4());
            assert_tcp4(&decode_link(lt, &f).unwrap(), 1234, 80, b"GET /");
        }
        for af6 in [24u32, 28, 30, 10] {
            for fam in [af6.to_le_bytes(), af6.to_be_bytes()] {
                let mut f = fam.to_vec();
                f.extend_from_slice(&ipv6(17, &[], &udp(1, 2, b"")));
                assert_eq!(ip(&decode_link(lt, &f).unwrap()).version, 6);
            }
        }
        let mut f = 7u32.to_le_bytes().to_vec();
        f.extend_from_slice(&sample4());
        assert!(matches!(
            decode_link(lt, &f).unwrap().net,
            Network::Other { .. }
        ));
    }
}

#[test]
fn raw_ipv4_ipv6_linktypes() {
    for lt in [linktype::RAW, 12, 14, linktype::IPV4] {
        assert_tcp4(&decode_link(lt, &sample4()).unwrap(), 1234, 80, b"GET /");
    }
    let six = ipv6(17, &[], &udp(1, 2, b"x"));
    for lt in [linktype::RAW, 12, 14, linktype::IPV6] {
        assert_eq!(ip(&decode_link(lt, &six).unwrap()).version, 6);
    }
    assert!(matches!(
        decode_link(linktype::IPV4, &six),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        decode_link(linktype::IPV6, &sample4()),
        Err(DecodeError::Truncated { .. } | DecodeError::Malformed { .. })
    ));
    assert_eq!(
        decode_link(9999, &six).unwrap_err(),
        DecodeError::UnsupportedLinkType(9999)
    );
}

fn nflog_tlv(ty: u16, value: &[u8]) -> Vec<u8> {
    let mut t = ((4 + value.len()) as u16).to_le_bytes().to_vec();
    t.extend_from_slice(&ty.to_le_bytes());
    t.extend_from_slice(value);
    while !t.len().is_multiple_of(4) {
        t.push(0);
    }
    t
}

#[test]
fn nflog_tlv_walk_with_padding() {
    let mut f = vec![2, 0, 0, 1];
    f.extend(nflog_tlv(1, &[0x08, 0x00, 0x03])); // packet header, padded
    f.extend(nflog_tlv(10, b"prefix!")); // prefix, odd length, padded
    f.extend(nflog_tlv(9, &sample4()));
    assert_tcp4(
        &decode_link(linktype::NFLOG, &f).unwrap(),
        1234,
        80,
        b"GET /",
    );

    let mut f = vec![10, 0, 0, 1];
    f.extend(nflog_tlv(9, &ipv6(17, &[], &udp(1, 2, b""))));
    assert_eq!(ip(&decode_link(linktype::NFLOG, &f).unwrap()).version, 6);

    // No payload TLV, and a zero-length TLV.
    let f = [2, 0, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0];
    assert!(matches!(
        decode_link(linktype::NFLOG, &f).unwrap().net,
        Network::Other { .. }
    ));
    let f = [2, 0, 0, 1, 0, 0, 9, 0];
    assert!(decode_link(linktype::NFLOG, &f).is_err());
}

#[test]
fn ipv6_extension_headers() {
    // hop-by-hop (8) -> routing (8) -> dest opts (16) -> AH (12+4=16) -> TCP
    let mut exts = vec![43, 0, 1, 4, 0, 0, 0, 0];
    exts.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
    exts.extend_from_slice(&[51, 1, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    exts.extend_from_slice(&[6, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    let body = tcp(8080, 9090, TcpFlags::ACK, &[], b"abc");
    let f = ipv6(0, &exts, &body);
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!(p.protocol, 6);
    assert_eq!(p.payload_len as usize, body.len());
    assert_eq!(p.payload, &body[..]);
    assert!(p.fragment.is_none());

    // ESP ends the walk.
    let f = ipv6(0, &[50, 0, 0, 0, 0, 0, 0, 0], &[1, 2, 3, 4, 5, 6, 7, 8]);
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!((p.protocol, p.payload.len()), (50, 8));

    // Fragment header: offset 1448 bytes, more set.
    let mut frag = vec![17, 0];
    frag.extend_from_slice(&((1448u16) | 1).to_be_bytes());
    frag.extend_from_slice(&0xdeadbeefu32.to_be_bytes());
    let f = ipv6(44, &frag, b"fragment data");
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!(p.protocol, 17);
    assert_eq!(
        p.fragment,
        Some(Fragment {
            id: 0xdeadbeef,
            offset: 1448,
            more: true
        })
    );
    assert_eq!(p.payload, b"fragment data");

    // Atomic fragment (offset 0, no MF) is not a fragment.
    let f = ipv6(44, &[6, 0, 0, 0, 0, 0, 0, 9], &body);
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!((p.protocol, p.fragment), (6, None));

    // Extension header longer than the packet.
    let f = ipv6(0, &[6, 8, 0, 0, 0, 0, 0, 0], &[]);
    assert!(decode_link(linktype::RAW, &f).is_err());
}

#[test]
fn ipv4_fragment_fields() {
    let f = ipv4_frag(17, &[0; 16], 0x1234, 185, true);
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!(
        p.fragment,
        Some(Fragment {
            id: 0x1234,
            offset: 1480,
            more: true
        })
    );
}

#[test]
fn snaplen_cut_payload() {
    let full = eth(
        0x0800,
        &ipv4(6, &tcp(1, 2, TcpFlags::ACK, &[], &[b'x'; 100])),
    );
    let cut = &full[..14 + 20 + 20 + 30];
    let p = ip(&decode_link(1, cut).unwrap());
    assert_eq!(p.payload_len, 120);
    assert_eq!(p.payload.len(), 50);
    assert!(p.is_truncated());
    let Transport::Tcp(t) = decode_transport(6, p.payload, p.payload_len).unwrap() else {
        panic!()
    };
    assert_eq!((t.payload.len(), t.payload_len), (30, 100));
    assert!(!t.header_truncated);
}

#[test]
fn tcp_header_cut_after_14_bytes() {
    let opts = [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0];
    let seg = tcp(5555, 443, TcpFlags::SYN | TcpFlags::ACK, &opts, b"");
    let Transport::Tcp(full) = decode_transport(6, &seg, seg.len() as u32).unwrap() else {
        panic!()
    };
    assert_eq!(
        (full.mss, full.wscale, full.sack_permitted),
        (Some(1460), Some(7), true)
    );
    assert_eq!(full.payload_len, 0);

    let Transport::Tcp(t) = decode_transport(6, &seg[..14], seg.len() as u32).unwrap() else {
        panic!()
    };
    assert!(t.header_truncated);
    assert_eq!(
        (t.src_port, t.dst_port, t.seq, t.ack),
        (5555, 443, 1000, 2000)
    );
    assert!(t.flags.syn() && t.flags.ack() && !t.flags.fin());
    assert_eq!((t.payload, t.payload_len, t.window), (&[][..], 0, 0));

    // Cut inside the options: the complete ones still count.
    let Transport::Tcp(t) = decode_transport(6, &seg[..26], seg.len() as u32).unwrap() else {
        panic!()
    };
    assert!(t.header_truncated);
    assert_eq!((t.mss, t.wscale), (Some(1460), None));

    assert!(matches!(
        decode_transport(6, &seg[..13], 100),
        Err(DecodeError::Truncated {
            layer: "tcp",
            needed: 14,
            have: 13
        })
    ));
}

#[test]
fn bogus_lengths_are_errors() {
    // IPv4 total length < header length.
    let mut f = sample4();
    f[2..4].copy_from_slice(&10u16.to_be_bytes());
    assert!(matches!(
        decode_link(linktype::RAW, &f),
        Err(DecodeError::Malformed { layer: "ipv4", .. })
    ));
    // IHL < 5.
    let mut f = sample4();
    f[0] = 0x43;
    assert!(decode_link(linktype::RAW, &f).is_err());
    // TCP data offset < 5.
    let mut seg = tcp(1, 2, 0, &[], b"");
    seg[12] = 0x40;
    assert!(matches!(
        decode_transport(6, &seg, 20),
        Err(DecodeError::Malformed { layer: "tcp", .. })
    ));
    // TCP data offset beyond wire length: payload_len 0, not an underflow.
    let mut seg = tcp(1, 2, 0, &[], b"abcd");
    seg[12] = 0xf0;
    let Transport::Tcp(t) = decode_transport(6, &seg, seg.len() as u32).unwrap() else {
        panic!()
    };
    assert!(t.header_truncated);
    assert_eq!(t.payload_len, 0);
    // UDP length field larger than the IP payload falls back to wire length.
    let mut u = udp(1, 2, b"hello");
    u[4..6].copy_from_slice(&500u16.to_be_bytes());
    let Transport::Udp(d) = decode_transport(17, &u, u.len() as u32).unwrap() else {
        panic!()
    };
    assert_eq!((d.payload_len, d.payload), (5, &b"hello"[..]));
    // Truncated link headers.
    for lt in [0, 1, 108, 113, 276, 239] {
        assert!(matches!(
            decode_link(lt, &[0, 0, 0]),
            Err(DecodeError::Truncated { .. })
        ));
    }
}

#[test]
fn ipv4_total_length_zero_uses_capture() {
    let mut f = sample4();
    f[2..4].copy_from_slice(&[0, 0]);
    let p = ip(&decode_link(linktype::RAW, &f).unwrap());
    assert_eq!(p.payload_len as usize, f.len() - 20);
}

#[test]
fn sctp_icmp_other() {
    let mut s = vec![0x0b, 0x59, 0x0b, 0x59, 0, 0, 0, 42, 0, 0, 0, 0];
    s.extend_from_slice(&[1, 0, 0, 4]);
    let Transport::Sctp(p) = decode_transport(132, &s, s.len() as u32).unwrap() else {
        panic!()
    };
    assert_eq!(
        (p.src_port, p.verification_tag, p.chunks.len()),
        (2905, 42, 4)
    );
    let Transport::Icmp(m) = decode_transport(1, &[8, 0, 0, 0, 0, 1, 0, 2], 8).unwrap() else {
        panic!()
    };
    assert_eq!((m.icmp_type, m.code, m.rest), (8, 0, &[0, 1, 0, 2][..]));
    let Transport::Icmpv6(m) = decode_transport(58, &[128, 0, 0, 0], 4).unwrap() else {
        panic!()
    };
    assert_eq!(m.icmp_type, 128);
    assert!(matches!(
        decode_transport(47, b"gre", 3).unwrap(),
        Transport::Other {
            protocol: 47,
            payload: b"gre"
        }
    ));
    assert!(decode_transport(1, &[8, 0], 2).is_err());
    assert!(decode_transport(17, &[0; 7], 7).is_err());
    assert!(decode_transport(132, &[0; 11], 11).is_err());
}
