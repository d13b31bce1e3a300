//! Redis entries: a command and its reply (paired in order by the parser,
//! pipelining and pub/sub confirmations included), pushed messages one-way.

use crate::entry::{EntryError, Request, Response};
use crate::paired::{spanned, Item, Protocol};
use ks_proto_redis::{Message, RedisParser};

pub(crate) struct Redis;

impl Protocol for Redis {
    type P = RedisParser;
    const NAME: &'static str = "redis";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let error = x
                    .response
                    .as_ref()
                    .and_then(|r| r.error.clone())
                    .map(|e| EntryError {
                        kind: "redis-error".into(),
                        message: e,
                    });
                let x = *x;
                Item::Exchange {
                    request: spanned!(x.request, Request::Redis),
                    response: spanned!(x.response, Response::Redis),
                    summary,
                    error,
                    version: String::new(),
                    request_dir: ks_proto::Direction::ToServer,
                }
            }
            Message::OneWay(o) => Item::OneWay {
                dir: o.dir,
                span: (o.start, o.end),
                summary: o.summary(),
                error: None,
                version: String::new(),
                message: Request::RedisPush(*o),
            },
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &RedisParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("redis.parse_errors", c.parse_errors);
        add("redis.resyncs", c.resyncs);
        add("redis.pending_capped", c.pending_capped);
        add("redis.truncated", c.truncated);
    }
}
