//! SCTP associations: chunks counted, DATA reassembled into user messages, and the
//! messages of each direction passed on as one byte stream (in TSN order), which
//! is what a message-framed protocol such as DIAMETER needs.

use crate::conn::{Conn, Ctx};
use crate::entry::SctpFlow;
use ks_decode::{chunk, chunk_name, SctpChunk};
use ks_proto::Protocol;
use ks_reassembly::{
    Budget, DataIn, SctpAssociation, SctpConfig, SctpCounters, SctpEvent, Side, StreamEvent,
};

/// PPIDs of DIAMETER (RFC 6733 13.4: 46 clear, 47 over DTLS).
const DIAMETER_PPID: u32 = 46;

/// Payload protocol identifiers listed per association.
const MAX_PPIDS: usize = 8;

/// The SCTP side of one flow.
#[derive(Default)]
pub(crate) struct SctpState {
    assoc: SctpAssociation,
    counters: SctpCounters,
    /// Chunks seen per type number.
    chunks: Vec<(u8, u64)>,
    ppids: Vec<u32>,
    /// Message bytes passed on per side (the offset of the next one).
    delivered: [u64; 2],
}

impl SctpState {
    /// One chunk from `side`.
    pub fn chunk(
        &mut self,
        conn: &mut Conn,
        ctx: &mut Ctx<'_>,
        side: Side,
        c: &SctpChunk<'_>,
        budget: &mut Budget,
    ) {
        match self.chunks.iter_mut().find(|(t, _)| *t == c.chunk_type) {
            Some((_, n)) => *n += 1,
            None => self.chunks.push((c.chunk_type, 1)),
        }
        let cfg: &SctpConfig = &ctx.cfg.sctp;
        let origin = (ctx.frame, ctx.ts_ns);
        let SctpState {
            assoc,
            counters,
            ppids,
            delivered,
            ..
        } = self;
        let mut emit = |ev: SctpEvent<'_>| on_event(conn, ctx, delivered, ev);
        match c.chunk_type {
            chunk::DATA => {
                let Some(d) = c.data() else { return };
                if ppids.len() < MAX_PPIDS && !ppids.contains(&d.ppid) {
                    ppids.push(d.ppid);
                }
                let data = DataIn {
                    tsn: d.tsn,
                    stream: d.stream,
                    ssn: d.ssn,
                    ppid: d.ppid,
                    unordered: d.unordered,
                    begin: d.begin,
                    end: d.end,
                    data: d.data,
                    origin,
                };
                assoc.data(side, &data, cfg, budget, counters, &mut emit);
            }
            chunk::INIT | chunk::INIT_ACK => {
                if let Some(tsn) = c.initial_tsn() {
                    assoc.init(side, tsn, c.chunk_type == chunk::INIT_ACK);
                }
            }
            // A SACK from `side` acknowledges the other side's TSNs.
            chunk::SACK | 16 => {
                if let Some(cum) = c.cumulative_tsn() {
                    assoc.cumulative(side.other(), cum, cfg, budget, counters, &mut emit);
                }
            }
            chunk::FORWARD_TSN => {
                if let Some(cum) = c.cumulative_tsn() {
                    assoc.cumulative(side, cum, cfg, budget, counters, &mut emit);
                }
            }
            chunk::SHUTDOWN | chunk::SHUTDOWN_ACK => {
                assoc.shutdown(side, cfg, budget, counters, &mut emit);
            }
            chunk::ABORT | chunk::SHUTDOWN_COMPLETE => {
                assoc.flush(cfg, budget, counters, &mut emit);
            }
            chunk::I_DATA => counters.i_data_chunks += 1,
            _ => {}
        }
        if conn.client.is_none() {
            conn.client = self.assoc.client_side();
        }
    }

    /// The association is over: deliver what is held and end both sides.
    pub fn finish(&mut self, conn: &mut Conn, ctx: &mut Ctx<'_>, budget: &mut Budget) {
        let SctpState {
            assoc,
            counters,
            delivered,
            ..
        } = self;
        let cfg: &SctpConfig = &ctx.cfg.sctp;
        let mut emit = |ev: SctpEvent<'_>| on_event(conn, ctx, delivered, ev);
        assoc.flush(cfg, budget, counters, &mut emit);
    }

    pub fn counters(&self) -> SctpCounters {
        self.counters
    }

    /// What the L4 entry shows.
    pub fn summary(&self) -> SctpFlow {
        let mut chunks = self.chunks.clone();
        chunks.sort_unstable();
        SctpFlow {
            chunks: chunks
                .into_iter()
                .map(|(t, n)| {
                    let name = chunk_name(t).map_or_else(|| format!("CHUNK-{t}"), str::to_string);
                    (name, n)
                })
                .collect(),
            messages: self.counters.messages,
            ppids: self.ppids.clone(),
            duplicates: self.counters.duplicates,
            lost_tsns: self.counters.lost_tsns,
        }
    }
}

fn on_event(conn: &mut Conn, ctx: &mut Ctx<'_>, delivered: &mut [u64; 2], ev: SctpEvent<'_>) {
    match ev {
        SctpEvent::Message {
            side,
            ppid,
            data,
            origin,
            ..
        } => {
            // The PPID says DIAMETER before any probe would.
            if conn.forced.is_none() && ppid == DIAMETER_PPID {
                conn.forced = Some(Protocol::Diameter);
            }
            let offset = delivered[side.index()];
            delivered[side.index()] += data.len() as u64;
            // A message held for an earlier TSN belongs to the frame that carried its
            // last chunk, not to the one that let it through.
            let here = (ctx.frame, ctx.ts_ns);
            (ctx.frame, ctx.ts_ns) = origin;
            conn.on_event(ctx, StreamEvent::Data { side, offset, data });
            (ctx.frame, ctx.ts_ns) = here;
        }
        SctpEvent::Gap { side, .. } => {
            // Lost TSNs carry an unknown number of bytes: the stream goes on from
            // where it was, and the parser resynchronises on the next message.
            let offset = delivered[side.index()];
            conn.on_event(
                ctx,
                StreamEvent::Gap {
                    side,
                    offset,
                    len: 0,
                },
            );
        }
        SctpEvent::End { side } => conn.on_event(ctx, StreamEvent::Fin { side }),
    }
}
