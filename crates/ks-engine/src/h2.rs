//! HTTP/2 connections: one entry per stream, as `http2`, `grpc` (by content type)
//! or `graphql` (by body). The parser pairs the halves of a stream itself (the
//! stream id is the session id); this side maps offsets back to frames and
//! builds the entry.

use crate::drive::{Io, NewEntry, Session};
use crate::entry::{
    EntryError, Frames, GrpcRequest, GrpcResponse, HttpRequest, HttpResponse, Request, Response,
};
use crate::graphql;
use crate::http::render_bytes;
use crate::stream::FrameMark;
use ks_proto::{Direction, StreamParser};
use ks_proto_http2::{ErrorSource, Half, Http2Parser, Message, Stream};

pub(crate) struct H2Session {
    pub parser: Http2Parser,
    pub scratch: Vec<Message>,
}

impl H2Session {
    pub fn new(parser: Http2Parser) -> Self {
        H2Session {
            parser,
            scratch: Vec::new(),
        }
    }
}

impl Session for H2Session {
    type P = Http2Parser;

    fn parts(&mut self) -> (&mut Http2Parser, &mut Vec<Message>) {
        (&mut self.parser, &mut self.scratch)
    }

    fn parser(&self) -> &Http2Parser {
        &self.parser
    }

    fn deliver(&mut self, io: &mut Io<'_, '_>, _dir: Direction, _closing: bool) {
        if self.scratch.is_empty() {
            return;
        }
        let mut msgs = std::mem::take(&mut self.scratch);
        for msg in msgs.drain(..) {
            match msg {
                Message::Stream(s) => emit(io, *s),
                Message::Event(e) => io.event(e.kind),
            }
        }
        self.scratch = msgs;
        for dir in [Direction::ToServer, Direction::ToClient] {
            let lw = self.parser.low_water(dir);
            io.dir(dir).prune(lw);
        }
    }

    fn close(&mut self, io: &mut Io<'_, '_>) {
        let c = self.parser.counters();
        let s = &mut io.ctx.stats.http2;
        s.frames += c.frames;
        s.streams += c.streams;
        s.hpack_lost += c.hpack_lost;
        s.resyncs += c.resyncs;
    }
}

/// First and last frames of a half that went in `dir`.
fn span(io: &Io<'_, '_>, dir: Direction, h: &Half) -> (FrameMark, FrameMark) {
    let first = io.frame_of(dir, h.start);
    let last = io.frame_of(dir, h.end.max(h.start + 1) - 1);
    (first, last)
}

fn emit(io: &mut Io<'_, '_>, mut s: Stream) {
    let cfg = io.ctx.cfg;
    let tunnel = websocket_tunnel(&s);
    for h in [&mut s.request, &mut s.response].into_iter().flatten() {
        decode_content(h, cfg);
    }
    // A pushed stream's "request" is the PUSH_PROMISE, which the server sent.
    let req_dir = if s.pushed {
        Direction::ToClient
    } else {
        Direction::ToServer
    };
    let mut frames = Frames::default();
    let req_span = s.request.as_ref().map(|h| span(io, req_dir, h));
    let resp_span = s
        .response
        .as_ref()
        .map(|h| span(io, Direction::ToClient, h));
    if let Some((a, b)) = req_span {
        frames.request = Some([a.frame, b.frame]);
    }
    if let Some((a, b)) = resp_span {
        frames.response = Some([a.frame, b.frame]);
    }
    let Some(first) = req_span.or(resp_span).map(|(a, _)| a) else {
        return;
    };
    let elapsed_us = match (req_span, resp_span) {
        (Some((a, _)), Some((_, b))) => Some(b.ts_ns.saturating_sub(a.ts_ns) / 1000),
        _ => None,
    };
    let ct = |h: &Option<Half>| {
        h.as_ref()
            .and_then(|h| h.header("content-type"))
            .is_some_and(ks_proto_grpc::is_grpc_content_type)
    };
    let is_grpc = ct(&s.request) || ct(&s.response);
    // Messages are framed now; their fields are decoded only when asked or printed
    // (from the body the entry keeps), unless the body shown is shorter than the kept one.
    let lazy = cfg.grpc.decode_fields && cfg.max_body_shown >= cfg.http2.max_body_kept;
    let framing = ks_proto_grpc::GrpcConfig {
        decode_fields: cfg.grpc.decode_fields && !lazy,
        ..cfg.grpc.clone()
    };
    let decode = lazy.then(|| cfg.grpc.clone());
    let error = stream_error(&s);

    let mut summary = String::new();
    let mut gql = None;
    let mut path = String::new();
    let request = s.request.map(|mut h| {
        let method = h.header(":method").unwrap_or("").to_string();
        path = h.header(":path").unwrap_or("").to_string();
        let grpc = if is_grpc {
            ks_proto_grpc::split_path(&path).map(|(service, method)| GrpcRequest {
                service: service.to_string(),
                method: method.to_string(),
                messages: ks_proto_grpc::parse_messages(
                    &h.body,
                    h.body_size,
                    h.header("grpc-encoding"),
                    &framing,
                ),
                decode: decode.clone(),
            })
        } else {
            gql = graphql::request_ops(
                &method,
                &path,
                h.header("content-type"),
                &h.body,
                h.body_size,
                &cfg.graphql,
            );
            None
        };
        summary = format!("{method} {path}");
        let (body, body_truncated) =
            render_bytes(std::mem::take(&mut h.body), h.body_size, cfg.max_body_shown);
        Request::Http(HttpRequest {
            authority: h.header(":authority").map(str::to_string),
            scheme: h.header(":scheme").map(str::to_string),
            method,
            path: path.clone(),
            version: "2".into(),
            headers: h.headers,
            body_size: h.body_size,
            body,
            body_truncated,
            grpc,
            graphql: None,
        })
    });
    let mut results = None;
    let mut grpc_summary = None;
    let response = s.response.map(|mut h| {
        let status = h
            .header(":status")
            .and_then(|v| v.parse::<u16>().ok())
            .unwrap_or(0);
        let grpc = is_grpc.then(|| {
            // Trailers, or the headers of a trailers-only response.
            let (code, message) = match ks_proto_grpc::status(&h.trailers) {
                (None, None) => ks_proto_grpc::status(&h.headers),
                found => found,
            };
            GrpcResponse {
                status: code,
                status_name: code.map(ks_proto_grpc::status_name),
                message: message.filter(|m| !m.is_empty()),
                messages: ks_proto_grpc::parse_messages(
                    &h.body,
                    h.body_size,
                    h.header("grpc-encoding"),
                    &framing,
                ),
                decode: decode.clone(),
            }
        });
        if gql.is_some() {
            results = graphql::results(&h.body, h.body_size, &cfg.graphql);
        }
        if let Some(g) = &grpc {
            grpc_summary = Some((g.status, g.messages.count));
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(&status.to_string());
        let (body, body_truncated) =
            render_bytes(std::mem::take(&mut h.body), h.body_size, cfg.max_body_shown);
        Response::Http(HttpResponse {
            status,
            reason: String::new(),
            version: "2".into(),
            headers: h.headers,
            body_size: h.body_size,
            body,
            body_truncated,
            interim: Vec::new(),
            trailers: h.trailers,
            grpc,
            graphql: None,
        })
    });
    if is_grpc {
        let req_msgs = match &request {
            Some(Request::Http(r)) => r.grpc.as_ref().map_or(0, |g| g.messages.count),
            _ => 0,
        };
        let (code, resp_msgs) = grpc_summary.unwrap_or((None, 0));
        let status = code.map_or("-".to_string(), |c| c.to_string());
        summary = format!(
            "{path}  status {status}  {} msgs",
            req_msgs.saturating_add(resp_msgs)
        );
    }
    let entry = NewEntry {
        protocol: if is_grpc { "grpc" } else { "http2" },
        version: "2".into(),
        stream_id: Some(s.id),
        one_way: None,
        first,
        elapsed_us,
        frames,
        request,
        response,
        summary,
        error,
    };
    match gql {
        Some(ops) => graphql::emit_operations(io, entry, (ops, results)),
        None => io.emit(entry),
    }
    if let Some(t) = tunnel {
        let spans = [req_span, resp_span];
        websocket_messages(io, s.id, t, spans);
    }
}

/// The bodies of an RFC 8441 WebSocket (extended CONNECT with `:protocol: websocket`)
/// and the permessage-deflate it negotiated.
struct Tunnel {
    bodies: [Vec<u8>; 2],
    deflate: Option<ks_proto_websocket::Deflate>,
}

fn websocket_tunnel(s: &Stream) -> Option<Tunnel> {
    let req = s.request.as_ref()?;
    let ws = req.header(":method") == Some("CONNECT")
        && req
            .header(":protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
    if !ws {
        return None;
    }
    let resp = s.response.as_ref();
    Some(Tunnel {
        bodies: [
            req.body.clone(),
            resp.map(|h| h.body.clone()).unwrap_or_default(),
        ],
        deflate: resp
            .and_then(|h| h.header("sec-websocket-extensions"))
            .and_then(ks_proto_websocket::Deflate::from_extensions),
    })
}

/// WebSocket messages carried in the DATA of an HTTP/2 stream: each direction's
/// kept bytes parsed once the stream is over, as `websocket` entries with the
/// stream's id. The frames shown are those of the stream half that carried them.
fn websocket_messages(
    io: &mut Io<'_, '_>,
    id: u32,
    t: Tunnel,
    spans: [Option<(FrameMark, FrameMark)>; 2],
) {
    let mut parser =
        ks_proto_websocket::WsParser::new(io.ctx.cfg.websocket.clone(), t.deflate, [0, 0]);
    let mut out = Vec::new();
    for (dir, (body, span)) in [Direction::ToServer, Direction::ToClient]
        .into_iter()
        .zip(t.bodies.iter().zip(spans))
    {
        let Some((first, last)) = span else { continue };
        let mut pos = 0;
        let mut errors = 0;
        while pos < body.len() && errors < 3 {
            match parser.parse(dir, &body[pos..], &mut out) {
                Ok(p) if p.consumed == 0 => break,
                Ok(p) => pos += p.consumed.min(body.len() - pos),
                Err(_) => errors += 1,
            }
        }
        parser.end(dir, &mut out);
        for m in out.drain(..) {
            crate::ws::emit(io, m, first, last, Some(id));
        }
    }
}

/// Bodies are shown decoded per `content-encoding`, with their decoded size, as
/// HTTP/1 bodies are. Only a body whose every byte was kept is decoded; a cut one
/// is shown as sent.
fn decode_content(h: &mut Half, cfg: &crate::EngineConfig) {
    let Some(enc) = h.header("content-encoding") else {
        return;
    };
    let complete = h.end_stream && !h.body_gap && h.body.len() as u64 == h.body_size;
    if enc.trim().eq_ignore_ascii_case("identity") || !complete || h.body.is_empty() {
        return;
    }
    let b = ks_proto_http::decode_body(
        enc,
        &h.body,
        true,
        cfg.http.max_body_kept,
        cfg.http.max_decoded_bytes,
    );
    if b.decode_error.is_none() {
        h.body = b.data;
        h.body_size = b.size;
    }
}

/// Why a stream is not a clean exchange.
fn stream_error(s: &Stream) -> Option<EntryError> {
    let who = |d: Direction| match d {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    };
    // The stream was ended by a NO_ERROR reset after the response came.
    let reset_ok = s.error.as_ref().is_some_and(|e| e.code == 0) && s.response.is_some();
    if let Some(e) = &s.error {
        let (kind, frame) = match e.kind {
            ErrorSource::RstStream => ("rst-stream", "RST_STREAM"),
            ErrorSource::GoAway => ("goaway", "GOAWAY"),
        };
        // A NO_ERROR reset once the response is there is how servers end a stream
        // early (a response sent before the request ended, RFC 9113 8.1): not an error.
        if !(e.code == 0 && s.response.is_some()) {
            return Some(EntryError {
                kind: kind.into(),
                message: format!(
                    "{frame} {} ({}) from the {}",
                    e.name,
                    e.code,
                    who(e.sent_by)
                ),
            });
        }
    }
    let lost = |h: &Option<Half>| h.as_ref().is_some_and(|h| h.headers_lost);
    if lost(&s.request) || lost(&s.response) {
        return Some(EntryError {
            kind: "hpack-state-lost".into(),
            message: "header fields refer to HPACK state from before the capture or a gap; they are left out"
                .into(),
        });
    }
    match (&s.request, &s.response) {
        (None, _) => Some(EntryError {
            kind: "no-request".into(),
            message: "stream's request was not captured".into(),
        }),
        (_, None) => Some(EntryError {
            kind: "no-response".into(),
            message: "no response before the stream or connection ended".into(),
        }),
        (Some(q), Some(p)) if !reset_ok && (!q.end_stream || !p.end_stream) => Some(EntryError {
            kind: "incomplete".into(),
            message: "stream cut by a gap or the end of the capture".into(),
        }),
        (Some(q), Some(p)) if q.body_gap || p.body_gap => Some(EntryError {
            kind: "gap".into(),
            message: "bytes of a body were not captured".into(),
        }),
        _ => None,
    }
}
