//! Compiles the eBPF program (`bpf/tls.bpf.c`) with clang into
//! `$OUT_DIR/tls.bpf.o`, which `src/tracer.rs` embeds.
//!
//! Needs clang (any version with the BPF target, 14 works) and the headers
//! of Debian's `libbpf-dev` (`<bpf/bpf_helpers.h>`, `<bpf/bpf_core_read.h>`)
//! and `linux-libc-dev` (`<linux/bpf.h>`). Set `CLANG` to use another clang
//! binary. No `vmlinux.h` is needed: the few kernel structures the program
//! reads are declared in it with `preserve_access_index` (CO-RE).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    const HINT: &str = "ks-tls-trace compiles bpf/tls.bpf.c with clang: \
                        install clang and libbpf-dev (Debian: apt-get install clang libbpf-dev \
                        linux-libc-dev), or set CLANG=/path/to/clang";
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = dir.join("bpf").join("tls.bpf.c");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("tls.bpf.o");
    println!("cargo:rerun-if-changed={}", dir.join("bpf").display());
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-env-changed=CLANG");
    // Go crypto/tls probes (bpf/go_tls.h): x86-64 only (register ABI).
    let with_go = env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("aarch64") => "arm64",
        _ => "x86",
    };

    // <linux/bpf.h> includes <asm/types.h>, which Debian keeps in the
    // multiarch directory that `-target bpf` does not search.
    let multiarch = match Command::new(&clang).arg("-print-multiarch").output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{clang}` not found: {HINT}")
        }
        Err(e) => panic!("cannot run `{clang}` ({e}): {HINT}"),
    };
    let mut cmd = Command::new(&clang);
    cmd.args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror"]);
    cmd.arg(format!("-D__TARGET_ARCH_{arch}"));
    if with_go {
        cmd.arg("-DKS_WITH_GO");
    }
    if !multiarch.is_empty() {
        cmd.arg(format!("-I/usr/include/{multiarch}"));
    }
    cmd.arg("-c").arg(&src).arg("-o").arg(&out);
    let res = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{clang}` ({e}): {HINT}"));
    if !res.status.success() {
        panic!(
            "compiling {} failed ({}):\n{}\n{HINT}",
            src.display(),
            res.status,
            String::from_utf8_lossy(&res.stderr)
        );
    }
}
