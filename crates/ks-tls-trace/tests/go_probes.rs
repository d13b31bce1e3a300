//! `ks_tls_trace::go` against real Go programs built here with the installed
//! Go toolchain (required; see tests/go/go_build.rs).

#[path = "go/go_build.rs"]
mod go_build;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use ks_tls_trace::go::{
    find_go_tls, find_go_tls_in, parse_go_version, GoError, GoFunc, GoTlsProbes,
};
use object::{Object, ObjectSection};

/// Checks one function's probe points against the ELF file and, when
/// binutils is installed, against `objdump -d`.
fn check_func(path: &Path, bytes: &[u8], f: &GoFunc, symbol: &str) {
    assert_eq!(f.symbol, symbol);
    let elf = object::File::parse(bytes).unwrap();
    let text = elf.section_by_name(".text").expect(".text");
    let (text_off, text_len) = text.file_range().unwrap();

    // The symbol really is this function.
    let sym = object::ObjectSymbolTable::symbols(&elf.symbol_table().unwrap())
        .find(|s| object::ObjectSymbol::name(s) == Ok(symbol))
        .unwrap();
    assert_eq!(f.address, object::ObjectSymbol::address(&sym));
    assert_eq!(f.size, object::ObjectSymbol::size(&sym));
    assert!(f.size > 16, "{symbol}: size {}", f.size);

    // Entry: non-zero, inside .text, and the same bytes as the symbol's address.
    assert_ne!(f.entry, 0);
    assert!(f.address >= text.address() && f.address + f.size <= text.address() + text.size());
    assert!(
        f.entry >= text_off && f.entry + f.size <= text_off + text_len,
        "{symbol}: entry {:#x} outside .text file range {text_off:#x}+{text_len:#x}",
        f.entry
    );
    assert_eq!(f.entry, f.address - text.address() + text_off);
    let code = &bytes[f.entry as usize..(f.entry + f.size) as usize];
    assert_eq!(
        code,
        &text.data().unwrap()[(f.address - text.address()) as usize..][..f.size as usize]
    );

    // Every return offset is inside the function and decodes as RET there.
    assert!(!f.returns.is_empty(), "{symbol}: no RET");
    assert!(
        f.returns.windows(2).all(|w| w[0] < w[1]),
        "{symbol}: returns not ascending/unique"
    );
    for &r in &f.returns {
        assert!(
            r > f.entry && r < f.entry + f.size,
            "{symbol}: RET {r:#x} outside the function"
        );
        let ip = f.address + (r - f.entry);
        let insn = Decoder::with_ip(64, &bytes[r as usize..], ip, DecoderOptions::NONE).decode();
        assert_eq!(
            insn.mnemonic(),
            Mnemonic::Ret,
            "{symbol}: {r:#x} is {:?}",
            insn.mnemonic()
        );
    }
    // ...and no RET was missed: a full decode of the function finds exactly these.
    let mut all = Vec::new();
    for insn in Decoder::with_ip(64, code, f.address, DecoderOptions::NONE) {
        assert!(
            !insn.is_invalid(),
            "{symbol}: invalid code at {:#x}",
            insn.ip()
        );
        if insn.mnemonic() == Mnemonic::Ret {
            all.push(f.entry + (insn.ip() - f.address));
        }
    }
    assert_eq!(all, f.returns);

    // Independent cross-check with binutils.
    if let Some(rets) = objdump_rets(path, f.address, f.address + f.size) {
        let ours: BTreeSet<u64> = f
            .returns
            .iter()
            .map(|r| f.address + (r - f.entry))
            .collect();
        assert_eq!(ours, rets, "{symbol}: RET addresses differ from objdump's");
    } else {
        eprintln!(
            "objdump (binutils) not installed: RET cross-check skipped, iced-x86 checks done"
        );
    }
}

/// Addresses of `ret` instructions that objdump lists in `[start, stop)`.
fn objdump_rets(path: &Path, start: u64, stop: u64) -> Option<BTreeSet<u64>> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(format!("--start-address={start:#x}"))
        .arg(format!("--stop-address={stop:#x}"))
        .arg(path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "objdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rets = BTreeSet::new();
    let mut lines = 0;
    for line in text.lines() {
        let Some((addr, insn)) = line.trim().split_once(":\t") else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        lines += 1;
        if insn.split_whitespace().any(|w| matches!(w, "ret" | "retq")) {
            rets.insert(addr);
        }
    }
    assert!(lines > 10, "objdump listed {lines} instructions:\n{text}");
    Some(rets)
}

fn probes_of(path: &Path) -> (Vec<u8>, GoTlsProbes) {
    let probes = find_go_tls(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{}: crypto/tls not found", path.display()));
    (std::fs::read(path).unwrap(), probes)
}

fn check_binary(path: &Path) -> GoTlsProbes {
    let (bytes, probes) = probes_of(path);
    let version = probes
        .go_version
        .clone()
        .expect("Go version from .go.buildinfo");
    assert_eq!(version, go_build::go_version());
    let (major, minor) = parse_go_version(&version).unwrap();
    assert!((major, minor) >= (1, 17), "{version}");
    check_func(path, &bytes, &probes.write, "crypto/tls.(*Conn).Write");
    check_func(path, &bytes, &probes.read, "crypto/tls.(*Conn).Read");
    probes
}

#[test]
fn https_server_probes() {
    let p = check_binary(&go_build::https_server());
    eprintln!("{p:#x?}");
}

#[test]
fn https_client_probes() {
    check_binary(&go_build::https_client());
}

#[test]
fn pie_binary_offsets() {
    let bin = go_build::build("tls_min", "tls_min_pie", &["-buildmode=pie"], &[]);
    let bytes = std::fs::read(&bin).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    assert_eq!(elf.kind(), object::ObjectKind::Dynamic, "PIE is ET_DYN");
    check_binary(&bin);
}

#[test]
fn stripped_binary_is_reported() {
    let bin = go_build::build("tls_min", "tls_min_stripped", &["-ldflags=-s -w"], &[]);
    match find_go_tls(&bin) {
        Err(GoError::Stripped(sym)) => assert_eq!(sym, "crypto/tls.(*Conn).Write"),
        other => panic!("stripped binary: {other:?}"),
    }
    // A stripped Go program without crypto/tls is simply not a target.
    let bin = go_build::build("no_tls", "no_tls_stripped", &["-ldflags=-s -w"], &[]);
    assert!(matches!(find_go_tls(&bin), Ok(None)));
}

#[test]
fn arm64_is_unsupported() {
    let bin = go_build::build("tls_min", "tls_min_arm64", &[], &[("GOARCH", "arm64")]);
    match find_go_tls(&bin) {
        Err(GoError::UnsupportedArch(a)) => assert!(a.contains("Aarch64"), "{a}"),
        other => panic!("arm64 binary: {other:?}"),
    }
}

#[test]
fn go_program_without_tls_is_none() {
    let bin = go_build::build("no_tls", "no_tls", &[], &[]);
    assert!(matches!(find_go_tls(&bin), Ok(None)));
}

#[test]
fn non_go_binaries_are_none() {
    assert!(matches!(find_go_tls(Path::new("/bin/true")), Ok(None)));
    // This test executable: Rust, links no Go.
    assert!(matches!(
        find_go_tls(&std::env::current_exe().unwrap()),
        Ok(None)
    ));
    assert!(matches!(
        find_go_tls(Path::new("/nonexistent/ks")),
        Err(GoError::Io { .. })
    ));
    assert!(matches!(
        find_go_tls(Path::new("/etc/hostname")),
        Err(GoError::Elf(_))
    ));
}

/// Kills the child on drop so a failing assertion leaves no server behind.
struct Reap(std::process::Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test programs themselves work: HTTP/2 and HTTP/1.1 over TLS, with a
/// CA file and with verification off (the live eBPF tests run them).
#[test]
fn https_programs_talk_h1_and_h2() {
    let server = go_build::https_server();
    let client = go_build::https_client();
    let tls_min = go_build::build("tls_min", "tls_min", &[], &[]);
    let dir = go_build::work_dir().join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let mut srv = Reap(
        Command::new(&server)
            .arg("-ca-out")
            .arg(&ca)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(srv.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .strip_prefix("LISTEN ")
        .expect(&line)
        .trim()
        .to_string();
    let url = format!("https://{addr}/path");

    let run = |args: &[&str]| {
        let out = Command::new(&client).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "client {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ca_s = ca.to_str().unwrap();
    assert_eq!(
        run(&["-url", &url, "-cafile", ca_s, "-proto", "h2", "-n", "2"]),
        "PROTO HTTP/2.0 STATUS 200 BODY hello HTTP/2.0 GET /path \n".repeat(2)
    );
    assert_eq!(
        run(&["-url", &url, "-insecure", "-proto", "h1", "-body", "abc"]),
        "PROTO HTTP/1.1 STATUS 200 BODY hello HTTP/1.1 POST /path abc\n"
    );
    assert_eq!(
        run(&["-url", &url, "-insecure", "-proto", "h2", "-body", "xyz"]),
        "PROTO HTTP/2.0 STATUS 200 BODY hello HTTP/2.0 POST /path xyz\n"
    );
    // Raw crypto/tls: "ping\n" is not HTTP, the server answers 400.
    let out = Command::new(&tls_min).arg(&addr).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.1 400 Bad Request"));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn patch_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

/// The version logic on a real binary with its version strings edited:
/// buildinfo, the runtime.buildVersion fallback, Go < 1.17 refused, and the
/// register-ABI symbol as the last resort.
#[test]
fn version_sources_and_refusals() {
    let bin = go_build::build("tls_min", "tls_min", &[], &[]);
    let original = std::fs::read(bin).unwrap();
    let version = go_build::go_version();
    assert!(
        version.starts_with("go1.") && version.len() >= 6,
        "{version}"
    );
    let v = version.as_bytes();

    // No .go.buildinfo (magic broken): runtime.buildVersion still gives it.
    let mut b = original.clone();
    assert!(patch_all(&mut b, b"\xff Go buildinf:", b"\xff Go XXXXXXXX:") >= 1);
    let p = find_go_tls_in(&b).unwrap().unwrap();
    assert_eq!(p.go_version.as_deref(), Some(&*version));

    // Claiming Go 1.16 (stack ABI) is refused.
    let old = format!("go1.16{}", &version[6..]);
    let mut b = original.clone();
    assert!(
        patch_all(&mut b, v, old.as_bytes()) >= 2,
        "buildinfo and runtime.buildVersion"
    );
    match find_go_tls_in(&b) {
        Err(GoError::GoTooOld(found)) => assert_eq!(found, old),
        other => panic!("{other:?}"),
    }

    // No readable version: the register-ABI runtime (runtime.spillArgs) decides.
    let unknown = format!("xx{}", &version[2..]);
    let mut b = original.clone();
    patch_all(&mut b, v, unknown.as_bytes());
    let p = find_go_tls_in(&b).unwrap().unwrap();
    assert_eq!(p.go_version.as_deref(), Some(&*unknown));
    // ...and without it the ABI is unknown.
    // (.strtab and .gopclntab both name it.)
    assert!(patch_all(&mut b, b"runtime.spillArgs", b"runtime.spillArgZ") >= 1);
    assert!(matches!(find_go_tls_in(&b), Err(GoError::UnknownAbi)));
}
