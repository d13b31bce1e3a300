//! LDAP (RFC 4511) over TCP and CLDAP over UDP for ks: every operation decoded,
//! search filters rendered as RFC 4515 strings, requests paired with their responses
//! by messageID, search entries aggregated into the search's exchange.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_ldap::{LdapConfig, LdapParser, Message};
//!
//! fn unhex(s: &str) -> Vec<u8> {
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//! // A simple bind of cn=admin,dc=example,dc=com with password "zeek", then success.
//! let bind = unhex("302a0201016025020103041a636e3d61646d696e2c64633d6578616d706c652c\
//!                   64633d636f6d80047a65656b");
//! let ok = unhex("300c02010161070a010004000400");
//! let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
//! let mut out = Vec::new();
//! p.parse(Direction::ToServer, &bind, &mut out).unwrap();
//! p.parse(Direction::ToClient, &ok, &mut out).unwrap();
//! let Message::Exchange(x) = &out[0] else { panic!("{out:?}") };
//! assert_eq!(x.summary(), "bind cn=admin,dc=example,dc=com simple → success");
//! let q = x.request.as_ref().unwrap();
//! assert_eq!((q.message_id, q.operation), (1, "bindRequest"));
//! // The password is never kept, only its length.
//! assert_eq!(q.password.as_deref(), Some("<hidden, 4 bytes>"));
//! assert_eq!(x.response.as_ref().unwrap().result_code, Some(0));
//! ```
//!
//! Own BER reader rather than `ldap-parser` (see `docs/ldap.md`): its filter decoder
//! recurses without a depth limit and it collects every attribute value, while here
//! nesting, lists and strings are capped and a bad field keeps the fields before it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ber;
mod codes;
mod decode;
mod filter;
mod types;

use std::collections::VecDeque;

pub use codes::{
    extended_name, op_name, result_name, OID_NOTICE_OF_DISCONNECTION, OID_STARTTLS, OID_WHOAMI,
};
pub use filter::escape_value;
pub use types::{Change, Exchange, LdapRequest, LdapResponse, OneWay, SearchEntry};

use decode::{decode, plausible, Pdu, Plaus};
use ks_proto::{
    run_steps, Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, Step,
    StreamParser, Verdict,
};

/// Default largest LDAPMessage accepted; larger → `too-large` event, skipped.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;
/// Default number of operations awaiting their response.
pub const MAX_PENDING: usize = 1024;
/// Attribute names listed per request or entry.
pub const MAX_ATTRIBUTES: usize = 64;
/// Changes listed per modifyRequest.
pub const MAX_CHANGES: usize = 64;
/// Search entries listed per exchange (all are counted).
pub const MAX_ENTRIES: usize = 100;
/// Referral and search reference URIs listed per message or exchange.
pub const MAX_REFERENCES: usize = 32;
/// Control OIDs listed per message.
pub const MAX_CONTROLS: usize = 16;
/// Intermediate responses kept per exchange (all are counted).
pub const MAX_INTERMEDIATE: usize = 16;
/// Bytes of a DN, message or URI kept (longer ones end with `…`).
pub const MAX_STRING: usize = 1024;
/// Bytes of a rendered filter (longer ones end with `…`).
pub const MAX_FILTER_LEN: usize = 2048;
/// Filter nesting rendered; deeper parts show as `(…)`.
pub const MAX_FILTER_DEPTH: usize = 32;

/// LDAP ports (plain and Global Catalog); CLDAP uses 389/udp.
pub const PORTS: [u16; 2] = [389, 3268];

/// Limits of the parser.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    /// Largest LDAPMessage (header included) decoded; larger → `too-large`, skipped.
    pub max_message: usize,
    /// Operations awaiting their response; beyond, the oldest is flushed unanswered.
    pub max_pending: usize,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            max_message: DEFAULT_MAX_MESSAGE,
            max_pending: MAX_PENDING,
        }
    }
}

/// Event counters of one parser.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LdapCounters {
    /// LDAPMessages decoded.
    pub messages: u64,
    /// Request operations.
    pub requests: u64,
    /// Server messages (responses, entries, references, notifications).
    pub responses: u64,
    /// Exchanges emitted.
    pub exchanges: u64,
    /// One-way messages emitted.
    pub one_way: u64,
    /// Requests flushed without a response.
    pub unanswered: u64,
    /// Final responses whose messageID matched no request.
    pub orphan_responses: u64,
    /// Search entries seen.
    pub entries: u64,
    /// Messages with a field that could not be decoded.
    pub malformed: u64,
    /// Messages above `max_message`, skipped.
    pub too_large: u64,
    /// Parse errors returned.
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation.
    pub resyncs: u64,
    /// Operations flushed because `max_pending` were waiting.
    pub pending_capped: u64,
    /// Directions found SASL-wrapped after a SASL bind.
    pub sasl_wrapped: u64,
    /// Bytes skipped as SASL-wrapped or inside too-large messages.
    pub skipped_bytes: u64,
    /// CLDAP datagrams (or their tails) that were not LDAP.
    pub not_ldap: u64,
}

/// Something worth counting: `too-large`, `pending-capped`, `duplicate-message-id`,
/// `sasl-wrapped`, `not-ldap` (CLDAP), `gap`.
pub type Event = ks_proto::ParserEvent;

/// Output of [`LdapParser`].
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// What arrived so far under one outstanding messageID.
struct Slot {
    id: i64,
    x: Exchange,
}

enum Mode {
    Idle,
    /// Looking for a plausible LDAPMessage; `skip`: the first byte is where the
    /// error was found and cannot be one.
    Resync {
        skip: bool,
    },
    /// Inside a message too large to decode.
    Skip {
        left: u64,
    },
    /// The rest of the direction is SASL-wrapped (a security layer was negotiated).
    Sasl,
}

struct DirState {
    offset: u64,
    mode: Mode,
    ended: bool,
    /// Bad bytes met after progress in the same call: reported by the next call.
    err_next: Option<(&'static str, String)>,
    /// A SASL bind succeeded and no plain LDAPMessage followed yet in this direction.
    sasl_armed: bool,
}

/// LDAP parser for one TCP connection, or one CLDAP flow ([`LdapParser::cldap`]).
pub struct LdapParser {
    cfg: LdapConfig,
    cldap: bool,
    counters: LdapCounters,
    dirs: [DirState; 2],
    /// Outstanding messageIDs, oldest first.
    pending: VecDeque<Slot>,
    /// messageID of an outstanding StartTLS request.
    starttls: Option<i64>,
    handoff: Option<Protocol>,
}

/// Bytes of `b` as text, at most `max` bytes of it (`…` marks the cut).
pub(crate) fn text(b: &[u8], max: usize) -> String {
    match b.get(..max) {
        Some(head) if b.len() > max => {
            let mut s = String::from_utf8_lossy(head).into_owned();
            s.push('…');
            s
        }
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

impl LdapParser {
    /// A parser for one TCP connection; `start` is the absolute offset of the first
    /// byte passed per direction (index [`Direction::index`]).
    pub fn new(cfg: LdapConfig, start: [u64; 2]) -> Self {
        let d = |o| DirState {
            offset: o,
            mode: Mode::Idle,
            ended: false,
            err_next: None,
            sasl_armed: false,
        };
        LdapParser {
            cfg,
            cldap: false,
            counters: LdapCounters::default(),
            dirs: [d(start[0]), d(start[1])],
            pending: VecDeque::new(),
            starttls: None,
            handoff: None,
        }
    }

    /// A parser for one CLDAP (UDP) flow: each `parse` call is one datagram, consumed
    /// whole; never returns `Err`.
    pub fn cldap(cfg: LdapConfig, start: [u64; 2]) -> Self {
        LdapParser {
            cldap: true,
            ..Self::new(cfg, start)
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> LdapCounters {
        self.counters
    }

    fn emit(&mut self, x: Exchange, out: &mut Vec<Message>) {
        self.counters.exchanges += 1;
        if x.response.is_none() {
            self.counters.unanswered += 1;
        }
        out.push(Message::Exchange(Box::new(x)));
    }

    fn one_way(&mut self, dir: Direction, pdu: Pdu, out: &mut Vec<Message>) {
        self.counters.one_way += 1;
        let (start, end, request, response) = match pdu {
            Pdu::Req(q) => (q.start, q.end, Some(q), None),
            Pdu::Resp(r, _) => (r.start, r.end, None, Some(r)),
        };
        out.push(Message::OneWay(Box::new(OneWay {
            dir,
            start,
            end,
            request,
            response,
        })));
    }

    fn flush_pending(&mut self, out: &mut Vec<Message>) {
        while let Some(s) = self.pending.pop_front() {
            self.emit(s.x, out);
        }
    }

    /// Makes room for one more slot.
    fn cap_pending(&mut self, dir: Direction, at: u64, out: &mut Vec<Message>) {
        if self.pending.len() >= self.cfg.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                self.counters.pending_capped += 1;
                Message::push_event(
                    out,
                    "pending-capped",
                    format!(
                        "{} operations awaiting responses; messageID {} flushed",
                        self.pending.len() + 1,
                        old.id
                    ),
                    dir,
                    at,
                );
                self.emit(old.x, out);
            }
        }
    }

    /// The slot of `id`, created for server messages whose request was not seen.
    fn slot(&mut self, id: i64, at: u64, out: &mut Vec<Message>) -> &mut Exchange {
        let i = match self.pending.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                self.cap_pending(Direction::ToClient, at, out);
                self.pending.push_back(Slot {
                    id,
                    x: Exchange::default(),
                });
                self.pending.len() - 1
            }
        };
        &mut self.pending[i].x
    }

    fn on_pdu(&mut self, dir: Direction, pdu: Pdu, out: &mut Vec<Message>) {
        self.counters.messages += 1;
        let malformed = match &pdu {
            Pdu::Req(q) => q.error.is_some(),
            Pdu::Resp(r, _) => r.error.is_some(),
        };
        self.counters.malformed += u64::from(malformed);
        match pdu {
            Pdu::Req(q) => {
                self.counters.requests += 1;
                // Unbind and abandon get no response (RFC 4511 4.3, 4.11).
                if dir == Direction::ToClient || matches!(q.protocol_op, 2 | 16) {
                    return self.one_way(dir, Pdu::Req(q), out);
                }
                if let Some(i) = self.pending.iter().position(|s| s.id == q.message_id) {
                    if let Some(old) = self.pending.remove(i) {
                        Message::push_event(
                            out,
                            "duplicate-message-id",
                            format!("messageID {} reused before its response", q.message_id),
                            dir,
                            q.start,
                        );
                        self.emit(old.x, out);
                    }
                }
                self.cap_pending(dir, q.start, out);
                if q.request_name.as_deref() == Some(OID_STARTTLS) && !self.cldap {
                    self.starttls = Some(q.message_id);
                }
                self.pending.push_back(Slot {
                    id: q.message_id,
                    x: Exchange {
                        request: Some(q),
                        ..Exchange::default()
                    },
                });
            }
            Pdu::Resp(mut r, value) => {
                self.counters.responses += 1;
                // messageID 0 is reserved for unsolicited notifications (RFC 4511 4.4).
                if dir == Direction::ToServer || r.message_id == 0 || r.protocol_op == u32::MAX {
                    return self.one_way(dir, Pdu::Resp(r, value), out);
                }
                let (id, at) = (r.message_id, r.start);
                match r.protocol_op {
                    4 => {
                        self.counters.entries += 1;
                        let x = self.slot(id, at, out);
                        x.entry_count += 1;
                        if x.entries.len() < MAX_ENTRIES {
                            x.entries.push(SearchEntry {
                                start: r.start,
                                end: r.end,
                                dn: r.object_name.unwrap_or_default(),
                                attributes: r.attributes,
                                attributes_omitted: r.attributes_omitted,
                            });
                        }
                    }
                    19 => {
                        let x = self.slot(id, at, out);
                        x.reference_count += r.uris.len() as u64 + r.uris_omitted;
                        for u in r.uris {
                            if x.references.len() < MAX_REFERENCES {
                                x.references.push(u);
                            }
                        }
                    }
                    25 => {
                        let x = self.slot(id, at, out);
                        x.intermediate_count += 1;
                        if x.intermediate.len() < MAX_INTERMEDIATE {
                            x.intermediate.push(r);
                        }
                    }
                    _ => {
                        let slot = self
                            .pending
                            .iter()
                            .position(|s| s.id == id)
                            .and_then(|i| self.pending.remove(i));
                        let mut x = slot.map(|s| s.x).unwrap_or_default();
                        let q = x.request.as_ref();
                        if q.is_none() {
                            self.counters.orphan_responses += 1;
                        }
                        if q.and_then(|q| q.request_name.as_deref()) == Some(OID_WHOAMI)
                            && r.authz_id.is_none()
                        {
                            r.authz_id = value.or(Some(String::new()));
                        }
                        let success = r.result_code == Some(0);
                        if success
                            && r.protocol_op == 1
                            && q.and_then(|q| q.auth.as_deref()) == Some("sasl")
                        {
                            for d in &mut self.dirs {
                                d.sasl_armed = true;
                            }
                        }
                        let tls = self.starttls == Some(id) && r.protocol_op == 24;
                        if tls {
                            self.starttls = None;
                        }
                        x.response = Some(r);
                        self.emit(x, out);
                        if tls && success {
                            // Other operations must not be outstanding during StartTLS
                            // (RFC 4511 4.14.1); none will be answered in clear.
                            self.handoff = Some(Protocol::Tls);
                            self.flush_pending(out);
                        }
                    }
                }
            }
        }
    }

    /// One message (or part of a skip) at `data[*pos..]`.
    fn step(
        &mut self,
        dir: Direction,
        data: &[u8],
        pos: &mut usize,
        out: &mut Vec<Message>,
    ) -> Step {
        let d = dir.index();
        if self.handoff.is_some() {
            return Step::Wait(0);
        }
        let rest = data.get(*pos..).unwrap_or_default();
        let abs = self.dirs[d].offset + *pos as u64;
        match &mut self.dirs[d].mode {
            Mode::Skip { left } => {
                let n = (*left).min(rest.len() as u64);
                *left -= n;
                *pos += n as usize;
                self.counters.skipped_bytes += n;
                if *left > 0 {
                    return Step::Wait(0);
                }
                self.dirs[d].mode = Mode::Idle;
                return Step::Continue;
            }
            Mode::Resync { skip } => {
                if std::mem::take(skip) && !rest.is_empty() {
                    *pos += 1;
                }
                return self.resync(dir, data, pos);
            }
            Mode::Sasl => {
                *pos += rest.len();
                self.counters.skipped_bytes += rest.len() as u64;
                return Step::Wait(0);
            }
            Mode::Idle => {}
        }
        if rest.is_empty() {
            return Step::Wait(2);
        }
        // The client's TLS ClientHello after StartTLS: hold it for the TLS parser
        // until the response says whether the server agreed.
        if dir == Direction::ToServer && self.starttls.is_some() && rest[0] == 0x16 {
            return Step::Wait(1);
        }
        match plausible(rest, self.cldap) {
            Err(Plaus::Need(n)) => Step::Wait(n),
            Err(Plaus::Bad(kind, message)) => {
                if self.dirs[d].sasl_armed {
                    // SASL security layer: 4-byte length then an opaque buffer (RFC 4422
                    // 3.7). Its first byte is 0 for any length under 16 MiB, never 0x30.
                    match be_u32(rest) {
                        None => return Step::Wait(4 - rest.len()),
                        Some(n) if n > 0 && (n as usize) <= self.cfg.max_message => {
                            self.dirs[d].mode = Mode::Sasl;
                            self.counters.sasl_wrapped += 1;
                            Message::push_event(
                                out,
                                "sasl-wrapped",
                                "SASL security layer after bind: the rest of this direction is not decoded".into(),
                                dir,
                                abs,
                            );
                            return Step::Continue;
                        }
                        Some(_) => {}
                    }
                }
                Step::Bad(kind, message)
            }
            Ok((total, _)) => {
                self.dirs[d].sasl_armed = false;
                if total > self.cfg.max_message as u64 {
                    self.counters.too_large += 1;
                    Message::push_event(
                        out,
                        "too-large",
                        format!("LDAPMessage of {total} bytes exceeds max_message, skipped"),
                        dir,
                        abs,
                    );
                    self.dirs[d].mode = Mode::Skip { left: total };
                    return Step::Continue;
                }
                let total = total as usize;
                let Some(msg) = rest.get(..total) else {
                    return Step::Wait(total - rest.len());
                };
                let pdu = decode(msg, abs, self.cldap);
                *pos += total;
                self.on_pdu(dir, pdu, out);
                Step::Continue
            }
        }
    }

    /// Skips to the next plausible LDAPMessage going this way (a request operation
    /// from the client, a response operation from the server).
    fn resync(&mut self, dir: Direction, data: &[u8], pos: &mut usize) -> Step {
        let d = dir.index();
        while let Some(c) = data.get(*pos..).filter(|c| !c.is_empty()) {
            let Some(i) = c.iter().position(|&b| b == 0x30) else {
                *pos = data.len();
                break;
            };
            *pos += i;
            let c = &c[i..];
            match plausible(c, self.cldap) {
                Ok((total, op))
                    if total <= self.cfg.max_message as u64
                        && codes::is_request(op) == (dir == Direction::ToServer) =>
                {
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                Ok(_) | Err(Plaus::Bad(..)) => *pos += 1,
                Err(Plaus::Need(n)) => return Step::Wait(n),
            }
        }
        Step::Wait(2)
    }

    fn parse_datagram(&mut self, dir: Direction, data: &[u8], out: &mut Vec<Message>) -> Parsed {
        let d = dir.index();
        let start = self.dirs[d].offset;
        self.dirs[d].offset += data.len() as u64;
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            let at = start + pos as u64;
            match plausible(rest, true) {
                Ok((total, _)) if total <= rest.len() as u64 => {
                    let total = total as usize;
                    let pdu = decode(&rest[..total], at, true);
                    self.on_pdu(dir, pdu, out);
                    pos += total;
                }
                r => {
                    let why = match r {
                        Ok((total, _)) => {
                            format!("LDAPMessage of {total} bytes cut by the datagram end")
                        }
                        Err(Plaus::Need(_)) => "datagram ends inside an LDAPMessage header".into(),
                        Err(Plaus::Bad(_, m)) => m,
                    };
                    self.counters.not_ldap += 1;
                    Message::push_event(
                        out,
                        "not-ldap",
                        format!("{} bytes: {why}", rest.len()),
                        dir,
                        at,
                    );
                    break;
                }
            }
        }
        if data.is_empty() {
            self.counters.not_ldap += 1;
            Message::push_event(out, "not-ldap", "empty datagram".into(), dir, start);
        }
        Parsed {
            consumed: data.len(),
            needed: 0,
        }
    }
}

/// A CLDAP datagram (the first of a UDP flow): LDAPMessages that fill it exactly;
/// on port 389 the first message's framing is enough.
pub fn probe_datagram(input: &ProbeInput<'_>) -> Probe {
    let b = input.data;
    let on_port = input.src_port == 389 || input.dst_port == 389;
    let Ok((total, op)) = plausible(b, true) else {
        return Probe::NOT_MINE;
    };
    if total > b.len() as u64 {
        return Probe::NOT_MINE;
    }
    if !on_port {
        let mut pos = total as usize;
        while let Some(rest) = b.get(pos..).filter(|r| !r.is_empty()) {
            match plausible(rest, true) {
                Ok((t, _)) if t <= rest.len() as u64 => pos += t as usize,
                _ => return Probe::NOT_MINE,
            }
        }
    }
    Probe {
        verdict: Verdict::Certain,
        sender: Some(sender(op)),
    }
}

fn sender(op: u32) -> Role {
    if codes::is_request(op) {
        Role::Client
    } else {
        Role::Server
    }
}

impl StreamParser for LdapParser {
    type Message = Message;

    /// A SEQUENCE with a definite length, an INTEGER messageID and a protocolOp tag
    /// → `Certain` (with the sender: requests come from the client). On ports
    /// 389/3268 a SEQUENCE starting with a messageID is enough, and too few bytes
    /// are `Unsure` anywhere.
    fn probe(input: &ProbeInput<'_>) -> Probe {
        let b = input.data;
        let on_port = PORTS.contains(&input.src_port) || PORTS.contains(&input.dst_port);
        let unsure = Probe {
            verdict: Verdict::Unsure,
            sender: None,
        };
        match plausible(b, false) {
            Ok((total, op)) if total <= DEFAULT_MAX_MESSAGE as u64 => Probe {
                verdict: Verdict::Certain,
                sender: Some(sender(op)),
            },
            Ok(_) => Probe::NOT_MINE,
            Err(Plaus::Need(_)) => {
                // Enough for a SEQUENCE and a messageID on the LDAP ports.
                let id_seen =
                    matches!(ber::head(b), ber::Head::Ok { hdr, .. } if b.get(hdr) == Some(&0x02));
                if on_port && id_seen {
                    Probe {
                        verdict: Verdict::Certain,
                        sender: None,
                    }
                } else {
                    unsure
                }
            }
            Err(Plaus::Bad(..)) => Probe::NOT_MINE,
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        if self.cldap {
            return Ok(self.parse_datagram(dir, data, out));
        }
        let d = dir.index();
        if self.handoff.is_some() {
            return Ok(Parsed {
                consumed: 0,
                needed: usize::from(!data.is_empty()),
            });
        }
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
                self.counters.resyncs += 1;
                self.dirs[d].mode = Mode::Resync { skip: true };
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
        if self.cldap {
            return;
        }
        self.dirs[d].err_next = None;
        Message::push_event(out, "gap", format!("{len} bytes missing"), dir, at);
        match &mut self.dirs[d].mode {
            // Inside a skipped message the frame boundary is still known.
            Mode::Skip { left } if *left > len => {
                *left -= len;
                self.counters.skipped_bytes += len;
            }
            Mode::Sasl => {}
            m => {
                *m = Mode::Resync { skip: false };
                self.counters.resyncs += 1;
            }
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        self.dirs[d].ended = true;
        if matches!(self.dirs[d].mode, Mode::Skip { .. }) {
            self.dirs[d].mode = Mode::Idle;
        }
        if self.dirs.iter().all(|s| s.ended) {
            self.flush_pending(out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let s = &self.dirs[dir.index()];
        let pend = match dir {
            Direction::ToServer => self
                .pending
                .iter()
                .find_map(|p| p.x.request.as_ref().map(|q| q.start)),
            // A search's entries (and intermediate responses) wait in its slot for the
            // final response: the frames that carried them are still needed.
            Direction::ToClient => self
                .pending
                .iter()
                .filter_map(|p| {
                    let e = p.x.entries.first().map(|e| e.start);
                    let i = p.x.intermediate.first().map(|i| i.start);
                    e.into_iter().chain(i).min()
                })
                .min(),
        };
        pend.map_or(s.offset, |p| p.min(s.offset))
    }

    fn handoff(&self) -> Option<Protocol> {
        self.handoff
    }
}
