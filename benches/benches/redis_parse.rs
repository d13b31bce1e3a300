//! Redis RESP parse throughput of `RedisParser` on real traffic: the reassembled
//! client and server byte streams of the testdata Redis captures, fed like the
//! engine does (unconsumed rest buffered, errors retried), in one piece per
//! direction and in 1460-byte pieces, plus a synthetic pipelined workload.
//! `KS_REDIS_DUMP=1` prints every message summary once (a smoke test).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{feed_connection, protocol_corpus, Order, TcpStreams};
use ks_proto_redis::{Message, RedisConfig, RedisParser};

/// Feeds one connection ([`Order::ClientFirst`]) and returns (messages, parse errors).
fn parse_conn(c: &TcpStreams, chunk: usize, out: &mut Vec<Message>) -> (u64, u64) {
    let cfg = RedisConfig {
        max_pending: 1 << 16,
        ..RedisConfig::default()
    };
    let mut p = RedisParser::new(cfg, [0, 0]);
    let errors = feed_connection(&mut p, c, chunk, Order::ClientFirst, out);
    (out.len() as u64, errors)
}

fn parse_all(conns: &[TcpStreams], chunk: usize) -> (u64, u64) {
    let mut out = Vec::new();
    let (mut m, mut e) = (0, 0);
    for c in conns {
        out.clear();
        let (a, b) = parse_conn(c, chunk, &mut out);
        m += a;
        e += b;
    }
    (m, e)
}

fn corpus() -> Vec<(String, Vec<TcpStreams>)> {
    protocol_corpus("redis")
}

/// 1000 pipelined SET/GET commands and their replies.
fn synthetic() -> TcpStreams {
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for i in 0..500 {
        let k = format!("user:{i}");
        let v = format!("{{\"name\":\"user number {i}\",\"score\":{}}}", i * 7);
        client.extend(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .bytes(),
        );
        client.extend(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).bytes());
        server.extend(b"+OK\r\n");
        server.extend(format!("${}\r\n{v}\r\n", v.len()).bytes());
    }
    TcpStreams {
        stream: 0,
        client,
        server,
        gaps: 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut corpus = corpus();
    if std::env::var_os("KS_REDIS_DUMP").is_some() {
        for (name, conns) in &corpus {
            for conn in conns {
                let mut out = Vec::new();
                let (_, errors) = parse_conn(conn, 0, &mut out);
                println!(
                    "== {name} stream {} (gaps {}, errors {errors})",
                    conn.stream, conn.gaps
                );
                for m in &out {
                    match m {
                        Message::Exchange(x) => println!("  {}", x.summary()),
                        Message::OneWay(o) => println!("  (push) {}", o.summary()),
                        Message::Event(e) => println!("  (event) {} {}", e.kind, e.message),
                    }
                }
            }
        }
    }
    corpus.push(("synthetic-pipeline".into(), vec![synthetic()]));
    let mut group = c.benchmark_group("redis_parse");
    for (name, conns) in &corpus {
        let bytes: u64 = conns
            .iter()
            .map(|c| (c.client.len() + c.server.len()) as u64)
            .sum();
        let (messages, errors) = parse_all(conns, 0);
        eprintln!(
            "redis_parse/{name}: {} connections, {bytes} bytes, {messages} messages, {errors} parse errors",
            conns.len()
        );
        if bytes < 512 && name != "synthetic-pipeline" {
            continue;
        }
        group.throughput(Throughput::Bytes(bytes));
        for (mode, chunk) in [("whole", 0usize), ("mss1460", 1460)] {
            group.bench_with_input(BenchmarkId::new(mode, name), conns, |b, conns| {
                b.iter(|| black_box(parse_all(black_box(conns), chunk)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
