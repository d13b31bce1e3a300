//! `ks_proto_icmp::decode` on any bytes: byte 0 picks the family, bytes 1 and 2 are
//! type and code, the rest follows the checksum. Checks: no panic, at most 16 options,
//! the label and the JSON never fail, and a quoted packet's ports only for TCP, UDP, SCTP.
#![no_main]

use ks_proto_icmp::{decode, Family};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [f, t, c, rest @ ..] = data else {
        return;
    };
    let family = if f & 1 == 0 { Family::V4 } else { Family::V6 };
    let m = decode(family, *t, *c, rest);
    assert!(m.options.len() <= 16);
    if let Some(q) = &m.quoted {
        assert!(q.src_port.is_none() || matches!(q.protocol, 6 | 17 | 132));
    }
    let _ = m.label();
    serde_json::to_string(&m).expect("json");
});
