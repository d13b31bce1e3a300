//! DNS entries: a query and its response paired by id on the flow (UDP, TCP);
//! mDNS messages one-way.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{decode_error, spanned, Item, Protocol};
use ks_proto_dns::{DnsParser, Message};

pub(crate) struct Dns;

impl Protocol for Dns {
    type P = DnsParser;
    const NAME: &'static str = "dns";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let x = *x;
                // A further response to an answered query is reported as such; the
                // engine names the other one-sided cases (no-request, no-response).
                let error = match (&x.request, &x.note) {
                    (None, Some(n)) if n.starts_with("another response") => Some(EntryError {
                        kind: "repeated-response".into(),
                        message: n.clone(),
                    }),
                    (Some(_), Some(n)) if n == ks_proto_dns::RETRANSMISSION => Some(EntryError {
                        kind: "retransmission".into(),
                        message: n.clone(),
                    }),
                    _ => decode_error(
                        "not-decoded",
                        x.request.as_ref().map(|q| &q.error),
                        x.response.as_ref().map(|r| &r.error),
                    ),
                };
                Item::Exchange {
                    request: spanned!(x.request, Request::Dns),
                    response: spanned!(x.response, Response::Dns),
                    summary,
                    error,
                    version: String::new(),
                    request_dir: ks_proto::Direction::ToServer,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.message.start, o.message.end),
                summary: o.summary(),
                error: None,
                version: String::new(),
                message: Request::Dns(o.message),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &DnsParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("dns.undecoded", c.undecoded);
        add("dns.repeated_responses", c.repeated_responses);
        add("dns.retransmissions", c.retransmissions);
        add("dns.pending_capped", c.pending_capped);
        add("dns.not_dns", c.not_dns);
    }
}
