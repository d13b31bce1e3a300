//! WebSocket parse throughput of `WsParser` on a synthetic connection (the
//! bytes after the `101`): many small masked text messages from the client,
//! larger binary messages from the server, and permessage-deflate messages both
//! ways (built with `Deflater`, flate2 with context takeover), fed through an engine-like
//! driver (unconsumed rest buffered, `needed` honoured) in one piece per
//! direction and in 1460-byte pieces (one MSS, as TCP delivers them).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_websocket::{Deflate, Deflater, WsConfig, WsMessage, WsParser};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(out: &mut Vec<u8>, fin: bool, rsv1: bool, opcode: u8, mask: bool, payload: &[u8]) {
    out.push((u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode);
    let m = if mask { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        out.push(m | n as u8);
    } else if n <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    if mask {
        out.extend_from_slice(&KEY);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
}

/// (client bytes, server bytes, messages).
fn connection() -> (Vec<u8>, Vec<u8>, u64) {
    let (mut client, mut server, mut n) = (Vec::new(), Vec::new(), 0);
    let (mut cc, mut sc) = (Deflater::new(false), Deflater::new(false));
    for i in 0..2000u32 {
        let text = format!(
            r#"{{"op":"subscribe","id":{i},"channel":"ticker.{}"}}"#,
            i % 17
        );
        frame(&mut client, true, false, 1, true, text.as_bytes());
        n += 1;
        if i % 10 == 0 {
            let blob: Vec<u8> = (0..4096u32)
                .map(|j| (j.wrapping_mul(i + 1) % 251) as u8)
                .collect();
            frame(&mut server, true, false, 2, false, &blob);
            n += 1;
        }
        if i % 5 == 0 {
            let json = format!(
                r#"{{"channel":"ticker.{}","price":{}.{},"volume":{},"side":"buy","trades":[1,2,3,4,5]}}"#,
                i % 17,
                1000 + i,
                i % 100,
                i * 7
            );
            frame(
                &mut server,
                true,
                true,
                1,
                false,
                &sc.compress(json.as_bytes()),
            );
            frame(
                &mut client,
                true,
                true,
                1,
                true,
                &cc.compress(text.as_bytes()),
            );
            n += 2;
        }
        if i % 100 == 0 {
            frame(&mut client, true, false, 9, true, b"ping");
            frame(&mut server, true, false, 10, false, b"ping");
            n += 2;
        }
    }
    (client, server, n)
}

/// Feeds one direction as the engine does; returns (messages, payload bytes).
fn run(
    p: &mut WsParser,
    dir: Direction,
    data: &[u8],
    chunk: usize,
    out: &mut Vec<WsMessage>,
) -> (u64, u64) {
    let mut buf: Vec<u8> = Vec::new();
    let (mut needed, mut fresh) = (0usize, 0usize);
    let (mut msgs, mut bytes) = (0u64, 0u64);
    let chunk = if chunk == 0 { data.len().max(1) } else { chunk };
    let mut drive =
        |input: &[u8], p: &mut WsParser, needed: &mut usize, out: &mut Vec<WsMessage>| {
            let mut pos = 0;
            while pos < input.len() {
                // After an `Err` the parser resynchronises on the next call.
                if let Ok(r) = p.parse(dir, &input[pos..], out) {
                    *needed = r.needed;
                    pos += r.consumed;
                    if r.consumed == 0 {
                        break;
                    }
                }
            }
            for m in out.drain(..) {
                msgs += 1;
                bytes += m.payload_size;
            }
            pos
        };
    for piece in data.chunks(chunk) {
        if buf.is_empty() && needed == 0 {
            let used = drive(piece, p, &mut needed, out);
            buf.extend_from_slice(&piece[used..]);
        } else {
            buf.extend_from_slice(piece);
            fresh += piece.len();
            if fresh < needed {
                continue;
            }
            let b = std::mem::take(&mut buf);
            let used = drive(&b, p, &mut needed, out);
            buf = b;
            buf.drain(..used);
        }
        fresh = 0;
    }
    p.end(dir, out);
    msgs += out.drain(..).count() as u64;
    (msgs, bytes)
}

fn parse_connection(client: &[u8], server: &[u8], chunk: usize) -> (u64, u64) {
    let mut p = WsParser::new(WsConfig::default(), Some(Deflate::default()), [0, 0]);
    let mut out = Vec::new();
    let a = run(&mut p, Direction::ToServer, client, chunk, &mut out);
    let b = run(&mut p, Direction::ToClient, server, chunk, &mut out);
    (a.0 + b.0, a.1 + b.1)
}

fn bench(c: &mut Criterion) {
    let (client, server, sent) = connection();
    let (msgs, payload) = parse_connection(&client, &server, 0);
    assert_eq!(msgs, sent, "every message decoded");
    assert_eq!(parse_connection(&client, &server, 1460), (msgs, payload));
    eprintln!(
        "websocket_parse: {} client + {} server bytes, {msgs} messages, {payload} payload bytes",
        client.len(),
        server.len()
    );
    let mut group = c.benchmark_group("websocket_parse");
    group.throughput(Throughput::Bytes((client.len() + server.len()) as u64));
    for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
        group.bench_with_input(BenchmarkId::new(mode, "synthetic"), &chunk, |b, &chunk| {
            b.iter(|| {
                black_box(parse_connection(
                    black_box(&client),
                    black_box(&server),
                    chunk,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
