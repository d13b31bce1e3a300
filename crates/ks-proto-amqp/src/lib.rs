//! AMQP 0-9-1 streaming dissector implementing the ks parser contract.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_amqp::{AmqpConfig, AmqpParser, Message};
//!
//! let mut p = AmqpParser::new(AmqpConfig::default(), [0, 0]);
//! let mut out = Vec::new();
//! // queue.declare (class 50, method 10) on channel 1: reserved short, queue
//! // "orders", bits (none set), empty arguments table.
//! let mut args = vec![0, 50, 0, 10, 0, 0, 6];
//! args.extend_from_slice(b"orders");
//! args.extend_from_slice(&[0, 0, 0, 0, 0]);
//! let mut frame = vec![1, 0, 1, 0, 0, 0, args.len() as u8];
//! frame.extend_from_slice(&args);
//! frame.push(0xCE);
//! p.parse(Direction::ToServer, &frame, &mut out).unwrap();
//! assert!(out.is_empty()); // waiting for queue.declare-ok
//! // queue.declare-ok: queue "orders", message count 0, consumer count 0.
//! let mut ok = vec![0, 50, 0, 11, 6];
//! ok.extend_from_slice(b"orders");
//! ok.extend_from_slice(&[0; 8]);
//! let mut frame = vec![1, 0, 1, 0, 0, 0, ok.len() as u8];
//! frame.extend_from_slice(&ok);
//! frame.push(0xCE);
//! p.parse(Direction::ToClient, &frame, &mut out).unwrap();
//! match &out[0] {
//!     Message::Exchange(x) => assert_eq!(x.summary(), "queue.declare q=orders → queue.declare-ok"),
//!     _ => unreachable!(),
//! }
//! ```
//!
//! Framing, pairing, caps and resynchronisation are described in `docs/amqp.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod spec;
mod wire;

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use base64::Engine as _;
use ks_proto::{
    Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict,
};
use serde::{Serialize, Serializer};

pub use wire::{FieldTable, FieldValue, Properties};

use spec::MethodSpec;
use wire::Budget;

/// The protocol header a 0-9-1 client sends first.
pub const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";

const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
/// Frame type 4 (0-8 "oob" / unused in 0-9-1): framed like others, ignored.
const FRAME_OOB: u8 = 4;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;

/// Limits of the parser. Every buffer the parser owns is bounded by one of these.
#[derive(Debug, Clone)]
pub struct AmqpConfig {
    /// Largest method/header frame decoded; larger ones are consumed
    /// incrementally, counted and skipped (body frames are always streamed).
    pub max_frame: usize,
    /// Deepest nesting of field tables/arrays decoded (1 = top-level table).
    pub max_table_depth: usize,
    /// Most values (entries and array elements, all levels) decoded per frame.
    pub max_table_entries: usize,
    /// Bytes of message body kept.
    pub max_body_kept: usize,
    /// Synchronous requests awaiting their `-ok` per channel.
    pub max_pending: usize,
    /// Channels with pending requests or content in progress tracked at once.
    pub max_channels: usize,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            max_frame: 1 << 20,
            max_table_depth: 16,
            max_table_entries: 256,
            max_body_kept: 64 * 1024,
            max_pending: 32,
            max_channels: 256,
        }
    }
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AmqpCounters {
    /// Frames parsed (all types).
    pub frames: u64,
    /// Method frames parsed.
    pub methods: u64,
    /// Heartbeat frames.
    pub heartbeats: u64,
    /// Protocol headers (`AMQP` + version) seen.
    pub protocol_headers: u64,
    /// Exchanges emitted (paired, unanswered or response-only).
    pub exchanges: u64,
    /// One-way messages emitted.
    pub one_ways: u64,
    /// Requests flushed without a response (end, cap, close).
    pub unanswered: u64,
    /// Responses without a matching request.
    pub orphan_responses: u64,
    /// Parse errors returned (bad frame type or end octet).
    pub parse_errors: u64,
    /// Times a direction resynchronised after skipping bytes.
    pub resyncs: u64,
    /// Method/header frames larger than `max_frame`, skipped.
    pub frames_too_large: u64,
    /// Frames whose field tables hit the depth or entry cap.
    pub tables_capped: u64,
    /// Bodies longer than `max_body_kept`.
    pub bodies_truncated: u64,
    /// Requests flushed because `max_pending` were waiting on the channel.
    pub pending_capped: u64,
    /// Methods not tracked because `max_channels` were tracked.
    pub channels_capped: u64,
    /// Method frames of unknown class/method.
    pub unknown_methods: u64,
    /// Method or header frames whose payload did not decode completely.
    pub malformed: u64,
    /// Content (header/body) cut by a new method, a gap or the end.
    pub incomplete_contents: u64,
}

/// What the parser emits: exchanges (a synchronous request and its `-ok`, either may
/// be missing), one-way messages (basic.publish/deliver/return/ack/nack/reject,
/// connection.blocked, basic.cancel from the server...) and events.
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// A notable condition: `resync`, `frame-too-large`, `table-capped`,
/// `pending-capped`, `channels-capped`, `content-incomplete`, `unexpected-frame`,
/// `malformed`, `unknown-method`.
pub type Event = ks_proto::ParserEvent;

fn ser_dir<S: Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Direction::ToServer => "to_server",
        Direction::ToClient => "to_client",
    })
}

/// One AMQP method, with its content (properties and body) when it carries one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    /// Class name (`basic`), or `class-<id>` when unknown.
    pub class: Cow<'static, str>,
    /// Full method name (`basic.publish`), or `<class>.method-<id>` when unknown.
    pub method: Cow<'static, str>,
    /// Numeric class id.
    pub class_id: u16,
    /// Numeric method id.
    pub method_id: u16,
    /// Channel number.
    pub channel: u16,
    /// Arguments by name (snake_case spec names; reserved ones left out).
    pub arguments: FieldTable,
    /// connection.close / channel.close / basic.return reply code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// connection.close / channel.close / basic.return reply text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// Exchange of a content-carrying method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Routing key of a content-carrying method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Content-header properties (content-carrying methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties>,
    /// Body size announced by the content header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_size: Option<u64>,
    /// The first `max_body_kept` body bytes; serialised as text when UTF-8, else
    /// base64 (see `body_encoding`).
    #[serde(serialize_with = "ser_body", skip_serializing_if = "Option::is_none")]
    pub body: Option<Vec<u8>>,
    /// `"utf8"` or `"base64"`: how `body` is serialised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<&'static str>,
    /// Fewer body bytes kept than `body_size`.
    #[serde(skip_serializing_if = "is_false")]
    pub body_truncated: bool,
    /// False when the content was cut (new method on the channel, gap, end).
    pub complete: bool,
    /// The arguments or properties did not decode completely.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
    /// Absolute offset of the first byte of the method frame.
    pub start: u64,
    /// Absolute offset just after the last frame (method, or last body frame).
    pub end: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Body bytes as text: the whole body when it is UTF-8, allowing a character
/// cut at the end by truncation.
fn body_text(b: &[u8]) -> Option<&str> {
    match std::str::from_utf8(b) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&b[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

fn ser_body<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    let b = b.as_deref().unwrap_or_default();
    match body_text(b) {
        Some(t) => s.serialize_str(t),
        None => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

impl Method {
    fn arg_str(&self, name: &str) -> Option<&str> {
        self.arguments.get(name).and_then(FieldValue::as_str)
    }

    fn is_close(&self) -> bool {
        matches!(
            (self.class_id, self.method_id),
            (spec::CONNECTION, spec::CONNECTION_CLOSE) | (spec::CHANNEL, spec::CLOSE)
        )
    }

    /// connection.close / channel.close: `(reply_code, reply_text)`.
    pub fn error(&self) -> Option<(u16, String)> {
        if !self.is_close() {
            return None;
        }
        Some((
            self.reply_code?,
            self.reply_text.clone().unwrap_or_default(),
        ))
    }

    /// `basic.publish exchange=x rk=y 42 B`, `queue.declare q=orders`,
    /// `channel.close 404 NOT_FOUND`.
    pub fn brief(&self) -> String {
        let mut s = self.method.to_string();
        if let Some(q) = self.arg_str("queue") {
            s.push_str(" q=");
            s.push_str(q);
        }
        if let Some(x) = self
            .exchange
            .as_deref()
            .or_else(|| self.arg_str("exchange"))
        {
            s.push_str(" exchange=");
            s.push_str(x);
        }
        if let Some(rk) = self
            .routing_key
            .as_deref()
            .or_else(|| self.arg_str("routing_key"))
        {
            s.push_str(" rk=");
            s.push_str(rk);
        }
        if let (Some(code), Some(text)) = (self.reply_code, &self.reply_text) {
            s.push_str(&format!(" {code} {text}"));
        }
        self.push_size(&mut s);
        s
    }

    fn push_size(&self, s: &mut String) {
        if let Some(n) = self.body_size {
            s.push_str(&format!(" {n} B"));
        }
    }
}

/// A synchronous method and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// Who sent the request (`ToClient` for connection.start, .secure, .tune and
    /// server-initiated closes); its response went the other way.
    #[serde(skip)]
    pub request_dir: Direction,
    /// The request (sent by either side: connection.start comes from the server).
    pub request: Option<Method>,
    /// The `-ok` (or basic.get-empty) answering it.
    pub response: Option<Method>,
}

impl Exchange {
    /// `queue.declare q=orders → queue.declare-ok`; `?` for a missing side.
    pub fn summary(&self) -> String {
        let req = self
            .request
            .as_ref()
            .map_or_else(|| "?".into(), Method::brief);
        let resp = self.response.as_ref().map_or_else(
            || "?".into(),
            |r| {
                let mut s = r.method.to_string();
                r.push_size(&mut s);
                s
            },
        );
        format!("{req} → {resp}")
    }

    /// `(reply_code, reply_text)` of a connection.close / channel.close.
    pub fn error(&self) -> Option<(u16, String)> {
        self.request.as_ref().and_then(Method::error)
    }

    /// Channel of the exchange.
    pub fn channel(&self) -> u16 {
        self.request
            .as_ref()
            .or(self.response.as_ref())
            .map_or(0, |m| m.channel)
    }
}

/// An asynchronous method (with its content when it carries one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneWay {
    /// Who sent it.
    #[serde(serialize_with = "ser_dir")]
    pub dir: Direction,
    /// Absolute offset of the first byte (same as `message.start`).
    #[serde(skip)]
    pub start: u64,
    /// Absolute offset after the last byte (same as `message.end`).
    #[serde(skip)]
    pub end: u64,
    /// The method (serialised flattened next to `dir`).
    #[serde(flatten)]
    pub message: Method,
}

impl OneWay {
    /// `basic.publish exchange=x rk=y 42 B`.
    pub fn summary(&self) -> String {
        self.message.brief()
    }
    /// `(reply_code, reply_text)` of a connection.close / channel.close.
    pub fn error(&self) -> Option<(u16, String)> {
        self.message.error()
    }
}

/// Content being assembled: method, then header, then body frames.
struct Content {
    spec: &'static MethodSpec,
    method: Method,
    header_seen: bool,
    body_size: u64,
    received: u64,
    body: Vec<u8>,
}

struct Pending {
    dir: Direction,
    spec: &'static MethodSpec,
    method: Method,
}

#[derive(Default)]
struct Chan {
    pending: VecDeque<Pending>,
    content: [Option<Box<Content>>; 2],
}

impl Chan {
    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.content.iter().all(Option::is_none)
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Idle,
    /// Looking for the next frame start; `skip_first`: the first byte is known bad.
    Resync {
        skip_first: bool,
        skipped: u64,
    },
    /// Streaming a body frame's payload into the channel's content.
    Body {
        channel: u16,
        remaining: u64,
        frame_start: u64,
    },
    /// Consuming an oversized frame's payload.
    Skip {
        remaining: u64,
        frame_start: u64,
    },
    /// Payload done; the 0xCE end octet is next.
    EndOctet {
        frame_start: u64,
        body_channel: Option<u16>,
    },
}

struct DirState {
    /// Absolute offset of the next byte to parse.
    offset: u64,
    mode: Mode,
    /// An error met mid-call, returned by the next call.
    pending_err: Option<ParseError>,
    ended: bool,
}

enum Step {
    Continue(usize),
    Wait(usize),
    Error(ParseError),
}

/// AMQP 0-9-1 parser for one connection (both directions).
pub struct AmqpParser {
    cfg: AmqpConfig,
    counters: AmqpCounters,
    dirs: [DirState; 2],
    chans: BTreeMap<u16, Chan>,
}

enum Cand {
    Accept,
    Reject,
    NeedMore(usize),
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Whether a frame (or the protocol header) plausibly starts at `b[0]`; decided
/// only from bytes present, so the outcome does not depend on chunking.
fn candidate(b: &[u8], max_frame: usize) -> Cand {
    let Some(&t) = b.first() else {
        return Cand::NeedMore(1);
    };
    if t == b'A' {
        let n = b.len().min(8);
        return if b[..n] != PROTOCOL_HEADER[..n] {
            Cand::Reject
        } else if n < 8 {
            Cand::NeedMore(8 - n)
        } else {
            Cand::Accept
        };
    }
    // Body and type-4 frames carry nothing recognisable: never resync on them.
    if !matches!(t, FRAME_METHOD | FRAME_HEADER | FRAME_HEARTBEAT) {
        return Cand::Reject;
    }
    let (Some(ch), Some(size)) = (be16(b, 1), be32(b, 3)) else {
        return Cand::NeedMore(7 - b.len().min(7));
    };
    let size = size as usize;
    let plausible = match t {
        FRAME_HEARTBEAT => ch == 0 && size == 0,
        FRAME_METHOD => size >= 4 && size <= max_frame,
        _ => size >= 14 && size <= max_frame,
    };
    if !plausible {
        return Cand::Reject;
    }
    if t == FRAME_METHOD {
        if let (Some(c), Some(m)) = (be16(b, 7), be16(b, 9)) {
            if spec::lookup(c, m).is_none() {
                return Cand::Reject;
            }
        }
    }
    if t == FRAME_HEADER {
        if let (Some(c), Some(w)) = (be16(b, 7), be16(b, 9)) {
            if c != spec::BASIC || w != 0 {
                return Cand::Reject;
            }
        }
    }
    let total = 8 + size;
    match b.get(total - 1) {
        None => Cand::NeedMore(total - b.len()),
        Some(&FRAME_END) => Cand::Accept,
        Some(_) => Cand::Reject,
    }
}

impl AmqpParser {
    /// A parser for one connection; `start` is the absolute offset of the first
    /// byte that will be passed per direction (index `Direction::index()`).
    pub fn new(cfg: AmqpConfig, start: [u64; 2]) -> Self {
        let dir = |offset| DirState {
            offset,
            mode: Mode::Idle,
            pending_err: None,
            ended: false,
        };
        AmqpParser {
            cfg,
            counters: AmqpCounters::default(),
            dirs: [dir(start[0]), dir(start[1])],
            chans: BTreeMap::new(),
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> AmqpCounters {
        self.counters
    }

    fn budget(&self) -> Budget {
        Budget {
            max_depth: self.cfg.max_table_depth,
            entries_left: self.cfg.max_table_entries,
            capped: false,
        }
    }

    fn emit_exchange(
        &mut self,
        request_dir: Direction,
        request: Option<Method>,
        response: Option<Method>,
        out: &mut Vec<Message>,
    ) {
        self.counters.exchanges += 1;
        if response.is_none() {
            self.counters.unanswered += 1;
        }
        if request.is_none() {
            self.counters.orphan_responses += 1;
        }
        out.push(Message::Exchange(Box::new(Exchange {
            request_dir,
            request,
            response,
        })));
    }

    fn emit_one_way(&mut self, dir: Direction, message: Method, out: &mut Vec<Message>) {
        self.counters.one_ways += 1;
        out.push(Message::OneWay(Box::new(OneWay {
            dir,
            start: message.start,
            end: message.end,
            message,
        })));
    }

    /// The channel's state, created if there is room.
    fn chan(&mut self, ch: u16, dir: Direction, at: u64, out: &mut Vec<Message>) -> bool {
        if self.chans.contains_key(&ch) {
            return true;
        }
        if self.chans.len() >= self.cfg.max_channels {
            self.counters.channels_capped += 1;
            Message::push_event(
                out,
                "channels-capped",
                format!(
                    "channel {ch} not tracked: {} channels busy",
                    self.chans.len()
                ),
                dir,
                at,
            );
            return false;
        }
        self.chans.insert(ch, Chan::default());
        true
    }

    fn tidy(&mut self, ch: u16) {
        if self.chans.get(&ch).is_some_and(Chan::is_empty) {
            self.chans.remove(&ch);
        }
    }

    /// Flushes the requests still waiting on `ch` as unanswered.
    fn flush_pending(&mut self, ch: u16, out: &mut Vec<Message>) {
        let drained: Vec<Pending> = match self.chans.get_mut(&ch) {
            Some(c) => c.pending.drain(..).collect(),
            None => return,
        };
        for p in drained {
            self.emit_exchange(p.dir, Some(p.method), None, out);
        }
        self.tidy(ch);
    }

    /// Emits a complete method: pairs responses, remembers requests, emits the rest.
    fn route(
        &mut self,
        dir: Direction,
        spec: &'static MethodSpec,
        m: Method,
        out: &mut Vec<Message>,
    ) {
        let ch = m.channel;
        if spec.is_response {
            let found = self.chans.get_mut(&ch).and_then(|c| {
                let i = c.pending.iter().position(|p| {
                    p.dir != dir
                        && p.spec.class_id == spec.class_id
                        && p.spec.responses.contains(&spec.method_id)
                })?;
                c.pending.remove(i)
            });
            let closes = matches!(
                (spec.class_id, spec.method_id),
                (spec::CONNECTION, 51) | (spec::CHANNEL, 41)
            );
            self.emit_exchange(dir.reverse(), found.map(|p| p.method), Some(m), out);
            if closes {
                // Nothing pending on a closed channel can be answered any more.
                if spec.class_id == spec::CONNECTION {
                    let all: Vec<u16> = self.chans.keys().copied().collect();
                    for c in all {
                        self.flush_pending(c, out);
                    }
                } else {
                    self.flush_pending(ch, out);
                }
            }
            self.tidy(ch);
            return;
        }
        if spec.responses.is_empty() {
            self.emit_one_way(dir, m, out);
            return;
        }
        let no_wait = matches!(m.arguments.get("no_wait"), Some(FieldValue::Bool(true)));
        // The server's basic.cancel (consumer cancel notification) is not answered.
        let server_cancel =
            spec.class_id == spec::BASIC && spec.method_id == 30 && dir == Direction::ToClient;
        if server_cancel {
            self.emit_one_way(dir, m, out);
            return;
        }
        if no_wait {
            self.counters.exchanges += 1;
            out.push(Message::Exchange(Box::new(Exchange {
                request_dir: dir,
                request: Some(m),
                response: None,
            })));
            return;
        }
        if !self.chan(ch, dir, m.start, out) {
            self.emit_exchange(dir, Some(m), None, out);
            return;
        }
        let max = self.cfg.max_pending.max(1);
        let mut flushed = None;
        if let Some(c) = self.chans.get_mut(&ch) {
            if c.pending.len() >= max {
                flushed = c.pending.pop_front();
            }
            c.pending.push_back(Pending {
                dir,
                spec,
                method: m,
            });
        }
        if let Some(old) = flushed {
            self.counters.pending_capped += 1;
            let at = old.method.start;
            Message::push_event(
                out,
                "pending-capped",
                format!("{} on channel {ch} flushed unanswered", old.method.method),
                old.dir,
                at,
            );
            self.emit_exchange(old.dir, Some(old.method), None, out);
        }
    }

    /// Emits the content in progress on `ch` in `dir`, if any.
    fn finish_content(
        &mut self,
        d: usize,
        ch: u16,
        end: u64,
        complete: bool,
        out: &mut Vec<Message>,
    ) {
        let Some(c) = self.chans.get_mut(&ch).and_then(|c| c.content[d].take()) else {
            return;
        };
        let dir = if d == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let Content {
            spec,
            mut method,
            header_seen,
            body_size,
            received,
            body,
        } = *c;
        if !complete {
            self.counters.incomplete_contents += 1;
            Message::push_event(
                out,
                "content-incomplete",
                format!(
                    "{} on channel {ch}: {received} of {body_size} body bytes",
                    method.method
                ),
                dir,
                end,
            );
        }
        method.end = end;
        // A gap inside the body already marked it incomplete.
        method.complete &= complete;
        if header_seen {
            let truncated = (body.len() as u64) < body_size.max(received);
            if truncated && complete {
                self.counters.bodies_truncated += 1;
            }
            method.body_truncated = truncated;
            method.body_encoding = Some(if body_text(&body).is_some() {
                "utf8"
            } else {
                "base64"
            });
            method.body = Some(body);
        }
        self.tidy(ch);
        self.route(dir, spec, method, out);
    }

    /// Cuts every content in progress in direction `d`.
    fn cut_contents(&mut self, d: usize, at: u64, out: &mut Vec<Message>) {
        let chans: Vec<u16> = self
            .chans
            .iter()
            .filter(|(_, c)| c.content[d].is_some())
            .map(|(k, _)| *k)
            .collect();
        for ch in chans {
            self.finish_content(d, ch, at, false, out);
        }
    }

    fn method_frame(
        &mut self,
        dir: Direction,
        ch: u16,
        payload: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<Message>,
    ) {
        let d = dir.index();
        self.counters.methods += 1;
        if self.chans.get(&ch).is_some_and(|c| c.content[d].is_some()) {
            self.finish_content(d, ch, start, false, out);
        }
        let (Some(class_id), Some(method_id)) = (be16(payload, 0), be16(payload, 2)) else {
            self.counters.malformed += 1;
            Message::push_event(
                out,
                "malformed",
                format!("method frame of {} bytes", payload.len()),
                dir,
                start,
            );
            return;
        };
        let mut m = Method {
            class: Cow::Borrowed(""),
            method: Cow::Borrowed(""),
            class_id,
            method_id,
            channel: ch,
            arguments: FieldTable::default(),
            reply_code: None,
            reply_text: None,
            exchange: None,
            routing_key: None,
            properties: None,
            body_size: None,
            body: None,
            body_encoding: None,
            body_truncated: false,
            complete: true,
            malformed: false,
            start,
            end,
        };
        let Some(spec) = spec::lookup(class_id, method_id) else {
            self.counters.unknown_methods += 1;
            let class = spec::class_name(class_id)
                .map_or_else(|| Cow::Owned(format!("class-{class_id}")), Cow::Borrowed);
            m.method = Cow::Owned(format!("{class}.method-{method_id}"));
            m.class = class;
            m.malformed = true;
            Message::push_event(out, "unknown-method", format!("{}", m.method), dir, start);
            self.emit_one_way(dir, m, out);
            return;
        };
        m.class = Cow::Borrowed(spec.class);
        m.method = Cow::Borrowed(spec.name);
        let mut budget = self.budget();
        let args = wire::arguments(spec, payload.get(4..).unwrap_or_default(), &mut budget);
        m.arguments = args.table;
        if args.malformed {
            m.malformed = true;
            self.counters.malformed += 1;
            Message::push_event(
                out,
                "malformed",
                format!("{} arguments", spec.name),
                dir,
                start,
            );
        }
        if budget.capped {
            self.counters.tables_capped += 1;
            Message::push_event(
                out,
                "table-capped",
                format!("{} field table capped", spec.name),
                dir,
                start,
            );
        }
        m.reply_code = m
            .arguments
            .get("reply_code")
            .and_then(FieldValue::as_u64)
            .and_then(|v| u16::try_from(v).ok());
        m.reply_text = m.arg_str("reply_text").map(str::to_string);
        if !spec.content {
            self.route(dir, spec, m, out);
            return;
        }
        m.exchange = m.arg_str("exchange").map(str::to_string);
        m.routing_key = m.arg_str("routing_key").map(str::to_string);
        if !self.chan(ch, dir, start, out) {
            self.route(dir, spec, m, out);
            return;
        }
        if let Some(c) = self.chans.get_mut(&ch) {
            c.content[d] = Some(Box::new(Content {
                spec,
                method: m,
                header_seen: false,
                body_size: 0,
                received: 0,
                body: Vec::new(),
            }));
        }
    }

    fn header_frame(
        &mut self,
        dir: Direction,
        ch: u16,
        payload: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<Message>,
    ) {
        let d = dir.index();
        let mut budget = self.budget();
        let waiting = self
            .chans
            .get(&ch)
            .and_then(|c| c.content[d].as_ref())
            .is_some_and(|c| !c.header_seen);
        if !waiting {
            Message::push_event(
                out,
                "unexpected-frame",
                format!("content header on channel {ch} without a method"),
                dir,
                start,
            );
            return;
        }
        let h = wire::header(payload, &mut budget);
        if budget.capped {
            self.counters.tables_capped += 1;
            Message::push_event(
                out,
                "table-capped",
                "content headers table capped".into(),
                dir,
                start,
            );
        }
        let Some(h) = h else {
            self.counters.malformed += 1;
            Message::push_event(
                out,
                "malformed",
                format!("content header of {} bytes", payload.len()),
                dir,
                start,
            );
            self.finish_content(d, ch, end, false, out);
            return;
        };
        if h.malformed {
            self.counters.malformed += 1;
            Message::push_event(
                out,
                "malformed",
                "content header properties".into(),
                dir,
                start,
            );
        }
        let Some(c) = self.chans.get_mut(&ch).and_then(|c| c.content[d].as_mut()) else {
            return;
        };
        c.header_seen = true;
        c.body_size = h.body_size;
        c.method.body_size = Some(h.body_size);
        c.method.malformed |= h.malformed;
        if h.class_id == spec::BASIC {
            c.method.properties = Some(h.properties);
        }
        c.method.end = end;
        if h.body_size == 0 {
            self.finish_content(d, ch, end, true, out);
        }
    }

    /// Appends body bytes to the content in progress (kept up to the cap).
    fn body_bytes(&mut self, d: usize, ch: u16, bytes: &[u8], lost: u64) {
        let max = self.cfg.max_body_kept;
        if let Some(c) = self.chans.get_mut(&ch).and_then(|c| c.content[d].as_mut()) {
            if !c.header_seen {
                return;
            }
            let before = c.received;
            c.received = before
                .saturating_add(bytes.len() as u64)
                .saturating_add(lost);
            // Only a gap-free prefix is kept: once bytes were lost or the cap was
            // reached, `received` runs ahead of what is kept.
            if before == c.body.len() as u64 {
                let room = max.saturating_sub(c.body.len());
                c.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
    }

    fn step(&mut self, dir: Direction, rest: &[u8], out: &mut Vec<Message>) -> Step {
        let d = dir.index();
        let off = self.dirs[d].offset;
        match self.dirs[d].mode {
            Mode::Idle => {
                let Some(&t) = rest.first() else {
                    return Step::Wait(1);
                };
                if t == b'A' {
                    let n = rest.len().min(4);
                    if rest[..n] != PROTOCOL_HEADER[..n] {
                        return Step::Error(err(
                            "bad-frame-type",
                            "not a frame nor the protocol header",
                            off,
                        ));
                    }
                    if rest.len() < 8 {
                        return Step::Wait(8 - rest.len());
                    }
                    self.counters.protocol_headers += 1;
                    if rest[..8] != PROTOCOL_HEADER[..] {
                        Message::push_event(
                            out,
                            "unsupported-version",
                            format!("protocol header {:?}", &rest[4..8]),
                            dir,
                            off,
                        );
                    }
                    return Step::Continue(8);
                }
                if !matches!(
                    t,
                    FRAME_METHOD | FRAME_HEADER | FRAME_BODY | FRAME_OOB | FRAME_HEARTBEAT
                ) {
                    return Step::Error(err("bad-frame-type", &format!("frame type {t}"), off));
                }
                let (Some(ch), Some(size)) = (be16(rest, 1), be32(rest, 3)) else {
                    return Step::Wait(7 - rest.len());
                };
                if t == FRAME_BODY {
                    self.dirs[d].mode = Mode::Body {
                        channel: ch,
                        remaining: size.into(),
                        frame_start: off,
                    };
                    return Step::Continue(7);
                }
                let size = size as usize;
                if size > self.cfg.max_frame {
                    self.counters.frames_too_large += 1;
                    Message::push_event(
                        out,
                        "frame-too-large",
                        format!("frame type {t} of {size} bytes on channel {ch} skipped"),
                        dir,
                        off,
                    );
                    self.dirs[d].mode = Mode::Skip {
                        remaining: size as u64,
                        frame_start: off,
                    };
                    return Step::Continue(7);
                }
                let total = 8 + size;
                let Some(&end_octet) = rest.get(total - 1) else {
                    return Step::Wait(total - rest.len());
                };
                if end_octet != FRAME_END {
                    return Step::Error(err(
                        "bad-frame-end",
                        &format!("end octet {end_octet:#04x}"),
                        off,
                    ));
                }
                let payload = rest.get(7..7 + size).unwrap_or_default();
                self.counters.frames += 1;
                let end = off + total as u64;
                match t {
                    FRAME_METHOD => self.method_frame(dir, ch, payload, off, end, out),
                    FRAME_HEADER => self.header_frame(dir, ch, payload, off, end, out),
                    FRAME_HEARTBEAT => self.counters.heartbeats += 1,
                    _ => {}
                }
                Step::Continue(total)
            }
            Mode::Body {
                channel,
                remaining,
                frame_start,
            } => {
                if remaining > 0 && rest.is_empty() {
                    return Step::Wait(1);
                }
                let n = rest
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                self.body_bytes(d, channel, &rest[..n], 0);
                let remaining = remaining - n as u64;
                self.dirs[d].mode = if remaining == 0 {
                    Mode::EndOctet {
                        frame_start,
                        body_channel: Some(channel),
                    }
                } else {
                    Mode::Body {
                        channel,
                        remaining,
                        frame_start,
                    }
                };
                Step::Continue(n)
            }
            Mode::Skip {
                remaining,
                frame_start,
            } => {
                if remaining > 0 && rest.is_empty() {
                    return Step::Wait(1);
                }
                let n = rest
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                let remaining = remaining - n as u64;
                self.dirs[d].mode = if remaining == 0 {
                    Mode::EndOctet {
                        frame_start,
                        body_channel: None,
                    }
                } else {
                    Mode::Skip {
                        remaining,
                        frame_start,
                    }
                };
                Step::Continue(n)
            }
            Mode::EndOctet { body_channel, .. } => {
                let Some(&b) = rest.first() else {
                    return Step::Wait(1);
                };
                if b != FRAME_END {
                    return Step::Error(err("bad-frame-end", &format!("end octet {b:#04x}"), off));
                }
                self.dirs[d].mode = Mode::Idle;
                self.counters.frames += 1;
                if let Some(ch) = body_channel {
                    let done = self
                        .chans
                        .get(&ch)
                        .and_then(|c| c.content[d].as_ref())
                        .map(|c| c.header_seen && c.received >= c.body_size);
                    match done {
                        Some(true) => self.finish_content(d, ch, off + 1, true, out),
                        Some(false) => {
                            if let Some(c) =
                                self.chans.get_mut(&ch).and_then(|c| c.content[d].as_mut())
                            {
                                c.method.end = off + 1;
                            }
                        }
                        None => Message::push_event(
                            out,
                            "unexpected-frame",
                            format!("body frame on channel {ch} without a method"),
                            dir,
                            off,
                        ),
                    }
                }
                Step::Continue(1)
            }
            Mode::Resync {
                skip_first,
                skipped,
            } => {
                let mut i = usize::from(skip_first);
                while i < rest.len() {
                    match candidate(&rest[i..], self.cfg.max_frame) {
                        Cand::Accept => {
                            let skipped = skipped + i as u64;
                            self.counters.resyncs += 1;
                            Message::push_event(
                                out,
                                "resync",
                                format!("skipped {skipped} bytes"),
                                dir,
                                off + i as u64,
                            );
                            self.dirs[d].mode = Mode::Idle;
                            return Step::Continue(i);
                        }
                        Cand::NeedMore(n) => {
                            self.dirs[d].mode = Mode::Resync {
                                skip_first: false,
                                skipped: skipped + i as u64,
                            };
                            // Progress if bytes were skipped; otherwise wait.
                            return if i > 0 {
                                Step::Continue(i)
                            } else {
                                Step::Wait(n)
                            };
                        }
                        Cand::Reject => i += 1,
                    }
                }
                if i == 0 {
                    return Step::Wait(1);
                }
                self.dirs[d].mode = Mode::Resync {
                    skip_first: false,
                    skipped: skipped + i as u64,
                };
                Step::Continue(i)
            }
        }
    }

    fn enter_resync(&mut self, d: usize, skip_first: bool, out: &mut Vec<Message>) {
        let at = self.dirs[d].offset;
        self.cut_contents(d, at, out);
        self.dirs[d].mode = Mode::Resync {
            skip_first,
            skipped: 0,
        };
    }
}

fn err(kind: &'static str, message: &str, offset: u64) -> ParseError {
    ParseError {
        kind,
        message: message.to_string(),
        offset,
    }
}

impl StreamParser for AmqpParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        let b = input.data;
        let unsure = Probe {
            verdict: Verdict::Unsure,
            sender: None,
        };
        let Some(&t) = b.first() else {
            return unsure;
        };
        if t == b'A' {
            let n = b.len().min(8);
            return if b[..n] != PROTOCOL_HEADER[..n] {
                Probe::NOT_MINE
            } else {
                Probe {
                    verdict: if n == 8 {
                        Verdict::Certain
                    } else {
                        Verdict::Unsure
                    },
                    sender: Some(Role::Client),
                }
            };
        }
        // A generous bound: frame-max is negotiated (RabbitMQ allows up to 128 MiB).
        const MAX: usize = 128 << 20;
        let frame_ok = |b: &[u8]| -> Option<Cand> {
            let t = *b.first()?;
            if !matches!(
                t,
                FRAME_METHOD | FRAME_HEADER | FRAME_BODY | FRAME_OOB | FRAME_HEARTBEAT
            ) {
                return Some(Cand::Reject);
            }
            let (ch, size) = (be16(b, 1)?, be32(b, 3)? as usize);
            if size > MAX
                || (t == FRAME_HEARTBEAT && (ch != 0 || size != 0))
                || (t == FRAME_METHOD && size < 4)
            {
                return Some(Cand::Reject);
            }
            if t == FRAME_METHOD {
                if let (Some(c), Some(m)) = (be16(b, 7), be16(b, 9)) {
                    if spec::lookup(c, m).is_none() {
                        return Some(Cand::Reject);
                    }
                }
            }
            match b.get(7 + size) {
                Some(&FRAME_END) => Some(Cand::Accept),
                Some(_) => Some(Cand::Reject),
                None => Some(Cand::NeedMore(8 + size - b.len())),
            }
        };
        match frame_ok(b) {
            None => return unsure,
            Some(Cand::Reject) => return Probe::NOT_MINE,
            _ => {}
        }
        if t == FRAME_METHOD && be16(b, 1) == Some(0) && be16(b, 7) == Some(10) {
            match be16(b, 9) {
                Some(10) => {
                    return Probe {
                        verdict: Verdict::Certain,
                        sender: Some(Role::Server),
                    }
                }
                Some(11) => {
                    return Probe {
                        verdict: Verdict::Certain,
                        sender: Some(Role::Client),
                    }
                }
                _ => {}
            }
        }
        let Some(size) = be32(b, 3) else {
            return unsure;
        };
        let next = b.get(8 + size as usize..).unwrap_or_default();
        if next.is_empty() {
            return unsure;
        }
        match frame_ok(next) {
            Some(Cand::Accept) => Probe {
                verdict: Verdict::Certain,
                sender: None,
            },
            Some(Cand::Reject) => Probe::NOT_MINE,
            _ => unsure,
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        if let Some(e) = self.dirs[d].pending_err.take() {
            self.counters.parse_errors += 1;
            self.enter_resync(d, true, out);
            return Err(e);
        }
        let mut pos = 0;
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            match self.step(dir, rest, out) {
                Step::Continue(n) => {
                    pos += n;
                    self.dirs[d].offset += n as u64;
                }
                Step::Wait(needed) => {
                    return Ok(Parsed {
                        consumed: pos,
                        needed: needed.max(1),
                    })
                }
                Step::Error(e) => {
                    if pos == 0 {
                        self.counters.parse_errors += 1;
                        self.enter_resync(d, true, out);
                        return Err(e);
                    }
                    self.dirs[d].pending_err = Some(e);
                    return Ok(Parsed {
                        consumed: pos,
                        needed: 0,
                    });
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        self.dirs[d].pending_err = None;
        let at = self.dirs[d].offset;
        self.dirs[d].offset += len;
        // Inside a body or skipped frame the framing is known, so a gap that ends
        // before the frame does keeps the direction in sync.
        match self.dirs[d].mode {
            Mode::Body {
                channel,
                remaining,
                frame_start,
            } if len <= remaining => {
                self.body_bytes(d, channel, &[], len);
                if let Some(c) = self
                    .chans
                    .get_mut(&channel)
                    .and_then(|c| c.content[d].as_mut())
                {
                    c.method.complete = false;
                }
                self.dirs[d].mode = if len == remaining {
                    Mode::EndOctet {
                        frame_start,
                        body_channel: Some(channel),
                    }
                } else {
                    Mode::Body {
                        channel,
                        remaining: remaining - len,
                        frame_start,
                    }
                };
            }
            Mode::Skip {
                remaining,
                frame_start,
            } if len <= remaining => {
                self.dirs[d].mode = if len == remaining {
                    Mode::EndOctet {
                        frame_start,
                        body_channel: None,
                    }
                } else {
                    Mode::Skip {
                        remaining: remaining - len,
                        frame_start,
                    }
                };
            }
            Mode::Resync { .. } => {}
            _ => {
                self.cut_contents(d, at, out);
                self.dirs[d].mode = Mode::Resync {
                    skip_first: false,
                    skipped: 0,
                };
            }
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        if self.dirs[d].ended {
            return;
        }
        self.dirs[d].ended = true;
        self.dirs[d].pending_err = None;
        let at = self.dirs[d].offset;
        self.cut_contents(d, at, out);
        self.dirs[d].mode = Mode::Idle;
        if self.dirs.iter().all(|s| s.ended) {
            let mut all: Vec<Pending> = Vec::new();
            for c in self.chans.values_mut() {
                all.extend(c.pending.drain(..));
            }
            all.sort_by_key(|p| (p.dir.index(), p.method.start));
            for p in all {
                self.emit_exchange(p.dir, Some(p.method), None, out);
            }
            self.chans.clear();
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let d = dir.index();
        let s = &self.dirs[d];
        let mut low = match s.mode {
            Mode::Body { frame_start, .. }
            | Mode::Skip { frame_start, .. }
            | Mode::EndOctet { frame_start, .. } => frame_start,
            _ => s.offset,
        };
        for c in self.chans.values() {
            if let Some(ct) = &c.content[d] {
                low = low.min(ct.method.start);
            }
            for p in c.pending.iter().filter(|p| p.dir == dir) {
                low = low.min(p.method.start);
            }
        }
        low
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}

#[cfg(test)]
mod tests;
