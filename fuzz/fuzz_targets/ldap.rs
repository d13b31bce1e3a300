//! `LdapParser` two ways: over TCP driven as `ks-engine` drives it (`ks_fuzz::Drive`,
//! chunks, losses, the Err/resync protocol, ends), and in CLDAP mode with each
//! schedule chunk one datagram (`ks_fuzz::datagrams`). Byte 0 of the split header's
//! schedule also picks small caps half of the time, so that the caps are reached.
//!
//! Checks: messages lie inside the bytes seen in their direction, lists respect
//! their caps, simple-bind passwords are only ever `<hidden, N bytes>`, summaries
//! and labels never fail, JSON always serialises, datagrams are consumed whole.
#![no_main]

use ks_fuzz::{datagrams, split, Drive};
use ks_proto::{Direction, ProbeInput, StreamParser};
use ks_proto_ldap::{
    probe_datagram, Exchange, LdapConfig, LdapParser, LdapRequest, LdapResponse, Message,
    MAX_ATTRIBUTES, MAX_CHANGES, MAX_CONTROLS, MAX_ENTRIES, MAX_FILTER_LEN, MAX_INTERMEDIATE,
    MAX_REFERENCES, MAX_STRING,
};
use libfuzzer_sys::fuzz_target;

const MAX_STREAM_BUFFER: usize = 8 << 10;

fn check_req(q: &LdapRequest, seen: u64) {
    assert!(
        q.start <= q.end && q.end <= seen,
        "{}..{} past {seen}",
        q.start,
        q.end
    );
    assert!(q.attributes.len() <= MAX_ATTRIBUTES);
    assert!(q.changes.len() <= MAX_CHANGES);
    assert!(q.controls.len() <= MAX_CONTROLS);
    // A cut string keeps MAX bytes plus `…`; lossy UTF-8 can at most triple them.
    assert!(q.dn.as_ref().map_or(0, String::len) <= 3 * MAX_STRING + 3);
    assert!(q.filter.as_ref().map_or(0, String::len) <= MAX_FILTER_LEN + 8);
    if let Some(p) = &q.password {
        assert!(p.starts_with("<hidden, "), "{p}");
    }
}

fn check_resp(r: &LdapResponse, seen: u64) {
    assert!(
        r.start <= r.end && r.end <= seen,
        "{}..{} past {seen}",
        r.start,
        r.end
    );
    assert!(r.attributes.len() <= MAX_ATTRIBUTES);
    assert!(r.referral.len() <= MAX_REFERENCES);
    assert!(r.uris.len() <= MAX_REFERENCES);
    assert!(r.controls.len() <= MAX_CONTROLS);
}

fn check_exchange(x: &Exchange, seen: [u64; 2]) {
    if let Some(q) = &x.request {
        check_req(q, seen[0]);
    }
    if let Some(r) = &x.response {
        check_resp(r, seen[1]);
    }
    assert!(x.entries.len() <= MAX_ENTRIES && x.entries.len() as u64 <= x.entry_count);
    assert!(x.references.len() <= MAX_REFERENCES);
    assert!(x.intermediate.len() <= MAX_INTERMEDIATE);
    for e in &x.entries {
        assert!(e.end <= seen[1] && e.attributes.len() <= MAX_ATTRIBUTES);
    }
    let _ = x.summary();
    serde_json::to_string(x).expect("json");
}

fn check(out: &mut Vec<Message>, seen: [u64; 2]) {
    for m in out.drain(..) {
        match m {
            Message::Exchange(x) => check_exchange(&x, seen),
            Message::OneWay(o) => {
                let d = o.dir.index();
                assert!(o.start <= o.end && o.end <= seen[d]);
                if let Some(q) = &o.request {
                    check_req(q, seen[d]);
                }
                if let Some(r) = &o.response {
                    check_resp(r, seen[d]);
                }
                let _ = o.label();
                serde_json::to_string(&o).expect("json");
            }
            Message::Event(e) => assert!(e.offset <= seen[e.dir.index()]),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    let cfg = if s.schedule[0] & 1 == 0 {
        LdapConfig::default()
    } else {
        LdapConfig {
            max_message: 512,
            max_pending: 2,
        }
    };
    for (bytes, src_port, dst_port) in [(s.client, 40000, 389), (s.server, 389, 40000)] {
        let input = ProbeInput {
            data: &bytes[..bytes.len().min(1024)],
            src_port,
            dst_port,
        };
        let _ = LdapParser::probe(&input);
        let _ = probe_datagram(&input);
    }

    let mut drive = Drive::new(LdapParser::new(cfg.clone(), [0, 0]), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<Message>| {
        check(out, [dirs[0].seen, dirs[1].seen]);
    });
    let _ = drive.parser.counters();

    let mut p = LdapParser::cldap(cfg, [0, 0]);
    let mut out = Vec::new();
    let mut seen = [0u64; 2];
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
