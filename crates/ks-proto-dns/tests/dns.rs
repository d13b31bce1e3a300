//! Messages built with hickory-proto's encoder (an independent writer of the wire
//! format) or by hand where the encoder would refuse them, fed through the parser.

use hickory_proto::op::{Edns, Message as HMessage, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX, NULL};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ks_proto::{Direction, ProbeInput, StreamParser, Verdict};
use ks_proto_dns::*;
use proptest::prelude::*;
use std::str::FromStr;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn query(id: u16, name: &str, t: RecordType) -> HMessage {
    let mut m = HMessage::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_str(name).unwrap(), t));
    m
}

fn answer(q: &HMessage, records: Vec<Record>) -> HMessage {
    let mut m = q.clone();
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_available = true;
    m.add_answers(records);
    m
}

fn a(name: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(
        Name::from_str(name).unwrap(),
        300,
        RData::A(A::from(std::net::Ipv4Addr::from(ip))),
    )
}

fn bytes(m: &HMessage) -> Vec<u8> {
    m.to_vec().unwrap()
}

fn tcp(m: &HMessage) -> Vec<u8> {
    let b = bytes(m);
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend(b);
    v
}

fn udp() -> DnsParser {
    DnsParser::new(DnsConfig::default(), [0, 0], Transport::Udp, false)
}

fn exchanges(out: &[Message]) -> Vec<&Exchange> {
    out.iter()
        .filter_map(|m| match m {
            Message::Exchange(x) => Some(&**x),
            _ => None,
        })
        .collect()
}

/// Feeds a TCP direction in `chunk`-byte pieces as the engine does (rest kept).
fn feed(p: &mut DnsParser, dir: Direction, data: &[u8], chunk: usize, out: &mut Vec<Message>) {
    let mut buf = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        let r = p.parse(dir, &buf, out).unwrap();
        assert!(r.consumed <= buf.len());
        buf.drain(..r.consumed);
    }
    assert!(buf.is_empty(), "{} bytes left", buf.len());
}

#[test]
fn udp_query_and_answer_pair_by_id() {
    let q = query(0x1234, "example.com.", RecordType::A);
    let r = answer(
        &q,
        vec![
            a("example.com.", [93, 184, 216, 34]),
            a("example.com.", [1, 2, 3, 4]),
        ],
    );
    let mut p = udp();
    let mut out = Vec::new();
    // Another query in flight first: pairing is by id, not order.
    p.parse(
        C,
        &bytes(&query(7, "other.org.", RecordType::AAAA)),
        &mut out,
    )
    .unwrap();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(S, &bytes(&r), &mut out).unwrap();
    let x = exchanges(&out);
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].summary(), "A example.com → NOERROR 2 answers");
    let (rq, rs) = (
        x[0].request.as_ref().unwrap(),
        x[0].response.as_ref().unwrap(),
    );
    assert_eq!(
        (rq.id, rq.response, rq.opcode.as_str()),
        (0x1234, false, "QUERY")
    );
    assert_eq!(rq.flags, ["rd"]);
    assert_eq!(rs.flags, ["rd", "ra"]);
    assert_eq!(rs.answers[0].data, "93.184.216.34");
    assert_eq!(
        (rs.answers[0].ttl, rs.answers[0].rtype.as_str()),
        (300, "A")
    );
    assert_eq!(rs.counts, [1, 2, 0, 0]);
    // Offsets count datagram bytes per direction.
    assert_eq!(
        rq.start,
        bytes(&query(7, "other.org.", RecordType::AAAA)).len() as u64
    );
    assert_eq!((rs.start, rs.end), (0, bytes(&r).len() as u64));
    // The other query is flushed unanswered at the end.
    out.clear();
    p.end(C, &mut out);
    p.end(S, &mut out);
    assert_eq!(
        exchanges(&out)[0].summary(),
        "AAAA other.org → (no response)"
    );
}

#[test]
fn tcp_several_messages_per_segment_and_one_over_many() {
    let q1 = query(1, "a.example.", RecordType::A);
    let q2 = query(2, "b.example.", RecordType::MX);
    let mut big = answer(&q2, vec![]);
    for i in 0..80u16 {
        big.add_answer(Record::from_rdata(
            Name::from_str("b.example.").unwrap(),
            60,
            RData::MX(MX::new(
                i,
                Name::from_str(&format!("mx{i}.mail.example.")).unwrap(),
            )),
        ));
    }
    let r1 = answer(&q1, vec![a("a.example.", [10, 0, 0, 1])]);
    let mut client = tcp(&q1);
    client.extend(tcp(&q2));
    let mut server = tcp(&r1);
    server.extend(tcp(&big));
    assert!(server.len() > 1000);
    for chunk in [1, 7, 100, usize::MAX] {
        let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Tcp, false);
        let mut out = Vec::new();
        feed(&mut p, C, &client, chunk, &mut out);
        feed(&mut p, S, &server, chunk, &mut out);
        let x = exchanges(&out);
        assert_eq!(x.len(), 2, "chunk {chunk}");
        assert_eq!(x[1].summary(), "MX b.example → NOERROR 80 answers");
        assert_eq!(
            x[1].response.as_ref().unwrap().answers[3].data,
            "3 mx3.mail.example."
        );
        // Offsets include the length prefixes.
        assert_eq!(x[1].request.as_ref().unwrap().start, tcp(&q1).len() as u64);
        assert_eq!(x[1].response.as_ref().unwrap().end, server.len() as u64);
    }
}

#[test]
fn second_response_retransmission_and_orphan() {
    let q = query(9, "www.cmu.edu.", RecordType::A);
    let r = answer(&q, vec![a("www.cmu.edu.", [128, 2, 10, 163])]);
    let mut p = udp();
    let mut out = Vec::new();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(C, &bytes(&q), &mut out).unwrap(); // the client retries
    p.parse(S, &bytes(&r), &mut out).unwrap();
    p.parse(S, &bytes(&r), &mut out).unwrap(); // a second response
    p.parse(
        S,
        &bytes(&answer(&query(10, "x.", RecordType::A), vec![])),
        &mut out,
    )
    .unwrap();
    let s: Vec<String> = exchanges(&out).iter().map(|x| x.summary()).collect();
    assert_eq!(
        s,
        [
            "A www.cmu.edu → NOERROR 1 answer",
            "A www.cmu.edu → (retransmitted; answered in the first)",
            "? (A www.cmu.edu) → NOERROR 1 answer",
            "? (A x) → NOERROR 0 answers",
        ]
    );
    let x = exchanges(&out);
    assert!(x[1].request.as_ref().unwrap().retransmission);
    assert_eq!(x[1].note.as_deref(), Some(RETRANSMISSION));
    assert!(x[2]
        .note
        .as_deref()
        .unwrap()
        .starts_with("another response"));
    assert_eq!(x[3].note.as_deref(), Some("no query with this id"));
    let c = p.counters();
    assert_eq!(
        (c.retransmissions, c.repeated_responses, c.messages),
        (1, 1, 5)
    );
}

#[test]
fn nxdomain_edns_and_unknown_types() {
    let mut q = query(3, "nope.example.", RecordType::Unknown(65400));
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_dnssec_ok(true);
    q.set_edns(edns);
    let mut r = answer(&q, vec![]);
    r.metadata.response_code = ResponseCode::NXDomain;
    r.add_additional(Record::from_rdata(
        Name::from_str("nope.example.").unwrap(),
        5,
        RData::Unknown {
            code: RecordType::Unknown(65400),
            rdata: NULL::with(vec![0xde, 0xad, 0xbe, 0xef]),
        },
    ));
    let mut p = udp();
    let mut out = Vec::new();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(S, &bytes(&r), &mut out).unwrap();
    let x = exchanges(&out)[0];
    assert_eq!(x.summary(), "TYPE65400 nope.example → NXDOMAIN");
    let rq = x.request.as_ref().unwrap();
    let e = rq.edns.as_ref().unwrap();
    assert_eq!((e.payload_size, e.dnssec_ok, e.version), (1232, true, 0));
    let rs = x.response.as_ref().unwrap();
    assert_eq!((rs.rcode.as_str(), rs.rcode_value), ("NXDOMAIN", 3));
    assert_eq!(rs.additional[0].data, "\\# 4 deadbeef");
    assert_eq!(rs.additional[0].rtype, "TYPE65400");
}

#[test]
fn truncated_and_undecodable_messages_keep_their_header() {
    let q = query(0x42, "example.com.", RecordType::AAAA);
    let mut r = answer(
        &q,
        vec![Record::from_rdata(
            Name::from_str("example.com.").unwrap(),
            1,
            RData::AAAA(AAAA::from_str("2606:2800:220:1::1").unwrap()),
        )],
    );
    r.metadata.truncation = true;
    let mut cut = bytes(&r);
    cut.truncate(cut.len() - 5); // cut inside the record: hickory cannot decode it
    let mut p = udp();
    let mut out = Vec::new();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(S, &cut, &mut out).unwrap();
    let x = exchanges(&out)[0];
    let rs = x.response.as_ref().unwrap();
    assert!(rs
        .error
        .as_deref()
        .unwrap()
        .starts_with("sections not decoded"));
    assert_eq!(rs.id, 0x42);
    assert!(rs.flags.contains(&"tc"));
    assert_eq!(x.summary(), "AAAA example.com → NOERROR 1 answer truncated");
    // Too short for a header: an event, no message.
    out.clear();
    p.parse(S, b"\x00\x01", &mut out).unwrap();
    assert!(matches!(&out[..], [Message::Event(e)] if e.kind == "not-dns"));
}

#[test]
fn mdns_messages_are_one_way() {
    let mut q = query(0, "_http._tcp.local.", RecordType::PTR);
    q.metadata.recursion_desired = false;
    let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Udp, true);
    let mut out = Vec::new();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(S, &bytes(&answer(&q, vec![])), &mut out).unwrap();
    let s: Vec<String> = out
        .iter()
        .map(|m| match m {
            Message::OneWay(o) => o.summary(),
            o => panic!("{o:?}"),
        })
        .collect();
    assert_eq!(
        s,
        [
            "query PTR _http._tcp.local",
            "response PTR _http._tcp.local: NOERROR 0 answers"
        ]
    );
}

#[test]
fn tcp_gap_stops_that_direction_only() {
    let q = query(5, "a.b.", RecordType::A);
    let mut p = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Tcp, false);
    let mut out = Vec::new();
    feed(&mut p, C, &tcp(&q), usize::MAX, &mut out);
    p.gap(S, 10, &mut out);
    // Whatever follows in that direction is skipped, not misread.
    let r = p.parse(S, &tcp(&answer(&q, vec![])), &mut out).unwrap();
    assert_eq!(r.consumed, tcp(&answer(&q, vec![])).len());
    p.end(C, &mut out);
    p.end(S, &mut out);
    assert_eq!(exchanges(&out)[0].summary(), "A a.b → (no response)");
}

#[test]
fn probes() {
    let q = bytes(&query(1, "example.com.", RecordType::A));
    fn inp(d: &[u8], port: u16) -> ProbeInput<'_> {
        ProbeInput {
            data: d,
            src_port: 40000,
            dst_port: port,
        }
    }
    assert_eq!(probe_datagram(&inp(&q, 53)).verdict, Verdict::Certain);
    // Off port 53 a well-formed question still says DNS.
    assert_eq!(probe_datagram(&inp(&q, 9999)).verdict, Verdict::Certain);
    assert_eq!(
        DnsParser::probe(&inp(&tcp(&query(1, "x.org.", RecordType::A)), 53)).verdict,
        Verdict::Certain
    );
    for not in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"hello",
    ] {
        assert_eq!(probe_datagram(&inp(not, 9999)).verdict, Verdict::NotMine);
        assert_eq!(DnsParser::probe(&inp(not, 9999)).verdict, Verdict::NotMine);
    }
    // Raw UDP DNS on a TCP stream is not DNS-over-TCP.
    assert_eq!(DnsParser::probe(&inp(&q, 9999)).verdict, Verdict::NotMine);
}

proptest! {
    #[test]
    fn garbage_never_panics(d in proptest::collection::vec(any::<u8>(), 0..600), chunk in 1usize..64) {
        let mut p = udp();
        let mut out = Vec::new();
        p.parse(C, &d, &mut out).unwrap();
        let mut t = DnsParser::new(DnsConfig::default(), [0, 0], Transport::Tcp, false);
        let mut buf = Vec::new();
        for piece in d.chunks(chunk) {
            buf.extend_from_slice(piece);
            let r = t.parse(S, &buf, &mut out).unwrap();
            prop_assert!(r.consumed <= buf.len());
            buf.drain(..r.consumed);
        }
        for m in &out {
            if let Message::Exchange(x) = m { let _ = x.summary(); }
        }
    }

    #[test]
    fn mutated_answers_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let q = query(77, "example.com.", RecordType::MX);
        let mut r = bytes(&answer(&q, vec![a("example.com.", [1, 1, 1, 1])]));
        for (i, v) in flips {
            let n = r.len();
            r[i % n] = v;
        }
        let mut p = udp();
        let mut out = Vec::new();
        p.parse(C, &bytes(&q), &mut out).unwrap();
        p.parse(S, &r, &mut out).unwrap();
        p.end(C, &mut out);
        p.end(S, &mut out);
        for m in &out {
            if let Message::Exchange(x) = m { let _ = x.summary(); }
        }
    }
}

/// A query from the server side (two name servers asking each other) and a response
/// from the client side are not paired: each keeps the direction it went.
#[test]
fn messages_against_the_flow_are_one_way() {
    let q = query(4, "peer.example.", RecordType::SOA);
    let mut p = udp();
    let mut out = Vec::new();
    p.parse(S, &bytes(&q), &mut out).unwrap();
    p.parse(C, &bytes(&answer(&q, vec![])), &mut out).unwrap();
    let dirs: Vec<(Direction, bool)> = out
        .iter()
        .map(|m| match m {
            Message::OneWay(o) => (o.dir, o.message.response),
            o => panic!("{o:?}"),
        })
        .collect();
    assert_eq!(dirs, [(S, false), (C, true)]);
}

#[test]
fn https_records_in_presentation_form() {
    use hickory_proto::rr::rdata::svcb::{Alpn, SvcParamKey, SvcParamValue, SVCB};
    use hickory_proto::rr::rdata::HTTPS;
    // RFC 9460 presentation: comma-separated lists without a trailing comma, and
    // no-default-alpn without `=` (ks_dns_unbound.pcap frame 20: tshark `alpn=h2,h3`).
    let q = query(9, "svc.example.", RecordType::HTTPS);
    let svcb = SVCB::new(
        1,
        Name::root(),
        vec![
            (
                SvcParamKey::Alpn,
                SvcParamValue::Alpn(Alpn(vec!["h2".into(), "h3".into()])),
            ),
            (SvcParamKey::NoDefaultAlpn, SvcParamValue::NoDefaultAlpn),
            (SvcParamKey::Port, SvcParamValue::Port(8443)),
        ],
    );
    let rec = Record::from_rdata(
        Name::from_str("svc.example.").unwrap(),
        60,
        RData::HTTPS(HTTPS(svcb)),
    );
    let r = answer(&q, vec![rec]);
    let mut p = udp();
    let mut out = Vec::new();
    p.parse(C, &bytes(&q), &mut out).unwrap();
    p.parse(S, &bytes(&r), &mut out).unwrap();
    let x = exchanges(&out)[0];
    assert_eq!(
        x.response.as_ref().unwrap().answers[0].data,
        "1 . alpn=h2,h3 no-default-alpn port=8443"
    );
}
