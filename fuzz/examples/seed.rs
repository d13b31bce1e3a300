//! Seed corpora for every fuzz target from the bundled captures.
//!
//! `cargo run --example seed -- TESTDATA_DIR CORPUS_DIR` (fuzz/run.sh does this) writes
//! `CORPUS_DIR/<target>/seed-<hash>` files; existing files are left alone, so the
//! corpus the fuzzer grew is kept and re-running is harmless.
//!
//! - `pcap_reader`: every capture, as is.
//! - `link_ip_decode`: the frames of each capture, 8 per seed, plus hand-made IPv4 and
//!   IPv6 fragment trains.
//! - `tcp_reassembly`: the segment sequence of each TCP flow (payloads cut to 200
//!   bytes, the rest declared as uncaptured wire bytes), with large and small caps.
//! - `http1`, `engine`: the reassembled client and server bytes of each TCP flow with
//!   data, whole and cut into interleaved chunks; `tls` the same for flows that start
//!   with a TLS handshake record.

use ks_capture::{FileSource, PacketSource};
use ks_decode::{decode_link, decode_transport, Network, Transport};
use ks_fuzz::{encode_frames, encode_split, TcpInput, TcpSeg, LINK_TYPES};
use ks_reassembly::{Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

const TARGETS: [&str; 13] = [
    "pcap_reader",
    "link_ip_decode",
    "tcp_reassembly",
    "http1",
    "engine",
    "http2",
    "websocket",
    "grpc",
    "graphql",
    "dns",
    "radius",
    "tls",
    "query",
];

/// Largest seed made from stream bytes (libFuzzer's default `-max_len` follows the
/// largest seed; small inputs keep the exec rate up).
const MAX_STREAM_SEED: usize = 8 << 10;

struct Out {
    dir: PathBuf,
    written: BTreeMap<&'static str, usize>,
}

impl Out {
    fn put(&mut self, target: &'static str, bytes: &[u8]) {
        // FNV-1a: stable names, so re-seeding rewrites the same files.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let path = self.dir.join(target).join(format!("seed-{h:016x}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        *self.written.entry(target).or_default() += 1;
    }
}

struct Seg {
    side: usize,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
    payload_len: u32,
}

#[derive(Default)]
struct Flow {
    /// Address of side A (sender of the first packet).
    a: Option<SocketAddr>,
    /// Ports of side A and side B.
    ports: [u16; 2],
    segs: Vec<Seg>,
}

fn captures(dir: &Path, acc: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, acc);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            acc.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: seed TESTDATA_PCAP_DIR CORPUS_DIR");
        std::process::exit(2);
    }
    let mut out = Out {
        dir: PathBuf::from(&args[2]),
        written: BTreeMap::new(),
    };
    for t in TARGETS {
        std::fs::create_dir_all(out.dir.join(t)).expect("create corpus dir");
    }
    let mut files = Vec::new();
    captures(Path::new(&args[1]), &mut files);
    for f in &files {
        seed_file(f, &mut out);
    }
    for s in fragment_seeds() {
        out.put("link_ip_decode", &s);
    }
    // Filters: every documented variable's example, with no stream bytes (the
    // bundled entries are tried anyway).
    for v in ks_query::VARIABLES {
        out.put("query", format!("{}\0", v.example).as_bytes());
    }
    println!("{} captures", files.len());
    for (t, n) in &out.written {
        println!("{t}: {n} seeds");
    }
}

fn seed_file(path: &Path, out: &mut Out) {
    out.put("pcap_reader", &std::fs::read(path).expect("read capture"));

    let Ok(mut src) = FileSource::open(path) else {
        return;
    };
    let mut by_link: BTreeMap<u32, Vec<Vec<u8>>> = BTreeMap::new();
    let mut flows: BTreeMap<(SocketAddr, SocketAddr), Flow> = BTreeMap::new();
    while let Ok(Some(pkt)) = src.next_packet() {
        if LINK_TYPES.contains(&pkt.link_type) {
            by_link
                .entry(pkt.link_type)
                .or_default()
                .push(pkt.data.to_vec());
        }
        let Ok(link) = decode_link(pkt.link_type, pkt.data) else {
            continue;
        };
        let Network::Ip(ip) = link.net else { continue };
        if ip.fragment.is_some() {
            continue;
        }
        let tcp = match decode_transport(ip.protocol, ip.payload, ip.payload_len) {
            Ok(Transport::Tcp(tcp)) => tcp,
            Ok(Transport::Udp(u)) if u.src_port == 53 || u.dst_port == 53 || u.src_port == 5353 => {
                // dns (UDP mode): the datagram as the client chunk, delivered whole.
                let d = &u.payload[..u.payload.len().min(1500)];
                let mut seed = vec![0u8];
                seed.extend_from_slice(&encode_split(d, &[], [0u8; 8]));
                out.put("dns", &seed);
                continue;
            }
            Ok(Transport::Udp(u)) if [1812, 1813, 1645, 1646, 3799].contains(&u.dst_port) => {
                // radius: the datagram as the client chunk.
                out.put("radius", &encode_split(u.payload, &[], [0u8; 8]));
                continue;
            }
            _ => continue,
        };
        let src_a = SocketAddr::new(ip.src, tcp.src_port);
        let dst_a = SocketAddr::new(ip.dst, tcp.dst_port);
        let key = if (ip.src, tcp.src_port) <= (ip.dst, tcp.dst_port) {
            (src_a, dst_a)
        } else {
            (dst_a, src_a)
        };
        let flow = flows.entry(key).or_default();
        if flow.a.is_none() {
            flow.a = Some(src_a);
            flow.ports = [tcp.src_port, tcp.dst_port];
        }
        flow.segs.push(Seg {
            side: usize::from(flow.a != Some(src_a)),
            seq: tcp.seq,
            ack: tcp.ack,
            flags: tcp.flags.0 & 0x3f,
            payload: tcp.payload.to_vec(),
            payload_len: tcp.payload_len,
        });
    }

    for (lt, frames) in &by_link {
        for group in frames.chunks(8) {
            let refs: Vec<&[u8]> = group.iter().map(|f| &f[..f.len().min(1600)]).collect();
            out.put("link_ip_decode", &encode_frames(*lt, &refs));
        }
    }
    for flow in flows.values() {
        seed_flow(flow, out);
    }
}

fn seed_flow(flow: &Flow, out: &mut Out) {
    // tcp_reassembly: the segments as captured, relative to each side's first seq.
    let isn = [0, 1].map(|side| {
        flow.segs
            .iter()
            .find(|s| s.side == side)
            .map_or(0, |s| s.seq)
    });
    let mut segs = Vec::new();
    let mut size = 9;
    for s in &flow.segs {
        let cut = s.payload.len().min(200);
        let wire = s.payload_len.max(s.payload.len() as u32);
        let seg = TcpSeg {
            side: s.side,
            flags: s.flags,
            seq_off: s.seq.wrapping_sub(isn[s.side]),
            ack_off: s.ack.wrapping_sub(isn[1 - s.side]),
            extra_len: u16::try_from(wire - cut as u32).unwrap_or(u16::MAX),
            payload: &s.payload[..cut],
        };
        size += 13 + cut;
        if size > 4096 {
            break;
        }
        segs.push(seg);
    }
    for caps in [0xff, 0x05] {
        out.put("tcp_reassembly", &TcpInput::encode(caps, isn, &segs));
    }

    // http1 / engine: the reassembled bytes of each side.
    let (cfg, mut budget, mut counters) = (
        TcpConfig::default(),
        Budget::default(),
        TcpCounters::default(),
    );
    let mut conn = TcpConnection::new();
    let mut bytes: [Vec<u8>; 2] = Default::default();
    let mut emit = |ev: StreamEvent<'_>| {
        if let StreamEvent::Data { side, data, .. } = ev {
            bytes[side.index()].extend_from_slice(data);
        }
    };
    for s in &flow.segs {
        let side = if s.side == 0 { Side::A } else { Side::B };
        let seg = Segment {
            seq: s.seq,
            ack: s.ack,
            flags: s.flags,
            payload: &s.payload,
            payload_len: s.payload_len,
        };
        conn.segment(side, &seg, &cfg, &mut budget, &mut counters, &mut emit);
    }
    conn.flush(&mut budget, &mut counters, &mut emit);
    if bytes[0].is_empty() && bytes[1].is_empty() {
        return;
    }
    let client = match conn.client_side() {
        Some(Side::A) => 0,
        Some(Side::B) => 1,
        // No handshake: the lower port is the server's.
        None => usize::from(flow.ports[0] < flow.ports[1]),
    };
    let c = &bytes[client][..bytes[client].len().min(MAX_STREAM_SEED / 2)];
    let srv = &bytes[1 - client];
    let srv = &srv[..srv.len().min(MAX_STREAM_SEED - c.len())];
    // All of the client's bytes, then all of the server's.
    let whole = [0u8; 8];
    // Interleaved: 400, 400, 25, 25, 3969, 3969, 1, 1 bytes (client, server, ...).
    let interleaved = [0x14, 0x94, 0x05, 0x85, 0x3f, 0xbf, 0x01, 0x81];
    // WebSocket seeds start after a 101 handshake (the parser takes over there).
    let after_head = |b: &[u8]| {
        b.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(b.len(), |i| i + 4)
    };
    let upgraded = srv.starts_with(b"HTTP/1.1 101");
    for sched in [whole, interleaved] {
        let s = encode_split(c, srv, sched);
        if flow.ports.contains(&53) {
            out.put("dns", &[&[1u8][..], &s].concat());
        }
        out.put("http1", &s);
        out.put("engine", &s);
        out.put("http2", &s);
        // A TLS handshake record (the probe's first bytes).
        if c.starts_with(&[0x16, 0x03]) {
            out.put("tls", &s);
        }
        if upgraded {
            let ws = encode_split(&c[after_head(c)..], &srv[after_head(srv)..], sched);
            out.put("websocket", &ws);
        }
    }
}

/// IPv4 and IPv6 UDP datagrams in fragments, out of order (link type 101).
fn fragment_seeds() -> Vec<Vec<u8>> {
    let payload: Vec<u8> = (0..64u8).collect();
    // UDP header + payload.
    let mut udp = vec![0x30, 0x39, 0, 53, 0, 72, 0, 0];
    udp.extend_from_slice(&payload);

    let v4 = |off: usize, more: bool, data: &[u8]| {
        let total = 20 + data.len();
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34]);
        p.extend_from_slice(&fo.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(data);
        p
    };
    let v6 = |off: usize, more: bool, data: &[u8]| {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[44, 64]);
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = 1;
        p.extend_from_slice(&a);
        a[15] = 2;
        p.extend_from_slice(&a);
        let fo = (off as u16) | u16::from(more);
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&fo.to_be_bytes());
        p.extend_from_slice(&0xabcd_0001u32.to_be_bytes());
        p.extend_from_slice(data);
        p
    };
    let mut seeds = Vec::new();
    for make in [&v4 as &dyn Fn(usize, bool, &[u8]) -> Vec<u8>, &v6] {
        let f1 = make(0, true, &udp[..24]);
        let f2 = make(24, true, &udp[24..48]);
        let f3 = make(48, false, &udp[48..]);
        // In order, reversed, with a duplicate and an overlap.
        let overlap = make(16, true, &udp[16..40]);
        for order in [
            vec![&f1, &f2, &f3],
            vec![&f3, &f2, &f1],
            vec![&f2, &overlap, &f1, &f2, &f3],
        ] {
            let refs: Vec<&[u8]> = order.iter().map(|f| f.as_slice()).collect();
            seeds.push(encode_frames(101, &refs));
        }
    }
    seeds
}
