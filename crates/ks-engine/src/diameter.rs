//! DIAMETER entries: a request and its answer paired by hop-by-hop id. Both peers
//! send requests (watchdogs, disconnects, re-auth from a PCRF), so an exchange keeps
//! the direction its request went: a server-sent request's sender is the entry's
//! `src`.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{decode_error, spanned, Item, Protocol};
use ks_proto_diameter::{DiameterMessage, DiameterParser, Message};

pub(crate) struct Diameter;

fn failure(m: &DiameterMessage) -> Option<EntryError> {
    let failed = m.error_flag()
        || m.result_code.is_some_and(|c| c >= 3000)
        || m.experimental_result
            .as_ref()
            .is_some_and(|e| e.code >= 3000);
    failed.then(|| EntryError {
        kind: "diameter-error".into(),
        message: match &m.error_message {
            Some(t) => format!("{}: {t}", m.result()),
            None => m.result(),
        },
    })
}

impl Protocol for Diameter {
    type P = DiameterParser;
    const NAME: &'static str = "diameter";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let x = *x;
                let error = x.response.as_ref().and_then(failure).or_else(|| {
                    decode_error(
                        "malformed",
                        x.request.as_ref().map(|q| &q.error),
                        x.response.as_ref().map(|r| &r.error),
                    )
                });
                Item::Exchange {
                    request: spanned!(x.request, Request::Diameter),
                    response: spanned!(x.response, Response::Diameter),
                    summary,
                    error,
                    version: String::new(),
                    request_dir: x.request_dir,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.message.start, o.message.end),
                summary: o.summary(),
                error: None,
                version: String::new(),
                message: Request::Diameter(o.message),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &DiameterParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("diameter.malformed", c.malformed);
        add("diameter.avps_truncated", c.avps_truncated);
        add("diameter.resyncs", c.resyncs);
        add("diameter.pending_capped", c.pending_capped);
        add("diameter.orphan_answers", c.orphan_answers);
        add("diameter.duplicate_hop_by_hop", c.duplicate_hop_by_hop);
    }
}
