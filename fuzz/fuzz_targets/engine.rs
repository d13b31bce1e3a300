//! The whole engine on arbitrary bytes as one TCP connection on port 80: raw IPv4
//! packets (link type 101) for a handshake, then the client and server bytes of the
//! input (see `ks_fuzz::split`) cut into segments and interleaved by the schedule
//! (lost chunks are left out, so later ACKs cover bytes never seen), then FIN both
//! ways. Outputs are drained after every packet and after `finish()`, and each is
//! serialised with serde_json.
//!
//! Checks: exactly one flow record, and nothing stays buffered after `finish()`.
#![no_main]

use ks_capture::Packet;
use ks_engine::{Engine, EngineConfig, Output};
use ks_fuzz::{ipv4_tcp, split, Chunker, CLIENT, SERVER};
use ks_proto_http::HttpConfig;
use libfuzzer_sys::fuzz_target;

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const MSS: usize = 1460;

fn cfg() -> EngineConfig {
    EngineConfig {
        // Small caps: they are reached, and serialising short bodies keeps the
        // exec rate up (text vs base64 is decided on the first bytes anyway).
        http: HttpConfig {
            max_body_kept: 1024,
            ..HttpConfig::default()
        },
        max_stream_buffer: 16 << 10,
        max_pending_requests: 8,
        max_body_shown: 256,
        ..EngineConfig::default()
    }
}

struct Run {
    engine: Engine,
    frame: u64,
    flows: usize,
}

impl Run {
    fn send(&mut self, pkt: &[u8]) {
        self.frame += 1;
        self.engine.process(&Packet {
            frame: self.frame,
            ts_ns: 1_700_000_000_000_000_000 + self.frame * 1_000_000,
            link_type: 101,
            interface_id: 0,
            orig_len: pkt.len() as u32,
            data: pkt,
        });
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.next_output() {
            match out {
                Output::Entry(e) => {
                    serde_json::to_string(&e).expect("entry serialises");
                }
                Output::Flow(f) => {
                    self.flows += 1;
                    serde_json::to_string(&f).expect("flow record serialises");
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    let mut run = Run {
        engine: Engine::new(cfg()),
        frame: 0,
        flows: 0,
    };
    // Next sequence number of client and server.
    let (cisn, sisn) = (0x1000_0000u32, 0xffff_ff00u32);
    let (mut c, mut sv) = (cisn.wrapping_add(1), sisn.wrapping_add(1));
    run.send(&ipv4_tcp(CLIENT, SERVER, cisn, 0, SYN, b""));
    run.send(&ipv4_tcp(SERVER, CLIENT, sisn, c, SYN | ACK, b""));
    run.send(&ipv4_tcp(CLIENT, SERVER, c, sv, ACK, b""));
    for chunk in Chunker::new(&s, MSS) {
        let n = chunk.bytes.len() as u32;
        if chunk.dir == 0 {
            if !chunk.lost {
                run.send(&ipv4_tcp(CLIENT, SERVER, c, sv, ACK | PSH, chunk.bytes));
            }
            c = c.wrapping_add(n);
        } else {
            if !chunk.lost {
                run.send(&ipv4_tcp(SERVER, CLIENT, sv, c, ACK | PSH, chunk.bytes));
            }
            sv = sv.wrapping_add(n);
        }
    }
    run.send(&ipv4_tcp(CLIENT, SERVER, c, sv, FIN | ACK, b""));
    c = c.wrapping_add(1);
    run.send(&ipv4_tcp(SERVER, CLIENT, sv, c, FIN | ACK, b""));
    sv = sv.wrapping_add(1);
    run.send(&ipv4_tcp(CLIENT, SERVER, c, sv, ACK, b""));
    run.engine.finish();
    run.drain();
    assert_eq!(run.flows, 1, "one connection, {} flow records", run.flows);
    assert_eq!(run.engine.active_flows(), 0);
    assert_eq!(run.engine.buffered_bytes(), 0);
    let _ = run.engine.stats();
});
