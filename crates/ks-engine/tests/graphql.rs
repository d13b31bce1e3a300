//! GraphQL entries of `testdata/pcap/graphql/ks_graphql_strawberry.pcap` (made by
//! `testdata/captures/gql_demo.py`) checked against tshark's JSON dissection of
//! the same capture (`json.member_with_value`: the `query`, `operationName` and
//! error `message` members of each request and response) and against the
//! scenario the script ran (which request is deliberately not GraphQL, how many
//! results the subscription sent).

use ks_capture::FileSource;
use ks_engine::{Dissector, EngineConfig, Entry, Output, Request, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const CAPTURE: &str = "../../testdata/pcap/graphql/ks_graphql_strawberry";

fn entries() -> Vec<Entry> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = FileSource::open(dir.join(format!("{CAPTURE}.pcap"))).unwrap();
    Dissector::new(src, EngineConfig::default())
        .filter_map(|o| match o.unwrap() {
            Output::Entry(e) => Some(*e),
            Output::Flow(_) => None,
        })
        .collect()
}

/// Reference: frame -> `name:value` JSON members tshark found in that frame.
fn members() -> BTreeMap<u64, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join(format!("{CAPTURE}.tshark.json"))).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for m in r["messages"].as_array().unwrap() {
        let vals: Vec<String> = m["fields"]["json.member_with_value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(m["frame"].as_u64().unwrap(), vals);
    }
    out
}

fn member<'a>(vals: &'a [String], name: &str) -> Vec<&'a str> {
    vals.iter()
        .filter_map(|v| v.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .collect()
}

#[test]
fn graphql_operations_match_the_json_tshark_sees() {
    let entries = entries();
    let refs = members();
    // Every POST carrying a `query` member: ks shows the same queries and names, in
    // order (a batch is one entry per operation), completing in the same frame —
    // except /echo, whose `query` is SQL (the scenario's non-GraphQL request).
    let mut checked = 0;
    for (frame, vals) in &refs {
        let queries = member(vals, "query");
        let is_response = entries
            .iter()
            .any(|e| e.frames.response.is_some_and(|f| f[1] == *frame));
        if queries.is_empty() || is_response {
            continue;
        }
        let at: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.frames.request.is_some_and(|f| f[1] == *frame))
            .collect();
        assert!(!at.is_empty(), "no entry for the request in frame {frame}");
        if queries[0].starts_with("SELECT") {
            assert_eq!(at.len(), 1);
            assert_eq!(at[0].protocol, "http", "frame {frame}: not GraphQL");
            continue;
        }
        let names = member(vals, "operationName");
        assert_eq!(
            at.len(),
            queries.len(),
            "frame {frame}: one entry per operation"
        );
        for (i, e) in at.iter().enumerate() {
            assert_eq!(e.protocol, "graphql", "frame {frame}");
            let Some(Request::Http(r)) = &e.request else {
                panic!("frame {frame}: no HTTP request");
            };
            let op = r.graphql.as_ref().unwrap();
            assert_eq!(op.query, queries[i], "frame {frame}");
            if let Some(n) = names.get(i) {
                assert_eq!(op.operation_name.as_deref(), Some(*n), "frame {frame}");
            }
            let kind = queries[i].split([' ', '(', '{']).next().unwrap();
            let want = if kind.is_empty() { "query" } else { kind };
            assert_eq!(op.operation_type, want, "frame {frame}");
            checked += 1;
        }
    }
    assert_eq!(checked, 7, "6 GraphQL POSTs, one of them a batch of 2");

    // Responses: the error messages tshark sees are the entry's errors.
    for e in entries.iter().filter(|e| e.protocol == "graphql") {
        let Some(Response::Http(r)) = &e.response else {
            continue;
        };
        let Some(f) = e.frames.response else { continue };
        let Some(vals) = refs.get(&f[1]) else {
            continue;
        };
        let messages = member(vals, "message");
        let g = r.graphql.as_ref().expect("a GraphQL result");
        if e.version != "13" && messages.len() <= 1 {
            assert_eq!(g.errors, messages, "frame {}", f[1]);
            assert_eq!(g.errors_count as usize, messages.len());
        }
    }

    // The GET carries its operation in the query string.
    let get = entries
        .iter()
        .find(|e| matches!(&e.request, Some(Request::Http(r)) if r.method == "GET" && r.path.contains("query=")))
        .unwrap();
    let Some(Request::Http(r)) = &get.request else {
        unreachable!()
    };
    let op = r.graphql.as_ref().unwrap();
    assert_eq!(get.protocol, "graphql");
    assert_eq!(op.operation_name.as_deref(), Some("BookByTitle"));
    assert_eq!(op.operation_type, "query");
    assert_eq!(op.variables, Some(serde_json::json!({"t": "Dune"})));

    // The subscription over graphql-transport-ws: countdown from 3 sends 4 results.
    let sub: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.protocol == "graphql" && e.version == "13")
        .collect();
    assert_eq!(sub.len(), 1);
    let (Some(Request::Http(q)), Some(Response::Http(p))) = (&sub[0].request, &sub[0].response)
    else {
        panic!("subscription entry without both sides");
    };
    let op = q.graphql.as_ref().unwrap();
    assert_eq!(
        (op.operation_type, op.operation_name.as_deref()),
        ("subscription", Some("Countdown"))
    );
    assert_eq!(p.graphql.as_ref().unwrap().errors_count, 0);
    assert!(sub[0].summary.contains("4 results"), "{}", sub[0].summary);
    assert!(sub[0].error.is_none());
}
