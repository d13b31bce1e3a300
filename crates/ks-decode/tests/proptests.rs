//! Arbitrary input never panics; the defragmenter respects its byte cap.

use std::net::{IpAddr, Ipv4Addr};

use ks_decode::{
    decode_link, decode_transport, linktype, DefragConfig, Defragmenter, Fragment, IpPacket,
    Network, Transport,
};
use proptest::prelude::*;

const LINK_TYPES: [u32; 12] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW,
    12,
    14,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::NFLOG,
    linktype::IPV4,
    linktype::IPV6,
    4242,
];

fn check_invariants(lt: u32, data: &[u8]) {
    if let Ok(info) = decode_link(lt, data) {
        assert!(usize::from(info.vlans.depth) >= info.vlans.as_slice().len());
        if let Network::Ip(ip) = info.net {
            assert!(ip.version == 4 || ip.version == 6);
            assert!(ip.payload.len() <= ip.payload_len as usize);
            if let Ok(t) = decode_transport(ip.protocol, ip.payload, ip.payload_len) {
                match t {
                    Transport::Tcp(t) => assert!(t.payload.len() <= t.payload_len as usize),
                    Transport::Udp(u) => assert!(u.payload.len() <= u.payload_len as usize),
                    _ => {}
                }
            }
        }
    }
}

/// Arbitrary bytes are mostly rejected early; prefixing plausible headers
/// pushes the fuzzing deeper.
fn prefixed(lt: u32, tail: &[u8], kind: u8) -> Vec<u8> {
    let ethertype: &[u8] = match kind % 5 {
        0 => &[0x08, 0x00],
        1 => &[0x86, 0xdd],
        2 => &[0x81, 0x00],
        3 => &[0x88, 0x47],
        _ => &[0x88, 0x64],
    };
    let mut f = Vec::new();
    match lt {
        linktype::ETHERNET => {
            f.extend_from_slice(&[0; 12]);
            f.extend_from_slice(ethertype);
        }
        linktype::LINUX_SLL => {
            f.extend_from_slice(&[0; 14]);
            f.extend_from_slice(ethertype);
        }
        linktype::LINUX_SLL2 => {
            f.extend_from_slice(ethertype);
            f.extend_from_slice(&[0; 18]);
        }
        linktype::NULL | linktype::LOOP => f.extend_from_slice(&[2, 0, 0, 0]),
        linktype::NFLOG => {
            f.extend_from_slice(&[2, 0, 0, 0]);
            f.extend_from_slice(&((tail.len() + 4) as u16).to_le_bytes());
            f.extend_from_slice(&[9, 0]);
        }
        _ => {}
    }
    // Plausible IP start so the IP and transport layers see real work.
    let mut t = tail.to_vec();
    if let Some(b) = t.first_mut() {
        *b = if kind & 0x10 != 0 {
            0x60 | (*b & 0xf)
        } else {
            0x45
        };
    }
    f.extend_from_slice(&t);
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        for lt in LINK_TYPES {
            check_invariants(lt, &data);
        }
    }

    #[test]
    fn decode_prefixed_never_panics(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
        kind in any::<u8>(),
    ) {
        for lt in LINK_TYPES {
            check_invariants(lt, &prefixed(lt, &tail, kind));
        }
    }

    #[test]
    fn transport_never_panics(
        proto in prop_oneof![Just(6u8), Just(17), Just(132), Just(1), Just(58), any::<u8>()],
        data in proptest::collection::vec(any::<u8>(), 0..80),
        wire_len in any::<u32>(),
    ) {
        if let Ok(Transport::Tcp(t)) = decode_transport(proto, &data, wire_len) {
            prop_assert!(t.payload.len() <= t.payload_len as usize);
        }
    }

    #[test]
    fn defrag_respects_byte_cap(
        frags in proptest::collection::vec(
            (0u32..4, 0u32..300, any::<bool>(), 0usize..600, any::<bool>(), 0u64..100),
            1..200,
        ),
        max_bytes in 1usize..5000,
        max_datagrams in 0usize..4,
    ) {
        let mut df = Defragmenter::new(DefragConfig {
            max_datagrams,
            max_bytes,
            max_datagram_size: 65535,
            timeout_ns: 50,
        });
        let data = vec![7u8; 600];
        let mut now = 0;
        for (id, off8, more, len, cut, dt) in frags {
            now += dt;
            let payload = &data[..len];
            let ip = IpPacket {
                src: IpAddr::V4(Ipv4Addr::LOCALHOST),
                dst: IpAddr::V4(Ipv4Addr::BROADCAST),
                version: 4,
                protocol: 17,
                ttl: 1,
                payload,
                payload_len: len as u32 + u32::from(cut),
                fragment: Some(Fragment { id, offset: off8 * 8, more }),
            };
            if let Some(r) = df.push(&ip, now) {
                prop_assert!(r.payload.len() <= 65535);
            }
            prop_assert!(df.buffered_bytes() <= max_bytes);
            if dt > 90 {
                df.expire(now);
            }
        }
        df.expire(u64::MAX);
        prop_assert_eq!(df.buffered_bytes(), 0);
    }
}
