//! ClientHello / ServerHello decoding (RFC 5246 7.4.1, RFC 8446 4.1), keeping the raw
//! code points in order for the fingerprints.

use crate::fingerprint;
use crate::names::{
    cipher_name, extension_name, group_name, is_grease, point_format_name, sigalg_name,
    version_name,
};
use crate::types::{ClientHello, Extension, ServerHello};

/// Entries kept per list of names (ciphers, extensions, groups...). Fingerprints are
/// computed over the whole lists.
pub const MAX_LIST: usize = 256;

/// SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The bounds-checked reader TLS vectors are read with.
pub(crate) use ks_proto::Reader as Rd;

fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

fn push_capped(v: &mut Vec<String>, s: String) {
    if v.len() < MAX_LIST {
        v.push(s);
    }
}

/// Raw code points of a ClientHello, for the fingerprints and the decryption.
#[derive(Clone, Debug, Default)]
pub struct RawClientHello {
    /// The version field.
    pub version: u16,
    /// client_random.
    pub random: [u8; 32],
    /// Cipher suites in order.
    pub ciphers: Vec<u16>,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// supported_groups in order.
    pub groups: Vec<u16>,
    /// ec_point_formats in order.
    pub point_formats: Vec<u8>,
    /// signature_algorithms in order.
    pub sigalgs: Vec<u16>,
    /// supported_versions in order.
    pub versions: Vec<u16>,
    /// First ALPN value.
    pub alpn_first: Option<Vec<u8>>,
    /// The legacy session id.
    pub session_id: Vec<u8>,
}

/// Decodes a ClientHello body. Never fails: what could not be read is marked `malformed`.
pub fn client_hello(body: &[u8]) -> (ClientHello, RawClientHello) {
    let mut ch = ClientHello::default();
    let mut raw = RawClientHello::default();
    if client_hello_inner(body, &mut ch, &mut raw).is_none() {
        ch.malformed = true;
    }
    (ch, raw)
}

fn client_hello_inner(body: &[u8], ch: &mut ClientHello, raw: &mut RawClientHello) -> Option<()> {
    let mut r = Rd::new(body);
    raw.version = r.u16()?;
    ch.legacy_version = version_name(raw.version);
    raw.random.copy_from_slice(r.take(32)?);
    let sid = r.vec(1)?;
    raw.session_id = sid.get(..32).unwrap_or(sid).to_vec();
    ch.session_id_len = sid.len().min(255) as u8;
    let ciphers = r.vec(2)?;
    for c in u16s(ciphers) {
        raw.ciphers.push(c);
        push_capped(&mut ch.cipher_suites, cipher_name(c));
    }
    let _compression = r.vec(1)?;
    if r.is_empty() {
        return Some(());
    }
    let mut exts = Rd::new(r.vec(2)?);
    while !exts.is_empty() {
        let id = exts.u16()?;
        let data = exts.vec(2)?;
        raw.extensions.push(id);
        if ch.extensions.len() < MAX_LIST {
            ch.extensions.push(Extension {
                id,
                name: extension_name(id),
            });
        }
        client_extension(id, data, ch, raw)?;
    }
    Some(())
}

fn client_extension(
    id: u16,
    data: &[u8],
    ch: &mut ClientHello,
    raw: &mut RawClientHello,
) -> Option<()> {
    let mut r = Rd::new(data);
    match id {
        0 => {
            let mut list = Rd::new(r.vec(2)?);
            while !list.is_empty() {
                let t = list.u8()?;
                let name = list.vec(2)?;
                if t == 0 && ch.sni.is_none() {
                    ch.sni = Some(crate::text(name, 255));
                }
            }
        }
        10 => {
            for g in u16s(r.vec(2)?) {
                raw.groups.push(g);
                push_capped(&mut ch.supported_groups, group_name(g));
            }
        }
        11 => {
            for &f in r.vec(1)? {
                raw.point_formats.push(f);
                push_capped(&mut ch.ec_point_formats, point_format_name(f));
            }
        }
        13 => {
            for s in u16s(r.vec(2)?) {
                raw.sigalgs.push(s);
                push_capped(&mut ch.signature_algorithms, sigalg_name(s));
            }
        }
        16 => {
            let mut list = Rd::new(r.vec(2)?);
            while !list.is_empty() {
                let p = list.vec(1)?;
                if raw.alpn_first.is_none() {
                    raw.alpn_first = Some(p.to_vec());
                }
                push_capped(&mut ch.alpn, crate::text(p, 255));
            }
        }
        35 => ch.session_ticket = !data.is_empty(),
        41 => ch.psk_offered = true,
        42 => ch.early_data = true,
        43 => {
            for v in u16s(r.vec(1)?) {
                raw.versions.push(v);
                push_capped(&mut ch.supported_versions, version_name(v));
            }
        }
        51 => {
            let mut list = Rd::new(r.vec(2)?);
            while !list.is_empty() {
                let g = list.u16()?;
                list.vec(2)?;
                push_capped(&mut ch.key_share_groups, group_name(g));
            }
        }
        _ => {}
    }
    Some(())
}

/// Raw code points of a ServerHello.
#[derive(Clone, Debug, Default)]
pub struct RawServerHello {
    /// The version field.
    pub version: u16,
    /// The selected version (supported_versions, else the version field).
    pub selected_version: u16,
    /// server_random.
    pub random: [u8; 32],
    /// The cipher suite.
    pub cipher: u16,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// The ALPN value selected.
    pub alpn: Option<Vec<u8>>,
    /// The legacy session id echoed.
    pub session_id: Vec<u8>,
    /// pre_shared_key was selected (TLS 1.3 resumption).
    pub psk: bool,
    /// encrypt_then_mac (22) was echoed.
    pub encrypt_then_mac: bool,
}

/// Decodes a ServerHello body (also a HelloRetryRequest: same layout). Never fails.
pub fn server_hello(body: &[u8]) -> (ServerHello, RawServerHello) {
    let mut sh = ServerHello::default();
    let mut raw = RawServerHello::default();
    if server_hello_inner(body, &mut sh, &mut raw).is_none() {
        sh.malformed = true;
    }
    if raw.selected_version == 0 {
        raw.selected_version = raw.version;
    }
    sh.version = version_name(raw.selected_version);
    (sh, raw)
}

fn server_hello_inner(body: &[u8], sh: &mut ServerHello, raw: &mut RawServerHello) -> Option<()> {
    let mut r = Rd::new(body);
    raw.version = r.u16()?;
    sh.legacy_version = version_name(raw.version);
    raw.random.copy_from_slice(r.take(32)?);
    sh.hello_retry_request = raw.random == HRR_RANDOM;
    // TLS 1.3 drafts before 22 had no legacy_session_id (nor compression).
    let draft = raw.version & 0xff00 == 0x7f00;
    if !draft {
        let sid = r.vec(1)?;
        raw.session_id = sid.get(..32).unwrap_or(sid).to_vec();
        sh.session_id_len = sid.len().min(255) as u8;
    }
    raw.cipher = r.u16()?;
    sh.cipher_suite = cipher_name(raw.cipher);
    if !draft {
        r.u8()?;
    }
    if r.is_empty() {
        return Some(());
    }
    let mut exts = Rd::new(r.vec(2)?);
    while !exts.is_empty() {
        let id = exts.u16()?;
        let data = exts.vec(2)?;
        raw.extensions.push(id);
        if sh.extensions.len() < MAX_LIST {
            sh.extensions.push(Extension {
                id,
                name: extension_name(id),
            });
        }
        let mut e = Rd::new(data);
        match id {
            16 => {
                let mut list = Rd::new(e.vec(2)?);
                let p = list.vec(1)?;
                raw.alpn = Some(p.to_vec());
                sh.alpn = Some(crate::text(p, 255));
            }
            22 => raw.encrypt_then_mac = true,
            41 => raw.psk = true,
            43 => raw.selected_version = e.u16()?,
            51 => sh.key_share_group = Some(group_name(e.u16()?)),
            _ => {}
        }
    }
    Some(())
}

/// Fingerprints of a ClientHello: (ja3_full, ja3, ja4).
pub fn client_fingerprints(raw: &RawClientHello, sni: bool) -> (String, String, String) {
    let full = fingerprint::ja3_string(
        raw.version,
        &raw.ciphers,
        &raw.extensions,
        &raw.groups,
        &raw.point_formats,
    );
    let ja3 = fingerprint::md5_hex(&full);
    let version = raw
        .versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(raw.version);
    let ja4 = fingerprint::ja4(
        't',
        version,
        sni,
        &raw.ciphers,
        &raw.extensions,
        raw.alpn_first.as_deref(),
        &raw.sigalgs,
    );
    (full, ja3, ja4)
}

/// Fingerprints of a ServerHello: (ja3s_full, ja3s, ja4s).
pub fn server_fingerprints(raw: &RawServerHello) -> (String, String, String) {
    let full = fingerprint::ja3s_string(raw.version, raw.cipher, &raw.extensions);
    let ja3s = fingerprint::md5_hex(&full);
    let ja4s = fingerprint::ja4s(
        't',
        raw.selected_version,
        raw.cipher,
        &raw.extensions,
        raw.alpn.as_deref(),
    );
    (full, ja3s, ja4s)
}
