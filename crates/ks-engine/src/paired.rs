//! Protocols whose parser pairs requests and responses itself (it sees both
//! directions and knows the session id: Redis order, Kafka correlation id, AMQP
//! channel): one generic session turns their exchanges and one-way messages into
//! entries; each protocol only says how its messages look in an entry.

use crate::drive::{Io, NewEntry, Session};
use crate::entry::{EntryError, Frames, Request, Response};
use crate::stream::FrameMark;
use ks_proto::{Direction, StreamParser};

/// `spanned!(x.request, Request::Dns)`: the optional message as an entry side with
/// its absolute `(start, end)` offsets (every pairing parser's messages have both).
macro_rules! spanned {
    ($m:expr, $wrap:path) => {
        $m.map(|m| {
            let span = (m.start, m.end);
            ($wrap(m), span)
        })
    };
}
pub(crate) use spanned;

/// The first of a request's and a response's decoding errors as an entry error of
/// `kind` (`not-decoded`, `malformed`): what a pairing parser could not read.
pub(crate) fn decode_error(
    kind: &str,
    request: Option<&Option<String>>,
    response: Option<&Option<String>>,
) -> Option<EntryError> {
    let message = request
        .and_then(Option::as_ref)
        .or(response.and_then(Option::as_ref))?;
    Some(EntryError {
        kind: kind.into(),
        message: message.clone(),
    })
}

/// One message of a pairing parser, as the engine sees it (short-lived: made and
/// consumed in one call, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item {
    /// A request and its response; spans are absolute offsets in their direction.
    Exchange {
        request: Option<(Request, (u64, u64))>,
        response: Option<(Response, (u64, u64))>,
        summary: String,
        error: Option<EntryError>,
        /// Protocol version shown on the entry.
        version: String,
        /// Who sent the request (AMQP servers ask too: `connection.start`).
        request_dir: Direction,
    },
    /// A message that goes one way (pushed, published, delivered).
    OneWay {
        dir: Direction,
        message: Request,
        span: (u64, u64),
        summary: String,
        error: Option<EntryError>,
        version: String,
    },
    /// A parser event (counted in `Stats::events`).
    Event(&'static str),
}

/// How one protocol's messages become entries.
pub(crate) trait Protocol {
    /// The parser.
    type P: StreamParser;
    /// Entry protocol name.
    const NAME: &'static str;
    /// One parser message as an entry item.
    fn item(m: <Self::P as StreamParser>::Message) -> Item;
    /// Add the parser's counters to the engine's events (by name).
    fn counters(p: &Self::P, add: &mut dyn FnMut(&'static str, u64));
}

pub(crate) struct PairedSession<X: Protocol> {
    pub parser: X::P,
    pub scratch: Vec<<X::P as StreamParser>::Message>,
}

impl<X: Protocol> PairedSession<X> {
    pub fn new(parser: X::P) -> Self {
        PairedSession {
            parser,
            scratch: Vec::new(),
        }
    }
}

fn span_frames(
    io: &Io<'_, '_>,
    dir: Direction,
    (start, end): (u64, u64),
) -> (FrameMark, FrameMark) {
    (
        io.frame_of(dir, start),
        io.frame_of(dir, end.max(start + 1) - 1),
    )
}

impl<X: Protocol> Session for PairedSession<X> {
    type P = X::P;

    fn parts(&mut self) -> (&mut X::P, &mut Vec<<X::P as StreamParser>::Message>) {
        (&mut self.parser, &mut self.scratch)
    }

    fn parser(&self) -> &X::P {
        &self.parser
    }

    fn deliver(&mut self, io: &mut Io<'_, '_>, _dir: Direction, _closing: bool) {
        if !self.scratch.is_empty() {
            let mut msgs = std::mem::take(&mut self.scratch);
            for m in msgs.drain(..) {
                emit::<X>(io, X::item(m));
            }
            self.scratch = msgs;
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            let lw = self.parser.low_water(dir);
            io.dir(dir).prune(lw);
        }
    }

    fn close(&mut self, io: &mut Io<'_, '_>) {
        let events = &mut io.ctx.stats.events;
        X::counters(&self.parser, &mut |k, v| {
            if v > 0 {
                *events.entry(k).or_default() += v;
            }
        });
    }
}

fn emit<X: Protocol>(io: &mut Io<'_, '_>, item: Item) {
    match item {
        Item::Event(kind) => io.event(kind),
        Item::Exchange {
            request,
            response,
            summary,
            error,
            version,
            request_dir,
        } => {
            let q = request
                .as_ref()
                .map(|(_, s)| span_frames(io, request_dir, *s));
            let p = response
                .as_ref()
                .map(|(_, s)| span_frames(io, request_dir.reverse(), *s));
            let Some(first) = q.or(p).map(|(a, _)| a) else {
                return;
            };
            let elapsed_us = match (q, p) {
                (Some((a, _)), Some((_, b))) => Some(b.ts_ns.saturating_sub(a.ts_ns) / 1000),
                _ => None,
            };
            let error = error.or_else(|| match (&request, &response) {
                (None, _) => Some(EntryError {
                    kind: "no-request".into(),
                    message: "response without a request on this connection".into(),
                }),
                (_, None) => Some(EntryError {
                    kind: "no-response".into(),
                    message: "no response before the connection ended".into(),
                }),
                _ => None,
            });
            io.emit(NewEntry {
                protocol: X::NAME,
                version,
                stream_id: None,
                // A server-sent request: its sender is the entry's `src`.
                one_way: (request_dir == Direction::ToClient).then_some(request_dir),
                first,
                elapsed_us,
                frames: Frames {
                    request: q.map(|(a, b)| [a.frame, b.frame]),
                    response: p.map(|(a, b)| [a.frame, b.frame]),
                },
                request: request.map(|(r, _)| r),
                response: response.map(|(r, _)| r),
                summary,
                error,
            });
        }
        Item::OneWay {
            dir,
            message,
            span,
            summary,
            error,
            version,
        } => {
            let (first, last) = span_frames(io, dir, span);
            io.emit(NewEntry {
                protocol: X::NAME,
                version,
                stream_id: None,
                one_way: Some(dir),
                first,
                elapsed_us: None,
                frames: Frames {
                    request: Some([first.frame, last.frame]),
                    response: None,
                },
                request: Some(message),
                response: None,
                summary,
                error,
            });
        }
    }
}
