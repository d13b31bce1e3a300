//! Packets built by hand from RFC 2865/2866/5176 layouts, fed through the parser.

use ks_proto::{Direction, ProbeInput, StreamParser, Verdict};
use ks_proto_radius::*;
use proptest::prelude::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn packet(code: u8, id: u8, attrs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.push(*t);
        body.push(v.len() as u8 + 2);
        body.extend_from_slice(v);
    }
    let mut p = vec![code, id];
    p.extend(((20 + body.len()) as u16).to_be_bytes());
    p.extend([0x11; 16]);
    p.extend(body);
    p
}

fn exchanges(out: &[Message]) -> Vec<&Exchange> {
    out.iter()
        .filter_map(|m| match m {
            Message::Exchange(x) => Some(&**x),
            _ => None,
        })
        .collect()
}

#[test]
fn attributes_are_named_and_rendered() {
    let vsa = [&[0, 0, 0x01, 0x37][..], &[1, 6, b'a', b'b', b'c', b'd']].concat();
    let req = packet(
        1,
        42,
        &[
            (1, b"alice"),
            (2, &[0xee; 16]),
            (4, &[10, 0, 0, 1]),
            (6, &2u32.to_be_bytes()),
            (61, &19u32.to_be_bytes()),
            (26, &vsa),
            (97, &[0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]),
            (200, &[1, 2]),
        ],
    );
    let p = decode(&req).unwrap();
    assert!(p.error.is_none(), "{:?}", p.error);
    let shown: Vec<(&str, &str)> = p
        .attributes
        .iter()
        .map(|a| (a.name, a.value.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("User-Name", "alice"),
            ("User-Password", "<hidden, 16 bytes>"),
            ("NAS-IP-Address", "10.0.0.1"),
            ("Service-Type", "2 (Framed-User)"),
            ("NAS-Port-Type", "19 (Wireless-802.11)"),
            ("Vendor-Specific", "010661626364"),
            ("Framed-IPv6-Prefix", "2001:db8::/64"),
            ("Unknown", "0102"),
        ]
    );
    assert_eq!(p.attributes[5].vendor_id, Some(311));
    assert_eq!(
        (p.code_name.as_str(), p.identifier, p.length),
        ("Access-Request", 42, req.len() as u16)
    );
    // The password's bytes are nowhere in the JSON.
    let j = serde_json::to_string(&p).unwrap();
    assert!(!j.contains("eeee"), "{j}");
}

#[test]
fn a_bad_attribute_keeps_the_ones_before() {
    let mut req = packet(4, 9, &[(1, b"bob"), (40, &1u32.to_be_bytes())]);
    req.extend([44, 30, b'x']); // claims 30 bytes, 3 left
    let n = req.len() as u16;
    req[2..4].copy_from_slice(&n.to_be_bytes());
    let p = decode(&req).unwrap();
    assert_eq!(p.attributes.len(), 2);
    assert_eq!(p.attributes[1].value, "1 (Start)");
    assert!(p.error.as_deref().unwrap().contains("attribute 44"));
    // A length longer than the datagram.
    let mut short = packet(1, 1, &[(1, b"x")]);
    short[3] = 200;
    assert!(decode(&short)
        .unwrap()
        .error
        .unwrap()
        .contains("does not fit"));
    assert!(decode(&[1, 2, 3]).is_none());
}

#[test]
fn requests_pair_with_their_answers_by_identifier() {
    let mut p = RadiusParser::new([0, 0]);
    let mut out = Vec::new();
    for (d, b) in [
        (C, packet(1, 1, &[(1, b"a")])),
        (C, packet(40, 2, &[(1, b"b")])),
        (C, packet(43, 3, &[])),
        (S, packet(45, 3, &[(101, &503u32.to_be_bytes())])),
        (S, packet(41, 2, &[])),
        (S, packet(3, 1, &[(18, b"denied")])),
        (S, packet(5, 77, &[])),
    ] {
        let r = p.parse(d, &b, &mut out).unwrap();
        assert_eq!(r.consumed, b.len());
    }
    let s: Vec<String> = exchanges(&out).iter().map(|x| x.summary()).collect();
    assert_eq!(
        s,
        [
            "CoA-Request id=3 → CoA-NAK",
            "Disconnect-Request id=2 → Disconnect-ACK user=b",
            "Access-Request id=1 → Access-Reject user=a",
            "? → Accounting-Response id=77",
        ]
    );
    let x = exchanges(&out);
    assert_eq!(
        x[0].response.as_ref().unwrap().attributes[0].value,
        "503 (Session-Context-Not-Found)"
    );
    // Offsets count datagram bytes per direction.
    assert_eq!(
        x[1].request.as_ref().unwrap().start,
        packet(1, 1, &[(1, b"a")]).len() as u64
    );
    out.clear();
    p.parse(C, &packet(12, 9, &[]), &mut out).unwrap();
    p.end(C, &mut out);
    assert!(out.is_empty(), "waits for the other direction's end");
    p.end(S, &mut out);
    assert_eq!(
        exchanges(&out)[0].summary(),
        "Status-Server id=9 → (no answer)"
    );
}

#[test]
fn probe() {
    fn inp(d: &[u8], port: u16) -> ProbeInput<'_> {
        ProbeInput {
            data: d,
            src_port: 40000,
            dst_port: port,
        }
    }
    let req = packet(1, 5, &[(1, b"user"), (4, &[1, 2, 3, 4])]);
    assert_eq!(probe_datagram(&inp(&req, 1812)).verdict, Verdict::Certain);
    assert_eq!(probe_datagram(&inp(&req, 9999)).verdict, Verdict::Certain);
    let mut padded = req.clone();
    padded.extend([0; 3]);
    assert_eq!(
        probe_datagram(&inp(&padded, 1812)).verdict,
        Verdict::Certain
    );
    assert_eq!(
        probe_datagram(&inp(&padded, 9999)).verdict,
        Verdict::NotMine
    );
    assert_eq!(
        probe_datagram(&inp(b"\x01\x00\x00\x10hello world, not radius", 9999)).verdict,
        Verdict::NotMine
    );
    assert_eq!(
        probe_datagram(&inp(&req[..10], 1812)).verdict,
        Verdict::NotMine
    );
}

proptest! {
    #[test]
    fn garbage_never_panics(d in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut p = RadiusParser::new([0, 0]);
        let mut out = Vec::new();
        p.parse(C, &d, &mut out).unwrap();
        p.parse(S, &d, &mut out).unwrap();
        p.end(C, &mut out);
        p.end(S, &mut out);
        for m in &out {
            if let Message::Exchange(x) = m { let _ = x.summary(); }
        }
        let _ = probe_datagram(&ProbeInput { data: &d, src_port: 1, dst_port: 2 });
    }
}

#[test]
fn a_retransmitted_request_is_flagged_and_the_answer_pairs_with_the_first() {
    let mut p = RadiusParser::new([0, 0]);
    let mut out = Vec::new();
    let req = packet(1, 9, &[(1, b"alice")]);
    // The same request again (same authenticator), then another with a new one, then
    // the answer.
    let mut other = req.clone();
    other[4] = 0x22;
    for (d, b) in [(C, &req), (C, &req), (C, &other), (S, &packet(2, 9, &[]))] {
        p.parse(d, b, &mut out).unwrap();
    }
    p.end(C, &mut out);
    p.end(S, &mut out);
    let x = exchanges(&out);
    assert_eq!(x.len(), 3, "{out:?}");
    // The copy at once, unanswered and flagged; then the first with the answer; the one
    // with another authenticator is a new request, left unanswered at the end.
    let q = |i: usize| x[i].request.as_ref().unwrap();
    assert!(q(0).retransmission && x[0].response.is_none());
    assert_eq!(q(0).start, 27);
    assert_eq!((q(1).start, q(1).retransmission), (0, false));
    assert_eq!(x[1].response.as_ref().unwrap().code, 2);
    assert_eq!((q(2).start, x[2].response.is_none()), (54, true));
    assert_eq!(p.counters().retransmissions, 1);
    // Acct-Terminate-Cause values are named (RFC 2866 5.10).
    let acct = packet(4, 1, &[(49, &1u32.to_be_bytes())]);
    let mut q = RadiusParser::new([0, 0]);
    let mut out = Vec::new();
    q.parse(C, &acct, &mut out).unwrap();
    q.end(C, &mut out);
    q.end(S, &mut out);
    let x = exchanges(&out);
    assert_eq!(
        x[0].request.as_ref().unwrap().attributes[0].value,
        "1 (User-Request)"
    );
}

#[test]
fn vendor_specific_sub_attributes() {
    // Cisco (9) AVPair and a Microsoft (311) MPPE key, as freeradius sends them
    // (ks_radius_freeradius.pcap frames 2 and 8; tshark: `Cisco-AVPair: shell:priv-lvl=15`).
    let cisco = [&9u32.to_be_bytes()[..], &[1, 19], b"shell:priv-lvl=15"].concat();
    let ms = [&311u32.to_be_bytes()[..], &[16, 6], &[1, 2, 3, 4]].concat();
    // A vendor with its own layout (a length that does not walk to the end).
    let odd = [&4242u32.to_be_bytes()[..], &[7, 9, 1]].concat();
    let pkt = packet(2, 5, &[(26, &cisco), (26, &ms), (26, &odd)]);
    let p = decode(&pkt).unwrap();
    let v = &p.attributes;
    assert_eq!(v[0].vendor_id, Some(9));
    assert_eq!(
        (
            v[0].vendor_attributes[0].name,
            v[0].vendor_attributes[0].value.as_str()
        ),
        ("Cisco-AVPair", "shell:priv-lvl=15")
    );
    assert_eq!(v[1].vendor_attributes[0].name, "MS-MPPE-Send-Key");
    assert_eq!(v[1].vendor_attributes[0].value, "<hidden, 4 bytes>");
    assert!(v[2].vendor_attributes.is_empty());
    assert_eq!(v[2].value, "070901");
}
