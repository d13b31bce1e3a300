//! IPv4 / IPv6 header decoding (IPv6 including the extension header chain).

use std::net::IpAddr;

use etherparse::err::{ipv4, ipv6};
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice};

use crate::{be16, be32, need, DecodeError, Fragment, IpPacket};

/// Decode an IPv4 or IPv6 packet, choosing by the version nibble.
#[inline]
pub fn decode_ip(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => decode_ipv4(data),
        Some(6) => decode_ipv6(data),
        Some(_) => Err(DecodeError::Malformed {
            layer: "ip",
            what: "unknown IP version",
        }),
        None => Err(DecodeError::Truncated {
            layer: "ip",
            needed: 1,
            have: 0,
        }),
    }
}

#[inline]
pub(crate) fn decode_ipv4(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    let hdr = Ipv4HeaderSlice::from_slice(data).map_err(|e| match e {
        ipv4::HeaderSliceError::Len(l) => DecodeError::Truncated {
            layer: "ipv4",
            needed: l.required_len,
            have: l.len,
        },
        ipv4::HeaderSliceError::Content(ipv4::HeaderError::UnexpectedVersion { .. }) => {
            DecodeError::Malformed {
                layer: "ipv4",
                what: "version is not 4",
            }
        }
        ipv4::HeaderSliceError::Content(_) => DecodeError::Malformed {
            layer: "ipv4",
            what: "header length < 20",
        },
    })?;
    let hlen = hdr.slice().len();
    let total = usize::from(hdr.total_len());
    let end = if total == 0 {
        // Captured on the sending host before TSO split the segment: the
        // kernel leaves total length 0. Trust the capture, as Wireshark does.
        data.len()
    } else if total < hlen {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            what: "total length < header length",
        });
    } else {
        total
    };
    let frag_off = u32::from(hdr.fragments_offset().value()) * 8;
    let more = hdr.more_fragments();
    let fragment = (more || frag_off != 0).then(|| Fragment {
        id: u32::from(hdr.identification()),
        offset: frag_off,
        more,
    });
    Ok(IpPacket {
        src: IpAddr::V4(hdr.source_addr()),
        dst: IpAddr::V4(hdr.destination_addr()),
        version: 4,
        protocol: hdr.protocol().0,
        ttl: hdr.ttl(),
        // Cutting at the IP length keeps Ethernet padding/trailers out.
        payload: &data[hlen..end.min(data.len())],
        payload_len: (end - hlen) as u32,
        fragment,
    })
}

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DEST_OPTS: u8 = 60;
const MOBILITY: u8 = 135;
const HIP: u8 = 139;
const SHIM6: u8 = 140;

#[inline]
pub(crate) fn decode_ipv6(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    let hdr = Ipv6HeaderSlice::from_slice(data).map_err(|e| match e {
        ipv6::HeaderSliceError::Len(l) => DecodeError::Truncated {
            layer: "ipv6",
            needed: l.required_len,
            have: l.len,
        },
        ipv6::HeaderSliceError::Content(_) => DecodeError::Malformed {
            layer: "ipv6",
            what: "version is not 6",
        },
    })?;
    let plen = usize::from(hdr.payload_length());
    // Payload length 0 means a jumbogram or a TSO capture: trust the capture.
    let end = if plen == 0 { data.len() } else { 40 + plen };
    let body = &data[40..end.min(data.len())];
    let wire = end - 40;

    // Hand-written walk instead of etherparse's Ipv6ExtensionsSlice: we need
    // to stop at the fragment header (what follows is fragment data) and to
    // report truncation precisely on snaplen-cut frames.
    let mut next = hdr.next_header().0;
    let mut off = 0usize;
    let mut fragment = None;
    loop {
        let rest = body.get(off..).unwrap_or(&[]);
        let len = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS | MOBILITY | HIP | SHIM6 => {
                need("ipv6 extension header", rest, 2)?;
                (usize::from(rest[1]) + 1) * 8
            }
            AUTH => {
                need("ipv6 authentication header", rest, 2)?;
                (usize::from(rest[1]) + 2) * 4
            }
            FRAGMENT => {
                need("ipv6 fragment header", rest, 8)?;
                let off_field = be16(rest, 2);
                let more = off_field & 1 != 0;
                let frag_off = u32::from(off_field & 0xfff8);
                if more || frag_off != 0 {
                    fragment = Some(Fragment {
                        id: be32(rest, 4),
                        offset: frag_off,
                        more,
                    });
                    next = rest[0];
                    off += 8;
                    break;
                }
                // Atomic fragment (RFC 6946): not really fragmented, keep walking.
                8
            }
            // ESP, no-next-header and upper layers end the walk.
            _ => break,
        };
        need("ipv6 extension header", rest, len)?;
        next = rest[0];
        off += len;
    }
    if off > wire {
        return Err(DecodeError::Malformed {
            layer: "ipv6",
            what: "extension headers exceed payload length",
        });
    }
    Ok(IpPacket {
        src: IpAddr::V6(hdr.source_addr()),
        dst: IpAddr::V6(hdr.destination_addr()),
        version: 6,
        protocol: next,
        ttl: hdr.hop_limit(),
        payload: &body[off.min(body.len())..],
        payload_len: (wire - off) as u32,
        fragment,
    })
}
