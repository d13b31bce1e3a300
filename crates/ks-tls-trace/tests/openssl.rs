//! Live tests: real programs talk TLS on loopback while a [`Tracer`] runs.
//! They need root (or CAP_BPF+CAP_PERFMON), curl, python3, openssl and
//! gnutls-bin. Every test takes the global lock: tracers see each other's
//! programs otherwise, and the shared names (python3) would mix.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ks_tls_trace::{Direction, Library, TraceConfig, Tracer, Tuple};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An owned copy of a chunk.
#[derive(Debug, Clone)]
#[allow(dead_code)]
struct Rec {
    ts_ns: u64,
    cgroup_id: u64,
    tid: u32,
    pid: u32,
    comm: String,
    conn: u64,
    fd: Option<i32>,
    tuple: Option<Tuple>,
    direction: Direction,
    call_len: u64,
    offset: u64,
    truncated: bool,
    library: Library,
    data: Vec<u8>,
}

/// A scratch directory with a self-signed certificate.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "ks-tls-trace-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        let st = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-days", "1", "-keyout"])
            .arg(p.join("k"))
            .arg("-out")
            .arg(p.join("c"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl req failed");
        Dir(p)
    }

    /// A copy of the program `bin` named `name` (so its comm is `name`).
    fn copy_of(&self, bin: &str, name: &str) -> PathBuf {
        let dst = self.0.join(name);
        std::fs::copy(bin, &dst).unwrap();
        dst
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SERVER: &str = r#"
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
# Optional delay before libssl is loaded (import ssl dlopens _ssl).
time.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else 0)
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        n = int(self.path.strip("/") or 0)
        body = bytes(i % 251 for i in range(n))
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
host = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
class S(http.server.HTTPServer):
    address_family = __import__("socket").AF_INET6 if ":" in host else __import__("socket").AF_INET
srv = S((host, 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A Python HTTPS server whose comm is `name`; killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Dir, name: &str, env: &[(&str, &Path)]) -> Server {
        Server::start_after(dir, name, env, 0.0)
    }

    /// As `start`, loading libssl only after `delay` seconds.
    fn start_after(dir: &Dir, name: &str, env: &[(&str, &Path)], delay: f64) -> Server {
        Server::start_on(dir, name, env, delay, "127.0.0.1")
    }

    /// As `start_after`, listening on `host`.
    fn start_on(dir: &Dir, name: &str, env: &[(&str, &Path)], delay: f64, host: &str) -> Server {
        let mut cmd = Command::new("python3");
        cmd.arg("-c")
            .arg(SERVER)
            .arg(name)
            .arg(dir.0.join("c"))
            .arg(dir.0.join("k"))
            .arg(delay.to_string())
            .arg(host)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        let out = child.stdout.take().unwrap();
        BufReader::new(out).read_line(&mut line).unwrap();
        let port = line.trim().parse().expect("server port");
        Server { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the curl copy `curl` for `https://127.0.0.1:port/path`; its pid.
fn curl(curl: &Path, port: u16, path: &str) -> u32 {
    curl_url(curl, &format!("https://127.0.0.1:{port}/{path}"))
}

/// Runs the curl copy `curl` for `url`; its pid.
fn curl_url(curl: &Path, url: &str) -> u32 {
    let mut child = Command::new(curl)
        .args(["-sk", "--http1.1", "--max-time", "20", "-o", "/dev/null"])
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let st = child.wait().unwrap();
    assert!(st.success(), "curl failed: {st}");
    pid
}

fn tracer(cfg: TraceConfig) -> Tracer {
    Tracer::start(cfg).expect("Tracer::start (run the tests as root)")
}

/// Collects chunks until `done` says so or 20 s pass.
fn collect(t: &mut Tracer, done: impl FnMut(&[Rec]) -> bool) -> Vec<Rec> {
    collect_for(t, Duration::from_secs(20), done)
}

/// Collects chunks until `done` says so or `max` passes.
fn collect_for(t: &mut Tracer, max: Duration, mut done: impl FnMut(&[Rec]) -> bool) -> Vec<Rec> {
    let until = Instant::now() + max;
    let mut recs = Vec::new();
    while Instant::now() < until && !done(&recs) {
        if let Some(c) = t.try_next_chunk(Duration::from_millis(100)).unwrap() {
            recs.push(Rec {
                ts_ns: c.ts_ns,
                cgroup_id: c.cgroup_id,
                tid: c.tid,
                pid: c.pid,
                comm: c.comm.to_string(),
                conn: c.conn,
                fd: c.fd,
                tuple: c.tuple,
                direction: c.direction,
                call_len: c.call_len,
                offset: c.offset,
                truncated: c.truncated,
                library: c.library,
                data: c.data.to_vec(),
            });
        }
    }
    recs
}

/// The bytes of `recs` of process `pid` in direction `d`, in order.
fn stream(recs: &[Rec], pid: u32, d: Direction) -> Vec<u8> {
    recs.iter()
        .filter(|r| r.pid == pid && r.direction == d)
        .flat_map(|r| r.data.iter().copied())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn has(recs: &[Rec], comm: &str, d: Direction, needle: &[u8]) -> bool {
    let s: Vec<u8> = recs
        .iter()
        .filter(|r| r.comm == comm && r.direction == d)
        .flat_map(|r| r.data.iter().copied())
        .collect();
    contains(&s, needle)
}

#[test]
fn curl_and_python_server() {
    let _g = lock();
    let dir = Dir::new("get");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_get");
    // Started before the tracer: libssl is already loaded.
    let srv = Server::start(&dir, "kspy_get", &[]);
    let mut t = tracer(TraceConfig {
        comms: vec!["kscurl_get".into(), "kspy_get".into()],
        ..TraceConfig::default()
    });
    assert!(t.attached().iter().any(|a| a.library == Library::OpenSsl));
    let cpid = curl(&kscurl, srv.port, "1000");
    let want = body(1000);
    let recs = collect(&mut t, |r| {
        has(r, "kscurl_get", Direction::Read, &want) && has(r, "kspy_get", Direction::Write, &want)
    });
    let sent = stream(&recs, cpid, Direction::Write);
    assert!(
        sent.starts_with(b"GET /1000 HTTP/1.1\r\n"),
        "curl sent {:?}",
        String::from_utf8_lossy(&sent)
    );
    let got = stream(&recs, cpid, Direction::Read);
    assert!(
        got.starts_with(b"HTTP/1.0 200") || got.starts_with(b"HTTP/1.1 200"),
        "curl got {:?}",
        String::from_utf8_lossy(&got[..got.len().min(100)])
    );
    assert!(got.ends_with(&want));

    let c = recs.iter().find(|r| r.pid == cpid).unwrap();
    assert_eq!(c.library, Library::OpenSsl);
    assert!(c.fd.is_some());
    let ct = c.tuple.expect("curl tuple");
    assert_eq!(ct.remote.port(), srv.port);
    assert!(ct.local.ip().is_loopback());
    assert_ne!(ct.local.port(), srv.port);
    // The server's side, mirrored.
    let spid = srv.pid();
    let s = recs.iter().find(|r| r.pid == spid).expect("server chunks");
    assert_eq!(s.comm, "kspy_get");
    let st = s.tuple.expect("server tuple");
    assert_eq!(st.local, ct.remote);
    assert_eq!(st.remote, ct.local);
    assert_eq!(stream(&recs, spid, Direction::Read), sent);
    assert!(stream(&recs, spid, Direction::Write).ends_with(&want));
    // Time, thread and cgroup of the server's chunks.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        s.ts_ns <= now && now - s.ts_ns < 30_000_000_000,
        "ts {}",
        s.ts_ns
    );
    assert_eq!(s.tid, spid, "single-threaded server");
    // Checked only where /sys/fs/cgroup is the cgroup v2 hierarchy.
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if let Some(cg) = std::fs::read_to_string(format!("/proc/{spid}/cgroup"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        })
        .filter(|_| unified)
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(format!("/sys/fs/cgroup{cg}")) {
            assert_eq!(s.cgroup_id, m.ino(), "cgroup v2 id of {cg}");
        }
    }
    // Every chunk of a connection carries the same conn and fd.
    for r in recs.iter().filter(|r| r.pid == cpid) {
        assert_eq!((r.conn, r.fd), (c.conn, c.fd));
    }
}

/// The bytes of each call of `pid` in direction `d`, keyed by (conn,
/// call order): chunks of one call come in order of offset.
fn calls(recs: &[Rec], pid: u32, d: Direction) -> Vec<(u64, Vec<u8>, bool)> {
    let mut out: Vec<(u64, Vec<u8>, bool)> = Vec::new();
    for r in recs.iter().filter(|r| r.pid == pid && r.direction == d) {
        if r.offset == 0 {
            out.push((r.call_len, Vec::new(), false));
        }
        let last = out.last_mut().expect("a call starts at offset 0");
        assert_eq!(last.0, r.call_len, "chunks of one call interleaved");
        assert_eq!(last.1.len() as u64, r.offset, "chunk out of order");
        last.1.extend_from_slice(&r.data);
        last.2 |= r.truncated;
    }
    out
}

#[test]
fn one_megabyte_arrives_whole_and_in_order() {
    let _g = lock();
    let dir = Dir::new("big");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_big");
    let mut t = tracer(TraceConfig {
        comms: vec!["kscurl_big".into(), "kspy_big".into()],
        ..TraceConfig::default()
    });
    // Started after the tracer.
    let srv = Server::start(&dir, "kspy_big", &[]);
    let n = 1 << 20;
    let want = body(n);
    let cpid = curl(&kscurl, srv.port, &n.to_string());
    let spid = srv.pid();
    let recs = collect(&mut t, |r| {
        stream(r, cpid, Direction::Read).ends_with(&want)
            && stream(r, spid, Direction::Write).ends_with(&want)
    });
    assert!(stream(&recs, cpid, Direction::Read).ends_with(&want));
    // Python writes the body with one SSL_write_ex call: 64 records.
    let big: Vec<_> = calls(&recs, spid, Direction::Write)
        .into_iter()
        .filter(|c| c.0 == n as u64)
        .collect();
    assert_eq!(big.len(), 1, "one 1 MiB call");
    assert_eq!(big[0].1, want);
    assert!(!big[0].2);
    let pieces = recs
        .iter()
        .filter(|r| r.pid == spid && r.call_len == n as u64)
        .count();
    assert_eq!(pieces, n / 16384);
    assert_eq!(t.stats().lost, 0);
    assert!(t.stats().bytes >= 2 * n as u64);
}

#[test]
fn max_call_bytes_truncates() {
    let _g = lock();
    let dir = Dir::new("trunc");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_trunc");
    let mut t = tracer(TraceConfig {
        comms: vec!["kspy_trunc".into()],
        max_call_bytes: 100_000,
        ..TraceConfig::default()
    });
    let srv = Server::start(&dir, "kspy_trunc", &[]);
    let n = 300_000;
    curl(&kscurl, srv.port, &n.to_string());
    let spid = srv.pid();
    let recs = collect(&mut t, |r| r.iter().any(|c| c.truncated));
    let big: Vec<_> = calls(&recs, spid, Direction::Write)
        .into_iter()
        .filter(|c| c.0 == n as u64)
        .collect();
    assert_eq!(big.len(), 1);
    assert!(big[0].2, "last chunk flagged truncated");
    assert_eq!(big[0].1, body(n)[..100_000]);
    assert!(t.stats().truncated_calls >= 1);
    // curl is out of scope.
    assert!(recs.iter().all(|r| r.pid == spid));
}

#[test]
fn survives_exits_and_scopes() {
    let _g = lock();
    let dir = Dir::new("scope");
    let inside = dir.copy_of("/usr/bin/curl", "kscurl_in");
    let outside = dir.copy_of("/usr/bin/curl", "kscurl_out");
    let srv = Server::start(&dir, "kspy_scope", &[]);
    let mut t = tracer(TraceConfig {
        comms: vec!["kscurl_in".into()],
        ..TraceConfig::default()
    });
    let p1 = curl(&inside, srv.port, "11");
    let p2 = curl(&outside, srv.port, "12");
    let p3 = curl(&inside, srv.port, "13");
    let recs = collect(&mut t, |r| {
        contains(&stream(r, p1, Direction::Write), b"GET /11 ")
            && contains(&stream(r, p3, Direction::Write), b"GET /13 ")
    });
    assert!(contains(&stream(&recs, p1, Direction::Write), b"GET /11 "));
    assert!(contains(&stream(&recs, p3, Direction::Write), b"GET /13 "));
    // Nothing from the other curl nor from the server.
    let more = collect_for(&mut t, Duration::from_secs(1), |_| false);
    assert!(recs.iter().chain(&more).all(|r| r.pid == p1 || r.pid == p3));
    assert!(recs.iter().all(|r| r.pid != p2 && r.pid != srv.pid()));
    // With a comm scope the probes are in every process (filtered in the
    // kernel): the server trapped into them, so the kernel gave it its
    // uprobe area.
    assert!(uprobe_area(srv.pid()), "out of a comm scope, still probed");
    drop(t);

    // A pid scope: the server only — and the probes are attached to that
    // process alone, so another server never traps at all.
    let other = Server::start(&dir, "kspy_other", &[]);
    let mut t = tracer(TraceConfig {
        pids: vec![srv.pid()],
        ..TraceConfig::default()
    });
    let p4 = curl(&inside, srv.port, "14");
    let p5 = curl(&inside, other.port, "15");
    let spid = srv.pid();
    let recs = collect(&mut t, |r| {
        contains(&stream(r, spid, Direction::Read), b"GET /14 ")
    });
    assert!(contains(&stream(&recs, spid, Direction::Read), b"GET /14 "));
    assert!(recs
        .iter()
        .all(|r| r.pid == spid && r.pid != p4 && r.pid != p5));
    assert!(
        !uprobe_area(other.pid()),
        "a process out of a pid scope trapped"
    );
}

/// Whether the kernel mapped its uprobe area (`[uprobes]`: displaced
/// instructions and the return trampoline) into process `pid`, which it
/// does when the process first hits a uprobe.
fn uprobe_area(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap()
        .contains("[uprobes]")
}

#[test]
fn library_in_an_unusual_place_found_by_rescan() {
    let _g = lock();
    let dir = Dir::new("odd");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_odd");
    let libdir = dir.0.join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    let Some(libssl) = [
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "/usr/lib/aarch64-linux-gnu/libssl.so.3",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists()) else {
        return;
    };
    let copy = libdir.join("libssl.so.3");
    std::fs::copy(libssl, &copy).unwrap();
    let mut t = tracer(TraceConfig {
        comms: vec!["kspy_odd".into()],
        rescan: Duration::from_millis(200),
        ..TraceConfig::default()
    });
    assert!(!t.attached().iter().any(|a| a.path == copy));
    // The process is seen by a rescan before it loads libssl (dlopen of
    // _ssl after 1 s): a later full rescan finds the library.
    let srv = std::thread::scope(|s| {
        let h =
            s.spawn(|| Server::start_after(&dir, "kspy_odd", &[("LD_LIBRARY_PATH", &libdir)], 1.0));
        // The tracer rescans while the server waits.
        while !h.is_finished() {
            let _ = t.try_next_chunk(Duration::from_millis(50)).unwrap();
        }
        h.join().unwrap()
    });
    let until = Instant::now() + Duration::from_secs(10);
    while !t.attached().iter().any(|a| a.path == copy) && Instant::now() < until {
        let _ = t.try_next_chunk(Duration::from_millis(100)).unwrap();
    }
    let a = t
        .attached()
        .into_iter()
        .find(|a| a.path == copy)
        .expect("copied libssl hooked after the rescan");
    assert_eq!(a.pid, Some(srv.pid()));
    curl(&kscurl, srv.port, "21");
    let spid = srv.pid();
    let recs = collect(&mut t, |r| {
        contains(&stream(r, spid, Direction::Read), b"GET /21 ")
    });
    assert!(contains(&stream(&recs, spid, Direction::Read), b"GET /21 "));
}

#[test]
fn tuple_from_proc_without_core() {
    let _g = lock();
    let dir = Dir::new("proc");
    let srv = Server::start(&dir, "kspy_proc", &[]);
    let mut t = Tracer::start_without_core(TraceConfig {
        comms: vec!["kspy_proc".into()],
        ..TraceConfig::default()
    })
    .unwrap();
    // The /proc lookup needs the socket still open: a client that keeps
    // its connection while the chunks are read.
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{}", srv.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    stdin
        .write_all(b"GET /31 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let spid = srv.pid();
    let recs = collect(&mut t, |r| {
        stream(r, spid, Direction::Write).ends_with(&body(31))
    });
    drop(stdin);
    let _ = client.kill();
    let _ = client.wait();
    let r = recs
        .iter()
        .find(|r| r.pid == spid && r.direction == Direction::Write)
        .expect("server chunk");
    let tu = r.tuple.expect("tuple from /proc");
    assert_eq!(tu.local.port(), srv.port);
    assert!(tu.remote.ip().is_loopback());
}

#[test]
fn gnutls_client() {
    let _g = lock();
    let dir = Dir::new("gnutls");
    let cli = dir.copy_of("/usr/bin/gnutls-cli", "ksgnutls_cli");
    let srv = Server::start(&dir, "kspy_gnutls", &[]);
    let mut t = tracer(TraceConfig {
        comms: vec!["ksgnutls_cli".into()],
        ..TraceConfig::default()
    });
    let mut child = Command::new(&cli)
        .args(["--insecure", "--no-ca-verification", "-p"])
        .arg(srv.port.to_string())
        .arg("127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    // gnutls-cli reads stdin only once the handshake is done.
    let recs = {
        std::thread::sleep(Duration::from_millis(500));
        let _ = stdin.write_all(b"GET /41 HTTP/1.0\r\n\r\n");
        let want = body(41);
        let r = collect(&mut t, |r| stream(r, pid, Direction::Read).ends_with(&want));
        drop(stdin);
        r
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(contains(
        &stream(&recs, pid, Direction::Write),
        b"GET /41 HTTP/1.0"
    ));
    assert!(stream(&recs, pid, Direction::Read).ends_with(&body(41)));
    let r = recs.iter().find(|r| r.pid == pid).unwrap();
    assert_eq!(r.library, Library::GnuTls);
    assert_eq!(r.tuple.map(|t| t.remote.port()), Some(srv.port));
}

/// A free loopback port (nobody listens on it right after).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs `cmd` as a server on `port`: waits until it accepts connections.
struct Daemon(Child);

impl Daemon {
    fn start(cmd: &mut Command, port: u16) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon(child);
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn gnutls_server() {
    let _g = lock();
    let dir = Dir::new("gnutls-serv");
    let serv = dir.copy_of("/usr/bin/gnutls-serv", "ksgnutls_srv");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_gsrv");
    let port = free_port();
    let d = Daemon::start(
        Command::new(&serv)
            .args(["--http", "-p"])
            .arg(port.to_string())
            .arg("--x509keyfile")
            .arg(dir.0.join("k"))
            .arg("--x509certfile")
            .arg(dir.0.join("c")),
        port,
    );
    let spid = d.0.id();
    let mut t = tracer(TraceConfig {
        comms: vec!["ksgnutls_srv".into()],
        ..TraceConfig::default()
    });
    curl(&kscurl, port, "gnutls");
    let recs = collect(&mut t, |r| {
        contains(&stream(r, spid, Direction::Write), b"</HTML>")
            || contains(&stream(r, spid, Direction::Write), b"</html>")
    });
    assert!(contains(
        &stream(&recs, spid, Direction::Read),
        b"GET /gnutls HTTP/1.1\r\n"
    ));
    assert!(contains(
        &stream(&recs, spid, Direction::Write),
        b"HTTP/1.0 200"
    ));
    let r = recs.iter().find(|r| r.pid == spid).unwrap();
    assert_eq!(r.library, Library::GnuTls);
    assert_eq!(r.tuple.map(|t| t.local.port()), Some(port));
}

/// `openssl s_server -www` reads and writes through a BIO_f_ssl, which calls
/// OpenSSL's internal functions, not the exported SSL_read/SSL_write: its
/// side of the connection is invisible (documented in docs/tls-trace.md);
/// the client's side is seen.
#[test]
fn openssl_s_server_www_is_not_seen() {
    let _g = lock();
    let dir = Dir::new("s_server");
    let srv = dir.copy_of("/usr/bin/openssl", "ksossl_srv");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_ossl");
    let port = free_port();
    let d = Daemon::start(
        Command::new(&srv)
            .args(["s_server", "-www", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.0.join("c"))
            .arg("-key")
            .arg(dir.0.join("k")),
        port,
    );
    let spid = d.0.id();
    let mut t = tracer(TraceConfig {
        comms: vec!["ksossl_srv".into(), "kscurl_ossl".into()],
        ..TraceConfig::default()
    });
    let cpid = curl(&kscurl, port, "");
    let recs = collect(&mut t, |r| {
        contains(&stream(r, cpid, Direction::Read), b"</HTML>")
            || contains(&stream(r, cpid, Direction::Read), b"</html>")
    });
    assert!(contains(
        &stream(&recs, cpid, Direction::Write),
        b"GET / HTTP/1.1\r\n"
    ));
    assert!(contains(
        &stream(&recs, cpid, Direction::Read),
        b"HTTP/1.0 200 ok"
    ));
    let more = collect_for(&mut t, Duration::from_millis(500), |_| false);
    assert!(recs.iter().chain(&more).all(|r| r.pid != spid));
}

/// Without privileges the error says what is missing. The test binary runs
/// itself again as `nobody` (setpriv, all capabilities dropped).
#[test]
fn eperm_says_what_is_needed() {
    if std::env::var_os("KS_TLS_TRACE_EPERM_CHILD").is_some() {
        match Tracer::start(TraceConfig::default()) {
            Err(e) => println!("ERR:{e}"),
            Ok(_) => println!("STARTED"),
        }
        return;
    }
    let dir = Dir::new("eperm");
    let exe = dir.0.join("selftest");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args(["eperm_says_what_is_needed", "--exact", "--nocapture"])
        .env("KS_TLS_TRACE_EPERM_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("ERR:") && !text.contains("STARTED") {
        // setpriv missing, or /tmp mounted noexec: nothing to check.
        return;
    }
    assert!(
        text.contains("needs root or CAP_BPF+CAP_PERFMON"),
        "unprivileged start said: {text}"
    );
}

#[test]
fn ipv6_tuple() {
    let _g = lock();
    let dir = Dir::new("v6");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_v6");
    let srv = Server::start_on(&dir, "kspy_v6", &[], 0.0, "::1");
    let mut t = tracer(TraceConfig {
        comms: vec!["kscurl_v6".into(), "kspy_v6".into()],
        ..TraceConfig::default()
    });
    let cpid = curl_url(&kscurl, &format!("https://[::1]:{}/61", srv.port));
    let spid = srv.pid();
    let recs = collect(&mut t, |r| {
        stream(r, cpid, Direction::Read).ends_with(&body(61))
            && contains(&stream(r, spid, Direction::Read), b"GET /61 ")
    });
    let c = recs.iter().find(|r| r.pid == cpid).expect("curl chunk");
    let ct = c.tuple.expect("curl tuple");
    let v6 = "::1".parse::<std::net::IpAddr>().unwrap();
    assert_eq!(ct.remote, std::net::SocketAddr::new(v6, srv.port));
    assert_eq!(ct.local.ip(), v6);
    let s = recs.iter().find(|r| r.pid == spid).expect("server chunk");
    assert_eq!(
        s.tuple.map(|t| (t.local, t.remote)),
        Some((ct.remote, ct.local))
    );
}

#[test]
fn stop_handle_ends_the_stream() {
    let _g = lock();
    let dir = Dir::new("stop");
    let kscurl = dir.copy_of("/usr/bin/curl", "kscurl_stop");
    let srv = Server::start(&dir, "kspy_stop", &[]);
    let mut t = tracer(TraceConfig {
        comms: vec!["kscurl_stop".into()],
        ..TraceConfig::default()
    });
    let cpid = curl(&kscurl, srv.port, "71");
    let stop = t.stop_handle();
    stop.store(true, Ordering::Relaxed);
    // What was in the ring is still delivered, then Ok(None) for good.
    let started = Instant::now();
    let mut got = Vec::new();
    while let Some(c) = t.next_chunk().unwrap() {
        got.extend_from_slice(c.data);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert!(t.is_finished());
    assert!(t.next_chunk().unwrap().is_none());
    assert!(
        contains(&got, b"GET /71 "),
        "pid {cpid}: chunks before the stop are kept"
    );
    // No more probes: a new call is not seen.
    curl(&kscurl, srv.port, "72");
    assert!(t
        .try_next_chunk(Duration::from_millis(300))
        .unwrap()
        .is_none());
}

#[path = "go/go_build.rs"]
mod go_build;

/// Go crypto/tls through the tracer: a Go server started after the tracer
/// (found by the rescan of new processes' executables) and a Go client; both
/// ends seen, with their 4-tuples and the fd, marked `Library::Go`.
#[test]
fn go_server_started_after_the_tracer_and_its_client() {
    let _g = lock();
    let (server, client) = (go_build::https_server(), go_build::https_client());
    let mut t = tracer(TraceConfig {
        comms: vec!["https_server".into(), "https_client".into()],
        ..TraceConfig::default()
    });
    let port = free_port();
    let mut d = Daemon::start(
        Command::new(&server)
            .arg("-addr")
            .arg(format!("127.0.0.1:{port}")),
        port,
    );
    // Let a rescan (made while polling) find the new executable.
    collect_for(&mut t, Duration::from_millis(1200), |_| false);
    assert!(
        t.attached()
            .iter()
            .any(|a| a.library == Library::Go && a.path.ends_with("https_server")),
        "{:?}",
        t.attached()
    );
    let url = format!("https://127.0.0.1:{port}/go-path");
    for proto in ["h1", "h2"] {
        let st = Command::new(&client)
            .args(["-url", &url, "-proto", proto, "-insecure"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    let want: &[u8] = b"hello HTTP/1.1 GET /go-path";
    let recs = collect(&mut t, |r| {
        has(r, "https_server", Direction::Write, want)
            && has(r, "https_server", Direction::Read, b"GET /go-path HTTP/1.1")
            && has(
                r,
                "https_server",
                Direction::Write,
                b"hello HTTP/2.0 GET /go-path",
            )
    });
    assert!(has(
        &recs,
        "https_server",
        Direction::Read,
        b"GET /go-path HTTP/1.1"
    ));
    assert!(has(&recs, "https_server", Direction::Write, want));
    // HTTP/2: the client preface, and the answer in a DATA frame.
    assert!(has(
        &recs,
        "https_server",
        Direction::Read,
        b"PRI * HTTP/2.0"
    ));
    assert!(has(
        &recs,
        "https_server",
        Direction::Write,
        b"hello HTTP/2.0 GET /go-path"
    ));
    for r in recs.iter().filter(|r| r.comm == "https_server") {
        assert_eq!(r.library, Library::Go);
        assert_eq!(r.pid, d.0.id());
        assert!(r.fd.is_some_and(|fd| fd > 2), "{r:?}");
        assert_eq!(r.tuple.map(|t| t.local.port()), Some(port), "{r:?}");
    }
    // The client was hooked too (the same file for both runs), at the
    // latest for its second run: its side of the same connections.
    let _ = d.0.kill();
}

/// An executable with OpenSSL linked in statically (standing in for
/// BoringSSL in Envoy: same `SSL_*` names), started after the tracer: found
/// by its own symbols, reported as `Library::BoringSsl`.
#[test]
fn statically_linked_ssl_found_by_symbol() {
    let _g = lock();
    let dir = Dir::new("static");
    let bin = dir.0.join("ks_static_tls");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/static_ssl/client.c");
    let out = Command::new("cc")
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .args([
            "-Wl,-Bstatic",
            "-lssl",
            "-lcrypto",
            "-Wl,-Bdynamic",
            "-ldl",
            "-lpthread",
        ])
        .output()
        .expect("cc (build-essential) and libssl-dev's libssl.a");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ldd = Command::new("ldd").arg(&bin).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ldd.stdout).contains("libssl"),
        "libssl linked dynamically"
    );
    let srv = Server::start(&dir, "ks-static-srv", &[]);
    let mut t = tracer(TraceConfig {
        comms: vec!["ks_static_tls".into()],
        ..TraceConfig::default()
    });
    let mut want = b"\r\n\r\n".to_vec();
    want.extend_from_slice(&body(3000));
    // Running for a while before it connects, as a proxy would: the
    // rescan of new processes (every 500 ms) finds the file meanwhile.
    let mut child = Command::new(&bin)
        .args([&srv.port.to_string(), "3000", "1500"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let recs = collect(&mut t, |r| has(r, "ks_static_tls", Direction::Read, &want));
    assert!(child.wait().unwrap().success());
    assert!(
        t.attached()
            .iter()
            .any(|a| a.library == Library::BoringSsl && a.path.ends_with("ks_static_tls")),
        "{:?}",
        t.attached()
    );
    assert!(has(
        &recs,
        "ks_static_tls",
        Direction::Write,
        b"GET /3000 HTTP/1.1\r\n"
    ));
    assert!(has(&recs, "ks_static_tls", Direction::Read, &want));
    for r in recs.iter().filter(|r| r.comm == "ks_static_tls") {
        assert_eq!(r.library, Library::BoringSsl);
        assert_eq!(r.tuple.map(|t| t.remote.port()), Some(srv.port), "{r:?}");
    }
}
