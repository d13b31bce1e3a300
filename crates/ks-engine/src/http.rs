//! HTTP/1 sessions: pairing parsed messages into entries.
//!
//! HTTP/1 has no session id, so requests and responses pair in order on a
//! connection (pipelining included); interim `1xx` responses attach to the
//! final response that follows them.

use crate::entry::{BodyData, EntryError, HttpRequest, HttpResponse, Interim, Request, Response};
use crate::stream::FrameMark;
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

/// The body an entry shows: the parser's kept bytes (moved, not copied), cut at
/// `max` without splitting a UTF-8 sequence; plus its encoding and whether it is cut.
fn render_body(body: &mut Body, max: usize) -> (Option<BodyData>, bool) {
    let mut data = std::mem::take(&mut body.data);
    if data.is_empty() {
        return (None, body.size > 0);
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
    let cut = (data.len() as u64) < body.size;
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
}

pub(crate) fn build(
    req: Option<Framed<ks_proto_http::Request>>,
    resp: Option<Framed<ks_proto_http::Response>>,
    interim: Vec<Interim>,
    max_body: usize,
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
    let request = req.map(|f| {
        frames.request = Some([f.first.frame, f.last.frame]);
        let mut r = f.msg;
        incomplete |= !r.complete;
        gap |= r.body.gap;
        summary.push_str(&r.method);
        summary.push(' ');
        summary.push_str(&r.target);
        version.clone_from(&r.version);
        let (body, body_truncated) = render_body(&mut r.body, max_body);
        Request::Http(HttpRequest {
            method: r.method,
            path: r.target,
            version: r.version,
            headers: r.headers,
            body_size: r.body.size,
            body,
            body_truncated,
        })
    });
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
        let (body, body_truncated) = render_body(&mut r.body, max_body);
        Response::Http(HttpResponse {
            status: r.status,
            reason: r.reason,
            version: r.version,
            headers: r.headers,
            body_size: r.body.size,
            body,
            body_truncated,
            interim,
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
