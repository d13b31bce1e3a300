//! Decoded RESP values (the internal tree) and their JSON rendering.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// The RESP type of a reply, as shown in JSON (`"simple"`, `"big-number"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyType {
    /// `+` simple string.
    Simple,
    /// `-` simple error.
    Error,
    /// `:` integer.
    Integer,
    /// `$` bulk string.
    Bulk,
    /// `*` array.
    Array,
    /// `_`, `$-1` or `*-1`.
    Null,
    /// `#` boolean.
    Boolean,
    /// `,` double.
    Double,
    /// `(` big number.
    BigNumber,
    /// `!` bulk error.
    BulkError,
    /// `=` verbatim string.
    Verbatim,
    /// `%` map.
    Map,
    /// `~` set.
    Set,
    /// `|` attribute (only seen nested; top-level attributes are attached to the reply).
    Attribute,
    /// `>` push.
    Push,
}

/// A bulk string or command argument as shown in JSON.
///
/// Serialises untagged: a plain JSON string when the value is complete UTF-8,
/// `{"base64": "..."}` when it is complete but not UTF-8, and
/// `{"text"|"base64": prefix, "size": n, "truncated": true}` when only a prefix was kept.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    /// Complete, valid UTF-8.
    Text(String),
    /// Complete, not UTF-8: base64 (standard alphabet, padded).
    Binary {
        /// The bytes, base64-encoded.
        base64: String,
    },
    /// Only a prefix was kept (`max_value_kept`, the per-message budget, or a gap).
    Partial {
        /// The kept prefix when it is UTF-8 (cut at a character boundary).
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The kept prefix, base64-encoded, when it is not UTF-8.
        #[serde(skip_serializing_if = "Option::is_none")]
        base64: Option<String>,
        /// Size of the whole value on the wire.
        size: u64,
        /// Always true (marks the object as a prefix).
        truncated: bool,
    },
}

impl Arg {
    /// Renders `data`, the kept prefix of a value of `size` bytes.
    pub fn from_bytes(data: &[u8], size: u64) -> Arg {
        let complete = data.len() as u64 == size;
        match std::str::from_utf8(data) {
            Ok(s) if complete => Arg::Text(s.to_owned()),
            Err(_) if complete => Arg::Binary { base64: b64(data) },
            Ok(s) => Arg::Partial {
                text: Some(s.to_owned()),
                base64: None,
                size,
                truncated: true,
            },
            // A prefix cut in the middle of a UTF-8 character is still text.
            Err(e) if e.error_len().is_none() => Arg::Partial {
                text: Some(String::from_utf8_lossy(&data[..e.valid_up_to()]).into_owned()),
                base64: None,
                size,
                truncated: true,
            },
            Err(_) => Arg::Partial {
                text: None,
                base64: Some(b64(data)),
                size,
                truncated: true,
            },
        }
    }

    /// Short form for summaries: quoted text (cut at 40 characters), or `<N bytes>`.
    pub fn short(&self) -> String {
        match self {
            Arg::Text(s) => quote_short(s, false),
            Arg::Partial {
                text: Some(s),
                size,
                ..
            } => {
                if s.is_empty() {
                    format!("<{size} bytes>")
                } else {
                    quote_short(s, true)
                }
            }
            Arg::Binary { base64 } => {
                // Padded base64: 4 characters per 3 bytes, less one byte per '='.
                let pad = base64.bytes().rev().take_while(|&b| b == b'=').count();
                format!("<{} bytes>", (base64.len() / 4 * 3).saturating_sub(pad))
            }
            Arg::Partial { size, .. } => format!("<{size} bytes>"),
        }
    }

    /// Short form of a request argument: bare when it is a plain token (as in
    /// `SET user:1`; at most 40 printable characters, none a space or a quote),
    /// otherwise as [`Arg::short`] (quoted, cut, or `<N bytes>`).
    pub fn short_token(&self) -> String {
        match self {
            Arg::Text(s)
                if !s.is_empty()
                    && s.len() <= 40
                    && s.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'') =>
            {
                s.clone()
            }
            other => other.short(),
        }
    }

    /// The text when complete UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Arg::Text(s) => Some(s),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Arg::Text(s) => Value::String(s.clone()),
            // Serialising our own derive into a Value cannot fail (string keys only).
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        }
    }
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// `s` quoted, cut at 40 characters with `…` (also when `cut` says it was already cut).
pub(crate) fn quote_short(s: &str, cut: bool) -> String {
    const MAX: usize = 40;
    let mut out = String::with_capacity(s.len().min(MAX * 4) + 4);
    out.push('"');
    let mut more = cut;
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            more = true;
            break;
        }
        out.push(c);
    }
    if more {
        out.push('…');
    }
    out.push('"');
    out
}

/// Aggregate kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggKind {
    Array,
    Map,
    Set,
    Attribute,
    Push,
}

/// Bulk-like kinds (length-prefixed payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BulkKind {
    Bulk,
    Error,
    Verbatim,
}

/// A decoded value. Aggregates keep at most the elements the caps allowed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Simple(String),
    Error(String),
    Int(i64),
    Blob {
        kind: BulkKind,
        data: Vec<u8>,
        size: u64,
    },
    Null,
    Bool(bool),
    Double(f64),
    Big(String),
    Agg {
        kind: AggKind,
        items: Vec<Node>,
        /// Elements announced (for maps and attributes: pairs).
        total: u64,
    },
    /// An element parsed but not kept (caps).
    Skipped,
}

impl Node {
    pub(crate) fn reply_type(&self) -> ReplyType {
        match self {
            Node::Simple(_) => ReplyType::Simple,
            Node::Error(_) => ReplyType::Error,
            Node::Int(_) => ReplyType::Integer,
            Node::Blob { kind, .. } => match kind {
                BulkKind::Bulk => ReplyType::Bulk,
                BulkKind::Error => ReplyType::BulkError,
                BulkKind::Verbatim => ReplyType::Verbatim,
            },
            Node::Null | Node::Skipped => ReplyType::Null,
            Node::Bool(_) => ReplyType::Boolean,
            Node::Double(_) => ReplyType::Double,
            Node::Big(_) => ReplyType::BigNumber,
            Node::Agg { kind, .. } => match kind {
                AggKind::Array => ReplyType::Array,
                AggKind::Map => ReplyType::Map,
                AggKind::Set => ReplyType::Set,
                AggKind::Attribute => ReplyType::Attribute,
                AggKind::Push => ReplyType::Push,
            },
        }
    }

    /// The value as an argument (text form of scalars, bulk bytes as they are).
    pub(crate) fn to_arg(&self) -> Arg {
        match self {
            Node::Blob { data, size, .. } => blob_arg(self, data, *size),
            Node::Simple(s) | Node::Error(s) | Node::Big(s) => Arg::Text(s.clone()),
            Node::Int(i) => Arg::Text(i.to_string()),
            Node::Double(d) => Arg::Text(d.to_string()),
            Node::Bool(b) => Arg::Text(b.to_string()),
            Node::Null | Node::Skipped | Node::Agg { .. } => Arg::Text(String::new()),
        }
    }

    /// Text of a string-like value (complete or not), for classification.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Node::Simple(s) => Some(s),
            Node::Blob {
                kind: BulkKind::Bulk,
                data,
                ..
            } => std::str::from_utf8(data).ok(),
            _ => None,
        }
    }

    /// The JSON rendering (depth is bounded by the parser's nesting cap).
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Node::Simple(s) | Node::Error(s) | Node::Big(s) => Value::String(s.clone()),
            Node::Int(i) => Value::Number((*i).into()),
            Node::Blob { data, size, .. } => blob_arg(self, data, *size).to_json(),
            Node::Null | Node::Skipped => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Double(d) => match Number::from_f64(*d) {
                Some(n) => Value::Number(n),
                None => Value::String(d.to_string()),
            },
            Node::Agg { kind, items, total } => match kind {
                AggKind::Map | AggKind::Attribute => {
                    let mut m = Map::new();
                    let mut pairs = 0u64;
                    for pair in items.chunks(2) {
                        match pair {
                            [Node::Skipped, _] | [_, Node::Skipped] => {}
                            [k, v] => {
                                m.insert(key_string(k), v.to_json());
                                pairs += 1;
                            }
                            _ => {}
                        }
                    }
                    if pairs < *total {
                        m.insert("…".into(), Value::String(format!("{} more", total - pairs)));
                    }
                    Value::Object(m)
                }
                _ => {
                    let kept = items.len() as u64;
                    let mut v: Vec<Value> = items.iter().map(Node::to_json).collect();
                    if kept < *total {
                        v.push(Value::String(format!("… {} more", total - kept)));
                    }
                    Value::Array(v)
                }
            },
        }
    }
}

fn blob_arg(n: &Node, data: &[u8], size: u64) -> Arg {
    let body = verbatim_body(n, data);
    let skipped = (data.len() - body.len()) as u64;
    Arg::from_bytes(body, size.saturating_sub(skipped))
}

/// Verbatim strings carry a 3-letter format and a colon before the text.
fn verbatim_body<'a>(n: &Node, data: &'a [u8]) -> &'a [u8] {
    match n {
        Node::Blob {
            kind: BulkKind::Verbatim,
            ..
        } if data.len() >= 4 && data[3] == b':' => &data[4..],
        _ => data,
    }
}

fn key_string(k: &Node) -> String {
    match k.to_json() {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_forms() {
        assert_eq!(Arg::from_bytes(b"abc", 3), Arg::Text("abc".into()));
        assert_eq!(
            serde_json::to_value(Arg::from_bytes(&[0xff, 0], 2)).unwrap(),
            serde_json::json!({"base64": "/wA="})
        );
        // "é" is c3 a9: a prefix ending after c3 keeps the text before it.
        assert_eq!(
            serde_json::to_value(Arg::from_bytes(&[b'a', 0xc3], 10)).unwrap(),
            serde_json::json!({"text": "a", "size": 10, "truncated": true})
        );
    }
}
