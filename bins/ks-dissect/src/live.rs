//! `ks-dissect -i IFACE`: opens the sources of the chosen backend, hands them to
//! `ks_engine::live`, prints entries as they complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::ValueEnum;
use ks_capture::{CaptureError, PacketSource, PcapngWriter};
use ks_engine::live::{Live, LiveEvent, LiveOptions, LiveSource, LiveSummary, PlaintextFeed};
use ks_engine::EngineConfig;

/// Live capture backend (docs/capture.md compares them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// AF_PACKET socket with a TPACKET_V3 ring (needs root or CAP_NET_RAW).
    Afpacket,
    /// libpcap (feature `libpcap`); the only one with the `any` device.
    Libpcap,
    /// AF_XDP socket (feature `afxdp`): takes the packets of its queue away
    /// from the kernel, so capture on a mirror port.
    Afxdp,
    /// eBPF socket filter feeding a ring buffer (feature `ebpf`; root or
    /// CAP_BPF + CAP_NET_RAW).
    Ebpf,
}

/// What `-i` and its companions asked for.
pub struct LiveArgs {
    pub interfaces: Vec<String>,
    pub backend: Backend,
    pub filter: Option<String>,
    pub snaplen: u32,
    pub workers: usize,
    pub write: Option<PathBuf>,
    pub packet_limit: Option<u64>,
    pub duration: Option<f64>,
}

type Recorder = Arc<Mutex<PcapngWriter<BufWriter<File>>>>;

/// Opens every source (all before any packet is read, so a bad interface
/// or filter fails at once), and the `-w` file; `feeds` (TLS plaintext) are
/// dissected beside the packets.
pub fn start(
    args: &LiveArgs,
    feeds: Vec<PlaintextFeed>,
    cfg: &EngineConfig,
) -> Result<(Live, Option<Recorder>), String> {
    // (interface index, its link type, the source)
    let mut sources: Vec<(usize, u32, LiveSource)> = Vec::new();
    for (i, iface) in args.interfaces.iter().enumerate() {
        for w in 0..args.workers {
            let (src, link) = open(args, iface, i as u32, w)?;
            let name = if args.workers > 1 {
                format!("{iface}#{w}")
            } else {
                iface.clone()
            };
            sources.push((
                i,
                link,
                LiveSource {
                    name,
                    source: src,
                    tap: None,
                },
            ));
        }
    }
    let recorder = match &args.write {
        None => None,
        Some(path) => {
            let file =
                File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let mut w = PcapngWriter::new(
                BufWriter::with_capacity(1 << 20, file),
                concat!("ks-dissect ", env!("CARGO_PKG_VERSION")),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            for (i, iface) in args.interfaces.iter().enumerate() {
                let link = sources
                    .iter()
                    .find(|(j, _, _)| *j == i)
                    .map_or(ks_capture::linktype::ETHERNET, |(_, l, _)| *l);
                w.add_interface(iface, link, args.snaplen)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Some(Arc::new(Mutex::new(w)))
        }
    };
    let live_sources = sources
        .into_iter()
        .map(|(_, _, mut s)| {
            if let Some(rec) = &recorder {
                let rec = Arc::clone(rec);
                let path = args.write.clone().unwrap_or_default();
                let mut failed = false;
                s.tap = Some(Box::new(move |p| {
                    let r = match rec.lock() {
                        Ok(mut w) => w.write_packet(p),
                        Err(_) => return,
                    };
                    if let Err(e) = r {
                        if !failed {
                            eprintln!("ks-dissect: writing {}: {e}", path.display());
                            failed = true;
                        }
                    }
                }));
            }
            s
        })
        .collect();
    // Said once every source is open (scripts wait for this line, as for
    // tshark's "Capturing on").
    if !args.interfaces.is_empty() {
        eprintln!(
            "ks-dissect: capturing on {} ({}{})",
            args.interfaces.join(", "),
            format!("{:?}", args.backend).to_lowercase(),
            args.filter
                .as_ref()
                .map(|f| format!(", filter {f:?}"))
                .unwrap_or_default()
        );
    }
    for f in &feeds {
        eprintln!("ks-dissect: capturing from {}", f.name);
    }
    let live = Live::start_all(
        live_sources,
        feeds,
        cfg.clone(),
        LiveOptions {
            packet_limit: args.packet_limit,
            ..LiveOptions::default()
        },
    );
    if let Some(secs) = args.duration {
        let stop = live.stop_handle();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
            stop.store(true, Ordering::Relaxed);
        });
    }
    let stop = live.stop_handle();
    if let Err(e) = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed)) {
        eprintln!("ks-dissect: Ctrl-C will not stop the capture cleanly: {e}");
    }
    Ok((live, recorder))
}

/// Ends the run: joins the workers, flushes the `-w` file, and prints the
/// kernel's counters of every source (unless `quiet`).
pub fn finish(
    live: Live,
    recorder: Option<Recorder>,
    path: Option<&PathBuf>,
    quiet: bool,
) -> (LiveSummary, bool) {
    let summary = live.finish();
    let mut failed = false;
    if let (Some(rec), Some(path)) = (recorder, path) {
        let flushed = match rec.lock() {
            Ok(mut w) => w.flush(),
            Err(_) => Err(std::io::Error::other("a worker panicked while writing")),
        };
        if let Err(e) = flushed {
            eprintln!("ks-dissect: writing {}: {e}", path.display());
            failed = true;
        }
    }
    if !quiet {
        for (name, k) in &summary.sources {
            match k {
                Some(k) => eprintln!(
                    "ks-dissect: {name}: {} packets received by the capture, {} dropped by it, {} overruns",
                    k.received, k.dropped, k.overruns
                ),
                None => eprintln!("ks-dissect: {name}: no kernel counters"),
            }
        }
    }
    (summary, failed)
}

/// Prints an event's message when it is an error; returns whether it was one.
pub fn report(ev: &LiveEvent) -> bool {
    if let LiveEvent::Error { source, error } = ev {
        eprintln!("ks-dissect: {source}: {error}");
        return true;
    }
    false
}

fn fanout_group(iface_index: u32) -> u16 {
    (std::process::id() as u16).wrapping_add(iface_index as u16)
}

fn cap_err(e: CaptureError) -> String {
    e.to_string()
}

fn open(
    args: &LiveArgs,
    iface: &str,
    index: u32,
    worker: usize,
) -> Result<(Box<dyn PacketSource + Send>, u32), String> {
    let unsupported_filter = |backend: &str| {
        format!(
            "-f: the {backend} backend cannot apply a capture filter (use --backend afpacket or libpcap)"
        )
    };
    if iface == "any" && args.backend != Backend::Libpcap {
        return Err(format!(
            "-i any: only the libpcap backend captures every interface at once (--backend libpcap); \
             with {}, name the interfaces (-i eth0 -i eth1)",
            format!("{:?}", args.backend).to_lowercase()
        ));
    }
    match args.backend {
        Backend::Afpacket => {
            let mut cfg = ks_capture::AfPacketConfig::new(iface);
            cfg.snaplen = args.snaplen;
            cfg.interface_id = index;
            if args.workers > 1 {
                cfg.fanout = Some(fanout_group(index));
            }
            let Some(f) = &args.filter else {
                let src = ks_capture::AfPacketSource::open(cfg).map_err(cap_err)?;
                let link = src.link_type();
                return Ok((Box::new(src), link));
            };
            // Attached before the socket is bound, so no unfiltered packet
            // gets in; compiled for Ethernet, which nearly every interface is.
            let eth = ks_capture::linktype::ETHERNET;
            let prog = compile(f, eth, args.snaplen)?;
            let mut src =
                ks_capture::AfPacketSource::open_with_filter(cfg, &prog).map_err(cap_err)?;
            let link = src.link_type();
            if link != eth {
                // A raw-IP interface (tun, wireguard): compile again for it.
                src.set_filter(&compile(f, link, args.snaplen)?)
                    .map_err(cap_err)?;
            }
            Ok((Box::new(src), link))
        }
        Backend::Libpcap => {
            #[cfg(feature = "libpcap")]
            {
                if worker > 0 {
                    return Err("--threads: the libpcap backend has no fanout; use --backend afpacket for several workers per interface".into());
                }
                let mut cfg = ks_capture::PcapConfig::new(iface);
                cfg.snaplen = args.snaplen;
                cfg.interface_id = index;
                cfg.filter = args.filter.clone();
                let src = ks_capture::PcapSource::open(cfg).map_err(cap_err)?;
                let link = src.link_type();
                Ok((Box::new(src), link))
            }
            #[cfg(not(feature = "libpcap"))]
            {
                let _ = worker;
                Err(
                    "--backend libpcap: this ks-dissect was built without the `libpcap` feature"
                        .into(),
                )
            }
        }
        Backend::Afxdp => {
            #[cfg(feature = "afxdp")]
            {
                if args.filter.is_some() {
                    return Err(unsupported_filter("afxdp"));
                }
                let mut cfg = ks_capture::AfXdpConfig::new(iface);
                cfg.snaplen = args.snaplen;
                cfg.interface_id = index;
                // One source per receive queue: worker w takes queue w.
                cfg.queue_id = worker as u32;
                let src = ks_capture::AfXdpSource::open(cfg).map_err(cap_err)?;
                let link = src.link_type();
                Ok((Box::new(src), link))
            }
            #[cfg(not(feature = "afxdp"))]
            {
                let _ = (unsupported_filter, worker);
                Err("--backend afxdp: this ks-dissect was built without the `afxdp` feature".into())
            }
        }
        Backend::Ebpf => {
            #[cfg(feature = "ebpf")]
            {
                if args.filter.is_some() {
                    return Err(unsupported_filter("ebpf"));
                }
                if worker > 0 {
                    return Err("--threads: the ebpf backend runs one reader per interface".into());
                }
                let mut cfg = ks_capture::EbpfConfig::new(iface);
                cfg.snaplen = args.snaplen.min(ks_capture::ebpf::MAX_SNAPLEN);
                cfg.interface_id = index;
                let src = ks_capture::EbpfSource::open(cfg).map_err(cap_err)?;
                let link = src.link_type();
                Ok((Box::new(src), link))
            }
            #[cfg(not(feature = "ebpf"))]
            {
                let _ = (unsupported_filter, worker);
                Err("--backend ebpf: this ks-dissect was built without the `ebpf` feature".into())
            }
        }
    }
}

#[cfg(feature = "libpcap")]
fn compile(
    filter: &str,
    link_type: u32,
    snaplen: u32,
) -> Result<Vec<ks_capture::SockFilter>, String> {
    ks_capture::compile_filter(filter, link_type, snaplen)
        .map_err(|e| format!("-f {filter:?}: {e}"))
}

#[cfg(not(feature = "libpcap"))]
fn compile(
    _filter: &str,
    _link_type: u32,
    _snaplen: u32,
) -> Result<Vec<ks_capture::SockFilter>, String> {
    Err(
        "-f: this ks-dissect was built without the `libpcap` feature, which compiles filters"
            .into(),
    )
}
