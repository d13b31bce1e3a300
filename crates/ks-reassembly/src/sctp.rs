//! SCTP association reassembly (RFC 9260): DATA chunks put back in TSN order per
//! direction, fragments (B/E bits) joined into user messages, duplicates dropped,
//! per-stream SSN order checked, and lost TSNs reported as gaps.
//!
//! Why TSN order is enough: RFC 9260 6.9 gives a fragmented message consecutive
//! TSNs, and a sender assigns both TSNs and a stream's SSNs in the order it sends,
//! so delivering in TSN order delivers every stream's ordered messages in SSN order
//! and never interleaves two messages' fragments (I-DATA, RFC 8260, does; it is
//! counted, not reassembled). An SSN that does not follow its stream's last one
//! is counted (`ssn_out_of_order`) — it means lost or reordered messages upstream.

use crate::{Budget, Side};
use ahash::AHashMap;
use std::collections::BTreeMap;

/// Limits of one association.
#[derive(Clone, Debug)]
pub struct SctpConfig {
    /// Out-of-order DATA bytes buffered per direction before the hole before them
    /// is declared lost.
    pub max_buffered_bytes: usize,
    /// Out-of-order DATA chunks buffered per direction (same rule).
    pub max_buffered_chunks: usize,
    /// Largest user message joined from fragments; a larger one is dropped
    /// (counted as `oversized`) and its fragments skipped.
    pub max_message: usize,
    /// Streams whose SSN order is checked per direction (the rest are not).
    pub max_tracked_streams: usize,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            max_buffered_bytes: 1 << 20,
            max_buffered_chunks: 4096,
            max_message: 4 << 20,
            max_tracked_streams: 256,
        }
    }
}

/// SCTP reassembly statistics; counters only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SctpCounters {
    /// DATA chunks seen.
    pub data_chunks: u64,
    /// DATA chunks with a TSN already delivered or buffered (retransmissions).
    pub duplicates: u64,
    /// DATA chunks that arrived before an earlier TSN of their direction.
    pub out_of_order: u64,
    /// TSNs never seen (reported as gaps).
    pub lost_tsns: u64,
    /// User messages delivered.
    pub messages: u64,
    /// Fragments dropped: their message's first fragment was lost, or it was too large.
    pub fragments_dropped: u64,
    /// Messages dropped for exceeding [`SctpConfig::max_message`].
    pub oversized: u64,
    /// Ordered messages whose SSN was not the next of their stream.
    pub ssn_out_of_order: u64,
    /// I-DATA chunks (RFC 8260), not reassembled.
    pub i_data_chunks: u64,
}

/// One DATA chunk, as the reassembler needs it.
#[derive(Clone, Copy, Debug)]
pub struct DataIn<'a> {
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// Payload protocol identifier.
    pub ppid: u32,
    /// U bit.
    pub unordered: bool,
    /// B bit.
    pub begin: bool,
    /// E bit.
    pub end: bool,
    /// User data.
    pub data: &'a [u8],
    /// The caller's mark of the packet that carried the chunk (e.g. its frame number
    /// and timestamp), returned with the message this chunk ends.
    pub origin: (u64, u64),
}

/// Output of the reassembler, in TSN order per side.
#[derive(Debug, PartialEq, Eq)]
pub enum SctpEvent<'a> {
    /// One whole user message.
    Message {
        /// Sending side.
        side: Side,
        /// Stream identifier.
        stream: u16,
        /// Stream sequence number.
        ssn: u16,
        /// Payload protocol identifier.
        ppid: u32,
        /// Sent unordered (U bit).
        unordered: bool,
        /// The message.
        data: &'a [u8],
        /// [`DataIn::origin`] of its last chunk.
        origin: (u64, u64),
    },
    /// `tsns` TSNs of `side` will never be delivered (lost in the capture, skipped
    /// by a FORWARD TSN, or dropped over a cap); a message in progress is dropped.
    Gap {
        /// Sending side.
        side: Side,
        /// Number of TSNs skipped.
        tsns: u64,
    },
    /// The side sent SHUTDOWN or SHUTDOWN ACK: it sends no more data.
    End {
        /// Sending side.
        side: Side,
    },
}

/// A DATA chunk waiting for the TSNs before it.
#[derive(Debug)]
struct Held {
    stream: u16,
    ssn: u16,
    ppid: u32,
    flags: u8,
    data: Vec<u8>,
    origin: (u64, u64),
}

const U: u8 = 4;
const B: u8 = 2;
const E: u8 = 1;

/// A message being joined from fragments.
#[derive(Debug, Default)]
struct Partial {
    stream: u16,
    ssn: u16,
    ppid: u32,
    unordered: bool,
    data: Vec<u8>,
    /// Too large: fragments are skipped until its E.
    skipping: bool,
}

#[derive(Debug, Default)]
struct Dir {
    /// Next TSN to deliver, unwrapped to 64 bits (None until the first INIT or DATA).
    next: Option<u64>,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    partial: Option<Partial>,
    /// Next expected SSN per stream (ordered delivery), for the first streams seen.
    ssn: AHashMap<u16, u16>,
    ended: bool,
    /// A DATA chunk was seen.
    seen_data: bool,
}

impl Dir {
    /// `tsn` unwrapped near `next` (serial number arithmetic, RFC 1982).
    fn unwrap(&self, tsn: u32) -> u64 {
        match self.next {
            None => u64::from(tsn) + (1 << 32),
            Some(n) => {
                let delta = tsn.wrapping_sub(n as u32) as i32;
                n.wrapping_add_signed(i64::from(delta))
            }
        }
    }
}

/// Reassembly state of one association (both directions).
#[derive(Debug, Default)]
pub struct SctpAssociation {
    dirs: [Dir; 2],
    client: Option<Side>,
}

impl SctpAssociation {
    /// A new association with nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// The side that sent INIT, once seen.
    pub fn client_side(&self) -> Option<Side> {
        self.client
    }

    /// Bytes held (out-of-order chunks and messages being joined).
    pub fn buffered_bytes(&self) -> usize {
        self.dirs
            .iter()
            .map(|d| d.held_bytes + d.partial.as_ref().map_or(0, |p| p.data.len()))
            .sum()
    }

    /// INIT (`ack` false) or INIT ACK from `side`: the first TSN it will send.
    pub fn init(&mut self, side: Side, initial_tsn: u32, ack: bool) {
        if !ack && self.client.is_none() {
            self.client = Some(side);
        }
        let d = &mut self.dirs[side.index()];
        if d.next.is_none() {
            d.next = Some(u64::from(initial_tsn) + (1 << 32));
        }
    }

    /// A DATA chunk from `side`.
    pub fn data(
        &mut self,
        side: Side,
        c: &DataIn<'_>,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        counters.data_chunks += 1;
        let d = &mut self.dirs[side.index()];
        if d.ended {
            // Data after SHUTDOWN is a retransmission of what was delivered.
            counters.duplicates += 1;
            return;
        }
        let tsn = d.unwrap(c.tsn);
        // The INIT's initial TSN is a hint: a first DATA behind it, or further ahead
        // than could be buffered, means it was wrong (or rewritten): follow the data.
        if !d.seen_data && d.held.is_empty() {
            let far = d
                .next
                .is_some_and(|n| tsn < n || tsn - n > cfg.max_buffered_chunks as u64);
            if far {
                d.next = Some(tsn);
            }
        }
        d.seen_data = true;
        let next = *d.next.get_or_insert(tsn);
        let flags = (u8::from(c.unordered) * U) | (u8::from(c.begin) * B) | (u8::from(c.end) * E);
        if tsn < next || d.held.contains_key(&tsn) {
            counters.duplicates += 1;
            return;
        }
        if tsn > next {
            counters.out_of_order += 1;
            if budget.used + c.data.len() > budget.cap {
                // No room anywhere: what is missing before this chunk is lost.
                self.skip_to(side, tsn, cfg, budget, counters, emit);
            } else {
                let d = &mut self.dirs[side.index()];
                d.held_bytes += c.data.len();
                budget.used += c.data.len();
                d.held.insert(
                    tsn,
                    Held {
                        stream: c.stream,
                        ssn: c.ssn,
                        ppid: c.ppid,
                        flags,
                        data: c.data.to_vec(),
                        origin: c.origin,
                    },
                );
                let d = &self.dirs[side.index()];
                if d.held_bytes > cfg.max_buffered_bytes || d.held.len() > cfg.max_buffered_chunks {
                    let first = d.held.keys().next().copied().unwrap_or(next);
                    self.skip_to(side, first, cfg, budget, counters, emit);
                }
                return;
            }
        }
        let chunk = Held {
            stream: c.stream,
            ssn: c.ssn,
            ppid: c.ppid,
            flags,
            data: Vec::new(),
            origin: c.origin,
        };
        self.deliver(side, &chunk, c.data, cfg, budget, counters, emit);
        self.dirs[side.index()].next = Some(tsn + 1);
        self.drain(side, cfg, budget, counters, emit);
    }

    /// The peer of `side` acknowledged every TSN of `side` up to `cum_tsn` (SACK), or
    /// `side` told its peer to move on to after `cum_tsn` (FORWARD TSN, `forward`):
    /// TSNs up to it that were never seen are lost.
    #[allow(clippy::too_many_arguments)]
    pub fn cumulative(
        &mut self,
        side: Side,
        cum_tsn: u32,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        let d = &self.dirs[side.index()];
        let Some(next) = d.next else { return };
        let upto = d.unwrap(cum_tsn) + 1;
        // A cumulative ack far ahead is more likely garbage than 2^31 lost TSNs.
        if upto > next && upto - next < (1 << 31) {
            self.skip_to(side, upto, cfg, budget, counters, emit);
        }
    }

    /// SHUTDOWN or SHUTDOWN ACK from `side`: it sends no more data.
    pub fn shutdown(
        &mut self,
        side: Side,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        if self.dirs[side.index()].ended {
            return;
        }
        self.flush_side(side, cfg, budget, counters, emit);
        self.dirs[side.index()].ended = true;
        emit(SctpEvent::End { side });
    }

    /// End of the association (ABORT, SHUTDOWN COMPLETE, timeout, end of capture):
    /// deliver what is held, past its holes, and end both sides.
    pub fn flush(
        &mut self,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        for side in [Side::A, Side::B] {
            self.shutdown(side, cfg, budget, counters, emit);
        }
    }

    fn flush_side(
        &mut self,
        side: Side,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        while let Some(&first) = self.dirs[side.index()].held.keys().next() {
            self.skip_to(side, first, cfg, budget, counters, emit);
        }
        if let Some(p) = self.dirs[side.index()].partial.take() {
            counters.fragments_dropped += 1;
            budget.used = budget.used.saturating_sub(p.data.len());
        }
    }

    /// Declare every TSN before `to` not yet seen lost, delivering the held chunks
    /// among them in order, then go on from `to`.
    fn skip_to(
        &mut self,
        side: Side,
        to: u64,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        loop {
            let d = &mut self.dirs[side.index()];
            let Some(next) = d.next else { return };
            if next >= to {
                break;
            }
            let held_first = d.held.keys().next().copied().filter(|&t| t < to);
            let until = held_first.unwrap_or(to);
            let lost = until - next;
            counters.lost_tsns += lost;
            if let Some(p) = d.partial.take() {
                counters.fragments_dropped += 1;
                budget.used = budget.used.saturating_sub(p.data.len());
            }
            emit(SctpEvent::Gap { side, tsns: lost });
            d.next = Some(until);
            if held_first.is_none() {
                break;
            }
            self.drain(side, cfg, budget, counters, emit);
        }
        self.drain(side, cfg, budget, counters, emit);
    }

    /// Deliver held chunks that are now in order.
    fn drain(
        &mut self,
        side: Side,
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        loop {
            let d = &mut self.dirs[side.index()];
            let Some(next) = d.next else { return };
            let Some(h) = d.held.remove(&next) else {
                return;
            };
            d.held_bytes -= h.data.len();
            budget.used = budget.used.saturating_sub(h.data.len());
            d.next = Some(next + 1);
            self.deliver(side, &h, &h.data, cfg, budget, counters, emit);
        }
    }

    /// One chunk in TSN order (`c` gives its fields, `data` its bytes).
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        side: Side,
        c: &Held,
        data: &[u8],
        cfg: &SctpConfig,
        budget: &mut Budget,
        counters: &mut SctpCounters,
        emit: &mut dyn FnMut(SctpEvent<'_>),
    ) {
        let (stream, ssn, ppid, flags, origin) = (c.stream, c.ssn, c.ppid, c.flags, c.origin);
        let d = &mut self.dirs[side.index()];
        let unordered = flags & U != 0;
        if flags & B != 0 {
            if let Some(p) = d.partial.take() {
                // Its E never came (it cannot have been lost: TSNs are in order).
                counters.fragments_dropped += 1;
                budget.used = budget.used.saturating_sub(p.data.len());
            }
            if flags & E != 0 {
                check_ssn(d, stream, ssn, unordered, cfg, counters);
                counters.messages += 1;
                emit(SctpEvent::Message {
                    side,
                    stream,
                    ssn,
                    ppid,
                    unordered,
                    data,
                    origin,
                });
                return;
            }
            let skipping = data.len() > cfg.max_message;
            if skipping {
                counters.oversized += 1;
            } else {
                budget.used += data.len();
            }
            d.partial = Some(Partial {
                stream,
                ssn,
                ppid,
                unordered,
                data: if skipping { Vec::new() } else { data.to_vec() },
                skipping,
            });
            return;
        }
        let Some(p) = d.partial.as_mut().filter(|p| p.stream == stream) else {
            // A middle or last fragment whose first was lost.
            counters.fragments_dropped += 1;
            return;
        };
        if !p.skipping {
            if p.data.len() + data.len() > cfg.max_message {
                counters.oversized += 1;
                budget.used = budget.used.saturating_sub(p.data.len());
                p.data = Vec::new();
                p.skipping = true;
            } else {
                p.data.extend_from_slice(data);
                budget.used += data.len();
            }
        }
        if flags & E == 0 {
            return;
        }
        let Some(p) = d.partial.take() else { return };
        budget.used = budget.used.saturating_sub(p.data.len());
        if p.skipping {
            counters.fragments_dropped += 1;
            return;
        }
        check_ssn(d, p.stream, p.ssn, p.unordered, cfg, counters);
        counters.messages += 1;
        emit(SctpEvent::Message {
            side,
            stream: p.stream,
            ssn: p.ssn,
            ppid: p.ppid,
            unordered: p.unordered,
            data: &p.data,
            origin,
        });
    }
}

fn check_ssn(
    d: &mut Dir,
    stream: u16,
    ssn: u16,
    unordered: bool,
    cfg: &SctpConfig,
    counters: &mut SctpCounters,
) {
    if unordered {
        return;
    }
    let tracked = d.ssn.len();
    match d.ssn.get_mut(&stream) {
        Some(want) => {
            if *want != ssn {
                counters.ssn_out_of_order += 1;
            }
            *want = ssn.wrapping_add(1);
        }
        None if tracked < cfg.max_tracked_streams => {
            d.ssn.insert(stream, ssn.wrapping_add(1));
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        Msg(Side, u16, Vec<u8>),
        Gap(Side, u64),
        End(Side),
    }

    struct Rig {
        a: SctpAssociation,
        cfg: SctpConfig,
        budget: Budget,
        counters: SctpCounters,
        out: Vec<Ev>,
    }

    fn rig() -> Rig {
        Rig {
            a: SctpAssociation::new(),
            cfg: SctpConfig::default(),
            budget: Budget::default(),
            counters: SctpCounters::default(),
            out: Vec::new(),
        }
    }

    fn record(out: &mut Vec<Ev>) -> impl FnMut(SctpEvent<'_>) + '_ {
        move |e| {
            out.push(match e {
                SctpEvent::Message {
                    side, stream, data, ..
                } => Ev::Msg(side, stream, data.to_vec()),
                SctpEvent::Gap { side, tsns } => Ev::Gap(side, tsns),
                SctpEvent::End { side } => Ev::End(side),
            })
        }
    }

    impl Rig {
        fn data(
            &mut self,
            side: Side,
            tsn: u32,
            stream: u16,
            ssn: u16,
            be: (bool, bool),
            d: &[u8],
        ) {
            let c = DataIn {
                tsn,
                stream,
                ssn,
                ppid: 46,
                unordered: false,
                begin: be.0,
                end: be.1,
                data: d,
                origin: (u64::from(tsn), 0),
            };
            let mut emit = record(&mut self.out);
            self.a.data(
                side,
                &c,
                &self.cfg,
                &mut self.budget,
                &mut self.counters,
                &mut emit,
            );
        }
        fn sack(&mut self, side: Side, cum: u32) {
            let mut emit = record(&mut self.out);
            self.a.cumulative(
                side,
                cum,
                &self.cfg,
                &mut self.budget,
                &mut self.counters,
                &mut emit,
            );
        }
        fn flush(&mut self) {
            let mut emit = record(&mut self.out);
            self.a
                .flush(&self.cfg, &mut self.budget, &mut self.counters, &mut emit);
        }
    }

    const WHOLE: (bool, bool) = (true, true);

    #[test]
    fn reorders_by_tsn_and_drops_duplicates() {
        let mut r = rig();
        r.a.init(Side::A, 10, false);
        r.data(Side::A, 11, 0, 1, WHOLE, b"second");
        r.data(Side::A, 10, 0, 0, WHOLE, b"first");
        r.data(Side::A, 10, 0, 0, WHOLE, b"first");
        r.flush();
        assert_eq!(
            r.out,
            vec![
                Ev::Msg(Side::A, 0, b"first".to_vec()),
                Ev::Msg(Side::A, 0, b"second".to_vec()),
                Ev::End(Side::A),
                Ev::End(Side::B),
            ]
        );
        assert_eq!((r.counters.duplicates, r.counters.out_of_order), (1, 1));
        assert_eq!(r.budget.used, 0);
        assert_eq!(r.a.client_side(), Some(Side::A));
    }

    #[test]
    fn joins_fragments_and_survives_tsn_wrap() {
        let mut r = rig();
        r.data(Side::B, u32::MAX, 3, 0, (true, false), b"he");
        r.data(Side::B, 1, 3, 0, (false, true), b"o");
        r.data(Side::B, 0, 3, 0, (false, false), b"ll");
        r.flush();
        assert_eq!(r.out[0], Ev::Msg(Side::B, 3, b"hello".to_vec()));
        assert_eq!(r.counters.messages, 1);
        assert_eq!(r.budget.used, 0);
    }

    #[test]
    fn a_sack_past_a_hole_makes_it_a_gap_and_drops_the_broken_message() {
        let mut r = rig();
        r.data(Side::A, 100, 1, 0, (true, false), b"start");
        // TSN 101 (the message's end) and 102 are lost; 103 is whole.
        r.data(Side::A, 103, 1, 1, WHOLE, b"next");
        r.sack(Side::A, 103);
        assert_eq!(
            r.out,
            vec![Ev::Gap(Side::A, 2), Ev::Msg(Side::A, 1, b"next".to_vec())]
        );
        assert_eq!(r.counters.lost_tsns, 2);
        assert_eq!(r.counters.fragments_dropped, 1);
        assert_eq!(r.budget.used, 0);
    }

    #[test]
    fn caps_turn_holes_into_gaps() {
        let mut r = rig();
        r.cfg.max_buffered_chunks = 2;
        r.data(Side::A, 1, 0, 0, WHOLE, b"a");
        for t in 3..6 {
            r.data(Side::A, t, 0, 0, WHOLE, b"x");
        }
        assert_eq!(r.out[1], Ev::Gap(Side::A, 1));
        assert_eq!(r.out.len(), 5);
        r.cfg.max_message = 4;
        r.data(Side::A, 6, 0, 0, (true, false), b"abc");
        r.data(Side::A, 7, 0, 0, (false, true), b"def");
        r.data(Side::A, 8, 0, 0, WHOLE, b"ok");
        assert_eq!(r.out.last(), Some(&Ev::Msg(Side::A, 0, b"ok".to_vec())));
        assert_eq!(r.counters.oversized, 1);
        assert_eq!(r.budget.used, 0);
    }

    #[test]
    fn a_wrong_initial_tsn_gives_way_to_the_data() {
        let mut r = rig();
        r.a.init(Side::A, 1_000_000, false);
        r.a.init(Side::B, 7, true);
        r.data(Side::A, 5, 0, 0, WHOLE, b"a");
        r.data(Side::B, 7 + 100_000, 0, 0, WHOLE, b"b");
        assert_eq!(
            r.out,
            vec![
                Ev::Msg(Side::A, 0, b"a".to_vec()),
                Ev::Msg(Side::B, 0, b"b".to_vec())
            ]
        );
        // Once data flowed, a chunk behind is a retransmission again.
        r.data(Side::A, 4, 0, 0, WHOLE, b"x");
        assert_eq!(r.counters.duplicates, 1);
    }

    #[test]
    fn ssn_jumps_are_counted() {
        let mut r = rig();
        r.data(Side::A, 1, 5, 0, WHOLE, b"a");
        r.data(Side::A, 2, 5, 2, WHOLE, b"b");
        r.data(Side::A, 3, 6, 9, WHOLE, b"c");
        assert_eq!(r.counters.ssn_out_of_order, 1);
    }

    proptest! {
        /// Any arrival order of the chunks of three fragmented messages gives the
        /// three messages in order once the association is flushed.
        #[test]
        fn any_order_gives_the_same_messages(order in Just((0u32..9).collect::<Vec<_>>()).prop_shuffle()) {
            let mut r = rig();
            r.a.init(Side::A, 50, false);
            for t in &order {
                let pos = t % 3;
                r.data(Side::A, 50 + t, 0, (t / 3) as u16, (pos == 0, pos == 2), &[*t as u8]);
            }
            r.flush();
            let msgs: Vec<_> = r.out.iter().filter_map(|e| match e { Ev::Msg(_, _, d) => Some(d.clone()), _ => None }).collect();
            prop_assert_eq!(msgs, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]);
            prop_assert_eq!(r.budget.used, 0);
        }
    }
}
