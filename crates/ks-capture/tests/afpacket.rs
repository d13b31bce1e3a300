//! Live AF_PACKET capture on a veth pair whose far end sits in a private
//! network namespace. Needs root (or CAP_NET_ADMIN + CAP_NET_RAW), `ip`,
//! `python3` and `curl`; `tcpdump` for the comparison (optional).
//! Without privileges every test prints "skipped: ..." and returns.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use ks_capture::afpacket::{bpf, AfPacketConfig, AfPacketSource, AfPacketStats, SockFilter};
use ks_capture::{CaptureErrorKind, FileSource, PacketSource};

const PORT: u16 = 8000;

/// True when AF_PACKET sockets can be opened; prints why not otherwise.
fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root/CAP_NET_RAW (AF_PACKET live capture tests)");
        return false;
    }
    // SAFETY: plain system call; the descriptor is closed right after.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        if matches!(err.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
            eprintln!("skipped: needs root/CAP_NET_RAW (socket(AF_PACKET): {err})");
            return false;
        }
        panic!("socket(AF_PACKET) failed: {err}");
    }
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    true
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

/// A veth pair: `host` in this namespace (10.77.X.1), `peer` in namespace
/// `ns` (10.77.X.2). IPv6 is off on both ends so the link stays quiet.
/// Everything is removed on drop.
struct Net {
    ns: String,
    host: String,
    host_ip: String,
    ns_ip: String,
    server: Option<Child>,
    dir: PathBuf,
}

impl Net {
    fn new(test: u32) -> Net {
        let pid = std::process::id();
        let x = (pid.wrapping_mul(7).wrapping_add(test * 31)) % 250 + 1;
        let ns = format!("ks-afp-{pid}-{test}");
        let host = format!("kaf{}{test}h", pid % 10_000_000);
        let peer = format!("kaf{}{test}p", pid % 10_000_000);
        let dir = std::env::temp_dir().join(format!("ks-afp-{pid}-{test}"));
        let _ = std::fs::create_dir_all(&dir);
        // The guard exists before the first command, so a failure half-way
        // still cleans up.
        let net = Net {
            ns: ns.clone(),
            host: host.clone(),
            host_ip: format!("10.77.{x}.1"),
            ns_ip: format!("10.77.{x}.2"),
            server: None,
            dir,
        };
        run(&["ip", "netns", "add", &ns]);
        run(&[
            "ip", "link", "add", &host, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ]);
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1");
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sh",
            "-c",
            &format!("echo 1 > /proc/sys/net/ipv6/conf/{peer}/disable_ipv6 || true"),
        ]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", net.host_ip),
            "dev",
            &host,
        ]);
        run(&["ip", "link", "set", &host, "up"]);
        run(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{}/24", net.ns_ip),
            "dev",
            &peer,
        ]);
        run(&["ip", "-n", &ns, "link", "set", &peer, "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        net
    }

    /// `python3 -m http.server` inside the namespace; returns when it accepts.
    fn start_http(&mut self) {
        std::fs::write(self.dir.join("index.html"), "hello from ks-afp\n").unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-m", "http.server"])
            .arg(PORT.to_string())
            .args(["--bind", &self.ns_ip, "--directory"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start python3 -m http.server");
        self.server = Some(child);
        let addr: SocketAddr = format!("{}:{PORT}", self.ns_ip).parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "http.server did not start in 15 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn curl(&self) {
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
            .arg(format!("http://{}:{PORT}/", self.ns_ip))
            .output()
            .expect("cannot run curl (apt-get install curl)");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "curl failed");
    }

    fn open(&self) -> AfPacketSource {
        AfPacketSource::open(AfPacketConfig::new(self.host.clone()))
            .unwrap_or_else(|e| panic!("open {}: {e}", self.host))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deleting the namespace deletes the peer, and with it the host end.
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Pkt = (u32, Vec<u8>);

/// Reads `src` on a thread until its stop flag is set; returns the packets
/// and the stats afterwards.
fn collect(src: AfPacketSource) -> (thread::JoinHandle<(Vec<Pkt>, AfPacketStats, u64)>, Stop) {
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
            out.push((p.orig_len, p.data.to_vec()));
        }
        let stats = src.stats().expect("stats");
        (out, stats, src.position())
    });
    (h, Stop(stop))
}

struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);

fn is_tcp4(d: &[u8]) -> bool {
    d.len() > 23 && d[12..14] == [0x08, 0x00] && d[23] == 6
}

fn is_icmp4(d: &[u8]) -> bool {
    d.len() > 23 && d[12..14] == [0x08, 0x00] && d[23] == 1
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// tcpdump writing `file`; `None` (with a message) when it is not installed.
fn start_tcpdump(iface: &str, file: &str) -> Option<Child> {
    let child = Command::new("tcpdump")
        .args([
            "-i",
            iface,
            "-n",
            "-U",
            "--immediate-mode",
            "-Z",
            "root",
            "-s",
            "262144",
            "-w",
            file,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "note: tcpdump not found (apt-get install tcpdump); comparison with tcpdump skipped"
            );
            return None;
        }
        Err(e) => panic!("cannot start tcpdump: {e}"),
    };
    // Wait until it is capturing ("listening on ...").
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
    Some(child)
}

fn read_pcap(path: &str) -> Vec<Pkt> {
    let mut file = FileSource::open(path).expect("tcpdump's pcap");
    let mut out = Vec::new();
    while let Some(p) = file.next_packet().unwrap() {
        out.push((p.orig_len, p.data.to_vec()));
    }
    out
}

fn sigint(child: &Child) {
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
}

#[test]
fn http_matches_tcpdump() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(1);
    net.start_http();
    thread::sleep(Duration::from_millis(300)); // let the probe connection close
    let pcap = net.dir.join("tcpdump.pcap");
    let pcap = pcap.to_str().unwrap().to_string();
    let (reader, stop) = collect(net.open());
    let tcpdump = start_tcpdump(&net.host, &pcap);
    for _ in 0..5 {
        net.curl();
    }
    thread::sleep(Duration::from_millis(500)); // > block_timeout_ms: blocks retired
    if let Some(td) = &tcpdump {
        sigint(td);
    }
    stop.0.store(true, Ordering::Relaxed);
    let (pkts, stats, position) = reader.join().unwrap();

    let gets = pkts
        .iter()
        .filter(|(_, d)| contains(d, b"GET / HTTP/1.1"))
        .count();
    assert_eq!(gets, 5, "expected 5 HTTP requests in the capture");
    assert!(pkts.iter().any(|(_, d)| contains(d, b"hello from ks-afp")));
    assert_eq!(
        position,
        pkts.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
    assert!(stats.packets >= pkts.len() as u64, "{stats:?}");
    assert_eq!(stats.drops, 0, "{stats:?}");
    eprintln!(
        "AF_PACKET: {} packets, {position} bytes, {stats:?}",
        pkts.len()
    );

    let Some(mut td) = tcpdump else { return };
    let status = td.wait().unwrap();
    assert!(
        status.success() || status.code() == Some(0),
        "tcpdump: {status}"
    );
    let theirs: Vec<Pkt> = read_pcap(&pcap)
        .into_iter()
        .filter(|(_, d)| is_tcp4(d))
        .collect();
    let ours: Vec<Pkt> = pkts.into_iter().filter(|(_, d)| is_tcp4(d)).collect();
    assert!(
        theirs.len() >= 5 * 6,
        "tcpdump saw {} TCP packets",
        theirs.len()
    );
    assert_eq!(ours.len(), theirs.len(), "TCP packet count vs tcpdump");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "TCP packet {i} differs from tcpdump's");
    }
    eprintln!("tcpdump: same {} TCP packets", theirs.len());
}

#[test]
fn filter_keeps_only_tcp() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(2);
    net.start_http();
    thread::sleep(Duration::from_millis(300));
    // IPv4 TCP only: ldh [12]; jeq #0x800; ldb [23]; jeq #6; ret #262144; ret #0
    let prog = [
        SockFilter::stmt(bpf::LD_H_ABS, 12),
        SockFilter::jump(bpf::JEQ_K, 0x0800, 0, 3),
        SockFilter::stmt(bpf::LD_B_ABS, 23),
        SockFilter::jump(bpf::JEQ_K, 6, 0, 1),
        SockFilter::stmt(bpf::RET_K, 262_144),
        SockFilter::stmt(bpf::RET_K, 0),
    ];
    let mut filtered = net.open();
    filtered.set_filter(&prog).expect("set_filter");
    let (f_reader, f_stop) = collect(filtered);
    let (all_reader, all_stop) = collect(net.open());
    let (pre_reader, pre_stop) = collect(
        AfPacketSource::open_with_filter(AfPacketConfig::new(net.host.clone()), &prog)
            .expect("open_with_filter"),
    );

    let ping = Command::new("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", &net.ns_ip])
        .output()
        .expect("cannot run ping");
    assert!(ping.status.success(), "ping failed");
    net.curl();
    net.curl();
    thread::sleep(Duration::from_millis(500));
    for s in [&f_stop, &all_stop, &pre_stop] {
        s.0.store(true, Ordering::Relaxed);
    }
    let (all, _, _) = all_reader.join().unwrap();
    assert!(
        all.iter().filter(|(_, d)| is_icmp4(d)).count() >= 6,
        "ICMP on the wire"
    );
    let all_tcp: Vec<Pkt> = all.into_iter().filter(|(_, d)| is_tcp4(d)).collect();
    for (what, reader) in [("set_filter", f_reader), ("open_with_filter", pre_reader)] {
        let (pkts, stats, _) = reader.join().unwrap();
        assert!(!pkts.is_empty(), "{what}: nothing captured");
        for (i, (_, d)) in pkts.iter().enumerate() {
            assert!(is_tcp4(d), "{what}: packet {i} is not IPv4 TCP: {d:02x?}");
        }
        assert_eq!(
            pkts, all_tcp,
            "{what}: not the same TCP packets as unfiltered"
        );
        assert_eq!(stats.packets, pkts.len() as u64, "{what}: {stats:?}");
        assert_eq!(stats.drops, 0);
    }
}

/// The kernel takes an 802.1Q / 802.1ad tag out of a received frame before
/// the packet sockets see it (`skb_vlan_untag`); the source must put it back
/// where tcpdump shows it. Tagged frames are injected from the namespace end
/// with a packet socket (no 8021q module needed).
#[test]
fn vlan_tag_is_put_back() {
    if !privileged() {
        return;
    }
    let net = Net::new(4);
    let peer = net.host.trim_end_matches('h').to_string() + "p";
    let script = format!(
        r#"import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("{peer}", 0))
hdr = bytes.fromhex("ffffffffffff020000000001")
for tpid, tci, n in ((0x8100, 0x202a, 60), (0x88a8, 0x0007, 300), (0x8100, 0x0fff, 1000)):
    s.send(hdr + tpid.to_bytes(2, "big") + tci.to_bytes(2, "big") + bytes.fromhex("0800") + (bytes(range(256)) * 4)[:n])
"#
    );
    let pcap = net.dir.join("vlan.pcap").to_str().unwrap().to_string();
    let (reader, stop) = collect(net.open());
    let tcpdump = start_tcpdump(&net.host, &pcap);
    run(&["ip", "netns", "exec", &net.ns, "python3", "-c", &script]);
    thread::sleep(Duration::from_millis(500));
    if let Some(td) = &tcpdump {
        sigint(td);
    }
    stop.0.store(true, Ordering::Relaxed);
    let (pkts, stats, _) = reader.join().unwrap();
    let tags: Vec<(u32, [u8; 4], usize)> = pkts
        .iter()
        .map(|(len, d)| (*len, [d[12], d[13], d[14], d[15]], d.len()))
        .collect();
    assert_eq!(
        tags,
        [
            (78, [0x81, 0x00, 0x20, 0x2a], 78),
            (318, [0x88, 0xa8, 0x00, 0x07], 318),
            (1018, [0x81, 0x00, 0x0f, 0xff], 1018),
        ]
    );
    for (_, d) in &pkts {
        assert_eq!(
            d[..12],
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1]
        );
        assert_eq!(d[16..18], [0x08, 0x00]);
        assert_eq!(d[18..22], [0, 1, 2, 3]);
    }
    assert_eq!(stats.drops, 0);
    let Some(mut td) = tcpdump else { return };
    td.wait().unwrap();
    assert_eq!(pkts, read_pcap(&pcap), "frames differ from tcpdump's");
    eprintln!("VLAN: same {} frames as tcpdump", pkts.len());
}

#[test]
fn stop_flag_ends_a_quiet_capture() {
    if !privileged() {
        return;
    }
    let net = Net::new(3);
    let mut src = net.open();
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
    let set = setter.join().unwrap();
    let lag = ended.saturating_duration_since(set);
    assert!(
        lag < Duration::from_secs(1),
        "stopped {lag:?} after the flag"
    );
    assert_eq!(n, 0, "quiet link delivered packets");
    // Finished: stays at None.
    assert!(src.next_packet().unwrap().is_none());
    eprintln!("stopped {lag:?} after the flag was set");
}

#[test]
fn missing_interface_is_named() {
    // No privileges needed: the name is checked before the socket is made.
    let err = AfPacketSource::open(AfPacketConfig::new("ksnosuchif0")).unwrap_err();
    assert_eq!(err.kind, CaptureErrorKind::Live);
    assert!(err.to_string().contains("ksnosuchif0"), "{err}");
    assert!(err.message.contains("no network interface"), "{err}");
    let err = AfPacketSource::open(AfPacketConfig {
        block_size: 3000,
        ..AfPacketConfig::new("lo")
    })
    .unwrap_err();
    assert!(err.message.contains("power of two"), "{err}");
}

#[test]
fn unprivileged_open_says_what_is_missing() {
    if !privileged() {
        // Unprivileged (or this test re-run as nobody by itself, below): check directly.
        let err = AfPacketSource::open(AfPacketConfig::new("lo")).unwrap_err();
        assert!(err.message.contains("needs root or CAP_NET_RAW"), "{err}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = match Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "unprivileged_open_says_what_is_missing",
            "--nocapture",
        ])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: setpriv not available ({e}); unprivileged check skipped");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run as nobody failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
