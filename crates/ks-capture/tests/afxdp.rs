//! Live AF_XDP capture in private network namespaces. Needs root (AF_XDP
//! sockets, XDP programs, namespaces), `ip` and `tc` (iproute2), `python3`,
//! `curl`; `tcpdump` for the comparison (optional). Where the kernel refuses
//! (not root, no AF_XDP support, BPF not allowed) the test prints
//! "skipped: ..." and returns.
//!
//! AF_XDP takes the packets it captures away from the kernel stack, so the
//! traffic tests capture a *mirror*: client namespace `c0` <-> `s0` server
//! namespace, where tc mirrors everything `s0` receives and sends to a veth
//! `m0` whose peer `m1` (in a third, address-less namespace) is captured.
//! The HTTP traffic keeps flowing end to end.
//!
//! ```text
//!  ns C            ns S                               ns M
//!  c0 10.78.X.1 == s0 10.78.X.2  (http.server)
//!                  |  tc ingress+egress: u32 match-all, mirred egress mirror dev m0
//!                  m0 ================================ m1  <- AF_XDP
//! ```
#![cfg(all(target_os = "linux", feature = "afxdp"))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use ks_capture::afxdp::{AfXdpConfig, AfXdpSource, AfXdpStats, AttachMode, BindMode};
use ks_capture::{CaptureError, CaptureErrorKind, FileSource, PacketSource};

const PORT: u16 = 8000;
const AF_XDP: libc::c_int = 44;

/// True when AF_XDP sockets can be made; prints why not otherwise.
fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (AF_XDP sockets, XDP programs, network namespaces)");
        return false;
    }
    // SAFETY: plain system call; the descriptor is closed right after.
    let fd = unsafe { libc::socket(AF_XDP, libc::SOCK_RAW, 0) };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAFNOSUPPORT) => {
                eprintln!("skipped: kernel without AF_XDP (CONFIG_XDP_SOCKETS): {err}")
            }
            Some(libc::EPERM) | Some(libc::EACCES) => {
                eprintln!("skipped: the kernel refuses AF_XDP sockets to root here: {err}")
            }
            _ => panic!("socket(AF_XDP) failed: {err}"),
        }
        return false;
    }
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    true
}

/// An open error the kernel is to blame for (no BPF, no XDP): skip.
fn refused(e: &CaptureError) -> bool {
    e.message.contains("needs root") || e.message.contains("no AF_XDP support")
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

fn output(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three namespaces: client `c`, server `s` (with the mirror), monitor `m`.
/// Everything is removed on drop, also when a test fails half-way.
struct Net {
    c: String,
    s: String,
    m: String,
    c_ip: String,
    s_ip: String,
    server: Option<Child>,
    dir: PathBuf,
}

impl Net {
    fn new(test: u32) -> Net {
        let pid = std::process::id();
        let x = (pid.wrapping_mul(7).wrapping_add(test * 31)) % 250 + 1;
        let base = format!("ks-xdp-{pid}-{test}");
        let dir = std::env::temp_dir().join(&base);
        let _ = std::fs::create_dir_all(&dir);
        let net = Net {
            c: format!("{base}-c"),
            s: format!("{base}-s"),
            m: format!("{base}-m"),
            c_ip: format!("10.78.{x}.1"),
            s_ip: format!("10.78.{x}.2"),
            server: None,
            dir,
        };
        for ns in [&net.c, &net.s, &net.m] {
            run(&["ip", "netns", "add", ns]);
            // No IPv6: the links stay quiet (no router solicitations, DAD).
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sh",
                "-c",
                "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true",
            ]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let (c, s, m) = (&net.c, &net.s, &net.m);
        run(&[
            "ip", "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "s0", "netns", s,
        ]);
        run(&[
            "ip", "-n", s, "link", "add", "m0", "type", "veth", "peer", "name", "m1", "netns", m,
        ]);
        run(&[
            "ip",
            "-n",
            c,
            "addr",
            "add",
            &format!("{}/24", net.c_ip),
            "dev",
            "c0",
        ]);
        run(&[
            "ip",
            "-n",
            s,
            "addr",
            "add",
            &format!("{}/24", net.s_ip),
            "dev",
            "s0",
        ]);
        run(&["ip", "-n", c, "link", "set", "c0", "up"]);
        run(&["ip", "-n", s, "link", "set", "s0", "up"]);
        run(&["ip", "-n", s, "link", "set", "m0", "up"]);
        run(&["ip", "-n", m, "link", "set", "m1", "up"]);
        // Mirror both directions of s0 out of m0 (so into m1). u32 matching
        // everything rather than `matchall`, which many kernels lack.
        run(&["tc", "-n", s, "qdisc", "add", "dev", "s0", "clsact"]);
        for dir in ["ingress", "egress"] {
            run(&[
                "tc", "-n", s, "filter", "add", "dev", "s0", dir, "protocol", "all", "u32",
                "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "m0",
            ]);
        }
        net
    }

    /// `python3 -m http.server` in the server namespace, serving `dir`;
    /// returns when it accepts.
    fn start_http(&mut self) {
        std::fs::write(self.dir.join("index.html"), "hello from ks-xdp\n").unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.s, "python3", "-m", "http.server"])
            .arg(PORT.to_string())
            .args(["--bind", &self.s_ip, "--directory"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start python3 -m http.server");
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.curl_ok("/", 1) {
            assert!(
                Instant::now() < deadline,
                "http.server did not start in 15 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// curl from the client namespace; true on HTTP 200.
    fn curl_ok(&self, path: &str, timeout_s: u32) -> bool {
        self.curl_with(path, timeout_s, &[])
    }

    fn curl_with(&self, path: &str, timeout_s: u32, extra: &[&str]) -> bool {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.c, "curl", "-s", "--noproxy", "*"])
            .args(extra)
            .args(["-m", &timeout_s.to_string()])
            .args(["-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://{}:{PORT}{path}", self.s_ip))
            .output()
            .expect("cannot run curl (apt-get install curl)");
        String::from_utf8_lossy(&out.stdout) == "200"
    }

    fn curl(&self, path: &str) {
        assert!(self.curl_ok(path, 10), "curl {path} failed");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deleting a namespace deletes its veth ends, and so the pairs.
        for ns in [&self.c, &self.s, &self.m] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Moves the calling thread into network namespace `ns` (made by `ip netns`).
fn enter_netns(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("open /run/netns/{ns}: {e}"));
    // SAFETY: `f` is an open namespace file; setns only changes this thread's
    // network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

type Pkt = (u32, Vec<u8>);

struct Capture {
    stop: Arc<AtomicBool>,
    zero_copy: bool,
    thread: thread::JoinHandle<(Vec<Pkt>, AfXdpStats, u64)>,
}

impl Capture {
    fn finish(self) -> (Vec<Pkt>, AfXdpStats, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Opens an AF_XDP source on `cfg.interface` inside namespace `ns` and reads
/// it on that thread until stopped. `Err` when opening failed.
fn capture(ns: &str, cfg: AfXdpConfig) -> Result<Capture, CaptureError> {
    let (tx, rx) = mpsc::channel();
    let ns = ns.to_string();
    let thread = thread::spawn(move || {
        enter_netns(&ns);
        let mut src = match AfXdpSource::open(cfg) {
            Ok(s) => s,
            Err(e) => {
                tx.send(Err(e)).unwrap();
                return Default::default();
            }
        };
        tx.send(Ok((src.stop_handle(), src.zero_copy()))).unwrap();
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
        assert!(src.next_packet().unwrap().is_none(), "finished stays None");
        let stats = src.stats().expect("stats");
        (out, stats, src.position())
    });
    match rx.recv() {
        Ok(Ok((stop, zero_copy))) => Ok(Capture {
            stop,
            zero_copy,
            thread,
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => panic!("capture thread died: {:?}", thread.join().err()),
    }
}

/// The XDP attach mode `ip link` shows for `dev` in `ns` ("xdp" = native,
/// "xdpgeneric", or "none").
fn xdp_mode(ns: &str, dev: &str) -> &'static str {
    let out = output(&["ip", "-n", ns, "link", "show", "dev", dev]);
    if out.contains("xdpgeneric") {
        "xdpgeneric"
    } else if out.contains("xdpoffload") {
        "xdpoffload"
    } else if out.contains(" xdp") || out.contains("prog/xdp") {
        "xdp (native)"
    } else {
        "none"
    }
}

fn is_tcp4(d: &[u8]) -> bool {
    d.len() > 33 && d[12..14] == [0x08, 0x00] && d[23] == 6
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// (source port, flags, seq, payload) of an IPv4 TCP frame.
fn tcp(d: &[u8]) -> Option<(u16, u8, u32, &[u8])> {
    if !is_tcp4(d) {
        return None;
    }
    let ihl = usize::from(d[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([d[16], d[17]]));
    let t = 14 + ihl;
    let end = (14 + total).min(d.len());
    if t + 20 > end {
        return None;
    }
    let sport = u16::from_be_bytes([d[t], d[t + 1]]);
    let seq = u32::from_be_bytes([d[t + 4], d[t + 5], d[t + 6], d[t + 7]]);
    let off = usize::from(d[t + 12] >> 4) * 4;
    Some((sport, d[t + 13], seq, &d[(t + off).min(end)..end]))
}

/// Bytes sent from port `sport`, per connection in order of their SYN,
/// reassembled by sequence number (retransmissions counted once).
fn tcp_streams(pkts: &[Pkt], sport: u16) -> Vec<Vec<u8>> {
    let mut conns: Vec<(u32, BTreeMap<u32, Vec<u8>>)> = Vec::new();
    for (_, d) in pkts {
        let Some((sp, flags, seq, payload)) = tcp(d) else {
            continue;
        };
        if sp != sport {
            continue;
        }
        if flags & 0x02 != 0 {
            conns.push((seq, BTreeMap::new()));
            continue;
        }
        if payload.is_empty() {
            continue;
        }
        // The connection whose ISN is closest below this seq.
        let Some((isn, segs)) = conns
            .iter_mut()
            .filter(|(isn, _)| seq.wrapping_sub(*isn) < 1 << 30)
            .min_by_key(|(isn, _)| seq.wrapping_sub(*isn))
        else {
            continue;
        };
        segs.insert(seq.wrapping_sub(*isn).wrapping_sub(1), payload.to_vec());
    }
    conns
        .into_iter()
        .map(|(_, segs)| {
            let mut out = Vec::new();
            for (off, p) in segs {
                let off = off as usize;
                if off + p.len() > out.len() {
                    let skip = out.len().saturating_sub(off);
                    out.extend_from_slice(&p[skip..]);
                }
            }
            out
        })
        .collect()
}

/// A running tcpdump; killed on drop (a failed test leaves none behind).
struct Tcpdump(Option<Child>);

impl Drop for Tcpdump {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// tcpdump on `iface` in namespace `ns`, writing `file`; `None` (with a
/// message) when tcpdump is not installed.
fn start_tcpdump(ns: &str, iface: &str, file: &str) -> Option<Tcpdump> {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        eprintln!("note: tcpdump not found (apt-get install tcpdump); comparison skipped");
        return None;
    }
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-U"])
        .args([
            "--immediate-mode",
            "-Z",
            "root",
            "-s",
            "262144",
            "-B",
            "65536",
        ])
        .args(["-w", file])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start tcpdump");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let guard = Tcpdump(Some(child));
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "tcpdump exited before capturing");
        if line.contains("listening on") {
            break;
        }
    }
    thread::spawn(move || {
        let mut sink = String::new();
        while err.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Some(guard)
}

/// Stops tcpdump (SIGINT to `ip netns exec`, which execs it) and reads its file.
fn stop_tcpdump(mut guard: Tcpdump, path: &str) -> Vec<Pkt> {
    let mut td = guard.0.take().unwrap();
    // SAFETY: signals our own child.
    unsafe { libc::kill(td.id() as libc::pid_t, libc::SIGINT) };
    let status = td.wait().unwrap();
    assert!(status.success(), "tcpdump: {status}");
    let mut file = FileSource::open(path).expect("tcpdump's pcap");
    let mut out = Vec::new();
    while let Some(p) = file.next_packet().unwrap() {
        out.push((p.orig_len, p.data.to_vec()));
    }
    out
}

/// Opens the capture on m1, or prints why the kernel refused.
fn open_mirror(net: &Net, cfg: AfXdpConfig) -> Option<Capture> {
    match capture(&net.m, cfg) {
        Ok(c) => Some(c),
        Err(e) if refused(&e) => {
            eprintln!("skipped: the kernel refused the AF_XDP socket / XDP program: {e}");
            None
        }
        Err(e) => panic!("open m1: {e}"),
    }
}

#[test]
fn http_through_mirror_matches_tcpdump() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(1);
    net.start_http();
    thread::sleep(Duration::from_millis(300)); // let the probe connection close
    let pcap = net.dir.join("m0.pcap").to_str().unwrap().to_string();
    let Some(cap) = open_mirror(&net, AfXdpConfig::new("m1")) else {
        return;
    };
    let mode = xdp_mode(&net.m, "m1");
    // tcpdump on m0 sees exactly the frames sent to m1 (AF_PACKET on m1
    // itself would see nothing: XDP redirects before the taps).
    let tcpdump = start_tcpdump(&net.s, "m0", &pcap);
    for _ in 0..5 {
        net.curl("/"); // traffic still flows end to end
    }
    thread::sleep(Duration::from_millis(300));
    let zero_copy = cap.zero_copy;
    let (pkts, stats, position) = cap.finish();
    assert_eq!(xdp_mode(&net.m, "m1"), "none", "XDP program left attached");

    let gets = pkts
        .iter()
        .filter(|(_, d)| contains(d, b"GET / HTTP/1.1"))
        .count();
    assert_eq!(gets, 5, "expected 5 HTTP requests in the capture");
    assert!(pkts.iter().any(|(_, d)| contains(d, b"hello from ks-xdp")));
    assert_eq!(
        position,
        pkts.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
    assert_eq!(stats.packets, pkts.len() as u64, "{stats:?}");
    assert_eq!(stats.rx_dropped + stats.rx_ring_full, 0, "{stats:?}");
    eprintln!(
        "AF_XDP on veth m1: {mode}, zero_copy={zero_copy}, {} packets, {position} bytes, {stats:?}",
        pkts.len()
    );

    let Some(td) = tcpdump else { return };
    let theirs = stop_tcpdump(td, &pcap);
    assert!(
        theirs.len() >= 5 * 6,
        "tcpdump saw {} packets",
        theirs.len()
    );
    assert_eq!(pkts.len(), theirs.len(), "packet count vs tcpdump on m0");
    for (i, (a, b)) in pkts.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "packet {i} differs from tcpdump's");
    }
    eprintln!("tcpdump on m0: same {} frames", theirs.len());
}

/// A 4 MiB download through the mirror with a small UMEM (1024 frames), so
/// every frame is recycled through the fill ring several times. The payload
/// reassembled from the capture equals the file, and the frames are
/// tcpdump's on m0 (less any the kernel counted as dropped).
#[test]
fn bulk_download_recycles_frames() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(2);
    let body: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(net.dir.join("big.bin"), &body).unwrap();
    net.start_http();
    thread::sleep(Duration::from_millis(300));
    let pcap = net.dir.join("m0.pcap").to_str().unwrap().to_string();
    let cfg = AfXdpConfig {
        frame_count: 1024,
        frame_size: 2048,
        fill_ring_size: 512,
        rx_ring_size: 512,
        ..AfXdpConfig::new("m1")
    };
    let Some(cap) = open_mirror(&net, cfg) else {
        return;
    };
    let tcpdump = start_tcpdump(&net.s, "m0", &pcap);
    // Paced, so that bursts stay well below the 512-entry fill ring even when
    // the reader thread is descheduled for tens of ms on a loaded 2-core
    // machine: a small client receive buffer caps the window at 32 KiB, and
    // curl reads at 2 MB/s (512 frames are ~350 ms of that). Unpaced, the
    // server blasts the whole file across the veth at once, the burst
    // outruns the reader, and the kernel counts rx_fill_ring_empty_descs:
    // the capture loses packets (the connection does not).
    run(&[
        "ip",
        "netns",
        "exec",
        &net.c,
        "sysctl",
        "-qw",
        "net.ipv4.tcp_rmem=4096 16384 32768",
    ]);
    assert!(
        net.curl_with("/big.bin", 20, &["--limit-rate", "2M"]),
        "download failed"
    );
    thread::sleep(Duration::from_millis(300));
    let (pkts, stats, _) = cap.finish();
    eprintln!("bulk: {} packets captured, {stats:?}", pkts.len());
    assert!(pkts.len() > 2 * 1024, "{} packets", pkts.len());
    assert_eq!(stats.rx_invalid_descs + stats.rx_ring_full, 0, "{stats:?}");
    // Every drop is a packet that found no free frame (a reader thread
    // descheduled for a long time on a loaded machine): counted, never silent.
    assert_eq!(
        stats.rx_dropped, stats.rx_fill_ring_empty_descs,
        "{stats:?}"
    );
    let dropped = stats.rx_dropped as usize;
    if dropped == 0 {
        let ours = tcp_streams(&pkts, PORT);
        assert_eq!(ours.len(), 1, "one connection");
        let hdr_end = ours[0]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP header")
            + 4;
        assert!(
            ours[0][hdr_end..] == body[..],
            "payload differs from the file"
        );
    } else {
        eprintln!(
            "note: {dropped} packets dropped by the kernel (no free frame); payload check skipped"
        );
    }
    let Some(td) = tcpdump else { return };
    let theirs = stop_tcpdump(td, &pcap);
    // Ours are tcpdump's frames, in order, less exactly the dropped ones.
    let mut it = theirs.iter();
    for (i, p) in pkts.iter().enumerate() {
        assert!(
            it.any(|t| t == p),
            "captured frame {i} (of {}) not in tcpdump's {} frames, in order",
            pkts.len(),
            theirs.len()
        );
    }
    assert_eq!(
        pkts.len() + dropped,
        theirs.len(),
        "packets + kernel drops vs tcpdump on m0"
    );
    eprintln!(
        "tcpdump on m0: {} frames = {} captured + {dropped} dropped",
        theirs.len(),
        pkts.len()
    );
}

/// Documents the limitation: on the interface that carries the traffic,
/// AF_XDP steals the received packets from the stack. A connection to the
/// server fails while the source is open on s0, and works again after.
#[test]
fn redirect_takes_packets_from_the_stack() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(3);
    net.start_http();
    net.curl("/"); // ARP resolved, server fine
    let cfg = AfXdpConfig {
        snaplen: 40,
        ..AfXdpConfig::new("s0")
    };
    let cap = match capture(&net.s, cfg) {
        Ok(c) => c,
        Err(e) if refused(&e) => {
            eprintln!("skipped: the kernel refused the AF_XDP socket / XDP program: {e}");
            return;
        }
        Err(e) => panic!("open s0: {e}"),
    };
    let blocked = !net.curl_ok("/", 2);
    let (pkts, stats, position) = cap.finish();
    assert!(
        blocked,
        "curl got through although s0's packets go to AF_XDP"
    );
    // What the client sent reached the socket instead (SYNs, or ARP).
    assert!(!pkts.is_empty(), "nothing captured on s0: {stats:?}");
    for (len, d) in &pkts {
        assert!(d.len() <= 40, "snaplen 40 not applied: {}", d.len());
        assert!(*len as usize >= d.len());
    }
    assert!(pkts.iter().any(|(len, _)| *len > 40), "nothing cut");
    assert_eq!(position, pkts.iter().map(|(_, d)| d.len() as u64).sum());
    let syns = pkts
        .iter()
        .filter(|(_, d)| is_tcp4(d) && d.len() >= 38 && d[36..38] == PORT.to_be_bytes())
        .count();
    eprintln!(
        "while open on s0: curl blocked, {} packets taken ({syns} TCP to :{PORT})",
        pkts.len()
    );
    assert_eq!(xdp_mode(&net.s, "s0"), "none", "XDP program left attached");
    assert!(net.curl_ok("/", 10), "traffic did not recover after drop");
}

/// Generic (SKB) XDP in copy mode works on any device; zero-copy is refused
/// on veth (no driver support) with a plain message.
#[test]
fn explicit_modes_on_veth() {
    if !privileged() {
        return;
    }
    let mut net = Net::new(5);
    net.start_http();
    let cfg = AfXdpConfig {
        attach_mode: AttachMode::Generic,
        bind_mode: BindMode::Copy,
        ..AfXdpConfig::new("m1")
    };
    let Some(cap) = open_mirror(&net, cfg) else {
        return;
    };
    let mode = xdp_mode(&net.m, "m1");
    assert!(!cap.zero_copy);
    net.curl("/");
    thread::sleep(Duration::from_millis(200));
    let (pkts, stats, _) = cap.finish();
    assert_eq!(mode, "xdpgeneric");
    assert_eq!(xdp_mode(&net.m, "m1"), "none", "XDP program left attached");
    assert!(
        pkts.iter().any(|(_, d)| contains(d, b"GET / HTTP/1.1")),
        "{stats:?}"
    );
    eprintln!("generic + copy on veth: {} packets, {stats:?}", pkts.len());

    // Reopened at once: `open` waits out the kernel's deferred release of
    // the queue (EBUSY for a moment after the previous socket closed).
    let zc = AfXdpConfig {
        bind_mode: BindMode::ZeroCopy,
        ..AfXdpConfig::new("m1")
    };
    match capture(&net.m, zc) {
        Ok(cap) => {
            eprintln!("note: this veth accepted zero-copy");
            assert!(cap.zero_copy);
            cap.finish();
        }
        Err(e) => {
            assert_eq!(e.kind, CaptureErrorKind::Live);
            eprintln!("zero-copy on veth: {e}");
            assert!(e.message.contains("does not support") || refused(&e), "{e}");
        }
    }
    assert_eq!(xdp_mode(&net.m, "m1"), "none", "XDP program left attached");
}

#[test]
fn stop_flag_ends_a_quiet_capture() {
    if !privileged() {
        return;
    }
    let net = Net::new(4);
    let (tx, rx) = mpsc::channel();
    let ns = net.m.clone();
    let reader = thread::spawn(move || {
        enter_netns(&ns);
        let mut src = match AfXdpSource::open(AfXdpConfig::new("m1")) {
            Ok(s) => s,
            Err(e) => {
                tx.send(Err(e)).unwrap();
                return None;
            }
        };
        // A second socket on the same queue is refused, plainly.
        let busy = AfXdpSource::open(AfXdpConfig::new("m1")).unwrap_err();
        tx.send(Ok((src.stop_handle(), busy))).unwrap();
        let mut n = 0;
        while src.next_packet().unwrap().is_some() {
            n += 1;
        }
        let ended = Instant::now();
        assert!(src.next_packet().unwrap().is_none());
        Some((n, ended))
    });
    let (stop, busy) = match rx.recv().unwrap() {
        Ok(x) => x,
        Err(e) if refused(&e) => {
            eprintln!("skipped: the kernel refused the AF_XDP socket / XDP program: {e}");
            return;
        }
        Err(e) => panic!("open m1: {e}"),
    };
    assert_eq!(busy.kind, CaptureErrorKind::Live);
    assert!(busy.message.contains("already used"), "{busy}");
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let set = Instant::now();
    let (n, ended) = reader.join().unwrap().unwrap();
    let lag = ended.saturating_duration_since(set);
    assert!(
        lag < Duration::from_secs(1),
        "stopped {lag:?} after the flag"
    );
    assert_eq!(n, 0, "quiet link delivered packets");
    eprintln!("stopped {lag:?} after the flag was set; second open: {busy}");
}

#[test]
fn missing_interface_is_named() {
    // No privileges needed: the name is checked before any socket is made.
    let err = AfXdpSource::open(AfXdpConfig::new("ksnosuchif0")).unwrap_err();
    assert_eq!(err.kind, CaptureErrorKind::Live);
    assert!(err.to_string().contains("ksnosuchif0"), "{err}");
    assert!(err.message.contains("no network interface"), "{err}");
    let err = AfXdpSource::open(AfXdpConfig {
        frame_size: 3000,
        ..AfXdpConfig::new("lo")
    })
    .unwrap_err();
    assert_eq!(err.kind, CaptureErrorKind::Live);
    assert!(err.message.contains("power of two"), "{err}");
}

#[test]
fn unprivileged_open_says_what_is_missing() {
    if !privileged() {
        // Unprivileged (or this test re-run as nobody by itself, below).
        let err = AfXdpSource::open(AfXdpConfig::new("lo")).unwrap_err();
        assert_eq!(err.kind, CaptureErrorKind::Live);
        assert!(err.message.contains("needs root"), "{err}");
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
