//! LDAP parse throughput of `LdapParser`: 1000 search exchanges (a filter of three
//! items, three entries of five attributes each, then searchResDone), each direction
//! fed as one stream, and the same in 1460-byte pieces.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_ldap::{LdapConfig, LdapParser};

fn tlv(ident: u8, val: &[u8]) -> Vec<u8> {
    let mut v = vec![ident];
    let n = val.len();
    if n < 128 {
        v.push(n as u8);
    } else {
        v.push(0x82);
        v.extend((n as u16).to_be_bytes());
    }
    v.extend_from_slice(val);
    v
}

fn msg(id: u32, op: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[tlv(2, &id.to_be_bytes()), op].concat())
}

fn ava(tag: u8, a: &str, v: &str) -> Vec<u8> {
    tlv(tag, &[tlv(4, a.as_bytes()), tlv(4, v.as_bytes())].concat())
}

/// (client stream, server stream).
fn streams() -> (Vec<u8>, Vec<u8>) {
    let (mut c, mut s) = (Vec::new(), Vec::new());
    for i in 0..1000u32 {
        let id = i + 1;
        let filter = tlv(
            0xa0,
            &[
                ava(0xa3, "objectClass", "person"),
                ava(0xa3, "uid", &format!("user{i}")),
                tlv(0xa2, &tlv(0x87, b"nsAccountLock")),
            ]
            .concat(),
        );
        let attrs = tlv(
            0x30,
            &[tlv(4, b"cn"), tlv(4, b"mail"), tlv(4, b"uid")].concat(),
        );
        let body = [
            tlv(4, b"ou=People,dc=example,dc=com"),
            tlv(0x0a, &[2]),
            tlv(0x0a, &[0]),
            tlv(2, &[100]),
            tlv(2, &[30]),
            tlv(1, &[0]),
            filter,
            attrs,
        ]
        .concat();
        c.extend(msg(id, tlv(0x63, &body)));
        for e in 0..3 {
            let mut pa = Vec::new();
            for (a, v) in [
                ("objectClass", "inetOrgPerson"),
                ("cn", "Barbara Jensen"),
                ("mail", "bjensen@example.com"),
                ("uid", "bjensen"),
                ("description", "a user entry of a typical directory"),
            ] {
                pa.extend(tlv(
                    0x30,
                    &[tlv(4, a.as_bytes()), tlv(0x31, &tlv(4, v.as_bytes()))].concat(),
                ));
            }
            let dn = format!("uid=user{i}-{e},ou=People,dc=example,dc=com");
            s.extend(msg(
                id,
                tlv(0x64, &[tlv(4, dn.as_bytes()), tlv(0x30, &pa)].concat()),
            ));
        }
        s.extend(msg(
            id,
            tlv(0x65, &[tlv(0x0a, &[0]), tlv(4, b""), tlv(4, b"")].concat()),
        ));
    }
    (c, s)
}

/// Feeds both streams in `chunk`-byte pieces, keeping what was not consumed (as the
/// engine does); returns the messages emitted.
fn run(c: &[u8], s: &[u8], chunk: usize) -> usize {
    let mut p = LdapParser::new(LdapConfig::default(), [0, 0]);
    let mut out = Vec::new();
    for (dir, bytes) in [(Direction::ToServer, c), (Direction::ToClient, s)] {
        let mut buf: Vec<u8> = Vec::new();
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            if let Ok(r) = p.parse(dir, &buf, &mut out) {
                buf.drain(..r.consumed);
            }
        }
    }
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    out.len()
}

fn bench(c: &mut Criterion) {
    let (cs, ss) = streams();
    assert_eq!(run(&cs, &ss, usize::MAX), 1000);
    assert_eq!(run(&cs, &ss, 1460), 1000);
    let mut g = c.benchmark_group("ldap_parse");
    g.throughput(Throughput::Bytes((cs.len() + ss.len()) as u64));
    g.bench_function("search-1000-whole", |b| {
        b.iter(|| black_box(run(black_box(&cs), black_box(&ss), usize::MAX)))
    });
    g.bench_function("search-1000-1460", |b| {
        b.iter(|| black_box(run(black_box(&cs), black_box(&ss), 1460)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
