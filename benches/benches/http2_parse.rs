//! HTTP/2 parse throughput of `Http2Parser` on synthetic connections built here:
//! 1000 browser-like exchanges (HPACK-indexed headers after the first request,
//! 1 KiB bodies) and 2000 gRPC-like unary calls (small length-prefixed messages,
//! trailers). Fed through an engine-like driver (unconsumed rest buffered,
//! `needed` honoured) in one piece per direction and in 1460-byte pieces.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_http2::{huffman_encode, Http2Config, Http2Parser, Message};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(out: &mut Vec<u8>, ty: u8, flags: u8, stream: u32, payload: &[u8]) {
    let n = payload.len() as u32;
    out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8, ty, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Literal field (indexed name `name_idx`, or literal name when 0), Huffman value.
fn literal(out: &mut Vec<u8>, first: u8, name: &str, value: &str) {
    out.push(first);
    if first & 0x3f == 0 || first == 0 {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
    }
    let mut enc = Vec::new();
    huffman_encode(value.as_bytes(), &mut enc);
    assert!(enc.len() < 127);
    out.push(0x80 | enc.len() as u8);
    out.extend_from_slice(&enc);
}

/// (client bytes, server bytes).
fn browser(n: u32) -> (Vec<u8>, Vec<u8>) {
    let mut c = PREFACE.to_vec();
    frame(&mut c, 4, 0, 0, &[0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0]);
    let mut s = Vec::new();
    frame(&mut s, 4, 0, 0, &[0, 3, 0, 0, 0, 128]);
    frame(&mut s, 4, 1, 0, &[]);
    frame(&mut c, 4, 1, 0, &[]);
    let body = vec![b'x'; 1024];
    for i in 0..n {
        let id = 2 * i + 1;
        let mut b = vec![0x82, 0x87];
        if i == 0 {
            // :authority, user-agent, accept inserted into the dynamic table.
            literal(&mut b, 0x41, "", "www.example.com");
            literal(
                &mut b,
                0x40 | 58,
                "",
                "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
            );
            literal(&mut b, 0x40 | 19, "", "text/html,application/xhtml+xml");
        } else {
            b.extend_from_slice(&[0xc0, 0xbf, 0xbe]);
        }
        literal(&mut b, 0x04, "", &format!("/assets/item/{i}.js"));
        frame(&mut c, 1, 0x5, id, &b);
        let mut r = vec![0x88];
        if i == 0 {
            literal(&mut r, 0x40 | 54, "", "bench-server");
            literal(&mut r, 0x40 | 31, "", "application/javascript");
        } else {
            r.extend_from_slice(&[0xbf, 0xbe]);
        }
        // content-length (static name 28 on a 4-bit prefix: 0x0f 0x0d), "1024".
        r.extend_from_slice(&[0x0f, 0x0d, 4, b'1', b'0', b'2', b'4']);
        frame(&mut s, 1, 0x4, id, &r);
        frame(&mut s, 0, 0x1, id, &body);
    }
    (c, s)
}

fn grpc(n: u32) -> (Vec<u8>, Vec<u8>) {
    let mut c = PREFACE.to_vec();
    frame(&mut c, 4, 0, 0, &[]);
    let mut s = Vec::new();
    frame(&mut s, 4, 0, 0, &[]);
    for i in 0..n {
        let id = 2 * i + 1;
        let mut b = vec![0x83, 0x86];
        if i == 0 {
            literal(&mut b, 0x44, "", "/helloworld.Greeter/SayHello");
            literal(&mut b, 0x41, "", "localhost:50051");
            literal(&mut b, 0x5f, "", "application/grpc");
            literal(&mut b, 0x40, "te", "trailers");
        } else {
            b.extend_from_slice(&[0xc1, 0xc0, 0xbf, 0xbe]);
        }
        frame(&mut c, 1, 0x4, id, &b);
        let msg = [0, 0, 0, 0, 7, 10, 5, b'w', b'o', b'r', b'l', b'd'];
        frame(&mut c, 0, 0x1, id, &msg);
        let mut r = vec![0x88];
        if i == 0 {
            literal(&mut r, 0x5f, "", "application/grpc");
        } else {
            r.push(0xbe);
        }
        frame(&mut s, 1, 0x4, id, &r);
        frame(
            &mut s,
            0,
            0,
            id,
            &[
                0, 0, 0, 0, 13, 10, 11, b'H', b'e', b'l', b'l', b'o', b' ', b'w', b'o', b'r', b'l',
                b'd',
            ],
        );
        let mut t = Vec::new();
        literal(&mut t, 0x00, "grpc-status", "0");
        literal(&mut t, 0x00, "grpc-message", "");
        frame(&mut s, 1, 0x5, id, &t);
    }
    (c, s)
}

/// Engine-like driver; returns (streams, body bytes, events).
fn parse(client: &[u8], server: &[u8], chunk: usize) -> (u64, u64, u64) {
    let cfg = Http2Config {
        max_streams: 4096,
        max_body_total: 1 << 20,
        ..Http2Config::default()
    };
    let mut p = Http2Parser::new(cfg, [0, 0]);
    let mut out = Vec::new();
    let mut totals = (0, 0, 0);
    for (dir, data) in [(Direction::ToServer, client), (Direction::ToClient, server)] {
        let mut buf: Vec<u8> = Vec::new();
        let mut needed = 0usize;
        let pieces: Vec<&[u8]> = if chunk == 0 {
            vec![data]
        } else {
            data.chunks(chunk).collect()
        };
        for piece in pieces {
            if buf.is_empty() && needed == 0 {
                let r = p.parse(dir, piece, &mut out).expect("parse");
                needed = r.needed;
                buf.extend_from_slice(&piece[r.consumed..]);
            } else {
                buf.extend_from_slice(piece);
                let r = p.parse(dir, &buf, &mut out).expect("parse");
                needed = r.needed;
                buf.drain(..r.consumed);
            }
            for m in out.drain(..) {
                match m {
                    Message::Stream(s) => {
                        totals.0 += 1;
                        totals.1 += s.response.map_or(0, |h| h.body_size);
                    }
                    Message::Event(_) => totals.2 += 1,
                }
            }
        }
    }
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    totals.0 += out.len() as u64;
    totals
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("http2_parse");
    for (name, (client, server)) in [
        ("browser-1000x1KiB", browser(1000)),
        ("grpc-2000-unary", grpc(2000)),
    ] {
        let bytes = (client.len() + server.len()) as u64;
        let (streams, body, events) = parse(&client, &server, 0);
        eprintln!("http2_parse/{name}: {bytes} bytes, {streams} streams, {body} response body bytes, {events} events");
        assert_eq!(events, 0);
        group.throughput(Throughput::Bytes(bytes));
        for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
            group.bench_with_input(
                BenchmarkId::new(mode, name),
                &(&client, &server),
                |b, (cl, sv)| b.iter(|| black_box(parse(black_box(cl), black_box(sv), chunk))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
