//! Inputs follow the GraphQL spec (October 2021: executable documents, shorthand
//! query), "GraphQL over HTTP" (POST JSON body, `application/graphql`, GET
//! parameters) and the two WebSocket subprotocol specs (`graphql-transport-ws`:
//! enisdenjo/graphql-ws PROTOCOL.md; `graphql-ws`: apollographql
//! subscriptions-transport-ws PROTOCOL.md).

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn cfg() -> GraphqlConfig {
    GraphqlConfig::default()
}

fn one(body: &str) -> Operation {
    let mut ops = parse_request_body(Some("application/json"), body.as_bytes(), &cfg())
        .unwrap_or_else(|| panic!("not GraphQL: {body}"));
    assert_eq!(ops.len(), 1);
    ops.remove(0)
}

#[test]
fn operation_types() {
    let op = one(r#"{"query":"query Hero { hero { name } }"}"#);
    assert_eq!(
        op,
        Operation {
            operation_type: "query",
            operation_name: Some("Hero".into()),
            query: "query Hero { hero { name } }".into(),
            query_truncated: false,
            variables: None,
        }
    );
    let op = one(r#"{"query":"mutation { like(id: 1) { count } }"}"#);
    assert_eq!((op.operation_type, op.operation_name), ("mutation", None));
    let op = one(r#"{"query":"subscription OnMsg { messages { text } }"}"#);
    assert_eq!(op.operation_type, "subscription");
    assert_eq!(op.operation_name.as_deref(), Some("OnMsg"));
    // Shorthand: a query without a name.
    let op = one(r#"{"query":"{ me { id } }"}"#);
    assert_eq!((op.operation_type, op.operation_name), ("query", None));
}

#[test]
fn variables_and_operation_name() {
    let body = r#"{
        "query": "query Q($id: ID!) { user(id: $id) { name } }",
        "operationName": "Q",
        "variables": {"id": "42", "opts": [1, 2, {"x": null}]},
        "extensions": {"persistedQuery": {"version": 1}}
    }"#;
    let op = one(body);
    assert_eq!(op.operation_name.as_deref(), Some("Q"));
    assert_eq!(
        op.variables,
        Some(json!({"id": "42", "opts": [1, 2, {"x": null}]}))
    );
    // null variables / operationName are absent.
    let op = one(r#"{"query":"{a}","variables":null,"operationName":null}"#);
    assert_eq!((op.variables, op.operation_name), (None, None));
    // Escapes in the query string.
    let op = one(r#"{"query":"query A { f(s: \"x\\ny\") }"}"#);
    assert_eq!(op.query, "query A { f(s: \"x\\ny\") }");
}

#[test]
fn several_operations_picked_by_name() {
    let doc = "query A { a } mutation B { b } subscription C { c } fragment F on T { x }";
    let body = |name: &str| json!({"query": doc, "operationName": name}).to_string();
    let op = one(&body("B"));
    assert_eq!(
        (op.operation_type, op.operation_name.as_deref()),
        ("mutation", Some("B"))
    );
    let op = one(&body("C"));
    assert_eq!(op.operation_type, "subscription");
    // Without operationName the name is ambiguous; the type is the first one's.
    let op = one(&json!({ "query": doc }).to_string());
    assert_eq!((op.operation_type, op.operation_name), ("query", None));
}

#[test]
fn batch() {
    let body = r#"[{"query":"query A { a }"},{"query":"mutation B($v: Int) { b(v: $v) }","variables":{"v":1}}]"#;
    let ops = parse_request_body(None, body.as_bytes(), &cfg()).unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0].operation_name.as_deref(), Some("A"));
    assert_eq!(ops[1].operation_type, "mutation");
    assert_eq!(ops[1].variables, Some(json!({"v": 1})));
    // Capped: only max_operations listed, the rest only checked to be JSON.
    let c = GraphqlConfig {
        max_operations: 1,
        ..cfg()
    };
    let ops = parse_request_body(None, body.as_bytes(), &c).unwrap();
    assert_eq!(ops.len(), 1);
    // One non-GraphQL entry: the batch is not GraphQL. Empty batch neither.
    let bad = r#"[{"query":"{ a }"},{"query":"select 1"}]"#;
    assert_eq!(parse_request_body(None, bad.as_bytes(), &cfg()), None);
    assert_eq!(parse_request_body(None, b"[]", &cfg()), None);
    assert_eq!(parse_request_body(None, b"[1,2]", &cfg()), None);
}

#[test]
fn application_graphql_body() {
    let ops = parse_request_body(
        Some("application/graphql; charset=utf-8"),
        b"mutation M { m }",
        &cfg(),
    )
    .unwrap();
    assert_eq!(ops[0].operation_type, "mutation");
    assert_eq!(ops[0].operation_name.as_deref(), Some("M"));
    assert_eq!(ops[0].query, "mutation M { m }");
    assert_eq!(
        parse_request_body(Some("Application/GraphQL"), b"not graphql", &cfg()),
        None
    );
}

#[test]
fn not_graphql() {
    for body in [
        &br#"{"query": "select * from t"}"#[..],
        br#"{"query": "hello"}"#,
        br#"{"query": ""}"#,
        br#"{"query": "{}"}"#,
        br#"{"query": 5}"#,
        br#"{"q": "{ a }"}"#,
        br#"{"variables": {}}"#,
        br#"{"query": "type Query { a: Int }"}"#,
        br#"{"query": "{ a } type Query { a: Int }"}"#,
        br#"{"query": "fragment F on T { a }"}"#,
        br#"{"query": "{ a "}"#,
        br#"{"query": "{ a }""#,
        br#"{"query": "{ a }"} trailing"#,
        b"{ a }",
        b"",
        b"   ",
        b"null",
        b"\xff\xfe",
    ] {
        assert_eq!(
            parse_request_body(Some("application/json"), body, &cfg()),
            None,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn query_cut_at_max_query_shown() {
    let c = GraphqlConfig {
        max_query_shown: 9,
        ..cfg()
    };
    let op = &parse_request_body(None, r#"{"query":"{ a(s: \"é\") }"}"#.as_bytes(), &c).unwrap()[0];
    // `{ a(s: "` is 8 bytes, `é` bytes 8..10: a 9-byte cut falls inside it.
    assert_eq!(op.query, "{ a(s: \"");
    assert!(op.query_truncated);
    let j = serde_json::to_value(op).unwrap();
    assert_eq!(j["query_truncated"], json!(true));
    let op = one(r#"{"query":"{ a }"}"#);
    let j = serde_json::to_value(&op).unwrap();
    assert_eq!(
        j,
        json!({"operation_type": "query", "operation_name": null, "query": "{ a }"})
    );
}

#[test]
fn get_targets() {
    // query={me{id}} with operationName and variables, URL-encoded.
    let t = "/graphql?query=query%20Me(%24x%3A%20Int)%20%7B%20me(x%3A%20%24x)%20%7B%20id%20%7D%20%7D&operationName=Me&variables=%7B%22x%22%3A1%7D";
    let op = parse_get_target(t, &cfg()).unwrap();
    assert_eq!(op.query, "query Me($x: Int) { me(x: $x) { id } }");
    assert_eq!(op.operation_name.as_deref(), Some("Me"));
    assert_eq!(op.operation_type, "query");
    assert_eq!(op.variables, Some(json!({"x": 1})));
    // `+` is a space.
    let op = parse_get_target("/g?query=query+Q+{+a+}", &cfg()).unwrap();
    assert_eq!(op.query, "query Q { a }");
    assert_eq!(op.operation_name.as_deref(), Some("Q"));
    // Variables that are not JSON stay as text; empty ones are absent.
    let op = parse_get_target("/g?query={a}&variables=oops&operationName=", &cfg()).unwrap();
    assert_eq!(op.variables, Some(json!("oops")));
    assert_eq!(op.operation_name, None);
    for no in [
        "/graphql",
        "/graphql?",
        "/graphql?q={a}",
        "/search?query=select+*+from+t",
        "/search?query=cats",
        "/g?query=%ZZ",
    ] {
        assert_eq!(parse_get_target(no, &cfg()), None, "{no}");
    }
}

#[test]
fn responses() {
    let r = parse_response_body(
        br#"{"data": {"hero": {"name": "R2-D2"}}, "errors": [{"message": "Name for character with ID 1002 could not be fetched.", "locations": [{"line": 6, "column": 7}], "path": ["hero", "heroFriends", 1, "name"]}]}"#,
        &cfg(),
    )
    .unwrap();
    assert_eq!(
        r,
        vec![ResultSummary {
            data_size: Some(r#"{"hero": {"name": "R2-D2"}}"#.len() as u64),
            errors_count: 1,
            errors: vec!["Name for character with ID 1002 could not be fetched.".into()],
        }]
    );
    // data null: no size; errors only.
    let r = parse_response_body(
        br#"{"data":null,"errors":[{"message":"a"},{"x":1},"s"]}"#,
        &cfg(),
    )
    .unwrap();
    assert_eq!(
        r[0],
        ResultSummary {
            data_size: None,
            errors_count: 3,
            errors: vec!["a".into(), String::new(), String::new()],
        }
    );
    let r = parse_response_body(br#"{"data":{"a":1}}"#, &cfg()).unwrap();
    assert_eq!(
        r[0],
        ResultSummary {
            data_size: Some(7),
            errors_count: 0,
            errors: vec![]
        }
    );
    // Batch.
    let r = parse_response_body(
        br#"[{"data":{"a":1}},{"errors":[{"message":"b"}]}]"#,
        &cfg(),
    )
    .unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].errors, ["b"]);
    for no in [
        &br#"{"result": 1}"#[..],
        b"[]",
        b"[1]",
        b"{",
        b"42",
        b"",
        br#"[{"data":1},{"x":2}]"#,
    ] {
        assert_eq!(
            parse_response_body(no, &cfg()),
            None,
            "{}",
            String::from_utf8_lossy(no)
        );
    }
}

#[test]
fn many_errors_counted_few_kept() {
    let errs: Vec<_> = (0..100)
        .map(|i| json!({"message": format!("e{i}")}))
        .collect();
    let long = "x".repeat(5000);
    let body = json!({"errors": errs, "data": {"long": long}}).to_string();
    let r = parse_response_body(body.as_bytes(), &cfg()).unwrap();
    assert_eq!(r[0].errors_count, 100);
    assert_eq!(r[0].errors.len(), MAX_ERRORS_SHOWN);
    assert_eq!(r[0].errors[15], "e15");
    let body = json!({"errors": [{"message": long}]}).to_string();
    let r = parse_response_body(body.as_bytes(), &cfg()).unwrap();
    assert_eq!(r[0].errors[0].len(), MAX_ERROR_MESSAGE);
}

#[test]
fn ws_graphql_transport_ws() {
    let c = cfg();
    let m = parse_ws_message(br#"{"type":"connection_init","payload":{"token":"t"}}"#, &c).unwrap();
    assert_eq!(
        (m.kind.as_str(), m.starts(), m.ends()),
        ("connection_init", false, false)
    );
    for k in ["connection_ack", "ping", "pong"] {
        let m = parse_ws_message(format!(r#"{{"type":"{k}"}}"#).as_bytes(), &c).unwrap();
        assert_eq!(m.kind, k);
    }
    let m = parse_ws_message(
        br#"{"id":"1","type":"subscribe","payload":{"query":"subscription S { tick }","variables":{},"extensions":{}}}"#,
        &c,
    )
    .unwrap();
    assert!(m.starts() && !m.ends());
    assert_eq!(m.id.as_deref(), Some("1"));
    let op = m.operation.unwrap();
    assert_eq!(
        (op.operation_type, op.operation_name.as_deref()),
        ("subscription", Some("S"))
    );
    assert_eq!(op.variables, Some(json!({})));

    let m = parse_ws_message(
        br#"{"id":"1","type":"next","payload":{"data":{"tick":1}}}"#,
        &c,
    )
    .unwrap();
    assert_eq!(
        m.result,
        Some(ResultSummary {
            data_size: Some(10),
            errors_count: 0,
            errors: vec![]
        })
    );
    let m = parse_ws_message(
        br#"{"id":"1","type":"error","payload":[{"message":"bad"},{"message":"worse"}]}"#,
        &c,
    )
    .unwrap();
    assert!(m.ends());
    assert_eq!(m.result.unwrap().errors, ["bad", "worse"]);
    let m = parse_ws_message(br#"{"id":"1","type":"complete"}"#, &c).unwrap();
    assert!(m.ends() && m.operation.is_none() && m.result.is_none());
}

#[test]
fn ws_graphql_ws_legacy() {
    let c = cfg();
    let m = parse_ws_message(
        br#"{"id":7,"type":"start","payload":{"query":"query Q { a }","operationName":"Q","variables":null}}"#,
        &c,
    )
    .unwrap();
    assert!(m.starts());
    assert_eq!(m.id.as_deref(), Some("7"));
    assert_eq!(m.operation.unwrap().operation_name.as_deref(), Some("Q"));
    let m = parse_ws_message(
        br#"{"id":"7","type":"data","payload":{"data":null,"errors":[{"message":"x"}]}}"#,
        &c,
    )
    .unwrap();
    assert_eq!(m.result.unwrap().errors_count, 1);
    let m = parse_ws_message(
        br#"{"id":"7","type":"error","payload":{"message":"syntax"}}"#,
        &c,
    )
    .unwrap();
    assert_eq!(m.result.unwrap().errors, ["syntax"]);
    for k in ["ka", "stop", "connection_terminate"] {
        let m = parse_ws_message(format!(r#"{{"type":"{k}","id":"7"}}"#).as_bytes(), &c).unwrap();
        assert_eq!(m.kind, k);
        assert_eq!(m.ends(), k == "stop");
    }
    // A start whose query is not GraphQL: still the message, no operation.
    let m = parse_ws_message(
        br#"{"id":"8","type":"start","payload":{"query":"nope"}}"#,
        &c,
    )
    .unwrap();
    assert_eq!(m.operation, None);
    for no in [
        &br#"{"type":"hello"}"#[..],
        br#"{"id":"1"}"#,
        br#"["type"]"#,
        b"type",
        br#"{"type":1}"#,
    ] {
        assert_eq!(
            parse_ws_message(no, &c),
            None,
            "{}",
            String::from_utf8_lossy(no)
        );
    }
}

#[test]
fn deep_nesting_does_not_crash() {
    // 100k-deep selection sets, list values and JSON.
    let n = 100_000;
    let doc = format!("{}{}", "{a".repeat(n), "}".repeat(n));
    assert_eq!(
        parse_request_body(Some("application/graphql"), doc.as_bytes(), &cfg()),
        None
    );
    let body = json!({ "query": doc }).to_string();
    assert_eq!(parse_request_body(None, body.as_bytes(), &cfg()), None);
    let open = "{".repeat(n);
    assert_eq!(
        parse_request_body(Some("application/graphql"), open.as_bytes(), &cfg()),
        None
    );
    let list = format!("{{ f(a: {}) }}", "[".repeat(n));
    assert_eq!(
        parse_request_body(Some("application/graphql"), list.as_bytes(), &cfg()),
        None
    );
    let json_deep = format!("{{\"query\":\"{{a}}\",\"variables\":{}", "[".repeat(n));
    assert_eq!(parse_request_body(None, json_deep.as_bytes(), &cfg()), None);
    let resp = format!("{{\"data\":{}{}}}", "[".repeat(n), "]".repeat(n));
    // `data` is skipped as raw JSON text (serde_json does that without recursion).
    let r = parse_response_body(resp.as_bytes(), &cfg()).unwrap();
    assert_eq!(r[0].data_size, Some(2 * n as u64));
    let resp = format!("{{\"data\":{{\"a\":{}}}}}", "[".repeat(n));
    assert_eq!(parse_response_body(resp.as_bytes(), &cfg()), None);
    assert_eq!(parse_ws_message(resp.as_bytes(), &cfg()), None);
    let get = format!("/g?query={}", "%7B".repeat(n));
    assert_eq!(parse_get_target(&get, &cfg()), None);
    // Within the limit it parses.
    let d = 30;
    let doc = format!("{}{}", "{a".repeat(d), "}".repeat(d));
    assert!(parse_request_body(Some("application/graphql"), doc.as_bytes(), &cfg()).is_some());
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let c = GraphqlConfig { max_query_shown: 16, max_operations: 2, max_depth: 8 };
        for ct in [None, Some("application/graphql")] {
            if let Some(ops) = parse_request_body(ct, &data, &c) {
                prop_assert!(!ops.is_empty() && ops.len() <= c.max_operations);
                for op in ops {
                    prop_assert!(op.query.len() <= c.max_query_shown);
                }
            }
        }
        let s = String::from_utf8_lossy(&data);
        let _ = parse_get_target(&s, &c);
        if let Some(r) = parse_response_body(&data, &c) {
            prop_assert!(r.len() <= c.max_operations);
            for s in r { prop_assert!(s.errors.len() <= MAX_ERRORS_SHOWN); }
        }
        let _ = parse_ws_message(&data, &c);
    }

    #[test]
    fn graphqlish_input_never_panics(parts in proptest::collection::vec(
        prop::sample::select(vec!["{", "}", "[", "]", "(", ")", "a", ":", "$v", "query", "mutation",
            "subscription", "fragment", "...", "on", "\"s\"", "1", "@d", "!", " ", "#c\n", "=", "\\"]),
        0..200)) {
        let doc: String = parts.concat();
        let c = GraphqlConfig { max_depth: 6, ..cfg() };
        let _ = parse_request_body(Some("application/graphql"), doc.as_bytes(), &c);
        let body = json!({"query": doc}).to_string();
        let a = parse_request_body(None, body.as_bytes(), &c);
        let b = parse_request_body(Some("application/graphql"), doc.as_bytes(), &c);
        prop_assert_eq!(a, b);
        let _ = parse_response_body(doc.as_bytes(), &c);
        let _ = parse_ws_message(doc.as_bytes(), &c);
    }
}
