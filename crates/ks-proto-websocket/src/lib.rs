//! WebSocket (RFC 6455) streaming dissector with permessage-deflate (RFC 7692),
//! implementing the ks parser contract for the bytes after an HTTP `101
//! Switching Protocols`.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_websocket::{Deflate, Opcode, WsConfig, WsParser};
//!
//! let deflate = Deflate::from_extensions("permessage-deflate");
//! let mut p = WsParser::new(WsConfig::default(), deflate, [0, 0]);
//! let mut out = Vec::new();
//! // A masked "Hello" from the client (RFC 6455 §5.7) ...
//! let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let r = p.parse(Direction::ToServer, &hello, &mut out).unwrap();
//! assert_eq!(r.consumed, hello.len());
//! // ... and a compressed "Hello" from the server (RFC 7692 §7.2.3.1).
//! let zipped = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
//! p.parse(Direction::ToClient, &zipped, &mut out).unwrap();
//! assert_eq!((out[0].opcode, &out[0].payload[..]), (Opcode::Text, &b"Hello"[..]));
//! assert!(out[1].compressed && out[1].payload == b"Hello" && out[1].wire_size == 7);
//! ```
//!
//! Policies (fragments, control frames, deflate contexts, gaps, resynchronisation,
//! caps) are described in `docs/websocket.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod deflate;
mod frame;

use ks_proto::{
    Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict,
};

pub use deflate::{Deflate, Deflater};
use deflate::{Fed, Inflater, TAIL};
pub use frame::Opcode;
use frame::{check_strict, parse_header, unmask, Check, Header, HeaderParse, Strict, RSV1};

/// A resynchronisation candidate frame up to this size (header + payload) is
/// only accepted once the header after it checks out too; a larger one is
/// accepted on its own header (waiting for it would make the engine buffer it).
const RESYNC_VERIFY_MAX: u64 = 64 * 1024;

/// Frames the probe looks at, one after the other.
const PROBE_FRAMES: usize = 4;

/// Control frames carry at most this many payload bytes (RFC 6455 §5.5).
const MAX_CONTROL: u64 = 125;

/// Limits of the parser. Every buffer the parser owns is bounded by one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsConfig {
    /// Payload bytes (unmasked, inflated) kept per message; the rest is counted.
    pub max_payload_kept: usize,
    /// Inflated bytes counted per message before inflating stops (the message
    /// is flagged `truncated` with an error): a decompression bomb costs time
    /// up to this size, never memory.
    pub max_message_size: u64,
    /// Frames joined into one message; the next continuation cuts it (see
    /// `docs/websocket.md`).
    pub max_fragments: u32,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_payload_kept: 64 * 1024,
            max_message_size: 16 * 1024 * 1024,
            max_fragments: 10_000,
        }
    }
}

/// Status code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Close {
    /// The status code, when the payload has one (2 bytes or more).
    pub code: Option<u16>,
    /// The reason (lossy UTF-8), possibly empty.
    pub reason: String,
}

/// A WebSocket message: a data message (its fragments joined) or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage {
    /// Direction: `ToServer` for client frames.
    pub dir: Direction,
    /// Opcode of the first frame (a joined fragmented message has the data opcode;
    /// `Continuation` when the start was not seen).
    pub opcode: Opcode,
    /// `false` only when the message was cut (gap, end, cap) before its final
    /// fragment.
    pub fin: bool,
    /// The first frame was masked.
    pub masked: bool,
    /// Frames joined.
    pub fragments: u32,
    /// RSV1 on the first frame and permessage-deflate negotiated.
    pub compressed: bool,
    /// Payload bytes on the wire, all fragments (lost ones included).
    pub wire_size: u64,
    /// Payload bytes after unmasking and inflating (inflated bytes counted up to
    /// `max_message_size`).
    pub payload_size: u64,
    /// The payload: unmasked, inflated, cut at `max_payload_kept`.
    pub payload: Vec<u8>,
    /// `payload` holds fewer than `payload_size` bytes, or inflating stopped
    /// early (cap, error, lost context, gap).
    pub truncated: bool,
    /// For close frames: status code and reason when present.
    pub close: Option<Close>,
    /// The first problem met: inflate failure, protocol violation, gap, cut.
    pub error: Option<String>,
    /// Absolute offset (in `dir`) of the first byte of the first frame.
    pub start: u64,
    /// Absolute offset just after the last byte of the message seen.
    pub end: u64,
}

/// Event counters of one parser (one connection).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WsCounters {
    /// Frame headers parsed.
    pub frames: u64,
    /// Messages emitted (control frames included).
    pub messages: u64,
    /// Compressed messages whose inflating failed.
    pub inflate_errors: u64,
    /// Protocol violations seen (each counted once).
    pub protocol_errors: u64,
    /// Times a direction started looking for a frame header after lost sync.
    pub resyncs: u64,
    /// Bytes skipped while resynchronising.
    pub resync_skipped: u64,
    /// Gap events.
    pub gaps: u64,
    /// Messages whose inflating stopped at `max_message_size`.
    pub inflate_capped: u64,
    /// Compressed messages not inflated because the direction's shared deflate
    /// context was lost earlier (gap, error, cap).
    pub context_lost: u64,
    /// Messages cut at `max_fragments`.
    pub fragments_capped: u64,
}

/// Where a direction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At a frame header.
    Header,
    /// Inside a frame's payload.
    Payload,
    /// Looking for a plausible frame header; `skip_first` after an `Err`, so the
    /// bad header's first byte is never taken again.
    Resync { skip_first: bool },
}

/// The frame whose payload is streaming by.
#[derive(Debug, Clone, Copy)]
struct Frame {
    remaining: u64,
    mask: Option<[u8; 4]>,
    /// Position in the masking key of the next payload byte.
    mask_pos: usize,
    /// Payload goes to the control/standalone message, not the data message.
    ctrl: bool,
    fin: bool,
}

/// Inflating state of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inflate {
    /// Not compressed.
    Off,
    /// Inflating.
    On,
    /// Compressed but no longer inflated (cap, error, lost context, gap).
    Stopped,
}

/// A message being assembled.
struct Acc {
    msg: WsMessage,
    /// Payload bytes to keep (larger than the config's for close frames, whose
    /// code and reason are read from it; cut back at emission).
    keep: usize,
    /// Bytes were lost: later payload is no longer contiguous, so none is kept.
    hole: bool,
    inflate: Inflate,
}

impl Acc {
    fn set_error(&mut self, e: impl Into<String>) {
        if self.msg.error.is_none() {
            self.msg.error = Some(e.into());
        }
    }

    /// Keeps what fits of already-unmasked payload bytes.
    fn keep_plain(&mut self, b: &[u8]) {
        let room = self.keep.saturating_sub(self.msg.payload.len());
        let n = room.min(b.len());
        if let Some(k) = b.get(..n) {
            self.msg.payload.extend_from_slice(k);
        }
        if n < b.len() {
            self.msg.truncated = true;
        }
    }
}

/// Per-direction state.
struct DirState {
    /// Absolute offset of the next byte to parse.
    offset: u64,
    mode: Mode,
    frame: Option<Frame>,
    /// Text/binary message in progress (awaiting its final fragment).
    data: Option<Acc>,
    /// Control (or reserved-opcode) frame in progress.
    ctrl: Option<Acc>,
    inflater: Option<Box<Inflater>>,
    /// The shared deflate window is gone (gap, error or cap in a message).
    context_lost: bool,
}

impl DirState {
    fn new(offset: u64) -> Self {
        DirState {
            offset,
            mode: Mode::Header,
            frame: None,
            data: None,
            ctrl: None,
            inflater: None,
            context_lost: false,
        }
    }
}

/// The WebSocket parser for one connection (both directions).
pub struct WsParser {
    cfg: WsConfig,
    deflate: Option<Deflate>,
    dirs: [DirState; 2],
    counters: WsCounters,
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

impl WsParser {
    /// A parser for the bytes after the switch; `start[dir.index()]` is the
    /// absolute stream offset of the first byte passed in that direction.
    /// `deflate`: what the 101 response accepted ([`Deflate::from_extensions`]).
    pub fn new(cfg: WsConfig, deflate: Option<Deflate>, start: [u64; 2]) -> Self {
        WsParser {
            cfg,
            deflate,
            dirs: [DirState::new(start[0]), DirState::new(start[1])],
            counters: WsCounters::default(),
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> WsCounters {
        self.counters
    }

    /// The senders in `d` reset their deflate context per message.
    fn no_takeover(&self, d: usize) -> bool {
        match self.deflate {
            Some(x) if d == 0 => x.client_no_context_takeover,
            Some(x) => x.server_no_context_takeover,
            None => true,
        }
    }

    fn strict(&self, d: usize) -> Strict {
        Strict {
            masked: Some(d == 0),
            rsv1_ok: self.deflate.is_some(),
        }
    }

    /// A lost deflate context (only matters with context takeover).
    fn lose_context(&mut self, d: usize) {
        if self.deflate.is_some() && !self.no_takeover(d) {
            self.dirs[d].context_lost = true;
        }
    }

    fn emit(&mut self, mut acc: Acc, out: &mut Vec<WsMessage>) {
        if acc.msg.opcode == Opcode::Close && acc.msg.close.is_none() {
            let p = &acc.msg.payload;
            let mut close = Close::default();
            if let [a, b, rest @ ..] = p.as_slice() {
                let code = u16::from_be_bytes([*a, *b]);
                close.code = Some(code);
                close.reason = String::from_utf8_lossy(rest).into_owned();
                // RFC 6455 §7.4: codes that must never appear on the wire.
                if !(1000..5000).contains(&code) || matches!(code, 1004..=1006 | 1015) {
                    acc.set_error(format!("invalid close code {code}"));
                    self.counters.protocol_errors += 1;
                }
            } else if acc.msg.payload_size == 1 {
                acc.set_error("close payload of 1 byte");
                self.counters.protocol_errors += 1;
            }
            acc.msg.close = Some(close);
            if acc.msg.payload.len() > self.cfg.max_payload_kept {
                acc.msg.payload.truncate(self.cfg.max_payload_kept);
                acc.msg.truncated = true;
            }
        }
        if (acc.msg.payload.len() as u64) < acc.msg.payload_size {
            acc.msg.truncated = true;
        }
        self.counters.messages += 1;
        out.push(acc.msg);
    }

    /// Emits the messages in progress in `d` as cut, data message first (its
    /// frames precede the control frame in progress).
    fn flush_cut(&mut self, d: usize, why: &str, out: &mut Vec<WsMessage>) {
        let st = &mut self.dirs[d];
        let in_frame = st.frame.take();
        let (data, ctrl) = (st.data.take(), st.ctrl.take());
        let offset = st.offset;
        if let Some(mut a) = data {
            a.msg.fin = false;
            if in_frame.is_some_and(|f| !f.ctrl) {
                a.msg.end = offset;
            }
            if a.inflate == Inflate::On {
                a.inflate = Inflate::Stopped;
                a.msg.truncated = true;
            }
            a.set_error(why);
            self.emit(a, out);
        }
        if let Some(mut a) = ctrl {
            a.msg.fin = false;
            a.msg.end = offset;
            a.set_error(why);
            self.emit(a, out);
        }
    }

    fn new_acc(&self, d: usize, h: &Header, start: u64, ctrl: bool) -> Acc {
        let keep = if h.opcode == Opcode::Close {
            self.cfg.max_payload_kept.max(MAX_CONTROL as usize)
        } else {
            self.cfg.max_payload_kept
        };
        let cap = usize::try_from(h.len).unwrap_or(usize::MAX).min(keep);
        Acc {
            msg: WsMessage {
                dir: DIRS[d],
                opcode: h.opcode,
                fin: if ctrl { h.fin } else { false },
                masked: h.mask.is_some(),
                fragments: 1,
                compressed: false,
                wire_size: 0,
                payload_size: 0,
                payload: Vec::with_capacity(cap),
                truncated: false,
                close: None,
                error: None,
                start,
                end: start,
            },
            keep,
            hole: false,
            inflate: Inflate::Off,
        }
    }

    /// A header was parsed at `start`: open or extend a message.
    fn begin_frame(&mut self, d: usize, h: Header, start: u64, out: &mut Vec<WsMessage>) {
        self.counters.frames += 1;
        let mut errs: [Option<String>; 3] = [None, None, None];
        if (d == 0) != h.mask.is_some() {
            errs[0] = Some(
                if d == 0 {
                    "unmasked client frame"
                } else {
                    "masked server frame"
                }
                .into(),
            );
        }
        if h.rsv & 0b011 != 0 {
            errs[1] = Some(format!("reserved bits set (RSV {:03b})", h.rsv));
        }
        let rsv1 = h.rsv & RSV1 != 0;
        let standalone = h.opcode.is_control() || matches!(h.opcode, Opcode::Reserved(_));
        if standalone {
            let mut acc = self.new_acc(d, &h, start, true);
            if let Opcode::Reserved(c) = h.opcode {
                acc.set_error(format!("reserved opcode {c:#x}"));
                self.counters.protocol_errors += 1;
            } else if !h.fin {
                acc.set_error("fragmented control frame");
                self.counters.protocol_errors += 1;
            } else if h.len > MAX_CONTROL {
                acc.set_error("control frame longer than 125 bytes");
                self.counters.protocol_errors += 1;
            }
            if rsv1 {
                errs[2] = Some("RSV1 on a control frame".into());
            }
            self.dirs[d].ctrl = Some(acc);
        } else if h.opcode == Opcode::Continuation {
            match self.dirs[d].data.take() {
                None => {
                    let mut acc = self.new_acc(d, &h, start, false);
                    acc.set_error("continuation without start");
                    self.counters.protocol_errors += 1;
                    self.dirs[d].data = Some(acc);
                }
                Some(mut acc) if acc.msg.fragments >= self.cfg.max_fragments => {
                    // Cut here so a message never stays open forever; the rest
                    // continues as a new message (same deflate stream).
                    let (compressed, inflate) = (acc.msg.compressed, acc.inflate);
                    acc.msg.fin = false;
                    acc.set_error(format!("more than {} fragments", self.cfg.max_fragments));
                    self.counters.fragments_capped += 1;
                    self.emit(acc, out);
                    let mut next = self.new_acc(d, &h, start, false);
                    next.msg.compressed = compressed;
                    next.inflate = inflate;
                    next.set_error("continues a message cut at max_fragments");
                    self.dirs[d].data = Some(next);
                }
                Some(mut acc) => {
                    acc.msg.fragments += 1;
                    self.dirs[d].data = Some(acc);
                }
            }
            if rsv1 {
                errs[2] = Some("RSV1 on a continuation frame".into());
            }
        } else {
            if self.dirs[d].data.is_some() {
                self.counters.protocol_errors += 1;
                self.flush_cut(d, "new message before the final fragment", out);
            }
            let mut acc = self.new_acc(d, &h, start, false);
            if rsv1 {
                if self.deflate.is_some() {
                    acc.msg.compressed = true;
                    self.start_inflate(d, &mut acc);
                } else {
                    errs[2] = Some("RSV1 without permessage-deflate".into());
                }
            }
            self.dirs[d].data = Some(acc);
        }
        let st = &mut self.dirs[d];
        let slot = if standalone {
            &mut st.ctrl
        } else {
            &mut st.data
        };
        if let Some(acc) = slot {
            acc.msg.wire_size = acc.msg.wire_size.saturating_add(h.len);
            for e in errs.into_iter().flatten() {
                acc.set_error(e);
                self.counters.protocol_errors += 1;
            }
        }
        st.frame = Some(Frame {
            remaining: h.len,
            mask: h.mask,
            mask_pos: 0,
            ctrl: standalone,
            fin: h.fin,
        });
        st.mode = Mode::Payload;
    }

    fn start_inflate(&mut self, d: usize, acc: &mut Acc) {
        let takeover = !self.no_takeover(d);
        let st = &mut self.dirs[d];
        if takeover && st.context_lost {
            acc.set_error("deflate context lost");
            acc.inflate = Inflate::Stopped;
            acc.msg.truncated = true;
            self.counters.context_lost += 1;
            return;
        }
        let inf = st.inflater.get_or_insert_with(|| Box::new(Inflater::new()));
        if !takeover || inf.ended {
            inf.reset();
        }
        acc.inflate = Inflate::On;
    }

    /// Payload bytes of the current frame (`b.len()` ≤ its remaining length).
    fn payload(&mut self, d: usize, b: &[u8]) {
        let max_msg = self.cfg.max_message_size;
        let takeover = !self.no_takeover(d);
        let st = &mut self.dirs[d];
        let Some(frame) = st.frame.as_mut() else {
            return;
        };
        let (mask, pos0) = (frame.mask, frame.mask_pos);
        frame.mask_pos = (pos0 + b.len()) & 3;
        let slot = if frame.ctrl {
            &mut st.ctrl
        } else {
            &mut st.data
        };
        let Some(acc) = slot.as_mut() else {
            return;
        };
        match acc.inflate {
            Inflate::Off => {
                acc.msg.payload_size += b.len() as u64;
                if acc.hole {
                    return;
                }
                let before = acc.msg.payload.len();
                acc.keep_plain(b);
                if let (Some(m), Some(kept)) = (mask, acc.msg.payload.get_mut(before..)) {
                    unmask(kept, m, pos0);
                }
            }
            Inflate::Stopped => {}
            Inflate::On => {
                let Some(inf) = st.inflater.as_mut() else {
                    acc.inflate = Inflate::Stopped;
                    return;
                };
                let fed = match mask {
                    Some(m) => {
                        let mut sink = sink(acc, max_msg);
                        inf.feed_masked(b, m, pos0, &mut sink)
                    }
                    None => feed(inf, b, acc, max_msg),
                };
                let (capped, failed) = match fed {
                    Fed::More => (false, None),
                    Fed::Capped => (true, None),
                    Fed::Error(e) => (false, Some(e)),
                };
                if capped || failed.is_some() {
                    acc.inflate = Inflate::Stopped;
                    acc.msg.truncated = true;
                    if let Some(e) = failed {
                        acc.set_error(e);
                        self.counters.inflate_errors += 1;
                    } else {
                        acc.set_error(format!("inflated size exceeds {max_msg} bytes"));
                        self.counters.inflate_capped += 1;
                    }
                    if takeover {
                        st.context_lost = true;
                    }
                }
            }
        }
    }

    /// The current frame's payload is complete; `end` is the offset after it.
    fn end_frame(&mut self, d: usize, end: u64, out: &mut Vec<WsMessage>) {
        let max_msg = self.cfg.max_message_size;
        let takeover = !self.no_takeover(d);
        let st = &mut self.dirs[d];
        st.mode = Mode::Header;
        let Some(frame) = st.frame.take() else {
            return;
        };
        if frame.ctrl {
            if let Some(mut acc) = st.ctrl.take() {
                acc.msg.end = end;
                self.emit(acc, out);
            }
            return;
        }
        let Some(acc) = st.data.as_mut() else {
            return;
        };
        acc.msg.end = end;
        if !frame.fin {
            return;
        }
        acc.msg.fin = true;
        if acc.inflate == Inflate::On {
            if let Some(inf) = st.inflater.as_mut() {
                match feed(inf, &TAIL, acc, max_msg) {
                    Fed::More => {}
                    Fed::Capped => {
                        acc.msg.truncated = true;
                        acc.set_error(format!("inflated size exceeds {max_msg} bytes"));
                        self.counters.inflate_capped += 1;
                        if takeover {
                            st.context_lost = true;
                        }
                    }
                    Fed::Error(e) => {
                        acc.msg.truncated = true;
                        acc.set_error(e);
                        self.counters.inflate_errors += 1;
                        if takeover {
                            st.context_lost = true;
                        }
                    }
                }
            }
        }
        if let Some(acc) = st.data.take() {
            self.emit(acc, out);
        }
    }

    /// Looks for a plausible header in `data[from..]`.
    fn scan(&self, d: usize, data: &[u8], from: usize) -> Scan {
        let s = self.strict(d);
        let mut i = from;
        while let Some(rest) = data.get(i..) {
            if rest.is_empty() {
                break;
            }
            match check_strict(rest, s) {
                Check::No => {}
                Check::More(n) => return Scan::More { at: i, need: n },
                Check::Yes(h) => {
                    let total = (h.header_len as u64).saturating_add(h.len);
                    if total > RESYNC_VERIFY_MAX {
                        return Scan::Found(i);
                    }
                    // total ≤ 64 KiB: fits in usize.
                    let next = total as usize;
                    let after = rest.get(next..).unwrap_or(&[]);
                    if rest.len() < next {
                        return Scan::More {
                            at: i,
                            need: next - rest.len() + 1,
                        };
                    }
                    match check_strict(after, s) {
                        Check::No => {}
                        Check::More(n) => return Scan::More { at: i, need: n },
                        Check::Yes(_) => return Scan::Found(i),
                    }
                }
            }
            i += 1;
        }
        Scan::None
    }

    fn parse_dir(
        &mut self,
        d: usize,
        data: &[u8],
        out: &mut Vec<WsMessage>,
    ) -> Result<Parsed, ParseError> {
        let base = self.dirs[d].offset;
        let mut pos = 0usize;
        let res = loop {
            let rest = data.get(pos..).unwrap_or(&[]);
            match self.dirs[d].mode {
                Mode::Resync { skip_first } => {
                    let from = usize::from(skip_first);
                    match self.scan(d, rest, from) {
                        Scan::Found(i) => {
                            self.counters.resync_skipped += i as u64;
                            pos += i;
                            self.dirs[d].mode = Mode::Header;
                        }
                        Scan::More { at, need } => {
                            if at > 0 {
                                self.dirs[d].mode = Mode::Resync { skip_first: false };
                            }
                            self.counters.resync_skipped += at as u64;
                            pos += at;
                            break Ok(Parsed {
                                consumed: pos,
                                needed: need.max(1),
                            });
                        }
                        Scan::None => {
                            let n = rest.len();
                            if n > 0 {
                                self.dirs[d].mode = Mode::Resync { skip_first: false };
                            }
                            self.counters.resync_skipped += n as u64;
                            pos += n;
                            break Ok(Parsed {
                                consumed: pos,
                                needed: 0,
                            });
                        }
                    }
                }
                Mode::Header => {
                    if rest.is_empty() {
                        break Ok(Parsed {
                            consumed: pos,
                            needed: 0,
                        });
                    }
                    match parse_header(rest) {
                        HeaderParse::Incomplete(n) => {
                            break Ok(Parsed {
                                consumed: pos,
                                needed: n,
                            })
                        }
                        HeaderParse::BadLength if pos > 0 => {
                            break Ok(Parsed {
                                consumed: pos,
                                needed: 0,
                            })
                        }
                        HeaderParse::BadLength => {
                            self.counters.protocol_errors += 1;
                            self.counters.resyncs += 1;
                            self.flush_cut(d, "framing lost", out);
                            self.lose_context(d);
                            self.dirs[d].mode = Mode::Resync { skip_first: true };
                            return Err(ParseError {
                                kind: "bad-frame-length",
                                message: "64-bit payload length with the most significant bit set"
                                    .into(),
                                offset: base,
                            });
                        }
                        HeaderParse::Ok(h) => {
                            let start = base + pos as u64;
                            pos += h.header_len;
                            self.dirs[d].offset = base + pos as u64;
                            self.begin_frame(d, h, start, out);
                            if h.len == 0 {
                                self.end_frame(d, base + pos as u64, out);
                            }
                        }
                    }
                }
                Mode::Payload => {
                    let remaining = self.dirs[d].frame.map_or(0, |f| f.remaining);
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    if n > 0 {
                        if let Some(chunk) = rest.get(..n) {
                            self.payload(d, chunk);
                        }
                        pos += n;
                        if let Some(f) = self.dirs[d].frame.as_mut() {
                            f.remaining -= n as u64;
                        }
                    }
                    if remaining == n as u64 {
                        self.dirs[d].offset = base + pos as u64;
                        self.end_frame(d, base + pos as u64, out);
                    } else {
                        // Everything was used: any amount of new bytes helps, and
                        // the engine must not buffer a large frame for us.
                        break Ok(Parsed {
                            consumed: pos,
                            needed: 0,
                        });
                    }
                }
            }
        };
        if let Ok(p) = &res {
            self.dirs[d].offset = base + p.consumed as u64;
        }
        res
    }
}

/// Outcome of a resynchronisation scan.
enum Scan {
    /// A plausible header at this index.
    Found(usize),
    /// Undecided at `at`: `need` more bytes.
    More { at: usize, need: usize },
    /// Nothing plausible.
    None,
}

/// Inflates into `acc`, counting up to `max_msg` inflated bytes.
fn feed(inf: &mut Inflater, input: &[u8], acc: &mut Acc, max_msg: u64) -> Fed {
    let mut sink = sink(acc, max_msg);
    inf.feed(input, &mut sink)
}

/// Takes inflated bytes into `acc`, refusing (`false`) past `max_msg` in all.
fn sink(acc: &mut Acc, max_msg: u64) -> impl FnMut(&[u8]) -> bool + '_ {
    move |o: &[u8]| {
        let room = max_msg.saturating_sub(acc.msg.payload_size);
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(o.len());
        acc.msg.payload_size += n as u64;
        if let Some(k) = o.get(..n) {
            acc.keep_plain(k);
        }
        n == o.len()
    }
}

impl StreamParser for WsParser {
    type Message = WsMessage;

    /// `Unsure` when the bytes start with plausible frames (the sender told by
    /// the MASK bit), `NotMine` otherwise; never `Certain`: only the handshake
    /// makes a connection WebSocket.
    fn probe(input: &ProbeInput<'_>) -> Probe {
        let s = Strict {
            masked: None,
            rsv1_ok: true,
        };
        let mut rest = input.data;
        let mut sender = None;
        for _ in 0..PROBE_FRAMES {
            if rest.is_empty() {
                break;
            }
            match check_strict(rest, s) {
                Check::No => return Probe::NOT_MINE,
                Check::More(_) => break,
                Check::Yes(h) => {
                    let role = if h.mask.is_some() {
                        Role::Client
                    } else {
                        Role::Server
                    };
                    if sender.is_some_and(|r| r != role) {
                        return Probe::NOT_MINE;
                    }
                    sender = Some(role);
                    let total = usize::try_from((h.header_len as u64).saturating_add(h.len))
                        .unwrap_or(usize::MAX);
                    rest = rest.get(total..).unwrap_or(&[]);
                }
            }
        }
        Probe {
            verdict: Verdict::Unsure,
            sender,
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<WsMessage>,
    ) -> Result<Parsed, ParseError> {
        self.parse_dir(dir.index(), data, out)
    }

    /// A gap inside a frame's payload keeps sync (the frame's length says where
    /// the next header is): the message goes on with a hole and error `gap`.
    /// Otherwise the messages in progress are emitted cut and the direction
    /// resynchronises.
    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<WsMessage>) {
        let d = dir.index();
        if len == 0 {
            return;
        }
        self.counters.gaps += 1;
        let st = &mut self.dirs[d];
        st.offset = st.offset.saturating_add(len);
        match (st.mode, st.frame) {
            (Mode::Payload, Some(f)) if len <= f.remaining => {
                let mut lost_compressed = false;
                let slot = if f.ctrl { &mut st.ctrl } else { &mut st.data };
                if let Some(acc) = slot.as_mut() {
                    acc.set_error("gap");
                    acc.hole = true;
                    acc.msg.truncated = true;
                    match acc.inflate {
                        Inflate::Off => acc.msg.payload_size += len,
                        Inflate::On => {
                            acc.inflate = Inflate::Stopped;
                            lost_compressed = true;
                        }
                        Inflate::Stopped => lost_compressed = acc.msg.compressed,
                    }
                }
                if let Some(fr) = st.frame.as_mut() {
                    fr.remaining -= len;
                    fr.mask_pos = (fr.mask_pos + (len & 3) as usize) & 3;
                }
                if lost_compressed {
                    self.lose_context(d);
                }
                if f.remaining == len {
                    let end = self.dirs[d].offset;
                    self.end_frame(d, end, out);
                }
            }
            (Mode::Resync { .. }, _) => {
                st.mode = Mode::Resync { skip_first: false };
                self.lose_context(d);
            }
            _ => {
                // The messages in progress end where the bytes went missing.
                let lost_at = st.offset - len;
                if let Some(a) = st.data.as_mut() {
                    if st.frame.is_some_and(|f| !f.ctrl) {
                        a.msg.end = lost_at;
                    }
                }
                if let Some(a) = st.ctrl.as_mut() {
                    a.msg.end = lost_at;
                }
                st.frame = None;
                let (data, ctrl) = (st.data.take(), st.ctrl.take());
                st.mode = Mode::Resync { skip_first: false };
                self.counters.resyncs += 1;
                self.lose_context(d);
                for mut a in [data, ctrl].into_iter().flatten() {
                    a.msg.fin = false;
                    if a.inflate == Inflate::On {
                        a.inflate = Inflate::Stopped;
                        a.msg.truncated = true;
                    }
                    a.set_error("gap");
                    self.emit(a, out);
                }
            }
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<WsMessage>) {
        let d = dir.index();
        self.flush_cut(d, "cut by end of stream", out);
        self.dirs[d].mode = Mode::Header;
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let st = &self.dirs[dir.index()];
        [&st.data, &st.ctrl]
            .into_iter()
            .flatten()
            .map(|a| a.msg.start)
            .min()
            .unwrap_or(st.offset)
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}
