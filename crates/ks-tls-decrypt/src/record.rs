//! Record decryption: AEAD (GCM, ChaCha20-Poly1305) for TLS 1.2 and 1.3, AES-CBC with
//! HMAC (MAC-then-encrypt, or encrypt-then-MAC per RFC 7366) for TLS 1.0-1.2.

use std::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::aead::KeyInit;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, InnerIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use crate::kdf::{hkdf_expand_label, tls10_prf, tls12_prf};
use crate::{suite_info, BulkCipher, DecryptError, HashAlg, Side, SuiteInfo};

/// Largest record payload accepted: 2^14 + 2048 (RFC 5246 `TLSCiphertext.length` cap).
pub const MAX_PAYLOAD: usize = (1 << 14) + 2048;

const TAG_LEN: usize = 16;
const AES_BLOCK: usize = 16;
const APPLICATION_DATA: u8 = 23;

enum Aead {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Aead {
    fn new(cipher: BulkCipher, key: &[u8]) -> Result<Aead, DecryptError> {
        let bad = |_| DecryptError::BadSecret("derived key has the wrong length for the cipher");
        Ok(match cipher {
            BulkCipher::Aes128Gcm => {
                Aead::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad)?))
            }
            BulkCipher::Aes256Gcm => {
                Aead::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad)?))
            }
            BulkCipher::ChaCha20Poly1305 => Aead::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).map_err(bad)?,
            )),
            BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => {
                return Err(DecryptError::BadSecret("CBC cipher used as AEAD"))
            }
        })
    }

    /// Decrypts `buf` in place; false when the tag does not verify.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let nonce = aes_gcm::Nonce::from(*nonce);
        let tag = aes_gcm::Tag::from(*tag);
        match self {
            Aead::Aes128(c) => c.decrypt_in_place_detached(&nonce, aad, buf, &tag).is_ok(),
            Aead::Aes256(c) => c.decrypt_in_place_detached(&nonce, aad, buf, &tag).is_ok(),
            Aead::ChaCha(c) => c.decrypt_in_place_detached(&nonce, aad, buf, &tag).is_ok(),
        }
    }
}

#[derive(Clone)]
enum AesKey {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl AesKey {
    fn new(cipher: BulkCipher, key: &[u8]) -> Result<AesKey, DecryptError> {
        let bad = |_| DecryptError::BadSecret("derived key has the wrong length for the cipher");
        Ok(match cipher {
            BulkCipher::Aes128Cbc => {
                AesKey::A128(Box::new(aes::Aes128::new_from_slice(key).map_err(bad)?))
            }
            BulkCipher::Aes256Cbc => {
                AesKey::A256(Box::new(aes::Aes256::new_from_slice(key).map_err(bad)?))
            }
            _ => return Err(DecryptError::BadSecret("AEAD cipher used as CBC")),
        })
    }

    /// CBC-decrypts `buf` (a multiple of 16 bytes) in place.
    fn cbc_decrypt(&self, iv: &[u8; AES_BLOCK], buf: &mut [u8]) -> bool {
        let iv = (*iv).into();
        match self {
            AesKey::A128(k) => cbc::Decryptor::<aes::Aes128>::inner_iv_init((**k).clone(), &iv)
                .decrypt_padded_mut::<NoPadding>(buf)
                .is_ok(),
            AesKey::A256(k) => cbc::Decryptor::<aes::Aes256>::inner_iv_init((**k).clone(), &iv)
                .decrypt_padded_mut::<NoPadding>(buf)
                .is_ok(),
        }
    }
}

#[derive(Clone)]
enum MacKey {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
}

impl MacKey {
    fn new(hash: HashAlg, key: &[u8]) -> Result<MacKey, DecryptError> {
        let bad = |_| DecryptError::BadSecret("HMAC key rejected");
        Ok(match hash {
            HashAlg::Sha1 => MacKey::Sha1(<Hmac<Sha1> as Mac>::new_from_slice(key).map_err(bad)?),
            HashAlg::Sha256 => {
                MacKey::Sha256(<Hmac<Sha256> as Mac>::new_from_slice(key).map_err(bad)?)
            }
            HashAlg::Sha384 => {
                MacKey::Sha384(<Hmac<Sha384> as Mac>::new_from_slice(key).map_err(bad)?)
            }
        })
    }

    fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        fn go<M: Mac + Clone>(m: &M, parts: &[&[u8]], tag: &[u8]) -> bool {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.verify_slice(tag).is_ok()
        }
        match self {
            MacKey::Sha1(m) => go(m, parts, tag),
            MacKey::Sha256(m) => go(m, parts, tag),
            MacKey::Sha384(m) => go(m, parts, tag),
        }
    }
}

struct Cbc {
    aes: AesKey,
    mac: MacKey,
    mac_len: usize,
    encrypt_then_mac: bool,
    /// TLS 1.0: the IV of the next record is the last ciphertext block of the previous
    /// one (the first from the key block). TLS 1.1+ send an explicit IV per record.
    chained_iv: Option<[u8; AES_BLOCK]>,
}

enum Engine {
    Aead(Aead),
    Cbc(Box<Cbc>),
}

/// Decrypts the records one side writes, in order, keeping the sequence number.
///
/// One decrypter per direction and key epoch: for TLS 1.3 a handshake one (from
/// `*_HANDSHAKE_TRAFFIC_SECRET`) and then an application one (`*_TRAFFIC_SECRET_0`,
/// advanced with [`RecordDecrypter::key_update`]); for TLS 1.2 one per side from the
/// master secret, used from that side's ChangeCipherSpec on.
///
/// Every protected record the caller passes to [`RecordDecrypter::decrypt`] consumes one
/// sequence number, whatever the outcome (success, `AuthFailed` or `Malformed`): the
/// writer numbered it, so a record that fails to decrypt (data lost or damaged in the
/// capture) must not shift the nonces of all the records after it. The one exception
/// is a TLS 1.3 record whose outer type is not application_data (23): it is not
/// protected (e.g. a middlebox-compatibility ChangeCipherSpec), is rejected as
/// `Malformed` and does not consume a number.
pub struct RecordDecrypter {
    suite: SuiteInfo,
    engine: Engine,
    /// TLS 1.3 and ChaCha20 (1.2): the 12-byte IV XORed with the sequence number;
    /// GCM in TLS 1.2: the 4-byte salt in the first bytes.
    iv: [u8; 12],
    seq: u64,
    /// TLS 1.3 only: the current traffic secret, for KeyUpdate.
    traffic_secret: Option<Vec<u8>>,
}

impl fmt::Debug for RecordDecrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.engine {
            Engine::Aead(_) => "aead",
            Engine::Cbc(c) if c.encrypt_then_mac => "cbc encrypt-then-mac",
            Engine::Cbc(_) => "cbc mac-then-encrypt",
        };
        f.debug_struct("RecordDecrypter")
            .field("suite", &self.suite.name)
            .field("mode", &mode)
            .field("sequence", &self.seq)
            .finish_non_exhaustive()
    }
}

impl RecordDecrypter {
    /// TLS 1.0, 1.1 and 1.2: derives the key block from the master secret with the
    /// PRF (TLS 1.2: the suite's hash, SHA-256 or SHA-384; TLS 1.0/1.1: MD5+SHA-1) and
    /// keeps `side`'s write keys. `encrypt_then_mac` is whether the ServerHello accepted
    /// the encrypt_then_mac extension (RFC 7366; only matters for CBC suites).
    ///
    /// Errors: `UnsupportedSuite` for suites this crate cannot decrypt (and TLS 1.3
    /// suites), `BadSecret` for a master secret that is not 48 bytes, `Malformed` for
    /// a version that is not TLS 1.0-1.2 or a suite that does not exist in `version`
    /// (AEAD and SHA-256/384 suites are TLS 1.2 only).
    pub fn tls12(
        suite: u16,
        version: u16,
        master_secret: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        side: Side,
        encrypt_then_mac: bool,
    ) -> Result<RecordDecrypter, DecryptError> {
        let info = suite_info(suite)
            .filter(|s| !s.tls13)
            .ok_or(DecryptError::UnsupportedSuite(suite))?;
        if !(0x0301..=0x0303).contains(&version) {
            return Err(DecryptError::Malformed(
                "protocol version is not TLS 1.0, 1.1 or 1.2 (SSL 3.0 and DTLS are not supported)",
            ));
        }
        if version < 0x0303 && (info.cipher.is_aead() || info.mac != Some(HashAlg::Sha1)) {
            return Err(DecryptError::Malformed(
                "AEAD and SHA-256/SHA-384 suites exist only in TLS 1.2, not TLS 1.0/1.1",
            ));
        }
        if master_secret.len() != 48 {
            return Err(DecryptError::BadSecret(
                "TLS 1.2 master secret (CLIENT_RANDOM line) must be 48 bytes",
            ));
        }
        let mac_len = info.mac_key_len();
        let key_len = info.cipher.key_len();
        let iv_len = info.fixed_iv_len();
        let mut block = [0u8; 2 * (48 + 32 + 16)];
        let total = 2 * (mac_len + key_len + iv_len);
        let kb = block
            .get_mut(..total)
            .ok_or(DecryptError::BadSecret("key block too long"))?;
        let seed: [&[u8]; 2] = [server_random, client_random];
        if version == 0x0303 {
            tls12_prf(info.prf, master_secret, b"key expansion", &seed, kb)?;
        } else {
            tls10_prf(master_secret, b"key expansion", &seed, kb)?;
        }
        // client MAC, server MAC, client key, server key, client IV, server IV.
        let pick = |start: usize, len: usize| -> &[u8] {
            let off = if side == Side::Client {
                start
            } else {
                start + len
            };
            kb.get(off..off + len).unwrap_or_default()
        };
        let mac_key = pick(0, mac_len);
        let key = pick(2 * mac_len, key_len);
        let fixed_iv = pick(2 * (mac_len + key_len), iv_len);
        let mut iv = [0u8; 12];
        let engine = match info.mac {
            None => {
                iv.get_mut(..iv_len)
                    .ok_or(DecryptError::BadSecret("IV too long"))?
                    .copy_from_slice(fixed_iv);
                Engine::Aead(Aead::new(info.cipher, key)?)
            }
            Some(hash) => {
                let chained_iv = if version == 0x0301 {
                    Some(
                        <[u8; AES_BLOCK]>::try_from(fixed_iv)
                            .map_err(|_| DecryptError::BadSecret("CBC IV must be 16 bytes"))?,
                    )
                } else {
                    None
                };
                Engine::Cbc(Box::new(Cbc {
                    aes: AesKey::new(info.cipher, key)?,
                    mac: MacKey::new(hash, mac_key)?,
                    mac_len,
                    encrypt_then_mac,
                    chained_iv,
                }))
            }
        };
        block.fill(0);
        Ok(RecordDecrypter {
            suite: info,
            engine,
            iv,
            seq: 0,
            traffic_secret: None,
        })
    }

    /// TLS 1.3: record keys from a traffic secret (handshake or application) with
    /// HKDF-Expand-Label ("key", "iv"), sequence 0. The secret must be as long as the
    /// suite's hash (32 bytes, 48 for `TLS_AES_256_GCM_SHA384`).
    pub fn tls13(suite: u16, traffic_secret: &[u8]) -> Result<RecordDecrypter, DecryptError> {
        let info = suite_info(suite)
            .filter(|s| s.tls13)
            .ok_or(DecryptError::UnsupportedSuite(suite))?;
        let (engine, iv) = tls13_keys(&info, traffic_secret)?;
        Ok(RecordDecrypter {
            suite: info,
            engine,
            iv,
            seq: 0,
            traffic_secret: Some(traffic_secret.to_vec()),
        })
    }

    /// Decrypts one record's payload (the bytes after the 5-byte header;
    /// `content_type` and `version` are from that header, needed for the AAD).
    ///
    /// Appends the plaintext to `out` (which is not cleared; on error nothing is left
    /// appended) and returns the real content type: for TLS 1.3 the inner type after
    /// stripping zero padding, for TLS 1.2 the header's type. See the type's docs for
    /// how the sequence number advances.
    pub fn decrypt(
        &mut self,
        content_type: u8,
        version: u16,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u8, DecryptError> {
        if self.suite.tls13 && content_type != APPLICATION_DATA {
            return Err(DecryptError::Malformed(
                "TLS 1.3 protected records have outer type application_data (23)",
            ));
        }
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        if payload.len() > MAX_PAYLOAD {
            return Err(DecryptError::Malformed(
                "record payload longer than 2^14 + 2048 bytes",
            ));
        }
        let start = out.len();
        let result = match &mut self.engine {
            Engine::Aead(aead) if self.suite.tls13 => {
                open_tls13(aead, &self.iv, seq, content_type, version, payload, out)
            }
            Engine::Aead(aead) => open_tls12(
                aead,
                self.suite.cipher,
                &self.iv,
                seq,
                content_type,
                version,
                payload,
                out,
            ),
            Engine::Cbc(cbc) => open_cbc(cbc, seq, content_type, version, payload, out),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// TLS 1.3 KeyUpdate: derives the next traffic secret (HKDF-Expand-Label
    /// "traffic upd") and its keys, and resets the sequence number to 0.
    /// `Malformed` for TLS 1.2 decrypters (there is no KeyUpdate before TLS 1.3).
    pub fn key_update(&mut self) -> Result<(), DecryptError> {
        let Some(secret) = &self.traffic_secret else {
            return Err(DecryptError::Malformed("KeyUpdate exists only in TLS 1.3"));
        };
        let mut next = vec![0u8; self.suite.prf.output_len()];
        hkdf_expand_label(self.suite.prf, secret, "traffic upd", &[], &mut next)?;
        let (engine, iv) = tls13_keys(&self.suite, &next)?;
        self.engine = engine;
        self.iv = iv;
        self.seq = 0;
        self.traffic_secret = Some(next);
        Ok(())
    }

    /// Sequence number of the next record.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// The suite this decrypter was made for.
    pub fn suite(&self) -> SuiteInfo {
        self.suite
    }
}

fn tls13_keys(info: &SuiteInfo, secret: &[u8]) -> Result<(Engine, [u8; 12]), DecryptError> {
    let mut key = [0u8; 32];
    let key = key
        .get_mut(..info.cipher.key_len())
        .ok_or(DecryptError::BadSecret("key too long"))?;
    let mut iv = [0u8; 12];
    hkdf_expand_label(info.prf, secret, "key", &[], key)?;
    hkdf_expand_label(info.prf, secret, "iv", &[], &mut iv)?;
    let aead = Aead::new(info.cipher, key)?;
    key.fill(0);
    Ok((Engine::Aead(aead), iv))
}

/// `iv XOR (0^4 || seq)`: the TLS 1.3 (RFC 8446 section 5.3) and ChaCha20 in TLS 1.2
/// (RFC 7905 section 2) nonce.
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

fn split_tag(payload: &[u8]) -> Option<(&[u8], &[u8; TAG_LEN])> {
    let at = payload.len().checked_sub(TAG_LEN)?;
    let (body, tag) = payload.split_at(at);
    Some((body, tag.try_into().ok()?))
}

fn open_tls13(
    aead: &Aead,
    iv: &[u8; 12],
    seq: u64,
    ty: u8,
    version: u16,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<u8, DecryptError> {
    let Some((ct, tag)) = split_tag(payload).filter(|(ct, _)| !ct.is_empty()) else {
        return Err(DecryptError::Malformed(
            "TLS 1.3 record shorter than its 16-byte tag plus the inner content type",
        ));
    };
    let [v0, v1] = version.to_be_bytes();
    let [l0, l1] = (payload.len() as u16).to_be_bytes();
    let aad = [ty, v0, v1, l0, l1];
    let start = out.len();
    out.extend_from_slice(ct);
    let buf = out.get_mut(start..).unwrap_or_default();
    if !aead.open(&xor_nonce(iv, seq), &aad, buf, tag) {
        return Err(DecryptError::AuthFailed { seq });
    }
    // TLSInnerPlaintext: content || type || zeros.
    let Some(pos) = buf.iter().rposition(|&b| b != 0) else {
        return Err(DecryptError::Malformed(
            "TLS 1.3 inner plaintext is all padding, with no content type",
        ));
    };
    let inner = buf.get(pos).copied().unwrap_or_default();
    out.truncate(start + pos);
    Ok(inner)
}

#[allow(clippy::too_many_arguments)]
fn open_tls12(
    aead: &Aead,
    cipher: BulkCipher,
    iv: &[u8; 12],
    seq: u64,
    ty: u8,
    version: u16,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<u8, DecryptError> {
    let (nonce, body) = if cipher == BulkCipher::ChaCha20Poly1305 {
        (xor_nonce(iv, seq), payload)
    } else {
        // GCM (RFC 5288 section 3): salt (4, key block) || explicit nonce (8, record).
        let Some((explicit, body)) = payload.split_first_chunk::<8>() else {
            return Err(DecryptError::Malformed(
                "TLS 1.2 GCM record shorter than its 8-byte explicit nonce",
            ));
        };
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&iv[..4]);
        nonce[4..].copy_from_slice(explicit);
        (nonce, body)
    };
    let Some((ct, tag)) = split_tag(body) else {
        return Err(DecryptError::Malformed(
            "TLS 1.2 AEAD record shorter than its 16-byte tag",
        ));
    };
    let aad = mac_header(seq, ty, version, ct.len());
    let start = out.len();
    out.extend_from_slice(ct);
    let buf = out.get_mut(start..).unwrap_or_default();
    if !aead.open(&nonce, &aad, buf, tag) {
        return Err(DecryptError::AuthFailed { seq });
    }
    Ok(ty)
}

/// `seq_num || type || version || length`: the TLS 1.2 AEAD additional data and the
/// start of every CBC record MAC.
fn mac_header(seq: u64, ty: u8, version: u16, len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&seq.to_be_bytes());
    h[8] = ty;
    h[9..11].copy_from_slice(&version.to_be_bytes());
    h[11..].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

fn open_cbc(
    cbc: &mut Cbc,
    seq: u64,
    ty: u8,
    version: u16,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<u8, DecryptError> {
    let mac_len = cbc.mac_len;
    // The MAC, for encrypt-then-MAC, trails the (IV and) ciphertext in the clear.
    let (protected, etm_tag) = if cbc.encrypt_then_mac {
        let Some(at) = payload.len().checked_sub(mac_len) else {
            return Err(DecryptError::Malformed("CBC record shorter than its MAC"));
        };
        let (p, t) = payload.split_at(at);
        (p, Some(t))
    } else {
        (payload, None)
    };
    let (iv, ct) = match cbc.chained_iv {
        Some(iv) => (iv, protected),
        None => match protected.split_first_chunk::<AES_BLOCK>() {
            Some((iv, ct)) => (*iv, ct),
            None => {
                return Err(DecryptError::Malformed(
                    "CBC record shorter than its explicit IV",
                ))
            }
        },
    };
    if ct.is_empty() || ct.len() % AES_BLOCK != 0 {
        return Err(DecryptError::Malformed(
            "CBC ciphertext is empty or not a whole number of AES blocks",
        ));
    }
    if let Some(chain) = &mut cbc.chained_iv {
        // TLS 1.0: the next record's IV is this record's last ciphertext block,
        // whether or not this one verifies.
        if let Some(last) = ct
            .rchunks_exact(AES_BLOCK)
            .next()
            .and_then(|b| <[u8; AES_BLOCK]>::try_from(b).ok())
        {
            *chain = last;
        }
    }
    if let Some(tag) = etm_tag {
        // RFC 7366 section 3: MAC(seq || type || version || length || IV || ciphertext),
        // length covering IV and ciphertext.
        let hdr = mac_header(seq, ty, version, protected.len());
        if !cbc.mac.verify(&[&hdr, protected], tag) {
            return Err(DecryptError::AuthFailed { seq });
        }
    }
    let start = out.len();
    out.extend_from_slice(ct);
    let buf = out.get_mut(start..).unwrap_or_default();
    if !cbc.aes.cbc_decrypt(&iv, buf) {
        return Err(DecryptError::Malformed(
            "CBC ciphertext is not a whole number of AES blocks",
        ));
    }
    // content || [MAC] || padding || padding_length, every padding byte = padding_length.
    let pad = usize::from(buf.last().copied().unwrap_or_default()) + 1;
    let trailer = pad + if etm_tag.is_some() { 0 } else { mac_len };
    let Some(content_len) = buf.len().checked_sub(trailer) else {
        return Err(DecryptError::AuthFailed { seq });
    };
    let padding = buf.get(buf.len() - pad..).unwrap_or_default();
    if padding.iter().any(|&b| usize::from(b) != pad - 1) {
        return Err(DecryptError::AuthFailed { seq });
    }
    if etm_tag.is_none() {
        let (content, rest) = buf.split_at(content_len);
        let hdr = mac_header(seq, ty, version, content_len);
        if !cbc
            .mac
            .verify(&[&hdr, content], rest.get(..mac_len).unwrap_or_default())
        {
            return Err(DecryptError::AuthFailed { seq });
        }
    }
    out.truncate(start + content_len);
    Ok(ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_xor() {
        let iv = [0xFFu8; 12];
        let n = xor_nonce(&iv, 1);
        assert_eq!(n[..11], [0xFF; 11]);
        assert_eq!(n[11], 0xFE);
        assert_eq!(xor_nonce(&[0; 12], 0x0102)[10..], [1, 2]);
    }

    #[test]
    fn header() {
        assert_eq!(
            mac_header(1, 23, 0x0303, 0x102),
            [0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 1, 2]
        );
    }

    #[test]
    fn constructors_reject() {
        let r = [0u8; 32];
        let e = |x: Result<RecordDecrypter, DecryptError>| x.unwrap_err();
        assert_eq!(
            e(RecordDecrypter::tls12(
                0x1301,
                0x0303,
                &[0; 48],
                &r,
                &r,
                Side::Client,
                false
            )),
            DecryptError::UnsupportedSuite(0x1301)
        );
        assert_eq!(
            e(RecordDecrypter::tls12(
                0x000A,
                0x0303,
                &[0; 48],
                &r,
                &r,
                Side::Client,
                false
            )),
            DecryptError::UnsupportedSuite(0x000A)
        );
        assert!(matches!(
            e(RecordDecrypter::tls12(
                0xC02F,
                0x0303,
                &[0; 47],
                &r,
                &r,
                Side::Client,
                false
            )),
            DecryptError::BadSecret(_)
        ));
        assert!(matches!(
            e(RecordDecrypter::tls12(
                0xC02F,
                0x0302,
                &[0; 48],
                &r,
                &r,
                Side::Client,
                false
            )),
            DecryptError::Malformed(_)
        ));
        assert!(matches!(
            e(RecordDecrypter::tls12(
                0xC013,
                0x0300,
                &[0; 48],
                &r,
                &r,
                Side::Client,
                false
            )),
            DecryptError::Malformed(_)
        ));
        assert!(
            RecordDecrypter::tls12(0xC013, 0x0301, &[0; 48], &r, &r, Side::Server, true).is_ok()
        );
        assert_eq!(
            e(RecordDecrypter::tls13(0xC02F, &[0; 32])),
            DecryptError::UnsupportedSuite(0xC02F)
        );
        assert!(matches!(
            e(RecordDecrypter::tls13(0x1302, &[0; 32])),
            DecryptError::BadSecret(_)
        ));
        assert!(RecordDecrypter::tls13(0x1302, &[0; 48]).is_ok());
        let mut d =
            RecordDecrypter::tls12(0xC02F, 0x0303, &[0; 48], &r, &r, Side::Client, false).unwrap();
        assert!(d.key_update().is_err());
        assert!(!format!("{d:?}").contains('['), "{d:?}");
    }
}
