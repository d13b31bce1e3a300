//! Rough per-packet cost of `decode_link` + `decode_transport`:
//! `cargo run --release -p ks-decode --example decode_throughput`.

use std::hint::black_box;
use std::time::Instant;

use ks_decode::{decode_link, decode_transport, linktype, Network, Transport};

fn main() {
    // Ethernet / 802.1Q / IPv4 / TCP with 12 bytes of options and 64 bytes payload.
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a, 0x08, 0x00]);
    f.extend_from_slice(&[
        0x45, 0, 0, 116, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(&[
        0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0x18, 0xff, 0xff,
    ]);
    f.extend_from_slice(&[0, 0, 0, 0, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    f.extend_from_slice(&[b'x'; 64]);

    let n = 50_000_000u64;
    let start = Instant::now();
    let mut acc = 0u64;
    for _ in 0..n {
        let info = decode_link(linktype::ETHERNET, black_box(&f)).unwrap();
        if let Network::Ip(ip) = info.net {
            if let Ok(Transport::Tcp(t)) = decode_transport(ip.protocol, ip.payload, ip.payload_len)
            {
                acc += u64::from(t.src_port) + t.payload.len() as u64;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:.1} Mpps ({:.1} ns/packet), checksum {acc}",
        n as f64 / secs / 1e6,
        secs * 1e9 / n as f64
    );
}
