//! The examples of docs/filter.md on the bundled captures: each gives the count
//! that an independent reading of the tshark references gives.

mod common;

use common::{captures, entries, reference};
use ks_engine::Entry;
use ks_query::Filter;
use serde_json::Value;
use std::path::PathBuf;

fn count(expr: &str, set: &[(PathBuf, Vec<Entry>)]) -> usize {
    let f = Filter::new(expr).unwrap();
    set.iter()
        .map(|(_, es)| es.iter().filter(|e| f.matches(e)).count())
        .sum()
}

fn all(dirs: &[&str]) -> Vec<(PathBuf, Vec<Entry>)> {
    captures()
        .into_iter()
        .filter(|p| {
            let dir = p.parent().unwrap().file_name().unwrap().to_str().unwrap();
            dirs.is_empty() || dirs.contains(&dir)
        })
        .map(|p| {
            let es = entries(&p);
            (p, es)
        })
        .collect()
}

fn messages(r: &Value) -> &Vec<Value> {
    r["messages"].as_array().unwrap()
}

fn values<'a>(m: &'a Value, field: &str) -> Vec<&'a str> {
    m["fields"][field]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Sum over the captures of what `per_capture` reads in each reference.
fn from_references(set: &[(PathBuf, Vec<Entry>)], per_capture: impl Fn(&Value) -> usize) -> usize {
    set.iter().map(|(p, _)| per_capture(&reference(p))).sum()
}

#[test]
fn http_errors() {
    let set = all(&["http1", "http2", "grpc", "graphql", "websocket"]);
    // Every response status of 400 or more (HTTP/1 status lines, HTTP/2 :status).
    let want = from_references(&set, |r| {
        messages(r)
            .iter()
            .flat_map(|m| {
                let mut v = values(m, "http.response.code");
                v.extend(values(m, "http2.headers.status"));
                v
            })
            .filter(|c| c.parse::<u16>().is_ok_and(|c| c >= 400))
            .count()
    });
    assert!(want > 20, "{want}");
    assert_eq!(count("http && status_code >= 400", &set), want);
}

#[test]
fn posts_to_api_paths() {
    let set = all(&["http1", "http2", "grpc", "graphql", "websocket"]);
    let want = from_references(&set, |r| {
        messages(r)
            .iter()
            .map(|m| {
                let pairs = |method: &str, path: &str| {
                    values(m, method)
                        .into_iter()
                        .zip(values(m, path))
                        .filter(|(me, p)| *me == "POST" && p.starts_with("/api"))
                        .count()
                };
                pairs("http.request.method", "http.request.uri")
                    + pairs("http2.headers.method", "http2.headers.path")
            })
            .sum()
    });
    assert!(want > 0);
    assert_eq!(
        count(
            r#"http && method == "POST" && path.startsWith("/api")"#,
            &set
        ),
        want
    );
}

#[test]
fn dns_names_under_a_domain() {
    let set = all(&["dns"]);
    // Queries (QR clear) asking for a name under example.com.
    let want = from_references(&set, |r| {
        messages(r)
            .iter()
            .filter(|m| values(m, "dns.flags.response").first() == Some(&"0"))
            .filter(|m| {
                values(m, "dns.qry.name")
                    .iter()
                    .any(|n| n.ends_with("example.com"))
            })
            .count()
    });
    assert!(want > 0);
    assert_eq!(
        count(
            r#"dns && dns_questions.exists(q, q.endsWith("example.com"))"#,
            &set
        ),
        want
    );
}

#[test]
fn kafka_produce_requests() {
    let set = all(&["kafka"]);
    // Request frames (no kafka.request_frame back-link) with API key 0.
    let want = from_references(&set, |r| {
        messages(r)
            .iter()
            .filter(|m| values(m, "kafka.request_frame").is_empty())
            .flat_map(|m| values(m, "kafka.request_key"))
            .filter(|k| *k == "0")
            .count()
    });
    assert!(want > 0);
    assert_eq!(count(r#"kafka && kafka_api == "Produce""#, &set), want);
}

#[test]
fn slow_http1_exchanges() {
    // Not the two captures with holes: tshark does not complete (so does not
    // pair) responses whose segments are missing, ks does and marks them `gap`
    // (docs/conformance.md): 3 slow exchanges there for ks, 1 for tshark, and
    // 9 against 8 in zeek_http_bro-org.
    let set: Vec<_> = all(&["http1"])
        .into_iter()
        .filter(|(p, _)| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name != "suricata-verify_http-pipeline-files-with-gap.pcap"
                && name != "zeek_http_bro-org.pcap"
        })
        .collect();
    // Responses tshark pairs with a request (http.request_in) more than 100 ms after it.
    let want = from_references(&set, |r| {
        let time = |frame: &str| {
            messages(r)
                .iter()
                .find(|m| m["frame"].as_u64().map(|f| f.to_string()).as_deref() == Some(frame))
                .and_then(|m| m["time_epoch"].as_str())
                .and_then(|t| t.parse::<f64>().ok())
        };
        messages(r)
            .iter()
            .filter(|m| {
                let rq = values(m, "http.request_in");
                let (Some(rq), Some(t)) = (rq.first(), m["time_epoch"].as_str()) else {
                    return false;
                };
                let t: f64 = t.parse().unwrap();
                time(rq).is_some_and(|t0| t - t0 > 0.1)
            })
            .count()
    });
    assert!(want > 0);
    assert_eq!(count("http && elapsed_time > 100000", &set), want);
    // Only HTTP entries are answered and timed in these captures.
    assert_eq!(count("elapsed_time > 100000", &set), want);
}

#[test]
fn curl_user_agents() {
    // tshark's own display filter, run on the bundled captures by
    // testdata/filter/make-counts.sh (the references do not carry User-Agent):
    // requests whose User-Agent contains "curl". An h2c upgrade request that
    // was switched is two ks entries (the 101, and HTTP/2 stream 1 answering
    // the same request, RFC 9113 §3.2) with the same headers, one request
    // for tshark: the script counts those apart.
    let counts: Value = serde_json::from_slice(
        &std::fs::read(common::testdata().join("../filter/user-agent-curl.tshark.json")).unwrap(),
    )
    .unwrap();
    let set = all(&[]);
    let mut want = 0;
    for (p, _) in &set {
        let rel = p
            .strip_prefix(common::testdata())
            .unwrap()
            .to_str()
            .unwrap();
        let c = &counts["captures"][rel];
        want += (c["requests"].as_u64().unwrap_or(0) + c["h2c_upgrades"].as_u64().unwrap_or(0))
            as usize;
    }
    assert!(want > 10);
    assert_eq!(
        count(r#"request.headers["user-agent"].contains("curl")"#, &set),
        want
    );
    // Header names match in any case.
    assert_eq!(
        count(r#"request.headers["User-Agent"].contains("curl")"#, &set),
        want
    );
}

#[test]
fn neither_tcp_nor_udp() {
    let set = all(&["icmp"]);
    // ICMP messages, one entry each, except that an echo request and what
    // answers it (the echo reply, or an error quoting the request: tshark lists
    // the quoted echo's type, identifier and sequence after the error's own
    // type) make one entry (docs/icmp.md).
    let want = from_references(&set, |r| {
        let mut asked = std::collections::HashSet::new();
        let mut n = 0;
        for m in messages(r) {
            let t4 = values(m, "icmp.type");
            let t6 = values(m, "icmpv6.type");
            let (types, id, seq) = if !t4.is_empty() {
                (t4, values(m, "icmp.ident"), values(m, "icmp.seq"))
            } else if !t6.is_empty() {
                (
                    t6,
                    values(m, "icmpv6.echo.identifier"),
                    values(m, "icmpv6.echo.sequence_number"),
                )
            } else {
                continue;
            };
            let key = (id.first().copied(), seq.first().copied());
            let quotes_echo = matches!(types.get(1), Some(&"8" | &"128"));
            match types[0] {
                "8" | "128" => {
                    asked.insert(key);
                    n += 1;
                }
                "0" | "129" if asked.remove(&key) => {}
                _ if quotes_echo && asked.remove(&key) => {}
                _ => n += 1,
            }
        }
        n
    });
    assert!(want > 5);
    assert_eq!(count("!(tcp || udp)", &set), want);
    assert_eq!(count("icmp", &set), want);
    // And nothing carried by TCP or UDP in the HTTP and DNS captures passes.
    assert_eq!(count("!(tcp || udp)", &all(&["http1", "dns"])), 0);
}
