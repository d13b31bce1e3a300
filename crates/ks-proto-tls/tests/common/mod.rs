//! Test helpers: the TCP connections of a capture (ks-capture, ks-decode,
//! ks-reassembly), driven through `TlsParser` as the engine drives it, with the
//! capture frame that delivered each stream byte; and the tshark references.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ks_capture::{FileSource, PacketSource};
use ks_decode::{decode_link, decode_transport, Network, Transport};
use ks_proto::{Direction, StreamParser};
use ks_proto_tls::{Handshake, TlsConfig, TlsMessage, TlsParser};
use ks_reassembly::{
    Budget, FlowKey, FlowTable, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};

pub fn pcap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap/tls")
        .join(name)
}

/// One thing that happened to a connection, in capture order.
#[derive(Debug, Clone)]
pub enum Ev {
    Data {
        frame: u64,
        side: Side,
        offset: u64,
        data: Vec<u8>,
    },
    Gap {
        side: Side,
        len: u64,
    },
}

#[derive(Default)]
struct Flow {
    tcp: TcpConnection,
    evs: Vec<Ev>,
    frame: u64,
}

/// A TCP connection of a capture.
#[derive(Debug, Clone)]
pub struct Conn {
    /// tcp.stream (order of first packet).
    pub stream: u64,
    /// Which side is the client.
    pub client: Side,
    pub evs: Vec<Ev>,
    /// Server port.
    pub server_port: u16,
    /// Client port.
    pub client_port: u16,
}

impl Conn {
    pub fn dir(&self, side: Side) -> Direction {
        if side == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }
    /// All bytes of a direction.
    pub fn bytes(&self, dir: Direction) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.evs {
            if let Ev::Data { side, data, .. } = e {
                if self.dir(*side) == dir {
                    v.extend_from_slice(data);
                }
            }
        }
        v
    }
}

pub fn connections(path: &Path) -> Vec<Conn> {
    let mut src = FileSource::open(path).unwrap();
    let mut table: FlowTable<Flow> = FlowTable::new(1 << 12);
    let cfg = TcpConfig::default();
    let mut budget = Budget::default();
    let mut counters = TcpCounters::default();
    let mut done = Vec::new();
    let mut ports = std::collections::HashMap::new();
    let mut frame = 0u64;
    let finish = |stream: u64,
                  mut f: Flow,
                  budget: &mut Budget,
                  counters: &mut TcpCounters,
                  ports: &std::collections::HashMap<u64, (u16, u16)>| {
        let Flow { tcp, evs, .. } = &mut f;
        tcp.flush(budget, counters, &mut |ev| collect(ev, evs, u64::MAX));
        let client = tcp.client_side().unwrap_or(Side::A);
        let (a, b) = ports[&stream];
        Conn {
            stream,
            client,
            evs: std::mem::take(evs),
            server_port: if client == Side::A { b } else { a },
            client_port: if client == Side::A { a } else { b },
        }
    };
    while let Some(pkt) = src.next_packet().unwrap() {
        frame += 1;
        let Ok(link) = decode_link(pkt.link_type, pkt.data) else {
            continue;
        };
        let Network::Ip(ip) = link.net else { continue };
        if ip.fragment.is_some() {
            continue;
        }
        let Ok(Transport::Tcp(t)) = decode_transport(ip.protocol, ip.payload, ip.payload_len)
        else {
            continue;
        };
        let (s, d) = (
            SocketAddr::new(ip.src, t.src_port),
            SocketAddr::new(ip.dst, t.dst_port),
        );
        let key = FlowKey::new(6, s, d, 0);
        let mut id = table.lookup(&key);
        if let Some(old) = id {
            let f = table.get(old).unwrap();
            let tcp = &f.value.tcp;
            if t.flags.syn()
                && !t.flags.ack()
                && tcp.is_closed()
                && tcp.isn(f.side_of(s)) != Some(t.seq)
            {
                let f = table.remove(old).unwrap();
                done.push(finish(
                    f.stream,
                    f.value,
                    &mut budget,
                    &mut counters,
                    &ports,
                ));
                id = None;
            }
        }
        let id = match id {
            Some(id) => id,
            None => table
                .insert(key, s, d, pkt.ts_ns, Flow::default())
                .ok()
                .unwrap(),
        };
        let flow = table.get_mut(id).unwrap();
        ports.entry(flow.stream).or_insert((t.src_port, t.dst_port));
        let side = flow.side_of(s);
        let Flow {
            tcp,
            evs,
            frame: fr,
        } = &mut flow.value;
        *fr = frame;
        let seg = Segment {
            seq: t.seq,
            ack: t.ack,
            flags: t.flags.0,
            payload: t.payload,
            payload_len: t.payload_len,
        };
        tcp.segment(side, &seg, &cfg, &mut budget, &mut counters, &mut |ev| {
            collect(ev, evs, frame)
        });
    }
    let mut rest = Vec::new();
    table.drain_all(|f| rest.push((f.stream, f.value)));
    for (stream, f) in rest {
        done.push(finish(stream, f, &mut budget, &mut counters, &ports));
    }
    done.sort_by_key(|c| c.stream);
    done
}

fn collect(ev: StreamEvent<'_>, evs: &mut Vec<Ev>, frame: u64) {
    match ev {
        StreamEvent::Data { side, offset, data } => evs.push(Ev::Data {
            frame,
            side,
            offset,
            data: data.to_vec(),
        }),
        StreamEvent::Gap { side, len, .. } => evs.push(Ev::Gap { side, len }),
        _ => {}
    }
}

/// The parser's output for one connection, with the frame of each message.
pub struct Driven {
    /// (frame that delivered the bytes completing it, message).
    pub out: Vec<(u64, TlsMessage)>,
    /// Per direction: (stream offset after the event, frame).
    pub frames: [Vec<(u64, u64)>; 2],
    pub errors: usize,
}

impl Driven {
    /// Frame that delivered byte `end - 1` of `dir`.
    pub fn frame_of(&self, dir: Direction, end: u64) -> u64 {
        self.frames[dir.index()]
            .iter()
            .find(|(e, _)| *e >= end)
            .map_or(0, |(_, f)| *f)
    }
    pub fn handshakes(&self) -> Vec<&Handshake> {
        self.out
            .iter()
            .filter_map(|(_, m)| match m {
                TlsMessage::Handshake(h) => Some(&**h),
                _ => None,
            })
            .collect()
    }
    pub fn events(&self) -> Vec<&'static str> {
        self.out
            .iter()
            .filter_map(|(_, m)| match m {
                TlsMessage::Event(e) => Some(e.kind),
                _ => None,
            })
            .collect()
    }
}

/// Feeds one direction's new bytes as the engine does (unconsumed bytes kept).
pub fn feed(
    p: &mut TlsParser,
    dir: Direction,
    buf: &mut Vec<u8>,
    out: &mut Vec<TlsMessage>,
    errors: &mut usize,
) {
    for _ in 0..10_000 {
        match p.parse(dir, buf, out) {
            Ok(r) => {
                buf.drain(..r.consumed);
                if r.consumed == 0 || buf.is_empty() {
                    break;
                }
            }
            Err(_) => *errors += 1,
        }
    }
}

pub fn drive(conn: &Conn, cfg: TlsConfig) -> Driven {
    drive_chunked(conn, cfg, usize::MAX)
}

/// As [`drive`], each data event cut in pieces of at most `chunk` bytes.
pub fn drive_chunked(conn: &Conn, cfg: TlsConfig, chunk: usize) -> Driven {
    let mut p = TlsParser::new(cfg);
    let mut bufs = [Vec::new(), Vec::new()];
    let mut frames = [Vec::new(), Vec::new()];
    let mut res = Vec::new();
    let mut errors = 0;
    let mut out = Vec::new();
    for e in &conn.evs {
        match e {
            Ev::Data {
                frame,
                side,
                offset,
                data,
            } => {
                let dir = conn.dir(*side);
                frames[dir.index()].push((offset + data.len() as u64, *frame));
                for piece in data.chunks(chunk.max(1)) {
                    bufs[dir.index()].extend_from_slice(piece);
                    feed(&mut p, dir, &mut bufs[dir.index()], &mut out, &mut errors);
                }
                res.extend(out.drain(..).map(|m| (*frame, m)));
            }
            Ev::Gap { side, len } => {
                let dir = conn.dir(*side);
                let held = bufs[dir.index()].len() as u64;
                bufs[dir.index()].clear();
                p.gap(dir, len + held, &mut out);
                res.extend(out.drain(..).map(|m| (u64::MAX, m)));
            }
        }
    }
    p.end(Direction::ToServer, &mut out);
    p.end(Direction::ToClient, &mut out);
    res.extend(out.drain(..).map(|m| (u64::MAX, m)));
    Driven {
        out: res,
        frames,
        errors,
    }
}

/// One frame of a tshark reference: frame number, tcp.stream, source port, fields.
pub struct RefFrame {
    pub frame: u64,
    pub stream: u64,
    pub src_port: u16,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl RefFrame {
    pub fn list(&self, f: &str) -> Vec<String> {
        self.fields
            .get(f)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn reference(stem: &str) -> Vec<RefFrame> {
    let p = pcap(&format!("{stem}.tshark.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let fields = m["fields"].as_object().cloned().unwrap_or_default();
            let first = |k: &str| {
                fields
                    .get(k)
                    .and_then(|v| v.as_array())
                    .and_then(|a| a.first())
                    .and_then(|s| s.as_str())
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            RefFrame {
                frame: m["frame"].as_u64().unwrap(),
                stream: first("tcp.stream"),
                src_port: first("tcp.srcport") as u16,
                fields,
            }
        })
        .collect()
}
