//! `ks-dissect [OPTIONS] FILE...` — argument parsing and wiring only; the work is
//! in `ks-engine`.

use clap::{Parser, ValueEnum};
use ks_capture::{FileSource, PacketSource};
use ks_engine::{DecodeAs, Dissector, EngineConfig, Entry, FlowRecord, Output, Stats};
use ks_proto::Protocol;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
    /// Keep only these protocols (comma-separated, e.g. `http`).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    protocol: Vec<String>,
    /// Also print a record for every flow when it ends.
    #[arg(long)]
    flows: bool,
    /// Tell apart flows whose 5-tuples are equal but VLAN ids differ.
    #[arg(long)]
    flow_key_vlan: bool,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// No summary on stderr at the end.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Count only: dissect everything but print no entries (the summary still goes to stderr).
    #[arg(long)]
    count: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut files = args.read.clone();
    files.extend(args.files.iter().cloned());
    if files.is_empty() {
        eprintln!(
            "ks-dissect: no capture file given (try `ks-dissect FILE` or `ks-dissect --help`)"
        );
        return ExitCode::from(2);
    }
    let mut keep = Vec::new();
    for p in &args.protocol {
        match Protocol::from_name(p) {
            Some(p) => keep.push(p.name()),
            None => {
                eprintln!("ks-dissect: unknown protocol {p:?} in --protocol");
                return ExitCode::from(2);
            }
        }
    }
    let cfg = EngineConfig {
        decode_as: args.decode_as.clone(),
        flow_key_vlan: args.flow_key_vlan,
        ..EngineConfig::default()
    };
    let stdout = io::stdout();
    let mut out = Printer {
        w: BufWriter::with_capacity(1 << 16, stdout.lock()),
        // Count mode prints nothing on stdout, not even an empty JSON array.
        format: if args.count { Format::Table } else { args.format },
        first: true,
    };
    let started = Instant::now();
    let mut failed = false;
    let mut total = Stats::default();
    let progress = !args.no_progress && io::stderr().is_terminal();
    out.begin();
    for file in &files {
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
        let mut dissector = Dissector::new(source, cfg.clone());
        let mut last_progress = Instant::now();
        while let Some(item) = dissector.next() {
            match item {
                Ok(Output::Entry(e)) => {
                    if !args.count && (keep.is_empty() || keep.contains(&e.protocol)) {
                        out.entry(&e);
                    }
                }
                Ok(Output::Flow(f)) => {
                    if args.flows && !args.count {
                        out.flow(&f);
                    }
                }
                Err(e) => {
                    let _ = out.w.flush();
                    eprintln!("ks-dissect: {e}");
                    failed = true;
                }
            }
            if progress && last_progress.elapsed() > Duration::from_millis(250) {
                last_progress = Instant::now();
                let src = dissector.source();
                if let Some(size) = src.size_hint().filter(|s| *s > 0) {
                    eprint!(
                        "\r{file}: {:5.1}% ",
                        src.position() as f64 * 100.0 / size as f64
                    );
                }
            }
        }
        if progress {
            eprint!("\r\x1b[K");
        }
        total.merge(&dissector.engine().stats());
    }
    out.end();
    if out.w.flush().is_err() {
        // stdout closed (e.g. piped into `head`): not an error of ours.
        return ExitCode::SUCCESS;
    }
    if !args.quiet {
        summary(&total, started.elapsed());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

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

    fn json(&mut self, v: &impl serde::Serialize) {
        match self.format {
            Format::Json => {
                let _ = self.w.write_all(if self.first { b"\n" } else { b",\n" });
                let _ = serde_json::to_writer(&mut self.w, v);
            }
            _ => {
                let _ = serde_json::to_writer(&mut self.w, v);
                let _ = self.w.write_all(b"\n");
            }
        }
        self.first = false;
    }

    fn entry(&mut self, e: &Entry) {
        if self.format != Format::Table {
            return self.json(e);
        }
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
        let _ = writeln!(
            self.w,
            "{:<8} {} {:>21} -> {:<21} {:<5} {}  {}{}",
            e.id,
            time,
            endpoint(&e.src),
            endpoint(&e.dst),
            e.protocol.to_uppercase(),
            e.summary,
            elapsed,
            err
        );
    }

    fn flow(&mut self, f: &FlowRecord) {
        if self.format != Format::Table {
            #[derive(serde::Serialize)]
            struct Wrapped<'a> {
                flow: &'a FlowRecord,
            }
            return self.json(&Wrapped { flow: f });
        }
        let _ = writeln!(
            self.w,
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
}

fn endpoint(e: &ks_engine::Endpoint) -> String {
    match e.ip {
        std::net::IpAddr::V4(ip) => format!("{ip}:{}", e.port),
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
    }
}

fn summary(s: &Stats, wall: Duration) {
    let per_proto: Vec<String> = s.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let errs: Vec<String> = s
        .entry_errors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    eprintln!(
        "ks-dissect: {} packets, {} bytes, {} flows (tcp {}, udp {}), {} entries ({}), {} gaps ({} bytes), {} errors (decode {}, parse {}{}{}), {:.3}s",
        s.packets,
        s.bytes,
        s.tcp_flows + s.udp_flows,
        s.tcp_flows,
        s.udp_flows,
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
}
