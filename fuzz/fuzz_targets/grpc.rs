//! `ks-proto-grpc` on arbitrary bytes. Byte 0 picks the `grpc-encoding` (low 3 bits:
//! none, identity, gzip, deflate, snappy) and whether the body is reported longer
//! than the kept bytes (bit 3); byte 1 scales the config caps down so that they are
//! reached. The rest is the kept body, given to `parse_messages` and, whole, to
//! `decode_protobuf`.
//!
//! Checks: listed messages ≤ `max_messages` ≤ count ≤ what 5-byte prefixes fit;
//! `cut` whenever the body is longer than kept; decompressed sizes within the cap;
//! decoded fields within `max_fields` and `max_depth`, field numbers ≥ 1, shown
//! text/base64 within `max_bytes_shown`; uncompressed whole messages decode the
//! same as `decode_protobuf` of their bytes; the output serialises to JSON.
#![no_main]

use ks_proto_grpc::{decode_protobuf, parse_messages, Field, GrpcConfig, Value};
use libfuzzer_sys::fuzz_target;

const ENCODINGS: [Option<&str>; 5] = [
    None,
    Some("identity"),
    Some("gzip"),
    Some("deflate"),
    Some("snappy"),
];

/// (fields, depth) of a decoded message, checking shown sizes on the way.
fn walk(fields: &[Field], cfg: &GrpcConfig) -> (usize, usize) {
    let (mut n, mut depth) = (fields.len(), 1);
    for f in fields {
        assert!(f.number >= 1 && f.number < 1 << 29);
        if let Value::Len(l) = &f.value {
            let shown = usize::from(l.text.is_some())
                + usize::from(l.base64.is_some())
                + usize::from(l.message.is_some());
            assert_eq!(shown, 1, "one rendering per len field");
            if let Some(t) = &l.text {
                assert!(t.len() <= cfg.max_bytes_shown && t.len() as u64 <= l.size);
            }
            if let Some(b) = &l.base64 {
                assert!(b.len() <= cfg.max_bytes_shown.div_ceil(3) * 4);
            }
            if let Some(m) = &l.message {
                let (mn, md) = walk(m, cfg);
                n += mn;
                depth = depth.max(md + 1);
            }
        }
    }
    (n, depth)
}

fuzz_target!(|data: &[u8]| {
    let Some((&[sel, scale], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let encoding = ENCODINGS[usize::from(sel & 7) % ENCODINGS.len()];
    let longer = u64::from(sel >> 3 & 1) * 7;
    let cfg = GrpcConfig {
        max_messages: 1 + usize::from(scale & 7),
        max_decompressed: 64 << (scale >> 3 & 7),
        max_depth: 1 + usize::from(scale >> 6),
        max_fields: 1 + usize::from(scale) * 4,
        max_bytes_shown: usize::from(scale & 0x3f),
        decode_fields: sel & 0x80 == 0,
    };
    let body_size = body.len() as u64 + longer;
    let m = parse_messages(body, body_size, encoding, &cfg);
    assert!(m.messages.len() <= cfg.max_messages);
    assert!(m.messages.len() as u64 <= m.count);
    assert!(m.count <= body.len() as u64 / 5);
    if longer > 0 {
        assert!(m.cut);
    }
    // Offsets of the listed messages, to compare with decode_protobuf.
    let mut pos = 0usize;
    for msg in &m.messages {
        if let Some(s) = msg.size {
            assert!(s <= (cfg.max_decompressed as u64).max(u64::from(msg.length)));
        }
        if let Some(f) = &msg.fields {
            let (n, depth) = walk(f, &cfg);
            assert!(n <= cfg.max_fields, "{n} fields");
            assert!(depth <= cfg.max_depth.max(1), "depth {depth}");
        }
        let start = pos + 5;
        let end = start + msg.length as usize;
        if !msg.compressed && msg.error.is_none() && end <= body.len() {
            let capped = msg.fields_capped;
            let direct = decode_protobuf(&body[start..end], &cfg);
            if !capped {
                assert_eq!(direct, msg.fields);
            }
        }
        pos = end;
    }
    serde_json::to_string(&m).unwrap();

    if let Some(f) = decode_protobuf(body, &cfg) {
        let (n, depth) = walk(&f, &cfg);
        assert!(n <= cfg.max_fields);
        assert!(depth <= cfg.max_depth.max(1));
    }
});
