//! TLS plaintext seen inside a process (eBPF uprobes on `SSL_read`/`SSL_write`
//! and the like, `ks-tls-trace`), dissected like any reassembled TCP stream.
//!
//! ```
//! use std::sync::Arc;
//! use ks_engine::{Engine, EngineConfig, Output, PlainChunk, PlainConn, Process};
//!
//! let curl = Arc::new(Process { pid: 4242, comm: "curl".into() });
//! let conn = PlainConn::Tcp {
//!     local: "10.0.0.1:50000".parse().unwrap(),
//!     remote: "10.0.0.2:443".parse().unwrap(),
//! };
//! let mut engine = Engine::new(EngineConfig::default());
//! for (outbound, data) in [
//!     (true, &b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"[..]),
//!     (false, &b"HTTP/1.1 204 No Content\r\n\r\n"[..]),
//! ] {
//!     engine.process_plaintext(&PlainChunk {
//!         ts_ns: 1_700_000_000_000_000_000,
//!         conn,
//!         session: 0x5555_0000,
//!         outbound,
//!         data,
//!         process: &curl,
//!     });
//! }
//! engine.finish();
//! let Some(Output::Entry(e)) = engine.next_output() else { panic!() };
//! assert!(e.tls && e.summary.starts_with("GET / 204"));
//! assert_eq!(e.process.as_deref(), Some(&*curl));
//! ```
//!
//! Each traced connection is a flow of its own: the bytes a process wrote are
//! one direction of a byte stream, the bytes it read the other, numbered from
//! 0 as TCP reassembly would, so the same detection, parsers and pairing run.
//! The local end of the process that owns the connection is side A.
//!
//! Choices, after Kubeshark's TLS tapper:
//! * **One view per connection.** Both ends of a loopback or same-node
//!   connection may be traced (curl and nginx): the same bytes then arrive
//!   twice, mirrored. The first process seen on a 4-tuple owns it; chunks of
//!   any other process on it are counted (event `plaintext-other-end`) and
//!   dropped, so an exchange is one entry, not two.
//! * **Sessions.** The owner's side of a 4-tuple with a new library session
//!   (`SSL *`) or another process, or the other end with a session other
//!   than the one it had, means the addresses were used again by a new
//!   connection: the old flow is finished and a new one starts.
//! * **No frames and no flow records**: there are no packets. Entry ids are
//!   `tls-<connection>-<n>`, apart from packet streams' ids.
//! * **Ciphertext**: packets of the same connection, captured at the same
//!   time by another engine, still give their `tls` handshake entry; without
//!   keys they give nothing more, so nothing is reported twice.
//! * Flows without a close (the tracer sees no `close(2)`) end after
//!   [`EngineConfig::flow_idle_ns`] without chunks, or at [`Engine::finish`];
//!   at most [`EngineConfig::max_flows`] are tracked (the least recently active
//!   is finished to make room).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ks_reassembly::{Side, StreamEvent};
use serde::Serialize;

use crate::conn::{Conn, Ctx};
use crate::entry::{Frames, Output};
use crate::Engine;

/// The process a plaintext entry was seen in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Process {
    /// Process id (thread group id) in the tracer's pid namespace.
    pub pid: u32,
    /// Its command name (`comm`, at most 15 bytes).
    pub comm: String,
}

/// Which connection a plaintext chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlainConn {
    /// A TCP socket: the process's own end and the peer's.
    Tcp {
        /// This process's end.
        local: SocketAddr,
        /// The other end.
        remote: SocketAddr,
    },
    /// The socket could not be identified: the library session alone
    /// (addresses shown as `0.0.0.0:0`).
    Session {
        /// The process.
        pid: u32,
        /// The library's session (e.g. the `SSL *` pointer).
        id: u64,
    },
}

/// Bytes a TLS library handed to (or took from) a process in one call (or one
/// piece of a call), in the order the process saw them.
#[derive(Clone, Copy, Debug)]
pub struct PlainChunk<'a> {
    /// Wall-clock time of the call, ns since the Unix epoch.
    pub ts_ns: u64,
    /// The connection.
    pub conn: PlainConn,
    /// The library's session on that connection (e.g. the `SSL *` pointer);
    /// a new one on the same connection starts a new flow.
    pub session: u64,
    /// The process wrote these bytes (sent them); false: it read them.
    pub outbound: bool,
    /// The plaintext.
    pub data: &'a [u8],
    /// The process (shared: entries keep a reference, not a copy).
    pub process: &'a Arc<Process>,
}

/// Plaintext connections being dissected.
#[derive(Default)]
pub(crate) struct PlainTable {
    flows: HashMap<Key, PlainFlow>,
    /// Connections seen so far (numbers the flows: `tls-<n>-...`).
    created: u64,
}

/// The 4-tuple in a canonical order, so that both ends' views meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Tcp(SocketAddr, SocketAddr),
    Session(u32, u64),
}

impl Key {
    fn of(c: &PlainConn) -> Key {
        match *c {
            PlainConn::Tcp { local, remote } => Key::Tcp(local.min(remote), local.max(remote)),
            PlainConn::Session { pid, id } => Key::Session(pid, id),
        }
    }
}

/// What a chunk is to the flow of its 4-tuple.
enum Seen {
    /// No flow yet.
    New,
    /// From the owner's session.
    Owner,
    /// The other end of the same connection, also traced.
    OtherEnd,
    /// A new connection on the same addresses.
    Reused,
}

struct PlainFlow {
    owner: u32,
    session: u64,
    /// The other end's (pid, session), once it was seen traced too.
    peer: Option<(u32, u64)>,
    stream: u64,
    /// The owner's end (side A) and the peer (side B).
    a: SocketAddr,
    b: SocketAddr,
    conn: Conn,
    /// Bytes so far per side.
    offsets: [u64; 2],
    last_ts_ns: u64,
    process: Arc<Process>,
}

const UNKNOWN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl PlainFlow {
    /// What the connection's parsers are given, for something at `ts_ns`
    /// (no frames: frame 0).
    fn ctx<'a>(
        &self,
        cfg: &'a crate::EngineConfig,
        stats: &'a mut crate::Stats,
        out: &'a mut VecDeque<(u64, Output)>,
        seq: u64,
        ts_ns: u64,
    ) -> Ctx<'a> {
        Ctx {
            cfg,
            stats,
            out,
            seq,
            frame: 0,
            ts_ns,
            stream: self.stream,
            a: self.a,
            b: self.b,
            transport: "tcp",
        }
    }
}

impl PlainTable {
    pub(crate) fn len(&self) -> usize {
        self.flows.len()
    }
}

impl Engine {
    /// Dissect one chunk of TLS plaintext (see the [module docs](crate::plain)).
    /// Chunks of one connection must come in the order the process made its
    /// calls; connections may interleave freely.
    pub fn process_plaintext(&mut self, c: &PlainChunk<'_>) {
        self.seq += 1;
        self.stats.plaintext_chunks += 1;
        self.stats.plaintext_bytes += c.data.len() as u64;
        if c.ts_ns >= self.last_sweep_ns.saturating_add(1_000_000_000) {
            self.sweep(c.ts_ns);
        }
        let key = Key::of(&c.conn);
        let me = (c.process.pid, c.session);
        let verdict = match self.plain.flows.get_mut(&key) {
            None => Seen::New,
            Some(f) => match c.conn {
                // The other end's view (its local address is the owner's peer).
                PlainConn::Tcp { local, .. } if local == f.b && local != f.a => {
                    match f.peer {
                        None => {
                            f.peer = Some(me);
                            Seen::OtherEnd
                        }
                        Some(p) if p == me => Seen::OtherEnd,
                        // The other end has a new session: a new connection.
                        Some(_) => Seen::Reused,
                    }
                }
                _ if (f.owner, f.session) == me => Seen::Owner,
                // The owner's side of the 4-tuple with another process or
                // session: the address pair is used again.
                _ => Seen::Reused,
            },
        };
        match verdict {
            Seen::OtherEnd => {
                *self.stats.events.entry("plaintext-other-end").or_default() += 1;
                return;
            }
            Seen::Reused => {
                if let Some(old) = self.plain.flows.remove(&key) {
                    self.finish_plain(old);
                }
            }
            Seen::New | Seen::Owner => {}
        }
        if !matches!(verdict, Seen::Owner) {
            if self.plain.flows.len() >= self.cfg.max_flows.max(1) {
                self.evict_plain();
            }
            let (a, b) = match c.conn {
                PlainConn::Tcp { local, remote } => (local, remote),
                PlainConn::Session { .. } => (UNKNOWN, UNKNOWN),
            };
            self.plain.created += 1;
            self.stats.plaintext_connections += 1;
            let mut conn = Conn::new(None);
            // Already decrypted: TLS is not looked for inside.
            conn.nested = true;
            conn.counts.first_ts_ns = c.ts_ns;
            self.plain.flows.insert(
                key,
                PlainFlow {
                    owner: c.process.pid,
                    session: c.session,
                    peer: None,
                    stream: self.plain.created - 1,
                    a,
                    b,
                    conn,
                    offsets: [0; 2],
                    last_ts_ns: c.ts_ns,
                    process: Arc::clone(c.process),
                },
            );
        }
        let Some(f) = self.plain.flows.get_mut(&key) else {
            return;
        };
        let side = if c.outbound { Side::A } else { Side::B };
        let offset = f.offsets[side.index()];
        f.offsets[side.index()] += c.data.len() as u64;
        f.last_ts_ns = f.last_ts_ns.max(c.ts_ns);
        let before = self.out.len();
        let mut ctx = f.ctx(&self.cfg, &mut self.stats, &mut self.out, self.seq, c.ts_ns);
        f.conn.on_event(
            &mut ctx,
            StreamEvent::Data {
                side,
                offset,
                data: c.data,
            },
        );
        mark(&mut self.out, before, &f.process);
    }

    /// Plaintext connections being dissected now.
    pub fn plaintext_connections(&self) -> usize {
        self.plain.len()
    }

    /// Finish plaintext flows idle longer than the timeout (oldest first).
    pub(crate) fn expire_plain(&mut self, now_ns: u64) {
        let idle = self.cfg.flow_idle_ns;
        let mut old: Vec<Key> = self
            .plain
            .flows
            .iter()
            .filter(|(_, f)| f.last_ts_ns.saturating_add(idle) < now_ns)
            .map(|(k, _)| *k)
            .collect();
        if old.is_empty() {
            return;
        }
        old.sort_by_key(|k| self.plain.flows.get(k).map(|f| f.stream));
        for k in old {
            if let Some(f) = self.plain.flows.remove(&k) {
                self.stats.flows_timed_out += 1;
                self.finish_plain(f);
            }
        }
    }

    /// End of input: finish every plaintext flow, in the order they began.
    pub(crate) fn finish_all_plain(&mut self) {
        let mut all: Vec<PlainFlow> = self.plain.flows.drain().map(|(_, f)| f).collect();
        all.sort_by_key(|f| f.stream);
        for f in all {
            self.finish_plain(f);
        }
    }

    /// The table is full: finish the least recently active flow.
    fn evict_plain(&mut self) {
        let oldest = self
            .plain
            .flows
            .iter()
            .min_by_key(|(_, f)| (f.last_ts_ns, f.stream))
            .map(|(k, _)| *k);
        if let Some(f) = oldest.and_then(|k| self.plain.flows.remove(&k)) {
            self.stats.flows_evicted += 1;
            self.finish_plain(f);
        }
    }

    fn finish_plain(&mut self, mut f: PlainFlow) {
        self.seq += 1;
        let before = self.out.len();
        let ts_ns = f.last_ts_ns;
        let mut ctx = f.ctx(&self.cfg, &mut self.stats, &mut self.out, self.seq, ts_ns);
        // The application side only: a plaintext connection has no flow record.
        f.conn.finish_inner(&mut ctx);
        mark(&mut self.out, before, &f.process);
    }
}

/// Entries from `before` on came from a plaintext connection of `process`.
fn mark(out: &mut VecDeque<(u64, Output)>, before: usize, process: &Arc<Process>) {
    for (_, o) in out.range_mut(before..) {
        if let Output::Entry(e) = o {
            e.tls = true;
            e.process = Some(Arc::clone(process));
            e.frames = Frames::default();
            e.id.insert_str(0, "tls-");
        }
    }
}
