//! Transport header decoding (TCP, UDP, SCTP, ICMP, ICMPv6).
//!
//! Hand-written rather than etherparse's `TcpHeaderSlice`/`UdpHeaderSlice`:
//! those reject headers cut by snaplen, and we must still report ports and
//! flags for them.

use crate::{be16, be32, need, DecodeError};

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const SCTP: u8 = 132;

/// A decoded transport header.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// TCP segment.
    Tcp(TcpSegment<'a>),
    /// UDP datagram.
    Udp(UdpDatagram<'a>),
    /// SCTP packet.
    Sctp(SctpPacket<'a>),
    /// ICMP (v4) message.
    Icmp(IcmpMessage<'a>),
    /// ICMPv6 message.
    Icmpv6(IcmpMessage<'a>),
    /// Any other protocol, undecoded.
    Other {
        /// IP protocol number.
        protocol: u8,
        /// Captured transport bytes.
        payload: &'a [u8],
    },
}

/// A TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Control flags.
    pub flags: TcpFlags,
    /// Window (0 when cut before it).
    pub window: u16,
    /// The frame was cut inside the TCP header (options or earlier); ports,
    /// seq, ack and flags are still valid.
    pub header_truncated: bool,
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload length on the wire (`wire_len - data_offset*4`, 0 if
    /// inconsistent); always `>= payload.len()`.
    pub payload_len: u32,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub wscale: Option<u8>,
    /// SACK-permitted option present.
    pub sack_permitted: bool,
}

/// TCP control flags (low 6 bits of byte 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN bit.
    pub const FIN: u8 = 1;
    /// SYN bit.
    pub const SYN: u8 = 2;
    /// RST bit.
    pub const RST: u8 = 4;
    /// PSH bit.
    pub const PSH: u8 = 8;
    /// ACK bit.
    pub const ACK: u8 = 16;
    /// URG bit.
    pub const URG: u8 = 32;

    /// FIN set.
    #[inline]
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    /// SYN set.
    #[inline]
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    /// RST set.
    #[inline]
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    /// PSH set.
    #[inline]
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
    /// ACK set.
    #[inline]
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    /// URG set.
    #[inline]
    pub fn urg(self) -> bool {
        self.0 & Self::URG != 0
    }
}

/// A UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload length from the UDP length field when sane, else `wire_len - 8`.
    pub payload_len: u32,
}

/// An SCTP packet (common header only).
#[derive(Clone, Copy, Debug)]
pub struct SctpPacket<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
    /// Captured chunk bytes.
    pub chunks: &'a [u8],
}

impl<'a> SctpPacket<'a> {
    /// The chunks, in order.
    pub fn chunks(&self) -> crate::SctpChunks<'a> {
        crate::SctpChunks::new(self.chunks)
    }
}

/// An ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct IcmpMessage<'a> {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes after type/code/checksum.
    pub rest: &'a [u8],
}

/// Decode a transport header. `wire_len` is [`crate::IpPacket::payload_len`];
/// `payload` may be shorter when the frame was cut by snaplen.
#[inline]
pub fn decode_transport(
    protocol: u8,
    payload: &[u8],
    wire_len: u32,
) -> Result<Transport<'_>, DecodeError> {
    match protocol {
        TCP => tcp(payload, wire_len).map(Transport::Tcp),
        UDP => udp(payload, wire_len).map(Transport::Udp),
        SCTP => {
            need("sctp", payload, 12)?;
            Ok(Transport::Sctp(SctpPacket {
                src_port: be16(payload, 0),
                dst_port: be16(payload, 2),
                verification_tag: be32(payload, 4),
                chunks: &payload[12..],
            }))
        }
        ICMP | ICMPV6 => {
            need(if protocol == ICMP { "icmp" } else { "icmpv6" }, payload, 4)?;
            let msg = IcmpMessage {
                icmp_type: payload[0],
                code: payload[1],
                rest: &payload[4..],
            };
            Ok(if protocol == ICMP {
                Transport::Icmp(msg)
            } else {
                Transport::Icmpv6(msg)
            })
        }
        _ => Ok(Transport::Other { protocol, payload }),
    }
}

#[inline]
fn tcp(d: &[u8], wire_len: u32) -> Result<TcpSegment<'_>, DecodeError> {
    // 14 bytes reach the flags byte: enough to track the connection.
    need("tcp", d, 14)?;
    let doff = d[12] >> 4;
    if doff < 5 {
        return Err(DecodeError::Malformed {
            layer: "tcp",
            what: "data offset < 5",
        });
    }
    let hlen = usize::from(doff) * 4;
    let header_truncated = d.len() < hlen;
    let payload_len = wire_len.saturating_sub(hlen as u32);
    let mut seg = TcpSegment {
        src_port: be16(d, 0),
        dst_port: be16(d, 2),
        seq: be32(d, 4),
        ack: be32(d, 8),
        flags: TcpFlags(d[13] & 0x3f),
        window: be16(d, 14),
        header_truncated,
        payload: &[],
        payload_len,
        mss: None,
        wscale: None,
        sack_permitted: false,
    };
    if !header_truncated {
        let end = hlen.saturating_add(payload_len as usize).min(d.len());
        seg.payload = &d[hlen..end];
    }
    if hlen > 20 && d.len() > 20 {
        parse_options(&d[20..hlen.min(d.len())], &mut seg);
    }
    Ok(seg)
}

#[inline]
fn parse_options(mut o: &[u8], seg: &mut TcpSegment<'_>) {
    while let Some(&kind) = o.first() {
        match kind {
            0 => return,
            1 => {
                o = &o[1..];
                continue;
            }
            _ => {}
        }
        let Some(&len) = o.get(1) else { return };
        let len = usize::from(len);
        if len < 2 || len > o.len() {
            return;
        }
        match (kind, len) {
            (2, 4) => seg.mss = Some(be16(o, 2)),
            (3, 3) => seg.wscale = Some(o[2]),
            (4, 2) => seg.sack_permitted = true,
            _ => {}
        }
        o = &o[len..];
    }
}

#[inline]
fn udp(d: &[u8], wire_len: u32) -> Result<UdpDatagram<'_>, DecodeError> {
    need("udp", d, 8)?;
    let len = u32::from(be16(d, 4));
    // Length 0 is legal for jumbograms and common with offload; anything
    // outside [8, wire_len] cannot be trusted.
    let payload_len = if len >= 8 && len <= wire_len {
        len - 8
    } else {
        wire_len.saturating_sub(8)
    };
    let end = 8usize.saturating_add(payload_len as usize).min(d.len());
    Ok(UdpDatagram {
        src_port: be16(d, 0),
        dst_port: be16(d, 2),
        payload: &d[8..end],
        payload_len,
    })
}
