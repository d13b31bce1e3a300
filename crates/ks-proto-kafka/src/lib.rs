//! Kafka wire-protocol streaming dissector implementing the ks parser contract.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_kafka::{KafkaConfig, KafkaParser, Message};
//!
//! let mut p = KafkaParser::new(KafkaConfig::default(), [0, 0]);
//! let mut out = Vec::new();
//! // ApiVersions v0 request: size, api key 18, version 0, correlation id 7, client id "c".
//! let req = [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 7, 0, 1, b'c'];
//! p.parse(Direction::ToServer, &req, &mut out).unwrap();
//! // Its response: size, correlation id 7, error 0, empty api list.
//! let resp = [0, 0, 0, 10, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0];
//! p.parse(Direction::ToClient, &resp, &mut out).unwrap();
//! match &out[0] {
//!     Message::Exchange(x) => {
//!         assert_eq!(x.summary(), "ApiVersions v0 → 0");
//!         assert_eq!(x.request.as_ref().unwrap().client_id.as_deref(), Some("c"));
//!     }
//!     m => panic!("{m:?}"),
//! }
//! ```
//!
//! Framing, pairing, caps and what is not decoded are described in `docs/kafka.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod records;

use std::collections::VecDeque;

use ks_proto::{
    run_steps, Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, Step,
    StreamParser, Verdict,
};
use serde::Serialize;

use decode::{be_i16, be_i32, known, request_header, Acc};
pub use records::{RecordBatchInfo, RecordInfo};

/// Sizes above this are not Kafka (used by the probe and resynchronisation).
const PLAUSIBLE_SIZE: i32 = 100 << 20;
/// Smallest request: api key, version, correlation id, client id length.
const MIN_REQUEST: i32 = 10;
/// Bytes read to describe a message too large to decode.
const HEADER_WINDOW: usize = 1024;

/// Limits of the parser. Every buffer and list it owns is bounded by one of these.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Largest message (size prefix) accepted; larger → `too-large` event, skipped.
    pub max_message: usize,
    /// Largest message buffered and decoded; larger ones are skipped while
    /// consumed, shown with their header only.
    pub max_message_kept: usize,
    /// Requests awaiting a response; beyond, the oldest is flushed unanswered.
    pub max_pending: usize,
    /// Topics listed per message.
    pub max_topics: usize,
    /// Partition indexes listed per topic.
    pub max_partitions: usize,
    /// Non-zero errors listed per response.
    pub max_errors: usize,
    /// Record batches described per message.
    pub max_batches: usize,
    /// Records described per batch.
    pub max_records: usize,
    /// Decompressed bytes per message (bomb guard).
    pub max_decoded_bytes: usize,
    /// Decode bodies with kafka-protocol. Its array decoding reserves the
    /// announced element count before reading (see `docs/kafka.md`): a crafted
    /// count can make it request a huge allocation, which aborts the process.
    /// `false` keeps headers, pairing and summaries, without body fields.
    pub decode_bodies: bool,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            max_message: 16 << 20,
            max_message_kept: 1 << 20,
            max_pending: 256,
            max_topics: 64,
            max_partitions: 64,
            max_errors: 64,
            max_batches: 32,
            max_records: 64,
            max_decoded_bytes: 8 << 20,
            decode_bodies: true,
        }
    }
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KafkaCounters {
    /// Requests parsed.
    pub requests: u64,
    /// Responses parsed.
    pub responses: u64,
    /// Exchanges emitted (paired or not).
    pub exchanges: u64,
    /// One-way messages emitted (Produce with acks=0).
    pub one_way: u64,
    /// Requests flushed without a response.
    pub unanswered: u64,
    /// Responses whose correlation id matched no request.
    pub orphan_responses: u64,
    /// Responses to a Produce with `acks=0` (which expects none).
    pub unexpected_responses: u64,
    /// Bodies not decoded (unknown API or version, decode error, too large).
    pub undecoded: u64,
    /// Messages above `max_message`, skipped.
    pub too_large: u64,
    /// Bytes skipped inside messages that were not buffered.
    pub skipped_bytes: u64,
    /// Parse errors returned.
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation.
    pub resyncs: u64,
    /// Requests flushed because `max_pending` were waiting.
    pub pending_capped: u64,
}

/// A topic named in a message, with the partition indexes it names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicInfo {
    /// Topic name (the topic id as a UUID string when only the id is sent).
    pub name: String,
    /// Partition indexes (at most `max_partitions`).
    pub partitions: Vec<i32>,
}

/// A non-zero error code in a response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KafkaError {
    /// Topic (or group / coordinator key) it applies to; `None` when top-level.
    pub topic: Option<String>,
    /// Partition it applies to, if any.
    pub partition: Option<i32>,
    /// Kafka error code.
    pub code: i16,
    /// Name like `UNKNOWN_TOPIC_OR_PARTITION`, when known.
    pub name: Option<String>,
}

/// A Kafka request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KafkaRequest {
    /// Absolute offset of the first byte (the size prefix).
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// Size from the prefix (message bytes after it).
    pub size: u32,
    /// API key number.
    pub api_key: i16,
    /// API name, e.g. `Produce`; `Unknown(N)` for keys kafka-protocol does not know.
    pub api_name: String,
    /// API version.
    pub api_version: i16,
    /// Request header version (0–2; 2 is flexible).
    pub header_version: i16,
    /// Correlation id.
    pub correlation_id: i32,
    /// Client id (`None` when null or header v0).
    pub client_id: Option<String>,
    /// Topics with partition indexes, for the APIs that name topics.
    pub topics: Vec<TopicInfo>,
    /// Consumer group, for the group APIs.
    pub group_id: Option<String>,
    /// Produce: required acks (0 means no response will come).
    pub acks: Option<i16>,
    /// Produce: the record batches.
    pub records: Vec<RecordBatchInfo>,
    /// What could not be decoded, if anything.
    pub error: Option<String>,
}

/// A Kafka response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KafkaResponse {
    /// Absolute offset of the first byte (the size prefix).
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// Size from the prefix.
    pub size: u32,
    /// Correlation id.
    pub correlation_id: i32,
    /// Response header version (0 or 1), when the request is known.
    pub header_version: Option<i16>,
    /// Throttle time in ms, for the APIs that have one.
    pub throttle_time_ms: Option<i32>,
    /// Top-level error code, for the APIs that have one.
    pub error_code: Option<i16>,
    /// Name of a non-zero top-level error code.
    pub error_name: Option<String>,
    /// Non-zero per-topic / per-partition / per-group error codes.
    pub errors: Vec<KafkaError>,
    /// Topics with partition indexes.
    pub topics: Vec<TopicInfo>,
    /// Fetch: the record batches.
    pub records: Vec<RecordBatchInfo>,
    /// What could not be decoded, if anything.
    pub error: Option<String>,
    /// The body was decoded (false with `KafkaConfig::decode_bodies` off): only then
    /// do `error_code`, `errors` and `topics` say anything.
    pub body_decoded: bool,
    /// Set when the response answers a request that expects none (Produce with
    /// `acks=0`, already reported one-way): it is decoded with that request's
    /// version, and the exchange has no request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unexpected: Option<String>,
}

/// A request and its response (either may be missing).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// The request; `None` for a response whose request was not seen.
    pub request: Option<KafkaRequest>,
    /// The response; `None` when unanswered at the end (or flushed by a cap).
    pub response: Option<KafkaResponse>,
}

/// A request that gets no response (Produce with acks=0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWay {
    /// Always `ToServer` for Kafka.
    #[serde(skip)]
    pub dir: Direction,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// The request.
    pub request: KafkaRequest,
}

/// Something worth counting: `too-large`, `pending-capped`,
/// `duplicate-correlation-id`, `gap`.
pub type Event = ks_proto::ParserEvent;

/// Output of [`KafkaParser`]: exchanges (a request and its response, either may be
/// missing), one-way requests (Produce with `acks=0`) and events.
pub type Message = ks_proto::Paired<Exchange, OneWay>;

fn req_label(r: &KafkaRequest) -> String {
    let mut s = format!("{} v{}", r.api_name, r.api_version);
    if let Some(t) = r.topics.first() {
        s.push_str(" topic=");
        s.push_str(&t.name);
    }
    s
}

impl Exchange {
    /// One line: `Produce v9 topic=orders → 0` (api, version, first topic, then the
    /// top-level error code or the first non-zero partition error; `-` when no
    /// response, `?` when the response body was not decoded).
    pub fn summary(&self) -> String {
        let left = match (&self.request, &self.response) {
            (Some(r), _) => req_label(r),
            (None, Some(r)) if r.unexpected.is_some() => "(answer to acks=0 Produce)".to_string(),
            (None, _) => "?".to_string(),
        };
        let right = match &self.response {
            None => "-".to_string(),
            Some(r) if !r.body_decoded && r.error.is_none() => "?".to_string(),
            Some(r) => {
                let code = match (r.error_code, r.errors.first()) {
                    (Some(c), _) if c != 0 => Some(c),
                    (_, Some(e)) => Some(e.code),
                    (c, None) if r.error.is_none() => Some(c.unwrap_or(0)),
                    _ => None,
                };
                match code {
                    None => "?".to_string(),
                    Some(0) => "0".to_string(),
                    Some(c) => match decode::error_name(c) {
                        Some(n) => format!("{c} {n}"),
                        None => c.to_string(),
                    },
                }
            }
        };
        format!("{left} → {right}")
    }
}

impl OneWay {
    /// One line: `Produce v9 topic=orders (acks=0)`.
    pub fn summary(&self) -> String {
        format!("{} (acks=0)", req_label(&self.request))
    }
}

enum Held {
    Req(KafkaRequest),
    Resp(Box<Exchange>),
}

enum Mode {
    Idle,
    /// Looking for a plausible message start; `skip` says the first byte is
    /// where the error was found and cannot be one.
    Resync {
        skip: bool,
    },
    /// Inside a message that is not buffered; `held` is emitted at its end.
    Skip {
        left: u64,
        held: Option<Held>,
    },
}

struct DirState {
    offset: u64,
    mode: Mode,
    ended: bool,
    /// Bad bytes met after progress in the same call: reported by the next call.
    err_next: Option<(&'static str, String)>,
}

/// Kafka parser for one connection (both directions).
pub struct KafkaParser {
    cfg: KafkaConfig,
    counters: KafkaCounters,
    dirs: [DirState; 2],
    /// Requests awaiting their response, oldest first.
    pending: VecDeque<KafkaRequest>,
    /// (correlation id, version) of the last few Produce requests with `acks=0`, so
    /// that a broker answering one anyway is recognised and decoded.
    recent_one_way: VecDeque<(i32, i16)>,
}

/// How many `acks=0` Produce requests are remembered for [`KafkaParser`]'s
/// `recent_one_way`.
const RECENT_ONE_WAY: usize = 8;

/// Request header plausibility: `Some(true)` plausible, `Some(false)` not,
/// `None` too few bytes. `b` starts at the size prefix.
fn plausible_request(b: &[u8], strict: bool) -> Option<bool> {
    let size = be_i32(b, 0)?;
    if !(MIN_REQUEST..=PLAUSIBLE_SIZE).contains(&size) {
        return Some(false);
    }
    let key = be_i16(b, 4)?;
    let ver = be_i16(b, 6)?;
    if key < 0 || ver < 0 {
        return Some(false);
    }
    let cid = be_i16(b, 12)?;
    let cid_ok = cid == -1 || (0..=size - MIN_REQUEST).contains(&i32::from(cid));
    if !cid_ok {
        return Some(false);
    }
    if strict {
        let Ok(k) = kafka_protocol::messages::ApiKey::try_from(key) else {
            return Some(false);
        };
        if ver > k.valid_versions().max.max(20) {
            return Some(false);
        }
    }
    Some(true)
}

impl KafkaParser {
    /// A parser for one connection; `start` is the absolute offset of the first
    /// byte passed per direction (index [`Direction::index`]).
    pub fn new(cfg: KafkaConfig, start: [u64; 2]) -> Self {
        let d = |o| DirState {
            offset: o,
            mode: Mode::Idle,
            ended: false,
            err_next: None,
        };
        KafkaParser {
            cfg,
            counters: KafkaCounters::default(),
            dirs: [d(start[0]), d(start[1])],
            pending: VecDeque::new(),
            recent_one_way: VecDeque::with_capacity(RECENT_ONE_WAY),
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> KafkaCounters {
        self.counters
    }

    fn emit_exchange(&mut self, x: Exchange, out: &mut Vec<Message>) {
        self.counters.exchanges += 1;
        if x.response.is_none() {
            self.counters.unanswered += 1;
        }
        out.push(Message::Exchange(Box::new(x)));
    }

    fn flush_pending(&mut self, out: &mut Vec<Message>) {
        while let Some(r) = self.pending.pop_front() {
            self.emit_exchange(
                Exchange {
                    request: Some(r),
                    response: None,
                },
                out,
            );
        }
    }

    fn on_request(&mut self, req: KafkaRequest, out: &mut Vec<Message>) {
        self.counters.requests += 1;
        if req.api_key == 0 && req.acks == Some(0) {
            self.counters.one_way += 1;
            if self.recent_one_way.len() == RECENT_ONE_WAY {
                self.recent_one_way.pop_front();
            }
            self.recent_one_way
                .push_back((req.correlation_id, req.api_version));
            out.push(Message::OneWay(Box::new(OneWay {
                dir: Direction::ToServer,
                start: req.start,
                end: req.end,
                request: req,
            })));
            return;
        }
        if let Some(i) = self
            .pending
            .iter()
            .position(|p| p.correlation_id == req.correlation_id)
        {
            if let Some(old) = self.pending.remove(i) {
                Message::push_event(
                    out,
                    "duplicate-correlation-id",
                    format!(
                        "correlation id {} reused before its response",
                        req.correlation_id
                    ),
                    Direction::ToServer,
                    req.start,
                );
                self.emit_exchange(
                    Exchange {
                        request: Some(old),
                        response: None,
                    },
                    out,
                );
            }
        }
        if self.pending.len() >= self.cfg.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                self.counters.pending_capped += 1;
                Message::push_event(
                    out,
                    "pending-capped",
                    format!("{} requests awaiting responses", self.cfg.max_pending),
                    Direction::ToServer,
                    old.start,
                );
                self.emit_exchange(
                    Exchange {
                        request: Some(old),
                        response: None,
                    },
                    out,
                );
            }
        }
        self.pending.push_back(req);
    }

    /// Builds a request from `b` (message after the prefix; the whole message
    /// when `whole`, else its beginning).
    fn build_request(
        &mut self,
        b: &[u8],
        start: u64,
        size: u32,
        whole: bool,
    ) -> Result<KafkaRequest, String> {
        let h = request_header(b).map_err(str::to_string)?;
        let mut req = KafkaRequest {
            start,
            end: start + 4 + u64::from(size),
            size,
            api_key: h.api_key,
            api_name: decode::api_name(h.api_key),
            api_version: h.api_version,
            header_version: h.header_version,
            correlation_id: h.correlation_id,
            client_id: h.client_id,
            topics: Vec::new(),
            group_id: None,
            acks: None,
            records: Vec::new(),
            error: None,
        };
        let Some(k) = known(h.api_key, h.api_version) else {
            self.counters.undecoded += 1;
            req.error = Some(
                if kafka_protocol::messages::ApiKey::try_from(h.api_key).is_ok() {
                    format!(
                        "{} v{} not decoded: unsupported version",
                        req.api_name, h.api_version
                    )
                } else {
                    format!("unknown API key {}", h.api_key)
                },
            );
            return Ok(req);
        };
        if !whole {
            self.counters.undecoded += 1;
            req.error = Some(format!("too large to decode ({size} bytes)"));
            return Ok(req);
        }
        if !self.cfg.decode_bodies {
            return Ok(req);
        }
        let mut acc = Acc::new(&self.cfg);
        match decode::request_body(
            k,
            h.api_version,
            b.get(h.len..).unwrap_or_default(),
            &mut acc,
        ) {
            Ok(body) => {
                req.acks = body.acks;
                req.group_id = body.group_id;
            }
            Err(e) => {
                self.counters.undecoded += 1;
                req.error = Some(format!("body not decoded: {e}"));
            }
        }
        req.topics = acc.topics;
        req.records = acc.records;
        Ok(req)
    }

    /// Builds a response and takes its request out of `pending`.
    fn build_response(&mut self, b: &[u8], start: u64, size: u32, whole: bool) -> Exchange {
        let correlation_id = be_i32(b, 0).unwrap_or_default();
        self.counters.responses += 1;
        let mut resp = KafkaResponse {
            start,
            end: start + 4 + u64::from(size),
            size,
            correlation_id,
            header_version: None,
            throttle_time_ms: None,
            error_code: None,
            error_name: None,
            errors: Vec::new(),
            topics: Vec::new(),
            records: Vec::new(),
            error: None,
            body_decoded: false,
            unexpected: None,
        };
        let mut req = self
            .pending
            .iter()
            .position(|p| p.correlation_id == correlation_id)
            .and_then(|i| self.pending.remove(i));
        if req.is_none() {
            // A broker that answers an acks=0 Produce anyway (Kafka's never do).
            let one_way = self
                .recent_one_way
                .iter()
                .position(|o| o.0 == correlation_id)
                .and_then(|i| self.recent_one_way.remove(i));
            if let Some((_, version)) = one_way {
                self.counters.unexpected_responses += 1;
                resp.unexpected = Some(format!(
                    "answers the acks=0 Produce v{version} request with this correlation id, \
                     which expects no response"
                ));
                req = Some(KafkaRequest {
                    api_key: 0,
                    api_name: "Produce".into(),
                    api_version: version,
                    correlation_id,
                    ..KafkaRequest::default()
                });
            }
        }
        let Some(req) = req else {
            self.counters.orphan_responses += 1;
            self.counters.undecoded += 1;
            resp.error = Some("no request with this correlation id".into());
            return Exchange {
                request: None,
                response: Some(resp),
            };
        };
        let Some(k) = known(req.api_key, req.api_version) else {
            self.counters.undecoded += 1;
            resp.error = Some(format!("{} v{} not decoded", req.api_name, req.api_version));
            return Exchange {
                request: Some(req),
                response: Some(resp),
            };
        };
        let hv = k.response_header_version(req.api_version);
        resp.header_version = Some(hv);
        if !whole {
            self.counters.undecoded += 1;
            resp.error = Some(format!("too large to decode ({size} bytes)"));
        } else if self.cfg.decode_bodies {
            let mut acc = Acc::new(&self.cfg);
            let r = decode::response_header_len(b, hv)
                .map_err(str::to_string)
                .and_then(|hl| {
                    decode::response_body(
                        k,
                        req.api_version,
                        b.get(hl..).unwrap_or_default(),
                        &mut acc,
                    )
                });
            match r {
                Ok(body) => {
                    resp.body_decoded = true;
                    resp.throttle_time_ms = body.throttle_time_ms;
                    resp.error_code = body.error_code;
                    resp.error_name = body.error_code.and_then(decode::error_name);
                }
                Err(e) => {
                    self.counters.undecoded += 1;
                    resp.error = Some(format!("body not decoded: {e}"));
                }
            }
            resp.topics = acc.topics;
            resp.errors = acc.errors;
            resp.records = acc.records;
        }
        Exchange {
            // The request of an unexpected response was reported one-way already.
            request: resp.unexpected.is_none().then_some(req),
            response: Some(resp),
        }
    }

    fn finish_held(&mut self, held: Held, out: &mut Vec<Message>) {
        match held {
            Held::Req(r) => self.on_request(r, out),
            Held::Resp(x) => self.emit_exchange(*x, out),
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
        let rest = &data[*pos..];
        let abs = self.dirs[d].offset + *pos as u64;
        match &mut self.dirs[d].mode {
            Mode::Skip { left, held } => {
                let n = (*left).min(rest.len() as u64);
                *left -= n;
                *pos += n as usize;
                self.counters.skipped_bytes += n;
                if *left > 0 {
                    return Step::Wait(0);
                }
                let held = held.take();
                self.dirs[d].mode = Mode::Idle;
                if let Some(h) = held {
                    self.finish_held(h, out);
                }
                return Step::Continue;
            }
            Mode::Resync { skip } => {
                if std::mem::take(skip) && !rest.is_empty() {
                    *pos += 1;
                }
                return self.resync(dir, data, pos);
            }
            Mode::Idle => {}
        }
        let Some(size) = be_i32(rest, 0) else {
            return Step::Wait(4 - rest.len());
        };
        let is_req = dir == Direction::ToServer;
        let min = if is_req { MIN_REQUEST } else { 4 };
        if !(min..=PLAUSIBLE_SIZE).contains(&size) {
            return Step::Bad("bad-size", format!("message size {size} is not plausible"));
        }
        if is_req {
            match plausible_request(rest, false) {
                None => return Step::Wait(14 - rest.len()),
                Some(false) => {
                    return Step::Bad(
                        "bad-request-header",
                        "request header is not plausible".into(),
                    )
                }
                Some(true) => {}
            }
        }
        let size_u = size as u32;
        let total = 4 + size as usize;
        if size as usize > self.cfg.max_message {
            self.counters.too_large += 1;
            Message::push_event(
                out,
                "too-large",
                format!("message of {size} bytes exceeds max_message, skipped"),
                dir,
                abs,
            );
            self.dirs[d].mode = Mode::Skip {
                left: total as u64,
                held: None,
            };
            return Step::Continue;
        }
        if size as usize > self.cfg.max_message_kept {
            let need = total.min(4 + HEADER_WINDOW);
            if rest.len() < need {
                return Step::Wait(need - rest.len());
            }
            let b = &rest[4..need];
            let held = if is_req {
                match self.build_request(b, abs, size_u, false) {
                    Ok(r) => Held::Req(r),
                    Err(e) => return Step::Bad("bad-request-header", e),
                }
            } else {
                Held::Resp(Box::new(self.build_response(b, abs, size_u, false)))
            };
            self.dirs[d].mode = Mode::Skip {
                left: total as u64,
                held: Some(held),
            };
            return Step::Continue;
        }
        if rest.len() < total {
            return Step::Wait(total - rest.len());
        }
        let b = &rest[4..total];
        if is_req {
            match self.build_request(b, abs, size_u, true) {
                Ok(r) => self.on_request(r, out),
                Err(e) => return Step::Bad("bad-request-header", e),
            }
        } else {
            let x = self.build_response(b, abs, size_u, true);
            self.emit_exchange(x, out);
        }
        *pos += total;
        Step::Continue
    }

    /// Skips to the next plausible message start: a request with a known API
    /// key, or a response whose correlation id is awaited.
    fn resync(&mut self, dir: Direction, data: &[u8], pos: &mut usize) -> Step {
        let d = dir.index();
        let window = if dir == Direction::ToServer { 14 } else { 8 };
        while *pos < data.len() {
            let c = &data[*pos..];
            let ok = if dir == Direction::ToServer {
                plausible_request(c, true)
            } else {
                match (be_i32(c, 0), be_i32(c, 4)) {
                    (Some(s), Some(corr)) => Some(
                        (4..=PLAUSIBLE_SIZE).contains(&s)
                            && self.pending.iter().any(|p| p.correlation_id == corr),
                    ),
                    _ => None,
                }
            };
            match ok {
                Some(true) => {
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                Some(false) => *pos += 1,
                None => return Step::Wait(window - c.len()),
            }
        }
        Step::Wait(window)
    }

    fn enter_resync(&mut self, d: usize) {
        self.counters.resyncs += 1;
        self.dirs[d].mode = Mode::Resync { skip: true };
    }
}

impl StreamParser for KafkaParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        let b = input.data;
        let unsure = Probe {
            verdict: Verdict::Unsure,
            sender: None,
        };
        let Some(size) = be_i32(b, 0) else {
            return unsure;
        };
        if !(4..=PLAUSIBLE_SIZE).contains(&size) {
            return Probe::NOT_MINE;
        }
        match plausible_request(b, true) {
            Some(true) => Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Client),
            },
            // Size plus a correlation id says little: a response, or something else.
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
        Message::push_event(out, "gap", format!("{len} bytes missing"), dir, at);
        // Inside a skipped message the frame boundary is still known.
        if let Mode::Skip { left, .. } = &mut self.dirs[d].mode {
            if *left > len {
                *left -= len;
                self.counters.skipped_bytes += len;
                return;
            }
        }
        let old = std::mem::replace(&mut self.dirs[d].mode, Mode::Resync { skip: false });
        self.counters.resyncs += 1;
        if let Mode::Skip { held: Some(h), .. } = old {
            self.finish_held(h, out);
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        self.dirs[d].ended = true;
        if let Mode::Skip { held: Some(h), .. } =
            std::mem::replace(&mut self.dirs[d].mode, Mode::Idle)
        {
            self.finish_held(h, out);
        }
        if self.dirs.iter().all(|s| s.ended) {
            self.flush_pending(out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let s = &self.dirs[dir.index()];
        let held = match &s.mode {
            Mode::Skip {
                held: Some(Held::Req(r)),
                ..
            } => Some(r.start),
            Mode::Skip {
                held: Some(Held::Resp(x)),
                ..
            } => x.response.as_ref().map(|r| r.start),
            _ => None,
        };
        let pend = match dir {
            Direction::ToServer => self.pending.front().map(|r| r.start),
            Direction::ToClient => None,
        };
        [held, pend].into_iter().flatten().min().unwrap_or(s.offset)
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}
