//! Live eBPF capture (`ks_capture::ebpf`) on a veth pair between two private
//! network namespaces made by the test (10.x addresses exist only there),
//! and on a namespace's loopback. Needs root (CAP_BPF, CAP_NET_RAW,
//! CAP_NET_ADMIN, CAP_SYS_ADMIN for `setns`), `ip`, `python3`, `curl` and
//! `tcpdump`. When the kernel refuses (no privileges, no BPF ring buffers)
//! every test prints "skipped: <reason>" and returns.
#![cfg(all(target_os = "linux", feature = "ebpf"))]

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ks_capture::ebpf::{EbpfConfig, EbpfSource, EbpfStats};
use ks_capture::{CaptureErrorKind, FileSource, PacketSource};

const PORT: u16 = 8000;

/// `None` when eBPF capture works here; otherwise the reason, printed as
/// "skipped: ...". Probes by opening a source on this namespace's `lo`.
fn kernel_refuses() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(
            "needs root (CAP_BPF + CAP_NET_RAW to capture, CAP_NET_ADMIN + CAP_SYS_ADMIN \
             for the test namespaces)"
                .into(),
        );
    }
    let cfg = EbpfConfig {
        promiscuous: false,
        ring_size: 1 << 20,
        ..EbpfConfig::new("lo")
    };
    match EbpfSource::open(cfg) {
        Ok(_) => None,
        Err(e) if e.message.contains("needs root") || e.message.contains("ring buffers") => {
            Some(e.message)
        }
        Err(e) => panic!("eBPF capture on lo failed: {e}"),
    }
}

macro_rules! require_kernel {
    () => {
        if let Some(why) = kernel_refuses() {
            eprintln!("skipped: {why}");
            return;
        }
    };
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

/// Runs `f` on a thread that has entered network namespace `ns`; sockets it
/// opens stay in that namespace.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: `file` is an open namespace descriptor; setns only changes
        // this (short-lived) thread's network namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("thread in namespace panicked")
}

/// Two namespaces `a` (client, 10.78.X.1 on `ksa0`) and `b` (server,
/// 10.78.X.2 on `ksb0`) joined by a veth pair; IPv6 off so the link stays
/// quiet. Everything is removed on drop, also when a test fails half-way.
struct Net {
    a: String,
    b: String,
    a_ip: String,
    b_ip: String,
    server: Option<Child>,
    dir: PathBuf,
}

const A_IF: &str = "ksa0";
const B_IF: &str = "ksb0";

impl Net {
    fn new(test: u32) -> Net {
        let pid = std::process::id();
        let x = (pid.wrapping_mul(7).wrapping_add(test * 31)) % 250 + 1;
        let dir = std::env::temp_dir().join(format!("ks-ebpf-{pid}-{test}"));
        let _ = std::fs::create_dir_all(&dir);
        // The guard exists before the first command.
        let net = Net {
            a: format!("ks-ebpf-{pid}-{test}a"),
            b: format!("ks-ebpf-{pid}-{test}b"),
            a_ip: format!("10.78.{x}.1"),
            b_ip: format!("10.78.{x}.2"),
            server: None,
            dir,
        };
        for ns in [&net.a, &net.b] {
            run(&["ip", "netns", "add", ns]);
            for key in ["all", "default"] {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sh",
                    "-c",
                    &format!("echo 1 > /proc/sys/net/ipv6/conf/{key}/disable_ipv6 || true"),
                ]);
            }
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        run(&[
            "ip", "link", "add", A_IF, "netns", &net.a, "type", "veth", "peer", "name", B_IF,
            "netns", &net.b,
        ]);
        for (ns, dev, ip) in [(&net.a, A_IF, &net.a_ip), (&net.b, B_IF, &net.b_ip)] {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                dev,
            ]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        net
    }

    /// `python3 -m http.server` in namespace `b` on all its addresses
    /// (loopback included); returns when it answers.
    fn start_http(&mut self) {
        std::fs::write(self.dir.join("index.html"), "hello from ks-ebpf\n").unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(self.dir.join("big.bin"), big).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.b, "python3", "-m", "http.server"])
            .arg(PORT.to_string())
            .args(["--bind", "0.0.0.0", "--directory"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start python3 -m http.server");
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.try_curl(&self.b, "127.0.0.1", "/") {
            assert!(
                Instant::now() < deadline,
                "http.server did not start in 15 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_curl(&self, ns: &str, host: &str, path: &str) -> bool {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "curl", "-s", "--noproxy", "*"])
            .args(["-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://{host}:{PORT}{path}"))
            .output()
            .expect("cannot run curl (apt-get install curl)");
        out.stdout == b"200"
    }

    /// `curl` from namespace `ns` to `host`; asserts a 200.
    fn curl(&self, ns: &str, host: &str, path: &str) {
        assert!(self.try_curl(ns, host, path), "curl {host}{path} failed");
    }

    fn pcap(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deleting a namespace deletes its veth end, and with it the peer.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// (ts_ns, orig_len, data)
type Pkt = (u64, u32, Vec<u8>);
/// A reader thread's result: packets, stats after the end, position.
type Reader = thread::JoinHandle<(Vec<Pkt>, EbpfStats, u64)>;

/// Opens a source in namespace `ns` and reads it on a thread until its stop
/// flag is set; returns the packets and the stats afterwards.
fn collect(ns: &str, cfg: EbpfConfig) -> (Reader, Arc<AtomicBool>) {
    let name = cfg.interface.clone();
    let src =
        in_netns(ns, move || EbpfSource::open(cfg)).unwrap_or_else(|e| panic!("open {name}: {e}"));
    let stop = src.stop_handle();
    let h = thread::spawn(move || {
        let mut src = src;
        let mut out = Vec::new();
        let mut last = 0;
        while let Some(p) = src.next_packet().expect("next_packet") {
            assert_eq!(p.frame, last + 1);
            last = p.frame;
            assert_eq!(p.link_type, 1);
            assert!(p.ts_ns > 1_600_000_000_000_000_000, "ts {}", p.ts_ns);
            assert!(p.data.len() as u32 <= p.orig_len);
            out.push((p.ts_ns, p.orig_len, p.data.to_vec()));
        }
        let stats = src.stats().expect("stats");
        (out, stats, src.position())
    });
    (h, stop)
}

/// tcpdump in namespace `ns` writing `file`; returns once it captures.
fn start_tcpdump(ns: &str, iface: &str, file: &str) -> Child {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-U"])
        .args(["--immediate-mode", "-Z", "root", "-s", "262144", "-w", file])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start tcpdump (apt-get install tcpdump)");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "tcpdump exited before capturing");
        if line.contains("listening on") {
            break;
        }
    }
    // Keep draining its stderr so it never blocks.
    thread::spawn(move || {
        let mut sink = String::new();
        while err.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    child
}

fn stop_tcpdump(mut td: Child, file: &str) -> Vec<Pkt> {
    // SAFETY: signals our own child (`ip netns exec` execs tcpdump in place).
    unsafe { libc::kill(td.id() as libc::pid_t, libc::SIGINT) };
    td.wait().unwrap();
    let mut f = FileSource::open(file).expect("tcpdump's pcap");
    let mut out = Vec::new();
    while let Some(p) = f.next_packet().unwrap() {
        out.push((p.ts_ns, p.orig_len, p.data.to_vec()));
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Asserts that `ours` are tcpdump's frames (length and bytes, `snap` cut).
/// Two packets crossing the tap on different CPUs at the same moment may
/// reach the two sockets in opposite orders, so the frames are compared as
/// multisets; returns (frames out of tcpdump's order, largest timestamp
/// difference in µs).
fn same_frames(what: &str, ours: &[Pkt], theirs: &[Pkt], snap: usize) -> (usize, u64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: frame count vs tcpdump");
    let key = |p: &Pkt| (p.1, p.2[..p.2.len().min(snap)].to_vec(), p.0);
    let reordered = ours
        .iter()
        .zip(theirs)
        .filter(|(a, b)| key(a).1 != key(b).1)
        .count();
    let mut a: Vec<_> = ours.iter().map(key).collect();
    let mut b: Vec<_> = theirs.iter().map(key).collect();
    a.sort();
    b.sort();
    let mut max_dt = 0;
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert!(
            (a.0, &a.1) == (b.0, &b.1),
            "{what}: frame {i} (sorted) differs from tcpdump's: {} of {} bytes {:02x?} vs {} of {} bytes {:02x?}",
            a.1.len(),
            a.0,
            &a.1[..a.1.len().min(80)],
            b.1.len(),
            b.0,
            &b.1[..b.1.len().min(80)]
        );
        max_dt = max_dt.max(a.2.abs_diff(b.2) / 1000);
    }
    (reordered, max_dt)
}

#[test]
fn http_over_veth_matches_tcpdump() {
    require_kernel!();
    let mut net = Net::new(1);
    net.start_http();
    thread::sleep(Duration::from_millis(300)); // let the probe connection close
    let (full, full_stop) = collect(&net.a, EbpfConfig::new(A_IF));
    let (cut, cut_stop) = collect(
        &net.a,
        EbpfConfig {
            snaplen: 100,
            ring_size: 1 << 16,
            ..EbpfConfig::new(A_IF)
        },
    );
    let pcap = net.pcap("veth.pcap");
    let td = start_tcpdump(&net.a, A_IF, &pcap);
    for _ in 0..5 {
        net.curl(&net.a, &net.b_ip, "/");
    }
    net.curl(&net.a, &net.b_ip, "/big.bin");
    thread::sleep(Duration::from_millis(300));
    let theirs = stop_tcpdump(td, &pcap);
    full_stop.store(true, Ordering::Relaxed);
    cut_stop.store(true, Ordering::Relaxed);
    let (pkts, stats, position) = full.join().unwrap();
    let (cut_pkts, cut_stats, _) = cut.join().unwrap();

    let gets = pkts
        .iter()
        .filter(|p| contains(&p.2, b"GET / HTTP/1.1"))
        .count();
    assert_eq!(gets, 5, "expected 5 HTTP requests in the capture");
    assert!(pkts.iter().any(|p| contains(&p.2, b"hello from ks-ebpf")));
    let largest = pkts.iter().map(|p| p.1).max().unwrap_or(0);
    assert_eq!(position, pkts.iter().map(|p| p.2.len() as u64).sum::<u64>());
    assert_eq!(stats.packets, pkts.len() as u64, "{stats:?}");
    assert_eq!(stats.drops, 0, "{stats:?}");
    assert!(cut_pkts.iter().all(|p| p.2.len() <= 100));
    assert_eq!(cut_stats.drops, 0, "{cut_stats:?}");

    assert!(theirs.len() >= 5 * 6, "tcpdump saw {} frames", theirs.len());
    let (moved, dt) = same_frames("snaplen 262144", &pkts, &theirs, usize::MAX);
    let (cut_moved, _) = same_frames("snaplen 100", &cut_pkts, &theirs, 100);
    eprintln!(
        "veth: same {} frames as tcpdump (largest {largest} bytes, {position} bytes in all; \
         {moved} and {cut_moved} frames in another order), timestamps within {dt} µs of \
         tcpdump's; {stats:?}",
        pkts.len()
    );
}

#[test]
fn loopback_sees_each_packet_once_as_tcpdump() {
    require_kernel!();
    let mut net = Net::new(2);
    net.start_http();
    thread::sleep(Duration::from_millis(300));
    let (reader, stop) = collect(&net.b, EbpfConfig::new("lo"));
    let pcap = net.pcap("lo.pcap");
    let td = start_tcpdump(&net.b, "lo", &pcap);
    for _ in 0..3 {
        net.curl(&net.b, "127.0.0.1", "/");
    }
    thread::sleep(Duration::from_millis(300));
    let theirs = stop_tcpdump(td, &pcap);
    stop.store(true, Ordering::Relaxed);
    let (pkts, stats, _) = reader.join().unwrap();
    let gets = pkts
        .iter()
        .filter(|p| contains(&p.2, b"GET / HTTP/1.1"))
        .count();
    assert_eq!(gets, 3, "each request once");
    // Loopback frames carry an Ethernet header with zero MACs.
    assert!(pkts.iter().all(|p| p.2[..12] == [0; 12]));
    assert_eq!(stats.drops, 0);
    let (moved, dt) = same_frames("lo", &pkts, &theirs, usize::MAX);
    eprintln!(
        "lo: same {} frames as tcpdump ({moved} in another order), timestamps within {dt} µs",
        pkts.len()
    );
}

/// The kernel takes an 802.1Q / 802.1ad tag out of a received frame before
/// packet sockets see it; the program must put it back where tcpdump shows
/// it. Tagged frames are sent from namespace `b` with a packet socket.
#[test]
fn vlan_tag_is_put_back() {
    require_kernel!();
    let net = Net::new(4);
    let script = format!(
        r#"import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("{B_IF}", 0))
hdr = bytes.fromhex("ffffffffffff020000000001")
for tpid, tci, n in ((0x8100, 0x202a, 60), (0x88a8, 0x0007, 300), (0x8100, 0x0fff, 1000)):
    s.send(hdr + tpid.to_bytes(2, "big") + tci.to_bytes(2, "big") + bytes.fromhex("0800") + (bytes(range(256)) * 4)[:n])
"#
    );
    let (reader, stop) = collect(&net.a, EbpfConfig::new(A_IF));
    let pcap = net.pcap("vlan.pcap");
    let td = start_tcpdump(&net.a, A_IF, &pcap);
    run(&["ip", "netns", "exec", &net.b, "python3", "-c", &script]);
    thread::sleep(Duration::from_millis(300));
    let theirs = stop_tcpdump(td, &pcap);
    stop.store(true, Ordering::Relaxed);
    let (pkts, stats, _) = reader.join().unwrap();
    let tags: Vec<(u32, [u8; 4], usize)> = pkts
        .iter()
        .map(|p| (p.1, [p.2[12], p.2[13], p.2[14], p.2[15]], p.2.len()))
        .collect();
    assert_eq!(
        tags,
        [
            (78, [0x81, 0x00, 0x20, 0x2a], 78),
            (318, [0x88, 0xa8, 0x00, 0x07], 318),
            (1018, [0x81, 0x00, 0x0f, 0xff], 1018),
        ]
    );
    assert_eq!(stats.drops, 0);
    same_frames("vlan", &pkts, &theirs, usize::MAX);
}

#[test]
fn stop_handle_ends_a_quiet_capture() {
    require_kernel!();
    let net = Net::new(3);
    let cfg = EbpfConfig::new(A_IF);
    let mut src = in_netns(&net.a, move || EbpfSource::open(cfg)).expect("open");
    let stop = src.stop_handle();
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        Instant::now()
    });
    let mut n = 0;
    while src.next_packet().unwrap().is_some() {
        n += 1;
    }
    let ended = Instant::now();
    let lag = ended.saturating_duration_since(setter.join().unwrap());
    assert!(
        lag < Duration::from_secs(1),
        "stopped {lag:?} after the flag"
    );
    assert_eq!(n, 0, "quiet link delivered packets");
    assert!(src.next_packet().unwrap().is_none(), "finished stays None");
    eprintln!("stopped {lag:?} after the flag was set");
}

#[test]
fn interface_removed_is_an_error() {
    require_kernel!();
    let net = Net::new(5);
    let cfg = EbpfConfig::new(A_IF);
    let mut src = in_netns(&net.a, move || EbpfSource::open(cfg)).expect("open");
    run(&["ip", "-n", &net.a, "link", "del", A_IF]);
    let err = loop {
        match src.next_packet() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind, CaptureErrorKind::Live);
    assert!(err.message.contains("went down or was removed"), "{err}");
}

#[test]
fn missing_interface_is_named() {
    // No privileges needed: the name is checked before anything is loaded.
    let err = EbpfSource::open(EbpfConfig::new("ksnosuchif0")).unwrap_err();
    assert_eq!(err.kind, CaptureErrorKind::Live);
    assert!(err.to_string().contains("ksnosuchif0"), "{err}");
    assert!(err.message.contains("no network interface"), "{err}");
    let err = EbpfSource::open(EbpfConfig {
        snaplen: 0,
        ..EbpfConfig::new("lo")
    })
    .unwrap_err();
    assert!(err.message.contains("snaplen"), "{err}");
}

/// Re-runs `test` in a child process with `setpriv` arguments, expects it to
/// pass.
fn rerun_as(test: &str, setpriv: &[&str]) -> bool {
    let exe = std::env::current_exe().unwrap();
    let out = match Command::new("setpriv")
        .args(setpriv)
        .arg(&exe)
        .args(["--exact", test, "--nocapture"])
        .env("KS_EBPF_CHILD", "1")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: setpriv not available ({e}); check skipped");
            return false;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn missing_privileges_are_named() {
    if std::env::var_os("KS_EBPF_CHILD").is_some() {
        // The child: root without CAP_BPF/CAP_SYS_ADMIN, or nobody.
        let err = EbpfSource::open(EbpfConfig::new("lo")).unwrap_err();
        eprintln!("child: {err}");
        assert_eq!(err.kind, CaptureErrorKind::Live);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert!(err.message.contains("needs root or CAP_BPF"), "{err}");
        } else {
            assert!(err.message.contains("needs root or CAP_NET_RAW"), "{err}");
        }
        return;
    }
    require_kernel!();
    let test = "missing_privileges_are_named";
    rerun_as(
        test,
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ],
    );
    rerun_as(
        test,
        &["--bounding-set=-bpf,-sys_admin,-perfmon", "--inh-caps=-all"],
    );
}

/// Sends `count` UDP datagrams of `size` bytes from namespace `b` to
/// namespace `a` (port 9, nobody listening) as fast as python can; returns
/// the time it took.
fn udp_burst(net: &Net, count: u32, size: usize) -> Duration {
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         d = bytes({size})\nfor _ in range({count}):\n    s.sendto(d, ('{}', 9))\n",
        net.a_ip
    );
    let t = Instant::now();
    run(&["ip", "netns", "exec", &net.b, "python3", "-c", &script]);
    t.elapsed()
}

/// A ring buffer too small for a burst loses packets in the kernel; the
/// loss is counted, and packets seen = delivered + lost. Also measures a
/// burst through the default ring with a concurrent reader.
#[test]
fn drops_are_counted() {
    require_kernel!();
    let net = Net::new(6);
    // Nobody reads until the burst is over: a 64 KiB ring holds ~60 records.
    let cfg = EbpfConfig {
        snaplen: 2048,
        ring_size: 1 << 16,
        ..EbpfConfig::new(A_IF)
    };
    let mut src = in_netns(&net.a, move || EbpfSource::open(cfg)).expect("open");
    let stop = src.stop_handle();
    udp_burst(&net, 2000, 1000);
    stop.store(true, Ordering::Relaxed);
    let mut delivered = 0;
    while let Some(p) = src.next_packet().unwrap() {
        assert!(p.data.len() <= 2048);
        delivered += 1;
    }
    let st = src.stats().unwrap();
    assert!(st.drops > 0, "{st:?}");
    assert!(st.packets >= 2000, "{st:?}");
    assert_eq!(st.packets, delivered + st.drops, "{st:?}");
    eprintln!("small ring: {delivered} delivered, {st:?}");

    // Default ring, reader running: how many of a fast burst arrive.
    let (reader, stop) = collect(&net.a, EbpfConfig::new(A_IF));
    let n = 100_000;
    let took = udp_burst(&net, n, 64);
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (pkts, st, _) = reader.join().unwrap();
    assert_eq!(st.packets, pkts.len() as u64 + st.drops, "{st:?}");
    assert!(st.packets >= u64::from(n), "{st:?}");
    eprintln!(
        "burst: {n} UDP datagrams in {took:?} ({:.0}/s): {} delivered, {} lost",
        f64::from(n) / took.as_secs_f64(),
        pkts.len(),
        st.drops
    );
}
