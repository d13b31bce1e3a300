//! `TlsParser` driven as `ks-engine` drives it (`ks_fuzz::Drive`: chunks, losses,
//! the Err/resync protocol, ends). Byte 0 of the split header's schedule also picks
//! small caps half of the time, so that the caps are reached.
//!
//! Checks: at most one Handshake per connection; every handshake message, alert and
//! event lies inside the bytes seen in its direction; lists respect their caps;
//! summaries never fail; JSON always serialises; no plaintext without a key log.
#![no_main]

use ks_fuzz::{split, Drive};
use ks_proto::{ProbeInput, StreamParser};
use ks_proto_tls::{
    Handshake, TlsConfig, TlsMessage, TlsParser, MAX_ALERTS, MAX_LIST, MAX_MESSAGES,
};
use libfuzzer_sys::fuzz_target;

const MAX_STREAM_BUFFER: usize = 32 << 10;

fn check_handshake(h: &Handshake, seen: [u64; 2], max_certs: usize) {
    assert!(h.messages.len() <= MAX_MESSAGES);
    for m in &h.messages {
        assert!(m.record_end <= seen[m.dir.index()], "{m:?} past {seen:?}");
    }
    assert!(h.alerts.len() <= MAX_ALERTS);
    for a in &h.alerts {
        assert!(a.offset < seen[a.dir.index()], "{a:?} past {seen:?}");
    }
    assert!(h.certificates.len() <= max_certs && h.client_certificates.len() <= max_certs);
    if let Some(c) = &h.client_hello {
        assert!(c.cipher_suites.len() <= MAX_LIST && c.extensions.len() <= MAX_LIST);
        assert!(c.alpn.len() <= MAX_LIST && c.supported_groups.len() <= MAX_LIST);
        assert!(c.sni.as_ref().map_or(0, String::len) <= 3 * 255 + 3);
    }
    if let Some(s) = &h.server_hello {
        assert!(s.extensions.len() <= MAX_LIST);
    }
    if let Some(j) = &h.ja4 {
        assert_eq!(j.len(), 36, "{j}");
    }
    if let Some(j) = &h.ja3 {
        assert_eq!(j.len(), 32);
    }
    let _ = h.summary();
    let _ = (h.sni(), h.alpn());
    serde_json::to_string(h).expect("json");
}

fuzz_target!(|data: &[u8]| {
    let s = split(data);
    let cfg = if s.schedule[0] & 1 == 0 {
        TlsConfig::default()
    } else {
        TlsConfig {
            max_handshake_message: 300,
            max_certificates: 1,
            ..TlsConfig::default()
        }
    };
    let max_certs = cfg.max_certificates;
    for (bytes, src_port, dst_port) in [(s.client, 40000, 443), (s.server, 443, 40000)] {
        let input = ProbeInput {
            data: &bytes[..bytes.len().min(1024)],
            src_port,
            dst_port,
        };
        let _ = TlsParser::probe(&input);
    }
    let mut handshakes = 0;
    let mut drive = Drive::new(TlsParser::new(cfg), MAX_STREAM_BUFFER);
    drive.run_split(&s, &mut |dirs, _d, out: &mut Vec<TlsMessage>| {
        let seen = [dirs[0].seen, dirs[1].seen];
        for m in out.drain(..) {
            match m {
                TlsMessage::Handshake(h) => {
                    handshakes += 1;
                    check_handshake(&h, seen, max_certs);
                }
                TlsMessage::Alert { dir, offset, alert } => {
                    assert!(offset < seen[dir.index()]);
                    assert_eq!((alert.dir, alert.offset), (dir, offset));
                }
                TlsMessage::Plaintext { .. } => panic!("plaintext without a key log"),
                // Post-handshake messages are encrypted: only a key log shows them.
                TlsMessage::PostHandshake(m) => panic!("{m:?} without a key log"),
                TlsMessage::Event(e) => assert!(e.offset <= seen[e.dir.index()], "{e:?}"),
            }
        }
    });
    assert!(handshakes <= 1);
    let _ = drive.parser.counters();
});
