//! Packet header decoding for ks: link layer → IP → transport, plus IP defragmentation.
//!
//! ```
//! use ks_decode::{decode_link, decode_transport, linktype, Network, Transport};
//!
//! // Raw IPv4 + UDP 1234 -> 53 with a 2-byte payload.
//! let frame = [
//!     0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
//!     0x04, 0xd2, 0, 53, 0, 10, 0, 0, // UDP
//!     b'h', b'i',
//! ];
//! let link = decode_link(linktype::RAW, &frame).unwrap();
//! let Network::Ip(ip) = link.net else { panic!("not IP") };
//! match decode_transport(ip.protocol, ip.payload, ip.payload_len).unwrap() {
//!     Transport::Udp(udp) => {
//!         assert_eq!((udp.src_port, udp.dst_port), (1234, 53));
//!         assert_eq!(udp.payload, b"hi");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! Everything on the per-packet path borrows from the input and never allocates;
//! only [`Defragmenter`] owns memory, and it is bounded by [`DefragConfig`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod defrag;
mod ip;
mod link;
mod sctp;
mod transport;

pub use defrag::{DefragConfig, DefragCounters, Defragmenter, Reassembled};
pub use ip::decode_ip;
pub use link::decode_link;
pub use sctp::{chunk, chunk_name, DataChunk, SctpChunk, SctpChunks};
pub use transport::{
    decode_transport, IcmpMessage, SctpPacket, TcpFlags, TcpSegment, Transport, UdpDatagram,
};

/// pcap/pcapng link-layer header type numbers understood by [`decode_link`].
pub mod linktype {
    /// BSD loopback; 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II (with 802.1Q/802.1ad tags, MPLS, PPPoE session).
    pub const ETHERNET: u32 = 1;
    /// Raw IP, version taken from the first nibble.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback; 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
    /// Linux netfilter NFLOG.
    pub const NFLOG: u32 = 239;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Raw IP as some BSDs number it (DLT_RAW = 12).
    pub const RAW_BSD12: u32 = 12;
    /// Raw IP as OpenBSD numbers it (DLT_RAW = 14).
    pub const RAW_BSD14: u32 = 14;
}

/// 802.1Q / 802.1ad tags seen on a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Vlans {
    /// VLAN ids (12 bits), outermost first; only the first 4 tags are kept.
    pub ids: [u16; 4],
    /// Number of tags seen, including those beyond the 4 kept in `ids`.
    pub depth: u8,
}

impl Vlans {
    /// The kept ids, outermost first.
    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..usize::from(self.depth).min(4)]
    }

    /// Innermost kept id, if any tag was seen.
    pub fn innermost(&self) -> Option<u16> {
        self.as_slice().last().copied()
    }

    #[inline]
    pub(crate) fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.depth)) {
            *slot = id;
        }
        self.depth = self.depth.saturating_add(1);
    }
}

/// Result of [`decode_link`].
#[derive(Clone, Copy, Debug)]
pub struct LinkInfo<'a> {
    /// VLAN tags between the link header and the network layer.
    pub vlans: Vlans,
    /// Number of MPLS labels popped.
    pub mpls_depth: u8,
    /// What the link layer carries.
    pub net: Network<'a>,
}

/// Network layer of a frame.
#[derive(Clone, Copy, Debug)]
pub enum Network<'a> {
    /// IPv4 or IPv6.
    Ip(IpPacket<'a>),
    /// ARP (not decoded further).
    Arp,
    /// Anything else; `ethertype` is 0 when the link layer has no ethertype.
    Other {
        /// Ethertype (or link protocol mapped to it) that was not decoded.
        ethertype: u16,
    },
}

/// A decoded IPv4 or IPv6 header.
#[derive(Clone, Copy, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: std::net::IpAddr,
    /// Destination address.
    pub dst: std::net::IpAddr,
    /// 4 or 6.
    pub version: u8,
    /// Transport protocol (IPv6: after walking extension headers).
    pub protocol: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Captured transport bytes (after IP + extension headers), cut to the IP
    /// length so link padding never leaks in; shorter than `payload_len` when
    /// the frame was cut by snaplen.
    pub payload: &'a [u8],
    /// Transport length according to the IP header(s).
    pub payload_len: u32,
    /// Some when this is a fragment (MF set or offset != 0).
    pub fragment: Option<Fragment>,
}

impl IpPacket<'_> {
    /// True when the frame was cut by snaplen inside the IP payload.
    pub fn is_truncated(&self) -> bool {
        (self.payload.len() as u64) < u64::from(self.payload_len)
    }
}

/// Fragmentation info of an IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub id: u32,
    /// Offset of this fragment's data in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The link type is not supported.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// The captured bytes end before a header does.
    #[error("{layer} truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Layer being decoded.
        layer: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// A header field is inconsistent.
    #[error("{layer}: {what}")]
    Malformed {
        /// Layer being decoded.
        layer: &'static str,
        /// What is wrong.
        what: &'static str,
    },
}

#[inline]
pub(crate) fn need(layer: &'static str, data: &[u8], needed: usize) -> Result<(), DecodeError> {
    if data.len() < needed {
        Err(DecodeError::Truncated {
            layer,
            needed,
            have: data.len(),
        })
    } else {
        Ok(())
    }
}

#[inline]
pub(crate) fn be16(d: &[u8], at: usize) -> u16 {
    match d.get(at..at + 2) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    }
}

#[inline]
pub(crate) fn be32(d: &[u8], at: usize) -> u32 {
    match d.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlans_keep_first_four_and_count_all() {
        let mut v = Vlans::default();
        assert_eq!(v.innermost(), None);
        for id in 1..=6 {
            v.push(id);
        }
        assert_eq!((v.ids, v.depth), ([1, 2, 3, 4], 6));
        assert_eq!(v.as_slice(), &[1, 2, 3, 4]);
        assert_eq!(v.innermost(), Some(4));
    }

    #[test]
    fn be_readers_out_of_range_are_zero() {
        assert_eq!(be16(&[1], 0), 0);
        assert_eq!(be32(&[1, 2, 3, 4], 1), 0);
        assert_eq!(be32(&[1, 2, 3, 4], 0), 0x01020304);
    }
}
