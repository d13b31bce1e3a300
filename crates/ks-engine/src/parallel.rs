//! Several cores: every worker reads the capture itself and dissects the flows
//! that hash to it; their outputs merge back into the single-threaded order.
//!
//! Why every worker reads the whole file: reading and header decoding cost a
//! few percent of the work (the reader runs at GB/s), while handing packets from
//! one reader to workers would cost a copy and a channel message per packet.
//! Each worker keeps the flow table of *all* flows (with only their handshake
//! facts for flows it does not own), so stream numbers, port reuse, idle
//! timeouts and evictions are decided identically everywhere, and each output's
//! order key (see `Engine::seq`) is the same as in a single-threaded run.

use crate::config::{EngineConfig, Shard};
use crate::entry::Output;
use crate::stats::Stats;
use crate::Engine;
use ks_capture::{CaptureError, PacketSource};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};

/// Outputs a worker sends at once (and at most 8 batches wait per worker, which
/// bounds memory), and how often (in packets) it reports progress.
const BATCH: usize = 64;
const QUEUED_BATCHES: usize = 8;
const WATERMARK_EVERY: u64 = 4096;

enum Msg<T> {
    /// Outputs (keys ascending) and the worker's key after them: its later outputs
    /// have larger keys.
    Batch(Vec<(u64, T)>, u64),
    /// The worker is done.
    Done(Vec<(u64, T)>, Box<Stats>, Option<CaptureError>),
}

struct Worker<T> {
    rx: Receiver<Msg<T>>,
    queue: VecDeque<(u64, T)>,
    watermark: u64,
    done: bool,
}

impl<T> Worker<T> {
    /// Wait for the next message; false when the worker is gone.
    fn pull(&mut self, stats: &mut Stats, error: &mut Option<CaptureError>) -> bool {
        match self.rx.recv() {
            Ok(Msg::Batch(items, mark)) => {
                self.queue.extend(items);
                self.watermark = mark;
            }
            Ok(Msg::Done(items, s, e)) => {
                self.queue.extend(items);
                stats.merge(&s);
                if error.is_none() {
                    *error = e;
                }
                self.done = true;
            }
            Err(_) => self.done = true,
        }
        !self.done
    }
}

/// Dissect with `threads` workers, each reading its own `open()`ed source.
/// Outputs reach `sink` in exactly the order a single [`Engine`] would produce
/// them. Returns the merged counters and the first capture error (after every
/// output from before the damage). `progress`, when given, is updated with the
/// bytes read by the first worker.
pub fn dissect_parallel<S, F>(
    open: F,
    cfg: &EngineConfig,
    threads: usize,
    progress: Option<&AtomicU64>,
    sink: &mut dyn FnMut(Output),
) -> (Stats, Option<CaptureError>)
where
    S: PacketSource,
    F: Fn() -> Result<S, CaptureError> + Sync,
{
    dissect_parallel_map(open, cfg, threads, progress, &|o| o, sink)
}

/// Like [`dissect_parallel`], but each output is first turned into a `T` by `map`
/// *in the worker* — e.g. serialised to JSON, so that formatting runs on every
/// core too — and `sink` gets the `T`s in order.
pub fn dissect_parallel_map<S, F, T>(
    open: F,
    cfg: &EngineConfig,
    threads: usize,
    progress: Option<&AtomicU64>,
    map: &(dyn Fn(Output) -> T + Sync),
    sink: &mut dyn FnMut(T),
) -> (Stats, Option<CaptureError>)
where
    S: PacketSource,
    F: Fn() -> Result<S, CaptureError> + Sync,
    T: Send,
{
    let threads = threads.clamp(1, 256);
    let mut stats = Stats::default();
    let mut error = None;
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads {
            let (tx, rx) = sync_channel::<Msg<T>>(QUEUED_BATCHES);
            let mut cfg = cfg.clone();
            cfg.shard = Some(Shard {
                index: index as u32,
                count: threads as u32,
            });
            let open = &open;
            scope.spawn(move || {
                let mut source = match open() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Msg::Done(Vec::new(), Box::default(), Some(e)));
                        return;
                    }
                };
                let mut engine = Engine::new(cfg);
                let mut batch = Vec::with_capacity(BATCH);
                let mut packets = 0u64;
                let err = loop {
                    match source.next_packet() {
                        Ok(Some(p)) => engine.process(&p),
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                    packets += 1;
                    while let Some((k, o)) = engine.next_keyed_output() {
                        batch.push((k, map(o)));
                    }
                    if batch.len() >= BATCH || packets.is_multiple_of(WATERMARK_EVERY) {
                        if index == 0 {
                            if let Some(p) = progress {
                                p.store(source.position(), Ordering::Relaxed);
                            }
                        }
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if tx.send(Msg::Batch(full, engine.seq())).is_err() {
                            return;
                        }
                    }
                };
                engine.finish();
                while let Some((k, o)) = engine.next_keyed_output() {
                    batch.push((k, map(o)));
                }
                let _ = tx.send(Msg::Done(batch, Box::new(engine.stats()), err));
            });
            workers.push(Worker {
                rx,
                queue: VecDeque::new(),
                watermark: 0,
                done: false,
            });
        }
        merge(&mut workers, &mut stats, &mut error, sink);
    });
    (stats, error)
}

/// K-way merge by order key. An output is released only when no other worker
/// can still produce a smaller key: each has a queued output with a larger key,
/// has reported a watermark at or past it, or is done.
fn merge<T>(
    workers: &mut [Worker<T>],
    stats: &mut Stats,
    error: &mut Option<CaptureError>,
    sink: &mut dyn FnMut(T),
) {
    loop {
        let best = workers
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.queue.front().map(|(k, _)| (*k, i)))
            .min();
        match best {
            Some((key, i)) => {
                let blocker = workers.iter().enumerate().position(|(j, w)| {
                    j != i && !w.done && w.queue.is_empty() && w.watermark < key
                });
                match blocker {
                    Some(j) => {
                        workers[j].pull(stats, error);
                    }
                    None => {
                        if let Some((_, o)) = workers[i].queue.pop_front() {
                            sink(o);
                        }
                    }
                }
            }
            None => match workers.iter().position(|w| !w.done) {
                Some(j) => {
                    workers[j].pull(stats, error);
                }
                None => return,
            },
        }
    }
}
