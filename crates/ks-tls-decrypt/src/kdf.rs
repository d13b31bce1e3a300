//! Key derivation: the TLS 1.0-1.2 PRF (RFC 2246 / 5246 section 5) and TLS 1.3
//! HKDF-Expand-Label (RFC 8446 section 7.1), on the RustCrypto `hmac` and `hkdf` crates.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use crate::{DecryptError, HashAlg};

/// P_hash (RFC 5246 section 5), XORed into `out`: callers zero `out` first, and the
/// TLS 1.0 PRF XORs P_MD5 and P_SHA1 into the same buffer.
fn p_hash_xor<M: Mac + Clone>(keyed: &M, label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    // A(1) = HMAC(secret, label + seed)
    let mut m = keyed.clone();
    m.update(label);
    for s in seed {
        m.update(s);
    }
    let mut a = m.finalize().into_bytes();
    let mut rest = out;
    while !rest.is_empty() {
        let mut m = keyed.clone();
        m.update(&a);
        m.update(label);
        for s in seed {
            m.update(s);
        }
        let block = m.finalize().into_bytes();
        let n = block.len().min(rest.len());
        let (now, later) = rest.split_at_mut(n);
        for (o, b) in now.iter_mut().zip(block.iter()) {
            *o ^= *b;
        }
        rest = later;
        let mut m = keyed.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

fn keyed<M: Mac + hmac::digest::KeyInit>(secret: &[u8]) -> Result<M, DecryptError> {
    <M as Mac>::new_from_slice(secret).map_err(|_| DecryptError::BadSecret("HMAC key rejected"))
}

/// The TLS 1.2 PRF (RFC 5246 section 5): `P_<hash>(secret, label + seed)` fills `out`.
/// `seed` is given in parts (for the key block: server random, then client random).
/// `hash` is the suite's PRF hash, SHA-256 or SHA-384.
pub fn tls12_prf(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
) -> Result<(), DecryptError> {
    out.fill(0);
    match hash {
        HashAlg::Sha256 => p_hash_xor(&keyed::<Hmac<Sha256>>(secret)?, label, seed, out),
        HashAlg::Sha384 => p_hash_xor(&keyed::<Hmac<Sha384>>(secret)?, label, seed, out),
        HashAlg::Sha1 => {
            return Err(DecryptError::BadSecret(
                "the TLS 1.2 PRF uses SHA-256 or SHA-384, not SHA-1",
            ))
        }
    }
    Ok(())
}

/// The TLS 1.0 / 1.1 PRF (RFC 2246 section 5): `P_MD5(S1, label + seed) XOR
/// P_SHA1(S2, label + seed)`, S1 and S2 the two (overlapping when odd) halves of `secret`.
pub fn tls10_prf(
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
) -> Result<(), DecryptError> {
    out.fill(0);
    let half = secret.len().div_ceil(2);
    let s1 = secret.get(..half).unwrap_or_default();
    let s2 = secret.get(secret.len() - half..).unwrap_or_default();
    p_hash_xor(&keyed::<Hmac<Md5>>(s1)?, label, seed, out);
    p_hash_xor(&keyed::<Hmac<Sha1>>(s2)?, label, seed, out);
    Ok(())
}

/// HKDF-Expand-Label (RFC 8446 section 7.1) with the `"tls13 "` prefix: fills `out`
/// (whose length is the label's `Length`) from `secret`, which must be exactly as long
/// as `hash`'s output (a traffic secret is).
pub fn hkdf_expand_label(
    hash: HashAlg,
    secret: &[u8],
    label: &str,
    context: &[u8],
    out: &mut [u8],
) -> Result<(), DecryptError> {
    let full_label_len = 6 + label.len();
    let (Ok(len), Ok(label_len), Ok(context_len)) = (
        u16::try_from(out.len()),
        u8::try_from(full_label_len),
        u8::try_from(context.len()),
    ) else {
        return Err(DecryptError::BadSecret("HKDF-Expand-Label input too long"));
    };
    if secret.len() != hash.output_len() {
        return Err(DecryptError::BadSecret(
            "TLS 1.3 secret must be as long as the suite's hash (32 bytes for SHA-256, 48 for SHA-384)",
        ));
    }
    let len = len.to_be_bytes();
    let info: [&[u8]; 6] = [
        &len,
        &[label_len],
        b"tls13 ",
        label.as_bytes(),
        &[context_len],
        context,
    ];
    let too_long = |_| DecryptError::BadSecret("HKDF-Expand-Label output too long");
    let bad_prk = |_| DecryptError::BadSecret("TLS 1.3 secret shorter than the suite's hash");
    match hash {
        HashAlg::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .map_err(bad_prk)?
            .expand_multi_info(&info, out)
            .map_err(too_long),
        HashAlg::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .map_err(bad_prk)?
            .expand_multi_info(&info, out)
            .map_err(too_long),
        HashAlg::Sha1 => Err(DecryptError::BadSecret("TLS 1.3 uses SHA-256 or SHA-384")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn prf_sha256_ietf_vector() {
        // The TLS 1.2 PRF-SHA256 test vector posted to the IETF TLS list (2009).
        let mut out = [0u8; 100];
        tls12_prf(
            HashAlg::Sha256,
            &h("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &[&h("a0ba9f936cda311827a6f796ffd5198c")],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out.to_vec(),
            h("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")
        );
        // Seed given in parts gives the same output.
        let mut split = [0u8; 100];
        let seed = h("a0ba9f936cda311827a6f796ffd5198c");
        tls12_prf(
            HashAlg::Sha256,
            &h("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &[&seed[..5], &seed[5..]],
            &mut split,
        )
        .unwrap();
        assert_eq!(out, split);
    }

    #[test]
    fn expand_label_rfc8448() {
        // RFC 8448 section 3: server handshake traffic secret -> key, iv.
        let secret = h("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        hkdf_expand_label(HashAlg::Sha256, &secret, "key", &[], &mut key).unwrap();
        hkdf_expand_label(HashAlg::Sha256, &secret, "iv", &[], &mut iv).unwrap();
        assert_eq!(key.to_vec(), h("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv.to_vec(), h("5d313eb2671276ee13000b30"));
        // And the server Finished key ("finished"), also printed in section 3.
        let mut fin = [0u8; 32];
        hkdf_expand_label(HashAlg::Sha256, &secret, "finished", &[], &mut fin).unwrap();
        assert_eq!(
            fin.to_vec(),
            h("008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8")
        );
    }

    #[test]
    fn expand_label_rejects_wrong_secret_length() {
        let mut out = [0u8; 16];
        assert!(matches!(
            hkdf_expand_label(HashAlg::Sha384, &[0; 32], "key", &[], &mut out),
            Err(DecryptError::BadSecret(_))
        ));
        assert!(matches!(
            hkdf_expand_label(HashAlg::Sha256, &[0; 48], "key", &[], &mut out),
            Err(DecryptError::BadSecret(_))
        ));
        assert!(hkdf_expand_label(HashAlg::Sha256, &[0; 32], "key", &[0; 300], &mut out).is_err());
    }

    #[test]
    fn tls10_prf_halves() {
        // Odd-length secret: the halves overlap by one byte; must not panic, and is
        // deterministic. (Correctness of the TLS 1.0 PRF is covered by the OpenSSL
        // TLS 1.0 transcript in tests/openssl.rs.)
        let mut a = [0u8; 40];
        tls10_prf(&[7; 47], b"x", &[b"y"], &mut a).unwrap();
        let mut b = [0u8; 40];
        tls10_prf(&[7; 47], b"x", &[b"y"], &mut b).unwrap();
        assert_eq!(a, b);
        tls10_prf(&[], b"x", &[], &mut b).unwrap();
    }
}
