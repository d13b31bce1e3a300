//! Incremental body accounting and content decoding.

use std::io::{self, Write};

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

use crate::Body;

/// Receives decoded bytes: counts all of them, keeps a prefix, and refuses to go
/// past the decoded-size cap (the refusal is what stops a decompression bomb).
#[derive(Default)]
pub(crate) struct Sink {
    kept: Vec<u8>,
    max_kept: usize,
    size: u64,
    cap: u64,
    capped: bool,
    /// After a gap `kept` stops growing so that it stays a true prefix.
    frozen: bool,
}

impl Sink {
    fn new(max_kept: usize, cap: u64) -> Self {
        Sink {
            kept: Vec::new(),
            max_kept,
            size: 0,
            cap,
            capped: false,
            frozen: false,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.cap.saturating_sub(self.size);
        let take = (buf.len() as u64).min(room) as usize;
        if !self.frozen && self.kept.len() < self.max_kept {
            let k = take.min(self.max_kept - self.kept.len());
            self.kept.extend_from_slice(&buf[..k]);
        }
        self.size += take as u64;
        if take < buf.len() {
            self.capped = true;
            return Err(io::Error::other("decoded size cap"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    Identity(Sink),
    Gzip(Box<GzDecoder<Sink>>),
    Zlib(Box<ZlibDecoder<Sink>>),
    Raw(Box<DeflateDecoder<Sink>>),
    /// `deflate` is zlib in the RFC but raw deflate in some servers: wait for the
    /// first two bytes to tell.
    DeflateSniff(Sink, Vec<u8>),
    Brotli(Box<brotli::DecompressorWriter<Sink>>),
    /// Decoding stopped (error, cap, gap); the body is only counted.
    Stopped(Sink),
}

impl Decoder {
    fn sink_mut(&mut self) -> &mut Sink {
        match self {
            Decoder::Identity(s) | Decoder::DeflateSniff(s, _) | Decoder::Stopped(s) => s,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Zlib(d) => d.get_mut(),
            Decoder::Raw(d) => d.get_mut(),
            Decoder::Brotli(d) => d.get_mut(),
        }
    }
    fn take_sink(&mut self) -> Sink {
        std::mem::take(self.sink_mut())
    }
}

/// Writes all of `buf`, tolerating writers that stop accepting input at the end of
/// their stream (trailing bytes after a compressed stream are ignored).
fn write_all_lenient<W: Write>(w: &mut W, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn looks_like_zlib(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && (b0 >> 4) <= 7 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0
}

/// Outcome flags the parser turns into counters.
#[derive(Default)]
pub(crate) struct DecodeEvents {
    pub capped: bool,
    pub error: bool,
}

/// A body being received.
pub(crate) struct BodyAcc {
    dec: Decoder,
    encoding: Option<String>,
    cap: u64,
    wire_size: u64,
    chunked: bool,
    gap: bool,
    decode_error: Option<String>,
    pub trailers: Vec<(String, String)>,
}

impl BodyAcc {
    pub(crate) fn new(encoding: Option<String>, chunked: bool, max_kept: usize, cap: u64) -> Self {
        let mut decode_error = None;
        let dec = match encoding.as_deref() {
            None | Some("identity") => Decoder::Identity(Sink::new(max_kept, u64::MAX)),
            Some("gzip" | "x-gzip") => {
                Decoder::Gzip(Box::new(GzDecoder::new(Sink::new(max_kept, cap))))
            }
            Some("deflate") => {
                Decoder::DeflateSniff(Sink::new(max_kept, cap), Vec::with_capacity(2))
            }
            Some("br") => Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(
                Sink::new(max_kept, cap),
                4096,
            ))),
            Some(other) => {
                decode_error = Some(format!(
                    "unsupported content-encoding {other:?}; body kept as sent"
                ));
                Decoder::Identity(Sink::new(max_kept, u64::MAX))
            }
        };
        BodyAcc {
            dec,
            encoding,
            cap,
            wire_size: 0,
            chunked,
            gap: false,
            decode_error,
            trailers: Vec::new(),
        }
    }

    fn stop(&mut self, why: String, ev: &mut DecodeEvents) {
        let sink = self.dec.take_sink();
        if sink.capped {
            ev.capped = true;
            self.decode_error = Some(format!(
                "decompressed size exceeds cap of {} bytes",
                self.cap
            ));
        } else {
            ev.error = true;
            self.decode_error = Some(why);
        }
        self.dec = Decoder::Stopped(sink);
    }

    /// Feeds body bytes as they appear on the wire (after de-chunking).
    pub(crate) fn feed(&mut self, data: &[u8], ev: &mut DecodeEvents) {
        if data.is_empty() {
            return;
        }
        self.wire_size += data.len() as u64;
        let res = match &mut self.dec {
            Decoder::Identity(s) => write_all_lenient(s, data),
            Decoder::Stopped(_) => Ok(()),
            Decoder::Gzip(d) => write_all_lenient(d.as_mut(), data),
            Decoder::Zlib(d) => write_all_lenient(d.as_mut(), data),
            Decoder::Raw(d) => write_all_lenient(d.as_mut(), data),
            Decoder::Brotli(d) => write_all_lenient(d.as_mut(), data),
            Decoder::DeflateSniff(_, pre) => {
                let need = 2 - pre.len();
                let n = need.min(data.len());
                pre.extend_from_slice(&data[..n]);
                if pre.len() < 2 {
                    return;
                }
                let pre = std::mem::take(pre);
                let sink = self.dec.take_sink();
                self.dec = if looks_like_zlib(pre[0], pre[1]) {
                    Decoder::Zlib(Box::new(ZlibDecoder::new(sink)))
                } else {
                    Decoder::Raw(Box::new(DeflateDecoder::new(sink)))
                };
                // Re-feed through the real decoder without counting twice.
                self.wire_size -= (pre.len() + data.len() - n) as u64;
                self.feed(&pre, ev);
                self.feed(&data[n..], ev);
                return;
            }
        };
        if let Err(e) = res {
            let enc = self.encoding.clone().unwrap_or_default();
            self.stop(format!("{enc} decoding failed: {e}"), ev);
        }
    }

    /// `len` body bytes were lost: counted as missing; decoding cannot go on.
    pub(crate) fn missing(&mut self, len: u64, ev: &mut DecodeEvents) {
        self.wire_size = self.wire_size.saturating_add(len);
        self.gap = true;
        match &mut self.dec {
            Decoder::Identity(s) => {
                s.frozen = true;
                s.size = s.size.saturating_add(len);
            }
            Decoder::Stopped(s) => s.frozen = true,
            _ => {
                self.stop("gap in compressed body".to_string(), ev);
                self.dec.sink_mut().frozen = true;
            }
        }
    }

    /// Finalises the body. Decoder flush errors are reported only for complete
    /// bodies: a cut stream is expected to end mid-block.
    pub(crate) fn finish(mut self, complete: bool, ev: &mut DecodeEvents) -> Body {
        let res = match &mut self.dec {
            Decoder::Gzip(d) => d.try_finish(),
            Decoder::Zlib(d) => d.try_finish(),
            Decoder::Raw(d) => d.try_finish(),
            Decoder::Brotli(d) => d.close(),
            Decoder::DeflateSniff(_, pre) if !pre.is_empty() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated deflate stream",
            )),
            _ => Ok(()),
        };
        if let Err(e) = res {
            let capped = self.dec.sink_mut().capped;
            if complete || capped {
                let enc = self.encoding.clone().unwrap_or_default();
                self.stop(format!("{enc} decoding failed: {e}"), ev);
            }
        }
        let sink = self.dec.take_sink();
        let size = sink.size;
        let data = sink.kept;
        Body {
            size,
            wire_size: self.wire_size,
            truncated: (data.len() as u64) < size,
            data,
            chunked: self.chunked,
            encoding: self.encoding,
            decode_error: self.decode_error,
            trailers: self.trailers,
            gap: self.gap,
        }
    }
}

/// Decodes a whole body sent with `Content-Encoding: encoding` (`gzip`, `x-gzip`,
/// `deflate` — zlib or raw, sniffed —, `br`; `identity` or an unknown coding keeps
/// the bytes as sent, with `decode_error` saying so for the latter). At most
/// `max_kept` decoded bytes are kept and decoding stops at `cap` decoded bytes (a
/// bomb ends there). `complete`: `wire` is the whole body (a cut one may end
/// mid-block without that being an error). For bodies collected by another
/// parser, e.g. the DATA of an HTTP/2 stream.
pub fn decode_body(encoding: &str, wire: &[u8], complete: bool, max_kept: usize, cap: u64) -> Body {
    let enc = encoding.trim().to_ascii_lowercase();
    let mut acc = BodyAcc::new(Some(enc), false, max_kept, cap);
    let mut ev = DecodeEvents::default();
    acc.feed(wire, &mut ev);
    acc.finish(complete, &mut ev)
}
