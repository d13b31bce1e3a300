//! Frame headers (RFC 6455 §5.2): parsing, the strict plausibility check used by
//! the probe and by resynchronisation, and unmasking.

/// A frame opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// `0x0`: continues a fragmented data message.
    Continuation,
    /// `0x1`: UTF-8 text.
    Text,
    /// `0x2`: binary data.
    Binary,
    /// `0x8`: connection close.
    Close,
    /// `0x9`: ping.
    Ping,
    /// `0xA`: pong.
    Pong,
    /// `0x3`-`0x7` (data) and `0xB`-`0xF` (control), reserved by RFC 6455.
    Reserved(u8),
}

impl Opcode {
    /// The opcode of the low 4 bits of `b`.
    pub fn from_code(b: u8) -> Opcode {
        match b & 0x0f {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            x => Opcode::Reserved(x),
        }
    }

    /// Lower-case name: `continuation`, `text`, `binary`, `close`, `ping`, `pong`,
    /// `reserved`.
    pub fn name(self) -> &'static str {
        match self {
            Opcode::Continuation => "continuation",
            Opcode::Text => "text",
            Opcode::Binary => "binary",
            Opcode::Close => "close",
            Opcode::Ping => "ping",
            Opcode::Pong => "pong",
            Opcode::Reserved(_) => "reserved",
        }
    }

    /// The 4-bit code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
            Opcode::Reserved(x) => x & 0x0f,
        }
    }

    /// Control frames have the high bit of the opcode set (close, ping, pong and
    /// the reserved `0xB`-`0xF`).
    pub fn is_control(self) -> bool {
        self.code() & 0x08 != 0
    }
}

/// RSV1 in the header's RSV field (bits 6..4 of byte 0, shifted down).
pub(crate) const RSV1: u8 = 0b100;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (RSV1 = 0b100).
    pub rsv: u8,
    pub opcode: Opcode,
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub len: u64,
    /// Header length on the wire (2..=14).
    pub header_len: usize,
    /// The 7-bit length field (126 / 127 announce extended lengths).
    pub len7: u8,
}

/// Outcome of [`parse_header`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderParse {
    /// This many more bytes are needed.
    Incomplete(usize),
    /// A header.
    Ok(Header),
    /// The 64-bit length has its most significant bit set (RFC 6455 forbids it):
    /// not a frame we can delimit.
    BadLength,
}

/// Parses the frame header at the start of `b`.
pub(crate) fn parse_header(b: &[u8]) -> HeaderParse {
    let (b0, b1) = match b {
        [b0, b1, ..] => (*b0, *b1),
        _ => return HeaderParse::Incomplete(2 - b.len()),
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7f;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let header_len = 2 + ext + if masked { 4 } else { 0 };
    let Some(h) = b.get(..header_len) else {
        return HeaderParse::Incomplete(header_len - b.len());
    };
    let len = match ext {
        0 => u64::from(len7),
        2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        _ => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
    };
    if len >> 63 != 0 {
        return HeaderParse::BadLength;
    }
    let mask = if masked {
        let m = 2 + ext;
        Some([h[m], h[m + 1], h[m + 2], h[m + 3]])
    } else {
        None
    };
    HeaderParse::Ok(Header {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0b111,
        opcode: Opcode::from_code(b0),
        mask,
        len,
        header_len,
        len7,
    })
}

/// What the strict check demands.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strict {
    /// Required value of the MASK bit (`None`: either).
    pub masked: Option<bool>,
    /// RSV1 may be set on text/binary frames (permessage-deflate).
    pub rsv1_ok: bool,
}

/// Outcome of [`check_strict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Not a plausible frame header.
    No,
    /// The bytes present are plausible; this many more decide.
    More(usize),
    /// A plausible header.
    Yes(Header),
}

/// Whether `b` starts with a header a conforming peer could have sent: a known
/// opcode, RSV bits clear (RSV1 allowed on data frames when deflate is on),
/// control frames unfragmented with at most 125 bytes, no empty continuation or
/// non-final data frame, the MASK bit as the
/// direction requires, the length in its shortest encoding. Bytes are judged as
/// soon as they arrive, so a verdict never depends on how the input was cut.
pub(crate) fn check_strict(b: &[u8], s: Strict) -> Check {
    let Some(&b0) = b.first() else {
        return Check::More(1);
    };
    let opcode = b0 & 0x0f;
    if !matches!(opcode, 0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xA) {
        return Check::No;
    }
    let rsv = (b0 >> 4) & 0b111;
    if rsv & 0b011 != 0 || (rsv & RSV1 != 0 && !(s.rsv1_ok && matches!(opcode, 0x1 | 0x2))) {
        return Check::No;
    }
    let control = opcode & 0x08 != 0;
    if control && b0 & 0x80 == 0 {
        return Check::No;
    }
    let Some(&b1) = b.get(1) else {
        return Check::More(1);
    };
    if let Some(m) = s.masked {
        if m != (b1 & 0x80 != 0) {
            return Check::No;
        }
    }
    let len7 = b1 & 0x7f;
    if control && len7 > 125 {
        return Check::No;
    }
    // Runs of zero bytes would read as empty continuation frames; senders do
    // not send those (an empty message is a single final text/binary frame).
    if !control && len7 == 0 && (opcode == 0x0 || b0 & 0x80 == 0) {
        return Check::No;
    }
    // Judge the extended length's leading bytes as they arrive.
    if len7 == 127 {
        if let Some(&hi) = b.get(2) {
            if hi & 0x80 != 0 {
                return Check::No;
            }
        }
    }
    match parse_header(b) {
        HeaderParse::Incomplete(n) => Check::More(n),
        HeaderParse::BadLength => Check::No,
        HeaderParse::Ok(h) => {
            let minimal = match h.len7 {
                126 => h.len >= 126,
                127 => h.len > 0xffff,
                _ => true,
            };
            if minimal {
                Check::Yes(h)
            } else {
                Check::No
            }
        }
    }
}

/// XORs `buf` with `mask`, starting at byte `pos` (0..4) of the key.
pub(crate) fn unmask(buf: &mut [u8], mask: [u8; 4], pos: usize) {
    let mut key = [0u8; 4];
    for (i, k) in key.iter_mut().enumerate() {
        *k = mask[(pos + i) & 3];
    }
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip() {
        for c in 0..16u8 {
            let o = Opcode::from_code(c);
            assert_eq!(o.code(), c);
            assert_eq!(o.is_control(), c >= 8);
        }
        assert_eq!(Opcode::from_code(0x3), Opcode::Reserved(3));
        assert_eq!(Opcode::Pong.name(), "pong");
    }

    #[test]
    fn header_lengths() {
        // 7-bit, 16-bit and 64-bit lengths, RFC 6455 §5.2.
        assert!(matches!(
            parse_header(&[0x82, 0x7e, 0x01, 0x00]),
            HeaderParse::Ok(Header {
                len: 256,
                header_len: 4,
                ..
            })
        ));
        assert!(matches!(
            parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
            HeaderParse::Ok(Header {
                len: 65536,
                header_len: 10,
                ..
            })
        ));
        assert_eq!(parse_header(&[0x82, 0xff, 0]), HeaderParse::Incomplete(11));
        assert_eq!(
            parse_header(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            HeaderParse::BadLength
        );
    }

    #[test]
    fn strict_rules() {
        let any = Strict {
            masked: None,
            rsv1_ok: false,
        };
        assert!(matches!(check_strict(&[0x81, 0x05], any), Check::Yes(_)));
        // Fragmented ping, reserved opcode, RSV bits, long control frame.
        assert_eq!(check_strict(&[0x09], any), Check::No);
        assert_eq!(check_strict(&[0x83], any), Check::No);
        assert_eq!(check_strict(&[0xc1], any), Check::No);
        assert_eq!(check_strict(&[0x89, 0x7e], any), Check::No);
        // Non-minimal 16-bit length.
        assert_eq!(check_strict(&[0x82, 0x7e, 0x00, 0x10], any), Check::No);
        assert_eq!(check_strict(&[0x82, 0x7e, 0x00], any), Check::More(1));
        // Empty continuation or non-final frames (zero padding).
        assert_eq!(check_strict(&[0x00, 0x00], any), Check::No);
        assert_eq!(check_strict(&[0x80, 0x00], any), Check::No);
        assert_eq!(check_strict(&[0x01, 0x00], any), Check::No);
        assert!(matches!(check_strict(&[0x81, 0x00], any), Check::Yes(_)));
        let client = Strict {
            masked: Some(true),
            rsv1_ok: true,
        };
        assert_eq!(check_strict(&[0xc1, 0x05], client), Check::No);
        assert!(matches!(
            check_strict(&[0xc1, 0x85, 1, 2, 3, 4], client),
            Check::Yes(_)
        ));
    }

    #[test]
    fn unmask_any_offset() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        for split in 0..=masked.len() {
            let mut b = masked;
            let (a, c) = b.split_at_mut(split);
            unmask(a, mask, 0);
            unmask(c, mask, split % 4);
            assert_eq!(&b, b"Hello");
        }
        let mut long = [0u8; 21];
        unmask(&mut long, mask, 1);
        assert_eq!(long[..5], [0xfa, 0x21, 0x3d, 0x37, 0xfa]);
        assert_eq!(long[20], 0xfa);
    }
}
