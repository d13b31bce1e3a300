//! Flow table, TCP stream and SCTP association reassembly with bounded memory that reports gaps.
//!
//! ```
//! use ks_reassembly::{flags, Budget, Side, Segment, StreamEvent, TcpConfig, TcpConnection, TcpCounters};
//!
//! let (cfg, mut budget, mut counters) = (TcpConfig::default(), Budget::default(), TcpCounters::default());
//! let mut conn = TcpConnection::new();
//! let mut out = Vec::new();
//! let mut emit = |ev: StreamEvent<'_>| {
//!     if let StreamEvent::Data { offset, data, .. } = ev {
//!         out.push((offset, data.to_vec()));
//!     }
//! };
//! let seg = |seq, fl, payload: &'static [u8]| Segment {
//!     seq, ack: 0, flags: fl, payload, payload_len: payload.len() as u32,
//! };
//! conn.segment(Side::A, &seg(99, flags::SYN, b""), &cfg, &mut budget, &mut counters, &mut emit);
//! // "world" arrives before "hello ": it is buffered until the hole is filled.
//! conn.segment(Side::A, &seg(106, flags::ACK, b"world"), &cfg, &mut budget, &mut counters, &mut emit);
//! conn.segment(Side::A, &seg(100, flags::ACK, b"hello "), &cfg, &mut budget, &mut counters, &mut emit);
//! conn.flush(&mut budget, &mut counters, &mut emit);
//! assert_eq!(out, vec![(0, b"hello ".to_vec()), (6, b"world".to_vec())]);
//! assert_eq!(conn.client_side(), Some(Side::A));
//! assert_eq!(budget.used, 0);
//! ```
//!
//! The reassembly policies (first wins on overlaps, when holes become gaps, caps)
//! are described with their reasons in `docs/reassembly.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod flow;
mod sctp;
mod tcp;

pub use flow::{Flow, FlowId, FlowKey, FlowTable};
pub use sctp::{DataIn, SctpAssociation, SctpConfig, SctpCounters, SctpEvent};
pub use tcp::TcpConnection;

/// Which endpoint of a flow: A is the sender of the first packet the table saw
/// for the flow (like tshark's conversation "a").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Sender of the first packet seen.
    A,
    /// The other endpoint.
    B,
}

impl Side {
    /// The opposite side.
    #[inline]
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B (for indexing per-side arrays).
    #[inline]
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// TCP flag bits as they appear in the low byte of the TCP flags field.
pub mod flags {
    /// No more data from sender.
    pub const FIN: u8 = 1;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 2;
    /// Reset the connection.
    pub const RST: u8 = 4;
    /// Push function.
    pub const PSH: u8 = 8;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 16;
    /// Urgent pointer field is significant.
    pub const URG: u8 = 32;
}

/// One TCP segment as seen on the wire.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags` has ACK).
    pub ack: u32,
    /// TCP flags (see [`flags`]).
    pub flags: u8,
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload length on the wire (>= `payload.len()`; larger when the frame
    /// was cut by snaplen: the missing tail is a gap). A smaller value is
    /// treated as `payload.len()` so that captured bytes are never dropped.
    pub payload_len: u32,
}

/// Output of the reassembler, in stream order per side.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// In-order bytes of one side's stream; `offset` = absolute offset in that
    /// side's byte stream (0 = first payload byte after the ISN, or the first
    /// byte seen when the SYN was missed).
    Data {
        /// Sending side.
        side: Side,
        /// Absolute stream offset of `data[0]`.
        offset: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// `len` bytes at `offset` will never be delivered (lost, not captured,
    /// cut by snaplen, or dropped over a cap).
    Gap {
        /// Sending side.
        side: Side,
        /// Absolute stream offset of the first missing byte.
        offset: u64,
        /// Number of missing bytes.
        len: u64,
    },
    /// The side sent FIN (delivered in sequence order, after all its data).
    Fin {
        /// Sending side.
        side: Side,
    },
    /// The side sent RST.
    Rst {
        /// Sending side.
        side: Side,
    },
}

/// Per-direction limits for out-of-order buffering.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Out-of-order bytes buffered per direction (default 1 MiB).
    pub max_ooo_bytes: usize,
    /// Out-of-order segments buffered per direction (default 2048).
    pub max_ooo_segments: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_ooo_bytes: 1 << 20,
            max_ooo_segments: 2048,
        }
    }
}

/// Global memory budget shared by all connections (out-of-order bytes buffered).
#[derive(Clone, Debug)]
pub struct Budget {
    /// Bytes currently buffered by all connections using this budget.
    pub used: usize,
    /// Upper bound for `used` (default 256 MiB).
    pub cap: usize,
}

impl Budget {
    /// A budget with nothing used and the given cap.
    pub fn new(cap: usize) -> Self {
        Budget { used: 0, cap }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(256 << 20)
    }
}

/// Reassembly statistics; all counters only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpCounters {
    /// Segments processed.
    pub segments: u64,
    /// Bytes delivered as `Data`.
    pub bytes_in_order: u64,
    /// Segments buffered because they were ahead of the next expected byte.
    pub out_of_order: u64,
    /// Bytes copied into out-of-order buffers.
    pub ooo_bytes_buffered: u64,
    /// Segments entirely made of already delivered or buffered bytes.
    pub retransmissions: u64,
    /// Segments partly made of already delivered or buffered bytes.
    pub overlaps: u64,
    /// Overlapping segments whose bytes differ from the buffered ones.
    pub overlap_conflicts: u64,
    /// `Gap` events emitted.
    pub gaps: u64,
    /// Bytes reported in `Gap` events.
    pub gap_bytes: u64,
    /// Segments whose captured payload is shorter than on the wire.
    pub snaplen_cut: u64,
    /// Segments that hit a per-direction out-of-order cap.
    pub ooo_cap_hits: u64,
    /// Segments that hit the global budget.
    pub budget_cap_hits: u64,
    /// Segments (or parts) before the start of a stream, dropped.
    pub old_data: u64,
    /// SYN segments carrying data (TCP Fast Open).
    pub syn_data: u64,
    /// Directions picked up without their SYN.
    pub midstream: u64,
    /// `Fin` events emitted.
    pub fins: u64,
    /// `Rst` events emitted.
    pub rsts: u64,
    /// Keepalive probes seen.
    pub keepalives: u64,
    /// ACKs beyond bytes the capture never saw (each declared a gap).
    pub acked_unseen: u64,
}

impl TcpCounters {
    /// Adds every counter of `other` to `self`.
    pub fn add(&mut self, other: &TcpCounters) {
        let TcpCounters {
            segments,
            bytes_in_order,
            out_of_order,
            ooo_bytes_buffered,
            retransmissions,
            overlaps,
            overlap_conflicts,
            gaps,
            gap_bytes,
            snaplen_cut,
            ooo_cap_hits,
            budget_cap_hits,
            old_data,
            syn_data,
            midstream,
            fins,
            rsts,
            keepalives,
            acked_unseen,
        } = *other;
        self.segments = self.segments.wrapping_add(segments);
        self.bytes_in_order = self.bytes_in_order.wrapping_add(bytes_in_order);
        self.out_of_order = self.out_of_order.wrapping_add(out_of_order);
        self.ooo_bytes_buffered = self.ooo_bytes_buffered.wrapping_add(ooo_bytes_buffered);
        self.retransmissions = self.retransmissions.wrapping_add(retransmissions);
        self.overlaps = self.overlaps.wrapping_add(overlaps);
        self.overlap_conflicts = self.overlap_conflicts.wrapping_add(overlap_conflicts);
        self.gaps = self.gaps.wrapping_add(gaps);
        self.gap_bytes = self.gap_bytes.wrapping_add(gap_bytes);
        self.snaplen_cut = self.snaplen_cut.wrapping_add(snaplen_cut);
        self.ooo_cap_hits = self.ooo_cap_hits.wrapping_add(ooo_cap_hits);
        self.budget_cap_hits = self.budget_cap_hits.wrapping_add(budget_cap_hits);
        self.old_data = self.old_data.wrapping_add(old_data);
        self.syn_data = self.syn_data.wrapping_add(syn_data);
        self.midstream = self.midstream.wrapping_add(midstream);
        self.fins = self.fins.wrapping_add(fins);
        self.rsts = self.rsts.wrapping_add(rsts);
        self.keepalives = self.keepalives.wrapping_add(keepalives);
        self.acked_unseen = self.acked_unseen.wrapping_add(acked_unseen);
    }
}
