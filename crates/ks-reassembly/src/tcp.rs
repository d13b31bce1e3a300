//! TCP stream reassembly for both directions of one connection.

use std::collections::VecDeque;

use crate::{flags, Budget, Segment, Side, StreamEvent, TcpConfig, TcpCounters};

/// Larger jumps than this (from ACKs, FINs) are treated as garbage rather than
/// as loss: a real receive window is far smaller, and believing a bogus value
/// would turn one corrupt packet into a gigabyte-sized gap.
const SANE_WINDOW: u64 = 1 << 30;

/// Buffered out-of-order bytes `[start, end)`; only `data.len()` of them were
/// captured, the rest (snaplen cut) is delivered as a gap.
#[derive(Debug)]
struct Chunk {
    start: u64,
    end: u64,
    data: Vec<u8>,
}

/// Sink for events of one side plus the shared counters.
struct Out<'x> {
    side: Side,
    counters: &'x mut TcpCounters,
    emit: &'x mut dyn FnMut(StreamEvent<'_>),
}

/// One direction of a connection.
#[derive(Debug, Default)]
struct Dir {
    isn: Option<u32>,
    /// Sequence number of stream offset 0 (valid once `started`).
    base: u32,
    started: bool,
    next: u64,
    fin: Option<u64>,
    fin_done: bool,
    /// Sorted by `start`, disjoint, all at or after `next`.
    chunks: VecDeque<Chunk>,
    ooo_bytes: usize,
    /// Reused between segments to avoid an allocation per out-of-order segment.
    scratch: Vec<(u64, u64)>,
}

impl Dir {
    /// Absolute offset of `seq`, relative to the next expected byte so that the
    /// 2^32 wraparound is handled by signed 32-bit distance.
    #[inline]
    fn rel(&self, seq: u32) -> i64 {
        let next_seq = self.base.wrapping_add(self.next as u32);
        (self.next as i64).wrapping_add(i64::from(seq.wrapping_sub(next_seq) as i32))
    }

    fn start_at(&mut self, base: u32) {
        self.base = base;
        self.started = true;
        self.next = 0;
    }

    fn release(&mut self, n: usize, budget: &mut Budget) {
        self.ooo_bytes = self.ooo_bytes.saturating_sub(n);
        budget.used = budget.used.saturating_sub(n);
    }

    fn data(&mut self, out: &mut Out<'_>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        out.counters.bytes_in_order += bytes.len() as u64;
        (out.emit)(StreamEvent::Data {
            side: out.side,
            offset: self.next,
            data: bytes,
        });
        self.next += bytes.len() as u64;
    }

    fn gap_to(&mut self, out: &mut Out<'_>, target: u64) {
        if target <= self.next {
            return;
        }
        let len = target - self.next;
        out.counters.gaps += 1;
        out.counters.gap_bytes += len;
        (out.emit)(StreamEvent::Gap {
            side: out.side,
            offset: self.next,
            len,
        });
        self.next = target;
    }

    fn check_fin(&mut self, out: &mut Out<'_>) {
        if let Some(f) = self.fin {
            if !self.fin_done && self.next >= f {
                self.fin_done = true;
                out.counters.fins += 1;
                (out.emit)(StreamEvent::Fin { side: out.side });
            }
        }
    }

    /// Delivers a buffered chunk whose start is at or before `next`.
    fn deliver_chunk(&mut self, out: &mut Out<'_>, budget: &mut Budget, ch: Chunk) {
        self.release(ch.data.len(), budget);
        if ch.end <= self.next {
            return;
        }
        let skip = usize::try_from(self.next.saturating_sub(ch.start)).unwrap_or(usize::MAX);
        if skip < ch.data.len() {
            self.data(out, &ch.data[skip..]);
        }
        self.gap_to(out, ch.end);
    }

    /// Delivers every buffered chunk that became contiguous.
    fn drain_ready(&mut self, out: &mut Out<'_>, budget: &mut Budget) {
        while self.chunks.front().is_some_and(|c| c.start <= self.next) {
            if let Some(ch) = self.chunks.pop_front() {
                self.deliver_chunk(out, budget, ch);
            }
        }
        self.check_fin(out);
    }

    /// Declares everything up to `limit` lost, delivering buffered chunks on the way.
    fn advance_to(&mut self, out: &mut Out<'_>, budget: &mut Budget, limit: u64) {
        while self.next < limit {
            match self.chunks.front() {
                Some(c) if c.start <= self.next => {
                    if let Some(ch) = self.chunks.pop_front() {
                        self.deliver_chunk(out, budget, ch);
                    }
                }
                Some(c) => {
                    let t = c.start.min(limit);
                    self.gap_to(out, t);
                }
                None => self.gap_to(out, limit),
            }
        }
        self.drain_ready(out, budget);
    }

    /// Segment bytes `[start, end)` (captured: `data`) with `start >= next`.
    fn place(
        &mut self,
        out: &mut Out<'_>,
        cfg: &TcpConfig,
        budget: &mut Budget,
        mut start: u64,
        end: u64,
        mut data: &[u8],
    ) {
        let mut capped = false;
        loop {
            if end <= self.next {
                // A forced skip delivered buffered bytes that cover this segment.
                return;
            }
            if start < self.next {
                let k = usize::try_from(self.next - start).unwrap_or(usize::MAX);
                data = &data[k.min(data.len())..];
                start = self.next;
            }
            if start == self.next {
                self.deliver_in_order(out, budget, start, end, data);
                return;
            }
            if self.try_buffer(out, cfg, budget, start, end, data, &mut capped) {
                return;
            }
            // Over a cap: give up on the hole before the earliest known bytes,
            // which frees buffer space (or lets this segment go zero-copy).
            let target = self.chunks.front().map_or(start, |c| c.start.min(start));
            self.gap_to(out, target);
            if target < start {
                self.drain_ready(out, budget);
            }
        }
    }

    /// New bytes starting exactly at `next`; buffered chunks they run into win.
    fn deliver_in_order(
        &mut self,
        out: &mut Out<'_>,
        budget: &mut Budget,
        start: u64,
        end: u64,
        data: &[u8],
    ) {
        let cap_end = start + data.len() as u64;
        let mut overlapped = false;
        let mut conflict = false;
        loop {
            let limit = match self.chunks.front() {
                Some(c) if c.start < end => c.start.max(self.next),
                _ => end,
            };
            if self.next < limit {
                if self.next < cap_end {
                    let a = (self.next - start) as usize;
                    let b = (limit.min(cap_end) - start) as usize;
                    self.data(out, &data[a..b]);
                }
                self.gap_to(out, limit);
            }
            if self.next >= end {
                break;
            }
            let Some(ch) = self.chunks.pop_front() else {
                break;
            };
            overlapped = true;
            conflict |= differs(&ch, start, end, data);
            self.deliver_chunk(out, budget, ch);
        }
        if overlapped {
            out.counters.overlaps += 1;
        }
        if conflict {
            out.counters.overlap_conflicts += 1;
        }
        self.drain_ready(out, budget);
    }

    /// Buffers the parts of `[start, end)` not already buffered. Returns false
    /// (buffering nothing) when a cap would be exceeded.
    #[allow(clippy::too_many_arguments)]
    fn try_buffer(
        &mut self,
        out: &mut Out<'_>,
        cfg: &TcpConfig,
        budget: &mut Budget,
        start: u64,
        end: u64,
        data: &[u8],
        capped: &mut bool,
    ) -> bool {
        let cap_end = start + data.len() as u64;
        let first = self.chunks.partition_point(|c| c.end <= start);
        let mut pieces = std::mem::take(&mut self.scratch);
        pieces.clear();
        let mut cur = start;
        let mut covered = false;
        for c in self.chunks.range(first..) {
            if c.start >= end {
                break;
            }
            if c.start > cur {
                pieces.push((cur, c.start));
            }
            covered = true;
            cur = cur.max(c.end);
        }
        if cur < end {
            pieces.push((cur, end));
        }
        let new_bytes: u64 = pieces
            .iter()
            .map(|&(a, b)| b.min(cap_end).saturating_sub(a))
            .sum();
        let new_bytes = usize::try_from(new_bytes).unwrap_or(usize::MAX);
        let over_dir = self.ooo_bytes.saturating_add(new_bytes) > cfg.max_ooo_bytes
            || self.chunks.len().saturating_add(pieces.len()) > cfg.max_ooo_segments;
        let over_budget = budget.used.saturating_add(new_bytes) > budget.cap;
        if (over_dir || over_budget) && !pieces.is_empty() {
            if !*capped {
                *capped = true;
                if over_dir {
                    out.counters.ooo_cap_hits += 1;
                } else {
                    out.counters.budget_cap_hits += 1;
                }
            }
            self.scratch = pieces;
            return false;
        }
        if covered {
            let conflict = self
                .chunks
                .range(first..)
                .take_while(|c| c.start < end)
                .any(|c| differs(c, start, end, data));
            if pieces.is_empty() {
                out.counters.retransmissions += 1;
            } else {
                out.counters.overlaps += 1;
            }
            if conflict {
                out.counters.overlap_conflicts += 1;
            }
        }
        if !pieces.is_empty() {
            out.counters.out_of_order += 1;
            out.counters.ooo_bytes_buffered += new_bytes as u64;
        }
        for &(a, b) in &pieces {
            let copy = if a < cap_end {
                data[(a - start) as usize..(b.min(cap_end) - start) as usize].to_vec()
            } else {
                Vec::new()
            };
            self.ooo_bytes += copy.len();
            budget.used = budget.used.saturating_add(copy.len());
            let at = self.chunks.partition_point(|c| c.start < a);
            self.chunks.insert(
                at,
                Chunk {
                    start: a,
                    end: b,
                    data: copy,
                },
            );
        }
        self.scratch = pieces;
        true
    }

    /// Payload of a segment; `start` may be negative (before the stream start).
    #[allow(clippy::too_many_arguments)]
    fn on_data(
        &mut self,
        out: &mut Out<'_>,
        cfg: &TcpConfig,
        budget: &mut Budget,
        start: i64,
        wire: u64,
        mut data: &[u8],
    ) {
        let end = start.saturating_add(wire as i64);
        if end <= 0 {
            out.counters.old_data += 1;
            return;
        }
        let mut start_u = start.max(0) as u64;
        if start < 0 {
            out.counters.old_data += 1;
            let k = usize::try_from(start.unsigned_abs()).unwrap_or(usize::MAX);
            data = &data[k.min(data.len())..];
        }
        let end = end as u64;
        if end <= self.next {
            out.counters.retransmissions += 1;
            return;
        }
        if start_u < self.next {
            out.counters.overlaps += 1;
            let k = usize::try_from(self.next - start_u).unwrap_or(usize::MAX);
            data = &data[k.min(data.len())..];
            start_u = self.next;
        }
        if start_u == self.next && self.chunks.is_empty() && self.fin.is_none() {
            // Fast path: the common in-order segment, zero copy.
            let cap_end = start_u + data.len() as u64;
            self.data(out, data);
            if cap_end < end {
                self.gap_to(out, end);
            }
            return;
        }
        self.place(out, cfg, budget, start_u, end, data);
    }

    /// An ACK from the other side: bytes it acknowledges that we never saw are lost.
    fn on_ack(&mut self, out: &mut Out<'_>, budget: &mut Budget, ack: u32) {
        if !self.started {
            return;
        }
        let rel = self.rel(ack);
        if rel <= self.next as i64 {
            return;
        }
        let mut limit = rel as u64;
        match self.fin {
            // The FIN's sequence number is acknowledged but carries no byte.
            Some(f) => limit = limit.min(f),
            // Most likely the ACK of a FIN we did not capture, not one lost byte.
            None if self.chunks.is_empty() && limit == self.next + 1 => return,
            None => {}
        }
        if limit <= self.next || limit - self.next > SANE_WINDOW {
            return;
        }
        out.counters.acked_unseen += 1;
        self.advance_to(out, budget, limit);
    }

    fn on_fin(&mut self, out: &mut Out<'_>, fin_seq: u32) {
        if self.fin.is_some() {
            return;
        }
        if !self.started {
            self.start_at(fin_seq);
            out.counters.midstream += 1;
        }
        let off = self.rel(fin_seq);
        if off < 0 || (off as u64).saturating_sub(self.next) > SANE_WINDOW {
            return;
        }
        self.fin = Some(off as u64);
        self.check_fin(out);
    }

    fn flush(&mut self, out: &mut Out<'_>, budget: &mut Budget) {
        while let Some(ch) = self.chunks.pop_front() {
            self.gap_to(out, ch.start);
            self.deliver_chunk(out, budget, ch);
        }
        if let Some(f) = self.fin {
            if f > self.next && f - self.next <= SANE_WINDOW {
                self.gap_to(out, f);
            }
        }
        self.check_fin(out);
    }
}

/// True when captured bytes of `ch` and of the new segment disagree where both exist.
fn differs(ch: &Chunk, start: u64, end: u64, data: &[u8]) -> bool {
    let a = ch.start.max(start);
    let b = (ch.start + ch.data.len() as u64)
        .min(start + data.len() as u64)
        .min(end);
    if a >= b {
        return false;
    }
    let old = &ch.data[(a - ch.start) as usize..(b - ch.start) as usize];
    let new = &data[(a - start) as usize..(b - start) as usize];
    old != new
}

/// Both directions of one TCP connection.
#[derive(Debug, Default)]
pub struct TcpConnection {
    dirs: [Dir; 2],
    client: Option<Side>,
    rst: bool,
}

impl TcpConnection {
    /// A connection with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Process one segment sent by `side`. Events for this segment (and any
    /// buffered data it unblocks) are passed to `emit` in stream order.
    pub fn segment(
        &mut self,
        side: Side,
        seg: &Segment<'_>,
        cfg: &TcpConfig,
        budget: &mut Budget,
        counters: &mut TcpCounters,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        counters.segments += 1;
        let fl = seg.flags;
        let syn = fl & flags::SYN != 0;

        // The ACK concerns the other direction; handle it first so that a
        // request's gap is reported before the response that acknowledges it.
        if fl & flags::ACK != 0 {
            let mut out = Out {
                side: side.other(),
                counters: &mut *counters,
                emit: &mut *emit,
            };
            self.dirs[side.other().index()].on_ack(&mut out, budget, seg.ack);
        }

        let mut out = Out {
            side,
            counters,
            emit,
        };
        if fl & flags::RST != 0 {
            // Payload on a RST is diagnostic text at most (Linux ignores it).
            self.rst = true;
            out.counters.rsts += 1;
            (out.emit)(StreamEvent::Rst { side });
            return;
        }

        if syn {
            if fl & flags::ACK == 0 {
                self.client = Some(side);
            } else if self.client.is_none() {
                self.client = Some(side.other());
            }
            let d = &mut self.dirs[side.index()];
            if d.isn.is_none() {
                d.isn = Some(seg.seq);
                // Once a side has started, offsets already handed out stay
                // valid: a late SYN only records the ISN (see docs/reassembly.md).
                if !d.started {
                    d.start_at(seg.seq.wrapping_add(1));
                }
            }
        }

        let d = &mut self.dirs[side.index()];
        let wire = u64::from(seg.payload_len).max(seg.payload.len() as u64);
        if !syn
            && fl & flags::FIN == 0
            && wire <= 1
            && d.started
            && d.next >= 1
            && d.rel(seg.seq) == d.next as i64 - 1
        {
            out.counters.keepalives += 1;
            return;
        }

        let data_seq = seg.seq.wrapping_add(u32::from(syn));
        if wire > 0 {
            if syn {
                out.counters.syn_data += 1;
            }
            if !d.started {
                d.start_at(data_seq);
                out.counters.midstream += 1;
            }
            if wire > seg.payload.len() as u64 {
                out.counters.snaplen_cut += 1;
            }
            let start = d.rel(data_seq);
            d.on_data(&mut out, cfg, budget, start, wire, seg.payload);
        }
        if fl & flags::FIN != 0 {
            d.on_fin(&mut out, data_seq.wrapping_add(wire as u32));
        }
    }

    /// End of capture / idle timeout / eviction: deliver everything still
    /// buffered (with Gap events for holes) and release budget.
    ///
    /// Call it before dropping a connection: buffered bytes stay charged to
    /// the shared [`Budget`] until flushed.
    pub fn flush(
        &mut self,
        budget: &mut Budget,
        counters: &mut TcpCounters,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        for side in [Side::A, Side::B] {
            let mut out = Out {
                side,
                counters: &mut *counters,
                emit: &mut *emit,
            };
            self.dirs[side.index()].flush(&mut out, budget);
        }
    }

    /// The side that opened the connection: sender of a SYN without ACK, else
    /// the receiver of a SYN+ACK; None when no handshake was seen.
    pub fn client_side(&self) -> Option<Side> {
        self.client
    }

    /// Whether `side`'s SYN was seen.
    pub fn saw_syn(&self, side: Side) -> bool {
        self.dirs[side.index()].isn.is_some()
    }

    /// Both sides sent FIN, or a RST was seen.
    pub fn is_closed(&self) -> bool {
        self.rst || (self.dirs[0].fin.is_some() && self.dirs[1].fin.is_some())
    }

    /// ISN of `side` when its SYN was seen.
    pub fn isn(&self, side: Side) -> Option<u32> {
        self.dirs[side.index()].isn
    }

    /// Out-of-order bytes buffered in both directions.
    pub fn buffered_bytes(&self) -> usize {
        self.dirs[0].ooo_bytes + self.dirs[1].ooo_bytes
    }

    /// Next absolute stream offset expected from `side`.
    pub fn next_offset(&self, side: Side) -> u64 {
        self.dirs[side.index()].next
    }
}
