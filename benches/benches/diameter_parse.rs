//! DIAMETER parse throughput of `DiameterParser`: 1000 Gy CCR / CCA pairs with the
//! AVPs an online-charging client sends (Session-Id, Origin-Host/Realm,
//! Destination-Realm, Auth-Application-Id, Service-Context-Id, CC-Request-Type/Number,
//! Event-Timestamp, Subscription-Id grouped, Multiple-Services-Credit-Control grouped
//! with Requested/Used-Service-Unit, a 3GPP vendor-specific AVP), one message per
//! parse call, each request followed by its answer.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ks_proto::{Direction, StreamParser};
use ks_proto_diameter::{DiameterConfig, DiameterParser};

fn avp(code: u32, vendor: Option<u32>, data: &[u8]) -> Vec<u8> {
    let (flags, hdr) = if vendor.is_some() {
        (0xc0u32, 12)
    } else {
        (0x40, 8)
    };
    let mut v = code.to_be_bytes().to_vec();
    v.extend(((flags << 24) | (hdr + data.len() as u32)).to_be_bytes());
    if let Some(id) = vendor {
        v.extend(id.to_be_bytes());
    }
    v.extend(data);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

fn u32a(code: u32, n: u32) -> Vec<u8> {
    avp(code, None, &n.to_be_bytes())
}

fn message(request: bool, hbh: u32, avps: &[Vec<u8>]) -> Vec<u8> {
    let body = avps.concat();
    let mut v = (0x0100_0000u32 | (20 + body.len() as u32))
        .to_be_bytes()
        .to_vec();
    let flags: u32 = if request { 0xc0 } else { 0x40 };
    v.extend(((flags << 24) | 272).to_be_bytes());
    v.extend(4u32.to_be_bytes());
    v.extend(hbh.to_be_bytes());
    v.extend(hbh.wrapping_mul(7).to_be_bytes());
    v.extend(body);
    v
}

fn pairs() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..1000u32)
        .map(|i| {
            let session = format!("pgw.example.org;{};{}", 1_700_000_000 + i / 3, i / 3);
            let kind = i % 3 + 1;
            let req = message(
                true,
                i,
                &[
                    avp(263, None, session.as_bytes()),
                    avp(264, None, b"pgw.example.org"),
                    avp(296, None, b"example.org"),
                    avp(283, None, b"ocs.example.org"),
                    u32a(258, 4),
                    avp(461, None, b"32251@3gpp.org"),
                    u32a(416, kind),
                    u32a(415, i / 3),
                    u32a(55, 0xe9a0_0000 + i),
                    avp(
                        443,
                        None,
                        &[
                            u32a(450, 0),
                            avp(444, None, format!("4917{i:08}").as_bytes()),
                        ]
                        .concat(),
                    ),
                    u32a(455, 1),
                    avp(
                        456,
                        None,
                        &[
                            avp(437, None, &[]),
                            avp(
                                446,
                                None,
                                &[u32a(420, 60), avp(412, None, &1234u64.to_be_bytes())].concat(),
                            ),
                            u32a(432, 100),
                        ]
                        .concat(),
                    ),
                    avp(1032, Some(10415), &1004u32.to_be_bytes()),
                ],
            );
            let ans = message(
                false,
                i,
                &[
                    avp(263, None, session.as_bytes()),
                    u32a(268, 2001),
                    avp(264, None, b"ocs.example.org"),
                    avp(296, None, b"example.org"),
                    u32a(258, 4),
                    u32a(416, kind),
                    u32a(415, i / 3),
                    avp(
                        456,
                        None,
                        &[
                            avp(431, None, &u32a(420, 3600)),
                            u32a(432, 100),
                            u32a(448, 1800),
                            u32a(268, 2001),
                        ]
                        .concat(),
                    ),
                ],
            );
            (req, ans)
        })
        .collect()
}

fn run(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut p = DiameterParser::new(DiameterConfig::default(), [0, 0]);
    let mut out = Vec::new();
    for (q, r) in pairs {
        let _ = p.parse(Direction::ToServer, q, &mut out);
        let _ = p.parse(Direction::ToClient, r, &mut out);
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    let pairs = pairs();
    assert_eq!(run(&pairs), 1000);
    let bytes: usize = pairs.iter().map(|(q, r)| q.len() + r.len()).sum();
    let mut g = c.benchmark_group("diameter_parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("ccr-cca-1000", |b| {
        b.iter(|| black_box(run(black_box(&pairs))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
