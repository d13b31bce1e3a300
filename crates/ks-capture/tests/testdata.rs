//! Every capture under testdata/pcap agrees with tshark's reference output.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{read_all, Owned};
use ks_capture::{linktype, FileSource, Format, PacketSource};
use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcap")
}

fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(testdata()).expect("testdata/pcap exists") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if matches!(
                f.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// "1362692526.939527000" → ns since the epoch.
fn parse_epoch(s: &str) -> u64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_string();
    assert!(frac.len() <= 9, "{s}");
    while frac.len() < 9 {
        frac.push('0');
    }
    sec.parse::<u64>().unwrap() * 1_000_000_000 + frac.parse::<u64>().unwrap()
}

fn read_path(path: &Path) -> Vec<Owned> {
    let mut src = FileSource::open(path).unwrap();
    let size = std::fs::metadata(path).unwrap().len();
    assert_eq!(src.size_hint(), Some(size));
    let expected_format = if path.extension().unwrap() == "pcapng" {
        Format::PcapNg
    } else {
        Format::Pcap
    };
    assert_eq!(src.format(), expected_format);
    let (pkts, err) = read_all(&mut src);
    assert!(err.is_none(), "{}: {err:?}", path.display());
    assert_eq!(
        src.position(),
        size,
        "{}: all bytes consumed",
        path.display()
    );
    pkts
}

#[test]
fn frame_counts_timestamps_and_interfaces_match_tshark() {
    let caps = captures();
    assert!(caps.len() >= 20, "found only {} captures", caps.len());
    let mut checked_times = 0;
    for path in caps {
        let json_path = path.with_extension("tshark.json");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let pkts = read_path(&path);
        let name = path.display();

        let frame_count = json["frame_count"].as_u64().unwrap();
        assert_eq!(pkts.len() as u64, frame_count, "{name}: frame count");
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(p.frame, i as u64 + 1, "{name}");
            assert!(!p.data.is_empty() || p.orig_len == 0, "{name}: empty data");
        }

        // frame number → (time, interface id when tshark reported one)
        let mut expect: BTreeMap<u64, (u64, Option<u32>)> = BTreeMap::new();
        for m in json["messages"].as_array().into_iter().flatten() {
            let frame = m["frame"].as_u64().unwrap();
            let t = parse_epoch(m["time_epoch"].as_str().unwrap());
            let iface = m["fields"]["frame.interface_id"][0]
                .as_str()
                .map(|s| s.parse().unwrap());
            expect.insert(frame, (t, iface));
        }
        for f in json["flows"].as_array().into_iter().flatten() {
            let frame = f["first_frame"].as_u64().unwrap();
            let t = parse_epoch(f["first_time_epoch"].as_str().unwrap());
            let e = expect.entry(frame).or_insert((t, None));
            assert_eq!(
                e.0, t,
                "{name}: messages and flows disagree on frame {frame}"
            );
        }
        for (frame, (t, iface)) in expect {
            let p = &pkts[frame as usize - 1];
            assert_eq!(p.ts_ns, t, "{name}: timestamp of frame {frame}");
            if let Some(i) = iface {
                assert_eq!(p.interface_id, i, "{name}: interface of frame {frame}");
            }
            checked_times += 1;
        }
    }
    assert!(
        checked_times > 100,
        "only {checked_times} timestamps checked"
    );
}

#[test]
fn link_types_of_real_captures() {
    let dir = testdata().join("link");
    let sll2 = read_path(&dir.join("suricata-verify_sll2-http.pcap"));
    assert!(sll2.iter().all(|p| p.link_type == linktype::LINUX_SLL2));
    let nflog = read_path(&dir.join("zeek_nflog-http.pcap"));
    assert!(nflog.iter().all(|p| p.link_type == linktype::NFLOG));
    let eth = read_path(&testdata().join("http1/zeek_http_get.pcap"));
    assert!(eth.iter().all(|p| p.link_type == linktype::ETHERNET));
}

#[test]
fn pcapng_multi_interface() {
    // The file: an SHB, IDB 0 (ethernet, if_tsresol 9, Linux) and IDB 1
    // (ethernet, if_tsresol 6, Windows), then six EPBs: frames 1-2 on
    // interface 0, 3-6 on interface 1 (per tshark's frame.interface_id).
    let pkts = read_path(&testdata().join("link/zeek_pcapng-multi-interface.pcapng"));
    let ifaces: Vec<u32> = pkts.iter().map(|p| p.interface_id).collect();
    assert_eq!(ifaces, [0, 0, 1, 1, 1, 1]);
    assert!(pkts.iter().all(|p| p.link_type == linktype::ETHERNET));
    // Nanosecond interface keeps all 9 digits; the µs one ends in 000.
    assert_eq!(pkts[0].ts_ns, 1_767_663_089_500_330_493);
    assert_eq!(pkts[2].ts_ns % 1000, 0);
    assert_eq!(pkts[0].data.len(), 96);
    assert_eq!(pkts[0].orig_len, 96);
}
