//! permessage-deflate (RFC 7692): the negotiated parameters and the inflater.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::frame::unmask;

/// permessage-deflate parameters (RFC 7692) as negotiated in the server's 101
/// response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deflate {
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// LZ77 window of the client's compressor, 8..=15 (default 15).
    pub client_max_window_bits: u8,
    /// LZ77 window of the server's compressor, 8..=15 (default 15).
    pub server_max_window_bits: u8,
}

impl Default for Deflate {
    /// Context takeover both ways, 32 KiB windows (the RFC's defaults).
    fn default() -> Self {
        Deflate {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
        }
    }
}

impl Deflate {
    /// From the value(s) of the response's `Sec-WebSocket-Extensions` header
    /// (several header lines joined with `,`): `Some` when permessage-deflate was
    /// accepted.
    ///
    /// ```
    /// use ks_proto_websocket::Deflate;
    /// let d = Deflate::from_extensions("permessage-deflate; server_no_context_takeover; client_max_window_bits=10").unwrap();
    /// assert!(d.server_no_context_takeover && !d.client_no_context_takeover);
    /// assert_eq!((d.client_max_window_bits, d.server_max_window_bits), (10, 15));
    /// assert_eq!(Deflate::from_extensions("x-webkit-deflate-frame"), None);
    /// ```
    pub fn from_extensions(value: &str) -> Option<Deflate> {
        value.split(',').find_map(|ext| {
            let mut parts = ext.split(';');
            let name = parts.next()?.trim();
            if !name.eq_ignore_ascii_case("permessage-deflate") {
                return None;
            }
            let mut d = Deflate::default();
            for p in parts {
                let (k, v) = match p.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                    None => (p.trim(), None),
                };
                // A server answer carries a number; a bad one is its bug, and
                // a 32 KiB inflater decodes every window size anyway.
                let bits = || {
                    v.and_then(|v| v.parse::<u8>().ok())
                        .filter(|b| (8..=15).contains(b))
                        .unwrap_or(15)
                };
                if k.eq_ignore_ascii_case("client_no_context_takeover") {
                    d.client_no_context_takeover = true;
                } else if k.eq_ignore_ascii_case("server_no_context_takeover") {
                    d.server_no_context_takeover = true;
                } else if k.eq_ignore_ascii_case("client_max_window_bits") {
                    d.client_max_window_bits = bits();
                } else if k.eq_ignore_ascii_case("server_max_window_bits") {
                    d.server_max_window_bits = bits();
                }
            }
            Some(d)
        })
    }
}

/// Compresses messages as a permessage-deflate sender does (RFC 7692 §7.2.1):
/// raw deflate, a sync flush, the trailing `00 00 ff ff` removed. Meant for
/// building test traffic and benchmarks; the parser does not use it.
///
/// ```
/// use ks_proto_websocket::Deflater;
/// let mut d = Deflater::new(false);
/// let first = d.compress(b"Hello");
/// // Context takeover: the repeat refers back to the first message.
/// assert!(d.compress(b"Hello").len() < first.len());
/// ```
pub struct Deflater {
    c: Compress,
    no_context_takeover: bool,
}

impl Deflater {
    /// A compressor (default level, 32 KiB window); `no_context_takeover`
    /// resets it before every message.
    pub fn new(no_context_takeover: bool) -> Self {
        Deflater {
            c: Compress::new(Compression::default(), false),
            no_context_takeover,
        }
    }

    /// The payload of one compressed message (to be sent with RSV1 on its
    /// first frame).
    pub fn compress(&mut self, msg: &[u8]) -> Vec<u8> {
        if self.no_context_takeover {
            self.c.reset();
        }
        let mut out = Vec::with_capacity(msg.len() / 2 + 64);
        let mut input = msg;
        loop {
            out.reserve(1024);
            let before = self.c.total_in();
            if self
                .c
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let used = usize::try_from(self.c.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or(&[]);
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        out
    }
}

/// The empty stored block a sender strips from every message (RFC 7692 §7.2.2);
/// appended back at the end so the inflater flushes the message's last bytes.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output produced per `decompress` call.
const OUT_CHUNK: usize = 8 * 1024;
/// Masked input unmasked per `decompress` call.
const IN_CHUNK: usize = 4 * 1024;

/// One direction's inflater, with its scratch buffers (allocated once).
pub(crate) struct Inflater {
    z: Decompress,
    /// The deflate stream ended (a block with BFINAL): a new one starts at the
    /// next message, without the old window.
    pub ended: bool,
    out: Box<[u8]>,
    /// Unmasking buffer for compressed payload.
    unmasked: Box<[u8]>,
}

/// Outcome of feeding bytes.
#[derive(Debug)]
pub(crate) enum Fed {
    /// Keep going.
    More,
    /// The sink refused more output (size cap).
    Capped,
    /// Corrupt input.
    Error(String),
}

impl Inflater {
    pub fn new() -> Self {
        Inflater {
            z: Decompress::new(false),
            ended: false,
            out: vec![0; OUT_CHUNK].into_boxed_slice(),
            unmasked: vec![0; IN_CHUNK].into_boxed_slice(),
        }
    }

    /// Starts a fresh deflate stream (no window).
    pub fn reset(&mut self) {
        self.z.reset(false);
        self.ended = false;
    }

    /// Inflates `input`, handing the output to `sink`, which returns `false` to
    /// stop (cap reached).
    pub fn feed(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8]) -> bool) -> Fed {
        run(&mut self.z, &mut self.out, &mut self.ended, input, sink)
    }

    /// Unmasks `chunk` (with `mask` starting at key byte `pos`) in pieces into
    /// the inflater's own buffer and inflates them.
    pub fn feed_masked(
        &mut self,
        chunk: &[u8],
        mask: [u8; 4],
        mut pos: usize,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Fed {
        for piece in chunk.chunks(IN_CHUNK) {
            let Some(buf) = self.unmasked.get_mut(..piece.len()) else {
                return Fed::Error("inflate: internal buffer".into());
            };
            buf.copy_from_slice(piece);
            unmask(buf, mask, pos);
            pos = (pos + piece.len()) & 3;
            match run(&mut self.z, &mut self.out, &mut self.ended, buf, sink) {
                Fed::More => {}
                other => return other,
            }
        }
        Fed::More
    }
}

fn run(
    z: &mut Decompress,
    out: &mut [u8],
    ended: &mut bool,
    mut input: &[u8],
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Fed {
    if *ended {
        // Bytes after a BFINAL block (RFC 7692 §7.2.3.4 shows a trailing 0x00)
        // and the re-appended tail mean nothing.
        return Fed::More;
    }
    loop {
        let (bi, bo) = (z.total_in(), z.total_out());
        let status = match z.decompress(input, out, FlushDecompress::None) {
            Ok(s) => s,
            Err(e) => return Fed::Error(format!("inflate: {e}")),
        };
        let used = usize::try_from(z.total_in() - bi).unwrap_or(usize::MAX);
        let made = usize::try_from(z.total_out() - bo).unwrap_or(usize::MAX);
        input = input.get(used..).unwrap_or(&[]);
        if let Some(o) = out.get(..made) {
            if !o.is_empty() && !sink(o) {
                return Fed::Capped;
            }
        }
        if status == Status::StreamEnd {
            *ended = true;
            return Fed::More;
        }
        let out_full = made == out.len();
        if (input.is_empty() && !out_full) || (used == 0 && made == 0) {
            return Fed::More;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(
            Deflate::from_extensions("permessage-deflate"),
            Some(Deflate::default())
        );
        let d = Deflate::from_extensions(
            "foo; a=1, PerMessage-Deflate ; client_no_context_takeover ; server_max_window_bits=\"9\"",
        )
        .unwrap();
        assert!(d.client_no_context_takeover && !d.server_no_context_takeover);
        assert_eq!(d.server_max_window_bits, 9);
        assert_eq!(d.client_max_window_bits, 15);
        assert_eq!(Deflate::from_extensions(""), None);
        assert_eq!(Deflate::from_extensions("permessage-deflate-x"), None);
    }

    #[test]
    fn inflates_rfc7692_hello() {
        let mut inf = Inflater::new();
        let mut got = Vec::new();
        let mut sink = |b: &[u8]| {
            got.extend_from_slice(b);
            true
        };
        assert!(matches!(
            inf.feed(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut sink),
            Fed::More
        ));
        assert!(matches!(inf.feed(&TAIL, &mut sink), Fed::More));
        assert_eq!(got, b"Hello");
    }
}
