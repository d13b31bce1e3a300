//! Decryption with the key logs of `testdata/pcap/tls/ks_tls*.keylog` (made with
//! nginx, curl and openssl on loopback; see testdata/pcap/SOURCES.md), checked
//! against their `*.keylog.tshark.json` references (tshark 4.0.17 with the key log).
#![cfg(feature = "decrypt")]

mod common;

use std::sync::Arc;

use common::{connections, drive, drive_chunked, pcap, reference, Driven};
use ks_proto::Direction;
use ks_proto_tls::{Handshake, KeyLog, TlsConfig, TlsMessage};

struct ConnOut {
    stream: u64,
    h: Handshake,
    plain: [Vec<u8>; 2],
    events: Vec<&'static str>,
}

fn run(stem: &str) -> Vec<ConnOut> {
    let text = std::fs::read_to_string(pcap(&format!("{stem}.keylog"))).unwrap();
    let cfg = TlsConfig {
        keylog: Some(Arc::new(KeyLog::parse(&text))),
        ..TlsConfig::default()
    };
    connections(&pcap(&format!("{stem}.pcap")))
        .iter()
        .map(|c| {
            let d: Driven = drive(c, cfg.clone());
            assert_eq!(d.errors, 0);
            let hs = d.handshakes();
            assert_eq!(hs.len(), 1, "{stem} {}", c.stream);
            let mut plain = [Vec::new(), Vec::new()];
            for (_, m) in &d.out {
                if let TlsMessage::Plaintext { dir, data, .. } = m {
                    plain[dir.index()].extend_from_slice(data);
                }
            }
            ConnOut {
                stream: c.stream,
                h: hs[0].clone(),
                plain,
                events: d.events(),
            }
        })
        .collect()
}

/// HTTP/1 request lines in a client's plaintext.
fn requests(p: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(p)
        .split("\r\n")
        .filter(|l| l.starts_with("GET ") || l.starts_with("POST "))
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// tshark's decrypted HTTP/1 requests (method and URI) of one stream.
fn tshark_requests(stem: &str, stream: u64) -> Vec<String> {
    reference(&format!("{stem}.keylog"))
        .iter()
        .filter(|r| r.stream == stream)
        .flat_map(|r| {
            r.list("http.request.method")
                .into_iter()
                .zip(r.list("http.request.uri"))
                .map(|(m, u)| format!("{m} {u}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn check_all_decrypted(stem: &str, h2: bool) -> Vec<ConnOut> {
    let v = run(stem);
    for c in &v {
        assert_eq!(
            c.h.decryption.as_deref(),
            Some("decrypted"),
            "{stem} {}",
            c.stream
        );
        assert!(
            !c.events.contains(&"decrypt-failed"),
            "{stem} {}: {:?}",
            c.stream,
            c.events
        );
        let client = &c.plain[0];
        if h2 {
            assert!(
                client.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                "{stem} {}",
                c.stream
            );
            assert!(!c.plain[1].is_empty());
        } else {
            assert!(
                client.starts_with(b"GET ") || client.starts_with(b"POST "),
                "{stem} {}",
                c.stream
            );
            assert!(c.plain[1].starts_with(b"HTTP/1.1 "), "{stem} {}", c.stream);
            assert_eq!(
                requests(client),
                tshark_requests(stem, c.stream),
                "{stem} {}",
                c.stream
            );
        }
        assert!(c.h.complete);
        let alpn = if h2 { "h2" } else { "http/1.1" };
        assert_eq!(c.h.alpn(), Some(alpn));
        // The client's Finished was decrypted and recognised.
        assert!(c
            .h
            .messages
            .iter()
            .any(|m| m.dir == Direction::ToServer && m.kind == "finished"));
    }
    v
}

#[test]
fn tls12_http1() {
    let v = check_all_decrypted("ks_tls12_h1", false);
    assert_eq!(v.len(), 5);
    assert_eq!(
        requests(&v[0].plain[0]).len(),
        3,
        "GET, GET, POST on stream 0"
    );
    // Both Finished messages decoded (code 20), not just counted.
    assert_eq!(
        v[0].h
            .messages
            .iter()
            .filter(|m| m.code == 20 && m.encrypted)
            .count(),
        2
    );
}

#[test]
fn tls12_h2() {
    check_all_decrypted("ks_tls12_h2", true);
}

#[test]
fn tls13_http1() {
    let v = check_all_decrypted("ks_tls13_h1", false);
    for c in &v {
        // EncryptedExtensions (ALPN selected), the chain and both Finished.
        let h = &c.h;
        assert_eq!(
            h.server_hello.as_ref().unwrap().alpn.as_deref(),
            Some("http/1.1")
        );
        assert_eq!(h.certificates[0].subject, "CN=ks.test");
        assert_eq!(h.certificates[0].key_type, "RSA 2048");
        let kinds: Vec<_> = h.messages.iter().map(|m| (m.dir, m.kind)).collect();
        let s = Direction::ToClient;
        for k in [
            "encrypted_extensions",
            "certificate",
            "certificate_verify",
            "finished",
        ] {
            assert!(kinds.contains(&(s, k)), "{k}: {kinds:?}");
        }
    }
}

#[test]
fn tls13_h2_big_records() {
    let v = check_all_decrypted("ks_tls13_h2", true);
    assert_eq!(v[0].h.certificates[0].key_type, "EC P-256");
    // /big.txt in 16 KiB records: the plaintext is exactly the HTTP/2 frames tshark
    // decoded with the key log (9-byte header + http2.length each), both ways.
    for (dir, port) in [(0, "443"), (1, "443")] {
        let frames: usize = reference("ks_tls13_h2.keylog")
            .iter()
            .filter(|r| (r.list("tcp.srcport")[0] == port) == (dir == 1))
            .flat_map(|r| r.list("http2.length"))
            .map(|l| 9 + l.parse::<usize>().unwrap())
            .sum();
        // The client's 24-byte connection preface is not a frame.
        let preface = if dir == 0 { 24 } else { 0 };
        assert_eq!(v[0].plain[dir].len(), frames + preface, "dir {dir}");
    }
}

#[test]
fn tls13_key_update() {
    let v = check_all_decrypted("ks_tls13_keyupdate", false);
    assert_eq!(
        requests(&v[0].plain[0]),
        ["GET /one", "GET /two", "GET /three", "GET /four"]
    );
    let server = String::from_utf8_lossy(&v[0].plain[1]);
    assert_eq!(server.matches("HTTP/1.1 200").count(), 4, "{server}");
}

#[test]
fn resumption_and_early_data() {
    let v = check_all_decrypted("ks_tls13_resume", false);
    assert!(!v[0].h.resumed && v[1].h.resumed && v[2].h.resumed);
    assert!(v[1].h.certificates.is_empty());
    assert!(v[2].h.client_hello.as_ref().unwrap().early_data);
    // 0-RTT: the request came as early data and is decrypted too.
    assert!(v[2].plain[0].starts_with(b"GET /index.html"));
    assert!(v[2]
        .h
        .messages
        .iter()
        .any(|m| m.kind == "end_of_early_data"));
    let v = check_all_decrypted("ks_tls12_resume", false);
    let resumed: Vec<_> = v.iter().map(|c| c.h.resumed).collect();
    assert_eq!(resumed, [false, true, false, true]);
}

#[test]
fn wrong_and_missing_keys() {
    let v = run("ks_tls_wrongkey");
    let st: Vec<_> = v.iter().map(|c| c.h.decryption.clone().unwrap()).collect();
    assert!(st[0].starts_with("no key: client random "), "{st:?}");
    assert!(st[0].ends_with("… not in the key log"));
    assert_eq!(st[1], "wrong key: record authentication failed");
    assert_eq!(st[2], "decrypted");
    // Never garbage: no plaintext where the key is missing or wrong.
    assert!(v[0].plain.iter().all(Vec::is_empty));
    assert!(v[1].plain.iter().all(Vec::is_empty));
    assert!(v[1].events.contains(&"decrypt-failed"));
    assert!(v[2].plain[0].starts_with(b"GET "));
    // Without a key the handshake is still dissected and ends on time.
    assert!(v[0].h.complete && v[1].h.complete);
}

#[test]
fn alerts_with_partial_keys() {
    let v = run("ks_tls_alert");
    // Stream 0: TLS 1.3, only the server's handshake secret: its flight is decrypted,
    // then the client's unknown_ca in clear.
    let h = &v[0].h;
    assert_eq!(h.alerts.len(), 1);
    assert_eq!(
        (h.alerts[0].description, h.alerts[0].dir),
        ("unknown_ca", Direction::ToServer)
    );
    assert_eq!(h.certificates[0].subject, "CN=ks.test");
    assert!(!h.complete);
    assert_eq!(v[1].h.alerts[0].description, "unknown_ca");
    assert_eq!(v[2].h.alerts[0].description, "protocol_version");
}

/// Cutting the segments into small pieces changes nothing, decrypted or not.
#[test]
fn chunked_decryption_is_the_same() {
    for stem in ["ks_tls13_keyupdate", "ks_tls12_h1", "ks_tls13_resume"] {
        let text = std::fs::read_to_string(pcap(&format!("{stem}.keylog"))).unwrap();
        let cfg = TlsConfig {
            keylog: Some(Arc::new(KeyLog::parse(&text))),
            ..TlsConfig::default()
        };
        for c in connections(&pcap(&format!("{stem}.pcap"))) {
            let whole: Vec<_> = drive(&c, cfg.clone())
                .out
                .into_iter()
                .map(|(_, m)| m)
                .collect();
            for n in [1, 7, 100] {
                let cut: Vec<_> = drive_chunked(&c, cfg.clone(), n)
                    .out
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect();
                // Plaintext comes per record, so even its pieces are the same.
                assert_eq!(whole, cut, "{stem} {} chunk {n}", c.stream);
            }
        }
    }
}

/// A gap stops decryption of that side (sequence numbers lost), without garbage.
#[test]
fn gap_stops_decryption() {
    let text = std::fs::read_to_string(pcap("ks_tls13_keyupdate.keylog")).unwrap();
    let cfg = TlsConfig {
        keylog: Some(Arc::new(KeyLog::parse(&text))),
        ..TlsConfig::default()
    };
    let mut c = connections(&pcap("ks_tls13_keyupdate.pcap")).remove(0);
    // Drop a server data event late in the connection.
    let i = c
        .evs
        .iter()
        .rposition(|e| matches!(e, common::Ev::Data { side, .. } if *side != c.client))
        .unwrap();
    let common::Ev::Data { side, data, .. } = c.evs[i].clone() else {
        unreachable!()
    };
    c.evs[i] = common::Ev::Gap {
        side,
        len: data.len() as u64,
    };
    let d = drive(&c, cfg);
    assert!(d.events().contains(&"decrypt-stopped"));
    assert!(!d.events().contains(&"decrypt-failed"));
}
