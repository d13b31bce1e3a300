//! GraphQL found in HTTP exchanges (HTTP/1 and HTTP/2): which requests carry
//! operations, and the results their responses give. Cheap checks come first, so
//! ordinary HTTP traffic never pays for JSON parsing.

use crate::drive::{Io, NewEntry};
use crate::entry::{Request, Response};
use ks_proto_graphql::{GraphqlConfig, Operation, ResultSummary};
use memchr::memmem;

/// Operations of a request, and the results of its response when they parse.
pub(crate) type Found = (Vec<Operation>, Option<Vec<ResultSummary>>);

/// The operations a request carries (a batch gives several); `None` for plain HTTP.
/// `body` holds the kept bytes of a body of `size` bytes: a cut body is not parsed.
pub(crate) fn request_ops(
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
    size: u64,
    cfg: &GraphqlConfig,
) -> Option<Vec<Operation>> {
    if method.eq_ignore_ascii_case("GET") {
        if !target.contains("query=") {
            return None;
        }
        return ks_proto_graphql::parse_get_target(target, cfg).map(|op| vec![op]);
    }
    if !method.eq_ignore_ascii_case("POST") || body.is_empty() || (body.len() as u64) < size {
        return None;
    }
    // No lower-cased copy per request: compare in place.
    let ct = content_type.unwrap_or("").as_bytes();
    let graphql_body = ct.len() >= 19 && ct[..19].eq_ignore_ascii_case(b"application/graphql");
    let json = ct.is_empty() || ct.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"));
    let json_query = json && memmem::find(body, b"\"query\"").is_some();
    if !(graphql_body || json_query) {
        return None;
    }
    ks_proto_graphql::parse_request_body(content_type, body, cfg).filter(|ops| !ops.is_empty())
}

/// The results of a response body (one per operation of a batch).
pub(crate) fn results(body: &[u8], size: u64, cfg: &GraphqlConfig) -> Option<Vec<ResultSummary>> {
    if body.is_empty() || (body.len() as u64) < size {
        return None;
    }
    ks_proto_graphql::parse_response_body(body, cfg)
}

/// `query GetUser`, `mutation (anonymous) 200  2 errors`.
pub(crate) fn summary(
    op: &Operation,
    result: Option<&ResultSummary>,
    resp: Option<&Response>,
) -> String {
    let mut s = format!(
        "{} {}",
        op.operation_type,
        op.operation_name.as_deref().unwrap_or("(anonymous)")
    );
    if let Some(Response::Http(r)) = resp {
        s.push_str(&format!(" {}", r.status));
    }
    if let Some(r) = result {
        if r.errors_count > 0 {
            s.push_str(&format!("  {} errors", r.errors_count));
        }
    }
    s
}

/// Emit an HTTP exchange that carries GraphQL as one `graphql` entry per operation
/// (a batch gives several, each with the result at its index); `base` is the
/// exchange's entry as plain HTTP would have it.
pub(crate) fn emit_operations(io: &mut Io<'_, '_>, base: NewEntry, (ops, results): Found) {
    for (i, op) in ops.into_iter().enumerate() {
        let mut e = base.clone();
        let result = results.as_ref().and_then(|r| r.get(i)).cloned();
        e.protocol = "graphql";
        e.summary = summary(&op, result.as_ref(), e.response.as_ref());
        if let Some(Request::Http(r)) = &mut e.request {
            r.graphql = Some(op);
        }
        if let Some(Response::Http(r)) = &mut e.response {
            r.graphql = result;
        }
        io.emit(e);
    }
}
