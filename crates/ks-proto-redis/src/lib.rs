//! Redis RESP2/RESP3 streaming dissector implementing the ks parser contract.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_redis::{Message, RedisConfig, RedisParser, ReplyType};
//!
//! let mut p = RedisParser::new(RedisConfig::default(), [0, 0]);
//! let mut out = Vec::new();
//! let req = b"*3\r\n$3\r\nSET\r\n$6\r\nuser:1\r\n$3\r\nbob\r\n";
//! let r = p.parse(Direction::ToServer, req, &mut out).unwrap();
//! assert_eq!(r.consumed, req.len());
//! p.parse(Direction::ToClient, b"+OK\r\n", &mut out).unwrap();
//! match &out[0] {
//!     Message::Exchange(x) => {
//!         let req = x.request.as_ref().unwrap();
//!         assert_eq!(req.command, "SET");
//!         assert_eq!(x.response.as_ref().unwrap().kind, ReplyType::Simple);
//!         assert_eq!(x.summary(), "SET user:1 → OK");
//!     }
//!     _ => unreachable!(),
//! }
//! ```
//!
//! Design, caps and what is not supported: `docs/redis.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod value;

use std::collections::VecDeque;

use ks_proto::{
    Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict,
};
use serde::{Serialize, Serializer};
use serde_json::Value;

use value::{AggKind, BulkKind, Node};
pub use value::{Arg, ReplyType};

/// Structural nesting beyond this is a protocol error (bounds the frame stack
/// whatever the configuration says).
const MAX_NESTING: usize = 128;
/// Kept nesting never exceeds this (bounds recursion when rendering and dropping).
const MAX_KEPT_DEPTH: usize = 64;

/// Limits of the parser. Every buffer the parser owns is bounded by one of these.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Bytes kept of each bulk string / argument (a prefix; the size is always known).
    pub max_value_kept: usize,
    /// Bytes kept over a whole request or reply (all its values together).
    pub max_message_kept: usize,
    /// Values kept per request or reply (elements of nested aggregates included).
    pub max_elements: usize,
    /// Aggregates nested deeper than this are parsed but not kept (hard limit 64).
    pub max_depth: usize,
    /// Longest line (type line, simple string, inline command); longer → error + resync.
    pub max_line: usize,
    /// Requests awaiting replies; the oldest is flushed unanswered beyond this.
    pub max_pending: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            max_value_kept: 4096,
            max_message_kept: 64 * 1024,
            max_elements: 1024,
            max_depth: 32,
            max_line: 64 * 1024,
            max_pending: 256,
        }
    }
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy)]
pub struct RedisCounters {
    /// Requests parsed.
    pub requests: u64,
    /// Top-level replies parsed (pub/sub pushes included).
    pub replies: u64,
    /// Exchanges emitted.
    pub exchanges: u64,
    /// One-way messages emitted (pub/sub messages, other pushes).
    pub one_way: u64,
    /// Requests flushed without any reply.
    pub unanswered: u64,
    /// Replies that had no request to pair with.
    pub orphan_replies: u64,
    /// Parse errors returned.
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation (after an error or a gap).
    pub resyncs: u64,
    /// Requests flushed because `max_pending` were already waiting.
    pub pending_capped: u64,
    /// Requests or replies of which only a part was kept.
    pub truncated: u64,
}

/// What the parser emits: exchanges (a command and its reply, either may be missing),
/// one-way messages (pub/sub messages and other pushes) and events.
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// Something worth counting: `gap`, `pending-capped`, `truncated-at-end`.
pub type Event = ks_proto::ParserEvent;

/// A command and its reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// The command (None: reply seen without its command).
    pub request: Option<Request>,
    /// The reply (None: no reply seen). A (UN)SUBSCRIBE of N channels gets all
    /// N confirmations merged into one [`Reply`] (see [`Reply::replies`]).
    pub response: Option<Reply>,
}

/// A client command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// First word, upper-cased (`CLIENT SETNAME` → `CLIENT`, `SETNAME` is `args[0]`).
    pub command: String,
    /// The arguments after the command word (at most `max_elements - 1` kept).
    pub args: Vec<Arg>,
    /// Number of arguments sent (the command word excluded), also beyond those kept.
    pub argc: u64,
    /// Some arguments or argument bytes were not kept (caps).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Sent as an inline command (a plain text line) rather than a RESP array.
    #[serde(skip_serializing_if = "is_false")]
    pub inline: bool,
    /// Sent between MULTI and EXEC/DISCARD (its reply is normally `QUEUED`).
    #[serde(skip_serializing_if = "is_false")]
    pub in_multi: bool,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset one past the last byte.
    pub end: u64,
}

/// A server reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    /// RESP type.
    #[serde(rename = "type")]
    pub kind: ReplyType,
    /// JSON rendering: strings/numbers/booleans/null as such, bulk strings as
    /// [`Arg`] forms, aggregates as lists, maps as objects with string keys
    /// (`"… N more"` marks elements not kept). For merged confirmations
    /// (`replies > 1`) a list of each confirmation's rendering.
    pub value: Value,
    /// Error text of `error` / `bulk-error` replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Elements announced by an aggregate (pairs for maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
    /// RESP3 attribute map sent before the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
    /// Number of wire replies merged in this one (pub/sub confirmations); 1 usually.
    #[serde(skip_serializing_if = "is_one")]
    pub replies: u32,
    /// Part of the reply was not kept (caps or a gap inside a bulk string).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset one past the last byte.
    pub end: u64,
}

/// A message not answering a command: pub/sub `message`/`pmessage`/`smessage`
/// (RESP2 arrays in subscribed mode or RESP3 pushes) or another push (`invalidate`...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneWay {
    /// Always `ToClient` today (serialised `"to-client"`).
    #[serde(serialize_with = "ser_dir")]
    pub dir: Direction,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset one past the last byte.
    pub end: u64,
    /// First element of the push: `message`, `pmessage`, `smessage`, `invalidate`...
    pub kind: String,
    /// Channel, for pub/sub messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Pattern, for `pmessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Payload, for pub/sub messages (an [`Arg`] form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The whole frame.
    pub message: Reply,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_one(n: &u32) -> bool {
    *n == 1
}
fn ser_dir<S: Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Direction::ToServer => "to-server",
        Direction::ToClient => "to-client",
    })
}

impl Request {
    /// `SET user:1`: the command and its first argument (quoted when not a plain token).
    pub fn summary(&self) -> String {
        match self.args.first() {
            Some(a) => format!("{} {}", self.command, a.short_token()),
            None => self.command.clone(),
        }
    }
}

impl Reply {
    /// Short rendering: simple text, integer, `(nil)`, error text, `[3 items]`, `"value…"`.
    pub fn short(&self) -> String {
        if self.replies > 1 {
            return format!("[{} replies]", self.replies);
        }
        if let Some(e) = &self.error {
            return cut(e);
        }
        match self.kind {
            ReplyType::Null => "(nil)".into(),
            ReplyType::Simple | ReplyType::BigNumber => match &self.value {
                Value::String(s) => cut(s),
                v => v.to_string(),
            },
            ReplyType::Array | ReplyType::Set | ReplyType::Push => {
                format!("[{} items]", self.elements.unwrap_or(0))
            }
            ReplyType::Map | ReplyType::Attribute => {
                format!("{{{} entries}}", self.elements.unwrap_or(0))
            }
            ReplyType::Bulk | ReplyType::Verbatim | ReplyType::BulkError => {
                match serde_json::from_value::<ArgView>(self.value.clone()) {
                    Ok(a) => a.0.short(),
                    Err(_) => self.value.to_string(),
                }
            }
            _ => self.value.to_string(),
        }
    }
}

/// Parses an [`Arg`] back from its JSON form (only for summaries).
struct ArgView(Arg);
impl<'de> serde::Deserialize<'de> for ArgView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(ArgView(match v {
            Value::String(s) => Arg::Text(s),
            Value::Object(m) => {
                let size = m.get("size").and_then(Value::as_u64);
                let text = m.get("text").and_then(Value::as_str).map(str::to_owned);
                let b = m.get("base64").and_then(Value::as_str).map(str::to_owned);
                match size {
                    Some(size) => Arg::Partial {
                        text,
                        base64: b,
                        size,
                        truncated: true,
                    },
                    None => Arg::Binary {
                        base64: b.unwrap_or_default(),
                    },
                }
            }
            other => Arg::Text(other.to_string()),
        }))
    }
}

fn cut(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

impl Exchange {
    /// `SET user:1 → OK`, `GET "a b" → "x"`; `?` for a missing command, `(no reply)` for a missing reply.
    pub fn summary(&self) -> String {
        let req = self
            .request
            .as_ref()
            .map_or_else(|| "?".to_owned(), Request::summary);
        let resp = self
            .response
            .as_ref()
            .map_or_else(|| "(no reply)".to_owned(), Reply::short);
        format!("{req} → {resp}")
    }
}

impl OneWay {
    /// `message news → "hello"`, or `invalidate → [2 items]` for other pushes.
    pub fn summary(&self) -> String {
        match (&self.channel, &self.payload) {
            (Some(c), Some(p)) => {
                let p = match serde_json::from_value::<ArgView>(p.clone()) {
                    Ok(a) => a.0.short(),
                    Err(_) => p.to_string(),
                };
                match &self.pattern {
                    Some(pat) => format!("{} {} {} → {}", self.kind, pat, c, p),
                    None => format!("{} {} → {}", self.kind, c, p),
                }
            }
            _ => format!("{} → {}", self.kind, self.message.short()),
        }
    }
}

/// An aggregate being filled.
struct Frame {
    kind: AggKind,
    /// Elements still to come (maps/attributes: keys and values counted apart).
    remaining: u64,
    total: u64,
    items: Vec<Node>,
    /// This frame's node goes into its parent.
    keep: bool,
    /// Its children are kept (depth and element caps).
    keep_children: bool,
}

/// A bulk payload being read.
struct Bulk {
    kind: BulkKind,
    size: u64,
    /// Payload bytes still to come (the CRLF after it is checked separately).
    left: u64,
    data: Vec<u8>,
    cap: usize,
    keep: bool,
}

/// Parse state of one direction.
#[derive(Default)]
struct Side {
    /// Absolute offset of the next byte to parse.
    pos: u64,
    /// Start of the top-level value in progress.
    msg_start: Option<u64>,
    stack: Vec<Frame>,
    bulk: Option<Bulk>,
    /// A top-level RESP3 attribute, to attach to the value that follows.
    attr: Option<Node>,
    /// Per-message budgets.
    kept_bytes: usize,
    kept_nodes: usize,
    truncated: bool,
    resync: bool,
    /// In resync: the last byte skipped was a `\n` (so the next one starts a line).
    after_nl: bool,
    ended: bool,
    /// Commands were seen inline (resync may then restart on a letter).
    inline_seen: bool,
}

impl Side {
    fn in_progress(&self) -> bool {
        self.msg_start.is_some() || !self.stack.is_empty() || self.bulk.is_some()
    }
    fn reset_message(&mut self) {
        self.msg_start = None;
        self.stack.clear();
        self.bulk = None;
        self.attr = None;
        self.kept_bytes = 0;
        self.kept_nodes = 0;
        self.truncated = false;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    One,
    /// N pub/sub confirmations.
    Confirm(u64),
    /// Confirmations until one reports 0 subscriptions left (argument-less UNSUBSCRIBE).
    UntilZero,
}

struct Pending {
    req: Request,
    expect: Expect,
    replies: Vec<Reply>,
}

/// Outcome of one parsing step.
enum Step {
    Consumed(usize),
    Need(usize),
    Bad(&'static str, String),
}

/// Streaming RESP dissector for one connection (both directions).
pub struct RedisParser {
    cfg: RedisConfig,
    sides: [Side; 2],
    pending: VecDeque<Pending>,
    counters: RedisCounters,
    resp3: bool,
    subscribed: bool,
    in_multi: bool,
}

impl RedisParser {
    /// A parser whose first bytes are at absolute offsets `start` (indexed by
    /// [`Direction::index`]).
    pub fn new(cfg: RedisConfig, start: [u64; 2]) -> Self {
        let mut sides: [Side; 2] = Default::default();
        sides[0].pos = start[0];
        sides[1].pos = start[1];
        RedisParser {
            cfg,
            sides,
            pending: VecDeque::new(),
            counters: RedisCounters::default(),
            resp3: false,
            subscribed: false,
            in_multi: false,
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> RedisCounters {
        self.counters
    }

    /// The connection switched to RESP3 (`HELLO 3` answered without error).
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// One step on `rest` (non-empty) in normal (not resynchronising) mode.
    fn step(&mut self, dir: Direction, rest: &[u8], out: &mut Vec<Message>) -> Step {
        let d = dir.index();
        let pos = self.sides[d].pos;
        if let Some(b) = &mut self.sides[d].bulk {
            if b.left > 0 {
                let take = (b.left.min(rest.len() as u64)) as usize;
                let room = b.cap.saturating_sub(b.data.len()).min(take);
                b.data.extend_from_slice(&rest[..room]);
                self.sides[d].kept_bytes += room;
                b.left -= take as u64;
                return Step::Consumed(take);
            }
            if rest.len() < 2 {
                return if rest == b"\r" {
                    Step::Need(1)
                } else {
                    Step::Bad("bad-bulk-end", "bulk string not followed by CRLF".into())
                };
            }
            if &rest[..2] != b"\r\n" {
                return Step::Bad("bad-bulk-end", "bulk string not followed by CRLF".into());
            }
            let Some(b) = self.sides[d].bulk.take() else {
                return Step::Consumed(0);
            };
            let node = if b.keep {
                if (b.data.len() as u64) < b.size {
                    self.sides[d].truncated = true;
                }
                Node::Blob {
                    kind: b.kind,
                    data: b.data,
                    size: b.size,
                }
            } else {
                Node::Skipped
            };
            self.complete(dir, node, pos + 2, out);
            return Step::Consumed(2);
        }
        let side = &self.sides[d];
        let top = side.stack.is_empty() && side.attr.is_none();
        let window = &rest[..rest.len().min(self.cfg.max_line.saturating_add(2))];
        let nl = memchr::memchr(b'\n', window);
        let Some(nl) = nl else {
            return if rest.len() > self.cfg.max_line.saturating_add(1) {
                Step::Bad(
                    "line-too-long",
                    format!("no CRLF within {} bytes", self.cfg.max_line),
                )
            } else {
                Step::Need(1)
            };
        };
        if top && dir == Direction::ToServer && rest[0] != b'*' {
            let line = &rest[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.inline(line, pos, pos + nl as u64 + 1, out);
            return Step::Consumed(nl + 1);
        }
        if nl == 0 || rest[nl - 1] != b'\r' {
            return Step::Bad("bad-line-end", "line not ended by CRLF".into());
        }
        let line = &rest[..nl - 1];
        match self.line(dir, line, pos, pos + nl as u64 + 1, out) {
            Ok(()) => Step::Consumed(nl + 1),
            Err((k, m)) => Step::Bad(k, m),
        }
    }

    /// Decides whether the element starting now is kept; counts it.
    fn keep_next(&mut self, d: usize) -> bool {
        let side = &mut self.sides[d];
        let parent_keeps = side.stack.last().is_none_or(|f| f.keep_children);
        let top = side.stack.is_empty();
        if top || (parent_keeps && side.kept_nodes < self.cfg.max_elements) {
            side.kept_nodes += 1;
            true
        } else {
            side.truncated = true;
            false
        }
    }

    /// A complete RESP type line (CRLF stripped). Validates before changing state.
    fn line(
        &mut self,
        dir: Direction,
        line: &[u8],
        pos: u64,
        end: u64,
        out: &mut Vec<Message>,
    ) -> Result<(), (&'static str, String)> {
        let Some((&t, body)) = line.split_first() else {
            return Err((
                "empty-line",
                "empty line where a RESP type was expected".into(),
            ));
        };
        enum Item {
            Node(Node),
            Bulk(BulkKind, u64),
            Agg(AggKind, u64),
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let item = match t {
            b'+' => Item::Node(Node::Simple(text(body))),
            b'-' => Item::Node(Node::Error(text(body))),
            b':' => Item::Node(Node::Int(parse_int(body).ok_or_else(|| bad_num(t, body))?)),
            b'$' | b'!' | b'=' => {
                let kind = match t {
                    b'$' => BulkKind::Bulk,
                    b'!' => BulkKind::Error,
                    _ => BulkKind::Verbatim,
                };
                match parse_int(body) {
                    Some(-1) => Item::Node(Node::Null),
                    Some(n) if n >= 0 => Item::Bulk(kind, n as u64),
                    _ => return Err(bad_num(t, body)),
                }
            }
            b'*' | b'%' | b'~' | b'>' | b'|' => {
                let kind = match t {
                    b'*' => AggKind::Array,
                    b'%' => AggKind::Map,
                    b'~' => AggKind::Set,
                    b'>' => AggKind::Push,
                    _ => AggKind::Attribute,
                };
                match parse_int(body) {
                    Some(-1) => Item::Node(Node::Null),
                    Some(n) if n >= 0 => {
                        if self.sides[dir.index()].stack.len() >= MAX_NESTING {
                            return Err(("too-deep", format!("nesting beyond {MAX_NESTING}")));
                        }
                        Item::Agg(kind, n as u64)
                    }
                    _ => return Err(bad_num(t, body)),
                }
            }
            b'_' if body.is_empty() => Item::Node(Node::Null),
            b'#' if body == b"t" => Item::Node(Node::Bool(true)),
            b'#' if body == b"f" => Item::Node(Node::Bool(false)),
            b',' => {
                let d = std::str::from_utf8(body)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or_else(|| bad_num(t, body))?;
                Item::Node(Node::Double(d))
            }
            b'(' => {
                let digits = body
                    .strip_prefix(b"-")
                    .or(body.strip_prefix(b"+"))
                    .unwrap_or(body);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(bad_num(t, body));
                }
                Item::Node(Node::Big(text(body)))
            }
            _ => return Err(("bad-type", format!("unexpected RESP type byte 0x{t:02x}"))),
        };
        let d = dir.index();
        if self.sides[d].msg_start.is_none() {
            self.sides[d].msg_start = Some(pos);
        }
        let keep = self.keep_next(d);
        match item {
            Item::Node(mut n) => {
                if let Node::Simple(s) | Node::Error(s) | Node::Big(s) = &mut n {
                    self.budget_text(d, s);
                }
                self.complete(dir, if keep { n } else { Node::Skipped }, end, out);
            }
            Item::Bulk(kind, size) => {
                let side = &mut self.sides[d];
                let cap = if keep {
                    self.cfg
                        .max_value_kept
                        .min(self.cfg.max_message_kept.saturating_sub(side.kept_bytes))
                } else {
                    0
                };
                side.bulk = Some(Bulk {
                    kind,
                    size,
                    left: size,
                    data: Vec::with_capacity((size.min(cap as u64)) as usize),
                    cap,
                    keep,
                });
            }
            Item::Agg(kind, n) => {
                let side = &mut self.sides[d];
                let depth = side.stack.len();
                let per = if matches!(kind, AggKind::Map | AggKind::Attribute) {
                    2
                } else {
                    1
                };
                let remaining = n.saturating_mul(per);
                let frame = Frame {
                    kind,
                    remaining,
                    total: n,
                    items: Vec::new(),
                    keep,
                    keep_children: keep && depth + 1 < self.cfg.max_depth.min(MAX_KEPT_DEPTH),
                };
                if remaining == 0 {
                    let node = if keep {
                        Node::Agg {
                            kind,
                            items: Vec::new(),
                            total: 0,
                        }
                    } else {
                        Node::Skipped
                    };
                    self.complete(dir, node, end, out);
                } else {
                    side.stack.push(frame);
                }
            }
        }
        Ok(())
    }

    /// Cuts a kept line value to the value/message budgets.
    fn budget_text(&mut self, d: usize, s: &mut String) {
        let side = &mut self.sides[d];
        let cap = self
            .cfg
            .max_value_kept
            .min(self.cfg.max_message_kept.saturating_sub(side.kept_bytes));
        if s.len() > cap {
            let mut i = cap;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            s.truncate(i);
            s.push('…');
            side.truncated = true;
        }
        side.kept_bytes += s.len();
    }

    /// A value is complete: put it into its aggregate, closing aggregates that fill up.
    fn complete(&mut self, dir: Direction, mut node: Node, end: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        loop {
            let side = &mut self.sides[d];
            let is_attr = matches!(
                node,
                Node::Agg {
                    kind: AggKind::Attribute,
                    ..
                }
            );
            let Some(f) = side.stack.last_mut() else {
                if is_attr {
                    side.attr = Some(node);
                    return;
                }
                self.finish(dir, node, end, out);
                return;
            };
            if is_attr {
                // Nested attributes are not elements of their aggregate; dropped.
                return;
            }
            // Maps keep skipped placeholders so keys and values stay paired.
            let pairs = matches!(f.kind, AggKind::Map | AggKind::Attribute);
            if f.keep_children && (pairs || !matches!(node, Node::Skipped)) {
                f.items.push(node);
            }
            f.remaining -= 1;
            if f.remaining > 0 {
                return;
            }
            let Some(f) = side.stack.pop() else { return };
            node = if f.keep {
                Node::Agg {
                    kind: f.kind,
                    items: f.items,
                    total: f.total,
                }
            } else {
                Node::Skipped
            };
        }
    }

    /// A top-level value is complete.
    fn finish(&mut self, dir: Direction, node: Node, end: u64, out: &mut Vec<Message>) {
        let side = &mut self.sides[dir.index()];
        let start = side.msg_start.unwrap_or(end);
        let truncated = side.truncated;
        let attr = side.attr.take();
        side.reset_message();
        if truncated {
            self.counters.truncated += 1;
        }
        match dir {
            Direction::ToServer => {
                let Node::Agg { items, total, .. } = node else {
                    return; // `*-1` from a client: ignored, like Redis does.
                };
                if total == 0 {
                    return;
                }
                let mut it = items.iter();
                let command = it
                    .next()
                    .map(|n| n.to_arg())
                    .map(|a| match a {
                        Arg::Text(s) => s.to_ascii_uppercase(),
                        other => other.short(),
                    })
                    .unwrap_or_default();
                let args: Vec<Arg> = it.map(Node::to_arg).collect();
                let req = Request {
                    command,
                    args,
                    argc: total - 1,
                    truncated,
                    inline: false,
                    in_multi: false,
                    start,
                    end,
                };
                self.request(req, out);
            }
            Direction::ToClient => self.reply(node, attr, start, end, truncated, out),
        }
    }

    /// An inline command line (CRLF stripped).
    fn inline(&mut self, line: &[u8], start: u64, end: u64, out: &mut Vec<Message>) {
        let mut words = line
            .split(|b| *b == b' ' || *b == b'\t')
            .filter(|w| !w.is_empty());
        let Some(first) = words.next() else {
            return; // Redis ignores empty lines.
        };
        self.sides[0].inline_seen = true;
        let mut args = Vec::new();
        let mut argc = 0u64;
        let mut kept = 0usize;
        let mut truncated = false;
        for w in words {
            argc += 1;
            if args.len() + 1 < self.cfg.max_elements && kept < self.cfg.max_message_kept {
                let n = w.len().min(self.cfg.max_value_kept);
                kept += n;
                truncated |= n < w.len();
                args.push(Arg::from_bytes(&w[..n], w.len() as u64));
            } else {
                truncated = true;
            }
        }
        let req = Request {
            command: String::from_utf8_lossy(first).to_ascii_uppercase(),
            args,
            argc,
            truncated,
            inline: true,
            in_multi: false,
            start,
            end,
        };
        self.request(req, out);
    }

    fn request(&mut self, mut req: Request, out: &mut Vec<Message>) {
        self.counters.requests += 1;
        match req.command.as_str() {
            "MULTI" => self.in_multi = true,
            "EXEC" | "DISCARD" => self.in_multi = false,
            _ => req.in_multi = self.in_multi,
        }
        let expect = match req.command.as_str() {
            "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" if req.argc > 0 => Expect::Confirm(req.argc),
            "UNSUBSCRIBE" | "PUNSUBSCRIBE" | "SUNSUBSCRIBE" if req.argc > 0 => {
                Expect::Confirm(req.argc)
            }
            "UNSUBSCRIBE" | "PUNSUBSCRIBE" | "SUNSUBSCRIBE" => Expect::UntilZero,
            _ => Expect::One,
        };
        if self.pending.len() >= self.cfg.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                self.counters.pending_capped += 1;
                out.push(Message::Event(Event {
                    kind: "pending-capped",
                    message: format!("{} commands awaiting replies", self.cfg.max_pending),
                    dir: Direction::ToServer,
                    offset: old.req.start,
                }));
                self.emit(old, out);
            }
        }
        self.pending.push_back(Pending {
            req,
            expect,
            replies: Vec::new(),
        });
    }

    /// Emits a pending command with the replies it collected.
    fn emit(&mut self, p: Pending, out: &mut Vec<Message>) {
        let response = merge(p.replies);
        if response.is_none() {
            self.counters.unanswered += 1;
        } else if p.req.command == "HELLO" {
            if let Some(r) = &response {
                if r.error.is_none() {
                    match p.req.args.first().and_then(Arg::as_text) {
                        Some("3") => self.resp3 = true,
                        Some("2") => self.resp3 = false,
                        _ => {}
                    }
                }
            }
        }
        if p.req.command == "RESET" && response.is_some() {
            self.resp3 = false;
            self.subscribed = false;
            self.in_multi = false;
        }
        self.counters.exchanges += 1;
        out.push(Message::Exchange(Box::new(Exchange {
            request: Some(p.req),
            response,
        })));
    }

    fn reply(
        &mut self,
        node: Node,
        attr: Option<Node>,
        start: u64,
        end: u64,
        truncated: bool,
        out: &mut Vec<Message>,
    ) {
        self.counters.replies += 1;
        let kind = node.reply_type();
        let (elements, first, items_len) = match &node {
            Node::Agg { total, items, .. } => (
                Some(*total),
                items
                    .first()
                    .and_then(Node::text)
                    .map(str::to_ascii_lowercase),
                items.len(),
            ),
            _ => (None, None, 0),
        };
        let error = match &node {
            Node::Error(s) => Some(s.clone()),
            Node::Blob {
                kind: BulkKind::Error,
                data,
                ..
            } => Some(String::from_utf8_lossy(data).into_owned()),
            _ => None,
        };
        let is_push = kind == ReplyType::Push;
        let seq = matches!(kind, ReplyType::Array | ReplyType::Push);
        let head_sub = self
            .pending
            .front()
            .is_some_and(|p| p.expect != Expect::One);
        let first = first.as_deref();
        let pubsub_msg =
            seq && matches!(
                (first, elements),
                (Some("message") | Some("smessage"), Some(3)) | (Some("pmessage"), Some(4))
            ) && (is_push || self.subscribed || head_sub || self.pending.is_empty());
        let confirm = seq
            && elements == Some(3)
            && matches!(
                first,
                Some(
                    "subscribe"
                        | "psubscribe"
                        | "ssubscribe"
                        | "unsubscribe"
                        | "punsubscribe"
                        | "sunsubscribe"
                )
            );
        let count = match &node {
            Node::Agg { items, .. } if confirm && items_len == 3 => match items.get(2) {
                Some(Node::Int(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        };
        let attributes = attr.map(|a| a.to_json());
        let reply = Reply {
            kind,
            value: node.to_json(),
            error,
            elements,
            attributes,
            replies: 1,
            truncated,
            start,
            end,
        };
        if pubsub_msg || (is_push && !(confirm && head_sub)) {
            let (pattern, channel, payload) = match &node {
                Node::Agg { items, .. } if pubsub_msg => {
                    let s = |i: usize| items.get(i).map(|n| n.to_arg().short_plain());
                    if first == Some("pmessage") {
                        (s(1), s(2), items.get(3).map(Node::to_json))
                    } else {
                        (None, s(1), items.get(2).map(Node::to_json))
                    }
                }
                _ => (None, None, None),
            };
            self.counters.one_way += 1;
            out.push(Message::OneWay(Box::new(OneWay {
                dir: Direction::ToClient,
                start,
                end,
                kind: first.unwrap_or("push").to_owned(),
                channel,
                pattern,
                payload,
                message: reply,
            })));
            return;
        }
        if let Some(n) = count {
            self.subscribed = n > 0;
        }
        let Some(head) = self.pending.front_mut() else {
            self.counters.orphan_replies += 1;
            self.counters.exchanges += 1;
            out.push(Message::Exchange(Box::new(Exchange {
                request: None,
                response: Some(reply),
            })));
            return;
        };
        let is_err = reply.error.is_some();
        head.replies.push(reply);
        let done = match head.expect {
            Expect::One => true,
            _ if is_err || !confirm => true,
            Expect::Confirm(n) => head.replies.len() as u64 >= n,
            Expect::UntilZero => count.is_none_or(|c| c <= 0),
        };
        if done {
            if let Some(p) = self.pending.pop_front() {
                self.emit(p, out);
            }
        }
    }

    /// Flushes every pending command (unanswered or partly answered).
    fn flush_pending(&mut self, out: &mut Vec<Message>) {
        while let Some(p) = self.pending.pop_front() {
            self.emit(p, out);
        }
    }

    /// One resynchronisation step; returns bytes skipped, or None when a message
    /// may start at `rest[0]` (resync over).
    fn resync_step(&mut self, dir: Direction, rest: &[u8]) -> Option<usize> {
        let side = &mut self.sides[dir.index()];
        if side.after_nl && is_start(dir, rest[0], side.inline_seen) {
            side.resync = false;
            side.after_nl = false;
            return None;
        }
        match memchr::memchr(b'\n', rest) {
            Some(p) => {
                side.after_nl = true;
                Some(p + 1)
            }
            None => {
                side.after_nl = false;
                Some(rest.len())
            }
        }
    }

    fn enter_resync(&mut self, d: usize) {
        let side = &mut self.sides[d];
        side.reset_message();
        side.resync = true;
        side.after_nl = false;
        self.counters.resyncs += 1;
    }
}

impl Arg {
    /// Plain (unquoted) text of an argument, for channel and pattern names.
    fn short_plain(&self) -> String {
        match self {
            Arg::Text(s) => s.clone(),
            Arg::Partial { text: Some(s), .. } => format!("{s}…"),
            other => other.short(),
        }
    }
}

/// Merges the replies one command collected (several for pub/sub confirmations).
fn merge(mut replies: Vec<Reply>) -> Option<Reply> {
    match replies.len() {
        0 => None,
        1 => replies.pop(),
        n => {
            let last_end = replies.last().map_or(0, |r| r.end);
            let truncated = replies.iter().any(|r| r.truncated);
            let values: Vec<Value> = replies.iter_mut().map(|r| r.value.take()).collect();
            let mut first = replies.swap_remove(0);
            first.value = Value::Array(values);
            first.end = last_end;
            first.replies = n.min(u32::MAX as usize) as u32;
            first.elements = Some(n as u64);
            first.truncated = truncated;
            Some(first)
        }
    }
}

fn parse_int(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn bad_num(t: u8, body: &[u8]) -> (&'static str, String) {
    (
        "bad-number",
        format!(
            "bad value after '{}': {:?}",
            t as char,
            String::from_utf8_lossy(&body[..body.len().min(32)])
        ),
    )
}

/// A byte that may start a message after a line break, when resynchronising.
fn is_start(dir: Direction, b: u8, inline_seen: bool) -> bool {
    match dir {
        Direction::ToServer => b == b'*' || (inline_seen && b.is_ascii_alphabetic()),
        Direction::ToClient => b"+-:$*%~>|_#,(!=".contains(&b),
    }
}

/// Commands recognised by the inline probe (upper case).
const INLINE_COMMANDS: &[&[u8]] = &[
    b"PING",
    b"GET",
    b"SET",
    b"HELLO",
    b"AUTH",
    b"SELECT",
    b"INFO",
    b"DEL",
    b"EXISTS",
    b"INCR",
    b"DECR",
    b"KEYS",
    b"SCAN",
    b"HGET",
    b"HSET",
    b"HGETALL",
    b"LPUSH",
    b"RPUSH",
    b"LPOP",
    b"RPOP",
    b"LRANGE",
    b"SADD",
    b"SMEMBERS",
    b"ZADD",
    b"ZRANGE",
    b"EXPIRE",
    b"TTL",
    b"MGET",
    b"MSET",
    b"SUBSCRIBE",
    b"PSUBSCRIBE",
    b"PUBLISH",
    b"MULTI",
    b"EXEC",
    b"CLIENT",
    b"CONFIG",
    b"FLUSHALL",
    b"FLUSHDB",
    b"DBSIZE",
    b"MONITOR",
    b"ECHO",
    b"TYPE",
    b"XADD",
    b"XREAD",
];

fn probe_bytes(data: &[u8], src_port: u16, dst_port: u16) -> Probe {
    let port_role = if dst_port == 6379 {
        Some(Role::Client)
    } else if src_port == 6379 {
        Some(Role::Server)
    } else {
        None
    };
    let unsure = |sender| Probe {
        verdict: Verdict::Unsure,
        sender,
    };
    let certain = |sender| Probe {
        verdict: Verdict::Certain,
        sender,
    };
    let Some((&t, rest)) = data.split_first() else {
        return unsure(port_role);
    };
    // `<digits>\r\n` then, when present, the byte that follows.
    let count_line = |rest: &[u8]| -> Option<Option<u8>> {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 20 {
            return if rest.is_empty() { Some(None) } else { None };
        }
        match &rest[digits..] {
            [] | [b'\r'] => Some(None),
            [b'\r', b'\n'] => Some(None),
            [b'\r', b'\n', next, ..] => Some(Some(*next)),
            _ => None,
        }
    };
    match t {
        b'*' => match count_line(rest) {
            Some(Some(b'$')) => certain(Some(port_role.unwrap_or(Role::Client))),
            Some(Some(b)) if b"+-:*%~_#,(!=".contains(&b) => certain(Some(Role::Server)),
            Some(_) => unsure(port_role),
            None => Probe::NOT_MINE,
        },
        b'%' | b'~' | b'>' | b'|' => match count_line(rest) {
            Some(Some(b)) if b"+-:$*%~>_#,(!=".contains(&b) => certain(Some(Role::Server)),
            Some(_) => unsure(Some(Role::Server)),
            None => Probe::NOT_MINE,
        },
        b'$' | b':' => match count_line(rest.strip_prefix(b"-").unwrap_or(rest)) {
            Some(Some(_)) => certain(Some(Role::Server)),
            Some(None) => unsure(Some(Role::Server)),
            None => Probe::NOT_MINE,
        },
        b'+' => {
            for w in [&b"OK\r\n"[..], b"PONG\r\n", b"QUEUED\r\n"] {
                if rest.starts_with(w) {
                    return certain(Some(Role::Server));
                }
                if w.starts_with(rest) {
                    return unsure(Some(Role::Server));
                }
            }
            if rest.contains(&b'\n') && !rest.ends_with(b"\r\n") && rest.contains(&b' ') {
                return Probe::NOT_MINE;
            }
            unsure(Some(Role::Server))
        }
        b'-' => {
            const ERRS: &[&[u8]] = &[
                b"WRONGTYPE ",
                b"NOAUTH ",
                b"MOVED ",
                b"ASK ",
                b"LOADING ",
                b"NOSCRIPT ",
                b"READONLY ",
                b"BUSY ",
                b"NOPROTO ",
                b"WRONGPASS ",
                b"NOPERM ",
                b"EXECABORT ",
                b"CROSSSLOT ",
                b"OOM ",
                b"BUSYGROUP ",
            ];
            if ERRS.iter().any(|e| rest.starts_with(e)) {
                return certain(Some(Role::Server));
            }
            if rest.starts_with(b"ERR") || rest.is_empty() {
                return unsure(Some(Role::Server));
            }
            Probe::NOT_MINE
        }
        b'_' if rest.starts_with(b"\r\n") => unsure(Some(Role::Server)),
        b'#' if rest.starts_with(b"t\r\n") || rest.starts_with(b"f\r\n") => {
            unsure(Some(Role::Server))
        }
        _ if t.is_ascii_alphabetic() => {
            let n = data.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let word = &data[..n];
            let term = data.get(n);
            let known = INLINE_COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(word));
            let prefix = n == data.len()
                && INLINE_COMMANDS
                    .iter()
                    .any(|c| c.len() >= n && c[..n].eq_ignore_ascii_case(word));
            if (known && matches!(term, Some(b' ' | b'\r' | b'\n'))) || prefix {
                unsure(Some(Role::Client))
            } else {
                Probe::NOT_MINE
            }
        }
        _ => Probe::NOT_MINE,
    }
}

impl StreamParser for RedisParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        probe_bytes(input.data, input.src_port, input.dst_port)
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            if self.sides[d].resync {
                if let Some(n) = self.resync_step(dir, rest) {
                    i += n;
                    self.sides[d].pos += n as u64;
                }
                continue;
            }
            match self.step(dir, rest, out) {
                Step::Consumed(n) => {
                    i += n;
                    self.sides[d].pos += n as u64;
                }
                Step::Need(n) => {
                    return Ok(Parsed {
                        consumed: i,
                        needed: n.max(1),
                    })
                }
                Step::Bad(kind, message) => {
                    if i > 0 {
                        return Ok(Parsed {
                            consumed: i,
                            needed: 0,
                        });
                    }
                    let offset = self.sides[d].pos;
                    self.counters.parse_errors += 1;
                    self.enter_resync(d);
                    return Err(ParseError {
                        kind,
                        message,
                        offset,
                    });
                }
            }
        }
        Ok(Parsed {
            consumed: i,
            needed: 0,
        })
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        let side = &mut self.sides[d];
        let offset = side.pos;
        side.pos += len;
        // Inside a bulk payload the loss is absorbed: only its bytes are missing.
        if let Some(b) = &mut side.bulk {
            if b.left >= len {
                b.left -= len;
                // The kept prefix stops at the hole.
                b.cap = b.data.len();
                side.truncated = true;
                return;
            }
        }
        out.push(Message::Event(Event {
            kind: "gap",
            message: format!("{len} bytes missing; resynchronising"),
            dir,
            offset,
        }));
        self.enter_resync(d);
        if dir == Direction::ToClient {
            // Replies were lost: which command they answered cannot be known.
            self.flush_pending(out);
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        let side = &mut self.sides[d];
        if side.in_progress() && !side.resync {
            out.push(Message::Event(Event {
                kind: "truncated-at-end",
                message: "stream ended inside a message".into(),
                dir,
                offset: side.msg_start.unwrap_or(side.pos),
            }));
        }
        side.reset_message();
        side.ended = true;
        if self.sides[0].ended && self.sides[1].ended {
            self.flush_pending(out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let side = &self.sides[dir.index()];
        let cur = side.msg_start.unwrap_or(side.pos);
        let held = match dir {
            Direction::ToServer => self.pending.front().map(|p| p.req.start),
            Direction::ToClient => self
                .pending
                .front()
                .and_then(|p| p.replies.first())
                .map(|r| r.start),
        };
        held.map_or(cur, |h| h.min(cur))
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}
