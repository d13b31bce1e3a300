//! GraphQL operations and results from HTTP and WebSocket payloads.
//!
//! Message-level helpers: the engine has already reassembled an HTTP exchange or a
//! WebSocket message and asks whether it carries GraphQL, and what.
//!
//! ```
//! use ks_proto_graphql::{parse_request_body, parse_response_body, GraphqlConfig};
//!
//! let cfg = GraphqlConfig::default();
//! let body = br#"{"query":"mutation Add($n: Int) { add(n: $n) { id } }","variables":{"n":1}}"#;
//! let ops = parse_request_body(Some("application/json"), body, &cfg).unwrap();
//! assert_eq!(ops[0].operation_type, "mutation");
//! assert_eq!(ops[0].operation_name.as_deref(), Some("Add"));
//! assert_eq!(ops[0].variables, Some(serde_json::json!({"n": 1})));
//!
//! // JSON with a `query` key that is not a GraphQL document stays plain HTTP.
//! assert_eq!(parse_request_body(None, br#"{"query":"select * from t"}"#, &cfg), None);
//!
//! let res = parse_response_body(br#"{"data":{"add":null},"errors":[{"message":"nope"}]}"#, &cfg).unwrap();
//! assert_eq!((res[0].data_size, res[0].errors_count), (Some(12), 1));
//! assert_eq!(res[0].errors, ["nope"]);
//! ```
//!
//! Design, caps and what is not supported: `docs/graphql.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::fmt;

use apollo_parser::cst::{self, Definition};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Error messages kept per result.
pub const MAX_ERRORS_SHOWN: usize = 16;
/// Bytes of one error message kept (cut at a char boundary).
pub const MAX_ERROR_MESSAGE: usize = 1024;
/// Tokens a GraphQL document may have; longer documents are not parsed (the
/// parser's syntax tree costs memory per token).
pub const MAX_TOKENS: usize = 250_000;

/// Limits of the helpers.
#[derive(Clone, Debug)]
pub struct GraphqlConfig {
    /// Bytes of the document text kept in [`Operation::query`] (cut at a char
    /// boundary, `query_truncated` set).
    pub max_query_shown: usize,
    /// Operations (requests) or results listed per batch; the rest are ignored.
    pub max_operations: usize,
    /// GraphQL nesting accepted (selection sets, list/object values); deeper
    /// documents are not GraphQL for these helpers. JSON nesting is limited by
    /// serde_json (128).
    pub max_depth: usize,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        GraphqlConfig {
            max_query_shown: 16 << 10,
            max_operations: 100,
            max_depth: 64,
        }
    }
}

/// One GraphQL operation request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Operation {
    /// `query`, `mutation` or `subscription` (the shorthand `{ ... }` is a query).
    pub operation_type: &'static str,
    /// The `operationName` field when given, else the name of the (single)
    /// operation in the document.
    pub operation_name: Option<String>,
    /// The document text, cut at `max_query_shown` bytes.
    pub query: String,
    /// `query` was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub query_truncated: bool,
    /// The `variables` object (null/absent: None).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<serde_json::Value>,
}

/// Summary of one GraphQL execution result.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResultSummary {
    /// Bytes of the JSON text of `data` when present and non-null.
    pub data_size: Option<u64>,
    /// Entries of `errors`.
    pub errors_count: u64,
    /// `message` of the first [`MAX_ERRORS_SHOWN`] errors (each cut at
    /// [`MAX_ERROR_MESSAGE`] bytes; empty when an error has no string message).
    pub errors: Vec<String>,
}

/// One message of GraphQL over WebSocket (`graphql-transport-ws` or `graphql-ws`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WsMessage {
    /// The `type` value.
    pub kind: String,
    /// The `id` value (numbers shown as text).
    pub id: Option<String>,
    /// The operation of `subscribe` / `start`.
    pub operation: Option<Operation>,
    /// The result of `next` / `data` (payload), or of `error` (its errors).
    pub result: Option<ResultSummary>,
}

/// Message types of `graphql-transport-ws` and `graphql-ws` (both subprotocols),
/// and whether each starts (`Some(true)`) or ends (`Some(false)`) an operation.
const WS_KINDS: &[(&str, Option<bool>)] = &[
    ("connection_init", None),
    ("connection_ack", None),
    ("connection_error", None),
    ("connection_terminate", None),
    ("ping", None),
    ("pong", None),
    ("ka", None),
    ("subscribe", Some(true)),
    ("start", Some(true)),
    ("next", None),
    ("data", None),
    ("error", Some(false)),
    ("complete", Some(false)),
    ("stop", Some(false)),
];

impl WsMessage {
    fn role(&self) -> Option<bool> {
        WS_KINDS
            .iter()
            .find(|(k, _)| *k == self.kind)
            .and_then(|(_, r)| *r)
    }

    /// True for messages that start an operation (`subscribe`, `start`).
    pub fn starts(&self) -> bool {
        self.role() == Some(true)
    }

    /// True for messages that end one (`complete`, `stop`, `error`).
    pub fn ends(&self) -> bool {
        self.role() == Some(false)
    }
}

/// A POST body: `application/json` (an object with a string `query`, or an array of
/// such objects = batch) or `application/graphql` (the body is the document). None
/// when it is not GraphQL: no `query` key, or the query does not parse as a GraphQL
/// executable document. `content_type` None (or another type): tried as JSON.
pub fn parse_request_body(
    content_type: Option<&str>,
    body: &[u8],
    cfg: &GraphqlConfig,
) -> Option<Vec<Operation>> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim();
    if mime.eq_ignore_ascii_case("application/graphql") {
        let doc = std::str::from_utf8(body).ok()?;
        return operation(doc, None, None, cfg).map(|op| vec![op]);
    }
    match first_non_space(body)? {
        b'{' => {
            let req: Request<'_> = serde_json::from_slice(body).ok()?;
            req.into_operation(cfg).map(|op| vec![op])
        }
        b'[' => {
            let reqs = serde_json::Deserializer::from_slice(body);
            let reqs = deserialize_capped::<Request<'_>>(reqs, cfg.max_operations)?;
            if reqs.is_empty() {
                return None;
            }
            // A batch is GraphQL only when every listed entry is.
            reqs.into_iter().map(|r| r.into_operation(cfg)).collect()
        }
        _ => None,
    }
}

/// A GET request target `/graphql?query=...&operationName=...&variables=...`
/// (URL-decoded, `+` as space). None when not GraphQL. `variables` that are not
/// JSON are kept as a JSON string.
pub fn parse_get_target(target: &str, cfg: &GraphqlConfig) -> Option<Operation> {
    let (_, qs) = target.split_once('?')?;
    let qs = qs.split('#').next().unwrap_or("");
    let (mut query, mut name, mut vars) = (None, None, None);
    for pair in qs.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match url_decode(k).as_ref() {
            "query" => &mut query,
            "operationName" => &mut name,
            "variables" => &mut vars,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(url_decode(v));
        }
    }
    let query = query?;
    let name = name.filter(|n| !n.is_empty());
    let variables =
        vars.filter(|v| !v.trim().is_empty()).and_then(|v| {
            match serde_json::from_str::<serde_json::Value>(&v) {
                Ok(serde_json::Value::Null) => None,
                Ok(j) => Some(j),
                Err(_) => Some(serde_json::Value::String(v.into_owned())),
            }
        });
    operation(&query, name.as_deref(), variables, cfg)
}

/// A response body: one object `{data, errors}` or an array of them (batch). None
/// when not a GraphQL result (neither a `data` nor an `errors` key).
pub fn parse_response_body(body: &[u8], cfg: &GraphqlConfig) -> Option<Vec<ResultSummary>> {
    match first_non_space(body)? {
        b'{' => {
            let r: ResultRaw<'_> = serde_json::from_slice(body).ok()?;
            r.summary().map(|s| vec![s])
        }
        b'[' => {
            let rs = serde_json::Deserializer::from_slice(body);
            let rs = deserialize_capped::<ResultRaw<'_>>(rs, cfg.max_operations)?;
            if rs.is_empty() {
                return None;
            }
            rs.into_iter().map(|r| r.summary()).collect()
        }
        _ => None,
    }
}

/// GraphQL over WebSocket: one text message of `graphql-transport-ws`
/// (connection_init, connection_ack, ping, pong, subscribe, next, error, complete)
/// or the older `graphql-ws` (connection_init, connection_ack, ka, start, data,
/// error, complete, stop, connection_terminate, connection_error). None for other
/// JSON, or an unknown `type`.
pub fn parse_ws_message(text: &[u8], cfg: &GraphqlConfig) -> Option<WsMessage> {
    if first_non_space(text)? != b'{' {
        return None;
    }
    let m: WsRaw<'_> = serde_json::from_slice(text).ok()?;
    let &(kind, _) = WS_KINDS.iter().find(|(k, _)| *k == m.kind)?;
    let id = match m.id {
        Some(serde_json::Value::String(s)) => Some(cut(s, MAX_ERROR_MESSAGE).0),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let payload = m.payload.filter(|p| p.get() != "null");
    let (mut operation, mut result) = (None, None);
    match (kind, payload) {
        ("subscribe" | "start", Some(p)) => {
            operation = serde_json::from_str::<Request<'_>>(p.get())
                .ok()
                .and_then(|r| r.into_operation(cfg));
        }
        ("next" | "data", Some(p)) => {
            result = serde_json::from_str::<ResultRaw<'_>>(p.get())
                .ok()
                .and_then(|r| r.summary());
        }
        ("error" | "connection_error", Some(p)) => {
            // graphql-transport-ws: an array of GraphQL errors; graphql-ws: one
            // error object (or any JSON).
            result = match serde_json::from_str::<ErrorsRaw>(p.get()) {
                Ok(e) => Some(e.into()),
                Err(_) => serde_json::from_str::<OneError>(p.get())
                    .ok()
                    .map(|e| ResultSummary {
                        data_size: None,
                        errors_count: 1,
                        errors: vec![e.message],
                    }),
            };
        }
        _ => {}
    }
    Some(WsMessage {
        kind: kind.to_string(),
        id,
        operation,
        result,
    })
}

// ---------------------------------------------------------------------------
// GraphQL documents.

/// The operations of an executable document: (type, name) each. None when the text
/// is not one (syntax error, type-system definitions, no operation, limits hit).
fn document_operations(
    doc: &str,
    cfg: &GraphqlConfig,
) -> Option<Vec<(&'static str, Option<String>)>> {
    let tree = apollo_parser::Parser::new(doc)
        .recursion_limit(cfg.max_depth)
        .token_limit(MAX_TOKENS)
        .parse();
    if tree.errors().len() > 0 {
        return None;
    }
    let mut ops = Vec::new();
    for def in tree.document().definitions() {
        match def {
            Definition::OperationDefinition(op) => {
                ops.push((
                    op_type(op.operation_type()),
                    op.name().map(|n| n.text().to_string()),
                ));
            }
            Definition::FragmentDefinition(_) => {}
            _ => return None,
        }
    }
    (!ops.is_empty()).then_some(ops)
}

fn op_type(t: Option<cst::OperationType>) -> &'static str {
    match t {
        Some(t) if t.mutation_token().is_some() => "mutation",
        Some(t) if t.subscription_token().is_some() => "subscription",
        _ => "query",
    }
}

fn operation(
    doc: &str,
    name: Option<&str>,
    variables: Option<serde_json::Value>,
    cfg: &GraphqlConfig,
) -> Option<Operation> {
    let ops = document_operations(doc, cfg)?;
    let picked = name
        .and_then(|n| ops.iter().find(|(_, on)| on.as_deref() == Some(n)))
        .or(ops.first());
    let operation_type = picked.map_or("query", |(t, _)| t);
    let operation_name = match name {
        Some(n) => Some(n.to_string()),
        None if ops.len() == 1 => ops.into_iter().next().and_then(|(_, n)| n),
        None => None,
    };
    let (query, query_truncated) = cut(doc.to_string(), cfg.max_query_shown);
    Some(Operation {
        operation_type,
        operation_name,
        query,
        query_truncated,
        variables,
    })
}

// ---------------------------------------------------------------------------
// JSON shapes.

/// A request object. Unknown keys (extensions, ...) are ignored; a non-string
/// `query` fails the whole object.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    query: Option<Cow<'a, str>>,
    #[serde(rename = "operationName", borrow, default)]
    operation_name: Option<Cow<'a, str>>,
    #[serde(default)]
    variables: Option<serde_json::Value>,
}

impl Request<'_> {
    fn into_operation(self, cfg: &GraphqlConfig) -> Option<Operation> {
        let vars = self.variables.filter(|v| !v.is_null());
        operation(&self.query?, self.operation_name.as_deref(), vars, cfg)
    }
}

/// A result object; `data` / `errors` are `Some(None)` when present but null.
#[derive(Deserialize)]
struct ResultRaw<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<Option<&'a RawValue>>,
    #[serde(default, deserialize_with = "present")]
    errors: Option<Option<ErrorsRaw>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl ResultRaw<'_> {
    fn summary(self) -> Option<ResultSummary> {
        if self.data.is_none() && self.errors.is_none() {
            return None;
        }
        let mut s = self
            .errors
            .flatten()
            .map(ResultSummary::from)
            .unwrap_or_default();
        s.data_size = self.data.flatten().map(|d| d.get().len() as u64);
        Some(s)
    }
}

/// An `errors` array: counted whole, the first messages kept.
struct ErrorsRaw {
    count: u64,
    messages: Vec<String>,
}

impl From<ErrorsRaw> for ResultSummary {
    fn from(e: ErrorsRaw) -> Self {
        ResultSummary {
            data_size: None,
            errors_count: e.count,
            errors: e.messages,
        }
    }
}

impl<'de> Deserialize<'de> for ErrorsRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorsRaw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of errors")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorsRaw, A::Error> {
                let mut e = ErrorsRaw {
                    count: 0,
                    messages: Vec::new(),
                };
                loop {
                    if e.messages.len() < MAX_ERRORS_SHOWN {
                        match seq.next_element::<Lenient<OneError>>()? {
                            Some(Lenient(m)) => {
                                e.messages.push(m.map(|m| m.message).unwrap_or_default())
                            }
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    e.count += 1;
                }
                Ok(e)
            }
        }
        d.deserialize_seq(V)
    }
}

/// One error object: only its `message` (cut) matters.
struct OneError {
    message: String,
}

impl<'de> Deserialize<'de> for OneError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct E<'a> {
            #[serde(borrow, default)]
            message: Lenient<Cow<'a, str>>,
        }
        let e = E::deserialize(d)?;
        let message = e
            .message
            .0
            .map(|m| cut(m.into_owned(), MAX_ERROR_MESSAGE).0);
        Ok(OneError {
            message: message.unwrap_or_default(),
        })
    }
}

/// A value of the expected shape, or None for any other JSON value (skipped).
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Buffer the value as raw JSON text, then try the shape: a mismatch must not
        // fail the enclosing array.
        let raw = <&RawValue>::deserialize(d);
        match raw {
            Ok(r) => Ok(Lenient(serde_json::from_str::<T>(r.get()).ok())),
            Err(e) => Err(e),
        }
    }
}

#[derive(Deserialize)]
struct WsRaw<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

/// Deserializes a JSON array keeping its first `cap` elements; the rest are skipped
/// unparsed (only checked to be JSON).
fn deserialize_capped<'de, T: Deserialize<'de>>(
    mut d: serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
    cap: usize,
) -> Option<Vec<T>> {
    struct Capped<T>(usize, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Capped<T> {
        type Value = Vec<T>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Capped<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut v = Vec::new();
            while v.len() < self.0 {
                match seq.next_element()? {
                    Some(x) => v.push(x),
                    None => return Ok(v),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(v)
        }
    }
    let v = Capped::<T>(cap, std::marker::PhantomData)
        .deserialize(&mut d)
        .ok()?;
    d.end().ok()?;
    Some(v)
}

// ---------------------------------------------------------------------------
// Small helpers.

fn first_non_space(b: &[u8]) -> Option<u8> {
    b.iter().copied().find(|c| !c.is_ascii_whitespace())
}

/// Cuts `s` to at most `max` bytes at a char boundary; true when it was cut.
fn cut(mut s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    (s, true)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte;
/// malformed escapes kept; invalid UTF-8 replaced.
fn url_decode(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
                if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                    out.push((h << 4 | l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests;
