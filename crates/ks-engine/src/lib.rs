//! The ks dissection engine: packets in; flows, reassembled streams and paired
//! request/response [`Entry`]s out — incrementally, as flows progress, with
//! bounded memory, usable from any Rust program (sync, or async through a
//! blocking task) without the `ks-dissect` binary.
//!
//! ```no_run
//! use ks_engine::{Dissector, EngineConfig, Output};
//! let source = ks_capture::FileSource::open("capture.pcap")?;
//! for out in Dissector::new(source, EngineConfig::default()) {
//!     match out? {
//!         Output::Entry(e) => println!("{} {}", e.id, e.summary),
//!         Output::Flow(f) => println!("flow {} done", f.stream),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The data path per packet: link/IP decoding (`ks-decode`, borrowing the
//! capture buffer) → defragmentation when needed → flow lookup (`ks-reassembly`
//! flow table) → TCP reassembly (in-order bytes are passed on without a copy) →
//! protocol probe on the first bytes → streaming parser → pairing → entries.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod amqp;
mod config;
mod conn;
mod diameter;
mod dns;
mod drive;
mod entry;
mod graphql;
mod h2;
mod http;
mod icmp;
mod kafka;
mod ldap;
pub mod live;
mod paired;
mod parallel;
pub mod plain;
mod radius;
mod redis;
mod sctp;
mod stats;
mod stream;
mod tls;
mod ws;

pub use config::{DecodeAs, DecodeAsError, EngineConfig, IdentitySource, Shard, Transport};
pub use entry::{
    rfc3339_us, BodyData, Endpoint, Entry, EntryError, FlowRecord, Frames, GrpcRequest,
    GrpcResponse, HttpRequest, HttpResponse, Interim, L4Flow, LdapResult, Output, Request,
    Response, SctpFlow, TcpFlagCounts, TlsAfterHandshake, WebSocketMessage,
};
pub use ks_tls_decrypt::KeyLog;
pub use parallel::{dissect_parallel, dissect_parallel_map};
pub use plain::{PlainChunk, PlainConn, Process};
pub use stats::{Http2Stats, Stats, WsStats};

use conn::{Conn, Ctx};
use ks_capture::{CaptureError, Packet, PacketSource, SourceEvent};
use ks_decode::{
    decode_link, decode_transport, DecodeError, Defragmenter, Network, SctpPacket, TcpSegment,
    Transport as L4,
};
use ks_proto::Protocol;
use ks_reassembly::{Budget, Flow, FlowKey, FlowTable, Segment, Side, TcpConnection, TcpCounters};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

const TCP: u8 = 6;
const UDP: u8 = 17;
const SCTP: u8 = 132;

/// Per-flow state: the TCP reassembler (for TCP flows this engine owns) and the
/// application side.
struct FlowState {
    /// Boxed so that a closed flow, whose reassembler is dropped, stays small.
    tcp: Option<Box<TcpConnection>>,
    /// SCTP reassembly (SCTP flows this engine owns).
    sctp: Option<Box<sctp::SctpState>>,
    conn: Conn,
    /// TCP handshake facts, kept for every TCP flow — owned or not — so that all
    /// shards of a multi-threaded run recognise port reuse and number streams alike.
    facts: TcpFacts,
    /// This engine dissects the flow (always, unless sharded).
    owned: bool,
    /// Global creation order (deterministic across shards).
    created: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct TcpFacts {
    isn: [Option<u32>; 2],
    fin: [bool; 2],
    rst: bool,
}

/// The engine. Feed it packets in capture order with [`Engine::process`], take
/// what it produced with [`Engine::next_output`], and call [`Engine::finish`] at
/// the end of the capture.
pub struct Engine {
    cfg: EngineConfig,
    flows: FlowTable<FlowState>,
    defrag: Defragmenter,
    budget: Budget,
    tcp_counters: TcpCounters,
    stats: Stats,
    /// Outputs with their order key (see [`Engine::seq`]).
    out: VecDeque<(u64, Output)>,
    /// Capture clock of the last idle-flow sweep.
    last_sweep_ns: u64,
    /// Order key: goes up at every packet and every flow that finishes. It is the
    /// same in every shard (they all see every packet and every flow's lifecycle),
    /// so outputs of shards merge back into exactly the single-threaded order.
    seq: u64,
    /// Flows created so far.
    created: u64,
    /// Count packet-level statistics (only one shard does).
    primary: bool,
    /// Echo requests waiting for replies (primary shard only).
    icmp_tracker: icmp::IcmpTracker,
    /// TLS plaintext connections (`process_plaintext`).
    plain: plain::PlainTable,
}

/// Resolves both sides of an entry at its time. Done as entries leave the
/// engine, so a live index has had as long as possible to learn about a new pod.
fn label(ids: &dyn ks_k8s::Resolve, e: &mut Entry) {
    e.src.k8s = ids.resolve_at(e.src.ip, e.src.port, e.ts_ns);
    e.dst.k8s = ids.resolve_at(e.dst.ip, e.dst.port, e.ts_ns);
}

impl Engine {
    /// A new engine.
    pub fn new(cfg: EngineConfig) -> Self {
        Engine {
            flows: FlowTable::new(cfg.max_flows),
            defrag: Defragmenter::new(cfg.defrag),
            budget: Budget {
                used: 0,
                cap: cfg.reassembly_budget,
            },
            tcp_counters: TcpCounters::default(),
            stats: Stats::default(),
            out: VecDeque::new(),
            last_sweep_ns: 0,
            seq: 0,
            created: 0,
            primary: cfg.shard.is_none_or(|s| s.index == 0),
            icmp_tracker: Default::default(),
            plain: Default::default(),
            cfg,
        }
    }

    fn owns(&self, key: &FlowKey) -> bool {
        match self.cfg.shard {
            None => true,
            Some(sh) => {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                key.hash(&mut h);
                h.finish() % u64::from(sh.count.max(1)) == u64::from(sh.index)
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.tcp = self.tcp_counters;
        if self.primary {
            s.defrag = self.defrag.counters();
        }
        s
    }

    /// Flows currently tracked.
    pub fn active_flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes of out-of-order TCP data buffered right now.
    pub fn buffered_bytes(&self) -> usize {
        self.budget.used
    }

    /// Next finished entry or flow record, if any.
    pub fn next_output(&mut self) -> Option<Output> {
        self.next_keyed_output().map(|(_, o)| o)
    }

    /// Next output with its order key (keys never decrease).
    pub(crate) fn next_keyed_output(&mut self) -> Option<(u64, Output)> {
        let (key, mut out) = self.out.pop_front()?;
        if let (Some(ids), Output::Entry(e)) = (&self.cfg.identity, &mut out) {
            label(&*ids.0, e);
        }
        Some((key, out))
    }

    /// Current order key: outputs produced from now on have a larger one.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Tells the engine the time is `now_ns` (wall clock, ns since the Unix
    /// epoch) when no packet arrived for a while: flows idle longer than
    /// `flow_idle` are finished, so a quiet live link still gets its entries.
    /// Offline dissection never needs it (packet timestamps drive the clock).
    pub fn tick(&mut self, now_ns: u64) {
        if now_ns >= self.last_sweep_ns.saturating_add(1_000_000_000) {
            self.sweep(now_ns);
        }
    }

    /// Dissect one packet.
    pub fn process(&mut self, pkt: &Packet<'_>) {
        self.seq += 1;
        if self.primary {
            self.stats.packets += 1;
            self.stats.bytes += pkt.data.len() as u64;
            if (pkt.data.len() as u64) < u64::from(pkt.orig_len) {
                self.stats.snaplen_cut += 1;
            }
        }
        let primary = self.primary;
        if pkt.ts_ns >= self.last_sweep_ns.saturating_add(1_000_000_000) {
            self.sweep(pkt.ts_ns);
        }
        let link = match decode_link(pkt.link_type, pkt.data) {
            Ok(l) => l,
            Err(DecodeError::UnsupportedLinkType(_)) => {
                self.stats.unsupported_link += u64::from(primary);
                return;
            }
            Err(_) => {
                self.stats.decode_errors += u64::from(primary);
                return;
            }
        };
        let Network::Ip(ip) = link.net else {
            self.stats.non_ip += u64::from(primary);
            return;
        };
        let vlan = if self.cfg.flow_key_vlan && link.vlans.depth > 0 {
            link.vlans.ids[usize::from(link.vlans.depth.min(4) - 1)]
        } else {
            0
        };
        if ip.fragment.is_some() {
            if let Some(whole) = self.defrag.push(&ip, pkt.ts_ns) {
                let len = whole.payload.len() as u32;
                self.transport(
                    pkt,
                    vlan,
                    whole.src,
                    whole.dst,
                    whole.protocol,
                    &whole.payload,
                    len,
                );
            }
            return;
        }
        self.transport(
            pkt,
            vlan,
            ip.src,
            ip.dst,
            ip.protocol,
            ip.payload,
            ip.payload_len,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        pkt: &Packet<'_>,
        vlan: u16,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        payload: &[u8],
        wire_len: u32,
    ) {
        match decode_transport(proto, payload, wire_len) {
            Ok(L4::Tcp(seg)) => self.tcp(pkt, vlan, src, dst, &seg),
            Ok(L4::Udp(u)) => {
                let (s, d) = (
                    SocketAddr::new(src, u.src_port),
                    SocketAddr::new(dst, u.dst_port),
                );
                let Some(id) = self.flow_for(UDP, s, d, vlan, pkt) else {
                    return;
                };
                if let Some(flow) = self.flows.get_mut(id) {
                    if flow.value.owned {
                        let side = flow.side_of(s);
                        let (stream, a, b) = (flow.stream, flow.a, flow.b);
                        let conn = &mut flow.value.conn;
                        count(conn, side, pkt, u.payload_len);
                        if !u.payload.is_empty() {
                            let mut ctx = Ctx {
                                cfg: &self.cfg,
                                stats: &mut self.stats,
                                out: &mut self.out,
                                seq: self.seq,
                                frame: pkt.frame,
                                ts_ns: pkt.ts_ns,
                                stream,
                                a,
                                b,
                                transport: "udp",
                            };
                            conn.on_datagram(&mut ctx, side, u.payload);
                        }
                    }
                }
            }
            Ok(L4::Sctp(p)) => self.sctp(pkt, vlan, src, dst, &p),
            Ok(L4::Icmp(m)) => self.icmp(pkt, vlan, src, dst, ks_proto_icmp::Family::V4, &m),
            Ok(L4::Icmpv6(m)) => self.icmp(pkt, vlan, src, dst, ks_proto_icmp::Family::V6, &m),
            Ok(_) => self.stats.other_transport += u64::from(self.primary),
            Err(_) => self.stats.decode_errors += u64::from(self.primary),
        }
    }

    /// SCTP: one flow per association (port pair), its chunks counted and its DATA
    /// reassembled into messages that the application side takes as a stream.
    fn sctp(&mut self, pkt: &Packet<'_>, vlan: u16, src: IpAddr, dst: IpAddr, p: &SctpPacket<'_>) {
        let (s, d) = (
            SocketAddr::new(src, p.src_port),
            SocketAddr::new(dst, p.dst_port),
        );
        let Some(id) = self.flow_for(SCTP, s, d, vlan, pkt) else {
            return;
        };
        let Some(flow) = self.flows.get_mut(id) else {
            return;
        };
        if !flow.value.owned {
            return;
        }
        let side = flow.side_of(s);
        let (stream, a, b) = (flow.stream, flow.a, flow.b);
        let FlowState { sctp, conn, .. } = &mut flow.value;
        let user_bytes: u32 = p
            .chunks()
            .filter_map(|c| c.data())
            .map(|d| d.data_len)
            .sum();
        count(conn, side, pkt, user_bytes);
        let Some(sctp) = sctp else { return };
        let mut ctx = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            out: &mut self.out,
            seq: self.seq,
            frame: pkt.frame,
            ts_ns: pkt.ts_ns,
            stream,
            a,
            b,
            transport: "sctp",
        };
        for c in p.chunks() {
            sctp.chunk(conn, &mut ctx, side, &c, &mut self.budget);
        }
    }

    /// ICMP has no flows: one shard (the primary) dissects every message.
    #[allow(clippy::too_many_arguments)]
    fn icmp(
        &mut self,
        pkt: &Packet<'_>,
        vlan: u16,
        src: IpAddr,
        dst: IpAddr,
        family: ks_proto_icmp::Family,
        m: &ks_decode::IcmpMessage<'_>,
    ) {
        if !self.primary {
            return;
        }
        let msg = ks_proto_icmp::decode(family, m.icmp_type, m.code, m.rest);
        // An error quoting a TCP/UDP packet: the flow it belongs to, if known.
        let linked = msg.quoted.as_ref().and_then(|q| {
            let (sp, dp) = (q.src_port?, q.dst_port?);
            let key = FlowKey::new(
                q.protocol,
                SocketAddr::new(q.src, sp),
                SocketAddr::new(q.dst, dp),
                vlan,
            );
            let id = self.flows.lookup(&key)?;
            self.flows.get(id).map(|f| f.stream)
        });
        let mut at = icmp::Seen {
            stats: &mut self.stats,
            out: &mut self.out,
            seq: self.seq,
            frame: pkt.frame,
            ts_ns: pkt.ts_ns,
        };
        self.icmp_tracker.message(&mut at, src, dst, msg, linked);
    }

    fn tcp(&mut self, pkt: &Packet<'_>, vlan: u16, src: IpAddr, dst: IpAddr, seg: &TcpSegment<'_>) {
        let (s, d) = (
            SocketAddr::new(src, seg.src_port),
            SocketAddr::new(dst, seg.dst_port),
        );
        let fresh_syn = seg.flags.syn() && !seg.flags.ack();
        let Some(id) = self.flow_for(TCP, s, d, vlan, pkt) else {
            return;
        };
        // A new SYN on a finished connection with the same ports is a new stream (port reuse),
        // as tshark numbers it.
        let id = match self.flows.get(id) {
            Some(f) if fresh_syn && reused(f, s, seg.seq) => {
                self.end_flow(id, pkt);
                match self.flow_for(TCP, s, d, vlan, pkt) {
                    Some(id) => id,
                    None => return,
                }
            }
            _ => id,
        };
        let Some(flow) = self.flows.get_mut(id) else {
            return;
        };
        let side = flow.side_of(s);
        let (stream, a, b) = (flow.stream, flow.a, flow.b);
        let FlowState {
            tcp: tcp_slot,
            conn,
            facts,
            owned,
            ..
        } = &mut flow.value;
        let f = seg.flags;
        if f.syn() && facts.isn[side.index()].is_none() {
            facts.isn[side.index()] = Some(seg.seq);
        }
        facts.fin[side.index()] |= f.fin();
        facts.rst |= f.rst();
        // Flows of other shards: only the facts above are kept.
        if !*owned {
            return;
        }
        count(conn, side, pkt, seg.payload_len);
        conn.counts.syn += u64::from(f.syn());
        conn.counts.fin += u64::from(f.fin());
        conn.counts.rst += u64::from(f.rst());
        // A closed connection whose data is all out needs no reassembler any more.
        let Some(tcp) = tcp_slot else { return };
        if conn.client.is_none() {
            conn.client = tcp.client_side().or(if f.syn() && !f.ack() {
                Some(side)
            } else if f.syn() && f.ack() {
                Some(side.other())
            } else {
                None
            });
        }
        let segment = Segment {
            seq: seg.seq,
            ack: seg.ack,
            flags: f.0,
            payload: seg.payload,
            payload_len: seg.payload_len,
        };
        let mut ctx = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            out: &mut self.out,
            seq: self.seq,
            frame: pkt.frame,
            ts_ns: pkt.ts_ns,
            stream,
            a,
            b,
            transport: "tcp",
        };
        let retransmissions = self.tcp_counters.retransmissions;
        tcp.segment(
            side,
            &segment,
            &self.cfg.tcp,
            &mut self.budget,
            &mut self.tcp_counters,
            &mut |ev| conn.on_event(&mut ctx, ev),
        );
        conn.counts.retransmissions += self.tcp_counters.retransmissions - retransmissions;
        if conn.is_done() && tcp.buffered_bytes() == 0 {
            *tcp_slot = None;
        }
    }

    /// Find or create the flow of a packet; touches it.
    fn flow_for(
        &mut self,
        proto: u8,
        s: SocketAddr,
        d: SocketAddr,
        vlan: u16,
        pkt: &Packet<'_>,
    ) -> Option<u32> {
        let key = FlowKey::new(proto, s, d, vlan);
        let id = match self.flows.lookup(&key) {
            Some(id) => id,
            None => {
                let forced = self.cfg.decode_as.iter().find(|r| {
                    let t = match r.transport {
                        Transport::Tcp => TCP,
                        Transport::Udp => UDP,
                        Transport::Sctp => SCTP,
                    };
                    t == proto && (r.port == s.port() || r.port == d.port())
                });
                let owned = self.owns(&key);
                let mut conn = Conn::new(forced.map(|r| r.protocol));
                if !owned {
                    conn.app = conn::App::Opaque(Protocol::Tcp);
                }
                self.created += 1;
                let mut value = Some(FlowState {
                    tcp: (proto == TCP && owned).then(|| Box::new(TcpConnection::new())),
                    sctp: (proto == SCTP && owned).then(Default::default),
                    conn,
                    facts: TcpFacts::default(),
                    owned,
                    created: self.created,
                });
                let mut id = None;
                for _ in 0..2 {
                    let Some(v) = value.take() else { break };
                    match self.flows.insert(key, s, d, pkt.ts_ns, v) {
                        Ok(i) => {
                            id = Some(i);
                            break;
                        }
                        Err(v) => {
                            value = Some(v);
                            // Table full: finish the least recently active flow to make room.
                            if let Some(old) = self.flows.oldest() {
                                let mine = self.flows.get(old).is_some_and(|f| f.value.owned);
                                self.stats.flows_evicted += u64::from(mine);
                                self.end_flow(old, pkt);
                            }
                        }
                    }
                }
                let id = id?;
                if owned {
                    match proto {
                        TCP => self.stats.tcp_flows += 1,
                        SCTP => self.stats.sctp_flows += 1,
                        _ => self.stats.udp_flows += 1,
                    }
                }
                if let Some(f) = self.flows.get_mut(id) {
                    f.value.conn.counts.first_frame = pkt.frame;
                    f.value.conn.counts.first_ts_ns = pkt.ts_ns;
                }
                id
            }
        };
        self.flows.touch(id, pkt.ts_ns);
        Some(id)
    }

    /// Finish flows idle longer than the timeout, and old fragments.
    fn sweep(&mut self, now_ns: u64) {
        self.last_sweep_ns = now_ns;
        self.defrag.expire(now_ns);
        let mut idle = Vec::new();
        self.flows
            .expire(now_ns, self.cfg.flow_idle_ns, |f| idle.push(f));
        // In creation order, so that every shard finishes them in the same order.
        idle.sort_by_key(|f| f.value.created);
        self.stats.flows_timed_out += idle.iter().filter(|f| f.value.owned).count() as u64;
        for f in idle {
            self.finish_flow(f, None);
        }
        self.expire_plain(now_ns);
    }

    fn end_flow(&mut self, id: u32, pkt: &Packet<'_>) {
        if let Some(f) = self.flows.remove(id) {
            self.finish_flow(f, Some(pkt));
        }
    }

    fn finish_flow(&mut self, flow: Flow<FlowState>, pkt: Option<&Packet<'_>>) {
        self.seq += 1;
        let Flow {
            key,
            stream,
            a,
            b,
            value,
            ..
        } = flow;
        let FlowState {
            tcp,
            sctp,
            mut conn,
            owned,
            ..
        } = value;
        if !owned {
            return;
        }
        let transport = match key.transport() {
            TCP => "tcp",
            SCTP => "sctp",
            _ => "udp",
        };
        let (frame, ts_ns) = match pkt {
            Some(p) => (p.frame, p.ts_ns),
            None => (conn.counts.last_frame, flow.last_ts_ns),
        };
        let mut ctx = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            out: &mut self.out,
            seq: self.seq,
            frame,
            ts_ns,
            stream,
            a,
            b,
            transport,
        };
        if let Some(mut tcp) = tcp {
            tcp.flush(&mut self.budget, &mut self.tcp_counters, &mut |ev| {
                conn.on_event(&mut ctx, ev)
            });
        }
        if let Some(mut sctp) = sctp {
            sctp.finish(&mut conn, &mut ctx, &mut self.budget);
            stats::add_sctp(&mut ctx.stats.sctp, &sctp.counters());
            conn.sctp = Some(Box::new(sctp.summary()));
        }
        conn.finish(&mut ctx);
    }

    /// End of capture: finish every flow (in stream order) and emit what is left.
    pub fn finish(&mut self) {
        let mut all = Vec::with_capacity(self.flows.len());
        self.flows.drain_all(|f| all.push(f));
        for f in all {
            self.finish_flow(f, None);
        }
        self.finish_all_plain();
        self.seq += 1;
        let mut at = icmp::Seen {
            stats: &mut self.stats,
            out: &mut self.out,
            seq: self.seq,
            frame: 0,
            ts_ns: 0,
        };
        self.icmp_tracker.expire(&mut at, u64::MAX);
    }
}

fn count(conn: &mut Conn, side: Side, pkt: &Packet<'_>, payload_len: u32) {
    let frame = pkt.frame;
    conn.counts.last_ts_ns = pkt.ts_ns;
    let c = &mut conn.counts;
    c.frames += 1;
    c.packets[side.index()] += 1;
    c.bytes[side.index()] += u64::from(payload_len);
    if c.first_frame == 0 {
        c.first_frame = frame;
    }
    c.last_frame = frame;
}

/// A SYN from `src` with a new ISN on a connection that is over (FIN or RST seen)
/// starts a new connection, as tshark numbers streams.
fn reused(f: &Flow<FlowState>, src: SocketAddr, seq: u32) -> bool {
    if f.key.transport() != TCP {
        return false;
    }
    let facts = &f.value.facts;
    match facts.isn[f.side_of(src).index()] {
        Some(isn) => isn != seq && (facts.rst || facts.fin[0] || facts.fin[1]),
        None => facts.rst || (facts.fin[0] && facts.fin[1]),
    }
}

/// Entries (and flow records) from a packet source, as an iterator: the capture
/// is read lazily, so entries come out while the file is still being read.
pub struct Dissector<S: PacketSource> {
    source: S,
    engine: Engine,
    done: bool,
    error: Option<CaptureError>,
}

impl<S: PacketSource> Dissector<S> {
    /// Dissect `source` with `cfg`.
    pub fn new(source: S, cfg: EngineConfig) -> Self {
        Dissector {
            source,
            engine: Engine::new(cfg),
            done: false,
            error: None,
        }
    }

    /// The engine (for its counters).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The source (for progress).
    pub fn source(&self) -> &S {
        &self.source
    }
}

impl<S: PacketSource> Iterator for Dissector<S> {
    type Item = Result<Output, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(o) = self.engine.next_output() {
                return Some(Ok(o));
            }
            if self.done {
                // A capture error comes after everything dissected before it.
                return self.error.take().map(Err);
            }
            match self.source.next_event() {
                Ok(Some(SourceEvent::Packet(p))) => self.engine.process(&p),
                Ok(Some(SourceEvent::Idle { now_ns })) => self.engine.tick(now_ns),
                Ok(None) => {
                    self.done = true;
                    self.engine.finish();
                }
                Err(e) => {
                    self.done = true;
                    self.error = Some(e);
                    self.engine.finish();
                }
            }
        }
    }
}

/// Protocols the engine dissects today.
pub fn dissected_protocols() -> &'static [Protocol] {
    &[
        Protocol::Http,
        Protocol::Http2,
        Protocol::Grpc,
        Protocol::Graphql,
        Protocol::WebSocket,
        Protocol::Redis,
        Protocol::Kafka,
        Protocol::Amqp,
        Protocol::Dns,
        Protocol::Radius,
        Protocol::Icmp,
        Protocol::Ldap,
        Protocol::Diameter,
    ]
}
