//! AVP walking and value rendering (RFC 6733 section 4).

use std::net::{Ipv4Addr, Ipv6Addr};

use ks_proto::hex;
use serde::Serialize;

use crate::dict::{self, Kind};
use crate::{MAX_AVPS, MAX_DEPTH, MAX_VALUE_BYTES};

/// AVP flag bits (RFC 6733 section 4.1).
pub const AVP_FLAG_VENDOR: u8 = 0x80;
/// Mandatory.
pub const AVP_FLAG_MANDATORY: u8 = 0x40;
/// Protected (end-to-end security, deprecated by RFC 6733 but still on the wire).
pub const AVP_FLAG_PROTECTED: u8 = 0x20;

/// One AVP.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Avp {
    /// AVP code.
    pub code: u32,
    /// Name from the dictionary; `Unknown` for AVPs not in it (the value is then hex).
    pub name: &'static str,
    /// Raw flag byte (V 0x80, M 0x40, P 0x20).
    pub flags: u8,
    /// Vendor id, present when the V flag is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// AVP length from its header (header and data, padding excluded).
    pub length: u32,
    /// Data type (`UTF8String`, `Unsigned32`, `Grouped`...; `Unknown` when not in the
    /// dictionary).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Rendered value: text, a number (`1 (INITIAL_REQUEST)` when the value has a
    /// name), an address, an RFC 3339 time, or hex. `None` for grouped AVPs, whose
    /// content is in `avps`. Values longer than `MAX_VALUE_BYTES` are cut
    /// (`… (N bytes)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Children of a grouped AVP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub avps: Vec<Avp>,
    /// What could not be read (bad length, data of the wrong size, nesting too deep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Avp {
    /// The M flag.
    pub fn mandatory(&self) -> bool {
        self.flags & AVP_FLAG_MANDATORY != 0
    }

    /// First child named `name` (grouped AVPs).
    pub fn child(&self, name: &str) -> Option<&Avp> {
        self.avps.iter().find(|a| a.name == name)
    }
}

/// What the walk found besides the tree: the header-level facts of the message.
#[derive(Default)]
pub(crate) struct Walk {
    pub avps: Vec<Avp>,
    /// AVPs met (all levels), kept or not.
    pub count: usize,
    /// AVPs kept (all levels); at most `MAX_AVPS`.
    pub kept: usize,
    pub truncated: bool,
    pub error: Option<String>,
    pub session_id: Option<String>,
    pub origin_host: Option<String>,
    pub origin_realm: Option<String>,
    pub result_code: Option<u32>,
    pub experimental: Option<(u32, u32)>,
    pub cc_request_type: Option<u32>,
    pub error_message: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// One AVP header at the start of `b`: (code, flags, length, vendor, data, bytes to
/// the next AVP). `Err` says why it cannot be read.
#[allow(clippy::type_complexity)]
fn header(b: &[u8]) -> Result<(u32, u8, u32, Option<u32>, &[u8], usize), String> {
    let (Some(code), Some(fl)) = (be32(b, 0), be32(b, 4)) else {
        return Err(format!("AVP header cut short ({} bytes left)", b.len()));
    };
    let flags = (fl >> 24) as u8;
    let len = fl & 0x00ff_ffff;
    let hdr = if flags & AVP_FLAG_VENDOR != 0 { 12 } else { 8 };
    let n = len as usize;
    if n < hdr || n > b.len() {
        return Err(format!(
            "AVP {code} length {len} does not fit ({} bytes left)",
            b.len()
        ));
    }
    let vendor = (hdr == 12).then(|| be32(b, 8)).flatten();
    // The padding of the last AVP is sometimes left out: tolerate a short tail.
    let next = n.saturating_add(3) & !3;
    Ok((code, flags, len, vendor, &b[hdr..n], next.min(b.len())))
}

/// Text of a UTF8String / DiameterIdentity: the text when valid UTF-8, else hex.
pub(crate) fn text(v: &[u8]) -> String {
    let cut = v.len().min(MAX_VALUE_BYTES);
    let mut s = match std::str::from_utf8(v) {
        Ok(s) => {
            let mut end = cut;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_string()
        }
        Err(_) => hex(&v[..cut]),
    };
    if cut < v.len() {
        s.push_str(&format!("… ({} bytes)", v.len()));
    }
    s
}

fn hex_capped(v: &[u8]) -> String {
    let cut = v.len().min(MAX_VALUE_BYTES);
    let mut s = hex(&v[..cut]);
    if cut < v.len() {
        s.push_str(&format!("… ({} bytes)", v.len()));
    }
    s
}

fn printable(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|&c| (0x20..0x7f).contains(&c))
}

fn named(n: u64, name: Option<&str>) -> String {
    match name {
        Some(s) => format!("{n} ({s})"),
        None => n.to_string(),
    }
}

/// Renders the data of a non-grouped AVP; `Err` when its size does not fit its type.
fn render(vendor: u32, code: u32, kind: Kind, v: &[u8]) -> Result<String, String> {
    let fixed = |n: usize| -> Result<(), String> {
        if v.len() == n {
            Ok(())
        } else {
            Err(format!("{} of {} bytes", kind.name(), v.len()))
        }
    };
    Ok(match kind {
        Kind::Octets if printable(v) => text(v),
        Kind::Octets => hex_capped(v),
        Kind::Utf8 | Kind::Ident | Kind::Uri | Kind::Filter => text(v),
        Kind::U32 | Kind::Enum | Kind::I32 => {
            fixed(4)?;
            let n = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
            if kind == Kind::I32 {
                (n as i32).to_string()
            } else {
                named(u64::from(n), dict::value_name(vendor, code, n))
            }
        }
        Kind::U64 | Kind::I64 => {
            fixed(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(v);
            if kind == Kind::I64 {
                i64::from_be_bytes(a).to_string()
            } else {
                u64::from_be_bytes(a).to_string()
            }
        }
        Kind::Addr => address(v)?,
        Kind::Time => {
            fixed(4)?;
            ntp_to_rfc3339(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        }
        // Grouped data is walked, never rendered: only reached past the depth cap.
        Kind::Grouped => hex_capped(v),
    })
}

/// Address: a 2-byte IANA address family then the address (RFC 6733 section 4.3.1).
fn address(v: &[u8]) -> Result<String, String> {
    let (fam, a) = match v {
        [h, l, rest @ ..] => (u16::from_be_bytes([*h, *l]), rest),
        _ => return Err(format!("Address of {} bytes", v.len())),
    };
    Ok(match (fam, a.len()) {
        (1, 4) => Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
        (2, 16) => {
            let mut o = [0u8; 16];
            o.copy_from_slice(a);
            Ipv6Addr::from(o).to_string()
        }
        _ => format!("family {fam}: {}", hex_capped(a)),
    })
}

/// An NTP-era timestamp (seconds since 1900, RFC 6733 section 4.3.1: values with the
/// top bit clear are in the next era, from 2036) as RFC 3339 UTC.
pub fn ntp_to_rfc3339(v: u32) -> String {
    const NTP_TO_UNIX: i64 = 2_208_988_800;
    let mut secs = i64::from(v) - NTP_TO_UNIX;
    if v & 0x8000_0000 == 0 {
        secs += 1 << 32;
    }
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Days to civil date (H. Hinnant's algorithm), exact for the whole u32 range.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

impl Walk {
    /// Walks the AVPs of `b` (a message body or a grouped AVP's data) at `depth`,
    /// pushing what is kept to `out` (`None`: count only, past the cap).
    fn walk(&mut self, b: &[u8], depth: usize, mut out: Option<&mut Vec<Avp>>) -> Option<String> {
        let mut rest = b;
        while !rest.is_empty() {
            let (code, flags, length, vendor, data, next) = match header(rest) {
                Ok(h) => h,
                Err(e) => return Some(e),
            };
            rest = &rest[next..];
            self.count += 1;
            if depth == 0 && vendor.is_none() {
                self.fact(code, data);
            }
            let vend = vendor.unwrap_or(0);
            let entry = dict::avp(vend, code);
            let grouped = matches!(entry, Some((_, Kind::Grouped)));
            let keep = match out.as_deref_mut() {
                Some(_) if self.kept < MAX_AVPS => true,
                Some(_) => {
                    self.truncated = true;
                    false
                }
                None => false,
            };
            if !keep {
                if grouped && depth + 1 < MAX_DEPTH {
                    let _ = self.walk(data, depth + 1, None);
                }
                continue;
            }
            self.kept += 1;
            let mut avp = Avp {
                code,
                name: entry.map_or("Unknown", |e| e.0),
                flags,
                vendor_id: vendor,
                length,
                kind: entry.map_or("Unknown", |e| e.1.name()),
                value: None,
                avps: Vec::new(),
                error: None,
            };
            match entry {
                None => avp.value = Some(hex_capped(data)),
                Some((_, Kind::Grouped)) if depth + 1 >= MAX_DEPTH => {
                    avp.value = Some(hex_capped(data));
                    avp.error = Some(format!("grouped AVPs nested deeper than {MAX_DEPTH}"));
                }
                Some((_, Kind::Grouped)) => {
                    let mut kids = Vec::new();
                    avp.error = self.walk(data, depth + 1, Some(&mut kids));
                    avp.avps = kids;
                }
                Some((_, kind)) => match render(vend, code, kind, data) {
                    Ok(s) => avp.value = Some(s),
                    Err(e) => {
                        avp.value = Some(hex_capped(data));
                        avp.error = Some(e);
                    }
                },
            }
            if let (None, Some(e)) = (&self.error, &avp.error) {
                self.error = Some(format!("AVP {code}: {e}"));
            }
            if let Some(o) = out.as_deref_mut() {
                o.push(avp);
            }
        }
        None
    }

    /// Header-level facts from base AVPs at the top level.
    fn fact(&mut self, code: u32, data: &[u8]) {
        let num = || be32(data, 0).filter(|_| data.len() == 4);
        match code {
            263 => self.session_id = self.session_id.take().or_else(|| Some(text(data))),
            264 => self.origin_host = self.origin_host.take().or_else(|| Some(text(data))),
            296 => self.origin_realm = self.origin_realm.take().or_else(|| Some(text(data))),
            268 => self.result_code = self.result_code.or_else(num),
            416 => self.cc_request_type = self.cc_request_type.or_else(num),
            281 => self.error_message = self.error_message.take().or_else(|| Some(text(data))),
            297 if self.experimental.is_none() => {
                // Vendor-Id and Experimental-Result-Code inside; read without the tree
                // so that it is known even past the AVP cap.
                let (mut vendor, mut rc) = (None, None);
                let mut rest = data;
                while let Ok((c, _, _, v, d, next)) = header(rest) {
                    rest = &rest[next..];
                    let n = be32(d, 0).filter(|_| d.len() == 4);
                    match (c, v) {
                        (266, None) => vendor = vendor.or(n),
                        (298, None) => rc = rc.or(n),
                        _ => {}
                    }
                    if rest.is_empty() {
                        break;
                    }
                }
                if let Some(rc) = rc {
                    self.experimental = Some((vendor.unwrap_or(0), rc));
                }
            }
            _ => {}
        }
    }
}

/// Walks a message body (the bytes after the 20-byte header).
pub(crate) fn walk_body(b: &[u8]) -> Walk {
    let mut w = Walk::default();
    let mut avps = Vec::new();
    let err = w.walk(b, 0, Some(&mut avps));
    w.avps = avps;
    if let Some(e) = err {
        w.error = Some(e);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_times() {
        // Event-Timestamp of ndpi_diameter.pcap frame 1 (tshark: Jan 12, 2010 06:47:58 UTC).
        assert_eq!(ntp_to_rfc3339(0xcef6_999e), "2010-01-12T06:47:58Z");
        assert_eq!(ntp_to_rfc3339(2_208_988_800), "1970-01-01T00:00:00Z");
        assert_eq!(ntp_to_rfc3339(0x8000_0000), "1968-01-20T03:14:08Z");
        // Era 1: 2036-02-07T06:28:16Z is 0.
        assert_eq!(ntp_to_rfc3339(0), "2036-02-07T06:28:16Z");
        assert_eq!(ntp_to_rfc3339(0x7fff_ffff), "2104-02-26T09:42:23Z");
    }

    #[test]
    fn addresses() {
        assert_eq!(address(&[0, 1, 10, 0, 0, 1]).unwrap(), "10.0.0.1");
        let mut v6 = vec![0, 2];
        v6.extend([0u8; 15]);
        v6.push(1);
        assert_eq!(address(&v6).unwrap(), "::1");
        assert_eq!(address(&[0, 9, 1]).unwrap(), "family 9: 01");
        assert!(address(&[1]).is_err());
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let s = "é".repeat(MAX_VALUE_BYTES);
        let t = text(s.as_bytes());
        assert!(t.ends_with(&format!("… ({} bytes)", s.len())));
    }
}
