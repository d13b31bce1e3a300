//! The typed output of the TLS parser.

use ks_proto::{Direction, ParserEvent};
use serde::{Serialize, Serializer};

/// Serialises a [`Direction`] as `"to_server"` / `"to_client"`.
fn ser_dir<S: Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Direction::ToServer => "to_server",
        Direction::ToClient => "to_client",
    })
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Output of [`crate::TlsParser`].
#[derive(Clone, Debug, PartialEq)]
pub enum TlsMessage {
    /// One per handshake, emitted as soon as the handshake is over as far as the
    /// capture can tell (TLS 1.2: both ChangeCipherSpec + Finished seen, or the first
    /// application_data record; TLS 1.3: the first encrypted record from the client
    /// after ServerHello — or, when decrypting, the client's Finished), or when the
    /// connection ends, a gap or a fatal alert cuts it short.
    Handshake(Box<Handshake>),
    /// An alert seen after the Handshake message was emitted (alerts before it go
    /// into [`Handshake::alerts`]).
    Alert {
        /// Sender of the alert.
        dir: Direction,
        /// The alert.
        alert: Alert,
        /// Absolute stream offset in `dir` of the record carrying it.
        offset: u64,
    },
    /// A handshake message after the Handshake message was emitted: TLS 1.3
    /// NewSessionTicket and KeyUpdate (seen only when decrypting), a renegotiation.
    PostHandshake(HandshakeMsg),
    /// Decrypted application data, in order (only with a key log).
    Plaintext {
        /// Sender.
        dir: Direction,
        /// The plaintext of one record.
        data: Vec<u8>,
        /// Absolute stream offset in `dir` where the record carrying it ended.
        record_end: u64,
    },
    /// Anomalies worth counting: `bad-record`, `record-too-large`,
    /// `handshake-too-large`, `malformed-hello`, `bad-certificate`, `sslv2-hello`,
    /// `unknown-version`, `gap`, `decrypt-failed`, ...
    Event(ParserEvent),
}

/// An extension code point and its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// Code point (IANA TLS ExtensionType).
    pub id: u16,
    /// Name (`server_name`, `GREASE`, `0x1234` when unknown).
    pub name: String,
}

/// What a ClientHello offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientHello {
    /// `legacy_version` (the ClientHello's version field), display form.
    pub legacy_version: String,
    /// Versions of the supported_versions extension, in order (GREASE shown as `GREASE`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<String>,
    /// Cipher suites offered, IANA names in order (GREASE as `GREASE`, unknown as `0x1234`).
    pub cipher_suites: Vec<String>,
    /// server_name (host_name), when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// ALPN protocols offered, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// supported_groups, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<String>,
    /// Groups of the key_share entries, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_share_groups: Vec<String>,
    /// signature_algorithms, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signature_algorithms: Vec<String>,
    /// ec_point_formats, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ec_point_formats: Vec<String>,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
    /// Length of the legacy session id (0..=32).
    pub session_id_len: u8,
    /// A session ticket was offered (non-empty session_ticket extension).
    #[serde(skip_serializing_if = "is_false")]
    pub session_ticket: bool,
    /// A pre_shared_key extension was sent (TLS 1.3 resumption offered).
    #[serde(skip_serializing_if = "is_false")]
    pub psk_offered: bool,
    /// The early_data extension was sent (0-RTT).
    #[serde(skip_serializing_if = "is_false")]
    pub early_data: bool,
    /// It came in an SSLv2-compatible record (no extensions then).
    #[serde(skip_serializing_if = "is_false")]
    pub sslv2: bool,
    /// The message could not be decoded to its end; the fields before the fault are kept.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

/// What a ServerHello (or HelloRetryRequest) selected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerHello {
    /// Selected version (supported_versions when present, else the version field).
    pub version: String,
    /// The version field (`legacy_version` in TLS 1.3).
    pub legacy_version: String,
    /// Selected cipher suite, IANA name.
    pub cipher_suite: String,
    /// ALPN protocol selected (TLS ≤ 1.2; in TLS 1.3 it is in EncryptedExtensions,
    /// seen only when decrypting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// Group of the key_share (or the group a HelloRetryRequest asks for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_share_group: Option<String>,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
    /// Length of the legacy session id echoed.
    pub session_id_len: u8,
    /// This is a HelloRetryRequest (recognised by its special random).
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry_request: bool,
    /// The message could not be decoded to its end.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

/// One X.509 certificate of a Certificate message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// Subject distinguished name (RFC 4514-like, `CN=…, O=…`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san: Vec<String>,
    /// notBefore, RFC 3339 (UTC).
    pub not_before: String,
    /// notAfter, RFC 3339 (UTC).
    pub not_after: String,
    /// Public key: `RSA 2048`, `EC P-256`, `Ed25519`, ...
    pub key_type: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Subject equals issuer.
    #[serde(skip_serializing_if = "is_false")]
    pub self_signed: bool,
    /// SHA-256 of the DER encoding, lower-case hex.
    pub sha256: String,
    /// Why the certificate could not be decoded (the other fields are then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Sender.
    #[serde(serialize_with = "ser_dir")]
    pub dir: Direction,
    /// `warning`, `fatal` (or `unknown`).
    pub level: &'static str,
    /// Description name (`handshake_failure`, `unknown` when not registered).
    pub description: &'static str,
    /// Description code.
    pub code: u8,
    /// Absolute stream offset in `dir` of the record that carried it (the engine
    /// maps it to a frame).
    pub offset: u64,
}

/// A handshake message seen, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandshakeMsg {
    /// Sender.
    #[serde(serialize_with = "ser_dir")]
    pub dir: Direction,
    /// Handshake type name (`client_hello`); `encrypted` for an encrypted handshake
    /// record whose content is unknown; `sslv2_client_hello`.
    pub kind: &'static str,
    /// TLS HandshakeType (0 when `kind` is `encrypted`).
    pub code: u8,
    /// Absolute stream offset in `dir` where the record that completed it ended.
    pub record_end: u64,
    /// It was seen encrypted (TLS ≤ 1.2 Finished after ChangeCipherSpec without keys),
    /// or only after decryption.
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted: bool,
}

/// One TLS handshake: the hellos, certificates, fingerprints, alerts and messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Handshake {
    /// Negotiated version, display form (`TLS 1.3`); `None` without a ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Negotiated cipher suite, IANA name (unknown: `0x1234`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// The (final) ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<ClientHello>,
    /// The (final) ServerHello; a HelloRetryRequest when no ServerHello followed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_hello: Option<ServerHello>,
    /// A HelloRetryRequest was sent (a second ClientHello and ServerHello follow).
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry: bool,
    /// The server's certificate chain, in order (at most `max_certificates` decoded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// The client's certificate chain, when it sent one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_certificates: Vec<Certificate>,
    /// Certificates seen (server and client), decoded or not.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub certificate_count: u32,
    /// The session was resumed (TLS ≤ 1.2: session id echoed or abbreviated
    /// handshake; TLS 1.3: the server selected a pre-shared key).
    #[serde(skip_serializing_if = "is_false")]
    pub resumed: bool,
    /// Alerts seen before this message was emitted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
    /// JA3 (MD5 of `ja3_full`), of the first ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<String>,
    /// The JA3 string (`771,4865-…,0-23-…,29-23,0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3_full: Option<String>,
    /// JA3S (MD5 of `ja3s_full`), of the final ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<String>,
    /// The JA3S string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s_full: Option<String>,
    /// JA4 of the first ClientHello (FoxIO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// JA4S of the final ServerHello (FoxIO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4s: Option<String>,
    /// Every handshake message seen, in order (at most [`crate::MAX_MESSAGES`]).
    pub messages: Vec<HandshakeMsg>,
    /// Encrypted records counted per direction (index [`Direction::index`]) before
    /// this message was emitted.
    pub encrypted_records: [u32; 2],
    /// The handshake ran to its end as far as the capture can tell (false: cut short
    /// by the end of the connection, a gap or a fatal alert).
    pub complete: bool,
    /// Decryption status (`decrypted`, `no key: …`, `unsupported cipher suite …`,
    /// `wrong key: record authentication failed`); `None` without a key log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<String>,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl Handshake {
    /// The server name the client asked for.
    pub fn sni(&self) -> Option<&str> {
        self.client_hello.as_ref()?.sni.as_deref()
    }

    /// The ALPN protocol selected, else the first one offered.
    pub fn alpn(&self) -> Option<&str> {
        self.server_hello
            .as_ref()
            .and_then(|s| s.alpn.as_deref())
            .or_else(|| {
                self.client_hello
                    .as_ref()
                    .and_then(|c| c.alpn.first().map(String::as_str))
            })
    }

    /// One line: `tls 1.3 sni=example.com alpn=h2 TLS_AES_128_GCM_SHA256
    /// ja4=t13d1516h2_8daaf6152771_b186095e22b6` (missing fields omitted), then
    /// ` resumed`, ` hrr`, ` alert=<description>` when they apply.
    pub fn summary(&self) -> String {
        let mut s = match &self.version {
            Some(v) => v.to_ascii_lowercase(),
            None => "tls".into(),
        };
        if let Some(n) = self.sni() {
            s.push_str(" sni=");
            s.push_str(n);
        }
        if let Some(a) = self.alpn() {
            s.push_str(" alpn=");
            s.push_str(a);
        }
        if let Some(c) = &self.cipher_suite {
            s.push(' ');
            s.push_str(c);
        }
        if let Some(j) = &self.ja4 {
            s.push_str(" ja4=");
            s.push_str(j);
        }
        if self.resumed {
            s.push_str(" resumed");
        }
        if self.hello_retry {
            s.push_str(" hrr");
        }
        let alert = self
            .alerts
            .iter()
            .find(|a| a.level == "fatal")
            .or(self.alerts.first());
        if let Some(a) = alert {
            s.push_str(" alert=");
            s.push_str(a.description);
        }
        s
    }
}

impl Alert {
    /// An alert from its two bytes, in the record at `offset`.
    pub fn new(dir: Direction, level: u8, code: u8, offset: u64) -> Self {
        Alert {
            dir,
            level: crate::names::alert_level_name(level),
            description: crate::names::alert_name(code),
            code,
            offset,
        }
    }
}
