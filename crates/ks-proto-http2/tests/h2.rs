//! Connection-level behaviour: frames of every type, streams, errors, pickup,
//! gaps, caps and the probe. Expected values are derived from RFC 7540/7541.

mod common;

use common::*;
use ks_proto::{Direction, ProbeInput, Role, StreamParser, Verdict};
use ks_proto_http2::{ErrorSource, Http2Config, Http2Parser, Message, UpgradedRequest};

fn client_start() -> Vec<u8> {
    cat(&[PREFACE.to_vec(), settings(&[])])
}

fn simple() -> Vec<(usize, Vec<u8>)> {
    vec![
        (0, cat(&[client_start(), headers(1, ES | EH, &get_block())])),
        (
            1,
            cat(&[
                settings(&[]),
                headers(1, EH, &ok_block()),
                data(1, ES, b"hello"),
            ]),
        ),
    ]
}

#[test]
fn simple_exchange_offsets_and_fields() {
    let d = run(Http2Config::default(), &simple(), 0);
    let s = d.streams();
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!((s.id, s.pushed, s.error.is_none()), (1, false, true));
    let req = s.request.as_ref().unwrap();
    assert_eq!(
        req.headers,
        pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "a")
        ])
    );
    // Preface 24 + SETTINGS 9: the HEADERS frame spans 33..59 (9 + 17).
    assert_eq!(
        (req.start, req.end, req.frames, req.end_stream),
        (33, 59, 1, true)
    );
    let resp = s.response.as_ref().unwrap();
    assert_eq!(resp.header(":STATUS"), Some("200"));
    assert_eq!((resp.start, resp.end, resp.frames), (9, 33, 2));
    assert_eq!((&resp.body[..], resp.body_size), (&b"hello"[..], 5));
    assert!(!req.headers_lost && !resp.headers_lost && !resp.body_gap);
    assert!(d.events().is_empty(), "{:?}", d.events());
    let c = d.p.counters();
    assert_eq!((c.frames, c.streams, c.resyncs, c.hpack_lost), (5, 1, 0, 0));
}

#[test]
fn one_byte_chunks_give_the_same_result() {
    let whole = run(Http2Config::default(), &simple(), 0);
    for chunk in [1, 2, 7, 13] {
        let d = run(Http2Config::default(), &simple(), chunk);
        assert_eq!(d.out, whole.out, "chunk {chunk}");
    }
}

#[test]
fn padding_priority_and_continuation() {
    // HEADERS with PADDED|PRIORITY: pad length 3, 5 priority bytes, fragment, 3 pad bytes.
    let block = get_block();
    let (a, b) = block.split_at(5);
    let mut payload = vec![3];
    payload.extend_from_slice(&[0x80, 0, 0, 0, 15]);
    payload.extend_from_slice(a);
    payload.extend_from_slice(&[0, 0, 0]);
    let client = cat(&[
        client_start(),
        frame(1, 0x08 | 0x20, 1, &payload),
        frame(9, 0, 1, &b[..4]),
        frame(9, EH, 1, &b[4..]),
        // PRIORITY, WINDOW_UPDATE, PING and an unknown frame type are skipped.
        frame(2, 0, 1, &[0, 0, 0, 0, 7]),
        frame(8, 0, 0, &[0, 0, 1, 0]),
        frame(6, 0, 0, &[1; 8]),
        frame(0xfa, 0x3, 1, b"whatever"),
        // Padded DATA: pad length 2, "abc", 2 pad bytes.
        frame(0, 0x08 | ES, 1, &[2, b'a', b'b', b'c', 0, 0]),
    ]);
    let server = cat(&[settings(&[]), headers(1, EH | ES, &ok_block())]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = &d.streams()[0];
    let req = s.request.as_ref().unwrap();
    assert_eq!(req.header(":authority"), Some("a"));
    assert_eq!(req.headers.len(), 4);
    assert_eq!(
        (&req.body[..], req.body_size, req.frames),
        (&b"abc"[..], 3, 4)
    );
    assert!(d.events().is_empty(), "{:?}", d.events());
}

#[test]
fn interleaved_streams_complete_in_order_of_completion() {
    let client = cat(&[
        client_start(),
        headers(1, EH, &get_block()),
        headers(3, EH, &get_block()),
        data(3, 0, b"three-"),
        data(1, 0, b"one-"),
        data(3, ES, b"3"),
        data(1, ES, b"1"),
    ]);
    let server = cat(&[
        settings(&[]),
        headers(3, EH, &ok_block()),
        headers(1, EH, &ok_block()),
        data(1, 0, b"r1-"),
        data(3, ES, b"r3"),
        data(1, ES, b"x"),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), vec![3, 1]);
    assert_eq!(s[0].request.as_ref().unwrap().body, b"three-3");
    assert_eq!(s[0].response.as_ref().unwrap().body, b"r3");
    assert_eq!(s[1].request.as_ref().unwrap().body, b"one-1");
    assert_eq!(s[1].response.as_ref().unwrap().body, b"r1-x");
}

#[test]
fn rst_stream_emits_with_error() {
    let client = cat(&[
        client_start(),
        headers(1, EH, &get_block()),
        frame(3, 0, 1, &8u32.to_be_bytes()),
        // Late DATA on the reset stream must not open a new one.
        data(1, ES, b"late"),
    ]);
    let server = cat(&[settings(&[]), data(1, ES, b"late too")]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.len(), 1);
    let e = s[0].error.as_ref().unwrap();
    assert_eq!(
        (e.kind, e.code, e.name, e.sent_by),
        (ErrorSource::RstStream, 8, "CANCEL", Direction::ToServer)
    );
    assert!(s[0].response.is_none());
    assert!(!s[0].request.as_ref().unwrap().end_stream);
}

#[test]
fn goaway_errors_streams_above_last_id() {
    let client = cat(&[
        client_start(),
        headers(1, EH | ES, &get_block()),
        headers(3, EH | ES, &get_block()),
    ]);
    let mut ga = 1u32.to_be_bytes().to_vec();
    ga.extend_from_slice(&0u32.to_be_bytes());
    ga.extend_from_slice(b"bye");
    let server = cat(&[
        settings(&[]),
        frame(7, 0, 0, &ga),
        headers(1, EH | ES, &ok_block()),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    assert!(d.events().contains(&"goaway"));
    let s = d.streams();
    assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), vec![1, 3]);
    assert!(s[0].error.is_none());
    let e = s[1].error.as_ref().unwrap();
    assert_eq!(
        (e.kind, e.code, e.name, e.sent_by),
        (ErrorSource::GoAway, 0, "NO_ERROR", Direction::ToClient)
    );
}

#[test]
fn push_promise_creates_pushed_stream() {
    let client = cat(&[client_start(), headers(1, EH | ES, &get_block())]);
    let promise_block = cat(&[
        idx(2),
        idx(6),
        lit(":path", "/style.css"),
        lit(":authority", "a"),
    ]);
    // PADDED push promise: pad 1, promised stream 2, block, 1 pad byte.
    let mut pp = vec![1];
    pp.extend_from_slice(&2u32.to_be_bytes());
    pp.extend_from_slice(&promise_block);
    pp.push(0);
    let server = cat(&[
        settings(&[]),
        frame(5, EH | 0x08, 1, &pp),
        headers(1, EH, &ok_block()),
        headers(2, EH, &ok_block()),
        data(2, ES, b"css"),
        data(1, ES, b"html"),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), vec![2, 1]);
    assert!(s[0].pushed);
    let req = s[0].request.as_ref().unwrap();
    assert_eq!(req.header(":path"), Some("/style.css"));
    assert!(req.end_stream);
    // The promise is the server's second frame: 9..9+9+len.
    assert_eq!((req.start, req.end), (9, 9 + 9 + pp.len() as u64));
    assert_eq!(s[0].response.as_ref().unwrap().body, b"css");
    assert_eq!(d.p.counters().pushed, 1);
}

#[test]
fn trailers_and_interim_responses() {
    let client = cat(&[
        client_start(),
        headers(
            1,
            EH,
            &cat(&[
                idx(3),
                idx(6),
                lit(":path", "/svc/M"),
                lit("expect", "100-continue"),
            ]),
        ),
        data(1, 0, b"\0\0\0\0\x01z"),
        headers(1, EH | ES, &lit("x-client-trailer", "1")),
    ]);
    let server = cat(&[
        settings(&[]),
        headers(1, EH, &lit(":status", "100")),
        headers(
            1,
            EH,
            &cat(&[ok_block(), lit("content-type", "application/grpc")]),
        ),
        data(1, 0, b"\0\0\0\0\x01y"),
        headers(
            1,
            EH | ES,
            &cat(&[lit("grpc-status", "0"), lit("grpc-message", "")]),
        ),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = &d.streams()[0];
    let req = s.request.as_ref().unwrap();
    assert_eq!(req.header(":method"), Some("POST"));
    assert_eq!(req.trailers, pairs(&[("x-client-trailer", "1")]));
    let resp = s.response.as_ref().unwrap();
    assert_eq!(resp.interim, vec![pairs(&[(":status", "100")])]);
    assert_eq!(resp.header(":status"), Some("200"));
    assert_eq!(
        resp.trailers,
        pairs(&[("grpc-status", "0"), ("grpc-message", "")])
    );
    assert_eq!(resp.body_size, 6);
}

#[test]
fn settings_table_size_applies_to_the_other_direction() {
    // The server limits the client's encoder to 0 (RFC 7540 6.5.2); the client
    // acknowledges. The client's inserts are then not kept (a reference to one
    // is a bad index), while the server's own table still works.
    let client = cat(&[
        client_start(),
        settings_ack(),
        headers(
            1,
            EH | ES,
            &cat(&[idx(2), idx(6), idx(4), lit_idx("x", "y")]),
        ),
        headers(3, EH | ES, &cat(&[idx(2), idx(6), idx(4), idx(62)])),
    ]);
    let server = cat(&[
        settings_ack(),
        headers(1, EH | ES, &cat(&[ok_block(), lit_idx("s", "t")])),
        headers(3, EH | ES, &cat(&[ok_block(), idx(62)])),
    ]);
    let script = [(1, settings(&[(1, 0)])), (0, client), (1, server)];
    let d = run(Http2Config::default(), &script, 0);
    let s = d.streams();
    assert_eq!(s.len(), 2);
    let r3 = s[1].request.as_ref().unwrap();
    assert!(r3.headers_lost);
    assert_eq!(r3.headers.len(), 3);
    assert_eq!(s[1].response.as_ref().unwrap().header("s"), Some("t"));
    assert!(d.events().contains(&"hpack-bad-index"));
}

#[test]
fn pickup_without_preface_marks_dynamic_refs_lost() {
    // Capture starts mid-connection at a frame boundary: the client's table
    // holds an entry we never saw (index 62); static and literal fields decode.
    let client = cat(&[
        headers(5, EH | ES, &cat(&[idx(2), idx(62), lit(":path", "/p")])),
        headers(
            7,
            EH | ES,
            &cat(&[idx(2), lit_idx(":authority", "h"), idx(4)]),
        ),
        headers(9, EH | ES, &cat(&[idx(2), idx(62), idx(63), idx(4)])),
    ]);
    let server = cat(&[
        headers(5, EH | ES, &ok_block()),
        headers(7, EH | ES, &ok_block()),
        headers(9, EH | ES, &ok_block()),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.len(), 3);
    let r5 = s[0].request.as_ref().unwrap();
    assert_eq!(r5.headers, pairs(&[(":method", "GET"), (":path", "/p")]));
    assert!(r5.headers_lost);
    let r7 = s[1].request.as_ref().unwrap();
    assert!(!r7.headers_lost);
    // 62 is now the entry inserted after pickup; 63 is older and unknown.
    let r9 = s[2].request.as_ref().unwrap();
    assert_eq!(
        r9.headers,
        pairs(&[(":method", "GET"), (":authority", "h"), (":path", "/")])
    );
    assert!(r9.headers_lost);
    assert_eq!(d.p.counters().resyncs, 2);
    assert_eq!(d.events().iter().filter(|e| **e == "resync").count(), 2);
    assert!(!d.events().contains(&"hpack-bad-index"));
}

#[test]
fn mid_frame_pickup_skips_to_a_frame_chain() {
    // The capture starts inside a DATA frame: its last 13 bytes, then frames.
    let tail = b"...body tail!".to_vec();
    let client = cat(&[
        tail.clone(),
        headers(3, EH | ES, &get_block()),
        frame(8, 0, 0, &[0, 0, 1, 0]),
    ]);
    let server = cat(&[
        b"xyz".to_vec(),
        headers(3, EH | ES, &ok_block()),
        settings_ack(),
    ]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.len(), 1);
    let req = s[0].request.as_ref().unwrap();
    assert_eq!(req.start, tail.len() as u64);
    assert_eq!(req.header(":authority"), Some("a"));
    assert_eq!(s[0].response.as_ref().unwrap().start, 3);
    assert_eq!(d.p.counters().skipped_bytes, 16);
}

#[test]
fn gap_inside_data_marks_body_and_resyncs() {
    let mut drv = Driver::new(Http2Config::default());
    let big = vec![b'z'; 100];
    drv.feed(0, &cat(&[client_start(), headers(1, EH, &get_block())]));
    drv.feed(1, &cat(&[settings(&[]), headers(1, EH, &ok_block())]));
    let df = data(1, 0, &big);
    drv.feed(0, &df[..40]);
    drv.lose(0, 69); // the rest of the frame
    drv.feed(
        0,
        &cat(&[data(1, ES, b"end"), frame(8, 0, 0, &[0, 0, 1, 0])]),
    );
    drv.feed(1, &data(1, ES, b"ok"));
    drv.end();
    let s = drv.streams();
    assert_eq!(s.len(), 1);
    let req = s[0].request.as_ref().unwrap();
    assert!(req.body_gap && req.end_stream);
    assert_eq!(req.body_size, 31 + 3);
    assert!(!s[0].response.as_ref().unwrap().body_gap);
    assert!(drv.events().contains(&"gap"));
    assert!(drv.events().contains(&"resync"));
    assert_eq!(drv.p.counters().gaps, 1);
}

#[test]
fn lone_frames_of_open_streams_between_gaps_are_kept() {
    // A server stream whose segments each hold one DATA frame, with a segment lost
    // before each (deepflow_grpc-server-stream.pcap): no frame has a successor to
    // confirm it, but each is a whole frame of an open stream, ending with its segment.
    let mut drv = Driver::new(Http2Config::default());
    drv.feed(
        0,
        &cat(&[client_start(), headers(1, EH | ES, &get_block())]),
    );
    drv.feed(1, &cat(&[settings(&[]), headers(1, EH, &ok_block())]));
    drv.lose(1, 17); // e.g. a PING
    drv.feed(1, &data(1, 0, b"first"));
    drv.lose(1, 17);
    drv.feed(1, &data(1, 0, b"second"));
    drv.lose(1, 17);
    drv.feed(1, &data(1, ES, b"third"));
    drv.end();
    let s = drv.streams();
    assert_eq!(s.len(), 1);
    let resp = s[0].response.as_ref().unwrap();
    assert_eq!(resp.body, b"firstsecondthird");
    assert!(resp.end_stream);
}

#[test]
fn end_flushes_open_streams_incomplete() {
    let client = cat(&[
        client_start(),
        headers(1, EH, &get_block()),
        data(1, 0, b"part"),
    ]);
    let server = settings(&[]);
    let d = run(Http2Config::default(), &[(0, client), (1, server)], 0);
    let s = d.streams();
    assert_eq!(s.len(), 1);
    let req = s[0].request.as_ref().unwrap();
    assert!(!req.end_stream);
    assert_eq!(req.body, b"part");
    assert!(s[0].response.is_none());
}

#[test]
fn low_water_tracks_open_halves() {
    let mut drv = Driver::new(Http2Config::default());
    drv.feed(0, &cat(&[client_start(), headers(1, EH, &get_block())]));
    assert_eq!(drv.p.low_water(Direction::ToServer), 33);
    drv.feed(0, &data(1, ES, b"x"));
    // Half 1 still open (awaiting the response) but complete on this side.
    assert_eq!(drv.p.low_water(Direction::ToServer), 33);
    drv.feed(1, &cat(&[settings(&[]), headers(1, EH | ES, &ok_block())]));
    assert_eq!(drv.p.low_water(Direction::ToServer), 33 + 26 + 10);
    assert_eq!(drv.p.low_water(Direction::ToClient), 19);
}

#[test]
fn bodies_held_at_once_are_capped_per_connection() {
    let cfg = Http2Config {
        max_body_kept: 4,
        max_body_total: 6,
        ..Http2Config::default()
    };
    let client = cat(&[
        client_start(),
        headers(1, EH, &get_block()),
        headers(3, EH, &get_block()),
        data(1, 0, b"aaaaaa"),
        data(3, 0, b"bbbbbb"),
        data(1, ES, b""),
        data(3, ES, b""),
    ]);
    let server = cat(&[
        settings(&[]),
        headers(1, EH | ES, &ok_block()),
        headers(3, EH | ES, &ok_block()),
    ]);
    let tail = cat(&[headers(5, EH, &get_block()), data(5, ES, b"cccccc")]);
    let last = headers(5, EH | ES, &ok_block());
    let d = run(cfg, &[(0, client), (1, server), (0, tail), (1, last)], 0);
    let s = d.streams();
    let body = |i: usize| {
        let h = s[i].request.as_ref().unwrap();
        (s[i].id, h.body.clone(), h.body_size)
    };
    // Stream 1 keeps its 4, stream 3 only the 2 left of the 6; once both are out,
    // stream 5 has room again.
    assert_eq!(body(0), (1, b"aaaa".to_vec(), 6));
    assert_eq!(body(1), (3, b"bb".to_vec(), 6));
    assert_eq!(body(2), (5, b"cccc".to_vec(), 6));
}

#[test]
fn caps_bite_with_events() {
    let cfg = Http2Config {
        max_header_list_size: 200,
        max_header_block: 300,
        max_table_size: 1024,
        max_body_kept: 4,
        max_streams: 2,
        max_body_total: 1 << 20,
    };
    let long = "v".repeat(100);
    let client = cat(&[
        client_start(),
        // Two 100-byte values: the list (2 x 133 + pseudo) passes 200 → cut.
        headers(
            1,
            EH | ES,
            &cat(&[idx(2), lit("a", &long), lit("b", &long)]),
        ),
        // A block over 300 encoded bytes → skipped, state lost.
        headers(
            3,
            EH | ES,
            &cat(&[lit("a", &long), lit("b", &long), lit("c", &long)]),
        ),
        // Size update to 4096 above the 1024 cap.
        headers(5, EH | ES, &cat(&[vec![0x3f, 0xe1, 0x1f], idx(2)])),
        headers(7, EH, &idx(2)),
        data(7, ES, b"0123456789"),
    ]);
    let d = run(cfg, &[(0, client), (1, settings(&[]))], 0);
    let ev = d.events();
    for k in [
        "header-list-too-large",
        "header-block-too-large",
        "hpack-table-too-large",
        "too-many-streams",
    ] {
        assert!(ev.contains(&k), "{k} missing from {ev:?}");
    }
    let s = d.streams();
    let s1 = s
        .iter()
        .find(|s| s.id == 1)
        .unwrap()
        .request
        .clone()
        .unwrap();
    assert!(s1.headers_cut);
    assert_eq!(s1.headers.len(), 2);
    let s3 = s
        .iter()
        .find(|s| s.id == 3)
        .unwrap()
        .request
        .clone()
        .unwrap();
    assert!(s3.headers_lost && s3.headers.is_empty());
    let s7 = s
        .iter()
        .find(|s| s.id == 7)
        .unwrap()
        .request
        .clone()
        .unwrap();
    assert_eq!((&s7.body[..], s7.body_size), (&b"0123"[..], 10));
    assert!(d.p.counters().streams_capped >= 1);
}

#[test]
fn hpack_garbage_does_not_stop_the_connection() {
    let client = cat(&[
        client_start(),
        headers(1, EH | ES, &[0x00, 0x7f]), // string length runs past the block
        headers(3, EH | ES, &get_block()),
    ]);
    let d = run(
        Http2Config::default(),
        &[(0, client), (1, settings(&[]))],
        0,
    );
    assert!(d.events().contains(&"hpack-error"));
    let s = d.streams();
    assert_eq!(s.len(), 2);
    assert!(s[0].request.as_ref().unwrap().headers_lost);
    assert_eq!(s[1].request.as_ref().unwrap().header(":path"), Some("/"));
}

#[test]
fn bad_frame_header_resyncs() {
    // A PING with a stream id cannot happen: the framing is lost → resync.
    let client = cat(&[
        client_start(),
        frame(6, 0, 1, &[0; 8]),
        headers(1, EH | ES, &get_block()),
        settings_ack(),
    ]);
    let d = run(
        Http2Config::default(),
        &[(0, client), (1, settings(&[]))],
        0,
    );
    assert!(d.events().contains(&"bad-frame"));
    assert!(d.events().contains(&"resync"));
    assert_eq!(d.streams().len(), 1);
}

#[test]
fn upgraded_connection_has_stream_one() {
    let req = UpgradedRequest {
        method: "GET".into(),
        path: "/up".into(),
        authority: Some("h".into()),
        headers: vec![
            ("Upgrade".into(), "h2c".into()),
            // SETTINGS_HEADER_TABLE_SIZE = 0 in base64url: AAEAAAAA.
            ("HTTP2-Settings".into(), "AAEAAAAA".into()),
        ],
        start: 0,
        end: 80,
        body_size: 0,
    };
    let p = Http2Parser::upgraded(Http2Config::default(), [80, 120], req);
    let mut drv = Driver::with(p, [80, 120]);
    drv.feed(0, &client_start());
    // The server's table is limited to 0: its insert is not kept, 62 is bad.
    drv.feed(
        1,
        &cat(&[
            settings(&[]),
            headers(1, EH, &cat(&[ok_block(), lit_idx("s", "t")])),
            data(1, ES, b"up"),
        ]),
    );
    let s = drv.streams();
    assert_eq!(s.len(), 1);
    let req = s[0].request.as_ref().unwrap();
    assert_eq!(req.header(":path"), Some("/up"));
    assert_eq!((req.start, req.end), (0, 80));
    let resp = s[0].response.as_ref().unwrap();
    assert_eq!((resp.start, &resp.body[..]), (129, &b"up"[..]));
}

fn probe(data: &[u8]) -> (Verdict, Option<Role>) {
    let p = Http2Parser::probe(&ProbeInput {
        data,
        src_port: 1234,
        dst_port: 80,
    });
    (p.verdict, p.sender)
}

#[test]
fn probe_verdicts() {
    assert_eq!(probe(PREFACE), (Verdict::Certain, Some(Role::Client)));
    assert_eq!(probe(&PREFACE[..10]), (Verdict::Unsure, None));
    assert_eq!(probe(b""), (Verdict::Unsure, None));
    assert_eq!(
        probe(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").0,
        Verdict::NotMine
    );
    assert_eq!(probe(b"HTTP/1.1 200 OK\r\n\r\n").0, Verdict::NotMine);
    assert_eq!(
        probe(&[0x16, 3, 1, 0, 0xa5, 1, 0, 0, 0xa1, 3, 3]).0,
        Verdict::NotMine
    );
    // A server's SETTINGS alone decodes → certain, sender unknown.
    assert_eq!(
        probe(&settings(&[(3, 100), (4, 65535)])),
        (Verdict::Certain, None)
    );
    // Response HEADERS without preface → server.
    assert_eq!(
        probe(&headers(1, EH, &ok_block())),
        (Verdict::Certain, Some(Role::Server))
    );
    assert_eq!(
        probe(&headers(1, EH | ES, &get_block())),
        (Verdict::Certain, Some(Role::Client))
    );
    // Two plausible frames.
    assert_eq!(
        probe(&cat(&[
            frame(8, 0, 0, &[0, 0, 1, 0]),
            frame(6, 0, 0, &[0; 8])
        ]))
        .0,
        Verdict::Certain
    );
    // One plausible DATA frame only, or a partial header: unsure.
    assert_eq!(probe(&data(1, 0, b"abc")).0, Verdict::Unsure);
    assert_eq!(probe(&settings(&[])[..5]).0, Verdict::Unsure);
    // Bad SETTINGS values or length.
    assert_eq!(probe(&settings(&[(2, 7)])).0, Verdict::NotMine);
    assert_eq!(probe(&frame(4, 0, 0, &[0; 5])).0, Verdict::NotMine);
    // Undecodable HEADERS block.
    assert_eq!(probe(&headers(1, EH, &[0x80])).0, Verdict::NotMine);
}

#[test]
fn event_offsets_point_at_frames() {
    let client = cat(&[client_start(), frame(7, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 1])]);
    let d = run(
        Http2Config::default(),
        &[(0, client), (1, settings(&[]))],
        0,
    );
    let e = d
        .out
        .iter()
        .find_map(|m| match m {
            Message::Event(e) if e.kind == "goaway" => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((e.dir, e.offset), (Direction::ToServer, 33));
    assert!(e.message.contains("PROTOCOL_ERROR"));
}
