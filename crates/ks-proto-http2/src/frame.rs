//! Frame headers (RFC 7540 4.1), their plausibility (for resynchronisation and
//! the probe) and the probe itself.

use ks_proto::{Probe, Role, Verdict};

use crate::hpack::scan_block;

/// The client connection preface (RFC 7540 3.5).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame header length.
pub(crate) const HDR: usize = 9;

pub(crate) const DATA: u8 = 0;
pub(crate) const HEADERS: u8 = 1;
pub(crate) const PRIORITY: u8 = 2;
pub(crate) const RST_STREAM: u8 = 3;
pub(crate) const SETTINGS: u8 = 4;
pub(crate) const PUSH_PROMISE: u8 = 5;
pub(crate) const PING: u8 = 6;
pub(crate) const GOAWAY: u8 = 7;
pub(crate) const WINDOW_UPDATE: u8 = 8;
pub(crate) const CONTINUATION: u8 = 9;

pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;
pub(crate) const PADDED: u8 = 0x8;
pub(crate) const PRIORITY_FLAG: u8 = 0x20;

/// A decoded 9-byte frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub len: u32,
    pub ty: u8,
    pub flags: u8,
    /// The reserved bit (must be 0; receivers ignore it).
    pub reserved: bool,
    pub stream: u32,
}

impl FrameHeader {
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let b: &[u8; HDR] = b.get(..HDR)?.try_into().ok()?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            ty: b[3],
            flags: b[4],
            reserved: b[5] & 0x80 != 0,
            stream: u32::from_be_bytes([b[5] & 0x7f, b[6], b[7], b[8]]),
        })
    }

    /// Bytes at the start of the payload read together with the header:
    /// pad length, priority fields, promised stream id, fixed-size bodies.
    pub fn prefix(&self) -> u32 {
        let padded = u32::from(self.flags & PADDED != 0);
        match self.ty {
            DATA => padded,
            HEADERS => {
                padded
                    + if self.flags & PRIORITY_FLAG != 0 {
                        5
                    } else {
                        0
                    }
            }
            PUSH_PROMISE => padded + 4,
            RST_STREAM | WINDOW_UPDATE => 4,
            PRIORITY => 5,
            GOAWAY => 8,
            _ => 0,
        }
    }
}

/// Connection-level breakage that means we lost the framing rather than a peer
/// misbehaving in a way it would survive: a real peer would close the
/// connection on these (RFC 7540 6.x connection errors), so after one we resync.
pub(crate) fn desync(h: &FrameHeader) -> Option<&'static str> {
    match h.ty {
        SETTINGS if h.stream != 0 => Some("SETTINGS on a stream"),
        SETTINGS if !h.len.is_multiple_of(6) => Some("SETTINGS length not a multiple of 6"),
        SETTINGS if h.flags & ACK != 0 && h.len != 0 => Some("SETTINGS ACK with a payload"),
        PING if h.stream != 0 || h.len != 8 => Some("PING on a stream or not 8 bytes"),
        GOAWAY if h.stream != 0 || h.len < 8 => Some("GOAWAY on a stream or shorter than 8"),
        DATA | HEADERS | PUSH_PROMISE | CONTINUATION | RST_STREAM | PRIORITY if h.stream == 0 => {
            Some("stream frame on stream 0")
        }
        RST_STREAM if h.len != 4 => Some("RST_STREAM not 4 bytes"),
        WINDOW_UPDATE if h.len != 4 => Some("WINDOW_UPDATE not 4 bytes"),
        _ => None,
    }
}

/// Flags a frame type may carry.
fn flags_ok(ty: u8, flags: u8) -> bool {
    let allowed = match ty {
        DATA => END_STREAM | PADDED,
        HEADERS => END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG,
        SETTINGS | PING => ACK,
        PUSH_PROMISE => END_HEADERS | PADDED,
        CONTINUATION => END_HEADERS,
        _ => 0,
    };
    flags & !allowed == 0
}

/// Length rule of a known type (independent of the stream id).
fn len_ok(ty: u8, flags: u8, len: u32) -> bool {
    match ty {
        SETTINGS => len.is_multiple_of(6) && (flags & ACK == 0 || len == 0),
        PING => len == 8,
        WINDOW_UPDATE | RST_STREAM => len == 4,
        PRIORITY => len == 5,
        GOAWAY => len >= 8,
        _ => true,
    }
}

/// Strict plausibility of a frame header seen at an unknown position: a known
/// type, the flags of that type, reserved bit clear, the stream-id rule, and
/// consistent lengths.
pub(crate) fn plausible(h: &FrameHeader) -> bool {
    if h.reserved || h.ty > CONTINUATION || !flags_ok(h.ty, h.flags) {
        return false;
    }
    if !len_ok(h.ty, h.flags, h.len) || h.len < h.prefix() {
        return false;
    }
    match h.ty {
        SETTINGS | PING | GOAWAY => h.stream == 0,
        WINDOW_UPDATE => true,
        _ => h.stream != 0,
    }
}

/// Plausibility of the first `b.len() < 9` bytes of a header.
pub(crate) fn plausible_prefix(b: &[u8]) -> bool {
    if b.len() >= HDR {
        return FrameHeader::parse(b).is_some_and(|h| plausible(&h));
    }
    if b.len() < 4 {
        return true;
    }
    let len = u32::from_be_bytes([0, b[0], b[1], b[2]]);
    let ty = b[3];
    if ty > CONTINUATION {
        return false;
    }
    let flags = b.get(4).copied().unwrap_or(0);
    if !len_ok(ty, flags, len) {
        return false;
    }
    if b.len() >= 5 && !flags_ok(ty, flags) {
        return false;
    }
    !(b.len() >= 6 && b[5] & 0x80 != 0)
}

/// Whether a SETTINGS payload holds sane values for the known parameters.
fn settings_sane(p: &[u8]) -> bool {
    p.chunks_exact(6).all(|e| {
        let id = u16::from_be_bytes([e[0], e[1]]);
        let v = u32::from_be_bytes([e[2], e[3], e[4], e[5]]);
        match id {
            2 => v <= 1,
            4 => v <= 0x7fff_ffff,
            5 => (16_384..=16_777_215).contains(&v),
            _ => true,
        }
    })
}

/// The header block fragment of a HEADERS frame payload, if its padding fits.
pub(crate) fn headers_fragment<'a>(h: &FrameHeader, payload: &'a [u8]) -> Option<&'a [u8]> {
    let mut start = 0usize;
    let mut pad = 0usize;
    if h.flags & PADDED != 0 {
        pad = usize::from(*payload.first()?);
        start = 1;
    }
    if h.flags & PRIORITY_FLAG != 0 {
        start += 5;
    }
    let end = payload.len().checked_sub(pad)?;
    payload.get(start..end)
}

/// Most frames the probe walks.
const PROBE_FRAMES: usize = 8;

/// The probe (see `docs/http2.md`). Allocation-free.
pub(crate) fn probe(data: &[u8]) -> Probe {
    let unsure = Probe {
        verdict: Verdict::Unsure,
        sender: None,
    };
    let n = data.len().min(PREFACE.len());
    if data[..n] == PREFACE[..n] {
        return if n == PREFACE.len() {
            Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Client),
            }
        } else {
            unsure
        };
    }
    let mut pos = 0;
    let mut frames = 0;
    let mut decoded = false;
    let mut sender = None;
    while frames < PROBE_FRAMES {
        let rest = &data[pos..];
        if rest.len() < HDR {
            if !plausible_prefix(rest) {
                // A broken header after plausible frames: not this protocol.
                return Probe::NOT_MINE;
            }
            break;
        }
        let Some(h) = FrameHeader::parse(rest) else {
            break;
        };
        if !plausible(&h) {
            return Probe::NOT_MINE;
        }
        frames += 1;
        let end = HDR + h.len as usize;
        let Some(payload) = rest.get(HDR..end) else {
            break;
        };
        match h.ty {
            SETTINGS if settings_sane(payload) => decoded = true,
            SETTINGS => return Probe::NOT_MINE,
            HEADERS => match headers_fragment(&h, payload).map(scan_block) {
                Some(Some(hint)) => {
                    decoded = true;
                    if sender.is_none() {
                        sender = hint.map(|req| if req { Role::Client } else { Role::Server });
                    }
                }
                // An incomplete block (CONTINUATION follows) cannot be judged.
                _ if h.flags & END_HEADERS == 0 => {}
                _ => return Probe::NOT_MINE,
            },
            _ => {}
        }
        pos += end;
    }
    if frames == 0 {
        return unsure;
    }
    if frames >= 2 || decoded {
        Probe {
            verdict: Verdict::Certain,
            sender,
        }
    } else {
        Probe {
            verdict: Verdict::Unsure,
            sender,
        }
    }
}
