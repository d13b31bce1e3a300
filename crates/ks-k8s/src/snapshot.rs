//! Offline identity: what `kubectl get pods,services,endpointslices,nodes,
//! replicasets,deployments -A -o json` prints (a `v1 List`), so that a
//! capture taken in a cluster can be labelled later, elsewhere.

use crate::index::{Index, IndexConfig};
use crate::record::Record;
use serde_json::Value;
use std::fmt;

/// Why a snapshot could not be read.
#[derive(Debug)]
pub struct SnapshotError(String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SnapshotError {}

/// What a snapshot held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Items in the list.
    pub items: usize,
    /// Items indexed (the others are kinds identity does not use, or
    /// malformed).
    pub indexed: usize,
}

/// Reads a snapshot: a `List` (or one object, or several lists one after the
/// other, as `kubectl get a -o json; kubectl get b -o json` would write).
/// Objects count from their own timestamps (a pod from its start); the
/// snapshot's own time is `taken_ns` (e.g. the file's modification time):
/// nothing in it is taken to hold an address after it unless nothing else
/// claims that address.
pub fn load(
    bytes: &[u8],
    taken_ns: u64,
    cfg: IndexConfig,
) -> Result<(Index, SnapshotSummary), SnapshotError> {
    let mut index = Index::new(cfg);
    let mut summary = SnapshotSummary::default();
    let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut any = false;
    for doc in stream {
        let doc = doc.map_err(|e| SnapshotError(format!("not a kubectl JSON snapshot: {e}")))?;
        any = true;
        let items: Vec<&Value> = match doc.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![&doc],
        };
        // Owners and nodes first, so that pods find them whatever the order.
        let mut records: Vec<Record> = items.iter().filter_map(|i| Record::from_json(i)).collect();
        summary.items += items.len();
        summary.indexed += records.len();
        records.sort_by_key(|r| match r {
            Record::Owner { .. } | Record::Node(_) => 0,
            Record::Service(_) | Record::Pod(_) => 1,
            Record::Slice(_) => 2,
        });
        for r in records {
            index.upsert(r, taken_ns);
        }
    }
    if !any {
        return Err(SnapshotError("empty snapshot".into()));
    }
    Ok((index, summary))
}
