//! Live capture from a Linux network interface: an `AF_PACKET` socket with a
//! `TPACKET_V3` memory-mapped receive ring.
//!
//! ```no_run
//! use ks_capture::afpacket::{AfPacketConfig, AfPacketSource};
//! use ks_capture::PacketSource;
//!
//! let mut src = AfPacketSource::open(AfPacketConfig::new("eth0"))?;
//! let stop = src.stop_handle(); // set it from another thread (or a signal handler) to end
//! while let Some(pkt) = src.next_packet()? {
//!     println!("frame {}: {} of {} bytes", pkt.frame, pkt.data.len(), pkt.orig_len);
//! }
//! println!("{:?}", src.stats());
//! # drop(stop);
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! The kernel writes packets into a ring of `block_count` blocks of
//! `block_size` bytes shared with this process. A block belongs to user space
//! once the kernel marks it `TP_STATUS_USER` (full, or retired after
//! `block_timeout_ms`). [`Packet::data`] points straight into that block: no
//! copy. The block is handed back to the kernel (`TP_STATUS_KERNEL`) only when
//! `next_packet` has delivered its last packet and needs the next block; the
//! `&mut self` borrow of `next_packet` guarantees no packet of the old block
//! is still alive at that moment. See `docs/capture.md`.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::sys::{interface_index, is_perm, live_err, page_size, setsockopt, socket_error};
use crate::{
    linktype, now_ns, CaptureError, CaptureErrorKind, LiveStats, Packet, PacketSource, SourceEvent,
};

// Kernel ABI (include/uapi/linux/if_packet.h, if_ether.h, if_arp.h). Stable
// since Linux 3.2; spelled out here so the layout does not depend on the libc
// crate version.
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_RESERVE: libc::c_int = 12;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const TPACKET_ALIGNMENT: u32 = 16;
const ETH_P_ALL: u16 = 0x0003;
const ETH_P_8021Q: u16 = 0x8100;
const PACKET_OUTGOING: u8 = 4;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xFFFE;
const BPF_MAXINSNS: usize = 4096;
const VLAN_TAG_LEN: usize = 4;

/// `struct tpacket_block_desc` / `tpacket_hdr_v1`: offsets of the fields read.
const BD_BLOCK_STATUS: usize = 8;
const BD_NUM_PKTS: usize = 12;
const BD_OFFSET_TO_FIRST_PKT: usize = 16;
const BD_SIZE: usize = 48;
/// `struct tpacket3_hdr` field offsets and size (48, already 16-aligned).
const H_NEXT_OFFSET: usize = 0;
const H_SEC: usize = 4;
const H_NSEC: usize = 8;
const H_SNAPLEN: usize = 12;
const H_LEN: usize = 16;
const H_STATUS: usize = 20;
const H_MAC: usize = 24;
const H_VLAN_TCI: usize = 32;
const H_VLAN_TPID: usize = 36;
const H_SIZE: usize = 48;
/// The `struct sockaddr_ll` after the header: `sll_pkttype` offset, and size.
const SLL_PKTTYPE: usize = 10;
const SLL_SIZE: usize = 20;
/// Bytes the kernel may never hand out as packet data in a frame: header +
/// sockaddr_ll. With `PACKET_RESERVE` = 4 the MAC header starts at least
/// 4 bytes later, which is where a stripped VLAN tag is put back.
const FRAME_HDR: usize = H_SIZE + SLL_SIZE;

/// How long one `poll(2)` waits before the stop flag is checked again.
const POLL_MS: libc::c_int = 100;

/// Settings for [`AfPacketSource::open`]. `AfPacketConfig::new("eth0")` gives
/// the defaults below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// Interface name (`eth0`, `lo`, a veth...).
    pub interface: String,
    /// Bytes kept per packet (default 262144, as tcpdump). Longer packets are
    /// cut; `orig_len` keeps the wire length.
    pub snaplen: u32,
    /// Ring block size: a power of two, at least the page size (default 1 MiB).
    pub block_size: u32,
    /// Nominal frame size (default 2048): a multiple of 16, at least 80, at
    /// most `block_size`. `TPACKET_V3` packs packets of any length into a block;
    /// the kernel only uses this to size its frame count.
    pub frame_size: u32,
    /// Number of blocks (default 64: a 64 MiB ring with the default block size;
    /// the ring is kernel memory, locked while the socket is open).
    pub block_count: u32,
    /// `TPACKET_V3` retire timeout (default 100 ms): a partly filled block is
    /// handed to user space after this long, so a quiet link still delivers.
    /// 0 lets the kernel choose (from the link speed).
    pub block_timeout_ms: u32,
    /// Put the interface in promiscuous mode while the socket is open
    /// (default true). The kernel counts references, so closing the socket
    /// undoes it.
    pub promiscuous: bool,
    /// Join this fanout group (`PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG`):
    /// every socket of the group on the same interface gets whole flows (the
    /// hash is over the flow's addresses and ports; IP fragments are
    /// reassembled first so they hash with their flow). Default none.
    pub fanout: Option<u16>,
    /// Value of [`Packet::interface_id`] for every packet (default 0).
    pub interface_id: u32,
}

impl AfPacketConfig {
    /// Defaults for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        AfPacketConfig {
            interface: interface.into(),
            ..Default::default()
        }
    }
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        AfPacketConfig {
            interface: String::new(),
            snaplen: 262_144,
            block_size: 1 << 20,
            frame_size: 2048,
            block_count: 64,
            block_timeout_ms: 100,
            promiscuous: true,
            fanout: None,
            interface_id: 0,
        }
    }
}

/// Kernel counters from `PACKET_STATISTICS`, summed since the socket was
/// opened (the kernel resets them on every read; [`AfPacketSource::stats`]
/// accumulates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AfPacketStats {
    /// Packets that passed the filter, including the dropped ones.
    pub packets: u64,
    /// Packets dropped because the ring was full (user space too slow).
    pub drops: u64,
    /// Times the ring was frozen because no block was free.
    pub freeze_q_cnt: u64,
}

/// One classic BPF instruction (`struct sock_filter`), as produced by
/// `tcpdump -dd` or libpcap's `pcap_compile`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl SockFilter {
    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> Self {
        SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump (`BPF_JUMP`).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        SockFilter { code, jt, jf, k }
    }
}

/// A few classic BPF opcodes, for hand-written programs.
pub mod bpf {
    /// `ld [k]` (32-bit load, absolute offset).
    pub const LD_W_ABS: u16 = 0x20;
    /// `ldh [k]`.
    pub const LD_H_ABS: u16 = 0x28;
    /// `ldb [k]`.
    pub const LD_B_ABS: u16 = 0x30;
    /// `jeq #k, jt, jf`.
    pub const JEQ_K: u16 = 0x15;
    /// `ret #k`: keep the first k bytes (0 drops the packet).
    pub const RET_K: u16 = 0x06;
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const SockFilter,
}

/// `struct tpacket_req3`.
#[repr(C)]
struct TpacketReq3 {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
    tp_retire_blk_tov: u32,
    tp_sizeof_priv: u32,
    tp_feature_req_word: u32,
}

/// `struct tpacket_stats_v3`.
#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    tp_packets: u32,
    tp_drops: u32,
    tp_freeze_q_cnt: u32,
}

/// `struct packet_mreq`.
#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// The mmap'ed ring; unmapped on drop.
struct Ring {
    base: NonNull<u8>,
    len: usize,
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap returned, and nothing
        // borrows the mapping any more (packets borrow the source, which is
        // being dropped).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// What [`AfPacketSource::take`] found at the cursor.
enum Taken {
    /// A packet: data at `start..start + caplen` of the current block.
    Packet {
        start: usize,
        caplen: usize,
        orig_len: u32,
        ts_ns: u64,
    },
    /// A packet not to deliver (loopback's outgoing copy).
    Skip,
    /// An inconsistent header: the rest of the block is dropped.
    Bad,
}

/// Position inside the block currently owned by user space.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// Offset of the next `tpacket3_hdr` from the block start.
    offset: usize,
    /// Packets of the block not yet walked.
    remaining: u32,
}

/// A live packet source on one interface. See the [module docs](self).
pub struct AfPacketSource {
    // Field order is drop order: unmap the ring, then close the socket.
    ring: Ring,
    fd: OwnedFd,
    name: String,
    ifindex: u32,
    link_type: u32,
    interface_id: u32,
    snaplen: usize,
    block_size: usize,
    block_count: usize,
    /// Index of the block the cursor walks (or waits for).
    block: usize,
    cursor: Option<Cursor>,
    /// Loopback sees every packet twice (outgoing and incoming); keep one,
    /// as libpcap does.
    skip_outgoing: bool,
    frame: u64,
    position: u64,
    stop: Arc<AtomicBool>,
    /// Set once the stop flag was seen: blocks still allowed to be drained.
    draining: Option<usize>,
    finished: bool,
    acc_packets: AtomicU64,
    acc_drops: AtomicU64,
    acc_freeze: AtomicU64,
}

// SAFETY: the source exclusively owns its socket and its mapping; the raw
// pointer in `Ring` is only a handle to that mapping, with no thread
// affinity. Moving the whole source to another thread is sound.
unsafe impl Send for AfPacketSource {}

/// Checks the configuration before any system call; returns the frame count.
fn validate(cfg: &AfPacketConfig) -> Result<u32, String> {
    let name = &cfg.interface;
    if name.is_empty() {
        return Err("no interface name given".into());
    }
    if name.len() >= libc::IFNAMSIZ || name.contains(['\0', '/']) {
        return Err(format!(
            "no network interface named {name:?} (invalid name)"
        ));
    }
    if cfg.snaplen == 0 {
        return Err("snaplen must be at least 1".into());
    }
    let page = page_size();
    let bs = cfg.block_size as usize;
    if !bs.is_power_of_two() || bs < page {
        return Err(format!(
            "block_size {} must be a power of two and at least the page size ({page})",
            cfg.block_size
        ));
    }
    let fs = cfg.frame_size;
    if fs < (FRAME_HDR + VLAN_TAG_LEN) as u32
        || !fs.is_multiple_of(TPACKET_ALIGNMENT)
        || fs > cfg.block_size
    {
        return Err(format!(
            "frame_size {fs} must be a multiple of {TPACKET_ALIGNMENT}, at least {} and at most block_size",
            FRAME_HDR + VLAN_TAG_LEN
        ));
    }
    if cfg.block_count == 0 {
        return Err("block_count must be at least 1".into());
    }
    let frames = u64::from(cfg.block_size / fs) * u64::from(cfg.block_count);
    let total = u64::from(cfg.block_size) * u64::from(cfg.block_count);
    if frames > u64::from(u32::MAX) || total > isize::MAX as u64 {
        return Err(format!(
            "ring of {} blocks of {} bytes is too large",
            cfg.block_count, cfg.block_size
        ));
    }
    Ok(frames as u32)
}

impl AfPacketSource {
    /// Opens a capture on `cfg.interface` (see [`AfPacketConfig`]).
    ///
    /// Needs root or `CAP_NET_RAW` (and the interface in this process's
    /// network namespace). Errors have kind [`CaptureErrorKind::Live`].
    pub fn open(cfg: AfPacketConfig) -> Result<Self, CaptureError> {
        Self::open_inner(cfg, None)
    }

    /// Like [`open`](Self::open), with a classic BPF filter attached before the
    /// socket is bound, so not a single unfiltered packet enters the ring.
    pub fn open_with_filter(
        cfg: AfPacketConfig,
        prog: &[SockFilter],
    ) -> Result<Self, CaptureError> {
        Self::open_inner(cfg, Some(prog))
    }

    fn open_inner(cfg: AfPacketConfig, prog: Option<&[SockFilter]>) -> Result<Self, CaptureError> {
        let name = cfg.interface.clone();
        let e = |m: String| live_err(&name, m);
        let frame_nr = validate(&cfg).map_err(e)?;

        let ifindex = interface_index(&name).map_err(e)?;

        // Protocol 0: the socket receives nothing until `bind` below, so the
        // ring never holds packets of other interfaces.
        // SAFETY: plain system call with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let err = io::Error::last_os_error();
            return Err(e(if is_perm(&err) {
                format!("AF_PACKET capture needs root or CAP_NET_RAW ({err})")
            } else {
                format!("cannot create AF_PACKET socket: {err}")
            }));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = fd.as_raw_fd();

        let opt_err = |what: &str, err: io::Error| {
            if is_perm(&err) {
                e(format!("{what}: needs root or CAP_NET_RAW ({err})"))
            } else {
                e(format!("{what}: {err}"))
            }
        };
        setsockopt(s, SOL_PACKET, PACKET_VERSION, &TPACKET_V3)
            .map_err(|err| opt_err("kernel lacks TPACKET_V3 (PACKET_VERSION)", err))?;
        setsockopt(
            s,
            SOL_PACKET,
            PACKET_RESERVE,
            &(VLAN_TAG_LEN as libc::c_uint),
        )
        .map_err(|err| opt_err("PACKET_RESERVE", err))?;
        let req = TpacketReq3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: cfg.frame_size,
            tp_frame_nr: frame_nr,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(s, SOL_PACKET, PACKET_RX_RING, &req).map_err(|err| {
            opt_err(
                &format!(
                    "cannot set up a receive ring of {} x {} bytes (PACKET_RX_RING)",
                    cfg.block_count, cfg.block_size
                ),
                err,
            )
        })?;

        let len = cfg.block_size as usize * cfg.block_count as usize;
        // SAFETY: maps the ring just configured on our own socket; the result
        // is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                s,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            return Err(e(format!("cannot map the {len}-byte receive ring: {err}")));
        }
        let ring = Ring {
            base: NonNull::new(base.cast()).ok_or_else(|| e("mmap returned null".into()))?,
            len,
        };

        let mut src = AfPacketSource {
            ring,
            fd,
            name: name.clone(),
            ifindex,
            link_type: linktype::ETHERNET,
            interface_id: cfg.interface_id,
            snaplen: cfg.snaplen as usize,
            block_size: cfg.block_size as usize,
            block_count: cfg.block_count as usize,
            block: 0,
            cursor: None,
            skip_outgoing: false,
            frame: 0,
            position: 0,
            stop: Arc::new(AtomicBool::new(false)),
            draining: None,
            finished: false,
            acc_packets: AtomicU64::new(0),
            acc_drops: AtomicU64::new(0),
            acc_freeze: AtomicU64::new(0),
        };
        if let Some(prog) = prog {
            src.set_filter(prog)?;
        }

        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as libc::c_ushort;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `sll` is a valid sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                s,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    e(format!("no network interface named {name:?} ({err})"))
                }
                _ => opt_err("cannot bind to the interface", err),
            });
        }

        // The bound address tells the device type (ARPHRD_*).
        // SAFETY: as above, all-zero is valid; getsockname writes at most `alen` bytes.
        let mut bound: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut alen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `bound` is writable for `alen` bytes.
        let rc = unsafe {
            libc::getsockname(s, (&mut bound as *mut libc::sockaddr_ll).cast(), &mut alen)
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(e(format!("cannot read the interface type: {err}")));
        }
        src.link_type = match bound.sll_hatype {
            ARPHRD_ETHER => linktype::ETHERNET,
            ARPHRD_LOOPBACK => {
                src.skip_outgoing = true;
                linktype::ETHERNET
            }
            // tun devices, WireGuard...: the packet starts with the IP header.
            ARPHRD_NONE => linktype::RAW,
            t => {
                return Err(e(format!(
                    "interface type ARPHRD {t} is not supported (Ethernet, loopback and raw IP are)"
                )))
            }
        };

        if cfg.promiscuous {
            let mreq = PacketMreq {
                mr_ifindex: ifindex as libc::c_int,
                mr_type: PACKET_MR_PROMISC,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|err| opt_err("cannot enable promiscuous mode", err))?;
        }
        if let Some(group) = cfg.fanout {
            let val: u32 =
                u32::from(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            setsockopt(s, SOL_PACKET, PACKET_FANOUT, &val).map_err(|err| {
                opt_err(
                    &format!(
                        "cannot join fanout group {group} (exists with other settings or on another interface?)"
                    ),
                    err,
                )
            })?;
        }
        Ok(src)
    }

    /// Attaches a classic BPF program (`SO_ATTACH_FILTER`), replacing any
    /// previous one. The program's return value is the number of bytes kept
    /// (0 drops). Packets already in the ring stay there unfiltered; use
    /// [`open_with_filter`](Self::open_with_filter) to filter from the start.
    pub fn set_filter(&mut self, prog: &[SockFilter]) -> Result<(), CaptureError> {
        if prog.is_empty() || prog.len() > BPF_MAXINSNS {
            return Err(self.err(format!(
                "a BPF program has 1 to {BPF_MAXINSNS} instructions, not {}",
                prog.len()
            )));
        }
        let fprog = SockFprog {
            len: prog.len() as libc::c_ushort,
            filter: prog.as_ptr(),
        };
        setsockopt(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &fprog,
        )
        .map_err(|err| {
            self.err(if err.raw_os_error() == Some(libc::EINVAL) {
                format!("the kernel rejected the BPF program ({err})")
            } else {
                format!("cannot attach the BPF program: {err}")
            })
        })
    }

    /// Setting the returned flag makes [`next_packet`](PacketSource::next_packet)
    /// return `Ok(None)` within about 100 ms, after delivering at most what the
    /// ring already held.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Kernel counters since the socket was opened.
    pub fn stats(&self) -> Result<AfPacketStats, CaptureError> {
        let mut st = TpacketStatsV3::default();
        let mut len = size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: `st` is writable for `len` bytes; the kernel writes at most that.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStatsV3).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(self.err(format!("cannot read PACKET_STATISTICS: {err}")));
        }
        // The kernel zeroes its counters on every read: keep the running sum.
        let add =
            |a: &AtomicU64, v: u32| a.fetch_add(u64::from(v), Ordering::Relaxed) + u64::from(v);
        Ok(AfPacketStats {
            packets: add(&self.acc_packets, st.tp_packets),
            drops: add(&self.acc_drops, st.tp_drops),
            freeze_q_cnt: add(&self.acc_freeze, st.tp_freeze_q_cnt),
        })
    }

    /// `LINKTYPE_*` of the packets (Ethernet or raw IP).
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Kernel interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn err(&self, message: String) -> CaptureError {
        CaptureError {
            source_name: self.name.clone(),
            offset: self.position,
            kind: CaptureErrorKind::Live,
            message,
        }
    }

    fn block_ptr(&self, i: usize) -> *mut u8 {
        // SAFETY: `i < block_count`, so the offset stays inside the mapping.
        unsafe { self.ring.base.as_ptr().add(i * self.block_size) }
    }

    fn block_status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the block start is page aligned, so `block_status` (offset 8)
        // is 4-aligned, inside the mapping, and lives as long as `self`. The
        // kernel writes it concurrently, hence the atomic.
        unsafe { &*(self.block_ptr(i).add(BD_BLOCK_STATUS) as *const AtomicU32) }
    }

    /// Reads a u32 at `off` of the current block; `off + 4 <= block_size`
    /// must have been checked.
    fn rd32(&self, off: usize) -> u32 {
        debug_assert!(off + 4 <= self.block_size);
        // SAFETY: in bounds (checked by the caller); the block is owned by
        // user space (TP_STATUS_USER), so the kernel does not write it.
        unsafe { std::ptr::read_unaligned(self.block_ptr(self.block).add(off) as *const u32) }
    }

    fn rd16(&self, off: usize) -> u16 {
        debug_assert!(off + 2 <= self.block_size);
        // SAFETY: as for `rd32`.
        unsafe { std::ptr::read_unaligned(self.block_ptr(self.block).add(off) as *const u16) }
    }

    /// Gives the current block back to the kernel and moves to the next.
    fn release_block(&mut self) {
        self.block_status(self.block)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.block = (self.block + 1) % self.block_count;
        self.cursor = None;
    }

    /// Waits up to 100 ms for the socket: `Ok(true)` when it became readable
    /// (or the wait was interrupted), `Ok(false)` on a timeout, `Err` when the
    /// socket reports an error (interface gone or down).
    fn wait(&mut self) -> Result<bool, CaptureError> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(true);
            }
            return Err(self.err(format!("poll: {err}")));
        }
        if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            let soerr = socket_error(self.fd.as_raw_fd());
            if soerr == libc::ENETDOWN {
                return Err(self.err("the interface went down or was removed".into()));
            }
            if soerr != 0 {
                let err = io::Error::from_raw_os_error(soerr);
                return Err(self.err(format!("socket error: {err}")));
            }
            if pfd.revents & libc::POLLNVAL != 0 {
                return Err(self.err("socket is no longer valid".into()));
            }
        }
        Ok(rc > 0)
    }

    /// Parses the packet at the cursor and advances the cursor.
    fn take(&mut self, cur: Cursor) -> Taken {
        self.take_inner(cur).unwrap_or(Taken::Bad)
    }

    fn take_inner(&mut self, cur: Cursor) -> Option<Taken> {
        let bs = self.block_size;
        let h = cur.offset;
        if h < BD_SIZE || h.checked_add(FRAME_HDR)? > bs {
            return None;
        }
        let next = self.rd32(h + H_NEXT_OFFSET) as usize;
        let sec = u64::from(self.rd32(h + H_SEC));
        let nsec = u64::from(self.rd32(h + H_NSEC));
        let snap = self.rd32(h + H_SNAPLEN) as usize;
        let len = self.rd32(h + H_LEN);
        let status = self.rd32(h + H_STATUS);
        let mac = h + self.rd16(h + H_MAC) as usize;
        let pkttype = {
            // SAFETY: `h + FRAME_HDR <= bs` was checked above.
            unsafe { *self.block_ptr(self.block).add(h + H_SIZE + SLL_PKTTYPE) }
        };
        if mac < h + FRAME_HDR || mac.checked_add(snap)? > bs {
            return None;
        }
        let remaining = cur.remaining - 1;
        self.cursor = Some(Cursor {
            offset: if remaining == 0 || next == 0 {
                bs
            } else {
                h.saturating_add(next)
            },
            remaining: if next == 0 { 0 } else { remaining },
        });
        if self.skip_outgoing && pkttype == PACKET_OUTGOING {
            return Some(Taken::Skip);
        }
        let ts = sec * 1_000_000_000 + nsec;
        let mut start = mac;
        let mut caplen = snap;
        let mut orig = len;
        // The kernel strips a VLAN tag the NIC (or veth) offloaded; put it back
        // in front of the payload, in place, as libpcap does. PACKET_RESERVE
        // left room for it.
        let tci = self.rd32(h + H_VLAN_TCI);
        if self.link_type == linktype::ETHERNET
            && (tci != 0 || status & TP_STATUS_VLAN_VALID != 0)
            && snap >= 12
            && mac - VLAN_TAG_LEN >= h + FRAME_HDR
        {
            let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
                self.rd16(h + H_VLAN_TPID)
            } else {
                ETH_P_8021Q
            };
            let mut tag = [0u8; VLAN_TAG_LEN];
            tag[..2].copy_from_slice(&tpid.to_be_bytes());
            tag[2..].copy_from_slice(&(tci as u16).to_be_bytes());
            let p = self.block_ptr(self.block);
            // SAFETY: `mac - 4 >= h + FRAME_HDR` and `mac + snap <= bs` were
            // checked, so both ranges lie in the block, which user space owns
            // (TP_STATUS_USER) and which no packet borrows (`&mut self`).
            // `ptr::copy` allows the overlap.
            unsafe {
                std::ptr::copy(p.add(mac), p.add(mac - VLAN_TAG_LEN), 12);
                std::ptr::copy_nonoverlapping(tag.as_ptr(), p.add(mac - VLAN_TAG_LEN + 12), 4);
            }
            start = mac - VLAN_TAG_LEN;
            caplen += VLAN_TAG_LEN;
            orig = orig.saturating_add(VLAN_TAG_LEN as u32);
        }
        Some(Taken::Packet {
            start,
            caplen: caplen.min(self.snaplen),
            orig_len: orig,
            ts_ns: ts,
        })
    }
}

/// What [`AfPacketSource::step`] found.
enum Step {
    /// A packet of the current block (as [`Taken::Packet`]).
    Packet {
        start: usize,
        caplen: usize,
        orig_len: u32,
        ts_ns: u64,
    },
    /// A poll timed out with nothing to read.
    Idle,
    End,
}

impl AfPacketSource {
    /// Walks the ring to the next packet; with `idle`, also returns
    /// [`Step::Idle`] when a wait times out.
    fn step(&mut self, idle: bool) -> Result<Step, CaptureError> {
        loop {
            if self.finished {
                return Ok(Step::End);
            }
            if let Some(cur) = self.cursor {
                if cur.remaining > 0 {
                    match self.take(cur) {
                        Taken::Bad => {
                            self.cursor = Some(Cursor {
                                offset: self.block_size,
                                remaining: 0,
                            });
                        }
                        Taken::Skip => {}
                        Taken::Packet {
                            start,
                            caplen,
                            orig_len,
                            ts_ns,
                        } => {
                            return Ok(Step::Packet {
                                start,
                                caplen,
                                orig_len,
                                ts_ns,
                            });
                        }
                    }
                    continue;
                }
                self.release_block();
                if let Some(left) = self.draining.as_mut() {
                    if *left == 0 {
                        self.finished = true;
                        return Ok(Step::End);
                    }
                    *left -= 1;
                }
            }
            if self.draining.is_none() && self.stop.load(Ordering::Relaxed) {
                // Deliver at most what the ring holds now, then end.
                self.draining = Some(self.block_count);
            }
            let status = self.block_status(self.block).load(Ordering::Acquire);
            if status & TP_STATUS_USER != 0 {
                let num = self.rd32(BD_NUM_PKTS);
                let first = self.rd32(BD_OFFSET_TO_FIRST_PKT) as usize;
                self.cursor = Some(Cursor {
                    offset: first,
                    remaining: num,
                });
                continue;
            }
            if self.draining.is_some() {
                self.finished = true;
                return Ok(Step::End);
            }
            match self.wait() {
                Err(e) => {
                    self.finished = true;
                    return Err(e);
                }
                Ok(false) if idle => return Ok(Step::Idle),
                Ok(_) => {}
            }
        }
    }

    /// The packet `step` found, borrowed from the ring.
    fn packet(&mut self, start: usize, caplen: usize, orig_len: u32, ts_ns: u64) -> Packet<'_> {
        self.frame += 1;
        self.position += caplen as u64;
        // SAFETY: `start + caplen` lies inside the current block (checked in
        // `take`). User space owns the block until `release_block`, which only
        // runs in a later `step` call; that call needs `&mut self`, so this
        // borrow has ended by then. The mapping lives as long as `self`.
        let data =
            unsafe { std::slice::from_raw_parts(self.block_ptr(self.block).add(start), caplen) };
        Packet {
            frame: self.frame,
            ts_ns,
            link_type: self.link_type,
            interface_id: self.interface_id,
            orig_len,
            data,
        }
    }
}

impl PacketSource for AfPacketSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        match self.step(false)? {
            Step::Packet {
                start,
                caplen,
                orig_len,
                ts_ns,
            } => Ok(Some(self.packet(start, caplen, orig_len, ts_ns))),
            Step::Idle | Step::End => Ok(None),
        }
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        match self.step(true)? {
            Step::Packet {
                start,
                caplen,
                orig_len,
                ts_ns,
            } => Ok(Some(SourceEvent::Packet(
                self.packet(start, caplen, orig_len, ts_ns),
            ))),
            Step::Idle => Ok(Some(SourceEvent::Idle { now_ns: now_ns() })),
            Step::End => Ok(None),
        }
    }

    fn position(&self) -> u64 {
        self.position
    }

    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        Some(AfPacketSource::stop_handle(self))
    }

    fn live_stats(&self) -> Option<LiveStats> {
        self.stats().ok().map(|s| LiveStats {
            received: s.packets,
            dropped: s.drops,
            overruns: s.freeze_q_cnt,
        })
    }
}

impl AsRawFd for AfPacketSource {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl std::fmt::Debug for AfPacketSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfPacketSource")
            .field("interface", &self.name)
            .field("ifindex", &self.ifindex)
            .field("link_type", &self.link_type)
            .field("frame", &self.frame)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        assert!(validate(&AfPacketConfig::new("eth0")).is_ok());
        let bad = |f: fn(&mut AfPacketConfig)| {
            let mut c = AfPacketConfig::new("eth0");
            f(&mut c);
            validate(&c).unwrap_err()
        };
        assert!(bad(|c| c.block_size = 3 << 20).contains("power of two"));
        assert!(bad(|c| c.block_size = 1024).contains("page size"));
        assert!(bad(|c| c.frame_size = 2047).contains("multiple of 16"));
        assert!(bad(|c| c.block_count = 0).contains("block_count"));
        assert!(bad(|c| c.interface = "x".repeat(16)).contains("invalid name"));
        assert!(bad(|c| c.interface.clear()).contains("no interface"));
        assert!(bad(|c| c.snaplen = 0).contains("snaplen"));
    }

    #[test]
    fn abi_sizes() {
        assert_eq!(size_of::<SockFilter>(), 8);
        assert_eq!(size_of::<TpacketReq3>(), 28);
        assert_eq!(size_of::<PacketMreq>(), 16);
        assert_eq!(size_of::<libc::sockaddr_ll>(), SLL_SIZE);
        assert_eq!(size_of::<SockFprog>(), 2 * size_of::<usize>());
    }
}
