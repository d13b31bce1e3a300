//! Identity from a kubectl snapshot: pods and their workloads, services by
//! cluster IP and by EndpointSlice membership, hostNetwork pods by port,
//! NodePorts, nodes, and addresses reused by a later pod.

use ks_k8s::snapshot::load;
use ks_k8s::{parse_rfc3339, Identity, Index, IndexConfig};
use serde_json::{json, Value};

fn t(s: &str) -> u64 {
    parse_rfc3339(s).unwrap()
}

fn pod(
    ns: &str,
    name: &str,
    uid: &str,
    ip: &str,
    start: &str,
    owner: Option<(&str, &str)>,
) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "labels": {"app": name},
                     "creationTimestamp": start},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": start}
    });
    if let Some((kind, oname)) = owner {
        p["metadata"]["ownerReferences"] =
            json!([{"kind": kind, "name": oname, "controller": true}]);
        if kind == "ReplicaSet" {
            let hash = oname.rsplit('-').next().unwrap();
            p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        }
    }
    p
}

fn snapshot() -> Value {
    let mut finished = pod(
        "shop",
        "old-job-pod",
        "u6",
        "10.42.1.20",
        "2024-05-01T09:00:00Z",
        None,
    );
    finished["status"]["phase"] = json!("Succeeded");
    let mut exporter = pod(
        "kube-system",
        "node-exporter-a",
        "u8",
        "192.168.1.10",
        "2024-05-01T08:00:00Z",
        Some(("DaemonSet", "node-exporter")),
    );
    exporter["spec"]["hostNetwork"] = json!(true);
    exporter["spec"]["containers"][0]["ports"] = json!([{"containerPort": 9100, "hostPort": 9100}]);
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"},
         "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "node-a"}]}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "frontend-7d9", "namespace": "shop",
                      "ownerReferences": [{"kind": "Deployment", "name": "frontend", "controller": true}]}},
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": "report-28001", "namespace": "shop",
                      "ownerReferences": [{"kind": "CronJob", "name": "report", "controller": true}]}},
        pod("shop", "frontend-7d9-x1", "u1", "10.42.1.7", "2024-05-01T10:00:00Z", Some(("ReplicaSet", "frontend-7d9"))),
        pod("shop", "catalogue-0", "u2", "10.42.1.8", "2024-05-01T10:00:00Z", Some(("StatefulSet", "catalogue"))),
        pod("shop", "report-28001-abc", "u3", "10.42.1.9", "2024-05-01T10:00:00Z", Some(("Job", "report-28001"))),
        // Its ReplicaSet is not in the snapshot: the name says the Deployment.
        pod("shop", "cart-5f6-zz", "u4", "10.42.1.10", "2024-05-01T10:00:00Z", Some(("ReplicaSet", "cart-5f6"))),
        pod("shop", "bare", "u5", "10.42.1.11", "2024-05-01T10:00:00Z", None),
        // 10.42.1.20: an old finished pod, then a new one took the address.
        finished,
        pod("shop", "new-pod", "u7", "10.42.1.20", "2024-05-01T10:30:00Z", None),
        exporter,
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "catalogue", "namespace": "shop", "creationTimestamp": "2024-05-01T09:00:00Z"},
         "spec": {"clusterIP": "10.43.0.12", "clusterIPs": ["10.43.0.12"], "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "frontend", "namespace": "shop", "creationTimestamp": "2024-05-01T09:00:00Z"},
         "spec": {"clusterIP": "10.43.0.13", "ports": [{"port": 80, "nodePort": 30080}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "catalogue-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "catalogue"}},
         "endpoints": [{"addresses": ["10.42.1.8"], "conditions": {"ready": true}}]},
        // v1beta1, as a 1.20 server serves it: same fields for what is read here.
        {"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
         "metadata": {"name": "frontend-xyz", "namespace": "shop", "labels": {"kubernetes.io/service-name": "frontend"}},
         "endpoints": [{"addresses": ["10.42.1.7"], "topology": {"kubernetes.io/hostname": "node-a"}}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ignored", "namespace": "shop"}}
    ]})
}

fn index() -> Index {
    let bytes = serde_json::to_vec(&snapshot()).unwrap();
    let (index, summary) = load(&bytes, t("2024-05-01T12:00:00Z"), IndexConfig::default()).unwrap();
    assert_eq!(summary.items, 16);
    assert_eq!(summary.indexed, 15, "the ConfigMap is not used");
    index
}

/// Resolves, and checks that the shared (built once) answer the engine uses
/// is the same as a fresh one.
fn at(index: &Index, ip: &str, port: u16, time: &str) -> Option<Identity> {
    let fresh = index.resolve(ip.parse().unwrap(), port, t(time));
    let shared = index.resolve_shared(ip.parse().unwrap(), port, t(time));
    assert_eq!(fresh.as_ref(), shared.as_deref(), "{ip}:{port} at {time}");
    fresh
}

#[test]
fn pods_resolve_to_their_workload_and_service() {
    let ix = index();
    let id = at(&ix, "10.42.1.7", 40000, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.name, "frontend");
    assert_eq!(id.namespace.as_deref(), Some("shop"));
    assert_eq!(id.pod.as_deref(), Some("frontend-7d9-x1"));
    assert_eq!(id.node.as_deref(), Some("node-a"));
    assert_eq!(id.service.as_deref(), Some("frontend"));
    let w = id.workload.unwrap();
    assert_eq!(
        (w.kind.as_str(), w.name.as_str()),
        ("Deployment", "frontend")
    );
    assert_eq!(
        id.labels.get("app").map(String::as_str),
        Some("frontend-7d9-x1")
    );

    let id = at(&ix, "10.42.1.8", 80, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.name, "catalogue");
    assert_eq!(id.workload.unwrap().kind, "StatefulSet");
    assert_eq!(id.service.as_deref(), Some("catalogue"));

    let id = at(&ix, "10.42.1.9", 80, "2024-05-01T11:00:00Z").unwrap();
    let w = id.workload.unwrap();
    assert_eq!((w.kind.as_str(), w.name.as_str()), ("CronJob", "report"));

    let id = at(&ix, "10.42.1.10", 80, "2024-05-01T11:00:00Z").unwrap();
    let w = id.workload.unwrap();
    assert_eq!((w.kind.as_str(), w.name.as_str()), ("Deployment", "cart"));

    let id = at(&ix, "10.42.1.11", 80, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.name, "bare");
    assert!(id.workload.is_none());
    assert!(id.service.is_none());
}

#[test]
fn a_reused_address_resolves_by_time() {
    let ix = index();
    assert_eq!(
        at(&ix, "10.42.1.20", 80, "2024-05-01T09:30:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("old-job-pod")
    );
    assert_eq!(
        at(&ix, "10.42.1.20", 80, "2024-05-01T10:45:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("new-pod")
    );
    // Before any pod held it: nobody.
    assert!(at(&ix, "10.42.1.20", 80, "2024-05-01T08:00:00Z").is_none());
    // A pod's address before it started is not its own.
    assert!(at(&ix, "10.42.1.7", 80, "2024-05-01T09:59:59Z").is_none());
}

#[test]
fn arrival_order_does_not_decide_who_held_an_address() {
    // A watch's list may give the new pod before the finished one whose
    // address it took; the start times decide, in either order.
    let mut old = pod(
        "shop",
        "old",
        "u-old",
        "10.42.9.9",
        "2024-05-01T09:00:00Z",
        None,
    );
    old["status"]["phase"] = json!("Succeeded");
    let new = pod(
        "shop",
        "new",
        "u-new",
        "10.42.9.9",
        "2024-05-01T10:00:00Z",
        None,
    );
    let later = pod(
        "shop",
        "later",
        "u-later",
        "10.42.9.9",
        "2024-05-01T11:00:00Z",
        None,
    );
    let items = [old, new, later];
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
        let list = json!({"apiVersion": "v1", "kind": "List",
            "items": order.iter().map(|&i| items[i].clone()).collect::<Vec<_>>()});
        let (ix, _) = load(
            list.to_string().as_bytes(),
            u64::MAX,
            IndexConfig::default(),
        )
        .unwrap();
        for (time, who) in [
            ("2024-05-01T08:59:59Z", None),
            ("2024-05-01T09:30:00Z", Some("old")),
            ("2024-05-01T10:00:00Z", Some("new")),
            ("2024-05-01T10:59:59Z", Some("new")),
            ("2024-05-01T11:00:00Z", Some("later")),
            ("2024-05-02T00:00:00Z", Some("later")),
        ] {
            assert_eq!(
                at(&ix, "10.42.9.9", 80, time)
                    .and_then(|i| i.pod)
                    .as_deref(),
                who,
                "order {order:?} at {time}"
            );
        }
    }
}

#[test]
fn shared_identities_are_built_once_and_forgotten_on_change() {
    use ks_k8s::Record;
    let mut ix = index();
    let ip = "10.42.1.7".parse().unwrap();
    let when = t("2024-05-01T11:00:00Z");
    let a = ix.resolve_shared(ip, 80, when).unwrap();
    let b = ix.resolve_shared(ip, 80, when).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&a, &b),
        "the second answer is the first"
    );
    // The pod is relabelled: the next answer says so.
    let mut p = pod(
        "shop",
        "frontend-7d9-x1",
        "u1",
        "10.42.1.7",
        "2024-05-01T10:00:00Z",
        Some(("ReplicaSet", "frontend-7d9")),
    );
    p["metadata"]["labels"]["version"] = json!("v2");
    ix.upsert(Record::from_json(&p).unwrap(), when);
    let c = ix.resolve_shared(ip, 80, when).unwrap();
    assert_eq!(c.labels.get("version").map(String::as_str), Some("v2"));
    assert_eq!(Some(&*c), ix.resolve(ip, 80, when).as_ref());
}

#[test]
fn services_host_network_pods_node_ports_and_nodes() {
    let ix = index();
    let id = at(&ix, "10.43.0.12", 80, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(
        (id.name.as_str(), id.service.as_deref()),
        ("catalogue", Some("catalogue"))
    );
    assert!(id.pod.is_none());
    // Before the service existed, its address was nobody's (as far as we know).
    assert!(at(&ix, "10.43.0.12", 80, "2024-05-01T08:00:00Z").is_none());

    let id = at(&ix, "192.168.1.10", 9100, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.pod.as_deref(), Some("node-exporter-a"));
    assert_eq!(id.name, "node-exporter");
    assert_eq!(id.node.as_deref(), Some("node-a"));

    let id = at(&ix, "192.168.1.10", 30080, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.service.as_deref(), Some("frontend"));
    assert_eq!(id.node.as_deref(), Some("node-a"));

    let id = at(&ix, "192.168.1.10", 22, "2024-05-01T11:00:00Z").unwrap();
    assert_eq!(id.name, "node-a");
    assert!(id.pod.is_none() && id.service.is_none());

    assert!(at(&ix, "8.8.8.8", 53, "2024-05-01T11:00:00Z").is_none());
}

#[test]
fn live_deletes_and_reuse_keep_the_history() {
    use ks_k8s::Record;
    let mut ix = index();
    let old = Record::from_json(&pod(
        "shop",
        "frontend-7d9-x1",
        "u1",
        "10.42.1.7",
        "2024-05-01T10:00:00Z",
        Some(("ReplicaSet", "frontend-7d9")),
    ))
    .unwrap();
    ix.delete(&old, t("2024-05-01T12:10:00Z"));
    let new = Record::from_json(&pod(
        "shop",
        "frontend-7d9-y2",
        "u9",
        "10.42.1.7",
        "2024-05-01T12:15:00Z",
        Some(("ReplicaSet", "frontend-7d9")),
    ))
    .unwrap();
    ix.upsert(new, t("2024-05-01T12:15:05Z"));
    assert_eq!(
        at(&ix, "10.42.1.7", 80, "2024-05-01T11:00:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("frontend-7d9-x1")
    );
    assert!(
        at(&ix, "10.42.1.7", 80, "2024-05-01T12:12:00Z").is_none(),
        "between the two pods"
    );
    assert_eq!(
        at(&ix, "10.42.1.7", 80, "2024-05-01T12:20:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("frontend-7d9-y2")
    );
}

#[test]
fn history_per_address_is_capped() {
    use ks_k8s::Record;
    let mut ix = Index::new(IndexConfig {
        max_history_per_ip: 2,
        ..IndexConfig::default()
    });
    for i in 0..10u64 {
        let start = format!("2024-05-01T10:{:02}:00Z", i * 5);
        let p = pod(
            "ns",
            &format!("p{i}"),
            &format!("u{i}"),
            "10.0.0.1",
            &start,
            None,
        );
        ix.upsert(Record::from_json(&p).unwrap(), t(&start));
    }
    assert_eq!(ix.stats().history_dropped, 7);
    assert_eq!(
        at(&ix, "10.0.0.1", 1, "2024-05-01T10:46:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("p9")
    );
    assert_eq!(
        at(&ix, "10.0.0.1", 1, "2024-05-01T10:36:00Z")
            .unwrap()
            .pod
            .as_deref(),
        Some("p7")
    );
    assert!(
        at(&ix, "10.0.0.1", 1, "2024-05-01T10:01:00Z").is_none(),
        "forgotten"
    );
}

#[test]
fn bad_snapshots_are_errors_and_bad_objects_are_skipped() {
    assert!(load(b"", 0, IndexConfig::default()).is_err());
    assert!(load(b"{not json", 0, IndexConfig::default()).is_err());
    let odd = br#"{"kind": "List", "items": [
        {"kind": "Pod"}, {"kind": "Pod", "metadata": {"name": 5}},
        {"kind": "Pod", "metadata": {"name": "p"}, "status": {"podIP": "not an ip", "startTime": "yesterday"}},
        {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"nodePort": 99999999}]}},
        {"kind": "EndpointSlice", "metadata": {"name": "e"}},
        {"kind": "Node", "metadata": {"name": "n"}, "status": {"addresses": "x"}},
        7, null, "x"
    ]}"#;
    let (ix, summary) = load(odd, 0, IndexConfig::default()).unwrap();
    assert_eq!(summary.items, 9);
    assert!(ix.resolve("10.0.0.1".parse().unwrap(), 1, 0).is_none());
}
