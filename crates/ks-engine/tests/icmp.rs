//! ICMP in the engine: echo pairing (with retries, lost replies and the pending cap
//! left to the unit tests of the tracker's parts) and errors linked to the flow whose
//! packet they quote.

mod common;
use common::*;
use ks_engine::{Request, Response};

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

fn echo(t: u8, id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![t, 0, 0, 0];
    m.extend(id.to_be_bytes());
    m.extend(seq.to_be_bytes());
    m.extend(b"abcdefgh");
    m
}

#[test]
fn echoes_pair_and_unanswered_ones_are_reported() {
    let mut cap = Capture::default();
    cap.push(ipv4(A, B, 1, &echo(8, 7, 1)));
    cap.push(ipv4(A, B, 1, &echo(8, 7, 2)));
    cap.push(ipv4(B, A, 1, &echo(0, 7, 1)));
    // A reply from a third host does not pair with A's request to B.
    cap.push(ipv4([10, 0, 0, 9], A, 1, &echo(0, 7, 2)));
    let run = run(&cap);
    let s: Vec<(&str, Option<&str>)> = run
        .entries
        .iter()
        .map(|e| {
            (
                e.summary.as_str(),
                e.error.as_ref().map(|x| x.kind.as_str()),
            )
        })
        .collect();
    assert_eq!(
        s,
        [
            ("echo 8/0 seq=1 rtt=2.0ms id=7", None),
            ("echo-reply 0/0 id=7 seq=2", None),
            (
                "echo-request 8/0 id=7 seq=2 (no reply)",
                Some("no-response")
            ),
        ]
    );
    let e = &run.entries[0];
    assert_eq!(
        (e.frames.request, e.frames.response),
        (Some([1, 1]), Some([3, 3]))
    );
    assert_eq!(e.elapsed_us, Some(2000));
    assert!(matches!(&e.request, Some(Request::Icmp(m)) if m.ident == Some(7)));
    assert!(matches!(&e.response, Some(Response::Icmp(m)) if m.is_echo_reply()));
    assert_eq!(run.stats.entries.get("icmp"), Some(&3));
}

#[test]
fn an_error_is_linked_to_the_flow_it_quotes() {
    let mut cap = Capture::default();
    // UDP 10.0.0.1:40000 → 10.0.0.2:9999 (not DNS), then B says port unreachable.
    let dgram = ipv4(A, B, 17, &udp(40000, 9999, b"hello"));
    cap.push(ipv4([192, 0, 2, 1], [192, 0, 2, 2], 17, &udp(1, 2, b"x"))); // flow 0
    cap.push(dgram.clone()); // flow 1
    let mut err = vec![3, 3, 0, 0, 0, 0, 0, 0];
    err.extend(&dgram[..28]);
    cap.push(ipv4(B, A, 1, &err));
    let run = run(&cap);
    let e = run.entries.iter().find(|e| e.protocol == "icmp").unwrap();
    assert_eq!(e.stream, 1);
    assert_eq!(e.transport, "icmp");
    assert!(
        e.summary
            .contains("port-unreachable udp 10.0.0.1:40000 → 10.0.0.2:9999"),
        "{}",
        e.summary
    );
}

#[test]
fn an_error_about_a_ping_answers_it() {
    // A router answers A's ping to 10.9.9.9 with net unreachable, quoting the request.
    let mut cap = Capture::default();
    let req = echo(8, 0x6c48, 1);
    cap.push(ipv4(A, [10, 9, 9, 9], 1, &req));
    let mut err = vec![3, 0, 0, 0, 0, 0, 0, 0];
    let mut quote = vec![0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 1, 0, 0];
    quote.extend(A);
    quote.extend([10, 9, 9, 9]);
    quote.extend(&req[..8]);
    err.extend(quote);
    cap.push(ipv4([10, 0, 0, 254], A, 1, &err));
    let run = run(&cap);
    assert_eq!(run.entries.len(), 1, "{:?}", run.entries);
    let e = &run.entries[0];
    assert_eq!(
        e.summary,
        "echo 8/0 seq=1 → destination-unreachable 3/0 net-unreachable"
    );
    assert_eq!(e.error.as_ref().unwrap().kind, "icmp-error");
    assert_eq!(
        (e.frames.request, e.frames.response),
        (Some([1, 1]), Some([2, 2]))
    );
    assert_eq!(e.dst.ip.to_string(), "10.9.9.9");
    let Some(Response::Icmp(r)) = &e.response else {
        panic!("{e:?}")
    };
    assert_eq!(r.quoted.as_ref().and_then(|q| q.seq), Some(1));
}

#[test]
fn the_captured_pings_that_failed_are_paired_with_their_errors() {
    // ks_icmp_errors.pcap: tshark lists 10 ICMP errors quoting an echo request (the
    // quote's `icmp.ident`/`icmpv6.echo.identifier` on an error frame); each must be the
    // response of a ks entry whose request is that echo.
    let pcap = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap/icmp/ks_icmp_errors.pcap");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pcap.with_extension("tshark.json")).unwrap())
            .unwrap();
    let mut want: Vec<u64> = Vec::new();
    for m in reference["messages"].as_array().unwrap() {
        let f = &m["fields"];
        let t = f["icmp.type"][0]
            .as_str()
            .or(f["icmpv6.type"][0].as_str())
            .unwrap_or("");
        let has_id = f.get("icmp.ident").is_some() || f.get("icmpv6.echo.identifier").is_some();
        if has_id && !matches!(t, "0" | "8" | "128" | "129") {
            want.push(m["frame"].as_u64().unwrap());
        }
    }
    assert_eq!(want.len(), 10);
    let source = ks_capture::FileSource::open(&pcap).unwrap();
    let entries: Vec<_> = ks_engine::Dissector::new(source, Default::default())
        .filter_map(|o| match o.unwrap() {
            ks_engine::Output::Entry(e) => Some(e),
            _ => None,
        })
        .collect();
    let mut got: Vec<u64> = entries
        .iter()
        .filter(|e| e.error.as_ref().is_some_and(|x| x.kind == "icmp-error"))
        .map(|e| e.frames.response.unwrap()[0])
        .collect();
    got.sort();
    assert_eq!(got, want);
}
