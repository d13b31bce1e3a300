//! TLS connections: one `tls` entry per handshake, and — with a key log
//! (`--tls-keylog`) — the decrypted bytes run through protocol detection again, so
//! the HTTP/1, HTTP/2 and gRPC inside come out as their own entries marked `tls`.

use crate::conn::{side_for, Conn, Ctx};
use crate::drive::{Io, NewEntry, Session};
use crate::entry::{EntryError, Frames, Request, TlsAfterHandshake};
use crate::stream::FrameMark;
use ks_proto::{Direction, Protocol, StreamParser};
use ks_proto_tls::{Alert, Handshake, HandshakeMsg, TlsMessage, TlsParser};
use ks_reassembly::StreamEvent;

pub(crate) struct TlsSession {
    pub parser: TlsParser,
    pub scratch: Vec<TlsMessage>,
    /// Absolute stream offset where the parser's offset 0 is, per direction (a
    /// StartTLS or a flow picked up late starts past 0).
    base: [u64; 2],
    /// The decrypted connection: detection and dissection of the plaintext.
    inner: Option<Box<Conn>>,
    /// Plaintext bytes handed to `inner` so far, per direction.
    plain: [u64; 2],
    /// The application protocol the handshake chose (ALPN).
    alpn: Option<String>,
    /// Post-handshake messages and alerts, for the entry at the end.
    after: Option<Box<After>>,
}

/// Post-handshake items kept per connection.
const MAX_AFTER: usize = 64;

#[derive(Default)]
struct After {
    items: TlsAfterHandshake,
    /// First and last frame of each direction's items.
    sides: [Option<(FrameMark, FrameMark)>; 2],
}

impl After {
    fn add(&mut self, dir: Direction, at: FrameMark) {
        widen(&mut self.sides, dir, at);
    }
}

/// Extend `dir`'s frame span to `at`.
fn widen(sides: &mut [Option<(FrameMark, FrameMark)>; 2], dir: Direction, at: FrameMark) {
    let s = &mut sides[dir.index()];
    *s = Some(match *s {
        Some((a, b)) => (a, if at.frame > b.frame { at } else { b }),
        None => (at, at),
    });
}

impl TlsSession {
    pub fn new(parser: TlsParser, base: [u64; 2]) -> Self {
        TlsSession {
            parser,
            scratch: Vec::new(),
            base,
            inner: None,
            plain: [0; 2],
            alpn: None,
            after: None,
        }
    }

    /// Run `f` on the inner connection with the outer one's entry numbering, and
    /// mark what it emitted as seen through TLS.
    fn with_inner(&mut self, io: &mut Io<'_, '_>, f: impl FnOnce(&mut Conn, &mut Ctx<'_>)) {
        let Some(inner) = self.inner.as_deref_mut() else {
            return;
        };
        let before = io.ctx.out.len();
        inner.entries = *io.entries;
        f(inner, io.ctx);
        *io.entries = inner.entries;
        for (_, out) in io.ctx.out.range_mut(before..) {
            if let crate::entry::Output::Entry(e) = out {
                e.tls = true;
            }
        }
    }

    fn plaintext(&mut self, io: &mut Io<'_, '_>, dir: Direction, data: &[u8]) {
        if self.inner.is_none() {
            // The application protocol ALPN chose, else detection.
            let forced = match self.alpn.as_deref() {
                Some("h2") => Some(Protocol::Http2),
                Some("http/1.1" | "http/1.0") => Some(Protocol::Http),
                _ => None,
            };
            let mut inner = Conn::new(forced);
            inner.client = io.client;
            inner.nested = true;
            self.inner = Some(Box::new(inner));
        }
        let side = side_for(io.client, dir);
        let offset = self.plain[dir.index()];
        self.plain[dir.index()] += data.len() as u64;
        self.with_inner(io, |c, ctx| {
            c.on_event(ctx, StreamEvent::Data { side, offset, data })
        });
    }

    fn handshake(&mut self, io: &mut Io<'_, '_>, h: Handshake) {
        // Only a selected protocol counts (an offer is not a choice).
        self.alpn = h
            .server_hello
            .as_ref()
            .and_then(|s| s.alpn.clone())
            .or(self.alpn.take());
        // Each side spans its handshake messages and alerts (a server refusing a
        // ClientHello has only its alert).
        let mut sides: [Option<(FrameMark, FrameMark)>; 2] = [None, None];
        let at = h
            .messages
            .iter()
            .map(|m| (m.dir, m.record_end.max(1) - 1))
            .chain(h.alerts.iter().map(|a| (a.dir, a.offset)));
        for (dir, offset) in at {
            let at = io.frame_of(dir, self.base[dir.index()] + offset);
            widen(&mut sides, dir, at);
        }
        let [q, p] = sides;
        let first = match (q, p) {
            (Some((a, _)), _) | (None, Some((a, _))) => a,
            (None, None) => io.here(self.base[0]),
        };
        let elapsed_us = match (q, p) {
            (Some((a, _)), Some((_, b))) => Some(b.ts_ns.saturating_sub(a.ts_ns) / 1000),
            _ => None,
        };
        let error = handshake_error(&h, io.ctx.cfg.tls.keylog.is_some());
        io.emit(NewEntry {
            protocol: "tls",
            version: h.version.clone().unwrap_or_default(),
            stream_id: None,
            one_way: None,
            first,
            elapsed_us,
            frames: Frames {
                request: q.map(|(a, b)| [a.frame, b.frame]),
                response: p.map(|(a, b)| [a.frame, b.frame]),
            },
            summary: h.summary(),
            request: Some(Request::Tls(Box::new(h))),
            response: None,
            error,
        });
    }
}

impl TlsSession {
    fn after_alert(&mut self, io: &mut Io<'_, '_>, alert: Alert) {
        let at = io.frame_of(alert.dir, self.base[alert.dir.index()] + alert.offset);
        let a = self.after.get_or_insert_with(Default::default);
        if a.items.alerts.len() + a.items.messages.len() >= MAX_AFTER {
            a.items.dropped += 1;
            return;
        }
        a.add(alert.dir, at);
        a.items.alerts.push(alert);
    }

    fn after_message(&mut self, io: &mut Io<'_, '_>, m: HandshakeMsg) {
        let at = io.frame_of(m.dir, self.base[m.dir.index()] + m.record_end.max(1) - 1);
        let a = self.after.get_or_insert_with(Default::default);
        if a.items.alerts.len() + a.items.messages.len() >= MAX_AFTER {
            a.items.dropped += 1;
            return;
        }
        a.add(m.dir, at);
        a.items.messages.push(m);
    }
}

/// The connection's post-handshake entry: `tls after handshake: new_session_ticket×2
/// from server, close_notify from client`.
fn emit_after(io: &mut Io<'_, '_>, a: After) {
    let [q, p] = a.sides;
    let Some(first) = q.or(p).map(|(f, _)| f) else {
        return;
    };
    let mut parts: Vec<(String, Direction, u32)> = Vec::new();
    let names = a
        .items
        .messages
        .iter()
        .map(|m| (m.kind, m.dir))
        .chain(a.items.alerts.iter().map(|x| (x.description, x.dir)));
    for (name, dir) in names {
        match parts.last_mut() {
            Some((n, d, k)) if n == name && *d == dir => *k += 1,
            _ => parts.push((name.to_string(), dir, 1)),
        }
    }
    let list: Vec<String> = parts
        .into_iter()
        .map(|(n, d, k)| {
            let from = match d {
                Direction::ToServer => "client",
                Direction::ToClient => "server",
            };
            if k > 1 {
                format!("{n}×{k} from {from}")
            } else {
                format!("{n} from {from}")
            }
        })
        .collect();
    let error = a.items.alerts.iter().find_map(alert_error);
    io.emit(NewEntry {
        protocol: "tls",
        version: String::new(),
        stream_id: None,
        one_way: None,
        first,
        elapsed_us: None,
        frames: Frames {
            request: q.map(|(a, b)| [a.frame, b.frame]),
            response: p.map(|(a, b)| [a.frame, b.frame]),
        },
        request: Some(Request::TlsAfterHandshake(a.items)),
        response: None,
        summary: format!("tls after handshake: {}", list.join(", ")),
        error,
    });
}

/// A fatal alert as an entry error, naming its sender.
fn alert_error(a: &Alert) -> Option<EntryError> {
    (a.level == "fatal").then(|| EntryError {
        kind: "tls-alert".into(),
        message: format!(
            "fatal alert {} from the {}",
            a.description,
            match a.dir {
                Direction::ToServer => "client",
                Direction::ToClient => "server",
            }
        ),
    })
}

/// Why a handshake entry is not clean: a fatal alert, or decryption that was asked
/// for and failed.
fn handshake_error(h: &Handshake, keylog: bool) -> Option<EntryError> {
    if let Some(e) = h.alerts.iter().find_map(alert_error) {
        return Some(e);
    }
    match &h.decryption {
        Some(d) if keylog && d != "decrypted" => Some(EntryError {
            kind: "tls-decrypt".into(),
            message: d.clone(),
        }),
        _ => None,
    }
}

impl Session for TlsSession {
    type P = TlsParser;

    fn parts(&mut self) -> (&mut TlsParser, &mut Vec<TlsMessage>) {
        (&mut self.parser, &mut self.scratch)
    }

    fn parser(&self) -> &TlsParser {
        &self.parser
    }

    fn deliver(&mut self, io: &mut Io<'_, '_>, dir: Direction, closing: bool) {
        if !self.scratch.is_empty() {
            let mut msgs = std::mem::take(&mut self.scratch);
            for m in msgs.drain(..) {
                match m {
                    TlsMessage::Handshake(h) => self.handshake(io, *h),
                    TlsMessage::Plaintext { dir, data, .. } => self.plaintext(io, dir, &data),
                    TlsMessage::Alert { alert, .. } => self.after_alert(io, alert),
                    TlsMessage::PostHandshake(m) => self.after_message(io, m),
                    TlsMessage::Event(e) => io.event(e.kind),
                }
            }
            self.scratch = msgs;
        }
        if closing {
            let side = side_for(io.client, dir);
            self.with_inner(io, |c, ctx| c.on_event(ctx, StreamEvent::Fin { side }));
        }
        let lw = self.base[dir.index()] + self.parser.low_water(dir);
        io.dir(dir).prune(lw);
    }

    fn close(&mut self, io: &mut Io<'_, '_>) {
        self.with_inner(io, |c, ctx| c.finish_inner(ctx));
        if let Some(after) = self.after.take() {
            emit_after(io, *after);
        }
        let c = self.parser.counters();
        let events = &mut io.ctx.stats.events;
        for (k, v) in [
            ("tls.records", c.records),
            ("tls.handshake_messages", c.handshake_messages),
            ("tls.encrypted_records", c.encrypted_records),
            ("tls.resyncs", c.resyncs),
            ("tls.oversized_records", c.oversized_records),
            ("tls.oversized_messages", c.oversized_messages),
        ] {
            if v > 0 {
                *events.entry(k).or_default() += v;
            }
        }
    }
}
