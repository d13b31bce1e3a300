//! One DNS message as ks shows it, decoded with hickory-proto.

use hickory_proto::op::{Edns, Message as HMessage, MessageType};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use serde::Serialize;

use crate::DnsConfig;
use ks_proto::hex;

/// A DNS message (query or response).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DnsMessage {
    /// Absolute offset of the first byte (the length prefix over TCP).
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// Transaction id.
    pub id: u16,
    /// QR bit: this is a response.
    pub response: bool,
    /// `QUERY`, `IQUERY`, `STATUS`, `NOTIFY`, `UPDATE`, `DSO` or `OPCODE<n>`.
    pub opcode: String,
    /// Header flags that are set: `aa`, `tc`, `rd`, `ra`, `ad`, `cd` (dig's names).
    pub flags: Vec<&'static str>,
    /// Response code mnemonic (`NOERROR`, `NXDOMAIN`, ...), with the EDNS extended bits.
    pub rcode: String,
    /// Response code number (12 bits with EDNS).
    pub rcode_value: u16,
    /// Questions.
    pub questions: Vec<Question>,
    /// Answer records.
    pub answers: Vec<Rr>,
    /// Authority records.
    pub authority: Vec<Rr>,
    /// Additional records (the EDNS OPT record is in `edns`).
    pub additional: Vec<Rr>,
    /// The EDNS OPT pseudo-record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edns: Option<EdnsInfo>,
    /// Section counts from the header: questions, answers, authority, additional.
    pub counts: [u16; 4],
    /// A query sent again with the same id and question while the first one was
    /// unanswered (a client retry): the response pairs with the first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retransmission: bool,
    /// Some records were not listed (`max_records` per section).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub records_capped: bool,
    /// Why the sections could not be decoded (the header fields are still right).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Question {
    /// Name, without the final dot (`.` for the root).
    pub name: String,
    /// Type mnemonic (`A`, `AAAA`, ... or `TYPE<n>`).
    #[serde(rename = "type")]
    pub qtype: String,
    /// Type number.
    pub type_value: u16,
    /// Class mnemonic (`IN`, `CH`, ... or `CLASS<n>`).
    pub class: String,
    /// mDNS: the unicast-response bit of the class field.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unicast_response: bool,
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rr {
    /// Owner name, without the final dot.
    pub name: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Type number.
    pub type_value: u16,
    /// Class mnemonic.
    pub class: String,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data in presentation format (`93.184.216.34`, `10 mail.example.com.`);
    /// types hickory-proto does not know as RFC 3597 `\# <len> <hex>`.
    pub data: String,
}

/// The EDNS OPT pseudo-record (RFC 6891).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EdnsInfo {
    /// UDP payload size the sender can take.
    pub payload_size: u16,
    /// EDNS version.
    pub version: u8,
    /// DO bit (DNSSEC answers wanted).
    pub dnssec_ok: bool,
    /// Options: code and data.
    pub options: Vec<EdnsOpt>,
}

/// One EDNS option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EdnsOpt {
    /// Option code.
    pub code: u16,
    /// Name when known (`NSID`, `ECS`, `COOKIE`, `KEEPALIVE`, `PADDING`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// The option data, hex.
    pub data: String,
}

/// Reads the 12-byte header alone: (id, flags word, counts).
pub(crate) fn header(b: &[u8]) -> Option<(u16, u16, [u16; 4])> {
    let w = |i: usize| Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
    Some((w(0)?, w(2)?, [w(4)?, w(6)?, w(8)?, w(10)?]))
}

/// Decodes one message (`b` is exactly the message). A message hickory-proto cannot
/// decode still gives its header fields, with `error` saying why.
pub fn decode(b: &[u8], cfg: &DnsConfig) -> Option<DnsMessage> {
    let (id, word, counts) = header(b)?;
    let mut m = DnsMessage {
        id,
        response: word & 0x8000 != 0,
        opcode: opcode_name((word >> 11) & 0xf),
        flags: flag_names(word),
        rcode_value: word & 0xf,
        counts,
        ..DnsMessage::default()
    };
    match HMessage::from_vec(b) {
        Ok(h) => fill(&mut m, h, cfg),
        Err(e) => m.error = Some(format!("sections not decoded: {e}")),
    }
    m.rcode = rcode_name(m.rcode_value);
    Some(m)
}

fn fill(m: &mut DnsMessage, h: HMessage, cfg: &DnsConfig) {
    debug_assert_eq!(h.metadata.message_type == MessageType::Response, m.response);
    let cap = cfg.max_records;
    m.records_capped = h.queries.len() > cap
        || h.answers.len() > cap
        || h.authorities.len() > cap
        || h.additionals.len() > cap;
    m.questions = h
        .queries
        .iter()
        .take(cap)
        .map(|q| Question {
            name: name(&q.name),
            qtype: type_name(q.query_type),
            type_value: u16::from(q.query_type),
            class: class_name(q.query_class),
            unicast_response: q.mdns_unicast_response,
        })
        .collect();
    let rrs = |v: &[Record]| v.iter().take(cap).map(rr).collect::<Vec<_>>();
    m.answers = rrs(&h.answers);
    m.authority = rrs(&h.authorities);
    m.additional = rrs(&h.additionals);
    if let Some(e) = &h.edns {
        m.rcode_value |= u16::from(e.rcode_high()) << 4;
        m.edns = Some(edns(e));
    }
}

/// SVCB / HTTPS in RFC 9460 presentation form: `1 . alpn=h2,h3 port=443`.
/// hickory-proto's own Display ends every list (alpn, mandatory, address hints) with a
/// comma and writes `no-default-alpn=`; both are invalid presentation syntax.
fn svcb(v: &hickory_proto::rr::rdata::SVCB) -> String {
    let mut s = format!("{} {}", v.svc_priority, name(&v.target_name));
    for (key, value) in &v.svc_params {
        let value = value.to_string();
        let value = value.trim_end_matches(',');
        if value.is_empty() {
            s.push_str(&format!(" {key}"));
        } else {
            s.push_str(&format!(" {key}={value}"));
        }
    }
    s
}

fn rr(r: &Record) -> Rr {
    let t = r.record_type();
    let data = match &r.data {
        RData::Unknown { rdata, .. } => rfc3597(&rdata.anything),
        RData::SVCB(v) => svcb(v),
        RData::HTTPS(v) => svcb(&v.0),
        d => d.to_string(),
    };
    Rr {
        name: name(&r.name),
        rtype: type_name(t),
        type_value: u16::from(t),
        class: class_name(r.dns_class),
        ttl: r.ttl,
        data,
    }
}

fn edns(e: &Edns) -> EdnsInfo {
    EdnsInfo {
        payload_size: e.max_payload(),
        version: e.version(),
        dnssec_ok: e.flags().dnssec_ok,
        options: e
            .options()
            .options
            .iter()
            .map(|(code, opt)| {
                let code = u16::from(*code);
                EdnsOpt {
                    code,
                    name: option_name(code),
                    data: Vec::<u8>::try_from(opt)
                        .map(|v| hex(&v))
                        .unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// RFC 3597 generic presentation: `\# <length> <hex>`.
fn rfc3597(b: &[u8]) -> String {
    format!("\\# {} {}", b.len(), hex(b))
}

fn name(n: &hickory_proto::rr::Name) -> String {
    if n.is_root() {
        return ".".to_string();
    }
    let mut s = n.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s
}

fn type_name(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

fn class_name(c: DNSClass) -> String {
    match c {
        DNSClass::IN => "IN".into(),
        DNSClass::CH => "CH".into(),
        DNSClass::HS => "HS".into(),
        DNSClass::NONE => "NONE".into(),
        DNSClass::ANY => "ANY".into(),
        c => format!("CLASS{}", u16::from(c)),
    }
}

fn opcode_name(op: u16) -> String {
    match op {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        6 => "DSO".into(),
        n => format!("OPCODE{n}"),
    }
}

fn flag_names(w: u16) -> Vec<&'static str> {
    [
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0020, "ad"),
        (0x0010, "cd"),
    ]
    .iter()
    .filter(|(bit, _)| w & bit != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// IANA DNS RCODE mnemonics.
pub fn rcode_name(c: u16) -> String {
    let s = match c {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        n => return format!("RCODE{n}"),
    };
    s.to_string()
}

fn option_name(code: u16) -> Option<&'static str> {
    Some(match code {
        3 => "NSID",
        5 => "DAU",
        6 => "DHU",
        7 => "N3U",
        8 => "ECS",
        9 => "EXPIRE",
        10 => "COOKIE",
        11 => "KEEPALIVE",
        12 => "PADDING",
        13 => "CHAIN",
        14 => "KEY-TAG",
        15 => "EDE",
        _ => return None,
    })
}
