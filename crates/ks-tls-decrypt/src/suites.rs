//! The cipher suites this crate can decrypt, and the names of some it cannot.

/// A hash function, as a cipher suite uses it (PRF / HKDF hash, or CBC record MAC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1 (20 bytes): only as the HMAC of `*_CBC_SHA` suites.
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-384 (48 bytes).
    Sha384,
}

impl HashAlg {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// The bulk cipher of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BulkCipher {
    /// AES-128 in GCM mode (AEAD, 16-byte tag).
    Aes128Gcm,
    /// AES-256 in GCM mode (AEAD, 16-byte tag).
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439, AEAD, 16-byte tag).
    ChaCha20Poly1305,
    /// AES-128 in CBC mode, with an HMAC ([`SuiteInfo::mac`]).
    Aes128Cbc,
    /// AES-256 in CBC mode, with an HMAC ([`SuiteInfo::mac`]).
    Aes256Cbc,
}

impl BulkCipher {
    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            BulkCipher::Aes128Gcm | BulkCipher::Aes128Cbc => 16,
            BulkCipher::Aes256Gcm | BulkCipher::ChaCha20Poly1305 | BulkCipher::Aes256Cbc => 32,
        }
    }

    /// True for the AEAD ciphers (GCM, ChaCha20-Poly1305).
    pub const fn is_aead(self) -> bool {
        !matches!(self, BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc)
    }
}

/// Facts about a cipher suite this crate can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteInfo {
    /// IANA cipher suite number, e.g. `0x1301`.
    pub id: u16,
    /// IANA name, e.g. `"TLS_AES_128_GCM_SHA256"`.
    pub name: &'static str,
    /// True for the TLS 1.3 suites (keys from traffic secrets with HKDF).
    pub tls13: bool,
    /// The record cipher.
    pub cipher: BulkCipher,
    /// The record MAC of a CBC suite; `None` for AEAD suites.
    pub mac: Option<HashAlg>,
    /// Hash of the TLS 1.2 PRF (SHA-256, or SHA-384 for `*_SHA384` suites), or of
    /// HKDF for TLS 1.3. TLS 1.0/1.1 always use their MD5+SHA-1 PRF instead.
    pub prf: HashAlg,
}

impl SuiteInfo {
    /// Length of the implicit IV taken from the key block / traffic secret:
    /// 4 (GCM salt, TLS 1.2), 12 (ChaCha20 in 1.2, every TLS 1.3 suite) or
    /// 16 (CBC; only used as the first IV by TLS 1.0).
    pub const fn fixed_iv_len(&self) -> usize {
        if self.tls13 {
            return 12;
        }
        match self.cipher {
            BulkCipher::Aes128Gcm | BulkCipher::Aes256Gcm => 4,
            BulkCipher::ChaCha20Poly1305 => 12,
            BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => 16,
        }
    }

    /// Length of the record MAC key (0 for AEAD suites).
    pub const fn mac_key_len(&self) -> usize {
        match self.mac {
            Some(h) => h.output_len(),
            None => 0,
        }
    }
}

use BulkCipher::*;
use HashAlg::*;

const fn s(
    id: u16,
    name: &'static str,
    cipher: BulkCipher,
    mac: Option<HashAlg>,
    prf: HashAlg,
) -> SuiteInfo {
    SuiteInfo {
        id,
        name,
        tls13: matches!(id, 0x1301..=0x1303),
        cipher,
        mac,
        prf,
    }
}

/// Every suite [`suite_info`] knows, in IANA number order.
#[rustfmt::skip]
pub const SUITES: &[SuiteInfo] = &[
    s(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", Aes256Cbc, Some(Sha256), Sha256),
    s(0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", Aes256Cbc, Some(Sha256), Sha256),
    s(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", Aes256Cbc, Some(Sha256), Sha256),
    s(0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0x1301, "TLS_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0x1302, "TLS_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", Aes256Cbc, Some(Sha384), Sha384),
    s(0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", Aes256Cbc, Some(Sha384), Sha384),
    s(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", Aes256Cbc, Some(Sha384), Sha384),
    s(0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", Aes256Cbc, Some(Sha384), Sha384),
    s(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, None, Sha256),
    s(0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, None, Sha384),
    s(0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", Aes128Cbc, Some(Sha1), Sha256),
    s(0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", Aes256Cbc, Some(Sha1), Sha256),
    s(0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", Aes128Cbc, Some(Sha256), Sha256),
    s(0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", Aes256Cbc, Some(Sha384), Sha384),
    s(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
    s(0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, None, Sha256),
];

/// Facts about suite `id`, or `None` when this crate cannot decrypt it
/// (see [`suite_name`] for a name anyway).
pub fn suite_info(id: u16) -> Option<SuiteInfo> {
    SUITES
        .binary_search_by_key(&id, |s| s.id)
        .ok()
        .and_then(|i| SUITES.get(i).copied())
}

/// Well-known suites this crate cannot decrypt, for error messages.
#[rustfmt::skip]
const UNSUPPORTED_NAMES: &[(u16, &str)] = &[
    (0x0000, "TLS_NULL_WITH_NULL_NULL"),
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC09C, "TLS_RSA_WITH_AES_128_CCM"),
    (0xC09D, "TLS_RSA_WITH_AES_256_CCM"),
    (0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
];

/// IANA name of suite `id` if this crate knows it (decryptable or not).
pub fn suite_name(id: u16) -> Option<&'static str> {
    suite_info(id).map(|s| s.name).or_else(|| {
        UNSUPPORTED_NAMES
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| *n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_consistent() {
        for w in SUITES.windows(2) {
            assert!(
                w[0].id < w[1].id,
                "{:#06x} before {:#06x}",
                w[0].id,
                w[1].id
            );
        }
        for s in SUITES {
            assert_eq!(s.cipher.is_aead(), s.mac.is_none(), "{}", s.name);
            assert_eq!(s.tls13, !s.name.contains("_WITH_"), "{}", s.name);
            if s.name.ends_with("SHA384") {
                assert_eq!(s.prf, HashAlg::Sha384, "{}", s.name);
            } else {
                assert_eq!(s.prf, HashAlg::Sha256, "{}", s.name);
            }
            let key_bits = if s.name.contains("AES_128") { 16 } else { 32 };
            assert_eq!(s.cipher.key_len(), key_bits, "{}", s.name);
            assert_eq!(
                s.cipher == ChaCha20Poly1305,
                s.name.contains("CHACHA20"),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn lookups() {
        let s = suite_info(0x1301).unwrap();
        assert_eq!(
            (s.name, s.tls13, s.cipher, s.fixed_iv_len()),
            ("TLS_AES_128_GCM_SHA256", true, Aes128Gcm, 12)
        );
        let s = suite_info(0xC030).unwrap();
        assert_eq!(
            (s.tls13, s.prf, s.fixed_iv_len(), s.mac_key_len()),
            (false, Sha384, 4, 0)
        );
        let s = suite_info(0xC013).unwrap();
        assert_eq!(
            (s.mac, s.fixed_iv_len(), s.mac_key_len()),
            (Some(Sha1), 16, 20)
        );
        assert_eq!(suite_info(0x1304), None);
        assert_eq!(suite_name(0x1304), Some("TLS_AES_128_CCM_SHA256"));
        assert_eq!(
            suite_name(0xCCA8),
            Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
        );
        assert_eq!(suite_name(0x7777), None);
    }
}
