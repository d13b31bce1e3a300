//! Decode real captures and compare against tshark reference JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use ks_decode::{decode_link, decode_transport, LinkInfo, Network, Transport};
use serde_json::Value;

/// Minimal classic pcap reader: returns (link type, frames).
fn read_pcap(bytes: &[u8]) -> (u32, Vec<&[u8]>) {
    assert!(bytes.len() >= 24, "short pcap");
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        m => panic!("not a classic pcap (magic {m:#x})"),
    };
    let rd = |b: &[u8]| {
        let a: [u8; 4] = b.try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link = rd(&bytes[20..24]) & 0x0fff_ffff;
    let mut off = 24;
    let mut frames = Vec::new();
    while off + 16 <= bytes.len() {
        let incl = rd(&bytes[off + 8..off + 12]) as usize;
        off += 16;
        assert!(off + incl <= bytes.len(), "record past end of file");
        frames.push(&bytes[off..off + incl]);
        off += incl;
    }
    (link, frames)
}

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap")
        .join(rel)
}

struct Decoded {
    link: LinkInfo<'static>,
    ports: Option<(u16, u16)>,
    tcp_flags: Option<ks_decode::TcpFlags>,
    header_truncated: bool,
    payload_cut: bool,
}

fn decode(link_type: u32, frame: &'static [u8]) -> Option<Decoded> {
    let link = decode_link(link_type, frame).ok()?;
    let (mut ports, mut tcp_flags, mut header_truncated) = (None, None, false);
    let mut payload_cut = false;
    if let Network::Ip(ip) = link.net {
        if ip.fragment.is_none_or(|f| f.offset == 0) {
            match decode_transport(ip.protocol, ip.payload, ip.payload_len) {
                Ok(Transport::Tcp(t)) => {
                    ports = Some((t.src_port, t.dst_port));
                    tcp_flags = Some(t.flags);
                    header_truncated = t.header_truncated;
                    payload_cut = (t.payload.len() as u32) < t.payload_len;
                    assert!(t.payload_len as usize >= t.payload.len());
                }
                Ok(Transport::Udp(u)) => ports = Some((u.src_port, u.dst_port)),
                Ok(Transport::Sctp(s)) => ports = Some((s.src_port, s.dst_port)),
                _ => {}
            }
        }
    }
    Some(Decoded {
        link,
        ports,
        tcp_flags,
        header_truncated,
        payload_cut,
    })
}

fn str_list<'v>(fields: &'v Value, name: &str) -> Vec<&'v str> {
    fields
        .get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

struct Check {
    messages: usize,
    tcp_flows: usize,
    truncated_headers: usize,
    payload_cut: usize,
    mpls_frames: usize,
}

/// For every reference message: same addresses, ports and VLAN ids. For every
/// reference TCP flow: the same endpoints appear, with the same SYN/FIN counts.
fn check(rel: &str) -> Check {
    let bytes: &'static [u8] = Box::leak(std::fs::read(testdata(rel)).unwrap().into_boxed_slice());
    let json_path = testdata(&rel.replace(".pcap", ".tshark.json"));
    let reference: Value = serde_json::from_slice(&std::fs::read(json_path).unwrap()).unwrap();
    let (link_type, frames) = read_pcap(bytes);
    assert_eq!(
        frames.len() as u64,
        reference["frame_count"].as_u64().unwrap(),
        "{rel}: frame count"
    );
    let decoded: Vec<Option<Decoded>> = frames.iter().map(|f| decode(link_type, f)).collect();

    let messages = reference["messages"].as_array().unwrap();
    for m in messages {
        let n = m["frame"].as_u64().unwrap() as usize;
        let f = &m["fields"];
        let d = decoded[n - 1]
            .as_ref()
            .unwrap_or_else(|| panic!("{rel} frame {n}: decode failed"));
        let Network::Ip(ip) = d.link.net else {
            panic!("{rel} frame {n}: not IP: {:?}", d.link.net)
        };
        let (src, dst) = match (str_list(f, "ip.src").first(), str_list(f, "ip.dst").first()) {
            (Some(s), Some(d)) => (*s, *d),
            _ => (str_list(f, "ipv6.src")[0], str_list(f, "ipv6.dst")[0]),
        };
        assert_eq!(
            ip.src,
            src.parse::<IpAddr>().unwrap(),
            "{rel} frame {n} src"
        );
        assert_eq!(
            ip.dst,
            dst.parse::<IpAddr>().unwrap(),
            "{rel} frame {n} dst"
        );
        for proto in ["tcp", "udp", "sctp"] {
            let sp = str_list(f, &format!("{proto}.srcport"));
            let dp = str_list(f, &format!("{proto}.dstport"));
            if let (Some(sp), Some(dp)) = (sp.first(), dp.first()) {
                let want = (sp.parse::<u16>().unwrap(), dp.parse::<u16>().unwrap());
                assert_eq!(d.ports, Some(want), "{rel} frame {n} {proto} ports");
            }
        }
        let vlans: Vec<u16> = str_list(f, "vlan.id")
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(
            d.link.vlans.as_slice(),
            &vlans[..],
            "{rel} frame {n} vlan ids"
        );
        assert_eq!(usize::from(d.link.vlans.depth), vlans.len());
    }

    // Flow endpoints and handshake counts from every decoded frame.
    type Ends = ((IpAddr, u16), (IpAddr, u16));
    let mut flows: BTreeMap<Ends, (u64, u64)> = BTreeMap::new();
    let mut truncated_headers = 0;
    let mut payload_cut = 0;
    for d in decoded.iter().flatten() {
        let (Network::Ip(ip), Some((sp, dp)), Some(flags)) = (d.link.net, d.ports, d.tcp_flags)
        else {
            continue;
        };
        truncated_headers += usize::from(d.header_truncated);
        payload_cut += usize::from(d.payload_cut);
        let (a, b) = ((ip.src, sp), (ip.dst, dp));
        let key = if a <= b { (a, b) } else { (b, a) };
        let e = flows.entry(key).or_default();
        e.0 += u64::from(flags.syn());
        e.1 += u64::from(flags.fin());
    }
    let mut tcp_flows = 0;
    for fl in reference["flows"].as_array().unwrap() {
        if fl["transport"] != "tcp" {
            continue;
        }
        tcp_flows += 1;
        let ep = |s: &str| -> (IpAddr, u16) {
            let s = s.trim_start_matches('[');
            let (ip, port) = s.rsplit_once(':').unwrap();
            (
                ip.trim_end_matches(']').parse().unwrap(),
                port.parse().unwrap(),
            )
        };
        let (a, b) = (ep(fl["a"].as_str().unwrap()), ep(fl["b"].as_str().unwrap()));
        let key = if a <= b { (a, b) } else { (b, a) };
        let got = flows
            .get(&key)
            .unwrap_or_else(|| panic!("{rel}: flow {key:?} not decoded; have {flows:?}"));
        assert_eq!(got.0, fl["syn"].as_u64().unwrap(), "{rel} {key:?} syn");
        assert_eq!(got.1, fl["fin"].as_u64().unwrap(), "{rel} {key:?} fin");
    }
    let ref_tcp: BTreeSet<_> = flows.keys().collect();
    assert_eq!(
        ref_tcp.len(),
        tcp_flows,
        "{rel}: decoded TCP flows {flows:?}"
    );
    Check {
        messages: messages.len(),
        tcp_flows,
        truncated_headers,
        payload_cut,
        mpls_frames: decoded
            .iter()
            .flatten()
            .filter(|d| d.link.mpls_depth > 0)
            .count(),
    }
}

#[test]
fn qinq() {
    let c = check("link/zeek_http-qinq.pcap");
    assert_eq!((c.messages, c.tcp_flows), (2, 1));
}

#[test]
fn vlan() {
    let c = check("link/zeek_http-vlan.pcap");
    assert_eq!((c.messages, c.tcp_flows), (2, 1));
}

#[test]
fn mixed_vlan_mpls() {
    let c = check("link/zeek_mixed-vlan-mpls.pcap");
    assert!(c.messages >= 6);
    assert!(c.tcp_flows >= 2);
    assert!(c.mpls_frames > 0, "no MPLS frame decoded");
}

#[test]
fn sll2_http() {
    let c = check("link/suricata-verify_sll2-http.pcap");
    assert_eq!(c.messages, 1);
}

#[test]
fn nflog_http() {
    let c = check("link/zeek_nflog-http.pcap");
    assert_eq!((c.messages, c.tcp_flows), (2, 1));
}

#[test]
fn linux_dlt_sll2() {
    let c = check("link/zeek_linux_dlt_sll2.pcap");
    assert_eq!(c.messages, 4);
}

#[test]
fn tcp_truncated_header() {
    let c = check("tcp/zeek_tcp_truncated-header.pcap");
    assert_eq!(c.tcp_flows, 1);
    // Snaplen 54: the SYN is cut inside its options, 11 data segments lose
    // their payload; ports and flags still come through for all 24 frames.
    assert_eq!(c.truncated_headers, 1);
    assert_eq!(c.payload_cut, 11);
}
