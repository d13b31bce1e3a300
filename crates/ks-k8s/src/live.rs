//! Live identity: kube watchers on the kinds identity needs feed the index
//! while the capture runs. A watch that drops is retried with back-off (the
//! watcher relists; objects missing from the relist are taken as deleted).
//! EndpointSlices are watched as `DynamicObject`s in whichever of
//! `discovery.k8s.io/v1` and `v1beta1` the server serves (1.20 has only
//! v1beta1, and no current k8s-openapi types it).

use crate::index::{Identity, Index, IndexConfig};
use crate::record::Record;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// ns since the epoch, now.
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// An index kept up to date by watchers; cheap to clone, resolve from any thread.
#[derive(Clone, Debug)]
pub struct LiveIndex {
    index: Arc<RwLock<Index>>,
    ready: Arc<std::sync::atomic::AtomicUsize>,
}

/// The kinds watched.
const KINDS: usize = 6;

impl LiveIndex {
    /// Who `ip`:`port` was at `t_ns`, as far as the watchers have told.
    pub fn resolve(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Identity> {
        self.index.read().ok()?.resolve(ip, port, t_ns)
    }

    /// As [`LiveIndex::resolve`], shared (see [`Index::resolve_shared`]).
    pub fn resolve_shared(&self, ip: IpAddr, port: u16, t_ns: u64) -> Option<Arc<Identity>> {
        self.index.read().ok()?.resolve_shared(ip, port, t_ns)
    }

    /// Every watched kind has been listed once.
    pub fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire) >= KINDS
    }

    /// The index's counters.
    pub fn stats(&self) -> crate::IndexStats {
        self.index.read().map(|i| i.stats()).unwrap_or_default()
    }
}

/// Applies one kind's watch events to the index. Objects present before a
/// relist and absent from it are deleted when the relist ends.
async fn feed<K>(
    kind: &'static str,
    stream: impl futures::Stream<Item = Result<Event<K>, watcher::Error>>,
    index: Arc<RwLock<Index>>,
    ready: Arc<std::sync::atomic::AtomicUsize>,
) where
    K: Serialize,
{
    let mut stream = std::pin::pin!(stream);
    // Records by object key, to delete those a relist no longer has.
    let mut known: HashMap<String, Record> = HashMap::new();
    let mut relisted: Option<HashSet<String>> = None;
    let mut first_done = false;
    while let Some(ev) = stream.next().await {
        let Ok(ev) = ev else {
            continue; // the watcher retries by itself (back-off)
        };
        let record = |obj: &K| {
            let mut v = serde_json::to_value(obj).ok()?;
            // List items come without `kind` (typed objects put it back, a
            // DynamicObject does not).
            if v.get("kind").and_then(serde_json::Value::as_str).is_none() {
                v["kind"] = serde_json::Value::from(kind);
            }
            let r = Record::from_json(&v)?;
            let id = format!(
                "{}/{}/{}",
                v["kind"].as_str().unwrap_or(""),
                v["metadata"]["namespace"].as_str().unwrap_or(""),
                v["metadata"]["name"].as_str().unwrap_or("")
            );
            Some((id, r))
        };
        let now = now_ns();
        match ev {
            Event::Init => relisted = Some(HashSet::new()),
            Event::InitApply(obj) | Event::Apply(obj) => {
                if let Some((id, r)) = record(&obj) {
                    if let Some(seen) = relisted.as_mut() {
                        seen.insert(id.clone());
                    }
                    if let Ok(mut ix) = index.write() {
                        ix.upsert(r.clone(), now);
                    }
                    known.insert(id, r);
                }
            }
            Event::Delete(obj) => {
                if let Some((id, r)) = record(&obj) {
                    if let Ok(mut ix) = index.write() {
                        ix.delete(&r, now);
                    }
                    known.remove(&id);
                }
            }
            Event::InitDone => {
                if let Some(seen) = relisted.take() {
                    let gone: Vec<String> = known
                        .keys()
                        .filter(|k| !seen.contains(*k))
                        .cloned()
                        .collect();
                    if let Ok(mut ix) = index.write() {
                        for id in gone {
                            if let Some(r) = known.remove(&id) {
                                ix.delete(&r, now);
                            }
                        }
                    }
                }
                if !first_done {
                    first_done = true;
                    ready.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                }
            }
        }
    }
}

/// Which EndpointSlice version the server serves (v1 first).
async fn endpoint_slice_resource(client: &Client) -> ApiResource {
    for version in ["v1", "v1beta1"] {
        let gvk = GroupVersionKind::gvk("discovery.k8s.io", version, "EndpointSlice");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "endpointslices");
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        if api
            .list(&kube::api::ListParams::default().limit(1))
            .await
            .is_ok()
        {
            return ar;
        }
    }
    let gvk = GroupVersionKind::gvk("discovery.k8s.io", "v1", "EndpointSlice");
    ApiResource::from_gvk_with_plural(&gvk, "endpointslices")
}

/// Starts watching with `client` (on the current tokio runtime) and returns
/// the index they keep.
pub async fn watch(client: Client, cfg: IndexConfig) -> LiveIndex {
    let index = Arc::new(RwLock::new(Index::new(cfg)));
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let wc = watcher::Config::default;
    macro_rules! typed {
        ($k:ty, $name:literal) => {{
            let api: Api<$k> = Api::all(client.clone());
            let s = watcher::watcher(api, wc()).default_backoff();
            tokio::spawn(feed($name, s, index.clone(), ready.clone()));
        }};
    }
    typed!(Pod, "Pod");
    typed!(Service, "Service");
    typed!(Node, "Node");
    typed!(ReplicaSet, "ReplicaSet");
    typed!(Job, "Job");
    let ar = endpoint_slice_resource(&client).await;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let s = watcher::watcher(api, wc()).default_backoff();
    tokio::spawn(feed("EndpointSlice", s, index.clone(), ready.clone()));
    LiveIndex { index, ready }
}

/// For synchronous callers (`ks-dissect`): a runtime on a thread of its own
/// that connects with the kubeconfig at `path` (or the default one) and keeps
/// the index. Waits up to `wait` for the first list of every kind.
pub fn watch_blocking(
    kubeconfig: Option<&std::path::Path>,
    cfg: IndexConfig,
    wait: std::time::Duration,
) -> Result<LiveIndex, String> {
    let path = kubeconfig.map(|p| p.to_path_buf());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("ks-k8s".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let config: Result<kube::Config, String> = match path {
                    Some(p) => match kube::config::Kubeconfig::read_from(&p) {
                        Ok(kc) => kube::Config::from_custom_kubeconfig(kc, &Default::default())
                            .await
                            .map_err(|e| format!("{}: {e}", p.display())),
                        Err(e) => Err(format!("{}: {e}", p.display())),
                    },
                    None => kube::Config::infer().await.map_err(|e| e.to_string()),
                };
                let client =
                    match config.and_then(|c| Client::try_from(c).map_err(|e| e.to_string())) {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                let live = watch(client, cfg).await;
                let _ = tx.send(Ok(live));
                std::future::pending::<()>().await;
            });
        })
        .map_err(|e| e.to_string())?;
    let live = rx.recv().map_err(|e| e.to_string())??;
    let until = std::time::Instant::now() + wait;
    while !live.ready() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(live)
}
