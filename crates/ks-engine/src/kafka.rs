//! Kafka entries: requests and responses paired by correlation id (the parser
//! decodes each response with its request's API key and version); Produce with
//! `acks=0` is one-way.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{decode_error, spanned, Item, Protocol};
use ks_proto_kafka::{KafkaParser, Message};

pub(crate) struct Kafka;

impl Protocol for Kafka {
    type P = KafkaParser;
    const NAME: &'static str = "kafka";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let undecoded = decode_error(
                    "not-decoded",
                    x.request.as_ref().map(|q| &q.error),
                    x.response.as_ref().map(|r| &r.error),
                );
                let unexpected =
                    x.response
                        .as_ref()
                        .and_then(|r| r.unexpected.clone())
                        .map(|message| EntryError {
                            kind: "unexpected-response".into(),
                            message,
                        });
                let version = x
                    .request
                    .as_ref()
                    .map(|r| r.api_version.to_string())
                    .unwrap_or_default();
                let x = *x;
                Item::Exchange {
                    request: spanned!(x.request, Request::Kafka),
                    response: spanned!(x.response, Response::Kafka),
                    summary,
                    error: unexpected.or(undecoded),
                    version,
                    request_dir: ks_proto::Direction::ToServer,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.start, o.end),
                summary: o.summary(),
                error: None,
                version: o.request.api_version.to_string(),
                message: Request::Kafka(o.request),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &KafkaParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("kafka.undecoded", c.undecoded);
        add("kafka.too_large", c.too_large);
        add("kafka.parse_errors", c.parse_errors);
        add("kafka.resyncs", c.resyncs);
        add("kafka.pending_capped", c.pending_capped);
        add("kafka.unexpected_responses", c.unexpected_responses);
    }
}
