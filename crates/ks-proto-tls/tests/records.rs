//! Hand-built byte tests: record and handshake framing, caps, SSLv2, probes,
//! fingerprints against the FoxIO specification's own examples, and properties.

mod common;

use common::{connections, feed, pcap, Ev};
use ks_proto::{Direction, ProbeInput, Role, StreamParser, Verdict};
use ks_proto_tls::fingerprint::{ja4, ja4_alpn, ja4s, sha256_12};
use ks_proto_tls::{Handshake, TlsConfig, TlsMessage, TlsParser};
use proptest::prelude::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct, 3, 3];
    v.extend((body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len() as u32;
    let mut v = vec![typ, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(body);
    v
}

fn ext(id: u16, data: &[u8]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend((data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn client_hello(sni: &str) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([0x11; 32]);
    b.push(32);
    b.extend([0x22; 32]);
    b.extend([0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]);
    b.extend([1, 0]);
    let mut name = vec![0];
    name.extend((sni.len() as u16).to_be_bytes());
    name.extend(sni.as_bytes());
    let mut list = (name.len() as u16).to_be_bytes().to_vec();
    list.extend(name);
    let exts = [
        ext(0x1a1a, &[]),
        ext(0, &list),
        ext(10, &[0, 4, 0, 29, 0, 23]),
        ext(11, &[1, 0]),
        ext(
            16,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ][..],
        ),
        ext(13, &[0, 4, 4, 3, 8, 4]),
        ext(43, &[4, 3, 4, 3, 3]),
        ext(51, &[0, 6, 0, 29, 0, 2, 9, 9]),
    ]
    .concat();
    b.extend((exts.len() as u16).to_be_bytes());
    b.extend(exts);
    hs(1, &b)
}

fn server_hello(version_ext: Option<u16>, session_id: &[u8], cipher: u16) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([0x33; 32]);
    b.push(session_id.len() as u8);
    b.extend_from_slice(session_id);
    b.extend(cipher.to_be_bytes());
    b.push(0);
    let mut exts = ext(16, &[0, 3, 2, b'h', b'2']);
    if let Some(v) = version_ext {
        exts.extend(ext(43, &v.to_be_bytes()));
    }
    b.extend((exts.len() as u16).to_be_bytes());
    b.extend(exts);
    hs(2, &b)
}

fn run(p: &mut TlsParser, msgs: &[(Direction, &[u8])]) -> Vec<TlsMessage> {
    let mut out = Vec::new();
    let mut bufs = [Vec::new(), Vec::new()];
    let mut errors = 0;
    for (dir, b) in msgs {
        bufs[dir.index()].extend_from_slice(b);
        feed(p, *dir, &mut bufs[dir.index()], &mut out, &mut errors);
    }
    p.end(C, &mut out);
    p.end(S, &mut out);
    out
}

fn handshakes(out: &[TlsMessage]) -> Vec<&Handshake> {
    out.iter()
        .filter_map(|m| match m {
            TlsMessage::Handshake(h) => Some(&**h),
            _ => None,
        })
        .collect()
}

fn events(out: &[TlsMessage]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|m| match m {
            TlsMessage::Event(e) => Some(e.kind),
            _ => None,
        })
        .collect()
}

fn parser() -> TlsParser {
    TlsParser::new(TlsConfig::default())
}

// ---------------------------------------------------------------------------
// Fingerprints: the worked examples of FoxIO's JA4.md and JA4S.md.

/// JA4.md "Example": 15 ciphers, 16 extensions, h2, its cipher hash 8daaf6152771 and
/// extension hash e5627efa2ab1 → t13d1516h2_8daaf6152771_e5627efa2ab1.
#[test]
fn ja4_spec_example() {
    let ciphers = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let exts = [
        0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
        0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
    ];
    let sigalgs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    assert_eq!(
        ja4('t', 0x0304, true, &ciphers, &exts, Some(b"h2"), &sigalgs),
        "t13d1516h2_8daaf6152771_e5627efa2ab1"
    );
    // GREASE values are ignored everywhere.
    let mut gc = vec![0x0a0a];
    gc.extend(ciphers);
    let mut ge = vec![0xfafa];
    ge.extend(exts);
    assert_eq!(
        ja4('t', 0x0304, true, &gc, &ge, Some(b"h2"), &sigalgs),
        "t13d1516h2_8daaf6152771_e5627efa2ab1"
    );
    // "If there are no signature algorithms … = 6d807ffa2a79".
    assert_eq!(
        sha256_12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"),
        "6d807ffa2a79"
    );
    assert!(ja4('t', 0x0304, true, &ciphers, &exts, Some(b"h2"), &[]).ends_with("_6d807ffa2a79"));
    // Empty lists are 000000000000.
    assert_eq!(
        ja4('t', 0x0303, false, &[], &[], None, &[]),
        "t12i000000_000000000000_000000000000"
    );
}

/// JA4.md "ALPN Extension Value" examples.
#[test]
fn ja4_alpn_rules() {
    assert_eq!(ja4_alpn(Some(b"h2")), "h2");
    assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
    assert_eq!(ja4_alpn(None), "00");
    assert_eq!(ja4_alpn(Some(b"")), "00");
    assert_eq!(ja4_alpn(Some(&[0xab])), "ab");
    assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), "ad");
    assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), "3b");
    assert_eq!(ja4_alpn(Some(&[0x30, 0x31, 0xab, 0xcd])), "3d");
    assert_eq!(ja4_alpn(Some(&[0x30, 0xab, 0xcd, 0x31])), "01");
    assert_eq!(ja4_alpn(Some(b"h")), "hh");
}

/// JA4S.md example: TLS 1.2, extensions 0005,0017,ff01,0000, cipher c030.
#[test]
fn ja4s_spec_example() {
    assert_eq!(
        sha256_12("0005,0017,ff01,0000"),
        "4e8089b08790",
        "JA4S.md: truncated sha256"
    );
    assert_eq!(
        ja4s('t', 0x0303, 0xc030, &[0x0005, 0x0017, 0xff01, 0x0000], None),
        "t120400_c030_4e8089b08790"
    );
}

// ---------------------------------------------------------------------------
// Framing.

fn tls12_flight() -> (Vec<u8>, Vec<u8>) {
    let c = [
        record(22, &client_hello("example.com")),
        record(22, &hs(16, &[0, 2, 1, 2])),
        record(20, &[1]),
        record(22, &[0x55; 40]),
    ]
    .concat();
    let flight = [
        server_hello(None, &[], 0xc02f),
        hs(11, &[0, 0, 0]),
        hs(14, &[]),
    ]
    .concat();
    let s = [
        record(22, &flight),
        record(20, &[1]),
        record(22, &[0x77; 40]),
    ]
    .concat();
    (c, s)
}

fn split_at_first_record(b: &[u8]) -> (&[u8], &[u8]) {
    b.split_at(5 + usize::from(u16::from_be_bytes([b[3], b[4]])))
}

#[test]
fn tls12_handshake_in_order() {
    let (c, s) = tls12_flight();
    let (c1, c2) = split_at_first_record(&c);
    let (s1, s2) = split_at_first_record(&s);
    let mut p = parser();
    let out = run(&mut p, &[(C, c1), (S, s1), (C, c2), (S, s2)]);
    let h = handshakes(&out);
    assert_eq!(h.len(), 1, "{out:?}");
    let h = h[0];
    assert!(h.complete);
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(
        h.cipher_suite.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(h.sni(), Some("example.com"));
    assert_eq!(h.alpn(), Some("h2"));
    let ch = h.client_hello.as_ref().unwrap();
    assert_eq!(
        ch.cipher_suites,
        [
            "GREASE",
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    assert_eq!(ch.supported_groups, ["x25519", "secp256r1"]);
    assert_eq!(ch.key_share_groups, ["x25519"]);
    assert_eq!(
        ch.signature_algorithms,
        ["ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"]
    );
    assert_eq!(ch.supported_versions, ["TLS 1.3", "TLS 1.2"]);
    assert_eq!(ch.ec_point_formats, ["uncompressed"]);
    assert_eq!(ch.extensions[0].name, "GREASE");
    assert_eq!(ch.extensions[1].name, "server_name");
    assert_eq!(ch.session_id_len, 32);
    // JA3: GREASE left out of ciphers and extensions.
    assert_eq!(
        h.ja3_full.as_deref(),
        Some("771,4865-49199,0-10-11-16-13-43-51,29-23,0")
    );
    assert_eq!(h.ja3s_full.as_deref(), Some("771,49199,16"));
    let kinds: Vec<_> = h
        .messages
        .iter()
        .map(|m| (m.dir, m.kind, m.encrypted))
        .collect();
    assert_eq!(
        kinds,
        [
            (C, "client_hello", false),
            (S, "server_hello", false),
            (S, "certificate", false),
            (S, "server_hello_done", false),
            (C, "client_key_exchange", false),
            (C, "finished", true),
            (S, "finished", true),
        ]
    );
    // All three server messages end with the first server record.
    let first_end = (5 + s[3] as usize * 256 + s[4] as usize) as u64;
    assert!(h.messages[1..4].iter().all(|m| m.record_end == first_end));
    assert!(!h.resumed);
    assert_eq!(h.encrypted_records, [1, 1]);
}

/// The same bytes fed one byte at a time give the same output.
#[test]
fn byte_by_byte() {
    let (c, s) = tls12_flight();
    let whole = run(&mut parser(), &[(C, &c), (S, &s)]);
    let mut msgs: Vec<(Direction, &[u8])> = Vec::new();
    for i in 0..c.len().max(s.len()) {
        if let Some(b) = c.get(i..i + 1) {
            msgs.push((C, b));
        }
        if let Some(b) = s.get(i..i + 1) {
            msgs.push((S, b));
        }
    }
    let bytes = run(&mut parser(), &msgs);
    assert_eq!(handshakes(&whole).len(), 1);
    let (a, b) = (handshakes(&whole)[0], handshakes(&bytes)[0]);
    assert_eq!(a.client_hello, b.client_hello);
    assert_eq!(a.server_hello, b.server_hello);
    assert_eq!(a.messages.len(), b.messages.len());
    assert_eq!(a.ja4, b.ja4);
}

/// A ClientHello split over three records, and several records in one feed.
#[test]
fn message_across_three_records() {
    let ch = client_hello("three.example");
    let (a, rest) = ch.split_at(3);
    let (b, c) = rest.split_at(40);
    let bytes = [record(22, a), record(22, b), record(22, c)].concat();
    let mut p = parser();
    let mut out = Vec::new();
    let r = p.parse(C, &bytes, &mut out).unwrap();
    assert_eq!(r.consumed, bytes.len());
    // The message is in progress while its first record is held.
    p.end(C, &mut out);
    p.end(S, &mut out);
    let h = handshakes(&out);
    assert_eq!(h[0].sni(), Some("three.example"));
    assert_eq!(h[0].messages.len(), 1);
    assert_eq!(h[0].messages[0].record_end, bytes.len() as u64);
}

#[test]
fn low_water_holds_a_split_message() {
    let ch = client_hello("lw.example");
    let (a, b) = ch.split_at(20);
    let r1 = record(22, a);
    let mut p = parser();
    let mut out = Vec::new();
    p.parse(C, &r1, &mut out).unwrap();
    assert_eq!(p.low_water(C), 0);
    p.parse(C, &record(22, b), &mut out).unwrap();
    // The handshake in progress still starts at 0.
    assert_eq!(p.low_water(C), 0);
}

#[test]
fn tls13_server_hello_encrypts_both_ways() {
    let c = record(22, &client_hello("a.example"));
    let s = [
        record(22, &server_hello(Some(0x0304), &[0x22; 32], 0x1301)),
        record(20, &[1]),
        record(23, &[0x42; 100]),
        record(23, &[0x43; 50]),
    ]
    .concat();
    let mut p = parser();
    let mut out = Vec::new();
    let mut errs = 0;
    feed(&mut p, C, &mut c.clone(), &mut out, &mut errs);
    feed(&mut p, S, &mut s.clone(), &mut out, &mut errs);
    assert!(
        handshakes(&out).is_empty(),
        "not before the client's encrypted Finished"
    );
    let cf = [record(20, &[1]), record(23, &[0x44; 60])].concat();
    feed(&mut p, C, &mut cf.clone(), &mut out, &mut errs);
    let h = handshakes(&out);
    assert_eq!(h.len(), 1);
    assert!(h[0].complete);
    assert_eq!(h[0].version.as_deref(), Some("TLS 1.3"));
    assert_eq!(h[0].encrypted_records, [1, 2]);
    assert_eq!(errs, 0);
    // After the handshake: alerts are their own messages; here the records are encrypted.
    let mut out2 = Vec::new();
    feed(
        &mut p,
        S,
        &mut record(21, &[0x99; 19]),
        &mut out2,
        &mut errs,
    );
    assert!(out2.is_empty());
}

#[test]
fn tls12_resumption_by_session_id() {
    let mut ch = client_hello("r.example");
    ch[4 + 2 + 32 + 1] = 0x22; // session id bytes are all 0x22 already
    let c = record(22, &ch);
    let s = [
        record(22, &server_hello(None, &[0x22; 32], 0xc02f)),
        record(20, &[1]),
        record(22, &[0x77; 40]),
    ]
    .concat();
    let cf = [record(20, &[1]), record(22, &[0x78; 40])].concat();
    let out = run(&mut parser(), &[(C, &c), (S, &s), (C, &cf)]);
    let h = handshakes(&out);
    assert!(h[0].resumed && h[0].complete, "{:?}", h[0]);
    assert!(h[0].summary().contains(" resumed"));
}

#[test]
fn fatal_alert_cuts_short_and_later_alerts_are_messages() {
    let c = record(22, &client_hello("x.example"));
    let s = [record(21, &[2, 40]), record(21, &[1, 0])].concat();
    let out = run(&mut parser(), &[(C, &c), (S, &s)]);
    let h = handshakes(&out);
    assert!(!h[0].complete);
    assert_eq!(h[0].alerts.len(), 1);
    assert_eq!(h[0].alerts[0].description, "handshake_failure");
    assert_eq!(h[0].alerts[0].level, "fatal");
    assert!(
        h[0].summary().ends_with(" alert=handshake_failure"),
        "{}",
        h[0].summary()
    );
    let later: Vec<_> = out
        .iter()
        .filter_map(|m| match m {
            TlsMessage::Alert { alert, offset, .. } => Some((alert.description, *offset)),
            _ => None,
        })
        .collect();
    assert_eq!(later, [("close_notify", 7)]);
}

#[test]
fn sslv2_client_hello() {
    // SSLv2 CLIENT-HELLO (v3.1 compatible): 3 cipher specs, no session id, 16-byte challenge.
    let mut b = vec![0x80, 0, 1, 3, 1, 0, 9, 0, 0, 0, 16];
    b.extend([0, 0, 0x2f, 0, 0, 0x35, 0x07, 0x00, 0xc0]);
    b.extend([0xcc; 16]);
    b[1] = (b.len() - 2) as u8;
    let input = ProbeInput {
        data: &b,
        src_port: 40000,
        dst_port: 443,
    };
    let pr = TlsParser::probe(&input);
    assert_eq!(
        (pr.verdict, pr.sender),
        (Verdict::Certain, Some(Role::Client))
    );
    let out = run(&mut parser(), &[(C, &b)]);
    assert_eq!(events(&out), ["sslv2-hello"]);
    let h = handshakes(&out);
    let ch = h[0].client_hello.as_ref().unwrap();
    assert!(ch.sslv2);
    assert_eq!(ch.legacy_version, "TLS 1.0");
    assert_eq!(
        ch.cipher_suites,
        [
            "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "SSL2_0x0700c0"
        ]
    );
    assert_eq!(h[0].messages[0].kind, "sslv2_client_hello");
}

#[test]
fn oversized_record_resyncs() {
    let mut bad = vec![22, 3, 3, 0x50, 0x00];
    bad.extend([0u8; 10]);
    let good = record(22, &client_hello("after.example"));
    let bytes = [bad, good].concat();
    let out = run(&mut parser(), &[(C, &bytes)]);
    assert_eq!(events(&out), ["record-too-large"]);
    assert_eq!(handshakes(&out)[0].sni(), Some("after.example"));
}

#[test]
fn garbage_is_an_error_then_resync() {
    let good = record(22, &client_hello("g.example"));
    let bytes = [b"hello garbage".to_vec(), good].concat();
    let mut p = parser();
    let mut out = Vec::new();
    let e = p.parse(C, &bytes, &mut out).unwrap_err();
    assert_eq!((e.kind, e.offset), ("bad-record", 0));
    let r = p.parse(C, &bytes, &mut out).unwrap();
    assert_eq!(r.consumed, bytes.len());
    p.end(C, &mut out);
    p.end(S, &mut out);
    assert_eq!(handshakes(&out)[0].sni(), Some("g.example"));
}

#[test]
fn handshake_message_cap() {
    let cfg = TlsConfig {
        max_handshake_message: 256,
        ..TlsConfig::default()
    };
    let big = hs(11, &[7u8; 500]);
    let bytes = [
        record(22, &client_hello("cap.example")),
        record(22, &big[..200]),
        record(22, &big[200..]),
    ]
    .concat();
    let out = run(&mut TlsParser::new(cfg), &[(C, &bytes)]);
    assert_eq!(events(&out), ["handshake-too-large"], "{out:?}");
    let h = handshakes(&out);
    assert_eq!(h[0].messages.len(), 2);
}

#[test]
fn certificate_cap() {
    // Real certificates: the chain of zeek_tls_ecdhe.pcap (3), capped at 1.
    let conn = &connections(&pcap("zeek_tls_ecdhe.pcap"))[0];
    let cfg = TlsConfig {
        max_certificates: 1,
        ..TlsConfig::default()
    };
    let d = common::drive(conn, cfg);
    let h = d.handshakes()[0].clone();
    assert_eq!(h.certificates.len(), 1);
    assert_eq!(h.certificate_count, 3);
}

#[test]
fn truncated_and_malformed() {
    // A record cut in the middle, then the end: nothing complete, no panic.
    let r = record(22, &client_hello("t.example"));
    let out = run(&mut parser(), &[(C, &r[..50])]);
    assert!(handshakes(&out).is_empty());
    // A ClientHello whose message length is consistent but whose body stops early.
    let mut body = vec![3, 3];
    body.extend([0; 20]);
    let out = run(&mut parser(), &[(C, &record(22, &hs(1, &body)))]);
    assert_eq!(events(&out), ["malformed-hello"]);
    let h = handshakes(&out);
    assert!(h[0].client_hello.as_ref().unwrap().malformed);
    assert_eq!(h[0].ja3, None);
}

#[test]
fn gap_cuts_short() {
    let c = record(22, &client_hello("gap.example"));
    let mut p = parser();
    let mut out = Vec::new();
    let mut e = 0;
    feed(&mut p, C, &mut c.clone(), &mut out, &mut e);
    p.gap(S, 100, &mut out);
    assert_eq!(events(&out), ["gap"]);
    assert!(!handshakes(&out)[0].complete);
}

#[test]
fn probes() {
    let pr = |d: &[u8], port: u16| {
        TlsParser::probe(&ProbeInput {
            data: d,
            src_port: 50000,
            dst_port: port,
        })
    };
    let ch = record(22, &client_hello("p.example"));
    assert_eq!(pr(&ch, 1234).verdict, Verdict::Certain);
    assert_eq!(pr(&ch, 1234).sender, Some(Role::Client));
    let sh = record(22, &server_hello(None, &[], 0xc02f));
    assert_eq!(pr(&sh, 1234).sender, Some(Role::Server));
    assert_eq!(pr(&ch[..3], 1234).verdict, Verdict::Unsure);
    assert_eq!(pr(&[], 443).verdict, Verdict::Unsure);
    assert_eq!(pr(&[], 80).verdict, Verdict::NotMine);
    assert_eq!(pr(b"GET / HTTP/1.1\r\n", 443).verdict, Verdict::NotMine);
    assert_eq!(pr(&record(23, &[1, 2, 3]), 443).verdict, Verdict::NotMine);
    assert_eq!(
        pr(&[22, 3, 3, 0xff, 0xff, 1], 443).verdict,
        Verdict::NotMine
    );
    assert_eq!(
        pr(&record(22, &hs(11, &[0, 0, 0])), 443).verdict,
        Verdict::NotMine
    );
}

// ---------------------------------------------------------------------------
// Properties.

/// Replays a capture's events with every data event cut in pieces of `sizes`.
fn replay_chunked(conn: &common::Conn, sizes: &[usize]) -> Vec<Handshake> {
    let mut p = parser();
    let mut bufs = [Vec::new(), Vec::new()];
    let mut out = Vec::new();
    let mut e = 0;
    let mut k = 0;
    for ev in &conn.evs {
        if let Ev::Data { side, data, .. } = ev {
            let dir = conn.dir(*side);
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = sizes[k % sizes.len()].clamp(1, rest.len());
                k += 1;
                bufs[dir.index()].extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                feed(&mut p, dir, &mut bufs[dir.index()], &mut out, &mut e);
            }
        }
    }
    p.end(C, &mut out);
    p.end(S, &mut out);
    handshakes(&out).into_iter().cloned().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(c in proptest::collection::vec(any::<u8>(), 0..600),
                                s in proptest::collection::vec(any::<u8>(), 0..600),
                                prefix in any::<bool>()) {
        let mut p = parser();
        let mut out = Vec::new();
        let mut e = 0;
        // Half of the cases start with a valid ClientHello so deeper states are reached.
        let mut cb = if prefix { record(22, &client_hello("f.example")) } else { Vec::new() };
        cb.extend(&c);
        let mut sb = if prefix { vec![22, 3, 3] } else { Vec::new() };
        sb.extend(&s);
        for chunk in cb.chunks(7) {
            let mut b = chunk.to_vec();
            feed(&mut p, C, &mut b, &mut out, &mut e);
        }
        feed(&mut p, S, &mut sb, &mut out, &mut e);
        p.gap(C, 3, &mut out);
        p.end(C, &mut out);
        p.end(S, &mut out);
        for m in &out {
            if let TlsMessage::Handshake(h) = m {
                let _ = h.summary();
                serde_json::to_string(h).unwrap();
            }
        }
        let _ = TlsParser::probe(&ProbeInput { data: &cb, src_port: 1, dst_port: 443 });
    }

    #[test]
    fn chunking_does_not_change_the_result(sizes in proptest::collection::vec(1usize..300, 1..8)) {
        for name in ["zeek_tls_chrome-34-google.pcap", "zeek_tls_hrr.pcap", "suricata-verify_tls-alpn.pcap"] {
            let conn = &connections(&pcap(name))[0];
            let whole = replay_chunked(conn, &[usize::MAX]);
            let chunked = replay_chunked(conn, &sizes);
            prop_assert_eq!(whole, chunked);
        }
    }
}

/// Found by fuzzing: the certificate cap holds over several Certificate messages.
#[test]
fn certificate_cap_over_several_messages() {
    let one = |b: u8| hs(11, &[0, 0, 7, 0, 0, 4, 0x30, 2, b, 0]);
    let s = record(
        22,
        &[server_hello(None, &[], 0xc02f), one(1), one(2)].concat(),
    );
    let cfg = TlsConfig {
        max_certificates: 1,
        ..TlsConfig::default()
    };
    let out = run(
        &mut TlsParser::new(cfg),
        &[(C, &record(22, &client_hello("c.example"))), (S, &s)],
    );
    let h = handshakes(&out)[0];
    assert_eq!((h.certificates.len(), h.certificate_count), (1, 2));
    assert!(h.certificates[0].error.is_some());
}

/// Found by fuzzing: an encrypted handshake record is listed once it is whole, so its
/// `record_end` never lies past the bytes seen.
#[test]
fn encrypted_finished_listed_when_whole() {
    let (c, s) = tls12_flight();
    let (s1, s2) = split_at_first_record(&s);
    let mut p = parser();
    let mut out = Vec::new();
    let mut e = 0;
    let (c1, c2) = split_at_first_record(&c);
    feed(&mut p, C, &mut c1.to_vec(), &mut out, &mut e);
    feed(&mut p, S, &mut s1.to_vec(), &mut out, &mut e);
    feed(&mut p, C, &mut c2.to_vec(), &mut out, &mut e);
    // CCS and the header plus 3 bytes of the encrypted Finished.
    let mut part = s2[..6 + 5 + 3].to_vec();
    feed(&mut p, S, &mut part, &mut out, &mut e);
    assert!(handshakes(&out).is_empty());
    let mut rest = [&part[..], &s2[6 + 5 + 3..]].concat();
    feed(&mut p, S, &mut rest, &mut out, &mut e);
    let h = handshakes(&out);
    let last = h[0].messages.last().unwrap();
    assert_eq!(
        (last.kind, last.record_end),
        ("finished", (s1.len() + s2.len()) as u64)
    );
}
