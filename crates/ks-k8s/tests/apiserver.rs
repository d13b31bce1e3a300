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
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "ks-test-token";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

struct Server {
    dir: PathBuf,
    bin: PathBuf,
    etcd: Child,
    apiserver: Option<Child>,
    etcd_port: u16,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apiserver/build.sh");
        let out = Command::new("bash")
            .arg(&build)
            .output()
            .expect("run build.sh");
        assert!(
            out.status.success(),
            "kube-apiserver could not be built (needs root, apt and deb.debian.org): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = PathBuf::from(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .lines()
                .last()
                .unwrap(),
        );
        let dir = std::env::temp_dir().join(format!("ks-k8s-apiserver-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (etcd_port, peer) = (free_port(), free_port());
        let etcd = Command::new("etcd")
            .args([
                "--data-dir",
                dir.join("etcd").to_str().unwrap(),
                "--listen-client-urls",
                &format!("http://127.0.0.1:{etcd_port}"),
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{etcd_port}"),
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-cluster",
                &format!("default=http://127.0.0.1:{peer}"),
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("etcd.log")).unwrap())
            .spawn()
            .expect("etcd (Debian etcd-server)");
        let key = dir.join("sa.key");
        let st = Command::new("openssl")
            .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(
            dir.join("tokens.csv"),
            format!("{TOKEN},ks,1000,\"system:masters\"\n"),
        )
        .unwrap();
        let port = free_port();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: ks\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: ks\n  user:\n    token: {TOKEN}\ncontexts:\n- name: ks\n  context:\n    cluster: ks\n    user: ks\ncurrent-context: ks\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        let mut s = Server {
            dir,
            bin,
            etcd,
            apiserver: None,
            etcd_port,
            port,
        };
        s.start_apiserver();
        s
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    fn start_apiserver(&mut self) {
        let key = self.dir.join("sa.key");
        let key = key.to_str().unwrap();
        let child = Command::new(&self.bin)
            .args([
                &format!("--etcd-servers=http://127.0.0.1:{}", self.etcd_port),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                &format!("--secure-port={}", self.port),
                &format!("--cert-dir={}", self.dir.join("certs").display()),
                &format!(
                    "--token-auth-file={}",
                    self.dir.join("tokens.csv").display()
                ),
                "--authorization-mode=AlwaysAllow",
                "--service-account-issuer=https://kubernetes.default.svc",
                &format!("--service-account-key-file={key}"),
                &format!("--service-account-signing-key-file={key}"),
                "--service-cluster-ip-range=10.96.0.0/16",
                "--disable-admission-plugins=ServiceAccount",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("apiserver.log")).unwrap())
            .spawn()
            .expect("start kube-apiserver");
        self.apiserver = Some(child);
        let until = Instant::now() + Duration::from_secs(90);
        loop {
            let out = Command::new("curl")
                .args([
                    "-sk",
                    "-H",
                    &format!("Authorization: Bearer {TOKEN}"),
                    &format!("https://127.0.0.1:{}/readyz", self.port),
                ])
                .output()
                .unwrap();
            if out.stdout == b"ok" {
                return;
            }
            assert!(
                Instant::now() < until,
                "kube-apiserver not ready in 90 s: {}",
                std::fs::read_to_string(self.dir.join("apiserver.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn stop_apiserver(&mut self) {
        if let Some(mut c) = self.apiserver.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_apiserver();
        let _ = self.etcd.kill();
        let _ = self.etcd.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

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

fn rfc3339_seconds(ns: u64) -> String {
    // Seconds precision, as metav1.Time has.
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", ns / 1_000_000_000),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
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
