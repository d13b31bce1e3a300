//! HTTP/2 streaming dissector (frames, HPACK, per-stream exchanges) implementing the ks parser contract.
#![forbid(unsafe_code)]
