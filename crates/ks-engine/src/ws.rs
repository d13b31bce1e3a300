//! WebSocket connections (after an HTTP/1.1 `101`): one entry per message, and,
//! when the handshake chose a GraphQL subprotocol (`graphql-transport-ws` or
//! `graphql-ws`), one `graphql` entry per operation, its messages paired by id.

use crate::drive::{Io, NewEntry, Session, Upgrade};
use crate::entry::{EntryError, Frames, Request, Response, WebSocketMessage};
use crate::http::render_bytes;
use crate::stream::FrameMark;
use ks_proto::{Direction, StreamParser};
use ks_proto_graphql::{Operation, ResultSummary};
use ks_proto_websocket::{Deflate, WsMessage, WsParser};
use std::collections::VecDeque;

/// Operations in flight per connection; past it the oldest is emitted unfinished.
const MAX_OPERATIONS: usize = 64;

pub(crate) struct WsSession {
    pub parser: WsParser,
    pub scratch: Vec<WsMessage>,
    /// Operations of a GraphQL subprotocol, when one was chosen.
    graphql: Option<VecDeque<GqlOp>>,
}

/// A GraphQL operation over WebSocket, waiting for its end.
struct GqlOp {
    id: String,
    op: Operation,
    first: FrameMark,
    last_request: FrameMark,
    last: Option<FrameMark>,
    results: u64,
    data_size: u64,
    errors: Vec<String>,
    errors_count: u64,
}

impl WsSession {
    /// The session after a `101`: permessage-deflate and the subprotocol come from the handshake.
    pub fn new(cfg: &crate::EngineConfig, upgrade: Option<&Upgrade>, start: [u64; 2]) -> Self {
        // Several `Sec-WebSocket-Extensions` lines are one comma-separated list.
        let extensions = upgrade.map(|u| {
            u.response_headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        let deflate = extensions
            .as_deref()
            .filter(|e| !e.is_empty())
            .and_then(Deflate::from_extensions);
        let graphql = upgrade
            .and_then(|u| u.response_header("sec-websocket-protocol"))
            .is_some_and(|p| {
                let p = p.trim();
                p.eq_ignore_ascii_case("graphql-transport-ws")
                    || p.eq_ignore_ascii_case("graphql-ws")
            })
            .then(VecDeque::new);
        WsSession {
            parser: WsParser::new(cfg.websocket.clone(), deflate, start),
            scratch: Vec::new(),
            graphql,
        }
    }
}

impl Session for WsSession {
    type P = WsParser;

    fn parts(&mut self) -> (&mut WsParser, &mut Vec<WsMessage>) {
        (&mut self.parser, &mut self.scratch)
    }

    fn parser(&self) -> &WsParser {
        &self.parser
    }

    fn deliver(&mut self, io: &mut Io<'_, '_>, dir: Direction, _closing: bool) {
        if !self.scratch.is_empty() {
            let mut msgs = std::mem::take(&mut self.scratch);
            for m in msgs.drain(..) {
                let first = io.frame_of(m.dir, m.start);
                let last = io.frame_of(m.dir, m.end.max(m.start + 1) - 1);
                if let Some(ops) = &mut self.graphql {
                    graphql_message(io, ops, &m, first, last);
                }
                emit(io, m, first, last, None);
            }
            self.scratch = msgs;
        }
        let lw = self.parser.low_water(dir);
        io.dir(dir).prune(lw);
    }

    fn close(&mut self, io: &mut Io<'_, '_>) {
        if let Some(ops) = &mut self.graphql {
            while let Some(op) = ops.pop_front() {
                emit_op(io, op, false);
            }
        }
        let c = self.parser.counters();
        let s = &mut io.ctx.stats.websocket;
        s.frames += c.frames;
        s.messages += c.messages;
        s.inflate_errors += c.inflate_errors;
        s.protocol_errors += c.protocol_errors;
        s.resyncs += c.resyncs;
    }
}

/// Emit one message; `stream_id`: the HTTP/2 stream that carries it (RFC 8441).
pub(crate) fn emit(
    io: &mut Io<'_, '_>,
    m: WsMessage,
    first: FrameMark,
    last: FrameMark,
    stream_id: Option<u32>,
) {
    let max = io.ctx.cfg.max_body_shown;
    let opcode = m.opcode.name();
    let (payload, payload_truncated) = render_bytes(m.payload, m.payload_size, max);
    let mut summary = format!("{} {} B", opcode, m.payload_size);
    if let Some(c) = &m.close {
        if let Some(code) = c.code {
            summary.push_str(&format!(" code {code}"));
        }
        if !c.reason.is_empty() {
            summary.push_str(&format!(" {:?}", c.reason));
        }
    } else if let Some(t) = payload.as_ref().and_then(|p| p.as_text()) {
        // A glimpse of text messages, as Kubeshark's list shows.
        let glimpse: String = t.chars().take(40).collect();
        summary.push_str(&format!("  {glimpse:?}"));
    }
    let error = m.error.as_ref().map(|e| EntryError {
        kind: if m.fin {
            "websocket".into()
        } else {
            "incomplete".into()
        },
        message: e.clone(),
    });
    let frames = Frames {
        request: Some([first.frame, last.frame]),
        response: None,
    };
    io.emit(NewEntry {
        protocol: "websocket",
        version: "13".into(),
        stream_id,
        one_way: Some(m.dir),
        first,
        elapsed_us: None,
        frames,
        request: Some(Request::WebSocket(WebSocketMessage {
            opcode,
            fin: m.fin,
            masked: m.masked,
            compressed: m.compressed,
            fragments: m.fragments,
            wire_size: m.wire_size,
            payload_size: m.payload_size,
            payload,
            payload_truncated: payload_truncated || m.truncated,
            close_code: m.close.as_ref().and_then(|c| c.code),
            close_reason: m
                .close
                .as_ref()
                .map(|c| c.reason.clone())
                .filter(|r| !r.is_empty()),
        })),
        response: None,
        summary,
        error,
    });
}

/// Follow GraphQL operations over the WebSocket: `subscribe`/`start` opens one,
/// `next`/`data` add results, `complete`/`stop`/`error` end it.
fn graphql_message(
    io: &mut Io<'_, '_>,
    ops: &mut VecDeque<GqlOp>,
    m: &WsMessage,
    first: FrameMark,
    last: FrameMark,
) {
    if m.opcode.name() != "text" || m.truncated {
        return;
    }
    let Some(g) = ks_proto_graphql::parse_ws_message(&m.payload, &io.ctx.cfg.graphql) else {
        return;
    };
    let Some(id) = g.id.clone() else { return };
    if g.starts() {
        if let Some(op) = g.operation {
            if ops.len() >= MAX_OPERATIONS {
                if let Some(old) = ops.pop_front() {
                    emit_op(io, old, false);
                }
            }
            ops.push_back(GqlOp {
                id,
                op,
                first,
                last_request: last,
                last: None,
                results: 0,
                data_size: 0,
                errors: Vec::new(),
                errors_count: 0,
            });
        }
        return;
    }
    let Some(i) = ops.iter().position(|o| o.id == id) else {
        return;
    };
    if let Some(r) = &g.result {
        let o = &mut ops[i];
        o.results += 1;
        o.data_size += r.data_size.unwrap_or(0);
        o.errors_count += r.errors_count;
        for e in &r.errors {
            if o.errors.len() < 16 {
                o.errors.push(e.clone());
            }
        }
        o.last = Some(last);
    }
    if g.ends() {
        if let Some(mut o) = ops.remove(i) {
            o.last = Some(last);
            emit_op(io, o, true);
        }
    }
}

fn emit_op(io: &mut Io<'_, '_>, o: GqlOp, ended: bool) {
    let mut frames = Frames {
        request: Some([o.first.frame, o.last_request.frame]),
        response: None,
    };
    if let Some(l) = o.last {
        frames.response = Some([l.frame, l.frame]);
    }
    let summary = format!(
        "{} {}  {} results",
        o.op.operation_type,
        o.op.operation_name.as_deref().unwrap_or("(anonymous)"),
        o.results
    );
    let result = ResultSummary {
        data_size: (o.results > 0).then_some(o.data_size),
        errors_count: o.errors_count,
        errors: o.errors,
    };
    let response = Response::Http(crate::entry::HttpResponse {
        status: 0,
        reason: String::new(),
        version: "13".into(),
        headers: Vec::new(),
        body_size: 0,
        body: None,
        body_truncated: false,
        interim: Vec::new(),
        trailers: Vec::new(),
        grpc: None,
        graphql: Some(result),
    });
    let request = Request::Http(crate::entry::HttpRequest {
        method: "SUBSCRIBE".into(),
        path: String::new(),
        version: "13".into(),
        authority: None,
        scheme: None,
        headers: Vec::new(),
        body_size: 0,
        body: None,
        body_truncated: false,
        grpc: None,
        graphql: Some(o.op),
    });
    io.emit(NewEntry {
        protocol: "graphql",
        version: "13".into(),
        stream_id: None,
        one_way: None,
        first: o.first,
        elapsed_us: o.last.map(|l| l.ts_ns.saturating_sub(o.first.ts_ns) / 1000),
        frames,
        request: Some(request),
        response: Some(response),
        summary,
        error: (!ended).then(|| EntryError {
            kind: "incomplete".into(),
            message: "the operation had not ended when the connection did".into(),
        }),
    });
}
