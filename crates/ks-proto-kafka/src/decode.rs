//! Header decoding and the extraction of shown fields from kafka-protocol bodies.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};

use crate::records::{decode_batches, RecLimits, RecordBatchInfo};
use crate::{KafkaConfig, KafkaError, TopicInfo};

/// Request header fields.
pub(crate) struct ReqHeader {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub header_version: i16,
    /// Bytes of the header (body starts here).
    pub len: usize,
}

pub(crate) fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn uvarint(b: &[u8], p: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let x = *b.get(*p)?;
        *p += 1;
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Skips a tagged-field section (flexible versions).
fn skip_tags(b: &[u8], p: &mut usize) -> Option<()> {
    let n = uvarint(b, p)?;
    for _ in 0..n {
        uvarint(b, p)?;
        let size = usize::try_from(uvarint(b, p)?).ok()?;
        *p = p.checked_add(size).filter(|&e| e <= b.len())?;
    }
    Some(())
}

/// The known API, if `key` is one and `version` is in its range.
pub(crate) fn known(key: i16, version: i16) -> Option<ApiKey> {
    let k = ApiKey::try_from(key).ok()?;
    let r = k.valid_versions();
    (version >= r.min && version <= r.max).then_some(k)
}

pub(crate) fn api_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(()) => format!("Unknown({key})"),
    }
}

/// Parses a request header from `b` (the message after the size prefix, possibly
/// only its beginning). Unknown APIs are read as header v1 (client id, no tags),
/// which every client sends for them.
pub(crate) fn request_header(b: &[u8]) -> Result<ReqHeader, &'static str> {
    let api_key = be_i16(b, 0).ok_or("cut request header")?;
    let api_version = be_i16(b, 2).ok_or("cut request header")?;
    let correlation_id = be_i32(b, 4).ok_or("cut request header")?;
    let header_version = match ApiKey::try_from(api_key) {
        Ok(k) => k.request_header_version(api_version),
        Err(()) => 1,
    };
    let mut p = 8;
    let mut client_id = None;
    if header_version >= 1 {
        let n = be_i16(b, 8).ok_or("cut request header")?;
        p = 10;
        if n >= 0 {
            let s = b
                .get(p..p + n as usize)
                .ok_or("client id beyond the message")?;
            client_id = Some(String::from_utf8_lossy(s).into_owned());
            p += n as usize;
        } else if n != -1 {
            return Err("negative client id length");
        }
    }
    if header_version >= 2 {
        skip_tags(b, &mut p).ok_or("bad request header tagged fields")?;
    }
    Ok(ReqHeader {
        api_key,
        api_version,
        correlation_id,
        client_id,
        header_version,
        len: p,
    })
}

/// Length of a response header of `version` at the start of `b`.
pub(crate) fn response_header_len(b: &[u8], version: i16) -> Result<usize, &'static str> {
    let mut p = 4;
    if b.len() < 4 {
        return Err("cut response header");
    }
    if version >= 1 {
        skip_tags(b, &mut p).ok_or("bad response header tagged fields")?;
    }
    Ok(p)
}

/// `UNKNOWN_TOPIC_OR_PARTITION` from kafka-protocol's `UnknownTopicOrPartition`.
pub(crate) fn error_name(code: i16) -> Option<String> {
    let e = ResponseError::try_from_code(code)?;
    if let ResponseError::Unknown(_) = e {
        return None;
    }
    let camel = format!("{e:?}");
    let mut s = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_uppercase());
    }
    Some(s)
}

const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

fn tname(name: &str, id: impl std::fmt::Display) -> String {
    if !name.is_empty() {
        return name.to_string();
    }
    let id = id.to_string();
    if id == NIL_UUID {
        String::new()
    } else {
        id
    }
}

/// Collects the shown fields, respecting the caps.
pub(crate) struct Acc<'c> {
    cfg: &'c KafkaConfig,
    pub topics: Vec<TopicInfo>,
    pub errors: Vec<KafkaError>,
    pub records: Vec<RecordBatchInfo>,
    pub budget: usize,
}

impl<'c> Acc<'c> {
    pub fn new(cfg: &'c KafkaConfig) -> Self {
        Acc {
            cfg,
            topics: Vec::new(),
            errors: Vec::new(),
            records: Vec::new(),
            budget: cfg.max_decoded_bytes,
        }
    }
    fn topic(&mut self, name: String, parts: impl IntoIterator<Item = i32>) {
        if self.topics.len() < self.cfg.max_topics {
            let partitions = parts.into_iter().take(self.cfg.max_partitions).collect();
            self.topics.push(TopicInfo { name, partitions });
        }
    }
    fn err(&mut self, topic: Option<&str>, partition: Option<i32>, code: i16) {
        if code != 0 && self.errors.len() < self.cfg.max_errors {
            self.errors.push(KafkaError {
                topic: topic.map(str::to_string),
                partition,
                code,
                name: error_name(code),
            });
        }
    }
    fn records(&mut self, topic: &str, partition: i32, data: Option<&Bytes>) {
        if let Some(d) = data {
            let lim = RecLimits {
                max_batches: self.cfg.max_batches,
                max_records: self.cfg.max_records,
                max_decoded_bytes: self.cfg.max_decoded_bytes,
            };
            decode_batches(
                topic,
                partition,
                d,
                lim,
                &mut self.budget,
                &mut self.records,
            );
        }
    }
}

/// Request body fields beyond the header.
#[derive(Default)]
pub(crate) struct ReqBody {
    pub acks: Option<i16>,
    pub group_id: Option<String>,
}

pub(crate) fn request_body(
    key: ApiKey,
    version: i16,
    body: &[u8],
    acc: &mut Acc<'_>,
) -> Result<ReqBody, String> {
    let mut b = Bytes::copy_from_slice(body);
    let req = RequestKind::decode(key, &mut b, version).map_err(|e| format!("{e:#}"))?;
    let mut out = ReqBody::default();
    match &req {
        RequestKind::Produce(r) => {
            out.acks = Some(r.acks);
            for t in &r.topic_data {
                let name = tname(&t.name, t.topic_id);
                acc.topic(name.clone(), t.partition_data.iter().map(|p| p.index));
                for p in &t.partition_data {
                    acc.records(&name, p.index, p.records.as_ref());
                }
            }
        }
        RequestKind::Fetch(r) => {
            for t in &r.topics {
                acc.topic(
                    tname(&t.topic, t.topic_id),
                    t.partitions.iter().map(|p| p.partition),
                );
            }
        }
        RequestKind::ListOffsets(r) => {
            for t in &r.topics {
                acc.topic(
                    t.name.to_string(),
                    t.partitions.iter().map(|p| p.partition_index),
                );
            }
        }
        RequestKind::Metadata(r) => {
            for t in r.topics.iter().flatten() {
                let n = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                acc.topic(tname(&n, t.topic_id), []);
            }
        }
        RequestKind::OffsetCommit(r) => {
            out.group_id = Some(r.group_id.to_string());
            for t in &r.topics {
                acc.topic(
                    tname(&t.name, t.topic_id),
                    t.partitions.iter().map(|p| p.partition_index),
                );
            }
        }
        RequestKind::OffsetFetch(r) => {
            if !r.group_id.is_empty() {
                out.group_id = Some(r.group_id.to_string());
            }
            for t in r.topics.iter().flatten() {
                acc.topic(t.name.to_string(), t.partition_indexes.iter().copied());
            }
            for g in &r.groups {
                if out.group_id.is_none() {
                    out.group_id = Some(g.group_id.to_string());
                }
                for t in g.topics.iter().flatten() {
                    acc.topic(
                        tname(&t.name, t.topic_id),
                        t.partition_indexes.iter().copied(),
                    );
                }
            }
        }
        RequestKind::CreateTopics(r) => {
            for t in &r.topics {
                acc.topic(t.name.to_string(), []);
            }
        }
        RequestKind::DeleteTopics(r) => {
            for n in &r.topic_names {
                acc.topic(n.to_string(), []);
            }
            for t in &r.topics {
                let n = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                acc.topic(tname(&n, t.topic_id), []);
            }
        }
        RequestKind::JoinGroup(r) => out.group_id = Some(r.group_id.to_string()),
        RequestKind::SyncGroup(r) => out.group_id = Some(r.group_id.to_string()),
        RequestKind::Heartbeat(r) => out.group_id = Some(r.group_id.to_string()),
        RequestKind::LeaveGroup(r) => out.group_id = Some(r.group_id.to_string()),
        _ => {}
    }
    Ok(out)
}

/// Response body fields.
#[derive(Default)]
pub(crate) struct RespBody {
    pub error_code: Option<i16>,
    pub throttle_time_ms: Option<i32>,
}

pub(crate) fn response_body(
    key: ApiKey,
    version: i16,
    body: &[u8],
    acc: &mut Acc<'_>,
) -> Result<RespBody, String> {
    let mut b = Bytes::copy_from_slice(body);
    let resp = ResponseKind::decode(key, &mut b, version).map_err(|e| format!("{e:#}"))?;
    let mut o = RespBody::default();
    macro_rules! top {
        ($r:expr, err) => {
            o.error_code = Some($r.error_code)
        };
        ($r:expr, err, thr) => {{
            o.error_code = Some($r.error_code);
            o.throttle_time_ms = Some($r.throttle_time_ms);
        }};
    }
    match &resp {
        ResponseKind::Produce(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            for t in &r.responses {
                let name = tname(&t.name, t.topic_id);
                acc.topic(name.clone(), t.partition_responses.iter().map(|p| p.index));
                for p in &t.partition_responses {
                    acc.err(Some(&name), Some(p.index), p.error_code);
                }
            }
        }
        ResponseKind::Fetch(r) => {
            top!(r, err, thr);
            for t in &r.responses {
                let name = tname(&t.topic, t.topic_id);
                acc.topic(name.clone(), t.partitions.iter().map(|p| p.partition_index));
                for p in &t.partitions {
                    acc.err(Some(&name), Some(p.partition_index), p.error_code);
                    acc.records(&name, p.partition_index, p.records.as_ref());
                }
            }
        }
        ResponseKind::ListOffsets(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            for t in &r.topics {
                acc.topic(
                    t.name.to_string(),
                    t.partitions.iter().map(|p| p.partition_index),
                );
                for p in &t.partitions {
                    acc.err(Some(&t.name), Some(p.partition_index), p.error_code);
                }
            }
        }
        ResponseKind::Metadata(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            if version >= 13 {
                o.error_code = Some(r.error_code);
            }
            for t in &r.topics {
                let n = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                let name = tname(&n, t.topic_id);
                acc.topic(name.clone(), t.partitions.iter().map(|p| p.partition_index));
                acc.err(Some(&name), None, t.error_code);
                for p in &t.partitions {
                    acc.err(Some(&name), Some(p.partition_index), p.error_code);
                }
            }
        }
        ResponseKind::OffsetCommit(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            for t in &r.topics {
                let name = tname(&t.name, t.topic_id);
                acc.topic(name.clone(), t.partitions.iter().map(|p| p.partition_index));
                for p in &t.partitions {
                    acc.err(Some(&name), Some(p.partition_index), p.error_code);
                }
            }
        }
        ResponseKind::OffsetFetch(r) => {
            top!(r, err, thr);
            for t in &r.topics {
                acc.topic(
                    t.name.to_string(),
                    t.partitions.iter().map(|p| p.partition_index),
                );
                for p in &t.partitions {
                    acc.err(Some(&t.name), Some(p.partition_index), p.error_code);
                }
            }
            for g in &r.groups {
                acc.err(None, None, g.error_code);
                for t in &g.topics {
                    let name = tname(&t.name, t.topic_id);
                    acc.topic(name.clone(), t.partitions.iter().map(|p| p.partition_index));
                    for p in &t.partitions {
                        acc.err(Some(&name), Some(p.partition_index), p.error_code);
                    }
                }
            }
        }
        ResponseKind::CreateTopics(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            for t in &r.topics {
                acc.topic(t.name.to_string(), []);
                acc.err(Some(&t.name), None, t.error_code);
            }
        }
        ResponseKind::DeleteTopics(r) => {
            o.throttle_time_ms = Some(r.throttle_time_ms);
            for t in &r.responses {
                let n = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                let name = tname(&n, t.topic_id);
                acc.topic(name.clone(), []);
                acc.err(Some(&name), None, t.error_code);
            }
        }
        ResponseKind::ApiVersions(r) => top!(r, err, thr),
        ResponseKind::FindCoordinator(r) => {
            top!(r, err, thr);
            for c in &r.coordinators {
                acc.err(Some(&c.key), None, c.error_code);
            }
        }
        ResponseKind::JoinGroup(r) => top!(r, err, thr),
        ResponseKind::SyncGroup(r) => top!(r, err, thr),
        ResponseKind::Heartbeat(r) => top!(r, err, thr),
        ResponseKind::LeaveGroup(r) => top!(r, err, thr),
        ResponseKind::ListGroups(r) => top!(r, err, thr),
        ResponseKind::InitProducerId(r) => top!(r, err, thr),
        ResponseKind::AddOffsetsToTxn(r) => top!(r, err, thr),
        ResponseKind::EndTxn(r) => top!(r, err, thr),
        ResponseKind::SaslHandshake(r) => top!(r, err),
        ResponseKind::SaslAuthenticate(r) => top!(r, err),
        _ => {}
    }
    Ok(o)
}
