//! Helpers shared by the live tests (tests/live.rs, tests/tls_trace.rs).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A child killed on drop (a failing assertion must not leave it running).
pub struct Running(pub Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `cmd` and waits until a line of its stderr contains `ready`; the
/// rest of stderr is collected and returned by the receiver.
pub fn start_until(mut cmd: Command, ready: &str) -> (Running, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let ready = ready.to_string();
    let (rtx, rrx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut said = false;
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if !said && line.contains(&ready) {
                said = true;
                let _ = rtx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        if !said {
            let _ = rtx.send(());
        }
        let _ = tx.send(all);
    });
    rrx.recv_timeout(Duration::from_secs(30))
        .expect("no ready line in 30 s");
    (Running(Some(child)), rx)
}

pub fn ks() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ks-dissect"))
}

pub fn wait_output(mut r: Running, stderr: mpsc::Receiver<String>) -> (Output, String) {
    let child = r.0.take().unwrap();
    let out = child.wait_with_output().expect("wait");
    let err = stderr
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    (out, err)
}

/// Entries of jsonl output.
pub fn lines(b: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(b)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Whether this runs as root; if not, says "skipped: {why}".
pub fn root(why: &str) -> bool {
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout);
    if !matches!(uid.as_deref(), Ok(b"0\n")) {
        eprintln!("skipped: {why}");
        return false;
    }
    true
}
