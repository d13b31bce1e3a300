//! Requests and responses built with kafka-protocol's own encoders (an
//! independent implementation of the wire format), fed through the parser.

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use ks_proto::{Direction, ProbeInput, StreamParser, Verdict};
use ks_proto_kafka::*;
use proptest::prelude::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn frame(mut inner: BytesMut) -> Vec<u8> {
    let mut v = (inner.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&inner.split());
    v
}

fn req<T: Encodable>(key: ApiKey, v: i16, corr: i32, body: &T) -> Vec<u8> {
    let mut b = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(v)
        .with_correlation_id(corr)
        .with_client_id(Some(StrBytes::from_static_str("cli")))
        .encode(&mut b, key.request_header_version(v))
        .unwrap();
    body.encode(&mut b, v).unwrap();
    frame(b)
}

fn resp<T: Encodable>(key: ApiKey, v: i16, corr: i32, body: &T) -> Vec<u8> {
    let mut b = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(corr)
        .encode(&mut b, key.response_header_version(v))
        .unwrap();
    body.encode(&mut b, v).unwrap();
    frame(b)
}

fn record(
    i: i64,
    key: Option<&'static str>,
    value: &'static [u8],
    hdrs: &[&'static str],
) -> Record {
    let mut headers = IndexMap::new();
    for h in hdrs {
        headers.insert(StrBytes::from_static_str(h), Some(Bytes::from_static(b"v")));
    }
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i,
        sequence: -1,
        timestamp: 1_700_000_000_000 + i,
        key: key.map(|k| Bytes::from_static(k.as_bytes())),
        value: Some(Bytes::from_static(value)),
        headers,
    }
}

fn batch(c: Compression) -> Bytes {
    let recs = [
        record(0, Some("k1"), b"hello", &["trace", "h2"]),
        record(1, None, b"world!!", &[]),
    ];
    let mut b = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut b,
        &recs,
        &RecordEncodeOptions {
            version: 2,
            compression: c,
        },
    )
    .unwrap();
    b.freeze()
}

fn topic(n: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(n))
}

fn produce_req(acks: i16, recs: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(1000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic("orders"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(3)
                    .with_records(Some(recs)),
            ])])
}

/// Feeds like the engine: keeps the unconsumed rest, appends `chunk` bytes at a
/// time, calls again after progress or an error.
fn feed(
    p: &mut KafkaParser,
    dir: Direction,
    bytes: &[u8],
    chunk: usize,
    out: &mut Vec<Message>,
) -> usize {
    let mut buf: Vec<u8> = Vec::new();
    let mut errors = 0;
    for c in bytes.chunks(chunk.max(1)) {
        buf.extend_from_slice(c);
        loop {
            match p.parse(dir, &buf, out) {
                Ok(r) => {
                    assert!(r.consumed <= buf.len());
                    buf.drain(..r.consumed);
                    if r.consumed == 0 || buf.is_empty() {
                        if r.needed == 0 && !buf.is_empty() {
                            continue;
                        }
                        break;
                    }
                }
                Err(_) => errors += 1,
            }
        }
    }
    errors
}

fn parser() -> KafkaParser {
    KafkaParser::new(KafkaConfig::default(), [0, 0])
}

fn exchanges(out: &[Message]) -> Vec<&Exchange> {
    out.iter()
        .filter_map(|m| match m {
            Message::Exchange(x) => Some(&**x),
            _ => None,
        })
        .collect()
}

#[test]
fn produce_v9_with_records_and_partition_error() {
    let mut p = parser();
    let mut out = Vec::new();
    let rq = req(
        ApiKey::Produce,
        9,
        42,
        &produce_req(1, batch(Compression::None)),
    );
    feed(&mut p, C, &rq, usize::MAX, &mut out);
    assert!(out.is_empty(), "request waits for its response");
    assert_eq!(p.low_water(C), 0);
    let body = ProduceResponse::default().with_responses(vec![
        produce_response::TopicProduceResponse::default()
            .with_name(topic("orders"))
            .with_partition_responses(vec![produce_response::PartitionProduceResponse::default()
                .with_index(3)
                .with_error_code(3)]),
    ]);
    let rs = resp(ApiKey::Produce, 9, 42, &body);
    feed(&mut p, S, &rs, usize::MAX, &mut out);
    let x = exchanges(&out)[0];
    let r = x.request.as_ref().unwrap();
    assert_eq!(
        (
            r.api_key,
            r.api_name.as_str(),
            r.api_version,
            r.correlation_id
        ),
        (0, "Produce", 9, 42)
    );
    assert_eq!(r.header_version, 2);
    assert_eq!(r.client_id.as_deref(), Some("cli"));
    assert_eq!(r.acks, Some(1));
    assert_eq!((r.start, r.end), (0, rq.len() as u64));
    assert_eq!(
        r.topics,
        vec![TopicInfo {
            name: "orders".into(),
            partitions: vec![3]
        }]
    );
    let recs: Vec<&RecordInfo> = r.records.iter().flat_map(|b| &b.records).collect();
    let b = &r.records[0];
    assert_eq!(
        (b.topic.as_str(), b.partition, b.compression.as_str()),
        ("orders", 3, "none")
    );
    assert_eq!(r.records.iter().map(|b| b.record_count).sum::<i32>(), 2);
    assert_eq!(recs[0].key_size, Some(2));
    assert_eq!(recs[0].value_size, Some(5));
    assert_eq!(recs[0].headers, vec!["trace", "h2"]);
    assert_eq!(recs[1].key_size, None);
    assert_eq!(recs[1].value_size, Some(7));
    assert_eq!(recs[1].offset, 1);
    let s = x.response.as_ref().unwrap();
    assert_eq!(s.header_version, Some(1));
    assert_eq!(
        s.errors[0].name.as_deref(),
        Some("UNKNOWN_TOPIC_OR_PARTITION")
    );
    assert_eq!((s.errors[0].partition, s.errors[0].code), (Some(3), 3));
    assert_eq!(
        x.summary(),
        "Produce v9 topic=orders → 3 UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(p.low_water(C), rq.len() as u64);
    let j = serde_json::to_value(x).unwrap();
    assert_eq!(j["request"]["api_name"], "Produce");
    assert_eq!(j["request"]["topics"][0]["partitions"][0], 3);
    assert_eq!(
        j["response"]["errors"][0]["name"],
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
}

#[test]
fn produce_acks0_is_one_way() {
    let mut p = parser();
    let mut out = Vec::new();
    let rq = req(
        ApiKey::Produce,
        7,
        1,
        &produce_req(0, batch(Compression::None)),
    );
    feed(&mut p, C, &rq, usize::MAX, &mut out);
    match &out[..] {
        [Message::OneWay(o)] => {
            assert_eq!(o.summary(), "Produce v7 topic=orders (acks=0)");
            assert_eq!(o.request.header_version, 1);
        }
        o => panic!("{o:?}"),
    }
    // A broker that answers anyway (Tansu 0.6 does): decoded as a Produce v7
    // response, flagged, without repeating the request already reported one-way.
    out.clear();
    feed(
        &mut p,
        S,
        &resp(ApiKey::Produce, 7, 1, &ProduceResponse::default()),
        usize::MAX,
        &mut out,
    );
    let x = exchanges(&out)[0];
    assert!(x.request.is_none());
    let r = x.response.as_ref().unwrap();
    assert!(r.body_decoded && r.error.is_none(), "{r:?}");
    assert!(r
        .unexpected
        .as_deref()
        .unwrap()
        .contains("acks=0 Produce v7"));
    assert_eq!(x.summary(), "(answer to acks=0 Produce) → 0");
    assert_eq!(p.counters().unexpected_responses, 1);
    // Only once: the same correlation id again is an ordinary orphan.
    out.clear();
    feed(
        &mut p,
        S,
        &resp(ApiKey::Produce, 7, 1, &ProduceResponse::default()),
        usize::MAX,
        &mut out,
    );
    assert_eq!(exchanges(&out)[0].summary(), "? → ?");
}

#[test]
fn api_versions_v3_flexible_request_v0_response_header() {
    let mut p = parser();
    let mut out = Vec::new();
    let body = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("ks"))
        .with_client_software_version(StrBytes::from_static_str("1"));
    feed(
        &mut p,
        C,
        &req(ApiKey::ApiVersions, 3, 5, &body),
        usize::MAX,
        &mut out,
    );
    let rb = ApiVersionsResponse::default()
        .with_error_code(35)
        .with_api_keys(vec![api_versions_response::ApiVersion::default()
            .with_api_key(0)
            .with_max_version(9)]);
    feed(
        &mut p,
        S,
        &resp(ApiKey::ApiVersions, 3, 5, &rb),
        usize::MAX,
        &mut out,
    );
    let x = exchanges(&out)[0];
    assert_eq!(x.request.as_ref().unwrap().header_version, 2);
    let r = x.response.as_ref().unwrap();
    assert_eq!(r.header_version, Some(0));
    assert_eq!(r.error_code, Some(35));
    assert_eq!(r.error_name.as_deref(), Some("UNSUPPORTED_VERSION"));
    assert_eq!(r.throttle_time_ms, Some(0));
    assert_eq!(x.summary(), "ApiVersions v3 → 35 UNSUPPORTED_VERSION");
}

#[test]
fn metadata_v12_topics_and_errors() {
    let mut p = parser();
    let mut out = Vec::new();
    let body = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic("a"))),
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic("b"))),
    ]));
    feed(
        &mut p,
        C,
        &req(ApiKey::Metadata, 12, 9, &body),
        usize::MAX,
        &mut out,
    );
    let rb = MetadataResponse::default().with_topics(vec![
        metadata_response::MetadataResponseTopic::default()
            .with_name(Some(topic("a")))
            .with_partitions(vec![metadata_response::MetadataResponsePartition::default(
            )
            .with_partition_index(0)]),
        metadata_response::MetadataResponseTopic::default()
            .with_name(Some(topic("b")))
            .with_error_code(3),
    ]);
    feed(
        &mut p,
        S,
        &resp(ApiKey::Metadata, 12, 9, &rb),
        usize::MAX,
        &mut out,
    );
    let x = exchanges(&out)[0];
    let names: Vec<_> = x
        .request
        .as_ref()
        .unwrap()
        .topics
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let r = x.response.as_ref().unwrap();
    assert_eq!(r.topics[0].partitions, vec![0]);
    assert_eq!(
        (r.errors[0].topic.as_deref(), r.errors[0].partition),
        (Some("b"), None)
    );
    assert_eq!(
        x.summary(),
        "Metadata v12 topic=a → 3 UNKNOWN_TOPIC_OR_PARTITION"
    );
}

#[test]
fn fetch_response_compressed_records() {
    for (c, name) in [
        (Compression::Gzip, "gzip"),
        (Compression::Snappy, "snappy"),
        (Compression::Lz4, "lz4"),
        (Compression::Zstd, "zstd"),
    ] {
        let mut p = parser();
        let mut out = Vec::new();
        let fr = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(topic("t"))
                .with_partitions(vec![
                    fetch_request::FetchPartition::default().with_partition(1)
                ])]);
        feed(
            &mut p,
            C,
            &req(ApiKey::Fetch, 12, 77, &fr),
            usize::MAX,
            &mut out,
        );
        let rb = FetchResponse::default().with_responses(vec![
            fetch_response::FetchableTopicResponse::default()
                .with_topic(topic("t"))
                .with_partitions(vec![fetch_response::PartitionData::default()
                    .with_partition_index(1)
                    .with_records(Some(batch(c)))]),
        ]);
        feed(
            &mut p,
            S,
            &resp(ApiKey::Fetch, 12, 77, &rb),
            usize::MAX,
            &mut out,
        );
        let x = exchanges(&out)[0];
        assert_eq!(x.request.as_ref().unwrap().topics[0].partitions, vec![1]);
        let r = x.response.as_ref().unwrap();
        // The encoder may split the two records into batches of its choosing.
        let recs: Vec<&RecordInfo> = r.records.iter().flat_map(|b| &b.records).collect();
        for b in &r.records {
            assert_eq!(b.compression, name);
            assert_eq!(b.decode_error, None, "{name}");
        }
        assert_eq!(recs.len(), 2, "{name}");
        assert_eq!(recs[0].value_size, Some(5));
        assert_eq!(recs[0].headers, vec!["trace", "h2"]);
        assert_eq!(recs[1].value_size, Some(7));
        assert_eq!(x.summary(), "Fetch v12 topic=t → 0");
    }
}

#[test]
fn pipelined_requests_pair_by_correlation_id() {
    let mut p = parser();
    let mut out = Vec::new();
    let hb = |g| HeartbeatRequest::default().with_group_id(GroupId(StrBytes::from_static_str(g)));
    let mut reqs = req(ApiKey::Heartbeat, 4, 1, &hb("g1"));
    reqs.extend(req(
        ApiKey::Metadata,
        1,
        2,
        &MetadataRequest::default().with_topics(Some(vec![])),
    ));
    reqs.extend(req(ApiKey::Heartbeat, 4, 3, &hb("g3")));
    feed(&mut p, C, &reqs, 7, &mut out);
    assert_eq!(p.low_water(C), 0);
    let mut rs = resp(
        ApiKey::Heartbeat,
        4,
        3,
        &HeartbeatResponse::default().with_error_code(27),
    );
    rs.extend(resp(ApiKey::Metadata, 1, 2, &MetadataResponse::default()));
    rs.extend(resp(ApiKey::Heartbeat, 4, 1, &HeartbeatResponse::default()));
    feed(&mut p, S, &rs, 5, &mut out);
    let xs = exchanges(&out);
    let got: Vec<_> = xs
        .iter()
        .map(|x| {
            (
                x.request.as_ref().unwrap().correlation_id,
                x.request.as_ref().unwrap().group_id.clone(),
                x.summary(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                3,
                Some("g3".to_string()),
                "Heartbeat v4 → 27 REBALANCE_IN_PROGRESS".to_string()
            ),
            (2, None, "Metadata v1 → 0".to_string()),
            (1, Some("g1".to_string()), "Heartbeat v4 → 0".to_string()),
        ]
    );
    assert_eq!(p.counters().exchanges, 3);
}

#[test]
fn unknown_api_key_and_unsupported_version() {
    let mut p = parser();
    let mut out = Vec::new();
    // Hand-built: size 14, api key 999, version 1, correlation id 4, client id "x", 3 body bytes.
    let mut rq = vec![
        0, 0, 0, 14, 0x03, 0xe7, 0, 1, 0, 0, 0, 4, 0, 1, b'x', 1, 2, 3,
    ];
    // Produce v2: older than kafka-protocol's range (3..): header only.
    rq.extend([0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 5, 0xff, 0xff, 9, 9]);
    assert_eq!(feed(&mut p, C, &rq, usize::MAX, &mut out), 0);
    feed(
        &mut p,
        S,
        &[0, 0, 0, 6, 0, 0, 0, 4, 0, 0],
        usize::MAX,
        &mut out,
    );
    p.end(C, &mut out);
    p.end(S, &mut out);
    let xs = exchanges(&out);
    let r = xs[0].request.as_ref().unwrap();
    assert_eq!(
        (r.api_name.as_str(), r.error.as_deref()),
        ("Unknown(999)", Some("unknown API key 999"))
    );
    assert_eq!(r.client_id.as_deref(), Some("x"));
    assert!(xs[0].response.as_ref().unwrap().error.is_some());
    assert_eq!(xs[0].summary(), "Unknown(999) v1 → ?");
    let r2 = xs[1].request.as_ref().unwrap();
    assert_eq!(
        (r2.api_name.as_str(), r2.api_version, r2.client_id.clone()),
        ("Produce", 2, None)
    );
    assert!(r2.error.as_deref().unwrap().contains("unsupported version"));
    assert_eq!(xs[1].summary(), "Produce v2 → -");
}

#[test]
fn orphan_response_and_bad_body() {
    let mut p = parser();
    let mut out = Vec::new();
    // Metadata v1 request whose body is cut: topics array says 5, none follow.
    let rq = [0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 8, 0xff, 0xff, 0, 0, 0, 5];
    feed(&mut p, C, &rq, usize::MAX, &mut out);
    feed(&mut p, S, &[0, 0, 0, 4, 0, 0, 0, 99], usize::MAX, &mut out);
    let x = exchanges(&out)[0];
    assert!(x.request.is_none());
    assert_eq!(x.response.as_ref().unwrap().correlation_id, 99);
    assert_eq!(x.summary(), "? → ?");
    p.end(S, &mut out);
    p.end(C, &mut out);
    let x = exchanges(&out)[1];
    assert!(x
        .request
        .as_ref()
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .starts_with("body not decoded"));
}

/// Element counts and lengths far larger than the message: upstream kafka-protocol
/// 0.18.0 allocates them before reading (a 154 GB request aborts the process); the
/// vendored copy (vendor/README.md) rejects them, so each body is "not decoded" and
/// the next request is decoded as usual.
#[test]
fn crafted_counts_are_errors_not_aborts() {
    let mut p = parser();
    let mut out = Vec::new();
    // Metadata v1: topics Array count 0x7fffffff (the fuzz finding).
    let v1 = [
        0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
    ];
    // Metadata v9 (flexible, header v2): CompactArray count varint 0xfffffffe.
    let v9 = [
        0, 0, 0, 16, 0, 3, 0, 9, 0, 0, 0, 2, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ];
    // CreateTopics v5 (flexible): one topic whose CompactString name claims ~4 GiB
    // (kafka-protocol reads names with a checked length: "not enough bytes").
    let ct = [
        0, 0, 0, 17, 0, 19, 0, 5, 0, 0, 0, 3, 0xff, 0xff, 0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ];
    let ok = req(
        ApiKey::Metadata,
        1,
        4,
        &MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic("orders"))),
        ])),
    );
    for m in [&v1[..], &v9, &ct, &ok] {
        feed(&mut p, C, m, usize::MAX, &mut out);
    }
    p.end(S, &mut out);
    p.end(C, &mut out);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 4, "{out:?}");
    for (x, corr) in xs.iter().zip(1..) {
        let r = x.request.as_ref().unwrap();
        assert_eq!(r.correlation_id, corr);
        if corr < 4 {
            let e = r.error.as_deref().unwrap();
            assert!(e.starts_with("body not decoded"), "{e}");
            let why = ["larger than the", "larger than the", "Not enough bytes"];
            assert!(e.contains(why[corr as usize - 1]), "{e}");
        } else {
            assert!(r.error.is_none(), "{:?}", r.error);
            assert_eq!(r.topics[0].name, "orders");
        }
    }
}

#[test]
fn gap_resyncs_to_next_request() {
    let mut p = parser();
    let mut out = Vec::new();
    let a = req(ApiKey::Heartbeat, 4, 1, &HeartbeatRequest::default());
    let b = req(ApiKey::Heartbeat, 4, 2, &HeartbeatRequest::default());
    // The first 10 bytes of `a` arrive, then the rest is lost.
    let r = p.parse(C, &a[..10], &mut out).unwrap();
    assert_eq!(r.consumed, 0);
    p.gap(C, (a.len()) as u64, &mut out);
    let mut junk = vec![0xffu8; 5];
    junk.extend(&b);
    feed(&mut p, C, &junk, 3, &mut out);
    assert_eq!(p.low_water(C), (a.len() + 5) as u64);
    feed(
        &mut p,
        S,
        &resp(ApiKey::Heartbeat, 4, 2, &HeartbeatResponse::default()),
        usize::MAX,
        &mut out,
    );
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 1);
    assert_eq!(xs[0].request.as_ref().unwrap().start, (a.len() + 5) as u64);
}

#[test]
fn garbage_is_an_error_then_skipped() {
    let mut p = parser();
    let mut out = Vec::new();
    let mut data = b"GET / HTTP/1.1\r\n".to_vec();
    let hb = req(ApiKey::Heartbeat, 4, 1, &HeartbeatRequest::default());
    data.extend(&hb);
    let e = p.parse(C, &data, &mut out).unwrap_err();
    assert_eq!((e.kind, e.offset), ("bad-size", 0));
    let r = p.parse(C, &data, &mut out).unwrap();
    assert_eq!(r.consumed, data.len());
    assert_eq!(p.low_water(C), 16);
}

#[test]
fn caps_too_large_kept_and_pending() {
    let mut out = Vec::new();
    let big = req(
        ApiKey::Produce,
        9,
        1,
        &produce_req(1, Bytes::from(vec![0u8; 1000])),
    );
    let mut p = KafkaParser::new(
        KafkaConfig {
            max_message: 4000,
            max_message_kept: 100,
            max_pending: 2,
            ..KafkaConfig::default()
        },
        [1000, 2000],
    );
    feed(&mut p, C, &big, 64, &mut out);
    assert!(out.is_empty());
    let huge = {
        let mut v = 5000u32.to_be_bytes().to_vec();
        v.extend(vec![0u8; 5000]);
        v
    };
    feed(&mut p, C, &huge, 700, &mut out);
    assert!(
        matches!(&out[0], Message::Event(e) if e.kind == "too-large" && e.offset == 1000 + big.len() as u64)
    );
    for corr in 2..4 {
        feed(
            &mut p,
            C,
            &req(ApiKey::Heartbeat, 4, corr, &HeartbeatRequest::default()),
            usize::MAX,
            &mut out,
        );
    }
    assert!(matches!(&out[1], Message::Event(e) if e.kind == "pending-capped"));
    let x = exchanges(&out)[0];
    let r = x.request.as_ref().unwrap();
    assert_eq!(
        (r.start, r.correlation_id, r.client_id.as_deref()),
        (1000, 1, Some("cli"))
    );
    assert_eq!(
        r.error.as_deref(),
        Some(&format!("too large to decode ({} bytes)", big.len() - 4)[..])
    );
    assert!(x.response.is_none());
    assert_eq!(p.counters().too_large, 1);
    assert_eq!(p.counters().pending_capped, 1);
}

#[test]
fn probe() {
    let hb = req(ApiKey::Heartbeat, 4, 1, &HeartbeatRequest::default());
    let pi = |d: &[u8]| {
        KafkaParser::probe(&ProbeInput {
            data: d,
            src_port: 40000,
            dst_port: 9092,
        })
    };
    let p = pi(&hb);
    assert_eq!(
        (p.verdict, p.sender),
        (Verdict::Certain, Some(ks_proto::Role::Client))
    );
    assert_eq!(pi(b"GET / HTTP/1.1\r\n").verdict, Verdict::NotMine);
    assert_eq!(pi(&[0x16, 3, 1, 0, 0xa5]).verdict, Verdict::NotMine);
    assert_eq!(pi(&[0, 0]).verdict, Verdict::Unsure);
    assert_eq!(pi(&[0, 0, 0, 4, 0, 0, 0, 1]).verdict, Verdict::Unsure);
}

fn conversation() -> (Vec<u8>, Vec<u8>) {
    let mut c = req(
        ApiKey::Produce,
        9,
        1,
        &produce_req(1, batch(Compression::Gzip)),
    );
    c.extend(req(ApiKey::Heartbeat, 4, 2, &HeartbeatRequest::default()));
    c.extend(req(
        ApiKey::ApiVersions,
        3,
        3,
        &ApiVersionsRequest::default(),
    ));
    let mut s = resp(ApiKey::Heartbeat, 4, 2, &HeartbeatResponse::default());
    s.extend(resp(ApiKey::Produce, 9, 1, &ProduceResponse::default()));
    s.extend(resp(
        ApiKey::ApiVersions,
        3,
        3,
        &ApiVersionsResponse::default(),
    ));
    (c, s)
}

fn run(c: &[u8], s: &[u8], chunk: usize) -> Vec<Message> {
    let mut p = parser();
    let mut out = Vec::new();
    feed(&mut p, C, c, chunk, &mut out);
    feed(&mut p, S, s, chunk, &mut out);
    p.end(C, &mut out);
    p.end(S, &mut out);
    out
}

proptest! {
    #[test]
    fn chunking_does_not_change_result(chunk in 1usize..64) {
        let (c, s) = conversation();
        let whole = run(&c, &s, usize::MAX);
        prop_assert_eq!(exchanges(&whole).len(), 3);
        prop_assert_eq!(run(&c, &s, 1), whole.clone());
        prop_assert_eq!(run(&c, &s, chunk), whole);
    }

    #[test]
    fn garbage_never_panics(c in proptest::collection::vec(any::<u8>(), 0..512),
                            s in proptest::collection::vec(any::<u8>(), 0..512),
                            chunk in 1usize..40, gap in 0u64..10) {
        let mut p = parser();
        let mut out = Vec::new();
        feed(&mut p, C, &c, chunk, &mut out);
        p.gap(C, gap, &mut out);
        feed(&mut p, S, &s, chunk, &mut out);
        feed(&mut p, C, &c, chunk, &mut out);
        p.end(C, &mut out);
        p.end(S, &mut out);
    }

    #[test]
    fn mutated_conversation_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), chunk in 1usize..64) {
        let (mut c, mut s) = conversation();
        for (i, b) in flips {
            let n = c.len();
            c[i % n] ^= b;
            let m = s.len();
            s[i % m] ^= b.rotate_left(3);
        }
        let _ = run(&c, &s, chunk);
    }
}
