//! Prints TLS plaintext chunks as they come (run as root):
//!
//! ```text
//! cargo run -p ks-tls-trace --example tls-trace -- [--comm NAME]... [--pid PID]... [--seconds N]
//! ```

use std::time::{Duration, Instant};

use ks_tls_trace::{TraceConfig, Tracer};

fn main() {
    let mut cfg = TraceConfig::default();
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--comm" => cfg.comms.push(v),
            "--pid" => cfg.pids.push(v.parse().expect("pid")),
            "--seconds" => seconds = Some(v.parse::<u64>().expect("seconds")),
            _ => {
                eprintln!("usage: tls-trace [--comm NAME]... [--pid PID]... [--seconds N]");
                std::process::exit(2);
            }
        }
    }
    let mut t = match Tracer::start(cfg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tls-trace: {e}");
            std::process::exit(1);
        }
    };
    for a in t.attached() {
        eprintln!(
            "hooked {} ({:?}, pid {:?})",
            a.path.display(),
            a.library,
            a.pid
        );
    }
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        match t.try_next_chunk(Duration::from_millis(200)) {
            Ok(Some(c)) => {
                let preview: String = String::from_utf8_lossy(&c.data[..c.data.len().min(60)])
                    .chars()
                    .map(|ch| if ch.is_control() { '.' } else { ch })
                    .collect();
                println!(
                    "{} {}[{}/{}] {:?} {:?} conn={:#x} fd={:?} {:?} call={} off={} len={}{}{} {:?}",
                    c.ts_ns,
                    c.comm,
                    c.pid,
                    c.tid,
                    c.library,
                    c.direction,
                    c.conn,
                    c.fd,
                    c.tuple.map(|t| format!("{} -> {}", t.local, t.remote)),
                    c.call_len,
                    c.offset,
                    c.data.len(),
                    if c.truncated { " TRUNCATED" } else { "" },
                    if c.copy_failed { " COPY-FAILED" } else { "" },
                    preview
                );
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("tls-trace: {e}");
                std::process::exit(1);
            }
        }
        if t.is_finished() {
            break;
        }
    }
    eprintln!("{:?}", t.stats());
}
