//! JA3 / JA3S (Salesforce) and JA4 / JA4S (FoxIO) fingerprints.
//!
//! * JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`
//!   of the ClientHello, decimal values joined by `-`, GREASE values left out; the
//!   fingerprint is the MD5 of that string.
//! * JA3S: `SSLVersion,Cipher,Extensions` of the ServerHello, MD5 likewise.
//! * JA4 (`technical_details/JA4.md` of FoxIO-LLC/ja4):
//!   `t13d1516h2_8daaf6152771_e5627efa2ab1` — protocol, version (highest
//!   non-GREASE supported_versions entry, else the ClientHello version), `d`/`i` for
//!   SNI present or not, 2-digit cipher and extension counts (GREASE left out, capped
//!   at 99), first and last character of the first ALPN value; then the first 12 hex
//!   digits of SHA-256 of the sorted cipher list; then of the sorted extension list
//!   (without SNI 0000 and ALPN 0010) `_` the signature algorithms in their order.
//!   An empty hashed list is `000000000000`.
//! * JA4S (`technical_details/JA4S.md`): protocol, version, 2-digit extension count,
//!   ALPN chosen, `_` cipher in hex, `_` SHA-256[:12] of the extensions in order.

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::names::is_grease;

/// Lower-case hex MD5 of `s`.
pub fn md5_hex(s: &str) -> String {
    ks_proto::hex(&Md5::digest(s.as_bytes()))
}

/// First 12 lower-case hex digits of SHA-256 of `s`; `000000000000` when `s` is empty.
pub fn sha256_12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let mut h = ks_proto::hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn join_dec<T: ToString>(v: impl Iterator<Item = T>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

fn join_hex(v: impl Iterator<Item = u16>) -> String {
    v.map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(",")
}

/// The JA3 string of a ClientHello.
pub fn ja3_string(
    version: u16,
    ciphers: &[u16],
    extensions: &[u16],
    groups: &[u16],
    point_formats: &[u8],
) -> String {
    let ng = |v: &&u16| !is_grease(**v);
    format!(
        "{},{},{},{},{}",
        version,
        join_dec(ciphers.iter().filter(ng)),
        join_dec(extensions.iter().filter(ng)),
        join_dec(groups.iter().filter(ng)),
        join_dec(point_formats.iter()),
    )
}

/// The JA3S string of a ServerHello.
pub fn ja3s_string(version: u16, cipher: u16, extensions: &[u16]) -> String {
    format!(
        "{},{},{}",
        version,
        cipher,
        join_dec(extensions.iter().filter(|v| !is_grease(**v)))
    )
}

/// The 2-character JA4 version code.
pub fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// First and last character of an ALPN value, per JA4: `00` when absent or empty,
/// the hex form's first and last digits when either end is not alphanumeric.
pub fn ja4_alpn(alpn: Option<&[u8]>) -> String {
    let Some(a) = alpn.filter(|a| !a.is_empty()) else {
        return "00".into();
    };
    let (f, l) = (a[0], a[a.len() - 1]);
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        return format!("{}{}", f as char, l as char);
    }
    let h = ks_proto::hex(a);
    let hb = h.as_bytes();
    format!("{}{}", hb[0] as char, hb[hb.len() - 1] as char)
}

fn count2(n: usize) -> String {
    format!("{:02}", n.min(99))
}

/// JA4 of a ClientHello. `proto` is `t` (TCP), `q` (QUIC) or `d` (DTLS); `version`
/// the highest non-GREASE supported_versions entry, else the ClientHello version.
pub fn ja4(
    proto: char,
    version: u16,
    sni: bool,
    ciphers: &[u16],
    extensions: &[u16],
    alpn: Option<&[u8]>,
    sigalgs: &[u16],
) -> String {
    let mut cs: Vec<u16> = ciphers.iter().copied().filter(|c| !is_grease(*c)).collect();
    let exts: Vec<u16> = extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e))
        .collect();
    let a = format!(
        "{proto}{}{}{}{}{}",
        ja4_version(version),
        if sni { 'd' } else { 'i' },
        count2(cs.len()),
        count2(exts.len()),
        ja4_alpn(alpn)
    );
    cs.sort_unstable();
    let b = sha256_12(&join_hex(cs.into_iter()));
    let mut es: Vec<u16> = exts.into_iter().filter(|e| *e != 0 && *e != 0x10).collect();
    es.sort_unstable();
    let c = if es.is_empty() {
        "000000000000".to_string()
    } else {
        let mut s = join_hex(es.into_iter());
        let sa: Vec<u16> = sigalgs.iter().copied().filter(|s| !is_grease(*s)).collect();
        if !sa.is_empty() {
            s.push('_');
            s.push_str(&join_hex(sa.into_iter()));
        }
        sha256_12(&s)
    };
    format!("{a}_{b}_{c}")
}

/// JA4S of a ServerHello (`version` is the selected one).
pub fn ja4s(
    proto: char,
    version: u16,
    cipher: u16,
    extensions: &[u16],
    alpn: Option<&[u8]>,
) -> String {
    let exts: Vec<u16> = extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e))
        .collect();
    format!(
        "{proto}{}{}{}_{cipher:04x}_{}",
        ja4_version(version),
        count2(exts.len()),
        ja4_alpn(alpn),
        sha256_12(&join_hex(exts.into_iter()))
    )
}
