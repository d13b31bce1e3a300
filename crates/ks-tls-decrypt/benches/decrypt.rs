//! Decrypt throughput for full 16 KiB records: TLS 1.3 AES-128-GCM, TLS 1.2
//! AES-256-GCM and TLS 1.2 ChaCha20-Poly1305. The records are encrypted up front with
//! the same RustCrypto AEADs (keys derived the way a peer would), so every decrypt
//! authenticates and the whole record is deciphered.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ks_tls_decrypt::{hkdf_expand_label, tls12_prf, HashAlg, RecordDecrypter, Side};

const RECORD: usize = 16 * 1024;
const RECORDS: u64 = 32;
const CLIENT_RANDOM: [u8; 32] = [1; 32];
const SERVER_RANDOM: [u8; 32] = [2; 32];
const MASTER: [u8; 48] = [3; 48];

fn xor_nonce(iv: &[u8], seq: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n.copy_from_slice(iv);
    for (a, b) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *a ^= b;
    }
    n
}

fn seal<A: AeadInPlace>(aead: &A, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) {
    let tag = aead
        .encrypt_in_place_detached(aes_gcm::aead::Nonce::<A>::from_slice(nonce), aad, buf)
        .unwrap();
    buf.extend_from_slice(&tag);
}

/// TLS 1.3 records (payload after the header) for seq 0..RECORDS.
fn tls13_records(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut key = [0u8; 16];
    let mut iv = [0u8; 12];
    hkdf_expand_label(HashAlg::Sha256, secret, "key", &[], &mut key).unwrap();
    hkdf_expand_label(HashAlg::Sha256, secret, "iv", &[], &mut iv).unwrap();
    let aead = Aes128Gcm::new_from_slice(&key).unwrap();
    (0..RECORDS)
        .map(|seq| {
            let mut buf = vec![0x61u8; RECORD];
            buf.push(23); // inner content type
            let len = (buf.len() + 16) as u16;
            let aad = [23, 3, 3, (len >> 8) as u8, len as u8];
            seal(&aead, &xor_nonce(&iv, seq), &aad, &mut buf);
            buf
        })
        .collect()
}

/// TLS 1.2 records for seq 0..RECORDS, written by the client of suite 0xC030 (GCM) or 0xCCA8.
fn tls12_records(chacha: bool) -> Vec<Vec<u8>> {
    let mut kb = [0u8; 2 * 32 + 2 * 12];
    let (prf, iv_len) = if chacha {
        (HashAlg::Sha256, 12)
    } else {
        (HashAlg::Sha384, 4)
    };
    let kb = &mut kb[..64 + 2 * iv_len];
    tls12_prf(
        prf,
        &MASTER,
        b"key expansion",
        &[&SERVER_RANDOM, &CLIENT_RANDOM],
        kb,
    )
    .unwrap();
    let (key, iv) = (&kb[..32], &kb[64..64 + iv_len]);
    (0..RECORDS)
        .map(|seq| {
            let mut buf = vec![0x61u8; RECORD];
            let mut aad = [0u8; 13];
            aad[..8].copy_from_slice(&seq.to_be_bytes());
            aad[8..11].copy_from_slice(&[23, 3, 3]);
            aad[11..].copy_from_slice(&(RECORD as u16).to_be_bytes());
            if chacha {
                seal(
                    &ChaCha20Poly1305::new_from_slice(key).unwrap(),
                    &xor_nonce(iv, seq),
                    &aad,
                    &mut buf,
                );
                buf
            } else {
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(iv);
                nonce[4..].copy_from_slice(&seq.to_be_bytes());
                seal(
                    &Aes256Gcm::new_from_slice(key).unwrap(),
                    &nonce,
                    &aad,
                    &mut buf,
                );
                let mut rec = seq.to_be_bytes().to_vec();
                rec.extend_from_slice(&buf);
                rec
            }
        })
        .collect()
}

fn run(c: &mut Criterion, name: &str, records: &[Vec<u8>], make: &dyn Fn() -> RecordDecrypter) {
    let mut g = c.benchmark_group("decrypt_16k");
    g.throughput(Throughput::Bytes(RECORD as u64 * RECORDS));
    let mut out = Vec::with_capacity(RECORD + 64);
    // Sanity: every record authenticates.
    let mut d = make();
    for r in records {
        out.clear();
        assert_eq!(d.decrypt(23, 0x0303, r, &mut out).unwrap(), 23);
        assert_eq!(out.len(), RECORD);
    }
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut d = make();
            for r in records {
                out.clear();
                black_box(d.decrypt(23, 0x0303, black_box(r), &mut out).unwrap());
            }
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let secret = [9u8; 32];
    let r13 = tls13_records(&secret);
    run(c, "tls13_aes128_gcm", &r13, &|| {
        RecordDecrypter::tls13(0x1301, &secret).unwrap()
    });
    let gcm = tls12_records(false);
    let mk = |suite| {
        move || {
            RecordDecrypter::tls12(
                suite,
                0x0303,
                &MASTER,
                &CLIENT_RANDOM,
                &SERVER_RANDOM,
                Side::Client,
                false,
            )
            .unwrap()
        }
    };
    run(c, "tls12_aes256_gcm", &gcm, &mk(0xC030));
    let chacha = tls12_records(true);
    run(c, "tls12_chacha20_poly1305", &chacha, &mk(0xCCA8));
}

criterion_group!(benches, bench);
criterion_main!(benches);
