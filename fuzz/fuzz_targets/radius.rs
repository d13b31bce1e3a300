//! `RadiusParser` over UDP: the `http1` layout (`ks_fuzz::split`), each schedule chunk
//! one datagram (lost ones are not seen).
//!
//! Checks: every datagram is consumed whole, packets lie inside the bytes seen in the
//! direction they went, attribute lists stay within `MAX_ATTRIBUTES`, passwords never
//! appear in the JSON, summaries never fail.
#![no_main]

use ks_fuzz::{datagrams, split};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_radius::{probe_datagram, Message, RadiusPacket, RadiusParser, MAX_ATTRIBUTES};
use libfuzzer_sys::fuzz_target;

fn check_packet(p: &RadiusPacket, seen: u64) {
    assert!(p.start <= p.end && p.end <= seen);
    assert!(p.attributes.len() <= MAX_ATTRIBUTES);
    for a in &p.attributes {
        if a.atype == 2 {
            assert!(a.value.starts_with("<hidden"));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    let _ = probe_datagram(&ProbeInput {
        data: s.client,
        src_port: 40000,
        dst_port: 1812,
    });
    let mut p = RadiusParser::new([0, 0]);
    let mut out = Vec::new();
    let mut seen = [0u64; 2];
    let check = |out: &mut Vec<Message>, seen: [u64; 2]| {
        for m in out.drain(..) {
            match &m {
                Message::Exchange(x) => {
                    if let Some(q) = &x.request {
                        check_packet(q, seen[0]);
                    }
                    if let Some(r) = &x.response {
                        check_packet(r, seen[1]);
                    }
                    let _ = x.summary();
                    serde_json::to_string(x).expect("json");
                }
                Message::OneWay(o) => check_packet(&o.packet, seen[o.dir.index()]),
                Message::Event(_) => {}
            }
        }
    };
    datagrams(&s, 4096, &mut |dir, d, now| {
        seen = now;
        let r = p.parse(dir, d, &mut out).expect("datagrams never fail");
        assert_eq!(r.consumed, d.len());
        check(&mut out, seen);
    });
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    check(&mut out, seen);
});
