//! AMQP 0-9-1 streaming dissector implementing the ks parser contract.
#![forbid(unsafe_code)]
