//! AMQP 0-9-1 entries: synchronous methods paired with their `-ok` on the same
//! channel (either side may ask: `connection.start` comes from the server),
//! asynchronous ones (publish, deliver, return, ack…) one-way with their message.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{spanned, Item, Protocol};
use ks_proto_amqp::{AmqpParser, Message};

pub(crate) struct Amqp;

/// A close with a code other than 200 (`reply-success`) is the entry's error.
fn close_error(e: Option<(u16, String)>) -> Option<EntryError> {
    e.filter(|(code, _)| *code != 200)
        .map(|(code, text)| EntryError {
            kind: "amqp-close".into(),
            message: format!("{code} {text}"),
        })
}

impl Protocol for Amqp {
    type P = AmqpParser;
    const NAME: &'static str = "amqp";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let error = close_error(x.error());
                let x = *x;
                Item::Exchange {
                    request: spanned!(x.request, Request::Amqp),
                    response: spanned!(x.response, Response::Amqp),
                    summary,
                    error,
                    version: "0-9-1".into(),
                    request_dir: x.request_dir,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.start, o.end),
                summary: o.summary(),
                error: close_error(o.error()),
                version: "0-9-1".into(),
                message: Request::Amqp(o.message),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &AmqpParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("amqp.heartbeats", c.heartbeats);
        add("amqp.parse_errors", c.parse_errors);
        add("amqp.resyncs", c.resyncs);
        add("amqp.unknown_methods", c.unknown_methods);
        add("amqp.pending_capped", c.pending_capped);
    }
}
