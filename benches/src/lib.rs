//! Inputs shared by the ks benchmark suites (`benches/*.rs`): the testdata
//! captures, their reassembled TCP byte streams, pcap/pcapng images built in
//! memory, dissected entries, and an HTTP driver that calls the parser the way
//! the engine does.
//!
//! Everything here runs once, at the start of a suite; only the closures the
//! suites hand to Criterion are measured.
#![forbid(unsafe_code)]

use std::error::Error;
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ks_capture::{FileSource, PacketSource};
use ks_decode::{decode_link, decode_transport, Network, Transport};
use ks_engine::{Dissector, EngineConfig, Entry, Output};
use ks_proto::{Direction, ProbeInput, Role, StreamParser};
use ks_proto_http::{Http1Parser, HttpConfig, Message};
use ks_reassembly::{
    Budget, FlowKey, FlowTable, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};

/// Result type of the helpers.
pub type Res<T> = Result<T, Box<dyn Error>>;

/// `testdata/pcap` of the workspace.
pub fn pcap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pcap")
}

/// A capture under `testdata/pcap`, e.g. `pcap("http1/zeek_http_bro-org.pcap")`.
pub fn pcap(rel: &str) -> PathBuf {
    pcap_dir().join(rel)
}

/// The capture every whole-pipeline suite uses.
pub const BRO_ORG: &str = "http1/zeek_http_bro-org.pcap";

/// Keeps `bytes` for the rest of the process, so that a `Cursor` over them can
/// be boxed as a `'static` reader without copying per iteration.
pub fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Vec::leak(bytes)
}

/// A [`FileSource`] reading an in-memory capture.
pub fn memory_source(bytes: &'static [u8], name: &str) -> Res<FileSource> {
    Ok(FileSource::from_reader(Box::new(Cursor::new(bytes)), name)?)
}

/// Reads every packet of `src`; returns (packets, captured bytes).
pub fn drain_source(src: &mut impl PacketSource) -> Res<(u64, u64)> {
    let (mut packets, mut bytes) = (0u64, 0u64);
    while let Some(p) = src.next_packet()? {
        packets += 1;
        bytes += p.data.len() as u64;
    }
    Ok((packets, bytes))
}

// ---------------------------------------------------------------------------
// Reassembled streams

/// The reassembled bytes of one TCP connection.
#[derive(Debug, Clone, Default)]
pub struct TcpStreams {
    /// tshark's `tcp.stream` (order of first packet).
    pub stream: u64,
    /// Bytes the client sent, in order.
    pub client: Vec<u8>,
    /// Bytes the server sent, in order.
    pub server: Vec<u8>,
    /// Gap events (bytes missing in either direction).
    pub gaps: u64,
}

#[derive(Default)]
struct Conn {
    tcp: TcpConnection,
    data: [Vec<u8>; 2],
    gaps: u64,
}

/// Reads a capture and reassembles its TCP connections with ks-capture,
/// ks-decode and ks-reassembly, keeping the in-order bytes of each side.
/// IP fragments are skipped (none of the HTTP captures has any).
pub fn tcp_streams(path: &Path) -> Res<Vec<TcpStreams>> {
    const TCP: u8 = 6;
    let mut src = FileSource::open(path)?;
    let mut table: FlowTable<Conn> = FlowTable::new(1 << 16);
    let cfg = TcpConfig::default();
    let mut budget = Budget::default();
    let mut counters = TcpCounters::default();
    let mut done = Vec::new();
    let finish = |stream: u64, mut c: Conn, budget: &mut Budget, counters: &mut TcpCounters| {
        let Conn { tcp, data, gaps } = &mut c;
        tcp.flush(budget, counters, &mut |ev| collect(ev, data, gaps));
        let client = tcp.client_side().unwrap_or_else(|| {
            // No handshake: let the bytes say who speaks first.
            let p = Http1Parser::probe(&ProbeInput {
                data: &data[0],
                src_port: 0,
                dst_port: 0,
            });
            if p.sender == Some(Role::Server) {
                Side::B
            } else {
                Side::A
            }
        });
        let [a, b] = std::mem::take(data);
        let (client, server) = if client == Side::A { (a, b) } else { (b, a) };
        TcpStreams {
            stream,
            client,
            server,
            gaps: *gaps,
        }
    };
    while let Some(pkt) = src.next_packet()? {
        let Ok(link) = decode_link(pkt.link_type, pkt.data) else {
            continue;
        };
        let Network::Ip(ip) = link.net else { continue };
        if ip.fragment.is_some() {
            continue;
        }
        let Ok(Transport::Tcp(t)) = decode_transport(ip.protocol, ip.payload, ip.payload_len)
        else {
            continue;
        };
        let (s, d) = (
            SocketAddr::new(ip.src, t.src_port),
            SocketAddr::new(ip.dst, t.dst_port),
        );
        let key = FlowKey::new(TCP, s, d, 0);
        let mut id = table.lookup(&key);
        // Port reuse: a fresh SYN with a new ISN on a closed connection starts a new one.
        if let Some(old) = id {
            let f = table.get(old).ok_or("stale flow id")?;
            let tcp = &f.value.tcp;
            if t.flags.syn()
                && !t.flags.ack()
                && tcp.is_closed()
                && tcp.isn(f.side_of(s)) != Some(t.seq)
            {
                let f = table.remove(old).ok_or("stale flow id")?;
                done.push(finish(f.stream, f.value, &mut budget, &mut counters));
                id = None;
            }
        }
        let id = match id {
            Some(id) => id,
            None => table
                .insert(key, s, d, pkt.ts_ns, Conn::default())
                .map_err(|_| "flow table full")?,
        };
        let flow = table.get_mut(id).ok_or("stale flow id")?;
        let side = flow.side_of(s);
        let Conn { tcp, data, gaps } = &mut flow.value;
        let seg = Segment {
            seq: t.seq,
            ack: t.ack,
            flags: t.flags.0,
            payload: t.payload,
            payload_len: t.payload_len,
        };
        tcp.segment(side, &seg, &cfg, &mut budget, &mut counters, &mut |ev| {
            collect(ev, data, gaps)
        });
    }
    let mut rest = Vec::new();
    table.drain_all(|f| rest.push((f.stream, f.value)));
    for (stream, c) in rest {
        done.push(finish(stream, c, &mut budget, &mut counters));
    }
    done.sort_by_key(|c| c.stream);
    Ok(done)
}

fn collect(ev: StreamEvent<'_>, data: &mut [Vec<u8>; 2], gaps: &mut u64) {
    match ev {
        StreamEvent::Data { side, data: d, .. } => data[side.index()].extend_from_slice(d),
        StreamEvent::Gap { .. } => *gaps += 1,
        StreamEvent::Fin { .. } | StreamEvent::Rst { .. } => {}
    }
}

/// The HTTP connections of a capture: gap-free, with a client side that starts
/// with a request line. Panics (at bench start) when the capture has none.
pub fn http_connections(rel: &str) -> Vec<TcpStreams> {
    let path = pcap(rel);
    let all = tcp_streams(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let http: Vec<TcpStreams> = all
        .into_iter()
        .filter(|c| {
            c.gaps == 0
                && Http1Parser::probe(&ProbeInput {
                    data: &c.client,
                    src_port: 0,
                    dst_port: 0,
                })
                .sender
                    == Some(Role::Client)
        })
        .collect();
    assert!(!http.is_empty(), "{rel}: no HTTP connection");
    http
}

// ---------------------------------------------------------------------------
// Engine-like HTTP driver

/// Calls [`Http1Parser`] the way `ks-engine` does: bytes are parsed straight
/// from the input when nothing is pending, only the unconsumed rest of an
/// unfinished message is buffered, and the parser is not called again before
/// `needed` more bytes arrived. An `Err` consumes nothing, so the driver calls
/// again (the parser skips ahead).
pub struct HttpDriver {
    parser: Http1Parser,
    buf: [Vec<u8>; 2],
    fresh: [usize; 2],
    needed: [usize; 2],
    out: Vec<Message>,
    /// Messages emitted so far.
    pub messages: u64,
    /// Sum of `Body.size` of the emitted messages.
    pub body_bytes: u64,
    /// Parse errors so far.
    pub errors: u64,
}

impl Default for HttpDriver {
    fn default() -> Self {
        Self::new(HttpConfig::default())
    }
}

impl HttpDriver {
    /// A driver around a fresh parser.
    pub fn new(cfg: HttpConfig) -> Self {
        HttpDriver {
            parser: Http1Parser::new(cfg),
            buf: [Vec::new(), Vec::new()],
            fresh: [0; 2],
            needed: [0; 2],
            out: Vec::new(),
            messages: 0,
            body_bytes: 0,
            errors: 0,
        }
    }

    /// New bytes of `dir`.
    pub fn feed(&mut self, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.parser.handoff().is_some() || data.is_empty() {
            return;
        }
        if self.buf[d].is_empty() && self.needed[d] == 0 {
            let used = self.run(dir, data);
            if used < data.len() && self.parser.handoff().is_none() {
                self.buf[d].extend_from_slice(&data[used..]);
            }
        } else {
            self.buf[d].extend_from_slice(data);
            self.fresh[d] += data.len();
            if self.fresh[d] < self.needed[d] {
                return;
            }
            let buf = std::mem::take(&mut self.buf[d]);
            let used = self.run(dir, &buf);
            self.buf[d] = buf;
            self.buf[d].drain(..used);
        }
        self.fresh[d] = 0;
    }

    /// `data` of `dir` in pieces of `chunk` bytes (`0`: one piece).
    pub fn feed_chunks(&mut self, dir: Direction, data: &[u8], chunk: usize) {
        if chunk == 0 {
            self.feed(dir, data);
        } else {
            for piece in data.chunks(chunk) {
                self.feed(dir, piece);
            }
        }
    }

    /// Both directions closed.
    pub fn end(&mut self) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            self.parser.end(dir, &mut self.out);
        }
        self.take_out();
    }

    fn run(&mut self, dir: Direction, input: &[u8]) -> usize {
        let d = dir.index();
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            match self.parser.parse(dir, &input[pos..], &mut self.out) {
                Ok(p) => {
                    errors_in_a_row = 0;
                    self.needed[d] = p.needed;
                    pos += p.consumed.min(input.len() - pos);
                    self.take_out();
                    if p.consumed == 0 {
                        break;
                    }
                }
                Err(_) => {
                    self.errors += 1;
                    errors_in_a_row += 1;
                    self.take_out();
                    if errors_in_a_row > 2 {
                        break;
                    }
                }
            }
            if self.parser.handoff().is_some() {
                break;
            }
        }
        pos
    }

    fn take_out(&mut self) {
        for m in self.out.drain(..) {
            self.messages += 1;
            self.body_bytes += match &m {
                Message::Request(r) => r.body.size,
                Message::Response(r) => r.body.size,
            };
        }
    }
}

/// Parses the connections with a fresh driver each, client bytes then server
/// bytes, in pieces of `chunk` bytes (`0`: one piece); returns the driver
/// totals (messages, body bytes, errors).
pub fn parse_connections(conns: &[TcpStreams], chunk: usize) -> (u64, u64, u64) {
    let mut totals = (0, 0, 0);
    for c in conns {
        let mut drv = HttpDriver::default();
        drv.feed_chunks(Direction::ToServer, &c.client, chunk);
        drv.feed_chunks(Direction::ToClient, &c.server, chunk);
        drv.end();
        totals.0 += drv.messages;
        totals.1 += drv.body_bytes;
        totals.2 += drv.errors;
    }
    totals
}

// ---------------------------------------------------------------------------
// Capture images

/// Classic pcap: (big-endian?, header, records).
fn split_pcap(file: &[u8]) -> Res<(bool, &[u8], &[u8])> {
    if file.len() < 24 {
        return Err("not a pcap file".into());
    }
    let be = match file[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        _ => return Err("not a classic pcap file".into()),
    };
    Ok((be, &file[..24], &file[24..]))
}

/// A classic pcap of at least `target` bytes: the header of the capture at
/// `rel`, then its records repeated.
pub fn replicated_pcap(rel: &str, target: usize) -> Res<Vec<u8>> {
    let file = std::fs::read(pcap(rel))?;
    let (_, header, records) = split_pcap(&file)?;
    if records.is_empty() {
        return Err("capture without records".into());
    }
    let mut out = Vec::with_capacity(target + file.len());
    out.extend_from_slice(header);
    while out.len() < target {
        out.extend_from_slice(records);
    }
    Ok(out)
}

/// The same packets as a pcapng image (little endian; one section, one
/// interface with the default µs resolution, enhanced packet blocks). Only
/// µs-resolution pcaps are converted.
pub fn pcap_to_pcapng(pcap: &[u8]) -> Res<Vec<u8>> {
    let (be, header, mut records) = split_pcap(pcap)?;
    if header[..4] == [0x4d, 0x3c, 0xb2, 0xa1] || header[..4] == [0xa1, 0xb2, 0x3c, 0x4d] {
        return Err("ns-resolution pcap not converted".into());
    }
    let u32_at = |b: &[u8], at: usize| {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if be {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let snaplen = u32_at(header, 16);
    let linktype = u32_at(header, 20);
    let mut out = Vec::with_capacity(pcap.len() + pcap.len() / 4);
    // Section header block.
    for v in [0x0A0D_0D0Au32, 28, 0x1A2B_3C4D] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(-1i64).to_le_bytes());
    out.extend_from_slice(&28u32.to_le_bytes());
    // Interface description block.
    for v in [1u32, 20] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(linktype as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&20u32.to_le_bytes());
    // One enhanced packet block per record.
    while !records.is_empty() {
        if records.len() < 16 {
            return Err("truncated record header".into());
        }
        let (secs, usecs) = (u32_at(records, 0), u32_at(records, 4));
        let (caplen, origlen) = (u32_at(records, 8), u32_at(records, 12));
        let data = records
            .get(16..16 + caplen as usize)
            .ok_or("truncated record")?;
        let padded = data.len().div_ceil(4) * 4;
        let blen = (32 + padded) as u32;
        let ts = u64::from(secs) * 1_000_000 + u64::from(usecs);
        for v in [6u32, blen, 0, (ts >> 32) as u32, ts as u32, caplen, origlen] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(data);
        out.resize(out.len() + padded - data.len(), 0);
        out.extend_from_slice(&blen.to_le_bytes());
        records = &records[16 + data.len()..];
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Entries

/// The entries `ks_engine::Dissector` produces for a capture.
pub fn entries(rel: &str) -> Res<Vec<Entry>> {
    let src = FileSource::open(pcap(rel))?;
    let mut v = Vec::new();
    for out in Dissector::new(src, EngineConfig::default()) {
        if let Output::Entry(e) = out? {
            v.push(*e);
        }
    }
    Ok(v)
}

/// Writes `entries` as JSON lines into `buf` (cleared first), as
/// `ks-dissect --format jsonl` does.
pub fn write_jsonl(entries: &[Entry], buf: &mut Vec<u8>) -> serde_json::Result<()> {
    buf.clear();
    for e in entries {
        serde_json::to_writer(&mut *buf, e)?;
        buf.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bro_org_streams_parse_cleanly_in_one_piece_and_in_segments() {
        let conns = http_connections(BRO_ORG);
        let whole = parse_connections(&conns, 0);
        assert!(whole.0 > 0);
        assert_eq!(whole.2, 0, "parse errors");
        for chunk in [1, 7, 1460] {
            assert_eq!(parse_connections(&conns, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn images_read_back() {
        let file = std::fs::read(pcap(BRO_ORG)).unwrap();
        let mut src = memory_source(leak(file.clone()), "bro").unwrap();
        let (packets, bytes) = drain_source(&mut src).unwrap();
        let ng = pcap_to_pcapng(&file).unwrap();
        let mut src = memory_source(leak(ng), "bro-ng").unwrap();
        assert_eq!(drain_source(&mut src).unwrap(), (packets, bytes));
        let big = replicated_pcap(BRO_ORG, 3 * file.len()).unwrap();
        let copies = ((big.len() - 24) / (file.len() - 24)) as u64;
        assert!(big.len() >= 3 * file.len() && copies >= 3);
        let mut src = memory_source(leak(big), "big").unwrap();
        assert_eq!(
            drain_source(&mut src).unwrap(),
            (copies * packets, copies * bytes)
        );
    }

    #[test]
    fn entries_serialise() {
        let es = entries(BRO_ORG).unwrap();
        assert!(!es.is_empty());
        let mut buf = Vec::new();
        write_jsonl(&es, &mut buf).unwrap();
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), es.len());
    }
}

// ---------------------------------------------------------------------------
// Pairing parsers (Redis, Kafka, AMQP)

/// How [`feed_connection`] orders the two directions of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// All client pieces, then all server pieces: each request is pending before
    /// its reply arrives (Redis, Kafka), whatever the pieces' sizes.
    ClientFirst,
    /// The directions alternate piece by piece, for protocols whose server speaks
    /// right after the client's first bytes (AMQP).
    Alternating,
}

/// Feeds one connection to `p` the way the engine does — the unconsumed rest of a
/// direction is kept and the next piece appended, an `Err` is retried on the same
/// bytes (at most 3 in a row) — in pieces of `chunk` bytes (0: one piece per
/// direction), then ends both directions. Returns the number of parse errors.
pub fn feed_connection<P: StreamParser>(
    p: &mut P,
    c: &TcpStreams,
    chunk: usize,
    order: Order,
    out: &mut Vec<P::Message>,
) -> u64 {
    let step = if chunk == 0 { usize::MAX >> 1 } else { chunk };
    let sides = [
        (Direction::ToServer, &c.client),
        (Direction::ToClient, &c.server),
    ];
    let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut at = [0usize; 2];
    let mut errors = 0;
    let mut next = |d: usize, at: &mut [usize; 2], out: &mut Vec<P::Message>| {
        let (dir, data) = sides[d];
        let end = data.len().min(at[d].saturating_add(step));
        feed_piece(p, dir, &data[at[d]..end], &mut bufs[d], out, &mut errors);
        at[d] = end;
    };
    let more = |at: &[usize; 2], d: usize| at[d] < sides[d].1.len();
    match order {
        Order::ClientFirst => {
            for d in 0..2 {
                while more(&at, d) {
                    next(d, &mut at, out);
                }
            }
        }
        Order::Alternating => {
            while more(&at, 0) || more(&at, 1) {
                for d in 0..2 {
                    if more(&at, d) {
                        next(d, &mut at, out);
                    }
                }
            }
        }
    }
    p.end(Direction::ToServer, out);
    p.end(Direction::ToClient, out);
    errors
}

/// One piece of `dir`: appended to what was left unconsumed, then parsed.
fn feed_piece<P: StreamParser>(
    p: &mut P,
    dir: Direction,
    piece: &[u8],
    buf: &mut Vec<u8>,
    out: &mut Vec<P::Message>,
    errors: &mut u64,
) {
    buf.extend_from_slice(piece);
    let (mut pos, mut in_a_row) = (0, 0);
    while pos < buf.len() && in_a_row < 3 {
        match p.parse(dir, &buf[pos..], out) {
            Ok(r) => {
                in_a_row = 0;
                pos += r.consumed;
                if r.consumed == 0 {
                    break;
                }
            }
            Err(_) => {
                *errors += 1;
                in_a_row += 1;
            }
        }
    }
    buf.drain(..pos);
}

/// The reassembled TCP connections of every capture in `testdata/pcap/<dir>/`, by file
/// stem, in name order (a capture that cannot be read is reported and left out).
pub fn protocol_corpus(dir: &str) -> Vec<(String, Vec<TcpStreams>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(pcap_dir().join(dir))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"));
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let name = path.file_stem()?.to_string_lossy().into_owned();
            match tcp_streams(&path) {
                Ok(c) => Some((name, c)),
                Err(e) => {
                    eprintln!("{dir}: {}: {e}", path.display());
                    None
                }
            }
        })
        .collect()
}
