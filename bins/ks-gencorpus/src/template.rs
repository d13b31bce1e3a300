//! A capture turned into a replayable template: IP packets with the byte offsets of every
//! field a copy rewrites (addresses, client ports, TCP sequence numbers, checksums).

use std::collections::{HashMap, HashSet};

/// Longest gap kept between two packets of one template; longer pauses (and timestamps
/// that go backwards) are squeezed so that a copy never idles out of the flow table.
pub const MAX_GAP_NS: u64 = 1_000_000_000;

/// ks-engine's default flow idle timeout. A flow that pauses longer than this in the
/// source is two flows there; squeezing the pause would merge them, so the packets after
/// such a pause get other client ports in every copy (see [`TPacket::epoch`]).
pub const IDLE_NS: u64 = 600_000_000_000;

const TCP: u8 = 6;
const UDP: u8 = 17;

/// Where an address of a template goes in a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrRole {
    /// A fresh address for every copy (clients and, in replays, servers too).
    PerCopy,
    /// The same address in every copy (a Kubernetes service, in the synthetic case).
    Pinned([u8; 16]),
}

/// Transport header facts of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    /// A non-first fragment: no transport header.
    None,
    Tcp {
        /// Offset of the TCP header in the IP bytes.
        off: usize,
        /// ACK flag set: the acknowledgement number is shifted too.
        ack: bool,
        /// Offsets (in the IP bytes) of SACK block edges, shifted like sequence numbers.
        sack: Vec<usize>,
        rw_sport: bool,
        rw_dport: bool,
    },
    Udp {
        off: usize,
        rw_sport: bool,
        rw_dport: bool,
    },
}

/// One packet of a template.
#[derive(Clone, Debug)]
pub struct TPacket {
    /// Nanoseconds after the template's first packet (gaps capped at [`MAX_GAP_NS`]).
    pub rel_ns: u64,
    /// Captured IP bytes (link layer removed, link padding cut off).
    pub ip: Vec<u8>,
    /// IP length on the wire (more than `ip.len()` when cut by snaplen).
    pub wire_len: u32,
    pub v6: bool,
    /// An IP fragment (its transport checksum covers bytes of other packets).
    #[cfg_attr(not(test), allow(dead_code))]
    pub frag: bool,
    /// Indexes into the template's address table of its IP version.
    pub src: u16,
    pub dst: u16,
    pub l4: L4,
    /// How many idle timeouts the packet's flow went through in the source before it; the
    /// client port of each such epoch is moved differently, so it stays a separate flow.
    pub epoch: u16,
}

/// A replayable capture.
#[derive(Clone, Debug)]
pub struct Template {
    pub name: String,
    pub packets: Vec<TPacket>,
    pub v4: Vec<([u8; 4], AddrRole)>,
    pub v6: Vec<([u8; 16], AddrRole)>,
    /// Distinct TCP/UDP flows (5-tuples) in one copy.
    pub flows: u32,
}

impl Template {
    /// Bytes one copy adds to the output file (record headers included).
    pub fn out_bytes(&self, link_len: usize) -> u64 {
        self.packets
            .iter()
            .map(|p| (16 + link_len + p.ip.len()) as u64)
            .sum()
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Offset of the IP header in a frame of `link_type`, following VLAN tags, MPLS labels
/// and PPPoE; `None` when the frame carries no IP.
pub fn ip_offset(link_type: u32, d: &[u8]) -> Option<usize> {
    let off = match link_type {
        // Raw IP in its several spellings.
        101 | 12 | 14 | 228 | 229 => 0,
        // BSD / OpenBSD loopback.
        0 | 108 => 4,
        1 => {
            if d.len() < 14 {
                return None;
            }
            ethertype_chain(d, be16(d, 12), 14)?
        }
        113 => {
            if d.len() < 16 {
                return None;
            }
            ethertype_chain(d, be16(d, 14), 16)?
        }
        276 => {
            if d.len() < 20 {
                return None;
            }
            ethertype_chain(d, be16(d, 0), 20)?
        }
        239 => nflog_payload(d)?,
        _ => return None,
    };
    match d.get(off).map(|b| b >> 4) {
        Some(4) | Some(6) => Some(off),
        _ => None,
    }
}

fn ethertype_chain(d: &[u8], mut et: u16, mut off: usize) -> Option<usize> {
    loop {
        match et {
            0x0800 | 0x86dd => return Some(off),
            0x8100 | 0x88a8 | 0x9100 => {
                if d.len() < off + 4 {
                    return None;
                }
                et = be16(d, off + 2);
                off += 4;
            }
            0x8847 | 0x8848 => loop {
                let bos = *d.get(off + 2)? & 1 == 1;
                off += 4;
                if bos {
                    return Some(off);
                }
            },
            0x8864 => {
                if d.len() < off + 8 {
                    return None;
                }
                return match be16(d, off + 6) {
                    0x0021 | 0x0057 => Some(off + 8),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
}

fn nflog_payload(d: &[u8]) -> Option<usize> {
    let mut off = 4;
    while off + 4 <= d.len() {
        let len = usize::from(u16::from_le_bytes([d[off], d[off + 1]]));
        let ty = u16::from_le_bytes([d[off + 2], d[off + 3]]);
        if len < 4 {
            return None;
        }
        if ty == 9 {
            return Some(off + 4);
        }
        off += (len + 3) & !3;
    }
    None
}

/// IP header facts needed to rewrite a packet.
struct IpInfo {
    v6: bool,
    /// Transport protocol (IPv6: after the extension headers).
    proto: u8,
    /// Offset of the transport header; `None` for non-first fragments.
    l4: Option<usize>,
    /// Length according to the IP header.
    wire_len: usize,
    /// A fragment (first or not).
    frag: bool,
}

fn parse_ip(d: &[u8]) -> Option<IpInfo> {
    match d.first()? >> 4 {
        4 => {
            let ihl = usize::from(d[0] & 0x0f) * 4;
            if ihl < 20 || d.len() < ihl {
                return None;
            }
            let total = usize::from(be16(d, 2));
            let wire_len = if total == 0 { d.len() } else { total };
            if wire_len < ihl {
                return None;
            }
            let frag_off = be16(d, 6) & 0x1fff;
            Some(IpInfo {
                v6: false,
                proto: d[9],
                l4: (frag_off == 0).then_some(ihl),
                wire_len,
                frag: be16(d, 6) & 0x3fff != 0,
            })
        }
        6 => {
            if d.len() < 40 {
                return None;
            }
            let plen = usize::from(be16(d, 4));
            let wire_len = if plen == 0 { d.len() } else { 40 + plen };
            let mut next = d[6];
            let mut off = 40;
            let mut first = true;
            let mut frag = false;
            loop {
                match next {
                    // Hop-by-hop, routing, destination options.
                    0 | 43 | 60 => {
                        if d.len() < off + 2 {
                            return None;
                        }
                        next = d[off];
                        off += (usize::from(d[off + 1]) + 1) * 8;
                    }
                    44 => {
                        if d.len() < off + 8 {
                            return None;
                        }
                        next = d[off];
                        first = be16(d, off + 2) >> 3 == 0;
                        frag = true;
                        off += 8;
                    }
                    51 => {
                        if d.len() < off + 2 {
                            return None;
                        }
                        next = d[off];
                        off += (usize::from(d[off + 1]) + 2) * 4;
                    }
                    _ => break,
                }
            }
            Some(IpInfo {
                v6: true,
                proto: next,
                l4: first.then_some(off),
                wire_len,
                frag,
            })
        }
        _ => None,
    }
}

/// Offsets of the SACK block edges in the TCP options of `d[off..]`.
fn sack_edges(d: &[u8], off: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let hlen = usize::from(d[off + 12] >> 4) * 4;
    let end = (off + hlen).min(d.len());
    let mut i = off + 20;
    while i < end {
        match d[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = d.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > end {
                    break;
                }
                if kind == 5 {
                    let mut e = i + 2;
                    while e + 4 <= i + len {
                        out.push(e);
                        e += 4;
                    }
                }
                i += len;
            }
        }
    }
    out
}

/// Recomputes the TCP/UDP checksum of a complete, unfragmented packet (captures taken on
/// the sending host often carry offloaded, wrong ones). An IPv4 UDP checksum of 0 ("none")
/// stays 0.
fn fix_l4_checksum(ip: &mut [u8], v6: bool, proto: u8, off: usize) {
    let at = off + if proto == TCP { 16 } else { 6 };
    if proto == UDP && !v6 && ip[at..at + 2] == [0, 0] {
        return;
    }
    let (sa, alen) = if v6 { (8, 16) } else { (12, 4) };
    ip[at] = 0;
    ip[at + 1] = 0;
    let mut ph = Vec::with_capacity(12 + 2 * alen + ip.len() - off);
    ph.extend_from_slice(&ip[sa..sa + 2 * alen]);
    ph.extend_from_slice(&[0, proto]);
    ph.extend_from_slice(&((ip.len() - off) as u16).to_be_bytes());
    ph.extend_from_slice(&ip[off..]);
    let mut ck = crate::gen::checksum(&ph);
    if proto == UDP && ck == 0 {
        ck = 0xffff;
    }
    ip[at..at + 2].copy_from_slice(&ck.to_be_bytes());
}

/// A packet kept from a source capture, before flow roles are known.
struct Raw {
    ts: u64,
    ip: Vec<u8>,
    info: IpInfo,
    src: u16,
    dst: u16,
    ports: Option<(u16, u16)>,
    syn_only: bool,
    ack: bool,
}

/// Flow key with addresses as (version, index) so that it is independent of the values.
type Endpoint = (bool, u16, u16);

fn flow_key(proto: u8, a: Endpoint, b: Endpoint) -> (u8, Endpoint, Endpoint) {
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

/// Builds templates from (timestamp, link type, frame) triples.
pub struct Builder {
    name: String,
    raws: Vec<Raw>,
    v4: HashMap<[u8; 4], u16>,
    v6: HashMap<[u8; 16], u16>,
    v4_list: Vec<[u8; 4]>,
    v6_list: Vec<[u8; 16]>,
    pins: HashMap<Vec<u8>, [u8; 16]>,
}

impl Builder {
    pub fn new(name: &str) -> Self {
        Builder {
            name: name.to_string(),
            raws: Vec::new(),
            v4: HashMap::new(),
            v6: HashMap::new(),
            v4_list: Vec::new(),
            v6_list: Vec::new(),
            pins: HashMap::new(),
        }
    }

    /// Every copy keeps `orig` (4 or 16 bytes) as `pinned` instead of a fresh address.
    pub fn pin(&mut self, orig: &[u8], pinned: &[u8]) {
        let mut p = [0u8; 16];
        p[..pinned.len()].copy_from_slice(pinned);
        self.pins.insert(orig.to_vec(), p);
    }

    fn addr(&mut self, v6: bool, b: &[u8]) -> Option<u16> {
        if v6 {
            let a: [u8; 16] = b.try_into().ok()?;
            let n = self.v6.len();
            let idx = *self.v6.entry(a).or_insert(n as u16);
            if idx as usize == self.v6_list.len() {
                self.v6_list.push(a);
            }
            Some(idx)
        } else {
            let a: [u8; 4] = b.try_into().ok()?;
            let n = self.v4.len();
            let idx = *self.v4.entry(a).or_insert(n as u16);
            if idx as usize == self.v4_list.len() {
                self.v4_list.push(a);
            }
            Some(idx)
        }
    }

    /// Adds one captured frame; frames without TCP/UDP over IP (or whose headers are cut
    /// by snaplen) are skipped, which is reported by the return value.
    pub fn push_frame(&mut self, ts_ns: u64, link_type: u32, frame: &[u8]) -> bool {
        let Some(off) = ip_offset(link_type, frame) else {
            return false;
        };
        self.push_ip(ts_ns, &frame[off..])
    }

    /// Adds one IP packet (see [`Builder::push_frame`]).
    pub fn push_ip(&mut self, ts_ns: u64, ip: &[u8]) -> bool {
        let Some(info) = parse_ip(ip) else {
            return false;
        };
        if info.proto != TCP && info.proto != UDP {
            return false;
        }
        let mut ip = ip[..ip.len().min(info.wire_len)].to_vec();
        let (mut ports, mut syn_only, mut ack) = (None, false, false);
        if let Some(off) = info.l4 {
            let need = if info.proto == TCP { 20 } else { 8 };
            if ip.len() < off + need {
                return false;
            }
            ports = Some((be16(&ip, off), be16(&ip, off + 2)));
            if info.proto == TCP {
                let flags = ip[off + 13];
                syn_only = flags & 0x12 == 0x02;
                ack = flags & 0x10 != 0;
            }
        }
        if let (Some(off), false, true) = (info.l4, info.frag, ip.len() == info.wire_len) {
            fix_l4_checksum(&mut ip, info.v6, info.proto, off);
        }
        let (sa, da) = if info.v6 { (8, 24) } else { (12, 16) };
        let alen = if info.v6 { 16 } else { 4 };
        let (Some(src), Some(dst)) = (
            self.addr(info.v6, &ip[sa..sa + alen]),
            self.addr(info.v6, &ip[da..da + alen]),
        ) else {
            return false;
        };
        self.raws.push(Raw {
            ts: ts_ns,
            ip,
            info,
            src,
            dst,
            ports,
            syn_only,
            ack,
        });
        true
    }

    /// Decides client and server of every flow and fixes the timeline.
    pub fn finish(self) -> Template {
        // Server endpoint per flow: destination of the first bare SYN; otherwise the
        // endpoint with the lower port (ties: destination of the flow's first packet).
        let mut server: HashMap<(u8, Endpoint, Endpoint), Endpoint> = HashMap::new();
        let mut decided_by_syn: HashSet<(u8, Endpoint, Endpoint)> = HashSet::new();
        for r in &self.raws {
            let Some((sp, dp)) = r.ports else { continue };
            let a = (r.info.v6, r.src, sp);
            let b = (r.info.v6, r.dst, dp);
            let key = flow_key(r.info.proto, a, b);
            if r.syn_only && decided_by_syn.insert(key) {
                server.insert(key, b);
            } else {
                server.entry(key).or_insert(if dp <= sp { b } else { a });
            }
        }
        // Idle-timeout epochs per flow.
        let mut epochs: HashMap<(u8, Endpoint, Endpoint), (u64, u16)> = HashMap::new();
        let mut epoch_of = Vec::with_capacity(self.raws.len());
        for r in &self.raws {
            let Some((sp, dp)) = r.ports else {
                epoch_of.push(0);
                continue;
            };
            let key = flow_key(r.info.proto, (r.info.v6, r.src, sp), (r.info.v6, r.dst, dp));
            let e = epochs.entry(key).or_insert((r.ts, 0));
            if r.ts > e.0.saturating_add(IDLE_NS) {
                e.1 += 1;
            }
            e.0 = e.0.max(r.ts);
            epoch_of.push(e.1);
        }
        let flows = epochs.values().map(|e| u32::from(e.1) + 1).sum();
        let mut packets = Vec::with_capacity(self.raws.len());
        let mut rel = 0u64;
        let mut last_ts = self.raws.first().map_or(0, |r| r.ts);
        for (r, epoch) in self.raws.into_iter().zip(epoch_of) {
            let gap = r.ts.saturating_sub(last_ts).min(MAX_GAP_NS);
            rel += gap;
            last_ts = r.ts.max(last_ts);
            let l4 = match (r.info.l4, r.ports) {
                (Some(off), Some((sp, dp))) => {
                    let a = (r.info.v6, r.src, sp);
                    let b = (r.info.v6, r.dst, dp);
                    let srv = server[&flow_key(r.info.proto, a, b)];
                    let rw_sport = srv != a && sp >= 1024;
                    let rw_dport = srv != b && dp >= 1024;
                    if r.info.proto == TCP {
                        L4::Tcp {
                            off,
                            ack: r.ack,
                            sack: sack_edges(&r.ip, off),
                            rw_sport,
                            rw_dport,
                        }
                    } else {
                        L4::Udp {
                            off,
                            rw_sport,
                            rw_dport,
                        }
                    }
                }
                _ => L4::None,
            };
            packets.push(TPacket {
                rel_ns: rel,
                wire_len: r.info.wire_len as u32,
                v6: r.info.v6,
                frag: r.info.frag,
                src: r.src,
                dst: r.dst,
                ip: r.ip,
                l4,
                epoch,
            });
        }
        let role = |b: &[u8]| match self.pins.get(b) {
            Some(p) => AddrRole::Pinned(*p),
            None => AddrRole::PerCopy,
        };
        Template {
            name: self.name,
            flows,
            v4: self.v4_list.iter().map(|a| (*a, role(a))).collect(),
            v6: self.v6_list.iter().map(|a| (*a, role(a))).collect(),
            packets,
        }
    }
}

/// Reads a pcap or pcapng capture held in memory into a template.
pub fn from_capture(name: &str, bytes: &'static [u8]) -> Result<Template, String> {
    use ks_capture::{FileSource, PacketSource};
    let mut src = FileSource::from_reader(Box::new(std::io::Cursor::new(bytes)), name)
        .map_err(|e| e.to_string())?;
    let mut b = Builder::new(name);
    while let Some(p) = src.next_packet().map_err(|e| e.to_string())? {
        b.push_frame(p.ts_ns, p.link_type, p.data);
    }
    let t = b.finish();
    if t.packets.is_empty() {
        return Err(format!("{name}: no TCP/UDP packet to replay"));
    }
    Ok(t)
}
