//! A refillable window over a byte stream.
//!
//! Records are parsed in place from `buf[start..end]`; when a record does
//! not fit, the unread tail is moved to the front and the rest of the buffer
//! is refilled. The buffer grows only when one record is larger than the
//! whole buffer, and never beyond the cap the caller checks against, so
//! memory stays bounded whatever the input size.

use std::io::{self, Read};

/// Initial (and normal steady-state) buffer size. Large reads amortise the
/// syscall cost; 1 MiB keeps us well above 1 GB/s from page cache.
pub(crate) const INITIAL_CAPACITY: usize = 1 << 20;

pub(crate) struct InputBuf {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Absolute stream offset of `buf[start]`.
    pos: u64,
    eof: bool,
}

impl InputBuf {
    pub(crate) fn new(reader: Box<dyn Read + Send>) -> Self {
        Self {
            reader,
            buf: vec![0; INITIAL_CAPACITY],
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
        }
    }

    /// Absolute offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Makes at least `need` bytes available unless the stream ends first;
    /// returns how many bytes are available (may be less than `need` only
    /// at end of stream). Callers bound `need` before calling, so the
    /// growth here is bounded by their limits.
    #[inline]
    pub(crate) fn fill(&mut self, need: usize) -> io::Result<usize> {
        let avail = self.end - self.start;
        if avail >= need {
            return Ok(avail);
        }
        self.fill_slow(need)
    }

    #[cold]
    fn fill_slow(&mut self, need: usize) -> io::Result<usize> {
        if self.start.saturating_add(need) > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if need > self.buf.len() {
                let doubled = self.buf.len().saturating_mul(2);
                self.buf.resize(need.max(doubled.min(crate::MAX_BUFFER)), 0);
            }
        }
        while self.end - self.start < need && !self.eof {
            // Invariant: `end < start + need <= buf.len()`, so the slice is
            // never empty and `Ok(0)` really means end of stream.
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                // `min` guards against a reader that over-reports.
                Ok(n) => self.end = (self.end + n).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// The first `N` available bytes as an array. Caller has checked that
    /// at least `N` bytes are available.
    #[inline]
    pub(crate) fn head<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.buf.get(self.start..self.start + N) {
            out.copy_from_slice(src);
        }
        out
    }

    /// `len` available bytes starting `off` bytes after the read position;
    /// empty if out of range (callers have validated the range already, the
    /// fallback only exists so that a logic error cannot become a panic).
    #[inline]
    pub(crate) fn peek(&self, off: usize, len: usize) -> &[u8] {
        let from = self.start.saturating_add(off);
        let to = from.saturating_add(len).min(self.end);
        self.buf.get(from..to).unwrap_or(&[])
    }

    /// Index into the internal buffer of the byte `off` after the read
    /// position, for slicing out packet data after [`consume`](Self::consume).
    #[inline]
    pub(crate) fn index(&self, off: usize) -> usize {
        self.start + off
    }

    /// A slice of the internal buffer by absolute index; stays valid until
    /// the next `fill`, which the borrow checker enforces via `&self`.
    #[inline]
    pub(crate) fn slice(&self, from: usize, len: usize) -> &[u8] {
        let to = from.saturating_add(len).min(self.end);
        self.buf.get(from..to).unwrap_or(&[])
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.pos += n as u64;
    }
}
