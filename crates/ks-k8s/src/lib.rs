//! Kubernetes identity for ks endpoints: an address (and port) at a time →
//! pod, namespace, node, workload, service, labels. Pod addresses are reused,
//! so the index keeps who held each address when, and a packet's time picks
//! the holder.
//!
//! ```
//! let snapshot = br#"{"apiVersion": "v1", "kind": "List", "items": [
//!   {"apiVersion": "v1", "kind": "Pod",
//!    "metadata": {"name": "web-7d9f-abcde", "namespace": "shop", "uid": "u1",
//!                 "labels": {"pod-template-hash": "7d9f"},
//!                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f", "controller": true}],
//!                 "creationTimestamp": "2024-05-01T10:00:00Z"},
//!    "spec": {"nodeName": "node-a"},
//!    "status": {"podIP": "10.42.1.7", "startTime": "2024-05-01T10:00:01Z"}}]}"#;
//! let (index, _) = ks_k8s::snapshot::load(snapshot, u64::MAX, Default::default()).unwrap();
//! let t = 1_714_557_600_000_000_000 + 60_000_000_000; // 2024-05-01T10:01:00Z
//! let id = index.resolve("10.42.1.7".parse().unwrap(), 8080, t).unwrap();
//! assert_eq!(id.name, "web"); // the Deployment, from the ReplicaSet's name
//! assert_eq!(id.pod.as_deref(), Some("web-7d9f-abcde"));
//! // Before the pod started, the address was not its.
//! assert!(index.resolve("10.42.1.7".parse().unwrap(), 8080, t - 3_600_000_000_000).is_none());
//! ```
#![forbid(unsafe_code)]

pub mod index;
#[cfg(feature = "live")]
pub mod live;
pub mod record;
mod resolve;
pub mod snapshot;
mod time;

pub use index::{Identity, Index, IndexConfig, IndexStats, Workload};
pub use record::Record;
pub use resolve::Resolve;
pub use time::parse_rfc3339;
