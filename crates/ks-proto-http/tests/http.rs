mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Driver, C2S, S2C};
use ks_proto::{Direction, ProbeInput, Protocol, Role, StreamParser, Verdict};
use ks_proto_http::{
    parse_request_head, parse_response_head, HeadError, Http1Parser, HttpConfig, Message,
};

fn drive(cfg: HttpConfig, c2s: &[u8], s2c: &[u8]) -> Driver {
    let mut d = Driver::new(cfg);
    d.feed(C2S, c2s);
    d.feed(S2C, s2c);
    d.end(C2S);
    d.end(S2C);
    d
}

fn hdr<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn simple_get_and_200() {
    let req = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nAccept: text/html\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let r = d.requests();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].method, "GET");
    assert_eq!(r[0].target, "/index.html?q=1");
    assert_eq!(r[0].version, "1.1");
    assert_eq!(
        r[0].headers,
        vec![
            ("Host".to_string(), "example.com".to_string()),
            ("Accept".to_string(), "*/*".to_string()),
            ("Accept".to_string(), "text/html".to_string())
        ]
    );
    assert!(r[0].complete);
    assert_eq!((r[0].start, r[0].end), (0, req.len() as u64));
    assert_eq!(r[0].body.size, 0);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].status, s[0].reason.as_str(), s[0].version.as_str()),
        (200, "OK", "1.1")
    );
    assert_eq!(s[0].body.data, b"hello");
    assert_eq!((s[0].body.size, s[0].body.wire_size), (5, 5));
    assert!(!s[0].body.truncated && s[0].complete && !s[0].interim);
    assert_eq!((s[0].start, s[0].end), (0, resp.len() as u64));
    assert_eq!(d.out[1].start(), 0);
    assert_eq!(d.out[1].end(), resp.len() as u64);
    let c = d.p.counters();
    assert_eq!((c.requests, c.responses, c.parse_errors), (1, 1, 0));
}

#[test]
fn offsets_and_low_water() {
    let mut p = Http1Parser::new(HttpConfig::default());
    let mut out = Vec::new();
    let a = b"\r\nGET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
    let r = p.parse(C2S, a, &mut out).unwrap();
    // The POST body is consumed as it arrives; the message is in progress.
    assert_eq!(r.consumed, a.len());
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].start(), out[0].end()), (2, 21));
    assert_eq!(p.low_water(C2S), 21);
    let r = p.parse(C2S, b"cdGET", &mut out).unwrap();
    assert_eq!(r.consumed, 2);
    assert!(r.needed > 0);
    assert_eq!(out.len(), 2);
    assert_eq!((out[1].start(), out[1].end()), (21, a.len() as u64 + 2));
    assert_eq!(p.low_water(C2S), a.len() as u64 + 2);
    match &out[1] {
        Message::Request(r) => assert_eq!(r.body.data, b"abcd"),
        _ => panic!(),
    }
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let req = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n\
        GET /next HTTP/1.1\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let r = d.requests();
    assert_eq!(r.len(), 2);
    assert!(r[0].body.chunked);
    assert_eq!(r[0].body.data, b"hello world");
    assert_eq!(r[0].body.wire_size, 11);
    assert_eq!(
        r[0].body.trailers,
        vec![
            ("X-Checksum".into(), "abc".into()),
            ("X-Other".into(), "1".into())
        ]
    );
    assert!(r[0].complete);
    assert_eq!(r[1].target, "/next");
    assert_eq!(r[1].start, r[0].end);
    let s = d.responses();
    assert_eq!(s.len(), 2);
    assert!(s[0].body.chunked && s[0].complete);
    assert_eq!(s[1].status, 204);
}

#[test]
fn body_until_close() {
    let req = b"GET / HTTP/1.0\r\n\r\n";
    let resp = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>until close</html>";
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, req);
    d.feed(S2C, resp);
    assert!(d.responses().is_empty(), "delimited by close only");
    assert_eq!(d.p.low_water(S2C), 0);
    d.end(S2C);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].body.data, b"<html>until close</html>");
    assert!(s[0].complete);
    assert_eq!(s[0].version, "1.0");
    assert_eq!(s[0].end, resp.len() as u64);
}

#[test]
fn head_response_has_no_body() {
    let req = b"HEAD /file HTTP/1.1\r\nHost: h\r\n\r\nGET /file HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let s = d.responses();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].body.size, 0);
    assert!(s[0].complete);
    assert_eq!(hdr(&s[0].headers, "content-length"), Some("1000"));
    assert_eq!(s[1].body.data, b"abc");
}

#[test]
fn no_body_for_204_and_304() {
    let req = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
    let resp =
        b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let s = d.responses();
    assert_eq!(
        s.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![204, 304, 200]
    );
    assert_eq!(s[1].body.size, 0);
    assert_eq!(s[2].body.data, b"ok");
}

#[test]
fn expect_100_continue() {
    let mut d = Driver::new(HttpConfig::default());
    d.feed(
        C2S,
        b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    d.feed(S2C, b"HTTP/1.1 100 Continue\r\n\r\n");
    d.feed(C2S, b"data");
    d.feed(S2C, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let s = d.responses();
    assert_eq!(s.len(), 2);
    assert!(s[0].interim && s[0].status == 100);
    assert!(!s[1].interim && s[1].status == 201);
    assert_eq!(s[1].start, 25);
    let r = d.requests();
    assert_eq!(r[0].body.data, b"data");
    // Order of emission: interim first, then the request once its body is in.
    assert!(matches!(d.out[0], Message::Response(_)));
}

#[test]
fn pipelining_three_then_three() {
    let req = b"GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1\
        HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let r = d.requests();
    assert_eq!(
        r.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        vec!["/1", "/2", "/3"]
    );
    let s = d.responses();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].body.data, b"1");
    assert_eq!(s[1].body.size, 0);
    assert_eq!(s[2].body.data, b"3");
    assert!(s.iter().all(|r| r.complete));
}

#[test]
fn pipeline_cap_is_counted() {
    let cfg = HttpConfig {
        max_pipeline: 2,
        ..HttpConfig::default()
    };
    let req = b"GET / HTTP/1.1\r\n\r\n".repeat(5);
    let d = drive(cfg, &req, b"");
    assert_eq!(d.requests().len(), 5);
    assert_eq!(d.p.counters().pipeline_capped, 3);
}

#[test]
fn connect_handoff_tcp() {
    let req = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, req);
    // Optimistic client data after CONNECT is not parsed as HTTP.
    d.feed(C2S, tls);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.buf[0], tls);
    let resp = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    d.feed(S2C, resp);
    d.feed(S2C, tls);
    assert_eq!(d.p.handoff(), Some(Protocol::Tcp));
    assert_eq!(
        d.buf[1], tls,
        "consumed exactly up to the end of the response head"
    );
    assert_eq!(d.buf[0], tls);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].end, resp.len() as u64);
    // Nothing more is consumed after the switch.
    let mut out = Vec::new();
    let r = d.p.parse(C2S, b"GET / HTTP/1.1\r\n\r\n", &mut out).unwrap();
    assert_eq!(r.consumed, 0);
    assert!(out.is_empty());
}

#[test]
fn connect_refused_resumes() {
    let req = b"CONNECT a:443 HTTP/1.1\r\n\r\n";
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, req);
    d.feed(
        S2C,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    );
    d.feed(
        C2S,
        b"CONNECT a:443 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n",
    );
    d.feed(S2C, b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(d.requests().len(), 2);
    assert_eq!(d.p.handoff(), Some(Protocol::Tcp));
}

#[test]
fn websocket_and_h2c_upgrade() {
    let req = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let resp =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let frame = b"\x81\x05hello";
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, req);
    d.feed(C2S, frame);
    d.feed(S2C, resp);
    d.feed(S2C, frame);
    assert_eq!(d.p.handoff(), Some(Protocol::WebSocket));
    assert_eq!(d.buf[0], frame);
    assert_eq!(d.buf[1], frame);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, 101);
    assert!(!s[0].interim);

    let req = b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    let d = drive(HttpConfig::default(), req, resp);
    assert_eq!(d.p.handoff(), Some(Protocol::Http2));

    // Upgrade ignored by the server: the client side carries on.
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, req);
    d.feed(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    d.feed(C2S, b"GET /2 HTTP/1.1\r\n\r\n");
    assert_eq!(d.p.handoff(), None);
    assert_eq!(d.requests().len(), 2);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn response_with(enc: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {enc}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

fn text() -> Vec<u8> {
    (0..2000)
        .flat_map(|i| format!("line {i} of some compressible text\n").into_bytes())
        .collect()
}

fn decoded_single(enc: &str, wire: &[u8]) -> ks_proto_http::Body {
    let d = drive(
        HttpConfig::default(),
        b"GET / HTTP/1.1\r\n\r\n",
        &response_with(enc, wire),
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    s[0].body.clone()
}

#[test]
fn gzip_deflate_brotli_bodies() {
    let plain = text();
    let limit = HttpConfig::default().max_body_kept;

    let gz = gzip(&plain);
    for enc in ["gzip", "x-gzip"] {
        let b = decoded_single(enc, &gz);
        assert_eq!(b.encoding.as_deref(), Some(enc));
        assert_eq!(b.size, plain.len() as u64);
        assert_eq!(b.wire_size, gz.len() as u64);
        assert_eq!(b.data, &plain[..limit.min(plain.len())]);
        assert_eq!(b.decode_error, None);
        assert_eq!(b.truncated, plain.len() > limit);
    }

    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&plain).unwrap();
    let zlib = z.finish().unwrap();
    let b = decoded_single("deflate", &zlib);
    assert_eq!((b.size, b.decode_error.clone()), (plain.len() as u64, None));
    assert_eq!(b.data, &plain[..limit.min(plain.len())]);

    let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    r.write_all(&plain).unwrap();
    let raw = r.finish().unwrap();
    let b = decoded_single("deflate", &raw);
    assert_eq!((b.size, b.decode_error.clone()), (plain.len() as u64, None));

    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(&plain).unwrap();
    }
    let b = decoded_single("br", &br);
    assert_eq!((b.size, b.decode_error.clone()), (plain.len() as u64, None));
    assert_eq!(b.data, &plain[..limit.min(plain.len())]);

    // Chunked + gzip, fed in small pieces.
    let mut wire =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
    for c in gz.chunks(100) {
        wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        wire.extend_from_slice(c);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, b"GET / HTTP/1.1\r\n\r\n");
    for c in wire.chunks(7) {
        d.feed(S2C, c);
    }
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].body.size, plain.len() as u64);
    assert_eq!(s[0].body.wire_size, gz.len() as u64);
}

#[test]
fn bad_compressed_data() {
    let b = decoded_single("gzip", b"this is not gzip at all");
    assert!(b.decode_error.is_some());
    assert_eq!(b.wire_size, 23);
    let d = drive(
        HttpConfig::default(),
        b"GET / HTTP/1.1\r\n\r\n",
        &response_with("br", b"\xff\xff\xff\xff garbage garbage"),
    );
    assert!(d.responses()[0].body.decode_error.is_some());
    assert_eq!(d.p.counters().decompress_errors, 1);
    let b = decoded_single("compress", b"abc");
    assert_eq!(b.data, b"abc");
    assert!(b.decode_error.unwrap().contains("unsupported"));
}

#[test]
fn gzip_bomb_is_capped() {
    let zeros = vec![0u8; 10 * 1024 * 1024];
    let bomb = gzip(&zeros);
    assert!(bomb.len() < 100 * 1024);
    let cfg = HttpConfig {
        max_decoded_bytes: 1024 * 1024,
        ..HttpConfig::default()
    };
    let t = Instant::now();
    let mut d = Driver::new(cfg);
    d.feed(C2S, b"GET /bomb HTTP/1.1\r\n\r\n");
    d.feed(S2C, &response_with("gzip", &bomb));
    d.feed(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(t.elapsed() < Duration::from_secs(10));
    let s = d.responses();
    assert_eq!(s.len(), 2);
    let b = &s[0].body;
    assert!(b
        .decode_error
        .as_deref()
        .unwrap()
        .contains("decompressed size exceeds cap"));
    assert_eq!(b.size, 1024 * 1024);
    assert_eq!(b.wire_size, bomb.len() as u64);
    assert_eq!(b.data.len(), HttpConfig::default().max_body_kept);
    assert!(b.truncated);
    assert!(s[0].complete);
    assert_eq!(d.p.counters().decompress_capped, 1);
}

#[test]
fn absurd_content_lengths() {
    // 2^63: accepted, consumed incrementally, cut by the end of the stream.
    let mut d = Driver::new(HttpConfig::default());
    d.feed(
        C2S,
        b"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\nabc",
    );
    d.end(C2S);
    let r = d.requests();
    assert_eq!(r.len(), 1);
    assert!(!r[0].complete);
    assert_eq!(r[0].body.data, b"abc");

    for cl in ["99999999999999999999999999", "-1", "12abc", "", "0x10"] {
        let req =
            format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\nGET /ok HTTP/1.1\r\n\r\n");
        let d = drive(HttpConfig::default(), req.as_bytes(), b"");
        assert_eq!(d.errors.len(), 1, "{cl}");
        assert_eq!(d.errors[0].kind, "bad-content-length");
        assert_eq!(d.errors[0].offset, 0);
        assert_eq!(
            d.requests().len(),
            1,
            "resync finds the next request after {cl:?}"
        );
        assert_eq!(d.requests()[0].target, "/ok");
    }
    let d = drive(
        HttpConfig::default(),
        b"PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"",
    );
    assert_eq!(d.errors[0].kind, "conflicting-content-length");
    let d = drive(
        HttpConfig::default(),
        b"PUT / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
        b"",
    );
    assert!(d.errors.is_empty());
    assert_eq!(d.requests()[0].body.data, b"abc");
    // Absurd chunk size.
    let d = drive(
        HttpConfig::default(),
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
        b"",
    );
    assert_eq!(d.errors[0].kind, "bad-chunk");
    assert_eq!(d.requests().len(), 1);
    assert!(!d.requests()[0].complete);
}

#[test]
fn many_headers_error_not_oom() {
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100_000 {
        req.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\nGET /after HTTP/1.1\r\n\r\n");
    let d = drive(HttpConfig::default(), &req, b"");
    assert!(!d.errors.is_empty());
    assert_eq!(d.errors[0].kind, "head-too-large");
    assert!(d.p.counters().headers_capped >= 1);
    assert_eq!(
        d.requests().last().map(|r| r.target.as_str()),
        Some("/after")
    );

    // Under the byte cap but over the count cap.
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..300 {
        req.extend_from_slice(b"A: b\r\n");
    }
    req.extend_from_slice(b"\r\n");
    let d = drive(HttpConfig::default(), &req, b"");
    assert_eq!(d.errors[0].kind, "too-many-headers");
}

#[test]
fn gap_inside_body_with_known_length() {
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, b"GET / HTTP/1.1\r\n\r\n");
    d.feed(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    d.gap(S2C, 4);
    d.feed(S2C, b"hij");
    d.feed(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    d.feed(C2S, b"GET /2 HTTP/1.1\r\n\r\n");
    let s = d.responses();
    assert_eq!(s.len(), 2, "{:?}", d.errors);
    assert!(s[0].body.gap);
    assert!(s[0].complete);
    assert_eq!(s[0].body.wire_size, 10);
    assert_eq!(s[0].body.data, b"abc", "data stays a true prefix");
    assert!(s[0].body.truncated);
    assert!(!s[1].body.gap);
    assert_eq!(s[1].start, s[0].end);
    assert_eq!(s[1].body.data, b"z");
}

#[test]
fn gap_in_head_resyncs() {
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nHo");
    d.gap(C2S, 100);
    d.feed(
        C2S,
        b"st: lost\r\nAccept: x\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 1\r\n\r\n!",
    );
    let r = d.requests();
    assert_eq!(
        r.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        vec!["/1", "/3"]
    );
    let gap_end = (b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nHo".len() + 100) as u64;
    assert_eq!(
        r[1].start,
        gap_end + b"st: lost\r\nAccept: x\r\n\r\n".len() as u64
    );
    assert_eq!(d.p.counters().resyncs, 1);

    // A gap larger than the body's remainder drops the message as incomplete.
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
    d.gap(C2S, 50);
    d.feed(C2S, b"xxGET /ok HTTP/1.1\r\n\r\n");
    let r = d.requests();
    assert_eq!(r.len(), 1);
    assert!(!r[0].complete);
}

#[test]
fn garbage_between_messages() {
    let req =
        b"GET /1 HTTP/1.1\r\n\r\n\x00\x01binary garbage\r\nmore junk\nGET /2 HTTP/1.1\r\n\r\n";
    let d = drive(HttpConfig::default(), req, b"");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].kind, "bad-request-line");
    assert_eq!(d.errors[0].offset, 19);
    let r = d.requests();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].target, "/2");
    let c = d.p.counters();
    assert_eq!((c.parse_errors, c.resyncs), (1, 1));

    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nzzzz\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let d = drive(HttpConfig::default(), b"", resp);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(
        d.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 404]
    );
}

#[test]
fn bare_lf_and_leading_crlf() {
    let req = b"\r\n\r\nGET /lf HTTP/1.1\nHost: a\n\n";
    let resp = b"\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok";
    let d = drive(HttpConfig::default(), req, resp);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.requests()[0].start, 4);
    assert_eq!(d.requests()[0].headers, vec![("Host".into(), "a".into())]);
    assert_eq!(d.responses()[0].body.data, b"ok");
    assert_eq!(d.responses()[0].start, 1);
}

#[test]
fn end_flushes_incomplete() {
    let mut d = Driver::new(HttpConfig::default());
    d.feed(C2S, b"GET / HTTP/1.1\r\n\r\n");
    d.feed(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    d.end(S2C);
    let s = d.responses();
    assert_eq!(s.len(), 1);
    assert!(!s[0].complete);
    assert_eq!(s[0].body.data, b"abc");
    assert_eq!(s[0].end, d.abs[1]);
}

#[test]
fn probe_verdicts() {
    let p = |data: &[u8], port: u16| {
        <Http1Parser as StreamParser>::probe(&ProbeInput {
            data,
            src_port: 40000,
            dst_port: port,
        })
    };
    assert_eq!(p(b"GET / HTTP/1.1\r\n", 1234).verdict, Verdict::Certain);
    assert_eq!(p(b"GET / HTTP/1.1\r\n", 1234).sender, Some(Role::Client));
    assert_eq!(
        p(b"PROPFIND /dav HTTP/1.1\r\n", 1).verdict,
        Verdict::Certain
    );
    assert_eq!(p(b"M-SEARCH * HTTP/1.1\r\n", 1).verdict, Verdict::Certain);
    assert_eq!(p(b"HTTP/1.1 200 OK\r\n", 1).sender, Some(Role::Server));
    assert_eq!(p(b"HTTP/1.1 200 OK\r\n", 1).verdict, Verdict::Certain);
    assert_eq!(p(b"GE", 80).verdict, Verdict::Unsure);
    assert_eq!(p(b"GET /abc", 80).verdict, Verdict::Unsure);
    assert_eq!(p(b"HTT", 80).verdict, Verdict::Unsure);
    assert_eq!(p(b"", 80).verdict, Verdict::Unsure);
    assert_eq!(p(b"\x16\x03\x01\x00", 80).verdict, Verdict::NotMine);
    assert_eq!(p(b"SSH-2.0-OpenSSH\r\n", 80).verdict, Verdict::NotMine);
    assert_eq!(p(b"get / HTTP/1.1\r\n", 80).verdict, Verdict::NotMine);
    assert_eq!(p(b"GET / HTTP/2.0\r\n", 80).verdict, Verdict::NotMine);
    let mut long = b"GET /".to_vec();
    long.extend(std::iter::repeat_n(b'a', 4000));
    assert_eq!(p(&long, 80).verdict, Verdict::Certain);
}

#[test]
fn borrowed_helpers() {
    let buf = b"POST /x HTTP/1.0\r\nA: 1\r\nA: 2\r\n\r\nbody";
    let (h, n) = parse_request_head(buf).unwrap().unwrap();
    assert_eq!(
        (h.method, h.target, h.version, n),
        ("POST", "/x", 0, buf.len() - 4)
    );
    assert_eq!(h.headers, vec![("A", &b"1"[..]), ("A", &b"2"[..])]);
    assert_eq!(
        parse_request_head(b"POST /x HTTP/1.0\r\nA: 1\r\n").unwrap(),
        None
    );
    assert!(matches!(
        parse_request_head(b"\x00\x01"),
        Err(HeadError::Syntax(_))
    ));
    let (h, n) = parse_response_head(b"HTTP/1.1 404 Not Found\nX: y\n\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.version, h.status, h.reason, n),
        (1, 404, "Not Found", 29)
    );
    let big = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 70_000]].concat();
    assert!(matches!(
        parse_response_head(&big),
        Err(HeadError::TooLarge(_))
    ));
}

/// A stream exercising most framing paths, both directions.
fn rich_stream() -> (Vec<u8>, Vec<u8>) {
    let plain = b"compressible compressible compressible compressible".repeat(20);
    let gz = gzip(&plain);
    let mut c2s = b"\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    c2s.extend_from_slice(b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n");
    c2s.extend_from_slice(b"HEAD /c HTTP/1.1\n\n");
    c2s.extend_from_slice(
        b"PUT /d HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nwxyz",
    );
    c2s.extend_from_slice(b"\x00garbage\r\nGET /e HTTP/1.0\r\n\r\n");
    let mut s2c = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ".to_vec();
    s2c.extend_from_slice(format!("{}\r\n\r\n", gz.len()).as_bytes());
    s2c.extend_from_slice(&gz);
    s2c.extend_from_slice(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nok!!\r\n0\r\n\r\n",
    );
    s2c.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n");
    s2c.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    s2c.extend_from_slice(b"HTTP/1.0 200 OK\r\n\r\nuntil close body");
    (c2s, s2c)
}

fn run_split(c2s: &[u8], s2c: &[u8], cuts_c: &[usize], cuts_s: &[usize]) -> (Vec<Message>, usize) {
    let mut d = Driver::new(HttpConfig::default());
    let feed = |d: &mut Driver, dir: Direction, data: &[u8], cuts: &[usize]| {
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            let c = c.clamp(last, data.len());
            d.feed(dir, &data[last..c]);
            last = c;
        }
    };
    feed(&mut d, C2S, c2s, cuts_c);
    feed(&mut d, S2C, s2c, cuts_s);
    d.end(C2S);
    d.end(S2C);
    (d.out, d.errors.len())
}

#[test]
fn every_split_point_gives_the_same_messages() {
    let (c2s, s2c) = rich_stream();
    let (whole, errs) = run_split(&c2s, &s2c, &[], &[]);
    assert_eq!(errs, 1, "the garbage line");
    assert_eq!(
        whole
            .iter()
            .filter(|m| matches!(m, Message::Request(_)))
            .count(),
        5
    );
    assert_eq!(
        whole
            .iter()
            .filter(|m| matches!(m, Message::Response(_)))
            .count(),
        6
    );
    for i in 0..=c2s.len() {
        assert_eq!(
            run_split(&c2s, &s2c, &[i], &[]).0,
            whole,
            "client split at {i}"
        );
    }
    for i in 0..=s2c.len() {
        assert_eq!(
            run_split(&c2s, &s2c, &[], &[i]).0,
            whole,
            "server split at {i}"
        );
    }
    let every_c: Vec<usize> = (1..c2s.len()).collect();
    let every_s: Vec<usize> = (1..s2c.len()).collect();
    assert_eq!(
        run_split(&c2s, &s2c, &every_c, &every_s).0,
        whole,
        "byte by byte"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(
            a in proptest::collection::vec(any::<u8>(), 0..2048),
            b in proptest::collection::vec(any::<u8>(), 0..2048),
            cut in 0usize..2048,
            gap in proptest::option::of(0u64..1_000_000),
        ) {
            let mut d = Driver::new(HttpConfig { max_header_bytes: 512, ..HttpConfig::default() });
            let cut = cut.min(a.len());
            d.feed(C2S, &a[..cut]);
            d.feed(S2C, &b);
            if let Some(g) = gap { d.gap(C2S, g); }
            d.feed(C2S, &a[cut..]);
            d.end(C2S);
            d.end(S2C);
            for m in &d.out {
                prop_assert!(m.start() <= m.end());
            }
        }

        #[test]
        fn http_like_noise_never_panics(
            parts in proptest::collection::vec(prop_oneof![
                Just(b"GET / HTTP/1.1\r\n".to_vec()),
                Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
                Just(b"Content-Length: 3\r\n".to_vec()),
                Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
                Just(b"Content-Encoding: gzip\r\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"5\r\nhello\r\n".to_vec()),
                Just(b"0\r\n\r\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ], 0..40),
            step in 1usize..17,
        ) {
            let data: Vec<u8> = parts.concat();
            let mut d = Driver::new(HttpConfig::default());
            for c in data.chunks(step) {
                d.feed(C2S, c);
                d.feed(S2C, c);
            }
            d.end(C2S);
            d.end(S2C);
        }

        #[test]
        fn random_splits_give_same_messages(
            mut cc in proptest::collection::vec(0usize..2000, 0..12),
            mut cs in proptest::collection::vec(0usize..2000, 0..12),
        ) {
            let (c2s, s2c) = rich_stream();
            cc.sort_unstable();
            cs.sort_unstable();
            let whole = run_split(&c2s, &s2c, &[], &[]).0;
            prop_assert_eq!(run_split(&c2s, &s2c, &cc, &cs).0, whole);
        }
    }
}

#[test]
fn error_contract_err_consumes_nothing() {
    let mut p = Http1Parser::new(HttpConfig::default());
    let mut out = Vec::new();
    let data = b"GET /1 HTTP/1.1\r\n\r\njunk line\r\nGET /2 HTTP/1.1\r\n\r\n";
    // Progress first: the error found after it is held back.
    let r = p.parse(C2S, data, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (19, 0));
    assert_eq!(out.len(), 1);
    let rest = &data[19..];
    let e = p.parse(C2S, rest, &mut out).unwrap_err();
    assert_eq!((e.kind, e.offset), ("bad-request-line", 19));
    assert_eq!(p.low_water(C2S), 19);
    // Same bytes again: resync skips the junk line and parses the next request.
    let r = p.parse(C2S, rest, &mut out).unwrap();
    assert_eq!(r.consumed, rest.len());
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].start(), 30);
    assert_eq!(p.counters().parse_errors, 1);
}
