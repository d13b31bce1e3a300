//! TLS plaintext through eBPF uprobes (skeleton; see docs/tls.md).
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod go;
