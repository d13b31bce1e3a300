//! DIAMETER dissector for ks (in progress).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
