//! Builds the Go test programs of this directory (shared by the `go_*` tests
//! through `#[path]`). The Go toolchain is required: a missing `go` fails
//! the test with instructions instead of skipping it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One build at a time (the machine has few cores; the build cache is shared).
static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// Directory of the Go module (`crates/ks-tls-trace/tests/go`), from any crate
/// of the workspace that includes this file (ks-dissect's tests do too).
pub fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/ks-tls-trace/tests/go")
}

/// Scratch directory for Go's cache and the built programs (kept between runs).
pub fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ks-go-tls");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `go` command, or a failure telling how to get it.
pub fn go_tool() -> PathBuf {
    for cand in std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("go"))
        .chain([
            PathBuf::from("/usr/lib/go/bin/go"),
            PathBuf::from("/usr/local/go/bin/go"),
        ])
    {
        if cand.is_file() {
            return cand;
        }
    }
    panic!(
        "the Go toolchain (`go`) is required by the Go crypto/tls probe tests and was not \
         found in PATH: install it (Debian: apt-get install golang-go, Go >= 1.17). \
         These tests fail rather than skip so that CI cannot pass without them."
    );
}

/// A `go` command with an offline, hermetic environment.
pub fn go_command() -> Command {
    let work = work_dir();
    let mut cmd = Command::new(go_tool());
    cmd.current_dir(module_dir())
        .env("GOCACHE", work.join("gocache"))
        .env("GOPATH", work.join("gopath"))
        .env("GOFLAGS", "-mod=mod -buildvcs=false")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .env("GOARCH", "amd64");
    cmd
}

/// Version of the Go toolchain, e.g. `go1.19.8`.
pub fn go_version() -> String {
    let out = go_command().args(["env", "GOVERSION"]).output().unwrap();
    assert!(out.status.success(), "go env GOVERSION: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Builds `./<package>` (a directory of tests/go) as `<name>` with extra
/// `go build` arguments and environment, once per test process.
pub fn build(package: &str, name: &str, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let mut guard = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = guard.get_or_insert_with(HashMap::new);
    if let Some(p) = built.get(name) {
        return p.clone();
    }
    let out = work_dir().join("bin").join(name);
    let mut cmd = go_command();
    cmd.arg("build")
        .arg("-o")
        .arg(&out)
        .args(args)
        .arg(format!("./{package}"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let res = cmd.output().expect("running go build");
    assert!(
        res.status.success(),
        "go build {package} ({args:?} {env:?}) failed:\n{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    built.insert(name.to_string(), out.clone());
    out
}

/// The HTTPS server, amd64, default build mode.
pub fn https_server() -> PathBuf {
    build("https_server", "https_server", &[], &[])
}

/// The HTTPS client, amd64, default build mode.
pub fn https_client() -> PathBuf {
    build("https_client", "https_client", &[], &[])
}
