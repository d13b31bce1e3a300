//! The parser contract every `ks-proto-*` crate implements.
//!
//! ```
//! use ks_proto::{Direction, Parsed, Probe, ProbeInput, Role, Verdict};
//! let input = ProbeInput { data: b"GET / HTTP/1.1\r\n", src_port: 50000, dst_port: 8080 };
//! // A probe looks at the first bytes of one direction (and the ports, as hints only)
//! // and says whether the protocol is certainly, maybe or not spoken, and by whom.
//! let p = Probe { verdict: Verdict::Certain, sender: Some(Role::Client) };
//! assert_eq!(p.verdict, Verdict::Certain);
//! assert_eq!(Direction::ToServer.reverse(), Direction::ToClient);
//! // A streaming parse reports what it consumed and how much more it needs.
//! let r = Parsed { consumed: 0, needed: 16 };
//! assert!(r.needed > 0);
//! # let _ = input;
//! ```
//!
//! The contract, in full, is described in `docs/architecture.md`. In short:
//! 1. [`Probe`]: cheap, looks only at the first bytes of one direction and the
//!    ports; never runs the full parser.
//! 2. [`StreamParser::parse`]: called with the *unconsumed* bytes of one direction
//!    (the engine keeps what was not consumed and appends new bytes to it);
//!    returns [`Parsed`] `{consumed, needed}`. Messages are pushed to an output
//!    vector as they complete. Never panics, never allocates without a cap.
//! 3. [`StreamParser::gap`]: bytes were lost; the parser drops partial state and
//!    resynchronises (usually by probing for the next message start).
//! 4. [`StreamParser::end`]: the direction is closed; messages delimited by the
//!    close (HTTP body-until-close) are flushed.
//! 5. [`StreamParser::handoff`]: after a protocol switch (HTTP `101`, CONNECT,
//!    LDAP StartTLS) the rest of the connection belongs to another protocol.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

mod reader;
pub use reader::Reader;

/// Direction of bytes in a connection, relative to the client (requester).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (requests).
    ToServer,
    /// Server to client (responses).
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    /// 0 for `ToServer`, 1 for `ToClient`: handy to index per-direction arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Output of a parser that pairs requests with responses itself, because it sees both
/// directions and knows the session id (Redis reply order, Kafka correlation id, AMQP
/// channel): an exchange, a one-way message, or an event worth counting.
#[derive(Clone, Debug, PartialEq)]
pub enum Paired<X, O> {
    /// A request and its response (either may be missing: unanswered at the end, or a
    /// response whose request was not seen).
    Exchange(Box<X>),
    /// A message that gets no response (pushed, published, Kafka `acks=0`...).
    OneWay(Box<O>),
    /// Something worth counting that is not a message.
    Event(ParserEvent),
}

impl<X, O> Paired<X, O> {
    /// Push an event (`kind`, detail, where) to a parser's output.
    pub fn push_event(
        out: &mut Vec<Self>,
        kind: &'static str,
        message: String,
        dir: Direction,
        offset: u64,
    ) {
        out.push(Paired::Event(ParserEvent {
            kind,
            message,
            dir,
            offset,
        }));
    }
}

/// Something worth counting that is not a message: a cap reached, a resync, a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParserEvent {
    /// Short machine-readable kind (`gap`, `pending-capped`, `resync`...).
    pub kind: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// Direction it happened in.
    pub dir: Direction,
    /// Absolute stream offset in that direction.
    pub offset: u64,
}

/// Lower-case hex of `b` (record data, attribute values, option payloads).
pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[usize::from(x >> 4)] as char);
        s.push(H[usize::from(x & 15)] as char);
    }
    s
}

/// Role of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that sends requests.
    Client,
    /// The side that answers.
    Server,
}

/// How sure a probe is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// These bytes are not this protocol.
    NotMine,
    /// Could be (e.g. too few bytes yet, or only the port matches).
    Unsure,
    /// These bytes are this protocol.
    Certain,
}

/// Result of a probe: a verdict, and when the bytes tell it, who sent them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// How sure.
    pub verdict: Verdict,
    /// Who sent the probed bytes, when the bytes say so (`GET ` is a client,
    /// `HTTP/1.1 200` a server).
    pub sender: Option<Role>,
}

impl Probe {
    /// Not this protocol.
    pub const NOT_MINE: Probe = Probe {
        verdict: Verdict::NotMine,
        sender: None,
    };
}

/// What a probe sees.
#[derive(Clone, Copy, Debug)]
pub struct ProbeInput<'a> {
    /// The first bytes sent in one direction (possibly few).
    pub data: &'a [u8],
    /// Port of the sender of `data`.
    pub src_port: u16,
    /// Port of the receiver of `data`.
    pub dst_port: u16,
}

/// Outcome of one streaming parse call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Bytes of the input that were used and must not be passed again.
    pub consumed: usize,
    /// Minimum number of *additional* bytes (beyond the unconsumed rest) the parser
    /// needs before it can make progress; 0 when any amount may help.
    pub needed: usize,
}

/// The protocols ks knows, as a closed set: entries and hand-offs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.0 and HTTP/1.1.
    Http,
    /// HTTP/2 (h2c or after TLS).
    Http2,
    /// gRPC (over HTTP/2; recognised by content type).
    Grpc,
    /// GraphQL (over HTTP/1, HTTP/2 or WebSocket; recognised by body).
    Graphql,
    /// WebSocket (after an HTTP Upgrade).
    WebSocket,
    /// Redis (RESP2/RESP3).
    Redis,
    /// Kafka.
    Kafka,
    /// AMQP 0-9-1.
    Amqp,
    /// DNS (UDP, TCP, mDNS).
    Dns,
    /// RADIUS (UDP).
    Radius,
    /// ICMP and ICMPv6.
    Icmp,
    /// LDAP (TCP) and CLDAP (UDP).
    Ldap,
    /// DIAMETER (TCP and SCTP).
    Diameter,
    /// TLS.
    Tls,
    /// Opaque bytes in a tunnel (after CONNECT) or an unknown protocol.
    Tcp,
}

impl Protocol {
    /// Lower-case name used in entries and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Http2 => "http2",
            Protocol::Grpc => "grpc",
            Protocol::Graphql => "graphql",
            Protocol::WebSocket => "websocket",
            Protocol::Redis => "redis",
            Protocol::Kafka => "kafka",
            Protocol::Amqp => "amqp",
            Protocol::Dns => "dns",
            Protocol::Radius => "radius",
            Protocol::Icmp => "icmp",
            Protocol::Ldap => "ldap",
            Protocol::Diameter => "diameter",
            Protocol::Tls => "tls",
            Protocol::Tcp => "tcp",
        }
    }
    /// Parse a name as given by a user (`http`, `http2`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "http" | "http1" => Protocol::Http,
            "http2" | "h2" | "h2c" => Protocol::Http2,
            "grpc" => Protocol::Grpc,
            "graphql" => Protocol::Graphql,
            "websocket" | "ws" => Protocol::WebSocket,
            "redis" | "resp" => Protocol::Redis,
            "kafka" => Protocol::Kafka,
            "amqp" => Protocol::Amqp,
            "dns" | "mdns" => Protocol::Dns,
            "radius" => Protocol::Radius,
            "icmp" | "icmpv6" => Protocol::Icmp,
            "ldap" | "cldap" => Protocol::Ldap,
            "diameter" => Protocol::Diameter,
            "tls" | "ssl" => Protocol::Tls,
            "tcp" | "data" => Protocol::Tcp,
            _ => return None,
        })
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parse error: the parser could not make sense of the bytes at `offset` (an
/// absolute offset in the direction's stream) and will resynchronise or stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Short machine-readable kind, e.g. `"bad-request-line"`.
    pub kind: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// Absolute stream offset in the direction where it happened.
    pub offset: u64,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.kind, self.offset, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// One step of a framed stream parser over the bytes of one `parse` call
/// (see [`run_steps`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A message (or skipped bytes) was consumed: step again.
    Continue,
    /// Too few bytes: at least this many more are needed.
    Wait(usize),
    /// The bytes at the current position make no sense: kind and detail.
    Bad(&'static str, String),
}

/// The [`StreamParser::parse`] loop of a framed parser (length-prefixed messages
/// with a step function), written once: runs `step` (which advances `pos` over the
/// input of `len` bytes) until it waits or meets bad bytes, and applies the
/// contract's error rule — bad bytes met after progress are returned as `Ok` now
/// and kept in `latch` for the next call, which returns them as the error.
///
/// An `Err` carries the kind and detail; the caller counts it, enters its
/// resynchronisation mode and builds the [`ParseError`] with its offset.
///
/// ```
/// use ks_proto::{run_steps, Step};
/// let mut latch = None;
/// // Two 2-byte messages, then garbage.
/// let data = [2, 0, 2, 0, 0xff];
/// let step = |pos: &mut usize| match data.get(*pos) {
///     None => Step::Wait(1),
///     Some(2) => { *pos += 2; Step::Continue }
///     Some(_) => Step::Bad("bad-length", "not a message".into()),
/// };
/// let first = run_steps(&mut latch, data.len(), step).unwrap();
/// assert_eq!((first.consumed, first.needed), (4, 0));
/// // The next call reports the garbage.
/// assert_eq!(run_steps(&mut latch, 1, |_| Step::Continue).unwrap_err().0, "bad-length");
/// ```
pub fn run_steps(
    latch: &mut Option<(&'static str, String)>,
    len: usize,
    mut step: impl FnMut(&mut usize) -> Step,
) -> Result<Parsed, (&'static str, String)> {
    if let Some(e) = latch.take() {
        return Err(e);
    }
    let mut pos = 0;
    let needed = loop {
        match step(&mut pos) {
            Step::Continue => {}
            // Unconsumed bytes remain: ask for at least one more (the contract).
            Step::Wait(n) => break if pos < len { n.max(1) } else { n },
            Step::Bad(kind, message) => {
                if pos == 0 {
                    return Err((kind, message));
                }
                *latch = Some((kind, message));
                break 0;
            }
        }
    };
    Ok(Parsed {
        consumed: pos,
        needed,
    })
}

/// A streaming parser for one connection (both directions).
///
/// The engine owns buffering: `data` passed to [`StreamParser::parse`] always starts
/// at the first byte not yet consumed in that direction.
pub trait StreamParser {
    /// A typed message (or event) produced by the parser.
    type Message;

    /// Cheap check of the first bytes of one direction. Must not allocate.
    fn probe(input: &ProbeInput<'_>) -> Probe
    where
        Self: Sized;

    /// Parse bytes of one direction. Complete messages are pushed to `out`.
    ///
    /// An `Err` consumes nothing: its `offset` is the first byte of `data`, and the
    /// parser is now resynchronising, so the engine counts the error and calls
    /// again with the same bytes, which the parser then skips up to the next
    /// plausible message start. (Progress made before the bad bytes in the same
    /// call is returned as `Ok` first; the next call returns the `Err`.)
    /// Whenever unconsumed bytes remain, `needed` is at least 1, so a caller
    /// honouring it never spins — except right before an error: a call that
    /// made progress and then met bad bytes returns `Ok` with `needed: 0`, and
    /// the next call (which the caller makes after any progress) returns the `Err`.
    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Self::Message>,
    ) -> Result<Parsed, ParseError>;

    /// `len` bytes are missing in `dir` (capture loss). The parser drops what it
    /// cannot finish and resynchronises. The engine first drops the bytes it held
    /// unconsumed for `dir` and counts them in `len`, so the parser's offsets stay
    /// equal to the stream's.
    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Self::Message>);

    /// The direction ended (FIN, RST, idle timeout or end of capture); flush
    /// messages delimited by the close.
    fn end(&mut self, dir: Direction, out: &mut Vec<Self::Message>);

    /// Absolute stream offset of the first byte of the message in progress in
    /// `dir` (or of the next byte to parse when none is in progress). The engine
    /// uses it to map message starts back to capture frames.
    fn low_water(&self, dir: Direction) -> u64;

    /// `Some` once the connection has switched to another protocol (HTTP 101,
    /// CONNECT 2xx, StartTLS); bytes after the switch belong to it. The parser
    /// stops consuming at the switch point.
    fn handoff(&self) -> Option<Protocol>;
}
