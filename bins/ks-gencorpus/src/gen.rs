//! Replays templates many times into one classic pcap: every copy gets fresh addresses,
//! shifted client ports, shifted TCP sequence numbers and its own start time, and copies
//! run concurrently (merged by timestamp), as flows do on a busy node.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use crate::template::{AddrRole, TPacket, Template, L4};

/// Capture time of the first packet: 2024-01-01T00:00:00Z.
pub const BASE_NS: u64 = 1_704_067_200_000_000_000;

/// Link layer written in front of every IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (LINKTYPE_ETHERNET, 1), MAC addresses derived from the IP addresses.
    Ethernet,
    /// Raw IP (LINKTYPE_RAW, 101).
    Raw,
}

impl Link {
    pub fn header_len(self) -> usize {
        match self {
            Link::Ethernet => 14,
            Link::Raw => 0,
        }
    }

    fn linktype(self) -> u32 {
        match self {
            Link::Ethernet => 1,
            Link::Raw => 101,
        }
    }
}

/// Output settings shared by both modes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub seed: u64,
    pub link: Link,
    /// Nanosecond timestamps (pcap magic 0xa1b23c4d) instead of microseconds.
    pub nanos: bool,
    /// Average traffic rate of the generated timeline, in Mbit/s.
    pub mbps: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            link: Link::Ethernet,
            nanos: false,
            mbps: 200,
        }
    }
}

/// SplitMix64: small, fast, and the same sequence everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// File size in bytes (pcap header included).
    pub bytes: u64,
    pub packets: u64,
    pub copies: u64,
    /// TCP/UDP flows (5-tuples), summed over copies.
    pub flows: u64,
    /// Capture time from the first to the last packet.
    pub span_ns: u64,
    /// Output bytes (record headers included) per category name, in category order.
    pub by_category: Vec<(&'static str, u64)>,
}

/// Which template to start next; `None` ends the run (running copies still finish).
pub trait Plan {
    fn next(&mut self, rng: &mut Rng) -> Option<usize>;
}

/// Per-copy rewrite parameters.
#[derive(Clone, Copy, Debug)]
struct Copy {
    /// First per-copy address number of each IP version.
    n4: u64,
    n6: u64,
    seq: u32,
    port_off: u32,
    t0: u64,
}

/// Per-copy IPv4 address number `n` (0-based): 10.0.0.1, 10.0.0.2, … then 11.0.0.0/8 and
/// on, so that every number gives a different address.
pub fn v4_addr(n: u64) -> [u8; 4] {
    let n = n + 1;
    [
        10u8.wrapping_add((n >> 24) as u8),
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
    ]
}

/// Per-copy IPv6 address number `n`: fd6b:7300::/64 + n + 1.
pub fn v6_addr(n: u64) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0xfd, 0x6b, 0x73, 0x00]);
    a[8..].copy_from_slice(&(n + 1).to_be_bytes());
    a
}

/// First and count of the ephemeral ports client ports are moved into (Linux's default
/// `ip_local_port_range`, 32768–60999), so that port-based dissectors (tshark's) do not
/// mistake a client port for a registered service.
const EPHEMERAL: (u32, u32) = (32768, 28232);

/// Client ports (>= 1024) move by the same offset within a copy, so they stay distinct.
#[inline]
fn map_port(p: u16, off: u32) -> u16 {
    (EPHEMERAL.0 + (u32::from(p) + off) % EPHEMERAL.1) as u16
}

/// Ones' complement sum of 16-bit words changing from `old` to `new`, for an incremental
/// checksum update (RFC 1624, eqn. 3).
#[inline]
fn delta(acc: &mut u32, old: &[u8], new: &[u8]) {
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        *acc += u32::from(!u16::from_be_bytes([o[0], o[1]]))
            + u32::from(u16::from_be_bytes([n[0], n[1]]));
    }
}

#[inline]
fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum `ck` after the changes summed in `acc`.
#[inline]
fn adjust(ck: u16, acc: u32) -> u16 {
    !fold(u32::from(!ck) + fold(acc) as u32)
}

/// Internet checksum of `data` (as stored in a header whose checksum field is zero).
pub fn checksum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    let mut it = data.chunks_exact(2);
    for w in &mut it {
        s += u32::from(u16::from_be_bytes([w[0], w[1]]));
        s = (s & 0xffff) + (s >> 16);
    }
    if let [b] = it.remainder() {
        s += u32::from(*b) << 8;
    }
    !fold(s)
}

fn put_addr(v6: bool, n: u64, role: AddrRole, out: &mut [u8]) {
    match (role, v6) {
        (AddrRole::Pinned(p), _) => out.copy_from_slice(&p[..out.len()]),
        (AddrRole::PerCopy, false) => out.copy_from_slice(&v4_addr(n)),
        (AddrRole::PerCopy, true) => out.copy_from_slice(&v6_addr(n)),
    }
}

/// Appends one record (header, link header, rewritten IP packet) to `out`.
fn emit(t: &Template, p: &TPacket, c: &Copy, opt: &Options, out: &mut Vec<u8>) {
    let ts = BASE_NS + c.t0 + p.rel_ns;
    let link_len = opt.link.header_len();
    let caplen = (link_len + p.ip.len()) as u32;
    let wire = link_len as u32 + p.wire_len.max(p.ip.len() as u32);
    let frac = if opt.nanos {
        ts % 1_000_000_000
    } else {
        ts % 1_000_000_000 / 1000
    };
    out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(frac as u32).to_le_bytes());
    out.extend_from_slice(&caplen.to_le_bytes());
    out.extend_from_slice(&wire.to_le_bytes());
    let link_at = out.len();
    out.resize(link_at + link_len, 0);
    let base = out.len();
    out.extend_from_slice(&p.ip);
    let ip = &mut out[base..];

    // Addresses.
    let (sa, da, alen) = if p.v6 { (8, 24, 16) } else { (12, 16, 4) };
    let (s_role, d_role, s_n, d_n) = if p.v6 {
        let (s, d) = (t.v6[p.src as usize].1, t.v6[p.dst as usize].1);
        (s, d, c.n6 + u64::from(p.src), c.n6 + u64::from(p.dst))
    } else {
        let (s, d) = (t.v4[p.src as usize].1, t.v4[p.dst as usize].1);
        (s, d, c.n4 + u64::from(p.src), c.n4 + u64::from(p.dst))
    };
    let mut acc = 0u32;
    let mut new = [0u8; 16];
    for (at, n, role) in [(sa, s_n, s_role), (da, d_n, d_role)] {
        put_addr(p.v6, n, role, &mut new[..alen]);
        delta(&mut acc, &ip[at..at + alen], &new[..alen]);
        ip[at..at + alen].copy_from_slice(&new[..alen]);
    }
    if !p.v6 {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        ip[10] = 0;
        ip[11] = 0;
        let ck = checksum(&ip[..ihl]);
        ip[10..12].copy_from_slice(&ck.to_be_bytes());
    }

    // Transport.
    let ports = |ip: &mut [u8], acc: &mut u32, off: usize, rs: bool, rd: bool| {
        for (at, rw) in [(off, rs), (off + 2, rd)] {
            if rw {
                let old = u16::from_be_bytes([ip[at], ip[at + 1]]);
                let nw = map_port(old, c.port_off + u32::from(p.epoch) * 4099).to_be_bytes();
                delta(acc, &ip[at..at + 2], &nw);
                ip[at..at + 2].copy_from_slice(&nw);
            }
        }
    };
    let shift = |ip: &mut [u8], acc: &mut u32, at: usize| {
        let old = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
        let nw = old.wrapping_add(c.seq).to_be_bytes();
        delta(acc, &ip[at..at + 4], &nw);
        ip[at..at + 4].copy_from_slice(&nw);
    };
    match &p.l4 {
        L4::None => {}
        L4::Tcp {
            off,
            ack,
            sack,
            rw_sport,
            rw_dport,
        } => {
            let off = *off;
            ports(ip, &mut acc, off, *rw_sport, *rw_dport);
            shift(ip, &mut acc, off + 4);
            if *ack {
                shift(ip, &mut acc, off + 8);
            }
            for &e in sack {
                shift(ip, &mut acc, e);
            }
            let ck = u16::from_be_bytes([ip[off + 16], ip[off + 17]]);
            ip[off + 16..off + 18].copy_from_slice(&adjust(ck, acc).to_be_bytes());
        }
        L4::Udp {
            off,
            rw_sport,
            rw_dport,
        } => {
            let off = *off;
            ports(ip, &mut acc, off, *rw_sport, *rw_dport);
            let ck = u16::from_be_bytes([ip[off + 6], ip[off + 7]]);
            // IPv4 UDP checksum 0 means "none"; keep it so.
            if ck != 0 || p.v6 {
                let mut nw = adjust(ck, acc);
                if nw == 0 {
                    nw = 0xffff;
                }
                ip[off + 6..off + 8].copy_from_slice(&nw.to_be_bytes());
            }
        }
    }

    if opt.link == Link::Ethernet {
        let (ethertype, src, dst): (u16, &[u8], &[u8]) = if p.v6 {
            (0x86dd, &ip[sa + 12..sa + 16], &ip[da + 12..da + 16])
        } else {
            (0x0800, &ip[sa..sa + 4], &ip[da..da + 4])
        };
        let mut hdr = [0u8; 14];
        hdr[0] = 0x02;
        hdr[2..6].copy_from_slice(dst);
        hdr[6] = 0x02;
        hdr[8..12].copy_from_slice(src);
        hdr[12..14].copy_from_slice(&ethertype.to_be_bytes());
        out[link_at..link_at + 14].copy_from_slice(&hdr);
    }
}

/// Writes the pcap file header.
fn file_header(opt: &Options) -> [u8; 24] {
    let mut h = [0u8; 24];
    let magic: u32 = if opt.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    h[0..4].copy_from_slice(&magic.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&262_144u32.to_le_bytes());
    h[20..24].copy_from_slice(&opt.link.linktype().to_le_bytes());
    h
}

struct Active {
    t: usize,
    copy: Copy,
    next: usize,
}

/// Runs `plan` over `templates`, writing one pcap to `w`. `category[i]` names the
/// category of template `i` and `categories` lists the names in report order.
pub fn run<W: Write>(
    templates: &[Template],
    category: &[&'static str],
    categories: &[&'static str],
    plan: &mut dyn Plan,
    opt: &Options,
    w: W,
) -> io::Result<Report> {
    let mut w = io::BufWriter::with_capacity(1 << 20, w);
    let header = file_header(opt);
    w.write_all(&header)?;
    let link_len = opt.link.header_len();
    let out_bytes: Vec<u64> = templates.iter().map(|t| t.out_bytes(link_len)).collect();
    let mut rep = Report {
        bytes: header.len() as u64,
        by_category: categories.iter().map(|c| (*c, 0)).collect(),
        ..Report::default()
    };
    let mut rng = Rng::new(opt.seed);
    let (mut n4, mut n6) = (0u64, 0u64);
    let mut next_start = 0u64;
    let mut done = false;
    let mut slots: Vec<Option<Active>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // (timestamp, copy number, slot): copy numbers are unique, so ties never reach the slot.
    let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut buf = Vec::with_capacity(1 << 17);
    let mut first_ts = None;
    let mut last_ts = 0;
    loop {
        let head = heap.peek().map(|r| r.0 .0);
        if !done && head.is_none_or(|h| next_start <= h) {
            let Some(ti) = plan.next(&mut rng) else {
                done = true;
                continue;
            };
            let t = &templates[ti];
            let copy = Copy {
                n4,
                n6,
                seq: rng.next_u64() as u32,
                port_off: (rng.next_u64() % u64::from(EPHEMERAL.1)) as u32,
                t0: next_start,
            };
            n4 += t.v4.len() as u64;
            n6 += t.v6.len() as u64;
            rep.copies += 1;
            rep.flows += u64::from(t.flows);
            let cat = category[ti];
            if let Some(e) = rep.by_category.iter_mut().find(|e| e.0 == cat) {
                e.1 += out_bytes[ti];
            }
            // Mean gap between copy starts so that the timeline averages `mbps`;
            // uniform jitter of ±50 %.
            let mean = out_bytes[ti] * 8000 / opt.mbps.max(1);
            next_start += mean * (512 + rng.next_u64() % 1024) / 1024;
            let slot = free.pop().unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            heap.push(Reverse((copy.t0 + t.packets[0].rel_ns, rep.copies, slot)));
            slots[slot] = Some(Active {
                t: ti,
                copy,
                next: 0,
            });
            continue;
        }
        let Some(Reverse((ts, id, slot))) = heap.pop() else {
            break;
        };
        let a = slots[slot].as_mut().expect("active slot");
        let t = &templates[a.t];
        emit(t, &t.packets[a.next], &a.copy, opt, &mut buf);
        rep.packets += 1;
        first_ts.get_or_insert(ts);
        last_ts = ts;
        a.next += 1;
        if let Some(p) = t.packets.get(a.next) {
            heap.push(Reverse((a.copy.t0 + p.rel_ns, id, slot)));
        } else {
            slots[slot] = None;
            free.push(slot);
        }
        if buf.len() >= 1 << 16 {
            rep.bytes += buf.len() as u64;
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    rep.bytes += buf.len() as u64;
    w.write_all(&buf)?;
    w.flush()?;
    rep.span_ns = last_ts - first_ts.unwrap_or(0);
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_checksum_matches_full() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let mut data: Vec<u8> = (0..40).map(|_| rng.next_u64() as u8).collect();
            data[16] = 0;
            data[17] = 0;
            let ck = checksum(&data);
            data[16..18].copy_from_slice(&ck.to_be_bytes());
            let mut acc = 0;
            for at in [0usize, 4, 8, 12, 20] {
                let nw = (rng.next_u64() as u32).to_be_bytes();
                delta(&mut acc, &data[at..at + 4], &nw);
                data[at..at + 4].copy_from_slice(&nw);
            }
            let upd = adjust(ck, acc);
            data[16] = 0;
            data[17] = 0;
            let full = checksum(&data);
            // 0x0000 and 0xffff are the same number in ones' complement.
            assert!(upd == full || (upd == 0xffff && full == 0) || (upd == 0 && full == 0xffff));
        }
    }

    #[test]
    fn addresses_are_distinct() {
        assert_eq!(v4_addr(0), [10, 0, 0, 1]);
        assert_ne!(v4_addr((1 << 24) - 1), v4_addr(0));
        assert_eq!(v4_addr((1 << 24) - 1), [11, 0, 0, 0]);
        assert_ne!(v6_addr(1), v6_addr(2));
    }
}
