//! `ks-proto-graphql` on arbitrary bytes: byte 0 picks the content type given to
//! `parse_request_body` (none, JSON, `application/graphql`) and scales the caps;
//! the rest goes to `parse_request_body`, `parse_get_target` (as lossy UTF-8, also
//! behind `/graphql?query=`), `parse_response_body` and `parse_ws_message`.
//!
//! Checks: nothing panics or overflows the stack; operations and results per batch
//! within `max_operations`, queries within `max_query_shown`, error messages within
//! their caps; a JSON body and the same document as `application/graphql` agree on
//! whether the document is GraphQL; outputs serialise to JSON.
#![no_main]

use ks_proto_graphql::{
    parse_get_target, parse_request_body, parse_response_body, parse_ws_message, GraphqlConfig,
    Operation, MAX_ERRORS_SHOWN, MAX_ERROR_MESSAGE,
};
use libfuzzer_sys::fuzz_target;

fn check_op(op: &Operation, cfg: &GraphqlConfig) {
    assert!(op.query.len() <= cfg.max_query_shown);
    assert!(matches!(
        op.operation_type,
        "query" | "mutation" | "subscription"
    ));
    serde_json::to_string(op).unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cfg = GraphqlConfig {
        max_query_shown: 1 + usize::from(sel >> 2) * 16,
        max_operations: 1 + usize::from(sel >> 5),
        max_depth: 4 + usize::from(sel >> 3 & 15) * 4,
    };
    let ct = [
        None,
        Some("application/json"),
        Some("application/graphql"),
        None,
    ][usize::from(sel & 3)];
    if let Some(ops) = parse_request_body(ct, rest, &cfg) {
        assert!(!ops.is_empty() && ops.len() <= cfg.max_operations);
        ops.iter().for_each(|op| check_op(op, &cfg));
    }
    let text = String::from_utf8_lossy(rest);
    if let Some(op) = parse_get_target(&text, &cfg) {
        check_op(&op, &cfg);
    }
    let direct = parse_request_body(Some("application/graphql"), text.as_bytes(), &cfg);
    let via_json = serde_json::json!({ "query": text }).to_string();
    let json = parse_request_body(None, via_json.as_bytes(), &cfg);
    assert_eq!(direct.is_some(), json.is_some());
    let get = format!(
        "/graphql?query={}",
        text.replace('%', "%25")
            .replace('&', "%26")
            .replace('+', "%2B")
            .replace('#', "%23")
    );
    assert_eq!(parse_get_target(&get, &cfg).is_some(), direct.is_some());
    if let Some(rs) = parse_response_body(rest, &cfg) {
        assert!(!rs.is_empty() && rs.len() <= cfg.max_operations);
        for r in &rs {
            assert!(r.errors.len() <= MAX_ERRORS_SHOWN && r.errors.len() as u64 <= r.errors_count);
            assert!(r.errors.iter().all(|e| e.len() <= MAX_ERROR_MESSAGE));
        }
        serde_json::to_string(&rs).unwrap();
    }
    if let Some(m) = parse_ws_message(rest, &cfg) {
        assert!(!(m.starts() && m.ends()));
        if let Some(op) = &m.operation {
            check_op(op, &cfg);
        }
        serde_json::to_string(&m).unwrap();
    }
});
