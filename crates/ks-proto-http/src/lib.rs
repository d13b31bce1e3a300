//! HTTP/1.0 and HTTP/1.1 streaming parser implementing the ks parser contract.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_http::{Http1Parser, HttpConfig, Message};
//!
//! let mut p = Http1Parser::new(HttpConfig::default());
//! let mut out = Vec::new();
//! let req = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
//! let r = p.parse(Direction::ToServer, req, &mut out).unwrap();
//! assert_eq!(r.consumed, req.len());
//! let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
//! p.parse(Direction::ToClient, resp, &mut out).unwrap();
//! match &out[1] {
//!     Message::Response(r) => assert_eq!((r.status, &r.body.data[..]), (200, &b"hi"[..])),
//!     _ => unreachable!(),
//! }
//! ```
//!
//! Policies (framing, gaps, resynchronisation, decoding caps) are described in
//! `docs/http.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod head;

use std::collections::VecDeque;

use ks_proto::{
    Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict,
};

pub use body::decode_body;
use body::{BodyAcc, DecodeEvents};
use head::{
    classify_request_line, classify_status_line, find_head_end, resume_point, PROBE_WINDOW,
};
pub use head::{parse_request_head, parse_response_head, HeadError, RequestHead, ResponseHead};

/// Longest chunk-size line (size + extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;

/// Limits of the parser. Every buffer the parser owns is bounded by one of these.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest head (request/status line + headers); larger → error + resync.
    pub max_header_bytes: usize,
    /// Most headers in one head; more → error + resync.
    pub max_headers: usize,
    /// Bytes of (decoded) body kept in a message.
    pub max_body_kept: usize,
    /// Decompression stops past this many decoded bytes (bomb guard).
    pub max_decoded_bytes: u64,
    /// Requests awaiting responses remembered for response framing.
    pub max_pipeline: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_header_bytes: 64 * 1024,
            max_headers: 256,
            max_body_kept: 64 * 1024,
            max_decoded_bytes: 64 * 1024 * 1024,
            max_pipeline: 64,
        }
    }
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpCounters {
    /// Requests emitted.
    pub requests: u64,
    /// Responses emitted (interim ones included).
    pub responses: u64,
    /// Parse errors returned.
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation (after an error or a gap).
    pub resyncs: u64,
    /// Bodies whose decoding stopped at `max_decoded_bytes`.
    pub decompress_capped: u64,
    /// Bodies whose decoding failed.
    pub decompress_errors: u64,
    /// Requests not remembered because `max_pipeline` were already pending.
    pub pipeline_capped: u64,
    /// Heads rejected for size or header count.
    pub headers_capped: u64,
}

/// A parsed HTTP message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request (client to server).
    Request(Request),
    /// A response (server to client).
    Response(Response),
}

impl Message {
    /// Absolute stream offset of the first byte of the message.
    pub fn start(&self) -> u64 {
        match self {
            Message::Request(r) => r.start,
            Message::Response(r) => r.start,
        }
    }
    /// Absolute stream offset one past the last byte of the message.
    pub fn end(&self) -> u64 {
        match self {
            Message::Request(r) => r.end,
            Message::Response(r) => r.end,
        }
    }
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Method token.
    pub method: String,
    /// Request-target as sent.
    pub target: String,
    /// `"1.0"` or `"1.1"`.
    pub version: String,
    /// Headers in wire order, duplicates kept, values as lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset one past the last byte.
    pub end: u64,
    /// False if cut by the end of the stream or a gap.
    pub complete: bool,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `"1.0"` or `"1.1"`.
    pub version: String,
    /// Headers in wire order, duplicates kept, values as lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset one past the last byte.
    pub end: u64,
    /// False if cut by the end of the stream or a gap.
    pub complete: bool,
    /// A 1xx response other than 101: the request is still awaiting its answer.
    pub interim: bool,
}

/// A message body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    /// Size after de-chunking and decoding, also beyond what is kept (decoding
    /// stops at `max_decoded_bytes`).
    pub size: u64,
    /// Bytes on the wire after de-chunking (missing bytes included).
    pub wire_size: u64,
    /// The first `max_body_kept` decoded bytes.
    pub data: Vec<u8>,
    /// `data` is shorter than `size`.
    pub truncated: bool,
    /// Sent with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Content-Encoding`, lower-cased, when present.
    pub encoding: Option<String>,
    /// Why decoding stopped, if it did.
    pub decode_error: Option<String>,
    /// Chunked trailers.
    pub trailers: Vec<(String, String)>,
    /// Bytes are missing inside the body (capture gap).
    pub gap: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReqKind {
    Head,
    Connect,
    Other,
}

#[derive(Clone, Copy)]
struct Pending {
    kind: ReqKind,
    /// The request asked for a protocol switch (CONNECT or Upgrade); the client
    /// direction is paused until its response says whether it happened.
    switch: bool,
}

enum Framing {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers { scan: usize },
}

enum Partial {
    Req(Request),
    Resp(Response),
}

struct InBody {
    msg: Partial,
    framing: Framing,
    acc: BodyAcc,
    /// Pause the direction once this message is complete (CONNECT / Upgrade request).
    block_after: bool,
}

enum Mode {
    /// Between messages.
    Idle,
    /// Skipping to a plausible message start; `line_start` says whether the first
    /// byte of the next data may itself be one.
    Resync {
        line_start: bool,
    },
    Body(Box<InBody>),
    /// Client direction waiting for the answer to a CONNECT / Upgrade request.
    Blocked,
}

struct DirState {
    /// Absolute offset of the first byte of the next `data`.
    offset: u64,
    mode: Mode,
    /// Bytes of the pending head already searched for its end.
    head_scan: usize,
    /// An error found mid-call, reported by the next call (at its first byte).
    pending_err: Option<ParseError>,
}

impl DirState {
    fn new() -> Self {
        DirState {
            offset: 0,
            mode: Mode::Idle,
            head_scan: 0,
            pending_err: None,
        }
    }
}

/// HTTP/1.x parser for one connection (both directions).
pub struct Http1Parser {
    cfg: HttpConfig,
    counters: HttpCounters,
    dirs: [DirState; 2],
    pending: VecDeque<Pending>,
    /// A switch request is awaiting its response.
    switch_wait: bool,
    handoff: Option<Protocol>,
}

enum Step {
    Continue,
    Wait(usize),
    Error(ParseError),
}

fn version_str(minor: u8) -> String {
    format!("1.{minor}")
}

fn owned_headers(hs: &[(&str, &[u8])]) -> Vec<(String, String)> {
    hs.iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn header_values<'a>(
    hs: &'a [(&str, &'a [u8])],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    hs.iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty())
}

/// Content-Length from all its headers: `Ok(None)` if absent.
fn content_length(hs: &[(&str, &[u8])]) -> Result<Option<u64>, &'static str> {
    let mut found: Option<u64> = None;
    for v in header_values(hs, "content-length") {
        let mut any = false;
        for item in v.split(|&b| b == b',').map(|s| s.trim_ascii()) {
            any = true;
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err("bad-content-length");
            }
            let n = std::str::from_utf8(item)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or("bad-content-length")?;
            match found {
                Some(f) if f != n => return Err("conflicting-content-length"),
                _ => found = Some(n),
            }
        }
        if !any {
            return Err("bad-content-length");
        }
    }
    Ok(found)
}

/// `Some(true)` chunked, `Some(false)` other codings, `None` no Transfer-Encoding.
fn transfer_chunked(hs: &[(&str, &[u8])]) -> Option<bool> {
    let mut last: Option<&[u8]> = None;
    let mut present = false;
    for v in header_values(hs, "transfer-encoding") {
        present = true;
        if let Some(item) = list_items(v).last() {
            last = Some(item);
        }
    }
    present.then(|| last.is_some_and(|l| l.eq_ignore_ascii_case(b"chunked")))
}

fn content_encoding(hs: &[(&str, &[u8])]) -> Option<String> {
    let items: Vec<String> = header_values(hs, "content-encoding")
        .flat_map(list_items)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    (!items.is_empty()).then(|| items.join(", "))
}

fn upgrade_protocol(hs: &[(&str, &[u8])]) -> Option<Protocol> {
    let mut any = false;
    for v in header_values(hs, "upgrade") {
        for item in list_items(v) {
            any = true;
            let name = item.split(|&b| b == b'/').next().unwrap_or_default();
            if name.eq_ignore_ascii_case(b"websocket") {
                return Some(Protocol::WebSocket);
            }
            if name.eq_ignore_ascii_case(b"h2c") {
                return Some(Protocol::Http2);
            }
        }
    }
    any.then_some(Protocol::Tcp)
}

impl Http1Parser {
    /// A parser for one connection.
    pub fn new(cfg: HttpConfig) -> Self {
        Http1Parser {
            cfg,
            counters: HttpCounters::default(),
            dirs: [DirState::new(), DirState::new()],
            pending: VecDeque::new(),
            switch_wait: false,
            handoff: None,
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> HttpCounters {
        self.counters
    }

    fn apply_events(&mut self, ev: &DecodeEvents) {
        if ev.capped {
            self.counters.decompress_capped += 1;
        }
        if ev.error {
            self.counters.decompress_errors += 1;
        }
    }

    /// Finishes a message and pushes it.
    fn emit(&mut self, b: InBody, end: u64, complete: bool, out: &mut Vec<Message>) {
        let mut ev = DecodeEvents::default();
        let body = b.acc.finish(complete, &mut ev);
        self.apply_events(&ev);
        out.push(match b.msg {
            Partial::Req(mut r) => {
                self.counters.requests += 1;
                r.body = body;
                r.end = end;
                r.complete = complete;
                Message::Request(r)
            }
            Partial::Resp(mut r) => {
                self.counters.responses += 1;
                r.body = body;
                r.end = end;
                r.complete = complete;
                Message::Response(r)
            }
        });
    }

    fn after_message(&mut self, d: usize, block: bool) {
        self.dirs[d].mode = if block { Mode::Blocked } else { Mode::Idle };
    }

    fn body_acc(&self, hs: &[(&str, &[u8])], chunked: bool) -> BodyAcc {
        BodyAcc::new(
            content_encoding(hs),
            chunked,
            self.cfg.max_body_kept,
            self.cfg.max_decoded_bytes,
        )
    }

    fn error(&mut self, d: usize, kind: &'static str, message: String, offset: u64) -> Step {
        self.counters.parse_errors += 1;
        self.counters.resyncs += 1;
        self.dirs[d].mode = Mode::Resync { line_start: false };
        self.dirs[d].head_scan = 0;
        Step::Error(ParseError {
            kind,
            message,
            offset,
        })
    }

    /// Skips to the next plausible message start in `data[*pos..]`.
    fn resync(&mut self, dir: Direction, data: &[u8], pos: &mut usize, line_start: bool) -> Step {
        let d = dir.index();
        let check = |s: &[u8]| match dir {
            Direction::ToServer => classify_request_line(s),
            Direction::ToClient => classify_status_line(s),
        };
        let start = *pos;
        let mut cands = std::iter::once(start)
            .filter(|_| line_start)
            .chain(memchr::memchr_iter(b'\n', &data[start..]).map(|i| start + i + 1));
        loop {
            let Some(c) = cands.next() else {
                self.dirs[d].mode = Mode::Resync {
                    line_start: data.last() == Some(&b'\n'),
                };
                *pos = data.len();
                return Step::Wait(0);
            };
            if c >= data.len() {
                self.dirs[d].mode = Mode::Resync { line_start: true };
                *pos = data.len();
                return Step::Wait(0);
            }
            match check(&data[c..]) {
                Verdict::Certain => {
                    *pos = c;
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                Verdict::Unsure if data.len() - c >= PROBE_WINDOW => {
                    *pos = c;
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                Verdict::Unsure => {
                    *pos = c;
                    self.dirs[d].mode = Mode::Resync { line_start: true };
                    return Step::Wait(1);
                }
                Verdict::NotMine => {}
            }
        }
    }

    /// Parses a head at `data[*pos..]` (leading empty lines already skipped).
    fn head(
        &mut self,
        dir: Direction,
        data: &[u8],
        pos: &mut usize,
        base: u64,
        out: &mut Vec<Message>,
    ) -> Step {
        let d = dir.index();
        let rest = &data[*pos..];
        let abs = base + *pos as u64;
        let first = match dir {
            Direction::ToServer => classify_request_line(rest),
            Direction::ToClient => classify_status_line(rest),
        };
        let lenient = dir == Direction::ToServer && head::is_lenient_request_line(rest);
        if first == Verdict::NotMine
            && !lenient
            && dir == Direction::ToServer
            && head::may_become_lenient_request_line(rest)
        {
            // Not a strict request line, but the line is not over yet.
            return Step::Wait(1);
        }
        if first == Verdict::NotMine && !lenient {
            let (kind, what) = match dir {
                Direction::ToServer => ("bad-request-line", "request line"),
                Direction::ToClient => ("bad-status-line", "status line"),
            };
            return self.error(
                d,
                kind,
                format!("bytes do not start an HTTP/1.x {what}"),
                abs,
            );
        }
        let max = self.cfg.max_header_bytes;
        let end = match find_head_end(rest, self.dirs[d].head_scan, max) {
            Some(e) if e <= max => e,
            Some(_) => {
                self.counters.headers_capped += 1;
                return self.error(
                    d,
                    "head-too-large",
                    format!("head larger than {max} bytes"),
                    abs,
                );
            }
            None if rest.len() > max => {
                self.counters.headers_capped += 1;
                return self.error(
                    d,
                    "head-too-large",
                    format!("head larger than {max} bytes"),
                    abs,
                );
            }
            None => {
                self.dirs[d].head_scan = resume_point(rest.len());
                return Step::Wait(1);
            }
        };
        self.dirs[d].head_scan = 0;
        let head_bytes = &rest[..end];
        match dir {
            Direction::ToServer => self.request_head(head_bytes, pos, abs, out),
            Direction::ToClient => self.response_head(head_bytes, pos, abs, out),
        }
    }

    fn head_error(&mut self, d: usize, e: HeadError, abs: u64) -> Step {
        let kind = match e {
            HeadError::TooManyHeaders(_) => {
                self.counters.headers_capped += 1;
                "too-many-headers"
            }
            HeadError::TooLarge(_) => {
                self.counters.headers_capped += 1;
                "head-too-large"
            }
            HeadError::Syntax(_) if d == 0 => "bad-request-head",
            HeadError::Syntax(_) => "bad-response-head",
        };
        self.error(d, kind, e.to_string(), abs)
    }

    fn request_head(
        &mut self,
        hb: &[u8],
        pos: &mut usize,
        abs: u64,
        out: &mut Vec<Message>,
    ) -> Step {
        let h = match head::parse_request_exact(hb, self.cfg.max_headers) {
            Ok(h) => h,
            Err(e) => return self.head_error(0, e, abs),
        };
        let (framing, chunked) = match transfer_chunked(&h.headers) {
            Some(true) => (Framing::Chunked(Chunk::Size), true),
            // RFC 9112 §6.3: the length cannot be known and the server must answer
            // 400 and close, so no body is assumed (as tshark does) rather than
            // losing the request.
            Some(false) => (Framing::Length(0), false),
            None => match content_length(&h.headers) {
                Ok(n) => (Framing::Length(n.unwrap_or(0)), false),
                Err(kind) => return self.error(0, kind, "invalid Content-Length".into(), abs),
            },
        };
        let kind = match h.method {
            "HEAD" => ReqKind::Head,
            "CONNECT" => ReqKind::Connect,
            _ => ReqKind::Other,
        };
        let switch = kind == ReqKind::Connect || upgrade_protocol(&h.headers).is_some();
        if self.pending.len() >= self.cfg.max_pipeline {
            // Keep the oldest: they are the ones the next responses answer.
            self.counters.pipeline_capped += 1;
        } else {
            self.pending.push_back(Pending { kind, switch });
        }
        if switch {
            self.switch_wait = true;
        }
        let acc = self.body_acc(&h.headers, chunked);
        let msg = Partial::Req(Request {
            method: h.method.to_string(),
            target: h.target.to_string(),
            version: h
                .version_text
                .strip_prefix("HTTP/")
                .unwrap_or(h.version_text)
                .to_string(),
            headers: owned_headers(&h.headers),
            body: Body::default(),
            start: abs,
            end: abs,
            complete: false,
        });
        *pos += hb.len();
        self.start_body(
            0,
            InBody {
                msg,
                framing,
                acc,
                block_after: switch,
            },
            abs + hb.len() as u64,
            out,
        );
        Step::Continue
    }

    fn start_body(&mut self, d: usize, b: InBody, end: u64, out: &mut Vec<Message>) {
        if matches!(b.framing, Framing::Length(0)) {
            let block = b.block_after;
            self.emit(b, end, true, out);
            self.after_message(d, block);
        } else {
            self.dirs[d].mode = Mode::Body(Box::new(b));
        }
    }

    fn response_head(
        &mut self,
        hb: &[u8],
        pos: &mut usize,
        abs: u64,
        out: &mut Vec<Message>,
    ) -> Step {
        let h = match head::parse_response_exact(hb, self.cfg.max_headers) {
            Ok(h) => h,
            Err(e) => return self.head_error(1, e, abs),
        };
        let end = abs + hb.len() as u64;
        let interim = (100..200).contains(&h.status) && h.status != 101;
        let mut resp = Response {
            status: h.status,
            reason: h.reason.to_string(),
            version: version_str(h.version),
            headers: owned_headers(&h.headers),
            body: Body::default(),
            start: abs,
            end,
            complete: true,
            interim,
        };
        if interim {
            *pos += hb.len();
            self.counters.responses += 1;
            out.push(Message::Response(resp));
            return Step::Continue;
        }
        let req = self.pending.front().copied();
        let kind = req.map_or(ReqKind::Other, |p| p.kind);
        let switched = if h.status == 101 {
            Some(upgrade_protocol(&h.headers).unwrap_or(Protocol::Tcp))
        } else if kind == ReqKind::Connect && (200..300).contains(&h.status) {
            Some(Protocol::Tcp)
        } else {
            None
        };
        let no_body =
            switched.is_some() || kind == ReqKind::Head || h.status == 204 || h.status == 304;
        let (framing, chunked) = if no_body {
            (Framing::Length(0), false)
        } else {
            match transfer_chunked(&h.headers) {
                Some(true) => (Framing::Chunked(Chunk::Size), true),
                Some(false) => (Framing::UntilClose, false),
                None => match content_length(&h.headers) {
                    Ok(Some(n)) => (Framing::Length(n), false),
                    Ok(None) => (Framing::UntilClose, false),
                    Err(kind) => return self.error(1, kind, "invalid Content-Length".into(), abs),
                },
            }
        };
        self.pending.pop_front();
        if req.is_some_and(|p| p.switch) || switched.is_some() {
            self.switch_wait = false;
        }
        *pos += hb.len();
        if switched.is_some() {
            self.counters.responses += 1;
            resp.body.encoding = content_encoding(&h.headers);
            out.push(Message::Response(resp));
            self.handoff = switched;
            self.dirs[1].mode = Mode::Idle;
            return Step::Continue;
        }
        let acc = self.body_acc(&h.headers, chunked);
        resp.complete = false;
        self.start_body(
            1,
            InBody {
                msg: Partial::Resp(resp),
                framing,
                acc,
                block_after: false,
            },
            end,
            out,
        );
        Step::Continue
    }

    /// Consumes body bytes from `data[*pos..]`.
    fn body(
        &mut self,
        d: usize,
        mut b: Box<InBody>,
        data: &[u8],
        pos: &mut usize,
        base: u64,
        out: &mut Vec<Message>,
    ) -> Step {
        let mut ev = DecodeEvents::default();
        let step = loop {
            let avail = data.len() - *pos;
            match &mut b.framing {
                Framing::UntilClose => {
                    b.acc.feed(&data[*pos..], &mut ev);
                    *pos = data.len();
                    break Step::Wait(0);
                }
                Framing::Length(rem) => {
                    let take = (*rem).min(avail as u64) as usize;
                    b.acc.feed(&data[*pos..*pos + take], &mut ev);
                    *pos += take;
                    *rem -= take as u64;
                    if *rem == 0 {
                        break Step::Continue;
                    }
                    break Step::Wait(0);
                }
                Framing::Chunked(c) => match c {
                    Chunk::Size => {
                        let win = &data[*pos..data.len().min(*pos + MAX_CHUNK_LINE)];
                        let Some(nl) = memchr::memchr(b'\n', win) else {
                            if avail >= MAX_CHUNK_LINE {
                                break self.chunk_error(
                                    d,
                                    "chunk size line too long",
                                    base + *pos as u64,
                                );
                            }
                            break Step::Wait(1);
                        };
                        let Some(size) = parse_chunk_size(&win[..nl]) else {
                            break self.chunk_error(
                                d,
                                "invalid chunk size line",
                                base + *pos as u64,
                            );
                        };
                        *pos += nl + 1;
                        *c = if size == 0 {
                            Chunk::Trailers { scan: 0 }
                        } else {
                            Chunk::Data(size)
                        };
                    }
                    Chunk::Data(rem) => {
                        if avail == 0 {
                            break Step::Wait(0);
                        }
                        let take = (*rem).min(avail as u64) as usize;
                        b.acc.feed(&data[*pos..*pos + take], &mut ev);
                        *pos += take;
                        *rem -= take as u64;
                        if *rem == 0 {
                            *c = Chunk::DataEnd;
                        }
                    }
                    Chunk::DataEnd => match data.get(*pos..).unwrap_or_default() {
                        [] => break Step::Wait(0),
                        [b'\n', ..] => {
                            *pos += 1;
                            *c = Chunk::Size;
                        }
                        [b'\r'] => break Step::Wait(1),
                        [b'\r', b'\n', ..] => {
                            *pos += 2;
                            *c = Chunk::Size;
                        }
                        _ => {
                            break self.chunk_error(
                                d,
                                "missing CRLF after chunk data",
                                base + *pos as u64,
                            )
                        }
                    },
                    Chunk::Trailers { scan } => {
                        let rest = &data[*pos..];
                        match rest {
                            [] => break Step::Wait(0),
                            [b'\n', ..] => {
                                *pos += 1;
                                break Step::Continue;
                            }
                            [b'\r'] => break Step::Wait(1),
                            [b'\r', b'\n', ..] => {
                                *pos += 2;
                                break Step::Continue;
                            }
                            _ => {}
                        }
                        let max = self.cfg.max_header_bytes;
                        match find_head_end(rest, *scan, max) {
                            Some(e) if e <= max => {
                                match head::parse_field_block(&rest[..e], self.cfg.max_headers) {
                                    Ok(t) => b.acc.trailers = t,
                                    Err(e) => {
                                        break self.chunk_error(
                                            d,
                                            &format!("bad trailers: {e}"),
                                            base + *pos as u64,
                                        )
                                    }
                                }
                                *pos += e;
                                break Step::Continue;
                            }
                            None if rest.len() <= max => {
                                *scan = resume_point(rest.len());
                                break Step::Wait(1);
                            }
                            _ => {
                                self.counters.headers_capped += 1;
                                break self.chunk_error(
                                    d,
                                    "trailers too large",
                                    base + *pos as u64,
                                );
                            }
                        }
                    }
                },
            }
        };
        self.apply_events(&ev);
        match step {
            Step::Continue => {
                // The body is complete.
                let block = b.block_after;
                self.emit(*b, base + *pos as u64, true, out);
                self.after_message(d, block);
                Step::Continue
            }
            Step::Wait(n) => {
                self.dirs[d].mode = Mode::Body(b);
                Step::Wait(n)
            }
            Step::Error(e) => {
                // The head was good: report what was received as an incomplete message.
                self.emit(*b, base + *pos as u64, false, out);
                Step::Error(e)
            }
        }
    }

    fn chunk_error(&mut self, d: usize, msg: &str, offset: u64) -> Step {
        self.error(d, "bad-chunk", msg.to_string(), offset)
    }
}

/// Hex size of a chunk-size line (CR and extensions allowed); `None` if invalid.
fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.trim_ascii_start();
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    match line.get(digits) {
        None | Some(b';' | b' ' | b'\t') => {}
        _ => return None,
    }
    let s = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(s, 16).ok()
}

impl StreamParser for Http1Parser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        let data = input.data;
        let req = classify_request_line(data);
        if req == Verdict::Certain {
            return Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Client),
            };
        }
        let resp = classify_status_line(data);
        if resp == Verdict::Certain {
            return Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Server),
            };
        }
        match (req, resp) {
            (Verdict::Unsure, Verdict::Unsure) => Probe {
                verdict: Verdict::Unsure,
                sender: None,
            },
            (Verdict::Unsure, _) => Probe {
                verdict: Verdict::Unsure,
                sender: Some(Role::Client),
            },
            (_, Verdict::Unsure) => Probe {
                verdict: Verdict::Unsure,
                sender: Some(Role::Server),
            },
            _ => Probe::NOT_MINE,
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let base = self.dirs[d].offset;
        if let Some(e) = self.dirs[d].pending_err.take() {
            return Err(e);
        }
        let mut pos = 0usize;
        let step = loop {
            if self.handoff.is_some() {
                break Step::Wait(0);
            }
            let mode = std::mem::replace(&mut self.dirs[d].mode, Mode::Idle);
            let step = match mode {
                Mode::Blocked if self.switch_wait => {
                    self.dirs[d].mode = Mode::Blocked;
                    Step::Wait(1)
                }
                Mode::Blocked | Mode::Idle => {
                    let skip = data[pos..]
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    pos += skip;
                    if pos == data.len() {
                        Step::Wait(0)
                    } else {
                        self.head(dir, data, &mut pos, base, out)
                    }
                }
                Mode::Resync { line_start } => self.resync(dir, data, &mut pos, line_start),
                Mode::Body(b) => self.body(d, b, data, &mut pos, base, out),
            };
            match step {
                Step::Continue => continue,
                other => break other,
            }
        };
        let needed = match step {
            // An `Err` consumes nothing (the engine calls again with the same
            // bytes, and resync mode then skips them). An error found after some
            // progress is held back so that this call can report that progress.
            Step::Error(e) if pos == 0 => return Err(e),
            Step::Error(e) => {
                self.dirs[d].pending_err = Some(e);
                0
            }
            // Never ask for nothing while bytes are left: the engine would spin.
            Step::Wait(n) if pos < data.len() => n.max(1),
            Step::Wait(_) | Step::Continue => 0,
        };
        self.dirs[d].offset = base.saturating_add(pos as u64);
        // After a switch nothing more is consumed, whatever arrives.
        let needed = if self.handoff.is_some() { 0 } else { needed };
        Ok(Parsed {
            consumed: pos,
            needed,
        })
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        let here = self.dirs[d].offset;
        self.dirs[d].offset = here.saturating_add(len);
        self.dirs[d].head_scan = 0;
        self.dirs[d].pending_err = None;
        if self.handoff.is_some() || len == 0 {
            return;
        }
        let mode = std::mem::replace(&mut self.dirs[d].mode, Mode::Idle);
        let mut ev = DecodeEvents::default();
        let mode = match mode {
            Mode::Body(mut b) => {
                let absorbed = match &mut b.framing {
                    Framing::UntilClose => true,
                    Framing::Length(rem) | Framing::Chunked(Chunk::Data(rem)) if len <= *rem => {
                        *rem -= len;
                        true
                    }
                    _ => false,
                };
                if absorbed {
                    b.acc.missing(len, &mut ev);
                    self.apply_events(&ev);
                    match b.framing {
                        Framing::Length(0) => {
                            let block = b.block_after;
                            self.emit(*b, here.saturating_add(len), true, out);
                            if block {
                                Mode::Blocked
                            } else {
                                Mode::Idle
                            }
                        }
                        Framing::Chunked(Chunk::Data(0)) => {
                            b.framing = Framing::Chunked(Chunk::DataEnd);
                            Mode::Body(b)
                        }
                        _ => Mode::Body(b),
                    }
                } else {
                    self.emit(*b, here, false, out);
                    self.counters.resyncs += 1;
                    Mode::Resync { line_start: true }
                }
            }
            // The tunnel bytes are not ours; the pause lasts until the response.
            Mode::Blocked => Mode::Blocked,
            _ => {
                self.counters.resyncs += 1;
                Mode::Resync { line_start: true }
            }
        };
        self.dirs[d].mode = mode;
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        let mode = std::mem::replace(&mut self.dirs[d].mode, Mode::Idle);
        if let Mode::Body(b) = mode {
            let complete = matches!(b.framing, Framing::UntilClose);
            self.emit(*b, self.dirs[d].offset, complete, out);
        } else if let Mode::Blocked = mode {
            self.dirs[d].mode = Mode::Blocked;
        }
        self.dirs[d].head_scan = 0;
        self.dirs[d].pending_err = None;
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let st = &self.dirs[dir.index()];
        match &st.mode {
            Mode::Body(b) => match &b.msg {
                Partial::Req(r) => r.start,
                Partial::Resp(r) => r.start,
            },
            _ => st.offset,
        }
    }

    fn handoff(&self) -> Option<Protocol> {
        self.handoff
    }
}
