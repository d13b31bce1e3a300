//! HPACK (RFC 7541) decoding for a passive observer.
//!
//! Written here rather than taken from a crate because an observer needs two things
//! no decoder offers: decoding with a dynamic table that holds only the newest
//! entries (state picked up mid-connection or after a loss), and decoding that
//! never stops the connection on garbage. See `docs/http2.md`.

use std::collections::VecDeque;

/// RFC 7541 Appendix A.
pub(crate) const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Code length in bits of each symbol (0..=255, 256 = EOS), RFC 7541 Appendix B.
/// The code is canonical (codes assigned in order of length, then symbol), so the
/// lengths alone define it; the tests check the derived codes against the RFC.
const HUFF_LENS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..16
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..32
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' '..'/'
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // '0'..'?'
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // '@'..'O'
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 'P'..'_'
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // '`'..'o'
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 'p'..127
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..
    30, // EOS
];

const MAX_LEN: usize = 30;

struct Huff {
    /// First code of each length (right-aligned).
    first: [u32; MAX_LEN + 1],
    /// Index in `syms` of the first symbol of each length.
    offset: [u16; MAX_LEN + 1],
    /// One past the last code of each length, left-aligned to 30 bits.
    limit: [u32; MAX_LEN + 1],
    /// Symbols sorted by (length, symbol).
    syms: [u16; 257],
}

const fn build_huff() -> Huff {
    let mut count = [0u32; MAX_LEN + 1];
    let mut i = 0;
    while i < 257 {
        count[HUFF_LENS[i] as usize] += 1;
        i += 1;
    }
    let mut first = [0u32; MAX_LEN + 1];
    let mut offset = [0u16; MAX_LEN + 1];
    let mut limit = [0u32; MAX_LEN + 1];
    let mut code = 0u32;
    let mut off = 0u16;
    let mut len = 1;
    while len <= MAX_LEN {
        code = (code + count[len - 1]) << 1;
        first[len] = code;
        offset[len] = off;
        off += count[len] as u16;
        limit[len] = (code + count[len]) << (MAX_LEN - len);
        len += 1;
    }
    let mut syms = [0u16; 257];
    let mut pos = 0;
    let mut len = 1;
    while len <= MAX_LEN {
        let mut s = 0;
        while s < 257 {
            if HUFF_LENS[s] as usize == len {
                syms[pos] = s as u16;
                pos += 1;
            }
            s += 1;
        }
        len += 1;
    }
    Huff {
        first,
        offset,
        limit,
        syms,
    }
}

static HUFF: Huff = build_huff();

/// The shortest code is 5 bits: lengths below never match.
const MIN_LEN: usize = 5;

/// Huffman-decode `src` (appending to `out`). `Err` on an EOS symbol, padding longer
/// than 7 bits or padding that is not the EOS prefix (RFC 7541 5.2).
pub(crate) fn huffman_decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    huff_walk(src, |b| out.push(b))
}

fn huff_walk(src: &[u8], mut emit: impl FnMut(u8)) -> Result<(), ()> {
    let mut buf: u64 = 0; // left-aligned: bit 63 is the next bit
    let mut nbits: usize = 0;
    let mut i = 0;
    loop {
        while nbits <= 56 && i < src.len() {
            buf |= u64::from(src[i]) << (56 - nbits);
            nbits += 8;
            i += 1;
        }
        if nbits == 0 {
            return Ok(());
        }
        let v = (buf >> (64 - MAX_LEN)) as u32;
        let mut len = MIN_LEN;
        while len < MAX_LEN && v >= HUFF.limit[len] {
            len += 1;
        }
        if len > nbits {
            // Not a whole code left: it must be padding, i.e. < 8 one bits.
            let ones = (1u64 << nbits) - 1;
            return if nbits < 8 && buf >> (64 - nbits) == ones {
                Ok(())
            } else {
                Err(())
            };
        }
        let idx =
            usize::from(HUFF.offset[len]) + ((v >> (MAX_LEN - len)) - HUFF.first[len]) as usize;
        let sym = HUFF.syms.get(idx).copied().ok_or(())?;
        if sym > 255 {
            return Err(());
        }
        emit(sym as u8);
        buf <<= len;
        nbits -= len;
    }
}

/// Huffman-encode (tests and benches build blocks with it).
#[doc(hidden)]
pub fn huffman_encode(src: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut n = 0u32;
    for &b in src {
        let (code, len) = huff_code(usize::from(b));
        acc = (acc << len) | u64::from(code);
        n += len;
        while n >= 8 {
            out.push((acc >> (n - 8)) as u8);
            n -= 8;
        }
    }
    if n > 0 {
        let pad = 8 - n;
        out.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}

/// (code, length) of a symbol, derived from the canonical lengths.
pub(crate) fn huff_code(sym: usize) -> (u32, u32) {
    let len = usize::from(HUFF_LENS[sym]);
    let base = usize::from(HUFF.offset[len]);
    let mut k = 0;
    while HUFF.syms[base + k] as usize != sym {
        k += 1;
    }
    (HUFF.first[len] + k as u32, len as u32)
}

/// Decode an HPACK integer with an `n`-bit prefix starting at `src[*pos]`.
/// Values above `u32::MAX` are refused (nothing legitimate is that large).
pub(crate) fn read_int(src: &[u8], pos: &mut usize, n: u32) -> Option<u32> {
    let mask = (1u32 << n) - 1;
    let first = u32::from(*src.get(*pos)?) & mask;
    *pos += 1;
    if first < mask {
        return Some(first);
    }
    let mut v = u64::from(mask);
    let mut shift = 0u32;
    loop {
        let b = *src.get(*pos)?;
        *pos += 1;
        v += u64::from(b & 0x7f) << shift;
        if v > u64::from(u32::MAX) {
            return None;
        }
        if b & 0x80 == 0 {
            return Some(v as u32);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

struct Entry {
    name: Box<[u8]>,
    value: Box<[u8]>,
    /// False for an entry whose name referred to state we do not have: it holds
    /// a place (so later indices line up) but cannot be shown.
    known: bool,
}

impl Entry {
    fn size(&self) -> usize {
        self.name.len() + self.value.len() + 32
    }
}

/// Per-block limits and results.
pub(crate) struct BlockOut<'a> {
    /// Where decoded fields go; `None` decodes only to keep the table in step.
    pub fields: Option<&'a mut Vec<(String, String)>>,
    /// Limit on name + value + 32 summed over the fields kept.
    pub max_list: usize,
    pub list_size: usize,
    /// Some field referred to state we do not have.
    pub lost: bool,
    /// The list hit `max_list`.
    pub cut: bool,
    /// A dynamic index beyond the table while our state was complete.
    pub bad_index: bool,
    /// A size update above the configured cap.
    pub table_capped: bool,
}

impl<'a> BlockOut<'a> {
    pub fn new(fields: Option<&'a mut Vec<(String, String)>>, max_list: usize) -> Self {
        BlockOut {
            fields,
            max_list,
            list_size: 0,
            lost: false,
            cut: false,
            bad_index: false,
            table_capped: false,
        }
    }

    fn emit(&mut self, name: &[u8], value: &[u8]) {
        if self.cut {
            return;
        }
        // Sizes are counted on what is kept: lossy UTF-8 may grow invalid bytes.
        let Some(f) = self.fields.as_deref_mut() else {
            let sz = name.len() + value.len() + 32;
            self.cut = self.list_size + sz > self.max_list;
            self.list_size += sz;
            return;
        };
        let n = String::from_utf8_lossy(name).into_owned();
        let v = String::from_utf8_lossy(value).into_owned();
        let sz = n.len() + v.len() + 32;
        if self.list_size + sz > self.max_list {
            self.cut = true;
            return;
        }
        self.list_size += sz;
        f.push((n, v));
    }
}

/// Why a block could not be decoded to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HpackError {
    /// Truncated or oversized integer / string.
    Malformed,
    /// Invalid Huffman data.
    Huffman,
    /// Index 0.
    ZeroIndex,
}

impl HpackError {
    pub fn text(self) -> &'static str {
        match self {
            HpackError::Malformed => "truncated or oversized integer or string",
            HpackError::Huffman => "invalid Huffman code",
            HpackError::ZeroIndex => "index 0",
        }
    }
}

enum Lookup {
    Static(usize),
    Dynamic(usize),
    Lost,
    Bad,
}

/// One direction's HPACK decoder.
pub(crate) struct Decoder {
    /// Front = newest (HPACK index 62).
    entries: VecDeque<Entry>,
    /// Sum of entry sizes (a lower bound when placeholders are held).
    size: usize,
    /// Current maximum size as we apply it.
    max: usize,
    /// `max` is the encoder's real maximum (seen from the start or by a size update).
    max_exact: bool,
    /// Entries older than ours may exist (picked up mid-connection, after a gap,
    /// after an error, or our cap is below the encoder's table).
    partial: bool,
    /// Configured cap on `max`.
    cap: usize,
    /// SETTINGS_HEADER_TABLE_SIZE sent by the peer and acknowledged / pending.
    limit: usize,
    limit_pending: Option<usize>,
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

/// Default SETTINGS_HEADER_TABLE_SIZE (RFC 7540 6.5.2).
pub(crate) const DEFAULT_TABLE_SIZE: usize = 4096;

impl Decoder {
    /// A decoder whose state is complete (connection seen from its start).
    pub fn new(cap: usize) -> Self {
        Decoder {
            entries: VecDeque::new(),
            size: 0,
            max: DEFAULT_TABLE_SIZE.min(cap),
            max_exact: DEFAULT_TABLE_SIZE <= cap,
            partial: DEFAULT_TABLE_SIZE > cap,
            cap,
            limit: DEFAULT_TABLE_SIZE,
            limit_pending: None,
            name_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// Whether entries we do not know may be referenced.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Number of entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Size of the table as the RFC counts it.
    #[cfg(test)]
    pub fn size(&self) -> usize {
        self.size
    }

    /// (name, value) of dynamic entry `i` (0 = newest).
    #[cfg(test)]
    pub fn entry(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.entries.get(i).map(|e| (&e.name[..], &e.value[..]))
    }

    /// State was lost: keep the entries we have (they are the newest, so still
    /// right), but from now on older ones may be referenced and the maximum is
    /// unknown (keeping more than the encoder does is harmless: it never
    /// references what it evicted, and indices count from the newest).
    pub fn lose(&mut self) {
        self.partial = true;
        self.max_exact = false;
        self.max = self.cap;
    }

    /// SETTINGS_HEADER_TABLE_SIZE sent by the peer of this decoder's encoder.
    pub fn settings_sent(&mut self, v: u32) {
        self.limit_pending = Some(v as usize);
    }

    /// The encoder acknowledged the peer's SETTINGS: the new limit is in force.
    /// A limit below the current maximum shrinks the table at once, as
    /// decoders do (the encoder must also send a size update).
    pub fn settings_acked(&mut self) {
        if let Some(l) = self.limit_pending.take() {
            self.limit = l;
            if l < self.max {
                self.max = l;
                self.evict(0);
            }
        }
    }

    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => break,
            }
        }
        self.check_complete(room);
    }

    /// With an exact maximum, once our own entries leave no room for even the
    /// smallest older entry (32 bytes), nothing older can exist.
    fn check_complete(&mut self, room: usize) {
        if self.partial && self.max_exact && self.size + room + 32 > self.max {
            self.partial = false;
        }
    }

    fn insert(&mut self, name: &[u8], value: &[u8], known: bool) {
        let sz = name.len() + value.len() + 32;
        if sz > self.max {
            // RFC 7541 4.4: an entry larger than the table empties it.
            self.entries.clear();
            self.size = 0;
            if self.max_exact {
                self.partial = false;
            }
            return;
        }
        self.evict(sz);
        self.entries.push_front(Entry {
            name: name.into(),
            value: value.into(),
            known,
        });
        self.size += sz;
        self.check_complete(0);
    }

    fn size_update(&mut self, v: u32, out: &mut BlockOut<'_>) {
        let v = v as usize;
        if v > self.cap {
            out.table_capped = true;
            self.max = self.cap;
            self.max_exact = false;
            // We now drop entries the encoder keeps: references to them are lost.
            self.partial = true;
        } else {
            self.max = v;
            self.max_exact = true;
        }
        self.evict(0);
        if self.entries.is_empty() && self.max_exact && self.max < 32 {
            self.partial = false;
        }
    }

    fn lookup(&self, idx: u32) -> Lookup {
        let idx = idx as usize;
        if idx == 0 {
            return Lookup::Bad;
        }
        if idx <= STATIC_TABLE.len() {
            return Lookup::Static(idx - 1);
        }
        let i = idx - STATIC_TABLE.len() - 1;
        match self.entries.get(i) {
            Some(e) if e.known => Lookup::Dynamic(i),
            Some(_) => Lookup::Lost,
            None if self.partial => Lookup::Lost,
            None => Lookup::Bad,
        }
    }

    /// Read a string literal into `buf` (cleared first).
    fn read_string(src: &[u8], pos: &mut usize, buf: &mut Vec<u8>) -> Result<(), HpackError> {
        buf.clear();
        let huff = src.get(*pos).ok_or(HpackError::Malformed)? & 0x80 != 0;
        let len = read_int(src, pos, 7).ok_or(HpackError::Malformed)? as usize;
        let end = pos.checked_add(len).ok_or(HpackError::Malformed)?;
        let raw = src.get(*pos..end).ok_or(HpackError::Malformed)?;
        *pos = end;
        if huff {
            huffman_decode(raw, buf).map_err(|_| HpackError::Huffman)
        } else {
            buf.extend_from_slice(raw);
            Ok(())
        }
    }

    /// Decode one complete header block. Fields go to `out`; on `Err` the
    /// fields before the error have been delivered and the table is no longer
    /// trustworthy (the caller marks the state lost).
    pub fn decode(&mut self, src: &[u8], out: &mut BlockOut<'_>) -> Result<(), HpackError> {
        let mut name = std::mem::take(&mut self.name_buf);
        let mut value = std::mem::take(&mut self.value_buf);
        let r = self.decode_inner(src, out, &mut name, &mut value);
        // Keep scratch buffers for the next block, unless a huge one grew them.
        if name.capacity() <= 4096 {
            self.name_buf = name;
        }
        if value.capacity() <= 4096 {
            self.value_buf = value;
        }
        r
    }

    fn decode_inner(
        &mut self,
        src: &[u8],
        out: &mut BlockOut<'_>,
        name: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Result<(), HpackError> {
        let mut pos = 0;
        while pos < src.len() {
            let b = src[pos];
            if b & 0x80 != 0 {
                let idx = read_int(src, &mut pos, 7).ok_or(HpackError::Malformed)?;
                match self.lookup(idx) {
                    Lookup::Static(i) => {
                        let (n, v) = STATIC_TABLE[i];
                        out.emit(n.as_bytes(), v.as_bytes());
                    }
                    Lookup::Dynamic(i) => {
                        if let Some(e) = self.entries.get(i) {
                            out.emit(&e.name, &e.value);
                        }
                    }
                    Lookup::Lost => out.lost = true,
                    Lookup::Bad if idx == 0 => return Err(HpackError::ZeroIndex),
                    Lookup::Bad => {
                        out.lost = true;
                        out.bad_index = true;
                    }
                }
                continue;
            }
            if b & 0xe0 == 0x20 {
                let v = read_int(src, &mut pos, 5).ok_or(HpackError::Malformed)?;
                self.size_update(v, out);
                continue;
            }
            let (indexing, prefix) = if b & 0xc0 == 0x40 {
                (true, 6)
            } else {
                (false, 4)
            };
            let idx = read_int(src, &mut pos, prefix).ok_or(HpackError::Malformed)?;
            let mut known = true;
            if idx == 0 {
                Self::read_string(src, &mut pos, name)?;
            } else {
                name.clear();
                match self.lookup(idx) {
                    Lookup::Static(i) => name.extend_from_slice(STATIC_TABLE[i].0.as_bytes()),
                    Lookup::Dynamic(i) => {
                        if let Some(e) = self.entries.get(i) {
                            name.extend_from_slice(&e.name);
                        }
                    }
                    Lookup::Lost => known = false,
                    Lookup::Bad => {
                        known = false;
                        out.bad_index = true;
                    }
                }
            }
            Self::read_string(src, &mut pos, value)?;
            if known {
                out.emit(name, value);
            } else {
                out.lost = true;
            }
            if indexing {
                self.insert(name, value, known);
            }
        }
        Ok(())
    }
}

/// Walk a header block without allocating and without a table (for the probe):
/// `Some(hint)` when it parses, where the hint is `Some(true)` if the first
/// pseudo-header is a request one (`:method`, `:path`, `:scheme`, `:authority`),
/// `Some(false)` for `:status`, `None` if unknown.
pub(crate) fn scan_block(src: &[u8]) -> Option<Option<bool>> {
    let mut pos = 0;
    let mut hint = None;
    let mut first = true;
    let from_static = |idx: u32| -> Option<bool> {
        match idx {
            1..=7 => Some(true),
            8..=14 => Some(false),
            _ => None,
        }
    };
    while pos < src.len() {
        let b = src[pos];
        if b & 0x80 != 0 {
            let idx = read_int(src, &mut pos, 7)?;
            if idx == 0 {
                return None;
            }
            if first {
                hint = from_static(idx);
                first = false;
            }
            continue;
        }
        if b & 0xe0 == 0x20 {
            read_int(src, &mut pos, 5)?;
            continue;
        }
        let prefix = if b & 0xc0 == 0x40 { 6 } else { 4 };
        let idx = read_int(src, &mut pos, prefix)?;
        for k in 0..2 {
            if k == 0 && idx != 0 {
                if first {
                    hint = from_static(idx);
                }
                continue;
            }
            let huff = src.get(pos)? & 0x80 != 0;
            let len = read_int(src, &mut pos, 7)? as usize;
            let end = pos.checked_add(len)?;
            let raw = src.get(pos..end)?;
            pos = end;
            if k == 0 && first && !huff {
                hint = match raw {
                    b":method" | b":path" | b":scheme" | b":authority" => Some(true),
                    b":status" => Some(false),
                    _ => None,
                };
            }
            if huff && !huffman_valid(raw) {
                return None;
            }
        }
        first = false;
    }
    Some(hint)
}

/// Huffman validity without output (same rules as [`huffman_decode`]).
fn huffman_valid(src: &[u8]) -> bool {
    huff_walk(src, |_| {}).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(dec: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut f = Vec::new();
        let mut out = BlockOut::new(Some(&mut f), 1 << 20);
        dec.decode(block, &mut out).unwrap();
        assert!(!out.lost && !out.cut && !out.bad_index);
        f
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn table(dec: &Decoder) -> Vec<(String, String)> {
        (0..dec.len())
            .map(|i| {
                let (n, v) = dec.entry(i).unwrap();
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn huffman_codes_match_rfc_appendix_b() {
        // (symbol, code as hex aligned to LSB, length), sampled across the table.
        let rows: &[(usize, u32, u32)] = &[
            (0, 0x1ff8, 13),
            (1, 0x7fffd8, 23),
            (9, 0xffffea, 24),
            (10, 0x3ffffffc, 30),
            (22, 0x3ffffffe, 30),
            (b' ' as usize, 0x14, 6),
            (b'/' as usize, 0x18, 6),
            (b'0' as usize, 0x0, 5),
            (b't' as usize, 0x9, 5),
            (b'X' as usize, 0xfc, 8),
            (b'\\' as usize, 0x7fff0, 19),
            (b'~' as usize, 0x1ffd, 13),
            (127, 0xffffffc, 28),
            (128, 0xfffe6, 20),
            (153, 0x1fffdc, 21),
            (199, 0x1ffffec, 25),
            (220, 0xffffffd, 28),
            (249, 0xffffffe, 28),
            (254, 0x7fffff0, 27),
            (255, 0x3ffffee, 26),
            (256, 0x3fffffff, 30),
        ];
        for &(sym, code, len) in rows {
            assert_eq!(huff_code(sym), (code, len), "symbol {sym}");
        }
        // The code is complete: every 30-bit value decodes to some length.
        assert_eq!(HUFF.limit[30], 1 << 30);
    }

    #[test]
    fn huffman_round_trip_all_bytes() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let mut enc = Vec::new();
        huffman_encode(&all, &mut enc);
        let mut dec = Vec::new();
        huffman_decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, all);
    }

    #[test]
    fn huffman_rejects_bad_padding_and_eos() {
        let mut out = Vec::new();
        // "a" = 00011 then padding 000 (not ones).
        assert!(huffman_decode(&[0b0001_1000], &mut out).is_err());
        // 8 bits of padding.
        assert!(huffman_decode(&[0b0001_1111, 0xff], &mut out).is_err());
        // EOS (30 ones) encoded explicitly.
        assert!(huffman_decode(&[0xff, 0xff, 0xff, 0xfc], &mut out).is_err());
        out.clear();
        assert!(huffman_decode(&[0b0001_1111], &mut out).is_ok());
        assert_eq!(out, b"a");
    }

    #[test]
    fn integers_rfc_c1() {
        // C.1.1: 10 on a 5-bit prefix; C.1.2: 1337; C.1.3: 42 on 8 bits.
        let mut p = 0;
        assert_eq!(read_int(&[0b1110_1010], &mut p, 5), Some(10));
        p = 0;
        assert_eq!(read_int(&[0b0001_1111, 0x9a, 0x0a], &mut p, 5), Some(1337));
        assert_eq!(p, 3);
        p = 0;
        assert_eq!(read_int(&[42], &mut p, 8), Some(42));
        p = 0;
        assert_eq!(
            read_int(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], &mut p, 5),
            None
        );
        p = 0;
        assert_eq!(read_int(&[0x1f, 0x80], &mut p, 5), None);
    }

    #[test]
    fn rfc_c2_field_representations() {
        let mut d = Decoder::new(65536);
        assert_eq!(
            decode(
                &mut d,
                &hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
            ),
            pairs(&[("custom-key", "custom-header")])
        );
        assert_eq!(d.size(), 55);
        let mut d = Decoder::new(65536);
        assert_eq!(
            decode(&mut d, &hex("040c 2f73 616d 706c 652f 7061 7468")),
            pairs(&[(":path", "/sample/path")])
        );
        assert_eq!(d.len(), 0);
        assert_eq!(
            decode(&mut d, &hex("1008 7061 7373 776f 7264 0673 6563 7265 74")),
            pairs(&[("password", "secret")])
        );
        assert_eq!(d.len(), 0);
        assert_eq!(decode(&mut d, &hex("82")), pairs(&[(":method", "GET")]));
    }

    fn requests(blocks: [&str; 3]) {
        let mut d = Decoder::new(65536);
        let r1 = pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ]);
        assert_eq!(decode(&mut d, &hex(blocks[0])), r1);
        assert_eq!(d.size(), 57);
        let mut r2 = r1.clone();
        r2.push(("cache-control".into(), "no-cache".into()));
        assert_eq!(decode(&mut d, &hex(blocks[1])), r2);
        assert_eq!(
            table(&d),
            pairs(&[
                ("cache-control", "no-cache"),
                (":authority", "www.example.com")
            ])
        );
        assert_eq!(d.size(), 110);
        assert_eq!(
            decode(&mut d, &hex(blocks[2])),
            pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ])
        );
        assert_eq!(
            table(&d),
            pairs(&[
                ("custom-key", "custom-value"),
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(d.size(), 164);
    }

    #[test]
    fn rfc_c3_requests_plain() {
        requests([
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ]);
    }

    #[test]
    fn rfc_c4_requests_huffman() {
        requests([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]);
    }

    fn responses(blocks: [&str; 3]) {
        let mut d = Decoder::new(65536);
        // SETTINGS_HEADER_TABLE_SIZE = 256, acknowledged.
        d.settings_sent(256);
        d.settings_acked();
        let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
        let loc = "https://www.example.com";
        assert_eq!(
            decode(&mut d, &hex(blocks[0])),
            pairs(&[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", loc)
            ])
        );
        assert_eq!(
            table(&d),
            pairs(&[
                ("location", loc),
                ("date", date1),
                ("cache-control", "private"),
                (":status", "302")
            ])
        );
        assert_eq!(d.size(), 222);
        assert_eq!(
            decode(&mut d, &hex(blocks[1])),
            pairs(&[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", loc)
            ])
        );
        assert_eq!(
            table(&d),
            pairs(&[
                (":status", "307"),
                ("location", loc),
                ("date", date1),
                ("cache-control", "private")
            ])
        );
        assert_eq!(d.size(), 222);
        let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
        let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
        assert_eq!(
            decode(&mut d, &hex(blocks[2])),
            pairs(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", date2),
                ("location", loc),
                ("content-encoding", "gzip"),
                ("set-cookie", cookie),
            ])
        );
        assert_eq!(
            table(&d),
            pairs(&[
                ("set-cookie", cookie),
                ("content-encoding", "gzip"),
                ("date", date2)
            ])
        );
        assert_eq!(d.size(), 215);
    }

    #[test]
    fn rfc_c5_responses_plain_with_eviction() {
        responses([
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
             3d31",
        ]);
    }

    #[test]
    fn rfc_c6_responses_huffman_with_eviction() {
        responses([
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]);
    }

    #[test]
    fn lost_state_keeps_newest_entries_and_omits_older() {
        let mut d = Decoder::new(65536);
        d.lose();
        // A literal with incremental indexing is known; index 62 = it.
        let mut f = Vec::new();
        let mut out = BlockOut::new(Some(&mut f), 1 << 20);
        // 40 01 'x' 01 'y' ; be (62) ; bf (63: unknown) ; 82
        d.decode(&[0x40, 1, b'x', 1, b'y', 0xbe, 0xbf, 0x82], &mut out)
            .unwrap();
        assert!(out.lost && !out.bad_index);
        assert_eq!(f, pairs(&[("x", "y"), ("x", "y"), (":method", "GET")]));
        // Literal with an unknown indexed name: omitted, but still takes a slot.
        let mut f = Vec::new();
        let mut out = BlockOut::new(Some(&mut f), 1 << 20);
        d.decode(&[0x7f, 0x02, 1, b'v', 0xbf, 0xbe], &mut out)
            .unwrap(); // name idx 64
        assert!(out.lost);
        // 63 is now the old (x, y); 62 the placeholder.
        assert_eq!(f, pairs(&[("x", "y")]));
    }

    #[test]
    fn complete_state_flags_bad_index() {
        let mut d = Decoder::new(65536);
        let mut f = Vec::new();
        let mut out = BlockOut::new(Some(&mut f), 1 << 20);
        d.decode(&[0xbe, 0x82], &mut out).unwrap();
        assert!(out.bad_index && out.lost);
        assert_eq!(f, pairs(&[(":method", "GET")]));
    }

    #[test]
    fn size_update_caps_and_bomb_cut() {
        let mut d = Decoder::new(100);
        let mut out = BlockOut::new(None, 1 << 20);
        // Size update to 4096 (3f e1 1f) over the cap of 100.
        d.decode(&[0x3f, 0xe1, 0x1f], &mut out).unwrap();
        assert!(out.table_capped);
        assert!(d.is_partial());
        // A bomb: one 60-byte entry referenced 1000 times, list capped at 500.
        let mut block = vec![0x40, 1, b'n', 50];
        block.extend_from_slice(&[b'v'; 50]);
        block.extend(std::iter::repeat_n(0xbe, 1000));
        let mut f = Vec::new();
        let mut out = BlockOut::new(Some(&mut f), 500);
        d.decode(&block, &mut out).unwrap();
        assert!(out.cut);
        assert_eq!(f.len(), 500 / 83);
    }

    #[test]
    fn garbage_never_panics() {
        let mut d = Decoder::new(256);
        let mut seed = 12345u32;
        for _ in 0..2000 {
            let block: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let mut f = Vec::new();
            let mut out = BlockOut::new(Some(&mut f), 4096);
            let _ = d.decode(&block, &mut out);
            let _ = scan_block(&block);
            assert!(d.size() <= 256);
        }
    }
}
