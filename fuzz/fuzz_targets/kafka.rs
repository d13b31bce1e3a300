#![no_main]
//! Arbitrary bytes as both directions of a Kafka connection, fed in chunks.
use ks_proto::{Direction, StreamParser};
use ks_proto_kafka::{KafkaConfig, KafkaParser};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(ctl & 0x1f) + 1;
    // Bodies go through the vendored kafka-protocol (vendor/README.md) unless a control
    // bit turns them off, so that both configurations are fuzzed.
    let decode_bodies = ctl & 0x20 == 0;
    let mid = rest.len() * usize::from(ctl >> 6) / 4;
    let (c, s) = rest.split_at(mid);
    let mut p = KafkaParser::new(
        KafkaConfig {
            decode_bodies,
            ..KafkaConfig::default()
        },
        [0, 0],
    );
    let mut out = Vec::new();
    for (dir, bytes) in [
        (Direction::ToServer, c),
        (Direction::ToClient, s),
        (Direction::ToServer, s),
    ] {
        let mut buf: Vec<u8> = Vec::new();
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            for _ in 0..1000 {
                match p.parse(dir, &buf, &mut out) {
                    Ok(r) => {
                        buf.drain(..r.consumed);
                        if r.consumed == 0 || buf.is_empty() {
                            break;
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        out.clear();
    }
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    for m in &out {
        if let ks_proto_kafka::Message::Exchange(x) = m {
            let _ = x.summary();
        }
    }
});
