//! Conformance with tshark 4.0.17: every HTTP message in each `<stem>.tshark.json`
//! reference appears in ks output in the same stream with the same values, ks
//! reports no HTTP message tshark does not, and the flows agree (count, endpoints,
//! frames, payload bytes each way). The same holds for HTTP/2 (each stream's
//! method, path and status, RST_STREAM codes), gRPC (message lengths) and
//! WebSocket (messages' opcode and payload length; tshark lists fragments, which
//! are joined here as ks joins them). Differences we believe are tshark's mistakes
//! are listed in `KNOWN` with the reason, and explained in docs/conformance.md;
//! a listed difference that stops happening fails the test too.

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, Output, Request, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Captures whose connections idle longer than ks's default flow timeout (600 s of
/// capture time, `--flow-idle`): ks would finish such a flow and start a new one (as
/// Zeek does), tshark never does, so stream numbers would differ. They are dissected
/// with `flow_idle` raised to 3 hours, as `ks-dissect --flow-idle 10800` would.
const LONG_IDLE: &[&str] = &["ndpi_kafka.pcapng"];

/// (capture file name, difference as printed by this test, why ks is right).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "ks_h2c_upgrade.pcap",
        "missing in ks: stream 0 \"h2 rst 5\" (tshark frame 15)",
        "curl resets stream 1 with STREAM_CLOSED after the stream had ended both ways; the exchange is complete, so ks reports it without an error (RFC 9113 5.1: a frame on a closed stream is not part of it); tshark lists the RST_STREAM frame",
    ),
    (
        "deepflow_grpc-server-stream.pcap",
        "extra in ks: stream 0 \"grpc msg 492\" (ks frames 3..8)",
        LOST_SEGMENT,
    ),
    (
        "deepflow_grpc-server-stream.pcap",
        "extra in ks: stream 0 \"grpc msg 738\" (ks frames 3..8)",
        LOST_SEGMENT,
    ),
    (
        "deepflow_grpc-server-stream.pcap",
        "extra in ks: stream 0 \"grpc status 0\" (ks frames 3..8)",
        LOST_SEGMENT,
    ),
    (
        "suricata-verify_http-pipeline-files-with-gap.pcap",
        "extra in ks: stream 0 \"resp 200 OK HTTP/1.1\" (ks frame 109)",
        LOST_SEGMENT,
    ),
    (
        "suricata-verify_http-pipeline-files-with-gap.pcap",
        "extra in ks: stream 0 \"resp 200 OK HTTP/1.1\" (ks frame 165)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 207)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 247)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 268)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 331)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 413)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_bro-org.pcap",
        "extra in ks: stream 2 \"resp 200 OK HTTP/1.1\" (ks frame 670)",
        LOST_SEGMENT,
    ),
    (
        "zeek_http_content-range-gap.pcap",
        "extra in ks: stream 0 \"resp 206 Partial Content HTTP/1.1\" (ks frame 21)",
        LOST_SEGMENT,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws binary 64\" (ks frames 12..26)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws close 5\" (ks frames 12..26)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws text 13\" (ks frames 12..26)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws ping 7\" (ks frames 12..26)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws binary 64\" (ks frames 14..27)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws close 5\" (ks frames 14..27)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws text 13\" (ks frames 14..27)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws pong 7\" (ks frames 14..27)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws says \\\"hello over h2\\\"\" (ks frames 12..26)",
        RFC8441,
    ),
    (
        "ks_h2c_websocket-rfc8441.pcap",
        "extra in ks: stream 0 \"ws says \\\"hello over h2\\\"\" (ks frames 14..27)",
        RFC8441,
    ),
    (
        "ks_ws_deflate.pcap",
        "missing in ks: stream 0 \"ws says \\\"6 osments please\\\"\" (tshark frame 42)",
        DEFLATE_AFTER_FRAGMENTS,
    ),
    (
        "ks_ws_deflate.pcap",
        "extra in ks: stream 0 \"ws says \\\"fragments please\\\"\" (ks frames 42..42)",
        DEFLATE_AFTER_FRAGMENTS,
    ),
    (
        "deepflow_kafka_00-produce-v2.pcap",
        "missing in ks: stream 0 \"kafka topic topic2\" (tshark frame 1)",
        "kafka-protocol 0.18, which ks decodes Kafka bodies with, knows Produce from v3 on (v0-v2 were removed in Kafka 4.0, KIP-896); ks shows the request's header fields and says the body was not decoded (unsupported version) instead of guessing",
    ),
];

const DEFLATE_AFTER_FRAGMENTS: &str = "tshark 4.0 does not inflate a fragmented permessage-deflate message (its text comes out garbled) and, with context takeover, then inflates the next message of that direction against the wrong window; the client sent \"fragments please\" (testdata/captures/ws_demo.py), which is what ks shows";

const RFC8441: &str = "tshark 4.0 does not dissect a WebSocket carried in an HTTP/2 stream opened by an extended CONNECT (RFC 8441, `:protocol: websocket`) and shows the DATA only; ks parses each direction's DATA as WebSocket frames once the stream is over";

const LOST_SEGMENT: &str = "tshark never completes a reassembly that waits for a segment the capture lost, so it reports no later HTTP message in that direction; ks declares the hole a gap (the receiver ACKed the missing bytes), resynchronises and reports the later responses (see docs/conformance.md)";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Msg {
    stream: u64,
    /// `req METHOD URI HTTP/1.x` or `resp CODE PHRASE HTTP/1.x`
    what: String,
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcap")
}

fn captures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in [
        "http1",
        "tcp",
        "link",
        "http2",
        "grpc",
        "websocket",
        "graphql",
        "redis",
        "kafka",
        "amqp",
        "dns",
        "radius",
        "icmp",
        "udp",
        "sctp",
        "ldap",
        "diameter",
        "tls",
    ] {
        if !testdata().join(dir).is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join(dir))
            .expect("testdata folder")
            .map(|e| e.unwrap().path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("pcap" | "pcapng")
                )
            })
            .collect();
        files.sort();
        v.extend(files);
    }
    v
}

fn strs(fields: &Value, name: &str) -> Vec<String> {
    fields
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn reference_messages(reference: &Value) -> Vec<(Msg, u64)> {
    let mut out = Vec::new();
    for m in reference["messages"].as_array().unwrap() {
        let protos = m["protocols"].as_str().unwrap_or("");
        if !protos.split(':').any(|p| p == "http") {
            continue;
        }
        let f = &m["fields"];
        let frame = m["frame"].as_u64().unwrap();
        let stream: u64 = strs(f, "tcp.stream")
            .first()
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        let (methods, uris, rqv) = (
            strs(f, "http.request.method"),
            strs(f, "http.request.uri"),
            strs(f, "http.request.version"),
        );
        for (i, method) in methods.iter().enumerate() {
            let what = format!(
                "req {} {} {}",
                method,
                uris.get(i).map(String::as_str).unwrap_or("?"),
                rqv.get(i).map(String::as_str).unwrap_or("?")
            );
            out.push((Msg { stream, what }, frame));
        }
        let (codes, phrases, rsv) = (
            strs(f, "http.response.code"),
            strs(f, "http.response.phrase"),
            strs(f, "http.response.version"),
        );
        for (i, code) in codes.iter().enumerate() {
            let what = format!(
                "resp {} {} {}",
                code,
                phrases.get(i).map(String::as_str).unwrap_or(""),
                rsv.get(i).map(String::as_str).unwrap_or("?")
            );
            out.push((Msg { stream, what }, frame));
        }
    }
    out
}

/// ks keeps `1.1`; tshark shows `HTTP/1.1` (and nothing when the request line has no version).
fn http_version(v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!("HTTP/{v}")
    }
}

struct KsRun {
    msgs: Vec<(Msg, u64)>,
    flows: Vec<ks_engine::FlowRecord>,
    entries: Vec<Entry>,
}

fn run_ks(pcap: &Path) -> KsRun {
    run_ks_with(pcap, None)
}

/// `keylog`: decrypt TLS with this key log, as `ks-dissect --tls-keylog`.
fn run_ks_with(pcap: &Path, keylog: Option<&Path>) -> KsRun {
    let source = FileSource::open(pcap).expect("open capture");
    let name = pcap.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut cfg = EngineConfig::default();
    if let Some(k) = keylog {
        let text = std::fs::read_to_string(k).expect("key log");
        cfg.tls.keylog = Some(std::sync::Arc::new(ks_engine::KeyLog::parse(&text)));
    }
    if LONG_IDLE.contains(&name) {
        cfg.flow_idle_ns = 3 * 3600 * 1_000_000_000;
    }
    let mut msgs = Vec::new();
    let mut flows = Vec::new();
    let mut entries = Vec::new();
    let mut last_http1 = None;
    for out in Dissector::new(source, cfg) {
        match out.expect("capture reads cleanly") {
            Output::Entry(e) => {
                entries.push((*e).clone());
                // HTTP/1 messages only (the operations of a GraphQL batch share one).
                if matches!(e.version.as_str(), "2" | "13")
                    || last_http1 == Some((e.stream, e.frames))
                {
                    continue;
                }
                last_http1 = Some((e.stream, e.frames));
                if let Some(Request::Http(r)) = &e.request {
                    let what = format!("req {} {} {}", r.method, r.path, http_version(&r.version));
                    msgs.push((
                        Msg {
                            stream: e.stream,
                            what,
                        },
                        e.frames.request.unwrap()[1],
                    ));
                }
                if let Some(Response::Http(r)) = &e.response {
                    for i in &r.interim {
                        let what = format!(
                            "resp {} {} {}",
                            i.status,
                            i.reason,
                            http_version(&i.version)
                        );
                        msgs.push((
                            Msg {
                                stream: e.stream,
                                what,
                            },
                            i.frame,
                        ));
                    }
                    let what = format!(
                        "resp {} {} {}",
                        r.status,
                        r.reason,
                        http_version(&r.version)
                    );
                    msgs.push((
                        Msg {
                            stream: e.stream,
                            what,
                        },
                        e.frames.response.unwrap()[1],
                    ));
                }
            }
            Output::Flow(f) => flows.push(f),
        }
    }
    KsRun {
        msgs,
        flows,
        entries,
    }
}

/// An HTTP/2, gRPC or WebSocket item: `h2 req GET /`, `h2 resp 200`, `h2 rst 8`,
/// `grpc msg 237`, `grpc status 0`, `ws text 12`.
type Item = (u64, String);

/// The start of a text payload (references cut long strings).
fn glimpse(t: &str) -> String {
    t.chars().take(40).collect()
}

/// A WebSocket payload length of 126 bytes or more (see `reference_items`).
const LONG: u64 = 1 << 40;

fn ws_len(len: u64) -> String {
    if len >= 126 {
        "126+".into()
    } else {
        len.to_string()
    }
}

fn opcode_name(code: &str) -> &'static str {
    match code {
        "0" => "continuation",
        "1" => "text",
        "2" => "binary",
        "8" => "close",
        "9" => "ping",
        "10" => "pong",
        _ => "reserved",
    }
}

/// Items of the reference with the frame tshark reports them in. WebSocket
/// fragments are joined into messages (reported at their last fragment).
fn reference_items(reference: &Value) -> Vec<(Item, u64)> {
    let mut out = Vec::new();
    // (stream, sender port) -> message in progress (opcode, length).
    let mut partial: BTreeMap<(u64, String), (String, u64)> = BTreeMap::new();
    for m in reference["messages"].as_array().unwrap() {
        let f = &m["fields"];
        let frame = m["frame"].as_u64().unwrap();
        let stream: u64 = strs(f, "tcp.stream")
            .first()
            .or(strs(f, "udp.stream").first())
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        // A DNS message quoted inside an ICMP error is part of the error, not a message
        // on the wire: ks shows the quote's 5-tuple, tshark dissects the quote as DNS.
        let protocols = m["protocols"].as_str().unwrap_or("");
        if !protocols.contains(":icmp:") && !protocols.contains(":icmpv6:") {
            dns_reference_items(f, stream, frame, &mut out);
        }
        // ICMP and ICMPv6: each message's type and code, and an echo's id and sequence.
        // They have no stream: ks puts 0 (or an error's linked flow), so compare without.
        for fam in ["icmp", "icmpv6"] {
            let (types, codes) = (
                strs(f, &format!("{fam}.type")),
                strs(f, &format!("{fam}.code")),
            );
            if let (Some(t), Some(c)) = (types.first(), codes.first()) {
                out.push(((u64::MAX, format!("{fam} {t}/{c}")), frame));
            }
            let (id, sq) = if fam == "icmp" {
                (strs(f, "icmp.ident"), strs(f, "icmp.seq"))
            } else {
                (
                    strs(f, "icmpv6.echo.identifier"),
                    strs(f, "icmpv6.echo.sequence_number"),
                )
            };
            if let (Some(i), Some(q)) = (id.first(), sq.first()) {
                out.push(((u64::MAX, format!("{fam} echo id {i} seq {q}")), frame));
            }
        }
        // RADIUS: each packet's code, identifier and length.
        let (codes, ids, lens) = (
            strs(f, "radius.code"),
            strs(f, "radius.id"),
            strs(f, "radius.length"),
        );
        for ((c, id), len) in codes.iter().zip(&ids).zip(&lens) {
            out.push(((stream, format!("radius {c} id {id} len {len}")), frame));
        }
        ldap_reference_items(f, stream, frame, &mut out);
        diameter_reference_items(f, stream, frame, &mut out);
        tls_reference_items(f, stream, frame, &mut out);
        let (methods, paths) = (
            strs(f, "http2.headers.method"),
            strs(f, "http2.headers.path"),
        );
        for (i, method) in methods.iter().enumerate() {
            let path = paths.get(i).map(String::as_str).unwrap_or("?");
            out.push(((stream, format!("h2 req {method} {path}")), frame));
        }
        for status in strs(f, "http2.headers.status") {
            out.push(((stream, format!("h2 resp {status}")), frame));
        }
        for code in strs(f, "http2.rst_stream.error") {
            if code != "0" {
                out.push(((stream, format!("h2 rst {code}")), frame));
            }
        }
        let (names, values) = (strs(f, "http2.header.name"), strs(f, "http2.header.value"));
        for (n, v) in names.iter().zip(&values) {
            if n == "grpc-status" {
                out.push(((stream, format!("grpc status {v}")), frame));
            }
        }
        // Kafka: each request's API key, version and correlation id; each response's
        // correlation id (its key is the request's). tshark also reports responses
        // whose request it did not see ("Undecoded, Request Missing").
        let corr = strs(f, "kafka.correlation_id");
        let info = m["info"].as_str().unwrap_or("");
        let keys = strs(f, "kafka.request_key");
        let versions = strs(f, "kafka.api_version");
        if info.contains("Kafka") && info.contains("Response") {
            for c in &corr {
                out.push(((stream, format!("kafka resp corr {c}")), frame));
            }
            // Non-zero error codes anywhere in the response, once per frame.
            for c in uniq(strs(f, "kafka.error"))
                .into_iter()
                .filter(|_| !kafka_blind(info))
            {
                if c != "0" {
                    out.push(((stream, format!("kafka error {c}")), frame));
                }
            }
        } else {
            // Topic names, once per frame, for the APIs whose topics ks lists.
            if !kafka_blind(info)
                && keys
                    .first()
                    .is_some_and(|k| KAFKA_TOPIC_APIS.contains(&k.as_str()))
            {
                for t in uniq(strs(f, "kafka.topic_name")) {
                    out.push(((stream, format!("kafka topic {t}")), frame));
                }
            }
            for (i, key) in keys.iter().enumerate() {
                let what = format!(
                    "kafka req {key} v{} corr {}",
                    versions.get(i).map_or("?", String::as_str),
                    corr.get(i).map_or("?", String::as_str)
                );
                out.push(((stream, what), frame));
            }
        }
        // AMQP: each method frame's class, method and channel.
        let (types, chans) = (strs(f, "amqp.type"), strs(f, "amqp.channel"));
        let (classes, methods) = (strs(f, "amqp.method.class"), strs(f, "amqp.method.method"));
        let mut k = 0;
        for (t, ch) in types.iter().zip(&chans) {
            if t == "1" {
                let what = format!(
                    "amqp {}.{} ch {ch}",
                    classes.get(k).map_or("?", String::as_str),
                    methods.get(k).map_or("?", String::as_str)
                );
                out.push(((stream, what), frame));
                k += 1;
            }
        }
        // Redis: commands tshark decodes whole (`Request: GET key`), and error replies.
        let info = m["info"].as_str().unwrap_or("");
        if let Some(cmd) = info.strip_prefix("Request: ") {
            let word = cmd.split_whitespace().next().unwrap_or("");
            if !word.is_empty() && !word.starts_with('[') && !cmd.contains("[fragment]") {
                out.push((
                    (stream, format!("redis req {}", word.to_uppercase())),
                    frame,
                ));
            }
        }
        for e in strs(f, "resp.error") {
            out.push(((stream, format!("redis err {e}")), frame));
        }
        for len in strs(f, "grpc.message_length") {
            out.push(((stream, format!("grpc msg {len}")), frame));
        }
        let (fins, ops, lens) = (
            strs(f, "websocket.fin"),
            strs(f, "websocket.opcode"),
            strs(f, "websocket.payload_length"),
        );
        let sender = strs(f, "tcp.srcport").first().cloned().unwrap_or_default();
        // The text of single-frame text messages (inflated, when compressed).
        let texts = strs(f, "websocket.payload.text");
        if ops.len() == 1 && ops[0] == "1" && fins.first().is_some_and(|x| x == "1") {
            if let Some(t) = texts.first() {
                out.push(((stream, format!("ws says {:?}", glimpse(t))), frame));
            }
        }
        for (i, op) in ops.iter().enumerate() {
            let fin = fins.get(i).is_some_and(|x| x == "1");
            // 126 and 127 are the markers of a 16- or 64-bit length, which the reference
            // does not list: such a message is only known to be long.
            let len: u64 = lens
                .get(i)
                .and_then(|l| l.parse().ok())
                .map_or(0, |l: u64| if l >= 126 { LONG } else { l });
            let key = (stream, sender.clone());
            let name = opcode_name(op);
            let done = if name == "continuation" {
                match partial.get_mut(&key) {
                    Some(p) => {
                        p.1 += len;
                        if fin {
                            partial.remove(&key)
                        } else {
                            None
                        }
                    }
                    None => Some((name.to_string(), len)),
                }
            } else if !fin && matches!(name, "text" | "binary") {
                partial.insert(key, (name.to_string(), len));
                None
            } else {
                Some((name.to_string(), len))
            };
            if let Some((name, len)) = done {
                out.push(((stream, format!("ws {name} {}", ws_len(len))), frame));
            }
        }
    }
    out
}

/// The same items from ks entries, with the frame range that carried each.
fn ks_items(entries: &[Entry]) -> Vec<(Item, [u64; 2])> {
    let mut out = Vec::new();
    // Items tshark gives once per frame (Kafka topics and error codes): one frame may
    // complete several messages, so these are deduplicated by completing frame.
    let mut once: Vec<(Item, [u64; 2])> = Vec::new();
    let mut last = None;
    // TCP streams upgraded from HTTP/1 with `Upgrade: h2c`: their stream 1 request went as HTTP/1.
    let upgraded: Vec<u64> = entries
        .iter()
        .filter(|e| matches!(&e.response, Some(Response::Http(r)) if r.status == 101 && e.version != "2"))
        .map(|e| e.stream)
        .collect();
    // tshark reports a gRPC message once all its bytes are there; one cut by the end of
    // the capture is listed by ks (its length prefix was seen) but not by tshark.
    let whole = |m: &&ks_proto_grpc::GrpcMessage| m.error.as_deref() != Some("cut");
    for e in entries {
        if let Some(fr) = e.frames.request {
            match &e.request {
                Some(Request::Kafka(r)) => {
                    out.push((
                        (
                            e.stream,
                            format!(
                                "kafka req {} v{} corr {}",
                                r.api_key, r.api_version, r.correlation_id
                            ),
                        ),
                        fr,
                    ));
                    let names = uniq(r.topics.iter().map(|t| t.name.clone()).collect());
                    for t in names {
                        once.push(((e.stream, format!("kafka topic {t}")), fr));
                    }
                }
                Some(Request::Amqp(m)) => out.push((
                    (
                        e.stream,
                        format!("amqp {}.{} ch {}", m.class_id, m.method_id, m.channel),
                    ),
                    fr,
                )),
                Some(Request::Redis(r)) => {
                    out.push(((e.stream, format!("redis req {}", r.command)), fr))
                }
                _ => {}
            }
        }
        if let Some(fr) = e.frames.response {
            match &e.response {
                Some(Response::Kafka(r)) => {
                    out.push((
                        (e.stream, format!("kafka resp corr {}", r.correlation_id)),
                        fr,
                    ));
                    let codes = r
                        .error_code
                        .into_iter()
                        .chain(r.errors.iter().map(|x| x.code));
                    for c in uniq(codes.filter(|c| *c != 0).map(|c| c.to_string()).collect()) {
                        once.push(((e.stream, format!("kafka error {c}")), fr));
                    }
                }
                Some(Response::Amqp(m)) => out.push((
                    (
                        e.stream,
                        format!("amqp {}.{} ch {}", m.class_id, m.method_id, m.channel),
                    ),
                    fr,
                )),
                Some(Response::Redis(r)) => {
                    if let Some(err) = &r.error {
                        out.push(((e.stream, format!("redis err {err}")), fr));
                    }
                }
                _ => {}
            }
        }
        if e.protocol == "websocket" {
            if let (Some(Request::WebSocket(w)), Some(fr)) = (&e.request, e.frames.request) {
                let text = w.payload.as_ref().and_then(|p| p.as_text());
                if let (true, 1, Some(t)) = (w.opcode == "text", w.fragments, text) {
                    out.push(((e.stream, format!("ws says {:?}", glimpse(t))), fr));
                }
                out.push((
                    (e.stream, format!("ws {} {}", w.opcode, ws_len(w.wire_size))),
                    fr,
                ));
            }
            continue;
        }
        if e.version != "2" || last == Some((e.stream, e.stream_id)) {
            continue;
        }
        last = Some((e.stream, e.stream_id));
        if let (Some(Request::Http(r)), Some(fr)) = (&e.request, e.frames.request) {
            // The request of an h2c upgrade went as HTTP/1.
            if !(e.stream_id == Some(1) && upgraded.contains(&e.stream)) {
                out.push(((e.stream, format!("h2 req {} {}", r.method, r.path)), fr));
            }
            if let Some(g) = &r.grpc {
                for m in g.messages.messages.iter().filter(whole) {
                    out.push(((e.stream, format!("grpc msg {}", m.length)), fr));
                }
            }
        }
        if let (Some(Response::Http(r)), Some(fr)) = (&e.response, e.frames.response) {
            out.push(((e.stream, format!("h2 resp {}", r.status)), fr));
            if let Some(code) = r.grpc.as_ref().and_then(|g| g.status) {
                out.push(((e.stream, format!("grpc status {code}")), fr));
            }
            if let Some(g) = &r.grpc {
                for m in g.messages.messages.iter().filter(whole) {
                    out.push(((e.stream, format!("grpc msg {}", m.length)), fr));
                }
            }
        }
        if let Some(err) = e.error.as_ref().filter(|x| x.kind == "rst-stream") {
            // "RST_STREAM CANCEL (8) from the client"
            let code = err
                .message
                .split('(')
                .nth(1)
                .and_then(|x| x.split(')').next())
                .unwrap_or("?");
            if code != "0" {
                let fr = e.frames.response.or(e.frames.request).unwrap_or([0, 0]);
                out.push(((e.stream, format!("h2 rst {code}")), [fr[0], u64::MAX]));
            }
        }
    }
    out.extend(dns_ks_items(entries));
    for e in entries.iter().filter(|e| e.protocol == "icmp") {
        let items = |m: &ks_proto_icmp::IcmpMessage| {
            let mut v = vec![format!("{} {}/{}", m.family, m.icmp_type, m.code)];
            // An error about a ping: tshark shows the quoted echo's identifier and
            // sequence in the error's own fields.
            let quoted = m.quoted.as_ref().and_then(|q| Some((q.ident?, q.seq?)));
            if let Some((i, q)) = m.ident.zip(m.seq).or(quoted) {
                // tshark shows the v4 identifier in decimal, the v6 one in hex.
                let i = if m.family == "icmp" {
                    i.to_string()
                } else {
                    format!("0x{i:04x}")
                };
                v.push(format!("{} echo id {i} seq {q}", m.family));
            }
            v
        };
        if let (Some(Request::Icmp(m)), Some(fr)) = (&e.request, e.frames.request) {
            out.extend(items(m).into_iter().map(|w| ((u64::MAX, w), fr)));
        }
        if let (Some(Response::Icmp(m)), Some(fr)) = (&e.response, e.frames.response) {
            out.extend(items(m).into_iter().map(|w| ((u64::MAX, w), fr)));
        }
    }
    for e in entries.iter().filter(|e| e.protocol == "radius") {
        let item = |p: &ks_proto_radius::RadiusPacket| {
            format!("radius {} id {} len {}", p.code, p.identifier, p.length)
        };
        if let (Some(Request::Radius(p)), Some(fr)) = (&e.request, e.frames.request) {
            out.push(((e.stream, item(p)), fr));
        }
        if let (Some(Response::Radius(p)), Some(fr)) = (&e.response, e.frames.response) {
            out.push(((e.stream, item(p)), fr));
        }
    }
    ldap_ks_items(entries, &mut out);
    diameter_ks_items(entries, &mut out);
    tls_ks_items(entries, &mut out);
    once.sort_by(|a, b| (&a.0, a.1[1]).cmp(&(&b.0, b.1[1])));
    once.dedup_by(|a, b| a.0 == b.0 && a.1[1] == b.1[1]);
    out.extend(once);
    out
}

/// TLS: every handshake message's type; a ClientHello's legacy version and number
/// of cipher suites; a ServerHello's (or HelloRetryRequest's) suite and negotiated
/// version (supported_versions when present); SNI, ALPN strings and alerts.
fn tls_reference_items(f: &Value, stream: u64, frame: u64, out: &mut Vec<(Item, u64)>) {
    let types = strs(f, "tls.handshake.type");
    if types.is_empty() && strs(f, "tls.alert_message.desc").is_empty() {
        return;
    }
    let versions = strs(f, "tls.handshake.version");
    let suites = strs(f, "tls.handshake.ciphersuite");
    // Lists longer than 64 values end with `…[+N values]`.
    let suite_count = suites.iter().fold(0, |n, s| {
        n + s
            .strip_prefix("…[+")
            .and_then(|r| r.strip_suffix(" values]"))
            .and_then(|r| r.parse().ok())
            .unwrap_or(1)
    });
    for t in &types {
        out.push(((stream, format!("tls hs {t}")), frame));
    }
    // A frame carries the hellos of one direction only (a client's or a server's).
    if types.iter().any(|t| t == "1") {
        let v = versions.first().map_or("?", String::as_str);
        // Several ClientHellos in one frame do not happen in these captures.
        out.push((
            (stream, format!("tls client {v} suites={suite_count}")),
            frame,
        ));
    }
    if types.iter().any(|t| t == "2") {
        let v = strs(f, "tls.handshake.extensions.supported_version")
            .first()
            .or(versions.first())
            .cloned()
            .unwrap_or_default();
        let suite = suites.first().map_or("?", String::as_str);
        out.push(((stream, format!("tls server {suite} {v}")), frame));
    }
    for n in strs(f, "tls.handshake.extensions_server_name") {
        out.push(((stream, format!("tls sni {n}")), frame));
    }
    for a in strs(f, "tls.handshake.extensions_alpn_str") {
        out.push(((stream, format!("tls alpn {a}")), frame));
    }
    for a in strs(f, "tls.alert_message.desc") {
        out.push(((stream, format!("tls alert {a}")), frame));
    }
}

/// tshark's number of a cipher suite ks names (`TLS_AES_128_GCM_SHA256` → `0x1301`).
fn suite_code(name: &str) -> String {
    static CODES: std::sync::OnceLock<BTreeMap<String, u16>> = std::sync::OnceLock::new();
    let codes = CODES.get_or_init(|| {
        (0..=u16::MAX)
            .map(|id| (ks_proto_tls::names::cipher_name(id), id))
            .collect()
    });
    codes
        .get(name)
        .map_or_else(|| name.to_string(), |c| format!("0x{c:04x}"))
}

/// tshark's version number of ks's display name (`TLS 1.3` → `0x0304`).
fn tls_version_code(v: &str) -> String {
    match v {
        "SSL 3.0" => "0x0300",
        "TLS 1.0" => "0x0301",
        "TLS 1.1" => "0x0302",
        "TLS 1.2" => "0x0303",
        "TLS 1.3" => "0x0304",
        other => other,
    }
    .to_string()
}

/// The TLS items of ks's handshake entries, each within the frames of its sender's
/// side of the entry (and alerts after the handshake, in their own entries).
fn tls_ks_items(entries: &[Entry], out: &mut Vec<(Item, [u64; 2])>) {
    for e in entries.iter().filter(|e| e.protocol == "tls") {
        let range = |d: ks_proto::Direction| match d {
            ks_proto::Direction::ToServer => e.frames.request,
            ks_proto::Direction::ToClient => e.frames.response,
        };
        if let Some(Request::TlsAfterHandshake(a)) = &e.request {
            for m in &a.messages {
                if let Some(fr) = range(m.dir) {
                    out.push(((e.stream, format!("tls hs {}", m.code)), fr));
                }
            }
            for x in &a.alerts {
                if let Some(fr) = range(x.dir) {
                    out.push(((e.stream, format!("tls alert {}", x.code)), fr));
                }
            }
            continue;
        }
        let Some(Request::Tls(h)) = &e.request else {
            continue;
        };
        // Encrypted handshake records whose content is unknown have no type in tshark either.
        // A TLS ≤ 1.2 Finished is listed by ks (it follows ChangeCipherSpec) but has
        // no type in tshark without keys.
        let decrypted = h.decryption.as_deref() == Some("decrypted");
        for m in h
            .messages
            .iter()
            .filter(|m| m.kind != "encrypted" && (decrypted || !m.encrypted))
        {
            let Some(fr) = range(m.dir) else { continue };
            let item = |w: String| ((e.stream, w), fr);
            out.push(item(format!("tls hs {}", m.code)));
            if m.code == 1 {
                if let Some(c) = &h.client_hello {
                    out.push(item(format!(
                        "tls client {} suites={}",
                        tls_version_code(&c.legacy_version),
                        c.cipher_suites.len()
                    )));
                    if let Some(n) = &c.sni {
                        out.push(item(format!("tls sni {n}")));
                    }
                    for a in &c.alpn {
                        out.push(item(format!("tls alpn {a}")));
                    }
                }
            }
            if m.code == 2 {
                if let Some(sh) = &h.server_hello {
                    out.push(item(format!(
                        "tls server {} {}",
                        suite_code(&sh.cipher_suite),
                        tls_version_code(&sh.version)
                    )));
                    if let Some(a) = &sh.alpn {
                        out.push(item(format!("tls alpn {a}")));
                    }
                }
            }
        }
        for a in &h.alerts {
            if let Some(fr) = range(a.dir) {
                out.push(((e.stream, format!("tls alert {}", a.code)), fr));
            }
        }
    }
}

/// LDAP protocolOps that carry an LDAPResult (and so a `ldap.resultCode`).
const LDAP_RESULT_OPS: &[u32] = &[1, 5, 7, 9, 11, 13, 15, 24];

/// LDAP (and CLDAP): every LDAPMessage's messageID and protocolOp, and the
/// resultCode of those that carry one (tshark lists messages in order, result
/// codes only for the messages that have one).
fn ldap_reference_items(f: &Value, stream: u64, frame: u64, out: &mut Vec<(Item, u64)>) {
    let (ids, ops, results) = (
        strs(f, "ldap.messageID"),
        strs(f, "ldap.protocolOp"),
        strs(f, "ldap.resultCode"),
    );
    let mut r = results.iter();
    for (id, op) in ids.iter().zip(&ops) {
        out.push(((stream, format!("ldap op {op} id {id}")), frame));
        let op: u32 = op.parse().unwrap_or(u32::MAX);
        if LDAP_RESULT_OPS.contains(&op) {
            let code = r.next().map_or("?", String::as_str);
            out.push(((stream, format!("ldap result {code} id {id}")), frame));
        }
    }
}

fn ldap_ks_items(entries: &[Entry], out: &mut Vec<(Item, [u64; 2])>) {
    fn response_items(r: &ks_engine::LdapResult, id: i64, v: &mut Vec<String>) {
        for _ in 0..r.entry_count {
            v.push(format!("ldap op 4 id {id}"));
        }
        // One searchResRef message per URI (every capture here sends one URI a message).
        for _ in 0..r.reference_count {
            v.push(format!("ldap op 19 id {id}"));
        }
        for i in &r.intermediate {
            v.push(format!("ldap op {} id {}", i.protocol_op, i.message_id));
        }
        if let Some(f) = &r.response {
            v.push(format!("ldap op {} id {}", f.protocol_op, f.message_id));
            if let Some(c) = f.result_code {
                v.push(format!("ldap result {c} id {}", f.message_id));
            }
        }
    }
    for e in entries.iter().filter(|e| e.protocol == "ldap") {
        let mut id = None;
        if let (Some(Request::Ldap(q)), Some(fr)) = (&e.request, e.frames.request) {
            id = Some(q.message_id);
            out.push((
                (
                    e.stream,
                    format!("ldap op {} id {}", q.protocol_op, q.message_id),
                ),
                fr,
            ));
        }
        let mut v = Vec::new();
        let fr = match (&e.request, &e.response) {
            (_, Some(Response::Ldap(r))) => {
                let id = r
                    .response
                    .as_ref()
                    .map(|f| f.message_id)
                    .or(id)
                    .unwrap_or(-1);
                response_items(r, id, &mut v);
                e.frames.response
            }
            (Some(Request::LdapResult(r)), _) => {
                response_items(r, r.response.as_ref().map_or(-1, |f| f.message_id), &mut v);
                e.frames.request
            }
            _ => None,
        };
        if let Some(fr) = fr {
            out.extend(v.into_iter().map(|w| ((e.stream, w), fr)));
        }
    }
}

/// DIAMETER: every message's command code, R flag and hop-by-hop id; per frame, the
/// Result-Code AVPs of all its messages at any depth (tshark lists them per frame).
fn diameter_reference_items(f: &Value, stream: u64, frame: u64, out: &mut Vec<(Item, u64)>) {
    let (codes, req, hbh) = (
        strs(f, "diameter.cmd.code"),
        strs(f, "diameter.flags.request"),
        strs(f, "diameter.hopbyhopid"),
    );
    let stream = strs(f, "sctp.srcport").first().map_or(stream, |_| 0);
    for ((c, r), h) in codes.iter().zip(&req).zip(&hbh) {
        let r = if r == "1" { "R" } else { "A" };
        out.push(((stream, format!("diameter cmd {c}{r} hbh {h}")), frame));
    }
    let mut results = strs(f, "diameter.Result-Code");
    if !results.is_empty() {
        results.sort();
        out.push((
            (stream, format!("diameter results {}", results.join(","))),
            frame,
        ));
    }
}

fn diameter_ks_items(entries: &[Entry], out: &mut Vec<(Item, [u64; 2])>) {
    fn results(avps: &[ks_proto_diameter::Avp], v: &mut Vec<String>) {
        for a in avps {
            if a.code == 268 {
                // `2001 (DIAMETER_SUCCESS)`: the number.
                let value = a.value.as_deref().unwrap_or_default();
                v.push(value.split(' ').next().unwrap_or_default().to_string());
            }
            results(&a.avps, v);
        }
    }
    // Result codes grouped by the frame that completed their answer, as tshark lists them.
    let mut by_frame: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.protocol == "diameter") {
        let sides = [
            (
                match &e.request {
                    Some(Request::Diameter(m)) => Some(m),
                    _ => None,
                },
                e.frames.request,
            ),
            (
                match &e.response {
                    Some(Response::Diameter(m)) => Some(m),
                    _ => None,
                },
                e.frames.response,
            ),
        ];
        for (m, fr) in sides {
            let (Some(m), Some(fr)) = (m, fr) else {
                continue;
            };
            let r = if m.is_request { "R" } else { "A" };
            let what = format!(
                "diameter cmd {}{r} hbh 0x{:08x}",
                m.command_code, m.hop_by_hop
            );
            out.push(((e.stream, what), fr));
            let mut v = Vec::new();
            results(&m.avps, &mut v);
            by_frame.entry((e.stream, fr[1])).or_default().extend(v);
        }
    }
    for ((stream, frame), mut v) in by_frame {
        if !v.is_empty() {
            v.sort();
            out.push((
                (stream, format!("diameter results {}", v.join(","))),
                [frame, frame],
            ));
        }
    }
}

/// tshark 4.0 read this Kafka message without its schema: a version newer than it
/// knows ("[Unsupported API version]", read with an older schema, so its topic names
/// and error codes are not the message's) or a response whose request it could not
/// decode ("Request Missing"). Its header fields still count; its topics and errors
/// are checked against the capture script instead (tests/kafka.rs).
fn kafka_blind(info: &str) -> bool {
    info.contains("[Unsupported API version]") || info.contains("Request Missing")
}

/// DNS: each message's id, question, and for responses the rcode and answer count
/// (`dns.id` and the other per-message fields are in message order; one question a
/// message, as in every capture here); per frame, the types of all records of all
/// sections (OPT included) and the A/AAAA addresses.
fn dns_reference_items(f: &Value, stream: u64, frame: u64, out: &mut Vec<(Item, u64)>) {
    let ids = strs(f, "dns.id");
    if ids.is_empty() {
        return;
    }
    let (resp, rcodes, answers) = (
        strs(f, "dns.flags.response"),
        strs(f, "dns.flags.rcode"),
        strs(f, "dns.count.answers"),
    );
    let (names, types) = (strs(f, "dns.qry.name"), strs(f, "dns.qry.type"));
    let mut r = 0;
    for (i, id) in ids.iter().enumerate() {
        let q = format!(
            "{} {}",
            names.get(i).map_or("?", String::as_str),
            types.get(i).map_or("?", String::as_str)
        );
        let what = if resp.get(i).is_some_and(|x| x == "1") {
            r += 1;
            format!(
                "dns r {id} {q} rcode {} answers {}",
                rcodes.get(r - 1).map_or("?", String::as_str),
                answers.get(i).map_or("?", String::as_str)
            )
        } else {
            format!("dns q {id} {q}")
        };
        out.push(((stream, what), frame));
    }
    let mut rr_types = strs(f, "dns.resp.type");
    if !rr_types.is_empty() {
        rr_types.sort();
        out.push((
            (stream, format!("dns rr types {}", rr_types.join(","))),
            frame,
        ));
    }
    for a in strs(f, "dns.a").into_iter().chain(strs(f, "dns.aaaa")) {
        out.push(((stream, format!("dns addr {a}")), frame));
    }
}

/// The same items from ks's DNS entries.
fn dns_ks_items(entries: &[Entry]) -> Vec<(Item, [u64; 2])> {
    let mut out = Vec::new();
    // Per (stream, frame): record types and addresses of every message completed there.
    let mut per_frame: BTreeMap<(u64, u64), (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut message = |m: &ks_proto_dns::DnsMessage, stream: u64, fr: [u64; 2]| {
        let q = m.questions.first().map_or("? ?".to_string(), |q| {
            // tshark names the root `<Root>`.
            let name = if q.name == "." { "<Root>" } else { &q.name };
            format!("{name} {}", q.type_value)
        });
        let id = format!("0x{:04x}", m.id);
        let what = if m.response {
            format!(
                "dns r {id} {q} rcode {} answers {}",
                m.rcode_value & 0xf,
                m.counts[1]
            )
        } else {
            format!("dns q {id} {q}")
        };
        out.push(((stream, what), fr));
        let slot = per_frame.entry((stream, fr[1])).or_default();
        for rr in m.answers.iter().chain(&m.authority).chain(&m.additional) {
            slot.0.push(rr.type_value.to_string());
            if matches!(rr.rtype.as_str(), "A" | "AAAA") {
                slot.1.push(rr.data.clone());
            }
        }
        if m.edns.is_some() {
            slot.0.push("41".to_string());
        }
    };
    for e in entries.iter().filter(|e| e.protocol == "dns") {
        if let (Some(Request::Dns(m)), Some(fr)) = (&e.request, e.frames.request) {
            message(m, e.stream, fr);
        }
        if let (Some(Response::Dns(m)), Some(fr)) = (&e.response, e.frames.response) {
            message(m, e.stream, fr);
        }
    }
    for ((stream, last), (mut types, addrs)) in per_frame {
        if !types.is_empty() {
            types.sort();
            out.push((
                (stream, format!("dns rr types {}", types.join(","))),
                [last, last],
            ));
        }
        for a in addrs {
            out.push(((stream, format!("dns addr {a}")), [last, last]));
        }
    }
    out
}

/// The distinct values, sorted.
fn uniq(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// Kafka API keys whose requests ks lists topics for (docs/kafka.md): Produce, Fetch,
/// ListOffsets, Metadata, OffsetCommit, OffsetFetch, CreateTopics, DeleteTopics.
const KAFKA_TOPIC_APIS: &[&str] = &["0", "1", "2", "3", "8", "9", "19", "20"];

/// Compare HTTP/2, gRPC and WebSocket items: each reference item must be in ks
/// output, in a frame range that contains tshark's frame; nothing extra.
fn item_differences(reference: &Value, entries: &[Entry]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut ours: BTreeMap<Item, Vec<[u64; 2]>> = BTreeMap::new();
    for (item, range) in ks_items(entries) {
        ours.entry(item).or_default().push(range);
    }
    for (item, frame) in reference_items(reference) {
        match ours.get_mut(&item) {
            Some(ranges) if !ranges.is_empty() => {
                let i = ranges
                    .iter()
                    .position(|r| r[0] <= frame && frame <= r[1])
                    .unwrap_or(0);
                let got = ranges.remove(i);
                if !(got[0] <= frame && frame <= got[1]) {
                    diffs.push(format!(
                        "stream {} {:?}: tshark frame {frame}, ks frames {}..{}",
                        item.0, item.1, got[0], got[1]
                    ));
                }
            }
            _ => diffs.push(format!(
                "missing in ks: stream {} {:?} (tshark frame {frame})",
                item.0, item.1
            )),
        }
    }
    // Frames where tshark did not decode a Kafka body (see `kafka_blind`).
    let blind: Vec<(u64, u64)> = reference["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| kafka_blind(m["info"].as_str().unwrap_or("")))
        .filter_map(|m| {
            let stream = strs(&m["fields"], "tcp.stream").first()?.parse().ok()?;
            Some((stream, m["frame"].as_u64()?))
        })
        .collect();
    for (item, ranges) in ours {
        // tshark 4.0's RESP dissector shows pipelined and inline commands as
        // `[fragment]`, so ks's extra Redis commands are not differences.
        if item.1.starts_with("redis req ") {
            continue;
        }
        let kafka_body = item.1.starts_with("kafka topic ") || item.1.starts_with("kafka error ");
        for r in ranges {
            if kafka_body
                && blind
                    .iter()
                    .any(|&(s, f)| s == item.0 && r[0] <= f && f <= r[1])
            {
                continue;
            }
            diffs.push(format!(
                "extra in ks: stream {} {:?} (ks frames {}..{})",
                item.0, item.1, r[0], r[1]
            ));
        }
    }
    diffs
}

/// Differences between ks and the reference for one capture, as readable lines.
fn differences(pcap: &Path) -> Vec<String> {
    differences_with(pcap, None)
}

/// With a key log: against `<stem>.keylog.tshark.json`, made by tshark with the
/// same key log (`-o tls.keylog_file:`), ks decrypting with it.
fn differences_with(pcap: &Path, keylog: Option<&Path>) -> Vec<String> {
    let stem = pcap.with_extension("");
    let suffix = if keylog.is_some() {
        "keylog.tshark.json"
    } else {
        "tshark.json"
    };
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.{suffix}", stem.display())).unwrap(),
    )
    .unwrap();
    let mut ks = run_ks_with(pcap, keylog);
    let mut diffs = item_differences(&reference, &ks.entries);

    // Messages: match each reference message to a ks message with equal stream and values,
    // preferring one completed in the same frame.
    let mut ours: BTreeMap<Msg, Vec<u64>> = BTreeMap::new();
    for (m, frame) in std::mem::take(&mut ks.msgs) {
        ours.entry(m).or_default().push(frame);
    }
    for (m, frame) in reference_messages(&reference) {
        match ours.get_mut(&m) {
            Some(frames) if !frames.is_empty() => {
                let i = frames.iter().position(|f| *f == frame).unwrap_or(0);
                let got = frames.remove(i);
                if got != frame {
                    diffs.push(format!(
                        "stream {} {:?}: tshark frame {frame}, ks frame {got}",
                        m.stream, m.what
                    ));
                }
            }
            _ => diffs.push(format!(
                "missing in ks: stream {} {:?} (tshark frame {frame})",
                m.stream, m.what
            )),
        }
    }
    for (m, frames) in ours {
        for f in frames {
            diffs.push(format!(
                "extra in ks: stream {} {:?} (ks frame {f})",
                m.stream, m.what
            ));
        }
    }

    // Flows.
    let theirs = reference["flows"].as_array().unwrap();
    let mut mine: BTreeMap<(String, u64), &ks_engine::FlowRecord> = BTreeMap::new();
    for f in &ks.flows {
        mine.insert((f.transport.to_string(), f.stream), f);
    }
    let ep = |e: &ks_engine::Endpoint| match e.ip {
        std::net::IpAddr::V4(ip) => format!("{ip}:{}", e.port),
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
    };
    let flow_count = theirs.len();
    if flow_count != ks.flows.len() {
        diffs.push(format!(
            "flow count: tshark {flow_count}, ks {}",
            ks.flows.len()
        ));
    }
    for t in theirs {
        let transport = t["transport"].as_str().unwrap().to_string();
        if transport == "sctp" {
            diffs.extend(sctp_flow_differences(&reference, t, &ks));
            continue;
        }
        let stream: u64 = t["stream"].as_str().unwrap().parse().unwrap();
        let Some(f) = mine.get(&(transport.clone(), stream)) else {
            diffs.push(format!("flow {transport} {stream} missing in ks"));
            continue;
        };
        let want = (
            t["a"].as_str().unwrap().to_string(),
            t["b"].as_str().unwrap().to_string(),
            t["frames"].as_u64().unwrap(),
            t["bytes_a_to_b"].as_u64().unwrap(),
            t["bytes_b_to_a"].as_u64().unwrap(),
        );
        let got = (ep(&f.a), ep(&f.b), f.frames, f.bytes_a_to_b, f.bytes_b_to_a);
        if want != got {
            diffs.push(format!(
                "flow {transport} {stream}: tshark (a, b, frames, a->b, b->a) {want:?}, ks {got:?}"
            ));
        }
        if transport == "tcp" {
            let want = (
                t["syn"].as_u64().unwrap(),
                t["fin"].as_u64().unwrap(),
                t["rst"].as_u64().unwrap(),
            );
            let got = (f.syn, f.fin, f.rst);
            if want != got {
                diffs.push(format!(
                    "flow tcp {stream}: tshark (syn, fin, rst) {want:?}, ks {got:?}"
                ));
            }
        }
    }
    diffs
}

/// An SCTP association of the reference (tshark names it by its port pair, not by
/// a number): ks has a flow with the same endpoints and frames, and its L4 entry
/// counts the chunk types tshark lists in the association's frames. Payload bytes
/// are not compared: tshark's conversation table counts none for SCTP, ks counts
/// DATA user bytes (docs/conformance.md).
fn sctp_flow_differences(reference: &Value, t: &Value, ks: &KsRun) -> Vec<String> {
    let (a, b) = (t["a"].as_str().unwrap(), t["b"].as_str().unwrap());
    let ep = |e: &ks_engine::Endpoint| match e.ip {
        std::net::IpAddr::V4(ip) => format!("{ip}:{}", e.port),
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
    };
    let Some(f) = ks
        .flows
        .iter()
        .find(|f| f.transport == "sctp" && ep(&f.a) == a && ep(&f.b) == b)
    else {
        return vec![format!("flow sctp {a} - {b} missing in ks")];
    };
    let mut diffs = Vec::new();
    let want_frames = t["frames"].as_u64().unwrap();
    if f.frames != want_frames {
        diffs.push(format!(
            "flow sctp {a} - {b}: tshark {want_frames} frames, ks {}",
            f.frames
        ));
    }
    // Chunk types of the association's frames in the reference.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for m in reference["messages"].as_array().unwrap() {
        let fl = &m["fields"];
        let src = strs(fl, "ip.src")
            .into_iter()
            .chain(strs(fl, "ipv6.src").into_iter().map(|i| format!("[{i}]")))
            .next()
            .unwrap_or_default();
        let sport = strs(fl, "sctp.srcport")
            .first()
            .cloned()
            .unwrap_or_default();
        let dst = strs(fl, "ip.dst")
            .into_iter()
            .chain(strs(fl, "ipv6.dst").into_iter().map(|i| format!("[{i}]")))
            .next()
            .unwrap_or_default();
        let dport = strs(fl, "sctp.dstport")
            .first()
            .cloned()
            .unwrap_or_default();
        let (s, d) = (format!("{src}:{sport}"), format!("{dst}:{dport}"));
        if !((s == a && d == b) || (s == b && d == a)) {
            continue;
        }
        for c in strs(fl, "sctp.chunk_type") {
            let n: u8 = c.parse().expect("chunk type number");
            let name = ks_decode::chunk_name(n).map_or_else(|| format!("CHUNK-{n}"), String::from);
            *want.entry(name).or_default() += 1;
        }
    }
    let got = ks
        .entries
        .iter()
        .filter(|e| e.transport == "sctp" && e.stream == f.stream)
        .find_map(|e| match &e.request {
            Some(Request::Flow(l4)) => l4.sctp.as_ref().map(|s| s.chunks.clone()),
            _ => None,
        });
    // An association a dissector took has no L4 entry: its DATA chunks are the
    // messages compared item by item.
    let dissected = ks
        .entries
        .iter()
        .any(|e| e.transport == "sctp" && e.stream == f.stream && e.protocol != "sctp");
    match got {
        Some(got) if got == want => {}
        None if dissected => {}
        got => diffs.push(format!(
            "flow sctp {a} - {b}: tshark chunks {want:?}, ks {got:?}"
        )),
    }
    diffs
}

#[test]
fn http_messages_and_flows_agree_with_tshark() {
    let mut unexplained = Vec::new();
    let mut seen_known = vec![false; KNOWN.len()];
    let mut checked = 0;
    // Reference items compared, by kind: each protocol must have been compared at all.
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for pcap in captures() {
        let name = pcap.file_name().unwrap().to_str().unwrap().to_string();
        checked += 1;
        let reference: Value = serde_json::from_str(
            &std::fs::read_to_string(pcap.with_extension("tshark.json")).unwrap(),
        )
        .unwrap();
        for ((_, what), _) in reference_items(&reference) {
            let kind = what.split(' ').take(2).collect::<Vec<_>>().join(" ");
            *kinds.entry(kind).or_default() += 1;
        }
        for d in differences(&pcap) {
            match KNOWN
                .iter()
                .position(|(f, diff, _)| *f == name && *diff == d)
            {
                Some(i) => seen_known[i] = true,
                None => unexplained.push(format!("{name}: {d}")),
            }
        }
    }
    assert!(
        checked >= 40,
        "expected the captures of http1/, tcp/, link/, http2/, grpc/ and websocket/, found {checked}"
    );
    for kind in [
        "h2 req",
        "h2 resp",
        "grpc msg",
        "grpc status",
        "ws text",
        "ws says",
        "kafka req",
        "kafka resp",
        "kafka topic",
        "kafka error",
        "dns q",
        "dns r",
        "dns rr",
        "dns addr",
        "radius 1",
        "ldap op",
        "ldap result",
        "diameter cmd",
        "diameter results",
        "icmp echo",
        "icmpv6 echo",
        "redis req",
        "redis err",
        "tls hs",
        "tls client",
        "tls server",
        "tls sni",
        "tls alpn",
        "tls alert",
    ] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind} compared: {kinds:?}"
        );
    }
    assert!(
        kinds.keys().any(|k| k.starts_with("amqp ")),
        "no AMQP compared: {kinds:?}"
    );
    let stale: Vec<_> = KNOWN
        .iter()
        .zip(&seen_known)
        .filter(|(_, s)| !**s)
        .map(|(k, _)| format!("{}: {}", k.0, k.1))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} differences with tshark:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed differences that no longer happen:\n{}",
        stale.join("\n")
    );
}

/// Captures with a key log beside them (`<stem>.keylog`): ks decrypting with it agrees
/// with tshark decrypting with it — the handshake messages inside the encrypted
/// records, and the HTTP/1 and HTTP/2 messages of the plaintext, frame by frame.
#[test]
fn decrypted_tls_agrees_with_tshark_using_the_same_key_log() {
    let mut unexplained = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked = 0;
    for pcap in captures() {
        let keylog = pcap.with_extension("keylog");
        if !keylog.exists() {
            continue;
        }
        checked += 1;
        let name = pcap.file_name().unwrap().to_str().unwrap().to_string();
        let reference: Value = serde_json::from_str(
            &std::fs::read_to_string(pcap.with_extension("keylog.tshark.json")).unwrap(),
        )
        .unwrap();
        for ((_, what), _) in reference_items(&reference) {
            let kind = what.split(' ').take(2).collect::<Vec<_>>().join(" ");
            *kinds.entry(kind).or_default() += 1;
        }
        *kinds.entry("http".into()).or_default() += reference_messages(&reference).len();
        for d in differences_with(&pcap, Some(&keylog)) {
            unexplained.push(format!("{name} (key log): {d}"));
        }
    }
    assert!(
        checked >= 8,
        "expected the ks_tls* captures with key logs, found {checked}"
    );
    for kind in [
        "http",
        "h2 req",
        "h2 resp",
        "tls hs",
        "tls alpn",
        "tls alert",
    ] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind} compared: {kinds:?}"
        );
    }
    assert!(
        unexplained.is_empty(),
        "{} differences with tshark:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}

#[test]
fn http2_bodies_are_shown_decoded_like_http1_ones() {
    // suricata-verify_http2-multiple-headers.pcap: a 404 sent with
    // `content-encoding: gzip`; tshark shows its DATA as text/html, and so does ks.
    let pcap = testdata().join("http2/suricata-verify_http2-multiple-headers.pcap");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(pcap.with_extension("tshark.json")).unwrap())
            .unwrap();
    let frame9 = reference["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["frame"] == 9)
        .unwrap();
    assert!(strs(&frame9["fields"], "http2.header.value").contains(&"gzip".to_string()));
    assert!(frame9["info"].as_str().unwrap().contains("(text/html)"));
    let ks = run_ks(&pcap);
    let Some(Response::Http(r)) = &ks.entries[0].response else {
        panic!("no response");
    };
    let text = r.body.as_ref().and_then(|b| b.as_text()).unwrap();
    assert!(text.starts_with("<!DOCTYPE HTML"), "{text}");
    assert!(text.contains("<title>404 Not Found</title>"));
    assert_eq!(r.body_size, text.len() as u64);
}
