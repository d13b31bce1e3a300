//! TLS handshake parsing throughput of `TlsParser`: the connections of the public
//! captures of `testdata/pcap/tls/` (zeek, nDPI, suricata-verify: TLS 1.0–1.3, HRR,
//! certificate chains, client certificates), replayed segment by segment in capture
//! order as the engine feeds them. Throughput is in handshakes (one per connection).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_tls::{TlsConfig, TlsMessage, TlsParser};

#[path = "../tests/common/mod.rs"]
mod common;

/// (direction, bytes) per connection, in capture order.
type Replay = Vec<Vec<(Direction, Vec<u8>)>>;

fn load() -> Replay {
    let mut all = Vec::new();
    for e in std::fs::read_dir(common::pcap("")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".pcap") || name.starts_with("ks_tls") {
            continue;
        }
        for conn in common::connections(&common::pcap(&name)) {
            let evs = conn
                .evs
                .iter()
                .filter_map(|e| match e {
                    common::Ev::Data { side, data, .. } => Some((conn.dir(*side), data.clone())),
                    common::Ev::Gap { .. } => None,
                })
                .collect();
            all.push(evs);
        }
    }
    all
}

fn run(replay: &Replay) -> usize {
    let mut n = 0;
    let mut out: Vec<TlsMessage> = Vec::new();
    for conn in replay {
        let mut p = TlsParser::new(TlsConfig::default());
        let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        for (dir, data) in conn {
            let buf = &mut bufs[dir.index()];
            buf.extend_from_slice(data);
            while let Ok(r) = p.parse(*dir, buf, &mut out) {
                buf.drain(..r.consumed);
                if r.consumed == 0 || buf.is_empty() {
                    break;
                }
            }
        }
        p.end(Direction::ToServer, &mut out);
        p.end(Direction::ToClient, &mut out);
        n += out
            .drain(..)
            .filter(|m| matches!(m, TlsMessage::Handshake(_)))
            .count();
    }
    n
}

fn bench(c: &mut Criterion) {
    let replay = load();
    let n = run(&replay);
    assert_eq!(n, replay.len(), "one handshake per connection");
    let bytes: usize = replay.iter().flatten().map(|(_, d)| d.len()).sum();
    eprintln!("{n} handshakes, {bytes} bytes");
    let mut g = c.benchmark_group("tls_parse");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("handshakes", |b| {
        b.iter(|| black_box(run(black_box(&replay))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
