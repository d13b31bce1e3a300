//! Socket tuple from /proc, when the BPF program cannot read it in the
//! kernel (no kernel BTF): `/proc/PID/fd/FD` -> `socket:[INODE]` ->
//! `/proc/PID/net/tcp{,6}`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::Tuple;

/// The TCP tuple of `fd` in process `pid`, local being the process's end.
pub(crate) fn tuple_of(pid: u32, fd: i32) -> Option<Tuple> {
    let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let inode: u64 = link
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        if let Some(t) = find_inode(&text, inode) {
            return Some(t);
        }
    }
    None
}

/// The line of a `/proc/net/tcp{,6}` table whose inode is `inode`.
pub(crate) fn find_inode(table: &str, inode: u64) -> Option<Tuple> {
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[9].parse::<u64>().ok() != Some(inode) {
            continue;
        }
        return Some(Tuple {
            local: parse_addr(f[1])?,
            remote: parse_addr(f[2])?,
        });
    }
    None
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), as the kernel prints
/// them: each 32-bit word of the network-order address as a host-order
/// number.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1\n";
        let t = find_inode(v4, 123456).unwrap();
        assert_eq!(t.local.to_string(), "127.0.0.1:8080");
        assert_eq!(t.remote.to_string(), "127.0.0.1:54321");
        assert!(find_inode(v4, 1).is_none());
        let v6 = "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000001000000:01BB 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 77 1\n";
        let t = find_inode(v6, 77).unwrap();
        assert_eq!(t.local.to_string(), "[::1]:443");
        assert_eq!(t.remote.to_string(), "[::1]:50000");
        assert!(find_inode("garbage\nmore garbage", 0).is_none());
    }
}
