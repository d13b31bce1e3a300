//! Live capture from a Linux network interface queue with an `AF_XDP` socket
//! (XSK), through the `xsk-rs` bindings to libxdp. Behind the `afxdp` feature.
//!
//! ```no_run
//! use ks_capture::afxdp::{AfXdpConfig, AfXdpSource};
//! use ks_capture::PacketSource;
//!
//! let mut src = AfXdpSource::open(AfXdpConfig::new("eth0"))?;
//! let stop = src.stop_handle(); // set it from another thread (or a signal handler) to end
//! while let Some(pkt) = src.next_packet()? {
//!     println!("frame {}: {} of {} bytes", pkt.frame, pkt.data.len(), pkt.orig_len);
//! }
//! println!("{:?}", src.stats());
//! # drop(stop);
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! # AF_XDP takes the packets away: it is not a passive tap
//!
//! Opening the source attaches an XDP program to the interface: libxdp's
//! default XSK program (`xsk_def_xdp_prog`, loaded through the libxdp
//! dispatcher, or directly where the dispatcher cannot be used), which does
//! `bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS)`. Every
//! packet *received* on the captured queue (`queue_id`) is redirected into
//! this socket **instead of** entering the kernel network stack: no socket,
//! no routing, no bridge, no `tcpdump` (AF_PACKET taps run after XDP) on that
//! interface sees it any more. Packets of other queues pass (`XDP_PASS`), and
//! so does everything sent *out* of the interface (XDP only sees the receive
//! path, so transmitted packets are not captured at all).
//!
//! On a veth pair (one queue) this means: open the source on the host end and
//! everything the namespace sends to the host disappears from the host stack
//! (ARP replies, TCP segments...), so connections through that link stall
//! while the capture runs; they recover when the source is dropped (libxdp
//! detaches the program with the last socket). To capture traffic without
//! disturbing it, give AF_XDP an interface that only carries a *copy*: for
//! example a veth pair whose one end receives mirrored frames
//! (`tc filter add dev PORT ingress|egress matchall action mirred egress
//! mirror dev MON0`) and whose other end `MON1` is captured, or a switch SPAN
//! port on real hardware. The tests do exactly that. Forwarding the packets
//! back to the stack from user space (re-injection) is not done: it would
//! change timing and ordering and needs a TX path per packet.
//!
//! # The XDP program
//!
//! libxdp attaches its program through its multi-program dispatcher when a
//! BPF filesystem is mounted at `/sys/fs/bpf` (other XDP programs can then
//! share the interface); without one it prints `libxdp: No bpffs found at
//! /sys/fs/bpf ... Falling back to loading single prog without dispatcher`
//! and attaches the program alone (an interface that already has another XDP
//! program is then refused with `EBUSY`). libbpf and libxdp print such
//! warnings to stderr themselves. The program is detached when the last
//! socket on the interface is closed. The kernel frees a closed socket's
//! queue a moment later (deferred work), so [`AfXdpSource::open`] retries
//! `EBUSY` for up to 1 s.
//!
//! # Queues, modes, memory
//!
//! One source captures one receive queue of the interface. A multi-queue NIC
//! spreads traffic over its queues (RSS), so a full capture needs one source
//! per queue (`queue_id` 0, 1, ... up to `ethtool -l` combined count), or the
//! traffic steered to one queue (`ethtool -L IFACE combined 1` or an
//! `ethtool -N` flow rule). veth and most virtual devices have one queue.
//!
//! The UMEM is `frame_count` frames of `frame_size` bytes, registered with the
//! kernel (locked memory, counted against `RLIMIT_MEMLOCK` unless the process
//! has `CAP_IPC_LOCK`). The kernel writes each received packet into a frame
//! taken from the fill ring and announces it on the RX ring. In zero-copy mode
//! (drivers with AF_XDP zero-copy support: i40e, ice, mlx5, ixgbe, ...) the
//! NIC DMA-writes into the frame; in copy mode (every other driver, veth,
//! generic/SKB mode) the kernel copies the packet in. Either way
//! [`Packet::data`] points straight into the UMEM frame, with no further copy.
//! The frame goes back to the fill ring when `next_packet` is called again
//! (the `&mut self` borrow guarantees the packet is gone by then); frames of
//! packets not yet delivered stay out of the kernel's reach.
//!
//! There is no multi-buffer support: a packet longer than
//! `frame_size - 256` (256 = `XDP_PACKET_HEADROOM`) is dropped by the kernel
//! and counted in [`AfXdpStats::rx_dropped`]. (Attaching a non
//! multi-buffer XDP program to a veth makes the kernel limit the peer's MTU
//! and turn off its GSO, so veth never sends such packets.)
//!
//! # Timestamps
//!
//! AF_XDP carries no timestamp. [`Packet::ts_ns`] is `CLOCK_REALTIME` read
//! when the batch holding the packet was taken off the RX ring: after the
//! kernel received it, by however long the reader took to come back
//! (microseconds when keeping up). Packets of one batch share a timestamp.
//! Use [`AfPacketSource`](crate::afpacket::AfPacketSource) where kernel receive
//! timestamps matter.
//!
//! # Privileges
//!
//! Creating the socket needs `CAP_NET_RAW`; loading and attaching the XDP
//! program needs `CAP_BPF` and `CAP_NET_ADMIN` (or `CAP_SYS_ADMIN` on kernels
//! before 5.8): in practice, root.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use crate::sys::{interface_index, is_perm, live_err, page_size};
use crate::{
    linktype, now_ns, CaptureError, CaptureErrorKind, LiveStats, Packet, PacketSource, SourceEvent,
};

// Kernel ABI (include/uapi/linux/if_xdp.h), spelled out as in afpacket.rs.
const XDP_OPTIONS: libc::c_int = 8;
const XDP_OPTIONS_ZEROCOPY: u32 = 1;
/// Bytes the kernel keeps free in front of the packet in every frame.
const XDP_PACKET_HEADROOM: u32 = 256;
/// Smallest UMEM chunk the kernel accepts.
const MIN_FRAME_SIZE: u32 = 2048;
// The smallest frame still holds a full 1500-byte-MTU Ethernet frame.
const _: () = assert!(MIN_FRAME_SIZE - XDP_PACKET_HEADROOM >= 1514);
/// Size of the TX and completion rings: unused (the source never transmits),
/// but the kernel requires a completion ring and libxdp a TX ring.
const UNUSED_RING: u32 = 64;
/// Most descriptors taken off the RX ring at once.
const BATCH: usize = 64;
/// How long `open` retries a queue still held by a just-closed socket.
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// How long one `poll(2)` waits before the stop flag is checked again.
const POLL_MS: i32 = 100;

/// How the socket binds to the queue (`XDP_COPY` / `XDP_ZEROCOPY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BindMode {
    /// Zero-copy when the driver supports it, copy mode otherwise (veth,
    /// generic XDP, most virtual devices). The default.
    #[default]
    Auto,
    /// Always copy mode (works on every driver).
    Copy,
    /// Zero-copy or fail (`EOPNOTSUPP` on drivers without support).
    ZeroCopy,
}

/// Where the XDP program runs (`XDP_FLAGS_DRV_MODE` / `XDP_FLAGS_SKB_MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachMode {
    /// Native (driver) mode when the driver has XDP support, generic (SKB)
    /// mode otherwise: the kernel's choice. The default.
    #[default]
    Auto,
    /// Native mode or fail.
    Native,
    /// Generic mode: works on any device, slower, copy mode only.
    Generic,
}

/// Settings for [`AfXdpSource::open`]. `AfXdpConfig::new("eth0")` gives the
/// defaults below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfXdpConfig {
    /// Interface name (`eth0`, a veth...).
    pub interface: String,
    /// Receive queue to capture (default 0). Only this queue is captured;
    /// open one source per queue to capture a multi-queue NIC (see the
    /// [module docs](self)).
    pub queue_id: u32,
    /// Frames in the UMEM (default 4096). Packets in flight: the fill ring,
    /// the RX ring and the batch being delivered all hold frames.
    pub frame_count: u32,
    /// Bytes per UMEM frame (default 4096): a power of two from 2048 to the
    /// page size. The largest packet captured is `frame_size - 256`.
    pub frame_size: u32,
    /// Fill ring entries (default 2048, a power of two): frames offered to
    /// the kernel for receiving.
    pub fill_ring_size: u32,
    /// RX ring entries (default 2048, a power of two): received packets not
    /// yet taken by the reader.
    pub rx_ring_size: u32,
    /// Copy or zero-copy (default [`BindMode::Auto`]: the kernel tries
    /// zero-copy and falls back to copy mode, e.g. on veth).
    pub bind_mode: BindMode,
    /// Native or generic XDP (default [`AttachMode::Auto`]).
    pub attach_mode: AttachMode,
    /// Bytes kept per packet (default 262144, as tcpdump). Longer packets are
    /// cut; `orig_len` keeps the length received.
    pub snaplen: u32,
    /// Value of [`Packet::interface_id`] for every packet (default 0).
    pub interface_id: u32,
}

impl AfXdpConfig {
    /// Defaults for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        AfXdpConfig {
            interface: interface.into(),
            ..Default::default()
        }
    }
}

impl Default for AfXdpConfig {
    fn default() -> Self {
        AfXdpConfig {
            interface: String::new(),
            queue_id: 0,
            frame_count: 4096,
            frame_size: 4096,
            fill_ring_size: 2048,
            rx_ring_size: 2048,
            bind_mode: BindMode::Auto,
            attach_mode: AttachMode::Auto,
            snaplen: 262_144,
            interface_id: 0,
        }
    }
}

/// Counters of the socket: `XDP_STATISTICS` from the kernel (cumulative since
/// the socket was opened) and what this source delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AfXdpStats {
    /// Packets delivered by [`next_packet`](PacketSource::next_packet).
    pub packets: u64,
    /// Packets the kernel dropped before the RX ring: no free frame (these
    /// are also counted in `rx_fill_ring_empty_descs`), too long for a frame,
    /// ... (not those of `rx_ring_full`).
    pub rx_dropped: u64,
    /// Packets dropped because of an invalid descriptor.
    pub rx_invalid_descs: u64,
    /// Packets dropped because the RX ring was full (reader too slow).
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty (no frame to receive into:
    /// reader too slow, or too few frames).
    pub rx_fill_ring_empty_descs: u64,
}

/// A live AF_XDP packet source on one interface queue. See the
/// [module docs](self).
pub struct AfXdpSource {
    // The queues hold the socket; xsk-rs deletes it (and libxdp detaches the
    // XDP program with the last socket on the interface) when the last of
    // them and the UMEM go, in whatever order.
    rx: RxQueue,
    fill: FillQueue,
    _comp: CompQueue,
    _tx: TxQueue,
    umem: Umem,
    name: String,
    ifindex: u32,
    queue_id: u32,
    interface_id: u32,
    snaplen: usize,
    frame_size: u32,
    /// `frame_count * frame_size`: descriptors must lie inside.
    umem_len: usize,
    rx_ring_size: usize,
    zero_copy: bool,
    /// Descriptors taken off the RX ring; `batch[pos..len]` not yet delivered.
    batch: Vec<FrameDesc>,
    pos: usize,
    len: usize,
    /// Time the current batch was taken off the RX ring.
    batch_ts: u64,
    /// Frame of the packet returned by the last call: still borrowed by the
    /// caller until the next call.
    delivered: Option<FrameDesc>,
    /// Frames owned by user space and free: handed to the fill ring.
    spare: Vec<FrameDesc>,
    frame: u64,
    position: u64,
    stop: Arc<AtomicBool>,
    /// Set once the stop flag was seen: descriptors still allowed.
    draining: Option<usize>,
    finished: bool,
}

// The source must be movable to a reader thread (xsk-rs makes every part
// `Send`; this fails to compile if that ever changes).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<AfXdpSource>();
};

/// The OS error under an xsk-rs error (its `source()`), if any.
fn os_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    e.source().and_then(|s| s.downcast_ref::<io::Error>())
}

/// Checks the configuration before any system call.
fn validate(cfg: &AfXdpConfig) -> Result<(), String> {
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
    let page = page_size() as u32;
    let fs = cfg.frame_size;
    if !fs.is_power_of_two() || !(MIN_FRAME_SIZE..=page.max(MIN_FRAME_SIZE)).contains(&fs) {
        return Err(format!(
            "frame_size {fs} must be a power of two from {MIN_FRAME_SIZE} to the page size ({page})"
        ));
    }
    if cfg.frame_count == 0 {
        return Err("frame_count must be at least 1".into());
    }
    if u64::from(cfg.frame_count) * u64::from(fs) > isize::MAX as u64 / 2 {
        return Err(format!(
            "UMEM of {} frames of {fs} bytes is too large",
            cfg.frame_count
        ));
    }
    for (what, n) in [
        ("fill_ring_size", cfg.fill_ring_size),
        ("rx_ring_size", cfg.rx_ring_size),
    ] {
        if !n.is_power_of_two() {
            return Err(format!("{what} {n} must be a non-zero power of two"));
        }
    }
    Ok(())
}

/// Turns an errno from socket creation or bind into a plain explanation.
fn explain(name: &str, cfg: &AfXdpConfig, what: &str, err: Option<&io::Error>) -> String {
    let Some(err) = err else {
        return what.to_string();
    };
    let q = cfg.queue_id;
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => format!(
            "{what}: AF_XDP capture needs root, or CAP_NET_RAW (socket) + CAP_NET_ADMIN and \
             CAP_BPF (XDP program) ({err})"
        ),
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => format!(
            "{what}: cannot lock {} bytes of UMEM; raise RLIMIT_MEMLOCK (ulimit -l) or lower \
             frame_count ({err})",
            u64::from(cfg.frame_count) * u64::from(cfg.frame_size)
        ),
        Some(libc::EBUSY) => format!(
            "{what}: queue {q} of {name} is already used by another AF_XDP socket, or another \
             XDP program is attached to {name} ({err})"
        ),
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            format!("{what}: no network interface named {name:?} ({err})")
        }
        Some(libc::EOPNOTSUPP) => format!(
            "{what}: {name} does not support the requested XDP mode (zero-copy or native XDP); \
             use BindMode::Auto / AttachMode::Auto ({err})"
        ),
        Some(libc::EINVAL) => format!(
            "{what}: queue {q} does not exist on {name} (see `ethtool -l {name}`), or the \
             kernel rejected the ring/frame settings ({err})"
        ),
        Some(libc::EAFNOSUPPORT) => {
            format!("{what}: the kernel has no AF_XDP support (CONFIG_XDP_SOCKETS) ({err})")
        }
        _ => format!("{what}: {err}"),
    }
}

impl AfXdpSource {
    /// Opens a capture on queue `cfg.queue_id` of `cfg.interface` (see
    /// [`AfXdpConfig`]) and attaches libxdp's default XSK program, which
    /// takes that queue's received packets away from the kernel stack until
    /// the source is dropped (see the [module docs](self)).
    ///
    /// Needs root (`CAP_NET_RAW`, `CAP_NET_ADMIN`, `CAP_BPF`) and the interface
    /// in this thread's network namespace. Errors have kind
    /// [`CaptureErrorKind::Live`].
    ///
    /// The kernel releases a closed socket's hold on its queue a moment later
    /// (deferred work), so reopening a queue right after dropping a source
    /// can find it busy: `EBUSY` is retried for up to 1 s before it is
    /// reported.
    pub fn open(cfg: AfXdpConfig) -> Result<Self, CaptureError> {
        let start = Instant::now();
        loop {
            let mut busy = false;
            match Self::open_once(&cfg, &mut busy) {
                Err(_) if busy && start.elapsed() < BUSY_RETRY => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => return r,
            }
        }
    }

    fn open_once(cfg: &AfXdpConfig, busy: &mut bool) -> Result<Self, CaptureError> {
        let name = cfg.interface.clone();
        let e = |m: String| live_err(&name, m);
        validate(cfg).map_err(e)?;

        let ifindex = interface_index(&name).map_err(e)?;

        let ring = |n: u32| QueueSize::new(n).map_err(|err| e(err.to_string()));
        let umem_cfg = UmemConfig::builder()
            .frame_size(FrameSize::new(cfg.frame_size).map_err(|err| e(err.to_string()))?)
            .fill_queue_size(ring(cfg.fill_ring_size)?)
            .comp_queue_size(ring(UNUSED_RING)?)
            .frame_headroom(0)
            .build()
            .map_err(|err| e(err.to_string()))?;
        let frame_count = NonZeroU32::new(cfg.frame_count)
            .ok_or_else(|| e("frame_count must be at least 1".into()))?;
        let (umem, frames) = Umem::new(umem_cfg, frame_count, false).map_err(|err| {
            e(explain(
                &name,
                cfg,
                &format!(
                    "cannot create a UMEM of {} x {} bytes ({err})",
                    cfg.frame_count, cfg.frame_size
                ),
                os_error(&err),
            ))
        })?;

        let mut bind = BindFlags::XDP_USE_NEED_WAKEUP;
        match cfg.bind_mode {
            BindMode::Auto => {}
            BindMode::Copy => bind |= BindFlags::XDP_COPY,
            BindMode::ZeroCopy => bind |= BindFlags::XDP_ZEROCOPY,
        }
        let xdp = match cfg.attach_mode {
            AttachMode::Auto => XdpFlags::empty(),
            AttachMode::Native => XdpFlags::XDP_FLAGS_DRV_MODE,
            AttachMode::Generic => XdpFlags::XDP_FLAGS_SKB_MODE,
        };
        let sock_cfg = SocketConfig::builder()
            .rx_queue_size(ring(cfg.rx_ring_size)?)
            .tx_queue_size(ring(UNUSED_RING)?)
            .libxdp_flags(LibxdpFlags::empty())
            .xdp_flags(xdp)
            .bind_flags(bind)
            .build();
        // `interface_index` accepted the name, so it has no NUL byte.
        let cname = CString::new(name.as_str())
            .map_err(|_| e(format!("no network interface named {name:?}")))?;
        let iface = Interface::new(cname);
        // SAFETY: the UMEM is fresh and not shared with any other socket, so
        // the XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD requirement of a shared,
        // already bound UMEM does not apply.
        let (tx, rx, fq_cq) = unsafe { Socket::new(sock_cfg, &umem, &iface, cfg.queue_id) }
            .map_err(|err| {
                *busy = os_error(&err).and_then(|o| o.raw_os_error()) == Some(libc::EBUSY);
                e(explain(
                    &name,
                    cfg,
                    &format!(
                        "cannot bind an AF_XDP socket to queue {} of {name} ({err})",
                        cfg.queue_id
                    ),
                    os_error(&err),
                ))
            })?;
        let (mut fill, comp) =
            fq_cq.ok_or_else(|| e("libxdp returned no fill/completion ring".into()))?;

        // Offer as many frames as the fill ring holds; the rest wait in
        // `spare` and are offered as the kernel uses frames up.
        let mut spare = frames;
        let n = spare.len().min(cfg.fill_ring_size as usize);
        // SAFETY: the descriptors come from this UMEM and none is in use.
        let given = unsafe { fill.produce(&spare[spare.len() - n..]) };
        if given != n {
            return Err(e(format!(
                "could not put {n} frames on the fill ring ({given} accepted)"
            )));
        }
        spare.truncate(spare.len() - n);

        let mut src = AfXdpSource {
            rx,
            fill,
            _comp: comp,
            _tx: tx,
            umem,
            name: name.clone(),
            ifindex,
            queue_id: cfg.queue_id,
            interface_id: cfg.interface_id,
            snaplen: cfg.snaplen as usize,
            frame_size: cfg.frame_size,
            umem_len: cfg.frame_count as usize * cfg.frame_size as usize,
            rx_ring_size: cfg.rx_ring_size as usize,
            zero_copy: false,
            batch: vec![FrameDesc::default(); BATCH],
            pos: 0,
            len: 0,
            batch_ts: 0,
            delivered: None,
            spare,
            frame: 0,
            position: 0,
            stop: Arc::new(AtomicBool::new(false)),
            draining: None,
            finished: false,
        };
        src.zero_copy = src.query_zero_copy()?;
        src.wake_fill();
        Ok(src)
    }

    /// Setting the returned flag makes [`next_packet`](PacketSource::next_packet)
    /// return `Ok(None)` within about 100 ms, after delivering at most what the
    /// RX ring already held.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Kernel counters (`XDP_STATISTICS`) and packets delivered.
    pub fn stats(&self) -> Result<AfXdpStats, CaptureError> {
        let st = self
            .rx
            .fd()
            .xdp_statistics()
            .map_err(|err| self.err(format!("cannot read XDP_STATISTICS: {err}")))?;
        Ok(AfXdpStats {
            packets: self.frame,
            rx_dropped: st.rx_dropped(),
            rx_invalid_descs: st.rx_invalid_descs(),
            rx_ring_full: st.rx_ring_full(),
            rx_fill_ring_empty_descs: st.rx_fill_ring_empty_descs(),
        })
    }

    /// True when the socket is bound in zero-copy mode (`XDP_OPTIONS`), false
    /// in copy mode.
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// `LINKTYPE_*` of the packets: always Ethernet (XDP sees L2 frames).
    pub fn link_type(&self) -> u32 {
        linktype::ETHERNET
    }

    /// Kernel interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The receive queue captured.
    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// Longest packet the UMEM frames hold (`frame_size - 256`); the kernel
    /// drops longer ones (counted in [`AfXdpStats::rx_dropped`]).
    pub fn max_packet_len(&self) -> u32 {
        self.frame_size - XDP_PACKET_HEADROOM
    }

    fn err(&self, message: String) -> CaptureError {
        CaptureError {
            source_name: self.name.clone(),
            offset: self.position,
            kind: CaptureErrorKind::Live,
            message,
        }
    }

    fn query_zero_copy(&self) -> Result<bool, CaptureError> {
        let mut flags: u32 = 0;
        let mut len = size_of::<u32>() as libc::socklen_t;
        // SAFETY: `flags` (`struct xdp_options`, one u32) is writable for
        // `len` bytes; the kernel writes at most that.
        let rc = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_XDP,
                XDP_OPTIONS,
                (&mut flags as *mut u32).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if is_perm(&err) {
                return Err(self.err(format!("cannot read XDP_OPTIONS: {err}")));
            }
            // Kernels before 5.3 lack XDP_OPTIONS; they only had copy mode
            // on most drivers.
            return Ok(false);
        }
        Ok(flags & XDP_OPTIONS_ZEROCOPY != 0)
    }

    /// Gives the spare frames to the fill ring (as many as fit).
    fn refill(&mut self) {
        if self.spare.is_empty() {
            return;
        }
        let free = self.fill.nb_free(self.spare.len() as u32) as usize;
        let n = free.min(self.spare.len());
        if n == 0 {
            return;
        }
        let start = self.spare.len() - n;
        // SAFETY: the descriptors belong to this UMEM and are owned by user
        // space: taken off the RX ring and no longer borrowed (the packet of
        // `delivered` is moved here only at the next `next_packet` call, which
        // needs `&mut self`), or never handed to the kernel yet.
        let given = unsafe { self.fill.produce(&self.spare[start..]) };
        // `produce` is all-or-nothing and `n` entries were free.
        if given == n {
            self.spare.truncate(start);
        }
        self.wake_fill();
    }

    /// In zero-copy mode with `XDP_USE_NEED_WAKEUP`, a driver that ran out
    /// of fill frames waits for a kick.
    fn wake_fill(&mut self) {
        if self.fill.needs_wakeup() {
            let _ = self.fill.wakeup(self.rx.fd_mut(), 0);
        }
    }

    /// Waits up to 100 ms for the RX ring; `Err` when the socket reports an
    /// error (interface gone).
    fn wait(&mut self) -> Result<bool, CaptureError> {
        let mut pfd = libc::pollfd {
            fd: self.as_raw_fd(),
            events: libc::POLLIN,
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
            // The kernel reports POLLERR once the device is unregistered
            // (xsk_unbind_dev on NETDEV_UNREGISTER).
            return Err(self.err("the interface went away (AF_XDP socket unbound)".into()));
        }
        Ok(rc > 0)
    }
}

impl AfXdpSource {
    /// The next packet; with `idle`, [`SourceEvent::Idle`] when a wait
    /// times out with nothing to read.
    fn read(&mut self, idle: bool) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        // The packet returned by the previous call is no longer borrowed
        // (this call holds `&mut self`): its frame can be reused.
        if let Some(d) = self.delivered.take() {
            self.spare.push(d);
        }
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.pos < self.len {
                let desc = self.batch[self.pos];
                self.pos += 1;
                let len = desc.lengths().data();
                if desc
                    .addr()
                    .checked_add(len)
                    .is_none_or(|end| end > self.umem_len)
                {
                    // Never written by a sane kernel; drop, do not touch.
                    self.spare.push(desc);
                    continue;
                }
                self.delivered = Some(desc);
                let caplen = len.min(self.snaplen);
                self.frame += 1;
                self.position += caplen as u64;
                // SAFETY: the descriptor came off this UMEM's RX ring and lies
                // inside it (checked above). User space owns the frame until
                // it goes back to the fill ring, which happens only after the
                // next `next_packet` call moves it from `delivered` to
                // `spare`; that call needs `&mut self`, so the returned borrow
                // has ended by then. The UMEM lives as long as `self`.
                let data = unsafe { self.umem.data(&desc) }.contents();
                return Ok(Some(SourceEvent::Packet(Packet {
                    frame: self.frame,
                    ts_ns: self.batch_ts,
                    link_type: linktype::ETHERNET,
                    interface_id: self.interface_id,
                    orig_len: len as u32,
                    data: &data[..caplen],
                })));
            }
            // Batch delivered: every frame of it is free again.
            self.refill();
            if self.draining.is_none() && self.stop.load(Ordering::Relaxed) {
                // Deliver at most what the RX ring holds now, then end.
                self.draining = Some(self.rx_ring_size);
            }
            let want = match self.draining {
                Some(0) => {
                    self.finished = true;
                    return Ok(None);
                }
                Some(left) => left.min(BATCH),
                None => BATCH,
            };
            // SAFETY: the descriptors written are this UMEM's (the RX ring
            // belongs to a socket bound to it).
            let n = unsafe { self.rx.consume(&mut self.batch[..want]) };
            if n > 0 {
                self.batch_ts = now_ns();
                self.pos = 0;
                self.len = n;
                if let Some(left) = self.draining.as_mut() {
                    *left -= n;
                }
                continue;
            }
            if self.draining.is_some() {
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

impl PacketSource for AfXdpSource {
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
        Some(AfXdpSource::stop_handle(self))
    }

    fn live_stats(&self) -> Option<LiveStats> {
        // What reached the socket: delivered, plus lost in the kernel.
        self.stats().ok().map(|s| {
            let dropped = s.rx_dropped + s.rx_ring_full + s.rx_invalid_descs;
            LiveStats {
                received: s.packets + dropped,
                dropped,
                overruns: s.rx_fill_ring_empty_descs,
            }
        })
    }
}

impl AsRawFd for AfXdpSource {
    fn as_raw_fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
    }
}

impl std::fmt::Debug for AfXdpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfXdpSource")
            .field("interface", &self.name)
            .field("ifindex", &self.ifindex)
            .field("queue_id", &self.queue_id)
            .field("zero_copy", &self.zero_copy)
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
        assert!(validate(&AfXdpConfig::new("eth0")).is_ok());
        let bad = |f: fn(&mut AfXdpConfig)| {
            let mut c = AfXdpConfig::new("eth0");
            f(&mut c);
            validate(&c).unwrap_err()
        };
        assert!(bad(|c| c.frame_size = 3000).contains("power of two"));
        assert!(bad(|c| c.frame_size = 1024).contains("from 2048"));
        assert!(bad(|c| c.frame_size = 1 << 20).contains("page size"));
        assert!(bad(|c| c.frame_count = 0).contains("frame_count"));
        assert!(bad(|c| c.fill_ring_size = 1000).contains("fill_ring_size"));
        assert!(bad(|c| c.rx_ring_size = 0).contains("rx_ring_size"));
        assert!(bad(|c| c.interface = "x".repeat(16)).contains("invalid name"));
        assert!(bad(|c| c.interface.clear()).contains("no interface"));
        assert!(bad(|c| c.snaplen = 0).contains("snaplen"));
    }
}
