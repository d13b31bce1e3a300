//! Packet sources for ks: the [`PacketSource`] trait, [`FileSource`], a
//! streaming reader for pcap and pcapng files, and on Linux
//! [`AfPacketSource`], live capture from an
//! interface (`AF_PACKET`, `TPACKET_V3` ring).
//!
//! ```no_run
//! use ks_capture::{FileSource, PacketSource};
//!
//! let mut src = FileSource::open("capture.pcapng")?;
//! while let Some(pkt) = src.next_packet()? {
//!     println!(
//!         "frame {} at {} ns: {} of {} bytes, link type {}",
//!         pkt.frame,
//!         pkt.ts_ns,
//!         pkt.data.len(),
//!         pkt.orig_len,
//!         pkt.link_type
//!     );
//! }
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! Packets borrow the source's read buffer, so reading allocates nothing per
//! packet and memory stays constant whatever the file size. Malformed input
//! never panics; it ends the stream with a [`CaptureError`] carrying the
//! byte offset of the offending record. See `docs/capture.md` for the design.

// `unsafe` is confined to the live backends (system calls, shared rings,
// libpcap's buffer); everything else, the file readers included, stays safe code.
#![deny(unsafe_code)]

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod afpacket;
#[cfg(all(target_os = "linux", feature = "afxdp"))]
#[allow(unsafe_code)]
pub mod afxdp;
mod buf;
#[cfg(all(target_os = "linux", feature = "ebpf"))]
#[allow(unsafe_code)]
pub mod ebpf;
mod file;
#[cfg(all(target_os = "linux", feature = "libpcap"))]
#[allow(unsafe_code)]
pub mod libpcap;
mod pcapng_writer;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sys;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[cfg(target_os = "linux")]
pub use afpacket::{AfPacketConfig, AfPacketSource, AfPacketStats, SockFilter};

#[cfg(all(target_os = "linux", feature = "afxdp"))]
pub use afxdp::{AfXdpConfig, AfXdpSource, AfXdpStats};
#[cfg(all(target_os = "linux", feature = "ebpf"))]
pub use ebpf::{EbpfConfig, EbpfSource, EbpfStats};
pub use file::{FileSource, Format};
#[cfg(all(target_os = "linux", feature = "libpcap"))]
pub use libpcap::{compile_filter, PcapConfig, PcapSource};
pub use pcapng_writer::PcapngWriter;

/// Largest captured length accepted for one packet. Anything larger is a
/// corrupt length field, not a real packet, and must not cause an allocation.
pub const MAX_PACKET_LEN: u32 = 64 << 20;
/// Largest pcapng block accepted (same reasoning as [`MAX_PACKET_LEN`]).
pub const MAX_BLOCK_LEN: u32 = 64 << 20;
/// Hard cap on the read buffer: one maximal block plus slack for headers.
pub(crate) const MAX_BUFFER: usize = MAX_BLOCK_LEN as usize + 64;

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// 1-based frame number, counting packets only (like tshark `frame.number`).
    pub frame: u64,
    /// Nanoseconds since the Unix epoch (pcapng `if_tsresol`/`if_tsoffset`
    /// applied; 0 for pcapng simple packet blocks, which carry no time).
    pub ts_ns: u64,
    /// `LINKTYPE_*` value (see [`linktype`]); for pcapng the link type of the
    /// packet's interface.
    pub link_type: u32,
    /// pcapng interface id (0 for pcap).
    pub interface_id: u32,
    /// Original length on the wire.
    pub orig_len: u32,
    /// Captured bytes (may be shorter than `orig_len` when cut by snaplen).
    pub data: &'a [u8],
}

/// A stream of captured packets.
pub trait PacketSource {
    /// Next packet, `Ok(None)` at a clean end. After an `Err`, the source is
    /// finished (returns `Ok(None)` after).
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError>;
    /// Bytes of input consumed so far (for progress bars).
    fn position(&self) -> u64;
    /// Total input size when known (file size).
    fn size_hint(&self) -> Option<u64> {
        None
    }
    /// Like [`next_packet`](Self::next_packet), but a live source also
    /// returns [`SourceEvent::Idle`] when nothing arrived for a while (about
    /// 100 ms), so its consumer can expire idle flows on a quiet link. Files
    /// never idle: the default forwards to `next_packet`.
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        Ok(self.next_packet()?.map(SourceEvent::Packet))
    }
    /// A flag that, once set, makes a live source end (`Ok(None)`) within
    /// about 100 ms after delivering what it already holds. `None` for
    /// sources that end by themselves (files).
    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        None
    }
    /// The kernel's (or library's) counters of a live source: packets
    /// received and dropped before they reached this process.
    fn live_stats(&self) -> Option<LiveStats> {
        None
    }
}

impl<S: PacketSource + ?Sized> PacketSource for Box<S> {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        (**self).next_packet()
    }
    fn position(&self) -> u64 {
        (**self).position()
    }
    fn size_hint(&self) -> Option<u64> {
        (**self).size_hint()
    }
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        (**self).next_event()
    }
    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        (**self).stop_handle()
    }
    fn live_stats(&self) -> Option<LiveStats> {
        (**self).live_stats()
    }
}

/// What [`PacketSource::next_event`] yields.
#[derive(Clone, Copy, Debug)]
pub enum SourceEvent<'a> {
    /// A packet.
    Packet(Packet<'a>),
    /// Nothing arrived for a while; `now_ns` is the wall clock (nanoseconds
    /// since the Unix epoch, the clock of live packet timestamps).
    Idle { now_ns: u64 },
}

/// Counters of a live source since it was opened, as its backend reports
/// them (AF_PACKET: `PACKET_STATISTICS`; libpcap: `pcap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets that passed the filter and reached the capture buffer,
    /// including those dropped there.
    pub received: u64,
    /// Packets dropped because the capture buffer was full (this process too
    /// slow).
    pub dropped: u64,
    /// Backend-specific overrun count: AF_PACKET counts the times its ring was
    /// frozen for lack of a free block; libpcap the packets the interface
    /// driver dropped (`ps_ifdrop`).
    pub overruns: u64,
}

/// The wall clock in nanoseconds since the Unix epoch (0 if the clock is
/// before 1970).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A read or format error, with the byte offset of the record (or header)
/// that could not be read (files), or the interface and what went wrong (live).
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct CaptureError {
    /// File path or the name given to [`FileSource::from_reader`].
    pub source_name: String,
    /// Offset of the start of the offending record, block or option.
    pub offset: u64,
    pub kind: CaptureErrorKind,
    pub message: String,
}

impl CaptureError {
    fn describe(&self) -> String {
        match self.kind {
            // A byte offset means nothing to someone capturing live.
            CaptureErrorKind::Live => format!("{}: {}", self.source_name, self.message),
            _ => format!(
                "{}: {} at byte offset {}",
                self.source_name, self.message, self.offset
            ),
        }
    }
}

/// Broad class of a [`CaptureError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureErrorKind {
    /// The underlying reader failed.
    Io,
    /// Empty input or an unrecognised magic number.
    NotACapture,
    /// The input ends inside a header, record or block.
    Truncated,
    /// A structurally invalid header, record, block or option.
    Corrupt,
    /// A length field above [`MAX_PACKET_LEN`] / [`MAX_BLOCK_LEN`].
    TooLarge,
    /// Live capture: missing privileges, unknown interface, bad ring
    /// settings, or the interface went away (the message says which).
    Live,
}

/// `LINKTYPE_*` values (<https://www.tcpdump.org/linktypes.html>).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const NFLOG: u32 = 239;
    pub const LINUX_SLL2: u32 = 276;

    /// Maps a link type as stored in a file to its `LINKTYPE_*` value.
    ///
    /// Old writers stored the platform `DLT_RAW` value (12, or 14 on some
    /// BSDs) instead of `LINKTYPE_RAW`; libpcap and Wireshark read both as raw
    /// IP, and so do we.
    #[inline]
    pub(crate) fn from_stored(v: u32) -> u32 {
        match v {
            12 | 14 => RAW,
            v => v,
        }
    }
}
