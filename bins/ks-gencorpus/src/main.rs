//! `ks-gencorpus` — writes deterministic benchmark captures (classic pcap).
//!
//! * Mixed corpus (default): replays the captures bundled under `testdata/pcap/` many times,
//!   each copy a separate set of flows (fresh IPv4/IPv6 addresses, shifted client ports,
//!   shifted TCP sequence numbers, its own start time; checksums updated), mixed by bytes
//!   like a busy cluster, until `--size` bytes are written.
//! * `--synthetic-http [N]`: N short HTTP/1.1 keep-alive connections built from scratch.
//!
//! Nothing is downloaded; the same arguments always give the same file. See
//! docs/performance.md.

mod gen;
mod sources;
mod synth;
mod template;

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};

use gen::{Link, Options, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LinkArg {
    /// Ethernet II (link type 1).
    Ether,
    /// Raw IP (link type 101).
    Raw,
}

/// Write a deterministic benchmark capture: the bundled captures replayed as many distinct
/// flows, or synthetic HTTP/1.1 connections.
#[derive(Parser, Debug)]
#[command(name = "ks-gencorpus", version, about, long_about = None)]
struct Args {
    /// Output file (`-` for standard output).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "corpus.pcap"
    )]
    output: PathBuf,
    /// Size of the mixed corpus: bytes, or with a unit: KB/MB/GB (10^3..), KiB/MiB/GiB or
    /// K/M/G (2^10..).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: u64,
    /// Instead of the mixed corpus, write N short HTTP/1.1 keep-alive connections.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "100000")]
    synthetic_http: Option<u64>,
    /// Seed for sequence-number shifts, client ports and start-time jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Link layer of the output.
    #[arg(long, value_enum, default_value_t = LinkArg::Ether)]
    link: LinkArg,
    /// Nanosecond timestamps (default: microseconds).
    #[arg(long)]
    ns: bool,
    /// Average rate of the generated timeline in Mbit/s (sets how many copies overlap).
    #[arg(long, default_value_t = 200)]
    mbps: u64,
    /// Replay only the captures whose path contains this text (the mix is then ignored).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// List the replayed captures (category, packets, flows, bytes per copy) and exit.
    #[arg(long)]
    list_sources: bool,
    /// No report on stderr.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// Parses `1GiB`, `50MB`, `512K`, `1000`.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (e.g. 1GiB, 50MB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "bad size unit in {s:?} (B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let v = num * mult as f64;
    if !(1.0..=(1u64 << 50) as f64).contains(&v) {
        return Err(format!("size {s:?} out of range"));
    }
    Ok(v as u64)
}

/// Mixed corpus of about `size` bytes.
pub fn mixed<W: Write>(size: u64, only: Option<&str>, opt: &Options, w: W) -> io::Result<Report> {
    let templates = sources::templates().map_err(io::Error::other)?;
    if let Some(only) = only {
        let pick: Vec<usize> = (0..templates.len())
            .filter(|&i| sources::SOURCES[i].path.contains(only))
            .collect();
        if pick.is_empty() {
            return Err(io::Error::other(format!(
                "no bundled capture matches {only:?}"
            )));
        }
        let names: Vec<&'static str> = pick.iter().map(|&i| sources::SOURCES[i].path).collect();
        let chosen: Vec<_> = pick.iter().map(|&i| templates[i].clone()).collect();
        let mut plan = sources::EvenPlan::new(&chosen, opt.link.header_len(), size);
        return gen::run(&chosen, &names, &names, &mut plan, opt, w);
    }
    let category: Vec<&'static str> = sources::SOURCES.iter().map(|s| s.category.name()).collect();
    let names: Vec<&'static str> = sources::MIX.iter().map(|(c, _)| c.name()).collect();
    let mut plan = sources::MixedPlan::new(&templates, opt.link.header_len(), size);
    gen::run(&templates, &category, &names, &mut plan, opt, w)
}

/// `n` synthetic HTTP/1.1 connections.
pub fn synthetic<W: Write>(n: u64, opt: &Options, w: W) -> io::Result<Report> {
    let templates = synth::templates();
    let category = vec!["http1-synthetic"; templates.len()];
    let mut plan = synth::CountPlan { remaining: n, i: 0 };
    gen::run(
        &templates,
        &category,
        &["http1-synthetic"],
        &mut plan,
        opt,
        w,
    )
}

fn list_sources(opt: &Options) -> ExitCode {
    let templates = match sources::templates() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ks-gencorpus: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("category  packets  flows  bytes/copy  capture");
    for (t, s) in templates.iter().zip(sources::SOURCES) {
        println!(
            "{:<8} {:>8} {:>6} {:>11}  {}",
            s.category.name(),
            t.packets.len(),
            t.flows,
            t.out_bytes(opt.link.header_len()),
            t.name
        );
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opt = Options {
        seed: args.seed,
        link: match args.link {
            LinkArg::Ether => Link::Ethernet,
            LinkArg::Raw => Link::Raw,
        },
        nanos: args.ns,
        mbps: args.mbps,
    };
    if args.list_sources {
        return list_sources(&opt);
    }
    let started = Instant::now();
    let out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(io::stdout().lock())
    } else {
        match File::create(&args.output) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("ks-gencorpus: {}: {e}", args.output.display());
                return ExitCode::FAILURE;
            }
        }
    };
    let res = match args.synthetic_http {
        Some(n) => synthetic(n, &opt, out),
        None => mixed(args.size, args.only.as_deref(), &opt, out),
    };
    let rep = match res {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ks-gencorpus: {}: {e}", args.output.display());
            return ExitCode::FAILURE;
        }
    };
    if !args.quiet {
        let total: u64 = rep.by_category.iter().map(|e| e.1).sum::<u64>().max(1);
        let mix: Vec<String> = rep
            .by_category
            .iter()
            .map(|(c, b)| format!("{c} {:.1}%", *b as f64 * 100.0 / total as f64))
            .collect();
        eprintln!(
            "ks-gencorpus: {}: {} bytes, {} packets, {} copies, {} flows, {:.1}s of capture time; mix by bytes: {}; {:.2}s",
            args.output.display(),
            rep.bytes,
            rep.packets,
            rep.copies,
            rep.flows,
            rep.span_ns as f64 / 1e9,
            mix.join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
