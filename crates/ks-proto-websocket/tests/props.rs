//! Property tests: generated conversations decode to what was sent, however the
//! bytes are cut; arbitrary bytes, chunkings and gaps never panic and keep the
//! invariants.

mod common;

use common::*;
use ks_proto::{Direction, StreamParser};
use ks_proto_websocket::{Deflate, Opcode, WsConfig, WsMessage};
use proptest::prelude::*;

/// One message to send: opcode (1 text, 2 binary), payload, fragment count,
/// compressed, and a ping to slip between the first two fragments.
#[derive(Debug, Clone)]
struct Msg {
    opcode: u8,
    payload: Vec<u8>,
    fragments: usize,
    compressed: bool,
    ping: bool,
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        1u8..=2,
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 0..400),
        ],
        1usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(opcode, payload, fragments, compressed, ping)| Msg {
            opcode,
            payload,
            fragments,
            compressed,
            ping,
        })
}

/// The wire bytes of `msgs` in `dir`.
fn build(msgs: &[Msg], dir: Direction, deflate: Option<Deflate>) -> Vec<u8> {
    let takeover = match (deflate, dir) {
        (Some(d), Direction::ToServer) => !d.client_no_context_takeover,
        (Some(d), Direction::ToClient) => !d.server_no_context_takeover,
        (None, _) => false,
    };
    let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
    let mut out = Vec::new();
    for m in msgs {
        let compressed = m.compressed && deflate.is_some();
        let body = if compressed {
            if !takeover {
                c.reset();
            }
            compress(&mut c, &m.payload)
        } else {
            m.payload.clone()
        };
        let n = m.fragments.min(body.len().max(1));
        let step = body.len().div_ceil(n).max(1);
        let pieces: Vec<&[u8]> = if body.is_empty() {
            vec![&[]]
        } else {
            body.chunks(step).collect()
        };
        let last = pieces.len() - 1;
        for (i, p) in pieces.iter().enumerate() {
            let op = if i == 0 { m.opcode } else { 0 };
            let rsv = if i == 0 && compressed { 4 } else { 0 };
            let f = if dir == Direction::ToServer {
                cframe(i == last, rsv, op, p)
            } else {
                sframe(i == last, rsv, op, p)
            };
            out.extend(f);
            if i == 0 && m.ping {
                out.extend(if dir == Direction::ToServer {
                    cframe(true, 0, 9, b"p")
                } else {
                    sframe(true, 0, 9, b"p")
                });
            }
        }
    }
    out
}

fn deflate_choice() -> impl Strategy<Value = Option<Deflate>> {
    prop_oneof![
        Just(None),
        (any::<bool>(), any::<bool>()).prop_map(|(c, s)| Some(Deflate {
            client_no_context_takeover: c,
            server_no_context_takeover: s,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
        })),
    ]
}

/// Invariants every emitted sequence keeps.
fn check(out: &[WsMessage], cfg: &WsConfig, seen: u64) {
    // Data messages and standalone frames each start in order (a control frame
    // inside a fragmented message completes, and is emitted, before it).
    let mut last_start = [0u64; 2];
    for m in out {
        assert!(m.start <= m.end && m.end <= seen, "{m:?}");
        let k = usize::from(m.opcode.is_control() || matches!(m.opcode, Opcode::Reserved(_)));
        assert!(m.start >= last_start[k], "starts out of order");
        last_start[k] = m.start;
        assert!(m.payload.len() <= cfg.max_payload_kept);
        assert!(m.payload.len() as u64 <= m.payload_size);
        assert!(m.payload_size <= cfg.max_message_size.max(m.wire_size));
        assert!(m.fragments >= 1 && m.fragments <= cfg.max_fragments);
    }
}

/// How much the inflater hands out before a corrupt spot or a cut depends on how
/// its input was cut, so the inflated prefix of a compressed message that did
/// not inflate to its end is left out of comparisons (and so is whether the
/// size cap or the corrupt spot came first).
fn norm(mut out: Vec<WsMessage>) -> Vec<WsMessage> {
    for m in &mut out {
        if m.compressed && m.truncated {
            m.payload.clear();
            m.payload_size = 0;
            if m.error.as_deref().is_some_and(|e| e.starts_with("inflate")) {
                m.error = Some("inflate".into());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn conversations_decode_under_any_chunking(
        msgs in proptest::collection::vec(msg(), 0..8),
        deflate in deflate_choice(),
        to_server in any::<bool>(),
        chunk in 1usize..50,
    ) {
        let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
        let bytes = build(&msgs, dir, deflate);
        let cfg = WsConfig::default();
        let whole = run_all(&cfg, deflate, dir, &bytes, 0);
        let data: Vec<&WsMessage> = whole.iter().filter(|m| !m.opcode.is_control()).collect();
        prop_assert_eq!(data.len(), msgs.len());
        for (m, want) in data.iter().zip(&msgs) {
            prop_assert_eq!(&m.payload, &want.payload);
            prop_assert!(m.error.is_none() && m.fin, "{:?}", m);
            prop_assert_eq!(m.opcode, if want.opcode == 1 { Opcode::Text } else { Opcode::Binary });
            prop_assert_eq!(m.compressed, want.compressed && deflate.is_some());
        }
        prop_assert_eq!(whole.len() - data.len(), msgs.iter().filter(|m| m.ping).count());
        prop_assert_eq!(run_all(&cfg, deflate, dir, &bytes, 1), whole.clone());
        prop_assert_eq!(run_all(&cfg, deflate, dir, &bytes, chunk), whole.clone());
        check(&whole, &cfg, bytes.len() as u64);
    }

    #[test]
    fn arbitrary_bytes_chunking_invariant(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        deflate in deflate_choice(),
        to_server in any::<bool>(),
        chunk in 1usize..40,
        kept in 0usize..50,
    ) {
        let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
        let cfg = WsConfig { max_payload_kept: kept, max_message_size: 300, max_fragments: 3 };
        let whole = run_all(&cfg, deflate, dir, &bytes, 0);
        check(&whole, &cfg, bytes.len() as u64);
        prop_assert_eq!(norm(run_all(&cfg, deflate, dir, &bytes, 1)), norm(whole.clone()));
        prop_assert_eq!(norm(run_all(&cfg, deflate, dir, &bytes, chunk)), norm(whole));
    }

    #[test]
    fn gaps_never_panic(
        msgs in proptest::collection::vec(msg(), 0..8),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
        deflate in deflate_choice(),
        to_server in any::<bool>(),
        cuts in proptest::collection::vec((0usize..2000, 0u64..300, any::<bool>()), 0..6),
    ) {
        let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
        let mut bytes = build(&msgs, dir, deflate);
        bytes.extend(&noise);
        let cfg = WsConfig { max_payload_kept: 100, max_message_size: 1000, max_fragments: 2 };
        let mut d = Driver::new(cfg.clone(), deflate);
        let mut pos = 0usize;
        let mut seen = 0u64;
        let mut low = 0u64;
        let mut all = Vec::new();
        for (at, lost, big) in cuts {
            let at = at.min(bytes.len()).max(pos);
            d.feed_chunks(dir, &bytes[pos..at], if big { 0 } else { 7 });
            seen += (at - pos) as u64;
            let lost = (lost as usize).min(bytes.len() - at);
            d.lose(dir, lost as u64);
            seen += lost as u64;
            pos = at + lost;
            for m in d.take() {
                prop_assert!(m.start >= low, "message at {} before low water {}", m.start, low);
                all.push(m);
            }
            low = d.p.low_water(dir);
            prop_assert!(low <= seen);
        }
        d.feed(dir, &bytes[pos..]);
        seen += (bytes.len() - pos) as u64;
        d.end(dir);
        all.extend(d.take());
        check(&all, &cfg, seen);
        let c = d.p.counters();
        prop_assert_eq!(c.messages, all.len() as u64);
    }
}
