//! DNS dissector for ks: messages over UDP (one per datagram), over TCP (RFC 1035
//! 4.2.2 length prefix, several per segment or one over many) and mDNS, decoded with
//! [hickory-proto](https://crates.io/crates/hickory-proto) and paired by transaction id.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_dns::{DnsConfig, DnsParser, Message, Transport};
//!
//! // A query for example.com A (id 0x1234, RD) and its answer, as two UDP datagrams.
//! let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
//! let mut r = q.to_vec();
//! r[2] = 0x81; r[3] = 0x80; r[7] = 1; // QR RD RA, one answer
//! r.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22");
//! let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Udp, false);
//! let mut out = Vec::new();
//! p.parse(Direction::ToServer, q, &mut out).unwrap();
//! p.parse(Direction::ToClient, &r, &mut out).unwrap();
//! match &out[..] {
//!     [Message::Exchange(x)] => assert_eq!(x.summary(), "A example.com → NOERROR 1 answer"),
//!     o => panic!("{o:?}"),
//! }
//! ```
//!
//! Pure: bytes in, typed messages out; no I/O, no panics on any input, every list
//! capped (`DnsConfig`). docs/dns.md has the design and the caps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod message;
mod probe;

pub use message::{decode, rcode_name, DnsMessage, EdnsInfo, EdnsOpt, Question, Rr};
pub use probe::probe_datagram;

use ks_proto::{Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, StreamParser};
use serde::Serialize;
use std::collections::VecDeque;

/// Caps and switches.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// Records listed per section (and questions); the header counts stay exact.
    pub max_records: usize,
    /// Queries awaiting their response on one flow; the oldest is flushed unanswered.
    pub max_pending: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            max_records: 100,
            max_pending: 256,
        }
    }
}

/// How messages are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One message per call (a UDP datagram).
    Udp,
    /// A stream of messages, each after a 2-byte length.
    Tcp,
}

/// A query and its response (either may be missing).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// The query; `None` for a response whose query was not seen.
    pub request: Option<DnsMessage>,
    /// The response; `None` when unanswered.
    pub response: Option<DnsMessage>,
    /// Why it is one-sided, or that it is a further response to an answered query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A message that is not paired: mDNS (queries and announcements are multicast and
/// answered by anyone, or by no one), or a query from the server side / a response
/// from the client side of the flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWay {
    /// Direction it went.
    #[serde(skip)]
    pub dir: Direction,
    /// The message.
    pub message: DnsMessage,
}

/// What the parser emits.
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// Something worth counting: `not-dns` (a datagram too short for a header),
/// `too-short` (a TCP length below a header), `pending-capped`, `gap`.
pub type Event = ks_proto::ParserEvent;

/// Counters of one parser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCounters {
    /// Messages read.
    pub messages: u64,
    /// Messages whose sections hickory-proto could not decode (header kept).
    pub undecoded: u64,
    /// Responses to a query already answered (a second answer, or a duplicate).
    pub repeated_responses: u64,
    /// Queries sent again while the first was unanswered.
    pub retransmissions: u64,
    /// Queries flushed unanswered by `max_pending`.
    pub pending_capped: u64,
    /// Datagrams or TCP messages too short for a header.
    pub not_dns: u64,
}

/// The note on a retried query: its response is in the first query's exchange.
pub const RETRANSMISSION: &str = "retransmission: the response is paired with the first query";

/// Answered ids remembered, to tell a second response from an unknown one.
const ANSWERED: usize = 16;

/// DNS parser for one flow (both directions).
pub struct DnsParser {
    cfg: DnsConfig,
    transport: Transport,
    mdns: bool,
    offset: [u64; 2],
    pending: VecDeque<DnsMessage>,
    /// (id, first question) of recently answered queries.
    answered: VecDeque<(u16, Option<(String, u16)>)>,
    counters: DnsCounters,
    /// TCP framing lost in that direction (after a gap): the rest is skipped.
    lost: [bool; 2],
    ended: [bool; 2],
}

impl DnsParser {
    /// A parser; `start` is the absolute offset of the first byte per direction,
    /// `mdns` makes every message one-way (multicast DNS, port 5353).
    pub fn new(cfg: DnsConfig, start: [u64; 2], transport: Transport, mdns: bool) -> Self {
        DnsParser {
            cfg,
            transport,
            mdns,
            offset: start,
            pending: VecDeque::new(),
            answered: VecDeque::with_capacity(ANSWERED),
            counters: DnsCounters::default(),
            lost: [false; 2],
            ended: [false; 2],
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> DnsCounters {
        self.counters
    }

    fn event(&self, out: &mut Vec<Message>, kind: &'static str, message: String, dir: Direction) {
        out.push(Message::Event(Event {
            kind,
            message,
            dir,
            offset: self.offset[dir.index()],
        }));
    }

    /// One whole message `b` of `dir` at absolute `start`.
    fn message(&mut self, dir: Direction, b: &[u8], start: u64, end: u64, out: &mut Vec<Message>) {
        let Some(mut m) = decode(b, &self.cfg) else {
            self.counters.not_dns += 1;
            self.event(
                out,
                "not-dns",
                format!("{} bytes, no DNS header", b.len()),
                dir,
            );
            return;
        };
        m.start = start;
        m.end = end;
        self.counters.messages += 1;
        self.counters.undecoded += u64::from(m.error.is_some());
        // mDNS, and a query sent by the server side or a response by the client side
        // (peers that both ask, such as two name servers on port 53): not paired,
        // so that each message keeps the direction it went.
        if self.mdns || m.response == (dir == Direction::ToServer) {
            out.push(Message::OneWay(Box::new(OneWay { dir, message: m })));
            return;
        }
        if !m.response {
            let key = question_key(&m);
            m.retransmission = self
                .pending
                .iter()
                .any(|q| q.id == m.id && question_key(q) == key);
            if self.pending.len() >= self.cfg.max_pending {
                if let Some(old) = self.pending.pop_front() {
                    self.counters.pending_capped += 1;
                    self.event(
                        out,
                        "pending-capped",
                        format!("query id {} flushed", old.id),
                        dir,
                    );
                    out.push(exchange(
                        Some(old),
                        None,
                        Some("no response (pending queries capped)"),
                    ));
                }
            }
            self.pending.push_back(m);
            return;
        }
        let key = question_key(&m);
        let found = self
            .pending
            .iter()
            .position(|q| q.id == m.id && (key.is_none() || question_key(q) == key))
            .or_else(|| self.pending.iter().position(|q| q.id == m.id));
        if let Some(i) = found {
            if let Some(q) = self.pending.remove(i) {
                if self.answered.len() == ANSWERED {
                    self.answered.pop_front();
                }
                let qk = question_key(&q);
                self.answered.push_back((q.id, qk.clone()));
                // Its retries are over too: out now, each as its own one-sided entry.
                let (id, mut retries) = (q.id, Vec::new());
                self.pending.retain(|p| {
                    let retry = p.retransmission && p.id == id && question_key(p) == qk;
                    if retry {
                        retries.push(p.clone());
                    }
                    !retry
                });
                out.push(exchange(Some(q), Some(m), None));
                for r in retries {
                    self.counters.retransmissions += 1;
                    out.push(exchange(Some(r), None, Some(RETRANSMISSION)));
                }
            }
            return;
        }
        let repeated = self
            .answered
            .iter()
            .any(|(id, k)| *id == m.id && (key.is_none() || *k == key));
        let note = if repeated {
            self.counters.repeated_responses += 1;
            "another response to a query already answered"
        } else {
            "no query with this id"
        };
        out.push(exchange(None, Some(m), Some(note)));
    }

    fn flush(&mut self, out: &mut Vec<Message>) {
        while let Some(q) = self.pending.pop_front() {
            out.push(exchange(Some(q), None, None));
        }
    }
}

fn exchange(q: Option<DnsMessage>, r: Option<DnsMessage>, note: Option<&str>) -> Message {
    Message::Exchange(Box::new(Exchange {
        request: q,
        response: r,
        note: note.map(str::to_string),
    }))
}

fn question_key(m: &DnsMessage) -> Option<(String, u16)> {
    m.questions
        .first()
        .map(|q| (q.name.to_ascii_lowercase(), q.type_value))
}

impl StreamParser for DnsParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        probe::probe(input)
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        match self.transport {
            Transport::Udp => {
                let start = self.offset[d];
                self.offset[d] += data.len() as u64;
                self.message(dir, data, start, start + data.len() as u64, out);
                Ok(Parsed {
                    consumed: data.len(),
                    needed: 0,
                })
            }
            Transport::Tcp if self.lost[d] => {
                self.offset[d] += data.len() as u64;
                Ok(Parsed {
                    consumed: data.len(),
                    needed: 0,
                })
            }
            Transport::Tcp => {
                let mut pos = 0;
                loop {
                    let rest = &data[pos..];
                    if rest.len() < 2 {
                        return Ok(Parsed {
                            consumed: pos,
                            needed: 2 - rest.len(),
                        });
                    }
                    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    if rest.len() < 2 + len {
                        return Ok(Parsed {
                            consumed: pos,
                            needed: 2 + len - rest.len(),
                        });
                    }
                    let start = self.offset[d];
                    self.offset[d] += 2 + len as u64;
                    if len < 12 {
                        // Not a DNS message; framing goes on (a 2-byte length cannot
                        // run away, so there is nothing to resynchronise).
                        self.counters.not_dns += 1;
                        self.event(out, "too-short", format!("message of {len} bytes"), dir);
                    } else {
                        self.message(dir, &rest[2..2 + len], start, self.offset[d], out);
                    }
                    pos += 2 + len;
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        // Over TCP the framing is lost with the bytes; DNS over TCP has no marker to
        // find the next message by, so the rest of this direction is not parsed.
        self.offset[dir.index()] += len;
        self.event(out, "gap", format!("{len} bytes lost"), dir);
        if self.transport == Transport::Tcp {
            self.lost[dir.index()] = true;
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        // Queries wait for their responses until both directions are over.
        self.ended[dir.index()] = true;
        if self.ended == [true, true] {
            self.flush(out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let d = dir.index();
        match dir {
            Direction::ToServer => self.pending.front().map_or(self.offset[d], |q| q.start),
            Direction::ToClient => self.offset[d],
        }
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}

impl DnsMessage {
    /// `A example.com` (first question), `UPDATE example.com`, or `id 4660` without one.
    pub fn question_label(&self) -> String {
        let q = self.questions.first();
        let what = match (self.opcode.as_str(), q) {
            ("QUERY", Some(q)) => format!("{} {}", q.qtype, q.name),
            (op, Some(q)) => format!("{op} {}", q.name),
            (op, None) => format!("{op} id {}", self.id),
        };
        if self.questions.len() > 1 {
            format!("{what} (+{} questions)", self.questions.len() - 1)
        } else {
            what
        }
    }

    /// `NOERROR 2 answers`, `NXDOMAIN`, `NOERROR 0 answers truncated`.
    pub fn result_label(&self) -> String {
        let mut s = self.rcode.clone();
        if self.rcode_value == 0 || self.counts[1] > 0 {
            let n = self.counts[1];
            s.push_str(&format!(" {n} answer{}", if n == 1 { "" } else { "s" }));
        }
        if self.flags.contains(&"tc") {
            s.push_str(" truncated");
        }
        s
    }
}

impl Exchange {
    /// `A example.com → NOERROR 2 answers`; `?` for a missing query, `(no response)`.
    pub fn summary(&self) -> String {
        let left = match (&self.request, &self.response) {
            (Some(q), _) => q.question_label(),
            (None, Some(r)) => format!("? ({})", r.question_label()),
            (None, None) => "?".to_string(),
        };
        let right = match (&self.response, self.note.as_deref()) {
            (Some(r), _) => r.result_label(),
            (None, Some(RETRANSMISSION)) => "(retransmitted; answered in the first)".to_string(),
            (None, _) => "(no response)".to_string(),
        };
        format!("{left} → {right}")
    }
}

impl OneWay {
    /// `query PTR _http._tcp.local`, `response PTR _http._tcp.local: NOERROR 3 answers`.
    pub fn summary(&self) -> String {
        let m = &self.message;
        if m.response {
            format!("response {}: {}", m.question_label(), m.result_label())
        } else {
            format!("query {}", m.question_label())
        }
    }
}
