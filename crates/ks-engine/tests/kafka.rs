//! Kafka entries of `testdata/pcap/kafka/ks_kafka_clients.pcap`, checked against what
//! `testdata/captures/kafka_demo.py` (kafka-python 3.0 against a Tansu 0.6 broker) did
//! and printed. tshark 4.0 knows too few of the versions kafka-python 3.0 speaks to
//! check the topics, error codes and records of this capture (conformance.rs compares
//! the API keys, versions and correlation ids with it), so this is their reference.

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, Output, Request, Response};
use ks_proto_kafka::{KafkaRequest, KafkaResponse, RecordBatchInfo};
use std::path::Path;

fn entries() -> Vec<Entry> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("../../testdata/pcap/kafka/ks_kafka_clients.pcap");
    Dissector::new(FileSource::open(path).unwrap(), EngineConfig::default())
        .filter_map(|o| match o.unwrap() {
            Output::Entry(e) => Some(*e),
            Output::Flow(_) => None,
        })
        .collect()
}

fn req(e: &Entry) -> Option<&KafkaRequest> {
    match &e.request {
        Some(Request::Kafka(r)) => Some(r),
        _ => None,
    }
}

fn resp(e: &Entry) -> Option<&KafkaResponse> {
    match &e.response {
        Some(Response::Kafka(r)) => Some(r),
        _ => None,
    }
}

/// Requests of one API, in capture order, with their responses.
fn calls<'a>(es: &'a [Entry], api: &str) -> Vec<(&'a KafkaRequest, Option<&'a KafkaResponse>)> {
    es.iter()
        .filter_map(|e| Some((req(e)?, resp(e))))
        .filter(|(r, _)| r.api_name == api)
        .collect()
}

fn topic_names(r: &KafkaRequest) -> Vec<&str> {
    r.topics.iter().map(|t| t.name.as_str()).collect()
}

/// (key size, value size, header names) of every record listed.
fn records(batches: &[RecordBatchInfo]) -> Vec<(Option<u32>, Option<u32>, Vec<String>)> {
    batches
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| (r.key_size, r.value_size, r.headers.clone()))
        .collect()
}

#[test]
fn every_entry_is_kafka_and_decoded() {
    let es = entries();
    assert_eq!(es.len(), 54);
    for e in &es {
        assert_eq!(e.protocol, "kafka");
        // One entry is flagged: the broker's answer to the acks=0 Produce.
        match &e.error {
            None => {}
            Some(err) => assert_eq!(err.kind, "unexpected-response", "{}", e.summary),
        }
    }
    assert_eq!(es.iter().filter(|e| e.error.is_some()).count(), 1);
}

#[test]
fn admin_creates_twice_then_deletes() {
    let es = entries();
    let create = calls(&es, "CreateTopics");
    let got: Vec<(Vec<&str>, Vec<i16>)> = create
        .iter()
        .map(|(r, s)| {
            let codes = s.unwrap().errors.iter().map(|e| e.code).collect();
            (topic_names(r), codes)
        })
        .collect();
    // orders, orders again ("create again: TopicAlreadyExistsError"), codecs.
    assert_eq!(
        got,
        [
            (vec!["orders"], vec![]),
            (vec!["orders"], vec![36]),
            (vec!["codecs"], vec![])
        ]
    );
    assert_eq!(
        create[1].1.unwrap().errors[0].name.as_deref(),
        Some("TOPIC_ALREADY_EXISTS")
    );
    let delete = calls(&es, "DeleteTopics");
    assert_eq!(delete.len(), 1);
    assert_eq!(topic_names(delete[0].0), ["orders", "codecs"]);
    assert!(delete[0].1.unwrap().errors.is_empty());
}

#[test]
fn produced_records_match_the_script() {
    let es = entries();
    let produce = calls(&es, "Produce");
    // acks=all: 5 orders (keys customer-N, two headers, gzip when it pays), then one
    // batch per codec; acks=0: two records without key.
    let orders: Vec<_> = produce
        .iter()
        .filter(|(r, _)| r.acks == Some(-1) && topic_names(r) == ["orders"])
        .collect();
    assert_eq!(orders.len(), 1);
    let value = |i: usize| format!("{{\"order\": {i}, \"item\": \"book\", \"qty\": {}}}", i + 1);
    let recs = records(&orders[0].0.records);
    assert_eq!(recs.len(), 5);
    for (k, v, h) in &recs {
        assert_eq!(*k, Some("customer-0".len() as u32));
        assert_eq!(*v, Some(value(0).len() as u32));
        assert_eq!(h, &["trace-id", "source"]);
    }
    assert!(orders[0].0.records.iter().any(|b| b.compression == "gzip"));
    let codecs: Vec<(String, usize, Option<u32>)> = produce
        .iter()
        .filter(|(r, _)| topic_names(r) == ["codecs"])
        .map(|(r, _)| {
            let b = &r.records[0];
            (
                b.compression.clone(),
                b.records.len(),
                b.records[0].value_size,
            )
        })
        .collect();
    let len = |c: &str| Some(format!("compressed with {c}, record 0").len() as u32);
    assert_eq!(
        codecs,
        [
            ("snappy".to_string(), 3, len("snappy")),
            ("lz4".to_string(), 3, len("lz4")),
            ("zstd".to_string(), 3, len("zstd"))
        ]
    );
    // Every acks=all Produce was answered with no error.
    for (r, s) in produce.iter().filter(|(r, _)| r.acks == Some(-1)) {
        let s = s.unwrap_or_else(|| panic!("no response to {r:?}"));
        assert!(s.errors.is_empty() && s.error.is_none());
    }
    // The acks=0 one is a one-way entry; Tansu answers it anyway.
    let one_way: Vec<_> = es
        .iter()
        .filter(|e| req(e).is_some_and(|r| r.acks == Some(0)))
        .collect();
    assert_eq!(one_way.len(), 1);
    assert!(one_way[0].response.is_none());
    assert_eq!(
        records(&req(one_way[0]).unwrap().records),
        [(None, Some(8), vec![]), (None, Some(8), vec![])]
    );
    let answer = es.iter().find(|e| e.error.is_some()).unwrap();
    assert_eq!(answer.stream, one_way[0].stream);
    assert_eq!(
        resp(answer).unwrap().correlation_id,
        req(one_way[0]).unwrap().correlation_id
    );
}

#[test]
fn consumer_group_and_fetch() {
    let es = entries();
    let join = calls(&es, "JoinGroup");
    let codes: Vec<Option<i16>> = join.iter().map(|(_, s)| s.unwrap().error_code).collect();
    // KIP-394: the first JoinGroup gets MEMBER_ID_REQUIRED and a member id to retry with.
    assert_eq!(codes, [Some(79), Some(0)]);
    assert_eq!(
        join[0].1.unwrap().error_name.as_deref(),
        Some("MEMBER_ID_REQUIRED")
    );
    for api in ["JoinGroup", "SyncGroup", "OffsetCommit", "LeaveGroup"] {
        for (r, _) in calls(&es, api) {
            assert_eq!(r.group_id.as_deref(), Some("ks-demo"), "{api}");
        }
    }
    // "consumed 16": the 7 records of orders and the 9 of codecs, in one Fetch.
    let fetch = calls(&es, "Fetch");
    assert_eq!(fetch.len(), 1);
    let f = fetch[0].1.unwrap();
    assert!(f.body_decoded && f.error.is_none(), "{f:?}");
    let count = |t: &str| -> usize {
        f.records
            .iter()
            .filter(|b| b.topic == t)
            .map(|b| b.records.len())
            .sum()
    };
    assert_eq!((count("orders"), count("codecs")), (7, 9));
    let mut codecs: Vec<&str> = f.records.iter().map(|b| b.compression.as_str()).collect();
    codecs.sort();
    codecs.dedup();
    assert_eq!(codecs, ["gzip", "lz4", "none", "snappy", "zstd"]);
    let commit = calls(&es, "OffsetCommit");
    assert_eq!(commit.len(), 1);
    assert_eq!(topic_names(commit[0].0), ["orders", "codecs"]);
}
