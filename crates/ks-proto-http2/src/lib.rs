//! HTTP/2 passive dissector: frames, HPACK and one record per stream, implementing
//! the ks parser contract.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_http2::{Http2Config, Http2Parser, Message};
//!
//! // Client: preface, empty SETTINGS, HEADERS on stream 1 (GET / http, END_STREAM).
//! let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
//! client.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
//! client.extend_from_slice(&[0, 0, 3, 1, 0x05, 0, 0, 0, 1, 0x82, 0x86, 0x84]);
//! // Server: empty SETTINGS, HEADERS :status 200, DATA "hi" with END_STREAM.
//! let mut server = vec![0, 0, 0, 4, 0, 0, 0, 0, 0];
//! server.extend_from_slice(&[0, 0, 1, 1, 0x04, 0, 0, 0, 1, 0x88]);
//! server.extend_from_slice(&[0, 0, 2, 0, 0x01, 0, 0, 0, 1, b'h', b'i']);
//!
//! let mut p = Http2Parser::new(Http2Config::default(), [0, 0]);
//! let mut out = Vec::new();
//! let r = p.parse(Direction::ToServer, &client, &mut out).unwrap();
//! assert_eq!(r.consumed, client.len());
//! p.parse(Direction::ToClient, &server, &mut out).unwrap();
//! let Some(Message::Stream(s)) = out.pop() else { panic!("no stream") };
//! let (req, resp) = (s.request.unwrap(), s.response.unwrap());
//! assert_eq!(req.header(":method"), Some("GET"));
//! assert_eq!(resp.header(":status"), Some("200"));
//! assert_eq!(resp.body, b"hi");
//! ```
//!
//! Design, caps and what is not supported: `docs/http2.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod frame;
mod hpack;

use std::collections::{HashMap, VecDeque};

use ks_proto::{Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, StreamParser};

use frame::{
    desync, plausible, plausible_prefix, FrameHeader, ACK, CONTINUATION, DATA, END_HEADERS,
    END_STREAM, GOAWAY, HDR, HEADERS, PADDED, PREFACE, PUSH_PROMISE, RST_STREAM, SETTINGS,
};
use hpack::{BlockOut, Decoder};

#[doc(hidden)]
pub use hpack::huffman_encode;

/// Limits of the parser. Every buffer the parser owns is bounded by one of these.
#[derive(Debug, Clone)]
pub struct Http2Config {
    /// Decoded header bytes kept per block (name + value + 32 per field). Over:
    /// event `header-list-too-large`, the rest of the block is not kept
    /// (`Half::headers_cut`), parsing continues.
    pub max_header_list_size: usize,
    /// Encoded HEADERS/PUSH_PROMISE + CONTINUATION bytes buffered per block. Over:
    /// event `header-block-too-large`, the block is skipped and the HPACK state
    /// of that direction becomes lost.
    pub max_header_block: usize,
    /// Cap on the HPACK dynamic table size, whatever the peer allows. A size
    /// update above it: event `hpack-table-too-large`, the cap applies.
    pub max_table_size: usize,
    /// DATA bytes kept per stream half (the rest is only counted).
    pub max_body_kept: usize,
    /// DATA bytes kept over all the streams of the connection at once, so that
    /// many concurrent streams cannot hold `max_streams × max_body_kept`; past it
    /// bodies are only counted (`Half::body` shorter than `body_size`).
    pub max_body_total: usize,
    /// Streams tracked at once; over: the oldest is emitted incomplete + event
    /// `too-many-streams`.
    pub max_streams: usize,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            max_header_list_size: 64 * 1024,
            max_header_block: 256 * 1024,
            max_table_size: 64 * 1024,
            max_body_kept: 64 * 1024,
            max_body_total: 4 << 20,
            max_streams: 1000,
        }
    }
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Http2Counters {
    /// Frames whose header was parsed.
    pub frames: u64,
    /// Streams emitted.
    pub streams: u64,
    /// Times a direction's HPACK state became (or stayed) incomplete: pickup,
    /// gap, undecodable or oversized block.
    pub hpack_lost: u64,
    /// Events emitted.
    pub events: u64,
    /// Times a direction started scanning for a frame boundary.
    pub resyncs: u64,
    /// Gaps reported by the engine.
    pub gaps: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Streams promised by PUSH_PROMISE.
    pub pushed: u64,
    /// Streams emitted early because `max_streams` were open.
    pub streams_capped: u64,
    /// Header fields omitted because they referred to HPACK state we lack.
    pub headers_lost: u64,
}

/// What the parser produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A stream is over: both halves ended, or it was reset, or the connection
    /// ended / was lost.
    Stream(Box<Stream>),
    /// Something worth reporting that is not a stream: HPACK bomb, protocol
    /// error, GOAWAY, lost state, resync.
    Event(Event),
}

/// A connection-level observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Short machine-readable kind, e.g. `"resync"`, `"goaway"`.
    pub kind: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// Direction of the bytes concerned.
    pub dir: Direction,
    /// Absolute offset (in `dir`) where it happened.
    pub offset: u64,
}

/// One HTTP/2 stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Stream identifier.
    pub id: u32,
    /// The client's half. For a pushed stream: built from the PUSH_PROMISE (its
    /// offsets are then in the server's direction).
    pub request: Option<Half>,
    /// The server's half.
    pub response: Option<Half>,
    /// Promised by PUSH_PROMISE.
    pub pushed: bool,
    /// RST_STREAM, or GOAWAY for a stream the GOAWAY cut.
    pub error: Option<StreamError>,
}

/// Where a stream error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// A RST_STREAM frame on the stream.
    RstStream,
    /// A GOAWAY frame: the stream was above its last-stream-id, or still open
    /// when a GOAWAY with an error code closed the connection.
    GoAway,
}

/// A stream's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// RST_STREAM or GOAWAY.
    pub kind: ErrorSource,
    /// The error code.
    pub code: u32,
    /// Its RFC 7540 name (`"NO_ERROR"`, `"CANCEL"`, ...), `"UNKNOWN"` otherwise.
    pub name: &'static str,
    /// Who sent the frame.
    pub sent_by: Direction,
}

/// One direction of a stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Half {
    /// The first HEADERS block in wire order, pseudo-headers included; lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// 1xx header blocks before the final response headers (response half only).
    pub interim: Vec<Vec<(String, String)>>,
    /// A HEADERS block after DATA, or a second one.
    pub trailers: Vec<(String, String)>,
    /// Some field referred to HPACK state we do not have (picked up
    /// mid-connection or after a gap), or the block was undecodable/oversized,
    /// or the half was first seen by its DATA. Such fields are omitted, never guessed.
    pub headers_lost: bool,
    /// A block hit `max_header_list_size`.
    pub headers_cut: bool,
    /// DATA payload (padding removed) up to `max_body_kept`.
    pub body: Vec<u8>,
    /// All DATA payload bytes (padding removed).
    pub body_size: u64,
    /// Bytes of this half's DATA may have been lost (a gap while it was open).
    pub body_gap: bool,
    /// END_STREAM seen.
    pub end_stream: bool,
    /// Absolute offset (in its direction) of the first byte of the frame that
    /// opened the half.
    pub start: u64,
    /// Absolute offset just after the last frame of the half seen.
    pub end: u64,
    /// Frames of the half (HEADERS, CONTINUATION, DATA, PUSH_PROMISE).
    pub frames: u32,
}

impl Half {
    /// First header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The HTTP/1.1 request that was upgraded to h2c (it becomes stream 1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpgradedRequest {
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// `Host`, if any.
    pub authority: Option<String>,
    /// The HTTP/1 headers (an `HTTP2-Settings` header among them is applied).
    pub headers: Vec<(String, String)>,
    /// Offset of the request's first byte (client direction).
    pub start: u64,
    /// Offset just after the request.
    pub end: u64,
    /// Body size.
    pub body_size: u64,
}

/// RFC 7540 section 7 name of an error code.
pub fn error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "UNKNOWN",
    }
}

/// 1xx blocks kept per response half.
const MAX_INTERIM: usize = 16;
/// Recently closed stream ids remembered, so that late frames on them do not
/// open ghost streams.
const CLOSED_RING: usize = 256;
/// While resynchronising, a candidate frame longer than this is not waited for
/// (its successor, which confirms it, would be too far away).
const RESYNC_MAX_WAIT: u32 = 64 * 1024;

#[derive(Debug)]
struct HalfState {
    half: Half,
    /// Headers (for a response: final headers) received.
    got_headers: bool,
    got_data: bool,
}

impl HalfState {
    fn new(start: u64) -> Self {
        HalfState {
            half: Half {
                start,
                end: start,
                ..Half::default()
            },
            got_headers: false,
            got_data: false,
        }
    }
}

#[derive(Debug)]
struct StreamState {
    seq: u64,
    pushed: bool,
    halves: [Option<HalfState>; 2],
    error: Option<StreamError>,
}

impl StreamState {
    /// The half whose frames travel in direction `d` (a pushed stream's request
    /// half came with the PUSH_PROMISE, in the server's direction: the client
    /// sends nothing on it).
    fn half_in(&mut self, d: usize) -> Option<&mut HalfState> {
        if self.pushed && d == 0 {
            return None;
        }
        self.halves[d].as_mut()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing parsed yet: looking for the preface / first SETTINGS.
    Start,
    Frames,
    Resync,
    /// The connection is over (both directions ended).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Headers { end_stream: bool },
    Push { promised: u32 },
}

/// A header block being assembled (HEADERS / PUSH_PROMISE + CONTINUATION).
struct Block {
    stream: u32,
    kind: BlockKind,
    start: u64,
    buf: Vec<u8>,
    over: bool,
    frames: u32,
}

/// The frame whose header (and fixed prefix) was consumed.
#[derive(Clone, Copy)]
struct Cur {
    h: FrameHeader,
    start: u64,
    content_left: u32,
    pad_left: u32,
    /// Payload is ignored (malformed frame).
    skip: bool,
}

struct DirState {
    /// Absolute offset of the next byte to parse.
    off: u64,
    phase: Phase,
    /// When resynchronising after a bad header, its first byte is not a candidate.
    skip_first: bool,
    resync_from: u64,
    cur: Option<Cur>,
    block: Option<Block>,
    /// Decoder of the header blocks sent in this direction.
    hpack: Decoder,
    ended: bool,
    /// Seen from its start with no loss since: stream ids opened in this
    /// direction below the highest seen are known to be closed when not tracked.
    continuous: bool,
}

/// A passive HTTP/2 connection dissector (both directions).
pub struct Http2Parser {
    cfg: Http2Config,
    dirs: [DirState; 2],
    streams: HashMap<u32, StreamState>,
    seq: u64,
    closed: VecDeque<u32>,
    /// Highest stream id opened by the client (odd) and by the server (even).
    max_id: [u32; 2],
    goaway: Option<(u32, u32, Direction)>,
    counters: Http2Counters,
    /// Body bytes held by the streams in `streams` (bounded by `max_body_total`).
    kept: usize,
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

fn dir_of(d: usize) -> Direction {
    DIRS[d & 1]
}

/// Direction that opens streams of this id: odd = client, even = server (push).
fn opener(id: u32) -> usize {
    if id % 2 == 1 {
        0
    } else {
        1
    }
}

fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

enum Scan {
    Found(usize),
    Wait(usize, usize),
    Skip(usize),
}

/// Most bytes scanned past an unconfirmed candidate in one call.
const RESYNC_SCAN: usize = 256 * 1024;

/// Look for a frame header followed by another plausible one. A confirmed pair
/// anywhere wins over an earlier candidate whose successor has not arrived yet
/// (zeros, for instance, look like DATA frames); failing both, the earliest
/// such candidate is waited for — unless it is a frame of a stream known to be
/// open (`open`) that ends exactly where the data ends: senders write whole
/// frames, so a segment that holds exactly one is confirmation enough, and
/// waiting would lose it when the next segment is lost too.
fn scan(data: &[u8], from: usize, open: impl Fn(&FrameHeader) -> bool) -> Scan {
    let mut p = from;
    let mut wait: Option<(usize, usize)> = None;
    while p + HDR <= data.len() {
        if wait.is_some_and(|(w, _)| p - w > RESYNC_SCAN) {
            break;
        }
        if let Some(h) = FrameHeader::parse(&data[p..]).filter(plausible) {
            let next = p + HDR + h.len as usize;
            if next == data.len() && open(&h) {
                return Scan::Found(p);
            }
            if next + HDR <= data.len() {
                if FrameHeader::parse(&data[next..]).is_some_and(|n| plausible(&n)) {
                    return Scan::Found(p);
                }
            } else if wait.is_none()
                && h.len <= RESYNC_MAX_WAIT
                && (next >= data.len() || plausible_prefix(&data[next..]))
            {
                wait = Some((p, next + HDR - data.len()));
            }
        }
        p += 1;
    }
    match wait {
        Some((w, n)) => Scan::Wait(w, n),
        None => Scan::Skip(p.min(data.len())),
    }
}

impl Http2Parser {
    /// A parser for a connection; `start[dir.index()]` is the absolute offset of
    /// the first byte that will be passed in that direction.
    pub fn new(cfg: Http2Config, start: [u64; 2]) -> Self {
        let mk = |off: u64| DirState {
            off,
            phase: Phase::Start,
            skip_first: false,
            resync_from: off,
            cur: None,
            block: None,
            hpack: Decoder::new(cfg.max_table_size),
            ended: false,
            continuous: true,
        };
        Http2Parser {
            dirs: [mk(start[0]), mk(start[1])],
            cfg,
            streams: HashMap::new(),
            seq: 0,
            closed: VecDeque::new(),
            max_id: [0, 0],
            goaway: None,
            counters: Http2Counters::default(),
            kept: 0,
        }
    }

    /// A parser for the HTTP/2 part of a connection upgraded from HTTP/1.1
    /// (`Upgrade: h2c`, `101`): stream 1 is `request`, already complete.
    pub fn upgraded(cfg: Http2Config, start: [u64; 2], request: UpgradedRequest) -> Self {
        let mut p = Http2Parser::new(cfg, start);
        let mut half = HalfState::new(request.start);
        let mut headers = vec![
            (":method".to_string(), request.method),
            (":path".to_string(), request.path),
        ];
        if let Some(a) = request.authority {
            headers.push((":authority".to_string(), a));
        }
        let mut settings = None;
        for (n, v) in request.headers {
            if n.eq_ignore_ascii_case("http2-settings") {
                settings = decode_base64url(v.trim());
            }
            headers.push((n, v));
        }
        half.half.headers = headers;
        half.half.end = request.end;
        half.half.body_size = request.body_size;
        half.half.end_stream = true;
        half.got_headers = true;
        // RFC 7540 3.2.1: the 101 acknowledges the HTTP2-Settings implicitly.
        if let Some(s) = settings {
            for e in s.chunks_exact(6) {
                if u16::from_be_bytes([e[0], e[1]]) == 1 {
                    let dec = &mut p.dirs[1].hpack;
                    dec.settings_sent(be32(&e[2..]));
                    dec.settings_acked();
                }
            }
        }
        p.seq = 1;
        p.max_id[0] = 1;
        p.streams.insert(
            1,
            StreamState {
                seq: 0,
                pushed: false,
                halves: [Some(half), None],
                error: None,
            },
        );
        p
    }

    /// Counters so far.
    pub fn counters(&self) -> Http2Counters {
        self.counters
    }

    fn event(
        &mut self,
        out: &mut Vec<Message>,
        kind: &'static str,
        message: String,
        d: usize,
        offset: u64,
    ) {
        self.counters.events += 1;
        out.push(Message::Event(Event {
            kind,
            message,
            dir: dir_of(d),
            offset,
        }));
    }

    fn start_resync(&mut self, d: usize, skip_first: bool) {
        let ds = &mut self.dirs[d];
        ds.phase = Phase::Resync;
        ds.skip_first = skip_first;
        ds.resync_from = ds.off;
        ds.cur = None;
        ds.continuous = false;
        ds.hpack.lose();
        self.counters.resyncs += 1;
        self.counters.hpack_lost += 1;
        if let Some(b) = ds.block.take() {
            self.block_lost(d, b.stream, b.kind);
        }
    }

    /// A header block was dropped unfinished: its stream's half cannot show it.
    fn block_lost(&mut self, d: usize, stream: u32, kind: BlockKind) {
        let id = match kind {
            BlockKind::Headers { .. } => stream,
            BlockKind::Push { .. } => return,
        };
        if let Some(s) = self.streams.get_mut(&id) {
            if let Some(h) = s.half_in(d) {
                h.half.headers_lost = true;
            }
        }
    }

    fn lose_hpack(&mut self, d: usize) {
        self.dirs[d].hpack.lose();
        self.counters.hpack_lost += 1;
    }

    fn is_closed(&self, id: u32) -> bool {
        let o = opener(id);
        self.closed.contains(&id) || (self.dirs[o].continuous && id <= self.max_id[o])
    }

    /// The half of stream `id` sent in direction `d`, created (with the stream)
    /// when the stream is new. `None` for closed streams and for halves that
    /// cannot exist (client data on a pushed stream).
    fn half_mut(
        &mut self,
        id: u32,
        d: usize,
        start: u64,
        out: &mut Vec<Message>,
    ) -> Option<&mut HalfState> {
        if id == 0 {
            return None;
        }
        if !self.streams.contains_key(&id) {
            if self.is_closed(id) || (d == 0 && opener(id) == 1) {
                return None;
            }
            self.make_room(d, start, out);
            let o = opener(id);
            // Only the opener's frames are ordered with the ids it allocates;
            // the other direction may be parsed ahead of it.
            if d == o {
                self.max_id[o] = self.max_id[o].max(id);
            }
            self.streams.insert(
                id,
                StreamState {
                    seq: self.seq,
                    pushed: false,
                    halves: [None, None],
                    error: None,
                },
            );
            self.seq += 1;
        }
        let s = self.streams.get_mut(&id)?;
        if d == 0 && s.pushed {
            return None;
        }
        Some(s.halves[d].get_or_insert_with(|| HalfState::new(start)))
    }

    /// Keep at most `max_streams` streams: emit the oldest before opening one.
    fn make_room(&mut self, d: usize, offset: u64, out: &mut Vec<Message>) {
        while self.streams.len() >= self.cfg.max_streams.max(1) {
            let Some(oldest) = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.seq)
                .map(|(k, _)| *k)
            else {
                return;
            };
            self.counters.streams_capped += 1;
            self.event(
                out,
                "too-many-streams",
                format!(
                    "{} streams open: stream {oldest} emitted incomplete",
                    self.streams.len()
                ),
                d,
                offset,
            );
            self.emit(oldest, out);
        }
    }

    fn emit(&mut self, id: u32, out: &mut Vec<Message>) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        if self.closed.len() >= CLOSED_RING {
            self.closed.pop_front();
        }
        self.closed.push_back(id);
        self.counters.streams += 1;
        let [req, resp] = s.halves;
        let held = |h: &Option<HalfState>| h.as_ref().map_or(0, |h| h.half.body.len());
        self.kept = self.kept.saturating_sub(held(&req) + held(&resp));
        out.push(Message::Stream(Box::new(Stream {
            id,
            request: req.map(|h| h.half),
            response: resp.map(|h| h.half),
            pushed: s.pushed,
            error: s.error,
        })));
    }

    fn maybe_emit(&mut self, id: u32, out: &mut Vec<Message>) {
        // A request half never seen can only be waited for if it may still come:
        // not when it went by before a pickup or gap, nor for a pushed stream
        // (whose promise precedes the response in the same direction).
        let req_may_come = !self.streams.get(&id).is_some_and(|s| s.pushed)
            && self.dirs[0].continuous
            && self.dirs[0].phase != Phase::Done;
        let done = self.streams.get(&id).is_some_and(|s| {
            s.halves[1].as_ref().is_some_and(|h| h.half.end_stream)
                && match &s.halves[0] {
                    Some(h) => h.half.end_stream,
                    None => !req_may_come,
                }
        });
        if done {
            self.emit(id, out);
        }
    }

    /// Both directions ended: emit every stream still open, by id.
    fn flush(&mut self, out: &mut Vec<Message>) {
        let mut ids: Vec<u32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let (Some((last, code, by)), Some(s)) = (self.goaway, self.streams.get_mut(&id)) {
                // Streams the receiver of the GOAWAY opened above last-stream-id
                // were not processed; with an error code every open stream failed.
                let receiver_opened = opener(id) == by.reverse().index();
                if s.error.is_none() && ((receiver_opened && id > last) || code != 0) {
                    s.error = Some(StreamError {
                        kind: ErrorSource::GoAway,
                        code,
                        name: error_name(code),
                        sent_by: by,
                    });
                }
            }
            self.emit(id, out);
        }
    }

    /// A complete header block in direction `d`.
    fn finish_block(&mut self, d: usize, b: Block, end: u64, out: &mut Vec<Message>) {
        let target = match b.kind {
            BlockKind::Headers { .. } => b.stream,
            BlockKind::Push { promised } => promised,
        };
        let wanted = match b.kind {
            BlockKind::Headers { .. } => {
                self.streams.contains_key(&target)
                    || !(self.is_closed(target) || (d == 0 && opener(target) == 1))
            }
            BlockKind::Push { .. } => {
                d == 1 && opener(target) == 1 && !self.is_closed(target) && target != 0
            }
        };
        let mut fields = Vec::new();
        let (lost, cut);
        if b.over {
            self.event(
                out,
                "header-block-too-large",
                format!(
                    "header block of stream {} over {} bytes: skipped, HPACK state lost",
                    b.stream, self.cfg.max_header_block
                ),
                d,
                b.start,
            );
            self.lose_hpack(d);
            lost = true;
            cut = false;
        } else {
            let mut bo = BlockOut::new(
                if wanted { Some(&mut fields) } else { None },
                self.cfg.max_header_list_size,
            );
            let r = self.dirs[d].hpack.decode(&b.buf, &mut bo);
            let (bad, capped) = (bo.bad_index, bo.table_capped);
            lost = bo.lost || r.is_err();
            cut = bo.cut;
            if let Err(e) = r {
                self.event(
                    out,
                    "hpack-error",
                    format!(
                        "header block of stream {}: {}; HPACK state lost",
                        b.stream,
                        e.text()
                    ),
                    d,
                    b.start,
                );
                self.lose_hpack(d);
            }
            if capped {
                self.event(
                    out,
                    "hpack-table-too-large",
                    format!(
                        "table size update above the cap of {}",
                        self.cfg.max_table_size
                    ),
                    d,
                    b.start,
                );
            }
            if bad {
                self.event(
                    out,
                    "hpack-bad-index",
                    format!(
                        "header block of stream {}: index beyond the dynamic table",
                        b.stream
                    ),
                    d,
                    b.start,
                );
            }
            if cut && wanted {
                self.event(
                    out,
                    "header-list-too-large",
                    format!(
                        "header list of stream {} over {} bytes: cut",
                        b.stream, self.cfg.max_header_list_size
                    ),
                    d,
                    b.start,
                );
            }
        }
        if lost && wanted {
            self.counters.headers_lost += 1;
        }
        if !wanted {
            return;
        }
        match b.kind {
            BlockKind::Headers { end_stream } => {
                let max_list = self.cfg.max_header_list_size;
                let Some(h) = self.half_mut(target, d, b.start, out) else {
                    return;
                };
                h.half.frames += b.frames;
                h.half.end = end;
                h.half.headers_lost |= lost;
                h.half.headers_cut |= cut;
                let interim = d == 1
                    && !h.got_headers
                    && fields
                        .iter()
                        .find(|(n, _)| n == ":status")
                        .is_some_and(|(_, v)| v.len() == 3 && v.starts_with('1'));
                if interim {
                    if h.half.interim.len() < MAX_INTERIM {
                        h.half.interim.push(fields);
                    }
                } else if !h.got_headers && !h.got_data {
                    h.got_headers = true;
                    h.half.headers = fields;
                } else {
                    // Trailers (a repeated block joins them, within the list cap).
                    h.got_headers = true;
                    let mut size: usize = h.half.trailers.iter().map(field_size).sum();
                    for f in fields {
                        size += field_size(&f);
                        if size > max_list {
                            h.half.headers_cut = true;
                            break;
                        }
                        h.half.trailers.push(f);
                    }
                }
                if end_stream {
                    h.half.end_stream = true;
                }
                self.maybe_emit(target, out);
            }
            BlockKind::Push { promised } => {
                self.make_room(d, b.start, out);
                self.counters.pushed += 1;
                self.max_id[1] = self.max_id[1].max(promised);
                let mut h = HalfState::new(b.start);
                h.half.headers = fields;
                h.half.headers_lost = lost;
                h.half.headers_cut = cut;
                h.half.end = end;
                h.half.frames = b.frames;
                h.half.end_stream = true;
                h.got_headers = true;
                let seq = self.seq;
                self.seq += 1;
                let s = self.streams.entry(promised).or_insert(StreamState {
                    seq,
                    pushed: true,
                    halves: [None, None],
                    error: None,
                });
                s.pushed = true;
                if let Some(old) = s.halves[0].replace(h) {
                    self.kept = self.kept.saturating_sub(old.half.body.len());
                }
            }
        }
    }

    /// Frame header (and prefix) consumed: act on what the header says.
    fn frame_start(
        &mut self,
        d: usize,
        h: FrameHeader,
        prefix: &[u8],
        start: u64,
        out: &mut Vec<Message>,
    ) {
        // A header block must be followed by its CONTINUATIONs only.
        if let Some(b) = &self.dirs[d].block {
            if h.ty != CONTINUATION || h.stream != b.stream {
                let (bs, bk) = (b.stream, b.kind);
                self.dirs[d].block = None;
                self.event(
                    out,
                    "continuation-expected",
                    format!(
                        "header block of stream {bs} interrupted by a frame of type {}",
                        h.ty
                    ),
                    d,
                    start,
                );
                self.lose_hpack(d);
                self.block_lost(d, bs, bk);
            }
        }
        let cap = self.cfg.max_header_block;
        let padded = usize::from(h.flags & PADDED != 0);
        match h.ty {
            DATA => {
                if let Some(half) = self.half_mut(h.stream, d, start, out) {
                    half.half.frames += 1;
                    half.got_data = true;
                    if !half.got_headers && half.half.frames == 1 && half.half.headers.is_empty() {
                        // First seen by its DATA: the headers went by before us.
                        half.half.headers_lost = true;
                    }
                }
            }
            HEADERS | PUSH_PROMISE => {
                let kind = if h.ty == HEADERS {
                    BlockKind::Headers {
                        end_stream: h.flags & END_STREAM != 0,
                    }
                } else {
                    BlockKind::Push {
                        promised: be32(prefix.get(padded..).unwrap_or(&[])) & 0x7fff_ffff,
                    }
                };
                self.dirs[d].block = Some(Block {
                    stream: h.stream,
                    kind,
                    start,
                    buf: Vec::with_capacity((h.len as usize).min(cap)),
                    over: false,
                    frames: 1,
                });
            }
            CONTINUATION => match self.dirs[d].block.as_mut() {
                Some(b) => b.frames += 1,
                None => {
                    // Its block's start is gone, and with it the table inserts.
                    if !self.dirs[d].hpack.is_partial() {
                        self.event(
                            out,
                            "unexpected-continuation",
                            format!("CONTINUATION on stream {} without a header block", h.stream),
                            d,
                            start,
                        );
                    }
                    self.lose_hpack(d);
                }
            },
            RST_STREAM => {
                let code = be32(prefix);
                if let Some(s) = self.streams.get_mut(&h.stream) {
                    s.error.get_or_insert(StreamError {
                        kind: ErrorSource::RstStream,
                        code,
                        name: error_name(code),
                        sent_by: dir_of(d),
                    });
                    if let Some(half) = s.half_in(d) {
                        half.half.end = start + HDR as u64 + u64::from(h.len);
                    }
                    self.emit(h.stream, out);
                } else if !self.is_closed(h.stream) {
                    // Remember it so later frames do not open a ghost stream.
                    if self.closed.len() >= CLOSED_RING {
                        self.closed.pop_front();
                    }
                    self.closed.push_back(h.stream);
                }
            }
            SETTINGS if h.flags & ACK != 0 => self.dirs[d].hpack.settings_acked(),
            GOAWAY => {
                let last = be32(prefix) & 0x7fff_ffff;
                let code = be32(prefix.get(4..).unwrap_or(&[]));
                self.goaway = Some((last, code, dir_of(d)));
                self.event(
                    out,
                    "goaway",
                    format!("GOAWAY last-stream-id {last}, {}", error_name(code)),
                    d,
                    start,
                );
            }
            _ => {}
        }
    }

    /// `data` is content of the current frame.
    fn frame_content(&mut self, d: usize, cur: &Cur, data: &[u8]) {
        match cur.h.ty {
            DATA => {
                let keep = self.cfg.max_body_kept;
                let total = self.cfg.max_body_total.saturating_sub(self.kept);
                let end = self.dirs[d].off + data.len() as u64;
                if let Some(half) = self
                    .streams
                    .get_mut(&cur.h.stream)
                    .and_then(|s| s.half_in(d))
                {
                    let room = keep.saturating_sub(half.half.body.len()).min(total);
                    let n = room.min(data.len());
                    half.half.body.extend_from_slice(&data[..n]);
                    self.kept += n;
                    half.half.body_size += data.len() as u64;
                    half.half.end = end;
                }
            }
            HEADERS | PUSH_PROMISE | CONTINUATION => {
                let cap = self.cfg.max_header_block;
                if let Some(b) = self.dirs[d].block.as_mut() {
                    if b.over || b.buf.len() + data.len() > cap {
                        b.over = true;
                        b.buf = Vec::new();
                    } else {
                        b.buf.extend_from_slice(data);
                    }
                }
            }
            _ => {}
        }
    }

    fn settings_entry(&mut self, d: usize, e: &[u8]) {
        if u16::from_be_bytes([e[0], e[1]]) == 1 {
            // The sender's decoder limit binds the encoder of the other direction.
            self.dirs[1 - d].hpack.settings_sent(be32(&e[2..]));
        }
    }

    fn frame_end(&mut self, d: usize, cur: &Cur, out: &mut Vec<Message>) {
        if cur.skip {
            return;
        }
        let end = self.dirs[d].off;
        match cur.h.ty {
            DATA => {
                let id = cur.h.stream;
                if let Some(half) = self.streams.get_mut(&id).and_then(|s| s.half_in(d)) {
                    half.half.end = end;
                    if cur.h.flags & END_STREAM != 0 {
                        half.half.end_stream = true;
                    }
                    self.maybe_emit(id, out);
                }
            }
            HEADERS | PUSH_PROMISE | CONTINUATION if cur.h.flags & END_HEADERS != 0 => {
                if let Some(b) = self.dirs[d].block.take() {
                    self.finish_block(d, b, end, out);
                }
            }
            _ => {}
        }
    }

    /// Parse frames; returns (consumed, needed).
    fn frames(&mut self, d: usize, data: &[u8], out: &mut Vec<Message>) -> (usize, usize) {
        let mut pos = 0;
        loop {
            if self.dirs[d].phase != Phase::Frames {
                return (pos, 0);
            }
            let rest = &data[pos..];
            if let Some(mut cur) = self.dirs[d].cur {
                if cur.content_left > 0 {
                    if cur.h.ty == SETTINGS && !cur.skip {
                        if rest.len() < 6 {
                            return (pos, 6 - rest.len());
                        }
                        self.settings_entry(d, &rest[..6]);
                        cur.content_left -= 6;
                        pos += 6;
                        self.dirs[d].off += 6;
                    } else {
                        if rest.is_empty() {
                            self.dirs[d].cur = Some(cur);
                            return (pos, 1);
                        }
                        let k = rest.len().min(cur.content_left as usize);
                        if !cur.skip {
                            self.frame_content(d, &cur, &rest[..k]);
                        }
                        cur.content_left -= k as u32;
                        pos += k;
                        self.dirs[d].off += k as u64;
                    }
                    self.dirs[d].cur = Some(cur);
                    continue;
                }
                if cur.pad_left > 0 {
                    if rest.is_empty() {
                        return (pos, 1);
                    }
                    let k = rest.len().min(cur.pad_left as usize);
                    cur.pad_left -= k as u32;
                    pos += k;
                    self.dirs[d].off += k as u64;
                    self.dirs[d].cur = Some(cur);
                    continue;
                }
                self.dirs[d].cur = None;
                self.frame_end(d, &cur, out);
                continue;
            }
            if rest.len() < HDR {
                return (pos, HDR - rest.len());
            }
            let Some(h) = FrameHeader::parse(rest) else {
                return (pos, HDR);
            };
            let start = self.dirs[d].off;
            if let Some(why) = desync(&h) {
                self.event(
                    out,
                    "bad-frame",
                    format!("{why} (type {}, length {}): resynchronising", h.ty, h.len),
                    d,
                    start,
                );
                self.start_resync(d, true);
                return (pos, 0);
            }
            let prefix = h.prefix();
            let mut skip = false;
            let mut pad = 0u32;
            let mut plen = prefix;
            if h.len < prefix {
                self.event(
                    out,
                    "bad-frame",
                    format!(
                        "frame of type {} too short ({} bytes): skipped",
                        h.ty, h.len
                    ),
                    d,
                    start,
                );
                skip = true;
                plen = 0;
            } else if rest.len() < HDR + prefix as usize {
                return (pos, HDR + prefix as usize - rest.len());
            } else if h.flags & PADDED != 0 && matches!(h.ty, DATA | HEADERS | PUSH_PROMISE) {
                pad = u32::from(rest[HDR]);
                if pad > h.len - prefix {
                    self.event(
                        out,
                        "bad-frame",
                        format!("padding of {pad} in a frame of {} bytes: skipped", h.len),
                        d,
                        start,
                    );
                    skip = true;
                    pad = 0;
                }
            }
            self.counters.frames += 1;
            let pre = &rest[HDR..HDR + plen as usize];
            if !skip {
                self.frame_start(d, h, pre, start, out);
            } else if self.dirs[d].block.is_some() {
                // A malformed frame inside a header block breaks it too.
                self.frame_start(d, FrameHeader { ty: u8::MAX, ..h }, &[], start, out);
            }
            let used = HDR + plen as usize;
            pos += used;
            self.dirs[d].off += used as u64;
            self.dirs[d].cur = Some(Cur {
                h,
                start,
                content_left: h.len - plen - pad,
                pad_left: pad,
                skip,
            });
        }
    }
}

fn field_size(f: &(String, String)) -> usize {
    f.0.len() + f.1.len() + 32
}

fn decode_base64url(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let s = s.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

impl StreamParser for Http2Parser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        frame::probe(input.data)
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            match self.dirs[d].phase {
                Phase::Done => {
                    return Ok(Parsed {
                        consumed: data.len(),
                        needed: 0,
                    })
                }
                Phase::Start => {
                    if rest.is_empty() {
                        return Ok(Parsed {
                            consumed: pos,
                            needed: 1,
                        });
                    }
                    if d == 0 {
                        let n = rest.len().min(PREFACE.len());
                        if rest[..n] == PREFACE[..n] {
                            if n < PREFACE.len() {
                                return Ok(Parsed {
                                    consumed: pos,
                                    needed: PREFACE.len() - n,
                                });
                            }
                            pos += PREFACE.len();
                            self.dirs[d].off += PREFACE.len() as u64;
                            self.dirs[d].phase = Phase::Frames;
                            continue;
                        }
                    } else if rest.len() < HDR && plausible_prefix(rest) {
                        return Ok(Parsed {
                            consumed: pos,
                            needed: HDR - rest.len(),
                        });
                    } else if FrameHeader::parse(rest)
                        .is_some_and(|h| h.ty == SETTINGS && h.flags & ACK == 0 && plausible(&h))
                    {
                        // The server's preface is a SETTINGS frame.
                        self.dirs[d].phase = Phase::Frames;
                        continue;
                    }
                    self.start_resync(d, false);
                }
                Phase::Resync => {
                    let from = usize::from(self.dirs[d].skip_first);
                    let streams = &self.streams;
                    let open = |h: &FrameHeader| {
                        matches!(h.ty, DATA | HEADERS) && streams.contains_key(&h.stream)
                    };
                    let (used, needed, found) = match scan(rest, from, open) {
                        Scan::Found(p) => (p, 0, true),
                        Scan::Wait(p, n) => (p, n, false),
                        Scan::Skip(p) => (p, HDR.saturating_sub(rest.len() - p).max(1), false),
                    };
                    pos += used;
                    self.dirs[d].off += used as u64;
                    self.counters.skipped_bytes += used as u64;
                    if used > 0 {
                        self.dirs[d].skip_first = false;
                    }
                    if !found {
                        return Ok(Parsed {
                            consumed: pos,
                            needed,
                        });
                    }
                    let ds = &mut self.dirs[d];
                    ds.phase = Phase::Frames;
                    ds.skip_first = false;
                    let (from_off, at) = (ds.resync_from, ds.off);
                    self.event(
                        out,
                        "resync",
                        format!(
                            "frames found after skipping {} bytes; HPACK state of this direction incomplete",
                            at - from_off
                        ),
                        d,
                        at,
                    );
                }
                Phase::Frames => {
                    let (used, needed) = self.frames(d, rest, out);
                    pos += used;
                    if self.dirs[d].phase == Phase::Frames {
                        return Ok(Parsed {
                            consumed: pos,
                            needed: if pos < data.len() {
                                needed.max(1)
                            } else {
                                needed
                            },
                        });
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Message>) {
        let d = dir.index();
        self.counters.gaps += 1;
        if self.dirs[d].phase == Phase::Done {
            return;
        }
        let offset = self.dirs[d].off;
        for s in self.streams.values_mut() {
            if let Some(h) = s.half_in(d) {
                if !h.half.end_stream {
                    h.half.body_gap = true;
                }
            }
        }
        self.start_resync(d, false);
        self.dirs[d].off = offset + len;
        self.dirs[d].resync_from = offset;
        self.event(
            out,
            "gap",
            format!("{len} bytes lost: open halves marked, HPACK state incomplete"),
            d,
            offset,
        );
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        let d = dir.index();
        self.dirs[d].ended = true;
        if self.dirs[0].ended && self.dirs[1].ended && self.dirs[d].phase != Phase::Done {
            self.dirs[0].phase = Phase::Done;
            self.dirs[1].phase = Phase::Done;
            self.dirs[0].block = None;
            self.dirs[1].block = None;
            self.flush(out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let d = dir.index();
        let ds = &self.dirs[d];
        let mut lw = ds.off;
        if let Some(c) = &ds.cur {
            lw = lw.min(c.start);
        }
        if let Some(b) = &ds.block {
            lw = lw.min(b.start);
        }
        for s in self.streams.values() {
            for (k, h) in s.halves.iter().enumerate() {
                // A pushed stream's request half lives in the server's direction.
                let hd = if s.pushed { 1 } else { k };
                if let (true, Some(h)) = (hd == d, h) {
                    lw = lw.min(h.half.start);
                }
            }
        }
        lw
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}
