//! DIAMETER dissector for ks (RFC 6733 base, RFC 4006 credit control and the common
//! 3GPP interfaces) over TCP and SCTP: messages framed by their length, AVPs named
//! and rendered (grouped ones as trees), requests paired with their answers by
//! hop-by-hop id *per direction*, since both peers send requests.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_diameter::{DiameterConfig, DiameterParser, Message};
//!
//! // A DIAMETER message: 20-byte header, then AVPs (code, flags, length, data, padding).
//! fn msg(flags: u8, cmd: u32, hbh: u32, avps: &[(u32, &[u8])]) -> Vec<u8> {
//!     let mut body = Vec::new();
//!     for (code, data) in avps {
//!         body.extend(code.to_be_bytes());
//!         body.extend((0x4000_0000u32 | (8 + data.len() as u32)).to_be_bytes());
//!         body.extend(*data);
//!         body.resize(body.len().next_multiple_of(4), 0);
//!     }
//!     let mut m = (0x0100_0000u32 | (20 + body.len() as u32)).to_be_bytes().to_vec();
//!     m.extend((u32::from(flags) << 24 | cmd).to_be_bytes());
//!     m.extend(4u32.to_be_bytes()); // application: Diameter Credit Control
//!     m.extend(hbh.to_be_bytes());
//!     m.extend(7u32.to_be_bytes()); // end-to-end id
//!     m.extend(body);
//!     m
//! }
//! // CCR (R flag) with Session-Id and CC-Request-Type INITIAL_REQUEST, then its CCA.
//! let ccr = msg(0x80, 272, 42, &[(263, b"gw;1"), (416, &1u32.to_be_bytes())]);
//! let cca = msg(0x00, 272, 42, &[(263, b"gw;1"), (268, &2001u32.to_be_bytes())]);
//!
//! let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
//! let mut out = Vec::new();
//! p.parse(Direction::ToServer, &ccr, &mut out).unwrap();
//! p.parse(Direction::ToClient, &cca, &mut out).unwrap();
//! let Message::Exchange(x) = &out[0] else { panic!("{out:?}") };
//! assert_eq!(x.summary(), "CCR → 2001 INITIAL session=gw;1");
//! assert_eq!(x.request_dir, Direction::ToServer);
//! let req = x.request.as_ref().unwrap();
//! assert_eq!(req.avps[1].value.as_deref(), Some("1 (INITIAL_REQUEST)"));
//! assert_eq!(x.response.as_ref().unwrap().result_code, Some(2001));
//! ```
//!
//! Framing, pairing, caps and the dictionary's sources are described in
//! `docs/diameter.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod avp;
mod dict;

use std::collections::VecDeque;

pub use avp::{ntp_to_rfc3339, Avp, AVP_FLAG_MANDATORY, AVP_FLAG_PROTECTED, AVP_FLAG_VENDOR};
pub use dict::{
    application, cc_request_type, command, experimental_result_code, result_class, result_code,
    VENDOR_3GPP,
};
use ks_proto::{
    run_steps, Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, Step,
    StreamParser, Verdict,
};
use serde::Serialize;

/// The IANA DIAMETER port (TCP and SCTP).
pub const PORT: u16 = 3868;
/// Bytes of the message header.
pub const HEADER_LEN: usize = 20;
/// AVPs kept per message, all nesting levels together; past it the AVPs are still
/// walked and counted (`avp_count`) but not listed (`avps_truncated`).
pub const MAX_AVPS: usize = 1024;
/// Nesting levels of grouped AVPs decoded (top level is 1); a grouped AVP deeper is
/// shown as hex with an error.
pub const MAX_DEPTH: usize = 8;
/// Bytes of one AVP value rendered; longer values are cut (`… (N bytes)`).
pub const MAX_VALUE_BYTES: usize = 512;
/// Default `max_message`: DIAMETER messages are small (a few KiB at most in practice).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Default `max_pending`.
pub const MAX_PENDING: usize = 1024;
/// Message lengths above this are never DIAMETER (probe): the 24-bit length allows
/// 16 MiB.
const PLAUSIBLE_LENGTH: u32 = 1 << 24;

/// Header flag bits (RFC 6733 section 3).
pub const FLAG_REQUEST: u8 = 0x80;
/// Proxiable.
pub const FLAG_PROXIABLE: u8 = 0x40;
/// Error: the answer carries a protocol error (3xxx).
pub const FLAG_ERROR: u8 = 0x20;
/// Potentially retransmitted.
pub const FLAG_RETRANSMIT: u8 = 0x10;
/// Reserved flag bits: must be zero.
const FLAG_RESERVED: u8 = 0x0f;

/// Limits of the parser.
#[derive(Debug, Clone)]
pub struct DiameterConfig {
    /// Largest message accepted; a longer header length is a `too-large` parse error
    /// followed by resynchronisation.
    pub max_message: usize,
    /// Requests awaiting their answer (both directions together); beyond, the oldest
    /// is flushed unanswered with a `pending-capped` event.
    pub max_pending: usize,
}

impl Default for DiameterConfig {
    fn default() -> Self {
        DiameterConfig {
            max_message: MAX_MESSAGE,
            max_pending: MAX_PENDING,
        }
    }
}

/// Counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DiameterCounters {
    /// Messages decoded.
    pub messages: u64,
    /// Requests among them.
    pub requests: u64,
    /// Answers among them.
    pub answers: u64,
    /// Exchanges emitted (paired, unanswered or answer-only).
    pub exchanges: u64,
    /// Requests flushed without an answer.
    pub unanswered: u64,
    /// Answers whose request was not seen.
    pub orphan_answers: u64,
    /// Messages with a malformed AVP (the AVPs before it are kept).
    pub malformed: u64,
    /// Messages with more than `MAX_AVPS` AVPs.
    pub avps_truncated: u64,
    /// Parse errors returned.
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation (errors and gaps).
    pub resyncs: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Requests flushed because `max_pending` were waiting.
    pub pending_capped: u64,
    /// Requests flushed because a new request reused their hop-by-hop id.
    pub duplicate_hop_by_hop: u64,
    /// Gaps (capture loss) reported.
    pub gaps: u64,
}

/// Experimental-Result (RFC 6733 section 7.6): a vendor's result code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExperimentalResult {
    /// Vendor-Id (10415 for 3GPP).
    pub vendor_id: u32,
    /// Experimental-Result-Code.
    pub code: u32,
    /// Name for the 3GPP codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
}

/// One DIAMETER message (request or answer).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiameterMessage {
    /// Absolute offset of the first byte (bytes counted per direction).
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// Version (always 1).
    pub version: u8,
    /// Message length from the header.
    pub length: u32,
    /// Raw flag byte (R 0x80, P 0x40, E 0x20, T 0x10).
    pub flags: u8,
    /// Flags as tshark shows them: `R`, `P`, `E`, `T` or `-` for each (`R---`, `-P--`).
    pub flags_text: String,
    /// The R flag.
    pub is_request: bool,
    /// Command code.
    pub command_code: u32,
    /// Abbreviation: `CCR`, `CCA`, `CER`...; `Cmd-<n>-R` / `Cmd-<n>-A` when unknown.
    pub command_name: String,
    /// Long command name (`Credit-Control`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_long_name: Option<&'static str>,
    /// Application id from the header.
    pub application_id: u32,
    /// Its name (`Diameter Credit Control`, `3GPP Gx`...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<&'static str>,
    /// Hop-by-hop identifier (pairs a request with its answer on a connection).
    pub hop_by_hop: u32,
    /// End-to-end identifier (detects duplicates across relays).
    pub end_to_end: u32,
    /// Session-Id AVP (top level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Origin-Host AVP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_host: Option<String>,
    /// Origin-Realm AVP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_realm: Option<String>,
    /// Result-Code AVP (answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<u32>,
    /// Its name (`DIAMETER_SUCCESS`), for the RFC 6733 / 4006 codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_name: Option<&'static str>,
    /// Class of the Result-Code (or else of the Experimental-Result-Code):
    /// `informational`, `success`, `protocol-error`, `transient-failure`,
    /// `permanent-failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_class: Option<&'static str>,
    /// Experimental-Result AVP (answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental_result: Option<ExperimentalResult>,
    /// Error-Message AVP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// CC-Request-Type AVP (credit control: 1 initial, 2 update, 3 termination, 4 event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc_request_type: Option<u32>,
    /// The AVP tree (at most `MAX_AVPS` AVPs, all levels together).
    pub avps: Vec<Avp>,
    /// AVPs met, all levels, including those past the cap.
    pub avp_count: usize,
    /// More than `MAX_AVPS` AVPs: `avps` lists the first ones.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub avps_truncated: bool,
    /// What could not be read (an AVP that does not fit, a value of the wrong size);
    /// the header and the AVPs before it are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DiameterMessage {
    /// The E flag.
    pub fn error_flag(&self) -> bool {
        self.flags & FLAG_ERROR != 0
    }

    /// First top-level AVP named `name`.
    pub fn avp(&self, name: &str) -> Option<&Avp> {
        self.avps.iter().find(|a| a.name == name)
    }

    /// The result as the summaries show it: the Result-Code number, else
    /// `exp:<code>` for an Experimental-Result, else `?`.
    pub fn result(&self) -> String {
        match (self.result_code, &self.experimental_result) {
            (Some(c), _) => c.to_string(),
            (None, Some(e)) => format!("exp:{}", e.code),
            (None, None) => "?".to_string(),
        }
    }

    /// One line for the message alone: `CCR session=gw;1`, `CCA 2001 session=gw;1`
    /// (answers carry their result).
    pub fn label(&self) -> String {
        let mut s = self.command_name.clone();
        if !self.is_request {
            s.push(' ');
            s.push_str(&self.result());
        }
        if let Some(d) = self.detail() {
            s.push(' ');
            s.push_str(&d);
        }
        s
    }

    /// What identifies the message beyond its command: the CC-Request-Type and the
    /// Session-Id, or the Origin-Host for the peer messages (no session).
    fn detail(&self) -> Option<String> {
        let kind = self
            .cc_request_type
            .and_then(cc_request_type)
            .map(|n| n.trim_end_matches("_REQUEST"));
        let who = match &self.session_id {
            Some(s) => Some(format!("session={s}")),
            None => self.origin_host.as_ref().map(|h| format!("origin={h}")),
        };
        match (kind, who) {
            (Some(k), Some(w)) => Some(format!("{k} {w}")),
            (Some(k), None) => Some(k.to_string()),
            (None, w) => w,
        }
    }
}

/// A request and its answer (either may be missing).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// Direction the request went (for an answer without request: the direction it
    /// would have gone, the reverse of the answer's). Both peers send requests in
    /// DIAMETER, so this is what says who asked.
    #[serde(skip)]
    pub request_dir: Direction,
    /// The request; `None` for an answer whose request was not seen.
    pub request: Option<DiameterMessage>,
    /// The answer; `None` when unanswered (at the end, or flushed by a cap).
    pub response: Option<DiameterMessage>,
}

impl Exchange {
    /// One line: `CCR → 2001 INITIAL session=gw;1`, `CER → 2001 origin=host.example`,
    /// `DWR → 2001 origin=peer`, `ULR → exp:5001 session=…` (Experimental-Result),
    /// `CCR → (no answer) …` when unanswered, `CCA → 2001 …` for an answer whose
    /// request was not seen. The first token is always the command abbreviation and
    /// the token after the arrow the result.
    pub fn summary(&self) -> String {
        let (left, right) = match (&self.request, &self.response) {
            (Some(q), Some(r)) => (q, r.result()),
            (Some(q), None) => (q, "(no answer)".to_string()),
            (None, Some(r)) => (r, r.result()),
            (None, None) => return "? → ?".to_string(),
        };
        let detail = left
            .detail()
            .or_else(|| self.response.as_ref().and_then(DiameterMessage::detail));
        match detail {
            Some(d) => format!("{} → {right} {d}", left.command_name),
            None => format!("{} → {right}", left.command_name),
        }
    }

    /// One line for an exchange with a single message: its [`DiameterMessage::label`].
    pub fn label(&self) -> String {
        match (&self.request, &self.response) {
            (Some(q), None) => q.label(),
            (None, Some(r)) => r.label(),
            _ => self.summary(),
        }
    }
}

/// A message outside any exchange. The parser pairs every request and answer into
/// an [`Exchange`] (answer-only and unanswered ones included), so it emits none of
/// these today; the variant keeps the shape shared with the other `ks-proto-*`
/// crates (`Paired<Exchange, OneWay>`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWay {
    /// Direction it went.
    #[serde(skip)]
    pub dir: Direction,
    /// The message.
    pub message: DiameterMessage,
}

impl OneWay {
    /// The message's [`DiameterMessage::label`].
    pub fn summary(&self) -> String {
        self.message.label()
    }
}

/// Something worth counting: `pending-capped`, `duplicate-hop-by-hop`, `gap`.
pub type Event = ks_proto::ParserEvent;

/// Output of [`DiameterParser`].
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// Command abbreviation: `CCR` / `CCA`, `Cmd-<n>-R` / `Cmd-<n>-A` when unknown.
pub fn command_name(code: u32, request: bool) -> String {
    match command(code) {
        Some((stem, _)) => format!("{stem}{}", if request { 'R' } else { 'A' }),
        None => format!("Cmd-{code}-{}", if request { 'R' } else { 'A' }),
    }
}

fn flags_text(f: u8) -> String {
    [
        (FLAG_REQUEST, 'R'),
        (FLAG_PROXIABLE, 'P'),
        (FLAG_ERROR, 'E'),
        (FLAG_RETRANSMIT, 'T'),
    ]
    .iter()
    .map(|&(bit, c)| if f & bit != 0 { c } else { '-' })
    .collect()
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decodes one whole message (`b` holds exactly its `length` bytes, or more: the
/// rest is ignored). `None` when shorter than a header.
pub fn decode(b: &[u8], start: u64) -> Option<DiameterMessage> {
    let vl = be32(b, 0)?;
    let fc = be32(b, 4)?;
    let application_id = be32(b, 8)?;
    let hop_by_hop = be32(b, 12)?;
    let end_to_end = be32(b, 16)?;
    let length = vl & 0x00ff_ffff;
    let flags = (fc >> 24) as u8;
    let command_code = fc & 0x00ff_ffff;
    let is_request = flags & FLAG_REQUEST != 0;
    let end = (length as usize).clamp(HEADER_LEN, b.len());
    let w = avp::walk_body(&b[HEADER_LEN..end]);
    let mut error = w.error;
    if (length as usize) > b.len() || (length as usize) < HEADER_LEN {
        error = Some(format!(
            "message length {length} does not fit the {} bytes given",
            b.len()
        ));
    }
    let experimental_result = w.experimental.map(|(vendor_id, code)| ExperimentalResult {
        vendor_id,
        code,
        name: experimental_result_code(vendor_id, code),
    });
    let class_of = w
        .result_code
        .or(experimental_result.as_ref().map(|e| e.code));
    Some(DiameterMessage {
        start,
        end: start + u64::from(length),
        version: (vl >> 24) as u8,
        length,
        flags,
        flags_text: flags_text(flags),
        is_request,
        command_code,
        command_name: command_name(command_code, is_request),
        command_long_name: command(command_code).map(|c| c.1),
        application_id,
        application_name: application(application_id),
        hop_by_hop,
        end_to_end,
        session_id: w.session_id,
        origin_host: w.origin_host,
        origin_realm: w.origin_realm,
        result_code: w.result_code,
        result_name: w.result_code.and_then(result_code),
        result_class: class_of.map(result_class),
        experimental_result,
        error_message: w.error_message,
        cc_request_type: w.cc_request_type,
        avps: w.avps,
        avp_count: w.count,
        avps_truncated: w.truncated,
        error,
    })
}

/// Header plausibility at the start of `b`: `Some(true)` plausible, `Some(false)`
/// not, `None` too few bytes to say. `strict` (resynchronisation, probing off the
/// port) also wants a length multiple of 4, a known command code and a first AVP
/// that fits.
fn plausible(b: &[u8], max: usize, strict: bool) -> Option<bool> {
    if *b.first()? != 1 {
        return Some(false);
    }
    let len = be32(b, 0)? & 0x00ff_ffff;
    if (len as usize) < HEADER_LEN || len as usize > max || (strict && len % 4 != 0) {
        return Some(false);
    }
    let flags = *b.get(4)?;
    if flags & FLAG_RESERVED != 0 {
        return Some(false);
    }
    // An answer with the E bit has a 3xxx Result-Code, a request never has it.
    if flags & (FLAG_REQUEST | FLAG_ERROR) == FLAG_REQUEST | FLAG_ERROR {
        return Some(false);
    }
    if !strict {
        return Some(true);
    }
    let code = be32(b, 4)? & 0x00ff_ffff;
    if command(code).is_none() {
        return Some(false);
    }
    if len as usize == HEADER_LEN {
        return Some(true);
    }
    let avp = be32(b, 24)?;
    let (aflags, alen) = ((avp >> 24) as u8, avp & 0x00ff_ffff);
    Some(aflags & 0x1f == 0 && alen >= 8 && alen <= len - HEADER_LEN as u32)
}

/// Bytes `plausible(.., strict)` looks at.
const STRICT_WINDOW: usize = 28;

enum Mode {
    Idle,
    /// Looking for a plausible message start; `skip` says the first byte is where
    /// the error was found and cannot be one.
    Resync {
        skip: bool,
    },
}

struct DirState {
    offset: u64,
    mode: Mode,
    ended: bool,
    /// Bad bytes met after progress in the same call: reported by the next call.
    err_next: Option<(&'static str, String)>,
}

/// DIAMETER parser for one connection (both directions).
pub struct DiameterParser {
    cfg: DiameterConfig,
    counters: DiameterCounters,
    dirs: [DirState; 2],
    /// Requests awaiting their answer, oldest first, with the direction they went.
    pending: VecDeque<(Direction, DiameterMessage)>,
}

impl DiameterParser {
    /// A parser for one connection; `start` is the absolute offset of the first
    /// byte passed per direction (index [`Direction::index`]).
    pub fn new(cfg: DiameterConfig, start: [u64; 2]) -> Self {
        let d = |o| DirState {
            offset: o,
            mode: Mode::Idle,
            ended: false,
            err_next: None,
        };
        DiameterParser {
            cfg,
            counters: DiameterCounters::default(),
            dirs: [d(start[0]), d(start[1])],
            pending: VecDeque::new(),
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> DiameterCounters {
        self.counters
    }

    /// Requests awaiting their answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn emit(&mut self, x: Exchange, out: &mut Vec<Message>) {
        self.counters.exchanges += 1;
        if x.response.is_none() {
            self.counters.unanswered += 1;
        }
        out.push(Message::Exchange(Box::new(x)));
    }

    fn unanswered(&mut self, dir: Direction, q: DiameterMessage, out: &mut Vec<Message>) {
        self.emit(
            Exchange {
                request_dir: dir,
                request: Some(q),
                response: None,
            },
            out,
        );
    }

    fn on_message(&mut self, dir: Direction, m: DiameterMessage, out: &mut Vec<Message>) {
        self.counters.messages += 1;
        self.counters.malformed += u64::from(m.error.is_some());
        self.counters.avps_truncated += u64::from(m.avps_truncated);
        if m.is_request {
            self.counters.requests += 1;
            self.on_request(dir, m, out);
            return;
        }
        self.counters.answers += 1;
        // The request went the other way; prefer the same command (a hop-by-hop id is
        // only unique per sender), then any command.
        let want = dir.reverse();
        let i = self
            .pending
            .iter()
            .position(|(d, q)| {
                *d == want && q.hop_by_hop == m.hop_by_hop && q.command_code == m.command_code
            })
            .or_else(|| {
                self.pending
                    .iter()
                    .position(|(d, q)| *d == want && q.hop_by_hop == m.hop_by_hop)
            });
        let q = i.and_then(|i| self.pending.remove(i)).map(|(_, q)| q);
        if q.is_none() {
            self.counters.orphan_answers += 1;
        }
        self.emit(
            Exchange {
                request_dir: want,
                request: q,
                response: Some(m),
            },
            out,
        );
    }

    fn on_request(&mut self, dir: Direction, m: DiameterMessage, out: &mut Vec<Message>) {
        if let Some(i) = self
            .pending
            .iter()
            .position(|(d, q)| *d == dir && q.hop_by_hop == m.hop_by_hop)
        {
            if let Some((d, old)) = self.pending.remove(i) {
                // A retransmission (T flag) or a reused id: the old one will not be
                // answered as such.
                self.counters.duplicate_hop_by_hop += 1;
                Message::push_event(
                    out,
                    "duplicate-hop-by-hop",
                    format!(
                        "hop-by-hop id {:#010x} reused before its answer{}",
                        m.hop_by_hop,
                        if m.flags & FLAG_RETRANSMIT != 0 {
                            " (retransmission)"
                        } else {
                            ""
                        }
                    ),
                    dir,
                    m.start,
                );
                self.unanswered(d, old, out);
            }
        }
        if self.pending.len() >= self.cfg.max_pending.max(1) {
            if let Some((d, old)) = self.pending.pop_front() {
                self.counters.pending_capped += 1;
                Message::push_event(
                    out,
                    "pending-capped",
                    format!("{} requests awaiting answers", self.cfg.max_pending),
                    d,
                    old.start,
                );
                self.unanswered(d, old, out);
            }
        }
        self.pending.push_back((dir, m));
    }

    /// One message at `data[*pos..]`.
    fn step(
        &mut self,
        dir: Direction,
        data: &[u8],
        pos: &mut usize,
        out: &mut Vec<Message>,
    ) -> Step {
        let d = dir.index();
        let rest = data.get(*pos..).unwrap_or_default();
        if let Mode::Resync { skip } = &mut self.dirs[d].mode {
            if std::mem::take(skip) && !rest.is_empty() {
                *pos += 1;
                self.counters.skipped_bytes += 1;
            }
            return self.resync(dir, data, pos);
        }
        if rest.len() < HEADER_LEN {
            // Reject early what cannot start a message, so that garbage is reported
            // without waiting for 20 bytes.
            return match plausible(rest, self.cfg.max_message, false) {
                Some(false) => self.bad_header(rest),
                _ => Step::Wait(HEADER_LEN - rest.len()),
            };
        }
        if plausible(rest, self.cfg.max_message, false) != Some(true) {
            return self.bad_header(rest);
        }
        let len = be32(rest, 0).map_or(0, |v| (v & 0x00ff_ffff) as usize);
        if rest.len() < len {
            return Step::Wait(len - rest.len());
        }
        let start = self.dirs[d].offset + *pos as u64;
        if let Some(m) = decode(&rest[..len], start) {
            self.on_message(dir, m, out);
        }
        *pos += len;
        Step::Continue
    }

    /// Why the header at the start of `b` is rejected.
    fn bad_header(&self, b: &[u8]) -> Step {
        let version = b.first().copied().unwrap_or(0);
        if version != 1 {
            return Step::Bad("bad-version", format!("version {version}, not 1"));
        }
        let len = be32(b, 0).map_or(0, |v| v & 0x00ff_ffff);
        if (len as usize) < HEADER_LEN {
            return Step::Bad("bad-length", format!("message length {len} below 20"));
        }
        if len as usize > self.cfg.max_message {
            return Step::Bad(
                "too-large",
                format!(
                    "message length {len} above max_message {}",
                    self.cfg.max_message
                ),
            );
        }
        let flags = b.get(4).copied().unwrap_or(0);
        Step::Bad("bad-flags", format!("header flags {flags:#04x} not valid"))
    }

    /// Skips to the next plausible message start (strict header check).
    fn resync(&mut self, dir: Direction, data: &[u8], pos: &mut usize) -> Step {
        let d = dir.index();
        while let Some(c) = data.get(*pos..).filter(|c| !c.is_empty()) {
            match plausible(c, self.cfg.max_message, true) {
                Some(true) => {
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                Some(false) => {
                    *pos += 1;
                    self.counters.skipped_bytes += 1;
                }
                None => return Step::Wait(STRICT_WINDOW.saturating_sub(c.len()).max(1)),
            }
        }
        Step::Wait(STRICT_WINDOW)
    }

    fn enter_resync(&mut self, d: usize) {
        self.counters.resyncs += 1;
        self.dirs[d].mode = Mode::Resync { skip: true };
    }
}

impl StreamParser for DiameterParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        let b = input.data;
        let on_port = input.src_port == PORT || input.dst_port == PORT;
        let unsure = Probe {
            verdict: Verdict::Unsure,
            sender: None,
        };
        match plausible(b, PLAUSIBLE_LENGTH as usize, false) {
            Some(false) => return Probe::NOT_MINE,
            None => return unsure,
            Some(true) if b.len() < HEADER_LEN => return unsure,
            Some(true) => {}
        }
        let sure = on_port || plausible(b, PLAUSIBLE_LENGTH as usize, true) == Some(true);
        if !sure {
            // Known command but the first AVP is not there yet.
            if b.len() < STRICT_WINDOW && command(be32(b, 4).unwrap_or(0) & 0x00ff_ffff).is_some() {
                return unsure;
            }
            return Probe::NOT_MINE;
        }
        // Requests come from either peer, but the first message of a connection is
        // the initiator's CER: take the R flag as the role of the sender.
        let request = b.get(4).is_some_and(|f| f & FLAG_REQUEST != 0);
        Probe {
            verdict: Verdict::Certain,
            sender: Some(if request { Role::Client } else { Role::Server }),
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let mut latch = self.dirs[d].err_next.take();
        let r = run_steps(&mut latch, data.len(), |pos| self.step(dir, data, pos, out));
        self.dirs[d].err_next = latch;
        match r {
            Ok(p) => {
                self.dirs[d].offset += p.consumed as u64;
                Ok(p)
            }
            Err((kind, message)) => {
                self.counters.parse_errors += 1;
                self.enter_resync(d);
                Err(ParseError {
                    kind,
                    message,
                    offset: self.dirs[d].offset,
                })
            }
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        let at = self.dirs[d].offset;
        self.dirs[d].offset += len;
        self.dirs[d].err_next = None;
        self.counters.gaps += 1;
        self.counters.resyncs += 1;
        Message::push_event(out, "gap", format!("{len} bytes missing"), dir, at);
        // The next byte may well start a message (SCTP delivers whole ones): look
        // at it first.
        self.dirs[d].mode = Mode::Resync { skip: false };
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        self.dirs[dir.index()].ended = true;
        if self.dirs.iter().all(|s| s.ended) {
            while let Some((d, q)) = self.pending.pop_front() {
                self.unanswered(d, q, out);
            }
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let off = self.dirs[dir.index()].offset;
        self.pending
            .iter()
            .find(|(d, _)| *d == dir)
            .map_or(off, |(_, q)| q.start.min(off))
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_render_like_tshark() {
        assert_eq!(flags_text(0x80), "R---");
        assert_eq!(flags_text(0x40), "-P--");
        assert_eq!(flags_text(0xf0), "RPET");
    }

    #[test]
    fn command_names() {
        assert_eq!(command_name(272, true), "CCR");
        assert_eq!(command_name(257, false), "CEA");
        assert_eq!(command_name(9999, true), "Cmd-9999-R");
    }
}
