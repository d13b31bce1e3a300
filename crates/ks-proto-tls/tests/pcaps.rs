//! `TlsParser` over the TLS captures of `testdata/pcap/tls/`, compared with their
//! tshark 4.0.17 references (`*.tshark.json`), with JA3/JA3S strings printed by
//! `tshark -e tls.handshake.ja3_full -e tls.handshake.ja3 / ja3s`, and with
//! certificates as printed by `openssl x509 -nameopt RFC2253` on the DER that
//! `tshark -e tls.handshake.certificate` extracted.

mod common;

use std::collections::BTreeMap;

use common::{connections, drive, pcap, reference, Driven};
use ks_proto::Direction;
use ks_proto_tls::names::{cipher_name, version_name};
use ks_proto_tls::{Handshake, TlsConfig};

fn hex16(s: &str) -> u16 {
    u16::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Per capture: every connection's handshake against the reference frames.
fn check_capture(stem: &str) -> Vec<(Driven, Vec<Handshake>)> {
    let refs = reference(stem);
    let mut res = Vec::new();
    for conn in connections(&pcap(&format!("{stem}.pcap"))) {
        let dv = drive(&conn, TlsConfig::default());
        assert_eq!(dv.errors, 0, "{stem} stream {}: parse errors", conn.stream);
        let hs: Vec<Handshake> = dv.handshakes().into_iter().cloned().collect();
        assert_eq!(hs.len(), 1, "{stem} stream {}: {:?}", conn.stream, dv.out);
        let h = &hs[0];
        let frames: Vec<_> = refs.iter().filter(|r| r.stream == conn.stream).collect();
        // Handshake types per frame and direction, plaintext messages only.
        let mut ours: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for m in h.messages.iter().filter(|m| !m.encrypted) {
            ours.entry(dv.frame_of(m.dir, m.record_end))
                .or_default()
                .push(m.code.to_string());
        }
        let theirs: BTreeMap<u64, Vec<String>> = frames
            .iter()
            .filter(|r| !r.list("tls.handshake.type").is_empty())
            .map(|r| (r.frame, r.list("tls.handshake.type")))
            .collect();
        assert_eq!(
            ours, theirs,
            "{stem} stream {}: handshake types per frame",
            conn.stream
        );
        // Hellos.
        let ch_frame = dv.frame_of(
            Direction::ToServer,
            h.messages.iter().find(|m| m.code == 1).unwrap().record_end,
        );
        let chr = frames.iter().find(|r| r.frame == ch_frame).unwrap();
        let ch = h.client_hello.as_ref().unwrap();
        assert_eq!(
            ch.sni.clone().into_iter().collect::<Vec<_>>(),
            chr.list("tls.handshake.extensions_server_name"),
            "{stem}: sni"
        );
        assert_eq!(
            ch.alpn,
            chr.list("tls.handshake.extensions_alpn_str"),
            "{stem}: alpn offered"
        );
        // Reference lists longer than 64 values end with "…[+N values]".
        let offered: Vec<String> = chr
            .list("tls.handshake.ciphersuite")
            .iter()
            .take_while(|c| !c.starts_with('…'))
            .map(|c| cipher_name(hex16(c)))
            .collect();
        assert_eq!(
            ch.cipher_suites[..offered.len()],
            offered[..],
            "{stem}: cipher suites offered"
        );
        let svs: Vec<String> = chr
            .list("tls.handshake.extensions.supported_version")
            .iter()
            .map(|c| version_name(hex16(c)))
            .collect();
        assert_eq!(ch.supported_versions, svs, "{stem}: supported_versions");
        if let Some(m) = h.messages.iter().rev().find(|m| m.code == 2) {
            let shr = frames
                .iter()
                .find(|r| r.frame == dv.frame_of(Direction::ToClient, m.record_end))
                .unwrap();
            let sh = h.server_hello.as_ref().unwrap();
            let v = shr
                .list("tls.handshake.extensions.supported_version")
                .first()
                .cloned()
                .unwrap_or_else(|| shr.list("tls.handshake.version")[0].clone());
            assert_eq!(
                h.version.as_deref(),
                Some(version_name(hex16(&v)).as_str()),
                "{stem}: version"
            );
            let cs = cipher_name(hex16(&shr.list("tls.handshake.ciphersuite")[0]));
            assert_eq!(
                h.cipher_suite.as_deref(),
                Some(cs.as_str()),
                "{stem}: cipher"
            );
            assert_eq!(
                sh.alpn.clone().into_iter().collect::<Vec<_>>(),
                shr.list("tls.handshake.extensions_alpn_str")
            );
        }
        // Alerts before the handshake ended.
        let alerts: Vec<String> = frames
            .iter()
            .flat_map(|r| r.list("tls.alert_message.desc"))
            .collect();
        for a in &h.alerts {
            assert!(
                alerts.contains(&a.code.to_string()),
                "{stem}: alert {a:?} not in {alerts:?}"
            );
        }
        assert!(h
            .summary()
            .starts_with(&h.version.clone().unwrap_or("tls".into()).to_lowercase()));
        serde_json::to_string(h).unwrap();
        res.push((dv, hs));
    }
    res
}

fn one(stem: &str) -> Handshake {
    let mut v = check_capture(stem);
    assert_eq!(v.len(), 1);
    v.remove(0).1.remove(0)
}

/// RFC 2253 (openssl) order is the reverse of the DER order x509-parser prints.
fn der_order(rfc2253: &str) -> String {
    rfc2253.split(',').rev().collect::<Vec<_>>().join(", ")
}

#[test]
fn chrome_34_google() {
    let h = one("zeek_tls_chrome-34-google");
    assert_eq!(h.sni(), Some("google.de"));
    assert_eq!(h.alpn(), Some("spdy/3.1"));
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(
        h.cipher_suite.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    // tshark 4.0.17.
    assert_eq!(
        h.ja3_full.as_deref(),
        Some("771,49195-49199-158-52244-52243-49162-49161-49171-49172-49159-49169-51-50-57-156-47-53-10-5-4,0-65281-10-11-35-13172-16-30032-5-13-18,23-24-25,0")
    );
    assert_eq!(h.ja3.as_deref(), Some("a607f3a5c94c2ee592af1456f36c8367"));
    assert_eq!(
        h.ja3s_full.as_deref(),
        Some("771,49199,0-65281-11-35-30032-16")
    );
    assert_eq!(h.ja3s.as_deref(), Some("9f5e2e0d84076af5475bbe44debdb03e"));
    // openssl x509 on the chain tshark extracted.
    assert_eq!(h.certificates.len(), 3);
    let c = &h.certificates[0];
    assert_eq!(
        c.subject,
        der_order("CN=*.google.de,O=Google Inc,L=Mountain View,ST=California,C=US")
    );
    assert_eq!(
        c.issuer,
        der_order("CN=Google Internet Authority G2,O=Google Inc,C=US")
    );
    assert_eq!(c.serial, "5f16e91e8e863f49");
    assert_eq!(c.not_before, "2014-04-09T12:07:45Z");
    assert_eq!(c.not_after, "2014-07-08T00:00:00Z");
    assert_eq!(c.key_type, "RSA 2048");
    assert_eq!(c.san, ["*.google.de", "google.de"]);
    assert!(!c.self_signed);
    assert_eq!(h.certificates[1].serial, "023a69");
    assert_eq!(
        h.certificates[2].issuer,
        der_order("OU=Equifax Secure Certificate Authority,O=Equifax,C=US")
    );
    assert!(h.complete && !h.resumed && !h.hello_retry);
    // Server Finished after CCS, encrypted.
    assert!(h
        .messages
        .iter()
        .any(|m| m.encrypted && m.kind == "finished" && m.dir == Direction::ToClient));
    assert_eq!(
        h.summary(),
        format!(
            "tls 1.2 sni=google.de alpn=spdy/3.1 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ja4={}",
            h.ja4.as_deref().unwrap()
        )
    );
}

#[test]
fn ecdhe() {
    let h = one("zeek_tls_ecdhe");
    assert_eq!(h.sni(), None);
    assert_eq!(
        h.ja3_full.as_deref(),
        Some("771,49172-255,11-10-35-13-15,14-13-25-11-12-24-9-10-22-23-8-6-7-20-21-4-5-18-19-1-2-3-15-16-17,0-1-2")
    );
    assert_eq!(h.ja3.as_deref(), Some("29d8afc9e0a4d38d138ec2643966815f"));
    assert_eq!(h.ja3s_full.as_deref(), Some("771,49172,65281-11-35"));
    assert_eq!(h.ja3s.as_deref(), Some("a8d2a5625ef8f3aada2fb53dad3f2921"));
    let c = &h.certificates[0];
    assert_eq!(
        c.subject,
        der_order("CN=*.google.com,O=Google Inc,L=Mountain View,ST=California,C=US")
    );
    assert_eq!(c.serial, "1e58fdc12de4c703");
    assert!(c.san.len() > 20 && c.san[0] == "*.google.com");
    assert_eq!(
        h.certificates[2].subject,
        der_order("CN=GeoTrust Global CA,O=GeoTrust Inc.,C=US")
    );
    assert!(h.complete);
}

#[test]
fn suricata_alpn() {
    let h = one("suricata-verify_tls-alpn");
    assert_eq!(h.sni(), Some("p130-contacts.icloud.com"));
    assert_eq!(h.client_hello.as_ref().unwrap().alpn, ["h2", "http/1.1"]);
    assert_eq!(h.alpn(), Some("http/1.1"));
    assert_eq!(
        h.ja3_full.as_deref(),
        Some("771,4865-4866-4867-49196-49195-52393-49200-49199-52392-49162-49161-49172-49171-157-156-53-47-49160-49170-10,0-23-65281-10-11-16-5-13-18-51-45-43-27-21,29-23-24-25,0")
    );
    assert_eq!(h.ja3.as_deref(), Some("773906b0efdefa24a7f2b8eb6985bf37"));
    assert_eq!(h.ja3s_full.as_deref(), Some("771,49196,65281-0-11-5-16-23"));
    assert_eq!(h.ja3s.as_deref(), Some("9b340edddb1203ae20167d3089fa10af"));
    let c = &h.certificates[0];
    assert_eq!(
        c.subject,
        der_order("CN=p127-contacts.icloud.com,O=Apple Inc.,ST=California,C=US")
    );
    assert_eq!(
        c.issuer,
        der_order("C=US,O=Apple Inc.,OU=Certification Authority,CN=Apple IST CA 2 - G1")
    );
    assert_eq!(c.serial, "4a96b3d35f90e449e4d7ed85d49e0943");
    assert_eq!(c.key_type, "EC P-256");
    assert_eq!(c.not_before, "2023-10-23T11:42:34Z");
    assert_eq!(c.not_after, "2024-11-21T11:42:33Z");
    assert!(c.san.contains(&"p130-contacts.icloud.com".to_string()));
    assert_eq!(h.certificates[1].key_type, "RSA 2048");
    // certificate_status (22) came in the same frame as ServerKeyExchange.
    assert!(h.messages.iter().any(|m| m.kind == "certificate_status"));
}

#[test]
fn hello_retry_request() {
    let h = one("zeek_tls_hrr");
    assert!(h.hello_retry);
    assert_eq!(h.version.as_deref(), Some("TLS 1.3"));
    assert_eq!(h.cipher_suite.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
    let kinds: Vec<_> = h.messages.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [
            "client_hello",
            "server_hello",
            "client_hello",
            "server_hello"
        ]
    );
    assert!(!h.server_hello.as_ref().unwrap().hello_retry_request);
    assert_eq!(h.ja3.as_deref(), Some("0f14b679807628ec7f9c02cada3ee941"));
    assert_eq!(
        h.ja3_full.as_deref(),
        Some("771,4866-4867-4865-255,11-10-35-22-23-13-43-45-51,21-23-24,0-1-2")
    );
    // tshark (frame 11, out of order): JA3S of the final ServerHello (the
    // HelloRetryRequest of frame 6 has 771,4866,43-51 = 15af977ce25de452b96affa2addb1036).
    assert_eq!(h.ja3s_full.as_deref(), Some("771,4866,51-43"));
    assert_eq!(h.ja3s.as_deref(), Some("907bf3ecef1c987c889946b737b43de8"));
    assert!(h.complete);
    assert!(h.summary().ends_with(" hrr"), "{}", h.summary());
    assert!(h.encrypted_records[1] > 0);
}

/// Every capture of `testdata/pcap/tls/` (also `ks_tls*`, made with openssl on
/// loopback, several connections each) against its reference.
#[test]
fn all_captures() {
    let mut n = 0;
    for e in std::fs::read_dir(pcap("")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".pcap") {
            let hs = check_capture(stem);
            assert!(!hs.is_empty());
            n += 1;
        }
    }
    assert!(n >= 4);
}

/// JA4 / JA4S printed by FoxIO's `ja4plus analyze` 1.4.0 (PyPI) on the captures:
/// (capture, client port, JA4 of the first ClientHello, JA4S of the last ServerHello).
const JA4PLUS: &[(&str, u16, &str, Option<&str>)] = &[
    (
        "ks_tls12_h1.pcap",
        49394,
        "t12d0207h1_b06afd972a5c_a44c6288192a",
        Some("t1205h1_c02f_8763c20bf469"),
    ),
    (
        "ks_tls12_h1.pcap",
        49406,
        "t12d0207h1_f09d9ff7e6fc_a44c6288192a",
        Some("t1205h1_c030_8763c20bf469"),
    ),
    (
        "ks_tls12_h1.pcap",
        49408,
        "t12d0207h1_c5d8418a506e_a44c6288192a",
        Some("t1205h1_cca8_8763c20bf469"),
    ),
    (
        "ks_tls12_h1.pcap",
        49414,
        "t12d0207h1_24f557f1cbee_a44c6288192a",
        Some("t1206h1_c027_3d6a49a48498"),
    ),
    (
        "ks_tls12_h1.pcap",
        49430,
        "t12d0207h1_d0ac5cb1209a_a44c6288192a",
        Some("t1206h1_c014_3d6a49a48498"),
    ),
    (
        "ks_tls12_h2.pcap",
        51916,
        "t12d0207h2_6d4732649639_a44c6288192a",
        Some("t1205h2_c02b_8763c20bf469"),
    ),
    (
        "ks_tls12_h2.pcap",
        51928,
        "t12d0207h2_14e71d778212_a44c6288192a",
        Some("t1205h2_cca9_8763c20bf469"),
    ),
    (
        "ks_tls12_resume.pcap",
        45412,
        "t12d2808h1_d943125447b4_e7e480e5a997",
        Some("t1206h1_c02f_17136cd5846b"),
    ),
    (
        "ks_tls12_resume.pcap",
        45418,
        "t12d2808h1_d943125447b4_e7e480e5a997",
        Some("t1203h1_c02f_f90b16d5c5e4"),
    ),
    (
        "ks_tls12_resume.pcap",
        45420,
        "t12d2807h1_d943125447b4_a44c6288192a",
        Some("t1205h1_c02f_8763c20bf469"),
    ),
    (
        "ks_tls12_resume.pcap",
        45432,
        "t12d2807h1_d943125447b4_a44c6288192a",
        Some("t1203h1_c02f_f90b16d5c5e4"),
    ),
    (
        "ks_tls13_h1.pcap",
        32786,
        "t13d0211h1_ec078ce24869_303c7117418d",
        Some("t130200_1301_a56c5b993250"),
    ),
    (
        "ks_tls13_h1.pcap",
        32792,
        "t13d0211h1_9d5106e3f751_303c7117418d",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls13_h1.pcap",
        32796,
        "t13d0211h1_bb76221c5b8c_303c7117418d",
        Some("t130200_1303_a56c5b993250"),
    ),
    (
        "ks_tls13_h2.pcap",
        49386,
        "t13d0411h2_16476d049b0b_303c7117418d",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls13_keyupdate.pcap",
        51936,
        "t13d0411h1_16476d049b0b_78f1d400d464",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls13_resume.pcap",
        50450,
        "t13d0411h1_16476d049b0b_78f1d400d464",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls13_resume.pcap",
        50458,
        "t13d0412h1_16476d049b0b_6775ac8fe30b",
        Some("t130300_1302_0ee26285a86f"),
    ),
    (
        "ks_tls13_resume.pcap",
        50460,
        "t13d0413h1_16476d049b0b_2226a1d1dedf",
        Some("t130300_1302_0ee26285a86f"),
    ),
    (
        "ks_tls_alert.pcap",
        48630,
        "t13d0411h1_16476d049b0b_303c7117418d",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls_alert.pcap",
        48644,
        "t12d2807h1_d943125447b4_a44c6288192a",
        Some("t1205h1_c030_8763c20bf469"),
    ),
    (
        "ks_tls_alert.pcap",
        48648,
        "t12d2807h1_d943125447b4_a44c6288192a",
        None,
    ),
    (
        "ks_tls_wrongkey.pcap",
        48602,
        "t13d0411h1_16476d049b0b_303c7117418d",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ks_tls_wrongkey.pcap",
        48616,
        "t12d0207h1_b06afd972a5c_a44c6288192a",
        Some("t1205h1_c02f_8763c20bf469"),
    ),
    (
        "ks_tls_wrongkey.pcap",
        48620,
        "t13d0411h1_16476d049b0b_303c7117418d",
        Some("t130200_1302_a56c5b993250"),
    ),
    (
        "ndpi_443-curl.pcap",
        55523,
        "t12d6707h2_2955a3196ffa_c83f907a73d3",
        Some("t1204h2_c02f_7cc3d1d7f9b5"),
    ),
    (
        "suricata-verify_tls-alpn.pcap",
        55349,
        "t13d2014h2_a09f3c656075_14788d8d241b",
        Some("t1206h1_c02c_46cf7c3c6b8f"),
    ),
    (
        "zeek_tls_chrome-34-google.pcap",
        55881,
        "t12d2011s3_8dd61975155f_06a4338d0495",
        Some("t1206s1_c02f_4c0410f049b8"),
    ),
    (
        "zeek_tls_client-certificate.pcap",
        49480,
        "t13d1715h2_5b57614c22b0_3d5424432f57",
        Some("t1206h1_c030_17136cd5846b"),
    ),
    (
        "zeek_tls_ecdhe.pcap",
        56981,
        "t12i020500_d0ac5cb1209a_a1e935682795",
        Some("t120300_c014_bec8bdbaef8a"),
    ),
    (
        "zeek_tls_hrr.pcap",
        63564,
        "t13i040900_16476d049b0b_78f1d400d464",
        Some("t130200_1302_234ea6891581"),
    ),
    (
        "zeek_tls_ocsp-stapling.pcap",
        56253,
        "t10i520500_80f1d282cb34_1145ce3ea6e0",
        Some("t100200_c014_fee41c0d62a8"),
    ),
];

#[test]
fn ja4_against_ja4plus() {
    let mut checked = 0;
    for (file, port, ja4, ja4s) in JA4PLUS {
        let path = pcap(file);
        if !path.exists() {
            continue;
        }
        let conns = connections(&path);
        let conn = conns.iter().find(|c| c.client_port == *port).unwrap();
        let d = drive(conn, TlsConfig::default());
        let h = d.handshakes()[0].clone();
        assert_eq!(h.ja4.as_deref(), Some(*ja4), "{file} {port}");
        assert_eq!(h.ja4s.as_deref(), *ja4s, "{file} {port}");
        checked += 1;
    }
    assert!(checked >= 6, "{checked}");
}

/// zeek_tls_client-certificate.pcap: the client's chain (frame 15), and JA3/JA3S
/// from tshark 4.0.17.
#[test]
fn client_certificate() {
    let h = one("zeek_tls_client-certificate");
    assert_eq!(h.ja3.as_deref(), Some("579ccef312d18482fc42e2b822ca2430"));
    assert_eq!(h.ja3s.as_deref(), Some("d154fcfa5bb4f0748e1dd1992c681104"));
    assert_eq!(h.sni(), Some("certauth.idrix.fr"));
    let c = &h.client_certificates[0];
    assert_eq!(c.subject, "CN=johanna@corelight.com");
    assert_eq!(
        c.issuer,
        der_order("CN=Actalis Client Authentication CA G3,O=Actalis S.p.A.,L=Ponte San Pietro,ST=Bergamo,C=IT")
    );
    assert_eq!(c.serial, "075da21171a41241766cc01ca59852b1");
    assert_eq!(
        (c.not_before.as_str(), c.not_after.as_str()),
        ("2023-02-28T15:59:27Z", "2024-02-28T15:59:27Z")
    );
    assert!(h.certificates[0].subject.contains("CN=certauth.idrix.fr"));
}

/// JA3/JA3S of the other public captures, from tshark 4.0.17.
#[test]
fn ja3_other_captures() {
    for (stem, ja3, ja3s) in [
        (
            "ndpi_443-curl",
            "2a26b1a62e40d25d4de3babc9d532f30",
            "ae53107a2e47ea20c72ac44821a728bf",
        ),
        (
            "zeek_tls_ocsp-stapling",
            "cc20531a832a9f80fe3a2c05b3ec1bb5",
            "e69f6e9634d5dabcd8f3162b12fe4fbf",
        ),
    ] {
        if !pcap(&format!("{stem}.pcap")).exists() {
            continue;
        }
        let h = one(stem);
        assert_eq!(
            (h.ja3.as_deref(), h.ja3s.as_deref()),
            (Some(ja3), Some(ja3s)),
            "{stem}"
        );
    }
}
