//! RADIUS entries: a request and its answer paired by identifier on the flow.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{decode_error, spanned, Item, Protocol};
use ks_proto_radius::{Message, RadiusParser};

pub(crate) struct Radius;

impl Protocol for Radius {
    type P = RadiusParser;
    const NAME: &'static str = "radius";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let x = *x;
                let again = x.request.as_ref().is_some_and(|q| q.retransmission).then(|| {
                    EntryError {
                        kind: "retransmission".into(),
                        message: "request sent again before an answer; the answer is paired with the first".into(),
                    }
                });
                // A rejection or a NAK is the answer failing, shown as an error.
                let error = again.or(x
                    .response
                    .as_ref()
                    .filter(|r| matches!(r.code, 3 | 42 | 45))
                    .map(|r| EntryError {
                        kind: "radius-reject".into(),
                        message: r.code_name.clone(),
                    })
                    .or_else(|| {
                        decode_error(
                            "malformed",
                            x.request.as_ref().map(|q| &q.error),
                            x.response.as_ref().map(|r| &r.error),
                        )
                    }));
                Item::Exchange {
                    request: spanned!(x.request, Request::Radius),
                    response: spanned!(x.response, Response::Radius),
                    summary,
                    error,
                    version: String::new(),
                    request_dir: ks_proto::Direction::ToServer,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.packet.start, o.packet.end),
                summary: o.packet.label(),
                error: None,
                version: String::new(),
                message: Request::Radius(o.packet),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &RadiusParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("radius.malformed", c.malformed);
        add("radius.not_radius", c.not_radius);
        add("radius.pending_capped", c.pending_capped);
        add("radius.retransmissions", c.retransmissions);
    }
}
