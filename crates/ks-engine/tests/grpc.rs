//! gRPC entries of `testdata/pcap/grpc/ks_grpc_python.pcap`, checked against what
//! `testdata/captures/grpc_demo.py` sent (the calls, the request messages, the
//! statuses it raised) and against tshark's reading of the headers
//! (`grpc-message` as it went on the wire, percent-encoded). Message lengths and
//! statuses are also compared with tshark in conformance.rs.

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, Output, Request, Response};
use ks_proto_grpc::Value as PbValue;
use serde_json::Value;
use std::path::Path;

const CAPTURE: &str = "../../testdata/pcap/grpc/ks_grpc_python";

fn entries() -> Vec<Entry> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = FileSource::open(dir.join(format!("{CAPTURE}.pcap"))).unwrap();
    Dissector::new(src, EngineConfig::default())
        .filter_map(|o| match o.unwrap() {
            Output::Entry(e) => Some(*e),
            Output::Flow(_) => None,
        })
        .collect()
}

/// `%XX` decoding, as gRPC specifies for `grpc-message`.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn first_text(fields: &Option<Vec<ks_proto_grpc::Field>>) -> Option<String> {
    let f = fields.as_ref()?.iter().find(|f| f.number == 1)?;
    match &f.value {
        PbValue::Len(l) => l.text.clone(),
        _ => None,
    }
}

#[test]
fn grpc_calls_match_what_the_client_sent() {
    let big = format!("zip {}", "compress me please ".repeat(60));
    // (stream id, method, first request's name, status, request messages) as the script ran them.
    let calls: [(u32, &str, &str, u32, u64); 8] = [
        (1, "SayHello", "world", 0, 1),
        (3, "ServerStream", "stream", 0, 1),
        (5, "ClientStream", "a", 0, 3),
        (7, "Bidi", "x", 0, 3),
        (9, "SayHello", "missing", 5, 1),
        (11, "SayHello", &big, 0, 1),
        (13, "ServerStream", "fail", 8, 1),
        (15, "SayHello", "big", 0, 1),
    ];
    let entries = entries();
    assert_eq!(entries.len(), calls.len());
    for (e, (id, method, name, status, n)) in entries.iter().zip(calls) {
        assert_eq!((e.protocol, e.stream_id), ("grpc", Some(id)));
        let (Some(Request::Http(q)), Some(Response::Http(p))) = (&e.request, &e.response) else {
            panic!("stream {id}: both sides expected");
        };
        let (qg, pg) = (q.grpc.as_ref().unwrap(), p.grpc.as_ref().unwrap());
        assert_eq!(
            (qg.service.as_str(), qg.method.as_str()),
            ("demo.Greeter", method)
        );
        assert_eq!(qg.messages.count, n, "stream {id}");
        // Strings are shown up to 1 KiB (GrpcConfig::max_bytes_shown).
        // Fields are decoded on demand.
        assert!(qg.messages.messages[0].fields.is_none());
        let decoded = q.grpc_messages().unwrap();
        let shown = first_text(&decoded.messages[0].fields).unwrap();
        assert!(
            shown == name || (shown.len() >= 1000 && name.starts_with(&shown)),
            "stream {id}: {shown}"
        );
        assert_eq!(pg.status, Some(status), "stream {id}");
        assert!(
            e.summary.contains(&format!("status {status}")),
            "{}",
            e.summary
        );
    }

    // Stream 9: the server aborted at once: a trailers-only response, whose
    // grpc-message went percent-encoded (as tshark shows it) and reads decoded.
    let e = &entries[4];
    let Some(Response::Http(p)) = &e.response else {
        unreachable!()
    };
    assert!(
        p.trailers.is_empty(),
        "trailers-only: status in the headers"
    );
    let g = p.grpc.as_ref().unwrap();
    assert_eq!(g.status_name, Some("NOT_FOUND"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{CAPTURE}.tshark.json"))).unwrap(),
    )
    .unwrap();
    let raw = reference["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|m| {
            let names = m["fields"]["http2.header.name"].as_array()?;
            let values = m["fields"]["http2.header.value"].as_array()?;
            let i = names.iter().position(|n| n == "grpc-message")?;
            values[i]
                .as_str()
                .filter(|v| v.contains("missing"))
                .map(String::from)
        })
        .expect("tshark shows the grpc-message header");
    assert!(raw.contains("%E2%80%94"), "sent percent-encoded: {raw}");
    assert_eq!(g.message.as_deref(), Some(percent_decode(&raw).as_str()));
    assert_eq!(
        g.message.as_deref(),
        Some("user 'missing' not found — übel 100% sure")
    );

    // Stream 11: gzip both ways; the request decompresses to the name the client sent
    // (tag, 2-byte length, then the string).
    let Some(Request::Http(q)) = &entries[5].request else {
        unreachable!()
    };
    let m = &q.grpc.as_ref().unwrap().messages.messages[0];
    assert!(m.compressed);
    assert_eq!(m.size, Some(big.len() as u64 + 3));
    assert!(m.length < 100, "compressed to {} bytes", m.length);
}
