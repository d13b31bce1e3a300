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

/// Checks a labelled run against the plain one: only the identity fields are
/// new, and they say what the snapshot (or the API server) was made to say.
fn check_labelled(plain: &[Value], labelled: &[Value]) {
    assert_eq!(plain.len(), labelled.len());
    let mut before = 0;
    let mut after = 0;
    for (p, l) in plain.iter().zip(labelled) {
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
fn snapshot_labels_both_sides_by_the_time_of_each_entry() {
    let cap = capture();
    let plain = jsonl(&run(&["-q", "--format", "jsonl", &cap]));
    let labelled = jsonl(&run(&[
        "-q",
        "--format",
        "jsonl",
        "--k8s-snapshot",
        &snapshot(),
        &cap,
    ]));
    check_labelled(&plain, &labelled);
}

/// The same capture labelled live: the snapshot's objects are created on a
/// real kube-apiserver 1.20 (with the pods' start times of the capture's day,
/// patched into their status as a kubelet would write them), and
/// `ks-dissect --kubeconfig` must label it as `--k8s-snapshot` does.
#[test]
fn kubeconfig_labels_a_capture_from_a_real_apiserver() {
    let server = harness::Server::start();
    let kc = server.kubeconfig();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(live::create_objects(&kc));
    let cap = capture();
    let plain = jsonl(&run(&["-q", "--format", "jsonl", &cap]));
    let labelled = jsonl(&run(&[
        "-q",
        "--format",
        "jsonl",
        "--kubeconfig",
        kc.to_str().unwrap(),
        &cap,
    ]));
    check_labelled(&plain, &labelled);
    drop(server);
}

#[path = "../../../crates/ks-k8s/tests/apiserver/harness.rs"]
mod harness;

/// The objects of testdata/k8s/bro-org.snapshot.json, created through the API.
mod live {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
    use kube::api::{
        Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    };
    use serde_json::{json, Value};
    use std::path::Path;

    /// Creates `obj` and merges `status` into its status subresource.
    async fn create<K>(api: &Api<K>, obj: Value, status: Option<Value>)
    where
        K: kube::Resource
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        let typed: K = serde_json::from_value(obj).unwrap();
        api.create(&PostParams::default(), &typed).await.unwrap();
        if let Some(st) = status {
            api.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "status": st })),
            )
            .await
            .unwrap();
        }
    }

    pub async fn create_objects(kubeconfig: &Path) {
        let c = super::harness::client(kubeconfig).await;
        let snapshot: Value = serde_json::from_str(
            &std::fs::read_to_string(super::root().join("testdata/k8s/bro-org.snapshot.json"))
                .unwrap(),
        )
        .unwrap();
        create(
            &Api::<Namespace>::all(c.clone()),
            json!({"metadata": {"name": "lab"}}),
            None,
        )
        .await;
        for item in snapshot["items"].as_array().unwrap() {
            let mut obj = item.clone();
            let meta = obj["metadata"].as_object_mut().unwrap();
            // The server sets these itself.
            meta.remove("uid");
            meta.remove("creationTimestamp");
            let status = obj.as_object_mut().unwrap().remove("status");
            match item["kind"].as_str().unwrap() {
                "Node" => create(&Api::<Node>::all(c.clone()), obj, status).await,
                "Pod" => {
                    obj["spec"]["containers"] = json!([{"name": "c", "image": "none"}]);
                    create(&Api::<Pod>::namespaced(c.clone(), "lab"), obj, status).await
                }
                "ReplicaSet" => {
                    obj["spec"] = json!({"selector": {"matchLabels": {"app": "browser"}},
                        "template": {"metadata": {"labels": {"app": "browser"}},
                            "spec": {"containers": [{"name": "c", "image": "none"}]}}});
                    create(
                        &Api::<ReplicaSet>::namespaced(c.clone(), "lab"),
                        obj,
                        status,
                    )
                    .await
                }
                "Service" => {
                    // The cluster IP is the server's to allocate in its range.
                    obj["spec"].as_object_mut().unwrap().remove("clusterIP");
                    create(&Api::<Service>::namespaced(c.clone(), "lab"), obj, None).await
                }
                "EndpointSlice" => {
                    // 1.20 serves only v1beta1 (`topology` instead of `nodeName`).
                    let gvk = GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice");
                    let ar = ApiResource::from_gvk_with_plural(&gvk, "endpointslices");
                    obj["apiVersion"] = json!("discovery.k8s.io/v1beta1");
                    for ep in obj["endpoints"].as_array_mut().unwrap() {
                        let ep = ep.as_object_mut().unwrap();
                        if let Some(node) = ep.remove("nodeName") {
                            ep.insert("topology".into(), json!({"kubernetes.io/hostname": node}));
                        }
                    }
                    let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), "lab", &ar);
                    let dynobj: DynamicObject = serde_json::from_value(obj).unwrap();
                    api.create(&PostParams::default(), &dynobj).await.unwrap();
                }
                // Deployments are not watched (the ReplicaSet's owner names it).
                "Deployment" => {}
                k => panic!("snapshot kind {k} not handled by the test"),
            }
        }
    }
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
