//! `ks-dissect --tls-trace`: the eBPF TLS tracer (`ks-tls-trace`) as a
//! plaintext feed of the live engine (docs/tls-trace.md).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ks_capture::{CaptureError, CaptureErrorKind};
use ks_engine::live::{PlainEvent, PlaintextFeed, PlaintextSource};
use ks_engine::{PlainChunk, PlainConn, Process};
use ks_tls_trace::{Direction, TraceConfig, Tracer};

/// Processes kept in the cache before it is emptied (pids come and go).
const MAX_PROCESSES: usize = 4096;

/// Starts the tracer (every probe attached before this returns), scoped to
/// `pids` and `comms` when given.
pub fn feed(pids: &[u32], comms: &[String], quiet: bool) -> Result<PlaintextFeed, String> {
    let tracer = Tracer::start(TraceConfig {
        pids: pids.to_vec(),
        comms: comms.to_vec(),
        ..TraceConfig::default()
    })
    .map_err(|e| format!("--tls-trace: {e}"))?;
    if !quiet {
        let attached = tracer.attached();
        eprintln!(
            "ks-dissect: tracing TLS in {} librar{} ({})",
            attached.len(),
            if attached.len() == 1 { "y" } else { "ies" },
            attached
                .iter()
                .map(|a| a.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(PlaintextFeed::new(
        "tls-trace",
        Feed {
            tracer,
            processes: HashMap::new(),
        },
    ))
}

struct Feed {
    tracer: Tracer,
    /// One shared `Process` per pid (entries hold a reference).
    processes: HashMap<u32, Arc<Process>>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl PlaintextSource for Feed {
    fn next_plain(&mut self) -> Result<Option<PlainEvent<'_>>, CaptureError> {
        let Feed { tracer, processes } = self;
        // Asked before the poll: a chunk borrows the tracer until returned.
        if tracer.is_finished() {
            return Ok(None);
        }
        let chunk = match tracer.try_next_chunk(Duration::from_millis(100)) {
            Ok(Some(c)) => c,
            // Stopped and drained (said at the next call), or idle.
            Ok(None) => return Ok(Some(PlainEvent::Idle { now_ns: now_ns() })),
            Err(e) => {
                return Err(CaptureError {
                    source_name: "tls-trace".into(),
                    offset: 0,
                    kind: CaptureErrorKind::Live,
                    message: e.to_string(),
                })
            }
        };
        if processes.len() >= MAX_PROCESSES && !processes.contains_key(&chunk.pid) {
            processes.clear();
        }
        let process = processes.entry(chunk.pid).or_insert_with(|| {
            Arc::new(Process {
                pid: chunk.pid,
                comm: chunk.comm.to_string(),
            })
        });
        if process.comm != chunk.comm {
            // exec(2) changed the program, or another thread named itself.
            *process = Arc::new(Process {
                pid: chunk.pid,
                comm: chunk.comm.to_string(),
            });
        }
        let conn = match chunk.tuple {
            Some(t) => PlainConn::Tcp {
                local: t.local,
                remote: t.remote,
            },
            None => PlainConn::Session {
                pid: chunk.pid,
                id: chunk.conn,
            },
        };
        Ok(Some(PlainEvent::Chunk(PlainChunk {
            ts_ns: chunk.ts_ns,
            conn,
            session: chunk.conn,
            outbound: chunk.direction == Direction::Write,
            data: chunk.data,
            process,
        })))
    }

    fn stop_handle(&self) -> Arc<AtomicBool> {
        self.tracer.stop_handle()
    }
}
