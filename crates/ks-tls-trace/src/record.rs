//! The record header written by `bpf/tls.bpf.c` (`struct rec_hdr`), parsed
//! without trusting its contents.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::{Direction, Library, Tuple};

/// `sizeof(struct rec_hdr)`.
pub(crate) const HDR_LEN: usize = 112;

pub(crate) const F_TRUNCATED: u8 = 1 << 0;
pub(crate) const F_COPY_FAILED: u8 = 1 << 1;

pub(crate) const LIB_OPENSSL: u8 = 0;
pub(crate) const LIB_GNUTLS: u8 = 1;
pub(crate) const LIB_BORINGSSL: u8 = 2;
pub(crate) const LIB_GO: u8 = 3;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub ts_ns: u64,
    pub cgroup_id: u64,
    pub conn: u64,
    pub call_len: u64,
    pub offset: u64,
    pub pid: u32,
    pub tid: u32,
    pub fd: i32,
    pub len: u32,
    pub direction: Direction,
    pub flags: u8,
    pub library: Library,
    pub tuple: Option<Tuple>,
    pub comm: [u8; 16],
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_ne_bytes)
        .unwrap_or(0)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_ne_bytes)
        .unwrap_or(0)
}

fn addr16(b: &[u8], at: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    a
}

pub(crate) fn library_of(kind: u8) -> Library {
    match kind {
        LIB_GNUTLS => Library::GnuTls,
        LIB_BORINGSSL => Library::BoringSsl,
        LIB_GO => Library::Go,
        _ => Library::OpenSsl,
    }
}

pub(crate) fn library_code(lib: Library) -> u8 {
    match lib {
        Library::OpenSsl => LIB_OPENSSL,
        Library::GnuTls => LIB_GNUTLS,
        Library::BoringSsl => LIB_BORINGSSL,
        Library::Go => LIB_GO,
    }
}

/// Parses the header at the start of `rec`; `None` when it is too short.
pub(crate) fn parse(rec: &[u8]) -> Option<Header> {
    if rec.len() < HDR_LEN {
        return None;
    }
    let family = rec[59];
    let lport = u16_at(rec, 60);
    let rport = u16_at(rec, 62);
    let la = addr16(rec, 64);
    let ra = addr16(rec, 80);
    let tuple = match family {
        AF_INET => {
            let l = Ipv4Addr::new(la[0], la[1], la[2], la[3]);
            let r = Ipv4Addr::new(ra[0], ra[1], ra[2], ra[3]);
            Some(Tuple {
                local: SocketAddr::new(IpAddr::V4(l), lport),
                remote: SocketAddr::new(IpAddr::V4(r), rport),
            })
        }
        AF_INET6 => Some(Tuple {
            local: SocketAddr::new(IpAddr::V6(Ipv6Addr::from(la)), lport),
            remote: SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ra)), rport),
        }),
        _ => None,
    };
    let mut comm = [0u8; 16];
    comm.copy_from_slice(&rec[96..112]);
    Some(Header {
        ts_ns: u64_at(rec, 0),
        cgroup_id: u64_at(rec, 8),
        conn: u64_at(rec, 16),
        call_len: u64_at(rec, 24),
        offset: u64_at(rec, 32),
        pid: u32_at(rec, 40),
        tid: u32_at(rec, 44),
        fd: u32_at(rec, 48) as i32,
        len: u32_at(rec, 52),
        direction: if rec[56] == 1 {
            Direction::Write
        } else {
            Direction::Read
        },
        flags: rec[57],
        library: library_of(rec[58]),
        tuple,
        comm,
    })
}

/// The comm bytes up to the first NUL, as text (invalid UTF-8 replaced).
pub(crate) fn comm_str(comm: &[u8; 16], out: &mut String) {
    out.clear();
    let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    out.push_str(&String::from_utf8_lossy(&comm[..end]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_header() {
        let mut r = vec![0u8; HDR_LEN + 3];
        r[0..8].copy_from_slice(&5u64.to_ne_bytes());
        r[16..24].copy_from_slice(&0xabcdu64.to_ne_bytes());
        r[40..44].copy_from_slice(&42u32.to_ne_bytes());
        r[48..52].copy_from_slice(&(-1i32).to_ne_bytes());
        r[52..56].copy_from_slice(&3u32.to_ne_bytes());
        r[56] = 1;
        r[57] = F_TRUNCATED;
        r[58] = LIB_GNUTLS;
        r[59] = AF_INET;
        r[60..62].copy_from_slice(&443u16.to_ne_bytes());
        r[62..64].copy_from_slice(&5555u16.to_ne_bytes());
        r[64..68].copy_from_slice(&[127, 0, 0, 1]);
        r[80..84].copy_from_slice(&[10, 0, 0, 2]);
        r[96..100].copy_from_slice(b"curl");
        let h = parse(&r).unwrap();
        assert_eq!(h.ts_ns, 5);
        assert_eq!(h.conn, 0xabcd);
        assert_eq!(h.pid, 42);
        assert_eq!(h.fd, -1);
        assert_eq!(h.direction, Direction::Write);
        assert_eq!(h.library, Library::GnuTls);
        let t = h.tuple.unwrap();
        assert_eq!(t.local.to_string(), "127.0.0.1:443");
        assert_eq!(t.remote.to_string(), "10.0.0.2:5555");
        let mut s = String::new();
        comm_str(&h.comm, &mut s);
        assert_eq!(s, "curl");
        assert!(parse(&r[..HDR_LEN - 1]).is_none());
    }
}
