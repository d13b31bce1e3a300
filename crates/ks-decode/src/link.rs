//! Link-layer decoding down to the network layer.

use crate::ip::{decode_ip, decode_ipv4, decode_ipv6};
use crate::{be16, linktype, need, DecodeError, LinkInfo, Network, Vlans};

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS_UC: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;

/// Decode a frame of the given pcap link type down to the IP layer.
///
/// `data` may be cut by snaplen: as long as the IP header is complete the
/// packet decodes, with [`crate::IpPacket::payload`] shorter than
/// [`crate::IpPacket::payload_len`].
pub fn decode_link(link_type: u32, data: &[u8]) -> Result<LinkInfo<'_>, DecodeError> {
    let mut info = LinkInfo {
        vlans: Vlans::default(),
        mpls_depth: 0,
        net: Network::Other { ethertype: 0 },
    };
    match link_type {
        linktype::ETHERNET => {
            need("ethernet", data, 14)?;
            info.net = ethertype_chain(be16(data, 12), &data[14..], &mut info)?;
        }
        linktype::RAW | linktype::RAW_BSD12 | linktype::RAW_BSD14 => {
            info.net = Network::Ip(decode_ip(data)?);
        }
        linktype::IPV4 => info.net = Network::Ip(decode_ipv4(data)?),
        linktype::IPV6 => info.net = Network::Ip(decode_ipv6(data)?),
        linktype::NULL | linktype::LOOP => {
            need("loopback", data, 4)?;
            let mut family = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            // NULL is in the capturing host's byte order and LOOP is big endian,
            // but writers get this wrong; families are small so whichever order
            // yields a small number is the right one.
            if family > 0xffff {
                family = family.swap_bytes();
            }
            let rest = &data[4..];
            info.net = match family {
                2 => Network::Ip(decode_ipv4(rest)?),
                // AF_INET6: BSD/Darwin 24/28/30, Linux 10, Windows 23.
                10 | 23 | 24 | 28 | 30 => Network::Ip(decode_ipv6(rest)?),
                _ => Network::Other { ethertype: 0 },
            };
        }
        linktype::LINUX_SLL => {
            need("linux_sll", data, 16)?;
            info.net = ethertype_chain(be16(data, 14), &data[16..], &mut info)?;
        }
        linktype::LINUX_SLL2 => {
            need("linux_sll2", data, 20)?;
            info.net = ethertype_chain(be16(data, 0), &data[20..], &mut info)?;
        }
        linktype::NFLOG => info.net = nflog(data)?,
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    }
    Ok(info)
}

/// Follow VLAN tags, MPLS and PPPoE until a network protocol is reached.
#[inline]
fn ethertype_chain<'a>(
    mut ethertype: u16,
    mut rest: &'a [u8],
    info: &mut LinkInfo<'a>,
) -> Result<Network<'a>, DecodeError> {
    loop {
        match ethertype {
            ETH_IPV4 => return Ok(Network::Ip(decode_ipv4(rest)?)),
            ETH_IPV6 => return Ok(Network::Ip(decode_ipv6(rest)?)),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                need("vlan", rest, 4)?;
                info.vlans.push(be16(rest, 0) & 0x0fff);
                ethertype = be16(rest, 2);
                rest = &rest[4..];
            }
            ETH_MPLS_UC | ETH_MPLS_MC => {
                // Each label stack entry is 4 bytes; bit 8 of the third byte
                // marks the bottom of the stack. The loop ends because every
                // iteration consumes 4 bytes.
                loop {
                    need("mpls", rest, 4)?;
                    info.mpls_depth = info.mpls_depth.saturating_add(1);
                    let bottom = rest[2] & 0x01 != 0;
                    rest = &rest[4..];
                    if bottom {
                        break;
                    }
                }
                // MPLS does not say what it carries; the IP version nibble is
                // the conventional guess. Anything else (pseudowires, control
                // words) is left undecoded.
                return match rest.first().map(|b| b >> 4) {
                    Some(4) => Ok(Network::Ip(decode_ipv4(rest)?)),
                    Some(6) => Ok(Network::Ip(decode_ipv6(rest)?)),
                    _ => Ok(Network::Other { ethertype }),
                };
            }
            ETH_PPPOE_SESSION => {
                need("pppoe", rest, 8)?;
                let ppp_proto = be16(rest, 6);
                let body = &rest[8..];
                // The PPPoE length covers the PPP protocol field plus payload;
                // use it to cut Ethernet padding like the IP length would.
                let plen = usize::from(be16(rest, 4)).saturating_sub(2);
                let body = &body[..plen.min(body.len())];
                return match ppp_proto {
                    0x0021 => Ok(Network::Ip(decode_ipv4(body)?)),
                    0x0057 => Ok(Network::Ip(decode_ipv6(body)?)),
                    _ => Ok(Network::Other { ethertype }),
                };
            }
            ETH_ARP => return Ok(Network::Arp),
            _ => return Ok(Network::Other { ethertype }),
        }
    }
}

/// NFLOG: 4-byte header (family, version, resource id) then netlink TLVs.
fn nflog(data: &[u8]) -> Result<Network<'_>, DecodeError> {
    const NFULA_PAYLOAD: u16 = 9;
    need("nflog", data, 4)?;
    let family = data[0];
    let mut off = 4usize;
    while off + 4 <= data.len() {
        // Lengths and types are in the capturing host's byte order, which is
        // little endian on every platform that produces these captures.
        let tlv_len = usize::from(u16::from_le_bytes([data[off], data[off + 1]]));
        let tlv_type = u16::from_le_bytes([data[off + 2], data[off + 3]]) & 0x7fff;
        if tlv_len < 4 {
            return Err(DecodeError::Malformed {
                layer: "nflog",
                what: "TLV length < 4",
            });
        }
        if tlv_type == NFULA_PAYLOAD {
            let end = (off + tlv_len).min(data.len());
            let payload = &data[off + 4..end];
            return Ok(Network::Ip(match family {
                2 => decode_ipv4(payload)?,
                10 => decode_ipv6(payload)?,
                _ => decode_ip(payload)?,
            }));
        }
        // TLVs are padded to 4 bytes.
        off = off.saturating_add((tlv_len + 3) & !3);
    }
    Ok(Network::Other { ethertype: 0 })
}
