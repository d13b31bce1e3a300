//! The binary end to end: output schema, damaged input, bad arguments.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ks-dissect"))
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap")
        .join(rel)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run ks-dissect")
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// HTTP requests in the tshark reference of a capture.
fn reference(rel: &str) -> Value {
    let path = testdata(rel).with_extension("tshark.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn reference_requests(rel: &str) -> usize {
    let path = testdata(rel).with_extension("tshark.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["fields"]["http.request.method"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum()
}

fn bro_org() -> String {
    testdata("http1/zeek_http_bro-org.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn jsonl_entries_follow_the_documented_schema() {
    let out = run(&["--format", "jsonl", &bro_org()]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries = jsonl(&out);
    // One entry per request of the tshark reference (31 in this capture; some are unanswered).
    let requests = reference_requests("http1/zeek_http_bro-org.pcap");
    assert_eq!(requests, 31);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["protocol"] == "http" && !e["request"].is_null())
            .count(),
        requests
    );
    // Every other flow of the capture (tshark: 13 conversations, 8 of them carry HTTP)
    // is one `tcp` entry with what is known of the flow.
    let reference = reference("http1/zeek_http_bro-org.pcap");
    let flows = reference["flows"].as_array().unwrap().len();
    let l4: Vec<_> = entries.iter().filter(|e| e["protocol"] == "tcp").collect();
    let http_streams: std::collections::BTreeSet<u64> = entries
        .iter()
        .filter(|e| e["protocol"] == "http")
        .map(|e| e["stream"].as_u64().unwrap())
        .collect();
    assert_eq!(l4.len() + http_streams.len(), flows);
    for e in &l4 {
        assert!(e["request"]["packets"][0].as_u64().unwrap() > 0);
        assert!(e["request"]["tcp_flags"]["syn"].is_u64());
    }
    for e in &entries {
        for key in [
            "id",
            "protocol",
            "version",
            "transport",
            "stream",
            "src",
            "dst",
            "timestamp",
            "elapsed_us",
            "frames",
            "request",
            "response",
            "summary",
            "error",
        ] {
            assert!(e.get(key).is_some(), "missing {key} in {e}");
        }
        assert!(e["protocol"] == "http" || e["protocol"] == "tcp", "{e}");
        assert_eq!(e["transport"], "tcp");
        let id = e["id"].as_str().unwrap();
        assert!(id.starts_with(&format!("{}-", e["stream"])), "{id}");
        assert!(e["src"]["ip"].is_string() && e["src"]["port"].is_u64());
        assert_eq!(e["dst"]["port"], 80);
        let ts = e["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 27, "{ts}");
        if e["protocol"] == "tcp" {
            continue;
        }
        if e["request"].is_null() || e["response"].is_null() {
            assert!(
                e["error"]["kind"].is_string(),
                "a one-sided entry says why: {e}"
            );
            continue;
        }
        let req = &e["request"];
        assert!(req["method"].is_string() && req["path"].is_string() && req["headers"].is_array());
        assert!(
            req["headers"][0].as_array().unwrap().len() == 2,
            "headers are [name, value] pairs"
        );
        assert!(e["response"]["status"].is_u64());
        let f = &e["frames"];
        assert!(f["request"][0].as_u64().unwrap() <= f["request"][1].as_u64().unwrap());
        assert!(f["request"][0].as_u64().unwrap() < f["response"][1].as_u64().unwrap());
    }
    // The first exchange, checked against the tshark reference (frame 4 / frame 9 of stream 0:
    // GET / HTTP/1.1 → 200 OK).
    let first = entries
        .iter()
        .find(|e| e["id"] == "0-0")
        .expect("entry 0-0");
    assert_eq!(first["request"]["method"], "GET");
    assert_eq!(
        first["summary"].as_str().unwrap().split(' ').next(),
        Some("GET")
    );
}

#[test]
fn json_and_table_formats_print_the_same_entries() {
    let json = run(&["--format", "json", "-q", &bro_org()]);
    assert!(json.status.success());
    let v: Value = serde_json::from_slice(&json.stdout).expect("one JSON array");
    let n = jsonl(&run(&["--format", "jsonl", &bro_org()])).len();
    assert_eq!(v.as_array().unwrap().len(), n);
    let table = run(&["-r", &bro_org(), "-q"]);
    assert!(table.status.success());
    assert_eq!(String::from_utf8_lossy(&table.stdout).lines().count(), n);
    // The summary line goes to stderr, not stdout.
    let with_summary = run(&[&bro_org()]);
    let err = String::from_utf8_lossy(&with_summary.stderr);
    let tcp = jsonl(&run(&["--format", "jsonl", &bro_org()]))
        .iter()
        .filter(|e| e["protocol"] == "tcp")
        .count();
    assert!(
        err.contains("751 packets") && err.contains(&format!("http={} tcp={tcp}", n - tcp)),
        "{err}"
    );
    // The switch turns the flow entries off.
    let off = jsonl(&run(&["--format", "jsonl", "--no-l4-entries", &bro_org()]));
    assert_eq!(off.len(), n - tcp);
}

#[test]
fn a_truncated_capture_gives_the_entries_before_the_cut_and_a_clear_error() {
    let full = std::fs::read(bro_org()).unwrap();
    let cut_at = full.len() / 2 + 7; // inside a packet record
    let dir = std::env::temp_dir().join(format!("ks-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("bro-org-cut.pcap");
    std::fs::write(&cut, &full[..cut_at]).unwrap();

    let whole = jsonl(&run(&["--format", "jsonl", &bro_org()]));
    let out = run(&["--format", "jsonl", cut.to_str().unwrap()]);
    assert!(!out.status.success(), "a damaged file is not a success");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bro-org-cut.pcap") && err.contains("byte offset"),
        "{err}"
    );
    let partial = jsonl(&out);
    assert!(
        !partial.is_empty() && partial.len() < whole.len(),
        "{} of {}",
        partial.len(),
        whole.len()
    );
    // Every clean exchange printed before the cut is exactly what the whole file gives.
    for e in partial.iter().filter(|e| e["error"].is_null()) {
        assert!(
            whole.contains(e),
            "entry {} differs from the whole-file run",
            e["id"]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_and_bad_arguments_fail_with_one_line() {
    let out = run(&["/nonexistent/file.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/file.pcap"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("ks-dissect:")).count(),
        2,
        "{err}"
    ); // the error and the summary

    let out = run(&["--protocol", "gopher", &bro_org()]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["-d", "tcp.port==x,http", &bro_org()]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn decode_as_and_flow_records() {
    // With --flows, one record per tshark flow (13 in this capture) comes out too.
    let out = run(&["--format", "jsonl", "--flows", "-q", &bro_org()]);
    let lines = jsonl(&out);
    let flows = lines.iter().filter(|l| l.get("flow").is_some()).count();
    assert_eq!(flows, 13);
    // Decode-as on a port that carries no HTTP changes nothing; on port 80 it skips the probe.
    let plain = jsonl(&run(&["--format", "jsonl", "-q", &bro_org()]));
    let out = run(&[
        "--format",
        "jsonl",
        "-q",
        "-d",
        "tcp.port==80,http",
        &bro_org(),
    ]);
    assert_eq!(jsonl(&out), plain);
}

#[test]
fn count_mode_prints_only_the_summary() {
    let out = run(&["--count", "--format", "json", &bro_org()]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let full = jsonl(&run(&["--format", "jsonl", &bro_org()])).len();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{full} entries")), "{err}");
}

#[test]
fn threads_do_not_change_the_output() {
    let one = run(&["--format", "jsonl", "--flows", "--threads", "1", &bro_org()]);
    let two = run(&["--format", "jsonl", "--flows", "--threads", "2", &bro_org()]);
    assert!(one.status.success() && two.status.success());
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn limits_are_settings_and_say_when_they_bite() {
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).to_string();
    for flag in [
        "--max-flows",
        "--max-ooo-bytes",
        "--reassembly-budget",
        "--max-body",
        "--max-decoded",
        "--max-headers",
        "--max-pipeline",
        "--max-fragment-bytes",
    ] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    let out = run(&[
        "--count",
        "--max-flows",
        "3",
        "--flow-idle",
        "1",
        &bro_org(),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("limits reached: flows evicted (--max-flows)"),
        "{err}"
    );
    // Without caps biting, no such line.
    let out = run(&["--count", &bro_org()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("limits reached"));
    // Sizes take units; nonsense is a usage error.
    assert!(run(&["--count", "--max-body", "1KiB", &bro_org()])
        .status
        .success());
    assert_eq!(
        run(&["--count", "--max-body", "lots", &bro_org()])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn table_lines_for_grpc_graphql_and_websocket() {
    let table = |rel: &str| {
        let out = run(&[testdata(rel).to_str().unwrap()]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    // gRPC: the call, its status and how many messages went both ways (one request
    // message, one reply: testdata/captures/grpc_demo.py's first call).
    let grpc = table("grpc/ks_grpc_python.pcap");
    let first = grpc.lines().next().unwrap();
    assert!(first.contains("GRPC"), "{first}");
    assert!(
        first.contains("/demo.Greeter/SayHello  status 0  2 msgs"),
        "{first}"
    );
    assert!(grpc.contains("/demo.Greeter/SayHello  status 5  1 msgs"));
    // GraphQL: the operation type and name.
    let gql = table("graphql/ks_graphql_strawberry.pcap");
    assert!(gql.contains("GRAPHQL query BooksBy 200"), "{gql}");
    assert!(gql.contains("GRAPHQL mutation AddBook 200"), "{gql}");
    assert!(
        gql.contains("GRAPHQL subscription Countdown  4 results"),
        "{gql}"
    );
    // WebSocket: each message with its direction (sender -> receiver).
    let ws = table("websocket/ks_ws_deflate.pcap");
    let hello: Vec<&str> = ws.lines().filter(|l| l.contains("\"hello ks\"")).collect();
    assert_eq!(hello.len(), 2, "{ws}");
    assert!(hello[0].contains(":8765 ") && hello[0].contains("-> 127.0.0.1:8765"));
    assert!(hello[1].contains("127.0.0.1:8765 ->"), "{}", hello[1]);
    assert!(hello.iter().all(|l| l.contains("WEBSOCKET text 8 B")));
}

#[test]
fn table_lines_for_redis_kafka_and_amqp() {
    let table = |rel: &str| {
        let out = run(&[testdata(rel).to_str().unwrap()]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    // The values are tshark's (the `.tshark.json` beside each capture): `Request: SET
    // test hi` / `Response: OK`; `Produce v7 Request`, topic quickstart-events, error 0;
    // `Basic.Publish x=exchange-1 rk=rk-1` with a 12-byte content header.
    let redis = table("redis/zeek_redis_set.pcap");
    assert!(redis.contains("REDIS SET test → OK"), "{redis}");
    let kafka = table("kafka/deepflow_kafka_00-produce-v7-sw8.pcap");
    assert!(
        kafka.contains("KAFKA Produce v7 topic=quickstart-events → 0"),
        "{kafka}"
    );
    // Without bodies: no topic, and '?' for the code.
    let path = testdata("kafka/deepflow_kafka_00-produce-v7-sw8.pcap");
    let out = run(&["--no-kafka-bodies", path.to_str().unwrap()]);
    let kafka = String::from_utf8(out.stdout).unwrap();
    assert!(kafka.contains("KAFKA Produce v7 → ?"), "{kafka}");
    // tshark: `Standard query 0x5934 A www.tcpdump.org` and a response with two A
    // records (`dns.count.answers` 2, rcode 0).
    let dns = table("dns/tcpdump_dns_udp.pcap");
    assert!(
        dns.contains("DNS   A www.tcpdump.org → NOERROR 2 answers"),
        "{dns}"
    );
    // tshark: `Access-Request id=6` (User-Name John.McGuirk), then `Access-Accept id=6`.
    let radius = table("radius/tcpdump_RADIUS.pcap");
    assert!(
        radius.contains("RADIUS Access-Request id=6 → Access-Accept user=John.McGuirk"),
        "{radius}"
    );
    // tshark: `Echo (ping) request id=0x04ca, seq=3` (reply in frame 6), type 8 code 0.
    let icmp = table("icmp/zeek_icmp_5-pings.pcap");
    assert!(icmp.contains("ICMP  echo 8/0 seq=3 rtt="), "{icmp}");
    // tshark: `searchRequest(2) "ou=people,dc=example,dc=org" wholeSubtree`, two
    // searchResEntry, `searchResDone(2) success`; the filter is the one
    // make-ldap.sh gave ldapsearch.
    let ldap = table("ldap/ks_ldap_slapd.pcap");
    assert!(
        ldap.contains(
            "LDAP  search base=ou=people,dc=example,dc=org (&(objectClass=person)(|(uid=alice)(cn=B*))) → success 2 entries"
        ),
        "{ldap}"
    );
    assert!(ldap.contains("LDAP  extended StartTLS → success"), "{ldap}");
    // tshark: `cmd=Credit-Control Request(272) flags=R---`, its answer Result-Code 2001.
    let diameter = table("diameter/ndpi_diameter.pcap");
    assert!(
        diameter.contains("DIAMETER CCR → 2001 INITIAL"),
        "{diameter}"
    );
    let amqp = table("amqp/deepflow_amqp1.pcap");
    assert!(
        amqp.contains("AMQP  basic.publish exchange=exchange-1 rk=rk-1 12 B"),
        "{amqp}"
    );
}

#[test]
fn l4_entries_are_selected_by_transport_name() {
    let syslog = testdata("udp/tcpdump_syslog_udp.pcap");
    let m3ua = testdata("sctp/suricata-verify_sctp-m3ua.pcap");
    let (syslog, m3ua) = (syslog.to_str().unwrap(), m3ua.to_str().unwrap());
    // tshark: 3 UDP conversations (syslog, not dissected by ks) and 2 SCTP
    // associations (M3UA, not dissected by ks).
    for (proto, want) in [("udp", 3), ("sctp", 2), ("SCTP", 2), ("tcp", 0)] {
        let out = run(&["--format", "jsonl", "--protocol", proto, syslog, m3ua]);
        assert!(out.status.success(), "{proto}");
        let entries = jsonl(&out);
        assert_eq!(entries.len(), want, "{proto}");
        assert!(entries
            .iter()
            .all(|e| e["protocol"] == proto.to_ascii_lowercase()));
    }
    // The association's chunk types are tshark's: 1 INIT, 12 DATA, 7 SACK... (frames
    // 1-16 of the reference).
    let out = run(&["--format", "jsonl", "--protocol", "sctp", m3ua]);
    let e = &jsonl(&out)[0];
    assert_eq!(e["request"]["sctp"]["chunks"]["DATA"], 12);
    assert_eq!(e["request"]["sctp"]["chunks"]["SACK"], 7);
    // tshark's relative TSNs from port 2906 go 0, 2, 3, 4: TSN 1 is in no frame, and
    // the peer's SACK of frame 13/14 acknowledges past it, so it was lost.
    assert_eq!(e["request"]["sctp"]["lost_tsns"], 1);
    let out = run(&["--protocol", "quic", syslog]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn entry_ids_are_unique_across_transports() {
    // ks_dns_unbound.pcap has UDP and TCP streams numbered from 0 each (as tshark's
    // udp.stream / tcp.stream): the ids must still differ.
    let path = testdata("dns/ks_dns_unbound.pcap");
    let entries = jsonl(&run(&["--format", "jsonl", path.to_str().unwrap()]));
    let ids: std::collections::BTreeSet<&str> =
        entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), entries.len());
    assert!(ids.contains("0-0") && ids.contains("udp-0-0"), "{ids:?}");
}

#[test]
fn tls_keylog_decrypts_and_marks_the_entries_inside() {
    let pcap = testdata("tls/ks_tls12_h2.pcap");
    let keylog = pcap.with_extension("keylog");
    let (pcap, keylog) = (pcap.to_str().unwrap(), keylog.to_str().unwrap());
    // Without keys: the handshakes only.
    let plain = run(&["--format", "jsonl", pcap]);
    assert!(plain.status.success());
    let entries = jsonl(&plain);
    assert!(entries
        .iter()
        .all(|e| e["protocol"] == "tls" && e.get("tls").is_none()));
    // With keys: the HTTP/2 inside, marked, and the table names it.
    let out = run(&["--format", "jsonl", "--tls-keylog", keylog, pcap]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sessions"), "{stderr}");
    let entries = jsonl(&out);
    let h2: Vec<&Value> = entries
        .iter()
        .filter(|e| e["protocol"] == "http2")
        .collect();
    // tshark decrypts 5 requests with this key log (keylog reference).
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("tls/ks_tls12_h2.keylog.tshark.json")).unwrap(),
    )
    .unwrap();
    let requests = reference["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["fields"]["http2.headers.method"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum::<usize>();
    assert_eq!(h2.len(), requests);
    assert!(h2.iter().all(|e| e["tls"] == true));
    let table = run(&["--tls-keylog", keylog, pcap]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("HTTP2/TLS GET /"), "{text}");
    assert!(
        text.contains(
            "TLS   tls 1.2 sni=ks.test alpn=h2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ja4=t12d"
        ),
        "{text}"
    );
    // A key log that cannot be read is a bad argument.
    let bad = run(&["--tls-keylog", "/nonexistent/keys.log", pcap]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read key log"));
}

/// `-Y` on zeek_http_methods.pcap: as many entries as the tshark reference has
/// responses with status 400 or more, in every format.
#[test]
fn display_filter_keeps_matching_entries_in_every_format() {
    let rel = "http1/zeek_http_methods.pcap";
    let file = testdata(rel);
    let file = file.to_str().unwrap();
    let errors = reference(rel)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m["fields"]["http.response.code"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|c| c.as_str().unwrap().parse::<u16>().unwrap() >= 400)
        .count();
    assert!(errors > 10);
    let expr = "http && status_code >= 400";
    let out = run(&["--format", "jsonl", "-Y", expr, file]);
    assert!(out.status.success());
    let lines = jsonl(&out);
    assert_eq!(lines.len(), errors);
    assert!(lines
        .iter()
        .all(|e| e["response"]["status"].as_u64().unwrap() >= 400));
    let err = String::from_utf8_lossy(&out.stderr);
    let all = run(&["--format", "jsonl", file]);
    let total = jsonl(&all).len();
    assert!(
        err.contains(&format!(
            "filter \"{expr}\" matched {errors} of {total} entries"
        )),
        "{err}"
    );
    // The same entries in table and JSON array form, and counted with --count.
    let table = run(&["--filter", expr, file]);
    assert_eq!(
        String::from_utf8_lossy(&table.stdout).lines().count(),
        errors
    );
    let json = run(&["--format", "json", "-Y", expr, file]);
    let arr: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(arr.as_array().unwrap().len(), errors);
    let count = run(&["--count", "-Y", expr, file]);
    assert!(count.stdout.is_empty());
    assert!(String::from_utf8_lossy(&count.stderr).contains(&format!("matched {errors} of")));
    // Several threads: same entries, same order.
    let two = run(&["--format", "jsonl", "--threads", "2", "-Y", expr, file]);
    assert_eq!(two.stdout, out.stdout);
}

#[test]
fn a_bad_display_filter_exits_2_before_reading_with_a_caret() {
    let out = run(&["-Y", "http && status_code >= ", &bro_org()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "ks-dissect: bad filter (-Y):");
    assert_eq!(lines[1], "http && status_code >= ");
    assert_eq!(
        lines[2],
        "                       ^ unexpected end of the expression"
    );
    assert!(!err.contains("packets"), "nothing was read: {err}");
    // --help shows -Y with an example.
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).to_string();
    assert!(help.contains("-Y, --filter <EXPR>"), "{help}");
    assert!(help.contains("http && status_code >= 500"), "{help}");
}
