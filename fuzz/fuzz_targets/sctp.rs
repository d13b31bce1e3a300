//! The engine on an SCTP association built from arbitrary bytes: raw IPv4 packets
//! (link type 101) between port 40000 and 3868, each carrying chunks the input
//! describes — DATA with TSNs near each side's next (so reordering, duplicates,
//! holes and wraps happen), fragments, PPID 46 (DIAMETER) or another, SACKs and
//! FORWARD TSNs that pass holes, INIT / INIT ACK, SHUTDOWN, ABORT, and raw chunk
//! bytes. Outputs are drained and serialised after every packet.
//!
//! Checks: one flow record; after `finish()` no flow is left and nothing stays
//! buffered (the reassembly budget is back to 0).
#![no_main]

use ks_capture::Packet;
use ks_engine::{Engine, EngineConfig, Output};
use ks_fuzz::{ipv4_sctp, sctp_chunk};
use ks_reassembly::SctpConfig;
use libfuzzer_sys::fuzz_target;

const A: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const B: ([u8; 4], u16) = ([10, 0, 0, 2], 3868);

fn be(tsn: u32, rest: &[u8]) -> Vec<u8> {
    let mut v = tsn.to_be_bytes().to_vec();
    v.extend_from_slice(rest);
    v
}

fuzz_target!(|data: &[u8]| {
    let mut engine = Engine::new(EngineConfig {
        sctp: SctpConfig {
            max_buffered_bytes: 4096,
            max_buffered_chunks: 16,
            max_message: 8192,
            max_tracked_streams: 4,
        },
        ..EngineConfig::default()
    });
    let mut flows = 0;
    let mut frame = 0u64;
    let mut next = [0x7fff_fff0u32, u32::MAX - 3];
    let mut rest = data;
    while let [ctl, arg, tail @ ..] = rest {
        let side = usize::from(ctl & 1);
        let n = usize::from(arg & 0x3f).min(tail.len());
        let (bytes, after) = tail.split_at(n);
        rest = after;
        // TSN near the side's next one: -4..=+11.
        let tsn = next[side].wrapping_add(u32::from(arg >> 4)).wrapping_sub(4);
        let chunk = match (ctl >> 1) & 7 {
            0..=2 => {
                if tsn == next[side] {
                    next[side] = next[side].wrapping_add(1);
                }
                let ppid: u32 = if ctl & 0x80 != 0 { 46 } else { 0 };
                let mut v = be(tsn, &[0, ctl >> 6, 0, 0]);
                v.extend_from_slice(&ppid.to_be_bytes());
                v.extend_from_slice(bytes);
                // Flags: U/B/E from the control byte's high bits.
                sctp_chunk(0, (ctl >> 4) & 7, &v)
            }
            3 => sctp_chunk(3, 0, &be(tsn, &[0, 0, 0xff, 0xff, 0, 0, 0, 0])),
            4 => {
                let ty = if side == 0 { 1 } else { 2 };
                let mut v = vec![0, 0, 0, 1, 0, 1, 0, 0, 0, 10, 0, 10];
                v.extend_from_slice(&tsn.to_be_bytes());
                sctp_chunk(ty, 0, &v)
            }
            5 => sctp_chunk(192, 0, &be(tsn, &[])),
            6 => sctp_chunk([7, 8, 6, 14][usize::from(arg & 3)], 0, &be(tsn, &[])),
            _ => bytes.to_vec(),
        };
        let (src, dst) = if side == 0 { (A, B) } else { (B, A) };
        let pkt = ipv4_sctp(src, dst, &chunk);
        frame += 1;
        engine.process(&Packet {
            frame,
            ts_ns: 1_700_000_000_000_000_000 + frame * 1_000_000,
            link_type: 101,
            interface_id: 0,
            orig_len: pkt.len() as u32,
            data: &pkt,
        });
        while let Some(out) = engine.next_output() {
            match out {
                Output::Entry(e) => drop(serde_json::to_string(&e).expect("entry")),
                Output::Flow(f) => {
                    flows += 1;
                    drop(serde_json::to_string(&f).expect("flow"));
                }
            }
        }
    }
    engine.finish();
    while let Some(out) = engine.next_output() {
        if let Output::Flow(_) = out {
            flows += 1;
        }
    }
    assert!(frame == 0 || flows == 1, "{flows} flow records");
    assert_eq!(engine.active_flows(), 0);
    assert_eq!(engine.buffered_bytes(), 0);
});
