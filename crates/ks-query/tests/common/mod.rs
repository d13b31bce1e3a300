//! Entries of the bundled captures, and their tshark references.
#![allow(dead_code)]

use ks_capture::FileSource;
use ks_engine::{DecodeAs, Dissector, EngineConfig, Entry, Output};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcap")
}

/// Every capture of the bundled set (pcap and pcapng), sorted.
pub fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(testdata()).unwrap().flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let p = f.path();
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The entries ks gives for a capture (with its `.decode-as` rules, as the
/// conformance tests use them).
pub fn entries(pcap: &Path) -> Vec<Entry> {
    let mut cfg = EngineConfig::default();
    let rules = pcap.with_extension("decode-as");
    if let Ok(text) = std::fs::read_to_string(&rules) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            cfg.decode_as.push(line.parse::<DecodeAs>().unwrap());
        }
    }
    let source = FileSource::open(pcap).unwrap();
    Dissector::new(source, cfg)
        .filter_map(Result::ok)
        .filter_map(|o| match o {
            Output::Entry(e) => Some(*e),
            _ => None,
        })
        .collect()
}

/// A capture by its path under testdata/pcap (`http1/zeek_http_get.pcap`).
pub fn capture(rel: &str) -> PathBuf {
    testdata().join(rel)
}

/// The tshark reference beside a capture.
pub fn reference(pcap: &Path) -> Value {
    let stem = pcap.file_stem().unwrap().to_str().unwrap();
    let p = pcap.with_file_name(format!("{stem}.tshark.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The values tshark gives for `field` in frame `frame`.
pub fn field(reference: &Value, frame: u64, field: &str) -> Vec<String> {
    reference["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["frame"].as_u64() == Some(frame))
        .and_then(|m| m["fields"][field].as_array())
        .map(|v| {
            v.iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A reference message's epoch time, in ns.
pub fn frame_time_ns(reference: &Value, frame: u64) -> Option<u64> {
    let m = reference["messages"]
        .as_array()?
        .iter()
        .find(|m| m["frame"].as_u64() == Some(frame))?;
    let t = m["time_epoch"].as_str()?;
    let (s, f) = t.split_once('.')?;
    let frac = format!("{f:0<9}");
    Some(s.parse::<u64>().ok()? * 1_000_000_000 + frac[..9].parse::<u64>().ok()?)
}

/// A CEL string literal for `s`.
pub fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
