//! The engine on hand-built packets: detection, pairing, hand-off, gaps, caps,
//! and entries coming out while the capture is still being read.

mod common;

use common::*;
use ks_capture::Packet;
use ks_engine::{Engine, EngineConfig, Entry, Output, Request, Response};

fn req(e: &Entry) -> &ks_engine::HttpRequest {
    match e.request.as_ref().expect("request") {
        Request::Http(r) => r,
        other => panic!("not an HTTP request: {other:?}"),
    }
}

fn resp(e: &Entry) -> &ks_engine::HttpResponse {
    match e.response.as_ref().expect("response") {
        Response::Http(r) => r,
        other => panic!("not an HTTP response: {other:?}"),
    }
}

const GET: &[u8] = b"GET /api/items?id=7 HTTP/1.1\r\nHost: shop\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn http_on_an_unusual_port_is_found_by_its_bytes() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 30035);
    c.handshake(&mut cap);
    c.c(&mut cap, GET);
    c.s(&mut cap, OK);
    c.close(&mut cap);
    let r = run(&cap);
    assert_eq!(r.entries.len(), 1);
    let e = &r.entries[0];
    assert_eq!(
        (e.id.as_str(), e.protocol, e.transport, e.stream),
        ("0-0", "http", "tcp", 0)
    );
    assert_eq!((e.src.port, e.dst.port), (40000, 30035));
    assert_eq!(req(e).path, "/api/items?id=7");
    assert_eq!(
        req(e).headers,
        vec![("Host".to_string(), "shop".to_string())]
    );
    assert_eq!(
        (
            resp(e).status,
            resp(e).body.as_ref().and_then(|b| b.as_text()),
            resp(e).body_size
        ),
        (200, Some("hello"), 5)
    );
    assert_eq!(e.frames.request, Some([4, 4]));
    assert_eq!(e.frames.response, Some([5, 5]));
    assert_eq!(e.elapsed_us, Some(1000));
    assert_eq!(e.summary, "GET /api/items?id=7 200");
    assert!(e.error.is_none());
    assert_eq!(r.flows.len(), 1);
    assert_eq!(
        (
            r.flows[0].protocol,
            r.flows[0].bytes_a_to_b,
            r.flows[0].bytes_b_to_a
        ),
        ("http", GET.len() as u64, OK.len() as u64)
    );
}

#[test]
fn other_protocols_on_port_80_give_no_entries() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 8081);
    c.handshake(&mut cap);
    c.s(&mut cap, b"SSH-2.0-OpenSSH_9.2\r\n");
    c.c(&mut cap, b"SSH-2.0-Go\r\n");
    // The client's line again, as a retransmission.
    c.cseq -= 12;
    c.c(&mut cap, b"SSH-2.0-Go\r\n");
    c.close(&mut cap);
    let r = run(&cap);
    // Only the flow's own L4 entry, with the first bytes of each side.
    assert_eq!(r.entries.len(), 1);
    let e = &r.entries[0];
    assert_eq!(e.protocol, "tcp");
    let Some(ks_engine::Request::Flow(f)) = &e.request else {
        panic!("{e:?}")
    };
    // Bytes on the wire, the retransmission included (as tshark's conversation table).
    assert_eq!(f.bytes, [24, 21]);
    assert_eq!(f.first_bytes[0], "5353482d322e302d476f0d0a"); // "SSH-2.0-Go\r\n"
    assert!(f.first_bytes[1].starts_with("5353482d322e302d4f70656e535348")); // "SSH-2.0-OpenSSH"
    assert_eq!(
        f.tcp_flags
            .as_ref()
            .map(|t| (t.syn, t.fin, t.retransmissions)),
        Some((2, 2, 1))
    );
    assert_eq!(r.flows[0].protocol, "tcp");
    assert_eq!(r.stats.parse_errors, 0);
    // Switched off: nothing.
    let off = run_with(
        &cap,
        EngineConfig {
            l4_entries: false,
            ..EngineConfig::default()
        },
    );
    assert!(off.entries.is_empty());
}

#[test]
fn a_connection_picked_up_mid_stream_still_knows_its_client() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 8080);
    // No handshake; the first bytes seen are a response (so side A is the server).
    c.s(&mut cap, OK);
    c.c(&mut cap, GET);
    c.s(&mut cap, OK);
    let r = run(&cap);
    assert_eq!(r.entries.len(), 2, "{:?}", r.entries);
    let lone = &r.entries[0];
    assert!(lone.request.is_none());
    assert_eq!(lone.error.as_ref().unwrap().kind, "no-request");
    let pair = &r.entries[1];
    assert_eq!(
        (pair.src.port, pair.dst.port),
        (40000, 8080),
        "client is the requester, not the first sender"
    );
    assert!(pair.error.is_none());
    assert_eq!(
        r.flows[0].a.port, 8080,
        "flow side A stays the first sender, as in tshark"
    );
}

#[test]
fn reordered_and_retransmitted_segments_pair_into_one_entry() {
    let body = b"0123456789abcdefghij";
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 80);
    c.handshake(&mut cap);
    c.c(&mut cap, GET);
    let s0 = c.sseq;
    let parts: [&[u8]; 3] = [head.as_bytes(), &body[..10], &body[10..]];
    let mut seqs = Vec::new();
    for p in parts {
        seqs.push(c.sseq);
        c.sseq += p.len() as u32;
    }
    let seg = |i: usize| ipv4_tcp(c.server, c.client, seqs[i], c.cseq, ACK, parts[i]);
    cap.push(seg(2));
    cap.push(seg(0));
    cap.push(seg(0)); // retransmission
    cap.push(seg(1));
    assert!(s0 < c.sseq);
    c.close(&mut cap);
    let r = run(&cap);
    assert_eq!(r.entries.len(), 1);
    let e = &r.entries[0];
    assert_eq!(
        resp(e).body.as_ref().and_then(|b| b.as_text()),
        Some("0123456789abcdefghij")
    );
    // Completed by the frame that filled the hole.
    assert_eq!(e.frames.response, Some([6, 8]));
    assert!(r.stats.tcp.out_of_order >= 1 && r.stats.tcp.retransmissions >= 1);
}

#[test]
fn pipelined_requests_pair_in_order_and_gzip_bodies_are_decoded() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"items\": [1, 2, 3]}").unwrap();
    let gz = gz.finish().unwrap();
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 80);
    c.handshake(&mut cap);
    c.c(&mut cap, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nHEAD /c HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut r2 = format!(
        "HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    r2.extend_from_slice(&gz);
    c.s(&mut cap, OK);
    c.s(&mut cap, &r2);
    c.s(&mut cap, b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n");
    c.close(&mut cap);
    let r = run(&cap);
    let got: Vec<(String, u16)> = r
        .entries
        .iter()
        .map(|e| (req(e).path.clone(), resp(e).status))
        .collect();
    assert_eq!(
        got,
        vec![("/a".into(), 200), ("/b".into(), 201), ("/c".into(), 200)]
    );
    assert_eq!(
        resp(&r.entries[1]).body.as_ref().and_then(|b| b.as_text()),
        Some("{\"items\": [1, 2, 3]}")
    );
    assert_eq!(
        resp(&r.entries[2]).body_size,
        0,
        "a HEAD response has no body"
    );
    assert!(r.entries.iter().all(|e| e.error.is_none()));
}

#[test]
fn websocket_upgrade_hands_the_connection_over() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 80);
    c.handshake(&mut cap);
    c.c(
        &mut cap,
        b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    c.s(&mut cap, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello");
    c.c(&mut cap, b"\x81\x85abcd\x09\x07\x0f\x08\x0e");
    c.close(&mut cap);
    let r = run(&cap);
    assert_eq!(r.entries.len(), 3);
    assert_eq!(resp(&r.entries[0]).status, 101);
    // The server's message came in the segment of the 101; the client's is masked.
    let ws: Vec<_> = r.entries[1..]
        .iter()
        .map(|e| match &e.request {
            Some(Request::WebSocket(w)) => (
                e.src.port,
                w.opcode,
                w.masked,
                w.payload
                    .as_ref()
                    .and_then(|p| p.as_text())
                    .map(String::from),
            ),
            other => panic!("not a WebSocket message: {other:?}"),
        })
        .collect();
    assert_eq!(
        ws,
        vec![
            (80, "text", false, Some("hello".to_string())),
            (40000, "text", true, Some("hello".to_string())),
        ]
    );
    assert_eq!(r.stats.handoffs, 1);
    assert_eq!(r.stats.parse_errors, 0);
    assert_eq!(r.flows[0].protocol, "websocket");
}

#[test]
fn a_lost_segment_becomes_a_gap_and_later_exchanges_survive() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 80);
    c.handshake(&mut cap);
    c.c(&mut cap, GET);
    c.s(
        &mut cap,
        b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789",
    );
    c.s_lost(b"abcdefghij");
    c.c_ack(&mut cap); // the client got bytes the capture never saw
    c.c(&mut cap, b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    c.s(&mut cap, OK);
    c.close(&mut cap);
    let r = run(&cap);
    assert_eq!(r.entries.len(), 2);
    assert_eq!(r.entries[0].error.as_ref().unwrap().kind, "gap");
    assert_eq!(resp(&r.entries[0]).body_size, 20);
    assert_eq!(req(&r.entries[1]).path, "/next");
    assert!(r.entries[1].error.is_none());
    assert_eq!(r.stats.tcp.gaps, 1);
    assert_eq!(r.flows[0].gaps, 1);
}

#[test]
fn a_full_flow_table_evicts_the_oldest_flow_and_keeps_dissecting() {
    let mut cap = Capture::default();
    let mut conns: Vec<Conn> = (0..10).map(|i| Conn::new(41000 + i, 80)).collect();
    for c in &mut conns {
        c.handshake(&mut cap);
        c.c(&mut cap, GET);
    }
    for c in &mut conns {
        c.s(&mut cap, OK);
    }
    let cfg = EngineConfig {
        max_flows: 4,
        ..EngineConfig::default()
    };
    let r = run_with(&cap, cfg);
    // 6 evicted while opening; then every response finds its flow gone (LRU cycles
    // through a table of 4) and makes room for a new one: 10 more.
    assert_eq!(r.stats.flows_evicted, 6 + 10);
    assert_eq!(
        r.entries.iter().filter(|e| e.request.is_some()).count(),
        10,
        "no request is lost"
    );
    assert!(r.entries.len() <= 20);
    // Streams are numbered like tshark's: a flow that comes back after eviction is a new stream.
    assert_eq!(r.stats.tcp_flows, 20);
    assert_eq!(
        r.flows.len(),
        20,
        "every flow, evicted or not, gets its record"
    );
}

#[test]
fn entries_come_out_while_the_capture_is_read() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 80);
    c.handshake(&mut cap);
    c.c(&mut cap, GET);
    c.s(&mut cap, OK);
    let mut engine = Engine::new(EngineConfig::default());
    for (i, data) in cap.frames.iter().enumerate() {
        let pkt = Packet {
            frame: i as u64 + 1,
            ts_ns: 0,
            link_type: RAW_IP,
            interface_id: 0,
            orig_len: data.len() as u32,
            data,
        };
        engine.process(&pkt);
    }
    // No FIN, no finish(): the pair is out as soon as the response completed.
    match engine.next_output() {
        Some(Output::Entry(e)) => assert_eq!(e.summary, "GET /api/items?id=7 200"),
        other => panic!("expected an entry, got {other:?}"),
    }
    assert_eq!(engine.active_flows(), 1);
}

#[test]
fn decode_as_forces_a_parser_where_the_probe_cannot_tell() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 5555);
    // Picked up mid-body: the first bytes are not a request line.
    c.c(&mut cap, b"tail of an earlier upload\r\n");
    c.c(&mut cap, GET);
    c.s(&mut cap, OK);
    assert!(
        run(&cap).entries.iter().all(|e| e.protocol == "tcp"),
        "5555 is no HTTP port: the flow stays opaque"
    );
    let cfg = EngineConfig {
        decode_as: vec!["tcp.port==5555,http".parse().unwrap()],
        ..EngineConfig::default()
    };
    let r = run_with(&cap, cfg);
    assert_eq!(r.entries.len(), 1, "{:?}", r.entries);
    assert_eq!(req(&r.entries[0]).path, "/api/items?id=7");
}

#[test]
fn decode_as_websocket_reads_a_connection_picked_up_after_its_handshake() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 5556);
    c.handshake(&mut cap);
    // RFC 6455 5.7: unmasked "Hello" from the server, masked "Hello" from the client.
    c.s(&mut cap, b"\x81\x05Hello");
    c.c(&mut cap, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    c.close(&mut cap);
    assert!(
        run(&cap).entries.iter().all(|e| e.protocol == "tcp"),
        "no handshake: opaque"
    );
    let cfg = EngineConfig {
        decode_as: vec!["tcp.port==5556,websocket".parse().unwrap()],
        ..EngineConfig::default()
    };
    let r = run_with(&cap, cfg);
    let got: Vec<_> = r
        .entries
        .iter()
        .map(|e| match &e.request {
            Some(Request::WebSocket(w)) => (
                e.src.port,
                w.masked,
                w.payload
                    .as_ref()
                    .and_then(|p| p.as_text())
                    .map(String::from),
            ),
            other => panic!("not WebSocket: {other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (5556, false, Some("Hello".to_string())),
            (40000, true, Some("Hello".to_string())),
        ]
    );
}

/// BER: tag, short or long-form length, value.
fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
    let mut t = vec![tag];
    if v.len() < 128 {
        t.push(v.len() as u8);
    } else {
        t.extend([0x82, (v.len() >> 8) as u8, v.len() as u8]);
    }
    t.extend_from_slice(v);
    t
}

#[test]
fn cldap_over_udp_is_ldap_with_its_entries() {
    // An AD-style CLDAP "netlogon ping": a rootDSE search over UDP 389, answered by one
    // searchResEntry and a searchResDone in one datagram (RFC 1798 / MS-ADTS 6.3.3).
    let filter = tlv(0x87, b"objectClass");
    let attrs = tlv(0x30, &tlv(0x04, b"netlogon"));
    let body = [
        tlv(0x04, b""),
        tlv(0x0a, &[0]),
        tlv(0x0a, &[0]),
        tlv(0x02, &[0]),
        tlv(0x02, &[0]),
        tlv(0x01, &[0]),
        filter,
        attrs,
    ]
    .concat();
    let req = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x63, &body)].concat());
    let attr = tlv(
        0x30,
        &[
            tlv(0x04, b"netlogon"),
            tlv(0x31, &tlv(0x04, b"\x17\x00\xfd")),
        ]
        .concat(),
    );
    let entry = tlv(
        0x30,
        &[
            tlv(0x02, &[1]),
            tlv(0x64, &[tlv(0x04, b""), tlv(0x30, &attr)].concat()),
        ]
        .concat(),
    );
    let done = tlv(
        0x30,
        &[
            tlv(0x02, &[1]),
            tlv(
                0x65,
                &[tlv(0x0a, &[0]), tlv(0x04, b""), tlv(0x04, b"")].concat(),
            ),
        ]
        .concat(),
    );
    let mut cap = Capture::default();
    cap.push(ipv4(
        [10, 0, 0, 1],
        [10, 0, 0, 2],
        17,
        &udp(53000, 389, &req),
    ));
    cap.push(ipv4(
        [10, 0, 0, 2],
        [10, 0, 0, 1],
        17,
        &udp(389, 53000, &[entry, done].concat()),
    ));
    let r = run(&cap);
    assert_eq!(r.entries.len(), 1, "{:?}", r.entries);
    let e = &r.entries[0];
    assert_eq!((e.protocol, e.transport), ("ldap", "udp"));
    assert_eq!(
        e.summary,
        "search base=<ROOT> (objectClass=*) → success 1 entry"
    );
    assert_eq!(e.frames.response, Some([2, 2]));
    let Some(Response::Ldap(res)) = &e.response else {
        panic!("{e:?}")
    };
    assert_eq!(res.entry_count, 1);
    assert_eq!(res.entries[0].attributes, ["netlogon"]);
    assert_eq!(r.flows[0].protocol, "ldap");
}
