//! A big-endian reader over borrowed bytes for binary protocols.

/// Reads big-endian integers and length-prefixed fields from a borrowed buffer; every
/// read is bounds-checked and gives `None` past the end, so a decoder written with `?`
/// stops at the first short field instead of panicking.
///
/// ```
/// use ks_proto::Reader;
/// let mut r = Reader::new(&[0x01, 0x00, 0x02, b'h', b'2', 0xff]);
/// assert_eq!(r.u8(), Some(1));
/// assert_eq!(r.vec(2), Some(&b"h2"[..]));
/// assert_eq!(r.u16(), None); // one byte left
/// assert_eq!(r.rest(), &[0xff]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `b`.
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }
    /// Nothing left.
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
    /// What is left, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        self.b
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.arr::<1>()?[0])
    }
    /// A big-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.arr()?))
    }
    /// A big-endian 24-bit length.
    pub fn u24(&mut self) -> Option<usize> {
        let [a, b, c] = self.arr()?;
        Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
    }
    /// A big-endian u32.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.arr()?))
    }
    /// A big-endian u64.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.arr()?))
    }
    /// Bytes after a big-endian length prefix of `len_bytes` (1, 2, 3 or 4; other
    /// values read 4).
    pub fn vec(&mut self, len_bytes: u8) -> Option<&'a [u8]> {
        let n = match len_bytes {
            1 => usize::from(self.u8()?),
            2 => usize::from(self.u16()?),
            3 => self.u24()?,
            _ => usize::try_from(self.u32()?).ok()?,
        };
        self.take(n)
    }
}
