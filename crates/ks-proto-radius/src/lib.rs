//! RADIUS dissector for ks (RFC 2865, 2866, 2869, 5176): packets over UDP, one per
//! datagram, attributes named and rendered, requests paired with their answers by
//! identifier on the flow.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_radius::{Message, RadiusParser};
//!
//! // Access-Request id 7 with User-Name "bob" and a 16-byte User-Password, then Access-Accept.
//! let mut req = vec![1, 7, 0, 43];
//! req.extend([0xaa; 16]);
//! req.extend([1, 5, b'b', b'o', b'b', 2, 18]);
//! req.extend([0x55; 16]);
//! let mut acc = vec![2, 7, 0, 20];
//! acc.extend([0xbb; 16]);
//! let mut p = RadiusParser::new([0, 0]);
//! let mut out = Vec::new();
//! p.parse(Direction::ToServer, &req, &mut out).unwrap();
//! p.parse(Direction::ToClient, &acc, &mut out).unwrap();
//! let Message::Exchange(x) = &out[0] else { panic!() };
//! assert_eq!(x.summary(), "Access-Request id=7 → Access-Accept user=bob");
//! // Passwords are never shown, only their length.
//! assert_eq!(x.request.as_ref().unwrap().attributes[1].value, "<hidden, 16 bytes>");
//! ```
//!
//! Own parser rather than `radius-parser` 0.5 (docs/radius.md): that crate types 15
//! attributes, and one malformed attribute fails the whole packet; here every RFC
//! attribute has a name and the attributes before a bad one are kept.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dict;

pub use dict::code_name;

use dict::Kind;
use ks_proto::{
    hex, Direction, ParseError, Parsed, Probe, ProbeInput, Protocol, Role, StreamParser, Verdict,
};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Attributes listed per packet (a packet is at most 4096 bytes, so at most ~2000).
pub const MAX_ATTRIBUTES: usize = 256;
/// Requests awaiting their answer on one flow.
pub const MAX_PENDING: usize = 256;

/// A RADIUS packet.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RadiusPacket {
    /// Absolute offset of the first byte (datagram bytes counted per direction).
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// Code number.
    pub code: u8,
    /// Code name (`Access-Request`, ...; `Code-<n>` when unknown).
    pub code_name: String,
    /// Identifier (pairs a request with its answer).
    pub identifier: u8,
    /// Length from the header.
    pub length: u16,
    /// Authenticator, hex.
    pub authenticator: String,
    /// Attributes in packet order.
    pub attributes: Vec<Attribute>,
    /// What could not be read (the header and the attributes before it are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A request sent again (same code, identifier and authenticator) while the first
    /// was unanswered: the answer pairs with the first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retransmission: bool,
}

/// One attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// Type number.
    #[serde(rename = "type")]
    pub atype: u8,
    /// Name from the RFC dictionaries (`Unknown` otherwise).
    pub name: &'static str,
    /// The value: text, a number (with its name for enumerated ones: `2 (Framed-User)`),
    /// an address, hex, or `<hidden, N bytes>` for passwords.
    pub value: String,
    /// Vendor-Specific: the vendor's SMI number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// Vendor-Specific: its sub-attributes, when the value follows RFC 2865's
    /// suggested format (type, length, value; named for Cisco and Microsoft).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vendor_attributes: Vec<VendorAttribute>,
}

/// One sub-attribute of a Vendor-Specific attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VendorAttribute {
    /// Vendor type number.
    #[serde(rename = "type")]
    pub vtype: u8,
    /// Name (`Cisco-AVPair`, `MS-CHAP2-Response`...; `Unknown` otherwise).
    pub name: &'static str,
    /// The value, rendered as attribute values are (keys hidden).
    pub value: String,
}

/// Sub-attributes listed per Vendor-Specific attribute.
pub const MAX_VENDOR_ATTRIBUTES: usize = 32;

/// A request and its answer (either may be missing).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// The request.
    pub request: Option<RadiusPacket>,
    /// The answer.
    pub response: Option<RadiusPacket>,
}

/// A packet that went the unexpected way: a request from the server side or an
/// answer from the client side of the flow (not paired, so that it keeps its direction).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWay {
    /// Direction it went.
    #[serde(skip)]
    pub dir: Direction,
    /// The packet.
    pub packet: RadiusPacket,
}

/// What the parser emits.
pub type Message = ks_proto::Paired<Exchange, OneWay>;

/// Something worth counting: `not-radius`, `pending-capped`.
pub type Event = ks_proto::ParserEvent;

/// Counters of one parser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadiusCounters {
    /// Packets read.
    pub packets: u64,
    /// Packets with a malformed attribute or a length that does not fit.
    pub malformed: u64,
    /// Datagrams too short for a header.
    pub not_radius: u64,
    /// Requests flushed unanswered by the pending cap.
    pub pending_capped: u64,
    /// Requests sent again while the first was unanswered.
    pub retransmissions: u64,
}

/// RADIUS parser for one UDP flow: each `parse` call is one datagram.
pub struct RadiusParser {
    offset: [u64; 2],
    pending: VecDeque<RadiusPacket>,
    counters: RadiusCounters,
    ended: [bool; 2],
}

impl RadiusParser {
    /// A parser; `start` is the absolute offset of the first byte per direction.
    pub fn new(start: [u64; 2]) -> Self {
        RadiusParser {
            offset: start,
            pending: VecDeque::new(),
            counters: RadiusCounters::default(),
            ended: [false; 2],
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> RadiusCounters {
        self.counters
    }

    fn packet(&mut self, dir: Direction, p: RadiusPacket, out: &mut Vec<Message>) {
        self.counters.packets += 1;
        self.counters.malformed += u64::from(p.error.is_some());
        if dict::is_request(p.code) != (dir == Direction::ToServer) {
            out.push(Message::OneWay(Box::new(OneWay { dir, packet: p })));
            return;
        }
        if dict::is_request(p.code) {
            let again = self.pending.iter().any(|q| {
                (q.code, q.identifier, &q.authenticator) == (p.code, p.identifier, &p.authenticator)
            });
            if again {
                self.counters.retransmissions += 1;
                let mut p = p;
                p.retransmission = true;
                out.push(exchange(Some(p), None));
                return;
            }
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    self.counters.pending_capped += 1;
                    out.push(Message::Event(Event {
                        kind: "pending-capped",
                        message: format!("request id {} flushed", old.identifier),
                        dir,
                        offset: p.start,
                    }));
                    out.push(exchange(Some(old), None));
                }
            }
            self.pending.push_back(p);
            return;
        }
        let i = self
            .pending
            .iter()
            .position(|q| q.identifier == p.identifier && dict::answers(q.code, p.code))
            .or_else(|| {
                self.pending
                    .iter()
                    .position(|q| q.identifier == p.identifier)
            });
        let q = i.and_then(|i| self.pending.remove(i));
        out.push(exchange(q, Some(p)));
    }
}

fn exchange(q: Option<RadiusPacket>, r: Option<RadiusPacket>) -> Message {
    Message::Exchange(Box::new(Exchange {
        request: q,
        response: r,
    }))
}

/// Decodes one packet (`b` is the datagram). `None` when shorter than a header.
pub fn decode(b: &[u8]) -> Option<RadiusPacket> {
    let head = b.get(..20)?;
    let length = u16::from_be_bytes([head[2], head[3]]);
    let mut p = RadiusPacket {
        code: head[0],
        code_name: code_name(head[0]).map_or_else(|| format!("Code-{}", head[0]), str::to_string),
        identifier: head[1],
        length,
        authenticator: hex(&head[4..20]),
        ..RadiusPacket::default()
    };
    // The header's length rules; bytes after it are padding (RFC 2865 3).
    let end = usize::from(length);
    if end < 20 || end > b.len() {
        p.error = Some(format!(
            "length {length} does not fit the {} bytes of the datagram",
            b.len()
        ));
    }
    let mut rest = &b[20..end.clamp(20, b.len())];
    while !rest.is_empty() {
        if p.attributes.len() == MAX_ATTRIBUTES {
            p.error
                .get_or_insert_with(|| format!("more than {MAX_ATTRIBUTES} attributes"));
            break;
        }
        let (t, len) = (rest[0], rest.get(1).copied().map_or(0, usize::from));
        if len < 2 || len > rest.len() {
            p.error
                .get_or_insert_with(|| format!("attribute {t} with length {len}"));
            break;
        }
        p.attributes.push(attribute(t, &rest[2..len]));
        rest = &rest[len..];
    }
    Some(p)
}

fn attribute(t: u8, v: &[u8]) -> Attribute {
    let (name, kind) = dict::attribute(t);
    let mut vendor_id = None;
    let mut vendor_attributes = Vec::new();
    if let (Kind::Vsa, Some(id)) = (kind, v.get(..4)) {
        let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        vendor_attributes = vendor_attrs(id, &v[4..]);
    }
    let value = render(t, kind, v, &mut vendor_id);
    Attribute {
        atype: t,
        name,
        value,
        vendor_id,
        vendor_attributes,
    }
}

/// RFC 2865 5.26's suggested layout — type, length (≥ 2), value — filling the whole
/// value exactly; otherwise (a vendor with its own layout) nothing is listed.
fn vendor_attrs(vendor: u32, mut b: &[u8]) -> Vec<VendorAttribute> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let len = b.get(1).map_or(0, |&l| usize::from(l));
        if len < 2 || len > b.len() || out.len() == MAX_VENDOR_ATTRIBUTES {
            return Vec::new();
        }
        let (name, kind) = dict::vendor_attribute(vendor, b[0]);
        let mut ignored = None;
        out.push(VendorAttribute {
            vtype: b[0],
            name,
            value: render(0, kind, &b[2..len], &mut ignored),
        });
        b = &b[len..];
    }
    out
}

/// An attribute value as text; `t` names enumerated values (0: none).
fn render(t: u8, kind: Kind, v: &[u8], vendor_id: &mut Option<u32>) -> String {
    match kind {
        Kind::Text => match std::str::from_utf8(v) {
            Ok(s) => s.to_string(),
            Err(_) => hex(v),
        },
        Kind::Int if v.len() == 4 => {
            let n = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
            match dict::int_value_name(t, n) {
                Some(name) => format!("{n} ({name})"),
                None => n.to_string(),
            }
        }
        Kind::Ipv4 if v.len() == 4 => Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string(),
        Kind::Ipv6 if v.len() == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(v);
            Ipv6Addr::from(a).to_string()
        }
        Kind::Ipv6Prefix if v.len() >= 2 && v.len() <= 18 => {
            let mut a = [0u8; 16];
            a[..v.len() - 2].copy_from_slice(&v[2..]);
            format!("{}/{}", Ipv6Addr::from(a), v[1])
        }
        Kind::Hidden => format!("<hidden, {} bytes>", v.len()),
        Kind::Vsa if v.len() >= 4 => {
            *vendor_id = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
            hex(&v[4..])
        }
        _ => hex(v),
    }
}

/// RADIUS and Dynamic Authorization ports (old and IANA ones).
const PORTS: [u16; 5] = [1812, 1813, 1645, 1646, 3799];

/// The first datagram of a UDP flow: a RADIUS packet? On the RADIUS ports a known code
/// and a length that fits are enough; elsewhere the length must equal the datagram's
/// and the attributes must walk exactly to its end.
pub fn probe_datagram(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let not = Probe {
        verdict: Verdict::NotMine,
        sender: None,
    };
    if d.len() < 20 || code_name(d[0]).is_none() {
        return not;
    }
    let len = usize::from(u16::from_be_bytes([d[2], d[3]]));
    if !(20..=4096).contains(&len) || len > d.len() {
        return not;
    }
    let on_port = PORTS.contains(&input.src_port) || PORTS.contains(&input.dst_port);
    if !on_port {
        if len != d.len() {
            return not;
        }
        let mut i = 20;
        while i < len {
            let l = usize::from(*d.get(i + 1).unwrap_or(&0));
            if l < 2 {
                return not;
            }
            i += l;
        }
        if i != len {
            return not;
        }
    }
    Probe {
        verdict: Verdict::Certain,
        sender: Some(if dict::is_request(d[0]) {
            Role::Client
        } else {
            Role::Server
        }),
    }
}

impl StreamParser for RadiusParser {
    type Message = Message;

    fn probe(input: &ProbeInput<'_>) -> Probe {
        probe_datagram(input)
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let start = self.offset[d];
        self.offset[d] += data.len() as u64;
        match decode(data) {
            Some(mut p) => {
                p.start = start;
                p.end = self.offset[d];
                self.packet(dir, p, out);
            }
            None => {
                self.counters.not_radius += 1;
                out.push(Message::Event(Event {
                    kind: "not-radius",
                    message: format!("{} bytes, no RADIUS header", data.len()),
                    dir,
                    offset: start,
                }));
            }
        }
        Ok(Parsed {
            consumed: data.len(),
            needed: 0,
        })
    }

    fn gap(&mut self, dir: Direction, len: u64, _out: &mut Vec<Message>) {
        self.offset[dir.index()] += len;
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<Message>) {
        self.ended[dir.index()] = true;
        if self.ended == [true, true] {
            while let Some(q) = self.pending.pop_front() {
                out.push(exchange(Some(q), None));
            }
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let d = dir.index();
        match dir {
            Direction::ToServer => self.pending.front().map_or(self.offset[d], |q| q.start),
            Direction::ToClient => self.offset[d],
        }
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}

impl RadiusPacket {
    /// `Access-Request id=7`.
    pub fn label(&self) -> String {
        format!("{} id={}", self.code_name, self.identifier)
    }

    /// The User-Name attribute, if any.
    pub fn user(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.atype == 1)
            .map(|a| a.value.as_str())
    }
}

impl Exchange {
    /// `Access-Request id=7 → Access-Accept user=bob`.
    pub fn summary(&self) -> String {
        let left = self
            .request
            .as_ref()
            .map_or_else(|| "?".to_string(), RadiusPacket::label);
        let right = match &self.response {
            Some(r) if self.request.is_none() => r.label(),
            Some(r) => r.code_name.clone(),
            None => "(no answer)".to_string(),
        };
        let user = self
            .request
            .as_ref()
            .and_then(RadiusPacket::user)
            .or_else(|| self.response.as_ref().and_then(RadiusPacket::user));
        match user {
            Some(u) => format!("{left} → {right} user={u}"),
            None => format!("{left} → {right}"),
        }
    }
}
