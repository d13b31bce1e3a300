//! A small pcapng writer: one section, interfaces described by name and link
//! type, enhanced packet blocks with nanosecond timestamps. What `ks-dissect
//! -w` records live traffic with, so the same capture can be dissected again
//! offline (by ks, tshark or tcpdump).
//!
//! Written here rather than taken from `pcap-file`: the format part needed is
//! three block types, and writing them straight from a borrowed [`Packet`]
//! avoids building an owned block per packet (see `docs/capture.md`).

use std::io::{self, Write};

use crate::Packet;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Writes a pcapng file (little-endian section) to `W`.
///
/// ```
/// use ks_capture::{linktype, Packet, PcapngWriter};
///
/// let mut w = PcapngWriter::new(Vec::new(), "example")?;
/// let eth0 = w.add_interface("eth0", linktype::ETHERNET, 262_144)?;
/// let frame = [0u8; 60];
/// w.write_packet(&Packet {
///     frame: 1,
///     ts_ns: 1_700_000_000_123_456_789,
///     link_type: linktype::ETHERNET,
///     interface_id: eth0,
///     orig_len: 60,
///     data: &frame,
/// })?;
/// let bytes = w.into_inner()?;
/// assert_eq!(&bytes[..4], &[0x0A, 0x0D, 0x0D, 0x0A]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PcapngWriter<W: Write> {
    w: W,
    interfaces: u32,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts the file: writes the section header, naming `application`.
    pub fn new(mut w: W, application: &str) -> io::Result<Self> {
        let opts = options_len(&[application.len()]);
        let total = 28 + opts;
        w.write_all(&SHB.to_le_bytes())?;
        w.write_all(&(total as u32).to_le_bytes())?;
        w.write_all(&BYTE_ORDER_MAGIC.to_le_bytes())?;
        w.write_all(&1u16.to_le_bytes())?;
        w.write_all(&0u16.to_le_bytes())?;
        // Section length unknown: we stream.
        w.write_all(&(-1i64).to_le_bytes())?;
        write_option(&mut w, SHB_USERAPPL, application.as_bytes())?;
        w.write_all(&OPT_END.to_le_bytes())?;
        w.write_all(&0u16.to_le_bytes())?;
        w.write_all(&(total as u32).to_le_bytes())?;
        Ok(PcapngWriter { w, interfaces: 0 })
    }

    /// Describes the next interface (name, `LINKTYPE_*`, snap length, and
    /// nanosecond timestamps); returns its id, the [`Packet::interface_id`]
    /// its packets must carry.
    pub fn add_interface(&mut self, name: &str, link_type: u32, snaplen: u32) -> io::Result<u32> {
        let link = u16::try_from(link_type).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("link type {link_type} does not fit pcapng"),
            )
        })?;
        let opts = options_len(&[name.len(), 1]);
        let total = 20 + opts;
        let w = &mut self.w;
        w.write_all(&IDB.to_le_bytes())?;
        w.write_all(&(total as u32).to_le_bytes())?;
        w.write_all(&link.to_le_bytes())?;
        w.write_all(&0u16.to_le_bytes())?;
        w.write_all(&snaplen.to_le_bytes())?;
        write_option(w, IF_NAME, name.as_bytes())?;
        // 10^-9 seconds per tick.
        write_option(w, IF_TSRESOL, &[9])?;
        w.write_all(&OPT_END.to_le_bytes())?;
        w.write_all(&0u16.to_le_bytes())?;
        w.write_all(&(total as u32).to_le_bytes())?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Appends `pkt` as an enhanced packet block of interface
    /// `pkt.interface_id` (which must have been added).
    pub fn write_packet(&mut self, pkt: &Packet<'_>) -> io::Result<()> {
        if pkt.interface_id >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface {} was not added", pkt.interface_id),
            ));
        }
        let caplen = pkt.data.len();
        let padded = caplen.next_multiple_of(4);
        let total = 32 + padded;
        let total32 = u32::try_from(total)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too large"))?;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_le_bytes());
        head[4..8].copy_from_slice(&total32.to_le_bytes());
        head[8..12].copy_from_slice(&pkt.interface_id.to_le_bytes());
        head[12..16].copy_from_slice(&((pkt.ts_ns >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(pkt.ts_ns as u32).to_le_bytes());
        head[20..24].copy_from_slice(&(caplen as u32).to_le_bytes());
        head[24..28].copy_from_slice(&pkt.orig_len.max(caplen as u32).to_le_bytes());
        self.w.write_all(&head)?;
        self.w.write_all(pkt.data)?;
        self.w.write_all(&[0u8; 3][..padded - caplen])?;
        self.w.write_all(&total32.to_le_bytes())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Bytes taken by options of these value lengths plus the end-of-options.
fn options_len(values: &[usize]) -> usize {
    values
        .iter()
        .map(|l| 4 + l.next_multiple_of(4))
        .sum::<usize>()
        + 4
}

fn write_option<W: Write>(w: &mut W, code: u16, value: &[u8]) -> io::Result<()> {
    w.write_all(&code.to_le_bytes())?;
    w.write_all(&(value.len() as u16).to_le_bytes())?;
    w.write_all(value)?;
    let pad = value.len().next_multiple_of(4) - value.len();
    w.write_all(&[0u8; 3][..pad])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{linktype, FileSource, PacketSource};

    #[test]
    fn what_is_written_reads_back_with_every_field() {
        let mut w = PcapngWriter::new(Vec::new(), "ks test").unwrap();
        assert_eq!(
            w.add_interface("veth0", linktype::ETHERNET, 65535).unwrap(),
            0
        );
        assert_eq!(w.add_interface("lo", linktype::RAW, 1500).unwrap(), 1);
        let a: Vec<u8> = (0..61).collect();
        let b: Vec<u8> = (0..40).map(|i| i * 3).collect();
        let ts = [1_700_000_000_123_456_789u64, 1_700_000_001_000_000_001];
        w.write_packet(&Packet {
            frame: 1,
            ts_ns: ts[0],
            link_type: linktype::ETHERNET,
            interface_id: 0,
            orig_len: 1514,
            data: &a,
        })
        .unwrap();
        w.write_packet(&Packet {
            frame: 2,
            ts_ns: ts[1],
            link_type: linktype::RAW,
            interface_id: 1,
            orig_len: 40,
            data: &b,
        })
        .unwrap();
        let bad = w.write_packet(&Packet {
            frame: 3,
            ts_ns: 0,
            link_type: linktype::RAW,
            interface_id: 2,
            orig_len: 40,
            data: &b,
        });
        assert!(bad.is_err(), "an interface that was not added is refused");
        let bytes = w.into_inner().unwrap();

        let mut src =
            FileSource::from_reader(Box::new(std::io::Cursor::new(bytes)), "mem").unwrap();
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(
            (p.ts_ns, p.link_type, p.interface_id, p.orig_len),
            (ts[0], 1, 0, 1514)
        );
        assert_eq!(p.data, &a[..]);
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(
            (p.ts_ns, p.link_type, p.interface_id, p.orig_len),
            (ts[1], linktype::RAW, 1, 40)
        );
        assert_eq!(p.data, &b[..]);
        assert!(src.next_packet().unwrap().is_none());
    }
}
