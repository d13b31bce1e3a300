//! TLS through the engine: handshake entries, StartTLS, and decryption with a key log
//! (what is inside comes out as its own entries, marked `tls`; a missing or wrong key
//! is said, never guessed).

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, KeyLog, Output, Request, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap")
        .join(rel)
}

fn entries(rel: &str, keylog: bool) -> Vec<Entry> {
    let pcap = testdata(rel);
    let mut cfg = EngineConfig::default();
    if keylog {
        let text = std::fs::read_to_string(pcap.with_extension("keylog")).unwrap();
        cfg.tls.keylog = Some(Arc::new(KeyLog::parse(&text)));
    }
    let source = FileSource::open(&pcap).unwrap();
    Dissector::new(source, cfg)
        .filter_map(|o| match o.unwrap() {
            Output::Entry(e) => Some(*e),
            Output::Flow(_) => None,
        })
        .collect()
}

fn handshake(e: &Entry) -> &ks_proto_tls::Handshake {
    match &e.request {
        Some(Request::Tls(h)) => h,
        other => panic!("not a handshake entry: {other:?}"),
    }
}

/// HTTP/1 request lines (`GET /path`) tshark decrypted with the key log, per stream.
fn tshark_requests(rel: &str) -> BTreeSet<(u64, String)> {
    let path = testdata(rel).with_extension("keylog.tshark.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for m in v["messages"].as_array().unwrap() {
        let f = &m["fields"];
        let stream: u64 = f["tcp.stream"][0].as_str().unwrap().parse().unwrap();
        let (methods, uris) = (&f["http.request.method"], &f["http.request.uri"]);
        for (m, u) in methods
            .as_array()
            .into_iter()
            .flatten()
            .zip(uris.as_array().into_iter().flatten())
        {
            out.insert((
                stream,
                format!("{} {}", m.as_str().unwrap(), u.as_str().unwrap()),
            ));
        }
    }
    out
}

#[test]
fn without_keys_each_connection_is_one_handshake_entry() {
    let es = entries("tls/ks_tls13_h1.pcap", false);
    // Three connections, one handshake entry each: without keys nothing after the
    // handshake can be read (no post-handshake entry either).
    let tls: Vec<&Entry> = es.iter().filter(|e| e.protocol == "tls").collect();
    assert_eq!(tls.len(), 3, "{es:#?}");
    assert!(es.iter().all(|e| e.protocol == "tls" && !e.tls));
    let suites: Vec<&str> = tls
        .iter()
        .map(|e| handshake(e).cipher_suite.as_deref().unwrap())
        .collect();
    assert_eq!(
        suites,
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
    );
    for e in &tls {
        let h = handshake(e);
        assert_eq!(h.sni(), Some("ks.test"));
        assert_eq!(e.version, "TLS 1.3");
        assert!(e
            .summary
            .starts_with("tls 1.3 sni=ks.test alpn=http/1.1 TLS_"));
        assert!(e.summary.contains(" ja4=t13d"), "{}", e.summary);
        // Decryption was not asked for: no status, no error.
        assert_eq!(h.decryption, None);
        assert_eq!(e.error, None);
        // The client's hello and the server's flight both have frames.
        assert!(e.frames.request.is_some() && e.frames.response.is_some());
    }
}

#[test]
fn with_the_key_log_the_http_inside_comes_out_as_tshark_decrypts_it() {
    for rel in [
        "tls/ks_tls13_h1.pcap",
        "tls/ks_tls12_h1.pcap",
        "tls/ks_tls13_keyupdate.pcap",
        "tls/ks_tls12_resume.pcap",
        "tls/ks_tls13_resume.pcap",
    ] {
        let es = entries(rel, true);
        let ours: BTreeSet<(u64, String)> = es
            .iter()
            .filter_map(|e| match &e.request {
                Some(Request::Http(r)) => {
                    assert!(e.tls, "{rel}: {} not marked tls", e.id);
                    Some((e.stream, format!("{} {}", r.method, r.path)))
                }
                _ => None,
            })
            .collect();
        let theirs = tshark_requests(rel);
        assert!(!theirs.is_empty(), "{rel}");
        assert_eq!(ours, theirs, "{rel}");
        // Every request was answered.
        for e in es.iter().filter(|e| e.protocol == "http") {
            assert!(
                matches!(&e.response, Some(Response::Http(r)) if r.status >= 200),
                "{rel} {}: {:?}",
                e.id,
                e.error
            );
        }
        // Ids stay unique: the plaintext's entries are numbered after the handshake's.
        let ids: BTreeSet<&str> = es.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), es.len(), "{rel}");
        for e in es
            .iter()
            .filter(|e| matches!(e.request, Some(Request::Tls(_))))
        {
            assert_eq!(
                handshake(e).decryption.as_deref(),
                Some("decrypted"),
                "{rel}"
            );
        }
    }
}

#[test]
fn http2_over_tls_with_alpn_h2_is_dissected_after_decryption() {
    let es = entries("tls/ks_tls13_h2.pcap", true);
    let h2: Vec<&Entry> = es.iter().filter(|e| e.protocol == "http2").collect();
    let paths: Vec<(&str, u16)> = h2
        .iter()
        .map(|e| match (&e.request, &e.response) {
            (Some(Request::Http(q)), Some(Response::Http(r))) => (q.path.as_str(), r.status),
            _ => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("/", 200),
            ("/api/data.json", 200),
            ("/big.txt", 200),
            ("/missing", 404),
            ("/api/items", 201)
        ]
    );
    assert!(h2.iter().all(|e| e.tls && e.stream_id.is_some()));
    // The body spans several TLS records and TCP segments; its size is the
    // content-length tshark shows decrypted (ks_tls13_h2.keylog.tshark.json, frame 36).
    let Some(Response::Http(big)) = &h2[2].response else {
        unreachable!()
    };
    assert_eq!(big.body_size, 39680);
    // TLS 1.3 selects ALPN in EncryptedExtensions: seen only through decryption.
    let h = handshake(&es[0]);
    assert_eq!(h.server_hello.as_ref().unwrap().alpn.as_deref(), Some("h2"));
    assert!(
        !h.certificates.is_empty(),
        "the chain is in the encrypted flight"
    );
    assert_eq!(h.certificates[0].key_type, "EC P-256");
    // The JSON marks the decrypted entries only.
    let json = serde_json::to_value(h2[0]).unwrap();
    assert_eq!(json["tls"], true);
    assert!(serde_json::to_value(&es[0]).unwrap().get("tls").is_none());
}

#[test]
fn a_missing_or_wrong_key_is_said_and_nothing_is_invented() {
    let es = entries("tls/ks_tls_wrongkey.pcap", true);
    let status = |stream: u64| {
        let e = es
            .iter()
            .find(|e| e.stream == stream && matches!(e.request, Some(Request::Tls(_))))
            .unwrap();
        (
            handshake(e).decryption.clone().unwrap(),
            e.error.as_ref().map(|x| x.kind.clone()),
        )
    };
    let (s0, k0) = status(0);
    assert!(s0.starts_with("no key: client random "), "{s0}");
    assert_eq!(k0.as_deref(), Some("tls-decrypt"));
    let (s1, k1) = status(1);
    assert_eq!(s1, "wrong key: record authentication failed");
    assert_eq!(k1.as_deref(), Some("tls-decrypt"));
    let (s2, k2) = status(2);
    assert_eq!((s2.as_str(), k2), ("decrypted", None));
    // Only the control connection (stream 2) yields plaintext entries.
    let plain: Vec<u64> = es.iter().filter(|e| e.tls).map(|e| e.stream).collect();
    assert!(
        !plain.is_empty() && plain.iter().all(|s| *s == 2),
        "{plain:?}"
    );
}

#[test]
fn alerts_make_the_handshake_an_error_naming_the_sender() {
    let es = entries("tls/ks_tls_alert.pcap", false);
    let msgs: Vec<(u64, String)> = es
        .iter()
        .filter(|e| e.protocol == "tls")
        .map(|e| (e.stream, e.error.as_ref().unwrap().message.clone()))
        .collect();
    assert_eq!(
        msgs,
        [
            (0, "fatal alert unknown_ca from the client".to_string()),
            (1, "fatal alert unknown_ca from the client".to_string()),
            (
                2,
                "fatal alert protocol_version from the server".to_string()
            ),
        ]
    );
}

#[test]
fn ldap_starttls_hands_the_connection_to_tls() {
    let es = entries("ldap/ks_ldap_slapd.pcap", false);
    let i = es
        .iter()
        .position(|e| e.summary.contains("StartTLS → success"))
        .expect("a StartTLS exchange");
    let stream = es[i].stream;
    let tls: Vec<&Entry> = es
        .iter()
        .filter(|e| e.stream == stream && e.protocol == "tls")
        .collect();
    assert_eq!(tls.len(), 1, "{es:#?}");
    assert_eq!(tls[0].version, "TLS 1.3");
    // The handshake starts after the StartTLS response.
    assert!(tls[0].frames.request.unwrap()[0] > es[i].frames.response.unwrap()[1]);
}

#[test]
fn post_handshake_messages_are_one_entry_at_the_end() {
    let es = entries("tls/ks_tls13_keyupdate.pcap", true);
    let after: Vec<&Entry> = es
        .iter()
        .filter(|e| matches!(e.request, Some(Request::TlsAfterHandshake(_))))
        .collect();
    assert_eq!(after.len(), 1);
    let Some(Request::TlsAfterHandshake(a)) = &after[0].request else {
        unreachable!()
    };
    // tshark shows 4 KeyUpdates and the 2 NewSessionTickets (keylog reference).
    let kinds: Vec<&str> = a.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "key_update").count(), 4);
    assert_eq!(
        kinds.iter().filter(|k| **k == "new_session_ticket").count(),
        2
    );
    assert_eq!(
        a.alerts.iter().map(|x| x.description).collect::<Vec<_>>(),
        ["close_notify", "close_notify"]
    );
    // It is the last entry of the connection.
    assert_eq!(es.last().unwrap().id, after[0].id);
}
