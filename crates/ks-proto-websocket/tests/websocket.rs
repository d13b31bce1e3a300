//! Behaviour of `WsParser` on hand-built byte sequences whose decoding follows
//! from RFC 6455 and RFC 7692 (the RFC examples are quoted byte for byte).

mod common;

use common::*;
use ks_proto::{Direction, ProbeInput, Role, StreamParser, Verdict};
use ks_proto_websocket::{Close, Deflate, Opcode, WsConfig, WsMessage, WsParser};

fn cfg() -> WsConfig {
    WsConfig::default()
}

fn one(dir: Direction, bytes: &[u8], deflate: Option<Deflate>) -> WsMessage {
    let mut out = run_all(&cfg(), deflate, dir, bytes, 0);
    assert_eq!(out.len(), 1, "{out:#?}");
    out.remove(0)
}

fn pmd() -> Option<Deflate> {
    Deflate::from_extensions("permessage-deflate")
}

// ---------------------------------------------------------------------------
// RFC 6455 §5.7

#[test]
fn rfc6455_single_frame_unmasked_text() {
    let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let m = one(TO_CLIENT, &bytes, None);
    assert_eq!(m.opcode, Opcode::Text);
    assert!(m.fin && !m.masked && !m.compressed && !m.truncated);
    assert_eq!((m.fragments, m.wire_size, m.payload_size), (1, 5, 5));
    assert_eq!(m.payload, b"Hello");
    assert_eq!((m.start, m.end), (0, 7));
    assert_eq!((m.error, m.close, m.dir), (None, None, TO_CLIENT));
}

#[test]
fn rfc6455_single_frame_masked_text() {
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let m = one(TO_SERVER, &bytes, None);
    assert!(m.masked && m.fin);
    assert_eq!(m.payload, b"Hello");
    assert_eq!((m.start, m.end, m.error), (0, 11, None));
}

#[test]
fn rfc6455_fragmented_unmasked_text() {
    let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let m = one(TO_CLIENT, &bytes, None);
    assert_eq!((m.opcode, m.fragments, m.wire_size), (Opcode::Text, 2, 5));
    assert_eq!(m.payload, b"Hello");
    assert_eq!((m.start, m.end, m.fin), (0, 9, true));
}

#[test]
fn rfc6455_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let m = one(TO_CLIENT, &ping, None);
    assert_eq!((m.opcode, &m.payload[..]), (Opcode::Ping, &b"Hello"[..]));
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let m = one(TO_SERVER, &pong, None);
    assert_eq!((m.opcode, &m.payload[..]), (Opcode::Pong, &b"Hello"[..]));
    assert!(m.masked && m.error.is_none());
}

#[test]
fn rfc6455_256_bytes_and_64k_binary() {
    let mut bytes = vec![0x82, 0x7e, 0x01, 0x00];
    bytes.extend((0..256).map(|i| i as u8));
    let m = one(TO_CLIENT, &bytes, None);
    assert_eq!(
        (m.opcode, m.wire_size, m.payload.len()),
        (Opcode::Binary, 256, 256)
    );
    assert_eq!(m.payload[255], 255);
    assert_eq!(m.end, 260);

    let mut bytes = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    bytes.extend((0..65536u32).map(|i| (i % 251) as u8));
    let m = one(TO_CLIENT, &bytes, None);
    assert_eq!(
        (m.wire_size, m.payload_size, m.payload.len()),
        (65536, 65536, 65536)
    );
    assert!(!m.truncated && m.fin);
    assert_eq!(m.end, 65546);
    // Kept payload is capped, the size still counted.
    let small = WsConfig {
        max_payload_kept: 1000,
        ..cfg()
    };
    let out = run_all(&small, None, TO_CLIENT, &bytes, 1460);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].payload.len(), out[0].payload_size), (1000, 65536));
    assert!(out[0].truncated);
    assert_eq!(out[0].payload[999], (999 % 251) as u8);
}

#[test]
fn large_frame_is_consumed_as_it_arrives() {
    // A 100 MB frame header, then 1 MB of its payload: everything is consumed and
    // nothing is asked to be buffered.
    let mut p = WsParser::new(cfg(), None, [0, 1000]);
    let mut out = Vec::new();
    let mut hdr = vec![0x82, 0x7f];
    hdr.extend_from_slice(&100_000_000u64.to_be_bytes());
    let r = p.parse(TO_CLIENT, &hdr, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (10, 0));
    let chunk = vec![7u8; 1 << 20];
    let r = p.parse(TO_CLIENT, &chunk, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (chunk.len(), 0));
    assert!(out.is_empty());
    assert_eq!(p.low_water(TO_CLIENT), 1000);
    p.end(TO_CLIENT, &mut out);
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert!(!m.fin && m.truncated);
    assert_eq!((m.start, m.end), (1000, 1000 + 10 + (1 << 20)));
    assert_eq!((m.wire_size, m.payload_size), (100_000_000, 1 << 20));
    assert_eq!(m.payload.len(), 64 * 1024);
    assert_eq!(m.error.as_deref(), Some("cut by end of stream"));
}

#[test]
fn needed_is_exact_for_headers() {
    let mut p = WsParser::new(cfg(), None, [0, 0]);
    let mut out = Vec::new();
    // 1 byte: the second decides the length.
    let r = p.parse(TO_SERVER, &[0x81], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 1));
    // Masked, 16-bit length: 2 + 2 + 4 bytes of header.
    let r = p.parse(TO_SERVER, &[0x82, 0xfe, 0x01], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 5));
}

// ---------------------------------------------------------------------------
// RFC 7692 §7.2.3

#[test]
fn rfc7692_compressed_hello() {
    let m = one(
        TO_CLIENT,
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        pmd(),
    );
    assert!(m.compressed && m.fin && !m.truncated);
    assert_eq!((m.wire_size, m.payload_size), (7, 5));
    assert_eq!((m.payload.as_slice(), m.error), (&b"Hello"[..], None));
    // Fragmented: the first fragment has RSV1, the second none.
    let m = one(
        TO_CLIENT,
        &[
            0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
        ],
        pmd(),
    );
    assert!(m.compressed && m.error.is_none());
    assert_eq!((m.fragments, m.payload.as_slice()), (2, &b"Hello"[..]));
}

#[test]
fn rfc7692_shared_window() {
    let bytes = [
        0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, // "Hello"
        0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00, // "Hello" again, from the window
    ];
    for chunk in [0, 1, 3] {
        let out = run_all(&cfg(), pmd(), TO_CLIENT, &bytes, chunk);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].payload, b"Hello", "chunk {chunk}");
        assert_eq!((out[1].wire_size, out[1].start, out[1].end), (5, 9, 16));
        assert!(out[1].error.is_none());
    }
    // The server resets its context per message: the back-reference fails.
    let no_takeover = Deflate::from_extensions("permessage-deflate; server_no_context_takeover");
    let out = run_all(&cfg(), no_takeover, TO_CLIENT, &bytes, 0);
    assert_eq!(out[0].payload, b"Hello");
    // miniz_oxide does not check that a distance stays inside the window (zlib
    // would say "invalid distance too far back"): the result is just wrong bytes.
    assert_ne!(out[1].payload, b"Hello");
    // Client context is separate: the same frames masked from the client work.
    let client: Vec<u8> = [
        cframe(true, 4, 1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        cframe(true, 4, 1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    ]
    .concat();
    let out = run_all(&cfg(), no_takeover, TO_SERVER, &client, 1);
    assert_eq!(
        (out[0].payload.as_slice(), out[1].payload.as_slice()),
        (&b"Hello"[..], &b"Hello"[..])
    );
}

#[test]
fn rfc7692_stored_block_bfinal_and_two_blocks() {
    let stored = [
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let m = one(TO_CLIENT, &stored, pmd());
    assert_eq!((m.payload.as_slice(), m.wire_size), (&b"Hello"[..], 11));
    assert!(m.error.is_none());
    let bfinal = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let two_blocks = [
        0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    // After a BFINAL block the next message starts a new deflate stream.
    let bytes = [&bfinal[..], &two_blocks[..], &bfinal[..]].concat();
    let out = run_all(&cfg(), pmd(), TO_CLIENT, &bytes, 0);
    assert_eq!(out.len(), 3);
    for m in &out {
        assert_eq!((m.payload.as_slice(), &m.error), (&b"Hello"[..], &None));
    }
}

#[test]
fn rsv1_without_deflate_is_a_violation() {
    let m = one(
        TO_CLIENT,
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        None,
    );
    assert!(!m.compressed);
    assert_eq!(m.error.as_deref(), Some("RSV1 without permessage-deflate"));
    assert_eq!(m.payload, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
}

#[test]
fn inflate_bomb_is_capped_and_breaks_the_context() {
    let small = WsConfig {
        max_payload_kept: 100,
        max_message_size: 10_000,
        ..cfg()
    };
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let bomb = compress(&mut c, &vec![b'a'; 1 << 20]);
    assert!(bomb.len() < 5000);
    let next = compress(&mut c, b"after");
    let bytes = [cframe(true, 4, 2, &bomb), cframe(true, 4, 1, &next)].concat();
    let mut d = Driver::new(small, pmd());
    d.feed_chunks(TO_SERVER, &bytes, 1460);
    d.end(TO_SERVER);
    let out = d.take();
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].payload_size, out[0].payload.len()), (10_000, 100));
    assert!(out[0].truncated && out[0].fin);
    assert_eq!(
        out[0].error.as_deref(),
        Some("inflated size exceeds 10000 bytes")
    );
    assert_eq!(out[1].error.as_deref(), Some("deflate context lost"));
    assert_eq!(out[1].wire_size, next.len() as u64);
    assert!(out[1].payload.is_empty() && out[1].truncated);
    let c = d.p.counters();
    assert_eq!((c.inflate_capped, c.context_lost, c.messages), (1, 1, 2));
}

#[test]
fn compressed_round_trip_with_takeover_many_messages() {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let msgs: Vec<String> = (0..50)
        .map(|i| format!("{{\"seq\":{i},\"data\":\"hello hello\"}}"))
        .collect();
    let mut bytes = Vec::new();
    for m in &msgs {
        bytes.extend(cframe(true, 4, 1, &compress(&mut c, m.as_bytes())));
    }
    for chunk in [0, 1, 7, 1460] {
        let out = run_all(&cfg(), pmd(), TO_SERVER, &bytes, chunk);
        assert_eq!(out.len(), 50);
        for (m, want) in out.iter().zip(&msgs) {
            assert_eq!(m.payload, want.as_bytes());
            assert!(m.error.is_none() && m.compressed);
        }
    }
}

// ---------------------------------------------------------------------------
// Control frames, fragments, violations

#[test]
fn close_with_code_and_reason() {
    let mut payload = 1001u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"going away");
    let m = one(TO_SERVER, &cframe(true, 0, 8, &payload), None);
    assert_eq!(m.opcode, Opcode::Close);
    assert_eq!(
        m.close,
        Some(Close {
            code: Some(1001),
            reason: "going away".into()
        })
    );
    assert_eq!(m.payload, payload);
    // Empty close: no code. A 1-byte close: a violation.
    let m = one(TO_CLIENT, &[0x88, 0x00], None);
    assert_eq!(m.close, Some(Close::default()));
    let m = one(TO_CLIENT, &[0x88, 0x01, 0x03], None);
    assert_eq!(m.error.as_deref(), Some("close payload of 1 byte"));
    // 1005 must never be sent.
    let m = one(TO_CLIENT, &[0x88, 0x02, 0x03, 0xed], None);
    assert_eq!(m.error.as_deref(), Some("invalid close code 1005"));
    // Code and reason are read even when the kept payload is smaller.
    let tiny = WsConfig {
        max_payload_kept: 1,
        ..cfg()
    };
    let out = run_all(&tiny, None, TO_SERVER, &cframe(true, 0, 8, &payload), 1);
    assert_eq!(out[0].close.as_ref().unwrap().reason, "going away");
    assert_eq!(out[0].payload, [0x03]);
    assert!(out[0].truncated);
}

#[test]
fn control_frames_interleave_inside_fragments() {
    let bytes = [
        cframe(false, 0, 1, b"Hel"),
        cframe(true, 0, 9, b"ping!"),
        cframe(false, 0, 0, b"l"),
        cframe(true, 0, 10, b""),
        cframe(true, 0, 0, b"o"),
    ]
    .concat();
    let out = run_all(&cfg(), None, TO_SERVER, &bytes, 0);
    let ops: Vec<_> = out.iter().map(|m| m.opcode).collect();
    assert_eq!(ops, [Opcode::Ping, Opcode::Pong, Opcode::Text]);
    assert_eq!(out[0].payload, b"ping!");
    assert_eq!((out[0].start, out[0].end), (9, 20));
    assert_eq!((out[1].start, out[1].end), (27, 33));
    let t = &out[2];
    assert_eq!(
        (t.payload.as_slice(), t.fragments, t.wire_size),
        (&b"Hello"[..], 3, 5)
    );
    assert_eq!((t.start, t.end), (0, bytes.len() as u64));
    assert!(out.iter().all(|m| m.error.is_none() && m.fin));
}

#[test]
fn low_water_follows_the_open_message() {
    let mut p = WsParser::new(cfg(), None, [100, 0]);
    let mut out = Vec::new();
    let a = cframe(false, 0, 1, b"Hel");
    let ping = cframe(true, 0, 9, b"");
    p.parse(TO_SERVER, &a, &mut out).unwrap();
    assert_eq!(p.low_water(TO_SERVER), 100);
    p.parse(TO_SERVER, &ping, &mut out).unwrap();
    assert_eq!(p.low_water(TO_SERVER), 100);
    assert_eq!(out.len(), 1);
    p.parse(TO_SERVER, &cframe(true, 0, 0, b"lo"), &mut out)
        .unwrap();
    let end = 100 + (a.len() + ping.len() + 8) as u64;
    assert_eq!((p.low_water(TO_SERVER), out[1].end), (end, end));
}

#[test]
fn protocol_violations_are_flagged() {
    let cases: Vec<(Vec<u8>, Direction, &str)> = vec![
        (
            cframe(true, 0, 0, b"x"),
            TO_SERVER,
            "continuation without start",
        ),
        (
            cframe(true, 0, 9, &[0; 126]),
            TO_SERVER,
            "control frame longer than 125 bytes",
        ),
        (
            cframe(false, 0, 9, b""),
            TO_SERVER,
            "fragmented control frame",
        ),
        (sframe(true, 0, 1, b"x"), TO_SERVER, "unmasked client frame"),
        (cframe(true, 0, 1, b"x"), TO_CLIENT, "masked server frame"),
        (
            sframe(true, 2, 1, b"x"),
            TO_CLIENT,
            "reserved bits set (RSV 010)",
        ),
        (sframe(true, 0, 3, b"x"), TO_CLIENT, "reserved opcode 0x3"),
        (sframe(true, 0, 0xb, b"x"), TO_CLIENT, "reserved opcode 0xb"),
        (
            sframe(true, 4, 9, b"x"),
            TO_CLIENT,
            "RSV1 on a control frame",
        ),
    ];
    for (bytes, dir, err) in cases {
        let mut d = Driver::new(cfg(), pmd());
        d.feed(dir, &bytes);
        d.end(dir);
        let out = d.take();
        assert_eq!(out.len(), 1, "{err}");
        assert_eq!(out[0].error.as_deref(), Some(err));
        assert_eq!(out[0].end, bytes.len() as u64, "{err}");
        assert!(d.p.counters().protocol_errors >= 1);
    }
    // A new data message before the final fragment cuts the open one.
    let bytes = [cframe(false, 0, 1, b"ab"), cframe(true, 0, 2, b"cd")].concat();
    let out = run_all(&cfg(), None, TO_SERVER, &bytes, 0);
    assert_eq!(out.len(), 2);
    assert!(!out[0].fin && out[1].fin);
    assert_eq!(
        out[0].error.as_deref(),
        Some("new message before the final fragment")
    );
    assert_eq!((out[0].end, out[1].start), (8, 8));
}

#[test]
fn max_fragments_cuts_the_message() {
    let few = WsConfig {
        max_fragments: 2,
        ..cfg()
    };
    let bytes = [
        sframe(false, 0, 2, b"a"),
        sframe(false, 0, 0, b"b"),
        sframe(false, 0, 0, b"c"),
        sframe(true, 0, 0, b"d"),
    ]
    .concat();
    let out = run_all(&few, None, TO_CLIENT, &bytes, 0);
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].payload.as_slice(), out[0].fin, out[0].fragments),
        (&b"ab"[..], false, 2)
    );
    assert_eq!(out[0].error.as_deref(), Some("more than 2 fragments"));
    assert_eq!(
        (out[1].opcode, out[1].payload.as_slice(), out[1].fin),
        (Opcode::Continuation, &b"cd"[..], true)
    );
    assert_eq!(out[1].start, 6);
}

#[test]
fn end_cuts_the_message_in_progress() {
    let mut d = Driver::new(cfg(), None);
    let bytes = [sframe(false, 0, 1, b"Hel"), sframe(true, 0, 0, b"lo")].concat();
    // One byte of the second header: not consumed, not part of the message.
    d.feed(TO_CLIENT, &bytes[..6]);
    d.end(TO_CLIENT);
    let out = d.take();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].payload.as_slice(), out[0].fin, out[0].end),
        (&b"Hel"[..], false, 5)
    );
    assert_eq!(out[0].error.as_deref(), Some("cut by end of stream"));
    // Inside the second frame's payload: the message reaches the last byte seen.
    let out = run_all(&cfg(), None, TO_CLIENT, &bytes[..8], 0);
    assert_eq!(
        (out[0].payload.as_slice(), out[0].fragments, out[0].end),
        (&b"Hell"[..], 2, 8)
    );
    assert!(!out[0].fin && !out[0].truncated);
}

// ---------------------------------------------------------------------------
// Gaps and resynchronisation

#[test]
fn gap_inside_a_payload_keeps_sync() {
    let mut d = Driver::new(cfg(), None);
    let big = cframe(true, 0, 2, &[9u8; 1000]);
    let next = cframe(true, 0, 1, b"next");
    d.feed(TO_SERVER, &big[..100]);
    d.lose(TO_SERVER, 500);
    d.feed(TO_SERVER, &big[600..]);
    d.feed(TO_SERVER, &next);
    let out = d.take();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].error.as_deref(), Some("gap"));
    assert!(out[0].fin && out[0].truncated);
    assert_eq!(
        (out[0].wire_size, out[0].payload_size, out[0].payload.len()),
        (1000, 1000, 92)
    );
    assert_eq!(out[0].end, big.len() as u64);
    assert_eq!(
        (out[1].payload.as_slice(), out[1].error.as_deref()),
        (&b"next"[..], None)
    );
    assert_eq!(d.p.counters().resyncs, 0);
}

#[test]
fn gap_across_frames_cuts_and_resyncs() {
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| cframe(true, 0, 1, format!("message {i}").as_bytes()))
        .collect();
    let all = frames.concat();
    let mut d = Driver::new(cfg(), None);
    // Frame 0 whole, frame 1's header (6 bytes) and 4 payload bytes, then lose up
    // to 3 bytes into frame 2.
    let f0 = frames[0].len();
    let cut = f0 + frames[1].len() + 3;
    d.feed(TO_SERVER, &all[..f0 + 10]);
    d.lose(TO_SERVER, (cut - f0 - 10) as u64);
    d.feed(TO_SERVER, &all[cut..]);
    d.end(TO_SERVER);
    let out = d.take();
    let texts: Vec<_> = out
        .iter()
        .map(|m| {
            (
                String::from_utf8_lossy(&m.payload).into_owned(),
                m.fin,
                m.error.clone(),
            )
        })
        .collect();
    assert_eq!(texts[0], ("message 0".into(), true, None));
    assert_eq!(texts[1], ("mess".into(), false, Some("gap".into())));
    // Frame 2's tail is skipped; frame 3 is found. Frame 5 is the last one: its
    // successor never comes, so resync, still verifying frame 3, takes it...
    assert_eq!(texts[2], ("message 3".into(), true, None));
    assert_eq!(texts[3], ("message 4".into(), true, None));
    assert_eq!(texts[4], ("message 5".into(), true, None));
    assert_eq!(
        out[2].start,
        (f0 + frames[1].len() + frames[2].len()) as u64
    );
    assert_eq!(out[1].end, (f0 + 10) as u64);
    let c = d.p.counters();
    assert_eq!((c.resyncs, c.gaps), (1, 1));
    assert_eq!(c.resync_skipped, (frames[2].len() - 3) as u64);
}

#[test]
fn gap_breaks_the_deflate_context() {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let a = sframe(true, 4, 1, &compress(&mut c, b"first first first"));
    let b = sframe(true, 4, 1, &compress(&mut c, b"second first"));
    let cc = sframe(true, 4, 1, &compress(&mut c, b"third first"));
    let e = sframe(true, 0, 1, b"plain");
    let mut d = Driver::new(cfg(), pmd());
    d.feed(TO_CLIENT, &a);
    d.lose(TO_CLIENT, b.len() as u64);
    d.feed(TO_CLIENT, &cc);
    d.feed(TO_CLIENT, &e);
    d.feed(TO_CLIENT, &e);
    d.end(TO_CLIENT);
    let out = d.take();
    assert_eq!(out[0].payload, b"first first first");
    assert_eq!(out[1].error.as_deref(), Some("deflate context lost"));
    assert_eq!(out[1].wire_size, cc.len() as u64 - 2);
    assert_eq!(out[2].payload, b"plain");
    assert_eq!(out.len(), 4);
    // Without context takeover a gap costs nothing.
    let no = Deflate::from_extensions("permessage-deflate; server_no_context_takeover");
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let a = sframe(true, 4, 1, &compress(&mut c, b"one"));
    c.reset();
    let b = sframe(true, 4, 1, &compress(&mut c, b"two"));
    c.reset();
    let cc = sframe(true, 4, 1, &compress(&mut c, b"three"));
    let mut d = Driver::new(cfg(), no);
    d.feed(TO_CLIENT, &a);
    d.lose(TO_CLIENT, b.len() as u64);
    d.feed(TO_CLIENT, &[cc.clone(), e.clone()].concat());
    let out = d.take();
    assert_eq!(out[1].payload, b"three");
}

#[test]
fn bad_length_is_an_error_then_resync() {
    let mut p = WsParser::new(cfg(), None, [0, 0]);
    let mut out = Vec::new();
    let good = sframe(true, 0, 1, b"ok");
    let mut bytes = good.clone();
    bytes.extend_from_slice(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend(&good);
    bytes.extend(&good);
    // Progress first, then the error on the next call.
    let r = p.parse(TO_CLIENT, &bytes, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (4, 0));
    let e = p.parse(TO_CLIENT, &bytes[4..], &mut out).unwrap_err();
    assert_eq!((e.kind, e.offset), ("bad-frame-length", 4));
    let r = p.parse(TO_CLIENT, &bytes[4..], &mut out).unwrap();
    // The bad header's tail is skipped (its zero bytes are no frames); the
    // frame at 14 checks out with the one after it.
    assert_eq!(r.consumed, bytes.len() - 4);
    assert_eq!(out.len(), 3);
    assert_eq!((out[1].start, out[1].error.as_deref()), (14, None));
    assert_eq!(p.counters().resync_skipped, 10);
    assert_eq!(p.counters().resyncs, 1);
}

// ---------------------------------------------------------------------------
// Probe

#[test]
fn probe_verdicts() {
    let probe = |data: &[u8]| {
        WsParser::probe(&ProbeInput {
            data,
            src_port: 40000,
            dst_port: 80,
        })
    };
    let p = probe(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!((p.verdict, p.sender), (Verdict::Unsure, Some(Role::Client)));
    let p = probe(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x89, 0x00]);
    assert_eq!((p.verdict, p.sender), (Verdict::Unsure, Some(Role::Server)));
    assert_eq!(probe(b"GET / HTTP/1.1\r\n").verdict, Verdict::NotMine);
    assert_eq!(probe(b"HTTP/1.1 200 OK\r\n").verdict, Verdict::NotMine);
    assert_eq!(
        probe(&[0x16, 0x03, 0x01, 0x02, 0x00]).verdict,
        Verdict::NotMine
    );
    // A plausible first frame followed by garbage.
    assert_eq!(probe(&[0x81, 0x01, b'a', 0x47]).verdict, Verdict::NotMine);
    // Masked then unmasked frames: no sender speaks both ways.
    assert_eq!(
        probe(&[0x81, 0x80, 1, 2, 3, 4, 0x81, 0x00]).verdict,
        Verdict::NotMine
    );
    assert_eq!(probe(&[0x82]).verdict, Verdict::Unsure);
}
