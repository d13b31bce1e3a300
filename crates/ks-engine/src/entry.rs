//! The entry envelope every protocol fills (see `docs/entry.md`), and flow records.

use base64::Engine as _;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A message body as an entry shows it: text when the bytes are printable UTF-8,
/// else base64. Both the check and the encoding happen only when the entry is
/// serialised (or asked), so consumers that never print bodies never pay for them.
#[derive(Clone, Debug)]
pub struct BodyData {
    bytes: Vec<u8>,
    text: std::sync::OnceLock<bool>,
}

impl PartialEq for BodyData {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for BodyData {}

impl BodyData {
    /// Wrap body bytes (already cut to the shown limit).
    pub fn new(bytes: Vec<u8>) -> Self {
        BodyData {
            bytes,
            text: std::sync::OnceLock::new(),
        }
    }

    /// The raw (decoded) bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body as text, when it is printable UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        if self.is_text() {
            std::str::from_utf8(&self.bytes).ok()
        } else {
            None
        }
    }

    /// True when serialised as text (false: base64).
    pub fn is_text(&self) -> bool {
        *self
            .text
            .get_or_init(|| printable(&self.bytes) && std::str::from_utf8(&self.bytes).is_ok())
    }

    /// `Some("base64")` when serialised as base64.
    pub fn encoding(&self) -> Option<&'static str> {
        if self.is_text() {
            None
        } else {
            Some("base64")
        }
    }
}

/// No control characters other than tab, CR and LF. Written with non-short-circuit
/// operators over fixed chunks so that it vectorises.
fn printable(bytes: &[u8]) -> bool {
    bytes.chunks(64).all(|chunk| {
        let mut bad = false;
        for &b in chunk {
            bad |= (b < 0x20) & (b != b'\n') & (b != b'\r') & (b != b'\t') | (b == 0x7f);
        }
        !bad
    })
}

impl Serialize for BodyData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_text() {
            Some(t) => s.serialize_str(t),
            None => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.bytes)),
        }
    }
}

/// One endpoint: its address, and who it was in Kubernetes when an identity
/// source was given ([`crate::EngineConfig::identity`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// `name`, `namespace`, `pod`, `node`, `service`, `workload`, `labels`,
    /// serialised beside `ip` and `port` (docs/k8s.md). Shared: an endpoint's
    /// identity is looked up once per entry side and never copied.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<Arc<ks_k8s::Identity>>,
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Self {
        Endpoint {
            ip: a.ip(),
            port: a.port(),
            k8s: None,
        }
    }
}

impl Endpoint {
    /// The name to show: the Kubernetes name (with the namespace) when known,
    /// else the address.
    pub fn display_name(&self) -> Option<String> {
        let id = self.k8s.as_ref()?;
        Some(match &id.namespace {
            Some(ns) => format!("{} ({ns})", id.name),
            None => id.name.clone(),
        })
    }
}

/// First and last frame numbers (1-based) of each side of an entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Frames {
    /// Frames of the request.
    pub request: Option<[u64; 2]>,
    /// Frames of the response.
    pub response: Option<[u64; 2]>,
}

/// Why an entry is not a clean request/response pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryError {
    /// Machine-readable kind: `no-response`, `no-request`, `incomplete`, `parse`, ...
    pub kind: String,
    /// Human-readable detail.
    pub message: String,
}

/// Protocol-specific request (or the one message of a one-way entry).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
// Entries travel boxed (`Output::Entry`), so the variants' sizes do not matter much.
#[allow(clippy::large_enum_variant)]
pub enum Request {
    /// HTTP/1.x or HTTP/2 request (gRPC and GraphQL ones included).
    Http(HttpRequest),
    /// A WebSocket message (one-way: `src` sent it to `dst`).
    WebSocket(WebSocketMessage),
    /// A Redis command.
    Redis(ks_proto_redis::Request),
    /// A Redis pushed message (pub/sub `message`, RESP3 push; one-way).
    RedisPush(ks_proto_redis::OneWay),
    /// A Kafka request.
    Kafka(ks_proto_kafka::KafkaRequest),
    /// An AMQP method (with its content for publish/deliver/return).
    Amqp(ks_proto_amqp::Method),
    /// A DNS query (or, one-way over mDNS, any message).
    Dns(ks_proto_dns::DnsMessage),
    /// A RADIUS request.
    Radius(ks_proto_radius::RadiusPacket),
    /// An LDAP operation (unbind and abandon one-way).
    Ldap(ks_proto_ldap::LdapRequest),
    /// An LDAP server message on its own (unsolicited notification, one-way).
    LdapResult(LdapResult),
    /// A DIAMETER request (sent by either peer).
    Diameter(ks_proto_diameter::DiameterMessage),
    /// An ICMP message (an echo request, or any other message, one-way).
    Icmp(ks_proto_icmp::IcmpMessage),
    /// A TLS handshake: both sides' hellos, certificates, alerts, fingerprints.
    Tls(Box<ks_proto_tls::Handshake>),
    /// What a TLS connection carried after its handshake besides application data
    /// (one entry when the connection ends, when there was any).
    TlsAfterHandshake(TlsAfterHandshake),
    /// A TCP or UDP flow no dissector claimed (its L4 entry, at flow end).
    Flow(L4Flow),
}

/// The post-handshake messages and alerts of a TLS connection: TLS 1.3
/// NewSessionTicket and KeyUpdate (visible when decrypting), alerts such as
/// close_notify (encrypted too, except where a peer sends them in clear).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsAfterHandshake {
    /// Handshake messages, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ks_proto_tls::HandshakeMsg>,
    /// Alerts, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<ks_proto_tls::Alert>,
    /// Messages and alerts past the cap that were only counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What is known of a TCP, UDP or SCTP flow no dissector claimed. Side A is the
/// first sender (the entry's `src`), as in flow records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct L4Flow {
    /// Packets A to B and B to A.
    pub packets: [u64; 2],
    /// Payload bytes A to B and B to A.
    pub bytes: [u64; 2],
    /// First packet to last, µs.
    pub duration_us: u64,
    /// TCP: SYN, FIN and RST segments seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<TcpFlagCounts>,
    /// Payload bytes lost in the capture (holes reassembly reported).
    pub gaps: u64,
    /// The first payload bytes of each side (A, B), hex, at most 32 bytes each.
    pub first_bytes: [String; 2],
    /// SCTP: chunks seen and what reassembly found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp: Option<SctpFlow>,
}

/// What an SCTP association carried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SctpFlow {
    /// Chunks seen, by tshark's name (`DATA`, `INIT`, `SACK`...; `CHUNK-<n>` when
    /// unknown).
    pub chunks: BTreeMap<String, u64>,
    /// User messages reassembled.
    pub messages: u64,
    /// Payload protocol identifiers seen on DATA chunks (at most 8).
    pub ppids: Vec<u32>,
    /// DATA chunks seen again (retransmissions).
    pub duplicates: u64,
    /// TSNs never seen.
    pub lost_tsns: u64,
}

/// SYN, FIN, RST counts of a TCP flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TcpFlagCounts {
    /// SYN segments.
    pub syn: u64,
    /// FIN segments.
    pub fin: u64,
    /// RST segments.
    pub rst: u64,
    /// Segments whose bytes had all been seen before (retransmissions).
    pub retransmissions: u64,
}

/// Protocol-specific response.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum Response {
    /// HTTP/1.x or HTTP/2 response.
    Http(HttpResponse),
    /// A Redis reply.
    Redis(ks_proto_redis::Reply),
    /// A Kafka response.
    Kafka(ks_proto_kafka::KafkaResponse),
    /// An AMQP `-ok` method.
    Amqp(ks_proto_amqp::Method),
    /// A DNS response.
    Dns(ks_proto_dns::DnsMessage),
    /// A RADIUS answer.
    Radius(ks_proto_radius::RadiusPacket),
    /// An LDAP result, with a search's entries and references.
    Ldap(LdapResult),
    /// A DIAMETER answer.
    Diameter(ks_proto_diameter::DiameterMessage),
    /// An ICMP echo reply.
    Icmp(ks_proto_icmp::IcmpMessage),
}

/// What the server sent for one LDAP operation: the final response (its fields
/// inline) and, for a search, the entries and references before it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LdapResult {
    /// The final response (`searchResDone` for a search); absent when unanswered.
    #[serde(flatten)]
    pub response: Option<ks_proto_ldap::LdapResponse>,
    /// Search entries (DN and attribute names), the first ones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<ks_proto_ldap::SearchEntry>,
    /// All search entries received.
    pub entry_count: u64,
    /// Continuation reference URIs, the first ones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// All reference URIs received.
    pub reference_count: u64,
    /// Intermediate responses, the first ones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intermediate: Vec<ks_proto_ldap::LdapResponse>,
    /// All intermediate responses received.
    pub intermediate_count: u64,
}

/// The gRPC side of a request: the call, and the messages the client sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrpcRequest {
    /// `pkg.Service` from the path `/pkg.Service/Method`.
    pub service: String,
    /// `Method` from the path.
    pub method: String,
    /// Length-prefixed messages of the request body (their `fields` are decoded
    /// on demand: [`HttpRequest::grpc_messages`], and when serialised).
    #[serde(flatten)]
    pub messages: ks_proto_grpc::Messages,
    /// The caps to decode fields with, when they were left for later.
    #[serde(skip)]
    pub decode: Option<ks_proto_grpc::GrpcConfig>,
}

/// The gRPC side of a response: status and the messages the server sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrpcResponse {
    /// `grpc-status` (from the trailers, or the headers of a trailers-only response).
    pub status: Option<u32>,
    /// Its name (`OK`, `NOT_FOUND`, ...).
    pub status_name: Option<&'static str>,
    /// `grpc-message`, percent-decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Length-prefixed messages of the response body (`fields` on demand:
    /// [`HttpResponse::grpc_messages`], and when serialised).
    #[serde(flatten)]
    pub messages: ks_proto_grpc::Messages,
    /// The caps to decode fields with, when they were left for later.
    #[serde(skip)]
    pub decode: Option<ks_proto_grpc::GrpcConfig>,
}

/// gRPC messages with their fields: the listed ones, with fields decoded now from
/// the body when they were left for later (framing is cheap, the schema-less decode
/// is not, and a consumer that never shows fields never pays for it).
fn grpc_decoded<'a>(
    listed: &'a ks_proto_grpc::Messages,
    decode: Option<&ks_proto_grpc::GrpcConfig>,
    headers: &[(String, String)],
    body: Option<&BodyData>,
    body_size: u64,
) -> std::borrow::Cow<'a, ks_proto_grpc::Messages> {
    let (Some(cfg), Some(body)) = (decode, body) else {
        return std::borrow::Cow::Borrowed(listed);
    };
    let cfg = ks_proto_grpc::GrpcConfig {
        decode_fields: true,
        ..cfg.clone()
    };
    let encoding = crate::drive::header(headers, "grpc-encoding");
    let full = ks_proto_grpc::parse_messages(body.as_bytes(), body_size, encoding, &cfg);
    let mut out = listed.clone();
    for (m, f) in out.messages.iter_mut().zip(full.messages) {
        if m.length == f.length {
            m.fields = f.fields;
            m.fields_capped = f.fields_capped;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A WebSocket message (fragments joined; control frames are messages of their own).
#[derive(Clone, Debug, PartialEq)]
pub struct WebSocketMessage {
    /// `text`, `binary`, `close`, `ping`, `pong` (`continuation` or `reserved` only for broken streams).
    pub opcode: &'static str,
    /// False when the message was cut before its final fragment.
    pub fin: bool,
    /// Sent masked (client to server).
    pub masked: bool,
    /// Compressed with permessage-deflate.
    pub compressed: bool,
    /// Frames joined.
    pub fragments: u32,
    /// Payload bytes on the wire.
    pub wire_size: u64,
    /// Payload bytes after unmasking and inflating.
    pub payload_size: u64,
    /// The payload (text when printable UTF-8, else base64), cut at the shown limit.
    pub payload: Option<BodyData>,
    /// `payload` holds less than `payload_size` bytes.
    pub payload_truncated: bool,
    /// Close frames: status code.
    pub close_code: Option<u16>,
    /// Close frames: reason.
    pub close_reason: Option<String>,
}

#[derive(Serialize)]
struct WsView<'a> {
    opcode: &'a str,
    fin: bool,
    masked: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    compressed: bool,
    fragments: u32,
    wire_size: u64,
    payload_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a BodyData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    payload_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_reason: Option<&'a str>,
}

impl Serialize for WebSocketMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WsView {
            opcode: self.opcode,
            fin: self.fin,
            masked: self.masked,
            compressed: self.compressed,
            fragments: self.fragments,
            wire_size: self.wire_size,
            payload_size: self.payload_size,
            payload: self.payload.as_ref(),
            payload_encoding: self.payload.as_ref().and_then(BodyData::encoding),
            payload_truncated: self.payload_truncated,
            close_code: self.close_code,
            close_reason: self.close_reason.as_deref(),
        }
        .serialize(s)
    }
}

/// An HTTP/1.x or HTTP/2 request as shown in an entry.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    /// Method as sent (`:method` for HTTP/2).
    pub method: String,
    /// Request-target as sent (`:path` for HTTP/2).
    pub path: String,
    /// `1.0`, `1.1` or `2`.
    pub version: String,
    /// HTTP/2 `:authority`.
    pub authority: Option<String>,
    /// HTTP/2 `:scheme`.
    pub scheme: Option<String>,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<(String, String)>,
    /// Body size after de-chunking and content decoding.
    pub body_size: u64,
    /// The body (serialised as text when printable, else base64 with
    /// `"body_encoding": "base64"`); cut at the limit.
    pub body: Option<BodyData>,
    /// True when `body` holds less than `body_size` bytes.
    pub body_truncated: bool,
    /// The gRPC call this request makes.
    pub grpc: Option<GrpcRequest>,
    /// The GraphQL operation this request carries.
    pub graphql: Option<ks_proto_graphql::Operation>,
}

/// An interim (1xx) response seen before the final one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interim {
    /// `1.0` or `1.1`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Frame that completed it.
    pub frame: u64,
}

/// An HTTP/1.x or HTTP/2 response as shown in an entry.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase (empty for HTTP/2).
    pub reason: String,
    /// `1.0`, `1.1` or `2`.
    pub version: String,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<(String, String)>,
    /// Body size after de-chunking and content decoding.
    pub body_size: u64,
    /// The body (see [`HttpRequest::body`]).
    pub body: Option<BodyData>,
    /// True when `body` holds less than `body_size` bytes.
    pub body_truncated: bool,
    /// Interim responses (`100 Continue`, ...) that came before this one.
    pub interim: Vec<Interim>,
    /// Trailer fields (HTTP/2 trailers; chunked HTTP/1 trailers).
    pub trailers: Vec<(String, String)>,
    /// gRPC status and messages.
    pub grpc: Option<GrpcResponse>,
    /// The GraphQL result this response carries.
    pub graphql: Option<ks_proto_graphql::ResultSummary>,
}

/// What the JSON of a request or response looks like (`body_encoding` is derived
/// from the body at serialisation time).
#[derive(Serialize)]
struct HttpView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authority: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'a str>,
    headers: &'a [(String, String)],
    #[serde(skip_serializing_if = "<[(String, String)]>::is_empty")]
    trailers: &'a [(String, String)],
    body_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a BodyData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    body_truncated: bool,
    #[serde(skip_serializing_if = "<[Interim]>::is_empty")]
    interim: &'a [Interim],
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc: Option<GrpcView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    graphql: Option<GraphqlView<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum GrpcView<'a> {
    Request {
        service: &'a str,
        method: &'a str,
        #[serde(flatten)]
        messages: std::borrow::Cow<'a, ks_proto_grpc::Messages>,
    },
    Response {
        status: Option<u32>,
        status_name: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        #[serde(flatten)]
        messages: std::borrow::Cow<'a, ks_proto_grpc::Messages>,
    },
}

impl HttpRequest {
    /// The gRPC messages of the request with their schema-less `fields` (decoded
    /// now if the engine left them for later); `None` when not a gRPC call.
    pub fn grpc_messages(&self) -> Option<std::borrow::Cow<'_, ks_proto_grpc::Messages>> {
        let g = self.grpc.as_ref()?;
        Some(grpc_decoded(
            &g.messages,
            g.decode.as_ref(),
            &self.headers,
            self.body.as_ref(),
            self.body_size,
        ))
    }
}

impl HttpResponse {
    /// The gRPC messages of the response with their schema-less `fields`.
    pub fn grpc_messages(&self) -> Option<std::borrow::Cow<'_, ks_proto_grpc::Messages>> {
        let g = self.grpc.as_ref()?;
        Some(grpc_decoded(
            &g.messages,
            g.decode.as_ref(),
            &self.headers,
            self.body.as_ref(),
            self.body_size,
        ))
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum GraphqlView<'a> {
    Request(&'a ks_proto_graphql::Operation),
    Response(&'a ks_proto_graphql::ResultSummary),
}

impl Serialize for HttpRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HttpView {
            method: Some(&self.method),
            path: Some(&self.path),
            status: None,
            reason: None,
            version: &self.version,
            authority: self.authority.as_deref(),
            scheme: self.scheme.as_deref(),
            headers: &self.headers,
            trailers: &[],
            body_size: self.body_size,
            body: self.body.as_ref(),
            body_encoding: self.body.as_ref().and_then(BodyData::encoding),
            body_truncated: self.body_truncated,
            interim: &[],
            grpc: self.grpc.as_ref().map(|g| GrpcView::Request {
                service: &g.service,
                method: &g.method,
                messages: self.grpc_messages().unwrap_or_default(),
            }),
            graphql: self.graphql.as_ref().map(GraphqlView::Request),
        }
        .serialize(s)
    }
}

impl Serialize for HttpResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HttpView {
            method: None,
            path: None,
            status: Some(self.status),
            reason: Some(&self.reason),
            version: &self.version,
            authority: None,
            scheme: None,
            headers: &self.headers,
            trailers: &self.trailers,
            body_size: self.body_size,
            body: self.body.as_ref(),
            body_encoding: self.body.as_ref().and_then(BodyData::encoding),
            body_truncated: self.body_truncated,
            interim: &self.interim,
            grpc: self.grpc.as_ref().map(|g| GrpcView::Response {
                status: g.status,
                status_name: g.status_name,
                message: g.message.as_deref(),
                messages: self.grpc_messages().unwrap_or_default(),
            }),
            graphql: self.graphql.as_ref().map(GraphqlView::Response),
        }
        .serialize(s)
    }
}

/// One dissected exchange (or lone message) — the unit every consumer sees.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// `<stream>-<n>`: n counts the entries of the stream from 0.
    pub id: String,
    /// Protocol name (`http`, `http2`, `grpc`, `graphql`, `websocket`, ...).
    pub protocol: &'static str,
    /// Protocol version (`1.1`, `2`, `13` for WebSocket).
    pub version: String,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// Carried inside TLS and seen through decryption (`--tls-keylog`); only
    /// serialised when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// tshark's `tcp.stream` / `udp.stream`.
    pub stream: u64,
    /// The protocol's own session id within the connection: the HTTP/2 stream id
    /// (gRPC and GraphQL over HTTP/2 too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<u32>,
    /// Client / requester (for a one-way message: its sender).
    pub src: Endpoint,
    /// Server / responder (for a one-way message: its receiver).
    pub dst: Endpoint,
    /// Time of the first frame of the request (or of the lone message), RFC 3339 UTC.
    pub timestamp: String,
    /// Same instant in ns since the epoch (not serialised; for filters and sorting).
    #[serde(skip)]
    pub ts_ns: u64,
    /// Request's first frame → frame completing the response, in µs.
    pub elapsed_us: Option<u64>,
    /// First and last frames of each side.
    pub frames: Frames,
    /// The request, when seen.
    pub request: Option<Request>,
    /// The response, when seen.
    pub response: Option<Response>,
    /// One-line summary (`GET /index.html 200`).
    pub summary: String,
    /// Why the entry is not a clean pair, if it is not.
    pub error: Option<EntryError>,
    /// The process whose TLS library calls gave the plaintext (`--tls-trace`);
    /// only for such entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Arc<crate::plain::Process>>,
}

/// Summary of one transport flow, emitted when the flow ends (lines up with
/// the `flows` of a tshark reference).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowRecord {
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// tshark's stream number.
    pub stream: u64,
    /// Sender of the first packet.
    pub a: Endpoint,
    /// The other endpoint.
    pub b: Endpoint,
    /// Packets.
    pub frames: u64,
    /// Payload bytes (on the wire, retransmissions included) a → b.
    pub bytes_a_to_b: u64,
    /// Payload bytes b → a.
    pub bytes_b_to_a: u64,
    /// First frame number.
    pub first_frame: u64,
    /// Last frame number.
    pub last_frame: u64,
    /// SYN segments seen.
    pub syn: u64,
    /// FIN segments seen.
    pub fin: u64,
    /// RST segments seen.
    pub rst: u64,
    /// Protocol the engine found (`http`, or `tcp`/`udp` for unparsed).
    pub protocol: &'static str,
    /// Gaps (bytes lost) in the flow.
    pub gaps: u64,
}

/// What the engine emits.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A dissected exchange.
    Entry(Box<Entry>),
    /// A flow ended.
    Flow(FlowRecord),
}

/// An entry's id, unique in a capture: `<stream>-<n>` on TCP (tshark's `tcp.stream`),
/// `udp-<stream>-<n>` and `sctp-<stream>-<n>` on the others, whose streams are numbered
/// separately (ICMP entries are `icmp-<n>`).
pub(crate) fn entry_id(transport: &str, stream: u64, n: u64) -> String {
    match transport {
        "tcp" => format!("{stream}-{n}"),
        t => format!("{t}-{stream}-{n}"),
    }
}

/// `2016-11-17T21:06:37.793608Z` from ns since the epoch (µs precision, like tshark's
/// default and Kubeshark's entries).
pub fn rfc3339_us(ts_ns: u64) -> String {
    let secs = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_the_issue_example() {
        // 1479416797.793608 is 2016-11-17T21:06:37.793608Z (checked with `date -u -d @1479416797`).
        assert_eq!(
            rfc3339_us(1_479_416_797_793_608_123),
            "2016-11-17T21:06:37.793608Z"
        );
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (leap day): 951782400.
        assert_eq!(
            rfc3339_us(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
