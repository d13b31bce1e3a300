//! Compiles the eBPF capture program (`bpf/capture.bpf.c`) with clang into
//! `$OUT_DIR/capture.bpf.o`, which `src/ebpf.rs` embeds. Only with the
//! `ebpf` cargo feature; without it this script does nothing.
//!
//! Needs clang (any version with the BPF target, 14 works) and the headers
//! of Debian's `libbpf-dev` (`<bpf/bpf_helpers.h>`) and `linux-libc-dev`
//! (`<linux/bpf.h>`). Set `CLANG` to use another clang binary.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_EBPF").is_some() {
        build_ebpf();
    }
}

fn build_ebpf() {
    const HINT: &str = "the `ebpf` feature compiles bpf/capture.bpf.c with clang: \
                        install clang and libbpf-dev (Debian: apt-get install clang libbpf-dev \
                        linux-libc-dev), or set CLANG=/path/to/clang";
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = dir.join("bpf").join("capture.bpf.c");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("capture.bpf.o");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());

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
