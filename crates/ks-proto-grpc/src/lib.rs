//! gRPC message framing, status and schema-less protobuf decoding over HTTP/2 bodies.
//!
//! Message-level helpers: the engine has already reassembled an exchange (headers and
//! body bytes of each side) and asks what gRPC content it carries.
//!
//! ```
//! use ks_proto_grpc::{parse_messages, split_path, status, status_name, GrpcConfig, Value};
//!
//! assert_eq!(split_path("/helloworld.Greeter/SayHello"), Some(("helloworld.Greeter", "SayHello")));
//! // One uncompressed message holding field 1 = varint 150.
//! let body = [0, 0, 0, 0, 3, 0x08, 0x96, 0x01];
//! let m = parse_messages(&body, body.len() as u64, None, &GrpcConfig::default());
//! assert_eq!((m.count, m.cut), (1, false));
//! let fields = m.messages[0].fields.as_ref().unwrap();
//! assert_eq!((fields[0].number, &fields[0].value), (1, &Value::Varint(150)));
//! let trailers = vec![
//!     ("grpc-status".to_string(), "5".to_string()),
//!     ("grpc-message".to_string(), "no%20such%20user".to_string()),
//! ];
//! assert_eq!(status(&trailers), (Some(5), Some("no such user".to_string())));
//! assert_eq!(status_name(5), "NOT_FOUND");
//! ```
//!
//! Design, caps and what is not supported: `docs/grpc.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Read;

use base64::Engine as _;
use serde::Serialize;

/// Limits of the helpers. Every list and buffer they build is bounded by one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcConfig {
    /// Messages listed per call side (more are only counted).
    pub max_messages: usize,
    /// Largest decompressed message; larger → error, not decoded.
    pub max_decompressed: usize,
    /// Levels of nested messages decoded (the top message is level 1).
    pub max_depth: usize,
    /// Fields decoded per message, nested ones included.
    pub max_fields: usize,
    /// Bytes of a string/bytes field shown (as text or base64).
    pub max_bytes_shown: usize,
    /// Decode each message schema-less (`GrpcMessage::fields`). A consumer that
    /// shows fields only for some calls (e.g. only when printing) turns it off and
    /// calls [`parse_messages`] again with it on when needed: the framing alone is
    /// much cheaper than the decode.
    pub decode_fields: bool,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            max_messages: 1000,
            max_decompressed: 4 << 20,
            max_depth: 16,
            max_fields: 2000,
            max_bytes_shown: 1024,
            decode_fields: true,
        }
    }
}

/// One length-prefixed gRPC message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrpcMessage {
    /// The compressed-flag byte was non-zero.
    pub compressed: bool,
    /// The length prefix.
    pub length: u32,
    /// Decompressed size (`length` when not compressed); None when it could not be
    /// decompressed.
    pub size: Option<u64>,
    /// Schema-less protobuf decode; None when the bytes are not a valid protobuf
    /// message or are not available.
    pub fields: Option<Vec<Field>>,
    /// `fields` holds only the first `max_fields` fields (nested ones counted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fields_capped: bool,
    /// Why the message could not be (fully) decoded: `cut`, `unsupported grpc-encoding
    /// snappy`, `gzip: ...`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The messages of one side of a call.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Messages {
    /// The first `max_messages` messages.
    pub messages: Vec<GrpcMessage>,
    /// Messages whose 5-byte prefix was seen.
    pub count: u64,
    /// Bytes are missing: the body is longer than the kept bytes, or it ends inside
    /// a message.
    pub cut: bool,
}

/// One protobuf field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    /// Field number (1 ..= 2^29-1).
    pub number: u32,
    /// `varint`, `i64`, `len` or `i32`.
    pub wire_type: &'static str,
    /// The value, as far as it can be told without the schema.
    pub value: Value,
}

/// A field value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Wire type 0 (int32/64, uint32/64, sint (zigzag), bool, enum).
    Varint(u64),
    /// Wire type 1 (fixed64, sfixed64, double), little-endian bits.
    I64(u64),
    /// Wire type 5 (fixed32, sfixed32, float), little-endian bits.
    I32(u32),
    /// A length-delimited field: shown as a nested message when the bytes parse as
    /// one (and are not more plausibly printable text), else as UTF-8 text when
    /// printable, else base64. Long ones cut at `max_bytes_shown`.
    Len(LenValue),
}

/// A length-delimited field (string, bytes, nested message, packed repeated).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LenValue {
    /// Length in bytes.
    pub size: u64,
    /// The bytes decoded as a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<Field>>,
    /// The bytes as text (first `max_bytes_shown` bytes, cut at a char boundary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The first `max_bytes_shown` bytes, standard base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

/// `application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...
/// (parameters after `;` ignored, case-insensitive). Not grpc-web (other framing).
pub fn is_grpc_content_type(value: &str) -> bool {
    let mime = value.split(';').next().unwrap_or("").trim();
    const BASE: &str = "application/grpc";
    match mime.get(..BASE.len()) {
        Some(head) if head.eq_ignore_ascii_case(BASE) => {
            let rest = &mime[BASE.len()..];
            rest.is_empty() || (rest.len() > 1 && rest.starts_with('+'))
        }
        _ => false,
    }
}

/// `/pkg.Service/Method` → `("pkg.Service", "Method")`; None when the path is not of
/// that form.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    if service.is_empty() || method.is_empty() || method.contains(['/', '?']) {
        return None;
    }
    Some((service, method))
}

/// Split a gRPC body (the concatenated DATA of one side) into length-prefixed
/// messages. `kept` = the body bytes available (a prefix of the body), `body_size` =
/// the real body size, `encoding` = the `grpc-encoding` header value (gzip and
/// deflate are decompressed; identity/None: not compressed; others: error, size None).
pub fn parse_messages(
    kept: &[u8],
    body_size: u64,
    encoding: Option<&str>,
    cfg: &GrpcConfig,
) -> Messages {
    let codec = Codec::of(encoding);
    let mut out = Messages {
        cut: body_size > kept.len() as u64,
        ..Messages::default()
    };
    let mut rest = kept;
    while !rest.is_empty() {
        let Some((&[flag, a, b, c, d], payload)) = rest.split_first_chunk::<5>() else {
            out.cut = true;
            break;
        };
        let length = u32::from_be_bytes([a, b, c, d]);
        out.count += 1;
        let avail = payload.len().min(length as usize);
        let whole = avail == length as usize;
        if out.messages.len() < cfg.max_messages {
            let msg = if whole {
                decode_message(flag, length, &payload[..avail], &codec, cfg)
            } else {
                GrpcMessage {
                    compressed: flag != 0,
                    length,
                    size: (flag == 0).then_some(u64::from(length)),
                    fields: None,
                    fields_capped: false,
                    error: Some("cut".into()),
                }
            };
            out.messages.push(msg);
        }
        if !whole {
            out.cut = true;
            break;
        }
        rest = &payload[avail..];
    }
    out
}

/// How the messages flagged as compressed are to be decompressed.
enum Codec<'a> {
    None,
    Gzip,
    Deflate,
    Unsupported(&'a str),
}

impl<'a> Codec<'a> {
    fn of(encoding: Option<&'a str>) -> Self {
        match encoding.map(str::trim) {
            None | Some("") => Codec::None,
            Some(e) if e.eq_ignore_ascii_case("identity") => Codec::None,
            Some(e) if e.eq_ignore_ascii_case("gzip") => Codec::Gzip,
            Some(e) if e.eq_ignore_ascii_case("deflate") => Codec::Deflate,
            Some(e) => Codec::Unsupported(e),
        }
    }
}

fn decode_message(
    flag: u8,
    length: u32,
    payload: &[u8],
    codec: &Codec<'_>,
    cfg: &GrpcConfig,
) -> GrpcMessage {
    let mut msg = GrpcMessage {
        compressed: flag != 0,
        length,
        size: None,
        fields: None,
        fields_capped: false,
        error: None,
    };
    let inflated;
    let bytes = match (flag, codec) {
        (0, _) => payload,
        (1, Codec::Gzip | Codec::Deflate) => match inflate(payload, codec, cfg.max_decompressed) {
            Ok(v) => {
                inflated = v;
                &inflated[..]
            }
            Err(e) => {
                msg.error = Some(e);
                return msg;
            }
        },
        (1, Codec::None) => {
            msg.error = Some("compressed flag set without grpc-encoding".into());
            return msg;
        }
        (1, Codec::Unsupported(name)) => {
            msg.error = Some(format!("unsupported grpc-encoding {}", shown_name(name)));
            return msg;
        }
        (f, _) => {
            msg.error = Some(format!("invalid compressed flag {f}"));
            return msg;
        }
    };
    msg.size = Some(bytes.len() as u64);
    if !cfg.decode_fields {
        return msg;
    }
    let mut budget = cfg.max_fields;
    if let Some((fields, capped)) = decode_level(bytes, 1, &mut budget, cfg) {
        msg.fields = Some(fields);
        msg.fields_capped = capped;
    }
    msg
}

/// An encoding name as shown in an error: header values are attacker-controlled, so
/// only a bounded prefix is copied.
fn shown_name(name: &str) -> &str {
    let mut end = name.len().min(64);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn inflate(payload: &[u8], codec: &Codec<'_>, cap: usize) -> Result<Vec<u8>, String> {
    let limit = cap as u64 + 1;
    let mut out = Vec::with_capacity(payload.len().saturating_mul(4).min(cap));
    let (name, res) = match codec {
        Codec::Gzip => (
            "gzip",
            flate2::read::GzDecoder::new(payload)
                .take(limit)
                .read_to_end(&mut out),
        ),
        _ => {
            // gRPC's "deflate" is the HTTP content-coding: zlib (RFC 1950). Some
            // implementations send raw deflate (RFC 1951); a zlib header is
            // recognisable (CMF/FLG check), so pick by it.
            let zlib = payload.len() >= 2
                && payload[0] & 0x0f == 8
                && u16::from_be_bytes([payload[0], payload[1]]).is_multiple_of(31);
            let res = if zlib {
                flate2::read::ZlibDecoder::new(payload)
                    .take(limit)
                    .read_to_end(&mut out)
            } else {
                flate2::read::DeflateDecoder::new(payload)
                    .take(limit)
                    .read_to_end(&mut out)
            };
            ("deflate", res)
        }
    };
    match res {
        Err(e) => Err(format!("{name}: {e}")),
        Ok(_) if out.len() > cap => Err(format!(
            "{name}: decompressed size exceeds cap of {cap} bytes"
        )),
        Ok(_) => Ok(out),
    }
}

/// `grpc-status` (u32) and `grpc-message` (percent-decoded) from a header list
/// (trailers, or the headers of a trailers-only response). Names compared
/// ASCII-case-insensitively; the first occurrence of each counts.
pub fn status(headers: &[(String, String)]) -> (Option<u32>, Option<String>) {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let code = find("grpc-status").and_then(|v| v.trim().parse::<u32>().ok());
    let message = find("grpc-message").map(percent_decode);
    (code, message)
}

/// gRPC's `grpc-message` encoding: bytes outside 0x20..=0x7E and `%` are sent as
/// `%XX` of the UTF-8 bytes. Malformed escapes are kept as they are, as the spec
/// asks of receivers.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    if !b.contains(&b'%') {
        return v.to_string();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Name of a gRPC status code: 0 `OK`, 1 `CANCELLED`, ... 16 `UNAUTHENTICATED`;
/// other codes `UNKNOWN` (as gRPC treats them).
pub fn status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN")
}

/// Schema-less protobuf decode: None unless the whole input parses as a sequence of
/// valid fields (wire types 0, 1, 2, 5; groups (3, 4) rejected; field number ≥ 1;
/// lengths inside the input). At most `max_fields` fields (nested included) are
/// returned, nested messages at most `max_depth` levels deep.
pub fn decode_protobuf(bytes: &[u8], cfg: &GrpcConfig) -> Option<Vec<Field>> {
    let mut budget = cfg.max_fields;
    decode_level(bytes, 1, &mut budget, cfg).map(|(f, _)| f)
}

/// One field as it is on the wire, borrowed.
enum Raw<'a> {
    Varint(u64),
    I64(u64),
    I32(u32),
    Len(&'a [u8]),
}

/// Reads one field at the start of `b`; returns it and the rest. None when the bytes
/// are not a valid field.
fn next_field(b: &[u8]) -> Option<(u32, Raw<'_>, &[u8])> {
    let (key, b) = varint(b)?;
    let number = u32::try_from(key >> 3).ok()?;
    if number == 0 || number > (1 << 29) - 1 {
        return None;
    }
    match key & 7 {
        0 => {
            let (v, b) = varint(b)?;
            Some((number, Raw::Varint(v), b))
        }
        1 => {
            let (v, b) = b.split_first_chunk::<8>()?;
            Some((number, Raw::I64(u64::from_le_bytes(*v)), b))
        }
        2 => {
            let (len, b) = varint(b)?;
            let len = usize::try_from(len).ok().filter(|&l| l <= b.len())?;
            let (v, b) = b.split_at(len);
            Some((number, Raw::Len(v), b))
        }
        5 => {
            let (v, b) = b.split_first_chunk::<4>()?;
            Some((number, Raw::I32(u32::from_le_bytes(*v)), b))
        }
        _ => None,
    }
}

/// A base-128 varint of at most 10 bytes whose value fits 64 bits.
fn varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((v, &b[i + 1..]));
        }
    }
    None
}

/// Number of top-level fields when all of `b` is a valid field sequence.
fn count_fields(mut b: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !b.is_empty() {
        let (_, _, rest) = next_field(b)?;
        b = rest;
        n += 1;
    }
    Some(n)
}

/// Decodes `b` as the message at nesting `depth`, spending `budget` fields. Returns
/// the fields and whether the budget cut them (here or in a nested message).
/// Recursion is bounded by `max_depth`; work by the budget, which failed attempts
/// spend too, and by one validating scan per level.
fn decode_level(
    b: &[u8],
    depth: usize,
    budget: &mut usize,
    cfg: &GrpcConfig,
) -> Option<(Vec<Field>, bool)> {
    let n = count_fields(b)?;
    let mut fields = Vec::with_capacity(n.min(*budget));
    let mut rest = b;
    while !rest.is_empty() {
        if *budget == 0 {
            return Some((fields, true));
        }
        let (number, raw, r) = next_field(rest)?;
        rest = r;
        *budget -= 1;
        let (wire_type, value) = match raw {
            Raw::Varint(v) => ("varint", Value::Varint(v)),
            Raw::I64(v) => ("i64", Value::I64(v)),
            Raw::I32(v) => ("i32", Value::I32(v)),
            Raw::Len(v) => {
                let (lv, capped) = len_value(v, depth, budget, cfg);
                if capped {
                    fields.push(Field {
                        number,
                        wire_type: "len",
                        value: Value::Len(lv),
                    });
                    return Some((fields, true));
                }
                ("len", Value::Len(lv))
            }
        };
        fields.push(Field {
            number,
            wire_type,
            value,
        });
    }
    Some((fields, false))
}

fn len_value(v: &[u8], depth: usize, budget: &mut usize, cfg: &GrpcConfig) -> (LenValue, bool) {
    let mut lv = LenValue {
        size: v.len() as u64,
        message: None,
        text: None,
        base64: None,
    };
    let text = std::str::from_utf8(v).ok().filter(|s| printable(s));
    if text.is_none() && !v.is_empty() && depth < cfg.max_depth {
        if let Some((fields, capped)) = decode_level(v, depth + 1, budget, cfg) {
            lv.message = Some(fields);
            return (lv, capped);
        }
    }
    let shown = &v[..v.len().min(cfg.max_bytes_shown)];
    match text {
        Some(s) => {
            let mut end = shown.len();
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            lv.text = Some(s[..end].to_string());
        }
        None => lv.base64 = Some(base64::engine::general_purpose::STANDARD.encode(shown)),
    }
    (lv, false)
}

/// Text a person would have written: no control characters but tab, CR and LF.
fn printable(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests;
