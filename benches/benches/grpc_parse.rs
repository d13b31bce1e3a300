//! gRPC message throughput: `parse_messages` (framing + schema-less protobuf
//! decode) on a synthetic body of many length-prefixed messages, built with the
//! protobuf wire format by hand, uncompressed and with each message gzip'd
//! (`grpc-encoding: gzip`), plus `decode_protobuf` on one message.
//!
//! The benches crate has no deflate encoder, so the gzip members are written here
//! with fixed-Huffman literal blocks (RFC 1951 §3.2.6) and a CRC-32: inflate does
//! real Huffman decoding but no back-references, so compression is ~1:1.1 and the
//! time is dominated by decoding, as in the worst case for a receiver.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_proto_grpc::{decode_protobuf, parse_messages, GrpcConfig};

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A typical RPC message (~170 bytes): ids, a name and an email, a timestamp, a
/// nested address, tags and a packed repeated field.
fn message(i: u64) -> Vec<u8> {
    let mut m = Vec::new();
    put_varint(&mut m, 1 << 3);
    put_varint(&mut m, 1_000_000 + i);
    put_len(&mut m, 2, format!("user-{i:06}").as_bytes());
    put_len(&mut m, 3, format!("user{i}@example.com").as_bytes());
    // google.protobuf.Timestamp { seconds, nanos }
    let mut ts = Vec::new();
    put_varint(&mut ts, 1 << 3);
    put_varint(&mut ts, 1_700_000_000 + i);
    put_varint(&mut ts, 2 << 3);
    put_varint(&mut ts, 123_456_789);
    put_len(&mut m, 4, &ts);
    let mut addr = Vec::new();
    put_len(&mut addr, 1, b"1 Infinite Loop");
    put_len(&mut addr, 2, b"Cupertino");
    put_len(&mut addr, 3, b"CA");
    addr.push(4 << 3); // field 4 of the address: zip as varint
    put_varint(&mut addr, 95014);
    put_len(&mut m, 5, &addr);
    for t in ["admin", "beta", "eu-west"] {
        put_len(&mut m, 6, t.as_bytes());
    }
    let mut packed = Vec::new();
    for v in 0..16u64 {
        put_varint(&mut packed, v * 37);
    }
    put_len(&mut m, 7, &packed);
    m.push(8 << 3 | 1); // a double
    m.extend_from_slice(&(i as f64 * 0.5).to_le_bytes());
    m.push(9 << 3 | 5); // a float
    m.extend_from_slice(&(i as f32).to_le_bytes());
    m
}

fn frame(flag: u8, msg: &[u8], out: &mut Vec<u8>) {
    out.push(flag);
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(msg);
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// LSB-first bit writer (RFC 1951 §3.1.1).
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u32, n: u32) {
        self.acc |= v << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// Huffman codes are sent most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let rev = code.reverse_bits() >> (32 - len);
        self.put(rev, len);
    }
}

/// gzip member (RFC 1952) of one final fixed-Huffman block of literals.
fn gzip_literals(data: &[u8]) -> Vec<u8> {
    let mut b = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE = 01, fixed Huffman
    for &c in data {
        match c {
            0..=143 => b.code(0x30 + u32::from(c), 8),
            _ => b.code(0x190 + u32::from(c - 144), 9),
        }
    }
    b.code(0, 7); // end of block (256)
    if b.n > 0 {
        b.out.push(b.acc as u8);
    }
    let mut out = b.out;
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn bench(c: &mut Criterion) {
    const N: u64 = 1000;
    let cfg = GrpcConfig::default();
    let msgs: Vec<Vec<u8>> = (0..N).map(message).collect();
    let mut plain = Vec::new();
    let mut gz = Vec::new();
    for m in &msgs {
        frame(0, m, &mut plain);
        frame(1, &gzip_literals(m), &mut gz);
    }
    // The inputs must decode fully, or the numbers measure the wrong thing.
    for (body, enc) in [(&plain, None), (&gz, Some("gzip"))] {
        let r = parse_messages(body, body.len() as u64, enc, &cfg);
        assert_eq!(r.count, N);
        assert!(r
            .messages
            .iter()
            .all(|m| m.fields.is_some() && m.error.is_none()));
    }
    eprintln!(
        "grpc_parse: {N} messages of ~{} bytes; body {} bytes plain, {} gzip'd",
        msgs[0].len(),
        plain.len(),
        gz.len()
    );

    let mut g = c.benchmark_group("grpc_parse");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_with_input(BenchmarkId::new("messages", "plain"), &plain, |b, body| {
        b.iter(|| {
            black_box(parse_messages(
                black_box(body),
                body.len() as u64,
                None,
                &cfg,
            ))
        })
    });
    // Throughput counted in decompressed bytes, comparable with `plain`.
    g.bench_with_input(BenchmarkId::new("messages", "gzip"), &gz, |b, body| {
        b.iter(|| {
            black_box(parse_messages(
                black_box(body),
                body.len() as u64,
                Some("gzip"),
                &cfg,
            ))
        })
    });
    g.throughput(Throughput::Bytes(msgs[0].len() as u64));
    g.bench_with_input(BenchmarkId::new("decode", "one"), &msgs[0], |b, m| {
        b.iter(|| black_box(decode_protobuf(black_box(m), &cfg)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
