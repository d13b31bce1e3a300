//! Filters: arbitrary expressions on arbitrary entries. The input is an
//! expression, a 0 byte, then client and server bytes (`ks_fuzz::split`) sent
//! as one TCP connection to a port the first stream byte picks (HTTP, DNS,
//! Redis, Kafka, AMQP, TLS, or none), so the entries come out of the engine
//! with fuzzed content. Every expression is also tried on the entries of a
//! few bundled captures (when run from fuzz/, as fuzz/run.sh does).
//!
//! Checks: compiling never panics, an error's column lies within the
//! expression, and matching never panics.
#![no_main]

use ks_capture::{FileSource, Packet};
use ks_engine::{Dissector, Engine, EngineConfig, Entry, Output};
use ks_fuzz::{ipv4_tcp, split, Chunker, CLIENT, SERVER};
use ks_query::Filter;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const PORTS: [u16; 8] = [80, 53, 6379, 9092, 5672, 443, 389, 4000];

fn bundled() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut out = Vec::new();
        for f in [
            "../testdata/pcap/http1/zeek_http_methods.pcap",
            "../testdata/pcap/dns/tcpdump_dns_udp.pcap",
            "../testdata/pcap/redis/ks_redis_cli.pcap",
            "../testdata/pcap/kafka/ks_kafka_clients.pcap",
            "../testdata/pcap/icmp/zeek_icmp_5-pings.pcap",
            "../testdata/pcap/tls/zeek_tls_ecdhe.pcap",
        ] {
            if let Ok(src) = FileSource::open(f) {
                for o in Dissector::new(src, EngineConfig::default()).flatten() {
                    if let Output::Entry(e) = o {
                        out.push(*e);
                    }
                }
            }
        }
        out
    })
}

fn fuzzed_entries(data: &[u8]) -> Vec<Entry> {
    let port = PORTS[usize::from(data.first().copied().unwrap_or(0)) % PORTS.len()];
    let server = (SERVER.0, port);
    let s = split(data);
    let mut engine = Engine::new(EngineConfig {
        max_body_shown: 256,
        ..EngineConfig::default()
    });
    let mut out = Vec::new();
    let mut frame = 0u64;
    let mut send = |engine: &mut Engine, pkt: Vec<u8>, out: &mut Vec<Entry>| {
        frame += 1;
        engine.process(&Packet {
            frame,
            ts_ns: 1_700_000_000_000_000_000 + frame * 1_000_000,
            link_type: 101,
            interface_id: 0,
            orig_len: pkt.len() as u32,
            data: &pkt,
        });
        while let Some(o) = engine.next_output() {
            if let Output::Entry(e) = o {
                out.push(*e);
            }
        }
    };
    let (mut c, mut sv) = (1000u32, 5000u32);
    send(&mut engine, ipv4_tcp(CLIENT, server, c, 0, 0x02, b""), &mut out);
    send(&mut engine, ipv4_tcp(server, CLIENT, sv, c + 1, 0x12, b""), &mut out);
    c += 1;
    sv += 1;
    for chunk in Chunker::new(&s, 1460) {
        let n = chunk.bytes.len() as u32;
        let (from, to, seq, ack) = if chunk.dir == 0 {
            (CLIENT, server, c, sv)
        } else {
            (server, CLIENT, sv, c)
        };
        if !chunk.lost {
            send(&mut engine, ipv4_tcp(from, to, seq, ack, 0x18, chunk.bytes), &mut out);
        }
        if chunk.dir == 0 {
            c = c.wrapping_add(n);
        } else {
            sv = sv.wrapping_add(n);
        }
    }
    engine.finish();
    while let Some(o) = engine.next_output() {
        if let Output::Entry(e) = o {
            out.push(*e);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let expr = String::from_utf8_lossy(&data[..cut]);
    let rest = data.get(cut + 1..).unwrap_or_default();
    match Filter::new(&expr) {
        Err(e) => {
            assert!(e.column() <= expr.chars().count());
            let _ = e.to_string();
        }
        Ok(f) => {
            for e in bundled() {
                let _ = f.matches(e);
            }
            for e in fuzzed_entries(rest) {
                let _ = f.matches(&e);
            }
        }
    }
});
