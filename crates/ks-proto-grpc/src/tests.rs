//! Expected decodings are derived from the protobuf encoding spec
//! (protobuf.dev/programming-guides/encoding) and the gRPC over HTTP/2 spec
//! (Length-Prefixed-Message = flag byte, 4-byte big-endian length, message).

use std::io::Write;

use proptest::prelude::*;

use super::*;

fn cfg() -> GrpcConfig {
    GrpcConfig::default()
}

fn frame(flag: u8, msg: &[u8]) -> Vec<u8> {
    let mut v = vec![flag];
    v.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn varint_field(number: u32, v: u64) -> Field {
    Field {
        number,
        wire_type: "varint",
        value: Value::Varint(v),
    }
}

fn text_field(number: u32, s: &str) -> Field {
    Field {
        number,
        wire_type: "len",
        value: Value::Len(LenValue {
            size: s.len() as u64,
            message: None,
            text: Some(s.into()),
            base64: None,
        }),
    }
}

fn msg_field(number: u32, size: u64, fields: Vec<Field>) -> Field {
    Field {
        number,
        wire_type: "len",
        value: Value::Len(LenValue {
            size,
            message: Some(fields),
            text: None,
            base64: None,
        }),
    }
}

fn b64_field(number: u32, size: u64, b64: &str) -> Field {
    Field {
        number,
        wire_type: "len",
        value: Value::Len(LenValue {
            size,
            message: None,
            text: None,
            base64: Some(b64.into()),
        }),
    }
}

// The three examples of the encoding guide.
const VARINT_150: &[u8] = &[0x08, 0x96, 0x01];
const STRING_TESTING: &[u8] = &[0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67];
const NESTED_150: &[u8] = &[0x1a, 0x03, 0x08, 0x96, 0x01];

#[test]
fn spec_examples() {
    assert_eq!(
        decode_protobuf(VARINT_150, &cfg()),
        Some(vec![varint_field(1, 150)])
    );
    assert_eq!(
        decode_protobuf(STRING_TESTING, &cfg()),
        Some(vec![text_field(2, "testing")])
    );
    assert_eq!(
        decode_protobuf(NESTED_150, &cfg()),
        Some(vec![msg_field(3, 3, vec![varint_field(1, 150)])])
    );
    let all = [VARINT_150, STRING_TESTING, NESTED_150].concat();
    assert_eq!(decode_protobuf(&all, &cfg()).unwrap().len(), 3);
}

#[test]
fn fixed_width_and_extremes() {
    // field 4 wire type 1 (key 0x21) = double 1.0; field 5 wire type 5 (key 0x2d) =
    // float 1.0; field 6 = varint u64::MAX (ten bytes, last 0x01).
    let mut b = vec![
        0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x2d, 0, 0, 0x80, 0x3f, 0x30,
    ];
    b.extend_from_slice(&[0xff; 9]);
    b.push(0x01);
    // field 536870911 (2^29-1) varint 1: key = (2^29-1)<<3 = 0xFFFFFFF8 →
    // f8 ff ff ff 0f.
    b.extend_from_slice(&[0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    let f = decode_protobuf(&b, &cfg()).unwrap();
    assert_eq!(
        f,
        vec![
            Field {
                number: 4,
                wire_type: "i64",
                value: Value::I64(1f64.to_bits())
            },
            Field {
                number: 5,
                wire_type: "i32",
                value: Value::I32(1f32.to_bits())
            },
            varint_field(6, u64::MAX),
            varint_field((1 << 29) - 1, 1),
        ]
    );
}

#[test]
fn invalid_protobuf() {
    let cases: &[&[u8]] = &[
        &[0x08],             // varint value missing
        &[0x08, 0x96],       // varint value unfinished
        &[0x0b, 0x0c],       // group start/end (wire types 3, 4)
        &[0x0e, 0x00],       // wire type 6
        &[0x00, 0x00],       // field number 0
        &[0x12, 0x05, 0x61], // length past the end
        &[0x21, 0, 0, 0],    // i64 cut
        &[0x2d, 0, 0],       // i32 cut
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ], // 65 bits
        &[0x80, 0x80, 0x80, 0x80, 0x10, 0x01], // field number 2^29 (key 2^32)
    ];
    for c in cases {
        assert_eq!(decode_protobuf(c, &cfg()), None, "{c:02x?}");
    }
    assert_eq!(decode_protobuf(&[], &cfg()), Some(vec![]));
}

#[test]
fn len_rendering() {
    // Packed repeated [1, 2, 3] (field 4): 01 would be field 0, so not a message,
    // and not printable: base64 "AQID".
    assert_eq!(
        decode_protobuf(&[0x22, 0x03, 1, 2, 3], &cfg()),
        Some(vec![b64_field(4, 3, "AQID")])
    );
    // Printable text that also parses as a message ("hi" = field 13 varint 0x69):
    // text wins.
    assert_eq!(
        decode_protobuf(&[0x0a, 0x02, b'h', b'i'], &cfg()),
        Some(vec![text_field(1, "hi")])
    );
    // Empty bytes are shown as empty text.
    assert_eq!(
        decode_protobuf(&[0x0a, 0x00], &cfg()),
        Some(vec![text_field(1, "")])
    );
    // Non-ASCII UTF-8 text is text.
    let s = "héllo €";
    let mut b = vec![0x0a, s.len() as u8];
    b.extend_from_slice(s.as_bytes());
    assert_eq!(decode_protobuf(&b, &cfg()), Some(vec![text_field(1, s)]));
}

#[test]
fn long_values_cut_at_max_bytes_shown() {
    let c = GrpcConfig {
        max_bytes_shown: 4,
        ..cfg()
    };
    // "€€" = e2 82 ac e2 82 ac: 4 bytes cut inside the second char → one char shown.
    let mut b = vec![0x0a, 6];
    b.extend_from_slice("€€".as_bytes());
    let f = decode_protobuf(&b, &c).unwrap();
    assert_eq!(
        f[0].value,
        Value::Len(LenValue {
            size: 6,
            message: None,
            text: Some("€".into()),
            base64: None
        })
    );
    let b = [0x0a, 6, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa];
    assert_eq!(
        decode_protobuf(&b, &c),
        Some(vec![b64_field(1, 6, "//79/A==")])
    );
}

/// `levels` messages nested as field 3 of each other, the innermost `08 01`.
fn nested(levels: usize) -> Vec<u8> {
    let mut b = vec![0x08, 0x01];
    for _ in 1..levels {
        let mut outer = vec![0x1a];
        let mut len = b.len();
        while len >= 0x80 {
            outer.push(len as u8 | 0x80);
            len >>= 7;
        }
        outer.push(len as u8);
        outer.extend_from_slice(&b);
        b = outer;
    }
    b
}

fn depth_of(fields: &[Field]) -> usize {
    1 + fields
        .iter()
        .filter_map(|f| match &f.value {
            Value::Len(LenValue {
                message: Some(m), ..
            }) => Some(depth_of(m)),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn count_all(fields: &[Field]) -> usize {
    fields.len()
        + fields
            .iter()
            .map(|f| match &f.value {
                Value::Len(LenValue {
                    message: Some(m), ..
                }) => count_all(m),
                _ => 0,
            })
            .sum::<usize>()
}

#[test]
fn depth_cap() {
    let c = GrpcConfig {
        max_depth: 2,
        ..cfg()
    };
    // 3 levels: 1a 04 1a 02 08 01. Level 2's field 3 (1a 02 08 01 → `08 01`) is not
    // expanded: shown as base64 of 08 01 = "CAE=".
    let b = nested(3);
    assert_eq!(b, [0x1a, 0x04, 0x1a, 0x02, 0x08, 0x01]);
    assert_eq!(
        decode_protobuf(&b, &c),
        Some(vec![msg_field(3, 4, vec![b64_field(3, 2, "CAE=")])])
    );
    // Default depth 16: 100 levels decode to 16.
    let f = decode_protobuf(&nested(100), &cfg()).unwrap();
    assert_eq!(depth_of(&f), 16);
    // Very deep input does not overflow the stack.
    let f = decode_protobuf(&nested(5000), &cfg()).unwrap();
    assert_eq!(depth_of(&f), 16);
}

#[test]
fn field_cap() {
    let c = GrpcConfig {
        max_fields: 3,
        ..cfg()
    };
    let b = VARINT_150.repeat(10);
    assert_eq!(decode_protobuf(&b, &c).unwrap().len(), 3);
    let m = parse_messages(&frame(0, &b), 15, None, &c);
    let msg = &m.messages[0];
    assert!(msg.fields_capped);
    assert_eq!(msg.fields.as_ref().unwrap().len(), 3);
    // Nested fields count: field 3 { 1: 150 } x 2 = 4 fields > 3.
    let b = NESTED_150.repeat(2);
    let m = parse_messages(&frame(0, &b), 15, None, &c);
    let msg = &m.messages[0];
    assert!(msg.fields_capped);
    assert_eq!(count_all(msg.fields.as_ref().unwrap()), 3);
    let m = parse_messages(&frame(0, &b), 15, None, &cfg());
    assert!(!m.messages[0].fields_capped);
}

#[test]
fn framing_zero_one_several() {
    let m = parse_messages(&[], 0, None, &cfg());
    assert_eq!(m, Messages::default());

    let body = frame(0, VARINT_150);
    assert_eq!(body, [0, 0, 0, 0, 3, 0x08, 0x96, 0x01]);
    let m = parse_messages(&body, body.len() as u64, Some("identity"), &cfg());
    assert_eq!(
        m,
        Messages {
            messages: vec![GrpcMessage {
                compressed: false,
                length: 3,
                size: Some(3),
                fields: Some(vec![varint_field(1, 150)]),
                fields_capped: false,
                error: None,
            }],
            count: 1,
            cut: false,
        }
    );

    let body = [
        frame(0, VARINT_150),
        frame(0, &[]),
        frame(0, STRING_TESTING),
        frame(0, &[0xff, 0xff]),
    ]
    .concat();
    let m = parse_messages(&body, body.len() as u64, None, &cfg());
    assert_eq!((m.count, m.cut, m.messages.len()), (4, false, 4));
    assert_eq!(m.messages[1].fields, Some(vec![]));
    assert_eq!(m.messages[1].size, Some(0));
    assert_eq!(m.messages[2].fields, Some(vec![text_field(2, "testing")]));
    // Not a protobuf message: fields None, size still known, no error.
    assert_eq!(
        (
            &m.messages[3].fields,
            m.messages[3].size,
            &m.messages[3].error
        ),
        (&None, Some(2), &None)
    );
}

#[test]
fn max_messages_counts_the_rest() {
    let c = GrpcConfig {
        max_messages: 2,
        ..cfg()
    };
    let body = frame(0, VARINT_150).repeat(5);
    let m = parse_messages(&body, body.len() as u64, None, &c);
    assert_eq!((m.messages.len(), m.count, m.cut), (2, 5, false));
}

#[test]
fn gzip_and_deflate() {
    let payload = [VARINT_150, STRING_TESTING].concat();
    let gz = gzip(&payload);
    // A gzip message and an uncompressed one in the same gzip stream.
    let body = [frame(1, &gz), frame(0, VARINT_150)].concat();
    let m = parse_messages(&body, body.len() as u64, Some("gzip"), &cfg());
    assert_eq!(m.count, 2);
    let a = &m.messages[0];
    assert!(a.compressed);
    assert_eq!(a.length as usize, gz.len());
    assert_eq!(a.size, Some(payload.len() as u64));
    assert_eq!(
        a.fields,
        Some(vec![varint_field(1, 150), text_field(2, "testing")])
    );
    assert!(!m.messages[1].compressed);
    assert_eq!(m.messages[1].fields, Some(vec![varint_field(1, 150)]));

    for raw in [false, true] {
        let mut out = Vec::new();
        if raw {
            let mut e = flate2::write::DeflateEncoder::new(&mut out, Default::default());
            e.write_all(&payload).unwrap();
            e.finish().unwrap();
        } else {
            let mut e = flate2::write::ZlibEncoder::new(&mut out, Default::default());
            e.write_all(&payload).unwrap();
            e.finish().unwrap();
        }
        let body = frame(1, &out);
        let m = parse_messages(&body, body.len() as u64, Some("Deflate"), &cfg());
        assert_eq!(m.messages[0].size, Some(payload.len() as u64), "raw {raw}");
        assert_eq!(m.messages[0].fields.as_ref().map(Vec::len), Some(2));
    }
}

#[test]
fn decompression_errors() {
    let body = frame(1, b"not gzip at all");
    let m = parse_messages(&body, body.len() as u64, Some("gzip"), &cfg());
    let e = m.messages[0].error.as_deref().unwrap();
    assert!(e.starts_with("gzip: "), "{e}");
    assert_eq!((m.messages[0].size, &m.messages[0].fields), (None, &None));

    let c = GrpcConfig {
        max_decompressed: 100,
        ..cfg()
    };
    let body = frame(1, &gzip(&[0u8; 1000]));
    let m = parse_messages(&body, body.len() as u64, Some("gzip"), &c);
    assert_eq!(
        m.messages[0].error.as_deref(),
        Some("gzip: decompressed size exceeds cap of 100 bytes")
    );
    // Exactly at the cap is fine.
    let body = frame(1, &gzip(&VARINT_150.repeat(33)[..99]));
    let m = parse_messages(&body, body.len() as u64, Some("gzip"), &c);
    assert_eq!(m.messages[0].size, Some(99));
}

#[test]
fn unknown_encoding_and_bad_flags() {
    let body = [frame(1, b"\x00\x01"), frame(0, VARINT_150)].concat();
    let m = parse_messages(&body, body.len() as u64, Some("snappy"), &cfg());
    assert_eq!(
        m.messages[0],
        GrpcMessage {
            compressed: true,
            length: 2,
            size: None,
            fields: None,
            fields_capped: false,
            error: Some("unsupported grpc-encoding snappy".into()),
        }
    );
    // Uncompressed messages are still decoded.
    assert_eq!(m.messages[1].fields, Some(vec![varint_field(1, 150)]));

    let m = parse_messages(&body, body.len() as u64, None, &cfg());
    assert_eq!(
        m.messages[0].error.as_deref(),
        Some("compressed flag set without grpc-encoding")
    );
    let body = frame(7, VARINT_150);
    let m = parse_messages(&body, body.len() as u64, None, &cfg());
    assert_eq!(
        m.messages[0].error.as_deref(),
        Some("invalid compressed flag 7")
    );
}

#[test]
fn cut_bodies() {
    let body = [frame(0, VARINT_150), frame(0, STRING_TESTING)].concat();
    // Kept bytes end inside the second message.
    let kept = &body[..15];
    let m = parse_messages(kept, body.len() as u64, None, &cfg());
    assert!(m.cut);
    assert_eq!(m.count, 2);
    assert_eq!(m.messages[0].fields, Some(vec![varint_field(1, 150)]));
    assert_eq!(
        m.messages[1],
        GrpcMessage {
            compressed: false,
            length: 9,
            size: Some(9),
            fields: None,
            fields_capped: false,
            error: Some("cut".into()),
        }
    );
    // Kept bytes end inside the second prefix: it is not counted.
    let m = parse_messages(&body[..10], body.len() as u64, None, &cfg());
    assert_eq!((m.count, m.cut, m.messages.len()), (1, true, 1));
    // All messages whole, but the body was longer than what was kept.
    let m = parse_messages(&body, body.len() as u64 + 100, None, &cfg());
    assert_eq!((m.count, m.cut), (2, true));
    // A trailing partial message in a body whose size says it is all there.
    let m = parse_messages(&body[..10], 10, None, &cfg());
    assert!(m.cut);
    // A compressed message cut: size unknown.
    let body = frame(1, &gzip(VARINT_150));
    let m = parse_messages(&body[..8], body.len() as u64, Some("gzip"), &cfg());
    assert_eq!(
        (m.messages[0].size, m.messages[0].error.as_deref()),
        (None, Some("cut"))
    );
}

#[test]
fn grpc_status_and_message() {
    let h = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(status(&h(&[("grpc-status", "0")])), (Some(0), None));
    assert_eq!(
        status(&h(&[
            ("Grpc-Status", "14"),
            ("GRPC-MESSAGE", "a%20b%25c%E2%82%AC")
        ])),
        (Some(14), Some("a b%c€".into()))
    );
    // Malformed escapes are kept as they are; invalid UTF-8 replaced.
    assert_eq!(
        status(&h(&[("grpc-message", "100%zz%2"), ("grpc-status", "x")])),
        (None, Some("100%zz%2".into()))
    );
    assert_eq!(
        status(&h(&[("grpc-message", "%FF!")])).1,
        Some("\u{fffd}!".into())
    );
    assert_eq!(
        status(&h(&[("content-type", "application/grpc")])),
        (None, None)
    );
}

#[test]
fn status_names() {
    let names = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    for (i, n) in names.iter().enumerate() {
        assert_eq!(status_name(i as u32), *n);
    }
    assert_eq!(status_name(17), "UNKNOWN");
    assert_eq!(status_name(u32::MAX), "UNKNOWN");
}

#[test]
fn content_types() {
    for yes in [
        "application/grpc",
        "application/grpc+proto",
        "application/grpc+json",
        "Application/GRPC+Proto; charset=utf-8",
        " application/grpc ;x=y",
    ] {
        assert!(is_grpc_content_type(yes), "{yes}");
    }
    for no in [
        "application/grpc-web",
        "application/grpc-web+proto",
        "application/grpc-web-text",
        "application/grpc+",
        "application/grpcx",
        "application/json",
        "",
        "applicatio",
    ] {
        assert!(!is_grpc_content_type(no), "{no}");
    }
}

#[test]
fn paths() {
    assert_eq!(
        split_path("/grpc.health.v1.Health/Check"),
        Some(("grpc.health.v1.Health", "Check"))
    );
    for no in ["", "/", "//M", "/S/", "S/M", "/S/M/x", "/S", "/S/M?x=1"] {
        assert_eq!(split_path(no), None, "{no}");
    }
}

#[test]
fn json_shape() {
    let body = [
        frame(0, &[VARINT_150, STRING_TESTING].concat()),
        frame(1, b"x"),
    ]
    .concat();
    let m = parse_messages(&body, body.len() as u64, Some("snappy"), &cfg());
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(
        j,
        serde_json::json!({
            "messages": [
                {"compressed": false, "length": 12, "size": 12, "fields": [
                    {"number": 1, "wire_type": "varint", "value": 150},
                    {"number": 2, "wire_type": "len", "value": {"size": 7, "text": "testing"}},
                ]},
                {"compressed": true, "length": 1, "size": null, "fields": null,
                 "error": "unsupported grpc-encoding snappy"},
            ],
            "count": 2,
            "cut": false,
        })
    );
}

fn check_bounds(fields: &[Field], c: &GrpcConfig) {
    assert!(depth_of(fields) <= c.max_depth.max(1));
    assert!(count_all(fields) <= c.max_fields);
    fn walk(fields: &[Field], c: &GrpcConfig) {
        for f in fields {
            assert!(f.number >= 1);
            if let Value::Len(l) = &f.value {
                if let Some(t) = &l.text {
                    assert!(t.len() <= c.max_bytes_shown);
                }
                if let Some(b) = &l.base64 {
                    assert!(b.len() <= c.max_bytes_shown.div_ceil(3) * 4);
                }
                if let Some(m) = &l.message {
                    walk(m, c);
                }
            }
        }
    }
    walk(fields, c);
}

/// Encodes (field number, wire type choice, value) triples.
fn encode(fields: &[(u32, u8, u64, Vec<u8>)]) -> Vec<u8> {
    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    for (n, wt, v, bytes) in fields {
        let wt = [0u64, 1, 2, 5][usize::from(*wt % 4)];
        put_varint(&mut out, u64::from(*n) << 3 | wt);
        match wt {
            0 => put_varint(&mut out, *v),
            1 => out.extend_from_slice(&v.to_le_bytes()),
            5 => out.extend_from_slice(&(*v as u32).to_le_bytes()),
            _ => {
                put_varint(&mut out, bytes.len() as u64);
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600),
                                   enc in 0usize..5, extra in 0u64..3,
                                   max_depth in 0usize..5, max_fields in 0usize..50,
                                   max_bytes_shown in 0usize..20, max_messages in 0usize..4) {
        let c = GrpcConfig { max_messages, max_decompressed: 4096, max_depth, max_fields, max_bytes_shown, decode_fields: true };
        let encoding = [None, Some("gzip"), Some("deflate"), Some("identity"), Some("snappy")][enc];
        let m = parse_messages(&data, data.len() as u64 + extra, encoding, &c);
        prop_assert!(m.messages.len() <= c.max_messages);
        prop_assert!(m.messages.len() as u64 <= m.count);
        prop_assert!(m.count <= data.len() as u64 / 5);
        prop_assert_eq!(m.cut || extra > 0, m.cut);
        for msg in &m.messages {
            if let Some(f) = &msg.fields {
                check_bounds(f, &c);
            }
            if let Some(s) = msg.size {
                prop_assert!(s <= (c.max_decompressed as u64).max(u64::from(msg.length)));
            }
        }
        if let Some(f) = decode_protobuf(&data, &c) {
            check_bounds(&f, &c);
        }
    }

    #[test]
    fn encoded_messages_decode(fields in proptest::collection::vec(
        (1u32..(1 << 29), any::<u8>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..10)), 0..20)) {
        let b = encode(&fields);
        let got = decode_protobuf(&b, &cfg()).unwrap();
        prop_assert_eq!(got.len(), fields.len());
        for (g, (n, wt, v, bytes)) in got.iter().zip(&fields) {
            prop_assert_eq!(g.number, *n);
            match (&g.value, wt % 4) {
                (Value::Varint(x), 0) => prop_assert_eq!(x, v),
                (Value::I64(x), 1) => prop_assert_eq!(x, v),
                (Value::I32(x), 3) => prop_assert_eq!(*x, *v as u32),
                (Value::Len(l), 2) => prop_assert_eq!(l.size, bytes.len() as u64),
                (val, w) => prop_assert!(false, "{:?} for wire choice {}", val, w),
            }
        }
    }

    /// A kept prefix of a body yields the same complete messages as the whole body.
    #[test]
    fn prefix_agrees_with_whole(msgs in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..30), 0..6), cut in any::<prop::sample::Index>()) {
        let body: Vec<u8> = msgs.iter().flat_map(|m| frame(0, m)).collect();
        let whole = parse_messages(&body, body.len() as u64, None, &cfg());
        prop_assert_eq!(whole.count as usize, msgs.len());
        prop_assert!(!whole.cut);
        let k = if body.is_empty() { 0 } else { cut.index(body.len() + 1) };
        let part = parse_messages(&body[..k], body.len() as u64, None, &cfg());
        prop_assert_eq!(part.cut, k < body.len());
        for (i, m) in part.messages.iter().enumerate() {
            if m.error.as_deref() == Some("cut") {
                prop_assert_eq!(i + 1, part.messages.len());
            } else {
                prop_assert_eq!(m, &whole.messages[i]);
            }
        }
    }
}

#[test]
fn framing_without_decoding_lists_the_same_messages() {
    let mut body = frame(0, &[0x08, 0x96, 0x01]);
    body.extend(frame(0, b"\x12\x07testing"));
    let c = GrpcConfig {
        decode_fields: false,
        ..cfg()
    };
    let lazy = parse_messages(&body, body.len() as u64, None, &c);
    let full = parse_messages(&body, body.len() as u64, None, &cfg());
    assert_eq!(lazy.count, 2);
    assert!(lazy.messages.iter().all(|m| m.fields.is_none()));
    assert!(full.messages.iter().all(|m| m.fields.is_some()));
    for (a, b) in lazy.messages.iter().zip(&full.messages) {
        assert_eq!(
            (a.length, a.size, a.compressed),
            (b.length, b.size, b.compressed)
        );
    }
}
