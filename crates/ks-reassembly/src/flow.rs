//! Flow table: canonical keys, per-transport stream numbering, O(1) idle order.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::Side;

/// Canonical flow key (both directions map to the same key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    transport: u8,
    vlan: u16,
    lo: SocketAddr,
    hi: SocketAddr,
}

/// Drops IPv6 flow info and scope id, which vary per packet and are not part
/// of a connection's identity.
#[inline]
fn plain(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip(), a.port())
}

#[inline]
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.ip() == b.ip() && a.port() == b.port()
}

impl FlowKey {
    /// Key of a packet from `src` to `dst`; the reverse direction gives the same key.
    pub fn new(transport: u8, src: SocketAddr, dst: SocketAddr, vlan: u16) -> FlowKey {
        let (s, d) = (plain(src), plain(dst));
        let (lo, hi) = if s <= d { (s, d) } else { (d, s) };
        FlowKey {
            transport,
            vlan,
            lo,
            hi,
        }
    }

    /// Transport protocol number (6 = TCP, 17 = UDP, ...).
    pub fn transport(&self) -> u8 {
        self.transport
    }

    /// VLAN id (0 = none).
    pub fn vlan(&self) -> u16 {
        self.vlan
    }

    /// The two endpoints in canonical (sorted) order.
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        (self.lo, self.hi)
    }
}

/// Slot index of a flow; reused after removal.
pub type FlowId = u32;

/// One flow and the caller's per-flow state.
#[derive(Debug)]
pub struct Flow<V> {
    /// Canonical key.
    pub key: FlowKey,
    /// Per-transport number in order of creation, like tshark `tcp.stream` / `udp.stream`.
    pub stream: u64,
    /// Endpoint of side A (sender of the first packet seen).
    pub a: SocketAddr,
    /// Endpoint of side B.
    pub b: SocketAddr,
    /// Timestamp of the packet that created the flow.
    pub first_ts_ns: u64,
    /// Latest activity.
    pub last_ts_ns: u64,
    /// Caller's state.
    pub value: V,
}

impl<V> Flow<V> {
    /// Side of a packet sent from `src`.
    pub fn side_of(&self, src: SocketAddr) -> Side {
        if same_endpoint(src, self.a) {
            Side::A
        } else {
            Side::B
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    flow: Option<Flow<V>>,
    /// Towards the oldest.
    prev: u32,
    /// Towards the youngest.
    next: u32,
    /// Global creation order, for `drain_all`.
    created: u64,
}

/// Flows indexed by key, with an intrusive idle list (oldest first) over a slab.
#[derive(Debug)]
pub struct FlowTable<V> {
    slots: Vec<Slot<V>>,
    free: Vec<u32>,
    map: HashMap<FlowKey, FlowId, ahash::RandomState>,
    oldest: u32,
    youngest: u32,
    len: usize,
    max_flows: usize,
    streams: Vec<u64>,
    created: u64,
}

impl<V> FlowTable<V> {
    /// An empty table holding at most `max_flows` flows.
    pub fn new(max_flows: usize) -> Self {
        FlowTable {
            slots: Vec::new(),
            free: Vec::new(),
            map: HashMap::with_hasher(ahash::RandomState::new()),
            oldest: NIL,
            youngest: NIL,
            len: 0,
            max_flows,
            streams: vec![0; 256],
            created: 0,
        }
    }

    /// The live flow with this key.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<FlowId> {
        self.map.get(key).copied()
    }

    /// Creates a flow numbered with the next stream number of `key`'s
    /// transport; `src` (the packet's sender) becomes side A. Err(value) when
    /// the table is full (caller evicts then retries, or drops).
    ///
    /// Inserting a key that is already present creates a second flow that
    /// takes over the key; the first stays reachable by its id until removed.
    pub fn insert(
        &mut self,
        key: FlowKey,
        src: SocketAddr,
        dst: SocketAddr,
        ts_ns: u64,
        value: V,
    ) -> Result<FlowId, V> {
        if self.len >= self.max_flows {
            return Err(value);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                if self.slots.len() >= NIL as usize {
                    return Err(value);
                }
                self.slots.push(Slot {
                    flow: None,
                    prev: NIL,
                    next: NIL,
                    created: 0,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let counter = &mut self.streams[usize::from(key.transport)];
        let stream = *counter;
        *counter += 1;
        let created = self.created;
        self.created += 1;
        let slot = &mut self.slots[id as usize];
        slot.flow = Some(Flow {
            key,
            stream,
            a: src,
            b: dst,
            first_ts_ns: ts_ns,
            last_ts_ns: ts_ns,
            value,
        });
        slot.created = created;
        self.link_young(id);
        self.map.insert(key, id);
        self.len += 1;
        Ok(id)
    }

    /// The flow in slot `id`, if live.
    #[inline]
    pub fn get(&self, id: FlowId) -> Option<&Flow<V>> {
        self.slots.get(id as usize)?.flow.as_ref()
    }

    /// The flow in slot `id`, if live.
    #[inline]
    pub fn get_mut(&mut self, id: FlowId) -> Option<&mut Flow<V>> {
        self.slots.get_mut(id as usize)?.flow.as_mut()
    }

    /// Mark activity (updates last_ts_ns and moves the flow to the young end
    /// of the idle order); O(1). Timestamps never move backwards, so a capture
    /// with slightly unordered packets cannot make a flow look older.
    pub fn touch(&mut self, id: FlowId, ts_ns: u64) {
        let Some(flow) = self.get_mut(id) else {
            return;
        };
        flow.last_ts_ns = flow.last_ts_ns.max(ts_ns);
        if self.youngest != id {
            self.unlink(id);
            self.link_young(id);
        }
    }

    /// Removes the flow in slot `id`; its id may be reused by a later insert.
    pub fn remove(&mut self, id: FlowId) -> Option<Flow<V>> {
        let flow = self.slots.get_mut(id as usize)?.flow.take()?;
        self.unlink(id);
        // The key may have been taken over by a newer flow.
        if self.map.get(&flow.key) == Some(&id) {
            self.map.remove(&flow.key);
        }
        self.free.push(id);
        self.len -= 1;
        Some(flow)
    }

    /// The least recently touched flow (for eviction under a cap).
    #[inline]
    pub fn oldest(&self) -> Option<FlowId> {
        (self.oldest != NIL).then_some(self.oldest)
    }

    /// Remove and hand over every flow idle since before `now_ns - idle_ns`,
    /// oldest first; O(expired). Stops at the first flow still active, since
    /// everything after it in the idle order was touched later.
    pub fn expire(&mut self, now_ns: u64, idle_ns: u64, mut f: impl FnMut(Flow<V>)) {
        let cutoff = now_ns.saturating_sub(idle_ns);
        while let Some(id) = self.oldest() {
            match self.get(id) {
                Some(flow) if flow.last_ts_ns < cutoff => {}
                _ => break,
            }
            match self.remove(id) {
                Some(flow) => f(flow),
                None => break,
            }
        }
    }

    /// Remove all flows, in stream-creation order (tcp/udp interleaved by creation).
    pub fn drain_all(&mut self, mut f: impl FnMut(Flow<V>)) {
        let mut ids: Vec<(u64, FlowId)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.flow.is_some())
            .map(|(i, s)| (s.created, i as FlowId))
            .collect();
        ids.sort_unstable();
        for (_, id) in ids {
            if let Some(flow) = self.remove(id) {
                f(flow);
            }
        }
    }

    /// Live flows.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No live flows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flows ever created for `transport` (the next stream number).
    pub fn streams_created(&self, transport: u8) -> u64 {
        self.streams[usize::from(transport)]
    }

    fn link_young(&mut self, id: u32) {
        let old_young = self.youngest;
        {
            let s = &mut self.slots[id as usize];
            s.prev = old_young;
            s.next = NIL;
        }
        if old_young == NIL {
            self.oldest = id;
        } else {
            self.slots[old_young as usize].next = id;
        }
        self.youngest = id;
    }

    fn unlink(&mut self, id: u32) {
        let (prev, next) = {
            let s = &self.slots[id as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.oldest = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.youngest = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[id as usize];
        s.prev = NIL;
        s.next = NIL;
    }
}
