//! Hand-built packets for engine tests: raw IPv4/TCP frames and a tiny TCP peer pair.
#![allow(dead_code)]

use ks_capture::Packet;
use ks_engine::{Engine, EngineConfig, Entry, FlowRecord, Output, Stats};

pub const RAW_IP: u32 = 101;
pub const SYN: u8 = 2;
pub const FIN: u8 = 1;
pub const ACK: u8 = 16;
pub const PSH: u8 = 8;

pub fn ipv4_tcp(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = 20 + 20 + payload.len();
    assert!(total <= 65535, "an IPv4 packet holds less than 64 KiB");
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    p.extend_from_slice(&src.0);
    p.extend_from_slice(&dst.0);
    p.extend_from_slice(&src.1.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// One TCP connection, built packet by packet.
pub struct Conn {
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    pub cseq: u32,
    pub sseq: u32,
}

impl Conn {
    pub fn new(cport: u16, sport: u16) -> Self {
        Conn {
            client: ([10, 0, 0, 1], cport),
            server: ([10, 0, 0, 2], sport),
            cseq: 1000,
            sseq: 5000,
        }
    }
    pub fn handshake(&mut self, cap: &mut Capture) {
        cap.push(ipv4_tcp(self.client, self.server, self.cseq, 0, SYN, b""));
        cap.push(ipv4_tcp(
            self.server,
            self.client,
            self.sseq,
            self.cseq + 1,
            SYN | ACK,
            b"",
        ));
        self.cseq += 1;
        self.sseq += 1;
        cap.push(ipv4_tcp(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            ACK,
            b"",
        ));
    }
    /// Client → server segment (not sent when `drop`).
    pub fn c(&mut self, cap: &mut Capture, data: &[u8]) {
        cap.push(ipv4_tcp(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            ACK | PSH,
            data,
        ));
        self.cseq += data.len() as u32;
    }
    pub fn s(&mut self, cap: &mut Capture, data: &[u8]) {
        cap.push(ipv4_tcp(
            self.server,
            self.client,
            self.sseq,
            self.cseq,
            ACK | PSH,
            data,
        ));
        self.sseq += data.len() as u32;
    }
    /// A server segment the capture missed.
    pub fn s_lost(&mut self, data: &[u8]) {
        self.sseq += data.len() as u32;
    }
    /// The client acknowledges everything the server sent.
    pub fn c_ack(&mut self, cap: &mut Capture) {
        cap.push(ipv4_tcp(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            ACK,
            b"",
        ));
    }
    pub fn close(&mut self, cap: &mut Capture) {
        cap.push(ipv4_tcp(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            FIN | ACK,
            b"",
        ));
        cap.push(ipv4_tcp(
            self.server,
            self.client,
            self.sseq,
            self.cseq + 1,
            FIN | ACK,
            b"",
        ));
        cap.push(ipv4_tcp(
            self.client,
            self.server,
            self.cseq + 1,
            self.sseq + 1,
            ACK,
            b"",
        ));
    }
}

#[derive(Default)]
pub struct Capture {
    pub frames: Vec<Vec<u8>>,
}

impl Capture {
    pub fn push(&mut self, f: Vec<u8>) {
        self.frames.push(f);
    }
}

pub struct Run {
    pub entries: Vec<Entry>,
    pub flows: Vec<FlowRecord>,
    pub stats: Stats,
}

pub fn run_with(cap: &Capture, cfg: EngineConfig) -> Run {
    let mut engine = Engine::new(cfg);
    let (mut entries, mut flows) = (Vec::new(), Vec::new());
    let mut take = |engine: &mut Engine| {
        while let Some(o) = engine.next_output() {
            match o {
                Output::Entry(e) => entries.push(*e),
                Output::Flow(f) => flows.push(f),
            }
        }
    };
    for (i, data) in cap.frames.iter().enumerate() {
        let pkt = Packet {
            frame: i as u64 + 1,
            ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000_000,
            link_type: RAW_IP,
            interface_id: 0,
            orig_len: data.len() as u32,
            data,
        };
        engine.process(&pkt);
        take(&mut engine);
    }
    engine.finish();
    take(&mut engine);
    Run {
        entries,
        flows,
        stats: engine.stats(),
    }
}

pub fn run(cap: &Capture) -> Run {
    run_with(cap, EngineConfig::default())
}

/// A packet for `Engine::process`.
pub fn packet(frame: u64, ts_ns: u64, data: &[u8]) -> Packet<'_> {
    Packet {
        frame,
        ts_ns,
        link_type: RAW_IP,
        interface_id: 0,
        orig_len: data.len() as u32,
        data,
    }
}

/// An IPv4 packet of protocol `proto` carrying `l4` (checksums left zero).
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

/// A UDP header and payload (checksum zero).
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend(dport.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(payload);
    u
}
