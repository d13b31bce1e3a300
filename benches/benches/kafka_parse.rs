//! Kafka parse throughput of `KafkaParser` (bodies decoded): a synthetic produce
//! conversation with record batches, and the reassembled connections of the testdata
//! Kafka captures fed like the engine does, in one piece per direction and in
//! 1460-byte pieces.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{feed_connection, protocol_corpus, Order, TcpStreams};
use ks_proto::{Direction, StreamParser};
use ks_proto_kafka::{KafkaConfig, KafkaParser};

/// Every connection of a capture; returns (messages, parse errors).
fn parse_all(conns: &[TcpStreams], chunk: usize) -> (u64, u64) {
    let mut out = Vec::new();
    let (mut m, mut e) = (0, 0);
    for c in conns {
        out.clear();
        let mut p = KafkaParser::new(KafkaConfig::default(), [0, 0]);
        e += feed_connection(&mut p, c, chunk, Order::ClientFirst, &mut out);
        m += out.len() as u64;
    }
    (m, e)
}

fn be16(v: &mut Vec<u8>, x: i16) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn be32(v: &mut Vec<u8>, x: i32) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend(body);
    v
}

/// A v2 record batch of `n` uncompressed records (10-byte key, 100-byte value).
fn batch(n: i32) -> Vec<u8> {
    let mut recs = Vec::new();
    for i in 0..n {
        let mut r = vec![0u8]; // attributes
        r.push(0); // timestamp delta 0
        r.push((i as u8) << 1); // offset delta (zigzag, < 64)
        r.push(20); // key length 10
        r.extend([b'k'; 10]);
        r.extend([0xc8, 0x01]); // value length 100
        r.extend([b'v'; 100]);
        r.push(0); // no headers
        recs.push((r.len() as u8) << 1);
        recs.extend(r);
    }
    let mut b = Vec::new();
    b.extend(0i64.to_be_bytes());
    let len = 49 + recs.len() as i32;
    be32(&mut b, len);
    be32(&mut b, 0); // leader epoch
    b.push(2); // magic
    be32(&mut b, 0); // crc (not checked)
    be16(&mut b, 0); // attributes
    be32(&mut b, n - 1);
    b.extend(0i64.to_be_bytes());
    b.extend(0i64.to_be_bytes());
    b.extend((-1i64).to_be_bytes());
    be16(&mut b, -1);
    be32(&mut b, -1);
    be32(&mut b, n);
    b.extend(recs);
    b
}

/// Produce v7 requests (header v1, non-flexible) and their responses.
fn conversation(n: i32) -> (Vec<u8>, Vec<u8>) {
    let (mut c, mut s) = (Vec::new(), Vec::new());
    let recs = batch(20);
    for corr in 0..n {
        let mut b = Vec::new();
        be16(&mut b, 0);
        be16(&mut b, 7);
        be32(&mut b, corr);
        be16(&mut b, 3);
        b.extend(b"cli");
        be16(&mut b, -1); // transactional id
        be16(&mut b, 1); // acks
        be32(&mut b, 1000);
        be32(&mut b, 1); // topics
        be16(&mut b, 6);
        b.extend(b"orders");
        be32(&mut b, 1); // partitions
        be32(&mut b, 0);
        be32(&mut b, recs.len() as i32);
        b.extend(&recs);
        c.extend(frame(b));
        let mut r = Vec::new();
        be32(&mut r, corr);
        be32(&mut r, 1);
        be16(&mut r, 6);
        r.extend(b"orders");
        be32(&mut r, 1);
        be32(&mut r, 0);
        be16(&mut r, 0);
        r.extend(0i64.to_be_bytes()); // base offset
        r.extend((-1i64).to_be_bytes()); // log append time
        r.extend(0i64.to_be_bytes()); // log start offset
        be32(&mut r, 0); // record errors
        be16(&mut r, -1); // error message
        be32(&mut r, 0); // throttle
        s.extend(frame(r));
    }
    (c, s)
}

fn bench(c: &mut Criterion) {
    let (cl, sv) = conversation(100);
    let mut g = c.benchmark_group("kafka");
    g.throughput(Throughput::Bytes((cl.len() + sv.len()) as u64));
    g.bench_function("produce_conversation", |b| {
        b.iter(|| {
            let mut p = KafkaParser::new(KafkaConfig::default(), [0, 0]);
            let mut out = Vec::new();
            let r = p.parse(Direction::ToServer, &cl, &mut out).unwrap();
            assert_eq!(r.consumed, cl.len());
            p.parse(Direction::ToClient, &sv, &mut out).unwrap();
            assert_eq!(out.len(), 100);
            out
        })
    });
    for (name, conns) in protocol_corpus("kafka") {
        let bytes: u64 = conns
            .iter()
            .map(|c| (c.client.len() + c.server.len()) as u64)
            .sum();
        let (messages, errors) = parse_all(&conns, 0);
        eprintln!(
            "kafka/{name}: {} connections, {bytes} bytes, {messages} messages, {errors} parse errors",
            conns.len()
        );
        if bytes < 512 {
            continue;
        }
        g.throughput(Throughput::Bytes(bytes));
        for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
            g.bench_with_input(BenchmarkId::new(mode, &name), &conns, |b, conns| {
                b.iter(|| black_box(parse_all(black_box(conns), chunk)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
