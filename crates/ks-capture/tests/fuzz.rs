//! Arbitrary bytes after a valid header: no panic, always terminates, and
//! errors are final.

mod common;

use common::{source, Pcap, PcapNg};
use ks_capture::PacketSource;
use proptest::prelude::*;

fn drain(bytes: Vec<u8>) {
    let total = bytes.len() as u64;
    let Ok(mut src) = source(bytes) else { return };
    let mut last_pos = src.position();
    // Each packet consumes at least one record header, so this bounds the
    // loop even if the reader misbehaved.
    for _ in 0..=total {
        match src.next_packet() {
            Ok(Some(p)) => {
                assert!(p.data.len() as u64 <= total);
                assert!(src.position() > last_pos, "no progress");
                last_pos = src.position();
            }
            Ok(None) => {
                assert!(src.position() <= total);
                return;
            }
            Err(e) => {
                assert!(e.offset <= total);
                assert!(matches!(src.next_packet(), Ok(None)));
                return;
            }
        }
    }
    panic!("source did not terminate");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pcap_tail(be: bool, nanos: bool, tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut p = Pcap::new(be, nanos, 1);
        p.bytes.extend_from_slice(&tail);
        drain(p.bytes);
    }

    #[test]
    fn pcapng_tail(be: bool, tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut ng = PcapNg::new(be);
        ng.idb(1, 0, Some(9), None);
        ng.bytes.extend_from_slice(&tail);
        drain(ng.bytes);
    }

    /// Mostly-valid blocks with one byte flipped hit deeper code paths than
    /// random tails do.
    #[test]
    fn pcapng_mutated(be: bool, pos in any::<prop::sample::Index>(), val: u8) {
        let mut ng = PcapNg::new(be);
        ng.idb(1, 0, Some(0x94), Some(7));
        ng.epb(0, 12345, 64, &[1; 60]);
        ng.spb(10, &[2; 10]);
        ng.pb(0, 9, 3, &[3; 3]);
        ng.idb(101, 100, None, None);
        ng.epb(1, 1, 1, &[4]);
        let i = pos.index(ng.bytes.len());
        ng.bytes[i] = val;
        drain(ng.bytes);
    }

    #[test]
    fn anything(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        drain(bytes);
    }
}
