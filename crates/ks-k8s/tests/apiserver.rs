//! Against a real kube-apiserver 1.20 (built from Debian's `kubernetes` source
//! package by tests/apiserver/build.sh, cached outside the repository) with
//! etcd on loopback: objects the test creates resolve live; a pod replaced by
//! another with the same address resolves by time; the watch survives the
//! server going away and coming back. There is no controller manager, so the
//! test creates nodes, pod statuses and EndpointSlices (v1beta1, the only
//! version 1.20 serves) itself.
#![cfg(feature = "live")]

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;

#[path = "apiserver/harness.rs"]
mod harness;
use harness::{client, now_ns, rfc3339_seconds, wait_for, Server};

fn pod(name: &str, rs: Option<&str>) -> Pod {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": "frontend"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "none"}]}
    });
    if let Some(rs) = rs {
        let hash = rs.rsplit('-').next().unwrap();
        p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": rs, "uid": "00000000-0000-0000-0000-000000000001", "controller": true}]);
    }
    serde_json::from_value(p).unwrap()
}

/// Creates a pod and gives it an address (no kubelet does here).
async fn run_pod(pods: &Api<Pod>, name: &str, rs: Option<&str>, ip: &str) {
    pods.create(&PostParams::default(), &pod(name, rs))
        .await
        .unwrap();
    let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": rfc3339_seconds(now_ns())}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

#[test]
fn identity_from_a_real_apiserver() {
    let mut server = Server::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let kc = server.kubeconfig();
    let c = rt.block_on(client(&kc));
    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    let cluster_ip: IpAddr = rt.block_on(async {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "shop"}})).unwrap();
        Api::<Namespace>::all(c.clone()).create(&PostParams::default(), &ns).await.unwrap();
        let nodes: Api<Node> = Api::all(c.clone());
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "node-a"}})).unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
        nodes
            .patch_status(
                "node-a",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"addresses": [{"type": "InternalIP", "address": "192.168.50.10"}]}})),
            )
            .await
            .unwrap();
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "frontend-7d9", "namespace": "shop",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend",
                    "uid": "00000000-0000-0000-0000-000000000002", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "frontend"}},
                "template": {"metadata": {"labels": {"app": "frontend"}},
                    "spec": {"containers": [{"name": "c", "image": "none"}]}}}
        }))
        .unwrap();
        Api::<ReplicaSet>::namespaced(c.clone(), "shop")
            .create(&PostParams::default(), &rs)
            .await
            .unwrap();
        run_pod(&pods, "frontend-7d9-x1", Some("frontend-7d9"), "10.42.1.7").await;
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "frontend", "namespace": "shop"},
            "spec": {"selector": {"app": "frontend"}, "ports": [{"port": 80}]}
        }))
        .unwrap();
        let svc = Api::<Service>::namespaced(c.clone(), "shop")
            .create(&PostParams::default(), &svc)
            .await
            .unwrap();
        let gvk = GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "endpointslices");
        let slice = DynamicObject::new("frontend-abc", &ar).within("shop").data(json!({
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.42.1.7"], "conditions": {"ready": true}}],
            "ports": [{"port": 80, "protocol": "TCP"}]
        }));
        let mut slice = slice;
        slice
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/service-name".into(), "frontend".into());
        Api::<DynamicObject>::namespaced_with(c.clone(), "shop", &ar)
            .create(&PostParams::default(), &slice)
            .await
            .unwrap();
        svc.spec.unwrap().cluster_ip.unwrap().parse().unwrap()
    });

    let live = ks_k8s::live::watch_blocking(Some(&kc), Default::default(), Duration::from_secs(30))
        .expect("watch");
    assert!(live.ready(), "every kind listed");
    let ip: IpAddr = "10.42.1.7".parse().unwrap();
    wait_for("the pod", || {
        live.resolve(ip, 8080, now_ns())
            .is_some_and(|i| i.service.is_some())
    });
    let id = live.resolve(ip, 8080, now_ns()).unwrap();
    assert_eq!(id.name, "frontend");
    assert_eq!(id.pod.as_deref(), Some("frontend-7d9-x1"));
    assert_eq!(id.namespace.as_deref(), Some("shop"));
    assert_eq!(id.node.as_deref(), Some("node-a"));
    assert_eq!(id.service.as_deref(), Some("frontend"));
    let w = id.workload.unwrap();
    assert_eq!(
        (w.kind.as_str(), w.name.as_str()),
        ("Deployment", "frontend")
    );
    let id = live.resolve(cluster_ip, 80, now_ns()).unwrap();
    assert_eq!(id.service.as_deref(), Some("frontend"));
    let id = live
        .resolve("192.168.50.10".parse().unwrap(), 22, now_ns())
        .unwrap();
    assert_eq!(id.node.as_deref(), Some("node-a"));

    // The pod is replaced; its address goes to the new one.
    let before = now_ns();
    std::thread::sleep(Duration::from_millis(1100));
    rt.block_on(async {
        pods.delete(
            "frontend-7d9-x1",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    });
    wait_for("the deletion", || {
        live.resolve(ip, 8080, now_ns()).is_none()
    });
    std::thread::sleep(Duration::from_millis(1100));
    rt.block_on(run_pod(
        &pods,
        "frontend-7d9-y2",
        Some("frontend-7d9"),
        "10.42.1.7",
    ));
    wait_for("the new pod", || {
        live.resolve(ip, 8080, now_ns())
            .and_then(|i| i.pod)
            .as_deref()
            == Some("frontend-7d9-y2")
    });
    assert_eq!(
        live.resolve(ip, 8080, before)
            .and_then(|i| i.pod)
            .as_deref(),
        Some("frontend-7d9-x1"),
        "earlier traffic still resolves to the old pod"
    );

    // The server goes away and comes back: the watchers reconnect and relist.
    server.stop_apiserver();
    std::thread::sleep(Duration::from_secs(2));
    server.start_apiserver();
    let c = rt.block_on(client(&kc));
    let pods: Api<Pod> = Api::namespaced(c, "shop");
    rt.block_on(run_pod(&pods, "late", None, "10.42.1.30"));
    wait_for("a pod created after the reconnect", || {
        live.resolve("10.42.1.30".parse().unwrap(), 80, now_ns())
            .and_then(|i| i.pod)
            .as_deref()
            == Some("late")
    });
}
