//! IPv4/IPv6 fragment reassembly with bounded memory.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::IpPacket;

/// Limits of a [`Defragmenter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams in reassembly at once; the oldest is evicted beyond this.
    pub max_datagrams: usize,
    /// Total bytes buffered across all datagrams; oldest are evicted beyond this.
    pub max_bytes: usize,
    /// Largest reassembled payload accepted (IPv4 max is 65535 - 20).
    pub max_datagram_size: usize,
    /// Datagrams older than this (since their first fragment) are dropped by
    /// [`Defragmenter::expire`].
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        Self {
            max_datagrams: 1024,
            max_bytes: 16 << 20,
            max_datagram_size: 65535,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Event counters of a [`Defragmenter`].
#[derive(Debug, Default, Clone, Copy)]
pub struct DefragCounters {
    /// Fragments fed to [`Defragmenter::push`].
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped by [`Defragmenter::expire`].
    pub timed_out: u64,
    /// Datagrams evicted to respect `max_datagrams` / `max_bytes`.
    pub evicted_over_cap: u64,
    /// Fragments that overlapped data already held or contradicted the known
    /// end of the datagram (the earlier data wins).
    pub overlaps: u64,
    /// Fragments that would grow a datagram past `max_datagram_size` or
    /// `max_bytes`, or fragment it into too many pieces; the datagram is dropped.
    pub too_large: u64,
    /// Fragments cut by snaplen; their datagram can never complete and is dropped.
    pub truncated_fragments: u64,
}

/// A reassembled datagram.
#[derive(Debug, Clone)]
pub struct Reassembled {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol.
    pub protocol: u8,
    /// The whole transport payload (transport header included).
    pub payload: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

/// Disjoint islands of data a datagram may have before we give up on it; real
/// fragment trains have a handful, only adversarial input has hundreds.
const MAX_ISLANDS: usize = 64;

struct Entry {
    first_ts: u64,
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent received byte ranges.
    ranges: Vec<(u32, u32)>,
    total: Option<u32>,
    /// Cannot complete any more (a fragment was truncated or too large); kept
    /// as a marker so later fragments of it are not buffered in vain.
    dead: bool,
}

impl Entry {
    fn cost(&self) -> usize {
        self.buf.capacity() + self.ranges.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}

/// IPv4/IPv6 fragment reassembly with bounded memory and a timeout.
///
/// Datagrams are keyed by (src, dst, protocol, id). Overlapping fragments:
/// the first data received wins, later bytes for the same range are ignored
/// and counted in [`DefragCounters::overlaps`].
pub struct Defragmenter {
    cfg: DefragConfig,
    map: HashMap<Key, Entry>,
    buffered: usize,
    counters: DefragCounters,
}

impl Defragmenter {
    /// Create an empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Self {
        Self {
            cfg,
            map: HashMap::new(),
            buffered: 0,
            counters: DefragCounters::default(),
        }
    }

    /// Feed a fragment (`ip.fragment` is Some). Returns the whole datagram
    /// when this fragment completes it. Non-fragments are ignored.
    pub fn push(&mut self, ip: &IpPacket<'_>, ts_ns: u64) -> Option<Reassembled> {
        let frag = ip.fragment?;
        self.counters.fragments += 1;
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            protocol: ip.protocol,
            id: frag.id,
        };
        if (ip.payload.len() as u64) < u64::from(ip.payload_len) {
            self.counters.truncated_fragments += 1;
            self.kill(key, ts_ns);
            return None;
        }
        let data = &ip.payload[..ip.payload.len().min(ip.payload_len as usize)];
        let start = u64::from(frag.offset);
        let end = start + data.len() as u64;
        if end > self.cfg.max_datagram_size as u64
            || end > self.cfg.max_bytes as u64
            || end > u64::from(u32::MAX)
        {
            self.counters.too_large += 1;
            self.kill(key, ts_ns);
            return None;
        }
        // Checked against u32::MAX above (IpPacket fields are public, so a
        // caller could hand us any offset).
        let (start, end) = (start as u32, end as u32);

        self.ensure_entry(key, ts_ns);
        let entry = self.map.get_mut(&key)?;
        if entry.dead {
            return None;
        }
        let max_end = entry.ranges.last().map_or(0, |r| r.1);
        if frag.more {
            if entry.total.is_some_and(|t| end > t) {
                self.counters.overlaps += 1;
                return None;
            }
        } else {
            match entry.total {
                Some(t) if t != end => {
                    self.counters.overlaps += 1;
                    return None;
                }
                None if max_end > end => {
                    self.counters.overlaps += 1;
                    return None;
                }
                _ => entry.total = Some(end),
            }
        }
        if start == end {
            return self.try_complete(key);
        }

        let needed = end as usize;
        let grow = needed.saturating_sub(entry.buf.capacity());
        if grow > 0 {
            while self.buffered + grow > self.cfg.max_bytes {
                if !self.evict_oldest(Some(key)) {
                    self.counters.too_large += 1;
                    self.kill(key, ts_ns);
                    return None;
                }
            }
        }
        let entry = self.map.get_mut(&key)?;
        let before = entry.cost();
        if needed > entry.buf.len() {
            entry.buf.reserve_exact(needed - entry.buf.len());
            entry.buf.resize(needed, 0);
        }

        // First wins: copy only the holes of [start, end).
        let mut cur = start;
        let mut overlapped = false;
        for &(s, e) in &entry.ranges {
            if e <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            overlapped = true;
            if s > cur {
                let (a, b) = (cur as usize, s as usize);
                entry.buf[a..b].copy_from_slice(&data[a - start as usize..b - start as usize]);
            }
            cur = cur.max(e);
        }
        if cur < end {
            let (a, b) = (cur as usize, end as usize);
            entry.buf[a..b].copy_from_slice(&data[a - start as usize..]);
        }
        if overlapped {
            self.counters.overlaps += 1;
        }
        insert_range(&mut entry.ranges, (start, end));
        let after = entry.cost();
        self.buffered = self.buffered - before + after;
        if entry.ranges.len() > MAX_ISLANDS {
            self.counters.too_large += 1;
            self.kill(key, ts_ns);
            return None;
        }
        // Growing the range list may have pushed us over; evict others.
        while self.buffered > self.cfg.max_bytes {
            if !self.evict_oldest(Some(key)) {
                self.counters.too_large += 1;
                self.kill(key, ts_ns);
                return None;
            }
        }
        self.try_complete(key)
    }

    /// Drop datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now_ns: u64) {
        let timeout = self.cfg.timeout_ns;
        let mut freed = 0usize;
        let mut timed_out = 0u64;
        self.map.retain(|_, e| {
            let keep = now_ns.saturating_sub(e.first_ts) < timeout;
            if !keep {
                freed += e.cost();
                timed_out += u64::from(!e.dead);
            }
            keep
        });
        self.buffered -= freed;
        self.counters.timed_out += timed_out;
    }

    /// Counters so far.
    pub fn counters(&self) -> DefragCounters {
        self.counters
    }

    /// Bytes currently held for incomplete datagrams.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Datagrams currently tracked (including ones marked as failed).
    pub fn pending(&self) -> usize {
        self.map.len()
    }

    fn ensure_entry(&mut self, key: Key, ts_ns: u64) {
        if self.map.contains_key(&key) {
            return;
        }
        while self.map.len() >= self.cfg.max_datagrams.max(1) {
            if !self.evict_oldest(None) {
                break;
            }
        }
        self.map.insert(
            key,
            Entry {
                first_ts: ts_ns,
                buf: Vec::new(),
                ranges: Vec::new(),
                total: None,
                dead: false,
            },
        );
    }

    /// Mark a datagram as unreassemblable, freeing its buffers.
    fn kill(&mut self, key: Key, ts_ns: u64) {
        self.ensure_entry(key, ts_ns);
        if let Some(e) = self.map.get_mut(&key) {
            self.buffered -= e.cost();
            e.buf = Vec::new();
            e.ranges = Vec::new();
            e.dead = true;
        }
    }

    /// Evict the datagram with the oldest first fragment. A linear scan is fine:
    /// eviction only happens under pressure and the map is capped.
    fn evict_oldest(&mut self, except: Option<Key>) -> bool {
        let victim = self
            .map
            .iter()
            .filter(|(k, _)| Some(**k) != except)
            .min_by_key(|(_, e)| e.first_ts)
            .map(|(k, _)| *k);
        match victim.and_then(|k| self.map.remove(&k)) {
            Some(e) => {
                self.buffered -= e.cost();
                self.counters.evicted_over_cap += 1;
                true
            }
            None => false,
        }
    }

    fn try_complete(&mut self, key: Key) -> Option<Reassembled> {
        let e = self.map.get(&key)?;
        let total = e.total?;
        let done = if total == 0 {
            e.ranges.is_empty()
        } else {
            e.ranges.len() == 1 && e.ranges[0] == (0, total)
        };
        if !done {
            return None;
        }
        let mut e = self.map.remove(&key)?;
        self.buffered -= e.cost();
        self.counters.reassembled += 1;
        e.buf.truncate(total as usize);
        Some(Reassembled {
            src: key.src,
            dst: key.dst,
            protocol: key.protocol,
            payload: e.buf,
        })
    }
}

/// Insert `r` into sorted disjoint ranges, merging overlapping/adjacent ones.
fn insert_range(ranges: &mut Vec<(u32, u32)>, r: (u32, u32)) {
    let pos = ranges.partition_point(|x| x.0 < r.0);
    ranges.insert(pos, r);
    let mut out = 0usize;
    for i in 1..ranges.len() {
        if ranges[i].0 <= ranges[out].1 {
            ranges[out].1 = ranges[out].1.max(ranges[i].1);
        } else {
            out += 1;
            ranges[out] = ranges[i];
        }
    }
    ranges.truncate(out + 1);
}

#[cfg(test)]
mod tests {
    use super::insert_range;

    #[test]
    fn ranges_merge_overlapping_and_adjacent() {
        let mut r = Vec::new();
        insert_range(&mut r, (16, 24));
        insert_range(&mut r, (0, 8));
        assert_eq!(r, [(0, 8), (16, 24)]);
        insert_range(&mut r, (8, 16));
        assert_eq!(r, [(0, 24)]);
        insert_range(&mut r, (40, 48));
        insert_range(&mut r, (4, 44));
        assert_eq!(r, [(0, 48)]);
    }
}
