//! Go crypto/tls: where to probe (skeleton).
