//! Hostile inputs: no panic, memory under its cap (asserted on the engine's own
//! counters and gauges, never on timing), and the rest of the capture still dissected.

mod common;

use common::*;
use ks_engine::{Dissector, Engine, EngineConfig, Output, Request, Response};

/// A normal exchange on its own connection, to check the engine still works after the attack.
fn normal_exchange(cap: &mut Capture, port: u16) {
    let mut c = Conn::new(port, 80);
    c.handshake(cap);
    c.c(cap, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    c.s(cap, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close(cap);
}

fn has_after(entries: &[ks_engine::Entry]) -> bool {
    entries.iter().any(|e| {
        matches!(&e.request, Some(Request::Http(r)) if r.path == "/after")
            && matches!(&e.response, Some(Response::Http(r)) if r.status == 200)
            && e.error.is_none()
    })
}

#[test]
fn a_million_syns_without_handshakes() {
    let max_flows = 20_000;
    let mut engine = Engine::new(EngineConfig {
        max_flows,
        ..EngineConfig::default()
    });
    let (mut records, mut l4) = (0u64, 0u64);
    let mut buf = Vec::new();
    for i in 0..1_000_000u32 {
        let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        buf.clear();
        buf.extend_from_slice(&ipv4_tcp(
            (src, 1024 + (i % 60000) as u16),
            ([10, 255, 0, 1], 80),
            i,
            0,
            SYN,
            b"",
        ));
        engine.process(&packet(u64::from(i) + 1, 1_000_000 * u64::from(i), &buf));
        while let Some(o) = engine.next_output() {
            match o {
                Output::Flow(_) => records += 1,
                // A SYN alone is one `tcp` flow entry (1 packet, no payload).
                Output::Entry(e) => {
                    assert_eq!(
                        (e.protocol, e.summary.as_str()),
                        ("tcp", "1/0 packets 0/0 bytes 0.000s SYN")
                    );
                    l4 += 1;
                }
            }
        }
        if i % 50_000 == 0 {
            assert!(engine.active_flows() <= max_flows);
        }
    }
    let s = engine.stats();
    assert_eq!(s.tcp_flows, 1_000_000);
    assert_eq!(s.flows_evicted, 1_000_000 - max_flows as u64);
    assert!(engine.active_flows() <= max_flows);
    assert_eq!(records, s.flows_evicted, "every evicted flow is reported");
    assert_eq!(l4, records, "with its L4 entry");
    assert_eq!(engine.buffered_bytes(), 0);
    // Still dissecting.
    let mut cap = Capture::default();
    normal_exchange(&mut cap, 40000);
    let mut entries = Vec::new();
    for (i, f) in cap.frames.iter().enumerate() {
        engine.process(&packet(
            2_000_000 + i as u64,
            1_000_000_000_000 + i as u64,
            f,
        ));
        while let Some(o) = engine.next_output() {
            if let Output::Entry(e) = o {
                entries.push(*e);
            }
        }
    }
    assert!(has_after(&entries));
}

#[test]
fn a_flow_that_never_closes_with_a_gigabyte_out_of_order() {
    let cfg = EngineConfig::default();
    let per_dir_cap = cfg.tcp.max_ooo_bytes;
    let mut engine = Engine::new(cfg);
    let mut c = Conn::new(40001, 80);
    let mut cap = Capture::default();
    c.handshake(&mut cap);
    c.c(
        &mut cap,
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n",
    );
    for (i, f) in cap.frames.iter().enumerate() {
        engine.process(&packet(i as u64 + 1, i as u64, f));
    }
    // 1 GiB in 32 KiB segments (an IPv4 packet holds < 64 KiB), every one beyond a
    // hole that is never filled.
    let chunk = vec![b'x'; 32 << 10];
    let start = c.cseq + 1000;
    let mut frame = 100;
    let mut max_buffered = 0;
    for i in 0..(1u32 << 15) {
        let seq = start.wrapping_add(i * chunk.len() as u32);
        let f = ipv4_tcp(c.client, c.server, seq, c.sseq, ACK, &chunk);
        frame += 1;
        engine.process(&packet(frame, 1_000_000 + u64::from(i), &f));
        while engine.next_output().is_some() {}
        max_buffered = max_buffered.max(engine.buffered_bytes());
    }
    let s = engine.stats();
    assert!(
        max_buffered <= per_dir_cap,
        "out-of-order buffer {max_buffered} over its cap {per_dir_cap}"
    );
    assert!(s.tcp.ooo_cap_hits > 0 && s.tcp.gaps > 0, "{:?}", s.tcp);
    let mut cap = Capture::default();
    normal_exchange(&mut cap, 40002);
    let mut entries = Vec::new();
    for f in &cap.frames {
        frame += 1;
        engine.process(&packet(frame, 2_000_000, f));
        while let Some(o) = engine.next_output() {
            if let Output::Entry(e) = o {
                entries.push(*e);
            }
        }
    }
    assert!(has_after(&entries));
}

/// A raw deflate stream that inflates to `mib` MiB of zeros, made without
/// compressing them all: once the window is all zeros, every further MiB
/// compresses (with a sync flush) to the same bytes, so they are repeated.
fn deflate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; 1 << 20];
    let mut z = Compress::new(Compression::best(), false);
    let chunk = |z: &mut Compress| {
        let mut out = Vec::with_capacity(64 << 10);
        z.compress_vec(&zeros, &mut out, FlushCompress::Sync)
            .unwrap();
        assert_eq!(z.total_in() % (1 << 20), 0);
        out
    };
    let first = chunk(&mut z);
    let second = chunk(&mut z);
    let third = chunk(&mut z);
    assert_eq!(second, third, "steady state reached");
    let mut body = first;
    for _ in 1..mib {
        body.extend_from_slice(&second);
    }
    body.extend_from_slice(&[0x03, 0x00]); // final empty fixed block
    body
}

#[test]
fn a_small_deflate_body_that_inflates_to_10_gib() {
    // Deflate's ratio is at most ~1032:1, so 10 GiB needs ~10 MB on the wire (a
    // 10 KB body inflates to ~10 MB at most; the cap is what matters either way).
    let body = deflate_bomb(10 << 10);
    assert!(body.len() < 12 << 20);
    let cfg = EngineConfig::default();
    let cap_bytes = cfg.http.max_decoded_bytes;
    let mut cap = Capture::default();
    let mut c = Conn::new(40003, 80);
    c.handshake(&mut cap);
    c.c(&mut cap, b"GET /bomb HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    for part in resp.chunks(1448) {
        c.s(&mut cap, part);
    }
    c.close(&mut cap);
    normal_exchange(&mut cap, 40004);
    let r = run_with(&cap, cfg);
    let bomb = r
        .entries
        .iter()
        .find(|e| matches!(&e.request, Some(Request::Http(q)) if q.path == "/bomb"))
        .unwrap();
    let Some(Response::Http(resp)) = &bomb.response else {
        panic!("bomb response missing")
    };
    assert!(
        resp.body_size <= cap_bytes,
        "decoded {} past the cap {cap_bytes}",
        resp.body_size
    );
    assert!(resp.body.as_ref().map_or(0, |b| b.as_bytes().len()) <= 64 << 10);
    assert_eq!(r.stats.http.decompress_capped, 1);
    assert!(has_after(&r.entries));
}

#[test]
fn a_content_length_of_2_pow_63() {
    let mut cap = Capture::default();
    let mut c = Conn::new(40005, 80);
    c.handshake(&mut cap);
    c.c(
        &mut cap,
        b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\nsome bytes",
    );
    c.s(
        &mut cap,
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 18446744073709551615\r\n\r\nx",
    );
    c.close(&mut cap);
    normal_exchange(&mut cap, 40006);
    let r = run(&cap);
    assert!(r
        .entries
        .iter()
        .any(|e| matches!(&e.request, Some(Request::Http(q)) if q.path == "/big")));
    assert!(has_after(&r.entries));
}

#[test]
fn a_hundred_thousand_headers() {
    let mut head = b"GET /many HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100_000 {
        head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut cap = Capture::default();
    let mut c = Conn::new(40007, 80);
    c.handshake(&mut cap);
    for part in head.chunks(1448) {
        c.c(&mut cap, part);
    }
    // The same connection goes on with a sane request.
    c.c(&mut cap, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    c.s(&mut cap, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close(&mut cap);
    let r = run(&cap);
    assert!(r.stats.http.headers_capped >= 1, "{:?}", r.stats.http);
    assert!(r
        .entries
        .iter()
        .all(|e| !matches!(&e.request, Some(Request::Http(q)) if q.path == "/many")));
    assert!(has_after(&r.entries), "{:?}", r.entries);
}

#[test]
fn a_pcap_record_that_claims_4_gib() {
    let mut cap = Capture::default();
    normal_exchange(&mut cap, 40008);
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    file.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&101u32.to_le_bytes());
    for (i, f) in cap.frames.iter().enumerate() {
        file.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes());
        file.extend_from_slice(&(f.len() as u32).to_le_bytes());
        file.extend_from_slice(&(f.len() as u32).to_le_bytes());
        file.extend_from_slice(f);
    }
    let bad_offset = file.len() as u64;
    file.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    file.extend_from_slice(&[0u8; 64]);
    let source = ks_capture::FileSource::from_reader(
        Box::new(std::io::Cursor::new(file)),
        "huge-record.pcap",
    )
    .unwrap();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for o in Dissector::new(source, EngineConfig::default()) {
        match o {
            Ok(Output::Entry(e)) => entries.push(*e),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    assert!(
        has_after(&entries),
        "everything before the bad record is dissected"
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].offset, bad_offset);
    assert!(errors[0].to_string().contains("huge-record.pcap"));
}

/// An HTTP/2 frame.
fn h2_frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK literal field without indexing (plain strings < 128 bytes).
fn hpack_lit(name: &str, value: &str) -> Vec<u8> {
    let mut b = vec![0x00, name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.push(value.len() as u8);
    b.extend_from_slice(value.as_bytes());
    b
}

fn h2_get(path: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "x"),
    ] {
        b.extend_from_slice(&hpack_lit(n, v));
    }
    b
}

#[test]
fn http2_with_a_header_bomb_and_ten_thousand_streams_left_open() {
    let cfg = EngineConfig::default();
    let mut cap = Capture::default();
    let mut c = Conn::new(40010, 8080);
    c.handshake(&mut cap);
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    client.extend_from_slice(&h2_frame(4, 0, 0, &[]));
    // A table-size update to 1 MiB (31 + 1048545 in 7-bit groups), then a header
    // block of 1 MiB of CONTINUATIONs.
    let mut block = vec![0x3f, 0xe1, 0xff, 0x3f];
    block.extend_from_slice(&h2_get("/bomb"));
    client.extend_from_slice(&h2_frame(1, 0x05, 1, &block));
    for part in client.chunks(1448) {
        c.c(&mut cap, part);
    }
    let filler = hpack_lit("x-filler", &"f".repeat(100));
    client = h2_frame(1, 0, 3, &h2_get("/continued"));
    for _ in 0..10_000 {
        client.extend_from_slice(&h2_frame(9, 0, 3, &filler));
    }
    client.extend_from_slice(&h2_frame(9, 0x04, 3, &[]));
    // 10 000 streams opened with a 1 KiB body and never ended.
    for i in 0..10_000u32 {
        client.extend_from_slice(&h2_frame(1, 0x04, 5 + 2 * i, &h2_get("/open")));
        client.extend_from_slice(&h2_frame(0, 0, 5 + 2 * i, &[b'b'; 1024]));
    }
    // And a normal stream at the end.
    let last = 5 + 2 * 10_000;
    client.extend_from_slice(&h2_frame(1, 0x05, last, &h2_get("/after")));
    for part in client.chunks(1448) {
        c.c(&mut cap, part);
    }
    let mut server = h2_frame(4, 0, 0, &[]);
    server.extend_from_slice(&h2_frame(1, 0x05, last, &hpack_lit(":status", "204")));
    c.s(&mut cap, &server);
    c.close(&mut cap);
    let max_streams = cfg.http2.max_streams;
    let r = run_with(&cap, cfg);
    let ev = &r.stats.events;
    assert!(
        ev.get("hpack-table-too-large").is_some_and(|n| *n >= 1),
        "{ev:?}"
    );
    assert!(
        ev.get("header-block-too-large").is_some_and(|n| *n >= 1),
        "{ev:?}"
    );
    assert!(
        ev.get("too-many-streams").is_some_and(|n| *n >= 9_000),
        "{ev:?}"
    );
    assert!(r.entries.len() > 10_000 - max_streams);
    // Every stream is reported, none holds more than its cap, and the last one pairs.
    let after = r
        .entries
        .iter()
        .find(|e| matches!(&e.request, Some(Request::Http(q)) if q.path == "/after"))
        .expect("the stream after the abuse");
    assert!(matches!(&after.response, Some(Response::Http(p)) if p.status == 204));
}

#[test]
fn a_websocket_message_that_inflates_past_the_cap() {
    let cfg = EngineConfig::default();
    let limit = cfg.websocket.max_message_size;
    // 16 KiB of zeros deflates to a few dozen bytes; 2 000 of them in one message
    // (compressed fragments) inflate to 32 MiB, past the 16 MiB cap.
    let mut deflater = ks_proto_websocket::Deflater::new(false);
    let chunk = deflater.compress(&vec![0u8; 16 << 10]);
    let mut cap = Capture::default();
    let mut c = Conn::new(40011, 8765);
    c.handshake(&mut cap);
    c.c(&mut cap, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
    c.s(&mut cap, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
    // Server frames are unmasked; the first one is binary with RSV1, then continuations.
    let mut wire = Vec::new();
    let n = 2_000;
    for i in 0..n {
        let first = i == 0;
        let fin = i == n - 1;
        let b0 = (if fin { 0x80 } else { 0 }) | (if first { 0x40 | 0x02 } else { 0x00 });
        wire.push(b0);
        wire.push(chunk.len() as u8);
        wire.extend_from_slice(&chunk);
    }
    // Then a normal text message.
    wire.extend_from_slice(&[0x81, 0x02, b'o', b'k']);
    for part in wire.chunks(1448) {
        c.s(&mut cap, part);
    }
    c.close(&mut cap);
    let r = run_with(&cap, cfg);
    let ws: Vec<_> = r
        .entries
        .iter()
        .filter_map(|e| match &e.request {
            Some(Request::WebSocket(w)) => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(ws.len(), 2, "the bomb and the message after it");
    assert!(
        ws[0].payload_size <= limit,
        "{} > {limit}",
        ws[0].payload_size
    );
    assert!(ws[0].payload_truncated);
    assert!(ws[0].payload.as_ref().map_or(0, |p| p.as_bytes().len()) <= 64 << 10);
    assert_eq!(ws[1].payload.as_ref().and_then(|p| p.as_text()), Some("ok"));
}
