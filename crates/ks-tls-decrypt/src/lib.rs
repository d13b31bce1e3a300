//! Decrypts TLS records with the secrets of an NSS key log (`SSLKEYLOGFILE`, the file
//! Wireshark's `tls.keylog_file` reads): TLS 1.3 (AES-GCM, ChaCha20-Poly1305) and
//! TLS 1.0-1.2 (AES-GCM, ChaCha20-Poly1305, AES-CBC with HMAC-SHA1/256/384).
//!
//! Pure: no I/O, no async, no `unsafe`; the ciphers are the RustCrypto crates.
//! It decrypts records; finding them (record layer, ClientHello/ServerHello for the
//! randoms, suite and extensions) is the caller's job (`ks-proto-tls`).
//!
//! ```
//! use ks_tls_decrypt::{KeyLog, RecordDecrypter};
//!
//! fn unhex(s: &str) -> Vec<u8> {
//!     let s: String = s.split_whitespace().collect();
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//! // RFC 8448 section 3: the client's application traffic secret, as a key log line
//! // (the client random is the ClientHello's), and its first application data record.
//! let log = KeyLog::parse(
//!     "CLIENT_TRAFFIC_SECRET_0 \
//!      cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 \
//!      9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5\n",
//! );
//! let random: [u8; 32] = unhex("cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7")
//!     .try_into()
//!     .unwrap();
//! let secret = log.get(&random).unwrap().client_traffic_0.as_ref().unwrap();
//! let record = unhex(
//!     "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66
//!      bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70
//!      14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4",
//! );
//! let mut dec = RecordDecrypter::tls13(0x1301, secret)?; // TLS_AES_128_GCM_SHA256
//! let mut plain = Vec::new();
//! let inner_type = dec.decrypt(record[0], u16::from_be_bytes([record[1], record[2]]), &record[5..], &mut plain)?;
//! assert_eq!(inner_type, 23); // application_data
//! assert_eq!(plain, (0u8..50).collect::<Vec<u8>>());
//! assert_eq!(dec.sequence(), 1);
//! # Ok::<(), ks_tls_decrypt::DecryptError>(())
//! ```
//!
//! See `docs/tls-decryption.md` for the key derivations, sequence numbers, what a
//! wrong or missing key does, and what is not supported.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod kdf;
mod keylog;
mod record;
mod suites;

use std::fmt;

pub use kdf::{hkdf_expand_label, tls10_prf, tls12_prf};
pub use keylog::{KeyLog, Secrets};
pub use record::{RecordDecrypter, MAX_PAYLOAD};
pub use suites::{suite_info, suite_name, BulkCipher, HashAlg, SuiteInfo, SUITES};

/// Which side wrote the records a decrypter handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client (the ClientHello's sender).
    Client,
    /// The server.
    Server,
}

impl Side {
    /// The side that writes bytes flowing in `dir` (`ToServer` is written by the client).
    pub fn writer_of(dir: ks_proto::Direction) -> Side {
        match dir {
            ks_proto::Direction::ToServer => Side::Client,
            ks_proto::Direction::ToClient => Side::Server,
        }
    }
}

/// Why a record (or a decrypter) could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The cipher suite (IANA number) is one this crate cannot decrypt.
    UnsupportedSuite(u16),
    /// A secret of the wrong length, or keys that cannot be derived from it.
    BadSecret(&'static str),
    /// The AEAD tag, CBC padding or CBC MAC did not verify for the record with this
    /// sequence number: the key is wrong (another session's, or the wrong direction /
    /// epoch), or the record was damaged or a record before it was lost.
    AuthFailed {
        /// Sequence number the record was decrypted with.
        seq: u64,
    },
    /// The record cannot be a protected record of this suite (too short, too long,
    /// not whole blocks...) or the request makes no sense (e.g. KeyUpdate in TLS 1.2).
    Malformed(&'static str),
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::UnsupportedSuite(id) => {
                write!(f, "cannot decrypt cipher suite 0x{id:04x}")?;
                if let Some(name) = suite_name(*id) {
                    write!(f, " ({name})")?;
                }
                f.write_str(": only AES-GCM, ChaCha20-Poly1305 and AES-CBC (HMAC-SHA1/256/384) suites are supported")
            }
            DecryptError::BadSecret(why) => write!(f, "unusable TLS secret: {why}; check the key log file"),
            DecryptError::AuthFailed { seq } => write!(
                f,
                "TLS record {seq} failed authentication: the key log secret does not match this session \
                 or direction, or capture data was lost before or in this record"
            ),
            DecryptError::Malformed(why) => write!(f, "malformed TLS record: {why}"),
        }
    }
}

impl std::error::Error for DecryptError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_messages() {
        assert_eq!(
            DecryptError::UnsupportedSuite(0x1304).to_string(),
            "cannot decrypt cipher suite 0x1304 (TLS_AES_128_CCM_SHA256): only AES-GCM, ChaCha20-Poly1305 and AES-CBC (HMAC-SHA1/256/384) suites are supported"
        );
        assert!(DecryptError::UnsupportedSuite(0x7777)
            .to_string()
            .starts_with("cannot decrypt cipher suite 0x7777: "));
        assert!(DecryptError::AuthFailed { seq: 3 }
            .to_string()
            .contains("record 3"));
        assert_eq!(
            DecryptError::Malformed("x").to_string(),
            "malformed TLS record: x"
        );
        assert!(DecryptError::BadSecret("y")
            .to_string()
            .contains("y; check the key log"));
    }

    #[test]
    fn side_of_direction() {
        assert_eq!(Side::writer_of(ks_proto::Direction::ToServer), Side::Client);
        assert_eq!(Side::writer_of(ks_proto::Direction::ToClient), Side::Server);
    }
}
