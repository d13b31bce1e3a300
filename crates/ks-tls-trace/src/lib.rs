//! TLS plaintext without keys: eBPF uprobes on the read and write functions
//! of TLS libraries deliver the bytes a process hands to (or gets from) its
//! TLS library, with pid, thread, comm, cgroup, connection id, fd and socket
//! 4-tuple.
//!
//! ```no_run
//! use ks_tls_trace::{Direction, TraceConfig, Tracer};
//!
//! let mut tracer = Tracer::start(TraceConfig {
//!     comms: vec!["curl".into()],
//!     ..TraceConfig::default()
//! })?;
//! let stop = tracer.stop_handle(); // set it from another thread to end
//! for a in tracer.attached() {
//!     println!("hooked {} ({:?})", a.path.display(), a.library);
//! }
//! while let Some(chunk) = tracer.next_chunk()? {
//!     let dir = match chunk.direction {
//!         Direction::Write => "sent",
//!         Direction::Read => "received",
//!     };
//!     println!(
//!         "{} [{}] conn {:#x} {dir} {} bytes at {} of {} ({:?})",
//!         chunk.comm, chunk.pid, chunk.conn, chunk.data.len(), chunk.offset,
//!         chunk.call_len, chunk.tuple
//!     );
//! }
//! println!("{:?}", tracer.stats());
//! # drop(stop);
//! # Ok::<(), ks_tls_trace::TraceError>(())
//! ```
//!
//! What is hooked, how connections are identified and what each program was
//! observed to do: `docs/tls-trace.md`.
//!
//! * OpenSSL 1.1 / 3.x (`libssl.so*`): `SSL_read`, `SSL_write`,
//!   `SSL_read_ex`, `SSL_write_ex` (the `_ex` ones when present).
//! * GnuTLS (`libgnutls.so*`): `gnutls_record_recv`, `gnutls_record_send`.
//! * Libraries are found in the system library directories at start, in
//!   `/proc/PID/maps` of running processes (every [`TraceConfig::rescan`],
//!   through `/proc/PID/root` for containers) and in
//!   [`TraceConfig::libraries`]; each file (device + inode) is hooked once,
//!   for every process that maps it.
//!
//! Needs root, or `CAP_BPF` + `CAP_PERFMON` (and `CAP_SYS_ADMIN` for
//! `/proc/PID/root` of other users' processes), and Linux 5.17 or later
//! (`bpf_loop`, BPF cookies, ring buffers).
#![deny(clippy::undocumented_unsafe_blocks)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub mod go;
mod procnet;
mod record;
mod scan;
#[cfg(target_os = "linux")]
mod tracer;

#[cfg(target_os = "linux")]
pub use tracer::Tracer;

/// Largest data bytes in one [`Chunk`]; a larger call arrives split into
/// consecutive chunks (same `conn`, `call_len`, increasing `offset`).
pub const CHUNK_SIZE: usize = 16384;

/// Settings for [`Tracer::start`]. `TraceConfig::default()` traces every
/// process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// Only these processes (thread group ids). With `comms`, a process is
    /// traced when it matches either list; both empty: every process.
    pub pids: Vec<u32>,
    /// Only threads with this command name (`/proc/PID/comm`, at most 15
    /// bytes: longer names are cut as the kernel does).
    pub comms: Vec<String>,
    /// Extra libraries or executables to hook (OpenSSL-compatible `SSL_*`
    /// symbols, or GnuTLS `gnutls_record_*`), e.g. in unusual places.
    pub libraries: Vec<PathBuf>,
    /// Size of the BPF ring buffer in bytes (default 32 MiB): a power of two
    /// and a multiple of the page size, at least 64 KiB.
    pub ring_size: u32,
    /// Bytes of one call copied at most (default 1 MiB); the rest of a
    /// larger call is dropped and its last chunk flagged `truncated`.
    pub max_call_bytes: u32,
    /// How often `/proc/*/maps` is scanned for newly loaded libraries
    /// (default 500 ms).
    pub rescan: Duration,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            pids: Vec::new(),
            comms: Vec::new(),
            libraries: Vec::new(),
            ring_size: 32 << 20,
            max_call_bytes: 1 << 20,
            rescan: Duration::from_millis(500),
        }
    }
}

/// Which way the plaintext went, seen from the traced process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes this process received (decrypted by the library).
    Read,
    /// Bytes this process sent (handed to the library to encrypt).
    Write,
}

/// The TLS implementation a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Library {
    /// OpenSSL 1.1 / 3.x `libssl`.
    OpenSsl,
    /// GnuTLS.
    GnuTls,
    /// BoringSSL linked into an executable (same `SSL_*` functions).
    BoringSsl,
    /// Go `crypto/tls`.
    Go,
}

/// A TCP connection's ends, `local` being the traced process's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// This process's address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

/// Plaintext of one TLS read or write call (or a part of it, see
/// [`CHUNK_SIZE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// When the call returned, CLOCK_REALTIME ns.
    pub ts_ns: u64,
    /// Process (thread group) id, in the tracer's pid namespace.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The thread's command name.
    pub comm: &'a str,
    /// cgroup v2 id of the thread (the inode number of its cgroup directory).
    pub cgroup_id: u64,
    /// Connection id within the process: the `SSL*` (`gnutls_session_t`).
    /// Unique per process while the connection lives; may be reused after.
    pub conn: u64,
    /// The socket's file descriptor, when one was seen.
    pub fd: Option<i32>,
    /// The socket's addresses, when `fd` is a TCP/UDP socket and could be read.
    pub tuple: Option<Tuple>,
    /// Received or sent.
    pub direction: Direction,
    /// Bytes the whole call read or wrote.
    pub call_len: u64,
    /// Position of `data` within the call.
    pub offset: u64,
    /// The call was larger than `max_call_bytes` and this is the last chunk
    /// kept: the call's bytes from `offset + data.len()` on are missing.
    pub truncated: bool,
    /// The kernel could not copy this part from user memory: `data` is empty.
    pub copy_failed: bool,
    /// Which TLS implementation.
    pub library: Library,
    /// The plaintext.
    pub data: &'a [u8],
}

/// A library (or executable) the tracer hooked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The file as opened by the tracer (may go through `/proc/PID/root`).
    pub path: PathBuf,
    /// What it was hooked as.
    pub library: Library,
    /// The process whose `/proc/PID/maps` revealed it; `None` for the
    /// system library directories and [`TraceConfig::libraries`].
    pub pid: Option<u32>,
}

/// Counters since [`Tracer::start`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceStats {
    /// Chunks delivered by `next_chunk`.
    pub chunks: u64,
    /// Data bytes delivered.
    pub bytes: u64,
    /// Chunks lost in the kernel because the ring buffer was full.
    pub lost: u64,
    /// Calls larger than `max_call_bytes`.
    pub truncated_calls: u64,
}

/// Why the tracer could not start or run; the message says what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(String);

impl TraceError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        TraceError(msg.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}
