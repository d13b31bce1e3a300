//! Search filters rendered as RFC 4515 strings.

use crate::ber::{boolean, Cur, Tlv};
use crate::{MAX_FILTER_DEPTH, MAX_FILTER_LEN};

/// Attributes whose assertion values are never shown (a filter or compare on
/// them carries a password).
const SENSITIVE: [&str; 6] = [
    "userpassword",
    "unicodepwd",
    "authpassword",
    "sambantpassword",
    "sambalmpassword",
    "clearpassword",
];

/// `true` for password attributes (options such as `;binary` ignored).
pub(crate) fn sensitive(attr: &str) -> bool {
    let base = attr.split(';').next().unwrap_or(attr);
    SENSITIVE.iter().any(|s| base.eq_ignore_ascii_case(s))
}

/// Output capped at `MAX_FILTER_LEN` bytes: a hostile filter of 16 MiB would
/// otherwise become a string three times its size.
struct Out {
    s: String,
    cut: bool,
    error: Option<String>,
}

impl Out {
    fn push(&mut self, t: &str) {
        if self.cut {
            return;
        }
        if self.s.len() + t.len() > MAX_FILTER_LEN {
            let mut n = MAX_FILTER_LEN.saturating_sub(self.s.len()).min(t.len());
            while !t.is_char_boundary(n) {
                n -= 1;
            }
            self.s.push_str(&t[..n]);
            self.s.push('…');
            self.cut = true;
            return;
        }
        self.s.push_str(t);
    }
    fn fail(&mut self, e: String) {
        self.push("?");
        self.error.get_or_insert(e);
    }
}

/// Escapes an assertion value per RFC 4515 section 3: `*`, `(`, `)`, `\` and NUL
/// always, control characters and bytes that are not UTF-8 too (allowed, and keeps
/// the string printable).
pub fn escape_value(v: &[u8]) -> String {
    let mut s = String::with_capacity(v.len().min(MAX_FILTER_LEN));
    push_escaped(&mut s, v, usize::MAX);
    s
}

fn push_escaped(s: &mut String, v: &[u8], limit: usize) {
    const H: &[u8; 16] = b"0123456789abcdef";
    let hexb = |s: &mut String, b: u8| {
        s.push('\\');
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 15)] as char);
    };
    for chunk in v.utf8_chunks() {
        for c in chunk.valid().chars() {
            if s.len() > limit {
                return;
            }
            if matches!(c, '*' | '(' | ')' | '\\') || c.is_control() {
                let mut buf = [0u8; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    hexb(s, b);
                }
            } else {
                s.push(c);
            }
        }
        for &b in chunk.invalid() {
            hexb(s, b);
        }
    }
}

fn attr(v: &[u8]) -> String {
    crate::text(v, 256)
}

/// Renders the filter element `t`; on malformed input the broken part shows as `?`
/// and the first problem is returned as the error.
pub(crate) fn render(t: &Tlv<'_>) -> (String, Option<String>) {
    let mut o = Out {
        s: String::new(),
        cut: false,
        error: None,
    };
    filter(&mut o, t, 0);
    (o.s, o.error)
}

fn value(o: &mut Out, a: &str, v: &[u8]) {
    if sensitive(a) {
        o.push(&format!("<hidden, {} bytes>", v.len()));
    } else {
        let mut s = String::new();
        push_escaped(&mut s, v, MAX_FILTER_LEN);
        o.push(&s);
    }
}

fn ava(o: &mut Out, val: &[u8], op: &str) {
    let mut c = Cur(val);
    let a = match c.expect(0x04, "attributeDesc") {
        Ok(a) => attr(a),
        Err(e) => return o.fail(e),
    };
    let v = match c.expect(0x04, "assertionValue") {
        Ok(v) => v,
        Err(e) => return o.fail(e),
    };
    o.push(&a);
    o.push(op);
    value(o, &a, v);
}

fn filter(o: &mut Out, t: &Tlv<'_>, depth: usize) {
    if depth >= MAX_FILTER_DEPTH {
        o.push("(…)");
        o.error
            .get_or_insert_with(|| format!("filter nested deeper than {MAX_FILTER_DEPTH}"));
        return;
    }
    if o.cut {
        return;
    }
    o.push("(");
    match t.ident {
        0xa0 | 0xa1 => {
            o.push(if t.ident == 0xa0 { "&" } else { "|" });
            let mut c = Cur(t.val);
            while !c.is_empty() && !o.cut {
                match c.next_tlv("filter") {
                    Ok(sub) => filter(o, &sub, depth + 1),
                    Err(e) => {
                        o.fail(e);
                        break;
                    }
                }
            }
        }
        0xa2 => {
            o.push("!");
            let mut c = Cur(t.val);
            match c.next_tlv("filter") {
                Ok(sub) => filter(o, &sub, depth + 1),
                Err(e) => o.fail(e),
            }
        }
        0xa3 => ava(o, t.val, "="),
        0xa5 => ava(o, t.val, ">="),
        0xa6 => ava(o, t.val, "<="),
        0xa8 => ava(o, t.val, "~="),
        0x87 => {
            o.push(&attr(t.val));
            o.push("=*");
        }
        0xa4 => substrings(o, t.val),
        0xa9 => extensible(o, t.val),
        x => o.fail(format!("unknown filter choice 0x{x:02x}")),
    }
    o.push(")");
}

fn substrings(o: &mut Out, val: &[u8]) {
    let mut c = Cur(val);
    let a = match c.expect(0x04, "substrings type") {
        Ok(a) => attr(a),
        Err(e) => return o.fail(e),
    };
    let subs = match c.expect(0x30, "substrings") {
        Ok(s) => s,
        Err(e) => return o.fail(e),
    };
    o.push(&a);
    o.push("=");
    let mut c = Cur(subs);
    let mut last_final = false;
    let mut first = true;
    while !c.is_empty() && !o.cut {
        let s = match c.next_tlv("substring") {
            Ok(s) => s,
            Err(e) => return o.fail(e),
        };
        match s.ident {
            // initial: value then `*`; it must be first (RFC 4511), rendered where found.
            0x80 => {
                if !first {
                    o.push("*");
                }
                value(o, &a, s.val);
            }
            0x81 => {
                o.push("*");
                value(o, &a, s.val);
            }
            0x82 => {
                o.push("*");
                value(o, &a, s.val);
                last_final = true;
            }
            x => return o.fail(format!("unknown substring choice 0x{x:02x}")),
        }
        first = false;
    }
    if !last_final {
        o.push("*");
    }
}

fn extensible(o: &mut Out, val: &[u8]) {
    let mut c = Cur(val);
    let mut rule = None;
    let mut ty = None;
    let mut mv = None;
    let mut dn = false;
    while !c.is_empty() {
        let t = match c.next_tlv("matchingRuleAssertion") {
            Ok(t) => t,
            Err(e) => return o.fail(e),
        };
        match t.ident {
            0x81 => rule = Some(attr(t.val)),
            0x82 => ty = Some(attr(t.val)),
            0x83 => mv = Some(t.val),
            0x84 => match boolean(t.val, "dnAttributes") {
                Ok(b) => dn = b,
                Err(e) => return o.fail(e),
            },
            x => return o.fail(format!("unknown matchingRuleAssertion field 0x{x:02x}")),
        }
    }
    let Some(mv) = mv else {
        return o.fail("matchingRuleAssertion: no matchValue".into());
    };
    let a = ty.unwrap_or_default();
    o.push(&a);
    if dn {
        o.push(":dn");
    }
    if let Some(r) = rule {
        o.push(":");
        o.push(&r);
    }
    o.push(":=");
    value(o, &a, mv);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(ident: u8, val: &[u8]) -> Vec<u8> {
        let mut v = vec![ident];
        if val.len() < 128 {
            v.push(val.len() as u8);
        } else {
            v.push(0x82);
            v.extend((val.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(val);
        v
    }
    fn ava_(tag: u8, a: &str, v: &[u8]) -> Vec<u8> {
        tlv(tag, &[tlv(4, a.as_bytes()), tlv(4, v)].concat())
    }
    fn r(b: &[u8]) -> (String, Option<String>) {
        let t = Cur(b).next_tlv("f").unwrap();
        render(&t)
    }

    #[test]
    fn and_equality() {
        let f = tlv(
            0xa0,
            &[
                ava_(0xa3, "objectClass", b"person"),
                ava_(0xa3, "uid", b"y"),
            ]
            .concat(),
        );
        assert_eq!(r(&f).0, "(&(objectClass=person)(uid=y))");
    }

    #[test]
    fn substrings_present_not_or() {
        let subs = tlv(0x30, &[tlv(0x80, b"ab"), tlv(0x81, b"c")].concat());
        let f = tlv(0xa4, &[tlv(4, b"cn"), subs].concat());
        assert_eq!(r(&f).0, "(cn=ab*c*)");
        let subs = tlv(0x30, &[tlv(0x81, b"x"), tlv(0x82, b"z")].concat());
        let f = tlv(0xa4, &[tlv(4, b"cn"), subs].concat());
        assert_eq!(r(&f).0, "(cn=*x*z)");
        assert_eq!(r(&tlv(0x87, b"cn")).0, "(cn=*)");
        let f = tlv(
            0xa1,
            &[
                tlv(0xa2, &tlv(0x87, b"a")),
                ava_(0xa5, "n", b"3"),
                ava_(0xa6, "n", b"9"),
                ava_(0xa8, "sn", b"x"),
            ]
            .concat(),
        );
        assert_eq!(r(&f).0, "(|(!(a=*))(n>=3)(n<=9)(sn~=x))");
        assert_eq!(r(&tlv(0xa0, &[])).0, "(&)", "RFC 4526 absolute true");
    }

    #[test]
    fn extensible_match() {
        let f = tlv(
            0xa9,
            &[
                tlv(0x81, b"2.5.13.5"),
                tlv(0x82, b"cn"),
                tlv(0x83, b"Fred"),
                tlv(0x84, &[0xff]),
            ]
            .concat(),
        );
        assert_eq!(r(&f).0, "(cn:dn:2.5.13.5:=Fred)");
        let f = tlv(
            0xa9,
            &[tlv(0x81, b"caseExactMatch"), tlv(0x83, b"x")].concat(),
        );
        assert_eq!(r(&f).0, "(:caseExactMatch:=x)");
        let f = tlv(0xa9, &[tlv(0x81, b"r")].concat());
        assert!(r(&f).1.is_some());
    }

    #[test]
    fn escaping() {
        // The RFC 4515 section 4 examples.
        assert_eq!(
            escape_value(b"Parens R Us (for all your parenthetical needs)"),
            "Parens R Us \\28for all your parenthetical needs\\29"
        );
        assert_eq!(escape_value(b"*"), "\\2a");
        assert_eq!(escape_value(b"C:\\MyFile"), "C:\\5cMyFile");
        assert_eq!(escape_value(&[0, 0, 0, 4]), "\\00\\00\\00\\04");
        assert_eq!(escape_value("Lučić".as_bytes()), "Lučić");
        assert_eq!(escape_value(&[0xc3, 0x9c, 0xff]), "Ü\\ff");
        let f = ava_(0xa3, "sn", b"a*b");
        assert_eq!(r(&f).0, "(sn=a\\2ab)");
    }

    #[test]
    fn passwords_hidden() {
        let f = ava_(0xa3, "userPassword", b"secret");
        assert_eq!(r(&f).0, "(userPassword=<hidden, 6 bytes>)");
        assert!(sensitive("unicodePwd;binary"));
    }

    #[test]
    fn malformed_and_deep() {
        let (s, e) = r(&tlv(0xa3, &tlv(4, b"cn")));
        assert_eq!(s, "(?)");
        assert!(e.is_some());
        let (_, e) = r(&tlv(0xaa, b""));
        assert!(e.is_some());
        let mut f = tlv(0x87, b"x");
        for _ in 0..100 {
            f = tlv(0xa2, &f);
        }
        let (s, e) = r(&f);
        assert!(s.contains("(…)"));
        assert!(e.unwrap().contains("deeper"));
    }

    #[test]
    fn long_output_capped() {
        let v = vec![b'*'; 10_000];
        let f = tlv(0xa3, &[tlv(4, b"cn"), tlv(4, &v)].concat());
        let (s, _) = r(&f);
        assert!(s.len() <= MAX_FILTER_LEN + 8);
        assert!(s.ends_with('…'));
    }
}
