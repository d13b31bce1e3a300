//! TLS plaintext chunks (as `ks-tls-trace` delivers them) through the engine:
//! the same entries as the same bytes in TCP packets, once per connection,
//! marked `tls` with their process.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::{run, Capture, Conn};
use ks_engine::{Engine, EngineConfig, Entry, Output, PlainChunk, PlainConn, Process};

const T0: u64 = 1_700_000_000_000_000_000;
const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:443";

const REQ1: &[u8] = b"GET /a HTTP/1.1\r\nHost: example\r\nUser-Agent: t\r\n\r\n";
const RESP1: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
const REQ2: &[u8] =
    b"POST /b HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\nContent-Type: text/x\r\n\r\nabc";
const RESP2: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn process(pid: u32, comm: &str) -> Arc<Process> {
    Arc::new(Process {
        pid,
        comm: comm.into(),
    })
}

/// One call of a traced process: (outbound, bytes).
type Call<'a> = (bool, &'a [u8]);

/// Feeds `calls` of `who` on `conn` (one ms apart) and returns every entry.
fn feed(
    engine: &mut Engine,
    who: &Arc<Process>,
    conn: PlainConn,
    session: u64,
    calls: &[Call<'_>],
) {
    for (i, (outbound, data)) in calls.iter().enumerate() {
        engine.process_plaintext(&PlainChunk {
            ts_ns: T0 + i as u64 * 1_000_000,
            conn,
            session,
            outbound: *outbound,
            data,
            process: who,
        });
    }
}

fn entries(engine: &mut Engine) -> Vec<Entry> {
    engine.finish();
    let mut v = Vec::new();
    while let Some(o) = engine.next_output() {
        match o {
            Output::Entry(e) => v.push(*e),
            Output::Flow(f) => panic!("a plaintext connection gave a flow record: {f:?}"),
        }
    }
    v
}

fn j(e: &Entry) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

fn tcp(local: &str, remote: &str) -> PlainConn {
    PlainConn::Tcp {
        local: addr(local),
        remote: addr(remote),
    }
}

/// The client's view of the two exchanges.
fn client_calls() -> Vec<Call<'static>> {
    vec![(true, REQ1), (false, RESP1), (true, REQ2), (false, RESP2)]
}

/// What must be equal between a packet entry and a plaintext entry.
fn essence(e: &Entry) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap();
    let m = v.as_object_mut().unwrap();
    for k in [
        "id",
        "frames",
        "tls",
        "process",
        "timestamp",
        "elapsed_us",
        "stream",
    ] {
        m.remove(k);
    }
    v
}

#[test]
fn same_entries_as_the_packets_with_process_and_tls() {
    // The same exchanges in TCP packets.
    let mut cap = Capture::default();
    let mut c = Conn::new(40000, 443);
    c.handshake(&mut cap);
    c.c(&mut cap, REQ1);
    c.s(&mut cap, RESP1);
    c.c(&mut cap, REQ2);
    c.s(&mut cap, RESP2);
    c.close(&mut cap);
    let packets = run(&cap).entries;
    assert_eq!(packets.len(), 2, "{packets:?}");

    let curl = process(77, "curl");
    let mut engine = Engine::new(EngineConfig::default());
    feed(
        &mut engine,
        &curl,
        tcp(CLIENT, SERVER),
        0xa0,
        &client_calls(),
    );
    let plain = entries(&mut engine);
    assert_eq!(plain.len(), 2, "{plain:?}");
    for (p, q) in plain.iter().zip(&packets) {
        assert_eq!(essence(p), essence(q));
        assert!(p.tls);
        assert_eq!(p.process.as_deref(), Some(&*curl));
        assert_eq!(p.frames, Default::default(), "no packets, no frames");
        assert!(p.id.starts_with("tls-0-"), "{}", p.id);
        assert_eq!(p.src.ip.to_string(), "10.0.0.1");
        assert_eq!(p.dst.port, 443);
    }
    assert_eq!(plain[0].summary, packets[0].summary);
    assert_eq!(j(&plain[1])["request"]["method"], "POST");
    let json = serde_json::to_value(&plain[0]).unwrap();
    assert_eq!(
        json["process"],
        serde_json::json!({"pid": 77, "comm": "curl"})
    );
    assert_eq!(json["tls"], true);
    let s = engine.stats();
    assert_eq!(
        (s.plaintext_chunks, s.plaintext_connections, s.tcp_flows),
        (4, 1, 0)
    );
    assert_eq!(
        s.plaintext_bytes,
        (REQ1.len() + RESP1.len() + REQ2.len() + RESP2.len()) as u64
    );
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let whole: Vec<Entry> = {
        let mut engine = Engine::new(EngineConfig::default());
        feed(
            &mut engine,
            &process(1, "c"),
            tcp(CLIENT, SERVER),
            1,
            &client_calls(),
        );
        entries(&mut engine)
    };
    assert_eq!(whole.len(), 2);
    // Every call cut at every 7th byte, and into single bytes.
    for step in [1usize, 7, 16] {
        let mut calls = Vec::new();
        for (out, data) in client_calls() {
            calls.extend(data.chunks(step).map(|d| (out, d)));
        }
        let mut engine = Engine::new(EngineConfig::default());
        feed(
            &mut engine,
            &process(1, "c"),
            tcp(CLIENT, SERVER),
            1,
            &calls,
        );
        let got = entries(&mut engine);
        assert_eq!(
            got.iter().map(essence).collect::<Vec<_>>(),
            whole.iter().map(essence).collect::<Vec<_>>(),
            "step {step}"
        );
    }
}

#[test]
fn both_ends_traced_give_one_entry_per_exchange() {
    let curl = process(10, "curl");
    let nginx = process(20, "nginx");
    let mut engine = Engine::new(EngineConfig::default());
    let server_view = tcp(SERVER, CLIENT);
    // Interleaved as the two processes would make their calls.
    let mut n = 0u64;
    let mut call = |engine: &mut Engine, who: &Arc<Process>, conn, outbound, data: &[u8]| {
        n += 1;
        engine.process_plaintext(&PlainChunk {
            ts_ns: T0 + n * 1000,
            conn,
            session: u64::from(who.pid) << 8,
            outbound,
            data,
            process: who,
        });
    };
    call(&mut engine, &curl, tcp(CLIENT, SERVER), true, REQ1);
    call(&mut engine, &nginx, server_view, false, REQ1);
    call(&mut engine, &nginx, server_view, true, RESP1);
    call(&mut engine, &curl, tcp(CLIENT, SERVER), false, RESP1);
    let got = entries(&mut engine);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].process.as_deref().map(|p| p.pid), Some(10));
    assert_eq!(got[0].src.port, 40000);
    let s = engine.stats();
    assert_eq!(s.events.get("plaintext-other-end"), Some(&2));
    assert_eq!(s.plaintext_connections, 1);
}

#[test]
fn the_server_side_alone_still_has_the_client_as_source() {
    let python = process(30, "python3");
    let mut engine = Engine::new(EngineConfig::default());
    feed(
        &mut engine,
        &python,
        tcp(SERVER, CLIENT),
        5,
        &[(false, REQ1), (true, RESP1)],
    );
    let got = entries(&mut engine);
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!((e.src.port, e.dst.port), (40000, 443));
    assert_eq!(j(e)["response"]["status"], 200);
    assert_eq!(
        e.process.as_deref().map(|p| p.comm.as_str()),
        Some("python3")
    );
}

#[test]
fn a_new_session_on_the_same_tuple_is_a_new_connection() {
    let curl = process(40, "curl");
    let mut engine = Engine::new(EngineConfig::default());
    // The first session leaves its request unanswered; the second starts afresh.
    feed(&mut engine, &curl, tcp(CLIENT, SERVER), 1, &[(true, REQ1)]);
    feed(
        &mut engine,
        &curl,
        tcp(CLIENT, SERVER),
        2,
        &[(true, REQ2), (false, RESP2)],
    );
    let got = entries(&mut engine);
    assert_eq!(got.len(), 2, "{got:?}");
    let first = got.iter().find(|e| e.id.starts_with("tls-0-")).unwrap();
    let second = got.iter().find(|e| e.id.starts_with("tls-1-")).unwrap();
    assert!(first.response.is_none(), "{first:?}");
    assert_eq!(j(second)["response"]["status"], 404);
    assert_eq!(engine.stats().plaintext_connections, 2);
}

#[test]
fn without_a_socket_the_session_is_the_connection() {
    let p = process(50, "app");
    let mut engine = Engine::new(EngineConfig::default());
    let conn = PlainConn::Session {
        pid: 50,
        id: 0xdead,
    };
    feed(&mut engine, &p, conn, 0xdead, &client_calls());
    let got = entries(&mut engine);
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].src.ip.to_string(), got[0].src.port),
        ("0.0.0.0".to_string(), 0)
    );
}

#[test]
fn idle_connections_end_on_a_tick() {
    let cfg = EngineConfig {
        flow_idle_ns: 5_000_000_000,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg);
    // A response without a length ends only with its connection.
    let resp = b"HTTP/1.0 200 OK\r\n\r\nuntil close";
    feed(
        &mut engine,
        &process(60, "c"),
        tcp(CLIENT, SERVER),
        1,
        &[(true, REQ1), (false, resp)],
    );
    engine.tick(T0 + 2_000_000_000);
    assert!(engine.next_output().is_none());
    assert_eq!(engine.plaintext_connections(), 1);
    engine.tick(T0 + 10_000_000_000);
    let Some(Output::Entry(e)) = engine.next_output() else {
        panic!("the idle connection did not end")
    };
    assert_eq!(j(&e)["response"]["status"], 200);
    assert_eq!(engine.plaintext_connections(), 0);
}

#[test]
fn http2_by_its_preface() {
    // h2 client preface + SETTINGS, then a HEADERS frame (GET /h2, literal
    // fields without indexing), the server's SETTINGS and a HEADERS :status 200
    // with END_STREAM.
    let mut req = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    req.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let block: Vec<u8> = [
        &[0x82u8][..],                // :method GET
        &[0x87],                      // :scheme https
        &[0x04, 3, b'/', b'h', b'2'], // :path /h2 (literal, indexed name 4)
        &[0x01, 1, b'x'],             // :authority x
    ]
    .concat();
    req.extend_from_slice(&[0, 0, block.len() as u8, 1, 0x05, 0, 0, 0, 1]);
    req.extend_from_slice(&block);
    let mut resp = vec![0, 0, 0, 4, 0, 0, 0, 0, 0];
    resp.extend_from_slice(&[0, 0, 1, 1, 0x05, 0, 0, 0, 1, 0x88]);
    let mut engine = Engine::new(EngineConfig::default());
    feed(
        &mut engine,
        &process(70, "curl"),
        tcp(CLIENT, SERVER),
        1,
        &[(true, &req), (false, &resp)],
    );
    let got = entries(&mut engine);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].protocol, "http2");
    assert_eq!(got[0].stream_id, Some(1));
    assert!(
        got[0].summary.contains("/h2") && got[0].summary.contains("200"),
        "{}",
        got[0].summary
    );
    assert!(got[0].tls);
}

#[test]
fn a_reused_tuple_is_a_new_connection_whoever_reuses_it() {
    let (curl1, curl2) = (process(80, "curl"), process(81, "curl"));
    let server = process(90, "python3");
    let mut engine = Engine::new(EngineConfig::default());
    // curl 80 and its server, both traced; then curl 81 gets the same
    // ephemeral port (the first connection is long gone), and the server a
    // new session for it.
    feed(&mut engine, &curl1, tcp(CLIENT, SERVER), 1, &[(true, REQ1)]);
    feed(
        &mut engine,
        &server,
        tcp(SERVER, CLIENT),
        2,
        &[(false, REQ1), (true, RESP1)],
    );
    feed(
        &mut engine,
        &curl1,
        tcp(CLIENT, SERVER),
        1,
        &[(false, RESP1)],
    );
    feed(&mut engine, &curl2, tcp(CLIENT, SERVER), 3, &[(true, REQ2)]);
    feed(
        &mut engine,
        &server,
        tcp(SERVER, CLIENT),
        4,
        &[(false, REQ2), (true, RESP2)],
    );
    feed(
        &mut engine,
        &curl2,
        tcp(CLIENT, SERVER),
        3,
        &[(false, RESP2)],
    );
    let got = entries(&mut engine);
    assert_eq!(got.len(), 2, "{got:?}");
    let pids: Vec<u32> = got
        .iter()
        .map(|e| e.process.as_ref().unwrap().pid)
        .collect();
    assert_eq!(pids, [80, 81]);
    assert_eq!(j(&got[1])["response"]["status"], 404);
    assert_eq!(engine.stats().plaintext_connections, 2);
    assert_eq!(engine.stats().events.get("plaintext-other-end"), Some(&4));

    // Only the server traced: a new session on the same addresses.
    let mut engine = Engine::new(EngineConfig::default());
    feed(
        &mut engine,
        &server,
        tcp(SERVER, CLIENT),
        5,
        &[(false, REQ1), (true, RESP1)],
    );
    feed(
        &mut engine,
        &server,
        tcp(SERVER, CLIENT),
        6,
        &[(false, REQ2), (true, RESP2)],
    );
    let got = entries(&mut engine);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|e| e.error.is_none()), "{got:?}");
}
