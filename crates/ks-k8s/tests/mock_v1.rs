//! EndpointSlices in `discovery.k8s.io/v1`, which the real API server of
//! tests/apiserver.rs (1.20) does not serve: kube's mock-service pattern
//! (tower-test) stands in for a 1.21+ server. It answers the watchers' lists
//! and watches from JSON in the form such a server sends — the v1 slice with
//! `nodeName` and `hints` where v1beta1 had `topology` — and the test checks
//! that the v1 version is chosen, that listed and watched v1 slices give
//! services, and that a watch event updates the index.
#![cfg(feature = "live")]

use http::{Request, Response};
use kube::client::Body;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_test::mock;

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn list(api_version: &str, kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"resourceVersion": "1000"}, "items": items})
}

fn pod(name: &str, ip: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                        "resourceVersion": "900", "creationTimestamp": "2024-05-01T10:00:00Z",
                        "labels": {"app": name}},
           "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "none"}]},
           "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                      "startTime": "2024-05-01T10:00:01Z"}})
}

/// A v1 EndpointSlice as a 1.21+ server lists it (list items carry no `kind`).
fn slice_v1(name: &str, service: &str, ip: &str, pod: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                        "resourceVersion": "950", "generateName": format!("{service}-"),
                        "creationTimestamp": "2024-05-01T10:00:02Z",
                        "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                                   "kubernetes.io/service-name": service},
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": service,
                                             "uid": format!("uid-svc-{service}"), "controller": true,
                                             "blockOwnerDeletion": true}]},
           "addressType": "IPv4",
           "endpoints": [{"addresses": [ip],
                          "conditions": {"ready": true, "serving": true, "terminating": false},
                          "nodeName": "node-a", "zone": "z1",
                          "hints": {"forZones": [{"name": "z1"}]},
                          "targetRef": {"kind": "Pod", "namespace": "shop", "name": pod,
                                        "uid": format!("uid-{pod}")}}],
           "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]})
}

fn respond(body: &Value) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// Answers what the watchers ask, logging the paths; watches are held open
/// (as a server does while nothing changes), except the first EndpointSlice
/// watch, which delivers one ADDED event.
async fn serve(handle: mock::Handle<Request<Body>, Response<Body>>, log: Arc<Mutex<Vec<String>>>) {
    let mut handle = std::pin::pin!(handle);
    let mut held = Vec::new();
    let mut slice_event_sent = false;
    while let Some((req, send)) = handle.next_request().await {
        let path = req.uri().path().to_string();
        let watch = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true"));
        log.lock()
            .unwrap()
            .push(format!("{}{path}", if watch { "watch " } else { "" }));
        if watch {
            if path == "/apis/discovery.k8s.io/v1/endpointslices" && !slice_event_sent {
                slice_event_sent = true;
                let mut obj = slice_v1("backend-q8z", "backend", "10.42.2.9", "backend");
                obj["apiVersion"] = json!("discovery.k8s.io/v1");
                obj["kind"] = json!("EndpointSlice");
                obj["metadata"]["resourceVersion"] = json!("1001");
                let ev = serde_json::to_vec(&json!({"type": "ADDED", "object": obj})).unwrap();
                send.send_response(
                    Response::builder()
                        .body(Body::from([ev, b"\n".to_vec()].concat()))
                        .unwrap(),
                );
            } else {
                held.push(send);
            }
            continue;
        }
        let body = match path.as_str() {
            "/apis/discovery.k8s.io/v1/endpointslices" => list(
                "discovery.k8s.io/v1",
                "EndpointSliceList",
                vec![slice_v1(
                    "frontend-x7k2p",
                    "frontend",
                    "10.42.1.7",
                    "frontend",
                )],
            ),
            "/api/v1/pods" => list(
                "v1",
                "PodList",
                vec![pod("frontend", "10.42.1.7"), pod("backend", "10.42.2.9")],
            ),
            "/api/v1/services" => list("v1", "ServiceList", vec![]),
            "/api/v1/nodes" => list("v1", "NodeList", vec![]),
            "/apis/apps/v1/replicasets" => list("apps/v1", "ReplicaSetList", vec![]),
            "/apis/batch/v1/jobs" => list("batch/v1", "JobList", vec![]),
            _ => {
                let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404});
                let mut r = respond(&status);
                *r.status_mut() = http::StatusCode::NOT_FOUND;
                send.send_response(r);
                continue;
            }
        };
        send.send_response(respond(&body));
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn v1_endpoint_slices_from_a_mock_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let live = rt.block_on(async {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        tokio::spawn(serve(handle, log.clone()));
        let client = kube::Client::new(service, "default");
        ks_k8s::live::watch(client, Default::default()).await
    });
    wait_for("every kind listed", || live.ready());

    let frontend: IpAddr = "10.42.1.7".parse().unwrap();
    let id = live.resolve(frontend, 8080, now_ns()).unwrap();
    assert_eq!(id.pod.as_deref(), Some("frontend"));
    assert_eq!(
        id.service.as_deref(),
        Some("frontend"),
        "a listed v1 slice names the pod's service"
    );

    // The slice that arrived through the watch.
    let backend: IpAddr = "10.42.2.9".parse().unwrap();
    wait_for("the watched slice", || {
        live.resolve(backend, 8080, now_ns())
            .is_some_and(|i| i.service.as_deref() == Some("backend"))
    });

    let log = log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|p| p == "/apis/discovery.k8s.io/v1/endpointslices"),
        "{log:?}"
    );
    assert!(
        !log.iter().any(|p| p.contains("/v1beta1/")),
        "v1 served, so v1beta1 is never asked: {log:?}"
    );
    assert!(log.iter().any(|p| p == "watch /api/v1/pods"), "{log:?}");
    drop(rt);
}
