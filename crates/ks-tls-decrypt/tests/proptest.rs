//! Random input never panics: record payloads of any length and content, any header,
//! any suite; random key log text; random secrets.

use ks_tls_decrypt::{DecryptError, KeyLog, RecordDecrypter, Side, MAX_PAYLOAD, SUITES};
use proptest::prelude::*;

fn decrypter(
    suite_index: usize,
    version: u16,
    secret: &[u8],
    side: bool,
    etm: bool,
) -> Option<RecordDecrypter> {
    let s = SUITES[suite_index % SUITES.len()];
    if s.tls13 {
        let mut sec = secret.to_vec();
        sec.resize(s.prf.output_len(), 7);
        RecordDecrypter::tls13(s.id, &sec).ok()
    } else {
        let mut ms = secret.to_vec();
        ms.resize(48, 7);
        let side = if side { Side::Client } else { Side::Server };
        RecordDecrypter::tls12(s.id, version, &ms, &[1; 32], &[2; 32], side, etm).ok()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decrypt_never_panics(
        suite_index in 0usize..64,
        version in prop_oneof![Just(0x0301u16), Just(0x0302), Just(0x0303), any::<u16>()],
        secret in proptest::collection::vec(any::<u8>(), 0..64),
        side in any::<bool>(),
        etm in any::<bool>(),
        records in proptest::collection::vec((any::<u8>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..6),
    ) {
        if let Some(mut d) = decrypter(suite_index, version, &secret, side, etm) {
            let mut out = vec![0xEE; 3];
            for (ty, v, payload) in records {
                let before = d.sequence();
                let r = d.decrypt(ty, v, &payload, &mut out);
                // Random bytes essentially never authenticate; whatever happens, out keeps its prefix
                // and nothing is left appended on error.
                prop_assert_eq!(&out[..3], &[0xEE; 3][..]);
                if r.is_err() {
                    prop_assert_eq!(out.len(), 3);
                }
                // Every call consumes a sequence number, except a non-application_data
                // outer type in TLS 1.3 (never a protected record).
                let skipped = d.suite().tls13 && ty != 23;
                prop_assert_eq!(d.sequence(), if skipped { before } else { before + 1 });
                if let Err(e) = r {
                    prop_assert!(!e.to_string().is_empty());
                }
                out.truncate(3);
            }
            let _ = d.key_update();
        }
    }

    #[test]
    fn arbitrary_secrets_never_panic(
        suite in any::<u16>(),
        version in any::<u16>(),
        secret in proptest::collection::vec(any::<u8>(), 0..100),
        etm in any::<bool>(),
    ) {
        let _ = RecordDecrypter::tls13(suite, &secret);
        let _ = RecordDecrypter::tls12(suite, version, &secret, &[0; 32], &[0; 32], Side::Server, etm);
    }

    #[test]
    fn keylog_parse_never_panics(text in ".{0,400}", lines in proptest::collection::vec(
        (prop_oneof![Just("CLIENT_RANDOM"), Just("CLIENT_TRAFFIC_SECRET_0"), Just("EXPORTER_SECRET"), Just("#"), Just("x")],
         "[0-9a-fA-F]{0,70}", "[0-9a-fA-FgG ]{0,100}"), 0..8)) {
        let _ = KeyLog::parse(&text);
        let joined: String = lines.iter().map(|(l, r, s)| format!("{l} {r} {s}\r\n")).collect();
        let log = KeyLog::parse(&joined);
        prop_assert!(log.len() + log.bad_lines() + log.skipped_lines() <= lines.len());
    }
}

#[test]
fn oversized_payload_is_malformed() {
    for s in SUITES {
        let mut d = if s.tls13 {
            RecordDecrypter::tls13(s.id, &vec![1; s.prf.output_len()]).unwrap()
        } else {
            RecordDecrypter::tls12(
                s.id,
                0x0303,
                &[1; 48],
                &[1; 32],
                &[2; 32],
                Side::Client,
                false,
            )
            .unwrap()
        };
        let mut out = Vec::new();
        let big = vec![0u8; MAX_PAYLOAD + 1];
        assert!(
            matches!(
                d.decrypt(23, 0x0303, &big, &mut out),
                Err(DecryptError::Malformed(_))
            ),
            "{}",
            s.name
        );
        assert_eq!(d.sequence(), 1);
        // At the cap it is a (failing) decryption attempt, not a size error.
        let at_cap = vec![0u8; MAX_PAYLOAD - MAX_PAYLOAD % 16];
        assert!(
            matches!(
                d.decrypt(23, 0x0303, &at_cap, &mut out),
                Err(DecryptError::AuthFailed { seq: 1 })
            ),
            "{}",
            s.name
        );
        // Empty and tiny payloads.
        for len in [0usize, 1, 15, 16, 17, 23, 24, 31, 32] {
            assert!(d.decrypt(23, 0x0303, &vec![0; len], &mut out).is_err());
        }
        assert!(out.is_empty());
    }
}
