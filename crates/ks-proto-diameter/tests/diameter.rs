//! DIAMETER parser tests: real bytes from a capture (checked against tshark), messages
//! built by hand for what the capture lacks, and streaming properties.

use ks_proto::{Direction, ParserEvent, Probe, ProbeInput, Role, StreamParser, Verdict};
use ks_proto_diameter::{
    Avp, DiameterConfig, DiameterMessage, DiameterParser, Exchange, Message, MAX_AVPS, MAX_DEPTH,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Ground truth: testdata/pcap/diameter/ndpi_diameter.pcap, the TCP payload of its six
// frames (`tshark -r ndpi_diameter.pcap -T fields -e tcp.payload`): CCR / CCA three
// times, client 50957 → server 3868, application 4 (Diameter Credit Control).
const FRAMES: [&str; 6] = [
    // frame 1
    "01000158800001100000000402ea493026f00003000001074000001d6e786c3b6170693b31323633323738383738313437000000000001cd40000014436f6d76657273652e444349000001024000000c0000000400000108400000196e786c312e6e65747863656c6c2e636f6d00000000000128400000146e65747863656c6c2e636f6d0000019f4000000c000000000000012540000019646775322e636f6d76657273652e636f6d0000000000011b40000014636f6d76657273652e636f6d000000374000000ccef6999e000001bb40000028000001bc40000014393139303830303030303136000001c24000000c00000000000001b840000024000001b94000000c00000002000001ba4000000d6462696c6c000000000001a04000000c00000001000001b5400000340000019d4000002c000001bd40000018000001bf400000100000000000000002000001a94000000c00000164",
    // frame 2
    "010000ec400001100000000402ea493026f00003000001074000001d6e786c3b6170693b313236333237383837383134370000000000010c4000000c000007d1000001084000001a64736c75312e636f6d76657273652e636f6d00000000012840000014636f6d76657273652e636f6d000001024000000c00000004000001a04000000c000000010000019f4000000c00000000000001164000000c0000416d000000374000000ccef699e5000001c04000000c00000005000001af400000340000019d4000002c000001bd40000018000001bf400000100000000000000002000001a94000000c00000164",
    // frame 3
    "01000168800001100000000402ea493126f00005000001074000001d6e786c3b6170693b31323633323738383738313437000000000001cd40000014436f6d76657273652e444349000001024000000c0000000400000108400000196e786c312e6e65747863656c6c2e636f6d00000000000128400000146e65747863656c6c2e636f6d0000019f4000000c000000010000012540000019646775322e636f6d76657273652e636f6d0000000000011b40000014636f6d76657273652e636f6d000000374000000ccef6999e000001bb40000028000001bc40000014393139303830303030303136000001c24000000c00000000000001a04000000c00000002000001b5400000340000019d4000002c000001bd40000018000001bf400000100000000000000002000001a94000000c00000164000001be400000340000019d4000002c000001bd40000018000001bf400000100000000000000001000001a94000000c00000164",
    // frame 4
    "010000ec400001100000000402ea493126f00005000001074000001d6e786c3b6170693b313236333237383837383134370000000000010c4000000c000007d1000001084000001a64736c75312e636f6d76657273652e636f6d00000000012840000014636f6d76657273652e636f6d000001024000000c00000004000001a04000000c000000020000019f4000000c00000001000001164000000c0000416d000000374000000ccef699e5000001c04000000c00000005000001af400000340000019d4000002c000001bd40000018000001bf400000100000000000000002000001a94000000c00000164",
    // frame 5
    "01000134800001100000000402ea493226f00007000001074000001d6e786c3b6170693b31323633323738383738313437000000000001cd40000014436f6d76657273652e444349000001024000000c0000000400000108400000196e786c312e6e65747863656c6c2e636f6d00000000000128400000146e65747863656c6c2e636f6d0000019f4000000c000000020000012540000019646775322e636f6d76657273652e636f6d0000000000011b40000014636f6d76657273652e636f6d000000374000000ccef6999e000001bb40000028000001bc40000014393139303830303030303136000001c24000000c00000000000001a04000000c00000003000001be400000340000019d4000002c000001bd40000018000001bf400000100000000000000001000001a94000000c00000164",
    // frame 6
    "010000ac400001100000000402ea493226f00007000001074000001d6e786c3b6170693b313236333237383837383134370000000000010c4000000c000007d1000001084000001a64736c75312e636f6d76657273652e636f6d00000000012840000014636f6d76657273652e636f6d000001024000000c00000004000001a04000000c000000030000019f4000000c00000002000001164000000c0000416d000000374000000ccef699e5",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Frames 1, 3, 5 (client → server) and 2, 4, 6 (server → client).
fn capture() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    for (i, f) in FRAMES.iter().enumerate() {
        if i % 2 == 0 {
            c.extend(unhex(f));
        } else {
            s.extend(unhex(f));
        }
    }
    (c, s)
}

fn exchanges(out: &[Message]) -> Vec<&Exchange> {
    out.iter()
        .filter_map(|m| match m {
            Message::Exchange(x) => Some(&**x),
            _ => None,
        })
        .collect()
}

fn events(out: &[Message]) -> Vec<&ParserEvent> {
    out.iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn find<'a>(avps: &'a [Avp], name: &str) -> &'a Avp {
    avps.iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{name} not in {avps:?}"))
}

fn value<'a>(avps: &'a [Avp], name: &str) -> &'a str {
    find(avps, name).value.as_deref().unwrap()
}

#[test]
fn capture_matches_tshark() {
    let (c, s) = capture();
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    // The engine's order: each request, then its answer.
    let (mut ci, mut si) = (0, 0);
    for (i, f) in FRAMES.iter().enumerate() {
        let n = f.len() / 2;
        let (dir, bytes, at) = if i % 2 == 0 {
            ci += n;
            (Direction::ToServer, &c[ci - n..ci], &mut 0)
        } else {
            si += n;
            (Direction::ToClient, &s[si - n..si], &mut 0)
        };
        let r = p.parse(dir, bytes, &mut out).unwrap();
        *at = r.consumed;
        assert_eq!(r.consumed, n);
        // Nothing left: a header's worth is the least that can help.
        assert_eq!(r.needed, 20);
    }
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 3);
    // tshark: diameter.hopbyhopid, diameter.endtoendid per frame pair.
    let ids = [
        (0x02ea4930, 0x26f00003),
        (0x02ea4931, 0x26f00005),
        (0x02ea4932, 0x26f00007),
    ];
    // tshark: CC-Request-Type INITIAL_REQUEST (1) / UPDATE_REQUEST (2) / TERMINATION_REQUEST (3).
    let types = [
        "1 (INITIAL_REQUEST)",
        "2 (UPDATE_REQUEST)",
        "3 (TERMINATION_REQUEST)",
    ];
    for (k, x) in xs.iter().enumerate() {
        assert_eq!(x.request_dir, Direction::ToServer);
        let q = x.request.as_ref().unwrap();
        let r = x.response.as_ref().unwrap();
        // tshark: diameter.cmd.code 272, diameter.flags.request 1 / 0, flags R--- / -P--.
        assert_eq!((q.command_code, r.command_code), (272, 272));
        assert_eq!((q.flags, r.flags), (0x80, 0x40));
        assert_eq!(
            (q.flags_text.as_str(), r.flags_text.as_str()),
            ("R---", "-P--")
        );
        assert!(q.is_request && !r.is_request);
        assert_eq!(
            (q.command_name.as_str(), r.command_name.as_str()),
            ("CCR", "CCA")
        );
        // tshark: diameter.applicationId 4.
        assert_eq!(q.application_id, 4);
        assert_eq!(q.application_name, Some("Diameter Credit Control"));
        assert_eq!((q.hop_by_hop, q.end_to_end), ids[k]);
        assert_eq!((r.hop_by_hop, r.end_to_end), ids[k]);
        // tshark: diameter.Session-Id, Origin-Host, Origin-Realm, Result-Code.
        for m in [q, r] {
            assert_eq!(m.session_id.as_deref(), Some("nxl;api;1263278878147"));
            assert_eq!(value(&m.avps, "Session-Id"), "nxl;api;1263278878147");
        }
        assert_eq!(q.origin_host.as_deref(), Some("nxl1.netxcell.com"));
        assert_eq!(q.origin_realm.as_deref(), Some("netxcell.com"));
        assert_eq!(r.origin_host.as_deref(), Some("dslu1.comverse.com"));
        assert_eq!(r.origin_realm.as_deref(), Some("comverse.com"));
        assert_eq!(q.result_code, None);
        assert_eq!(r.result_code, Some(2001));
        assert_eq!(r.result_name, Some("DIAMETER_SUCCESS"));
        assert_eq!(r.result_class, Some("success"));
        assert_eq!(value(&r.avps, "Result-Code"), "2001 (DIAMETER_SUCCESS)");
        assert_eq!(value(&q.avps, "CC-Request-Type"), types[k]);
        assert_eq!(value(&q.avps, "CC-Request-Number"), k.to_string());
        // tshark: Service-Context-Id "Comverse.DCI", Destination-Host "dgu2.comverse.com",
        // Destination-Realm "comverse.com", Auth-Application-Id "Diameter Credit Control
        // Application (4)".
        assert_eq!(value(&q.avps, "Service-Context-Id"), "Comverse.DCI");
        assert_eq!(value(&q.avps, "Destination-Host"), "dgu2.comverse.com");
        assert_eq!(value(&q.avps, "Destination-Realm"), "comverse.com");
        assert_eq!(
            value(&q.avps, "Auth-Application-Id"),
            "4 (Diameter Credit Control)"
        );
        // tshark: Event-Timestamp "Jan 12, 2010 06:47:58.000000000 UTC".
        assert_eq!(value(&q.avps, "Event-Timestamp"), "2010-01-12T06:47:58Z");
        // tshark: Subscription-Id { Subscription-Id-Data 919080000016,
        // Subscription-Id-Type END_USER_E164 (0) }.
        let sub = find(&q.avps, "Subscription-Id");
        assert_eq!(sub.kind, "Grouped");
        assert_eq!(value(&sub.avps, "Subscription-Id-Data"), "919080000016");
        assert_eq!(
            value(&sub.avps, "Subscription-Id-Type"),
            "0 (END_USER_E164)"
        );
        assert!(find(&q.avps, "Session-Id").mandatory());
        assert_eq!(find(&q.avps, "Session-Id").length, 29);
        assert!(q.error.is_none() && r.error.is_none(), "{q:?} {r:?}");
        assert_eq!(
            x.summary().split(' ').take(3).collect::<Vec<_>>(),
            ["CCR", "→", "2001"]
        );
    }
    let q0 = xs[0].request.as_ref().unwrap();
    // tshark frame 1: Requested-Service-Unit { CC-Money { Unit-Value { Value-Digits 2 },
    // Currency-Code 356 } }.
    let rsu = find(&q0.avps, "Requested-Service-Unit");
    let money = find(&rsu.avps, "CC-Money");
    assert_eq!(
        value(&find(&money.avps, "Unit-Value").avps, "Value-Digits"),
        "2"
    );
    assert_eq!(value(&money.avps, "Currency-Code"), "356");
    // tshark frame 1: Service-Parameter-Info { Service-Parameter-Type 2,
    // Service-Parameter-Value 6462696c6c ("dbill", shown as text here) }.
    let spi = find(&q0.avps, "Service-Parameter-Info");
    assert_eq!(value(&spi.avps, "Service-Parameter-Type"), "2");
    assert_eq!(value(&spi.avps, "Service-Parameter-Value"), "dbill");
    // tshark frame 3: Used-Service-Unit { CC-Money { Unit-Value { Value-Digits 1 } } }.
    let q1 = xs[1].request.as_ref().unwrap();
    let usu = find(&q1.avps, "Used-Service-Unit");
    let uv = find(&find(&usu.avps, "CC-Money").avps, "Unit-Value");
    assert_eq!(value(&uv.avps, "Value-Digits"), "1");
    // tshark frame 2: Origin-State-Id 16749, Validity-Time 5.
    let r0 = xs[0].response.as_ref().unwrap();
    assert_eq!(value(&r0.avps, "Origin-State-Id"), "16749");
    assert_eq!(value(&r0.avps, "Validity-Time"), "5");
    assert_eq!(
        xs[0].summary(),
        "CCR → 2001 INITIAL session=nxl;api;1263278878147"
    );
    // Offsets: frames 1..=6 in their direction.
    assert_eq!((q0.start, q0.end), (0, 344));
    assert_eq!((r0.start, r0.end), (0, 236));
    assert_eq!((q1.start, q1.end), (344, 704));
    let c = p.counters();
    assert_eq!((c.messages, c.exchanges, c.parse_errors), (6, 3, 0));
    serde_json::to_string(xs[0]).unwrap();
}

#[test]
fn capture_probe() {
    let f1 = unhex(FRAMES[0]);
    let f2 = unhex(FRAMES[1]);
    let pr = |data: &[u8], src_port, dst_port| {
        DiameterParser::probe(&ProbeInput {
            data,
            src_port,
            dst_port,
        })
    };
    let client = Probe {
        verdict: Verdict::Certain,
        sender: Some(Role::Client),
    };
    assert_eq!(pr(&f1, 50957, 3868), client);
    // Off the port the strict checks (known command, first AVP fits) decide.
    assert_eq!(pr(&f1, 1000, 2000), client);
    assert_eq!(pr(&f2, 3868, 50957).sender, Some(Role::Server));
    assert_eq!(pr(&f1[..10], 1000, 2000).verdict, Verdict::Unsure);
    assert_eq!(pr(b"GET / HTTP/1.1\r\n\r\n", 1000, 3868), Probe::NOT_MINE);
    assert_eq!(pr(&[1, 0, 0, 8], 1000, 3868), Probe::NOT_MINE);
    // Unknown command off the port.
    let mut odd = f1.clone();
    odd[5..8].copy_from_slice(&[0, 0x12, 0x34]);
    assert_eq!(pr(&odd, 1000, 2000), Probe::NOT_MINE);
    assert_eq!(pr(&odd, 1000, 3868).verdict, Verdict::Certain);
}

// ---------------------------------------------------------------------------
// Hand-built messages.

/// An AVP: code, flags, optional vendor, data; padded to 4.
fn avp(code: u32, flags: u8, vendor: Option<u32>, data: &[u8]) -> Vec<u8> {
    let hdr = if vendor.is_some() { 12 } else { 8 };
    let flags = if vendor.is_some() {
        flags | 0x80
    } else {
        flags
    };
    let mut v = code.to_be_bytes().to_vec();
    v.extend(((u32::from(flags) << 24) | (hdr + data.len() as u32)).to_be_bytes());
    if let Some(id) = vendor {
        v.extend(id.to_be_bytes());
    }
    v.extend(data);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

fn m(code: u32, data: &[u8]) -> Vec<u8> {
    avp(code, 0x40, None, data)
}

fn u32a(code: u32, n: u32) -> Vec<u8> {
    m(code, &n.to_be_bytes())
}

fn grouped(code: u32, kids: &[Vec<u8>]) -> Vec<u8> {
    m(code, &kids.concat())
}

fn msg(flags: u8, cmd: u32, app: u32, hbh: u32, avps: &[Vec<u8>]) -> Vec<u8> {
    let body = avps.concat();
    let mut v = (0x0100_0000u32 | (20 + body.len() as u32))
        .to_be_bytes()
        .to_vec();
    v.extend(((u32::from(flags) << 24) | cmd).to_be_bytes());
    v.extend(app.to_be_bytes());
    v.extend(hbh.to_be_bytes());
    v.extend((hbh ^ 0x5555).to_be_bytes());
    v.extend(body);
    v
}

fn run(steps: &[(Direction, Vec<u8>)]) -> (DiameterParser, Vec<Message>) {
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    for (d, b) in steps {
        let r = p.parse(*d, b, &mut out).unwrap();
        assert_eq!(r.consumed, b.len());
    }
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    (p, out)
}

fn cer(flags: u8, hbh: u32, host: &str) -> Vec<u8> {
    msg(
        flags,
        257,
        0,
        hbh,
        &[
            m(264, host.as_bytes()),
            m(296, b"example"),
            m(257, &[0, 1, 192, 0, 2, 1]),
            u32a(266, 10415),
            m(269, b"ks-test"),
            u32a(258, 4),
        ],
    )
}

#[test]
fn cer_cea() {
    let req = cer(0x80, 1, "client.example");
    let mut ans = cer(0x00, 1, "server.example");
    ans.splice(20..20, u32a(268, 2001));
    let len = ans.len() as u32;
    ans[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
    let (_, out) = run(&[(Direction::ToServer, req), (Direction::ToClient, ans)]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 1);
    assert_eq!(xs[0].summary(), "CER → 2001 origin=client.example");
    let q = xs[0].request.as_ref().unwrap();
    assert_eq!(q.command_long_name, Some("Capabilities-Exchange"));
    assert_eq!(q.application_name, Some("Diameter Common Messages"));
    assert_eq!(value(&q.avps, "Host-IP-Address"), "192.0.2.1");
    assert_eq!(value(&q.avps, "Vendor-Id"), "10415 (3GPP)");
    assert_eq!(value(&q.avps, "Product-Name"), "ks-test");
    let r = xs[0].response.as_ref().unwrap();
    assert_eq!(r.command_name, "CEA");
    assert_eq!(r.label(), "CEA 2001 origin=server.example");
}

#[test]
fn dwr_from_the_server_side_pairs_with_the_client_answer() {
    let dwr = msg(0x80, 280, 0, 77, &[m(264, b"server"), m(296, b"r")]);
    let dwa = msg(
        0x00,
        280,
        0,
        77,
        &[u32a(268, 2001), m(264, b"client"), m(296, b"r")],
    );
    // And a client DWR with the same hop-by-hop id, still pending: it must not be
    // taken by the answer that travels ToServer.
    let cdwr = msg(0x80, 280, 0, 77, &[m(264, b"client"), m(296, b"r")]);
    let cdwa = msg(0x00, 280, 0, 77, &[u32a(268, 3004), m(264, b"server")]);
    let (p, out) = run(&[
        (Direction::ToServer, cdwr),
        (Direction::ToClient, dwr),
        (Direction::ToServer, dwa),
        (Direction::ToClient, cdwa),
    ]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 2);
    assert_eq!(xs[0].request_dir, Direction::ToClient);
    assert_eq!(
        xs[0].request.as_ref().unwrap().origin_host.as_deref(),
        Some("server")
    );
    assert_eq!(
        xs[0].response.as_ref().unwrap().origin_host.as_deref(),
        Some("client")
    );
    assert_eq!(xs[0].summary(), "DWR → 2001 origin=server");
    assert_eq!(xs[1].request_dir, Direction::ToServer);
    assert_eq!(xs[1].summary(), "DWR → 3004 origin=client");
    assert_eq!(
        xs[1].response.as_ref().unwrap().result_class,
        Some("protocol-error")
    );
    assert_eq!(p.counters().orphan_answers, 0);
}

#[test]
fn answer_without_request_and_unanswered_request() {
    let cca = msg(0x40, 272, 4, 9, &[m(263, b"s;1"), u32a(268, 5030)]);
    let ccr = msg(0x80, 272, 4, 10, &[m(263, b"s;2"), u32a(416, 3)]);
    let (p, out) = run(&[(Direction::ToClient, cca), (Direction::ToServer, ccr)]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 2);
    assert!(xs[0].request.is_none());
    assert_eq!(xs[0].request_dir, Direction::ToServer);
    assert_eq!(xs[0].summary(), "CCA → 5030 session=s;1");
    assert_eq!(xs[0].label(), "CCA 5030 session=s;1");
    let r = xs[0].response.as_ref().unwrap();
    assert_eq!(r.result_name, Some("DIAMETER_USER_UNKNOWN"));
    assert_eq!(r.result_class, Some("permanent-failure"));
    assert_eq!(xs[1].summary(), "CCR → (no answer) TERMINATION session=s;2");
    let c = p.counters();
    assert_eq!((c.orphan_answers, c.unanswered), (1, 1));
}

#[test]
fn mscc_grouped_with_used_service_unit() {
    let mscc = grouped(
        456,
        &[
            grouped(
                446,
                &[m(420, &60u32.to_be_bytes()), m(412, &1234u64.to_be_bytes())],
            ),
            u32a(432, 100),
            u32a(439, 7),
        ],
    );
    let ccr = msg(
        0x80,
        272,
        4,
        1,
        &[m(263, b"gw;1"), u32a(416, 2), u32a(415, 1), mscc],
    );
    let (_, out) = run(&[(Direction::ToServer, ccr)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    let g = find(&q.avps, "Multiple-Services-Credit-Control");
    assert_eq!(g.kind, "Grouped");
    assert!(g.value.is_none());
    let usu = find(&g.avps, "Used-Service-Unit");
    assert_eq!(value(&usu.avps, "CC-Time"), "60");
    assert_eq!(value(&usu.avps, "CC-Input-Octets"), "1234");
    assert_eq!(value(&g.avps, "Rating-Group"), "100");
    assert_eq!(value(&g.avps, "Service-Identifier"), "7");
    assert_eq!(q.avp_count, 9);
    let json = serde_json::to_value(&q).unwrap();
    assert_eq!(json["avps"][3]["avps"][0]["name"], "Used-Service-Unit");
}

#[test]
fn vendor_specific_avps() {
    // Gx CCR-I: RAT-Type EUTRAN (1004) and IP-CAN-Type 3GPP-EPS (5), vendor 10415.
    let ccr = msg(
        0x80,
        272,
        16777238,
        3,
        &[
            m(263, b"pgw;1"),
            u32a(416, 1),
            avp(1032, 0x00, Some(10415), &1004u32.to_be_bytes()),
            avp(1027, 0x40, Some(10415), &5u32.to_be_bytes()),
            avp(22, 0x00, Some(10415), &[0x82, 0x02, 0xf8, 0x10]),
        ],
    );
    let (_, out) = run(&[(Direction::ToServer, ccr)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.application_name, Some("3GPP Gx"));
    let rat = find(&q.avps, "RAT-Type");
    assert_eq!(rat.vendor_id, Some(10415));
    assert_eq!(rat.flags, 0x80);
    assert!(!rat.mandatory());
    assert_eq!(rat.value.as_deref(), Some("1004 (EUTRAN)"));
    assert_eq!(value(&q.avps, "IP-CAN-Type"), "5 (3GPP-EPS)");
    assert_eq!(value(&q.avps, "3GPP-User-Location-Info"), "8202f810");
    // The same code without the vendor is another AVP (base 1032 is not defined).
    let plain = msg(0x80, 272, 4, 4, &[u32a(1032, 1004)]);
    let (_, out) = run(&[(Direction::ToServer, plain)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.avps[0].name, "Unknown");
}

#[test]
fn experimental_result() {
    let ulr = msg(
        0xc0,
        316,
        16777251,
        5,
        &[m(263, b"mme;1"), m(1, b"001010123456789")],
    );
    let er = grouped(297, &[u32a(266, 10415), u32a(298, 5001)]);
    let ula = msg(0x40, 316, 16777251, 5, &[m(263, b"mme;1"), er]);
    let (_, out) = run(&[(Direction::ToServer, ulr), (Direction::ToClient, ula)]);
    let x = exchanges(&out)[0];
    assert_eq!(x.summary(), "ULR → exp:5001 session=mme;1");
    let r = x.response.as_ref().unwrap();
    let e = r.experimental_result.as_ref().unwrap();
    assert_eq!((e.vendor_id, e.code), (10415, 5001));
    assert_eq!(e.name, Some("DIAMETER_ERROR_USER_UNKNOWN"));
    assert_eq!(r.result_class, Some("permanent-failure"));
    assert_eq!(r.result_code, None);
    assert_eq!(
        x.request.as_ref().unwrap().application_name,
        Some("3GPP S6a/S6d")
    );
    assert_eq!(
        value(&x.request.as_ref().unwrap().avps, "User-Name"),
        "001010123456789"
    );
}

#[test]
fn error_flag_answer() {
    let rar = msg(0x80, 258, 16777238, 6, &[m(263, b"pcrf;1"), u32a(285, 0)]);
    let raa = msg(
        0x20,
        258,
        16777238,
        6,
        &[m(263, b"pcrf;1"), u32a(268, 3002), m(281, b"no route")],
    );
    // A PCRF sends RAR to the PCEF: the request goes ToClient.
    let (_, out) = run(&[(Direction::ToClient, rar), (Direction::ToServer, raa)]);
    let x = exchanges(&out)[0];
    assert_eq!(x.request_dir, Direction::ToClient);
    let r = x.response.as_ref().unwrap();
    assert!(r.error_flag());
    assert_eq!(r.flags_text, "--E-");
    assert_eq!(r.result_name, Some("DIAMETER_UNABLE_TO_DELIVER"));
    assert_eq!(r.error_message.as_deref(), Some("no route"));
    assert_eq!(x.summary(), "RAR → 3002 session=pcrf;1");
    assert_eq!(
        value(&x.request.as_ref().unwrap().avps, "Re-Auth-Request-Type"),
        "0 (AUTHORIZE_ONLY)"
    );
}

#[test]
fn unknown_avp_and_command() {
    let req = msg(
        0x80,
        9999,
        424242,
        8,
        &[
            avp(7777, 0x00, Some(99), b"\x01\x02\x03"),
            avp(8888, 0x40, None, b"hi"),
        ],
    );
    let (_, out) = run(&[(Direction::ToServer, req)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.command_name, "Cmd-9999-R");
    assert_eq!(q.application_name, None);
    let a = &q.avps[0];
    assert_eq!(
        (a.code, a.name, a.kind, a.vendor_id),
        (7777, "Unknown", "Unknown", Some(99))
    );
    assert_eq!(a.value.as_deref(), Some("010203"));
    assert_eq!(q.avps[1].value.as_deref(), Some("6869"));
    assert_eq!(exchanges(&out)[0].summary(), "Cmd-9999-R → (no answer)");
}

#[test]
fn padding_and_malformed_avps() {
    // Session-Id of 5 bytes (AVP length 13, padded to 16), then Origin-Host.
    let req = msg(
        0x80,
        275,
        4,
        2,
        &[m(263, b"abcde"), m(264, b"h"), u32a(295, 1)],
    );
    assert_eq!(&req[20 + 13..20 + 16], &[0, 0, 0]);
    let (_, out) = run(&[(Direction::ToServer, req.clone())]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.session_id.as_deref(), Some("abcde"));
    assert_eq!(q.avps[0].length, 13);
    assert_eq!(q.origin_host.as_deref(), Some("h"));
    assert_eq!(value(&q.avps, "Termination-Cause"), "1 (DIAMETER_LOGOUT)");
    assert!(q.error.is_none());
    // An Unsigned32 of 3 bytes: hex and an error, the next AVPs still read.
    let bad = msg(0x80, 275, 4, 3, &[m(415, &[1, 2, 3]), m(264, b"h")]);
    let (p, out) = run(&[(Direction::ToServer, bad)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.avps[0].value.as_deref(), Some("010203"));
    assert!(q.avps[0].error.is_some());
    assert_eq!(q.origin_host.as_deref(), Some("h"));
    assert!(q.error.is_some());
    assert_eq!(p.counters().malformed, 1);
    // An AVP whose length runs past the message: kept AVPs before it, an error.
    let mut cut = msg(0x80, 275, 4, 4, &[m(264, b"h"), m(263, b"abcdefgh")]);
    let n = cut.len();
    cut[n - 9] = 200;
    let (_, out) = run(&[(Direction::ToServer, cut)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    assert_eq!(q.avps.len(), 1);
    assert!(q.error.as_deref().unwrap().contains("263"), "{:?}", q.error);
}

#[test]
fn depth_cap() {
    let mut g = u32a(432, 1);
    for _ in 0..MAX_DEPTH + 3 {
        g = grouped(456, &[g]);
    }
    let req = msg(0x80, 272, 4, 1, &[g]);
    let (_, out) = run(&[(Direction::ToServer, req)]);
    let q = exchanges(&out)[0].request.clone().unwrap();
    let mut a = &q.avps[0];
    let mut depth = 1;
    while let Some(k) = a.avps.first() {
        a = k;
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert!(a.error.as_deref().unwrap().contains("nested"));
    assert!(a.value.is_some());
    serde_json::to_string(&q).unwrap();
}

#[test]
fn avp_cap_keeps_counting() {
    let mut avps = vec![m(263, b"s")];
    avps.extend((0..MAX_AVPS + 50).map(|i| u32a(415, i as u32)));
    avps.push(u32a(268, 2001));
    let ans = msg(0x00, 272, 4, 1, &avps);
    let (p, out) = run(&[(Direction::ToClient, ans)]);
    let r = exchanges(&out)[0].response.clone().unwrap();
    assert_eq!(r.avps.len(), MAX_AVPS);
    assert_eq!(r.avp_count, MAX_AVPS + 52);
    assert!(r.avps_truncated);
    // Facts past the cap are still found.
    assert_eq!(r.result_code, Some(2001));
    assert_eq!(p.counters().avps_truncated, 1);
}

#[test]
fn pending_cap_flushes_the_oldest() {
    let mut p = DiameterParser::new(
        DiameterConfig {
            max_pending: 2,
            ..DiameterConfig::default()
        },
        [0, 0],
    );
    let mut out = Vec::new();
    for h in 0..3 {
        p.parse(Direction::ToServer, &msg(0x80, 280, 0, h, &[]), &mut out)
            .unwrap();
    }
    assert_eq!(events(&out)[0].kind, "pending-capped");
    assert_eq!(exchanges(&out)[0].request.as_ref().unwrap().hop_by_hop, 0);
    assert_eq!(p.pending(), 2);
    assert_eq!(p.counters().pending_capped, 1);
    // low_water: the oldest pending request still held.
    assert_eq!(p.low_water(Direction::ToServer), 20);
    assert_eq!(p.low_water(Direction::ToClient), 0);
}

#[test]
fn duplicate_hop_by_hop() {
    let a = msg(0x80, 272, 4, 1, &[m(263, b"s;1")]);
    let b = msg(0x90, 272, 4, 1, &[m(263, b"s;1")]);
    let (p, out) = run(&[(Direction::ToServer, a), (Direction::ToServer, b)]);
    assert_eq!(events(&out)[0].kind, "duplicate-hop-by-hop");
    assert!(events(&out)[0].message.contains("retransmission"));
    assert_eq!(exchanges(&out).len(), 2);
    assert_eq!(p.counters().duplicate_hop_by_hop, 1);
}

// ---------------------------------------------------------------------------
// Streaming.

/// Feeds `bytes` like the engine: the unconsumed rest is kept, and after an `Err`
/// the same bytes are passed again. Returns the parse errors.
fn feed(
    p: &mut DiameterParser,
    dir: Direction,
    buf: &mut Vec<u8>,
    new: &[u8],
    out: &mut Vec<Message>,
) -> usize {
    buf.extend_from_slice(new);
    let mut errors = 0;
    for _ in 0..10_000 {
        match p.parse(dir, buf, out) {
            Ok(r) => {
                assert!(r.consumed <= buf.len());
                buf.drain(..r.consumed);
                if r.consumed == 0 || buf.is_empty() {
                    assert!(buf.is_empty() || r.needed > 0);
                    break;
                }
            }
            Err(_) => errors += 1,
        }
    }
    errors
}

#[test]
fn several_messages_per_call_and_one_over_many() {
    let (c, _) = capture();
    let mut p = DiameterParser::new(DiameterConfig::default(), [100, 0]);
    let mut out = Vec::new();
    let r = p.parse(Direction::ToServer, &c, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (c.len(), 20));
    assert_eq!(p.pending(), 3);
    assert_eq!(p.low_water(Direction::ToServer), 100);
    // One message over many calls: `needed` says how much is missing.
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let r = p.parse(Direction::ToServer, &c[..7], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 13));
    let r = p.parse(Direction::ToServer, &c[..20], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 324));
    let r = p.parse(Direction::ToServer, &c[..350], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (344, 14));
}

#[test]
fn garbage_then_resync() {
    let (c, _) = capture();
    let mut stream = b"\x00garbage, not diameter at all".to_vec();
    stream.extend(&c);
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let errors = feed(&mut p, Direction::ToServer, &mut buf, &stream, &mut out);
    assert_eq!(errors, 1);
    assert_eq!(p.pending(), 3);
    assert_eq!(p.counters().resyncs, 1);
    assert_eq!(p.counters().skipped_bytes, 29);
    // A valid message then a bad one in the same call: Ok first, Err next.
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut s = unhex(FRAMES[0]);
    s.extend([2, 0, 0, 20]);
    s.extend([0; 16]);
    let r = p.parse(Direction::ToServer, &s, &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (344, 0));
    let e = p
        .parse(Direction::ToServer, &s[344..], &mut out)
        .unwrap_err();
    assert_eq!((e.kind, e.offset), ("bad-version", 344));
}

#[test]
fn too_large_and_too_short_lengths() {
    let mut p = DiameterParser::new(
        DiameterConfig {
            max_message: 100,
            ..DiameterConfig::default()
        },
        [0, 0],
    );
    let mut out = Vec::new();
    let (c, _) = capture();
    let e = p.parse(Direction::ToServer, &c, &mut out).unwrap_err();
    assert_eq!(e.kind, "too-large");
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let e = p
        .parse(Direction::ToServer, &[1, 0, 0, 12, 0x80], &mut out)
        .unwrap_err();
    assert_eq!(e.kind, "bad-length");
}

#[test]
fn gap_resyncs_on_the_next_message() {
    let (c, s) = capture();
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    // Half of frame 1 arrives, then the rest of it is lost; frame 3 follows.
    let r = p.parse(Direction::ToServer, &c[..100], &mut out).unwrap();
    assert_eq!(r.consumed, 0);
    p.gap(Direction::ToServer, 344, &mut out);
    assert_eq!(events(&out)[0].kind, "gap");
    let mut buf = Vec::new();
    assert_eq!(
        feed(&mut p, Direction::ToServer, &mut buf, &c[344..], &mut out),
        0
    );
    assert_eq!(p.pending(), 2);
    assert_eq!(p.low_water(Direction::ToServer), 344);
    let mut buf = Vec::new();
    feed(&mut p, Direction::ToClient, &mut buf, &s, &mut out);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 3);
    assert!(xs[0].request.is_none());
    assert_eq!(xs[1].request.as_ref().unwrap().start, 344);
}

fn collect(out: &[Message]) -> Vec<String> {
    out.iter()
        .map(|m| match m {
            Message::Exchange(x) => serde_json::to_string(x).unwrap(),
            Message::OneWay(o) => serde_json::to_string(o).unwrap(),
            Message::Event(e) => format!("{e:?}"),
        })
        .collect()
}

fn whole_run(c: &[u8], s: &[u8]) -> Vec<String> {
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    p.parse(Direction::ToServer, c, &mut out).unwrap();
    p.parse(Direction::ToClient, s, &mut out).unwrap();
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    collect(&out)
}

fn check_message(m: &DiameterMessage, seen: u64) {
    assert!(
        m.start <= m.end && m.end <= seen,
        "{} {} {seen}",
        m.start,
        m.end
    );
}

proptest! {
    /// Any cut of a valid stream gives the same messages.
    #[test]
    fn split_anywhere(cuts in proptest::collection::vec(0usize..2000, 0..6)) {
        let (c, s) = capture();
        let want = whole_run(&c, &s);
        let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
        let mut out = Vec::new();
        for (dir, bytes) in [(Direction::ToServer, &c), (Direction::ToClient, &s)] {
            let mut points: Vec<usize> = cuts.iter().map(|x| x % (bytes.len() + 1)).collect();
            points.push(bytes.len());
            points.sort_unstable();
            let mut buf = Vec::new();
            let mut at = 0;
            for q in points {
                prop_assert_eq!(feed(&mut p, dir, &mut buf, &bytes[at..q], &mut out), 0);
                at = q;
            }
            prop_assert!(buf.is_empty());
        }
        p.end(Direction::ToServer, &mut out);
        p.end(Direction::ToClient, &mut out);
        prop_assert_eq!(collect(&out), want);
    }

    /// Random bytes (and random bytes spliced into a valid stream) never panic, and
    /// what comes out lies inside the bytes given.
    #[test]
    fn no_panic(noise in proptest::collection::vec(any::<u8>(), 0..600), at in 0usize..1100,
                chunk in 1usize..64, flip in any::<bool>()) {
        let (c, _) = capture();
        let mut stream = c.clone();
        let at = at.min(stream.len());
        stream.splice(at..at, noise.iter().copied());
        let input = if flip { noise.clone() } else { stream };
        let _ = DiameterParser::probe(&ProbeInput { data: &input, src_port: 1, dst_port: 3868 });
        let _ = DiameterParser::probe(&ProbeInput { data: &input, src_port: 1, dst_port: 2 });
        let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut seen = 0u64;
        for piece in input.chunks(chunk) {
            seen += piece.len() as u64;
            feed(&mut p, Direction::ToServer, &mut buf, piece, &mut out);
            prop_assert!(p.low_water(Direction::ToServer) <= seen);
        }
        p.gap(Direction::ToClient, 10, &mut out);
        p.end(Direction::ToServer, &mut out);
        p.end(Direction::ToClient, &mut out);
        for m in &out {
            if let Message::Exchange(x) = m {
                if let Some(q) = &x.request { check_message(q, seen); }
                let _ = x.summary();
                serde_json::to_string(x).unwrap();
            }
        }
    }
}
