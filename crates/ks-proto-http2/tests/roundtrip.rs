//! Properties: generated connections decode to what was generated whatever the
//! chunking (1-byte pieces included); arbitrary bytes, chunking and losses never
//! panic and respect the caps.

mod common;

use common::*;
use ks_proto_http2::{huffman_encode, Http2Config, Message};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Ex {
    path: String,
    req_body: Vec<u8>,
    resp_body: Vec<u8>,
    pad: u8,
    split: usize,
    huffman: bool,
}

fn ex() -> impl Strategy<Value = Ex> {
    (
        "[a-z/]{1,20}",
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..300),
        0u8..8,
        1usize..4,
        any::<bool>(),
    )
        .prop_map(|(path, req_body, resp_body, pad, split, huffman)| Ex {
            path,
            req_body,
            resp_body,
            pad,
            split,
            huffman,
        })
}

fn path_field(path: &str, huffman: bool) -> Vec<u8> {
    if huffman {
        let mut enc = Vec::new();
        huffman_encode(path.as_bytes(), &mut enc);
        let mut o = vec![0x04, 0x80 | enc.len() as u8];
        o.extend_from_slice(&enc);
        o
    } else {
        let mut o = vec![0x04, path.len() as u8];
        o.extend_from_slice(path.as_bytes());
        o
    }
}

/// DATA frames for a body, cut in `split` pieces, the last with END_STREAM,
/// padded with `pad` bytes when pad > 0.
fn bodies(id: u32, body: &[u8], split: usize, pad: u8) -> Vec<Vec<u8>> {
    let n = body.len().div_ceil(split).max(1);
    let pieces: Vec<&[u8]> = if body.is_empty() {
        vec![&[][..]]
    } else {
        body.chunks(n).collect()
    };
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let es = if i == last { ES } else { 0 };
            if pad > 0 {
                let mut p = vec![pad];
                p.extend_from_slice(c);
                p.extend(std::iter::repeat_n(0, pad as usize));
                frame(0, es | 0x08, id, &p)
            } else {
                data(id, es, c)
            }
        })
        .collect()
}

/// Client and server byte streams; the streams' frames interleave round-robin.
fn connection(exs: &[Ex]) -> (Vec<u8>, Vec<u8>) {
    let mut c: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut s: Vec<Vec<Vec<u8>>> = Vec::new();
    for (i, e) in exs.iter().enumerate() {
        let id = 2 * i as u32 + 1;
        // Each request inserts its path and refers to the previous one (62).
        let mut block = cat(&[idx(3), idx(6), path_field(&e.path, e.huffman)]);
        block.extend(lit_idx("x-n", &i.to_string()));
        if i > 0 {
            block.extend(idx(62 + 1));
        }
        let mut cf = Vec::new();
        if e.split > 1 && block.len() > 2 {
            // HEADERS + CONTINUATION stay contiguous (one unit when interleaving).
            let (a, b) = block.split_at(2);
            cf.push(cat(&[headers(id, 0, a), frame(9, EH, id, b)]));
        } else {
            cf.push(headers(id, EH, &block));
        }
        cf.extend(bodies(id, &e.req_body, e.split, e.pad));
        c.push(cf);
        let mut sf = vec![headers(
            id,
            EH,
            &cat(&[ok_block(), lit_idx("x-r", &e.path)]),
        )];
        sf.extend(bodies(id, &e.resp_body, e.split, e.pad));
        s.push(sf);
    }
    let interleave = |v: Vec<Vec<Vec<u8>>>| {
        let mut out = Vec::new();
        let max = v.iter().map(|x| x.len()).max().unwrap_or(0);
        for k in 0..max {
            for fs in &v {
                if let Some(f) = fs.get(k) {
                    out.extend_from_slice(f);
                }
            }
        }
        out
    };
    (
        cat(&[PREFACE.to_vec(), settings(&[(1, 8192)]), interleave(c)]),
        cat(&[settings(&[(3, 100)]), settings_ack(), interleave(s)]),
    )
}

fn drive(client: &[u8], server: &[u8], chunks: &[usize]) -> Vec<Message> {
    let mut d = Driver::new(Http2Config::default());
    let (mut ci, mut si, mut k) = (0, 0, 0);
    while ci < client.len() || si < server.len() {
        let n = chunks
            .get(k % chunks.len().max(1))
            .copied()
            .unwrap_or(0)
            .max(1);
        if k % 2 == 0 && ci < client.len() || si >= server.len() {
            let e = (ci + n).min(client.len());
            d.feed(0, &client[ci..e]);
            ci = e;
        } else {
            let e = (si + n).min(server.len());
            d.feed(1, &server[si..e]);
            si = e;
        }
        k += 1;
    }
    d.end();
    d.out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_connections_decode_whatever_the_chunking(
        exs in proptest::collection::vec(ex(), 1..6),
        chunks in proptest::collection::vec(1usize..50, 1..8),
    ) {
        let (client, server) = connection(&exs);
        let whole = drive(&client, &server, &[usize::MAX / 4]);
        let streams: Vec<_> = whole.iter().map(|m| match m {
            Message::Stream(s) => s.clone(),
            Message::Event(e) => panic!("unexpected event {e:?}"),
        }).collect();
        prop_assert_eq!(streams.len(), exs.len());
        for s in &streams {
            let e = &exs[(s.id as usize - 1) / 2];
            let req = s.request.as_ref().unwrap();
            let resp = s.response.as_ref().unwrap();
            prop_assert_eq!(req.header(":path"), Some(e.path.as_str()));
            prop_assert_eq!(&req.body, &e.req_body);
            prop_assert_eq!(&resp.body, &e.resp_body);
            prop_assert_eq!(resp.header("x-r"), Some(e.path.as_str()));
            prop_assert!(!req.headers_lost && !resp.headers_lost);
            let i = (s.id - 1) / 2;
            if i > 0 {
                // 62 + 1: the previous request's x-n (this one's path is not indexed).
                let prev = (i - 1).to_string();
                prop_assert_eq!(req.headers.last().map(|h| h.1.as_str()), Some(prev.as_str()));
            }
        }
        // Completion order depends on how the two directions interleave; the
        // streams themselves must not.
        let by_id = |mut v: Vec<Message>| {
            v.sort_by_key(|m| match m {
                Message::Stream(s) => s.id,
                Message::Event(_) => 0,
            });
            v
        };
        let whole = by_id(whole);
        prop_assert_eq!(&by_id(drive(&client, &server, &[1])), &whole);
        prop_assert_eq!(&by_id(drive(&client, &server, &chunks)), &whole);
    }

    #[test]
    fn arbitrary_input_never_panics(
        client in proptest::collection::vec(any::<u8>(), 0..600),
        server in proptest::collection::vec(any::<u8>(), 0..600),
        prefix in any::<bool>(),
        plan in proptest::collection::vec((0usize..3, 1usize..40), 1..30),
    ) {
        let client = if prefix { cat(&[PREFACE.to_vec(), client]) } else { client };
        let cfg = Http2Config {
            max_header_list_size: 256,
            max_header_block: 128,
            max_table_size: 512,
            max_body_kept: 16,
            max_streams: 4,
            max_body_total: 1 << 20,
        };
        let mut d = Driver::new(cfg);
        let bufs = [client, server];
        let mut at = [0usize; 2];
        for (i, (kind, n)) in plan.iter().enumerate() {
            let dir = i % 2;
            let e = (at[dir] + n).min(bufs[dir].len());
            if *kind == 2 {
                d.lose(dir, (e - at[dir]) as u64);
            } else {
                d.feed(dir, &bufs[dir][at[dir]..e]);
            }
            at[dir] = e;
        }
        for dir in 0..2 {
            let rest = bufs[dir][at[dir]..].to_vec();
            d.feed(dir, &rest);
        }
        d.end();
        for m in &d.out {
            if let Message::Stream(s) = m {
                for h in [&s.request, &s.response].into_iter().flatten() {
                    prop_assert!(h.body.len() <= 16);
                    prop_assert!(h.body.len() as u64 <= h.body_size);
                    let size: usize = h.headers.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
                    prop_assert!(size <= 256 * 3, "{size}");
                }
            }
        }
    }
}
