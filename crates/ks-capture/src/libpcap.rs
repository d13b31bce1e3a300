//! Live capture through libpcap (feature `libpcap`; Debian: `libpcap-dev`),
//! and tcpdump-syntax capture filters compiled by libpcap for the other
//! backends ([`compile_filter`]).
//!
//! ```no_run
//! use ks_capture::libpcap::{PcapConfig, PcapSource};
//! use ks_capture::PacketSource;
//!
//! let mut cfg = PcapConfig::new("any"); // every interface, Linux cooked headers
//! cfg.filter = Some("tcp port 80".into());
//! let mut src = PcapSource::open(cfg)?;
//! while let Some(pkt) = src.next_packet()? {
//!     println!("frame {}: {} bytes, link type {}", pkt.frame, pkt.data.len(), pkt.link_type);
//! }
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! libpcap on Linux reads its own `TPACKET_V3` ring; packets are borrowed
//! from it as with [`AfPacketSource`](crate::AfPacketSource). What this
//! backend adds: the `any` device, and the interface names libpcap knows.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use pcap::{Active, Capture, Linktype, Precision};

use crate::afpacket::SockFilter;
use crate::sys::live_err;
use crate::{now_ns, CaptureError, LiveStats, Packet, PacketSource, SourceEvent};

/// Settings for [`PcapSource::open`]; `PcapConfig::new("eth0")` gives the
/// defaults below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapConfig {
    /// Device name (`eth0`, `lo`, `any`...).
    pub interface: String,
    /// Bytes kept per packet (default 262144, as tcpdump).
    pub snaplen: u32,
    /// Promiscuous mode (default true; ignored by `any`).
    pub promiscuous: bool,
    /// libpcap's buffer in bytes (default 64 MiB, the size of the AF_PACKET
    /// backend's ring).
    pub buffer_size: u32,
    /// A capture filter in tcpdump syntax, applied in the kernel.
    pub filter: Option<String>,
    /// Value of [`Packet::interface_id`] for every packet (default 0).
    pub interface_id: u32,
}

impl PcapConfig {
    /// Defaults for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        PcapConfig {
            interface: interface.into(),
            snaplen: 262_144,
            promiscuous: true,
            buffer_size: 64 << 20,
            filter: None,
            interface_id: 0,
        }
    }
}

/// A live libpcap capture on one device. See the [module docs](self).
pub struct PcapSource {
    cap: Capture<Active>,
    name: String,
    link_type: u32,
    interface_id: u32,
    frame: u64,
    position: u64,
    stop: Arc<AtomicBool>,
    finished: bool,
    stats: LiveStats,
    stats_at: Instant,
}

/// How long one wait lasts before the stop flag is looked at again.
const POLL_MS: libc::c_int = 100;

/// libpcap's message, with what to do about it when it is a permission error.
fn explain(e: &pcap::Error) -> String {
    let msg = e.to_string();
    if msg.contains("Operation not permitted") || msg.contains("Permission denied") {
        format!("{msg} (live capture needs root or CAP_NET_RAW)")
    } else {
        msg
    }
}

impl PcapSource {
    /// Opens `cfg.interface` with libpcap, in immediate mode with nanosecond
    /// timestamps, and installs `cfg.filter`.
    pub fn open(cfg: PcapConfig) -> Result<Self, CaptureError> {
        let name = cfg.interface.clone();
        let err = |what: &str, e: pcap::Error| live_err(&name, format!("{what}: {}", explain(&e)));
        if name.is_empty() || name.contains('\0') {
            return Err(live_err(&name, "no interface name given".into()));
        }
        let snaplen = i32::try_from(cfg.snaplen.max(1)).unwrap_or(i32::MAX);
        let buffer = i32::try_from(cfg.buffer_size).unwrap_or(i32::MAX);
        let cap = Capture::from_device(name.as_str())
            .map_err(|e| err("cannot use device", e))?
            .promisc(cfg.promiscuous)
            .snaplen(snaplen)
            .buffer_size(buffer)
            .immediate_mode(true)
            .precision(Precision::Nano)
            // The read timeout is how often an idle source looks at its stop
            // flag and reports idleness.
            .timeout(100)
            .open()
            .map_err(|e| err("cannot open", e))?;
        // Non-blocking, with our own poll(2): libpcap's blocking read on
        // Linux waits until a packet comes whatever the timeout, so an idle
        // link would never see its stop flag.
        let mut cap = cap
            .setnonblock()
            .map_err(|e| err("cannot make the capture non-blocking", e))?;
        if let Some(f) = &cfg.filter {
            cap.filter(f, true)
                .map_err(|e| live_err(&name, format!("capture filter {f:?}: {e}")))?;
        }
        let link_type = cap.get_datalink().0 as u32;
        Ok(PcapSource {
            cap,
            name,
            link_type: crate::linktype::from_stored(link_type),
            interface_id: cfg.interface_id,
            frame: 0,
            position: 0,
            stop: Arc::new(AtomicBool::new(false)),
            finished: false,
            stats: LiveStats::default(),
            stats_at: Instant::now(),
        })
    }

    /// `LINKTYPE_*` of the packets (Ethernet; `LINUX_SLL` for `any`).
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Setting the flag ends the capture (`Ok(None)`) within about 100 ms.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    fn refresh_stats(&mut self) {
        if let Ok(s) = self.cap.stats() {
            self.stats = LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                overruns: u64::from(s.if_dropped),
            };
        }
        self.stats_at = Instant::now();
    }

    /// Waits up to 100 ms for the capture to become readable: `Ok(false)` on a
    /// timeout.
    fn wait(&mut self) -> Result<bool, CaptureError> {
        let mut pfd = libc::pollfd {
            fd: self.cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(true);
            }
            self.finished = true;
            return Err(live_err(&self.name, format!("poll: {e}")));
        }
        // Errors (interface gone) come out of the next read.
        Ok(rc > 0)
    }

    fn read(&mut self, idle: bool) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.stop.load(Ordering::Relaxed) {
                self.refresh_stats();
                self.finished = true;
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    let h = *p.header;
                    let data: *const [u8] = p.data;
                    self.frame += 1;
                    self.position += h.caplen as u64;
                    // With nanosecond precision libpcap stores nanoseconds in
                    // `tv_usec`.
                    let ts_ns = (h.ts.tv_sec as u64)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(h.ts.tv_usec as u64);
                    // SAFETY: `data` points into libpcap's buffer, valid until
                    // the next `pcap_next_ex` on this handle. That call needs
                    // `&mut self`, so it cannot happen while the returned
                    // packet (which borrows `self`) is alive. The raw pointer
                    // only sidesteps the borrow checker's rejection of a
                    // borrow returned from one arm of a loop.
                    let data = unsafe { &*data };
                    return Ok(Some(SourceEvent::Packet(Packet {
                        frame: self.frame,
                        ts_ns,
                        link_type: self.link_type,
                        interface_id: self.interface_id,
                        orig_len: h.len,
                        data,
                    })));
                }
                // Non-blocking mode: nothing to read right now.
                Err(pcap::Error::TimeoutExpired) => {
                    // Counters are refreshed between bursts, not per packet
                    // (and at the end, whatever happens).
                    if self.stats_at.elapsed().as_secs() >= 1 {
                        self.refresh_stats();
                    }
                    if !self.wait()? && idle {
                        return Ok(Some(SourceEvent::Idle { now_ns: now_ns() }));
                    }
                }
                Err(e) => {
                    self.refresh_stats();
                    self.finished = true;
                    return Err(live_err(&self.name, explain(&e)));
                }
            }
        }
    }
}

impl PacketSource for PcapSource {
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
        Some(PcapSource::stop_handle(self))
    }

    fn live_stats(&self) -> Option<LiveStats> {
        Some(self.stats)
    }
}

impl std::fmt::Debug for PcapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSource")
            .field("interface", &self.name)
            .field("link_type", &self.link_type)
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

/// Compiles a tcpdump-syntax filter for packets of `link_type` into classic
/// BPF for [`AfPacketSource::set_filter`](crate::AfPacketSource::set_filter)
/// (libpcap's `pcap_compile`, optimised). An accepting program keeps up to
/// `snaplen` bytes. The error is libpcap's message.
///
/// Filters are compiled for packets as the socket sees them: on AF_PACKET the
/// kernel has already removed an offloaded VLAN tag, so `vlan` primitives do
/// not match there (tcpdump has the same limit with `pcap_open_dead`).
pub fn compile_filter(expr: &str, link_type: u32, snaplen: u32) -> Result<Vec<SockFilter>, String> {
    let lt = i32::try_from(link_type).map_err(|_| format!("link type {link_type} out of range"))?;
    let dead = Capture::dead(Linktype(lt)).map_err(|e| e.to_string())?;
    let prog = dead.compile(expr, true).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for insn in prog.get_instructions() {
        // The pcap crate exposes an instruction only through Display
        // ("code jt jf k"); reading that keeps this module free of layout
        // assumptions.
        let text = insn.to_string();
        let f: Vec<&str> = text.split_whitespace().collect();
        let parsed = (f.len() == 4)
            .then(|| {
                Some((
                    f[0].parse().ok()?,
                    f[1].parse().ok()?,
                    f[2].parse().ok()?,
                    f[3].parse().ok()?,
                ))
            })
            .flatten();
        let Some((code, jt, jf, k)) = parsed else {
            return Err(format!("unexpected instruction from libpcap: {text:?}"));
        };
        let mut k: u32 = k;
        // pcap_open_dead fixes the snap length at 65535; an accepting return
        // keeps that many bytes, so widen it to the capture's snaplen.
        if code == crate::afpacket::bpf::RET_K && k != 0 {
            k = snaplen.max(1);
        }
        out.push(SockFilter::jump(code, k, jt, jf));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype;

    #[test]
    fn a_filter_compiles_to_what_tcpdump_dd_prints() {
        // `tcpdump -dd -y EN10MB 'ip and tcp'` (libpcap 1.10), with the
        // accepting return widened from 262144 to the snaplen asked for.
        let prog = compile_filter("ip and tcp", linktype::ETHERNET, 1000).unwrap();
        let want = [
            SockFilter::jump(0x28, 12, 0, 0),
            SockFilter::jump(0x15, 0x0800, 0, 3),
            SockFilter::jump(0x30, 23, 0, 0),
            SockFilter::jump(0x15, 6, 0, 1),
            SockFilter::jump(0x06, 1000, 0, 0),
            SockFilter::jump(0x06, 0, 0, 0),
        ];
        assert_eq!(prog, want);
    }

    #[test]
    fn a_bad_filter_says_why() {
        let e = compile_filter("tcp port eighty", linktype::ETHERNET, 1000).unwrap_err();
        assert!(e.contains("eighty"), "{e}");
    }
}
