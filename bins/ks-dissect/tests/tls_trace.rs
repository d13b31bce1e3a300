//! `ks-dissect --tls-trace` for real: HTTPS exchanges of real programs over
//! loopback, seen through eBPF uprobes in their TLS libraries, must give the
//! same entries as the same exchanges in the clear, dissected from packets —
//! once each, marked `tls`, with the process.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_RAW), `python3`, `curl`,
//! `openssl`, `nginx` (nginx-light): `.ci/run` installs them. Without root
//! every test prints "skipped: ..." and returns.
#![cfg(all(target_os = "linux", feature = "tls-trace"))]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{ks, lines, start_until, wait_output, Running};

/// The tests trace by command name and listen on fixed ports: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> bool {
    common::root("TLS tracing tests need root (eBPF uprobes)")
}

/// A temporary directory with a self-signed certificate and the files served.
struct Site {
    dir: PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// 1 MB of text that is not one repeated line (so a misplaced piece shows).
fn big_body() -> Vec<u8> {
    let mut b = Vec::with_capacity(1 << 20);
    let mut i = 0u64;
    while b.len() < 1_000_000 {
        b.extend_from_slice(format!("line {i:07} of the big body\n").as_bytes());
        i += 1;
    }
    b.truncate(1_000_000);
    b
}

fn site(name: &str) -> Site {
    let dir = std::env::temp_dir().join(format!("ks-tls-trace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // nginx's workers (user www-data or nobody) must read it.
    let _ = Command::new("chmod").arg("755").arg(&dir).status();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(&dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("small.txt"), b"hello, tls\n").unwrap();
    std::fs::write(dir.join("big.txt"), big_body()).unwrap();
    for f in ["small.txt", "big.txt", "key.pem", "cert.pem"] {
        let _ = Command::new("chmod").arg("644").arg(dir.join(f)).status();
    }
    Site { dir }
}

fn wait_port(port: u16) {
    let until = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `python3 -m http.server` on `port`, with TLS when `tls`.
fn python_server(dir: &Path, port: u16, tls: bool) -> Running {
    let script = format!(
        "import http.server, ssl\n\
         class H(http.server.SimpleHTTPRequestHandler):\n    \
             protocol_version = 'HTTP/1.1'\n    \
             def log_message(self, *a): pass\n\
         s = http.server.ThreadingHTTPServer(('127.0.0.1', {port}), H)\n\
         if {tls}:\n    \
             c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n    \
             c.load_cert_chain('cert.pem', 'key.pem')\n    \
             s.socket = c.wrap_socket(s.socket, server_side=True)\n\
         s.serve_forever()\n",
        tls = if tls { "True" } else { "False" }
    );
    let child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let r = Running(Some(child));
    wait_port(port);
    r
}

fn curl(args: &[&str]) {
    let out = Command::new("curl")
        .args(["-sS", "-k", "-o", "/dev/null"])
        .args(args)
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ks-dissect ARGS --format jsonl`, runs `traffic` once it traces,
/// then stops it with SIGINT and returns its entries.
fn traced(args: &[&str], traffic: impl FnOnce()) -> Vec<Value> {
    live(args, "capturing from tls-trace", traffic)
}

/// The same exchanges in the clear, captured on loopback (`-f filter`).
fn captured(filter: &str, traffic: impl FnOnce()) -> Vec<Value> {
    live(&["-i", "lo", "-f", filter], "capturing on", traffic)
}

/// `ks-dissect ARGS --format jsonl` until `traffic` is over; its entries.
fn live(args: &[&str], ready: &str, traffic: impl FnOnce()) -> Vec<Value> {
    let mut cmd = ks();
    cmd.args(["--format", "jsonl"]).args(args);
    let (running, stderr) = start_until(cmd, ready);
    traffic();
    // The last exchange's chunks or packets may still be on their way.
    std::thread::sleep(Duration::from_millis(1500));
    let pid = running.0.as_ref().unwrap().id();
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let (out, err) = wait_output(running, stderr);
    assert!(out.status.success(), "ks-dissect failed:\n{err}");
    lines(&out.stdout)
}

/// What an exchange is, whoever saw it: method, path, user agent; status,
/// type, length, body size and the body shown (the first 64 KiB).
fn exchange(e: &Value) -> String {
    let h = |side: &str, name: &str| -> String {
        e[side]["headers"]
            .as_array()
            .and_then(|hs| {
                hs.iter()
                    .find(|kv| kv[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
            })
            .map(|kv| kv[1].to_string())
            .unwrap_or_default()
    };
    format!(
        "{} {} {} {} ua={} => {} type={} len={} size={} body={}",
        e["protocol"],
        e["version"],
        e["request"]["method"],
        e["request"]["path"],
        h("request", "user-agent"),
        e["response"]["status"],
        h("response", "content-type"),
        h("response", "content-length"),
        e["response"]["body_size"],
        e["response"]["body"],
    )
}

fn sorted(v: &[&Value]) -> Vec<String> {
    let mut s: Vec<String> = v.iter().map(|e| exchange(e)).collect();
    s.sort();
    s
}

#[test]
fn curl_https_entries_equal_the_plain_http_ones_once_each() {
    if !root() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let site = site("curl");
    let (tls_port, plain_port) = (18443u16, 18080u16);
    let _https = python_server(&site.dir, tls_port, true);
    let _http = python_server(&site.dir, plain_port, false);
    let entries = traced(
        &[
            "--tls-trace",
            "--comm",
            "curl",
            "-i",
            "lo",
            "-f",
            "tcp port 18443 or tcp port 18080",
        ],
        || {
            for path in ["small.txt", "big.txt"] {
                curl(&["--http1.1", &format!("https://127.0.0.1:{tls_port}/{path}")]);
                curl(&[&format!("http://127.0.0.1:{plain_port}/{path}")]);
            }
        },
    );
    let port = |e: &Value| e["dst"]["port"].as_u64().unwrap_or(0);
    let through_tls: Vec<&Value> = entries
        .iter()
        .filter(|e| e["tls"] == true && port(e) == u64::from(tls_port))
        .collect();
    let clear: Vec<&Value> = entries
        .iter()
        .filter(|e| e["protocol"] == "http" && port(e) == u64::from(plain_port))
        .collect();
    let handshakes: Vec<&Value> = entries
        .iter()
        .filter(|e| e["protocol"] == "tls" && port(e) == u64::from(tls_port))
        .collect();
    assert_eq!(clear.len(), 2, "{entries:#?}");
    assert_eq!(
        through_tls.len(),
        2,
        "once each, not per traced end: {entries:#?}"
    );
    assert_eq!(sorted(&through_tls), sorted(&clear));
    let big = through_tls
        .iter()
        .find(|e| e["request"]["path"] == "/big.txt")
        .unwrap();
    assert_eq!(big["response"]["body_size"], 1_000_000);
    for e in &through_tls {
        assert_eq!(e["process"]["comm"], "curl", "{e}");
        assert!(e["process"]["pid"].as_u64().unwrap() > 0);
        assert!(e["id"].as_str().unwrap().starts_with("tls-"));
        assert_eq!(e["src"]["ip"], "127.0.0.1");
    }
    // The packets of the TLS connections give their handshakes only, and
    // the plaintext entries sit on exactly those connections (4-tuples).
    assert_eq!(handshakes.len(), 2, "{entries:#?}");
    let mut hs_ports: Vec<u64> = handshakes
        .iter()
        .map(|e| e["src"]["port"].as_u64().unwrap())
        .collect();
    let mut tls_ports: Vec<u64> = through_tls
        .iter()
        .map(|e| e["src"]["port"].as_u64().unwrap())
        .collect();
    hs_ports.sort();
    tls_ports.sort();
    assert_eq!(hs_ports, tls_ports);
    let http_on_tls_port = entries
        .iter()
        .filter(|e| e["protocol"] == "http" && e["tls"] != true && port(e) == u64::from(tls_port))
        .count();
    assert_eq!(http_on_tls_port, 0, "ciphertext reported as HTTP");
}

/// nginx configuration: TLS with h2 by ALPN on one port, h2c (prior
/// knowledge) and HTTP/1.1 in the clear on another.
fn nginx(dir: &Path, tls_port: u16, plain_port: u16) -> Running {
    let d = dir.display();
    let conf = format!(
        "daemon off; master_process off; pid {d}/nginx.pid;\n\
         error_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{ access_log off; client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n\
           fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
           types {{ text/plain txt; }}\n\
           server {{ listen 127.0.0.1:{tls_port} ssl http2; ssl_certificate {d}/cert.pem;\n\
             ssl_certificate_key {d}/key.pem; root {d}; }}\n\
           server {{ listen 127.0.0.1:{plain_port} http2; root {d}; }}\n\
         }}\n"
    );
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian nginx-light)");
    let r = Running(Some(child));
    wait_port(tls_port);
    r
}

#[test]
fn http2_by_alpn_and_a_python_client_equal_their_clear_twins() {
    if !root() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let site = site("h2");
    let (tls_port, plain_port, py_tls, py_plain) = (18444u16, 18081u16, 18445u16, 18082u16);
    let _nginx = nginx(&site.dir, tls_port, plain_port);
    let _https = python_server(&site.dir, py_tls, true);
    let _http = python_server(&site.dir, py_plain, false);
    let urllib = |url: String| {
        let script = format!(
            "import ssl, urllib.request\n\
             c = ssl._create_unverified_context()\n\
             r = urllib.request.Request('{url}', headers={{'User-Agent': 'ks-test'}})\n\
             urllib.request.urlopen(r, context=c).read()\n"
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Every process traced: nginx and curl, python client and server each see
    // both ends of their connections.
    let entries = traced(
        &[
            "--tls-trace",
            "--comm",
            "curl",
            "--comm",
            "nginx",
            "--comm",
            "python3",
        ],
        || {
            for path in ["small.txt", "big.txt"] {
                curl(&["--http2", &format!("https://127.0.0.1:{tls_port}/{path}")]);
                urllib(format!("https://127.0.0.1:{py_tls}/{path}"));
            }
        },
    );
    let at = |port: u16| -> Vec<&Value> {
        entries
            .iter()
            .filter(|e| e["dst"]["port"].as_u64() == Some(u64::from(port)))
            .collect()
    };
    let h2 = at(tls_port);
    assert_eq!(h2.len(), 2, "{entries:#?}");
    assert!(h2
        .iter()
        .all(|e| e["protocol"] == "http2" && e["tls"] == true));
    // The clear twins are not traced (no TLS): dissect them from what the
    // same clients did over plain TCP, captured on lo.
    let clear = clear_twins(plain_port, py_plain);
    let h2c: Vec<&Value> = clear
        .iter()
        .filter(|e| e["dst"]["port"].as_u64() == Some(u64::from(plain_port)))
        .collect();
    // HTTP/2 headers differ only by the :scheme pseudo-header.
    let strip = |v: Vec<&Value>| -> Vec<String> {
        sorted(&v)
            .into_iter()
            .map(|s| s.replace("https", "http"))
            .collect()
    };
    assert_eq!(strip(h2), strip(h2c));
    let py = at(py_tls);
    assert_eq!(py.len(), 2, "{entries:#?}");
    let py_clear: Vec<&Value> = clear
        .iter()
        .filter(|e| e["dst"]["port"].as_u64() == Some(u64::from(py_plain)))
        .collect();
    assert_eq!(sorted(&py), sorted(&py_clear));
    assert!(py.iter().all(|e| e["process"]["comm"] == "python3"));
}

/// The clear-text twins of the second test, captured with `-i lo`.
fn clear_twins(plain_port: u16, py_plain: u16) -> Vec<Value> {
    let filter = format!("tcp port {plain_port} or tcp port {py_plain}");
    captured(&filter, || {
        for path in ["small.txt", "big.txt"] {
            curl(&[
                "--http2-prior-knowledge",
                &format!("http://127.0.0.1:{plain_port}/{path}"),
            ]);
            let script = format!(
            "import urllib.request\n\
             r = urllib.request.Request('http://127.0.0.1:{py_plain}/{path}', headers={{'User-Agent': 'ks-test'}})\n\
             urllib.request.urlopen(r).read()\n"
        );
            let out = Command::new("python3")
                .arg("-c")
                .arg(script)
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    })
}

#[path = "../../../crates/ks-tls-trace/tests/go/go_build.rs"]
mod go_build;

/// A Go program from crates/ks-tls-trace/tests/go, started with `args`,
/// listening on `port`.
fn go_server(bin: &Path, port: u16, extra: &[&str]) -> Running {
    let child = Command::new(bin)
        .arg("-addr")
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Go server");
    let r = Running(Some(child));
    wait_port(port);
    r
}

fn go_client(bin: &Path, args: &[&str]) {
    let out = Command::new(bin).args(args).output().expect("Go client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn go_crypto_tls_client_and_server_http1_and_h2() {
    if !root() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (server, client) = (go_build::https_server(), go_build::https_client());
    let (tls_port, plain_port) = (18446u16, 18083u16);
    let _tls = go_server(&server, tls_port, &[]);
    let _plain = go_server(&server, plain_port, &["-plain"]);
    let h1 = |base: &str| {
        go_client(
            &client,
            &[
                "-url",
                &format!("{base}/one"),
                "-proto",
                "h1",
                "-insecure",
                "-n",
                "2",
            ],
        );
        go_client(
            &client,
            &[
                "-url",
                &format!("{base}/post"),
                "-proto",
                "h1",
                "-insecure",
                "-body",
                "a body",
            ],
        );
    };
    let tls_base = format!("https://127.0.0.1:{tls_port}");
    // Both Go programs traced: each connection is still seen once.
    let entries = traced(
        &[
            "--tls-trace",
            "--comm",
            "https_client",
            "--comm",
            "https_server",
        ],
        || {
            h1(&tls_base);
            go_client(
                &client,
                &[
                    "-url",
                    &format!("{tls_base}/two"),
                    "-proto",
                    "h2",
                    "-insecure",
                    "-n",
                    "2",
                ],
            );
        },
    );
    let at_tls: Vec<&Value> = entries
        .iter()
        .filter(|e| e["dst"]["port"].as_u64() == Some(u64::from(tls_port)))
        .collect();
    assert!(at_tls.iter().all(|e| e["tls"] == true), "{entries:#?}");
    assert!(at_tls.iter().all(|e| {
        let comm = e["process"]["comm"].as_str().unwrap_or("");
        comm == "https_client" || comm == "https_server"
    }));
    let http1: Vec<&Value> = at_tls
        .iter()
        .copied()
        .filter(|e| e["protocol"] == "http")
        .collect();
    let h2: Vec<&Value> = at_tls
        .iter()
        .copied()
        .filter(|e| e["protocol"] == "http2")
        .collect();
    assert_eq!(
        (http1.len(), h2.len(), at_tls.len()),
        (3, 2, 5),
        "{entries:#?}"
    );
    // HTTP/1.1: the same exchanges in the clear, from packets.
    let clear = captured(&format!("tcp port {plain_port}"), || {
        h1(&format!("http://127.0.0.1:{plain_port}"))
    });
    let clear: Vec<&Value> = clear.iter().collect();
    assert_eq!(sorted(&http1), sorted(&clear));
    // HTTP/2 (no clear twin: Go serves h2 only over TLS): what the server
    // answers, which says what it was asked.
    for e in &h2 {
        assert_eq!(e["request"]["method"], "GET");
        assert_eq!(e["request"]["path"], "/two");
        assert_eq!(e["response"]["status"], 200);
        assert_eq!(e["response"]["body"], "hello HTTP/2.0 GET /two ", "{e}");
    }
    let post = http1
        .iter()
        .find(|e| e["request"]["method"] == "POST")
        .unwrap();
    assert_eq!(post["request"]["body"], "a body");
    assert_eq!(post["response"]["body"], "hello HTTP/1.1 POST /post a body");
}
