//! Counters for everything the engine saw, dropped or capped.

use ks_decode::DefragCounters;
use ks_proto_http::HttpCounters;
use ks_reassembly::{SctpCounters, TcpCounters};
use std::collections::BTreeMap;

/// Engine-wide counters. Every cap that bites has one here.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Frames read.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// Frames whose link type is not supported.
    pub unsupported_link: u64,
    /// Frames that are not IP (ARP, ...).
    pub non_ip: u64,
    /// Frames whose headers could not be decoded.
    pub decode_errors: u64,
    /// Frames cut by snaplen (captured < original length).
    pub snaplen_cut: u64,
    /// IP protocols other than TCP, UDP, SCTP, ICMP and ICMPv6, not dissected.
    pub other_transport: u64,
    /// TCP flows created.
    pub tcp_flows: u64,
    /// UDP flows created.
    pub udp_flows: u64,
    /// SCTP associations created.
    pub sctp_flows: u64,
    /// Flows finished early because the flow table was full.
    pub flows_evicted: u64,
    /// Flows finished because they were idle.
    pub flows_timed_out: u64,
    /// Entries emitted per protocol.
    pub entries: BTreeMap<&'static str, u64>,
    /// Entries carrying an error, by kind.
    pub entry_errors: BTreeMap<String, u64>,
    /// Parser errors (bytes the parser could not make sense of).
    pub parse_errors: u64,
    /// Stream buffer cap hits (bytes dropped as a gap).
    pub stream_buffer_capped: u64,
    /// Pending-request cap hits (oldest flushed unanswered).
    pub pending_capped: u64,
    /// Connections handed to a protocol not yet dissected (WebSocket, h2c, CONNECT tunnel).
    pub handoffs: u64,
    /// TLS plaintext chunks given to [`Engine::process_plaintext`](crate::Engine::process_plaintext).
    pub plaintext_chunks: u64,
    /// Their bytes.
    pub plaintext_bytes: u64,
    /// Plaintext connections (flows) they made.
    pub plaintext_connections: u64,
    /// TCP reassembly counters.
    pub tcp: TcpCounters,
    /// SCTP reassembly counters (summed over finished associations).
    pub sctp: SctpCounters,
    /// IP defragmentation counters.
    pub defrag: DefragCounters,
    /// HTTP/1 parser counters (summed over finished flows).
    pub http: HttpCounters,
    /// HTTP/2 counters (summed over finished flows).
    pub http2: Http2Stats,
    /// WebSocket counters (summed over finished flows).
    pub websocket: WsStats,
    /// Events parsers reported (HPACK state lost, header-list bombs, resyncs, ...), by kind.
    pub events: BTreeMap<&'static str, u64>,
}

/// HTTP/2 counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Http2Stats {
    /// Frames parsed.
    pub frames: u64,
    /// Streams seen.
    pub streams: u64,
    /// Header blocks with fields lost to missing HPACK state.
    pub hpack_lost: u64,
    /// Times the parser searched for the next frame (mid-connection start, gaps).
    pub resyncs: u64,
}

/// WebSocket counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WsStats {
    /// Frames parsed.
    pub frames: u64,
    /// Messages emitted.
    pub messages: u64,
    /// permessage-deflate failures.
    pub inflate_errors: u64,
    /// Protocol violations.
    pub protocol_errors: u64,
    /// Times the parser searched for the next frame after a gap.
    pub resyncs: u64,
}

impl Stats {
    /// Total entries.
    pub fn total_entries(&self) -> u64 {
        self.entries.values().sum()
    }

    /// Gaps: TCP holes (lost, snaplen-cut or over a cap).
    pub fn gaps(&self) -> u64 {
        self.tcp.gaps
    }

    /// Errors: decode errors, parse errors and entries with an error.
    pub fn errors(&self) -> u64 {
        self.decode_errors + self.parse_errors
    }

    /// Add another run's counters (e.g. several files dissected one after the other).
    pub fn merge(&mut self, o: &Stats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.unsupported_link += o.unsupported_link;
        self.non_ip += o.non_ip;
        self.decode_errors += o.decode_errors;
        self.snaplen_cut += o.snaplen_cut;
        self.other_transport += o.other_transport;
        self.tcp_flows += o.tcp_flows;
        self.udp_flows += o.udp_flows;
        self.sctp_flows += o.sctp_flows;
        self.flows_evicted += o.flows_evicted;
        self.flows_timed_out += o.flows_timed_out;
        self.parse_errors += o.parse_errors;
        self.stream_buffer_capped += o.stream_buffer_capped;
        self.pending_capped += o.pending_capped;
        self.handoffs += o.handoffs;
        self.plaintext_chunks += o.plaintext_chunks;
        self.plaintext_bytes += o.plaintext_bytes;
        self.plaintext_connections += o.plaintext_connections;
        for (k, v) in &o.entries {
            *self.entries.entry(k).or_default() += v;
        }
        for (k, v) in &o.entry_errors {
            *self.entry_errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.events {
            *self.events.entry(k).or_default() += v;
        }
        self.tcp.add(&o.tcp);
        add_sctp(&mut self.sctp, &o.sctp);
        add_http(&mut self.http, &o.http);
        let (h, i) = (&mut self.http2, &o.http2);
        h.frames += i.frames;
        h.streams += i.streams;
        h.hpack_lost += i.hpack_lost;
        h.resyncs += i.resyncs;
        let (w, x) = (&mut self.websocket, &o.websocket);
        w.frames += x.frames;
        w.messages += x.messages;
        w.inflate_errors += x.inflate_errors;
        w.protocol_errors += x.protocol_errors;
        w.resyncs += x.resyncs;
        let (d, e) = (&mut self.defrag, &o.defrag);
        d.fragments += e.fragments;
        d.reassembled += e.reassembled;
        d.timed_out += e.timed_out;
        d.evicted_over_cap += e.evicted_over_cap;
        d.overlaps += e.overlaps;
        d.too_large += e.too_large;
        d.truncated_fragments += e.truncated_fragments;
    }

    /// A flat, serialisable view (for `--format json` summaries and tests).
    pub fn to_map(&self) -> BTreeMap<String, serde_json::Value> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: u64| {
            m.insert(k.to_string(), serde_json::Value::from(v));
        };
        put("packets", self.packets);
        put("bytes", self.bytes);
        put("unsupported_link", self.unsupported_link);
        put("non_ip", self.non_ip);
        put("decode_errors", self.decode_errors);
        put("snaplen_cut", self.snaplen_cut);
        put("other_transport", self.other_transport);
        put("tcp_flows", self.tcp_flows);
        put("udp_flows", self.udp_flows);
        put("sctp_flows", self.sctp_flows);
        put("flows_evicted", self.flows_evicted);
        put("flows_timed_out", self.flows_timed_out);
        put("parse_errors", self.parse_errors);
        put("stream_buffer_capped", self.stream_buffer_capped);
        put("pending_capped", self.pending_capped);
        put("handoffs", self.handoffs);
        put("plaintext_chunks", self.plaintext_chunks);
        put("plaintext_bytes", self.plaintext_bytes);
        put("plaintext_connections", self.plaintext_connections);
        let t = &self.tcp;
        for (k, v) in [
            ("tcp.segments", t.segments),
            ("tcp.out_of_order", t.out_of_order),
            ("tcp.retransmissions", t.retransmissions),
            ("tcp.overlaps", t.overlaps),
            ("tcp.overlap_conflicts", t.overlap_conflicts),
            ("tcp.gaps", t.gaps),
            ("tcp.gap_bytes", t.gap_bytes),
            ("tcp.snaplen_cut", t.snaplen_cut),
            ("tcp.ooo_cap_hits", t.ooo_cap_hits),
            ("tcp.budget_cap_hits", t.budget_cap_hits),
            ("tcp.midstream", t.midstream),
            ("tcp.syn_data", t.syn_data),
            ("tcp.acked_unseen", t.acked_unseen),
            ("sctp.data_chunks", self.sctp.data_chunks),
            ("sctp.duplicates", self.sctp.duplicates),
            ("sctp.out_of_order", self.sctp.out_of_order),
            ("sctp.lost_tsns", self.sctp.lost_tsns),
            ("sctp.messages", self.sctp.messages),
            ("sctp.fragments_dropped", self.sctp.fragments_dropped),
            ("sctp.oversized", self.sctp.oversized),
            ("sctp.ssn_out_of_order", self.sctp.ssn_out_of_order),
            ("sctp.i_data_chunks", self.sctp.i_data_chunks),
            ("defrag.fragments", self.defrag.fragments),
            ("defrag.reassembled", self.defrag.reassembled),
            ("defrag.timed_out", self.defrag.timed_out),
            ("defrag.evicted_over_cap", self.defrag.evicted_over_cap),
            ("http.requests", self.http.requests),
            ("http.responses", self.http.responses),
            ("http.parse_errors", self.http.parse_errors),
            ("http.resyncs", self.http.resyncs),
            ("http.decompress_capped", self.http.decompress_capped),
            ("http.decompress_errors", self.http.decompress_errors),
            ("http.pipeline_capped", self.http.pipeline_capped),
            ("http.headers_capped", self.http.headers_capped),
            ("http2.frames", self.http2.frames),
            ("http2.streams", self.http2.streams),
            ("http2.hpack_lost", self.http2.hpack_lost),
            ("http2.resyncs", self.http2.resyncs),
            ("websocket.frames", self.websocket.frames),
            ("websocket.messages", self.websocket.messages),
            ("websocket.inflate_errors", self.websocket.inflate_errors),
            ("websocket.protocol_errors", self.websocket.protocol_errors),
            ("websocket.resyncs", self.websocket.resyncs),
        ] {
            put(k, v);
        }
        m.insert(
            "entries".into(),
            serde_json::to_value(&self.entries).unwrap_or_default(),
        );
        m.insert(
            "events".into(),
            serde_json::to_value(&self.events).unwrap_or_default(),
        );
        m.insert(
            "entry_errors".into(),
            serde_json::to_value(&self.entry_errors).unwrap_or_default(),
        );
        m
    }
}

pub(crate) fn add_http(a: &mut HttpCounters, b: &HttpCounters) {
    a.requests += b.requests;
    a.responses += b.responses;
    a.parse_errors += b.parse_errors;
    a.resyncs += b.resyncs;
    a.decompress_capped += b.decompress_capped;
    a.decompress_errors += b.decompress_errors;
    a.pipeline_capped += b.pipeline_capped;
    a.headers_capped += b.headers_capped;
}

pub(crate) fn add_sctp(a: &mut SctpCounters, b: &SctpCounters) {
    a.data_chunks += b.data_chunks;
    a.duplicates += b.duplicates;
    a.out_of_order += b.out_of_order;
    a.lost_tsns += b.lost_tsns;
    a.messages += b.messages;
    a.fragments_dropped += b.fragments_dropped;
    a.oversized += b.oversized;
    a.ssn_out_of_order += b.ssn_out_of_order;
    a.i_data_chunks += b.i_data_chunks;
}
