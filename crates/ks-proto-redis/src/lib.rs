//! Redis RESP2/RESP3 streaming dissector implementing the ks parser contract.
#![forbid(unsafe_code)]
