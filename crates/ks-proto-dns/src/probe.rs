//! The probe: is this the start of a DNS message? Cheap and allocation-free: the
//! header is checked, and the first question is walked label by label.

use ks_proto::{Probe, ProbeInput, Role, Verdict};

/// Ports where DNS is expected: DNS, mDNS, LLMNR.
const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// The first datagram of a UDP flow: is it a DNS message?
pub fn probe_datagram(input: &ProbeInput<'_>) -> Probe {
    let on_port = on_port(input);
    verdict(looks_like(input.data, on_port).then_some(input.data))
}

/// The first bytes of a TCP direction: a 2-byte length, then a DNS message.
pub(crate) fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let ok = d.len() >= 2 && {
        let len = usize::from(u16::from_be_bytes([d[0], d[1]]));
        len >= 12 && looks_like(&d[2..d.len().min(2 + len)], on_port(input))
    };
    verdict(ok.then(|| &d[2..]))
}

fn on_port(input: &ProbeInput<'_>) -> bool {
    DNS_PORTS.contains(&input.src_port) || DNS_PORTS.contains(&input.dst_port)
}

fn verdict(header: Option<&[u8]>) -> Probe {
    match header {
        Some(h) => Probe {
            verdict: Verdict::Certain,
            sender: Some(if h[2] & 0x80 == 0 {
                Role::Client
            } else {
                Role::Server
            }),
        },
        None => Probe {
            verdict: Verdict::NotMine,
            sender: None,
        },
    }
}

/// A plausible header and, off the DNS ports, a well-formed first question.
fn looks_like(m: &[u8], on_port: bool) -> bool {
    if m.len() < 12 {
        return false;
    }
    let w = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    let (flags, qd, an, ns, ar) = (w(2), w(4), w(6), w(8), w(10));
    let opcode = (flags >> 11) & 0xf;
    let response = flags & 0x8000 != 0;
    // Opcodes in use (QUERY, IQUERY, STATUS, NOTIFY, UPDATE, DSO); Z bit clear.
    if !matches!(opcode, 0 | 1 | 2 | 4 | 5 | 6) || flags & 0x0040 != 0 {
        return false;
    }
    // Every record takes 11 bytes at least, every question 5.
    let min = 12 + 5 * usize::from(qd) + 11 * (usize::from(an) + usize::from(ns) + usize::from(ar));
    if on_port {
        return qd <= 16 && (min <= m.len() || m.len() >= 512);
    }
    // Elsewhere: one question that walks to its end, with class IN (mDNS bit allowed)
    // or ANY, and a query carrying no answers.
    if qd != 1 || (!response && an != 0) || min > m.len() {
        return false;
    }
    let mut i = 12;
    let mut total = 0;
    loop {
        let Some(&l) = m.get(i) else { return false };
        if l == 0 {
            i += 1;
            break;
        }
        if l & 0xc0 != 0 || total + usize::from(l) + 1 > 255 {
            return false;
        }
        total += usize::from(l) + 1;
        i += 1 + usize::from(l);
    }
    let (Some(t), Some(c)) = (m.get(i..i + 2), m.get(i + 2..i + 4)) else {
        return false;
    };
    let class = u16::from_be_bytes([c[0], c[1]]) & 0x7fff;
    u16::from_be_bytes([t[0], t[1]]) != 0 && matches!(class, 1 | 255)
}
