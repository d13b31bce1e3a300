//! The few fields of each Kubernetes kind that identity needs, read from the
//! object's JSON — the same for a `kubectl get -o json` snapshot, a typed
//! object from the API (serialised back) and a `DynamicObject` (EndpointSlice
//! `discovery.k8s.io/v1beta1` on old servers, which no current k8s-openapi
//! types). Anything missing or malformed makes the object `None`, never a
//! panic.

use crate::time::parse_rfc3339;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// `(namespace, name)`; namespace empty for cluster-scoped kinds (Node).
pub type Key = (String, String);

/// The owner that gives a workload its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OwnerRef {
    /// `ReplicaSet`, `Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob`, ...
    pub kind: String,
    /// Its name (same namespace as the owned object).
    pub name: String,
}

/// A pod: where it ran and which addresses it had.
#[derive(Clone, Debug, PartialEq)]
pub struct PodRec {
    pub uid: String,
    pub key: Key,
    pub node: Option<String>,
    /// `status.podIPs` (or `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// Shares its node's addresses: told apart by port.
    pub host_network: bool,
    /// Container ports it declares (for hostNetwork pods).
    pub ports: Vec<u16>,
    pub labels: BTreeMap<String, String>,
    /// The controlling owner (`ownerReferences[controller=true]`).
    pub owner: Option<OwnerRef>,
    /// When the pod existed from: `status.startTime`, else `creationTimestamp` (ns).
    pub since_ns: Option<u64>,
    /// Finished (`Succeeded`/`Failed`): its IP may already serve another pod.
    pub finished: bool,
}

/// A service: its cluster IPs and node ports.
#[derive(Clone, Debug, PartialEq)]
pub struct SvcRec {
    pub key: Key,
    pub cluster_ips: Vec<IpAddr>,
    pub node_ports: Vec<u16>,
    pub since_ns: Option<u64>,
}

/// An EndpointSlice: the addresses serving a service (v1 or v1beta1).
#[derive(Clone, Debug, PartialEq)]
pub struct SliceRec {
    pub key: Key,
    /// `kubernetes.io/service-name` label.
    pub service: String,
    pub addresses: Vec<IpAddr>,
}

/// A node and its addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRec {
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

/// One object identity cares about.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Pod(PodRec),
    Service(SvcRec),
    Slice(SliceRec),
    Node(NodeRec),
    /// A ReplicaSet, Job or other owned controller: who owns it in turn.
    Owner {
        kind: String,
        key: Key,
        owner: Option<OwnerRef>,
    },
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

fn key(obj: &Value) -> Option<Key> {
    Some((
        s(obj, &["metadata", "namespace"]).unwrap_or("").to_string(),
        s(obj, &["metadata", "name"])?.to_string(),
    ))
}

fn controller(obj: &Value) -> Option<OwnerRef> {
    obj.get("metadata")?
        .get("ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|o| {
            Some(OwnerRef {
                kind: s(o, &["kind"])?.to_string(),
                name: s(o, &["name"])?.to_string(),
            })
        })
}

fn ips(list: Option<&Value>, field: Option<&str>) -> Vec<IpAddr> {
    let Some(arr) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|v| match field {
            Some(f) => v.get(f)?.as_str(),
            None => v.as_str(),
        })
        .filter_map(|t| t.parse().ok())
        .collect()
}

fn time(obj: &Value, path: &[&str]) -> Option<u64> {
    parse_rfc3339(s(obj, path)?)
}

impl Record {
    /// The record for one object, by its `kind` (and `apiVersion` where the
    /// shape depends on it); `None` for kinds identity does not use.
    pub fn from_json(obj: &Value) -> Option<Record> {
        let kind = s(obj, &["kind"])?;
        let key = key(obj)?;
        let since = || {
            time(obj, &["status", "startTime"])
                .or_else(|| time(obj, &["metadata", "creationTimestamp"]))
        };
        Some(match kind {
            "Pod" => {
                let status = obj.get("status");
                let mut pod_ips = ips(status.and_then(|s| s.get("podIPs")), Some("ip"));
                if pod_ips.is_empty() {
                    pod_ips.extend(
                        status
                            .and_then(|s| s.get("podIP"))
                            .and_then(Value::as_str)
                            .and_then(|t| t.parse::<IpAddr>().ok()),
                    );
                }
                let spec = obj.get("spec");
                let ports = spec
                    .and_then(|s| s.get("containers"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("ports")?.as_array())
                    .flatten()
                    .filter_map(|p| {
                        let n = p.get("hostPort").or_else(|| p.get("containerPort"))?;
                        u16::try_from(n.as_u64()?).ok()
                    })
                    .collect();
                let labels = obj
                    .get("metadata")
                    .and_then(|m| m.get("labels"))
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let phase = s(obj, &["status", "phase"]).unwrap_or("");
                Record::Pod(PodRec {
                    uid: s(obj, &["metadata", "uid"]).unwrap_or("").to_string(),
                    key,
                    node: s(obj, &["spec", "nodeName"]).map(str::to_string),
                    ips: pod_ips,
                    host_network: spec
                        .and_then(|s| s.get("hostNetwork"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    ports,
                    labels,
                    owner: controller(obj),
                    since_ns: since(),
                    finished: matches!(phase, "Succeeded" | "Failed"),
                })
            }
            "Service" => {
                let spec = obj.get("spec");
                let mut cluster_ips = ips(spec.and_then(|s| s.get("clusterIPs")), None);
                if cluster_ips.is_empty() {
                    cluster_ips.extend(
                        spec.and_then(|s| s.get("clusterIP"))
                            .and_then(Value::as_str)
                            .and_then(|t| t.parse::<IpAddr>().ok()),
                    );
                }
                let node_ports = spec
                    .and_then(|s| s.get("ports"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| u16::try_from(p.get("nodePort")?.as_u64()?).ok())
                    .collect();
                Record::Service(SvcRec {
                    key,
                    cluster_ips,
                    node_ports,
                    since_ns: time(obj, &["metadata", "creationTimestamp"]),
                })
            }
            "EndpointSlice" => {
                let service = s(obj, &["metadata", "labels", "kubernetes.io/service-name"])?;
                let addresses = obj
                    .get("endpoints")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(|e| ips(e.get("addresses"), None))
                    .collect();
                Record::Slice(SliceRec {
                    key,
                    service: service.to_string(),
                    addresses,
                })
            }
            "Node" => Record::Node(NodeRec {
                name: key.1,
                addresses: ips(
                    obj.get("status").and_then(|s| s.get("addresses")),
                    Some("address"),
                ),
            }),
            "ReplicaSet" | "Job" | "StatefulSet" | "DaemonSet" | "Deployment" | "CronJob" => {
                Record::Owner {
                    kind: kind.to_string(),
                    key,
                    owner: controller(obj),
                }
            }
            _ => return None,
        })
    }
}
