//! ICMP and ICMPv6 entries. ICMP has no flows: echo requests wait here, keyed by
//! (source, destination, identifier, sequence), until the reply from the destination
//! pairs with them — or an error that quotes the request (unreachable, time exceeded,
//! packet too big), which then answers it; every other message is a one-way entry at
//! once, and an error that quotes a packet is linked to that packet's flow (its
//! `stream`).

use crate::entry::{rfc3339_us, Endpoint, Entry, EntryError, Frames, Output, Request, Response};
use crate::stats::Stats;
use ks_proto_icmp::IcmpMessage;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// Echo requests waiting for their reply, at most.
const MAX_PENDING: usize = 4096;
/// A request unanswered this long (capture time) is reported without reply.
const TIMEOUT_NS: u64 = 60_000_000_000;

type Key = (IpAddr, IpAddr, &'static str, u16, u16);

struct Pending {
    msg: IcmpMessage,
    frame: u64,
    ts_ns: u64,
    serial: u64,
}

/// The ICMP side of the engine.
#[derive(Default)]
pub(crate) struct IcmpTracker {
    pending: HashMap<Key, Pending>,
    /// Keys in arrival order with their serial (stale ones are skipped).
    order: VecDeque<(Key, u64)>,
    serial: u64,
    /// Entries emitted (their id is `icmp-<n>`).
    entries: u64,
}

/// Where an ICMP message was seen.
pub(crate) struct Seen<'a> {
    pub stats: &'a mut Stats,
    pub out: &'a mut VecDeque<(u64, Output)>,
    pub seq: u64,
    pub frame: u64,
    pub ts_ns: u64,
}

impl IcmpTracker {
    /// One message from `src` to `dst`; `linked` is the stream of the flow an error
    /// quotes, when that flow is known.
    pub fn message(
        &mut self,
        at: &mut Seen<'_>,
        src: IpAddr,
        dst: IpAddr,
        msg: IcmpMessage,
        linked: Option<u64>,
    ) {
        self.expire(at, at.ts_ns.saturating_sub(TIMEOUT_NS));
        if let (true, Some(id), Some(sq)) = (msg.is_echo_request(), msg.ident, msg.seq) {
            if self.pending.len() >= MAX_PENDING {
                self.evict_oldest(at);
            }
            self.serial += 1;
            let key = (src, dst, msg.family, id, sq);
            let p = Pending {
                msg,
                frame: at.frame,
                ts_ns: at.ts_ns,
                serial: self.serial,
            };
            // The same request again (a retry with the same sequence): the older is
            // reported unanswered, the newer waits.
            if let Some(old) = self.pending.insert(key, p) {
                self.emit(at, key.0, key.1, Some(old), None, None);
            }
            self.order.push_back((key, self.serial));
            return;
        }
        if let (true, Some(id), Some(sq)) = (msg.is_echo_reply(), msg.ident, msg.seq) {
            let key = (dst, src, msg.family, id, sq);
            if let Some(req) = self.pending.remove(&key) {
                let reply = Pending {
                    msg,
                    frame: at.frame,
                    ts_ns: at.ts_ns,
                    serial: 0,
                };
                self.emit(at, dst, src, Some(req), Some(reply), None);
                return;
            }
        }
        // An error about a ping (it quotes the echo request): the ping's answer.
        let about = msg.quoted.as_ref().and_then(|q| {
            let key = (q.src, q.dst, msg.family, q.ident?, q.seq?);
            (q.protocol == 1 || q.protocol == 58).then_some(key)
        });
        if let Some(key) = about.filter(|k| self.pending.contains_key(k)) {
            let req = self.pending.remove(&key);
            let error = Pending {
                msg,
                frame: at.frame,
                ts_ns: at.ts_ns,
                serial: 0,
            };
            self.emit(at, key.0, key.1, req, Some(error), None);
            return;
        }
        let lone = Pending {
            msg,
            frame: at.frame,
            ts_ns: at.ts_ns,
            serial: 0,
        };
        self.emit(at, src, dst, Some(lone), None, linked);
    }

    /// Report requests older than `before` (all of them at the end: `u64::MAX`).
    pub fn expire(&mut self, at: &mut Seen<'_>, before: u64) {
        while let Some(&(key, serial)) = self.order.front() {
            match self.pending.get(&key) {
                Some(p) if p.serial == serial => {
                    if p.ts_ns >= before {
                        break;
                    }
                    self.order.pop_front();
                    let p = self.pending.remove(&key);
                    self.emit(at, key.0, key.1, p, None, None);
                }
                // Answered or replaced since.
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    fn evict_oldest(&mut self, at: &mut Seen<'_>) {
        while let Some((key, serial)) = self.order.pop_front() {
            if self.pending.get(&key).is_some_and(|p| p.serial == serial) {
                *at.stats.events.entry("icmp.pending_capped").or_default() += 1;
                let p = self.pending.remove(&key);
                self.emit(at, key.0, key.1, p, None, None);
                return;
            }
        }
    }

    fn emit(
        &mut self,
        at: &mut Seen<'_>,
        src: IpAddr,
        dst: IpAddr,
        req: Option<Pending>,
        rep: Option<Pending>,
        linked: Option<u64>,
    ) {
        let Some(req) = req else { return };
        let n = self.entries;
        self.entries += 1;
        let echo = req.msg.is_echo_request();
        let elapsed_us = rep
            .as_ref()
            .map(|r| r.ts_ns.saturating_sub(req.ts_ns) / 1000);
        // A ping answered by an error (unreachable, time exceeded, too big).
        let failed = rep.as_ref().filter(|r| !r.msg.is_echo_reply());
        let summary = match (&rep, elapsed_us) {
            (Some(r), _) if failed.is_some() => format!(
                "echo {}/{} seq={} → {}",
                req.msg.icmp_type,
                req.msg.code,
                req.msg.seq.unwrap_or(0),
                error_label(&r.msg)
            ),
            (Some(_), Some(us)) => format!(
                "echo {}/{} seq={} rtt={:.1}ms id={}",
                req.msg.icmp_type,
                req.msg.code,
                req.msg.seq.unwrap_or(0),
                us as f64 / 1000.0,
                req.msg.ident.unwrap_or(0)
            ),
            _ if echo => format!("{} (no reply)", req.msg.label()),
            _ => req.msg.label(),
        };
        let error = match failed {
            Some(r) => Some(EntryError {
                kind: "icmp-error".into(),
                message: r.msg.label(),
            }),
            None => (echo && rep.is_none()).then(|| EntryError {
                kind: "no-response".into(),
                message: "no echo reply from the destination".into(),
            }),
        };
        *at.stats.entries.entry("icmp").or_default() += 1;
        if let Some(e) = &error {
            *at.stats.entry_errors.entry(e.kind.clone()).or_default() += 1;
        }
        let transport = req.msg.family;
        at.out.push_back((
            at.seq,
            Output::Entry(Box::new(Entry {
                id: format!("icmp-{n}"),
                protocol: "icmp",
                version: String::new(),
                transport,
                tls: false,
                stream: linked.unwrap_or(0),
                stream_id: None,
                src: Endpoint::from(SocketAddr::new(src, 0)),
                dst: Endpoint::from(SocketAddr::new(dst, 0)),
                timestamp: rfc3339_us(req.ts_ns),
                ts_ns: req.ts_ns,
                elapsed_us,
                frames: Frames {
                    request: Some([req.frame, req.frame]),
                    response: rep.as_ref().map(|r| [r.frame, r.frame]),
                },
                request: Some(Request::Icmp(req.msg)),
                response: rep.map(|r| Response::Icmp(r.msg)),
                summary,
                error,
                process: None,
            })),
        ));
    }
}

/// `destination-unreachable 3/1 host-unreachable` (no quote: the entry is the ping).
fn error_label(m: &IcmpMessage) -> String {
    match m.code_name {
        Some(c) => format!("{} {}/{} {c}", m.type_name, m.icmp_type, m.code),
        None => format!("{} {}/{}", m.type_name, m.icmp_type, m.code),
    }
}
