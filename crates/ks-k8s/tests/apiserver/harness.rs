//! A real kube-apiserver 1.20 with etcd on loopback, for tests (shared by
//! crates/ks-k8s/tests/apiserver.rs and bins/ks-dissect/tests/k8s_live.rs,
//! which include this file with `#[path]`). The binary comes from build.sh
//! (built once per machine, cached in /var/cache/ks).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "ks-test-token";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub struct Server {
    dir: PathBuf,
    bin: PathBuf,
    etcd: Child,
    apiserver: Option<Child>,
    etcd_port: u16,
    port: u16,
}

impl Server {
    pub fn start() -> Server {
        // file!() is relative to the workspace root; both users are two levels down.
        let build = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", file!()))
            .parent()
            .unwrap()
            .join("build.sh");
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

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn start_apiserver(&mut self) {
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

    pub fn stop_apiserver(&mut self) {
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

pub async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

pub fn rfc3339_seconds(ns: u64) -> String {
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

pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
