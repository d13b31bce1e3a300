//! pcap/pcapng bytes → `FileSource::from_reader`, read every packet: must end (with
//! `Ok(None)` or one final `Err`), never panic, and always make progress.
#![no_main]

use ks_capture::{FileSource, PacketSource};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let total = data.len() as u64;
    let Ok(mut src) = FileSource::from_reader(Box::new(Cursor::new(data.to_vec())), "fuzz") else {
        return;
    };
    let _ = src.format();
    let mut last = src.position();
    // Every packet consumes at least one record header, so `total + 1` calls are
    // always enough; more means the reader loops.
    for _ in 0..=total {
        match src.next_packet() {
            Ok(Some(p)) => {
                assert!(p.data.len() as u64 <= total);
                assert!(p.frame >= 1);
                let pos = src.position();
                assert!(pos > last, "no progress at {pos}");
                assert!(pos <= total);
                last = pos;
            }
            Ok(None) => {
                assert!(matches!(src.next_packet(), Ok(None)));
                return;
            }
            Err(e) => {
                assert!(e.offset <= total, "error offset {} past the end", e.offset);
                assert!(matches!(src.next_packet(), Ok(None)), "error is not final");
                return;
            }
        }
    }
    panic!("reader did not terminate");
});
