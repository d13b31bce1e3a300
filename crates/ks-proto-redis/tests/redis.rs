//! Behaviour tests: byte sequences from the RESP2/RESP3 specifications and the
//! Redis documentation, decoded by hand.

use ks_proto::{Direction, ParseError, ProbeInput, Role, StreamParser, Verdict};
use ks_proto_redis::{Arg, Exchange, Message, OneWay, RedisConfig, RedisParser, Reply, ReplyType};
use proptest::prelude::*;
use serde_json::json;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// Plays the engine: keeps unconsumed bytes, retries after errors and progress.
struct H {
    p: RedisParser,
    buf: [Vec<u8>; 2],
    out: Vec<Message>,
    errors: Vec<ParseError>,
}

impl H {
    fn new() -> Self {
        Self::with(RedisConfig::default())
    }
    fn with(cfg: RedisConfig) -> Self {
        H {
            p: RedisParser::new(cfg, [0, 0]),
            buf: [Vec::new(), Vec::new()],
            out: Vec::new(),
            errors: Vec::new(),
        }
    }
    fn feed(&mut self, dir: Direction, data: &[u8]) -> &mut Self {
        let b = &mut self.buf[dir.index()];
        b.extend_from_slice(data);
        let mut spins = 0;
        while !b.is_empty() {
            match self.p.parse(dir, b, &mut self.out) {
                Ok(r) => {
                    b.drain(..r.consumed);
                    if r.consumed == 0 {
                        assert!(r.needed >= 1, "no progress and needed 0");
                        break;
                    }
                }
                Err(e) => {
                    self.errors.push(e);
                    spins += 1;
                    assert!(spins < 1_000_000);
                }
            }
        }
        self
    }
    fn feed_chunks(&mut self, dir: Direction, data: &[u8], n: usize) -> &mut Self {
        for c in data.chunks(n.max(1)) {
            self.feed(dir, c);
        }
        self
    }
    fn end(&mut self) -> &mut Self {
        self.p.end(C, &mut self.out);
        self.p.end(S, &mut self.out);
        self
    }
    fn exchanges(&self) -> Vec<&Exchange> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Exchange(x) => Some(&**x),
                _ => None,
            })
            .collect()
    }
    fn oneways(&self) -> Vec<&OneWay> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::OneWay(x) => Some(&**x),
                _ => None,
            })
            .collect()
    }
}

/// A reply alone (no command): parsed and returned.
fn reply(bytes: &[u8]) -> Reply {
    let mut h = H::new();
    h.feed(S, bytes);
    assert!(h.errors.is_empty(), "{:?}", h.errors);
    let x = h.exchanges();
    assert_eq!(x.len(), 1, "{:?}", h.out);
    let r = x[0].response.clone().unwrap();
    assert_eq!((r.start, r.end), (0, bytes.len() as u64));
    r
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    v
}

#[test]
fn resp2_spec_types() {
    let r = reply(b"+OK\r\n");
    assert_eq!((r.kind, r.value.clone()), (ReplyType::Simple, json!("OK")));
    let r = reply(b"-Error message\r\n");
    assert_eq!(r.kind, ReplyType::Error);
    assert_eq!(r.error.as_deref(), Some("Error message"));
    assert_eq!(reply(b":1000\r\n").value, json!(1000));
    assert_eq!(reply(b":-5\r\n").value, json!(-5));
    let r = reply(b"$5\r\nhello\r\n");
    assert_eq!((r.kind, r.value), (ReplyType::Bulk, json!("hello")));
    assert_eq!(reply(b"$0\r\n\r\n").value, json!(""));
    let r = reply(b"$-1\r\n");
    assert_eq!((r.kind, r.value), (ReplyType::Null, json!(null)));
    let r = reply(b"*-1\r\n");
    assert_eq!(r.kind, ReplyType::Null);
    let r = reply(b"*0\r\n");
    assert_eq!(
        (r.kind, r.value, r.elements),
        (ReplyType::Array, json!([]), Some(0))
    );
    let r = reply(b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n");
    assert_eq!(r.value, json!(["hello", "world"]));
    let r = reply(b"*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n");
    assert_eq!(r.value, json!([1, 2, 3, 4, "hello"]));
    let r = reply(b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n");
    assert_eq!(r.value, json!([[1, 2, 3], ["Hello", "World"]]));
    let r = reply(b"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n");
    assert_eq!(r.value, json!(["hello", null, "world"]));
    // Binary bulk: base64 marker.
    let r = reply(b"$3\r\n\xff\x00a\r\n");
    assert_eq!(r.value, json!({"base64": "/wBh"}));
}

#[test]
fn resp3_spec_types() {
    let r = reply(b"_\r\n");
    assert_eq!(r.kind, ReplyType::Null);
    let r = reply(b"#t\r\n");
    assert_eq!((r.kind, r.value), (ReplyType::Boolean, json!(true)));
    assert_eq!(reply(b"#f\r\n").value, json!(false));
    let r = reply(b",1.23\r\n");
    assert_eq!((r.kind, r.value), (ReplyType::Double, json!(1.23)));
    assert_eq!(reply(b",10\r\n").value, json!(10.0));
    assert_eq!(reply(b",inf\r\n").value, json!("inf"));
    assert_eq!(reply(b",-inf\r\n").value, json!("-inf"));
    assert_eq!(reply(b",nan\r\n").value, json!("NaN"));
    let r = reply(b"(3492890328409238509324850943850943825024385\r\n");
    assert_eq!(r.kind, ReplyType::BigNumber);
    assert_eq!(
        r.value,
        json!("3492890328409238509324850943850943825024385")
    );
    let r = reply(b"!21\r\nSYNTAX invalid syntax\r\n");
    assert_eq!(r.kind, ReplyType::BulkError);
    assert_eq!(r.error.as_deref(), Some("SYNTAX invalid syntax"));
    let r = reply(b"=15\r\ntxt:Some string\r\n");
    assert_eq!(
        (r.kind, r.value),
        (ReplyType::Verbatim, json!("Some string"))
    );
    let r = reply(b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n");
    assert_eq!(r.kind, ReplyType::Map);
    assert_eq!(r.value, json!({"first": 1, "second": 2}));
    assert_eq!(r.elements, Some(2));
    let r = reply(b"~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n");
    assert_eq!(r.kind, ReplyType::Set);
    assert_eq!(r.value, json!(["orange", "apple", true, 100, 999]));
    // Non-string map keys are rendered as their JSON text.
    assert_eq!(reply(b"%1\r\n:1\r\n#t\r\n").value, json!({"1": true}));
}

#[test]
fn resp3_attribute_attached_to_reply() {
    // Example from the RESP3 spec.
    let r = reply(
        b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
    );
    assert_eq!(r.kind, ReplyType::Array);
    assert_eq!(r.value, json!([2039123, 9543892]));
    assert_eq!(
        r.attributes,
        Some(json!({"key-popularity": {"a": 0.1923, "b": 0.0012}}))
    );
    // Nested attribute: not an element of the array.
    let r = reply(b"*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n");
    assert_eq!(r.value, json!([1, 2]));
}

/// A plain first argument is shown bare; one with a space, a quote or no text is not.
#[test]
fn summary_quotes_only_when_needed() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "two words"]))
        .feed(S, b"$1\r\nx\r\n")
        .feed(C, &cmd(&["GET", "say\"hi"]))
        .feed(S, b"$-1\r\n")
        .feed(C, b"*2\r\n$3\r\nGET\r\n$2\r\n\xff\xfe\r\n")
        .feed(S, b"$-1\r\n")
        .feed(C, &cmd(&["GET", ""]))
        .feed(S, b"$-1\r\n");
    let s: Vec<String> = h.exchanges().iter().map(|x| x.summary()).collect();
    assert_eq!(
        s,
        [
            "GET \"two words\" → \"x\"",
            "GET \"say\"hi\" → (nil)",
            "GET <2 bytes> → (nil)",
            "GET \"\" → (nil)",
        ]
    );
}

#[test]
fn simple_exchange_and_summary() {
    let mut h = H::new();
    h.feed(C, &cmd(&["SET", "user:1", "bob"]))
        .feed(S, b"+OK\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 1);
    let req = x[0].request.as_ref().unwrap();
    assert_eq!(req.command, "SET");
    assert_eq!(
        req.args,
        vec![Arg::Text("user:1".into()), Arg::Text("bob".into())]
    );
    assert_eq!(req.argc, 2);
    assert_eq!((req.start, req.end), (0, 34));
    assert_eq!(x[0].summary(), "SET user:1 → OK");
    let j = serde_json::to_value(x[0]).unwrap();
    assert_eq!(
        j,
        json!({
            "request": {"command": "SET", "args": ["user:1", "bob"], "argc": 2, "start": 0, "end": 34},
            "response": {"type": "simple", "value": "OK", "start": 0, "end": 5}
        })
    );
}

#[test]
fn summaries() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "a"]))
        .feed(C, &cmd(&["INCR", "n"]))
        .feed(C, &cmd(&["FOO"]))
        .feed(C, &cmd(&["LRANGE", "l", "0", "-1"]))
        .feed(C, &cmd(&["GET", "b"]))
        .feed(
            S,
            b"$-1\r\n:7\r\n-ERR unknown command 'FOO'\r\n*3\r\n:1\r\n:2\r\n:3\r\n",
        )
        .feed(
            S,
            b"$60\r\n012345678901234567890123456789012345678901234567890123456789\r\n",
        );
    let s: Vec<String> = h.exchanges().iter().map(|x| x.summary()).collect();
    assert_eq!(
        s,
        vec![
            "GET a → (nil)",
            "INCR n → 7",
            "FOO → ERR unknown command 'FOO'",
            "LRANGE l → [3 items]",
            "GET b → \"0123456789012345678901234567890123456789…\"",
        ]
    );
}

#[test]
fn pipelining_in_one_segment() {
    let mut h = H::new();
    let mut reqs = Vec::new();
    for i in 0..3 {
        reqs.extend(cmd(&["INCR", &format!("k{i}")]));
    }
    h.feed(C, &reqs);
    assert!(h.exchanges().is_empty());
    assert_eq!(h.p.low_water(C), 0);
    h.feed(S, b":1\r\n:2\r\n:3\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    for (i, x) in x.iter().enumerate() {
        assert_eq!(
            x.request.as_ref().unwrap().args[0],
            Arg::Text(format!("k{i}"))
        );
        assert_eq!(x.response.as_ref().unwrap().value, json!(i + 1));
    }
    assert_eq!(h.p.low_water(C), reqs.len() as u64);
}

#[test]
fn multi_exec() {
    let mut h = H::new();
    let mut c = cmd(&["MULTI"]);
    c.extend(cmd(&["INCR", "foo"]));
    c.extend(cmd(&["INCR", "bar"]));
    c.extend(cmd(&["EXEC"]));
    h.feed(C, &c)
        .feed(S, b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 4);
    let cmds: Vec<(&str, bool, String)> = x
        .iter()
        .map(|x| {
            let r = x.request.as_ref().unwrap();
            (
                r.command.as_str(),
                r.in_multi,
                x.response.as_ref().unwrap().short(),
            )
        })
        .collect();
    assert_eq!(
        cmds,
        vec![
            ("MULTI", false, "OK".into()),
            ("INCR", true, "QUEUED".into()),
            ("INCR", true, "QUEUED".into()),
            ("EXEC", false, "[2 items]".into()),
        ]
    );
    assert_eq!(x[3].response.as_ref().unwrap().value, json!([1, 1]));
}

#[test]
fn subscribe_resp2() {
    let mut h = H::new();
    h.feed(C, &cmd(&["SUBSCRIBE", "first", "second"]));
    h.feed(
        S,
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nfirst\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$6\r\nsecond\r\n:2\r\n",
    );
    h.feed(S, b"*3\r\n$7\r\nmessage\r\n$6\r\nsecond\r\n$5\r\nHello\r\n");
    h.feed(C, &cmd(&["PSUBSCRIBE", "n*"]));
    h.feed(S, b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
    h.feed(
        S,
        b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
    );
    h.feed(C, &cmd(&["UNSUBSCRIBE"]));
    h.feed(
        S,
        b"*3\r\n$11\r\nunsubscribe\r\n$6\r\nsecond\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nfirst\r\n:0\r\n",
    );
    assert!(h.errors.is_empty());
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    let sub = x[0].response.as_ref().unwrap();
    assert_eq!(sub.replies, 2);
    assert_eq!(
        sub.value,
        json!([["subscribe", "first", 1], ["subscribe", "second", 2]])
    );
    assert_eq!((sub.start, sub.end), (0, 69));
    assert_eq!(x[0].summary(), "SUBSCRIBE first → [2 replies]");
    assert_eq!(x[1].response.as_ref().unwrap().replies, 1);
    assert_eq!(x[2].response.as_ref().unwrap().replies, 2);
    let o = h.oneways();
    assert_eq!(o.len(), 2);
    assert_eq!(o[0].kind, "message");
    assert_eq!(o[0].channel.as_deref(), Some("second"));
    assert_eq!(o[0].payload, Some(json!("Hello")));
    assert_eq!(o[0].summary(), "message second → \"Hello\"");
    assert_eq!(o[1].kind, "pmessage");
    assert_eq!(o[1].pattern.as_deref(), Some("n*"));
    assert_eq!(o[1].channel.as_deref(), Some("news"));
    // Order of emission: the message came after the SUBSCRIBE exchange.
    assert!(matches!(h.out[0], Message::Exchange(_)));
    assert!(matches!(h.out[1], Message::OneWay(_)));
}

#[test]
fn hello3_and_resp3_pubsub() {
    let mut h = H::new();
    h.feed(C, &cmd(&["HELLO", "3"]));
    h.feed(
        S,
        b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
    );
    assert!(h.p.resp3());
    h.feed(C, &cmd(&["SUBSCRIBE", "ch"]));
    // A push may arrive interleaved with ordinary replies.
    h.feed(C, &cmd(&["PING"]));
    h.feed(S, b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    h.feed(S, b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
    h.feed(S, b"+PONG\r\n");
    h.feed(S, b">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    let hello = x[0].response.as_ref().unwrap();
    assert_eq!(hello.kind, ReplyType::Map);
    assert_eq!(
        hello.value,
        json!({"server": "redis", "proto": 3, "modules": []})
    );
    let sub = x[1].response.as_ref().unwrap();
    assert_eq!((sub.kind, sub.replies), (ReplyType::Push, 1));
    assert_eq!(x[2].summary(), "PING → PONG");
    let o = h.oneways();
    assert_eq!(o.len(), 2);
    assert_eq!(
        (o[0].kind.as_str(), o[0].channel.as_deref()),
        ("message", Some("ch"))
    );
    assert_eq!(o[1].kind, "invalidate");
    assert_eq!(o[1].message.value, json!(["invalidate", ["key"]]));
    assert_eq!(o[1].summary(), "invalidate → [2 items]");
}

#[test]
fn hello3_refused_stays_resp2() {
    let mut h = H::new();
    h.feed(C, &cmd(&["HELLO", "3"]))
        .feed(S, b"-NOPROTO unsupported protocol version\r\n");
    assert!(!h.p.resp3());
}

#[test]
fn inline_commands() {
    let mut h = H::new();
    h.feed(C, b"PING\r\nset  foo bar\n\r\nEXISTS somekey\r\n");
    h.feed(S, b"+PONG\r\n+OK\r\n:0\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    let r = x[1].request.as_ref().unwrap();
    assert!(r.inline);
    assert_eq!(r.command, "SET");
    assert_eq!(
        r.args,
        vec![Arg::Text("foo".into()), Arg::Text("bar".into())]
    );
    assert_eq!((r.start, r.end), (6, 19));
    assert_eq!(x[2].summary(), "EXISTS somekey → 0");
}

#[test]
fn big_bulk_is_streamed_and_capped() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "big"]));
    let size = 8 * 1024 * 1024;
    h.feed(S, format!("${size}\r\n").as_bytes());
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..size / chunk.len() {
        h.feed(S, &chunk);
        // Nothing held back by the parser: the engine buffer stays empty.
        assert!(h.buf[1].is_empty());
    }
    assert!(h.exchanges().is_empty());
    assert_eq!(h.p.low_water(S), 0);
    h.feed(S, b"\r\n");
    let x = h.exchanges();
    let r = x[0].response.as_ref().unwrap();
    assert!(r.truncated);
    assert_eq!(r.end, size as u64 + 12);
    let v = &r.value;
    assert_eq!(v["size"], json!(size));
    assert_eq!(v["truncated"], json!(true));
    assert_eq!(v["text"].as_str().unwrap().len(), 4096);
    assert_eq!(h.p.counters().truncated, 1);
}

#[test]
fn big_request_argument_capped() {
    let mut h = H::new();
    let val = vec![b'v'; 10_000];
    let mut c = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000\r\n".to_vec();
    c.extend(&val);
    c.extend(b"\r\n");
    h.feed_chunks(C, &c, 1000).feed(S, b"+OK\r\n");
    let r = h.exchanges()[0].request.clone().unwrap();
    assert!(r.truncated);
    match &r.args[1] {
        Arg::Partial {
            text: Some(t),
            size,
            ..
        } => assert_eq!((t.len(), *size), (4096, 10_000)),
        a => panic!("{a:?}"),
    }
}

#[test]
fn depth_and_element_caps() {
    let cfg = RedisConfig {
        max_depth: 2,
        max_elements: 4,
        ..RedisConfig::default()
    };
    let mut h = H::with(cfg);
    // [[[1]], 2, 3, 4, 5]: the innermost array is beyond depth 2.
    h.feed(S, b"*5\r\n*1\r\n*1\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n");
    let r = h.exchanges()[0].response.clone().unwrap();
    assert!(r.truncated);
    assert_eq!(r.elements, Some(5));
    // Kept: the top array (1), [..] (2), and two more values (caps at 4 values).
    assert_eq!(r.value, json!([["… 1 more"], 2, 3, "… 2 more"]));
    // Very deep nesting is an error, never a stack overflow.
    let mut h = H::new();
    h.feed(S, &b"*1\r\n".repeat(10_000));
    // (Resync restarts at the next `*` line, which nests again.)
    assert!(!h.errors.is_empty());
    assert!(h.errors.iter().all(|e| e.kind == "too-deep"));
}

#[test]
fn errors_resync_on_next_line() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "a"])).feed(C, &cmd(&["GET", "b"]));
    h.feed(S, b"$3\r\nfoo\r\n?garbage\r\nmore\r\n$3\r\nbar\r\n");
    assert_eq!(h.errors.len(), 1);
    assert_eq!(h.errors[0].offset, 9);
    assert_eq!(h.errors[0].kind, "bad-type");
    let x = h.exchanges();
    assert_eq!(x.len(), 2);
    assert_eq!(x[1].response.as_ref().unwrap().value, json!("bar"));
    assert_eq!(x[1].response.as_ref().unwrap().start, 25);
}

#[test]
fn gap_in_bulk_is_absorbed() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "k"]));
    h.feed(S, b"$10\r\nabc");
    h.p.gap(S, 4, &mut h.out);
    h.feed(S, b"def\r\n");
    let r = h.exchanges()[0].response.clone().unwrap();
    assert_eq!(
        r.value,
        json!({"text": "abc", "size": 10, "truncated": true})
    );
    assert_eq!(r.end, 17);
}

#[test]
fn gap_in_replies_flushes_pending() {
    let mut h = H::new();
    h.feed(C, &cmd(&["GET", "a"])).feed(C, &cmd(&["GET", "b"]));
    h.feed(S, b"*2\r\n:1");
    // The engine drops the 2 bytes it held and counts them in the gap.
    h.buf[1].clear();
    h.p.gap(S, 102, &mut h.out);
    assert_eq!(h.exchanges().len(), 2);
    assert!(h.exchanges().iter().all(|x| x.response.is_none()));
    h.feed(S, b"x\r\n:5\r\n");
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    assert!(x[2].request.is_none());
    assert_eq!(x[2].response.as_ref().unwrap().start, 109);
}

#[test]
fn end_flushes_unanswered_and_pending_cap() {
    let cfg = RedisConfig {
        max_pending: 2,
        ..RedisConfig::default()
    };
    let mut h = H::with(cfg);
    for k in ["a", "b", "c"] {
        h.feed(C, &cmd(&["GET", k]));
    }
    assert_eq!(h.exchanges().len(), 1);
    assert!(h
        .out
        .iter()
        .any(|m| matches!(m, Message::Event(e) if e.kind == "pending-capped")));
    h.p.end(C, &mut h.out);
    assert_eq!(h.exchanges().len(), 1);
    h.p.end(S, &mut h.out);
    let x = h.exchanges();
    assert_eq!(x.len(), 3);
    assert_eq!(x[2].summary(), "GET c → (no reply)");
    assert_eq!(h.p.counters().unanswered, 3);
}

#[test]
fn offsets_start_from_given_base() {
    let mut p = RedisParser::new(RedisConfig::default(), [1000, 5000]);
    let mut out = Vec::new();
    p.parse(C, &cmd(&["PING"]), &mut out).unwrap();
    p.parse(S, b"+PONG\r\n", &mut out).unwrap();
    let Message::Exchange(x) = &out[0] else {
        panic!()
    };
    assert_eq!(x.request.as_ref().unwrap().start, 1000);
    assert_eq!(x.response.as_ref().unwrap().end, 5007);
    assert_eq!(p.low_water(S), 5007);
}

#[test]
fn probe() {
    let pr = |d: &[u8]| {
        RedisParser::probe(&ProbeInput {
            data: d,
            src_port: 40000,
            dst_port: 7000,
        })
    };
    let p = pr(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(
        (p.verdict, p.sender),
        (Verdict::Certain, Some(Role::Client))
    );
    let p = pr(b"+OK\r\n");
    assert_eq!(
        (p.verdict, p.sender),
        (Verdict::Certain, Some(Role::Server))
    );
    assert_eq!(pr(b"-WRONGTYPE Operation").verdict, Verdict::Certain);
    assert_eq!(pr(b"%3\r\n$6\r\nserver").verdict, Verdict::Certain);
    assert_eq!(pr(b"$5\r\nhello\r\n").verdict, Verdict::Certain);
    assert_eq!(pr(b"PING\r\n").verdict, Verdict::Unsure);
    assert_eq!(pr(b"PING\r\n").sender, Some(Role::Client));
    assert_eq!(pr(b"*").verdict, Verdict::Unsure);
    assert_eq!(pr(b"GET / HTTP/1.1\r\n").verdict, Verdict::Unsure);
    assert_eq!(pr(b"HTTP/1.1 200 OK\r\n").verdict, Verdict::NotMine);
    assert_eq!(pr(b"\x16\x03\x01").verdict, Verdict::NotMine);
    assert_eq!(pr(b"SSH-2.0-OpenSSH").verdict, Verdict::NotMine);
    assert_eq!(pr(b"+OK POP3 ready\r\n").verdict, Verdict::Unsure);
}

fn run(chunks: &[(bool, Vec<u8>)], n: usize) -> (Vec<Message>, Vec<ParseError>) {
    let mut h = H::new();
    for (to_server, data) in chunks {
        h.feed_chunks(if *to_server { C } else { S }, data, n);
    }
    h.end();
    (h.out, h.errors)
}

fn resp_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"+OK\r\n".to_vec()),
        Just(b"-ERR x\r\n".to_vec()),
        Just(b":12\r\n".to_vec()),
        Just(b"$3\r\nabc\r\n".to_vec()),
        Just(b"$-1\r\n".to_vec()),
        Just(b"*2\r\n".to_vec()),
        Just(b"%1\r\n".to_vec()),
        Just(b"|1\r\n".to_vec()),
        Just(b">3\r\n$7\r\nmessage\r\n".to_vec()),
        Just(b"_\r\n#t\r\n,1.5\r\n(12\r\n".to_vec()),
        Just(b"=7\r\ntxt:abc\r\n".to_vec()),
        Just(b"PING\r\n".to_vec()),
        Just(b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n".to_vec()),
        Just(b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #[test]
    fn chunking_does_not_change_result(
        parts in proptest::collection::vec((any::<bool>(), proptest::collection::vec(resp_piece(), 1..6)), 1..8),
        n in 1usize..7,
    ) {
        let parts: Vec<(bool, Vec<u8>)> = parts.into_iter().map(|(d, v)| (d, v.concat())).collect();
        let whole = run(&parts, usize::MAX);
        let bytes = run(&parts, 1);
        let some = run(&parts, n);
        prop_assert_eq!(&whole, &bytes);
        prop_assert_eq!(&whole, &some);
    }

    #[test]
    fn garbage_never_panics(
        parts in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 1..8),
        n in 1usize..9,
        gap in any::<Option<(bool, u8)>>(),
    ) {
        let mut h = H::new();
        for (i, (d, data)) in parts.iter().enumerate() {
            let dir = if *d { C } else { S };
            h.feed_chunks(dir, data, n);
            if let Some((gd, len)) = gap {
                if i == 0 {
                    let dir = if gd { C } else { S };
                    h.buf[dir.index()].clear();
                    h.p.gap(dir, len as u64, &mut h.out);
                }
            }
            let _ = h.p.low_water(dir);
        }
        h.end();
        for m in &h.out {
            if let Message::Exchange(x) = m { let _ = x.summary(); let _ = serde_json::to_string(x); }
            if let Message::OneWay(x) = m { let _ = x.summary(); let _ = serde_json::to_string(x); }
        }
    }
}
