//! AMQP 0-9-1 parse throughput of `AmqpParser` on real traffic (the reassembled
//! streams of the testdata AMQP captures) and on a synthetic publish/deliver
//! workload, fed like the engine does (unconsumed rest buffered, errors retried),
//! the two directions alternating in 1460-byte pieces (one MSS) or in one piece.
//! `KS_AMQP_DUMP=1` prints every message summary once (a smoke test).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{feed_connection, protocol_corpus, Order, TcpStreams};
use ks_proto_amqp::{AmqpConfig, AmqpParser, Message};

/// Feeds one connection ([`Order::Alternating`]) and returns (messages, parse errors).
fn parse_conn(c: &TcpStreams, chunk: usize, out: &mut Vec<Message>) -> (u64, u64) {
    let mut p = AmqpParser::new(AmqpConfig::default(), [0, 0]);
    let errors = feed_connection(&mut p, c, chunk, Order::Alternating, out);
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
    protocol_corpus("amqp")
}

fn frame(t: u8, ch: u16, payload: &[u8], out: &mut Vec<u8>) {
    out.push(t);
    out.extend_from_slice(&ch.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(0xCE);
}

fn short(s: &str, out: &mut Vec<u8>) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// 500 basic.publish (client) and 500 basic.deliver + basic.ack, 200-byte JSON bodies.
fn synthetic() -> TcpStreams {
    let (mut client, mut server) = (b"AMQP\x00\x00\x09\x01".to_vec(), Vec::new());
    for i in 0..500u64 {
        let body = format!("{{\"order\":{i},\"item\":\"{}\"}}", "x".repeat(170));
        let mut hdr = vec![0, 60, 0, 0];
        hdr.extend_from_slice(&(body.len() as u64).to_be_bytes());
        hdr.extend_from_slice(&0x9000u16.to_be_bytes());
        short("application/json", &mut hdr);
        hdr.push(2);
        let mut m = vec![0, 60, 0, 40, 0, 0];
        short("orders", &mut m);
        short("order.created", &mut m);
        m.push(0);
        frame(1, 1, &m, &mut client);
        frame(2, 1, &hdr, &mut client);
        frame(3, 1, body.as_bytes(), &mut client);
        let mut m = vec![0, 60, 0, 60];
        short("amq.ctag-1", &mut m);
        m.extend_from_slice(&(i + 1).to_be_bytes());
        m.push(0);
        short("orders", &mut m);
        short("order.created", &mut m);
        frame(1, 1, &m, &mut server);
        frame(2, 1, &hdr, &mut server);
        frame(3, 1, body.as_bytes(), &mut server);
        let mut ack = vec![0, 60, 0, 80];
        ack.extend_from_slice(&(i + 1).to_be_bytes());
        ack.push(0);
        frame(1, 1, &ack, &mut client);
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
    if std::env::var_os("KS_AMQP_DUMP").is_some() {
        for (name, conns) in &corpus {
            for conn in conns {
                let mut out = Vec::new();
                let (_, errors) = parse_conn(conn, 1460, &mut out);
                println!(
                    "== {name} stream {} (gaps {}, errors {errors})",
                    conn.stream, conn.gaps
                );
                for m in &out {
                    match m {
                        Message::Exchange(x) => println!("  {}", x.summary()),
                        Message::OneWay(o) => println!("  (one-way) {}", o.summary()),
                        Message::Event(e) => println!("  (event) {} {}", e.kind, e.message),
                    }
                }
            }
        }
    }
    corpus.push(("synthetic-publish".into(), vec![synthetic()]));
    let mut group = c.benchmark_group("amqp_parse");
    for (name, conns) in &corpus {
        let bytes: u64 = conns
            .iter()
            .map(|c| (c.client.len() + c.server.len()) as u64)
            .sum();
        let (messages, errors) = parse_all(conns, 0);
        eprintln!(
            "amqp_parse/{name}: {} connections, {bytes} bytes, {messages} messages, {errors} parse errors",
            conns.len()
        );
        if bytes < 512 {
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
