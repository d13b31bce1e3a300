//! `DnsParser` over UDP (each schedule chunk is one datagram) and over TCP (driven as
//! `ks-engine` drives it, `ks_fuzz::Drive`), with and without mDNS. The input is a
//! control byte, then the `http1` layout (`ks_fuzz::split`): bit 0 of the control byte
//! picks TCP, bit 1 mDNS.
//!
//! Checks: messages lie inside the bytes seen in the direction they went (queries
//! to the server, responses to the client, one-way messages their own), lists respect
//! `max_records`, summaries and JSON never fail.
#![no_main]

use ks_fuzz::{datagrams, split, Drive};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_dns::{probe_datagram, DnsConfig, DnsMessage, DnsParser, Message, Transport};
use libfuzzer_sys::fuzz_target;

fn cfg() -> DnsConfig {
    DnsConfig {
        max_records: 8,
        max_pending: 4,
    }
}

fn check_msg(m: &DnsMessage, seen: u64) {
    let c = cfg();
    assert!(
        m.start <= m.end && m.end <= seen,
        "{} {} {seen}",
        m.start,
        m.end
    );
    for list in [&m.answers, &m.authority, &m.additional] {
        assert!(list.len() <= c.max_records);
    }
    assert!(m.questions.len() <= c.max_records);
}

fn check(out: &mut Vec<Message>, seen: [u64; 2]) {
    for m in out.drain(..) {
        match &m {
            Message::Exchange(x) => {
                if let Some(q) = &x.request {
                    assert!(!q.response);
                    check_msg(q, seen[0]);
                }
                if let Some(r) = &x.response {
                    assert!(r.response);
                    check_msg(r, seen[1]);
                }
                let _ = x.summary();
                serde_json::to_string(x).expect("json");
            }
            Message::OneWay(o) => {
                check_msg(&o.message, seen[o.dir.index()]);
                let _ = o.summary();
                serde_json::to_string(o).expect("json");
            }
            Message::Event(_) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let s = split(rest);
    let mdns = ctl & 2 != 0;
    for bytes in [s.client, s.server] {
        let input = ProbeInput {
            data: &bytes[..bytes.len().min(1024)],
            src_port: 40000,
            dst_port: 53,
        };
        let _ = probe_datagram(&input);
        let _ = DnsParser::probe(&input);
    }
    if ctl & 1 != 0 {
        let mut drive = Drive::new(DnsParser::new(cfg(), [0, 0], Transport::Tcp, mdns), 8 << 10);
        drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<Message>| {
            check(out, [dirs[0].seen, dirs[1].seen]);
        });
        return;
    }
    let mut p = DnsParser::new(cfg(), [0, 0], Transport::Udp, mdns);
    let mut out = Vec::new();
    let mut seen = [0u64; 2];
    datagrams(&s, 1500, &mut |dir, d, now| {
        seen = now;
        let r = p.parse(dir, d, &mut out).expect("datagrams never fail");
        assert_eq!(r.consumed, d.len());
        check(&mut out, seen);
    });
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    check(&mut out, seen);
});
