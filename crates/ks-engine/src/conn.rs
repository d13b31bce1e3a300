//! One connection's application side: protocol detection, parser drive, pairing.

use crate::config::EngineConfig;
use crate::entry::{Entry, FlowRecord, Output};
use crate::http::{self, HttpSession};
use crate::stats::Stats;
use crate::stream::{DirStream, FrameMark};
use ks_proto::{Direction, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict};
use ks_proto_http::Http1Parser;
use ks_reassembly::{Side, StreamEvent};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Ports where HTTP is likely enough that a flow picked up mid-message is still
/// handed to the HTTP parser, which resynchronises on the next message start.
const HTTP_PORTS: [u16; 6] = [80, 8080, 8000, 8008, 8888, 3128];

/// What the application side of a flow is.
pub(crate) enum App {
    /// Not decided yet: bytes are buffered until a probe is sure.
    Probing,
    /// HTTP/1.
    Http(Box<HttpSession>),
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
    pub gaps: u64,
}

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
        }
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

    fn on_data(&mut self, ctx: &mut Ctx<'_>, side: Side, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let d = &mut self.dirs[side.index()];
        match self.app {
            App::Opaque(_) | App::Done(_) => return,
            _ => d.mark(offset, ctx.frame, ctx.ts_ns),
        }
        match self.app {
            App::Opaque(_) | App::Done(_) => {}
            App::Probing => {
                if d.buf.is_empty() {
                    d.base = offset;
                }
                d.buf.extend_from_slice(data);
                self.decide(ctx, side);
            }
            App::Http(_) => self.feed(ctx, side, Some(data)),
        }
    }

    /// Run the probes on what `side` sent so far and pick a parser when sure.
    fn decide(&mut self, ctx: &mut Ctx<'_>, side: Side) {
        let (src, dst) = match side {
            Side::A => (ctx.a, ctx.b),
            Side::B => (ctx.b, ctx.a),
        };
        let d = &self.dirs[side.index()];
        let probe = match self.forced {
            Some(Protocol::Http) => Probe {
                verdict: Verdict::Certain,
                sender: None,
            },
            Some(p) => {
                self.app = App::Opaque(p);
                return;
            }
            None => Http1Parser::probe(&ProbeInput {
                data: &d.buf,
                src_port: src.port(),
                dst_port: dst.port(),
            }),
        };
        let http_port = HTTP_PORTS.contains(&src.port()) || HTTP_PORTS.contains(&dst.port());
        let sure = match probe.verdict {
            Verdict::Certain => true,
            Verdict::Unsure if d.buf.len() < ctx.cfg.max_probe_bytes => return,
            // Picked up mid-message on an HTTP port: let the parser resynchronise.
            _ => http_port,
        };
        if !sure {
            // Nothing more is parsed on this flow: free its buffers and marks.
            self.dirs = Default::default();
            self.app = App::Opaque(Protocol::Tcp);
            return;
        }
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
        let mut session = HttpSession::new(Http1Parser::new(ctx.cfg.http.clone()));
        // Streams that began after a loss start at an offset > 0: tell the parser.
        for dir in [Direction::ToServer, Direction::ToClient] {
            let d = &self.dirs[self.side_of(dir).index()];
            if d.base > 0 {
                session.parser.gap(dir, d.base, &mut session.scratch);
            }
        }
        session.scratch.clear();
        self.app = App::Http(Box::new(session));
        // Requests first, so that pairing sees them before their responses.
        for dir in [Direction::ToServer, Direction::ToClient] {
            let s = self.side_of(dir);
            if !self.dirs[s.index()].buf.is_empty() {
                self.dirs[s.index()].fresh = self.dirs[s.index()].buf.len();
                self.feed(ctx, s, None);
            }
        }
    }

    /// Hand bytes (new `data`, or what is buffered) to the parser of `side`'s direction.
    fn feed(&mut self, ctx: &mut Ctx<'_>, side: Side, data: Option<&[u8]>) {
        let dir = self.dir_of(side);
        let client = self.client;
        let App::Http(session) = &mut self.app else {
            return;
        };
        let d = &mut self.dirs[side.index()];
        if d.ended {
            return;
        }
        match data {
            // The common case: nothing pending, parse straight from the capture buffer
            // and keep only an unfinished message's rest.
            Some(new) if d.buf.is_empty() && d.needed == 0 => {
                let used = run_parser(session, d, ctx, dir, client, &mut self.entries, new);
                d.base += used as u64;
                if used < new.len() && session.parser.handoff().is_none() {
                    d.buf.extend_from_slice(&new[used..]);
                }
            }
            _ => {
                if let Some(new) = data {
                    d.buf.extend_from_slice(new);
                    d.fresh += new.len();
                    if d.fresh < d.needed {
                        return;
                    }
                }
                let buf = std::mem::take(&mut d.buf);
                let used = run_parser(session, d, ctx, dir, client, &mut self.entries, &buf);
                d.buf = buf;
                d.buf.drain(..used);
                d.base += used as u64;
                d.release();
            }
        }
        d.fresh = 0;
        if let Some(p) = session.parser.handoff() {
            ctx.stats.handoffs += 1;
            for d in &mut self.dirs {
                d.drop_buffered();
            }
            // The switching response is paired already; what is pending ends here.
            let App::Http(mut session) = std::mem::replace(&mut self.app, App::Opaque(p)) else {
                return;
            };
            Self::finish_http(&mut session, &mut self.dirs, ctx, client, &mut self.entries);
            return;
        }
        if d.buf.len() > ctx.cfg.max_stream_buffer {
            ctx.stats.stream_buffer_capped += 1;
            let lost = d.drop_buffered();
            session.parser.gap(dir, lost, &mut session.scratch);
            Self::deliver(session, d, ctx, dir, client, &mut self.entries, false);
        }
    }

    /// Turn the messages the parser produced into entries.
    fn deliver(
        session: &mut HttpSession,
        d: &mut DirStream,
        ctx: &mut Ctx<'_>,
        dir: Direction,
        client: Option<Side>,
        entries: &mut u64,
        closing: bool,
    ) {
        let mut msgs = std::mem::take(&mut session.scratch);
        for msg in msgs.drain(..) {
            let start = msg.start();
            let end = msg.end().max(start + 1);
            let here = FrameMark {
                offset: start,
                frame: ctx.frame,
                ts_ns: ctx.ts_ns,
            };
            let first = d.frame_of(start).unwrap_or(here);
            // A message delimited by the close completes with the frame that closed it;
            // one cut by the close ends with the last frame that carried its bytes.
            let delimited_by_close = closing && msg_complete(&msg);
            let last = if delimited_by_close {
                here
            } else {
                d.frame_of(end - 1).unwrap_or(here)
            };
            let max_pending = ctx.cfg.max_pending_requests;
            let mut capped = 0;
            session.on_message(msg, first, last, max_pending, &mut capped, &mut |p| {
                emit_http(ctx, client, entries, p)
            });
            ctx.stats.pending_capped += capped;
        }
        session.scratch = msgs;
        d.prune(session.parser.low_water(dir));
    }

    fn on_gap(&mut self, ctx: &mut Ctx<'_>, side: Side, offset: u64, len: u64) {
        self.counts.gaps += 1;
        let dir = self.dir_of(side);
        match &mut self.app {
            App::Http(session) => {
                let d = &mut self.dirs[side.index()];
                let lost = d.drop_buffered();
                d.base = offset + len;
                session.parser.gap(dir, lost + len, &mut session.scratch);
                Self::deliver(session, d, ctx, dir, self.client, &mut self.entries, false);
            }
            App::Probing => {
                // Probe again from after the hole.
                let d = &mut self.dirs[side.index()];
                d.buf.clear();
                d.base = offset + len;
            }
            App::Opaque(_) | App::Done(_) => {}
        }
    }

    fn on_end(&mut self, ctx: &mut Ctx<'_>, side: Side) {
        let dir = self.dir_of(side);
        if let App::Http(session) = &mut self.app {
            let d = &mut self.dirs[side.index()];
            if d.ended {
                return;
            }
            // Whatever is buffered is all there will be.
            if !d.buf.is_empty() {
                let _ = session.parser.parse(dir, &d.buf, &mut session.scratch);
                Self::deliver(session, d, ctx, dir, self.client, &mut self.entries, false);
            }
            session.parser.end(dir, &mut session.scratch);
            Self::deliver(session, d, ctx, dir, self.client, &mut self.entries, true);
            d.ended = true;
            if self.dirs.iter().all(|d| d.ended) {
                self.close_app(ctx);
            }
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
        if let App::Http(session) = &mut self.app {
            Self::finish_http(session, &mut self.dirs, ctx, self.client, &mut self.entries);
            self.app = App::Done("http");
            self.dirs = Default::default();
        }
    }

    fn finish_http(
        session: &mut HttpSession,
        dirs: &mut [DirStream; 2],
        ctx: &mut Ctx<'_>,
        client: Option<Side>,
        entries: &mut u64,
    ) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let side = side_for(client, dir);
            let d = &mut dirs[side.index()];
            if !d.ended && session.parser.handoff().is_none() {
                session.parser.end(dir, &mut session.scratch);
                d.ended = true;
            }
            Self::deliver(session, d, ctx, dir, client, entries, true);
        }
        session.drain_unanswered(&mut |p| emit_http(ctx, client, entries, p));
        crate::stats::add_http(&mut ctx.stats.http, &session.parser.counters());
    }

    /// The flow is over: flush the parser, emit what is left, and the flow record.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        let proto = match &mut self.app {
            App::Http(session) => {
                Self::finish_http(session, &mut self.dirs, ctx, self.client, &mut self.entries);
                "http"
            }
            App::Done(p) => p,
            App::Opaque(p) if *p != Protocol::Tcp => p.name(),
            _ => ctx.transport,
        };
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

/// The side sending `dir`; until the client is known, side A is taken as the client.
fn side_for(client: Option<Side>, dir: Direction) -> Side {
    let client = client.unwrap_or(Side::A);
    match dir {
        Direction::ToServer => client,
        Direction::ToClient => client.other(),
    }
}

fn msg_complete(m: &ks_proto_http::Message) -> bool {
    match m {
        ks_proto_http::Message::Request(r) => r.complete,
        ks_proto_http::Message::Response(r) => r.complete,
    }
}

/// Call the parser until it stops making progress on `input`; returns bytes consumed.
fn run_parser(
    session: &mut HttpSession,
    d: &mut DirStream,
    ctx: &mut Ctx<'_>,
    dir: Direction,
    client: Option<Side>,
    entries: &mut u64,
    input: &[u8],
) -> usize {
    let mut pos = 0;
    let mut errors_in_a_row = 0;
    while pos < input.len() {
        match session
            .parser
            .parse(dir, &input[pos..], &mut session.scratch)
        {
            Ok(p) => {
                errors_in_a_row = 0;
                d.needed = p.needed;
                pos += p.consumed.min(input.len() - pos);
                Conn::deliver(session, d, ctx, dir, client, entries, false);
                if p.consumed == 0 {
                    break;
                }
            }
            Err(_) => {
                // The parser is now resynchronising; calling again lets it skip ahead.
                ctx.stats.parse_errors += 1;
                errors_in_a_row += 1;
                Conn::deliver(session, d, ctx, dir, client, entries, false);
                if errors_in_a_row > 2 {
                    break;
                }
            }
        }
        if session.parser.handoff().is_some() {
            break;
        }
    }
    pos
}

fn emit_http(ctx: &mut Ctx<'_>, client: Option<Side>, entries: &mut u64, p: http::Paired) {
    let (req, resp, interim) = p;
    let Some(parts) = http::build(req, resp, interim, ctx.cfg.max_body_shown) else {
        return;
    };
    let (src, dst) = match client.unwrap_or(Side::A) {
        Side::A => (ctx.a, ctx.b),
        Side::B => (ctx.b, ctx.a),
    };
    let n = *entries;
    *entries += 1;
    *ctx.stats.entries.entry("http").or_default() += 1;
    if let Some(e) = &parts.error {
        *ctx.stats.entry_errors.entry(e.kind.clone()).or_default() += 1;
    }
    ctx.out.push_back((
        ctx.seq,
        Output::Entry(Box::new(Entry {
            id: format!("{}-{}", ctx.stream, n),
            protocol: "http",
            version: parts.version,
            transport: ctx.transport,
            stream: ctx.stream,
            src: src.into(),
            dst: dst.into(),
            timestamp: crate::entry::rfc3339_us(parts.first.ts_ns),
            ts_ns: parts.first.ts_ns,
            elapsed_us: parts.elapsed_us,
            frames: parts.frames,
            request: parts.request,
            response: parts.response,
            summary: parts.summary,
            error: parts.error,
        })),
    ));
}
