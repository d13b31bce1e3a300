//! Live dissection: each source (an interface, or one member of an
//! interface's fanout group) is dissected by its own [`Engine`] on its own
//! thread; entries come back through one bounded channel as their exchanges
//! complete.
//!
//! ```no_run
//! use ks_capture::{AfPacketConfig, AfPacketSource};
//! use ks_engine::live::{Live, LiveEvent, LiveOptions, LiveSource};
//! use ks_engine::{EngineConfig, Output};
//!
//! let src = AfPacketSource::open(AfPacketConfig::new("eth0"))?;
//! let live = Live::start(vec![LiveSource::new("eth0", src)], EngineConfig::default(), LiveOptions::default());
//! let stop = live.stop_handle(); // set it (Ctrl-C handler, timer...) to end
//! for event in &live {
//!     match event {
//!         LiveEvent::Output(Output::Entry(e)) => println!("{}", e.summary),
//!         LiveEvent::Output(_) => {}
//!         LiveEvent::Error { source, error } => eprintln!("{source}: {error}"),
//!     }
//! }
//! let summary = live.finish();
//! println!("{} packets, {:?}", summary.stats.packets, summary.sources);
//! # drop(stop);
//! # Ok::<(), ks_capture::CaptureError>(())
//! ```
//!
//! Why one engine per source rather than one engine fed by all of them: a
//! fanout group already hands each socket whole flows, so the engines share
//! nothing and need no locks; and a packet seen on two interfaces (a pod's
//! veth and the node's uplink) is two observations, each dissected whole in
//! its own right, as tshark does with `-i a -i b`. Memory stays bounded: each
//! engine keeps its own caps, and the channel holds at most
//! [`LiveOptions::channel_capacity`] outputs; when the consumer is slower
//! than that, the workers wait and the kernel counts the drops (reported in
//! [`LiveSummary::sources`]). From async code, run the loop over events in
//! `spawn_blocking` (or a thread) and forward what it gets.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ks_capture::{CaptureError, LiveStats, Packet, PacketSource, SourceEvent};

use crate::plain::PlainChunk;
use crate::{Engine, EngineConfig, Output, Stats};

/// Called with every packet a worker dissects, before the engine sees it
/// (e.g. to record the capture).
pub type PacketTap = Box<dyn FnMut(&Packet<'_>) + Send>;

/// One source to dissect live, with its name (for messages and the
/// summary) and an optional [`PacketTap`].
pub struct LiveSource {
    /// Shown in errors and in the summary (the interface name, say).
    pub name: String,
    /// Where the packets come from.
    pub source: Box<dyn PacketSource + Send>,
    /// Sees every packet dissected, first.
    pub tap: Option<PacketTap>,
}

impl LiveSource {
    /// `source` named `name`, without a tap.
    pub fn new(name: impl Into<String>, source: impl PacketSource + Send + 'static) -> Self {
        LiveSource {
            name: name.into(),
            source: Box::new(source),
            tap: None,
        }
    }
}

/// What a [`PlaintextSource`] yields.
#[derive(Debug)]
pub enum PlainEvent<'a> {
    /// Plaintext from a TLS library call.
    Chunk(PlainChunk<'a>),
    /// Nothing came for a while; the wall clock is `now_ns` (lets idle
    /// connections end).
    Idle {
        /// ns since the Unix epoch.
        now_ns: u64,
    },
}

/// Where TLS plaintext comes from (`ks-tls-trace`'s tracer, in `ks-dissect`):
/// the engine has no eBPF of its own.
pub trait PlaintextSource {
    /// The next event, waiting at most about 100 ms (then `Idle`); `Ok(None)`
    /// once stopped and drained. An error ends the source.
    fn next_plain(&mut self) -> Result<Option<PlainEvent<'_>>, CaptureError>;
    /// Setting the flag makes [`next_plain`](Self::next_plain) return
    /// `Ok(None)` soon, after what is already there.
    fn stop_handle(&self) -> Arc<AtomicBool>;
}

/// A [`PlaintextSource`] with its name, for [`Live::start_all`].
pub struct PlaintextFeed {
    /// Shown in errors and in the summary.
    pub name: String,
    /// Where the plaintext comes from.
    pub source: Box<dyn PlaintextSource + Send>,
}

impl PlaintextFeed {
    /// `source` named `name`.
    pub fn new(name: impl Into<String>, source: impl PlaintextSource + Send + 'static) -> Self {
        PlaintextFeed {
            name: name.into(),
            source: Box::new(source),
        }
    }
}

/// Settings of [`Live::start`].
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Stop after this many packets in all (like `tshark -c`): exactly this
    /// many are dissected and given to the taps.
    pub packet_limit: Option<u64>,
    /// Outputs the channel holds before the workers wait (default 4096).
    pub channel_capacity: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            packet_limit: None,
            channel_capacity: 4096,
        }
    }
}

/// What [`Live`] yields.
#[derive(Debug)]
pub enum LiveEvent {
    /// An entry or flow record, as soon as it is complete.
    Output(Output),
    /// A source failed (interface removed...); the other sources go on.
    Error {
        /// The [`LiveSource::name`] of the source.
        source: String,
        /// What went wrong.
        error: CaptureError,
    },
}

/// Counters at the end of a live run.
#[derive(Clone, Debug, Default)]
pub struct LiveSummary {
    /// The engines' counters, summed.
    pub stats: Stats,
    /// Each source's name and its kernel (or library) counters.
    pub sources: Vec<(String, Option<LiveStats>)>,
}

/// A running live dissection. See the [module docs](self).
pub struct Live {
    rx: Receiver<LiveEvent>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<(String, Stats, Option<LiveStats>)>>,
}

impl Live {
    /// Starts one worker thread per source.
    pub fn start(sources: Vec<LiveSource>, cfg: EngineConfig, opts: LiveOptions) -> Live {
        Self::start_all(sources, Vec::new(), cfg, opts)
    }

    /// Like [`start`](Self::start), with TLS plaintext feeds as well: each
    /// gets a worker and an engine of its own, and their entries (marked
    /// `tls`, with the process) come through the same channel.
    /// [`LiveOptions::packet_limit`] counts packets only.
    pub fn start_all(
        sources: Vec<LiveSource>,
        feeds: Vec<PlaintextFeed>,
        cfg: EngineConfig,
        opts: LiveOptions,
    ) -> Live {
        let (tx, rx) = sync_channel(opts.channel_capacity.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let counted = Arc::new(AtomicU64::new(0));
        let worker = || Worker {
            tx: tx.clone(),
            stop: Arc::clone(&stop),
            counted: Arc::clone(&counted),
            limit: opts.packet_limit,
        };
        let mut workers: Vec<JoinHandle<_>> = feeds
            .into_iter()
            .map(|f| {
                let w = worker();
                let cfg = cfg.clone();
                std::thread::Builder::new()
                    .name(format!("ks-live {}", f.name))
                    .spawn(move || w.run_plain(f, cfg))
                    .expect("cannot spawn a live worker thread")
            })
            .collect();
        let packet_workers = sources
            .into_iter()
            .map(|s| {
                let w = worker();
                let cfg = cfg.clone();
                std::thread::Builder::new()
                    .name(format!("ks-live {}", s.name))
                    .spawn(move || w.run(s, cfg))
                    .expect("cannot spawn a live worker thread")
            })
            .collect::<Vec<_>>();
        workers.extend(packet_workers);
        Live { rx, stop, workers }
    }

    /// Setting the flag ends every source within about 100 ms; what they
    /// hold is still dissected, and every flow is finished (its entries
    /// emitted) before the events end.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The next event, waiting for it; `None` once every worker has ended.
    pub fn recv(&self) -> Option<LiveEvent> {
        self.rx.recv().ok()
    }

    /// Like [`recv`](Self::recv), waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<LiveEvent, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// Stops the sources if still running, discards events not yet read,
    /// joins the workers and returns the counters.
    pub fn finish(self) -> LiveSummary {
        self.stop.store(true, Ordering::Relaxed);
        // Keep draining so no worker stays blocked on a full channel.
        while self.rx.recv().is_ok() {}
        let mut summary = LiveSummary::default();
        for w in self.workers {
            if let Ok((name, stats, live)) = w.join() {
                summary.stats.merge(&stats);
                summary.sources.push((name, live));
            }
        }
        summary
    }
}

impl Iterator for &Live {
    type Item = LiveEvent;
    fn next(&mut self) -> Option<LiveEvent> {
        self.recv()
    }
}

struct Worker {
    tx: SyncSender<LiveEvent>,
    stop: Arc<AtomicBool>,
    counted: Arc<AtomicU64>,
    limit: Option<u64>,
}

impl Worker {
    fn run(self, s: LiveSource, cfg: EngineConfig) -> (String, Stats, Option<LiveStats>) {
        let LiveSource {
            name,
            mut source,
            mut tap,
        } = s;
        let source_stop = source.stop_handle();
        let mut engine = Engine::new(cfg);
        let mut stopping = false;
        loop {
            if !stopping && self.stop.load(Ordering::Relaxed) {
                stopping = true;
                match &source_stop {
                    // Let the source hand over what it holds, then end.
                    Some(s) => s.store(true, Ordering::Relaxed),
                    None => break,
                }
            }
            match source.next_event() {
                Ok(Some(SourceEvent::Packet(p))) => {
                    if self.take_one() {
                        if let Some(tap) = tap.as_mut() {
                            tap(&p);
                        }
                        engine.process(&p);
                    }
                }
                Ok(Some(SourceEvent::Idle { now_ns })) => engine.tick(now_ns),
                Ok(None) => break,
                Err(error) => {
                    self.failed(&name, error);
                    break;
                }
            }
            self.forward_or_stop(&mut engine);
        }
        (name, self.close(engine), source.live_stats())
    }

    fn run_plain(self, f: PlaintextFeed, cfg: EngineConfig) -> (String, Stats, Option<LiveStats>) {
        let PlaintextFeed { name, mut source } = f;
        let source_stop = source.stop_handle();
        let mut engine = Engine::new(cfg);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                source_stop.store(true, Ordering::Relaxed);
            }
            match source.next_plain() {
                Ok(Some(PlainEvent::Chunk(c))) => engine.process_plaintext(&c),
                Ok(Some(PlainEvent::Idle { now_ns })) => engine.tick(now_ns),
                Ok(None) => break,
                Err(error) => {
                    self.failed(&name, error);
                    break;
                }
            }
            self.forward_or_stop(&mut engine);
        }
        (name, self.close(engine), None)
    }

    /// A source failed: said once on the channel.
    fn failed(&self, name: &str, error: CaptureError) {
        let _ = self.tx.send(LiveEvent::Error {
            source: name.to_string(),
            error,
        });
    }

    /// Hands on what the engine produced; when nobody listens any more,
    /// everything stops.
    fn forward_or_stop(&self, engine: &mut Engine) {
        if !self.forward(engine) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// The source ended: finish every flow, hand on the rest, give the counters.
    fn close(&self, mut engine: Engine) -> Stats {
        engine.finish();
        self.forward(&mut engine);
        engine.stats()
    }

    /// Counts a packet against the limit: false once the limit is reached
    /// (the packet is not dissected, and everything stops).
    fn take_one(&self) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let n = self.counted.fetch_add(1, Ordering::Relaxed);
        if n + 1 >= limit {
            self.stop.store(true, Ordering::Relaxed);
        }
        n < limit
    }

    fn forward(&self, engine: &mut Engine) -> bool {
        while let Some(o) = engine.next_output() {
            if self.tx.send(LiveEvent::Output(o)).is_err() {
                return false;
            }
        }
        true
    }
}
