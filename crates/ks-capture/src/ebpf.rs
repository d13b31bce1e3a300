//! Live capture from a Linux network interface through eBPF: a socket-filter
//! program copies each packet into a BPF ring buffer shared with this process.
//!
//! ```no_run
//! use ks_capture::ebpf::{EbpfConfig, EbpfSource};
//! use ks_capture::PacketSource;
//!
//! let mut src = EbpfSource::open(EbpfConfig::new("eth0"))?;
//! let stop = src.stop_handle(); // set it from another thread (or a signal handler) to end
//! while let Some(pkt) = src.next_packet()? {
//!     println!("frame {}: {} of {} bytes", pkt.frame, pkt.data.len(), pkt.orig_len);
//! }
//! println!("{:?}", src.stats());
//! # drop(stop);
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! How it works. An `AF_PACKET` socket is bound to the interface and a
//! `BPF_PROG_TYPE_SOCKET_FILTER` program (`bpf/capture.bpf.c`, compiled by
//! clang at build time and embedded in the binary) is attached to it. The
//! kernel runs the program for every packet the socket would receive, in both
//! directions, at the same tap as tcpdump (`dev_queue_xmit_nit` for outgoing,
//! `__netif_receive_skb_core` for incoming), so the frames are the ones
//! tcpdump writes. The program writes the first `snaplen` bytes, the wire
//! length and a timestamp into a `BPF_MAP_TYPE_RINGBUF` and returns 0, so the
//! socket itself queues nothing. A socket filter was chosen over a TC
//! (clsact) classifier because TC sees egress before the qdisc and before
//! the VLAN tag and checksum handling tcpdump sees, needs `CAP_NET_ADMIN`,
//! and changes the interface's qdisc for every other user; a packet socket
//! goes away with the process.
//!
//! * **Snaplen**: at most [`MAX_SNAPLEN`] (262144, as tcpdump). Records are
//!   reserved in size classes (64, 128, ..., 1536, 2048, ..., 262144 bytes)
//!   because `bpf_ringbuf_reserve` takes a constant size; a packet uses the
//!   smallest class that holds its captured bytes.
//! * **VLAN**: a tag the kernel took out of the frame (`skb->vlan_tci`) is put
//!   back after the MAC addresses, as libpcap does.
//! * **Loopback**: the outgoing copy of each packet (`PACKET_OUTGOING`) is
//!   skipped in the program, as libpcap does, so every packet appears once.
//! * **Timestamps**: `bpf_ktime_get_boot_ns` (`CLOCK_BOOTTIME`, which unlike
//!   `CLOCK_MONOTONIC` keeps counting across suspend) plus the offset
//!   `CLOCK_REALTIME - CLOCK_BOOTTIME` measured in user space at open and
//!   again at most once a second while idle, so a clock step is followed.
//!   The time is taken when the program runs, a few hundred nanoseconds away
//!   from the `skb->tstamp` tcpdump reports.
//! * **Copies**: aya's ring-buffer item consumes its record when dropped, so a
//!   packet cannot outlive it; each packet is copied once into a buffer owned
//!   by the source (capacity `snaplen`, no allocation per packet), and the
//!   record is released at once, which frees ring space early.
//! * **Drops**: a full ring buffer loses packets in the kernel; the program
//!   counts them in a per-CPU array read by [`EbpfSource::stats`].
//!
//! Needs root, or `CAP_BPF` (ring buffer map and program) plus `CAP_NET_RAW`
//! (the packet socket) — `CAP_SYS_ADMIN` instead of `CAP_BPF` before Linux
//! 5.8 — and Linux 5.8 or later (ring buffers, `bpf_ktime_get_boot_ns`).
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::SocketFilter;
use aya::EbpfLoader;

use crate::sys::{
    interface_index, io_cause, is_perm, live_err, page_size, setsockopt, socket_error,
};
use crate::{
    linktype, now_ns, CaptureError, CaptureErrorKind, LiveStats, Packet, PacketSource, SourceEvent,
};

/// The compiled socket-filter program (see `build.rs`).
static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/capture.bpf.o"));

/// Largest [`EbpfConfig::snaplen`] (the program's largest record class).
pub const MAX_SNAPLEN: u32 = 262_144;

// Names in bpf/capture.bpf.c.
const PROG_NAME: &str = "ks_capture";
const MAP_EVENTS: &str = "EVENTS";
const MAP_COUNTERS: &str = "COUNTERS";
const COUNTER_SEEN: u32 = 0;
const COUNTER_LOST: u32 = 1;
/// `struct rec`: u64 ts_ns, u32 wire_len, u32 cap_len, then the packet.
const REC_HDR: usize = 16;
/// `BPF_RINGBUF_HDR_SZ`: the kernel's 8-byte header before every record.
const RINGBUF_HDR: u64 = 8;

// Kernel ABI (include/uapi/linux/if_packet.h, if_ether.h, if_arp.h).
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const ETH_P_ALL: u16 = 0x0003;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xFFFE;

/// How long one `poll(2)` waits before the stop flag is checked again.
const POLL_MS: libc::c_int = 100;
/// How often the wall-clock offset is measured again while idle.
const CLOCK_REFRESH: Duration = Duration::from_secs(1);

/// Settings for [`EbpfSource::open`]. `EbpfConfig::new("eth0")` gives the
/// defaults below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EbpfConfig {
    /// Interface name (`eth0`, `lo`, a veth...).
    pub interface: String,
    /// Bytes kept per packet (default 262144, as tcpdump; 1 to
    /// [`MAX_SNAPLEN`]). Longer packets are cut; `orig_len` keeps the wire
    /// length.
    pub snaplen: u32,
    /// Size of the BPF ring buffer in bytes (default 16 MiB): a power of two,
    /// a multiple of the page size, and at least twice the largest record
    /// (`snaplen` rounded up to a power of two, plus 24 bytes of headers).
    /// It is kernel memory, charged to this process's memory cgroup.
    pub ring_size: u32,
    /// Put the interface in promiscuous mode while the source is open
    /// (default true). The kernel counts references, so closing undoes it.
    pub promiscuous: bool,
    /// Value of [`Packet::interface_id`] for every packet (default 0).
    pub interface_id: u32,
}

impl EbpfConfig {
    /// Defaults for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        EbpfConfig {
            interface: interface.into(),
            ..Default::default()
        }
    }
}

impl Default for EbpfConfig {
    fn default() -> Self {
        EbpfConfig {
            interface: String::new(),
            snaplen: MAX_SNAPLEN,
            ring_size: 16 << 20,
            promiscuous: true,
            interface_id: 0,
        }
    }
}

/// Counters of the BPF program since the source was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EbpfStats {
    /// Packets the program saw (loopback: one per packet), lost ones included.
    pub packets: u64,
    /// Packets lost because the ring buffer was full (user space too slow).
    pub drops: u64,
}

/// A live packet source on one interface, fed by eBPF. See the
/// [module docs](self).
pub struct EbpfSource {
    // Field order is drop order: closing the socket detaches the program
    // before its maps go away.
    sock: OwnedFd,
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    /// The current packet, copied out of its ring record.
    buf: Vec<u8>,
    name: String,
    ifindex: u32,
    link_type: u32,
    interface_id: u32,
    snaplen: usize,
    frame: u64,
    position: u64,
    /// `CLOCK_REALTIME - CLOCK_BOOTTIME`, in ns.
    clock_offset: i64,
    clock_measured: Instant,
    stop: Arc<AtomicBool>,
    /// Set once the stop flag was seen: the program no longer runs and the
    /// ring is being drained.
    draining: bool,
    finished: bool,
}

/// Text for an aya error: the whole source chain (aya's top-level messages
/// alone, e.g. "map error", say little), with what is missing when the kernel
/// said EPERM.
fn bpf_err(what: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = format!("{what}: {e}");
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        cur = s.source();
    }
    // EPERM only: the verifier's rejection is EACCES.
    match io_cause(e) {
        Some(io) if io.raw_os_error() == Some(libc::EPERM) => format!(
            "{what}: eBPF capture needs root or CAP_BPF (CAP_SYS_ADMIN before Linux 5.8), \
             as well as CAP_NET_RAW ({io})"
        ),
        Some(io) if io.raw_os_error() == Some(libc::EINVAL) && msg.contains("map") => {
            format!(
                "{msg} (the kernel may lack BPF ring buffers: Linux 5.8+ with CONFIG_BPF_SYSCALL)"
            )
        }
        _ => msg,
    }
}

/// Binds the packet socket to `ifindex` for `protocol` (0: receive nothing,
/// which also stops the program from running).
fn bind(fd: RawFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = ifindex as libc::c_int;
    // SAFETY: `sll` is a valid sockaddr_ll and the length is its size.
    let rc = unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn clock_ns(clock: libc::clockid_t) -> i64 {
    // SAFETY: timespec is plain data; all-zero is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is writable; clock_gettime writes only it.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

/// `CLOCK_REALTIME - CLOCK_BOOTTIME` in ns: the realtime reading bracketed by
/// the tightest of a few pairs of boottime readings.
fn clock_offset() -> i64 {
    let mut best = (i64::MAX, 0);
    for _ in 0..5 {
        let b1 = clock_ns(libc::CLOCK_BOOTTIME);
        let r = clock_ns(libc::CLOCK_REALTIME);
        let b2 = clock_ns(libc::CLOCK_BOOTTIME);
        let gap = b2 - b1;
        if gap < best.0 {
            best = (gap, r - (b1 + gap / 2));
        }
    }
    best.1
}

/// Checks the configuration before any system call.
fn validate(cfg: &EbpfConfig) -> Result<(), String> {
    let name = &cfg.interface;
    if name.is_empty() {
        return Err("no interface name given".into());
    }
    if name.len() >= libc::IFNAMSIZ || name.contains(['\0', '/']) {
        return Err(format!(
            "no network interface named {name:?} (invalid name)"
        ));
    }
    if cfg.snaplen == 0 || cfg.snaplen > MAX_SNAPLEN {
        return Err(format!(
            "snaplen {} must be 1 to {MAX_SNAPLEN}",
            cfg.snaplen
        ));
    }
    let record = u64::from(cfg.snaplen.next_power_of_two()) + REC_HDR as u64 + RINGBUF_HDR;
    let rs = cfg.ring_size as usize;
    if !rs.is_power_of_two() || rs < page_size() || (rs as u64) < 2 * record {
        return Err(format!(
            "ring_size {} must be a power of two, a multiple of the page size ({}) \
             and at least {} for snaplen {}",
            cfg.ring_size,
            page_size(),
            (2 * record).next_power_of_two().max(page_size() as u64),
            cfg.snaplen
        ));
    }
    Ok(())
}

impl EbpfSource {
    /// Opens a capture on `cfg.interface` (see [`EbpfConfig`]).
    ///
    /// Needs root, or `CAP_BPF` and `CAP_NET_RAW` (and the interface in this
    /// thread's network namespace). Errors have kind
    /// [`CaptureErrorKind::Live`].
    pub fn open(cfg: EbpfConfig) -> Result<Self, CaptureError> {
        let name = cfg.interface.clone();
        let e = |m: String| live_err(&name, m);
        validate(&cfg).map_err(e)?;

        let ifindex = interface_index(&name).map_err(e)?;

        // Protocol 0: the socket receives nothing (and the program does not
        // run) until it is bound for ETH_P_ALL, after the program is attached.
        // SAFETY: plain system call with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let err = io::Error::last_os_error();
            return Err(e(if is_perm(&err) {
                format!("eBPF capture needs root or CAP_NET_RAW for its AF_PACKET socket ({err})")
            } else {
                format!("cannot create AF_PACKET socket: {err}")
            }));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = sock.as_raw_fd();
        let opt_err = |what: &str, err: io::Error| {
            if is_perm(&err) {
                e(format!("{what}: needs root or CAP_NET_RAW ({err})"))
            } else {
                e(format!("{what}: {err}"))
            }
        };

        // Bound with protocol 0, the socket tells the device type and still
        // receives nothing.
        bind(s, ifindex, 0).map_err(|err| match err.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => {
                e(format!("no network interface named {name:?} ({err})"))
            }
            _ => opt_err("cannot bind to the interface", err),
        })?;
        // SAFETY: as above, all-zero is valid.
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
        let (link_type, skip_outgoing) = match bound.sll_hatype {
            ARPHRD_ETHER => (linktype::ETHERNET, false),
            // Ethernet header with zero MACs; each packet is seen twice.
            ARPHRD_LOOPBACK => (linktype::ETHERNET, true),
            // tun devices, WireGuard...: the packet starts with the IP header.
            ARPHRD_NONE => (linktype::RAW, false),
            t => {
                return Err(e(format!(
                    "interface type ARPHRD {t} is not supported (Ethernet, loopback and raw IP are)"
                )))
            }
        };

        let snaplen = cfg.snaplen;
        let skip = u32::from(skip_outgoing);
        let ethernet = u32::from(link_type == linktype::ETHERNET);
        let mut bpf = EbpfLoader::new()
            // No CO-RE relocations: the kernel's BTF is not needed.
            .btf(None)
            .map_max_entries(MAP_EVENTS, cfg.ring_size)
            .override_global("SNAPLEN", &snaplen, true)
            .override_global("SKIP_OUTGOING", &skip, true)
            .override_global("ETHERNET", &ethernet, true)
            .load(BPF_OBJECT)
            .map_err(|err| e(bpf_err("cannot load the eBPF program's maps", &err)))?;
        let prog: &mut SocketFilter = bpf
            .program_mut(PROG_NAME)
            .ok_or_else(|| e(format!("program {PROG_NAME} missing from the BPF object")))?
            .try_into()
            .map_err(|err| e(bpf_err("not a socket filter", &err)))?;
        prog.load()
            .map_err(|err| e(bpf_err("the kernel refused the eBPF program", &err)))?;
        prog.attach(sock.as_fd()).map_err(|err| {
            e(bpf_err(
                "cannot attach the eBPF program (SO_ATTACH_BPF)",
                &err,
            ))
        })?;
        let ring = bpf
            .take_map(MAP_EVENTS)
            .ok_or_else(|| e(format!("map {MAP_EVENTS} missing from the BPF object")))?;
        let ring = RingBuf::try_from(ring)
            .map_err(|err| e(bpf_err("cannot map the BPF ring buffer", &err)))?;
        let counters = bpf
            .take_map(MAP_COUNTERS)
            .ok_or_else(|| e(format!("map {MAP_COUNTERS} missing from the BPF object")))?;
        let counters = PerCpuArray::try_from(counters)
            .map_err(|err| e(bpf_err("cannot open the counters map", &err)))?;
        // The attached socket holds its own reference to the program.
        drop(bpf);

        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as libc::c_int,
                mr_type: PACKET_MR_PROMISC,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|err| opt_err("cannot enable promiscuous mode", err))?;
        }
        bind(s, ifindex, ETH_P_ALL).map_err(|err| match err.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) | Some(libc::ENETDOWN) => {
                e(format!("the interface {name:?} went away ({err})"))
            }
            _ => opt_err("cannot bind to the interface", err),
        })?;

        Ok(EbpfSource {
            sock,
            ring,
            counters,
            buf: Vec::with_capacity(cfg.snaplen as usize),
            name,
            ifindex,
            link_type,
            interface_id: cfg.interface_id,
            snaplen: cfg.snaplen as usize,
            frame: 0,
            position: 0,
            clock_offset: clock_offset(),
            clock_measured: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            draining: false,
            finished: false,
        })
    }

    /// Setting the returned flag makes [`next_packet`](PacketSource::next_packet)
    /// return `Ok(None)` within about 100 ms, after delivering what the ring
    /// buffer held when the flag was seen (the program is stopped first).
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Counters of the BPF program since the source was opened (summed over
    /// CPUs).
    pub fn stats(&self) -> Result<EbpfStats, CaptureError> {
        let read = |i: u32| -> Result<u64, CaptureError> {
            let v = self
                .counters
                .get(&i, 0)
                .map_err(|err| self.err(bpf_err("cannot read the BPF counters", &err)))?;
            Ok(v.iter().sum())
        };
        Ok(EbpfStats {
            packets: read(COUNTER_SEEN)?,
            drops: read(COUNTER_LOST)?,
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

    /// Stops the program for good: rebinding for protocol 0 unhooks the
    /// socket, and the kernel waits (`synchronize_net`) until no CPU still
    /// runs the program, so every record it wrote is committed.
    fn stop_program(&mut self) {
        if bind(self.sock.as_raw_fd(), self.ifindex, 0).is_err() {
            // Unbinding cannot fail for a bound socket; should it, detach the
            // program instead (the ring then gets no new records either).
            let _ = SocketFilter::detach(self.sock.as_fd());
        }
        self.draining = true;
    }

    /// Waits up to 100 ms for the ring buffer; `Err` when the socket reports
    /// an error (interface down or removed).
    fn wait(&mut self) -> Result<bool, CaptureError> {
        if self.clock_measured.elapsed() >= CLOCK_REFRESH {
            self.clock_offset = clock_offset();
            self.clock_measured = Instant::now();
        }
        let mut pfds = [
            libc::pollfd {
                fd: self.ring.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.sock.as_raw_fd(),
                events: 0, // POLLERR/POLLHUP are always reported
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, POLL_MS) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(true);
            }
            return Err(self.err(format!("poll: {err}")));
        }
        if pfds[1].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            let soerr = socket_error(self.sock.as_raw_fd());
            if soerr == libc::ENETDOWN {
                return Err(self.err("the interface went down or was removed".into()));
            }
            if soerr != 0 {
                let err = io::Error::from_raw_os_error(soerr);
                return Err(self.err(format!("socket error: {err}")));
            }
            if pfds[1].revents & libc::POLLNVAL != 0 {
                return Err(self.err("socket is no longer valid".into()));
            }
        }
        Ok(rc > 0)
    }
}

impl EbpfSource {
    /// The next packet; with `idle`, [`SourceEvent::Idle`] when a wait
    /// times out with nothing to read.
    fn read(&mut self, idle: bool) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if !self.draining && self.stop.load(Ordering::Relaxed) {
                self.stop_program();
            }
            if let Some(item) = self.ring.next() {
                let rec: &[u8] = &item;
                if rec.len() < REC_HDR {
                    continue; // cannot happen: every record has the header
                }
                let ts = u64::from_ne_bytes(rec[0..8].try_into().unwrap_or_default());
                let wire = u32::from_ne_bytes(rec[8..12].try_into().unwrap_or_default());
                let cap = u32::from_ne_bytes(rec[12..16].try_into().unwrap_or_default()) as usize;
                let cap = cap.min(rec.len() - REC_HDR).min(self.snaplen);
                // `buf` has capacity `snaplen`: this never allocates.
                self.buf.clear();
                self.buf.extend_from_slice(&rec[REC_HDR..REC_HDR + cap]);
                drop(item); // hands the record back to the kernel
                self.frame += 1;
                self.position += cap as u64;
                let ts_ns = (ts as i64).saturating_add(self.clock_offset).max(0) as u64;
                return Ok(Some(SourceEvent::Packet(Packet {
                    frame: self.frame,
                    ts_ns,
                    link_type: self.link_type,
                    interface_id: self.interface_id,
                    orig_len: wire,
                    data: &self.buf,
                })));
            }
            if self.draining {
                self.finished = true;
                return Ok(None);
            }
            match self.wait() {
                Err(e) => {
                    self.finished = true;
                    return Err(e);
                }
                Ok(false) if idle => return Ok(Some(SourceEvent::Idle { now_ns: now_ns() })),
                Ok(_) => {}
            }
        }
    }
}

impl PacketSource for EbpfSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        match self.read(false)? {
            Some(SourceEvent::Packet(p)) => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        self.read(true)
    }

    fn position(&self) -> u64 {
        self.position
    }

    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        Some(EbpfSource::stop_handle(self))
    }

    fn live_stats(&self) -> Option<LiveStats> {
        self.stats().ok().map(|s| LiveStats {
            received: s.packets,
            dropped: s.drops,
            overruns: 0,
        })
    }
}

impl AsRawFd for EbpfSource {
    /// The ring buffer's descriptor: readable when packets are waiting.
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}

impl std::fmt::Debug for EbpfSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EbpfSource")
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
        assert!(validate(&EbpfConfig::new("eth0")).is_ok());
        let bad = |f: fn(&mut EbpfConfig)| {
            let mut c = EbpfConfig::new("eth0");
            f(&mut c);
            validate(&c).unwrap_err()
        };
        assert!(bad(|c| c.snaplen = 0).contains("snaplen"));
        assert!(bad(|c| c.snaplen = MAX_SNAPLEN + 1).contains("snaplen"));
        assert!(bad(|c| c.ring_size = 3 << 20).contains("power of two"));
        assert!(bad(|c| c.ring_size = 1 << 19).contains("at least 1048576"));
        assert!(bad(|c| c.interface = "x".repeat(16)).contains("invalid name"));
        assert!(bad(|c| c.interface.clear()).contains("no interface"));
        let small = EbpfConfig {
            snaplen: 100,
            ring_size: 1 << 12,
            ..EbpfConfig::new("eth0")
        };
        assert!(validate(&small).is_ok());
    }

    #[test]
    fn source_is_send() {
        fn send<T: Send>() {}
        send::<EbpfSource>();
    }

    #[test]
    fn object_is_embedded() {
        assert_eq!(&BPF_OBJECT[..4], b"\x7fELF");
    }
}
