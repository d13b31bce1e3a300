//! bpf/go_tls.h in the kernel: its four programs are loaded with aya and
//! attached, at the offsets `go::find_go_tls` computes, to the Go HTTPS
//! server and client of tests/go; the plaintext of HTTP/1.1 and HTTP/2
//! exchanges must come out. The includer's `ks_emit` is a stub here that
//! copies up to 1 KiB of each call into a ring buffer. Needs root (or
//! CAP_BPF + CAP_PERFMON), clang and Go; fails otherwise.

#[path = "go/go_build.rs"]
mod go_build;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aya::maps::{Array, RingBuf};
use aya::programs::uprobe::UProbeScope;
use aya::programs::UProbe;
use aya::Ebpf;
use ks_tls_trace::go::{
    find_go_tls, PROG_READ_ENTRY, PROG_READ_RET, PROG_WRITE_ENTRY, PROG_WRITE_RET,
};

const DATA: usize = 1024;

const SOURCE: &str = r#"
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct ev {
	__u32 tgid;
	__s32 fd;
	__u64 conn;
	__u64 len;
	__u32 copied;
	__u8 dir;
	__u8 lib;
	__u8 pad[2];
	char data[1024];
};
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } OUT SEC(".maps");

static __always_inline int ks_emit(void *ctx, __u64 conn, __s32 fd, __u8 direction,
				   const void *buf, __u64 len, __u8 library)
{
	struct ev *e = bpf_ringbuf_reserve(&OUT, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->fd = fd;
	e->conn = conn;
	e->len = len;
	e->dir = direction;
	e->lib = library;
	__u32 n = len > sizeof(e->data) ? sizeof(e->data) : (__u32)len;
	e->copied = bpf_probe_read_user(e->data, n, buf) ? 0 : n;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#include "go_tls.h"

// Hit counters (key 0: entry, 1: RET) for the morestack test.
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } COUNTS SEC(".maps");
static __always_inline int bump(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&COUNTS, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
SEC("uprobe/count_entry")
int count_entry(struct pt_regs *ctx) { return bump(0); }
SEC("uprobe/count_ret")
int count_ret(struct pt_regs *ctx) { return bump(1); }

char LICENSE[] SEC("license") = "GPL";
"#;

#[derive(Debug, Clone)]
struct Ev {
    tgid: u32,
    fd: i32,
    conn: u64,
    len: u64,
    dir: u8,
    lib: u8,
    data: Vec<u8>,
}

fn parse(b: &[u8]) -> Ev {
    let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap());
    let copied = u32_at(24) as usize;
    assert!(copied <= DATA);
    Ev {
        tgid: u32_at(0),
        fd: u32_at(4) as i32,
        conn: u64_at(8),
        len: u64_at(16),
        dir: b[28],
        lib: b[29],
        data: b[32..32 + copied].to_vec(),
    }
}

fn compile_object() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ks-go-tls-live");
    std::fs::create_dir_all(&dir).unwrap();
    let (c, o) = (dir.join("live.c"), dir.join("live.o"));
    std::fs::write(&c, SOURCE).unwrap();
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let multiarch = Command::new(&clang)
        .arg("-print-multiarch")
        .output()
        .unwrap_or_else(|e| panic!("{clang} (needed for the BPF object): {e}"));
    let multiarch = String::from_utf8(multiarch.stdout).unwrap();
    let out = Command::new(&clang)
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
            "-c",
        ])
        .arg(format!("-I/usr/include/{}", multiarch.trim()))
        .arg("-I")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf"))
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(o).unwrap()
}

const GO_PROGRAMS: [&str; 4] = [
    PROG_WRITE_ENTRY,
    PROG_WRITE_RET,
    PROG_READ_ENTRY,
    PROG_READ_RET,
];

/// Loads the object and `programs` into the kernel.
fn load(programs: &[&str]) -> Ebpf {
    let mut ebpf = Ebpf::load(&compile_object()).unwrap_or_else(|e| {
        panic!("loading the BPF object (root or CAP_BPF+CAP_PERFMON needed): {e}")
    });
    for &name in programs {
        let prog: &mut UProbe = ebpf.program_mut(name).unwrap().try_into().unwrap();
        prog.load()
            .unwrap_or_else(|e| panic!("verifier rejected {name}: {e}"));
    }
    ebpf
}

fn attach_at(ebpf: &mut Ebpf, name: &str, offsets: &[u64], bin: &Path) {
    let prog: &mut UProbe = ebpf.program_mut(name).unwrap().try_into().unwrap();
    for &off in offsets {
        prog.attach(off, bin, UProbeScope::AllProcesses)
            .unwrap_or_else(|e| panic!("attach {name} at {off:#x} of {}: {e}", bin.display()));
    }
}

/// Attaches the four programs to every Go crypto/tls function of `bin`.
fn attach(ebpf: &mut Ebpf, bin: &Path) {
    let p = find_go_tls(bin)
        .unwrap()
        .expect("crypto/tls in the test program");
    let points = p.attach_points();
    assert_eq!(
        points.len(),
        2 + p.write.returns.len() + p.read.returns.len()
    );
    for (name, off) in points {
        attach_at(ebpf, name, &[off], bin);
    }
}

struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stream(evs: &[Ev], tgid: u32, dir: u8) -> Vec<u8> {
    evs.iter()
        .filter(|e| e.tgid == tgid && e.dir == dir)
        .flat_map(|e| e.data.iter().copied())
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn go_client_and_server_plaintext_h1_h2() {
    let server = go_build::https_server();
    let client = go_build::https_client();
    let mut ebpf = load(&GO_PROGRAMS);
    attach(&mut ebpf, &server);
    attach(&mut ebpf, &client);
    let mut ring = RingBuf::try_from(ebpf.take_map("OUT").unwrap()).unwrap();

    let dir = go_build::work_dir().join(format!("live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let mut srv = Reap(
        Command::new(&server)
            .arg("-log-fds")
            .arg("-ca-out")
            .arg(&ca)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server_pid = srv.0.id();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let out = srv.0.stdout.take().unwrap();
        let lines = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(a) = l.strip_prefix("LISTEN ") {
                    let _ = tx.send(a.to_string());
                }
                lines.lock().unwrap().push(l);
            }
        });
    }
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server LISTEN line");
    let url = format!("https://{addr}/path");

    let mut client_pids = HashMap::new();
    for (proto, body) in [("h1", "ks-secret-h1"), ("h2", "ks-secret-h2")] {
        let child = Command::new(&client)
            .args([
                "-url", &url, "-proto", proto, "-body", body, "-n", "2", "-cafile",
            ])
            .arg(&ca)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "client {proto}");
        client_pids.insert(proto, pid);
    }

    // Drain until both sides' last responses have been seen (or time out).
    let mut evs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        while let Some(item) = ring.next() {
            evs.push(parse(&item));
        }
        let h2_read = stream(&evs, client_pids["h2"], 0);
        if contains(&h2_read, "ks-secret-h2")
            && evs.iter().filter(|e| e.tgid == server_pid).count() >= 4
        {
            std::thread::sleep(Duration::from_millis(200));
            while let Some(item) = ring.next() {
                evs.push(parse(&item));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
    let summary: Vec<String> = evs
        .iter()
        .map(|e| {
            format!(
                "pid {} fd {} dir {} len {} {:?}",
                e.tgid,
                e.fd,
                e.dir,
                e.len,
                String::from_utf8_lossy(&e.data[..e.data.len().min(60)])
            )
        })
        .collect();
    let ctx = summary.join("\n");

    for e in &evs {
        assert_eq!(e.lib, 3, "library must be Go (3)");
        assert!(
            e.len > 0 && e.data.len() as u64 == e.len.min(DATA as u64),
            "{e:?}"
        );
        assert!(e.fd >= 3, "no fd read through tls.Conn: {e:?}\n{ctx}");
        assert_ne!(e.conn, 0);
    }
    // One connection per client process and direction: one fd per *tls.Conn.
    let mut fd_of = HashMap::new();
    for e in &evs {
        assert_eq!(
            *fd_of.entry((e.tgid, e.conn)).or_insert(e.fd),
            e.fd,
            "fd changed\n{ctx}"
        );
    }

    // HTTP/1.1 client: request with body out, response in.
    let h1 = client_pids["h1"];
    let w = stream(&evs, h1, 1);
    let r = stream(&evs, h1, 0);
    assert!(
        w.starts_with(b"POST /path HTTP/1.1\r\n"),
        "h1 write:\n{ctx}"
    );
    assert!(contains(&w, "\r\n\r\nks-secret-h1"), "h1 body:\n{ctx}");
    assert!(r.starts_with(b"HTTP/1.1 200 OK\r\n"), "h1 read:\n{ctx}");
    assert!(
        contains(&r, "hello HTTP/1.1 POST /path ks-secret-h1"),
        "h1 response body:\n{ctx}"
    );

    // HTTP/2 client: the connection preface and the DATA payload out, response in.
    let h2 = client_pids["h2"];
    let w = stream(&evs, h2, 1);
    let r = stream(&evs, h2, 0);
    assert!(
        w.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        "h2 preface:\n{ctx}"
    );
    assert!(contains(&w, "ks-secret-h2"), "h2 DATA:\n{ctx}");
    assert!(
        contains(&r, "hello HTTP/2.0 POST /path ks-secret-h2"),
        "h2 response:\n{ctx}"
    );

    // Server: both requests in, both responses out, on the fds it reported.
    let sr = stream(&evs, server_pid, 0);
    let sw = stream(&evs, server_pid, 1);
    assert!(
        contains(&sr, "POST /path HTTP/1.1") && contains(&sr, "ks-secret-h1"),
        "server read:\n{ctx}"
    );
    assert!(
        contains(&sr, "PRI * HTTP/2.0") && contains(&sr, "ks-secret-h2"),
        "server read h2:\n{ctx}"
    );
    assert!(
        contains(&sw, "hello HTTP/1.1 POST /path ks-secret-h1"),
        "server write:\n{ctx}"
    );
    assert!(
        contains(&sw, "hello HTTP/2.0 POST /path ks-secret-h2"),
        "server write h2:\n{ctx}"
    );
    let logged: HashSet<i32> = lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| l.strip_prefix("CONN ")?.parse().ok())
        .collect();
    // (The second connection may reuse the first one's fd number.)
    assert!(!logged.is_empty(), "the server printed no CONN line");
    let seen: HashSet<i32> = evs
        .iter()
        .filter(|e| e.tgid == server_pid)
        .map(|e| e.fd)
        .collect();
    assert_eq!(
        seen, logged,
        "fds read by the probes vs the server's own\n{ctx}"
    );
}

/// A Write whose prologue grows the stack runs its first instructions twice
/// (runtime.morestack restarts it): the entry probe fires more often than
/// the RET probes, yet every message is emitted exactly once.
#[test]
fn morestack_double_entry_emits_once() {
    let bin = go_build::build("stack_grow", "stack_grow", &[], &[]);
    let n = 400;
    let mut ebpf = load(&[&GO_PROGRAMS[..], &["count_entry", "count_ret"]].concat());
    attach(&mut ebpf, &bin);
    let p = find_go_tls(&bin).unwrap().unwrap();
    attach_at(&mut ebpf, "count_entry", &[p.write.entry], &bin);
    attach_at(&mut ebpf, "count_ret", &p.write.returns, &bin);
    let mut ring = RingBuf::try_from(ebpf.take_map("OUT").unwrap()).unwrap();

    let child = Command::new(&bin)
        .arg(format!("-n={n}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("GOT {n}\n"));

    std::thread::sleep(Duration::from_millis(200));
    let mut evs = Vec::new();
    while let Some(item) = ring.next() {
        evs.push(parse(&item));
    }
    let mut msgs: Vec<String> = evs
        .iter()
        .filter(|e| e.tgid == pid && e.dir == 1)
        .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        .collect();
    msgs.sort();
    let want: Vec<String> = (0..n).map(|d| format!("msg-{d:04}\n")).collect();
    assert_eq!(msgs, want, "each Write emitted exactly once");
    // The server side read them all (in reads of any size).
    let read = stream(&evs, pid, 0);
    assert_eq!(read, want.concat().into_bytes());

    let counts: Array<_, u64> = Array::try_from(ebpf.map("COUNTS").unwrap()).unwrap();
    let (entries, rets) = (counts.get(&0, 0).unwrap(), counts.get(&1, 0).unwrap());
    eprintln!("Write: {entries} entry hits, {rets} RET hits for {n} calls");
    assert_eq!(rets, n as u64);
    assert!(
        entries > rets,
        "no morestack restart of Write's prologue observed ({entries} entries)"
    );
}
