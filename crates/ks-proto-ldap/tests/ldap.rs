//! LDAP parser against real captures (payloads from `testdata/pcap/ldap/`, expected
//! values from the tshark 4.0.17 references next to them) and synthetic edge cases.

use ks_proto::{Direction, ProbeInput, Protocol, Role, StreamParser, Verdict};
use ks_proto_ldap::{
    probe_datagram, Exchange, LdapConfig, LdapParser, Message, OneWay, MAX_ENTRIES,
};
use proptest::prelude::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Feeds each (direction, bytes) whole, as the engine does, then ends both directions.
fn run(p: &mut LdapParser, msgs: &[(Direction, &[u8])]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (dir, b) in msgs {
        let buf = &mut bufs[dir.index()];
        buf.extend_from_slice(b);
        for _ in 0..100 {
            // An Err consumes nothing; the next call skips the bad bytes.
            if let Ok(r) = p.parse(*dir, buf, &mut out) {
                buf.drain(..r.consumed);
                if r.consumed == 0 || buf.is_empty() {
                    break;
                }
            }
        }
    }
    p.end(C, &mut out);
    p.end(S, &mut out);
    out
}

fn tcp(msgs: &[(Direction, &[u8])]) -> Vec<Message> {
    run(&mut LdapParser::new(LdapConfig::default(), [0, 0]), msgs)
}

fn exchanges(out: &[Message]) -> Vec<&Exchange> {
    out.iter()
        .filter_map(|m| match m {
            Message::Exchange(x) => Some(&**x),
            _ => None,
        })
        .collect()
}

fn one_ways(out: &[Message]) -> Vec<&OneWay> {
    out.iter()
        .filter_map(|m| match m {
            Message::OneWay(o) => Some(&**o),
            _ => None,
        })
        .collect()
}

fn events(out: &[Message]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some(e.kind),
            _ => None,
        })
        .collect()
}

// suricata-verify_ldap-search.pcap, frames 4 (request), 6 (searchResEntry), 8 (searchResDone).
const SEARCH_REQ: &str = "30560201026351041164633d6578616d706c652c64633d636f6d0a01020a0100020203e80201\
    1e010100a024a315040b6f626a656374436c6173730406706572736f6ea30b040375696404046a646f65300604012a04012b";
const SEARCH_ENTRY: &str =
    "30490201026444041164633d6578616d706c652c64633d636f6d302f301c040b6f626a656374436c\
    617373310d0403746f700406646f6d61696e300f04026463310904076578616d706c65";
const SEARCH_DONE: &str = "300c02010265070a010004000400";

#[test]
fn suricata_search() {
    let (q, e, d) = (unhex(SEARCH_REQ), unhex(SEARCH_ENTRY), unhex(SEARCH_DONE));
    let out = tcp(&[(C, &q), (S, &e), (S, &d)]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 1, "{out:?}");
    let x = xs[0];
    let q = x.request.as_ref().unwrap();
    // tshark: ldap.messageID 2, ldap.protocolOp 3, baseObject, scope 2, Filter line of -V.
    assert_eq!(
        (q.message_id, q.protocol_op, q.operation),
        (2, 3, "searchRequest")
    );
    assert_eq!(q.base_object.as_deref(), Some("dc=example,dc=com"));
    assert_eq!(q.scope, Some("wholeSubtree"));
    assert_eq!(q.deref, Some("neverDerefAliases"));
    assert_eq!((q.size_limit, q.time_limit), (Some(1000), Some(30)));
    assert_eq!(
        q.filter.as_deref(),
        Some("(&(objectClass=person)(uid=jdoe))")
    );
    assert_eq!(q.attributes, ["*", "+"]);
    // tshark frame 6: objectName and ldap.type [objectClass, dc].
    assert_eq!(x.entry_count, 1);
    assert_eq!(x.entries[0].dn, "dc=example,dc=com");
    assert_eq!(x.entries[0].attributes, ["objectClass", "dc"]);
    assert_eq!((x.entries[0].start, x.entries[0].end), (0, 75));
    // tshark frame 8: searchResDone(5), resultCode 0.
    let r = x.response.as_ref().unwrap();
    assert_eq!(
        (r.message_id, r.protocol_op, r.operation),
        (2, 5, "searchResDone")
    );
    assert_eq!(r.result_code, Some(0));
    assert_eq!((r.start, r.end), (75, 89), "offsets count per direction");
    assert_eq!(
        x.summary(),
        "search base=dc=example,dc=com (&(objectClass=person)(uid=jdoe)) → success 1 entry"
    );
}

// zeek_ldap_simpleauth.pcap: frames 4, 5, 7, 8 (entry + done in one segment), 9, 10.
// The server (AD, port 3268) uses 4-byte long-form lengths everywhere.
const SA_C: [&str; 3] = [
    "3032020101602d020103041c78787878787878787878784078782e7878782e78787878782e6e6574800a70617373776f72386431",
    "306f020102636a041c44433d78782c44433d7878782c44433d78787878782c44433d6e65740a01020a0103020100020100010100\
     a029870b6f626a656374636c617373a31a040e73414d4163636f756e744e616d65040878787878787878783010040e73414d4163636f756e744e616d65",
    "305b0201036056020103043d434e3d78787878787878782c4f553d55736572732c4f553d4163636f756e74732c44433d78782c\
     44433d7878782c44433d78787878782c44433d6e657480122f6465762f7264736b2f6330743064307330",
];
const SA_S: [&str; 3] = [
    "3084000000100201016184000000070a010004000400",
    "30840000007402010264840000006b043d434e3d78787878787878782c4f553d55736572732c4f553d4163636f756e74732c\
     44433d78782c44433d7878782c44433d78787878782c44433d6e6574308400000026308400000020040e73414d4163636f756e74\
     4e616d6531840000000a040878787878787878783084000000100201026584000000070a010004000400",
    "3084000000100201036184000000070a010004000400",
];

fn simpleauth() -> Vec<Message> {
    let c: Vec<_> = SA_C.iter().map(|h| unhex(h)).collect();
    let s: Vec<_> = SA_S.iter().map(|h| unhex(h)).collect();
    tcp(&[
        (C, &c[0]),
        (S, &s[0]),
        (C, &c[1]),
        (S, &s[1]),
        (C, &c[2]),
        (S, &s[2]),
    ])
}

#[test]
fn zeek_simpleauth_long_form_lengths() {
    let out = simpleauth();
    let xs = exchanges(&out);
    // tshark: messageIDs 1, 2, 3; ops 0/1, 3/4+5, 0/1; all resultCode 0.
    let ids: Vec<_> = xs
        .iter()
        .map(|x| {
            let (q, r) = (x.request.as_ref().unwrap(), x.response.as_ref().unwrap());
            (q.message_id, q.protocol_op, r.protocol_op, r.result_code)
        })
        .collect();
    assert_eq!(
        ids,
        [(1, 0, 1, Some(0)), (2, 3, 5, Some(0)), (3, 0, 1, Some(0))]
    );
    assert_eq!(
        xs[1].request.as_ref().unwrap().filter.as_deref(),
        Some("(&(objectclass=*)(sAMAccountName=xxxxxxxx))")
    );
    assert_eq!(xs[1].request.as_ref().unwrap().deref, Some("derefAlways"));
    assert_eq!(xs[1].entries[0].attributes, ["sAMAccountName"]);
    assert_eq!(
        xs[0].summary(),
        "bind xxxxxxxxxxx@xx.xxx.xxxxx.net simple → success"
    );
    // Simple-bind passwords never reach the JSON.
    for x in &xs {
        let j = serde_json::to_string(x).unwrap();
        assert!(!j.contains("passwor8d1") && !j.contains("/dev/rdsk"), "{j}");
    }
    assert_eq!(
        xs[2].request.as_ref().unwrap().password.as_deref(),
        Some("<hidden, 18 bytes>")
    );
}

// zeek_ldap_who-am-i.pcap: frames 4, 6 (bind), 8, 9 (extended), 10 (unbind).
#[test]
fn zeek_who_am_i() {
    let c = [
        unhex("302a0201016025020103041a636e3d61646d696e2c64633d6578616d706c652c64633d636f6d80047a65656b"),
        unhex("301e02010277198017312e332e362e312e342e312e343230332e312e31312e33"),
        unhex("30050201034200"),
    ];
    let s = [
        unhex("300c02010161070a010004000400"),
        unhex("302b02010278260a0100040004008b1d646e3a636e3d61646d696e2c64633d6578616d706c652c64633d636f6d"),
    ];
    let out = tcp(&[(C, &c[0]), (S, &s[0]), (C, &c[1]), (S, &s[1]), (C, &c[2])]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 2);
    let q = xs[1].request.as_ref().unwrap();
    // tshark frame 8: extendedReq(23), requestName 1.3.6.1.4.1.4203.1.11.3.
    assert_eq!((q.message_id, q.protocol_op), (2, 23));
    assert_eq!(q.request_name.as_deref(), Some("1.3.6.1.4.1.4203.1.11.3"));
    let r = xs[1].response.as_ref().unwrap();
    assert_eq!(
        (r.message_id, r.protocol_op, r.result_code),
        (2, 24, Some(0))
    );
    assert_eq!(
        xs[1].summary(),
        "extended whoami → success dn:cn=admin,dc=example,dc=com"
    );
    // tshark frame 10: unbindRequest(3), no response.
    let ow = one_ways(&out);
    assert_eq!(ow.len(), 1);
    let u = ow[0].request.as_ref().unwrap();
    assert_eq!(
        (u.message_id, u.protocol_op, u.operation),
        (3, 2, "unbindRequest")
    );
    assert_eq!(ow[0].label(), "unbind");
    assert_eq!(ow[0].dir, C);
}

// suricata-verify_ldap-bind.pcap: frames 4 and 6 (SASL CRAM-MD5, saslBindInProgress).
#[test]
fn suricata_sasl_bind() {
    let q = unhex("301602010160110201030400a30a04084352414d2d4d4435");
    let r = unhex("3030020101612b0a010e0400040087223c31306131336337626637303863613066333939636139396539323764613838623e");
    let out = tcp(&[(C, &q), (S, &r)]);
    let x = exchanges(&out)[0];
    let (q, r) = (x.request.as_ref().unwrap(), x.response.as_ref().unwrap());
    assert_eq!(
        (q.message_id, q.protocol_op, q.dn.as_deref()),
        (1, 0, Some(""))
    );
    assert_eq!(q.sasl_mechanism.as_deref(), Some("CRAM-MD5"));
    assert_eq!((r.protocol_op, r.result_code), (1, Some(14)));
    assert_eq!(r.server_sasl_creds_len, Some(34));
    assert_eq!(x.summary(), "bind sasl CRAM-MD5 → saslBindInProgress");
}

// suricata-verify_ldap-modify.pcap: frames 4 and 6.
#[test]
fn suricata_modify() {
    let q = unhex(
        "308180020102667b04247569643d6a646f652c6f753d50656f706c652c64633d6578616d706c652c64633d636f6d305330180a0101\
         30130409676976656e4e616d65310604044a6f686e301c0a010030170409676976656e4e616d65310a04084a6f6e617468616e\
         30190a010230140402636e310e040c4a6f6e617468616e20446f65",
    );
    let r = unhex("300c02010267070a010004000400");
    let out = tcp(&[(C, &q), (S, &r)]);
    let x = exchanges(&out)[0];
    let q = x.request.as_ref().unwrap();
    assert_eq!((q.message_id, q.protocol_op), (2, 6));
    // tshark -V: delete givenName, add givenName, replace cn.
    let ch: Vec<_> = q
        .changes
        .iter()
        .map(|c| (c.operation, c.attribute.as_str()))
        .collect();
    assert_eq!(
        ch,
        [
            ("delete", "givenName"),
            ("add", "givenName"),
            ("replace", "cn")
        ]
    );
    assert_eq!(x.response.as_ref().unwrap().protocol_op, 7);
    assert_eq!(
        x.summary(),
        "modify uid=jdoe,ou=People,dc=example,dc=com → success"
    );
}

// zeek_ldap_add.pcap: frames 4, 6, 8, 9, 11, 12, 14 (all client segments concatenated
// and all server ones, fed whole or byte by byte).
const ADD_C: &str = "302a0201016025020103041a636e3d61646d696e2c64633d6578616d706c652c64633d636f6d80047a65656b\
    30818c020102688186041b6f753d50656f706c652c64633d6578616d706c652c64633d636f6d30673028040b6f626a656374636c61737331\
    190403746f7004126f7267616e697a6174696f6e616c556e6974300e04026f753108040650656f706c65302b040b6465736372697074696f\
    6e311c041a436f6e7461696e657220666f72207573657220656e7472696573\
    308201520201036882014b04277569643d626a656e73656e2c6f753d50656f706c652c64633d6578616d706c652c64633d636f6d3082011e\
    3041040b6f626a656374636c61737331320403746f700406706572736f6e04146f7267616e697a6174696f6e616c506572736f6e040d696e\
    65746f7267506572736f6e3010040375696431090407626a656e73656e30160409676976656e4e616d653109040742617262617261300e04\
    02736e310804064a656e73656e30130402636e310d040b42616273204a656e73656e3023040f74656c6570686f6e654e756d626572311004\
    0e2834303829203535352d33393232302c041866616373696d696c6554656c6570686f6e654e756d6265723110040e283430382920353535\
    2d34303030301d04046d61696c31150413626a656e73656e406578616d706c652e636f6d3018040c7573657250617373776f726431080406\
    736563726574\
    30050201044200";
const ADD_S: &str =
    "300c02010161070a010004000400300c02010269070a010004000400300c02010369070a010004000400";

#[test]
fn zeek_add() {
    let (c, s) = (unhex(ADD_C), unhex(ADD_S));
    let out = tcp(&[(C, &c), (S, &s)]);
    let xs = exchanges(&out);
    let got: Vec<_> = xs
        .iter()
        .map(|x| {
            let q = x.request.as_ref().unwrap();
            (
                q.message_id,
                q.operation,
                x.response.as_ref().unwrap().result_code,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "bindRequest", Some(0)),
            (2, "addRequest", Some(0)),
            (3, "addRequest", Some(0))
        ]
    );
    // tshark ldap.type of frame 11.
    assert_eq!(
        xs[2].request.as_ref().unwrap().attributes,
        [
            "objectclass",
            "uid",
            "givenName",
            "sn",
            "cn",
            "telephoneNumber",
            "facsimileTelephoneNumber",
            "mail",
            "userPassword"
        ]
    );
    assert_eq!(xs[1].summary(), "add ou=People,dc=example,dc=com → success");
    let j = serde_json::to_string(&xs).unwrap();
    assert!(!j.contains("secret") && !j.contains("zeek"));
    assert_eq!(one_ways(&out)[0].request.as_ref().unwrap().message_id, 4);
}

#[test]
fn zeek_add_byte_by_byte() {
    let (c, s) = (unhex(ADD_C), unhex(ADD_S));
    let whole = tcp(&[(C, &c), (S, &s)]);
    let mut msgs: Vec<(Direction, &[u8])> = c.chunks(1).map(|b| (C, b)).collect();
    msgs.extend(s.chunks(1).map(|b| (S, b)));
    assert_eq!(tcp(&msgs), whole);
}

// zeek_ldap_search-umlaut.pcap, frame 4: tshark shows the value as hex (c3:9c:c3:bc);
// RFC 4515 keeps UTF-8 as is.
#[test]
fn zeek_umlaut_filter() {
    let q = unhex("30370201016332041164633d6578616d706c652c64633d636f6d0a01020a0100020100020100010100a30c04046e616d650404c39cc3bc3000");
    let out = tcp(&[(C, &q)]);
    let x = exchanges(&out)[0];
    let q = x.request.as_ref().unwrap();
    assert_eq!((q.message_id, q.protocol_op), (1, 3));
    assert_eq!(q.filter.as_deref(), Some("(name=Üü)"));
    assert!(x.response.is_none());
    assert_eq!(
        x.summary(),
        "search base=dc=example,dc=com (name=Üü) → (no response) 0 entries"
    );
}

// ---------------------------------------------------------------------------
// Synthetic messages.

fn tlv(ident: u8, val: &[u8]) -> Vec<u8> {
    let mut v = vec![ident];
    let n = val.len();
    if n < 128 {
        v.push(n as u8);
    } else if n < 256 {
        v.extend([0x81, n as u8]);
    } else {
        v.push(0x83);
        v.extend(&(n as u32).to_be_bytes()[1..]);
    }
    v.extend_from_slice(val);
    v
}

fn msg(id: u8, op: &[u8]) -> Vec<u8> {
    tlv(0x30, &[tlv(2, &[id]), op.to_vec()].concat())
}

fn result(op: u8, code: u8, extra: &[u8]) -> Vec<u8> {
    tlv(
        op,
        &[tlv(0x0a, &[code]), tlv(4, b""), tlv(4, b""), extra.to_vec()].concat(),
    )
}

fn search(id: u8, base: &str) -> Vec<u8> {
    let body = [
        tlv(4, base.as_bytes()),
        tlv(0x0a, &[2]),
        tlv(0x0a, &[0]),
        tlv(2, &[0]),
        tlv(2, &[0]),
        tlv(1, &[0]),
        tlv(0x87, b"objectClass"),
        tlv(0x30, b""),
    ]
    .concat();
    msg(id, &tlv(0x63, &body))
}

fn entry(id: u8, dn: &str) -> Vec<u8> {
    let attrs = tlv(
        0x30,
        &tlv(0x30, &[tlv(4, b"cn"), tlv(0x31, &tlv(4, b"x"))].concat()),
    );
    msg(id, &tlv(0x64, &[tlv(4, dn.as_bytes()), attrs].concat()))
}

#[test]
fn out_of_order_responses_and_many_per_segment() {
    let c = [search(1, "dc=a"), search(2, "dc=b")].concat();
    let s = [
        entry(2, "cn=b1,dc=b"),
        entry(1, "cn=a1,dc=a"),
        msg(2, &result(0x65, 0, b"")),
        entry(1, "cn=a2,dc=a"),
        msg(1, &result(0x65, 32, b"")),
    ]
    .concat();
    let out = tcp(&[(C, &c), (S, &s)]);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 2);
    assert_eq!(
        xs[0].summary(),
        "search base=dc=b (objectClass=*) → success 1 entry"
    );
    assert_eq!(
        xs[1].summary(),
        "search base=dc=a (objectClass=*) → noSuchObject 2 entries"
    );
    assert_eq!(xs[1].entries[1].dn, "cn=a2,dc=a");
}

#[test]
fn entry_cap_keeps_counts() {
    let mut s = Vec::new();
    for i in 0..(MAX_ENTRIES + 5) {
        s.extend(entry(1, &format!("cn={i}")));
    }
    s.extend(msg(1, &result(0x65, 4, b"")));
    let out = tcp(&[(C, &search(1, "")), (S, &s)]);
    let x = exchanges(&out)[0];
    assert_eq!(x.entries.len(), MAX_ENTRIES);
    assert_eq!(x.entry_count, MAX_ENTRIES as u64 + 5);
    assert!(
        x.summary().ends_with("sizeLimitExceeded 105 entries"),
        "{}",
        x.summary()
    );
    assert!(x.summary().starts_with("search base=<ROOT>"));
}

#[test]
fn garbage_then_resync() {
    let mut c = b"\x01\x02garbage\x30\x03\x02".to_vec();
    c.extend(search(5, "dc=x"));
    let mut p = LdapParser::new(LdapConfig::default(), [100, 0]);
    let mut out = Vec::new();
    let e = p.parse(C, &c, &mut out).unwrap_err();
    assert_eq!(e.offset, 100);
    let r = p.parse(C, &c, &mut out).unwrap();
    assert_eq!(r.consumed, c.len());
    p.parse(S, &msg(5, &result(0x65, 0, b"")), &mut out)
        .unwrap();
    let x = exchanges(&out)[0];
    assert_eq!(x.request.as_ref().unwrap().start, 100 + 12);
    assert_eq!(p.counters().parse_errors, 1);
    assert_eq!(p.counters().resyncs, 1);
}

#[test]
fn progress_then_error_reported_next_call() {
    let mut c = search(1, "dc=x");
    c.extend(b"zzzz");
    c.extend(search(2, "dc=y"));
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let r = p.parse(C, &c, &mut out).unwrap();
    let n = search(1, "dc=x").len();
    assert_eq!((r.consumed, r.needed), (n, 0));
    assert!(p.parse(C, &c[n..], &mut out).is_err());
    let r = p.parse(C, &c[n..], &mut out).unwrap();
    assert_eq!(r.consumed, c.len() - n);
    p.end(C, &mut out);
    p.end(S, &mut out);
    assert_eq!(exchanges(&out).len(), 2);
}

#[test]
fn absurd_length_is_skipped() {
    let cfg = LdapConfig {
        max_message: 1000,
        ..LdapConfig::default()
    };
    let big = msg(
        1,
        &tlv(
            0x68,
            &[tlv(4, b"cn=x"), tlv(0x30, &vec![0u8; 2000])].concat(),
        ),
    );
    let c = [big, search(2, "dc=x")].concat();
    let mut p = LdapParser::new(cfg, [0, 0]);
    let out = run(&mut p, &[(C, &c[..10]), (C, &c[10..])]);
    assert_eq!(events(&out), ["too-large"]);
    assert_eq!(exchanges(&out)[0].request.as_ref().unwrap().message_id, 2);
    assert_eq!(p.counters().too_large, 1);
    // An announced length of 4 GiB: the same, without waiting for it.
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let huge = unhex("3084ffffff00020101638480000000");
    let r = p.parse(C, &huge, &mut out).unwrap();
    assert_eq!(events(&out), ["too-large"]);
    assert_eq!(r.consumed, huge.len());
}

#[test]
fn indefinite_length_rejected() {
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let e = p
        .parse(C, &unhex("30800201016300000000"), &mut out)
        .unwrap_err();
    assert_eq!(e.kind, "bad-length");
}

#[test]
fn split_message_asks_for_the_rest() {
    let q = search(1, "dc=example");
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let r = p.parse(C, &q[..1], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 1));
    // Only what decides whether this is LDAP is asked for before the op header...
    let r = p.parse(C, &q[..5], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, 2));
    // ...then the whole message.
    let r = p.parse(C, &q[..7], &mut out).unwrap();
    assert_eq!((r.consumed, r.needed), (0, q.len() - 7));
    let r = p.parse(C, &q, &mut out).unwrap();
    assert_eq!(r.consumed, q.len());
    assert_eq!(p.low_water(C), 0, "pending request pins the low-water mark");
}

#[test]
fn pending_cap_flushes_oldest() {
    let cfg = LdapConfig {
        max_pending: 2,
        ..LdapConfig::default()
    };
    let c = [search(1, "a"), search(2, "b"), search(3, "c")].concat();
    let mut p = LdapParser::new(cfg, [0, 0]);
    let mut out = Vec::new();
    p.parse(C, &c, &mut out).unwrap();
    assert_eq!(events(&out), ["pending-capped"]);
    let x = exchanges(&out)[0];
    assert_eq!(x.request.as_ref().unwrap().message_id, 1);
    assert!(x.response.is_none());
    assert_eq!(p.counters().pending_capped, 1);
}

#[test]
fn abandon_and_notice_of_disconnection_are_one_way() {
    let ab = msg(7, &tlv(0x50, &[3]));
    let notice = msg(0, &result(0x78, 52, &tlv(0x8a, b"1.3.6.1.4.1.1466.20036")));
    let out = tcp(&[(C, &ab), (S, &notice)]);
    let ow = one_ways(&out);
    assert_eq!(ow.len(), 2);
    assert_eq!(ow[0].label(), "abandon id=3");
    assert_eq!(ow[1].dir, S);
    assert_eq!(
        ow[1].label(),
        "unsolicited noticeOfDisconnection → unavailable"
    );
    assert!(exchanges(&out).is_empty());
}

#[test]
fn starttls_hands_off() {
    let req = msg(1, &tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.1466.20037")));
    let resp = msg(1, &result(0x78, 0, b""));
    let hello = unhex("160301002a010000");
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    let c = [req.clone(), hello.clone()].concat();
    let r = p.parse(C, &c, &mut out).unwrap();
    assert_eq!(r.consumed, req.len(), "ClientHello held back");
    assert!(r.needed >= 1);
    let s = [resp.clone(), hello.clone()].concat();
    let r = p.parse(S, &s, &mut out).unwrap();
    assert_eq!(r.consumed, resp.len(), "stops right after the response");
    assert_eq!(p.handoff(), Some(Protocol::Tls));
    assert_eq!(exchanges(&out)[0].summary(), "extended StartTLS → success");
    let r = p.parse(C, &hello, &mut out).unwrap();
    assert_eq!(r.consumed, 0);
}

#[test]
fn starttls_refused_keeps_parsing() {
    let req = msg(1, &tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.1466.20037")));
    let out = tcp(&[
        (C, &req),
        (S, &msg(1, &result(0x78, 2, b""))),
        (C, &search(2, "x")),
    ]);
    assert_eq!(exchanges(&out).len(), 2);
}

#[test]
fn sasl_wrapped_after_gssapi_bind() {
    let bind = msg(
        1,
        &tlv(
            0x60,
            &[
                tlv(2, &[3]),
                tlv(4, b""),
                tlv(0xa3, &[tlv(4, b"GSSAPI"), tlv(4, &[1, 2, 3])].concat()),
            ]
            .concat(),
        ),
    );
    let ok = msg(1, &result(0x61, 0, b""));
    let wrapped = [
        vec![0, 0, 0, 5],
        vec![0x60, 1, 2, 3, 4],
        vec![0, 0, 0, 2, 9, 9],
    ]
    .concat();
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let out = run(
        &mut p,
        &[
            (C, &bind),
            (S, &ok),
            (C, &wrapped),
            (S, &wrapped),
            (C, &wrapped),
        ],
    );
    assert_eq!(events(&out), ["sasl-wrapped", "sasl-wrapped"]);
    assert_eq!(p.counters().parse_errors, 0);
    assert_eq!(exchanges(&out)[0].summary(), "bind sasl GSSAPI → success");
}

#[test]
fn plain_ldap_after_sasl_bind_is_still_decoded() {
    let bind = msg(
        1,
        &tlv(
            0x60,
            &[tlv(2, &[3]), tlv(4, b""), tlv(0xa3, &tlv(4, b"EXTERNAL"))].concat(),
        ),
    );
    let ok = msg(1, &result(0x61, 0, b""));
    let out = tcp(&[
        (C, &bind),
        (S, &ok),
        (C, &search(2, "x")),
        (S, &msg(2, &result(0x65, 0, b""))),
    ]);
    assert_eq!(exchanges(&out).len(), 2);
    assert!(events(&out).is_empty());
}

#[test]
fn gap_drops_partial_message() {
    let q1 = search(1, "dc=x");
    let q2 = search(2, "dc=y");
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    p.parse(C, &q1[..5], &mut out).unwrap();
    p.gap(C, 10, &mut out);
    // The engine drops its 5 buffered bytes and counts them in the gap with the 5
    // lost ones; the rest of q1 arrives, then q2.
    let rest = [q1[10..].to_vec(), q2.clone()].concat();
    let mut buf = rest.clone();
    for _ in 0..4 {
        if let Ok(r) = p.parse(C, &buf, &mut out) {
            buf.drain(..r.consumed);
            if buf.is_empty() {
                break;
            }
        }
    }
    p.end(C, &mut out);
    p.end(S, &mut out);
    let xs = exchanges(&out);
    assert_eq!(xs.len(), 1);
    let q = xs[0].request.as_ref().unwrap();
    assert_eq!(q.message_id, 2);
    assert_eq!(q.start, 10 + (q1.len() - 10) as u64);
}

#[test]
fn every_operation_decodes() {
    let add = msg(
        2,
        &tlv(0x68, &[tlv(4, b"uid=y,dc=x"), tlv(0x30, b"")].concat()),
    );
    let del = msg(3, &tlv(0x4a, b"uid=z,dc=x"));
    let moddn = msg(
        4,
        &tlv(
            0x6c,
            &[
                tlv(4, b"uid=a,dc=x"),
                tlv(4, b"uid=b"),
                tlv(1, &[0xff]),
                tlv(0x80, b"ou=o"),
            ]
            .concat(),
        ),
    );
    let cmp = msg(
        5,
        &tlv(
            0x6e,
            &[
                tlv(4, b"cn=c"),
                tlv(0x30, &[tlv(4, b"sn"), tlv(4, b"a(b")].concat()),
            ]
            .concat(),
        ),
    );
    let cmp_pw = msg(
        6,
        &tlv(
            0x6e,
            &[
                tlv(4, b"cn=c"),
                tlv(
                    0x30,
                    &[tlv(4, b"userPassword"), tlv(4, b"hunter2")].concat(),
                ),
            ]
            .concat(),
        ),
    );
    let ctl = tlv(
        0xa0,
        &tlv(
            0x30,
            &[tlv(4, b"1.2.840.113556.1.4.319"), tlv(1, &[0xff])].concat(),
        ),
    );
    let mut modify = msg(
        7,
        &tlv(0x66, &[tlv(4, b"uid=y,dc=x"), tlv(0x30, b"")].concat()),
    );
    // Append the control inside the LDAPMessage.
    modify = tlv(0x30, &[&modify[2..], &ctl[..]].concat());
    let c = [add, del, moddn, cmp, cmp_pw, modify].concat();
    let s = [
        msg(2, &result(0x69, 0, b"")),
        msg(3, &result(0x6b, 66, b"")),
        msg(4, &result(0x6d, 0, b"")),
        msg(5, &result(0x6f, 6, b"")),
        msg(6, &result(0x6f, 5, b"")),
        msg(7, &result(0x67, 50, &tlv(0xa3, &tlv(4, b"ldap://other/")))),
    ]
    .concat();
    let out = tcp(&[(C, &c), (S, &s)]);
    let sums: Vec<_> = exchanges(&out).iter().map(|x| x.summary()).collect();
    assert_eq!(
        sums,
        [
            "add uid=y,dc=x → success",
            "delete uid=z,dc=x → notAllowedOnNonLeaf",
            "modDN uid=a,dc=x newrdn=uid=b newSuperior=ou=o → success",
            "compare cn=c (sn=a\\28b) → compareTrue",
            "compare cn=c (userPassword=<hidden, 7 bytes>) → compareFalse",
            "modify uid=y,dc=x → insufficientAccessRights",
        ]
    );
    let xs = exchanges(&out);
    assert_eq!(
        xs[5].request.as_ref().unwrap().controls,
        ["1.2.840.113556.1.4.319"]
    );
    assert_eq!(xs[5].response.as_ref().unwrap().referral, ["ldap://other/"]);
    assert!(!serde_json::to_string(&xs).unwrap().contains("hunter2"));
}

#[test]
fn intermediate_and_references_aggregate() {
    let inter = msg(1, &tlv(0x79, &tlv(0x80, b"1.3.6.1.4.1.4203.1.9.1.4")));
    let rf = msg(
        1,
        &tlv(0x73, &[tlv(4, b"ldap://a/"), tlv(4, b"ldap://b/")].concat()),
    );
    let s = [inter, rf, msg(1, &result(0x65, 0, b""))].concat();
    let out = tcp(&[(C, &search(1, "dc=x")), (S, &s)]);
    let x = exchanges(&out)[0];
    assert_eq!(x.intermediate_count, 1);
    assert_eq!(x.intermediate[0].extended_name, Some("syncInfo"));
    assert_eq!(x.references, ["ldap://a/", "ldap://b/"]);
    assert!(x.summary().ends_with("success 0 entries 2 references"));
}

#[test]
fn orphan_response_and_wrong_direction() {
    let out = tcp(&[(S, &msg(9, &result(0x69, 0, b""))), (S, &search(3, "x"))]);
    let x = exchanges(&out)[0];
    assert!(x.request.is_none());
    assert_eq!(x.summary(), "? id=9 → success");
    assert_eq!(
        one_ways(&out)[0].label(),
        "search base=x (objectClass=*) (from server)"
    );
}

#[test]
fn cldap_datagrams() {
    // An AD-style netlogon ping: searchRequest, answered by entry + done in one datagram.
    let q = search(1, "");
    let a = [entry(1, ""), msg(1, &result(0x65, 0, b""))].concat();
    let mut p = LdapParser::cldap(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    assert_eq!(p.parse(C, &q, &mut out).unwrap().consumed, q.len());
    assert_eq!(p.parse(S, &a, &mut out).unwrap().consumed, a.len());
    assert_eq!(p.parse(S, b"junk", &mut out).unwrap().consumed, 4);
    assert_eq!(
        exchanges(&out)[0].summary(),
        "search base=<ROOT> (objectClass=*) → success 1 entry"
    );
    assert_eq!(events(&out), ["not-ldap"]);
    let probe = |data: &[u8], port| {
        probe_datagram(&ProbeInput {
            data,
            src_port: 50000,
            dst_port: port,
        })
    };
    assert_eq!(probe(&q, 389).sender, Some(Role::Client));
    assert_eq!(probe(&a, 1234).verdict, Verdict::Certain);
    assert_eq!(
        probe(&[a.clone(), vec![0]].concat(), 1234).verdict,
        Verdict::NotMine
    );
    assert_eq!(probe(b"\x30\x03abc", 389).verdict, Verdict::NotMine);
}

#[test]
fn probe_tcp() {
    let pr = |data: &[u8], src_port, dst_port| {
        LdapParser::probe(&ProbeInput {
            data,
            src_port,
            dst_port,
        })
    };
    let q = search(1, "dc=x");
    assert_eq!(pr(&q, 40000, 10389).verdict, Verdict::Certain);
    assert_eq!(pr(&q, 40000, 10389).sender, Some(Role::Client));
    let r = unhex(SA_S[0]);
    assert_eq!(pr(&r, 3268, 40000).sender, Some(Role::Server));
    assert_eq!(pr(&q[..1], 40000, 10389).verdict, Verdict::Unsure);
    assert_eq!(pr(&q[..3], 40000, 389).verdict, Verdict::Certain);
    assert_eq!(pr(&q[..3], 40000, 10389).verdict, Verdict::Unsure);
    assert_eq!(
        pr(b"GET / HTTP/1.1\r\n", 40000, 389).verdict,
        Verdict::NotMine
    );
    assert_eq!(
        pr(&unhex("30050201010400"), 40000, 389).verdict,
        Verdict::NotMine
    );
}

// ---------------------------------------------------------------------------
// Properties.

fn all_streams() -> (Vec<u8>, Vec<u8>) {
    let c = [unhex(ADD_C), unhex(SEARCH_REQ)].concat();
    let s = [unhex(ADD_S), unhex(SEARCH_ENTRY), unhex(SEARCH_DONE)].concat();
    (c, s)
}

/// Feeds `data` cut at `cuts` the way the engine does (keeping what was not consumed).
fn feed_cut(
    p: &mut LdapParser,
    dir: Direction,
    data: &[u8],
    cuts: &[usize],
    out: &mut Vec<Message>,
) {
    let mut buf = Vec::new();
    let mut last = 0;
    let mut cuts: Vec<_> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(data.len());
    for c in cuts {
        buf.extend_from_slice(&data[last..c]);
        last = c;
        if let Ok(r) = p.parse(dir, &buf, out) {
            buf.drain(..r.consumed);
        }
    }
}

proptest! {
    #[test]
    fn any_cut_gives_the_same_messages(cc in proptest::collection::vec(any::<usize>(), 0..8),
                                       sc in proptest::collection::vec(any::<usize>(), 0..8)) {
        let (c, s) = all_streams();
        let whole = tcp(&[(C, &c), (S, &s)]);
        let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
        let mut out = Vec::new();
        feed_cut(&mut p, C, &c, &cc, &mut out);
        feed_cut(&mut p, S, &s, &sc, &mut out);
        p.end(C, &mut out);
        p.end(S, &mut out);
        prop_assert_eq!(out, whole);
    }

    #[test]
    fn random_bytes_never_panic(c in proptest::collection::vec(any::<u8>(), 0..400),
                                s in proptest::collection::vec(any::<u8>(), 0..400),
                                chunk in 1usize..50) {
        for p in [LdapParser::new(LdapConfig::default(), [0, 0]), LdapParser::cldap(LdapConfig::default(), [0, 0])] {
            let mut p = p;
            let mut msgs: Vec<(Direction, &[u8])> = c.chunks(chunk).map(|b| (C, b)).collect();
            msgs.extend(s.chunks(chunk).map(|b| (S, b)));
            let out = run(&mut p, &msgs);
            for m in &out {
                match m {
                    Message::Exchange(x) => { let _ = x.summary(); serde_json::to_string(x).unwrap(); }
                    Message::OneWay(o) => { let _ = o.label(); }
                    Message::Event(_) => {}
                }
            }
            let _ = LdapParser::probe(&ProbeInput { data: &c, src_port: 1, dst_port: 389 });
            let _ = probe_datagram(&ProbeInput { data: &s, src_port: 1, dst_port: 389 });
        }
    }

    #[test]
    fn mutated_messages_never_panic(i in any::<usize>(), b in any::<u8>(), j in any::<usize>(), b2 in any::<u8>()) {
        let (mut c, mut s) = all_streams();
        let n = c.len();
        c[i % n] = b;
        let n = s.len();
        s[j % n] = b2;
        let out = tcp(&[(C, &c), (S, &s)]);
        for m in &out {
            if let Message::Exchange(x) = m {
                let _ = x.summary();
            }
        }
    }
}
