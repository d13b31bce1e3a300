//! The loader: loads `bpf/tls.bpf.c`, hooks libraries, polls the ring.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeScope};
use aya::programs::{Program, RawTracePoint, UProbe};
use aya::{Btf, Ebpf, EbpfLoader};

use crate::record::{self, HDR_LEN};
use crate::scan::{self, Candidate, Scope};
use crate::{Attached, Chunk, Library, TraceConfig, TraceError, TraceStats, Tuple, CHUNK_SIZE};

/// The compiled BPF object (see `build.rs`).
static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tls.bpf.o"));

// Names in bpf/tls.bpf.c.
pub(crate) const PROG_ENTER: &str = "tls_enter";
pub(crate) const PROG_RET: &str = "tls_ret";
const PROG_SYS_ENTER: &str = "sys_enter";
const MAP_EVENTS: &str = "EVENTS";
const MAP_COUNTERS: &str = "COUNTERS";
const MAP_SCOPE_PIDS: &str = "SCOPE_PIDS";
const MAP_SCOPE_COMMS: &str = "SCOPE_COMMS";
const CNT_LOST: u32 = 1;
const CNT_TRUNCATED: u32 = 2;

/// Cookie bits of a `tls_enter` attachment (C_* in tls.bpf.c).
pub(crate) const C_WRITE: u64 = 1 << 0;
pub(crate) const C_EX: u64 = 1 << 1;
pub(crate) const C_RET64: u64 = 1 << 2;
pub(crate) const C_LIB_SHIFT: u64 = 8;

/// OpenSSL (and BoringSSL) functions and their cookie flags.
const SSL_FUNCS: &[(&str, u64)] = &[
    ("SSL_read", 0),
    ("SSL_write", C_WRITE),
    ("SSL_read_ex", C_EX),
    ("SSL_write_ex", C_WRITE | C_EX),
];
/// GnuTLS functions (they return `ssize_t`).
const GNUTLS_FUNCS: &[(&str, u64)] = &[
    ("gnutls_record_recv", C_RET64),
    ("gnutls_record_send", C_WRITE | C_RET64),
];

/// Every how many rescans the maps of all processes are read again (the
/// others read only new processes' maps).
const FULL_SCAN_EVERY: u64 = 4;
/// Longest wait in one `poll(2)`.
const POLL_MS: u64 = 100;
const CLOCK_REFRESH: Duration = Duration::from_secs(1);
/// Entries of the user-space tuple cache before old ones are dropped.
const TUPLE_CACHE_MAX: usize = 4096;
/// How long a /proc tuple lookup is reused (an SSL* and fd number can be
/// reused by a new connection).
const TUPLE_CACHE_TTL: Duration = Duration::from_secs(1);

/// Text for an aya error: the whole source chain, with what is missing when
/// the kernel said EPERM.
pub(crate) fn bpf_err(what: &str, e: &(dyn std::error::Error + 'static)) -> TraceError {
    let mut msg = format!("{what}: {e}");
    let mut cur = e.source();
    let mut perm = false;
    while let Some(s) = cur {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            perm |= io.raw_os_error() == Some(libc::EPERM);
        }
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        cur = s.source();
    }
    if let Some(io) = e.downcast_ref::<io::Error>() {
        perm |= io.raw_os_error() == Some(libc::EPERM);
    }
    if perm {
        msg.push_str(" (TLS tracing needs root or CAP_BPF+CAP_PERFMON)");
    }
    TraceError::new(msg)
}

fn clock_ns(clock: libc::clockid_t) -> i64 {
    // SAFETY: timespec is plain data; all-zero is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is writable; clock_gettime writes only it.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

/// `CLOCK_REALTIME - CLOCK_BOOTTIME` in ns.
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

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

pub(crate) fn validate(cfg: &TraceConfig) -> Result<(), TraceError> {
    let rs = cfg.ring_size as usize;
    if !rs.is_power_of_two() || !rs.is_multiple_of(page_size()) || rs < 1 << 16 {
        return Err(TraceError::new(format!(
            "ring_size {} must be a power of two, a multiple of the page size ({}) and at least 65536",
            cfg.ring_size,
            page_size()
        )));
    }
    if cfg.max_call_bytes == 0 {
        return Err(TraceError::new("max_call_bytes must be at least 1"));
    }
    if cfg.pids.len() > 4096 || cfg.comms.len() > 256 {
        return Err(TraceError::new(
            "at most 4096 pids and 256 comms can be traced",
        ));
    }
    Ok(())
}

/// The comm as the kernel keeps it: at most 15 bytes, NUL padded.
fn comm_key(c: &str) -> [u8; 16] {
    let mut k = [0u8; 16];
    let b = c.as_bytes();
    let n = b.len().min(15);
    k[..n].copy_from_slice(&b[..n]);
    k
}

/// Traces TLS plaintext of the processes in scope; see the [crate docs](crate).
pub struct Tracer {
    // Field order is drop order: the programs (and their links) go first.
    /// `None` once stopped.
    ebpf: Option<Ebpf>,
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    /// (device, inode) of every file hooked (or found unhookable).
    known: HashSet<(u64, u64)>,
    attached: Vec<Attached>,
    scope: Scope,
    /// Where probes are attached: every process, or — when the scope is
    /// pids only — just those, so that no other process ever traps.
    probe_scopes: Vec<UProbeScope>,
    /// Processes whose maps were read.
    seen_pids: HashSet<u32>,
    /// Rescans so far.
    scans: u64,
    rescan: Duration,
    last_scan: Instant,
    /// The kernel reads socket tuples (CO-RE); otherwise /proc is used.
    core: bool,
    /// /proc lookups by (pid, conn, fd), with when they were made.
    tuples: HashMap<(u32, u64, i32), (Instant, Option<Tuple>)>,
    buf: Vec<u8>,
    comm: String,
    clock_offset: i64,
    clock_measured: Instant,
    stop: Arc<AtomicBool>,
    draining: bool,
    finished: bool,
    chunks: u64,
    bytes: u64,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("attached", &self.attached)
            .field("core", &self.core)
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

/// Loads the object and every program in it.
fn load(cfg: &TraceConfig, btf: Option<&Btf>) -> Result<Ebpf, TraceError> {
    let scope_on = u32::from(!cfg.pids.is_empty() || !cfg.comms.is_empty());
    let core_on = u32::from(btf.is_some());
    let max = cfg.max_call_bytes;
    let mut ebpf = EbpfLoader::new()
        .btf(btf)
        .map_max_entries(MAP_EVENTS, cfg.ring_size)
        .override_global("SCOPE_ON", &scope_on, true)
        .override_global("MAX_CALL_BYTES", &max, true)
        .override_global("CORE_ON", &core_on, true)
        .load(BPF_OBJECT)
        .map_err(|e| bpf_err("cannot load the eBPF object", &e))?;
    for (name, prog) in ebpf.programs_mut() {
        let res = match prog {
            Program::UProbe(p) => p.load(),
            Program::RawTracePoint(p) => p.load(),
            _ => continue,
        };
        res.map_err(|e| {
            bpf_err(
                &format!("the kernel refused the eBPF program {name} (Linux 5.17+ is needed)"),
                &e,
            )
        })?;
    }
    Ok(ebpf)
}

impl Tracer {
    /// Loads the eBPF programs, hooks the TLS libraries found (system
    /// directories, running processes, `cfg.libraries`) and starts tracing.
    ///
    /// Errors: invalid settings, missing privileges (root or
    /// `CAP_BPF`+`CAP_PERFMON`), a kernel without the needed features, or a
    /// library in `cfg.libraries` that cannot be hooked.
    pub fn start(cfg: TraceConfig) -> Result<Tracer, TraceError> {
        Self::start_with(cfg, true)
    }

    /// As [`start`](Self::start), but never reads socket tuples in the
    /// kernel: the user-space `/proc` fallback is used (for tests).
    #[doc(hidden)]
    pub fn start_without_core(cfg: TraceConfig) -> Result<Tracer, TraceError> {
        Self::start_with(cfg, false)
    }

    fn start_with(cfg: TraceConfig, try_core: bool) -> Result<Tracer, TraceError> {
        validate(&cfg)?;
        let btf = if try_core {
            Btf::from_sys_fs().ok()
        } else {
            None
        };
        let (mut ebpf, core) = match load(&cfg, btf.as_ref()) {
            Ok(e) => (e, btf.is_some()),
            Err(first) if btf.is_some() => match load(&cfg, None) {
                Ok(e) => (e, false),
                Err(_) => return Err(first),
            },
            Err(e) => return Err(e),
        };

        // Scope.
        let mut scope = Scope::default();
        if !cfg.pids.is_empty() || !cfg.comms.is_empty() {
            let map = ebpf
                .map_mut(MAP_SCOPE_PIDS)
                .ok_or_else(|| TraceError::new("map SCOPE_PIDS missing"))?;
            let mut pids: BpfHashMap<_, u32, u8> = BpfHashMap::try_from(map)
                .map_err(|e| bpf_err("cannot open the SCOPE_PIDS map", &e))?;
            for &p in &cfg.pids {
                pids.insert(p, 1, 0)
                    .map_err(|e| bpf_err("cannot fill the SCOPE_PIDS map", &e))?;
                scope.pids.insert(p);
            }
            let map = ebpf
                .map_mut(MAP_SCOPE_COMMS)
                .ok_or_else(|| TraceError::new("map SCOPE_COMMS missing"))?;
            let mut comms: BpfHashMap<_, [u8; 16], u8> = BpfHashMap::try_from(map)
                .map_err(|e| bpf_err("cannot open the SCOPE_COMMS map", &e))?;
            for c in &cfg.comms {
                let k = comm_key(c);
                comms
                    .insert(k, 1, 0)
                    .map_err(|e| bpf_err("cannot fill the SCOPE_COMMS map", &e))?;
                let n = k.iter().position(|&b| b == 0).unwrap_or(16);
                scope.comms.insert(k[..n].to_vec());
            }
        }

        let ring = ebpf
            .take_map(MAP_EVENTS)
            .ok_or_else(|| TraceError::new("map EVENTS missing from the BPF object"))?;
        let ring =
            RingBuf::try_from(ring).map_err(|e| bpf_err("cannot map the BPF ring buffer", &e))?;
        let counters = ebpf
            .take_map(MAP_COUNTERS)
            .ok_or_else(|| TraceError::new("map COUNTERS missing from the BPF object"))?;
        let counters = PerCpuArray::try_from(counters)
            .map_err(|e| bpf_err("cannot open the counters map", &e))?;

        {
            let sys: &mut RawTracePoint = ebpf
                .program_mut(PROG_SYS_ENTER)
                .ok_or_else(|| TraceError::new("program sys_enter missing"))?
                .try_into()
                .map_err(|e| bpf_err("sys_enter is not a raw tracepoint", &e))?;
            sys.attach("sys_enter")
                .map_err(|e| bpf_err("cannot attach the raw tracepoint sys_enter", &e))?;
        }

        let mut t = Tracer {
            ebpf: Some(ebpf),
            ring,
            counters,
            known: HashSet::new(),
            attached: Vec::new(),
            probe_scopes: if cfg.comms.is_empty() && !cfg.pids.is_empty() {
                cfg.pids
                    .iter()
                    .filter_map(|&p| std::num::NonZeroU32::new(p))
                    .map(UProbeScope::OneProcess)
                    .collect()
            } else {
                vec![UProbeScope::AllProcesses]
            },
            scope,
            seen_pids: HashSet::new(),
            scans: 0,
            rescan: cfg.rescan,
            last_scan: Instant::now(),
            core,
            tuples: HashMap::new(),
            buf: Vec::with_capacity(CHUNK_SIZE),
            comm: String::new(),
            clock_offset: clock_offset(),
            clock_measured: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            draining: false,
            finished: false,
            chunks: 0,
            bytes: 0,
        };

        for path in &cfg.libraries {
            let id = scan::file_id(path).ok_or_else(|| {
                TraceError::new(format!("library {}: not a readable file", path.display()))
            })?;
            if t.known.contains(&id) {
                continue;
            }
            let kind = match crate::go::find_go_tls(path) {
                Ok(Some(_)) => Library::Go,
                _ => scan::kind_of_path(path),
            };
            let c = Candidate {
                path: path.clone(),
                library: kind,
                pid: None,
                id,
            };
            if let Err(e) = t.hook(&c) {
                // OpenSSL names failed: maybe GnuTLS under another name.
                let g = Candidate {
                    library: Library::GnuTls,
                    ..c
                };
                if matches!(kind, Library::GnuTls | Library::Go) || t.hook(&g).is_err() {
                    return Err(e);
                }
            }
        }
        for c in scan::system_libraries() {
            if !t.known.contains(&c.id) {
                t.hook_quietly(&c)?;
            }
        }
        t.scan_proc()?;
        Ok(t)
    }

    /// Hooks `c`, remembering the file even when it has none of the
    /// functions; only a permission error is returned.
    fn hook_quietly(&mut self, c: &Candidate) -> Result<(), TraceError> {
        match self.hook(c) {
            Err(e) if e.message().contains("CAP_BPF") => Err(e),
            _ => Ok(()),
        }
    }

    /// Looks at `/proc/*/maps` for libraries not hooked yet: of new
    /// processes at every rescan, of all of them every [`FULL_SCAN_EVERY`]th.
    fn scan_proc(&mut self) -> Result<(), TraceError> {
        self.last_scan = Instant::now();
        let full = self.scans.is_multiple_of(FULL_SCAN_EVERY);
        self.scans += 1;
        for c in scan::from_proc(&self.scope, &self.known, &mut self.seen_pids, full) {
            self.hook_quietly(&c)?;
        }
        Ok(())
    }

    /// Attaches entry and return probes to every function of `c` that
    /// exists; `Err` when none could be.
    fn hook(&mut self, c: &Candidate) -> Result<(), TraceError> {
        self.known.insert(c.id);
        if c.library == Library::Go {
            return self.hook_go(c);
        }
        let funcs = match c.library {
            Library::GnuTls => GNUTLS_FUNCS,
            _ => SSL_FUNCS,
        };
        let lib_bits = u64::from(record::library_code(c.library)) << C_LIB_SHIFT;
        let mut hooked = 0;
        let mut first_err = None;
        for &(sym, flags) in funcs {
            match self.attach_pair(&c.path, UProbeAttachLocation::Symbol(sym), flags | lib_bits) {
                Ok(()) => hooked += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if hooked == 0 {
            return Err(first_err.unwrap_or_else(|| TraceError::new("no functions")));
        }
        self.attached.push(Attached {
            path: c.path.clone(),
            library: c.library,
            pid: c.pid,
        });
        Ok(())
    }

    /// An executable: if Go, plain uprobes at the entry and at every RET of
    /// crypto/tls (*Conn).Write and Read (no uretprobes: Go moves stacks);
    /// else, if it defines `SSL_read`/`SSL_write` itself (BoringSSL linked
    /// statically), the OpenSSL probes on those symbols. `Err` otherwise.
    fn hook_go(&mut self, c: &Candidate) -> Result<(), TraceError> {
        let probes = match crate::go::find_go_tls(&c.path) {
            Ok(Some(p)) => p,
            // Not Go: BoringSSL (or OpenSSL) linked in, found by its symbols.
            Ok(None) if scan::defines_ssl_functions(&c.path) => {
                return self.hook(&Candidate {
                    library: Library::BoringSsl,
                    ..c.clone()
                });
            }
            Ok(None) => {
                return Err(TraceError::new(format!(
                    "{}: neither Go crypto/tls nor SSL_read/SSL_write in it",
                    c.path.display()
                )))
            }
            Err(e) => return Err(TraceError::new(format!("{}: {e}", c.path.display()))),
        };
        for (program, offset) in probes.attach_points() {
            // Attached one by one: a failure leaves the earlier ones, which
            // only ever store (entries) or find nothing (returns).
            // In every scope that can take it (a scoped pid may be gone).
            let mut first_err = None;
            let mut any = false;
            for scope in self.probe_scopes.clone() {
                let pid = match scope {
                    UProbeScope::OneProcess(p) => Some(p.get()),
                    _ => None,
                };
                match self.attach_uprobe_at(program, &c.path, offset, 0, pid) {
                    Ok(()) => any = true,
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            if let (false, Some(e)) = (any, first_err) {
                return Err(e);
            }
        }
        self.attached.push(Attached {
            path: c.path.clone(),
            library: Library::Go,
            pid: c.pid,
        });
        Ok(())
    }

    /// Attaches `tls_ret` (uretprobe) then `tls_enter` (uprobe, with
    /// `cookie`) at `location` of `target`, in every process.
    fn attach_pair(
        &mut self,
        target: &Path,
        location: UProbeAttachLocation<'_>,
        cookie: u64,
    ) -> Result<(), TraceError> {
        let mut first_err = None;
        let mut any = false;
        for scope in self.probe_scopes.clone() {
            match self.attach_pair_in(target, same(&location), cookie, scope) {
                Ok(()) => any = true,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) if !any => Err(e),
            _ => Ok(()),
        }
    }

    /// One [`attach_pair`](Self::attach_pair) in one scope.
    fn attach_pair_in(
        &mut self,
        target: &Path,
        location: UProbeAttachLocation<'_>,
        cookie: u64,
        scope: UProbeScope,
    ) -> Result<(), TraceError> {
        let what = format!("{} at {:?}", target.display(), location);
        let ebpf = self
            .ebpf
            .as_mut()
            .ok_or_else(|| TraceError::new("tracer stopped"))?;
        let loc2 = same(&location);
        let ret = uprobe(ebpf, PROG_RET)?;
        let ret_link = ret
            .attach(loc2, target, scope)
            .map_err(|e| bpf_err(&format!("cannot attach the return probe to {what}"), &e))?;
        let enter = uprobe(ebpf, PROG_ENTER)?;
        let point = UProbeAttachPoint {
            location,
            cookie: Some(cookie),
        };
        if let Err(e) = enter.attach(point, target, scope) {
            let err = bpf_err(&format!("cannot attach the entry probe to {what}"), &e);
            if let Ok(ret) = uprobe(ebpf, PROG_RET) {
                let _ = ret.detach(ret_link);
            }
            return Err(err);
        }
        Ok(())
    }

    /// Attaches the uprobe program `program` of the BPF object at file
    /// `offset` of `target` (every process, or only `pid`), with a BPF
    /// cookie. For probes other than the OpenSSL/GnuTLS ones (Go).
    pub(crate) fn attach_uprobe_at(
        &mut self,
        program: &str,
        target: &Path,
        offset: u64,
        cookie: u64,
        pid: Option<u32>,
    ) -> Result<(), TraceError> {
        let ebpf = self
            .ebpf
            .as_mut()
            .ok_or_else(|| TraceError::new("tracer stopped"))?;
        let p = uprobe(ebpf, program)?;
        let scope = match pid.and_then(std::num::NonZeroU32::new) {
            Some(p) => UProbeScope::OneProcess(p),
            None => UProbeScope::AllProcesses,
        };
        let point = UProbeAttachPoint {
            location: UProbeAttachLocation::AbsoluteOffset(offset),
            cookie: Some(cookie),
        };
        p.attach(point, target, scope).map_err(|e| {
            bpf_err(
                &format!(
                    "cannot attach {program} to {} at {offset:#x}",
                    target.display()
                ),
                &e,
            )
        })?;
        Ok(())
    }

    /// Records a file hooked by other code (Go).
    #[allow(dead_code)]
    pub(crate) fn add_attached(&mut self, a: Attached, id: Option<(u64, u64)>) {
        if let Some(id) = id {
            self.known.insert(id);
        }
        self.attached.push(a);
    }

    /// Setting the returned flag makes [`next_chunk`](Self::next_chunk)
    /// return `Ok(None)` within about 100 ms, after delivering what the ring
    /// buffer held once the probes were removed.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Every library hooked so far.
    pub fn attached(&self) -> Vec<Attached> {
        self.attached.clone()
    }

    /// Counters since start.
    pub fn stats(&self) -> TraceStats {
        let read = |i: u32| -> u64 {
            self.counters
                .get(&i, 0)
                .map(|v| v.iter().sum())
                .unwrap_or(0)
        };
        TraceStats {
            chunks: self.chunks,
            bytes: self.bytes,
            lost: read(CNT_LOST),
            truncated_calls: read(CNT_TRUNCATED),
        }
    }

    /// The next chunk, waiting (and rescanning `/proc` every
    /// [`TraceConfig::rescan`]) until one comes. `Ok(None)` only once the
    /// stop flag was set and the ring buffer drained.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk<'_>>, TraceError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if let Some(h) = self.fill()? {
                return Ok(Some(self.chunk(h)));
            }
        }
    }

    /// As [`next_chunk`](Self::next_chunk), but returns `Ok(None)` also when
    /// nothing came within `timeout` (check [`is_finished`](Self::is_finished)).
    pub fn try_next_chunk(&mut self, timeout: Duration) -> Result<Option<Chunk<'_>>, TraceError> {
        let until = Instant::now() + timeout;
        loop {
            if self.finished {
                return Ok(None);
            }
            if let Some(h) = self.fill()? {
                return Ok(Some(self.chunk(h)));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
        }
    }

    /// Whether the tracer was stopped and everything was delivered.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Stops the probes: dropping the programs detaches every link.
    fn stop_programs(&mut self) {
        self.ebpf = None;
        self.draining = true;
    }

    /// Copies the next record's data into `buf` and returns its header, or
    /// waits up to one poll (`None`).
    fn fill(&mut self) -> Result<Option<record::Header>, TraceError> {
        if !self.draining && self.stop.load(Ordering::Relaxed) {
            self.stop_programs();
        }
        if !self.draining && self.last_scan.elapsed() >= self.rescan {
            self.scan_proc()?;
        }
        if let Some(item) = self.ring.next() {
            let rec: &[u8] = &item;
            let Some(h) = record::parse(rec) else {
                return Ok(None);
            };
            let len = (h.len as usize).min(rec.len() - HDR_LEN).min(CHUNK_SIZE);
            self.buf.clear();
            self.buf.extend_from_slice(&rec[HDR_LEN..HDR_LEN + len]);
            drop(item);
            return Ok(Some(h));
        }
        if self.draining {
            self.finished = true;
            return Ok(None);
        }
        self.wait()?;
        Ok(None)
    }
}

impl Tracer {
    /// Waits up to one poll period (shorter when a rescan is due) for the
    /// ring buffer.
    fn wait(&mut self) -> Result<(), TraceError> {
        if self.clock_measured.elapsed() >= CLOCK_REFRESH {
            self.clock_offset = clock_offset();
            self.clock_measured = Instant::now();
        }
        let to_scan = self.rescan.saturating_sub(self.last_scan.elapsed());
        let ms = (to_scan.as_millis() as u64).clamp(1, POLL_MS);
        let mut pfd = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms as libc::c_int) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(TraceError::new(format!(
                    "poll on the BPF ring buffer: {err}"
                )));
            }
        }
        Ok(())
    }

    /// The chunk for the record `fill` copied.
    fn chunk(&mut self, h: record::Header) -> Chunk<'_> {
        let mut tuple = h.tuple;
        if tuple.is_none() && h.fd >= 0 {
            let key = (h.pid, h.conn, h.fd);
            tuple = match self.tuples.get(&key) {
                Some((at, t)) if at.elapsed() < TUPLE_CACHE_TTL => *t,
                _ => {
                    if self.tuples.len() >= TUPLE_CACHE_MAX {
                        self.tuples
                            .retain(|_, (at, _)| at.elapsed() < TUPLE_CACHE_TTL);
                    }
                    let t = crate::procnet::tuple_of(h.pid, h.fd);
                    // Failures are retried: the socket may show up in
                    // /proc/PID/net a moment later.
                    if t.is_some() || self.core {
                        self.tuples.insert(key, (Instant::now(), t));
                    }
                    t
                }
            };
        }
        record::comm_str(&h.comm, &mut self.comm);
        self.chunks += 1;
        self.bytes += self.buf.len() as u64;
        Chunk {
            ts_ns: (h.ts_ns as i64).saturating_add(self.clock_offset).max(0) as u64,
            pid: h.pid,
            tid: h.tid,
            comm: &self.comm,
            cgroup_id: h.cgroup_id,
            conn: h.conn,
            fd: (h.fd >= 0).then_some(h.fd),
            tuple,
            direction: h.direction,
            call_len: h.call_len,
            offset: h.offset,
            truncated: h.flags & record::F_TRUNCATED != 0,
            copy_failed: h.flags & record::F_COPY_FAILED != 0,
            library: h.library,
            data: &self.buf,
        }
    }
}

/// The uprobe program `name` of the object.
/// The same attach location again (aya's type is not `Clone`).
fn same<'a>(l: &UProbeAttachLocation<'a>) -> UProbeAttachLocation<'a> {
    match l {
        UProbeAttachLocation::Symbol(s) => UProbeAttachLocation::Symbol(s),
        UProbeAttachLocation::SymbolOffset(s, o) => UProbeAttachLocation::SymbolOffset(s, *o),
        UProbeAttachLocation::AbsoluteOffset(o) => UProbeAttachLocation::AbsoluteOffset(*o),
    }
}

fn uprobe<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut UProbe, TraceError> {
    ebpf.program_mut(name)
        .ok_or_else(|| TraceError::new(format!("program {name} missing from the BPF object")))?
        .try_into()
        .map_err(|e| bpf_err(&format!("{name} is not a uprobe"), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        assert!(validate(&TraceConfig::default()).is_ok());
        let bad = |f: fn(&mut TraceConfig)| {
            let mut c = TraceConfig::default();
            f(&mut c);
            validate(&c).unwrap_err().to_string()
        };
        assert!(bad(|c| c.ring_size = 3 << 20).contains("power of two"));
        assert!(bad(|c| c.ring_size = 4096).contains("65536"));
        assert!(bad(|c| c.max_call_bytes = 0).contains("max_call_bytes"));
    }

    #[test]
    fn tracer_is_send() {
        fn send<T: Send>() {}
        send::<Tracer>();
    }

    #[test]
    fn object_is_embedded() {
        assert_eq!(&BPF_OBJECT[..4], b"\x7fELF");
    }

    #[test]
    fn comm_keys() {
        assert_eq!(&comm_key("curl")[..5], b"curl\0");
        assert_eq!(comm_key("a-very-long-command-name")[15], 0);
    }
}
