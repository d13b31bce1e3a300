//! The one question the engine asks: who was this address at that time.
//! Implemented by the offline [`Index`](crate::Index) and the live
//! [`LiveIndex`](crate::live::LiveIndex), so the engine labels entries the
//! same way from a snapshot or from an API server.

use crate::Identity;
use std::net::IpAddr;
use std::sync::Arc;

/// Resolves an address and port at a time (ns since the Unix epoch).
pub trait Resolve: Send + Sync {
    /// Who `ip`:`port` was at `t_ns`, if known.
    fn resolve_at(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>>;
}

impl Resolve for crate::Index {
    fn resolve_at(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>> {
        self.resolve_shared(ip, port, t_ns)
    }
}

#[cfg(feature = "live")]
impl Resolve for crate::live::LiveIndex {
    fn resolve_at(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>> {
        self.resolve_shared(ip, port, t_ns)
    }
}

impl<R: Resolve + ?Sized> Resolve for Arc<R> {
    fn resolve_at(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>> {
        (**self).resolve_at(ip, port, t_ns)
    }
}
