//! Header maps whose keys match in any case (`request.headers["User-Agent"]`
//! and `request.headers["user-agent"]` are the same field, as in HTTP). A
//! cel-rust map with lower-case keys, and lookups lower-cased on the way in.

use cel::common::traits::{Container, Indexer, Iterable, Iterator, Sizer};
use cel::common::types::{CelInt, CelMap, CelString, Type, MAP_TYPE};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;

#[derive(Debug, Clone)]
pub(crate) struct Headers<'v>(pub(crate) CelMap<'v>);

/// A string key lower-cased (other keys as they are: the map's own lookup
/// reports them).
fn lower(key: &dyn Val) -> Option<CelString<'static>> {
    let s = key.downcast_ref::<CelString>()?;
    let s: &str = s.inner();
    s.bytes()
        .any(|b| b.is_ascii_uppercase())
        .then(|| CelString::from(s.to_ascii_lowercase()))
}

impl Val for Headers<'_> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn equals(&self, other: &dyn Val) -> bool {
        match other.downcast_ref::<CelMap>() {
            Some(_) => self.0.equals(other),
            None => false,
        }
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }
}

impl Container for Headers<'_> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        match lower(key) {
            Some(k) => self.0.contains(&k),
            None => self.0.contains(key),
        }
    }
}

impl<'v> Indexer for Headers<'v> {
    fn get<'b, 'w>(&'b self, key: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        match lower(key) {
            Some(k) => self.0.get(&k),
            None => self.0.get(key),
        }
    }

    fn steal<'w>(self: Box<Self>, key: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let map = Box::new(self.0);
        match lower(key) {
            Some(k) => map.steal(&k),
            None => map.steal(key),
        }
    }
}

impl Iterable for Headers<'_> {
    fn iter<'b, 'w>(&'b self) -> Box<dyn Iterator<'b, 'w> + 'b>
    where
        Self: 'w,
    {
        self.0.iter()
    }
}

impl Sizer for Headers<'_> {
    fn size(&self) -> CelInt {
        self.0.size()
    }
}
