//! Decrypts sessions OpenSSL encrypted (tests/data/openssl-transcripts.txt, made by
//! tests/data/make_transcripts.py): every supported family of suites, TLS 1.0 to 1.3,
//! CBC with and without encrypt-then-MAC, with the key log OpenSSL wrote. The expected
//! plaintext is what the script sent, so this checks the crate against an independent
//! implementation, not against itself.

use ks_tls_decrypt::{hkdf_expand_label, DecryptError, HashAlg, KeyLog, RecordDecrypter, Side};

struct Session {
    name: String,
    keylog: String,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    c_plain: Vec<u8>,
    s_plain: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sessions() -> Vec<Session> {
    let text = include_str!("data/openssl-transcripts.txt");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut s = Session {
            name: String::new(),
            keylog: String::new(),
            c2s: vec![],
            s2c: vec![],
            c_plain: vec![],
            s_plain: vec![],
        };
        for line in block.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "name" => s.name = value.to_string(),
                "keylog" => {
                    s.keylog.push_str(value);
                    s.keylog.push('\n');
                }
                "c2s" => s.c2s = unhex(value),
                "s2c" => s.s2c = unhex(value),
                "c_plain" => s.c_plain = unhex(value),
                "s_plain" => s.s_plain = unhex(value),
                _ => {}
            }
        }
        if !s.name.is_empty() {
            out.push(s);
        }
    }
    out
}

/// (content type, version, payload) of every record in a byte stream.
fn records(stream: &[u8]) -> Vec<(u8, u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push((
            rest[0],
            u16::from_be_bytes([rest[1], rest[2]]),
            &rest[5..5 + len],
        ));
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes");
    out
}

struct Hello {
    random: [u8; 32],
    suite: u16,
    version: u16,
    etm: bool,
}

/// The fields of a ClientHello / ServerHello a decrypter needs (test-only parser).
fn hello(record: &[u8]) -> Hello {
    assert!(record[0] == 1 || record[0] == 2, "not a hello");
    let body = &record[4..];
    let mut version = u16::from_be_bytes([body[0], body[1]]);
    let random: [u8; 32] = body[2..34].try_into().unwrap();
    let sid_len = usize::from(body[34]);
    let mut p = 35 + sid_len;
    let mut suite = 0;
    let mut etm = false;
    if record[0] == 2 {
        suite = u16::from_be_bytes([body[p], body[p + 1]]);
        p += 3; // suite, compression method
        if p + 2 <= body.len() {
            let end = p + 2 + usize::from(u16::from_be_bytes([body[p], body[p + 1]]));
            p += 2;
            while p + 4 <= end {
                let ty = u16::from_be_bytes([body[p], body[p + 1]]);
                let len = usize::from(u16::from_be_bytes([body[p + 2], body[p + 3]]));
                match ty {
                    0x0016 => etm = true,
                    0x002b => version = u16::from_be_bytes([body[p + 4], body[p + 5]]),
                    _ => {}
                }
                p += 4 + len;
            }
        }
    }
    Hello {
        random,
        suite,
        version,
        etm,
    }
}

/// Decrypts one direction of a TLS 1.0-1.2 session; returns the application data.
fn tls12_direction(stream: &[u8], mut dec: RecordDecrypter) -> (Vec<u8>, usize) {
    let mut encrypted = false;
    let mut app = Vec::new();
    let mut other = Vec::new();
    let mut alerts = 0;
    for (ty, version, payload) in records(stream) {
        if !encrypted {
            encrypted = ty == 20;
            continue;
        }
        let seq = dec.sequence();
        let out = if ty == 23 { &mut app } else { &mut other };
        let got = dec
            .decrypt(ty, version, payload, out)
            .unwrap_or_else(|e| panic!("record {seq}: {e}"));
        assert_eq!(got, ty);
        alerts += usize::from(ty == 21);
    }
    // The first protected record is the Finished message (type 20, length 12).
    assert_eq!(&other[..4], &[20, 0, 0, 12]);
    (app, alerts)
}

#[test]
fn tls10_to_12_sessions_decrypt() {
    let mut seen = 0;
    for s in sessions().iter().filter(|s| !s.name.starts_with("tls13")) {
        let recs_c = records(&s.c2s);
        let recs_s = records(&s.s2c);
        let ch = hello(recs_c[0].2);
        let sh = hello(recs_s[0].2);
        assert_eq!(
            sh.etm,
            s.name.ends_with("-etm"),
            "{}: RFC 7366 is for CBC suites only",
            s.name
        );
        let log = KeyLog::parse(&s.keylog);
        assert_eq!(log.bad_lines(), 0);
        let master = log
            .get(&ch.random)
            .and_then(|x| x.master_secret.clone())
            .expect("master secret logged");
        let make = |side| {
            RecordDecrypter::tls12(
                sh.suite, sh.version, &master, &ch.random, &sh.random, side, sh.etm,
            )
            .unwrap()
        };
        let (c_app, c_alerts) = tls12_direction(&s.c2s, make(Side::Client));
        let (s_app, _) = tls12_direction(&s.s2c, make(Side::Server));
        assert_eq!(c_app, s.c_plain, "{}: client application data", s.name);
        assert_eq!(s_app, s.s_plain, "{}: server application data", s.name);
        assert_eq!(c_alerts, 1, "{}: the client's close_notify", s.name);
        // Wrong direction's keys: the first protected record fails authentication.
        let mut wrong = make(Side::Server);
        let (ty, v, p) = records(&s.c2s)
            .into_iter()
            .skip_while(|r| r.0 != 20)
            .nth(1)
            .unwrap();
        let mut out = b"kept".to_vec();
        assert_eq!(
            wrong.decrypt(ty, v, p, &mut out),
            Err(DecryptError::AuthFailed { seq: 0 }),
            "{}",
            s.name
        );
        assert_eq!(out, b"kept");
        assert_eq!(wrong.sequence(), 1);
        seen += 1;
    }
    assert_eq!(seen, 12);
}

/// Decrypts one direction of a TLS 1.3 session: handshake records with the handshake
/// secret until this side's Finished, then the application secret. Returns the
/// application data and the handshake message types seen.
fn tls13_direction(
    stream: &[u8],
    suite: u16,
    hs_secret: &[u8],
    app_secret: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut dec: Option<RecordDecrypter> = None;
    let mut in_app = false;
    let mut hs = Vec::new();
    let mut hs_types = Vec::new();
    let mut app = Vec::new();
    let mut first = true;
    for (ty, version, payload) in records(stream) {
        if first {
            first = false; // ClientHello / ServerHello: plaintext
            continue;
        }
        if ty == 20 {
            // Middlebox-compatibility ChangeCipherSpec: plaintext, no sequence number.
            if let Some(d) = dec.as_mut() {
                let before = d.sequence();
                assert!(matches!(
                    d.decrypt(ty, version, payload, &mut Vec::new()),
                    Err(DecryptError::Malformed(_))
                ));
                assert_eq!(d.sequence(), before);
            }
            continue;
        }
        let d = dec.get_or_insert_with(|| RecordDecrypter::tls13(suite, hs_secret).unwrap());
        let mut plain = Vec::new();
        let inner = d
            .decrypt(ty, version, payload, &mut plain)
            .unwrap_or_else(|e| panic!("{e}"));
        match inner {
            22 if !in_app => {
                hs.extend_from_slice(&plain);
                // Walk the complete handshake messages; switch keys after Finished.
                while hs.len() >= 4 {
                    let len = 4
                        + (usize::from(hs[1]) << 16 | usize::from(hs[2]) << 8 | usize::from(hs[3]));
                    if hs.len() < len {
                        break;
                    }
                    hs_types.push(hs[0]);
                    let finished = hs[0] == 20;
                    hs.drain(..len);
                    if finished {
                        in_app = true;
                        dec = Some(RecordDecrypter::tls13(suite, app_secret).unwrap());
                        break;
                    }
                }
            }
            22 => {
                // Post-handshake messages, one per record here. KeyUpdate (24): the
                // records after it use the next generation of this side's secret.
                hs_types.push(plain[0]);
                if plain[0] == 24 {
                    dec.as_mut().unwrap().key_update().unwrap();
                }
            }
            23 => app.extend_from_slice(&plain),
            21 => assert_eq!(plain, [1, 0], "close_notify"),
            other => panic!("inner type {other}"),
        }
    }
    (app, hs_types)
}

#[test]
fn tls13_sessions_decrypt() {
    let mut seen = 0;
    for s in sessions().iter().filter(|s| s.name.starts_with("tls13")) {
        let ch = hello(records(&s.c2s)[0].2);
        let sh = hello(records(&s.s2c)[0].2);
        assert_eq!(sh.version, 0x0304);
        let log = KeyLog::parse(&s.keylog);
        assert_eq!((log.len(), log.bad_lines()), (1, 0), "{}", s.name);
        // EXPORTER_SECRET, and for the KeyUpdate session OpenSSL's *_TRAFFIC_SECRET_N.
        let extra = if s.name == "tls13-keyupdate" { 2 } else { 0 };
        assert_eq!(log.skipped_lines(), 1 + extra, "{}", s.name);
        let k = log.get(&ch.random).unwrap();
        let get = |x: &Option<Vec<u8>>| x.clone().unwrap();
        let (c_app, c_hs) = tls13_direction(
            &s.c2s,
            sh.suite,
            &get(&k.client_handshake_traffic),
            &get(&k.client_traffic_0),
        );
        let (s_app, s_hs) = tls13_direction(
            &s.s2c,
            sh.suite,
            &get(&k.server_handshake_traffic),
            &get(&k.server_traffic_0),
        );
        assert_eq!(c_app, s.c_plain, "{}", s.name);
        assert_eq!(s_app, s.s_plain, "{}", s.name);
        // EncryptedExtensions, Certificate, CertificateVerify, Finished, then tickets.
        assert_eq!(s_hs[..4], [8, 11, 15, 20], "{}", s.name);
        if s.name == "tls13-keyupdate" {
            // The client's KeyUpdate (update_requested) and the server's answer: both
            // directions continued under the "traffic upd" secrets, which OpenSSL also
            // logged (as CLIENT_/SERVER_TRAFFIC_SECRET_N): check the derivation itself.
            assert_eq!(c_hs, [20, 24], "{}", s.name);
            assert_eq!(
                s_hs[4..].iter().filter(|&&t| t == 24).count(),
                1,
                "{}",
                s.name
            );
            for (label, secret_0) in [
                ("CLIENT_TRAFFIC_SECRET_N ", &k.client_traffic_0),
                ("SERVER_TRAFFIC_SECRET_N ", &k.server_traffic_0),
            ] {
                let line = s.keylog.lines().find(|l| l.starts_with(label)).unwrap();
                let logged = unhex(line.rsplit(' ').next().unwrap());
                let mut next = [0u8; 32];
                hkdf_expand_label(
                    HashAlg::Sha256,
                    secret_0.as_ref().unwrap(),
                    "traffic upd",
                    &[],
                    &mut next,
                )
                .unwrap();
                assert_eq!(next.to_vec(), logged, "{label}");
            }
        } else {
            assert_eq!(c_hs, [20], "{}: client Finished", s.name);
            assert!(
                s_hs[4..].iter().all(|&t| t == 4),
                "{}: NewSessionTicket",
                s.name
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn damaged_record_fails_but_later_records_still_decrypt() {
    let s = sessions()
        .into_iter()
        .find(|s| s.name == "tls13-aes128-gcm")
        .unwrap();
    let log = KeyLog::parse(&s.keylog);
    let ch = hello(records(&s.c2s)[0].2);
    let secret = log
        .get(&ch.random)
        .unwrap()
        .client_traffic_0
        .clone()
        .unwrap();
    // The client's application records: after ClientHello, CCS and the Finished record.
    let recs: Vec<_> = records(&s.c2s).into_iter().skip(3).collect();
    assert!(recs.len() >= 3);
    let mut dec = RecordDecrypter::tls13(0x1301, &secret).unwrap();
    let mut out = Vec::new();
    let mut damaged = recs[0].2.to_vec();
    damaged[3] ^= 1;
    assert_eq!(
        dec.decrypt(recs[0].0, recs[0].1, &damaged, &mut out),
        Err(DecryptError::AuthFailed { seq: 0 })
    );
    assert!(out.is_empty());
    // A lost record costs its own plaintext only: the next one decrypts with seq 1.
    assert_eq!(
        dec.decrypt(recs[1].0, recs[1].1, recs[1].2, &mut out),
        Ok(23)
    );
    assert_eq!(out, s.c_plain[28..28 + 768]);
}
