//! pcap and pcapng parsing on top of [`InputBuf`].
//!
//! Every length field is checked against the limits and against the
//! enclosing record before it is used, and all reads of fixed-size headers go
//! through `[u8; N]` arrays, so malformed input yields an error, never a
//! panic or an oversized allocation.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::buf::InputBuf;
use crate::{
    linktype, CaptureError, CaptureErrorKind, Packet, PacketSource, MAX_BLOCK_LEN, MAX_PACKET_LEN,
};

/// Container format of a [`FileSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

/// pcapng interfaces per section. Real files have a handful; the cap keeps a
/// file made of millions of tiny IDBs from growing memory without bound.
const MAX_INTERFACES: usize = 1 << 16;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;

const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Reads pcap or pcapng from a file or any byte stream.
pub struct FileSource {
    input: InputBuf,
    name: String,
    size: Option<u64>,
    frame: u64,
    done: bool,
    state: State,
}

enum State {
    Pcap(PcapState),
    PcapNg(NgState),
}

struct PcapState {
    big_endian: bool,
    nanos: bool,
    link_type: u32,
    /// 16, or 24 for the "modified" (Kuznetzov) format with extra fields.
    record_header_len: usize,
}

struct NgState {
    big_endian: bool,
    interfaces: Vec<Interface>,
}

#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    ts: TsConv,
    /// `if_tsoffset`, seconds.
    ts_offset_s: i64,
}

/// Timestamp units → nanoseconds, precomputed per interface so that the
/// per-packet path is one multiply or divide.
#[derive(Clone, Copy)]
enum TsConv {
    Mul(u64),
    Div(u64),
    /// Units of 2^-n seconds.
    Pow2(u32),
    Zero,
}

impl TsConv {
    fn from_tsresol(v: u8) -> Self {
        let exp = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            return TsConv::Pow2(exp);
        }
        if exp <= 9 {
            TsConv::Mul(10u64.pow(9 - exp))
        } else if exp - 9 <= 19 {
            TsConv::Div(10u64.pow(exp - 9))
        } else {
            // 10^20 > u64::MAX: every representable tick count is < 1 ns.
            TsConv::Zero
        }
    }

    #[inline]
    fn to_ns(self, ticks: u64) -> u64 {
        match self {
            TsConv::Mul(m) => ticks.saturating_mul(m),
            TsConv::Div(d) => ticks / d,
            TsConv::Pow2(e) => {
                let ns = (u128::from(ticks) * 1_000_000_000) >> e.min(127);
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
            TsConv::Zero => 0,
        }
    }
}

impl Interface {
    #[inline]
    fn ts_ns(&self, ticks: u64) -> u64 {
        let ns = self.ts.to_ns(ticks);
        if self.ts_offset_s == 0 {
            return ns;
        }
        let v = i128::from(ns) + i128::from(self.ts_offset_s) * 1_000_000_000;
        u64::try_from(v.max(0)).unwrap_or(u64::MAX)
    }
}

/// Where the next packet's bytes are, after its record has been consumed.
struct Rec {
    data_index: usize,
    caplen: usize,
    ts_ns: u64,
    link_type: u32,
    interface_id: u32,
    orig_len: u32,
}

#[inline]
fn u16_at(b: [u8; 2], be: bool) -> u16 {
    if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

#[inline]
fn u32_at(b: &[u8], off: usize, be: bool) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn needs_more(what: &str, need: usize, avail: usize) -> String {
    format!(
        "file ends inside {what} (needs {} more bytes)",
        need.saturating_sub(avail)
    )
}

impl FileSource {
    /// Opens a capture file and reads its file/section header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CaptureError {
            source_name: name.clone(),
            offset: 0,
            kind: CaptureErrorKind::Io,
            message: format!("cannot open: {e}"),
        })?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        Self::with_reader(Box::new(file), name, size)
    }

    /// Reads a capture from any byte stream (stdin, a pipe); `name` appears
    /// in errors.
    pub fn from_reader(reader: Box<dyn Read + Send>, name: &str) -> Result<Self, CaptureError> {
        Self::with_reader(reader, name.to_string(), None)
    }

    /// The container format detected from the magic number.
    pub fn format(&self) -> Format {
        match self.state {
            State::Pcap(_) => Format::Pcap,
            State::PcapNg(_) => Format::PcapNg,
        }
    }

    fn err(&self, kind: CaptureErrorKind, offset: u64, message: String) -> CaptureError {
        CaptureError {
            source_name: self.name.clone(),
            offset,
            kind,
            message,
        }
    }

    fn io_err(&self, e: std::io::Error) -> CaptureError {
        self.err(
            CaptureErrorKind::Io,
            self.input.pos(),
            format!("read error: {e}"),
        )
    }

    fn with_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        size: Option<u64>,
    ) -> Result<Self, CaptureError> {
        let mut src = FileSource {
            input: InputBuf::new(reader),
            name,
            size,
            frame: 0,
            done: false,
            // Placeholder until the magic number is known.
            state: State::PcapNg(NgState {
                big_endian: false,
                interfaces: Vec::new(),
            }),
        };
        let avail = src.input.fill(24).map_err(|e| src.io_err(e))?;
        if avail == 0 {
            return Err(src.err(CaptureErrorKind::NotACapture, 0, "empty file".into()));
        }
        if avail < 4 {
            return Err(src.err(
                CaptureErrorKind::NotACapture,
                0,
                format!("{avail}-byte file is too short to be a capture"),
            ));
        }
        let magic: [u8; 4] = src.input.head();
        // (big_endian, nanos, record_header_len)
        let pcap = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, false, 16)),
            [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, false, 16)),
            [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, true, 16)),
            [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, true, 16)),
            [0x34, 0xcd, 0xb2, 0xa1] => Some((false, false, 24)),
            [0xa1, 0xb2, 0xcd, 0x34] => Some((true, false, 24)),
            _ => None,
        };
        if let Some((big_endian, nanos, record_header_len)) = pcap {
            if avail < 24 {
                return Err(src.err(
                    CaptureErrorKind::Truncated,
                    0,
                    needs_more("the pcap file header", 24, avail),
                ));
            }
            let h: [u8; 24] = src.input.head();
            let network = u32_at(&h, 20, big_endian);
            // Upper bits of the field carry FCS information, not the link type.
            let link_type = linktype::from_stored(network & 0xffff);
            src.input.consume(24);
            src.state = State::Pcap(PcapState {
                big_endian,
                nanos,
                link_type,
                record_header_len,
            });
            return Ok(src);
        }
        if magic == SHB.to_le_bytes() {
            if avail < 12 {
                return Err(src.err(
                    CaptureErrorKind::Truncated,
                    0,
                    needs_more("the pcapng section header", 12, avail),
                ));
            }
            let h: [u8; 12] = src.input.head();
            if byte_order(&h).is_none() {
                return Err(src.err(
                    CaptureErrorKind::NotACapture,
                    8,
                    "pcapng section header has an invalid byte-order magic".into(),
                ));
            }
            // The SHB itself is parsed by the normal block loop.
            return Ok(src);
        }
        let hint = if magic[..2] == [0x1f, 0x8b] {
            " (gzip-compressed; decompress it first)"
        } else {
            ""
        };
        Err(src.err(
            CaptureErrorKind::NotACapture,
            0,
            format!(
                "unrecognised magic number 0x{:08x}, not a pcap or pcapng file{hint}",
                u32::from_be_bytes(magic)
            ),
        ))
    }

    fn next_pcap(&mut self) -> Result<Option<Rec>, CaptureError> {
        let State::Pcap(st) = &self.state else {
            return Ok(None);
        };
        let (be, nanos, link_type, hdr_len) =
            (st.big_endian, st.nanos, st.link_type, st.record_header_len);
        let off = self.input.pos();
        let avail = self.input.fill(hdr_len).map_err(|e| self.io_err(e))?;
        if avail == 0 {
            return Ok(None);
        }
        if avail < hdr_len {
            return Err(self.err(
                CaptureErrorKind::Truncated,
                off,
                needs_more("a packet record header", hdr_len, avail),
            ));
        }
        let h: [u8; 16] = self.input.head();
        let ts_sec = u32_at(&h, 0, be);
        let ts_frac = u32_at(&h, 4, be);
        let caplen = u32_at(&h, 8, be);
        let orig_len = u32_at(&h, 12, be);
        if caplen > MAX_PACKET_LEN {
            return Err(self.err(
                CaptureErrorKind::TooLarge,
                off,
                format!("packet record claims {caplen} captured bytes (limit {MAX_PACKET_LEN})"),
            ));
        }
        let total = hdr_len + caplen as usize;
        let avail = self.input.fill(total).map_err(|e| self.io_err(e))?;
        if avail < total {
            return Err(self.err(
                CaptureErrorKind::Truncated,
                off,
                needs_more("a packet record", total, avail),
            ));
        }
        // u32 seconds * 1e9 + u32 fraction * 1e3 < 2^63: cannot overflow.
        let frac_ns = if nanos {
            u64::from(ts_frac)
        } else {
            u64::from(ts_frac) * 1_000
        };
        let ts_ns = u64::from(ts_sec) * 1_000_000_000 + frac_ns;
        let data_index = self.input.index(hdr_len);
        self.input.consume(total);
        Ok(Some(Rec {
            data_index,
            caplen: caplen as usize,
            ts_ns,
            link_type,
            interface_id: 0,
            orig_len,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Rec>, CaptureError> {
        loop {
            let off = self.input.pos();
            let avail = self.input.fill(12).map_err(|e| self.io_err(e))?;
            if avail == 0 {
                return Ok(None);
            }
            if avail < 8 {
                return Err(self.err(
                    CaptureErrorKind::Truncated,
                    off,
                    needs_more("a block header", 8, avail),
                ));
            }
            let h: [u8; 12] = self.input.head();
            // The SHB type is a byte-order palindrome; its own byte order
            // follows it and governs the length field and the whole section.
            let is_shb = h[..4] == SHB.to_le_bytes();
            if is_shb {
                if avail < 12 {
                    return Err(self.err(
                        CaptureErrorKind::Truncated,
                        off,
                        needs_more("a section header block", 12, avail),
                    ));
                }
                let Some(be) = byte_order(&h) else {
                    return Err(self.err(
                        CaptureErrorKind::Corrupt,
                        off,
                        "section header block has an invalid byte-order magic".into(),
                    ));
                };
                if let State::PcapNg(ng) = &mut self.state {
                    ng.big_endian = be;
                }
            }
            let be = match &self.state {
                State::PcapNg(ng) => ng.big_endian,
                State::Pcap(_) => return Ok(None),
            };
            let btype = u32_at(&h, 0, be);
            let blen = u32_at(&h, 4, be);
            if blen > MAX_BLOCK_LEN {
                return Err(self.err(
                    CaptureErrorKind::TooLarge,
                    off,
                    format!(
                        "block of type 0x{btype:08x} claims {blen} bytes (limit {MAX_BLOCK_LEN})"
                    ),
                ));
            }
            if blen < 12 {
                return Err(self.err(
                    CaptureErrorKind::Corrupt,
                    off,
                    format!(
                        "block of type 0x{btype:08x} has length {blen}, below the 12-byte minimum"
                    ),
                ));
            }
            let blen = blen as usize;
            let avail = self.input.fill(blen).map_err(|e| self.io_err(e))?;
            if avail < blen {
                return Err(self.err(
                    CaptureErrorKind::Truncated,
                    off,
                    needs_more("a block", blen, avail),
                ));
            }
            let block = self.input.peek(0, blen);
            let trailer = u32_at(block, blen - 4, be);
            if trailer as usize != blen {
                return Err(self.err(
                    CaptureErrorKind::Corrupt,
                    off,
                    format!("block trailer length {trailer} does not match header length {blen}"),
                ));
            }
            let body = block.get(8..blen - 4).unwrap_or(&[]);
            match btype {
                SHB => {
                    if let Err(msg) = check_shb(body, be) {
                        return Err(self.err(CaptureErrorKind::Corrupt, off, msg));
                    }
                    // Interface ids are scoped to their section.
                    if let State::PcapNg(ng) = &mut self.state {
                        ng.interfaces.clear();
                    }
                }
                IDB => {
                    let iface = match parse_idb(body, be) {
                        Ok(i) => i,
                        Err((rel, msg)) => {
                            return Err(self.err(CaptureErrorKind::Corrupt, off + rel, msg))
                        }
                    };
                    let n = match &self.state {
                        State::PcapNg(ng) => ng.interfaces.len(),
                        State::Pcap(_) => 0,
                    };
                    if n >= MAX_INTERFACES {
                        return Err(self.err(
                            CaptureErrorKind::TooLarge,
                            off,
                            format!("more than {n} interfaces in one section"),
                        ));
                    }
                    if let State::PcapNg(ng) = &mut self.state {
                        ng.interfaces.push(iface);
                    }
                }
                EPB | PB => {
                    // EPB: if_id u32; PB: if_id u16 + drops u16. Then both:
                    // ts_high, ts_low, caplen, orig_len, data.
                    if body.len() < 20 {
                        return Err(self.err(
                            CaptureErrorKind::Corrupt,
                            off,
                            format!("packet block of {blen} bytes is too short for its header"),
                        ));
                    }
                    let if_id = if btype == EPB {
                        u32_at(body, 0, be)
                    } else {
                        u32::from(u16_at([body[0], body[1]], be))
                    };
                    let ticks =
                        (u64::from(u32_at(body, 4, be)) << 32) | u64::from(u32_at(body, 8, be));
                    let caplen = u32_at(body, 12, be);
                    let orig_len = u32_at(body, 16, be);
                    if caplen as usize > body.len() - 20 {
                        return Err(self.err(
                            CaptureErrorKind::Corrupt,
                            off,
                            format!(
                                "packet block claims {caplen} captured bytes but holds only {}",
                                body.len() - 20
                            ),
                        ));
                    }
                    let iface = self.interface(if_id, off)?;
                    let rec = Rec {
                        data_index: self.input.index(28),
                        caplen: caplen as usize,
                        ts_ns: iface.ts_ns(ticks),
                        link_type: iface.link_type,
                        interface_id: if_id,
                        orig_len,
                    };
                    self.input.consume(blen);
                    return Ok(Some(rec));
                }
                SPB => {
                    if body.len() < 4 {
                        return Err(self.err(
                            CaptureErrorKind::Corrupt,
                            off,
                            format!("simple packet block of {blen} bytes is too short"),
                        ));
                    }
                    let orig_len = u32_at(body, 0, be);
                    let room = body.len() - 4;
                    let iface = self.interface(0, off)?;
                    // SPBs carry no captured length: it is the original
                    // length cut by the snaplen, and the block minus padding.
                    let mut caplen = (orig_len as usize).min(room);
                    if iface.snaplen != 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    let rec = Rec {
                        data_index: self.input.index(12),
                        caplen,
                        ts_ns: 0,
                        link_type: iface.link_type,
                        interface_id: 0,
                        orig_len,
                    };
                    self.input.consume(blen);
                    return Ok(Some(rec));
                }
                _ => {}
            }
            self.input.consume(blen);
        }
    }

    fn interface(&self, if_id: u32, off: u64) -> Result<Interface, CaptureError> {
        let ifaces = match &self.state {
            State::PcapNg(ng) => &ng.interfaces[..],
            State::Pcap(_) => &[],
        };
        ifaces.get(if_id as usize).copied().ok_or_else(|| {
            self.err(
                CaptureErrorKind::Corrupt,
                off,
                format!(
                    "packet references interface {if_id} but the section defines {}",
                    ifaces.len()
                ),
            )
        })
    }
}

fn check_shb(body: &[u8], be: bool) -> Result<(), String> {
    if body.len() < 16 {
        return Err("section header block is too short".into());
    }
    let major = u16_at([body[4], body[5]], be);
    if major != 1 {
        return Err(format!("unsupported pcapng major version {major}"));
    }
    Ok(())
}

/// Parses an IDB body; errors carry their offset relative to the block.
fn parse_idb(body: &[u8], be: bool) -> Result<Interface, (u64, String)> {
    if body.len() < 8 {
        return Err((0, "interface description block is too short".into()));
    }
    let link_type = linktype::from_stored(u32::from(u16_at([body[0], body[1]], be)));
    let snaplen = u32_at(body, 4, be);
    let mut iface = Interface {
        link_type,
        snaplen,
        ts: TsConv::Mul(1_000), // default resolution: microseconds
        ts_offset_s: 0,
    };
    let mut p = 8;
    while body.len().saturating_sub(p) >= 4 {
        let code = u16_at([body[p], body[p + 1]], be);
        let len = usize::from(u16_at([body[p + 2], body[p + 3]], be));
        if code == OPT_ENDOFOPT {
            break;
        }
        let vstart = p + 4;
        let Some(value) = body.get(vstart..vstart + len) else {
            return Err((
                8 + p as u64,
                format!("interface option {code} of {len} bytes overruns its block"),
            ));
        };
        match (code, value) {
            (OPT_IF_TSRESOL, &[v]) => iface.ts = TsConv::from_tsresol(v),
            (OPT_IF_TSOFFSET, v) => {
                if let Ok(a) = <[u8; 8]>::try_from(v) {
                    iface.ts_offset_s = if be {
                        i64::from_be_bytes(a)
                    } else {
                        i64::from_le_bytes(a)
                    };
                }
            }
            _ => {}
        }
        p = vstart + len.next_multiple_of(4);
    }
    Ok(iface)
}

/// Byte order from an SHB prefix (`type, length, byte-order magic`).
fn byte_order(h: &[u8; 12]) -> Option<bool> {
    match [h[8], h[9], h[10], h[11]] {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        _ => None,
    }
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let r = match self.state {
            State::Pcap(_) => self.next_pcap(),
            State::PcapNg(_) => self.next_pcapng(),
        };
        match r {
            Ok(Some(rec)) => {
                self.frame += 1;
                Ok(Some(Packet {
                    frame: self.frame,
                    ts_ns: rec.ts_ns,
                    link_type: rec.link_type,
                    interface_id: rec.interface_id,
                    orig_len: rec.orig_len,
                    data: self.input.slice(rec.data_index, rec.caplen),
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    fn position(&self) -> u64 {
        self.input.pos()
    }

    fn size_hint(&self) -> Option<u64> {
        self.size
    }
}
