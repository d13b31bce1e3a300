//! HTTP/1 sessions: pairing parsed messages into entries.
//!
//! HTTP/1 has no session id, so requests and responses pair in order on a
//! connection (pipelining included); interim `1xx` responses attach to the
//! final response that follows them.

use crate::drive::{header, Io, NewEntry, Session, Upgrade};
use crate::entry::{BodyData, EntryError, HttpRequest, HttpResponse, Interim, Request, Response};
use crate::graphql;
use crate::stream::FrameMark;
use ks_proto::{Direction, StreamParser};
use ks_proto_http::{Body, Http1Parser, Message};
use std::collections::VecDeque;

/// A message with the frames that carried it.
pub(crate) struct Framed<T> {
    pub msg: T,
    pub first: FrameMark,
    pub last: FrameMark,
}

/// Interim responses kept per connection while the request is still being sent.
const MAX_INTERIM: usize = 16;

pub(crate) struct HttpSession {
    pub parser: Http1Parser,
    pub pending: VecDeque<Framed<ks_proto_http::Request>>,
    pub interim: Vec<Interim>,
    /// Scratch vector the parser pushes messages into (reused: no allocation per call).
    pub scratch: Vec<Message>,
}

impl HttpSession {
    pub fn new(parser: Http1Parser) -> Self {
        HttpSession {
            parser,
            pending: VecDeque::new(),
            interim: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

/// A finished exchange: request, response (either may be missing), interim responses.
pub(crate) type Paired = (
    Option<Framed<ks_proto_http::Request>>,
    Option<Framed<ks_proto_http::Response>>,
    Vec<Interim>,
);

impl HttpSession {
    /// Take one message; returns finished exchanges through `done`.
    /// `max_pending` caps requests waiting for a response (the oldest is flushed unanswered).
    pub fn on_message(
        &mut self,
        msg: Message,
        first: FrameMark,
        last: FrameMark,
        max_pending: usize,
        pending_capped: &mut u64,
        done: &mut impl FnMut(Paired),
    ) {
        match msg {
            Message::Request(r) => {
                if self.pending.len() >= max_pending {
                    *pending_capped += 1;
                    if let Some(old) = self.pending.pop_front() {
                        done((Some(old), None, Vec::new()));
                    }
                }
                self.pending.push_back(Framed {
                    msg: r,
                    first,
                    last,
                });
            }
            Message::Response(r) if r.interim => {
                if self.interim.len() < MAX_INTERIM {
                    self.interim.push(Interim {
                        version: r.version,
                        status: r.status,
                        reason: r.reason,
                        frame: last.frame,
                    });
                }
            }
            Message::Response(r) => {
                let req = self.pending.pop_front();
                let interim = std::mem::take(&mut self.interim);
                done((
                    req,
                    Some(Framed {
                        msg: r,
                        first,
                        last,
                    }),
                    interim,
                ));
            }
        }
    }

    /// The connection ended: every request still waiting becomes an entry.
    pub fn drain_unanswered(&mut self, done: &mut impl FnMut(Paired)) {
        while let Some(r) = self.pending.pop_front() {
            done((Some(r), None, Vec::new()));
        }
    }
}

impl Session for HttpSession {
    type P = Http1Parser;

    fn parts(&mut self) -> (&mut Http1Parser, &mut Vec<Message>) {
        (&mut self.parser, &mut self.scratch)
    }

    fn parser(&self) -> &Http1Parser {
        &self.parser
    }

    fn deliver(&mut self, io: &mut Io<'_, '_>, dir: Direction, closing: bool) {
        let mut msgs = std::mem::take(&mut self.scratch);
        for msg in msgs.drain(..) {
            let start = msg.start();
            let end = msg.end().max(start + 1);
            let here = io.here(start);
            let d = io.dir(dir);
            let first = d.frame_of(start).unwrap_or(here);
            // A message delimited by the close completes with the frame that closed it;
            // one cut by the close ends with the last frame that carried its bytes.
            let delimited_by_close = closing && msg_complete(&msg);
            let last = if delimited_by_close {
                here
            } else {
                d.frame_of(end - 1).unwrap_or(here)
            };
            let max_pending = io.ctx.cfg.max_pending_requests;
            let mut capped = 0;
            self.on_message(msg, first, last, max_pending, &mut capped, &mut |p| {
                emit(io, p)
            });
            io.ctx.stats.pending_capped += capped;
        }
        self.scratch = msgs;
        let lw = self.parser.low_water(dir);
        io.dir(dir).prune(lw);
    }

    fn close(&mut self, io: &mut Io<'_, '_>) {
        self.drain_unanswered(&mut |p| emit(io, p));
        crate::stats::add_http(&mut io.ctx.stats.http, &self.parser.counters());
    }
}

fn msg_complete(m: &Message) -> bool {
    match m {
        Message::Request(r) => r.complete,
        Message::Response(r) => r.complete,
    }
}

/// A `101` tells the next protocol what it needs (WebSocket extensions, the h2c request).
fn remember_upgrade(io: &mut Io<'_, '_>, p: &Paired) {
    let (Some(req), Some(resp)) = (&p.0, &p.1) else {
        return;
    };
    if resp.msg.status != 101 {
        return;
    }
    let r = &req.msg;
    *io.upgrade = Some(Box::new(Upgrade {
        method: r.method.clone(),
        path: r.target.clone(),
        request_headers: r.headers.clone(),
        request_start: r.start,
        request_end: r.end,
        request_body_size: r.body.size,
        response_headers: resp.msg.headers.clone(),
    }));
}

/// Emit one exchange: an `http` entry, or `graphql` entries (one per operation of a batch).
fn emit(io: &mut Io<'_, '_>, p: Paired) {
    remember_upgrade(io, &p);
    let cfg = io.ctx.cfg;
    let Some(parts) = build(p, cfg.max_body_shown, &cfg.graphql) else {
        return;
    };
    let HttpParts {
        version,
        request,
        response,
        summary,
        error,
        first,
        frames,
        elapsed_us,
        graphql: gql,
    } = parts;
    let entry = NewEntry {
        protocol: "http",
        version,
        stream_id: None,
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
        Some(found) => graphql::emit_operations(io, entry, found),
        None => io.emit(entry),
    }
}

/// The body an entry shows: the parser's kept bytes (moved, not copied), cut at
/// `max` without splitting a UTF-8 sequence; plus its encoding and whether it is cut.
fn render_body(body: &mut Body, max: usize) -> (Option<BodyData>, bool) {
    let data = std::mem::take(&mut body.data);
    render_bytes(data, body.size, max)
}

/// Body bytes (a prefix of a body of `size` bytes) as an entry shows them, cut at `max`.
pub(crate) fn render_bytes(mut data: Vec<u8>, size: u64, max: usize) -> (Option<BodyData>, bool) {
    if data.is_empty() {
        return (None, size > 0);
    }
    if data.len() > max {
        let mut cut = max;
        // Back up over UTF-8 continuation bytes so text stays text.
        while cut > 0 && cut > max.saturating_sub(3) && (data[cut] & 0xc0) == 0x80 {
            cut -= 1;
        }
        if (data[cut] & 0xc0) != 0x80 {
            data.truncate(cut);
        } else {
            data.truncate(max);
        }
    }
    let cut = (data.len() as u64) < size;
    (Some(BodyData::new(data)), cut)
}

/// The parts of an entry the HTTP side fills.
pub(crate) struct HttpParts {
    pub version: String,
    pub request: Option<Request>,
    pub response: Option<Response>,
    pub summary: String,
    pub error: Option<EntryError>,
    pub first: FrameMark,
    pub frames: crate::entry::Frames,
    pub elapsed_us: Option<u64>,
    /// GraphQL operations the request carries, and the results of the response.
    pub graphql: Option<graphql::Found>,
}

pub(crate) fn build(
    (req, resp, interim): Paired,
    max_body: usize,
    gql: &ks_proto_graphql::GraphqlConfig,
) -> Option<HttpParts> {
    let mut frames = crate::entry::Frames::default();
    let mut error = None;
    let mut summary = String::new();
    let mut version = String::new();
    let first = req
        .as_ref()
        .map(|r| r.first)
        .or(resp.as_ref().map(|r| r.first))?;
    let elapsed_us = match (&req, &resp) {
        (Some(q), Some(p)) => Some(p.last.ts_ns.saturating_sub(q.first.ts_ns) / 1000),
        _ => None,
    };
    let mut incomplete = false;
    let mut gap = false;
    let mut found = None;
    let request = req.map(|f| {
        frames.request = Some([f.first.frame, f.last.frame]);
        let mut r = f.msg;
        incomplete |= !r.complete;
        gap |= r.body.gap;
        summary.push_str(&r.method);
        summary.push(' ');
        summary.push_str(&r.target);
        version.clone_from(&r.version);
        found = graphql::request_ops(
            &r.method,
            &r.target,
            header(&r.headers, "content-type"),
            &r.body.data,
            r.body.size,
            gql,
        );
        let (body, body_truncated) = render_body(&mut r.body, max_body);
        Request::Http(HttpRequest {
            method: r.method,
            path: r.target,
            version: r.version,
            authority: None,
            scheme: None,
            headers: r.headers,
            body_size: r.body.size,
            body,
            body_truncated,
            grpc: None,
            graphql: None,
        })
    });
    let mut results = None;
    let response = resp.map(|f| {
        frames.response = Some([f.first.frame, f.last.frame]);
        let mut r = f.msg;
        incomplete |= !r.complete;
        gap |= r.body.gap;
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(&r.status.to_string());
        if request.is_none() {
            summary.push(' ');
            summary.push_str(&r.reason);
            version.clone_from(&r.version);
        }
        if found.is_some() {
            results = graphql::results(&r.body.data, r.body.size, gql);
        }
        let (body, body_truncated) = render_body(&mut r.body, max_body);
        let trailers = std::mem::take(&mut r.body.trailers);
        Response::Http(HttpResponse {
            status: r.status,
            reason: r.reason,
            version: r.version,
            headers: r.headers,
            body_size: r.body.size,
            body,
            body_truncated,
            interim,
            trailers,
            grpc: None,
            graphql: None,
        })
    });
    if request.is_none() {
        error = Some(EntryError {
            kind: "no-request".into(),
            message: "response without a request on this connection".into(),
        });
    } else if response.is_none() {
        error = Some(EntryError {
            kind: "no-response".into(),
            message: "no response before the connection ended".into(),
        });
    } else if incomplete {
        error = Some(EntryError {
            kind: "incomplete".into(),
            message: "message cut by a gap or the end of the capture".into(),
        });
    } else if gap {
        error = Some(EntryError {
            kind: "gap".into(),
            message: "bytes of a body were not captured".into(),
        });
    }
    Some(HttpParts {
        version,
        request,
        response,
        summary,
        error,
        first,
        frames,
        elapsed_us,
        graphql: found.map(|ops| (ops, results)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(data: &[u8], size: u64) -> Body {
        Body {
            data: data.to_vec(),
            size,
            ..Body::default()
        }
    }

    #[test]
    fn bodies_render_as_text_or_base64() {
        let show = |data: &[u8], size: u64, max: usize| {
            let (b, cut) = render_body(&mut body(data, size), max);
            let enc = b.as_ref().and_then(BodyData::encoding);
            (b.map(|b| serde_json::to_string(&b).unwrap()), enc, cut)
        };
        assert_eq!(
            show(b"hello\n", 6, 100),
            (Some("\"hello\\n\"".into()), None, false)
        );
        assert_eq!(
            show(&[0x1f, 0x8b, 0, 1], 4, 100),
            (Some("\"H4sAAQ==\"".into()), Some("base64"), false)
        );
        // Cut inside a multi-byte character: the text stops before it.
        assert_eq!(
            show("aé".as_bytes(), 3, 2),
            (Some("\"a\"".into()), None, true)
        );
        // Kept bytes shorter than the body: truncated.
        assert_eq!(show(b"abc", 10, 100), (Some("\"abc\"".into()), None, true));
    }
}
