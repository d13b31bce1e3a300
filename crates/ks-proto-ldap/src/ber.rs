//! The few BER rules LDAP needs (RFC 4511 section 5.1): definite lengths only,
//! low- and high-tag-number identifiers, every read checked against the bytes there.

/// Result of reading an identifier and a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// At least this many bytes in total are needed to read the header.
    Need(usize),
    /// Not a header LDAP allows.
    Bad(&'static str),
    /// Identifier byte, tag number, header length, content length.
    Ok {
        ident: u8,
        num: u32,
        hdr: usize,
        len: u64,
    },
}

/// Reads the identifier and length at the start of `b`.
pub(crate) fn head(b: &[u8]) -> Head {
    let Some(&ident) = b.first() else {
        return Head::Need(2);
    };
    let mut i = 1;
    let mut num = u32::from(ident & 0x1f);
    if num == 0x1f {
        num = 0;
        loop {
            let Some(&c) = b.get(i) else {
                return Head::Need(i + 2);
            };
            i += 1;
            // Four 7-bit groups are far more than any LDAP tag; more would overflow.
            if i > 5 {
                return Head::Bad("tag number too long");
            }
            num = (num << 7) | u32::from(c & 0x7f);
            if c & 0x80 == 0 {
                break;
            }
        }
    }
    let Some(&l) = b.get(i) else {
        return Head::Need(i + 1);
    };
    i += 1;
    if l < 0x80 {
        return Head::Ok {
            ident,
            num,
            hdr: i,
            len: u64::from(l),
        };
    }
    if l == 0x80 {
        // RFC 4511 5.1: "Only the definite form of length encoding is used."
        return Head::Bad("indefinite length");
    }
    let n = usize::from(l & 0x7f);
    if n > 8 {
        return Head::Bad("length of length over 8 bytes");
    }
    let Some(lb) = b.get(i..i + n) else {
        return Head::Need(i + n);
    };
    let len = lb.iter().fold(0u64, |a, &c| (a << 8) | u64::from(c));
    Head::Ok {
        ident,
        num,
        hdr: i + n,
        len,
    }
}

/// One element: identifier byte, tag number and content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub ident: u8,
    pub num: u32,
    pub val: &'a [u8],
}

/// Decode errors say what was being read.
pub(crate) type R<T> = Result<T, String>;

/// A cursor over the elements of a constructed value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cur<'a>(pub &'a [u8]);

impl<'a> Cur<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Identifier byte of the next element.
    pub fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element; its content must lie within the enclosing value.
    pub fn next_tlv(&mut self, what: &str) -> R<Tlv<'a>> {
        match head(self.0) {
            Head::Ok {
                ident,
                num,
                hdr,
                len,
            } => {
                let avail = (self.0.len() - hdr) as u64;
                if len > avail {
                    return Err(format!(
                        "{what}: length {len} exceeds the {avail} bytes left"
                    ));
                }
                let (val, rest) = self.0[hdr..].split_at(len as usize);
                self.0 = rest;
                Ok(Tlv { ident, num, val })
            }
            Head::Need(_) if self.0.is_empty() => Err(format!("{what}: missing")),
            Head::Need(_) => Err(format!("{what}: truncated header")),
            Head::Bad(e) => Err(format!("{what}: {e}")),
        }
    }

    /// The next element, which must have identifier `ident`.
    pub fn expect(&mut self, ident: u8, what: &str) -> R<&'a [u8]> {
        let t = self.next_tlv(what)?;
        if t.ident != ident {
            return Err(format!(
                "{what}: expected tag 0x{ident:02x}, found 0x{:02x}",
                t.ident
            ));
        }
        Ok(t.val)
    }

    /// The next element if its identifier is `ident`.
    pub fn optional(&mut self, ident: u8, what: &str) -> R<Option<&'a [u8]>> {
        if self.peek() == Some(ident) {
            self.expect(ident, what).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A two's complement INTEGER or ENUMERATED of 1 to 8 bytes.
pub(crate) fn int(v: &[u8], what: &str) -> R<i64> {
    if v.is_empty() || v.len() > 8 {
        return Err(format!("{what}: integer of {} bytes", v.len()));
    }
    let neg = v[0] & 0x80 != 0;
    let init = if neg { -1i64 } else { 0 };
    Ok(v.iter().fold(init, |a, &c| (a << 8) | i64::from(c)))
}

/// A BOOLEAN (any non-zero byte is TRUE, as BER allows).
pub(crate) fn boolean(v: &[u8], what: &str) -> R<bool> {
    match v {
        [b] => Ok(*b != 0),
        _ => Err(format!("{what}: boolean of {} bytes", v.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            head(&[0x30, 0x05]),
            Head::Ok {
                ident: 0x30,
                num: 16,
                hdr: 2,
                len: 5
            }
        );
        assert_eq!(
            head(&[0x30, 0x84, 0, 0, 0, 0x10]),
            Head::Ok {
                ident: 0x30,
                num: 16,
                hdr: 6,
                len: 16
            }
        );
        assert_eq!(
            head(&[0x30, 0x82, 0x01]),
            Head::Need(4),
            "long form cut inside"
        );
        assert_eq!(head(&[0x30]), Head::Need(2));
        assert_eq!(head(&[]), Head::Need(2));
    }

    #[test]
    fn indefinite_and_oversized_rejected() {
        assert_eq!(head(&[0x30, 0x80]), Head::Bad("indefinite length"));
        assert!(matches!(head(&[0x30, 0x89]), Head::Bad(_)));
        assert!(matches!(head(&[0x30, 0xff]), Head::Bad(_)));
    }

    #[test]
    fn zero_length_and_high_tags() {
        assert_eq!(
            head(&[0x42, 0x00]),
            Head::Ok {
                ident: 0x42,
                num: 2,
                hdr: 2,
                len: 0
            }
        );
        assert_eq!(
            head(&[0x9f, 0x81, 0x00, 0x01]),
            Head::Ok {
                ident: 0x9f,
                num: 128,
                hdr: 4,
                len: 1
            }
        );
        assert!(matches!(
            head(&[0x9f, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Head::Bad(_)
        ));
        assert_eq!(head(&[0x9f, 0x81]), Head::Need(4));
    }

    #[test]
    fn cursor_bounds() {
        let mut c = Cur(&[0x04, 0x05, b'a']);
        assert!(c.next_tlv("x").is_err());
        let mut c = Cur(&[0x04, 0x00, 0x02, 0x01, 0xff]);
        assert_eq!(c.expect(0x04, "s").unwrap(), b"");
        assert_eq!(int(c.expect(0x02, "i").unwrap(), "i").unwrap(), -1);
        assert!(c.is_empty());
        assert!(c.next_tlv("x").is_err());
        assert_eq!(int(&[0x00, 0xff], "i").unwrap(), 255);
        assert!(int(&[], "i").is_err());
        assert!(int(&[0; 9], "i").is_err());
    }
}
