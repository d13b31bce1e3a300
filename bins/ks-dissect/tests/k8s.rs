//! `--k8s-snapshot`: a capture labelled offline from what `kubectl get ... -o
//! json` printed (testdata/k8s/bro-org.snapshot.json, written for the capture:
//! its client address belonged to pod `browser-5f7c-old` until
//! `browser-5f7c-new` started at 17:04:08; the server is pod `web-0` of
//! StatefulSet `web`, behind service `web`). The live `--kubeconfig` path is
//! tested against a real API server in crates/ks-k8s/tests/apiserver.rs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn capture() -> String {
    root()
        .join("testdata/pcap/http1/zeek_http_bro-org.pcap")
        .display()
        .to_string()
}

fn snapshot() -> String {
    root()
        .join("testdata/k8s/bro-org.snapshot.json")
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ks-dissect"))
        .args(args)
        .output()
        .expect("run ks-dissect")
}

fn jsonl(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn snapshot_labels_both_sides_by_the_time_of_each_entry() {
    let cap = capture();
    let snap = snapshot();
    let plain = jsonl(&run(&["-q", "--format", "jsonl", &cap]));
    let labelled = jsonl(&run(&[
        "-q",
        "--format",
        "jsonl",
        "--k8s-snapshot",
        &snap,
        &cap,
    ]));
    assert_eq!(plain.len(), labelled.len());
    let mut before = 0;
    let mut after = 0;
    for (p, l) in plain.iter().zip(&labelled) {
        // Only the identity fields are new; everything else is as without.
        let mut stripped = l.clone();
        for side in ["src", "dst"] {
            let o = stripped[side].as_object_mut().unwrap();
            for k in [
                "name",
                "namespace",
                "pod",
                "node",
                "service",
                "workload",
                "labels",
            ] {
                o.remove(k);
            }
        }
        assert_eq!(&stripped, p);

        let pod = if l["timestamp"].as_str().unwrap() < "2014-01-14T17:04:08Z" {
            before += 1;
            "browser-5f7c-old"
        } else {
            after += 1;
            "browser-5f7c-new"
        };
        let src = &l["src"];
        assert_eq!(src["ip"], "10.0.2.15");
        assert_eq!(src["pod"], pod, "{}", l["id"]);
        assert_eq!(src["name"], "browser");
        assert_eq!(src["namespace"], "lab");
        assert_eq!(src["node"], "node-a");
        assert_eq!(src["workload"]["kind"], "Deployment");
        assert_eq!(src["workload"]["name"], "browser");
        assert_eq!(src["labels"]["app"], "browser");
        assert!(src.get("service").is_none(), "the client is in no service");
        let dst = &l["dst"];
        assert_eq!(dst["name"], "web");
        assert_eq!(dst["pod"], "web-0");
        assert_eq!(dst["service"], "web");
        assert_eq!(dst["node"], "node-b");
        assert_eq!(dst["workload"]["kind"], "StatefulSet");
    }
    assert!(before > 0 && after > 0, "{before} before, {after} after");
}

#[test]
fn table_shows_names_instead_of_addresses() {
    let out = run(&["-q", "--k8s-snapshot", &snapshot(), &capture()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() > 30);
    for line in text.lines() {
        assert!(line.contains("browser (lab) -> web (lab)"), "{line}");
        assert!(!line.contains("10.0.2.15"), "{line}");
    }
    // Without a snapshot: addresses.
    let out = run(&["-q", &capture()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().all(|l| l.contains("10.0.2.15:")));
}

#[test]
fn filters_see_the_kubernetes_names() {
    let snap = snapshot();
    let cap = capture();
    let all = jsonl(&run(&[
        "-q",
        "--format",
        "jsonl",
        "--k8s-snapshot",
        &snap,
        &cap,
    ]));
    let new = jsonl(&run(&[
        "-q",
        "--format",
        "jsonl",
        "--k8s-snapshot",
        &snap,
        "-Y",
        r#"src.pod == "browser-5f7c-new" && dst.service == "web""#,
        &cap,
    ]));
    let expected = all
        .iter()
        .filter(|e| e["timestamp"].as_str().unwrap() >= "2014-01-14T17:04:08Z")
        .count();
    assert!(expected > 0);
    assert_eq!(new.len(), expected);
}

#[test]
fn bad_snapshots_and_conflicting_sources_are_refused_before_reading() {
    let dir = std::env::temp_dir().join(format!("ks-k8s-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{ not json").unwrap();
    let out = run(&["--k8s-snapshot", bad.to_str().unwrap(), &capture()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--k8s-snapshot") && err.contains("bad.json"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = run(&[
        "--k8s-snapshot",
        dir.join("missing.json").to_str().unwrap(),
        &capture(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let out = run(&[
        "--k8s-snapshot",
        &snapshot(),
        "--kubeconfig",
        "/nonexistent",
        &capture(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));

    let out = run(&[
        "--kubeconfig",
        dir.join("missing-kubeconfig").to_str().unwrap(),
        &capture(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kubeconfig"));
    let _ = std::fs::remove_dir_all(&dir);
}
