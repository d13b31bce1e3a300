//! `ks-dissect -i` for real: a veth pair whose far end sits in a network
//! namespace this test makes, servers there (`python3 -m http.server`,
//! `redis-server`, `dnsmasq`), curl, redis-cli and dig as clients, and
//! tcpdump recording the same link at the same time. For every backend this
//! binary was built with, the entries printed live equal those of dissecting
//! tcpdump's file, and `-w` gives a file that dissects to the same entries
//! again.
//!
//! Needs root (or CAP_NET_ADMIN + CAP_NET_RAW, CAP_BPF for eBPF), `ip`,
//! `python3`, `curl`, `redis-server`, `redis-cli`, `dnsmasq`, `dig`,
//! `tcpdump`: `.ci/run` installs them. Without root every
//! test prints "skipped: ..." and returns.
#![cfg(target_os = "linux")]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{ks, lines, start_until, wait_output};

const PORT: u16 = 8000;

fn root() -> bool {
    common::root("live capture tests need root (network namespaces, AF_PACKET)")
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Host end `host` (10.79.X.1) here, peer (10.79.X.2) in namespace `ns` with
/// an HTTP server; IPv6 off so the link stays quiet. Removed on drop.
struct Net {
    ns: String,
    host: String,
    ns_ip: String,
    servers: Vec<Child>,
    dir: PathBuf,
}

impl Net {
    fn new(test: u32) -> Net {
        let pid = std::process::id();
        let x = (pid.wrapping_mul(11).wrapping_add(test * 37)) % 250 + 1;
        let ns = format!("ks-cli-{pid}-{test}");
        let host = format!("kcl{}{test}h", pid % 10_000_000);
        let peer = format!("kcl{}{test}p", pid % 10_000_000);
        let dir = std::env::temp_dir().join(format!("ks-cli-live-{pid}-{test}"));
        std::fs::create_dir_all(dir.join("www")).unwrap();
        let mut net = Net {
            ns: ns.clone(),
            host: host.clone(),
            ns_ip: format!("10.79.{x}.2"),
            servers: Vec::new(),
            dir,
        };
        run(&["ip", "netns", "add", &ns]);
        run(&[
            "ip", "link", "add", &host, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ]);
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1");
        let off = format!("echo 1 > /proc/sys/net/ipv6/conf/{peer}/disable_ipv6 || true");
        run(&["ip", "netns", "exec", &ns, "sh", "-c", &off]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.79.{x}.1/24"),
            "dev",
            &host,
        ]);
        run(&["ip", "link", "set", &host, "up"]);
        let peer_addr = format!("{}/24", net.ns_ip);
        run(&["ip", "-n", &ns, "addr", "add", &peer_addr, "dev", &peer]);
        run(&["ip", "-n", &ns, "link", "set", &peer, "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        let www = net.dir.join("www");
        std::fs::write(www.join("index.html"), "hello from ks-dissect -i\n").unwrap();
        std::fs::write(www.join("big.bin"), vec![b'k'; 300_000]).unwrap();
        let http = Command::new("ip")
            .args(["netns", "exec", &ns, "python3", "-m", "http.server"])
            .arg(PORT.to_string())
            .args(["--bind", &net.ns_ip, "--directory"])
            .arg(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start python3 -m http.server");
        net.servers.push(http);
        let redis = Command::new("ip")
            .args(["netns", "exec", &ns, "redis-server", "--bind", &net.ns_ip])
            .args(["--port", "6379", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--dir"])
            .arg(&net.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server (apt-get install redis-server)");
        net.servers.push(redis);
        let dns = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "dnsmasq",
                "--keep-in-foreground",
                "-C",
            ])
            .args([
                "/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
            ])
            .arg(format!("--listen-address={}", net.ns_ip))
            .args(["--port=53", "--address=/ks.test/10.1.2.3", "--user=root"])
            .arg(format!(
                "--pid-file={}",
                net.dir.join("dnsmasq.pid").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start dnsmasq (apt-get install dnsmasq-base)");
        net.servers.push(dns);
        for port in [PORT, 6379, 53] {
            let addr: SocketAddr = format!("{}:{port}", net.ns_ip).parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "server on port {port} did not start"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        net
    }

    /// HTTP (200, 404, a 300 kB body: many segments), Redis (SET, GET) and
    /// DNS over UDP (one query), each checked from the client's side.
    fn traffic(&self) {
        for (path, want) in [("/", "200"), ("/missing", "404"), ("/big.bin", "200")] {
            let out = Command::new("curl")
                .args([
                    "-s",
                    "--noproxy",
                    "*",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .arg(format!("http://{}:{PORT}{path}", self.ns_ip))
                .output()
                .expect("cannot run curl");
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "curl {path}");
        }
        for (args, want) in [
            (&["SET", "ks", "live"][..], "OK"),
            (&["GET", "ks"][..], "live"),
        ] {
            let out = Command::new("redis-cli")
                .args(["-h", &self.ns_ip, "-p", "6379"])
                .args(args)
                .output()
                .expect("cannot run redis-cli (apt-get install redis-tools)");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                want,
                "{args:?}"
            );
        }
        let out = Command::new("dig")
            .arg(format!("@{}", self.ns_ip))
            .args(["ks.test", "A", "+short", "+tries=1", "+time=3"])
            .output()
            .expect("cannot run dig (apt-get install bind9-dnsutils)");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "10.1.2.3",
            "dig"
        );
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The jsonl entries of a capture file, dissected offline.
fn offline(file: &Path) -> Vec<Value> {
    let out = ks()
        .args(["--format", "jsonl", "-q"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines(&out.stdout)
}

/// What an entry says about the exchange, whatever captured it: protocol,
/// endpoints, request and response as dissected (ids, frame numbers,
/// timestamps and elapsed times depend on the capture, not on the traffic).
fn exchange(e: &Value) -> String {
    format!(
        "{} {}:{} -> {}:{} {} => {}",
        e["protocol"],
        e["src"]["ip"],
        e["src"]["port"],
        e["dst"]["ip"],
        e["dst"]["port"],
        e["request"],
        e["response"],
    )
}

fn sorted(v: &[Value], f: impl Fn(&Value) -> String) -> Vec<String> {
    let mut s: Vec<String> = v.iter().map(f).collect();
    s.sort();
    s
}

fn backends() -> Vec<&'static str> {
    let mut b = vec!["afpacket"];
    if cfg!(feature = "libpcap") {
        b.push("libpcap");
    }
    if cfg!(feature = "ebpf") {
        b.push("ebpf");
    }
    b
}

#[test]
fn live_entries_equal_those_of_tcpdumps_capture_for_every_backend() {
    if !root() {
        return;
    }
    let net = Net::new(1);
    for backend in backends() {
        let tcpdump_file = net.dir.join(format!("{backend}-tcpdump.pcap"));
        let ks_file = net.dir.join(format!("{backend}-ks.pcapng"));
        let mut td = Command::new("tcpdump");
        td.args([
            "-i",
            &net.host,
            "-U",
            "-n",
            "--time-stamp-precision=nano",
            "-w",
        ])
        .arg(&tcpdump_file);
        let (td, td_err) = start_until(td, "listening on");
        let mut cmd = ks();
        cmd.args(["-i", &net.host, "--backend", backend, "--format", "jsonl"])
            .args(["--duration", "4", "-w"])
            .arg(&ks_file);
        let (live, live_err) = start_until(cmd, "capturing on");
        net.traffic();
        let (out, err) = wait_output(live, live_err);
        // tcpdump flushes its file on SIGINT.
        let pid = td.0.as_ref().unwrap().id().to_string();
        run(&["kill", "-INT", &pid]);
        let _ = wait_output(td, td_err);
        assert!(out.status.success(), "{backend}: {err}");
        assert!(
            err.contains("dropped by it") && err.contains(" 0 dropped by it"),
            "{backend}: the summary gives the kernel's counters, and nothing was lost: {err}"
        );

        let live = lines(&out.stdout);
        let count = |p: &str| live.iter().filter(|e| e["protocol"] == p).count();
        assert_eq!(
            (count("http"), count("redis"), count("dns")),
            (3, 2, 1),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let reference = offline(&tcpdump_file);
        assert_eq!(
            sorted(&live, exchange),
            sorted(&reference, exchange),
            "{backend}: live entries differ from tcpdump's capture dissected"
        );
        // The file ks wrote dissects to exactly what was printed live
        // (timestamps, frame numbers and ids included).
        let again = offline(&ks_file);
        let text = |v: &Value| v.to_string();
        assert_eq!(sorted(&live, text), sorted(&again, text), "{backend}: -w");
        if backend != "ebpf" {
            // Same kernel timestamps as tcpdump (both read AF_PACKET's).
            assert_eq!(
                sorted(&live, |e| format!("{} {}", exchange(e), e["timestamp"])),
                sorted(&reference, |e| format!(
                    "{} {}",
                    exchange(e),
                    e["timestamp"]
                )),
                "{backend}: timestamps"
            );
        }
    }
}

#[test]
fn a_capture_filter_keeps_only_what_it_matches_and_count_stops_the_capture() {
    if !root() {
        return;
    }
    let net = Net::new(2);
    let filtered = [("afpacket", "tcp port 8000 and tcp[tcpflags] & tcp-syn != 0")]
        .into_iter()
        .chain(
            cfg!(feature = "libpcap")
                .then_some(("libpcap", "tcp port 8000 and tcp[tcpflags] & tcp-syn != 0")),
        );
    for (backend, filter) in filtered {
        // Only SYN and SYN-ACK pass: 2 per connection, 3 connections.
        let mut cmd = ks();
        cmd.args(["-i", &net.host, "--backend", backend, "-f", filter])
            .args(["--duration", "3", "--format", "jsonl", "--flows"]);
        let (live, err) = start_until(cmd, "capturing on");
        net.traffic();
        let (out, err) = wait_output(live, err);
        assert!(out.status.success(), "{backend}: {err}");
        assert!(err.contains(" 6 packets,"), "{backend}: {err}");
        assert!(
            !lines(&out.stdout).iter().any(|e| e["protocol"] == "http"),
            "{backend}: no payload passed the filter"
        );
    }
    // -c: exactly that many packets, then the capture ends by itself.
    let mut cmd = ks();
    cmd.args(["-i", &net.host, "-c", "5", "--duration", "20"]);
    let (live, err) = start_until(cmd, "capturing on");
    let started = Instant::now();
    net.traffic();
    let (out, err) = wait_output(live, err);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(" 5 packets,"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "-c did not stop it"
    );
}

#[test]
fn live_errors_are_said_before_any_packet_and_exit_2() {
    if !root() {
        return;
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-i", "ks-no-such-if0"], "ks-no-such-if0"),
        (vec!["-i", "lo", "-f", "tcp port eighty"], "eighty"),
        (
            vec!["-i", "lo", "-w", "/nonexistent-dir/x.pcapng"],
            "nonexistent-dir",
        ),
        (
            vec!["-i", "any", "--backend", "afpacket"],
            "--backend libpcap",
        ),
    ];
    for (args, says) in cases {
        let out = ks().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("capturing on"), "{args:?}: {err}");
    }
    // Without privileges: said plainly.
    let setpriv = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_ks-dissect"))
        .args(["-i", "lo", "--duration", "1"])
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&setpriv.stderr);
    assert_eq!(setpriv.status.code(), Some(2), "{err}");
    assert!(err.contains("CAP_NET_RAW"), "{err}");
}
