//! Hand-built captures covering formats, limits and error reporting.

mod common;

use std::io::Read;

use common::{read_all, source, Pcap, PcapNg};
use ks_capture::{linktype, CaptureErrorKind, FileSource, Format, PacketSource};

const S: u64 = 1_000_000_000;

#[test]
fn big_endian_microsecond_pcap() {
    let mut p = Pcap::new(true, false, 1);
    p.record(1_362_692_526, 939_527, 60, &[0xaa; 42]);
    p.record(1_362_692_527, 1, 3, &[1, 2, 3]);
    let mut src = source(p.bytes).unwrap();
    assert_eq!(src.format(), Format::Pcap);
    let (pkts, err) = read_all(&mut src);
    assert!(err.is_none());
    assert_eq!(pkts.len(), 2);
    assert_eq!(pkts[0].ts_ns, 1_362_692_526 * S + 939_527_000);
    assert_eq!(pkts[0].orig_len, 60);
    assert_eq!(pkts[0].data, vec![0xaa; 42]);
    assert_eq!(pkts[0].link_type, linktype::ETHERNET);
    assert_eq!(pkts[1].frame, 2);
    assert_eq!(pkts[1].ts_ns, 1_362_692_527 * S + 1_000);
    assert_eq!(pkts[1].data, [1, 2, 3]);
    assert_eq!(src.position(), 24 + 16 + 42 + 16 + 3);
}

#[test]
fn nanosecond_pcap_both_byte_orders() {
    for be in [false, true] {
        let mut p = Pcap::new(be, true, linktype::RAW);
        p.record(1_700_000_000, 123_456_789, 20, &[0x45; 20]);
        let (pkts, err) = read_all(&mut source(p.bytes).unwrap());
        assert!(err.is_none());
        assert_eq!(pkts[0].ts_ns, 1_700_000_000 * S + 123_456_789, "be={be}");
        assert_eq!(pkts[0].link_type, linktype::RAW);
        assert_eq!(pkts[0].interface_id, 0);
    }
}

#[test]
fn pcap_link_type_mapping() {
    for (stored, expected) in [
        (12, 101),
        (14, 101),
        (101, 101),
        (113, 113),
        (0x1000_0001, 1),
    ] {
        let mut p = Pcap::new(false, false, stored);
        p.record(0, 0, 1, &[0]);
        let (pkts, _) = read_all(&mut source(p.bytes).unwrap());
        assert_eq!(pkts[0].link_type, expected, "stored {stored:#x}");
    }
}

#[test]
fn pcapng_interfaces_resolutions_sections_and_block_kinds() {
    let mut ng = PcapNg::new(false);
    // if 0: ethernet, ns resolution; if 1: raw IP, 2^-20 s, offset +100 s.
    ng.idb(1, 0, Some(9), None);
    ng.idb(101, 0, Some(0x80 | 20), Some(100));
    ng.block(4, &[0, 0, 0, 0]); // NRB (just end-of-records)
    ng.epb(0, 1_700_000_000 * S + 5, 64, &[1; 60]);
    ng.block(5, &[0; 12]); // ISB
    ng.epb(1, (1_700_000_000u64 << 20) | (1 << 19), 20, &[2; 20]); // +0.5 s
    ng.block(0x0000_0BAD, b"custom block"); // custom
    ng.block(0x0000_000A, &[0; 8]); // DSB
    ng.spb(10, &[3; 10]);
    ng.pb(1, 1 << 20, 7, &[4; 7]);

    // A second section, big-endian, with its own interface list.
    ng.be = true;
    ng.shb();
    ng.idb(113, 4, None, Some(-1)); // SLL, default µs, snaplen 4, -1 s
    ng.epb(0, 2_000_000, 4, &[5; 4]);
    ng.spb(9, &[6; 12]); // data beyond snaplen is padding/ignored

    let mut src = source(ng.bytes.clone()).unwrap();
    assert_eq!(src.format(), Format::PcapNg);
    let (pkts, err) = read_all(&mut src);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(src.position(), ng.bytes.len() as u64);
    let summary: Vec<_> = pkts
        .iter()
        .map(|p| {
            (
                p.frame,
                p.interface_id,
                p.link_type,
                p.ts_ns,
                p.orig_len,
                p.data.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, 0, 1, 1_700_000_000 * S + 5, 64, 60),
            (2, 1, 101, 1_700_000_100 * S + 500_000_000, 20, 20),
            (3, 0, 1, 0, 10, 10),
            (4, 1, 101, 101 * S, 7, 7),
            (5, 0, 113, S, 4, 4),
            (6, 0, 113, 0, 9, 4),
        ]
    );
    assert_eq!(pkts[0].data, vec![1; 60]);
    assert_eq!(pkts[1].data, vec![2; 20]);
    assert_eq!(pkts[2].data, vec![3; 10]);
    assert_eq!(pkts[3].data, vec![4; 7]);
    assert_eq!(pkts[5].data, vec![6; 4]);
}

#[test]
fn pcapng_tsresol_variants() {
    // (if_tsresol, ticks, expected ns)
    let cases = [
        (3u8, 1_500u64, 1_500_000_000u64), // ms
        (6, 1_000_001, 1_000_001_000),     // µs (explicit)
        (12, 1_234_567, 1_234),            // ps
        (0x80 | 10, 1024, S),              // 2^-10 s
        (0x80, 3, 3 * S),                  // 2^0 s
    ];
    for (resol, ticks, want) in cases {
        let mut ng = PcapNg::new(false);
        ng.idb(1, 0, Some(resol), None);
        ng.epb(0, ticks, 1, &[0]);
        let (pkts, err) = read_all(&mut source(ng.bytes).unwrap());
        assert!(err.is_none());
        assert_eq!(pkts[0].ts_ns, want, "tsresol {resol:#x}");
    }
}

fn real_capture(rel: &str) -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/pcap/").to_string() + rel)
        .unwrap()
}

/// Offsets of the record headers of a little-endian pcap, and the end.
fn pcap_record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offs = Vec::new();
    let mut o = 24;
    while o < bytes.len() {
        offs.push(o);
        let caplen = u32::from_le_bytes(bytes[o + 8..o + 12].try_into().unwrap()) as usize;
        o += 16 + caplen;
    }
    assert_eq!(o, bytes.len());
    offs
}

#[test]
fn truncated_pcap_returns_complete_packets_then_error() {
    let full = real_capture("http1/zeek_http_get.pcap");
    let offs = pcap_record_offsets(&full);
    let (all, _) = read_all(&mut source(full.clone()).unwrap());
    assert_eq!(all.len(), offs.len());

    let k = 5;
    let rec = offs[k];
    let rec_end = offs[k + 1];
    // Cut inside the data, then inside the header.
    for (cut, needs) in [(rec + 16 + 10, rec_end - (rec + 26)), (rec + 7, 9)] {
        let mut src = source(full[..cut].to_vec()).unwrap();
        let (pkts, err) = read_all(&mut src);
        assert_eq!(pkts, all[..k], "cut at {cut}");
        let err = err.expect("truncation error");
        assert_eq!(err.kind, CaptureErrorKind::Truncated);
        assert_eq!(err.offset, rec as u64);
        assert!(
            err.message.contains(&format!("needs {needs} more bytes")),
            "{}",
            err.message
        );
        assert_eq!(src.position(), rec as u64);
    }
    // A cut exactly at a record boundary is a clean end.
    let (pkts, err) = read_all(&mut source(full[..rec].to_vec()).unwrap());
    assert!(err.is_none());
    assert_eq!(pkts.len(), k);
}

#[test]
fn truncated_pcapng() {
    let full = real_capture("link/zeek_pcapng-multi-interface.pcapng");
    // Block 0x15c is the first EPB (after SHB 0x84 + IDB 0x44 + IDB 0x94).
    let first_epb = 0x84 + 0x44 + 0x94;
    let cut = first_epb + 40;
    let (pkts, err) = read_all(&mut source(full[..cut].to_vec()).unwrap());
    assert!(pkts.is_empty());
    let err = err.unwrap();
    assert_eq!(err.kind, CaptureErrorKind::Truncated);
    assert_eq!(err.offset, first_epb as u64);
    assert!(
        err.message.contains("needs 88 more bytes"),
        "{}",
        err.message
    );
}

#[test]
fn absurd_record_length_is_rejected_without_allocating() {
    let mut p = Pcap::new(false, false, 1);
    p.record(1, 0, 4, &[1, 2, 3, 4]);
    let bad = p.bytes.len();
    // Header claiming 4 GB of captured data.
    p.u32(2);
    p.u32(0);
    p.u32(0xffff_fff0);
    p.u32(0xffff_fff0);
    p.bytes.extend_from_slice(&[0; 100]);
    let (pkts, err) = read_all(&mut source(p.bytes).unwrap());
    assert_eq!(pkts.len(), 1);
    let err = err.unwrap();
    assert_eq!(err.kind, CaptureErrorKind::TooLarge);
    assert_eq!(err.offset, bad as u64);

    // Same for a pcapng block length.
    let mut ng = PcapNg::new(false);
    ng.idb(1, 0, None, None);
    let bad = ng.bytes.len();
    ng.bytes.extend_from_slice(&6u32.to_le_bytes());
    ng.bytes.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    ng.bytes.extend_from_slice(&[0; 64]);
    let (_, err) = read_all(&mut source(ng.bytes).unwrap());
    let err = err.unwrap();
    assert_eq!(err.kind, CaptureErrorKind::TooLarge);
    assert_eq!(err.offset, bad as u64);
}

#[test]
fn corrupt_pcapng_blocks() {
    // Packet on an interface that was never described.
    let mut ng = PcapNg::new(false);
    ng.idb(1, 0, None, None);
    let bad = ng.bytes.len();
    ng.epb(3, 0, 1, &[0]);
    let (_, err) = read_all(&mut source(ng.bytes).unwrap());
    let err = err.unwrap();
    assert_eq!(
        (err.kind, err.offset),
        (CaptureErrorKind::Corrupt, bad as u64)
    );

    // Trailer length disagreeing with the header.
    let mut ng = PcapNg::new(false);
    ng.idb(1, 0, None, None);
    let bad = ng.bytes.len();
    ng.epb(0, 0, 1, &[0]);
    let last = ng.bytes.len() - 4;
    ng.bytes[last] ^= 4;
    let (_, err) = read_all(&mut source(ng.bytes).unwrap());
    let err = err.unwrap();
    assert_eq!(
        (err.kind, err.offset),
        (CaptureErrorKind::Corrupt, bad as u64)
    );

    // Captured length larger than the block.
    let mut ng = PcapNg::new(false);
    ng.idb(1, 0, None, None);
    let bad = ng.bytes.len();
    ng.epb(0, 0, 1, &[0; 8]);
    ng.bytes[bad + 20] = 200; // caplen low byte
    let (_, err) = read_all(&mut source(ng.bytes).unwrap());
    let err = err.unwrap();
    assert_eq!(
        (err.kind, err.offset),
        (CaptureErrorKind::Corrupt, bad as u64)
    );

    // Block length below the minimum.
    let mut ng = PcapNg::new(false);
    let bad = ng.bytes.len();
    ng.bytes.extend_from_slice(&[1, 0, 0, 0, 8, 0, 0, 0]);
    let (_, err) = read_all(&mut source(ng.bytes).unwrap());
    let err = err.unwrap();
    assert_eq!(
        (err.kind, err.offset),
        (CaptureErrorKind::Corrupt, bad as u64)
    );
}

#[test]
fn empty_and_not_a_capture() {
    let err = source(Vec::new()).err().unwrap();
    assert_eq!(err.kind, CaptureErrorKind::NotACapture);
    assert_eq!(err.offset, 0);
    assert_eq!(err.source_name, "test");
    assert_eq!(err.to_string(), "test: empty file at byte offset 0");

    let err = source(b"GET / HTTP/1.1\r\n\r\n".to_vec()).err().unwrap();
    assert_eq!(err.kind, CaptureErrorKind::NotACapture);

    let err = source(vec![0x1f, 0x8b, 8, 0, 0, 0]).err().unwrap();
    assert!(err.message.contains("gzip"), "{}", err.message);

    // Valid magic but a cut file header.
    let err = source(Pcap::new(false, false, 1).bytes[..10].to_vec())
        .err()
        .unwrap();
    assert_eq!(err.kind, CaptureErrorKind::Truncated);

    // Empty file on disk through `open`, and a missing file.
    let path = std::env::temp_dir().join(format!("ks-capture-empty-{}.pcap", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    let err = FileSource::open(&path).err().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(err.kind, CaptureErrorKind::NotACapture);
    assert!(err.source_name.ends_with(".pcap"));
    let err = FileSource::open("/nonexistent/ks-capture.pcap")
        .err()
        .unwrap();
    assert_eq!(err.kind, CaptureErrorKind::Io);
}

#[test]
fn random_garbage_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let magics: [&[u8]; 4] = [
        &[0xd4, 0xc3, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0x3c, 0x4d],
        &[0x0a, 0x0d, 0x0d, 0x0a, 0, 1, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a],
        &[],
    ];
    for i in 0..2000 {
        let len = (next() % 2048) as usize;
        let mut bytes = magics[i % 4].to_vec();
        bytes.extend((0..len).map(|_| next() as u8));
        if let Ok(mut src) = source(bytes) {
            let (pkts, _) = read_all(&mut src);
            assert!(pkts.len() <= len);
        }
    }
}

/// Hands out at most `chunk` bytes per read, to exercise every refill path.
struct Trickle<R> {
    inner: R,
    chunk: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

#[test]
fn packets_crossing_buffer_refills_and_larger_than_buffer() {
    let mut p = Pcap::new(false, true, 1);
    let mut expected = Vec::new();
    let mut size: u32 = 1;
    for i in 0..400u32 {
        size = (size * 7919 + 13) % 40_000 + 1;
        let data: Vec<u8> = (0..size).map(|j| (i ^ j) as u8).collect();
        p.record(i, i, size, &data);
        expected.push(data);
    }
    // Larger than the initial 1 MiB buffer.
    let big: Vec<u8> = (0..3 << 20).map(|j: u32| (j % 251) as u8).collect();
    p.record(1000, 0, big.len() as u32, &big);
    expected.push(big);
    p.record(1001, 0, 1, &[9]);
    expected.push(vec![9]);

    for chunk in [usize::MAX, 4093, 7] {
        let reader = Trickle {
            inner: std::io::Cursor::new(p.bytes.clone()),
            chunk,
        };
        let mut src = FileSource::from_reader(Box::new(reader), "trickle").unwrap();
        let mut n = 0;
        while let Some(pkt) = src.next_packet().unwrap() {
            assert_eq!(pkt.data, &expected[n][..], "packet {n}, chunk {chunk}");
            n += 1;
        }
        assert_eq!(n, expected.len());
        assert_eq!(src.position(), p.bytes.len() as u64);
    }
}
