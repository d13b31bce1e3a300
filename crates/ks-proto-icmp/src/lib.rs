//! ICMP (RFC 792) and ICMPv6 (RFC 4443, 4861) messages as ks shows them: type and code
//! names, echo identifier and sequence, the 5-tuple of the packet an error quotes,
//! the MTU of Packet Too Big, the pointer of Parameter Problem, and the target and
//! options of neighbour discovery.
//!
//! ```
//! use ks_proto_icmp::{decode, Family};
//! // Echo request id 0x04ca seq 1 (type 8, code 0; `rest` is what follows the checksum).
//! let m = decode(Family::V4, 8, 0, &[0x04, 0xca, 0x00, 0x01, b'p', b'i', b'n', b'g']);
//! assert_eq!(m.type_name, "echo-request");
//! assert_eq!((m.ident, m.seq), (Some(0x04ca), Some(1)));
//! assert!(m.is_echo_request());
//! ```
//!
//! Pure (bytes in, a message out), no panics on any input; pairing echo requests with
//! replies and linking errors to flows is the engine's job (it has the addresses).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use serde::Serialize;
use std::net::{IpAddr, Ipv6Addr};

/// ICMP for IPv4 or ICMPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Family {
    /// ICMP (IP protocol 1).
    V4,
    /// ICMPv6 (IPv6 next header 58).
    V6,
}

/// One ICMP or ICMPv6 message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IcmpMessage {
    /// `icmp` or `icmpv6`.
    pub family: &'static str,
    /// Type number.
    #[serde(rename = "type")]
    pub icmp_type: u8,
    /// Code number.
    pub code: u8,
    /// Type name (`echo-request`, `destination-unreachable`, `neighbor-solicitation`, ...).
    pub type_name: &'static str,
    /// Code name where the type has named codes (`port-unreachable`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_name: Option<&'static str>,
    /// Echo identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ident: Option<u16>,
    /// Echo sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u16>,
    /// Echo data size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_size: Option<usize>,
    /// The packet an error message quotes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted: Option<Quoted>,
    /// Packet Too Big (v6) / Fragmentation Needed (v4): the next-hop MTU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Parameter Problem: the offset of the bad byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<u32>,
    /// Neighbour discovery: the target address (NS, NA, Redirect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<IpAddr>,
    /// Neighbour discovery options, by name (`source-link-layer-address 00:11:..`,
    /// `prefix 2001:db8::/64`, `mtu 1500`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Router Advertisement: router lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_lifetime: Option<u16>,
}

/// The header of the packet an ICMP error quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quoted {
    /// IP protocol of the quoted packet (6 TCP, 17 UDP, ...).
    pub protocol: u8,
    /// Its source address.
    pub src: IpAddr,
    /// Its destination address.
    pub dst: IpAddr,
    /// Source port (TCP, UDP, SCTP), when the quote reaches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// A quoted echo request's identifier (the ping this error answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ident: Option<u16>,
    /// A quoted echo request's sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u16>,
}

impl IcmpMessage {
    /// Echo request (v4 type 8, v6 type 128).
    pub fn is_echo_request(&self) -> bool {
        matches!((self.family, self.icmp_type), ("icmp", 8) | ("icmpv6", 128))
    }
    /// Echo reply (v4 type 0, v6 type 129).
    pub fn is_echo_reply(&self) -> bool {
        matches!((self.family, self.icmp_type), ("icmp", 0) | ("icmpv6", 129))
    }
    /// `echo-request 8/0 id=1226 seq=1`, `destination-unreachable 3/3 port-unreachable
    /// udp 10.0.0.1:5353 → 10.0.0.2:53`.
    pub fn label(&self) -> String {
        let mut s = format!("{} {}/{}", self.type_name, self.icmp_type, self.code);
        if let Some(c) = self.code_name {
            s.push(' ');
            s.push_str(c);
        }
        if let (Some(i), Some(q)) = (self.ident, self.seq) {
            s.push_str(&format!(" id={i} seq={q}"));
        }
        if let Some(q) = &self.quoted {
            let proto = match q.protocol {
                6 => "tcp".to_string(),
                17 => "udp".to_string(),
                132 => "sctp".to_string(),
                1 | 58 if q.seq.is_some() => format!(
                    "echo id={} seq={}",
                    q.ident.unwrap_or(0),
                    q.seq.unwrap_or(0)
                ),
                1 => "icmp".to_string(),
                58 => "icmpv6".to_string(),
                p => format!("proto {p}"),
            };
            match (q.src_port, q.dst_port) {
                (Some(a), Some(b)) => {
                    s.push_str(&format!(" {proto} {} → {}", sock(q.src, a), sock(q.dst, b)))
                }
                _ => s.push_str(&format!(" {proto} {} → {}", q.src, q.dst)),
            }
        }
        if let Some(m) = self.mtu {
            s.push_str(&format!(" mtu={m}"));
        }
        if let Some(t) = self.target {
            s.push_str(&format!(" target={t}"));
        }
        s
    }
}

fn sock(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Decodes a message: `rest` is everything after type, code and checksum.
pub fn decode(family: Family, icmp_type: u8, code: u8, rest: &[u8]) -> IcmpMessage {
    let (type_name, code_name) = names(family, icmp_type, code);
    let mut m = IcmpMessage {
        family: match family {
            Family::V4 => "icmp",
            Family::V6 => "icmpv6",
        },
        icmp_type,
        code,
        type_name,
        code_name,
        ident: None,
        seq: None,
        data_size: None,
        quoted: None,
        mtu: None,
        pointer: None,
        target: None,
        options: Vec::new(),
        router_lifetime: None,
    };
    match (family, icmp_type) {
        // Echo, timestamp, information, address mask: identifier and sequence.
        (Family::V4, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) | (Family::V6, 128 | 129) => {
            m.ident = be16(rest, 0);
            m.seq = be16(rest, 2);
            m.data_size = Some(rest.len().saturating_sub(4));
        }
        // Errors quoting the offending packet after 4 bytes.
        (Family::V4, 3 | 4 | 5 | 11 | 12) | (Family::V6, 1..=4) => {
            if (family, icmp_type) == (Family::V4, 3) && code == 4 {
                m.mtu = be16(rest, 2).map(u32::from);
            }
            if family == Family::V6 && icmp_type == 2 {
                m.mtu = be32(rest, 0);
            }
            if (family, icmp_type) == (Family::V4, 12) {
                m.pointer = rest.first().map(|&p| u32::from(p));
            }
            if (family, icmp_type) == (Family::V6, 4) {
                m.pointer = be32(rest, 0);
            }
            m.quoted = rest.get(4..).and_then(quoted);
        }
        // Neighbour discovery (RFC 4861).
        (Family::V6, 133..=137) => nd(&mut m, rest),
        _ => {}
    }
    m
}

/// The IP header (and ports) at the start of an error's quote.
fn quoted(b: &[u8]) -> Option<Quoted> {
    let (protocol, src, dst, l4) = match b.first()? >> 4 {
        4 => {
            let ihl = usize::from(b[0] & 0xf) * 4;
            let a: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = b.get(16..20)?.try_into().ok()?;
            (
                *b.get(9)?,
                IpAddr::from(a),
                IpAddr::from(d),
                b.get(ihl.max(20)..),
            )
        }
        6 => {
            let a: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = b.get(24..40)?.try_into().ok()?;
            (*b.get(6)?, IpAddr::from(a), IpAddr::from(d), b.get(40..))
        }
        _ => return None,
    };
    let ports = matches!(protocol, 6 | 17 | 132)
        .then(|| l4.and_then(|l| Some((be16(l, 0)?, be16(l, 2)?))))
        .flatten();
    // An echo request (ICMP type 8, ICMPv6 type 128): the ping the error is about.
    let echo = matches!(
        (protocol, l4.and_then(|l| l.first())),
        (1, Some(8)) | (58, Some(128))
    )
    .then(|| l4.and_then(|l| Some((be16(l, 4)?, be16(l, 6)?))))
    .flatten();
    Some(Quoted {
        protocol,
        src,
        dst,
        src_port: ports.map(|p| p.0),
        dst_port: ports.map(|p| p.1),
        ident: echo.map(|e| e.0),
        seq: echo.map(|e| e.1),
    })
}

/// Router/neighbour solicitation and advertisement, redirect.
fn nd(m: &mut IcmpMessage, rest: &[u8]) {
    let v6 = |b: &[u8], i: usize| -> Option<IpAddr> {
        let a: [u8; 16] = b.get(i..i + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    };
    let opts_at = match m.icmp_type {
        133 => 4,
        134 => {
            m.router_lifetime = be16(rest, 2);
            12
        }
        135 | 136 => {
            m.target = v6(rest, 4);
            20
        }
        137 => {
            m.target = v6(rest, 4);
            36
        }
        _ => return,
    };
    let mut o = rest.get(opts_at..).unwrap_or_default();
    while o.len() >= 2 && m.options.len() < 16 {
        let (t, len) = (o[0], usize::from(o[1]) * 8);
        if len == 0 || len > o.len() {
            break;
        }
        let body = &o[2..len];
        m.options.push(match t {
            1 | 2 => format!(
                "{}-link-layer-address {}",
                if t == 1 { "source" } else { "target" },
                body.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            ),
            3 if body.len() >= 30 => {
                let p: [u8; 16] = body[14..30].try_into().unwrap_or([0; 16]);
                format!("prefix {}/{}", Ipv6Addr::from(p), body[0])
            }
            5 if body.len() >= 6 => format!("mtu {}", be32(body, 2).unwrap_or(0)),
            t => format!("option {t} ({len} bytes)"),
        });
        o = &o[len..];
    }
}

fn names(f: Family, t: u8, c: u8) -> (&'static str, Option<&'static str>) {
    let unreach4 = |c: u8| {
        Some(match c {
            0 => "net-unreachable",
            1 => "host-unreachable",
            2 => "protocol-unreachable",
            3 => "port-unreachable",
            4 => "fragmentation-needed",
            5 => "source-route-failed",
            9 | 10 | 13 => "administratively-prohibited",
            _ => return None,
        })
    };
    match f {
        Family::V4 => match t {
            0 => ("echo-reply", None),
            3 => ("destination-unreachable", unreach4(c)),
            4 => ("source-quench", None),
            5 => ("redirect", None),
            8 => ("echo-request", None),
            9 => ("router-advertisement", None),
            10 => ("router-solicitation", None),
            11 => (
                "time-exceeded",
                match c {
                    0 => Some("ttl-exceeded-in-transit"),
                    1 => Some("fragment-reassembly-time-exceeded"),
                    _ => None,
                },
            ),
            12 => ("parameter-problem", None),
            13 => ("timestamp-request", None),
            14 => ("timestamp-reply", None),
            _ => ("unknown", None),
        },
        Family::V6 => match t {
            1 => (
                "destination-unreachable",
                match c {
                    0 => Some("no-route"),
                    1 => Some("administratively-prohibited"),
                    3 => Some("address-unreachable"),
                    4 => Some("port-unreachable"),
                    5 => Some("source-address-failed-policy"),
                    6 => Some("reject-route"),
                    _ => None,
                },
            ),
            2 => ("packet-too-big", None),
            3 => (
                "time-exceeded",
                match c {
                    0 => Some("hop-limit-exceeded-in-transit"),
                    1 => Some("fragment-reassembly-time-exceeded"),
                    _ => None,
                },
            ),
            4 => ("parameter-problem", None),
            128 => ("echo-request", None),
            129 => ("echo-reply", None),
            130 => ("multicast-listener-query", None),
            131 => ("multicast-listener-report", None),
            132 => ("multicast-listener-done", None),
            133 => ("router-solicitation", None),
            134 => ("router-advertisement", None),
            135 => ("neighbor-solicitation", None),
            136 => ("neighbor-advertisement", None),
            137 => ("redirect", None),
            143 => ("multicast-listener-report-v2", None),
            _ => ("unknown", None),
        },
    }
}
