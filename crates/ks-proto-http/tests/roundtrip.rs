//! Round trip: random HTTP/1 exchanges are serialised to bytes, parsed by the
//! streaming `Http1Parser` through an engine-like driver, and must come back
//! equal — method, target, version, headers (order, duplicates, values),
//! status, reason, body bytes and sizes, chunking, trailers, interim flags and
//! the start/end offsets the serialiser recorded.
//!
//! Properties:
//! 1. `roundtrip_random_chunks`: both directions are fed in random-sized
//!    pieces, interleaved at random, with the one ordering a real connection
//!    guarantees (a response's bytes are fed only once its request's bytes all
//!    were). The parsed messages equal the model, each message is emitted as
//!    soon as its last byte is fed, and the parse-call contract holds on every
//!    call (consumed within the input, never "no progress and nothing needed",
//!    an `Err` at the first byte, `low_water` never past the bytes consumed).
//! 2. `splits_never_change_the_parse`: the same byte streams (optionally with
//!    garbage inserted, so that errors and resynchronisation are exercised)
//!    parsed in one piece per direction and cut at arbitrary points give the
//!    same messages and the same errors.
//!
//! Generator scope: methods (HEAD included: its response carries framing
//! headers but no body; CONNECT and `Upgrade` are left out because they switch
//! protocols), origin/absolute/asterisk targets, HTTP/1.0 and 1.1, CRLF or bare
//! LF line ends, empty lines between messages, headers in order with duplicates,
//! bodies framed by Content-Length (once, repeated, or as an equal-valued list)
//! or chunked (random chunk sizes, hex case, leading zeros, extensions,
//! optional trailers), a last response delimited by the close, 1xx interim
//! responses (not 101), 204 and 304 without body, and a random `max_body_kept`
//! so that kept prefixes and `truncated` are checked too. `Content-Encoding`
//! is not generated (decoding is tested in tests/http.rs).

use ks_proto::{Direction, ParseError, StreamParser};
use ks_proto_http::{Body, Http1Parser, HttpConfig, Message, Request, Response};
use proptest::prelude::*;
use proptest::sample::Index;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

// ---------------------------------------------------------------------------
// Engine-like driver

/// Feeds a parser the way `ks-engine` does: parse straight from new bytes when
/// nothing is pending, otherwise append to the unconsumed rest and call again
/// only once `needed` new bytes arrived; an `Err` consumes nothing and is
/// followed by another call on the same bytes. Checks the call contract.
struct Driver {
    p: Http1Parser,
    buf: [Vec<u8>; 2],
    fresh: [usize; 2],
    needed: [usize; 2],
    /// Bytes consumed so far per direction (= absolute offset of the next byte).
    consumed: [u64; 2],
    out: Vec<Message>,
    errors: Vec<(Direction, &'static str, u64)>,
}

impl Driver {
    fn new(cfg: HttpConfig) -> Self {
        Driver {
            p: Http1Parser::new(cfg),
            buf: [Vec::new(), Vec::new()],
            fresh: [0; 2],
            needed: [0; 2],
            consumed: [0; 2],
            out: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if data.is_empty() || self.p.handoff().is_some() {
            return;
        }
        if self.buf[d].is_empty() && self.needed[d] == 0 {
            let used = self.run(dir, data);
            if used < data.len() {
                self.buf[d].extend_from_slice(&data[used..]);
            }
        } else {
            self.buf[d].extend_from_slice(data);
            self.fresh[d] += data.len();
            if self.fresh[d] < self.needed[d] {
                return;
            }
            let buf = std::mem::take(&mut self.buf[d]);
            let used = self.run(dir, &buf);
            self.buf[d] = buf;
            self.buf[d].drain(..used);
        }
        self.fresh[d] = 0;
    }

    fn run(&mut self, dir: Direction, input: &[u8]) -> usize {
        let d = dir.index();
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            let res = self.p.parse(dir, &input[pos..], &mut self.out);
            match res {
                Ok(r) => {
                    errors_in_a_row = 0;
                    let left = input.len() - pos;
                    assert!(r.consumed <= left, "consumed {} of {left}", r.consumed);
                    assert!(
                        r.consumed > 0 || r.needed > 0 || self.p.handoff().is_some(),
                        "no progress and needed 0 with {left} bytes left"
                    );
                    // (`needed` may be 0 with bytes left after progress: an error
                    // found later in the same call is held for the next call,
                    // which the loop makes because something was consumed.)
                    self.needed[d] = r.needed;
                    pos += r.consumed;
                    self.consumed[d] += r.consumed as u64;
                    assert!(self.p.low_water(dir) <= self.consumed[d], "low_water ahead");
                    if r.consumed == 0 {
                        break;
                    }
                }
                Err(ParseError { kind, offset, .. }) => {
                    assert_eq!(offset, self.consumed[d], "an Err is at the first byte");
                    self.errors.push((dir, kind, offset));
                    errors_in_a_row += 1;
                    assert!(errors_in_a_row <= 1, "a second Err without progress");
                }
            }
            if self.p.handoff().is_some() {
                break;
            }
        }
        pos
    }

    fn end(&mut self) {
        self.p.end(C2S, &mut self.out);
        self.p.end(S2C, &mut self.out);
    }

    fn requests(&self) -> Vec<Request> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r.clone()),
                Message::Response(_) => None,
            })
            .collect()
    }

    fn responses(&self) -> Vec<Response> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r.clone()),
                Message::Request(_) => None,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Model

/// How a Content-Length is written.
#[derive(Debug, Clone, Copy)]
enum ClStyle {
    Once,
    /// Two equal headers.
    Twice,
    /// One header with an equal-valued list: `n, n`.
    List,
}

#[derive(Debug, Clone)]
struct ChunkPlan {
    /// Cut points of the body into chunks (empty chunks dropped: size 0 ends).
    cuts: Vec<Index>,
    upper: bool,
    /// Leading zeros of every size.
    zeros: usize,
    /// Chunk extension on each size line (cycled), `None` = none.
    exts: Vec<Option<&'static str>>,
    trailers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Framing {
    /// No framing header: a request has no body, a response runs to the close.
    None,
    Length(ClStyle),
    Chunked(ChunkPlan),
}

/// What is common to requests and responses.
#[derive(Debug, Clone)]
struct Msg {
    /// Bare LF line ends instead of CRLF.
    lf: bool,
    /// Empty lines before the start line.
    leading: usize,
    headers: Vec<(String, String)>,
    /// Where the framing header(s) go among `headers`.
    framing_at: Index,
    /// Spelling of the framing header name.
    name_case: u8,
    framing: Framing,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    minor: u8,
    msg: Msg,
}

#[derive(Debug, Clone)]
struct Interim {
    status: u16,
    reason: String,
    minor: u8,
    lf: bool,
    headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Resp {
    status: u16,
    reason: String,
    /// `HTTP/1.1 200\r\n` rather than `HTTP/1.1 200 \r\n` when the reason is empty.
    bare_status: bool,
    minor: u8,
    msg: Msg,
}

#[derive(Debug, Clone)]
struct Exchange {
    req: Req,
    interims: Vec<Interim>,
    resp: Resp,
}

/// Serialised connection and what the parser must report.
struct Wire {
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    requests: Vec<Request>,
    responses: Vec<Response>,
    /// End offset of each request in `c2s`.
    req_ends: Vec<usize>,
    /// End offset (in `s2c`) of the final response of each exchange; the last
    /// one may be delimited by the close.
    resp_ends: Vec<usize>,
    /// The last response is delimited by the close.
    until_close: bool,
}

const RESERVED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "upgrade",
];

fn spell(name: &str, case: u8) -> String {
    match case % 3 {
        0 => name.to_string(),
        1 => name.to_ascii_lowercase(),
        _ => name.to_ascii_uppercase(),
    }
}

fn write_head(out: &mut Vec<u8>, first: &str, headers: &[(String, String)], eol: &str) {
    out.extend_from_slice(first.as_bytes());
    out.extend_from_slice(eol.as_bytes());
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}{eol}").as_bytes());
    }
    out.extend_from_slice(eol.as_bytes());
}

/// Writes one message (after its leading empty lines) and returns its start,
/// its headers as the parser must see them, and its body as received.
/// `send_body = false`: framing headers are written but no body (HEAD
/// response, 204, 304).
fn write_msg(
    out: &mut Vec<u8>,
    first: &str,
    m: &Msg,
    send_body: bool,
    kept: usize,
) -> (u64, Vec<(String, String)>, Body) {
    let eol = if m.lf { "\n" } else { "\r\n" };
    for _ in 0..m.leading {
        out.extend_from_slice(eol.as_bytes());
    }
    let start = out.len() as u64;
    let mut headers = m.headers.clone();
    let at = m.framing_at.index(headers.len() + 1);
    let n = m.body.len();
    let framing_headers: Vec<(String, String)> = match &m.framing {
        Framing::None => vec![],
        Framing::Length(style) => {
            let name = spell("Content-Length", m.name_case);
            match style {
                ClStyle::Once => vec![(name, n.to_string())],
                ClStyle::Twice => vec![(name.clone(), n.to_string()), (name, n.to_string())],
                ClStyle::List => vec![(name, format!("{n}, {n}"))],
            }
        }
        Framing::Chunked(_) => vec![(
            spell("Transfer-Encoding", m.name_case),
            spell("chunked", m.name_case / 3),
        )],
    };
    headers.splice(at..at, framing_headers);
    write_head(out, first, &headers, eol);
    let mut body = Body::default();
    if !send_body {
        return (start, headers, body);
    }
    match &m.framing {
        Framing::None | Framing::Length(_) => out.extend_from_slice(&m.body),
        Framing::Chunked(plan) => {
            let mut cuts: Vec<usize> = plan.cuts.iter().map(|i| i.index(n + 1)).collect();
            cuts.extend([0, n]);
            cuts.sort_unstable();
            cuts.dedup();
            let size_line = |out: &mut Vec<u8>, size: usize, k: usize| {
                let hex = if plan.upper {
                    format!("{:0w$X}", size, w = plan.zeros + 1)
                } else {
                    format!("{:0w$x}", size, w = plan.zeros + 1)
                };
                out.extend_from_slice(hex.as_bytes());
                if let Some(Some(ext)) = plan.exts.get(k % plan.exts.len().max(1)) {
                    out.extend_from_slice(ext.as_bytes());
                }
                out.extend_from_slice(eol.as_bytes());
            };
            for (k, w) in cuts.windows(2).enumerate() {
                size_line(out, w[1] - w[0], k);
                out.extend_from_slice(&m.body[w[0]..w[1]]);
                out.extend_from_slice(eol.as_bytes());
            }
            size_line(out, 0, cuts.len());
            for (tn, tv) in &plan.trailers {
                out.extend_from_slice(format!("{tn}: {tv}{eol}").as_bytes());
            }
            out.extend_from_slice(eol.as_bytes());
            body.chunked = true;
            body.trailers = plan.trailers.clone();
        }
    }
    body.size = n as u64;
    body.wire_size = n as u64;
    body.data = m.body[..n.min(kept)].to_vec();
    body.truncated = n > kept;
    (start, headers, body)
}

fn serialise(conn: &[Exchange], kept: usize) -> Wire {
    let mut w = Wire {
        c2s: Vec::new(),
        s2c: Vec::new(),
        requests: Vec::new(),
        responses: Vec::new(),
        req_ends: Vec::new(),
        resp_ends: Vec::new(),
        until_close: false,
    };
    for (i, x) in conn.iter().enumerate() {
        let last = i + 1 == conn.len();
        let r = &x.req;
        let first = format!("{} {} HTTP/1.{}", r.method, r.target, r.minor);
        let (start, headers, body) = write_msg(&mut w.c2s, &first, &r.msg, true, kept);
        w.requests.push(Request {
            method: r.method.clone(),
            target: r.target.clone(),
            version: format!("1.{}", r.minor),
            headers,
            body,
            start,
            end: w.c2s.len() as u64,
            complete: true,
        });
        w.req_ends.push(w.c2s.len());

        for im in &x.interims {
            let start = w.s2c.len() as u64;
            let first = format!("HTTP/1.{} {} {}", im.minor, im.status, im.reason);
            write_head(
                &mut w.s2c,
                &first,
                &im.headers,
                if im.lf { "\n" } else { "\r\n" },
            );
            w.responses.push(Response {
                status: im.status,
                reason: im.reason.clone(),
                version: format!("1.{}", im.minor),
                headers: im.headers.clone(),
                body: Body::default(),
                start,
                end: w.s2c.len() as u64,
                complete: true,
                interim: true,
            });
        }

        let s = &x.resp;
        let send_body = r.method != "HEAD" && s.status != 204 && s.status != 304;
        let first = if s.reason.is_empty() && s.bare_status {
            format!("HTTP/1.{} {}", s.minor, s.status)
        } else {
            format!("HTTP/1.{} {} {}", s.minor, s.status, s.reason)
        };
        let mut msg = s.msg.clone();
        if send_body && matches!(msg.framing, Framing::None) && !last {
            // Only the last response can run to the close.
            msg.framing = Framing::Length(ClStyle::Once);
        }
        if send_body && matches!(msg.framing, Framing::None) {
            w.until_close = true;
        }
        let (start, headers, body) = write_msg(&mut w.s2c, &first, &msg, send_body, kept);
        w.responses.push(Response {
            status: s.status,
            reason: s.reason.clone(),
            version: format!("1.{}", s.minor),
            headers,
            body,
            start,
            end: w.s2c.len() as u64,
            complete: true,
            interim: false,
        });
        w.resp_ends.push(w.s2c.len());
    }
    w
}

// ---------------------------------------------------------------------------
// Strategies

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "Host", "Accept", "User-Agent", "Cookie", "Set-Cookie", "X-Dup", "x-dup",
            "Cache-Control", "Expect", "Connection", "Vary", "ETag",
        ])
        .prop_map(str::to_string),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}",
    ]
    .prop_filter("framing headers are generated separately", |n| {
        !RESERVED.iter().any(|r| n.eq_ignore_ascii_case(r))
    })
}

/// Visible ASCII, inner spaces and tabs, no leading or trailing whitespace (the
/// parser trims those, as HTTP says).
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~]", "[!-~][!-~ \t]{0,30}[!-~]",]
}

fn headers(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((header_name(), header_value()), 0..max)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..48),
        1 => proptest::collection::vec(any::<u8>(), 0..3000),
    ]
}

fn chunk_plan() -> impl Strategy<Value = ChunkPlan> {
    (
        proptest::collection::vec(any::<Index>(), 0..6),
        any::<bool>(),
        prop_oneof![4 => Just(0usize), 1 => 1usize..4],
        proptest::collection::vec(
            proptest::option::of(proptest::sample::select(vec![
                ";a=b",
                ";name",
                "; q=\"x y\"",
                " ;sp",
                "\t;tab=1",
            ])),
            0..3,
        ),
        prop_oneof![2 => Just(vec![]), 1 => headers(3)],
    )
        .prop_map(|(cuts, upper, zeros, exts, trailers)| ChunkPlan {
            cuts,
            upper,
            zeros,
            exts,
            trailers,
        })
}

fn cl_style() -> impl Strategy<Value = ClStyle> {
    prop_oneof![
        4 => Just(ClStyle::Once),
        1 => Just(ClStyle::Twice),
        1 => Just(ClStyle::List),
    ]
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        1 => Just(Framing::None),
        3 => cl_style().prop_map(Framing::Length),
        2 => chunk_plan().prop_map(Framing::Chunked),
    ]
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        prop_oneof![3 => Just(false), 1 => Just(true)],
        prop_oneof![4 => Just(0usize), 1 => 1usize..3],
        headers(8),
        any::<Index>(),
        any::<u8>(),
        framing(),
        body(),
    )
        .prop_map(
            |(lf, leading, headers, framing_at, name_case, framing, body)| Msg {
                lf,
                leading,
                headers,
                framing_at,
                name_case,
                framing,
                body,
            },
        )
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "HEAD",
        ])
        .prop_map(str::to_string),
        1 => "[A-Z][A-Z_-]{2,19}",
    ]
    // CONNECT switches protocols (tested in tests/http.rs).
    .prop_filter("no CONNECT", |m| m != "CONNECT")
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "/[!-~]{0,40}",
        1 => "http://[a-z]{1,10}\\.example(:[0-9]{1,5})?/[!-~]{0,20}",
        1 => Just("*".to_string()),
    ]
}

fn req() -> impl Strategy<Value = Req> {
    (method(), target(), 0u8..2, msg()).prop_map(|(method, target, minor, mut msg)| {
        if matches!(msg.framing, Framing::None) {
            // Without a framing header a request has no body.
            msg.body.clear();
        }
        Req {
            method,
            target,
            minor,
            msg,
        }
    })
}

fn reason() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("OK".to_string()),
        "[A-Za-z][A-Za-z0-9'-]{0,10}( [A-Za-z0-9'-]{1,10}){0,3}",
    ]
}

fn interim() -> impl Strategy<Value = Interim> {
    (
        prop_oneof![Just(100u16), Just(102), Just(103), 104u16..200],
        reason(),
        0u8..2,
        any::<bool>(),
        headers(3),
    )
        .prop_map(|(status, reason, minor, lf, headers)| Interim {
            status,
            reason,
            minor,
            lf,
            headers,
        })
}

fn resp() -> impl Strategy<Value = Resp> {
    (
        prop_oneof![8 => 200u16..600, 1 => Just(204u16), 1 => Just(304u16)],
        reason(),
        any::<bool>(),
        0u8..2,
        msg(),
    )
        .prop_map(|(status, reason, bare_status, minor, msg)| Resp {
            status,
            reason,
            bare_status,
            minor,
            msg,
        })
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        req(),
        prop_oneof![3 => Just(vec![]), 1 => proptest::collection::vec(interim(), 1..3)],
        resp(),
    )
        .prop_map(|(req, interims, resp)| Exchange {
            req,
            interims,
            resp,
        })
}

fn connection() -> impl Strategy<Value = Vec<Exchange>> {
    proptest::collection::vec(exchange(), 1..6)
}

fn max_body_kept() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(HttpConfig::default().max_body_kept), 1 => 0usize..100]
}

fn piece_size() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..4, 1usize..64, 1usize..1500, 1usize..8000]
}

// ---------------------------------------------------------------------------
// Properties

/// Feeds both directions in pieces following `plan` (direction, size), never
/// feeding a response's bytes before all of its request's bytes. Checks that a
/// message is emitted as soon as its last byte is fed.
fn feed_interleaved(drv: &mut Driver, w: &Wire, plan: &[(bool, usize)]) -> Result<(), String> {
    let (mut c, mut s) = (0usize, 0usize);
    let mut step = 0usize;
    while c < w.c2s.len() || s < w.s2c.len() {
        let (server_first, size) = plan[step % plan.len()];
        step += 1;
        let requests_fed = w.req_ends.iter().filter(|&&e| e <= c).count();
        let allowed = if requests_fed == 0 {
            0
        } else if requests_fed == w.req_ends.len() {
            w.s2c.len()
        } else {
            w.resp_ends[requests_fed - 1]
        };
        // The server side when chosen and allowed, or when the client is done.
        let server = s < allowed && (server_first || c == w.c2s.len());
        if server {
            let n = size.min(allowed - s);
            drv.feed(S2C, &w.s2c[s..s + n]);
            s += n;
        } else {
            let n = size.min(w.c2s.len() - c);
            drv.feed(C2S, &w.c2s[c..c + n]);
            c += n;
        }
        // Every message whose last byte was fed must be out.
        let want_req = w.req_ends.iter().filter(|&&e| e <= c).count();
        let got_req = drv.requests().len();
        if got_req < want_req {
            return Err(format!(
                "{want_req} requests fed whole but {got_req} emitted (client at {c})"
            ));
        }
        let want_resp = w
            .responses
            .iter()
            .enumerate()
            .filter(|(i, r)| r.end <= s as u64 && !(w.until_close && *i + 1 == w.responses.len()))
            .count();
        let got_resp = drv.responses().len();
        if got_resp < want_resp {
            return Err(format!(
                "{want_resp} responses fed whole but {got_resp} emitted (server at {s})"
            ));
        }
    }
    Ok(())
}

/// Client bytes then server bytes, each cut at `cuts` (absolute positions).
fn parse_split(
    c2s: &[u8],
    s2c: &[u8],
    cuts_c: &[usize],
    cuts_s: &[usize],
) -> (Vec<Message>, Vec<(Direction, &'static str, u64)>) {
    let mut drv = Driver::new(HttpConfig::default());
    for (dir, data, cuts) in [(C2S, c2s, cuts_c), (S2C, s2c, cuts_s)] {
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut last = 0;
        for c in cuts {
            drv.feed(dir, &data[last..c]);
            last = c;
        }
    }
    drv.end();
    (drv.out, drv.errors)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_random_chunks(
        conn in connection(),
        kept in max_body_kept(),
        plan in proptest::collection::vec((any::<bool>(), piece_size()), 1..24),
    ) {
        let w = serialise(&conn, kept);
        let mut drv = Driver::new(HttpConfig { max_body_kept: kept, ..HttpConfig::default() });
        let fed = feed_interleaved(&mut drv, &w, &plan);
        prop_assert!(fed.is_ok(), "{}", fed.unwrap_err());
        drv.end();
        prop_assert!(drv.errors.is_empty(), "parse errors: {:?}", drv.errors);
        prop_assert_eq!(drv.requests(), w.requests);
        prop_assert_eq!(drv.responses(), w.responses);
        let c = drv.p.counters();
        prop_assert_eq!(c.parse_errors + c.resyncs + c.decompress_errors, 0);
    }

    #[test]
    fn splits_never_change_the_parse(
        conn in connection(),
        garbage in proptest::collection::vec(
            (any::<bool>(), any::<Index>(), proptest::collection::vec(any::<u8>(), 1..12)),
            0..3,
        ),
        cuts_c in proptest::collection::vec(any::<Index>(), 0..16),
        cuts_s in proptest::collection::vec(any::<Index>(), 0..16),
    ) {
        let w = serialise(&conn, HttpConfig::default().max_body_kept);
        let (mut c2s, mut s2c) = (w.c2s, w.s2c);
        for (server, at, bytes) in garbage {
            let v = if server { &mut s2c } else { &mut c2s };
            let at = at.index(v.len() + 1);
            v.splice(at..at, bytes);
        }
        let cc: Vec<usize> = cuts_c.iter().map(|i| i.index(c2s.len() + 1)).collect();
        let cs: Vec<usize> = cuts_s.iter().map(|i| i.index(s2c.len() + 1)).collect();
        let whole = parse_split(&c2s, &s2c, &[], &[]);
        let split = parse_split(&c2s, &s2c, &cc, &cs);
        let show = || format!(
            "c2s {:?} cut at {cc:?}; s2c {:?} cut at {cs:?}",
            c2s.escape_ascii().to_string(),
            s2c.escape_ascii().to_string()
        );
        prop_assert_eq!(split.1, whole.1, "errors differ: {}", show());
        prop_assert_eq!(split.0, whole.0, "messages differ: {}", show());
    }
}

/// Every split point of one rich generated-style connection, one byte at a
/// time included (a deterministic complement to the random cuts above).
#[test]
fn every_single_cut_of_a_mixed_connection() {
    let c2s = b"\r\nHEAD /h HTTP/1.1\nHost: a\n\nPOST /p?x=1 HTTP/1.0\r\nX-Dup: 1\r\nTransfer-Encoding: CHUNKED\r\nX-Dup: 2\r\n\r\n00A;e=1\r\n0123456789\r\n1\r\nZ\r\n0\r\nT-1: v\r\nT-2:\r\n\r\nPUT * HTTP/1.1\r\ncontent-length: 3, 3\r\n\r\nabc".to_vec();
    let s2c = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 100 Continue\n\nHTTP/1.1 201\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n".to_vec();
    let whole = parse_split(&c2s, &s2c, &[], &[]);
    assert!(whole.1.is_empty(), "{:?}", whole.1);
    assert_eq!(whole.0.len(), 7);
    for i in 0..=c2s.len() {
        assert_eq!(
            parse_split(&c2s, &s2c, &[i], &[]),
            whole,
            "client cut at {i}"
        );
    }
    for i in 0..=s2c.len() {
        assert_eq!(
            parse_split(&c2s, &s2c, &[], &[i]),
            whole,
            "server cut at {i}"
        );
    }
    let every_c: Vec<usize> = (0..c2s.len()).collect();
    let every_s: Vec<usize> = (0..s2c.len()).collect();
    assert_eq!(
        parse_split(&c2s, &s2c, &every_c, &every_s),
        whole,
        "byte by byte"
    );
}

/// Regression (found by `splits_never_change_the_parse`): a request line that
/// only the lenient fallback accepts (`GET /`, `GET / HTTP/1.`,
/// `OPTIONS HTTP/1.1`, `GET /x !HTTP/1.0`) was rejected when the bytes so far
/// stopped inside it, after the strict check had failed but before its `\n`;
/// the parser now waits for the end of such a line.
#[test]
fn lenient_request_line_cut_before_its_newline() {
    let mut failures = Vec::new();
    for (c2s, cut) in [
        (&b"GET /\r\nHost: a\r\n\r\n"[..], 6),
        (&b"GET / HTTP/1.\r\n\r\n"[..], 14),
        (&b"OPTIONS HTTP/1.1\r\n\r\n"[..], 17),
        (&b"GET /x !HTTP/1.0\r\n\r\n"[..], 8),
    ] {
        let whole = parse_split(c2s, b"", &[], &[]);
        assert!(whole.1.is_empty(), "{:?}", whole.1);
        assert_eq!(whole.0.len(), 1);
        let split = parse_split(c2s, b"", &[cut], &[]);
        if split != whole {
            failures.push(format!(
                "{} cut at {cut}: {:?}",
                c2s.escape_ascii(),
                split.1
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
