//! Memory and speed of the identity index for a cluster of 10 000 pods
//! (docs/k8s.md, "Memory"): 100 namespaces, 500 Deployments (ReplicaSets),
//! 500 Services with a cluster IP and an EndpointSlice of 20 pods each, 50
//! nodes; then the same with every pod address reused once (10 000 finished
//! pods in the history). The bytes the index holds are counted by a global
//! allocator wrapper and printed before criterion's timings.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ks_k8s::{Index, IndexConfig};
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated and not yet freed, by anyone.
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from this allocator with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PODS: usize = 10_000;
const DEPLOYMENTS: usize = 500;
const NODES: usize = 50;

fn pod_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 42, (i / 250) as u8, (i % 250) as u8 + 1)
}

/// The cluster as `kubectl get ... -A -o json` would print it.
fn cluster(reused: bool) -> Value {
    let mut items = Vec::new();
    for n in 0..NODES {
        items.push(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{n:03}"), "uid": format!("n{n}")},
            "status": {"addresses": [{"type": "InternalIP", "address": format!("192.168.0.{}", n + 1)}]}}));
    }
    for d in 0..DEPLOYMENTS {
        let ns = format!("team-{:02}", d % 100);
        items.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("svc-{d:03}-7d9f8b6c4"), "namespace": ns, "uid": format!("rs{d}"),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": format!("svc-{d:03}"), "uid": format!("d{d}"), "controller": true}]}}));
        items.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("svc-{d:03}"), "namespace": ns, "uid": format!("s{d}"),
                         "creationTimestamp": "2024-05-01T09:00:00Z"},
            "spec": {"type": "ClusterIP", "clusterIP": format!("10.43.{}.{}", d / 250, d % 250 + 1),
                     "ports": [{"port": 80, "protocol": "TCP"}]}}));
        let addrs: Vec<String> = (0..PODS / DEPLOYMENTS)
            .map(|k| pod_ip(d * (PODS / DEPLOYMENTS) + k).to_string())
            .collect();
        items.push(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("svc-{d:03}-abcde"), "namespace": ns, "uid": format!("es{d}"),
                         "labels": {"kubernetes.io/service-name": format!("svc-{d:03}")}},
            "addressType": "IPv4",
            "endpoints": addrs.iter().map(|a| json!({"addresses": [a], "conditions": {"ready": true}})).collect::<Vec<_>>(),
            "ports": [{"port": 8080, "protocol": "TCP"}]}));
    }
    let rounds: &[(&str, &str, &str)] = if reused {
        &[
            ("old", "Succeeded", "2024-05-01T08:00:00Z"),
            ("new", "Running", "2024-05-01T10:00:00Z"),
        ]
    } else {
        &[("new", "Running", "2024-05-01T10:00:00Z")]
    };
    for (tag, phase, start) in rounds {
        for i in 0..PODS {
            let d = i / (PODS / DEPLOYMENTS);
            items.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("svc-{d:03}-7d9f8b6c4-{tag}{i:05}"), "namespace": format!("team-{:02}", d % 100),
                    "uid": format!("{tag}-{i}"), "creationTimestamp": start,
                    "labels": {"app": format!("svc-{d:03}"), "pod-template-hash": "7d9f8b6c4", "tier": "backend"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "name": format!("svc-{d:03}-7d9f8b6c4"), "uid": format!("rs{d}"), "controller": true}]},
                "spec": {"nodeName": format!("node-{:03}", i % NODES),
                         "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
                "status": {"phase": phase, "podIP": pod_ip(i).to_string(), "startTime": start}}));
        }
    }
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// Builds the index from the snapshot bytes; returns it and the bytes it holds.
fn build(reused: bool) -> (Index, usize) {
    let bytes = serde_json::to_vec(&cluster(reused)).unwrap();
    eprintln!("snapshot: {:.1} MB of JSON", bytes.len() as f64 / 1e6);
    let before = LIVE.load(Ordering::Relaxed);
    let (index, _) = ks_k8s::snapshot::load(&bytes, u64::MAX, IndexConfig::default()).unwrap();
    let held = LIVE.load(Ordering::Relaxed) - before;
    (index, held)
}

fn report_memory() {
    for reused in [false, true] {
        let (index, held) = build(reused);
        let s = index.stats();
        eprintln!(
            "k8s index, {} pods{}: {:.1} MiB held ({} bytes a pod object), {} services, {} nodes",
            s.pods,
            if reused {
                " (every address used twice)"
            } else {
                ""
            },
            held as f64 / (1 << 20) as f64,
            held / s.pods.max(1),
            s.services,
            s.nodes
        );
    }
}

fn benches(c: &mut Criterion) {
    report_memory();
    let (index, _) = build(true);
    let t = ks_k8s::parse_rfc3339("2024-05-01T12:00:00Z").unwrap();
    let t_old = ks_k8s::parse_rfc3339("2024-05-01T09:00:00Z").unwrap();
    let mut g = c.benchmark_group("k8s_resolve");
    let mut i = 0usize;
    g.bench_function("pod_with_service", |b| {
        b.iter(|| {
            i = (i + 7919) % PODS;
            black_box(index.resolve(IpAddr::V4(pod_ip(i)), 8080, t))
        })
    });
    g.bench_function("pod_earlier_holder", |b| {
        b.iter(|| {
            i = (i + 7919) % PODS;
            black_box(index.resolve(IpAddr::V4(pod_ip(i)), 8080, t_old))
        })
    });
    g.bench_function("pod_with_service_shared", |b| {
        b.iter(|| {
            i = (i + 7919) % PODS;
            black_box(index.resolve_shared(IpAddr::V4(pod_ip(i)), 8080, t))
        })
    });
    g.bench_function("unknown_address", |b| {
        b.iter(|| black_box(index.resolve(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)), 53, t)))
    });
    g.finish();
    let bytes = serde_json::to_vec(&cluster(false)).unwrap();
    c.bench_function("k8s_snapshot_load_10k_pods", |b| {
        b.iter(|| ks_k8s::snapshot::load(black_box(&bytes), u64::MAX, IndexConfig::default()))
    });
}

criterion_group!(k8s, benches);
criterion_main!(k8s);
