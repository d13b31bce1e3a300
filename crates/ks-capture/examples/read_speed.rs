//! Reads a capture and reports throughput: `cargo run --release -p ks-capture
//! --example read_speed -- FILE`.

use ks_capture::{FileSource, PacketSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: read_speed FILE")?;
    let start = std::time::Instant::now();
    let mut src = FileSource::open(&path)?;
    let (mut packets, mut bytes, mut sum) = (0u64, 0u64, 0u64);
    while let Some(p) = src.next_packet()? {
        packets += 1;
        bytes += p.data.len() as u64;
        // Touch the data so the read cannot be optimised away.
        sum = sum.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = src.position() as f64 / 1e6;
    println!(
        "{packets} packets, {bytes} captured bytes, {mb:.1} MB in {secs:.3} s: {:.0} MB/s, {:.1} Mpkt/s (checksum {sum})",
        mb / secs,
        packets as f64 / secs / 1e6
    );
    Ok(())
}
