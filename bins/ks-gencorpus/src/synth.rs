//! Synthetic heavy case: short HTTP/1.1 keep-alive connections built from scratch
//! (handshake, 2–3 request/response pairs with small bodies, FIN both ways).

use crate::gen::{checksum, Plan, Rng};
use crate::template::{Builder, Template};

const CLIENT: [u8; 4] = [192, 0, 2, 1];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

/// Services the clients talk to (pinned addresses, like Kubernetes ClusterIPs).
const SERVICES: [(&str, u16); 6] = [
    ("orders", 8080),
    ("cart", 80),
    ("catalog", 8080),
    ("users", 80),
    ("payments", 8443),
    ("search", 9200),
];

/// Number of connection shapes; copies cycle through them.
pub const VARIANTS: usize = 24;

#[allow(clippy::too_many_arguments)]
fn tcp_packet(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let opts: &[u8] = if flags & SYN != 0 {
        &[2, 4, 0x05, 0xb4] // MSS 1460
    } else {
        &[]
    };
    let thl = 20 + opts.len();
    let total = 20 + thl + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let ck = checksum(&p[..20]);
    p[10..12].copy_from_slice(&ck.to_be_bytes());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    p.push(((thl / 4) as u8) << 4);
    p.push(flags);
    p.extend_from_slice(&64240u16.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(opts);
    p.extend_from_slice(payload);
    // Pseudo-header + segment.
    let mut ph = Vec::with_capacity(12 + p.len() - 20);
    ph.extend_from_slice(&src);
    ph.extend_from_slice(&dst);
    ph.extend_from_slice(&[0, 6]);
    ph.extend_from_slice(&((p.len() - 20) as u16).to_be_bytes());
    ph.extend_from_slice(&p[20..]);
    let ck = checksum(&ph);
    p[36..38].copy_from_slice(&ck.to_be_bytes());
    p
}

/// Request and response of pair `i` of variant `v`.
fn exchange(v: usize, i: usize, host: &str) -> (Vec<u8>, Vec<u8>) {
    let id = 1000 + v * 37 + i * 11;
    let (req_line, req_body, status, resp_body): (String, String, &str, String) = match (v + i) % 5
    {
        0 => (
            format!("GET /api/v1/{host}/{id} HTTP/1.1"),
            String::new(),
            "200 OK",
            format!(
                "{{\"id\":{id},\"status\":\"ok\",\"items\":[{},{}]}}",
                id + 1,
                id + 2
            ),
        ),
        1 => (
            format!("GET /api/v1/{host}?page={i}&limit=20 HTTP/1.1"),
            String::new(),
            "200 OK",
            format!("{{\"page\":{i},\"total\":{},\"next\":null}}", id * 3),
        ),
        2 => (
            format!("POST /api/v1/{host} HTTP/1.1"),
            format!("{{\"name\":\"item-{id}\",\"qty\":{}}}", i + 1),
            "201 Created",
            format!("{{\"id\":{id},\"created\":true}}"),
        ),
        3 => (
            format!("PUT /api/v1/{host}/{id} HTTP/1.1"),
            format!("{{\"qty\":{}}}", v % 7),
            "204 No Content",
            String::new(),
        ),
        _ => (
            format!("GET /api/v1/{host}/{id}/missing HTTP/1.1"),
            String::new(),
            "404 Not Found",
            "{\"error\":\"not found\"}".to_string(),
        ),
    };
    let mut req = format!(
        "{req_line}\r\nHost: {host}.default.svc.cluster.local\r\nUser-Agent: ks-gencorpus/0.1\r\nAccept: application/json\r\nX-Request-Id: {v:04x}-{i}\r\n"
    );
    if !req_body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            req_body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&req_body);
    let mut resp =
        format!("HTTP/1.1 {status}\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: envoy\r\n");
    if !status.starts_with("204") {
        resp.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            resp_body.len()
        ));
    }
    resp.push_str("\r\n");
    resp.push_str(&resp_body);
    (req.into_bytes(), resp.into_bytes())
}

/// Template of connection shape `v`.
pub fn connection(v: usize) -> Template {
    let svc = v % SERVICES.len();
    let (host, port) = SERVICES[svc];
    let server = [198, 51, 100, 1 + svc as u8];
    let pairs = 2 + (v / SERVICES.len()) % 2;
    let mut b = Builder::new(&format!("synthetic/http1-{v}"));
    b.pin(&server, &[172, 20, 0, 10 + svc as u8]);
    let cport = 40000 + v as u16;
    let (mut c, mut s) = (
        1_000_000u32 + v as u32 * 7919,
        2_000_000u32 + v as u32 * 104_729,
    );
    let (mut cid, mut sid) = (100u16, 900u16);
    let mut t = 0u64;
    let us = 1000u64;
    let push =
        |b: &mut Builder, t: u64, up: bool, seq: u32, ack: u32, fl: u8, id: &mut u16, pl: &[u8]| {
            let p = if up {
                tcp_packet(CLIENT, server, cport, port, seq, ack, fl, *id, pl)
            } else {
                tcp_packet(server, CLIENT, port, cport, seq, ack, fl, *id, pl)
            };
            *id = id.wrapping_add(1);
            assert!(b.push_ip(t, &p), "synthetic packet rejected");
        };
    push(&mut b, t, true, c, 0, SYN, &mut cid, &[]);
    c += 1;
    t += 60 * us;
    push(&mut b, t, false, s, c, SYN | ACK, &mut sid, &[]);
    s += 1;
    t += 60 * us;
    push(&mut b, t, true, c, s, ACK, &mut cid, &[]);
    for i in 0..pairs {
        let (req, resp) = exchange(v, i, host);
        t += 20 * us;
        push(&mut b, t, true, c, s, PSH_ACK, &mut cid, &req);
        c += req.len() as u32;
        t += (150 + ((v * 131 + i * 71) % 750) as u64) * us;
        push(&mut b, t, false, s, c, PSH_ACK, &mut sid, &resp);
        s += resp.len() as u32;
        t += 40 * us;
        push(&mut b, t, true, c, s, ACK, &mut cid, &[]);
        t += 500 * us;
    }
    push(&mut b, t, true, c, s, FIN_ACK, &mut cid, &[]);
    c += 1;
    t += 60 * us;
    push(&mut b, t, false, s, c, FIN_ACK, &mut sid, &[]);
    s += 1;
    t += 60 * us;
    push(&mut b, t, true, c, s, ACK, &mut cid, &[]);
    b.finish()
}

/// All connection shapes.
pub fn templates() -> Vec<Template> {
    (0..VARIANTS).map(connection).collect()
}

/// Exactly `n` connections, cycling through the shapes.
pub struct CountPlan {
    pub remaining: u64,
    pub i: usize,
}

impl Plan for CountPlan {
    fn next(&mut self, _rng: &mut Rng) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        self.i = (self.i + 1) % VARIANTS;
        Some(self.i)
    }
}
