//! Redis RESP parse throughput of `RedisParser` on real traffic: the reassembled
//! client and server byte streams of the testdata Redis captures, fed like the
//! engine does (unconsumed rest buffered, errors retried), in one piece per
//! direction and in 1460-byte pieces, plus a synthetic pipelined workload.
//! `KS_REDIS_DUMP=1` prints every message summary once (a smoke test).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_benches::{pcap_dir, tcp_streams, TcpStreams};
use ks_proto::{Direction, StreamParser};
use ks_proto_redis::{Message, RedisConfig, RedisParser};

/// Feeds one connection (client bytes first, then server bytes: requests are
/// remembered until their replies come) and returns (messages, parse errors).
fn parse_conn(c: &TcpStreams, chunk: usize, out: &mut Vec<Message>) -> (u64, u64) {
    let cfg = RedisConfig {
        max_pending: 1 << 16,
        ..RedisConfig::default()
    };
    let mut p = RedisParser::new(cfg, [0, 0]);
    let mut errors = 0;
    for (dir, data) in [
        (Direction::ToServer, &c.client),
        (Direction::ToClient, &c.server),
    ] {
        let mut buf: Vec<u8> = Vec::new();
        let step = if chunk == 0 { data.len().max(1) } else { chunk };
        for piece in data.chunks(step) {
            buf.extend_from_slice(piece);
            let mut at = 0;
            loop {
                match p.parse(dir, &buf[at..], out) {
                    Ok(r) => {
                        at += r.consumed;
                        if r.consumed == 0 || at == buf.len() {
                            break;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            buf.drain(..at);
        }
        p.end(dir, out);
    }
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
    let mut dirs = vec![pcap_dir().join("redis")];
    let shared = PathBuf::from("/work/shared/testdata/pcap/redis");
    if shared.is_dir() {
        dirs.push(shared);
    }
    let mut seen = std::collections::BTreeMap::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "pcap") {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                seen.entry(name).or_insert(path);
            }
        }
    }
    seen.into_iter()
        .filter_map(|(name, path)| match tcp_streams(&path) {
            Ok(c) => Some((name, c)),
            Err(e) => {
                eprintln!("redis_parse: {}: {e}", path.display());
                None
            }
        })
        .collect()
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
