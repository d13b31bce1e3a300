//! Kafka wire-protocol streaming dissector implementing the ks parser contract.
#![forbid(unsafe_code)]
