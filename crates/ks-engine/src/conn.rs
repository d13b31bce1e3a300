//! One connection's application side: protocol detection, and the session
//! (HTTP/1, HTTP/2, WebSocket) that dissects it.

use crate::amqp::Amqp;
use crate::config::EngineConfig;
use crate::diameter::Diameter;
use crate::dns::Dns;
use crate::drive::{self, Io, Upgrade};
use crate::entry::{
    rfc3339_us, Entry, FlowRecord, Frames, L4Flow, Output, Request, SctpFlow, TcpFlagCounts,
};
use crate::h2::H2Session;
use crate::http::HttpSession;
use crate::kafka::Kafka;
use crate::ldap::Ldap;
use crate::paired::PairedSession;
use crate::radius::Radius;
use crate::redis::Redis;
use crate::stats::Stats;
use crate::stream::DirStream;
use crate::tls::TlsSession;
use crate::ws::WsSession;
use ks_proto::{Direction, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict};
use ks_proto_amqp::AmqpParser;
use ks_proto_diameter::DiameterParser;
use ks_proto_dns::DnsParser;
use ks_proto_http::Http1Parser;
use ks_proto_http2::{Http2Parser, UpgradedRequest};
use ks_proto_kafka::KafkaParser;
use ks_proto_ldap::LdapParser;
use ks_proto_radius::RadiusParser;
use ks_proto_redis::RedisParser;
use ks_proto_tls::TlsParser;
use ks_reassembly::{Side, StreamEvent};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Ports where HTTP is likely enough that a flow picked up mid-message is still
/// handed to the HTTP parser, which resynchronises on the next message start.
const HTTP_PORTS: [u16; 6] = [80, 8080, 8000, 8008, 8888, 3128];

/// The HTTP/2 client preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the application side of a flow is.
pub(crate) enum App {
    /// Not decided yet: bytes are buffered until a probe is sure.
    Probing,
    /// HTTP/1.
    Http(Box<HttpSession>),
    /// HTTP/2 (prior knowledge, h2c upgrade, or picked up mid-connection).
    Http2(Box<H2Session>),
    /// WebSocket, after a `101`.
    Ws(Box<WsSession>),
    /// Redis.
    Redis(Box<PairedSession<Redis>>),
    /// Kafka.
    Kafka(Box<PairedSession<Kafka>>),
    /// AMQP 0-9-1.
    Amqp(Box<PairedSession<Amqp>>),
    /// DNS over UDP or TCP, and mDNS.
    Dns(Box<PairedSession<Dns>>),
    /// RADIUS.
    Radius(Box<PairedSession<Radius>>),
    /// LDAP over TCP, CLDAP over UDP.
    Ldap(Box<PairedSession<Ldap>>),
    /// DIAMETER over TCP or SCTP.
    Diameter(Box<PairedSession<Diameter>>),
    /// TLS: the handshake, and the decrypted connection inside when keys are known.
    Tls(Box<TlsSession>),
    /// Not dissected (unknown protocol, or handed to one not dissected yet).
    Opaque(Protocol),
    /// Both directions closed and everything emitted; the flow only counts
    /// late packets until it leaves the table. Holds the protocol's name.
    Done(&'static str),
}

/// Per-flow counters for the flow record.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowCounts {
    pub frames: u64,
    pub bytes: [u64; 2],
    pub first_frame: u64,
    pub last_frame: u64,
    pub syn: u64,
    pub fin: u64,
    pub rst: u64,
    /// TCP segments that carried only bytes already seen.
    pub retransmissions: u64,
    pub gaps: u64,
    pub first_ts_ns: u64,
    /// Packets from side A and from side B.
    pub packets: [u64; 2],
    pub last_ts_ns: u64,
}

/// Payload bytes kept per direction of a flow no dissector claims, for its L4 entry.
pub(crate) const FIRST_BYTES: usize = 32;

/// Things about the packet being processed and the engine that a connection needs.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a EngineConfig,
    pub stats: &'a mut Stats,
    pub out: &'a mut VecDeque<(u64, Output)>,
    /// Order key of what this call emits.
    pub seq: u64,
    pub frame: u64,
    pub ts_ns: u64,
    pub stream: u64,
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub transport: &'static str,
}

/// The application side of one flow.
pub(crate) struct Conn {
    pub app: App,
    /// Which side is the client, once known.
    pub client: Option<Side>,
    /// Indexed by [`Side::index`].
    pub dirs: [DirStream; 2],
    pub counts: FlowCounts,
    /// Decode-as protocol, skipping the probe.
    pub forced: Option<Protocol>,
    /// Entries emitted so far (the `n` of `<stream>-<n>`).
    pub entries: u64,
    /// What the `101` of an HTTP/1 upgrade said, until the next protocol takes it.
    upgrade: Option<Box<Upgrade>>,
    /// The first payload bytes of each side (indexed by [`Side::index`]) of a flow no
    /// dissector took, for its L4 entry; allocated only for such flows.
    first: Option<Box<[Vec<u8>; 2]>>,
    /// SCTP: what the association carried, set when it ends (for the L4 entry).
    pub sctp: Option<Box<SctpFlow>>,
    /// The decrypted inside of a TLS connection: TLS is not looked for again (a
    /// tunnel's TLS would nest without bound).
    pub nested: bool,
}

/// Run `$body` with `$s` bound to the session (whatever its protocol) and `$io`
/// to the connection's view; `None` when no session dissects the flow.
macro_rules! with_session {
    ($conn:expr, $ctx:expr, |$s:ident, $io:ident| $body:expr) => {{
        let c = &mut *$conn;
        let mut $io = Io {
            ctx: $ctx,
            dirs: &mut c.dirs,
            client: c.client,
            entries: &mut c.entries,
            upgrade: &mut c.upgrade,
        };
        match &mut c.app {
            App::Http($s) => Some($body),
            App::Http2($s) => Some($body),
            App::Ws($s) => Some($body),
            App::Redis($s) => Some($body),
            App::Kafka($s) => Some($body),
            App::Amqp($s) => Some($body),
            App::Dns($s) => Some($body),
            App::Radius($s) => Some($body),
            App::Ldap($s) => Some($body),
            App::Diameter($s) => Some($body),
            App::Tls($s) => Some($body),
            _ => None,
        }
    }};
}

impl Conn {
    pub fn new(forced: Option<Protocol>) -> Self {
        Conn {
            app: App::Probing,
            client: None,
            dirs: Default::default(),
            counts: FlowCounts::default(),
            forced,
            entries: 0,
            upgrade: None,
            first: None,
            sctp: None,
            nested: false,
        }
    }

    /// Keep up to [`FIRST_BYTES`] of what `side` sent on a flow no dissector took.
    fn keep_first(&mut self, side: Side, data: &[u8]) {
        let first = self.first.get_or_insert_with(Default::default);
        let v = &mut first[side.index()];
        let room = FIRST_BYTES.saturating_sub(v.len());
        v.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// No dissector will take this flow: keep the first bytes the probe saw, then
    /// free the probe buffers.
    fn give_up(&mut self, p: Protocol) {
        if p == Protocol::Tcp {
            for side in [Side::A, Side::B] {
                let buf = std::mem::take(&mut self.dirs[side.index()].buf);
                if !buf.is_empty() {
                    self.keep_first(side, &buf);
                }
            }
        }
        self.dirs = Default::default();
        self.app = App::Opaque(p);
    }

    fn dir_of(&self, side: Side) -> Direction {
        if side == side_for(self.client, Direction::ToServer) {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    fn side_of(&self, dir: Direction) -> Side {
        side_for(self.client, dir)
    }

    /// Take one reassembled stream event.
    pub fn on_event(&mut self, ctx: &mut Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data { side, offset, data } => self.on_data(ctx, side, offset, data),
            StreamEvent::Gap { side, offset, len } => self.on_gap(ctx, side, offset, len),
            StreamEvent::Fin { side } => self.on_end(ctx, side),
            StreamEvent::Rst { side } => {
                self.on_end(ctx, side);
                self.on_end(ctx, side.other());
            }
        }
    }

    /// One UDP datagram of `side`: datagrams are numbered as one stream of bytes per
    /// direction (the offset of this one is where the last one ended), and a
    /// datagram parser takes each whole.
    pub fn on_datagram(&mut self, ctx: &mut Ctx<'_>, side: Side, data: &[u8]) {
        if matches!(self.app, App::Opaque(_) | App::Done(_)) {
            if matches!(self.app, App::Opaque(Protocol::Tcp)) {
                self.keep_first(side, data);
            }
            return;
        }
        let d = &self.dirs[side.index()];
        let offset = d.base + d.buf.len() as u64;
        self.on_data(ctx, side, offset, data);
    }

    fn on_data(&mut self, ctx: &mut Ctx<'_>, side: Side, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match self.app {
            App::Opaque(Protocol::Tcp) => return self.keep_first(side, data),
            App::Opaque(_) | App::Done(_) => return,
            _ => self.dirs[side.index()].mark(offset, ctx.frame, ctx.ts_ns),
        }
        if let App::Probing = self.app {
            let d = &mut self.dirs[side.index()];
            if d.buf.is_empty() {
                d.base = offset;
            }
            d.buf.extend_from_slice(data);
            self.decide(ctx, side);
            return;
        }
        let dir = self.dir_of(side);
        with_session!(self, ctx, |s, io| drive::feed(
            &mut **s,
            &mut io,
            dir,
            Some(data)
        ));
        self.after_feed(ctx);
    }

    /// Run the probes on what `side` sent so far and pick a parser when sure.
    fn decide(&mut self, ctx: &mut Ctx<'_>, side: Side) {
        let (src, dst) = match side {
            Side::A => (ctx.a, ctx.b),
            Side::B => (ctx.b, ctx.a),
        };
        let d = &self.dirs[side.index()];
        let certain = Probe {
            verdict: Verdict::Certain,
            sender: None,
        };
        let (proto, probe) = match self.forced {
            // gRPC is HTTP/2 and GraphQL HTTP, found by content once parsed.
            Some(Protocol::Http | Protocol::Graphql) => (Protocol::Http, certain),
            Some(Protocol::Http2 | Protocol::Grpc) => (Protocol::Http2, certain),
            // A WebSocket picked up after its handshake: no extensions known.
            Some(Protocol::WebSocket) => (Protocol::WebSocket, certain),
            Some(p @ (Protocol::Dns | Protocol::Radius | Protocol::Ldap | Protocol::Diameter)) => {
                (p, certain)
            }
            // Over UDP only DNS, RADIUS and CLDAP are dissected, over SCTP DIAMETER.
            Some(p) if ctx.transport != "tcp" => {
                self.dirs = Default::default();
                self.app = App::Opaque(p);
                return;
            }
            Some(p @ (Protocol::Redis | Protocol::Kafka | Protocol::Amqp | Protocol::Tls)) => {
                (p, certain)
            }
            Some(p) => {
                self.dirs = Default::default();
                self.app = App::Opaque(p);
                return;
            }
            None if ctx.transport == "sctp" => {
                // A message decides (SCTP keeps message boundaries).
                let input = ProbeInput {
                    data: &d.buf,
                    src_port: src.port(),
                    dst_port: dst.port(),
                };
                let diameter = DiameterParser::probe(&input);
                match diameter.verdict {
                    Verdict::Certain => (Protocol::Diameter, diameter),
                    _ => {
                        self.give_up(Protocol::Tcp);
                        return;
                    }
                }
            }
            None if ctx.transport == "udp" => {
                // One datagram decides: DNS or nothing (a datagram never waits for more).
                let input = ProbeInput {
                    data: &d.buf,
                    src_port: src.port(),
                    dst_port: dst.port(),
                };
                let dns = ks_proto_dns::probe_datagram(&input);
                let radius = ks_proto_radius::probe_datagram(&input);
                let cldap = ks_proto_ldap::probe_datagram(&input);
                if dns.verdict == Verdict::Certain {
                    (Protocol::Dns, dns)
                } else if radius.verdict == Verdict::Certain {
                    (Protocol::Radius, radius)
                } else if cldap.verdict == Verdict::Certain {
                    (Protocol::Ldap, cldap)
                } else {
                    self.give_up(Protocol::Tcp);
                    return;
                }
            }
            None => {
                let input = ProbeInput {
                    data: &d.buf,
                    src_port: src.port(),
                    dst_port: dst.port(),
                };
                let h2 = Http2Parser::probe(&input);
                let h1 = Http1Parser::probe(&input);
                let kafka = KafkaParser::probe(&input);
                let redis = RedisParser::probe(&input);
                let amqp = AmqpParser::probe(&input);
                let dns = DnsParser::probe(&input);
                let ldap = LdapParser::probe(&input);
                let diameter = DiameterParser::probe(&input);
                let tls = if self.nested {
                    Probe::NOT_MINE
                } else {
                    TlsParser::probe(&input)
                };
                let unsure = [h1, h2, kafka, redis, amqp, ldap, diameter, tls]
                    .iter()
                    .any(|p| p.verdict == Verdict::Unsure);
                let n = d.buf.len().min(PREFACE.len());
                let waiting = d.buf.len() < ctx.cfg.max_probe_bytes;
                let http_port =
                    HTTP_PORTS.contains(&src.port()) || HTTP_PORTS.contains(&dst.port());
                if h2.verdict == Verdict::Certain {
                    (Protocol::Http2, h2)
                } else if d.buf[..n] == PREFACE[..n] && waiting {
                    // `PRI * HTTP/2.0` also reads as an HTTP/1 request line: wait for the preface.
                    return;
                } else if h1.verdict == Verdict::Certain {
                    (Protocol::Http, h1)
                } else if kafka.verdict == Verdict::Certain {
                    (Protocol::Kafka, kafka)
                } else if redis.verdict == Verdict::Certain {
                    (Protocol::Redis, redis)
                } else if amqp.verdict == Verdict::Certain {
                    (Protocol::Amqp, amqp)
                } else if dns.verdict == Verdict::Certain {
                    (Protocol::Dns, dns)
                } else if ldap.verdict == Verdict::Certain {
                    (Protocol::Ldap, ldap)
                } else if diameter.verdict == Verdict::Certain {
                    (Protocol::Diameter, diameter)
                } else if tls.verdict == Verdict::Certain {
                    (Protocol::Tls, tls)
                } else if unsure && waiting {
                    return;
                } else if http_port {
                    // Picked up mid-message on an HTTP port: let the parser resynchronise.
                    (Protocol::Http, h1)
                } else {
                    // Nothing more is parsed on this flow: free its buffers and marks.
                    self.give_up(Protocol::Tcp);
                    return;
                }
            }
        };
        if self.client.is_none() {
            self.client = Some(match probe.sender {
                Some(Role::Client) => side,
                Some(Role::Server) => side.other(),
                // Ports decide: the lower (well-known) port is the server's.
                None => {
                    if src.port() < dst.port() {
                        side.other()
                    } else {
                        side
                    }
                }
            });
        }
        let start = [
            self.dirs[self.side_of(Direction::ToServer).index()].base,
            self.dirs[self.side_of(Direction::ToClient).index()].base,
        ];
        if proto == Protocol::Http2 {
            let parser = Http2Parser::new(ctx.cfg.http2.clone(), start);
            self.app = App::Http2(Box::new(H2Session::new(parser)));
        } else if proto == Protocol::WebSocket {
            self.app = App::Ws(Box::new(WsSession::new(ctx.cfg, None, start)));
        } else if proto == Protocol::Redis {
            let parser = RedisParser::new(ctx.cfg.redis.clone(), start);
            self.app = App::Redis(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Kafka {
            let parser = KafkaParser::new(ctx.cfg.kafka.clone(), start);
            self.app = App::Kafka(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Amqp {
            let parser = AmqpParser::new(ctx.cfg.amqp.clone(), start);
            self.app = App::Amqp(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Dns {
            let transport = if ctx.transport == "udp" {
                ks_proto_dns::Transport::Udp
            } else {
                ks_proto_dns::Transport::Tcp
            };
            // Multicast DNS: questions and answers go to everyone, nothing pairs.
            let mdns = ctx.a.port() == 5353 || ctx.b.port() == 5353;
            let parser = DnsParser::new(ctx.cfg.dns.clone(), start, transport, mdns);
            self.app = App::Dns(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Radius {
            self.app = App::Radius(Box::new(PairedSession::new(RadiusParser::new(start))));
        } else if proto == Protocol::Ldap {
            let cfg = ctx.cfg.ldap.clone();
            let parser = if ctx.transport == "udp" {
                LdapParser::cldap(cfg, start)
            } else {
                LdapParser::new(cfg, start)
            };
            self.app = App::Ldap(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Diameter {
            let parser = DiameterParser::new(ctx.cfg.diameter.clone(), start);
            self.app = App::Diameter(Box::new(PairedSession::new(parser)));
        } else if proto == Protocol::Tls {
            self.start_tls(ctx, start);
        } else {
            let mut session = HttpSession::new(Http1Parser::new(ctx.cfg.http.clone()));
            // Streams that began after a loss start at an offset > 0: tell the parser.
            for (dir, base) in [Direction::ToServer, Direction::ToClient]
                .into_iter()
                .zip(start)
            {
                if base > 0 {
                    session.parser.gap(dir, base, &mut session.scratch);
                }
            }
            session.scratch.clear();
            self.app = App::Http(Box::new(session));
        }
        self.refeed(ctx);
    }

    /// Hand what is buffered in each direction to the (new) session, requests first
    /// so that pairing sees them before their responses.
    fn refeed(&mut self, ctx: &mut Ctx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let s = self.side_of(dir);
            let d = &mut self.dirs[s.index()];
            if !d.buf.is_empty() {
                d.fresh = d.buf.len();
                d.needed = 0;
                with_session!(self, &mut *ctx, |s, io| drive::feed(
                    &mut **s, &mut io, dir, None
                ));
            }
        }
        self.after_feed(ctx);
    }

    /// After HTTP/1 parsing: a `101` or a CONNECT hands the connection over; after
    /// LDAP, a StartTLS does.
    fn after_feed(&mut self, ctx: &mut Ctx<'_>) {
        if let App::Ldap(session) = &self.app {
            if let Some(next) = session.parser.handoff() {
                ctx.stats.handoffs += 1;
                self.finish_app(ctx);
                if next == Protocol::Tls && !self.nested {
                    // StartTLS: the TLS handshake follows in the bytes still buffered.
                    let start = [
                        self.dirs[self.side_of(Direction::ToServer).index()].base,
                        self.dirs[self.side_of(Direction::ToClient).index()].base,
                    ];
                    for d in &mut self.dirs {
                        d.needed = 0;
                        d.fresh = 0;
                    }
                    self.start_tls(ctx, start);
                    self.refeed(ctx);
                } else {
                    for d in &mut self.dirs {
                        d.drop_buffered();
                    }
                    self.app = App::Opaque(next);
                }
            }
            return;
        }
        let App::Http(session) = &self.app else {
            return;
        };
        let Some(next) = session.parser.handoff() else {
            return;
        };
        ctx.stats.handoffs += 1;
        // The switching response is paired already; what is pending ends here.
        let App::Http(mut session) = std::mem::replace(&mut self.app, App::Opaque(next)) else {
            return;
        };
        {
            let mut io = Io {
                ctx: &mut *ctx,
                dirs: &mut self.dirs,
                client: self.client,
                entries: &mut self.entries,
                upgrade: &mut self.upgrade,
            };
            drive::finish(&mut *session, &mut io);
        }
        let upgrade = self.upgrade.take();
        let start = [
            self.dirs[self.side_of(Direction::ToServer).index()].base,
            self.dirs[self.side_of(Direction::ToClient).index()].base,
        ];
        for d in &mut self.dirs {
            d.needed = 0;
            d.fresh = 0;
        }
        match next {
            Protocol::WebSocket => {
                self.app = App::Ws(Box::new(WsSession::new(ctx.cfg, upgrade.as_deref(), start)));
            }
            Protocol::Http2 => {
                let parser = match upgrade {
                    Some(u) => Http2Parser::upgraded(
                        ctx.cfg.http2.clone(),
                        start,
                        UpgradedRequest {
                            authority: u.request_header("host").map(str::to_string),
                            method: u.method,
                            path: u.path,
                            headers: u.request_headers,
                            start: u.request_start,
                            end: u.request_end,
                            body_size: u.request_body_size,
                        },
                    ),
                    None => Http2Parser::new(ctx.cfg.http2.clone(), start),
                };
                self.app = App::Http2(Box::new(H2Session::new(parser)));
            }
            _ => {
                // A tunnel (CONNECT) or a protocol not dissected: nothing more to keep.
                for d in &mut self.dirs {
                    d.drop_buffered();
                }
                return;
            }
        }
        self.refeed(ctx);
    }

    fn on_gap(&mut self, ctx: &mut Ctx<'_>, side: Side, offset: u64, len: u64) {
        self.counts.gaps += 1;
        let dir = self.dir_of(side);
        if let App::Probing = self.app {
            // Probe again from after the hole.
            let d = &mut self.dirs[side.index()];
            d.buf.clear();
            d.base = offset + len;
            return;
        }
        with_session!(self, ctx, |s, io| drive::gap(
            &mut **s, &mut io, dir, offset, len
        ));
    }

    fn on_end(&mut self, ctx: &mut Ctx<'_>, side: Side) {
        let dir = self.dir_of(side);
        let all = with_session!(self, &mut *ctx, |s, io| drive::end(&mut **s, &mut io, dir));
        if all == Some(true) {
            self.close_app(ctx);
        }
    }

    /// The application side is over (both directions closed, all emitted).
    pub fn is_done(&self) -> bool {
        matches!(self.app, App::Done(_))
    }

    /// Both directions are over: emit what is left now (not when the flow leaves
    /// the table, possibly minutes later) and free the parser and buffers, so a
    /// closed flow costs only its table slot until then.
    fn close_app(&mut self, ctx: &mut Ctx<'_>) {
        let name = self.finish_app(ctx);
        if let Some(name) = name {
            self.app = App::Done(name);
            self.dirs = Default::default();
        }
    }

    /// Flush the session, if any; returns its protocol's name.
    fn finish_app(&mut self, ctx: &mut Ctx<'_>) -> Option<&'static str> {
        let name = match self.app {
            App::Http(_) => "http",
            App::Http2(_) => "http2",
            App::Ws(_) => "websocket",
            App::Redis(_) => "redis",
            App::Kafka(_) => "kafka",
            App::Amqp(_) => "amqp",
            App::Dns(_) => "dns",
            App::Radius(_) => "radius",
            App::Ldap(_) => "ldap",
            App::Diameter(_) => "diameter",
            App::Tls(_) => "tls",
            _ => return None,
        };
        with_session!(self, ctx, |s, io| drive::finish(&mut **s, &mut io));
        Some(name)
    }

    /// A TLS session from `start` (absolute offsets, to server and to client).
    fn start_tls(&mut self, ctx: &mut Ctx<'_>, start: [u64; 2]) {
        let parser = TlsParser::new(ctx.cfg.tls.clone());
        self.app = App::Tls(Box::new(TlsSession::new(parser, start)));
    }

    /// The inside of a TLS connection is over: flush its session (no flow record:
    /// the outer connection writes it).
    pub fn finish_inner(&mut self, ctx: &mut Ctx<'_>) {
        self.finish_app(ctx);
    }

    /// The flow is over: flush the parser, emit what is left, and the flow record.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        let proto = match self.finish_app(ctx) {
            Some(p) => p,
            None => match &self.app {
                App::Done(p) => p,
                App::Opaque(p) if *p != Protocol::Tcp => p.name(),
                _ => ctx.transport,
            },
        };
        if ctx.cfg.l4_entries
            && self.entries == 0
            && matches!(self.app, App::Opaque(Protocol::Tcp) | App::Probing)
        {
            self.l4_entry(ctx);
        }
        let c = &self.counts;
        ctx.out.push_back((
            ctx.seq,
            Output::Flow(FlowRecord {
                transport: ctx.transport,
                stream: ctx.stream,
                a: ctx.a.into(),
                b: ctx.b.into(),
                frames: c.frames,
                bytes_a_to_b: c.bytes[0],
                bytes_b_to_a: c.bytes[1],
                first_frame: c.first_frame,
                last_frame: c.last_frame,
                syn: c.syn,
                fin: c.fin,
                rst: c.rst,
                protocol: proto,
                gaps: c.gaps,
            }),
        ));
    }
}

impl Conn {
    /// The L4 entry of a flow no dissector claimed.
    fn l4_entry(&mut self, ctx: &mut Ctx<'_>) {
        let c = &self.counts;
        let first = self.first.take().map(|b| *b).unwrap_or_default();
        let duration_us = c.last_ts_ns.saturating_sub(c.first_ts_ns) / 1000;
        let tcp = ctx.transport == "tcp";
        let flow = L4Flow {
            packets: c.packets,
            bytes: c.bytes,
            duration_us,
            tcp_flags: tcp.then_some(TcpFlagCounts {
                syn: c.syn,
                fin: c.fin,
                rst: c.rst,
                retransmissions: c.retransmissions,
            }),
            gaps: c.gaps,
            first_bytes: [ks_proto::hex(&first[0]), ks_proto::hex(&first[1])],
            sctp: self.sctp.take().map(|s| *s),
        };
        let mut summary = format!(
            "{}/{} packets {}/{} bytes {:.3}s",
            c.packets[0],
            c.packets[1],
            c.bytes[0],
            c.bytes[1],
            duration_us as f64 / 1e6
        );
        if tcp {
            for (n, what) in [(c.syn, "SYN"), (c.fin, "FIN"), (c.rst, "RST")] {
                if n > 0 {
                    summary.push_str(&format!(" {what}"));
                }
            }
            if c.retransmissions > 0 {
                summary.push_str(&format!(" {} retransmitted", c.retransmissions));
            }
        }
        if let Some(s) = &flow.sctp {
            summary.push_str(&format!(" {} messages", s.messages));
            for what in ["INIT", "SHUTDOWN", "ABORT"] {
                if s.chunks.contains_key(what) {
                    summary.push_str(&format!(" {what}"));
                }
            }
        }
        let n = self.entries;
        self.entries += 1;
        *ctx.stats.entries.entry(ctx.transport).or_default() += 1;
        ctx.out.push_back((
            ctx.seq,
            Output::Entry(Box::new(Entry {
                id: crate::entry::entry_id(ctx.transport, ctx.stream, n),
                protocol: ctx.transport,
                version: String::new(),
                transport: ctx.transport,
                tls: false,
                stream: ctx.stream,
                stream_id: None,
                src: ctx.a.into(),
                dst: ctx.b.into(),
                timestamp: rfc3339_us(c.first_ts_ns),
                ts_ns: c.first_ts_ns,
                elapsed_us: None,
                frames: Frames {
                    request: Some([c.first_frame, c.last_frame]),
                    response: None,
                },
                request: Some(Request::Flow(flow)),
                response: None,
                summary,
                error: None,
                process: None,
            })),
        ));
    }
}

/// The side sending `dir`; until the client is known, side A is taken as the client.
pub(crate) fn side_for(client: Option<Side>, dir: Direction) -> Side {
    let client = client.unwrap_or(Side::A);
    match dir {
        Direction::ToServer => client,
        Direction::ToClient => client.other(),
    }
}
