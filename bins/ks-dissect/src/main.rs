//! `ks-dissect [OPTIONS] FILE...` — argument parsing and wiring only; the work is
//! in `ks-engine`.

mod live;
#[cfg(feature = "tls-trace")]
mod tls_trace;

use clap::{Parser, ValueEnum};
use ks_capture::{FileSource, PacketSource};
use ks_engine::{
    dissect_parallel_map, DecodeAs, Dissector, EngineConfig, Entry, FlowRecord, Output, Stats,
};
use ks_proto::Protocol;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// mimalloc instead of glibc malloc: the engine allocates per message (strings, entry
/// records) and frees them when output; glibc's bins spent a quarter of a JSON run in
/// `_int_malloc`/`free`/`malloc_consolidate` (docs/performance.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One readable line per entry.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Dissect capture files into request/response entries (HTTP/1 today).
#[derive(Parser, Debug)]
#[command(name = "ks-dissect", version, about, long_about = None)]
struct Args {
    /// Capture files (pcap or pcapng); `-` reads standard input.
    files: Vec<String>,
    /// Capture file to read (as in tshark); may be repeated.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Decode as, like tshark: `tcp.port==8888,http`. May be repeated.
    #[arg(short = 'd', long = "decode-as", value_name = "RULE")]
    decode_as: Vec<DecodeAs>,
    /// Keep only these protocols (comma-separated, e.g. `http`; `tcp`, `udp` and
    /// `sctp` keep the L4 entries of flows no dissector claimed).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    protocol: Vec<String>,
    /// Keep only the entries this filter matches (CEL with Kubeshark's KFL2
    /// variables; docs/filter.md), e.g. -Y 'http && status_code >= 500'.
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    display_filter: Option<String>,
    /// Also print a record for every flow when it ends.
    #[arg(long)]
    flows: bool,
    /// Tell apart flows whose 5-tuples are equal but VLAN ids differ.
    #[arg(long)]
    flow_key_vlan: bool,
    /// Decrypt TLS with the secrets in this key log (NSS format, what SSLKEYLOGFILE
    /// writes; Wireshark's tls.keylog_file): what is inside comes out as its own
    /// entries, marked `"tls": true`.
    #[arg(long, value_name = "FILE")]
    tls_keylog: Option<std::path::PathBuf>,
    /// Label endpoints with their Kubernetes identity (pod, namespace, workload,
    /// service, node) from a snapshot: what `kubectl get
    /// pods,services,endpointslices,nodes,replicasets,deployments -A -o json`
    /// printed in the cluster (docs/k8s.md).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Kubernetes",
        conflicts_with = "kubeconfig"
    )]
    k8s_snapshot: Option<std::path::PathBuf>,
    /// Label endpoints with their Kubernetes identity, watched live from the API
    /// server this kubeconfig names (needs list/watch on pods, services, nodes,
    /// endpointslices, replicasets, jobs; docs/k8s.md).
    #[arg(long, value_name = "PATH", help_heading = "Kubernetes")]
    kubeconfig: Option<std::path::PathBuf>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// No summary on stderr at the end.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Count only: dissect everything but print no entries (the summary still goes to stderr).
    #[arg(long)]
    count: bool,
    /// Worker threads (default: all cores). Flows are spread over workers by their
    /// 5-tuple; the output is the same, in the same order, whatever the number.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Capture live from this interface instead of reading files (may be
    /// repeated; needs root or CAP_NET_RAW), e.g. `-i eth0`. Entries print as
    /// they complete; Ctrl-C ends it with the summary.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        help_heading = "Live capture"
    )]
    interface: Vec<String>,
    /// Live capture backend.
    #[arg(long, value_enum, default_value_t = live::Backend::Afpacket, help_heading = "Live capture")]
    backend: live::Backend,
    /// Capture filter in tcpdump syntax, applied in the kernel, e.g. `-f "tcp port 80"`.
    #[arg(short = 'f', value_name = "FILTER", help_heading = "Live capture")]
    filter: Option<String>,
    /// Bytes kept per packet.
    #[arg(
        short = 's',
        long,
        value_name = "BYTES",
        default_value_t = 262_144,
        help_heading = "Live capture"
    )]
    snaplen: u32,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", help_heading = "Live capture")]
    duration: Option<f64>,
    /// Stop after this many packets (all interfaces together).
    #[arg(short = 'c', value_name = "COUNT", help_heading = "Live capture")]
    count_packets: Option<u64>,
    /// Also record the packets dissected to this pcapng file (one interface
    /// description per -i), to dissect them again later.
    #[arg(short = 'w', value_name = "FILE.pcapng", help_heading = "Live capture")]
    write: Option<std::path::PathBuf>,
    /// See inside TLS without keys: eBPF uprobes on the TLS libraries of the
    /// processes on this machine (OpenSSL, GnuTLS, Go crypto/tls; needs root,
    /// or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE). Alone or with -i; entries
    /// are marked "tls" with their process (docs/tls-trace.md).
    #[arg(long, help_heading = "TLS tracing")]
    tls_trace: bool,
    /// --tls-trace: only this process (may be repeated).
    #[arg(long, value_name = "PID", help_heading = "TLS tracing")]
    pid: Vec<u32>,
    /// --tls-trace: only processes with this command name (may be repeated).
    #[arg(long, value_name = "NAME", help_heading = "TLS tracing")]
    comm: Vec<String>,
    #[command(flatten)]
    limits: Limits,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut files = args.read.clone();
    files.extend(args.files.iter().cloned());
    if (!args.pid.is_empty() || !args.comm.is_empty()) && !args.tls_trace {
        eprintln!("ks-dissect: --pid and --comm scope --tls-trace, which was not given");
        return ExitCode::from(2);
    }
    let live_run = !args.interface.is_empty() || args.tls_trace;
    if files.is_empty() && !live_run {
        eprintln!(
            "ks-dissect: no capture file given (try `ks-dissect FILE` or `ks-dissect --help`)"
        );
        return ExitCode::from(2);
    }
    // Refused before any packet is read.
    let display_filter = match args.display_filter.as_deref().map(ks_query::Filter::new) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("ks-dissect: bad filter (-Y):\n{e}");
            return ExitCode::from(2);
        }
    };
    let mut keep = Vec::new();
    for p in &args.protocol {
        // `tcp`, `udp` and `sctp` select the L4 entries of flows no dissector took.
        let l4 = ["udp", "sctp"]
            .into_iter()
            .find(|t| t.eq_ignore_ascii_case(p));
        match l4.or_else(|| Protocol::from_name(p).map(Protocol::name)) {
            Some(p) => keep.push(p),
            None => {
                eprintln!("ks-dissect: unknown protocol {p:?} in --protocol");
                return ExitCode::from(2);
            }
        }
    }
    let mut cfg = EngineConfig {
        decode_as: args.decode_as.clone(),
        flow_key_vlan: args.flow_key_vlan,
        ..EngineConfig::default()
    };
    args.limits.apply(&mut cfg);
    if let Some(path) = &args.tls_keylog {
        match std::fs::read(path) {
            Ok(bytes) => {
                let keylog = ks_engine::KeyLog::parse(&String::from_utf8_lossy(&bytes));
                if !args.quiet {
                    eprintln!(
                        "ks-dissect: key log {}: {} sessions{}",
                        path.display(),
                        keylog.len(),
                        match keylog.bad_lines() {
                            0 => String::new(),
                            n => format!(", {n} lines not understood"),
                        }
                    );
                }
                cfg.tls.keylog = Some(std::sync::Arc::new(keylog));
            }
            Err(e) => {
                eprintln!("ks-dissect: cannot read key log {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    match identity_source(&args) {
        Ok(ids) => cfg.identity = ids,
        Err(e) => {
            eprintln!("ks-dissect: {e}");
            return ExitCode::from(2);
        }
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let stdout = io::stdout();
    let mut out = Printer {
        w: BufWriter::with_capacity(1 << 16, stdout.lock()),
        // Count mode prints nothing on stdout, not even an empty JSON array.
        format: if args.count {
            Format::Table
        } else {
            args.format
        },
        first: true,
    };
    let render = Render {
        format: args.format,
        keep: &keep,
        flows: args.flows,
        count: args.count,
        filter: display_filter.as_ref(),
        considered: AtomicU64::new(0),
        matched: AtomicU64::new(0),
    };
    let started = Instant::now();
    let mut failed = false;
    let mut total = Stats::default();
    let progress = !args.no_progress && io::stderr().is_terminal();
    out.begin();
    if live_run {
        let feeds = match tls_feeds(&args) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ks-dissect: {e}");
                return ExitCode::from(2);
            }
        };
        let largs = live::LiveArgs {
            interfaces: args.interface.clone(),
            backend: args.backend,
            filter: args.filter.clone(),
            snaplen: args.snaplen,
            // Live, one worker per interface unless asked: a fanout group
            // only pays off when one core cannot keep up.
            workers: args.threads.unwrap_or(1).max(1),
            write: args.write.clone(),
            packet_limit: args.count_packets,
            duration: args.duration,
        };
        let (session, recorder) = match live::start(&largs, feeds, &cfg) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("ks-dissect: {e}");
                return ExitCode::from(2);
            }
        };
        for ev in &session {
            if live::report(&ev) {
                failed = true;
                continue;
            }
            if let ks_engine::live::LiveEvent::Output(o) = ev {
                if let Some(t) = render.render(&o) {
                    out.write(&t);
                    if out.w.flush().is_err() {
                        // stdout closed: stop capturing.
                        session.stop_handle().store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        let (summary, write_failed) =
            live::finish(session, recorder, args.write.as_ref(), args.quiet);
        failed |= write_failed;
        total.merge(&summary.stats);
    }
    for file in &files {
        let mut bar = Progress::new(progress, file);
        let (stats, error) = if threads > 1 && file != "-" {
            // Each worker opens the file itself; an unreadable file fails in all of them alike.
            let position = AtomicU64::new(0);
            bar.size = std::fs::metadata(file).ok().map(|m| m.len());
            dissect_parallel_map(
                || FileSource::open(file),
                &cfg,
                threads,
                Some(&position),
                &|o| render.render(&o),
                &mut |text: Option<Vec<u8>>| {
                    if let Some(t) = text {
                        out.write(&t);
                    }
                    bar.tick(position.load(Ordering::Relaxed));
                },
            )
        } else {
            let source = if file == "-" {
                FileSource::from_reader(Box::new(io::stdin()), "<stdin>")
            } else {
                FileSource::open(file)
            };
            let source = match source {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("ks-dissect: {e}");
                    failed = true;
                    continue;
                }
            };
            bar.size = source.size_hint();
            let mut dissector = Dissector::new(source, cfg.clone());
            let mut error = None;
            while let Some(item) = dissector.next() {
                match item {
                    Ok(o) => {
                        if let Some(t) = render.render(&o) {
                            out.write(&t);
                        }
                    }
                    Err(e) => error = Some(e),
                }
                bar.tick(dissector.source().position());
            }
            (dissector.engine().stats(), error)
        };
        bar.clear();
        if let Some(e) = error {
            let _ = out.w.flush();
            eprintln!("ks-dissect: {e}");
            failed = true;
        }
        total.merge(&stats);
    }
    out.end();
    if out.w.flush().is_err() {
        // stdout closed (e.g. piped into `head`): not an error of ours.
        return ExitCode::SUCCESS;
    }
    if !args.quiet {
        summary(&total, started.elapsed());
        if let Some(f) = &display_filter {
            eprintln!(
                "ks-dissect: filter {:?} matched {} of {} entries",
                f.source(),
                render.matched.load(Ordering::Relaxed),
                render.considered.load(Ordering::Relaxed)
            );
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every cap of the engine, with its default (see docs/architecture.md, "Bounded memory").
/// Sizes take suffixes: 64KiB, 1MiB, 1GiB (or plain bytes).
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Limits")]
struct Limits {
    /// Flows kept at once; past it the least recently active flow is finished early.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().max_flows)]
    max_flows: usize,
    /// Seconds of capture time after which an idle flow is finished.
    #[arg(long, value_name = "SECS", default_value_t = EngineConfig::default().flow_idle_ns / 1_000_000_000)]
    flow_idle: u64,
    /// Out-of-order TCP bytes buffered per direction of a flow.
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().tcp.max_ooo_bytes as u64)]
    max_ooo_bytes: u64,
    /// Out-of-order TCP segments buffered per direction of a flow.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().tcp.max_ooo_segments)]
    max_ooo_segments: usize,
    /// Out-of-order TCP bytes buffered over all flows.
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().reassembly_budget as u64)]
    reassembly_budget: u64,
    /// Unparsed bytes kept per direction while a parser waits for a whole message head.
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().max_stream_buffer as u64)]
    max_stream_buffer: u64,
    /// Requests waiting for their response per flow.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().max_pending_requests)]
    max_pending: usize,
    /// HTTP requests a parser tracks for pipelining.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().http.max_pipeline)]
    max_pipeline: usize,
    /// Bytes of an HTTP head (request/status line and headers).
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().http.max_header_bytes as u64)]
    max_header_bytes: u64,
    /// Headers per HTTP message.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().http.max_headers)]
    max_headers: usize,
    /// Body bytes kept per message (decoded).
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().http.max_body_kept as u64)]
    max_body: u64,
    /// Decompressed bytes per body before decoding stops (decompression bombs).
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().http.max_decoded_bytes)]
    max_decoded: u64,
    /// IP datagrams being reassembled from fragments at once.
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().defrag.max_datagrams)]
    max_fragment_datagrams: usize,
    /// Bytes buffered for IP fragment reassembly.
    #[arg(long, value_name = "SIZE", value_parser = size, default_value_t = EngineConfig::default().defrag.max_bytes as u64)]
    max_fragment_bytes: u64,
    /// No `tcp`/`udp` entry for flows no dissector claims.
    #[arg(long)]
    no_l4_entries: bool,
    /// Do not decode Kafka message bodies (topics, error codes, records): headers,
    /// pairing and summaries without topics only, for speed.
    #[arg(long)]
    no_kafka_bodies: bool,
    /// Seconds an incomplete fragmented datagram is kept.
    #[arg(long, value_name = "SECS", default_value_t = EngineConfig::default().defrag.timeout_ns / 1_000_000_000)]
    fragment_timeout: u64,
}

impl Limits {
    fn apply(&self, c: &mut EngineConfig) {
        let us = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        c.max_flows = self.max_flows.max(1);
        c.flow_idle_ns = self.flow_idle.saturating_mul(1_000_000_000);
        c.tcp.max_ooo_bytes = us(self.max_ooo_bytes);
        c.tcp.max_ooo_segments = self.max_ooo_segments;
        c.reassembly_budget = us(self.reassembly_budget);
        c.max_stream_buffer = us(self.max_stream_buffer);
        c.max_pending_requests = self.max_pending.max(1);
        c.http.max_pipeline = self.max_pipeline;
        c.http.max_header_bytes = us(self.max_header_bytes);
        c.http.max_headers = self.max_headers;
        c.http.max_body_kept = us(self.max_body);
        c.http2.max_body_kept = us(self.max_body);
        c.websocket.max_payload_kept = us(self.max_body);
        c.max_body_shown = us(self.max_body);
        c.http.max_decoded_bytes = self.max_decoded;
        c.defrag.max_datagrams = self.max_fragment_datagrams;
        c.defrag.max_bytes = us(self.max_fragment_bytes);
        c.defrag.timeout_ns = self.fragment_timeout.saturating_mul(1_000_000_000);
        c.kafka.decode_bodies = !self.no_kafka_bodies;
        c.l4_entries = !self.no_l4_entries;
    }
}

/// `64KiB`, `1MiB`, `2GiB`, `1GB`, `1500` → bytes.
fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (e.g. 65536, 64KiB, 1MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("bad size unit in {s:?} (use KiB, MiB, GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// A progress line on stderr (only when it is a terminal).
struct Progress<'a> {
    on: bool,
    file: &'a str,
    size: Option<u64>,
    last: Instant,
}

impl<'a> Progress<'a> {
    fn new(on: bool, file: &'a str) -> Self {
        Progress {
            on,
            file,
            size: None,
            last: Instant::now(),
        }
    }

    fn tick(&mut self, position: u64) {
        if !self.on || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        if let Some(size) = self.size.filter(|s| *s > 0) {
            eprint!(
                "\r{}: {:5.1}% ",
                self.file,
                position as f64 * 100.0 / size as f64
            );
        }
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}

/// Turns outputs into the bytes printed for them (runs in the workers when
/// there are several, so formatting uses every core too).
struct Render<'a> {
    format: Format,
    keep: &'a [&'static str],
    flows: bool,
    count: bool,
    /// `-Y`: entries it does not match are not shown.
    filter: Option<&'a ks_query::Filter>,
    /// Entries the filter was tried on, and those it matched (for the summary).
    considered: AtomicU64,
    matched: AtomicU64,
}

impl Render<'_> {
    /// The text for one output (with its newline; JSON array separators are the
    /// printer's), or `None` when it is not shown.
    fn render(&self, o: &Output) -> Option<Vec<u8>> {
        if let Output::Entry(e) = o {
            if !self.keep.is_empty() && !self.keep.contains(&e.protocol) {
                return None;
            }
        }
        if let (Output::Entry(e), Some(f)) = (o, self.filter) {
            self.considered.fetch_add(1, Ordering::Relaxed);
            if !f.matches(e) {
                return None;
            }
            self.matched.fetch_add(1, Ordering::Relaxed);
        }
        if self.count {
            return None;
        }
        let mut b = Vec::with_capacity(256);
        match o {
            Output::Entry(e) => {
                if self.format == Format::Table {
                    table_entry(&mut b, e);
                } else {
                    serde_json::to_writer(&mut b, e).ok()?;
                }
            }
            Output::Flow(f) => {
                if !self.flows {
                    return None;
                }
                if self.format == Format::Table {
                    table_flow(&mut b, f);
                } else {
                    #[derive(serde::Serialize)]
                    struct Wrapped<'a> {
                        flow: &'a FlowRecord,
                    }
                    serde_json::to_writer(&mut b, &Wrapped { flow: f }).ok()?;
                }
            }
        }
        if self.format != Format::Table {
            b.push(b'\n');
        }
        Some(b)
    }
}

/// The `--tls-trace` feed, if asked for.
#[cfg(feature = "tls-trace")]
fn tls_feeds(args: &Args) -> Result<Vec<ks_engine::live::PlaintextFeed>, String> {
    if !args.tls_trace {
        return Ok(Vec::new());
    }
    Ok(vec![tls_trace::feed(&args.pid, &args.comm, args.quiet)?])
}

#[cfg(not(feature = "tls-trace"))]
fn tls_feeds(args: &Args) -> Result<Vec<ks_engine::live::PlaintextFeed>, String> {
    if args.tls_trace {
        return Err(
            "--tls-trace: this ks-dissect was built without it (cargo feature `tls-trace`)".into(),
        );
    }
    Ok(Vec::new())
}

fn table_entry(w: &mut Vec<u8>, e: &Entry) {
    let elapsed = e
        .elapsed_us
        .map(|us| format!("{:.1}ms", us as f64 / 1000.0))
        .unwrap_or_else(|| "-".into());
    let err = e
        .error
        .as_ref()
        .map(|x| format!("  [{}]", x.kind))
        .unwrap_or_default();
    let time = e.timestamp.get(11..26).unwrap_or(&e.timestamp);
    // Seen inside TLS through a key log: `HTTP2/TLS`.
    let protocol = if e.tls {
        format!("{}/TLS", e.protocol.to_uppercase())
    } else {
        e.protocol.to_uppercase()
    };
    // Plaintext from --tls-trace: the process it was seen in.
    let process = e
        .process
        .as_ref()
        .map(|p| format!("  ({} {})", p.comm, p.pid))
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "{:<8} {} {:>21} -> {:<21} {:<5} {}  {}{}{}",
        e.id,
        time,
        endpoint_name(&e.src),
        endpoint_name(&e.dst),
        protocol,
        e.summary,
        elapsed,
        err,
        process
    );
}

fn table_flow(w: &mut Vec<u8>, f: &FlowRecord) {
    let _ = writeln!(
        w,
        "flow {} {} {} <-> {} frames={} bytes={}/{} proto={} gaps={}",
        f.transport,
        f.stream,
        endpoint(&f.a),
        endpoint(&f.b),
        f.frames,
        f.bytes_a_to_b,
        f.bytes_b_to_a,
        f.protocol,
        f.gaps
    );
}

/// Writes rendered outputs to stdout, adding JSON array punctuation.
struct Printer<W: Write> {
    w: W,
    format: Format,
    first: bool,
}

impl<W: Write> Printer<W> {
    fn begin(&mut self) {
        if self.format == Format::Json {
            let _ = self.w.write_all(b"[");
        }
    }

    fn end(&mut self) {
        if self.format == Format::Json {
            let _ = self.w.write_all(if self.first { b"]\n" } else { b"\n]\n" });
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.format == Format::Json {
            let _ = self.w.write_all(if self.first { b"\n" } else { b",\n" });
            let _ = self.w.write_all(bytes.strip_suffix(b"\n").unwrap_or(bytes));
        } else {
            let _ = self.w.write_all(bytes);
        }
        self.first = false;
    }
}

/// The Kubernetes identity source `--k8s-snapshot` or `--kubeconfig` asks for.
fn identity_source(args: &Args) -> Result<Option<ks_engine::IdentitySource>, String> {
    use std::sync::Arc;
    if let Some(path) = &args.k8s_snapshot {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read --k8s-snapshot {}: {e}", path.display()))?;
        // The snapshot's own time: when the file was written.
        let taken_ns = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(u64::MAX, |d| d.as_nanos() as u64);
        let (index, summary) = ks_k8s::snapshot::load(&bytes, taken_ns, Default::default())
            .map_err(|e| format!("--k8s-snapshot {}: {e}", path.display()))?;
        if !args.quiet {
            eprintln!(
                "ks-dissect: k8s snapshot {}: {} of {} objects indexed",
                path.display(),
                summary.indexed,
                summary.items
            );
        }
        return Ok(Some(ks_engine::IdentitySource(Arc::new(index))));
    }
    if let Some(path) = &args.kubeconfig {
        let live = ks_k8s::live::watch_blocking(
            Some(path),
            Default::default(),
            Duration::from_secs(K8S_WAIT_SECS),
        )
        .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
        if !live.ready() && !args.quiet {
            eprintln!(
                "ks-dissect: the API server has not listed everything after {K8S_WAIT_SECS} s; \
                 going on, names fill in as the watches catch up"
            );
        }
        return Ok(Some(ks_engine::IdentitySource(Arc::new(live))));
    }
    Ok(None)
}

/// How long `--kubeconfig` waits for the first list of every kind.
const K8S_WAIT_SECS: u64 = 10;

/// An endpoint as the table shows it: its Kubernetes name when known.
fn endpoint_name(e: &ks_engine::Endpoint) -> String {
    e.display_name().unwrap_or_else(|| endpoint(e))
}

fn endpoint(e: &ks_engine::Endpoint) -> String {
    match e.ip {
        std::net::IpAddr::V4(ip) => format!("{ip}:{}", e.port),
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
    }
}

fn summary(s: &Stats, wall: Duration) {
    let caps: Vec<String> = [
        ("flows evicted (--max-flows)", s.flows_evicted),
        ("flows timed out (--flow-idle)", s.flows_timed_out),
        (
            "out-of-order cap (--max-ooo-bytes/--max-ooo-segments)",
            s.tcp.ooo_cap_hits,
        ),
        (
            "reassembly budget (--reassembly-budget)",
            s.tcp.budget_cap_hits,
        ),
        (
            "stream buffer (--max-stream-buffer)",
            s.stream_buffer_capped,
        ),
        ("pending requests (--max-pending)", s.pending_capped),
        ("pipeline (--max-pipeline)", s.http.pipeline_capped),
        (
            "heads (--max-header-bytes/--max-headers)",
            s.http.headers_capped,
        ),
        ("decompression (--max-decoded)", s.http.decompress_capped),
        (
            "fragment buffers (--max-fragment-*)",
            s.defrag.evicted_over_cap + s.defrag.too_large,
        ),
        (
            "fragments timed out (--fragment-timeout)",
            s.defrag.timed_out,
        ),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{k}: {n}"))
    .collect();
    let per_proto: Vec<String> = s.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let errs: Vec<String> = s
        .entry_errors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    eprintln!(
        "ks-dissect: {} packets, {} bytes, {} flows (tcp {}, udp {}, sctp {}), {} entries ({}), {} gaps ({} bytes), {} errors (decode {}, parse {}{}{}), {:.3}s",
        s.packets,
        s.bytes,
        s.tcp_flows + s.udp_flows + s.sctp_flows,
        s.tcp_flows,
        s.udp_flows,
        s.sctp_flows,
        s.total_entries(),
        if per_proto.is_empty() { "none".into() } else { per_proto.join(" ") },
        s.gaps(),
        s.tcp.gap_bytes,
        s.errors(),
        s.decode_errors,
        s.parse_errors,
        if errs.is_empty() { "" } else { "; entries with errors: " },
        errs.join(" "),
        wall.as_secs_f64()
    );
    if !caps.is_empty() {
        eprintln!("ks-dissect: limits reached: {}", caps.join(", "));
    }
    if !s.events.is_empty() {
        let ev: Vec<String> = s.events.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("ks-dissect: parser events: {}", ev.join(" "));
    }
}
