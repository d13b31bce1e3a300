//! RADIUS parse throughput of `RadiusParser`: 1000 Access-Request / Access-Accept pairs
//! with the attributes a NAS sends (User-Name, User-Password, NAS-IP-Address,
//! NAS-Port, Service-Type, Called/Calling-Station-Id, a Vendor-Specific, a
//! Message-Authenticator), one per datagram.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_radius::RadiusParser;

fn packet(code: u8, id: u8, attrs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.push(*t);
        body.push(v.len() as u8 + 2);
        body.extend_from_slice(v);
    }
    let mut p = vec![code, id];
    p.extend(((20 + body.len()) as u16).to_be_bytes());
    p.extend([0x5a; 16]);
    p.extend(body);
    p
}

fn pairs() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..1000u32)
        .map(|i| {
            let id = (i % 256) as u8;
            let req = packet(
                1,
                id,
                &[
                    (1, format!("user{i}@example.org").into_bytes()),
                    (2, vec![0xee; 16]),
                    (4, vec![10, 0, 0, 1]),
                    (5, i.to_be_bytes().to_vec()),
                    (6, 2u32.to_be_bytes().to_vec()),
                    (30, b"00-11-22-33-44-55:corp".to_vec()),
                    (31, b"66-77-88-99-aa-bb".to_vec()),
                    (
                        26,
                        [&311u32.to_be_bytes()[..], &[1, 6, 1, 2, 3, 4]].concat(),
                    ),
                    (80, vec![0x42; 16]),
                ],
            );
            let acc = packet(2, id, &[(25, b"class-1".to_vec()), (80, vec![0x43; 16])]);
            (req, acc)
        })
        .collect()
}

fn run(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut p = RadiusParser::new([0, 0]);
    let mut out = Vec::new();
    for (q, r) in pairs {
        let _ = p.parse(Direction::ToServer, q, &mut out);
        let _ = p.parse(Direction::ToClient, r, &mut out);
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    let pairs = pairs();
    assert_eq!(run(&pairs), 1000);
    let bytes: usize = pairs.iter().map(|(q, r)| q.len() + r.len()).sum();
    let mut g = c.benchmark_group("radius_parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("access-1000", |b| {
        b.iter(|| black_box(run(black_box(&pairs))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
