//! Every variable on entries of real captures: for each entry, a filter built
//! from what tshark's reference says of the entry's frames must match it, and
//! a filter with a wrong value must not.

mod common;

use common::{capture, entries, field, frame_time_ns, lit, reference};
use ks_engine::Entry;
use ks_query::Filter;

fn yes(expr: &str, e: &Entry) {
    let f = Filter::new(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
    assert!(
        f.matches(e),
        "{expr} should match entry {} ({})",
        e.id,
        e.summary
    );
}

fn no(expr: &str, e: &Entry) {
    let f = Filter::new(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
    assert!(
        !f.matches(e),
        "{expr} should not match entry {} ({})",
        e.id,
        e.summary
    );
}

fn req_frame(e: &Entry) -> u64 {
    e.frames.request.map_or(0, |f| f[1])
}

#[allow(dead_code)]
fn resp_frame(e: &Entry) -> u64 {
    e.frames.response.unwrap()[1]
}

#[test]
fn http1_request_and_response_variables_agree_with_tshark() {
    let mut checked = 0;
    for rel in [
        "http1/zeek_http_methods.pcap",
        "http1/zeek_http_get.pcap",
        "http1/zeek_http_post.pcap",
        "http1/tcpdump_ipv4_tcp_http_xml.pcap",
    ] {
        let pcap = capture(rel);
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "http") {
            yes("http && tcp && !udp && !http2 && !dns", e);
            yes(r#"protocol == "http""#, e);
            let Some(rq) = e.frames.request.map(|f| f[1]) else {
                continue;
            };
            let method = field(&r, rq, "http.request.method");
            let uri = field(&r, rq, "http.request.uri");
            let host = field(&r, rq, "http.host");
            if method.len() != 1 {
                continue; // several requests in one frame: checked elsewhere
            }
            yes(&format!("method == {}", lit(&method[0])), e);
            no(&format!("method == {}", lit(&format!("{}X", method[0]))), e);
            yes(&format!("path == {}", lit(&uri[0])), e);
            yes(
                &format!("src.ip == {}", lit(&field(&r, rq, "ip.src")[0])),
                e,
            );
            yes(
                &format!("dst.ip == {}", lit(&field(&r, rq, "ip.dst")[0])),
                e,
            );
            yes(
                &format!("src.port == {}", field(&r, rq, "tcp.srcport")[0]),
                e,
            );
            yes(
                &format!("dst.port == {}", field(&r, rq, "tcp.dstport")[0]),
                e,
            );
            if let Some(h) = host.first() {
                // Header names match in any case.
                yes(&format!("request.headers[\"HOST\"] == {}", lit(h)), e);
                yes(&format!("request.headers[\"host\"] == {}", lit(h)), e);
                if !uri[0].contains("://") {
                    yes(
                        &format!("url == {}", lit(&format!("http://{h}{}", uri[0]))),
                        e,
                    );
                }
            } else {
                no("url != \"\"", e);
            }
            // The request's first frame is the entry's time (when tshark lists that frame).
            if let Some(t) = frame_time_ns(&r, e.frames.request.unwrap()[0]) {
                assert_eq!(t / 1000, e.ts_ns / 1000);
            }
            let Some(rs) = e.frames.response.map(|f| f[1]) else {
                no("status_code > 0", e);
                yes("!(status_code > 0)", e);
                continue;
            };
            let code = field(&r, rs, "http.response.code");
            if code.len() != 1 {
                continue;
            }
            yes(&format!("status_code == {}", code[0]), e);
            no(&format!("status_code != {}", code[0]), e);
            if let Some(ct) = field(&r, rs, "http.content_type").first() {
                yes(
                    &format!("response.headers[\"Content-Type\"] == {}", lit(ct)),
                    e,
                );
            }
            if let Some(body) = field(&r, rs, "http.file_data").first() {
                // The reference cuts long values ("…[+N]"): compare the start.
                let head: String = body.split("…[+").next().unwrap().chars().take(40).collect();
                if !head.is_empty() && e.response.is_some() {
                    yes(&format!("response.body.startsWith({})", lit(&head)), e);
                }
            }
            let us = (frame_time_ns(&r, rs).unwrap() - e.ts_ns) / 1000;
            yes(&format!("elapsed_time == {us}"), e);
            yes(&format!("elapsed_time > {}", us.saturating_sub(1)), e);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} exchanges checked");
}

#[test]
fn http2_and_grpc_variables_agree_with_tshark() {
    let mut checked = 0;
    for rel in [
        "http2/ks_h2c_prior-knowledge.pcap",
        "grpc/ks_grpc_python.pcap",
    ] {
        let pcap = capture(rel);
        if !pcap.exists() {
            continue;
        }
        let r = reference(&pcap);
        for e in entries(&pcap) {
            if !matches!(e.protocol, "http2" | "grpc") {
                continue;
            }
            yes("http && http2", &e);
            // The HEADERS frame that opened the stream (the last frame of the
            // request may carry other streams' frames).
            let rq = e.frames.request.unwrap()[0];
            let paths = field(&r, rq, "http2.headers.path");
            if paths.len() == 1 {
                yes(&format!("path == {}", lit(&paths[0])), &e);
                yes(
                    &format!(
                        "method == {}",
                        lit(&field(&r, rq, "http2.headers.method")[0])
                    ),
                    &e,
                );
            }
            if let Some(f) = e.frames.response {
                let st = field(&r, f[0], "http2.headers.status");
                if st.len() == 1 {
                    yes(&format!("status_code == {}", st[0]), &e);
                }
            }
            if e.protocol == "grpc" {
                yes("grpc", &e);
                // `/pkg.Service/Method` is the path; grpc_method drops the slash.
                if paths.len() == 1 {
                    yes(&format!("grpc_method == {}", lit(&paths[0][1..])), &e);
                }
                yes("grpc_status == 0 || grpc_status > 0", &e);
            } else {
                no("grpc", &e);
                no("grpc_status >= 0", &e);
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} HTTP/2 exchanges checked");
}

#[test]
fn dns_questions_agree_with_tshark() {
    let mut checked = 0;
    for rel in ["dns/tcpdump_dns_udp.pcap", "dns/ks_dns_unbound.pcap"] {
        let pcap = capture(rel);
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "dns") {
            yes("dns", e);
            // tcp/udp say the transport, as in Wireshark.
            if e.transport == "udp" {
                yes("udp && !tcp", e);
            } else {
                yes("tcp && !udp", e);
            }
            no("http || redis", e);
            let names = field(&r, e.frames.request.unwrap()[0], "dns.qry.name");
            for n in &names {
                yes(&format!("{} in dns_questions", lit(n)), e);
                yes(&format!("dns_questions.exists(q, q == {})", lit(n)), e);
            }
            yes(&format!("size(dns_questions) == {}", names.len()), e);
            no("dns_questions.exists(q, q == \"no.such.name.invalid\")", e);
            // HTTP variables do not apply: comparisons are false, negations true.
            no("status_code >= 400", e);
            no("status_code < 400", e);
            yes("!(status_code >= 400)", e);
            no("method == \"GET\"", e);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} DNS entries checked");
}

#[test]
fn redis_kafka_amqp_tls_variables_agree_with_tshark() {
    // Redis: the command word is the first bulk string tshark shows.
    let pcap = capture("redis/ks_redis_cli.pcap");
    let r = reference(&pcap);
    let mut redis = 0;
    for e in entries(&pcap).iter().filter(|e| e.protocol == "redis") {
        if !matches!(e.request, Some(ks_engine::Request::Redis(_))) {
            // A pushed message (pub/sub) has no command.
            no("redis_command != \"\"", e);
            continue;
        }
        let words = field(&r, req_frame(e), "resp.bulk_string.value");
        if let Some(w) = words.first() {
            // tshark shows bulk strings as hex (`434F4D4D414E44` is COMMAND).
            let word = hex_text(w).unwrap_or_else(|| w.clone());
            yes(
                &format!("redis && redis_command == {}", lit(&word.to_uppercase())),
                e,
            );
            redis += 1;
        }
    }
    assert!(redis >= 3, "{redis} redis entries");

    // Kafka: the API from tshark's Info column (`Kafka Produce v7 Request`), topics by name.
    let pcap = capture("kafka/ks_kafka_clients.pcap");
    let r = reference(&pcap);
    let mut kafka = 0;
    for e in entries(&pcap).iter().filter(|e| e.protocol == "kafka") {
        let Some(m) = r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["frame"].as_u64() == Some(req_frame(e)))
        else {
            continue;
        };
        let info = m["info"].as_str().unwrap();
        let Some(api) = info
            .strip_prefix("Kafka ")
            .and_then(|s| s.split(" v").next())
        else {
            continue;
        };
        // tshark says e.g. "Api Versions" where Kafka's own name is ApiVersions.
        let mut api = api.replace(' ', "");
        // tshark 4.0 still uses the old name of key 2.
        if api == "Offsets" {
            api = "ListOffsets".into();
        }
        yes(&format!("kafka && kafka_api == {}", lit(&api)), e);
        // "[ Null ]" is tshark's rendering of a null name (topic ids only).
        for t in field(&r, req_frame(e), "kafka.topic_name")
            .into_iter()
            .filter(|t| t != "[ Null ]")
        {
            yes(&format!("{} in kafka_topics", lit(&t)), e);
        }
        kafka += 1;
    }
    assert!(kafka >= 3, "{kafka} kafka entries");

    // AMQP: class.method from tshark's class and method names.
    let mut amqp = 0;
    for pcap in common::captures()
        .into_iter()
        .filter(|p| p.to_str().unwrap().contains("/amqp/"))
    {
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "amqp") {
            let f = req_frame(e);
            let (class, method) = (
                field(&r, f, "amqp.method.class"),
                field(&r, f, "amqp.method.method"),
            );
            if class.len() == 1 && method.len() == 1 {
                // tshark gives class and method ids; names from the AMQP 0-9-1 spec.
                let name = match (class[0].as_str(), method[0].as_str()) {
                    ("10", "10") => "connection.start",
                    ("10", "30") => "connection.tune",
                    ("10", "40") => "connection.open",
                    ("10", "50") => "connection.close",
                    ("20", "10") => "channel.open",
                    ("20", "40") => "channel.close",
                    ("40", "10") => "exchange.declare",
                    ("50", "10") => "queue.declare",
                    ("50", "20") => "queue.bind",
                    ("60", "20") => "basic.consume",
                    ("60", "40") => "basic.publish",
                    ("60", "60") => "basic.deliver",
                    ("60", "80") => "basic.ack",
                    _ => "",
                };
                yes(
                    &format!(
                        "amqp && entry.request.class_id == {} && entry.request.method_id == {}",
                        class[0], method[0]
                    ),
                    e,
                );
                if !name.is_empty() {
                    yes(&format!("amqp_method == {}", lit(name)), e);
                    amqp += 1;
                }
            }
        }
    }
    assert!(amqp >= 5, "{amqp} amqp entries");

    // TLS: the SNI of each ClientHello.
    let mut tls = 0;
    for pcap in common::captures()
        .into_iter()
        .filter(|p| p.to_str().unwrap().contains("/tls/"))
    {
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "tls") {
            let Some(f) = e.frames.request else { continue };
            let sni = field(&r, f[0], "tls.handshake.extensions_server_name");
            if sni.len() == 1 {
                yes(&format!("tls && tls_sni == {}", lit(&sni[0])), e);
                tls += 1;
            }
        }
    }
    assert!(tls >= 3, "{tls} tls entries");
}

#[test]
fn timestamp_now_duration_summary_and_entry() {
    let pcap = capture("http1/zeek_http_get.pcap");
    let r = reference(&pcap);
    let es = entries(&pcap);
    let e = es.iter().find(|e| e.protocol == "http").unwrap();
    let t = frame_time_ns(&r, e.frames.request.unwrap()[0]).unwrap();
    let secs = t / 1_000_000_000;
    let iso = ks_engine::rfc3339_us(secs * 1_000_000_000).replace(".000000Z", "Z");
    yes(&format!("timestamp >= timestamp({})", lit(&iso)), e);
    yes(
        &format!("timestamp < timestamp({}) + duration(\"1s\")", lit(&iso)),
        e,
    );
    yes("timestamp < now()", e);
    no("timestamp > now() - duration(\"5m\")", e);
    yes(&format!("entry.id == {}", lit(&e.id)), e);
    yes("entry.request.method == method", e);
    yes(&format!("summary == {}", lit(&e.summary)), e);
    // A header the request lacks makes its comparison false, not an error.
    no("request.headers[\"x-no-such-header\"] == \"1\"", e);
    yes("!has(request.headers.x_no_such_header)", e);
}

fn hex_text(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).ok()
}

/// Over every bundled capture: when a protocol variable is true for an entry,
/// tshark's protocol stacks (`frame.protocols`) of the entry's frames name
/// that protocol; and exactly one of the application booleans holds.
#[test]
fn protocol_booleans_agree_with_tshark_protocol_stacks() {
    // variable -> tshark protocol names that stand for it.
    let names: &[(&str, &[&str])] = &[
        ("http2", &["http2"]),
        ("grpc", &["grpc"]),
        ("websocket", &["websocket", "http2"]),
        ("redis", &["resp"]),
        ("kafka", &["kafka"]),
        ("amqp", &["amqp"]),
        ("dns", &["dns", "mdns"]),
        ("ldap", &["ldap", "cldap"]),
        ("radius", &["radius"]),
        ("diameter", &["diameter"]),
        ("icmp", &["icmp", "icmpv6"]),
        ("tcp", &["tcp"]),
        ("udp", &["udp"]),
        ("sctp", &["sctp"]),
    ];
    let filters: Vec<(&str, Filter, &[&str])> = names
        .iter()
        .map(|(v, n)| (*v, Filter::new(v).unwrap(), *n))
        .collect();
    let one_app = Filter::new(
        "[http && !grpc && !gql && !http2, http2 && !grpc && !gql, grpc, gql, websocket, redis, \
         kafka, amqp, dns, ldap, radius, diameter, icmp, protocol == \"tls\", \
         protocol in [\"tcp\", \"udp\", \"sctp\"]].filter(b, b).size() == 1",
    )
    .unwrap();
    let mut checked = std::collections::BTreeMap::new();
    for pcap in common::captures() {
        let r = reference(&pcap);
        for e in entries(&pcap) {
            assert!(
                one_app.matches(&e),
                "{}: {} {}",
                pcap.display(),
                e.id,
                e.protocol
            );
            // tshark's protocols on the frames of the entry (request and response).
            let ranges: Vec<[u64; 2]> = [e.frames.request, e.frames.response]
                .into_iter()
                .flatten()
                .collect();
            let stack: Vec<&str> = r["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| {
                    let f = m["frame"].as_u64().unwrap();
                    ranges.iter().any(|[a, b]| (*a..=*b).contains(&f))
                })
                .flat_map(|m| m["protocols"].as_str().unwrap().split(':'))
                .collect();
            if stack.is_empty() {
                continue;
            }
            for (v, f, n) in &filters {
                if f.matches(&e) {
                    assert!(
                        n.iter().any(|p| stack.contains(p)),
                        "{}: entry {} is `{v}` but tshark's frames {:?} are {:?}",
                        pcap.display(),
                        e.id,
                        ranges,
                        stack
                    );
                    *checked.entry(*v).or_insert(0) += 1;
                }
            }
        }
    }
    for (v, _) in names {
        assert!(
            checked.get(v).copied().unwrap_or(0) > 0,
            "`{v}` never checked: {checked:?}"
        );
    }
}

#[test]
fn request_bodies_kafka_topic_and_grpc_status_agree_with_tshark() {
    // Request bodies: the start of tshark's http.file_data on the request frame.
    let mut bodies = 0;
    for rel in [
        "http1/zeek_http_post.pcap",
        "http1/tcpdump_ipv4_tcp_http_xml.pcap",
    ] {
        let pcap = capture(rel);
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "http") {
            if let Some(body) = field(&r, req_frame(e), "http.file_data").first() {
                let head: String = body.split("…[+").next().unwrap().chars().take(40).collect();
                if !head.is_empty() {
                    yes(&format!("request.body.startsWith({})", lit(&head)), e);
                    no(
                        &format!("request.body.startsWith({})", lit(&format!("x{head}"))),
                        e,
                    );
                    bodies += 1;
                }
            }
        }
    }
    assert!(bodies > 0);

    // kafka_topic: the first topic name tshark shows on the request frame.
    let pcap = capture("kafka/ks_kafka_clients.pcap");
    let r = reference(&pcap);
    let mut topics = 0;
    for e in entries(&pcap).iter().filter(|e| e.protocol == "kafka") {
        let names = field(&r, req_frame(e), "kafka.topic_name");
        if let Some(t) = names.first().filter(|t| *t != "[ Null ]") {
            yes(&format!("kafka_topic == {}", lit(t)), e);
            topics += 1;
        }
    }
    assert!(topics > 0);

    // grpc_status: the grpc-status trailer among tshark's HTTP/2 header fields
    // on the frames of the response.
    let mut statuses = 0;
    for pcap in common::captures()
        .into_iter()
        .filter(|p| p.to_str().unwrap().contains("/grpc/"))
    {
        let r = reference(&pcap);
        for e in entries(&pcap).iter().filter(|e| e.protocol == "grpc") {
            let Some([first, last]) = e.frames.response else {
                continue;
            };
            let mut status = None;
            for f in first..=last {
                let names = field(&r, f, "http2.header.name");
                let values = field(&r, f, "http2.header.value");
                for (n, v) in names.iter().zip(values.iter()) {
                    if n == "grpc-status" {
                        status = Some(v.clone());
                    }
                }
            }
            if let Some(s) = status {
                yes(&format!("grpc && grpc_status == {s}"), e);
                no(&format!("grpc_status != {s}"), e);
                statuses += 1;
            }
        }
    }
    assert!(statuses > 0);
}
