//! The index: which object held an address when. Pod IPs are reused, so every
//! address keeps a short history of holders with the interval each held it;
//! a packet's time picks the holder.

use crate::record::{Key, OwnerRef, PodRec, Record, SliceRec, SvcRec};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// A workload: the top controller of a pod (`Deployment` for a ReplicaSet's
/// pods, `CronJob` for a Job's), or the pod's direct owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

/// Who an address (and port) was at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// What a person calls it: the workload's name, else the pod's, the
    /// service's or the node's.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The service: the one whose cluster IP this is, or the first whose
    /// endpoints held the pod's address then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Caps on what is remembered (bounded memory).
#[derive(Clone, Copy, Debug)]
pub struct IndexConfig {
    /// Past holders kept per address (the current one aside).
    pub max_history_per_ip: usize,
    /// Objects kept at once, of each kind; past it new ones are not indexed
    /// (counted in [`IndexStats::capped`]).
    pub max_objects: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            max_history_per_ip: 8,
            max_objects: 1_000_000,
        }
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    pub pods: usize,
    pub services: usize,
    pub nodes: usize,
    /// Objects not indexed because a cap was reached.
    pub capped: u64,
    /// Past holders dropped from an address's history by the cap.
    pub history_dropped: u64,
}

/// `[from, until)` in ns; `until` open while the holder still holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    from: u64,
    until: Option<u64>,
}

impl Span {
    fn contains(&self, t: u64) -> bool {
        self.from <= t && self.until.is_none_or(|u| t < u)
    }
}

#[derive(Clone, Debug)]
struct Held<T> {
    span: Span,
    by: T,
}

/// Holders of one address, in order of start.
type History<T> = Vec<Held<T>>;

fn at<T>(h: &History<T>, t: u64) -> Option<&T> {
    // The latest start wins where spans overlap (a new pod took the address
    // before the old one's deletion was seen).
    h.iter().rev().find(|x| x.span.contains(t)).map(|x| &x.by)
}

fn open<T: PartialEq + Clone>(h: &mut History<T>, by: T, from: u64, cap: usize, dropped: &mut u64) {
    if h.iter().any(|x| x.by == by && x.span.until.is_none()) {
        return; // still held by the same one
    }
    // Kept in order of start, whatever order the objects arrive in (a list
    // may give the new pod before the finished one whose address it took).
    let pos = h.partition_point(|x| x.span.from <= from);
    h.insert(
        pos,
        Held {
            span: Span { from, until: None },
            by,
        },
    );
    // A holder lost the address when a later one started with it.
    for i in 0..h.len() {
        if h[i].span.until.is_none() {
            let next = h[i + 1..]
                .iter()
                .find(|x| x.by != h[i].by)
                .map(|x| x.span.from);
            if let Some(next) = next {
                h[i].span.until = Some(next.max(h[i].span.from));
            }
        }
    }
    let closed = h.iter().filter(|x| x.span.until.is_some()).count();
    if closed > cap {
        let mut extra = closed - cap;
        h.retain(|x| {
            if extra > 0 && x.span.until.is_some() {
                extra -= 1;
                *dropped += 1;
                false
            } else {
                true
            }
        });
    }
}

fn close<T: PartialEq>(h: &mut History<T>, by: &T, until: u64) {
    for x in h.iter_mut() {
        if &x.by == by && x.span.until.is_none() {
            x.span.until = Some(until.max(x.span.from));
        }
    }
}

/// A pod's identities already built, one per service it was found in.
type Built = Vec<(Option<Key>, Arc<Identity>)>;

/// Kubernetes objects indexed by address and time.
#[derive(Debug, Default)]
pub struct Index {
    cfg: IndexConfig,
    stats: IndexStats,
    pods: HashMap<String, PodRec>,
    services: HashMap<Key, SvcRec>,
    slices: HashMap<Key, SliceRec>,
    /// (namespace, kind, name) → its controller.
    owners: HashMap<(String, String, String), Option<OwnerRef>>,
    nodes: HashMap<String, Vec<IpAddr>>,
    pod_ips: HashMap<IpAddr, History<String>>,
    service_ips: HashMap<IpAddr, History<Key>>,
    /// Address → services whose EndpointSlices list it, with when.
    endpoint_of: HashMap<IpAddr, History<Key>>,
    node_ips: HashMap<IpAddr, String>,
    /// Pod identities already built, by pod uid and service: resolving is a
    /// lookup, not a dozen string copies, for every entry of a busy pod.
    /// Forgotten when what they were built from changes.
    built: Mutex<HashMap<String, Built>>,
}

impl Index {
    /// An empty index.
    pub fn new(cfg: IndexConfig) -> Self {
        Index {
            cfg,
            ..Index::default()
        }
    }

    /// Counters.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            pods: self.pods.len(),
            services: self.services.len(),
            nodes: self.nodes.len(),
            ..self.stats
        }
    }

    /// An object was seen (listed, added or modified) at `now_ns`. Where the
    /// object says since when it exists (a pod's start, a service's
    /// creation), that time starts its hold on its addresses, so that traffic
    /// captured before the index saw it still resolves.
    pub fn upsert(&mut self, rec: Record, now_ns: u64) {
        self.forget_built(&rec);
        let cap = self.cfg.max_history_per_ip;
        match rec {
            Record::Pod(p) => {
                if !self.pods.contains_key(&p.uid) && self.pods.len() >= self.cfg.max_objects {
                    self.stats.capped += 1;
                    return;
                }
                let from = p.since_ns.unwrap_or(now_ns).min(now_ns);
                if let Some(old) = self.pods.get(&p.uid) {
                    for ip in old.ips.iter().filter(|ip| !p.ips.contains(ip)) {
                        if let Some(h) = self.pod_ips.get_mut(ip) {
                            close(h, &p.uid, now_ns);
                        }
                    }
                }
                if !p.host_network {
                    for ip in &p.ips {
                        let h = self.pod_ips.entry(*ip).or_default();
                        open(h, p.uid.clone(), from, cap, &mut self.stats.history_dropped);
                    }
                }
                self.pods.insert(p.uid.clone(), p);
            }
            Record::Service(s) => {
                if !self.services.contains_key(&s.key)
                    && self.services.len() >= self.cfg.max_objects
                {
                    self.stats.capped += 1;
                    return;
                }
                let from = s.since_ns.unwrap_or(now_ns).min(now_ns);
                for ip in &s.cluster_ips {
                    let h = self.service_ips.entry(*ip).or_default();
                    open(h, s.key.clone(), from, cap, &mut self.stats.history_dropped);
                }
                self.services.insert(s.key.clone(), s);
            }
            Record::Slice(sl) => {
                let svc = (sl.key.0.clone(), sl.service.clone());
                // Membership starts when seen (0 for what the first list
                // holds: it is taken to have held as long as the pod did).
                if let Some(old) = self.slices.get(&sl.key) {
                    for ip in old.addresses.iter().filter(|ip| !sl.addresses.contains(ip)) {
                        if let Some(h) = self.endpoint_of.get_mut(ip) {
                            close(h, &svc, now_ns);
                        }
                    }
                }
                let from = if self.slices.contains_key(&sl.key) {
                    now_ns
                } else {
                    0
                };
                for ip in &sl.addresses {
                    let h = self.endpoint_of.entry(*ip).or_default();
                    if !h.iter().any(|x| x.by == svc && x.span.until.is_none()) {
                        // Several services may list one address: no hand-over.
                        h.push(Held {
                            span: Span { from, until: None },
                            by: svc.clone(),
                        });
                    }
                }
                self.slices.insert(sl.key.clone(), sl);
            }
            Record::Node(n) => {
                for ip in &n.addresses {
                    self.node_ips.insert(*ip, n.name.clone());
                }
                self.nodes.insert(n.name, n.addresses);
            }
            Record::Owner { kind, key, owner } => {
                if self.owners.len() < self.cfg.max_objects {
                    self.owners.insert((key.0, kind, key.1), owner);
                } else {
                    self.stats.capped += 1;
                }
            }
        }
    }

    /// An object was deleted at `now_ns`: its addresses are released then,
    /// and its history stays so that earlier traffic still resolves to it.
    pub fn delete(&mut self, rec: &Record, now_ns: u64) {
        self.forget_built(rec);
        match rec {
            Record::Pod(p) => {
                let ips = self.pods.get(&p.uid).map_or(&p.ips, |old| &old.ips).clone();
                for ip in ips {
                    if let Some(h) = self.pod_ips.get_mut(&ip) {
                        close(h, &p.uid, now_ns);
                    }
                }
                // The record stays while any history names it.
            }
            Record::Service(s) => {
                for ip in &s.cluster_ips {
                    if let Some(h) = self.service_ips.get_mut(ip) {
                        close(h, &s.key, now_ns);
                    }
                }
            }
            Record::Slice(sl) => {
                let svc = (sl.key.0.clone(), sl.service.clone());
                if let Some(old) = self.slices.remove(&sl.key) {
                    for ip in &old.addresses {
                        if let Some(h) = self.endpoint_of.get_mut(ip) {
                            close(h, &svc, now_ns);
                        }
                    }
                }
            }
            Record::Node(n) => {
                self.nodes.remove(&n.name);
                self.node_ips.retain(|_, name| name != &n.name);
            }
            Record::Owner { .. } => {}
        }
    }

    /// Drops the built identities `rec` may change: a pod's own, or all of
    /// them for an owner, service, slice or node.
    fn forget_built(&mut self, rec: &Record) {
        let built = self.built.get_mut().unwrap_or_else(|e| e.into_inner());
        match rec {
            Record::Pod(p) => {
                built.remove(&p.uid);
            }
            _ => built.clear(),
        }
    }

    fn workload(&self, namespace: &str, pod: &PodRec) -> Option<Workload> {
        let mut cur = pod.owner.clone()?;
        // Up the chain (ReplicaSet → Deployment, Job → CronJob), a few steps at most.
        for _ in 0..4 {
            match self
                .owners
                .get(&(namespace.to_string(), cur.kind.clone(), cur.name.clone()))
            {
                Some(Some(up)) => cur = up.clone(),
                Some(None) => break,
                None => {
                    // The ReplicaSet is not known (not watched, or gone):
                    // `<deployment>-<pod-template-hash>` names its Deployment.
                    if cur.kind == "ReplicaSet" {
                        if let Some(hash) = pod.labels.get("pod-template-hash") {
                            if let Some(d) = cur.name.strip_suffix(&format!("-{hash}")) {
                                cur = OwnerRef {
                                    kind: "Deployment".into(),
                                    name: d.to_string(),
                                };
                            }
                        }
                    }
                    break;
                }
            }
        }
        Some(Workload {
            kind: cur.kind,
            name: cur.name,
        })
    }

    /// The service whose EndpointSlices listed the pod's address at `t`
    /// (the first by name if several did).
    fn service_of(&self, p: &PodRec, ip: IpAddr, t: u64) -> Option<&Key> {
        self.endpoint_of.get(&ip).and_then(|h| {
            h.iter()
                .filter(|x| x.span.contains(t) && x.by.0 == p.key.0)
                .map(|x| &x.by)
                .min()
        })
    }

    fn pod_identity(&self, p: &PodRec, service: Option<&Key>) -> Identity {
        let workload = self.workload(&p.key.0, p);
        Identity {
            name: workload
                .as_ref()
                .map_or_else(|| p.key.1.clone(), |w| w.name.clone()),
            namespace: Some(p.key.0.clone()),
            pod: Some(p.key.1.clone()),
            node: p.node.clone(),
            service: service.map(|k| k.1.clone()),
            workload,
            labels: p.labels.clone(),
        }
    }

    /// As [`Index::resolve`], shared: a pod's identity is built once (per
    /// service it is in) and handed out again until something it was built
    /// from changes. What the engine calls for every entry.
    pub fn resolve_shared(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>> {
        let Some((uid, p)) = self
            .pod_ips
            .get(&ip)
            .and_then(|h| at(h, t_ns))
            .and_then(|uid| Some((uid, self.pods.get(uid)?)))
        else {
            return self.resolve(ip, port, t_ns).map(Arc::new);
        };
        let service = self.service_of(p, ip, t_ns);
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = built
            .get(uid)
            .and_then(|v| v.iter().find(|(k, _)| k.as_ref() == service))
        {
            return Some(id.1.clone());
        }
        let id = Arc::new(self.pod_identity(p, service));
        // Bounded: at most a few per pod in practice; start over past that.
        if built.len() >= self.pods.len().saturating_mul(2).max(1024) {
            built.clear();
        }
        built
            .entry(uid.clone())
            .or_default()
            .push((service.cloned(), id.clone()));
        Some(id)
    }

    /// Who `ip` (and `port`, which tells apart the hostNetwork pods of a node
    /// and its NodePorts) was at `t_ns`.
    pub fn resolve(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Identity> {
        if let Some(uid) = self.pod_ips.get(&ip).and_then(|h| at(h, t_ns)) {
            if let Some(p) = self.pods.get(uid) {
                return Some(self.pod_identity(p, self.service_of(p, ip, t_ns)));
            }
        }
        if let Some(key) = self.service_ips.get(&ip).and_then(|h| at(h, t_ns)) {
            return Some(Identity {
                name: key.1.clone(),
                namespace: Some(key.0.clone()),
                service: Some(key.1.clone()),
                ..Identity::default()
            });
        }
        let node = self.node_ips.get(&ip)?;
        // A hostNetwork pod on that node listening on the port.
        if let Some(p) = self.pods.values().find(|p| {
            p.host_network
                && p.node.as_deref() == Some(node)
                && p.ports.contains(&port)
                && p.since_ns.is_none_or(|s| s <= t_ns)
        }) {
            let mut id = self.pod_identity(p, self.service_of(p, ip, t_ns));
            id.node = Some(node.clone());
            return Some(id);
        }
        // A NodePort.
        if let Some(s) = self
            .services
            .values()
            .find(|s| s.node_ports.contains(&port))
        {
            return Some(Identity {
                name: s.key.1.clone(),
                namespace: Some(s.key.0.clone()),
                service: Some(s.key.1.clone()),
                node: Some(node.clone()),
                ..Identity::default()
            });
        }
        Some(Identity {
            name: node.clone(),
            node: Some(node.clone()),
            ..Identity::default()
        })
    }
}
