//! DNS parse throughput of `DnsParser`: the testdata DNS captures' TCP connections fed
//! like the engine does, and a synthetic UDP workload (1000 queries and answers with
//! EDNS, as datagrams), so both framings are measured.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{feed_connection, protocol_corpus, Order, TcpStreams};
use ks_proto::{Direction, StreamParser};
use ks_proto_dns::{DnsConfig, DnsParser, Transport};

/// A query for `host-N.svc.cluster.local` A (with an EDNS OPT record), id N.
fn query(id: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    let host = format!("host-{id}");
    for label in [host.as_str(), "svc", "cluster", "local"] {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.extend([0, 0, 1, 0, 1]);
    m.extend([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]); // OPT, 1232 bytes
    m
}

/// Its answer: two A records (compressed names) and the OPT record.
fn answer(id: u16) -> Vec<u8> {
    let mut m = query(id);
    m[2] = 0x81;
    m[3] = 0x80;
    m[7] = 2;
    let opt = m.split_off(m.len() - 11);
    for last in [10u8, 11] {
        m.extend([
            0xc0,
            0x0c,
            0,
            1,
            0,
            1,
            0,
            0,
            0,
            30,
            0,
            4,
            10,
            0,
            (id % 250) as u8,
            last,
        ]);
    }
    m.extend(opt);
    m
}

fn udp_pairs() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..1000).map(|i| (query(i), answer(i))).collect()
}

fn parse_udp(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Udp, false);
    let mut out = Vec::new();
    for (q, r) in pairs {
        let _ = p.parse(Direction::ToServer, q, &mut out);
        let _ = p.parse(Direction::ToClient, r, &mut out);
    }
    out.len()
}

fn parse_tcp(conns: &[TcpStreams], chunk: usize) -> usize {
    let mut out = Vec::new();
    for c in conns {
        let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Tcp, false);
        feed_connection(&mut p, c, chunk, Order::ClientFirst, &mut out);
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dns_parse");
    let pairs = udp_pairs();
    assert_eq!(parse_udp(&pairs), 1000);
    let bytes: usize = pairs.iter().map(|(q, r)| q.len() + r.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("udp/synthetic-1000", |b| {
        b.iter(|| black_box(parse_udp(black_box(&pairs))))
    });
    for (name, conns) in protocol_corpus("dns") {
        let bytes: u64 = conns
            .iter()
            .map(|c| (c.client.len() + c.server.len()) as u64)
            .sum();
        // UDP captures have no TCP connections to replay.
        if bytes < 200 {
            continue;
        }
        eprintln!(
            "dns_parse/{name}: {} connections, {bytes} bytes, {} messages",
            conns.len(),
            parse_tcp(&conns, 0)
        );
        g.throughput(Throughput::Bytes(bytes));
        for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
            g.bench_with_input(BenchmarkId::new(mode, &name), &conns, |b, conns| {
                b.iter(|| black_box(parse_tcp(black_box(conns), chunk)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
