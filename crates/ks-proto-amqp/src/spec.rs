//! The AMQP 0-9-1 method table (spec XML `amqp0-9-1.extended.xml` with RabbitMQ's
//! errata and extensions: connection.blocked/unblocked/update-secret,
//! exchange.bind/unbind, basic.nack, confirm.select).

/// Wire type of a method argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Octet,
    Short,
    Long,
    LongLong,
    ShortStr,
    LongStr,
    Bit,
    Table,
}

/// One method of the protocol.
#[derive(Debug)]
pub(crate) struct MethodSpec {
    pub class_id: u16,
    pub method_id: u16,
    pub class: &'static str,
    pub name: &'static str,
    /// Arguments in wire order; names starting with `reserved` are decoded but not shown.
    pub args: &'static [(&'static str, Arg)],
    /// Method ids (same class) that answer it; empty for asynchronous methods and responses.
    pub responses: &'static [u16],
    /// Followed by a content header and body frames.
    pub content: bool,
    /// Answers a synchronous request.
    pub is_response: bool,
}

use Arg::*;

const fn m(
    class_id: u16,
    method_id: u16,
    class: &'static str,
    name: &'static str,
    args: &'static [(&'static str, Arg)],
    responses: &'static [u16],
) -> MethodSpec {
    MethodSpec {
        class_id,
        method_id,
        class,
        name,
        args,
        responses,
        content: false,
        is_response: false,
    }
}

const fn ok(
    class_id: u16,
    method_id: u16,
    class: &'static str,
    name: &'static str,
    args: &'static [(&'static str, Arg)],
) -> MethodSpec {
    MethodSpec {
        class_id,
        method_id,
        class,
        name,
        args,
        responses: &[],
        content: false,
        is_response: true,
    }
}

const fn with_content(mut s: MethodSpec) -> MethodSpec {
    s.content = true;
    s
}

const CLOSE_ARGS: &[(&str, Arg)] = &[
    ("reply_code", Short),
    ("reply_text", ShortStr),
    ("class_id", Short),
    ("method_id", Short),
];
const TUNE_ARGS: &[(&str, Arg)] = &[
    ("channel_max", Short),
    ("frame_max", Long),
    ("heartbeat", Short),
];
const EXCHANGE_BIND_ARGS: &[(&str, Arg)] = &[
    ("reserved_1", Short),
    ("destination", ShortStr),
    ("source", ShortStr),
    ("routing_key", ShortStr),
    ("no_wait", Bit),
    ("arguments", Table),
];

pub(crate) const CONNECTION: u16 = 10;
pub(crate) const CHANNEL: u16 = 20;
pub(crate) const BASIC: u16 = 60;
/// Method id of `close` in the connection and channel classes.
pub(crate) const CLOSE: u16 = 40;
pub(crate) const CONNECTION_CLOSE: u16 = 50;

pub(crate) static METHODS: &[MethodSpec] = &[
    // connection
    m(
        10,
        10,
        "connection",
        "connection.start",
        &[
            ("version_major", Octet),
            ("version_minor", Octet),
            ("server_properties", Table),
            ("mechanisms", LongStr),
            ("locales", LongStr),
        ],
        &[11],
    ),
    ok(
        10,
        11,
        "connection",
        "connection.start-ok",
        &[
            ("client_properties", Table),
            ("mechanism", ShortStr),
            ("response", LongStr),
            ("locale", ShortStr),
        ],
    ),
    m(
        10,
        20,
        "connection",
        "connection.secure",
        &[("challenge", LongStr)],
        &[21],
    ),
    ok(
        10,
        21,
        "connection",
        "connection.secure-ok",
        &[("response", LongStr)],
    ),
    m(10, 30, "connection", "connection.tune", TUNE_ARGS, &[31]),
    ok(10, 31, "connection", "connection.tune-ok", TUNE_ARGS),
    m(
        10,
        40,
        "connection",
        "connection.open",
        &[
            ("virtual_host", ShortStr),
            ("reserved_1", ShortStr),
            ("reserved_2", Bit),
        ],
        &[41],
    ),
    ok(
        10,
        41,
        "connection",
        "connection.open-ok",
        &[("reserved_1", ShortStr)],
    ),
    m(10, 50, "connection", "connection.close", CLOSE_ARGS, &[51]),
    ok(10, 51, "connection", "connection.close-ok", &[]),
    m(
        10,
        60,
        "connection",
        "connection.blocked",
        &[("reason", ShortStr)],
        &[],
    ),
    m(10, 61, "connection", "connection.unblocked", &[], &[]),
    m(
        10,
        70,
        "connection",
        "connection.update-secret",
        &[("new_secret", LongStr), ("reason", ShortStr)],
        &[71],
    ),
    ok(10, 71, "connection", "connection.update-secret-ok", &[]),
    // channel
    m(
        20,
        10,
        "channel",
        "channel.open",
        &[("reserved_1", ShortStr)],
        &[11],
    ),
    ok(
        20,
        11,
        "channel",
        "channel.open-ok",
        &[("reserved_1", LongStr)],
    ),
    m(20, 20, "channel", "channel.flow", &[("active", Bit)], &[21]),
    ok(20, 21, "channel", "channel.flow-ok", &[("active", Bit)]),
    m(20, 40, "channel", "channel.close", CLOSE_ARGS, &[41]),
    ok(20, 41, "channel", "channel.close-ok", &[]),
    // exchange
    m(
        40,
        10,
        "exchange",
        "exchange.declare",
        &[
            ("reserved_1", Short),
            ("exchange", ShortStr),
            ("type", ShortStr),
            ("passive", Bit),
            ("durable", Bit),
            ("auto_delete", Bit),
            ("internal", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
        &[11],
    ),
    ok(40, 11, "exchange", "exchange.declare-ok", &[]),
    m(
        40,
        20,
        "exchange",
        "exchange.delete",
        &[
            ("reserved_1", Short),
            ("exchange", ShortStr),
            ("if_unused", Bit),
            ("no_wait", Bit),
        ],
        &[21],
    ),
    ok(40, 21, "exchange", "exchange.delete-ok", &[]),
    m(
        40,
        30,
        "exchange",
        "exchange.bind",
        EXCHANGE_BIND_ARGS,
        &[31],
    ),
    ok(40, 31, "exchange", "exchange.bind-ok", &[]),
    m(
        40,
        40,
        "exchange",
        "exchange.unbind",
        EXCHANGE_BIND_ARGS,
        &[51],
    ),
    ok(40, 51, "exchange", "exchange.unbind-ok", &[]),
    // queue
    m(
        50,
        10,
        "queue",
        "queue.declare",
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("passive", Bit),
            ("durable", Bit),
            ("exclusive", Bit),
            ("auto_delete", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
        &[11],
    ),
    ok(
        50,
        11,
        "queue",
        "queue.declare-ok",
        &[
            ("queue", ShortStr),
            ("message_count", Long),
            ("consumer_count", Long),
        ],
    ),
    m(
        50,
        20,
        "queue",
        "queue.bind",
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
        &[21],
    ),
    ok(50, 21, "queue", "queue.bind-ok", &[]),
    m(
        50,
        30,
        "queue",
        "queue.purge",
        &[("reserved_1", Short), ("queue", ShortStr), ("no_wait", Bit)],
        &[31],
    ),
    ok(
        50,
        31,
        "queue",
        "queue.purge-ok",
        &[("message_count", Long)],
    ),
    m(
        50,
        40,
        "queue",
        "queue.delete",
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("if_unused", Bit),
            ("if_empty", Bit),
            ("no_wait", Bit),
        ],
        &[41],
    ),
    ok(
        50,
        41,
        "queue",
        "queue.delete-ok",
        &[("message_count", Long)],
    ),
    m(
        50,
        50,
        "queue",
        "queue.unbind",
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("arguments", Table),
        ],
        &[51],
    ),
    ok(50, 51, "queue", "queue.unbind-ok", &[]),
    // basic
    m(
        60,
        10,
        "basic",
        "basic.qos",
        &[
            ("prefetch_size", Long),
            ("prefetch_count", Short),
            ("global", Bit),
        ],
        &[11],
    ),
    ok(60, 11, "basic", "basic.qos-ok", &[]),
    m(
        60,
        20,
        "basic",
        "basic.consume",
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("consumer_tag", ShortStr),
            ("no_local", Bit),
            ("no_ack", Bit),
            ("exclusive", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
        &[21],
    ),
    ok(
        60,
        21,
        "basic",
        "basic.consume-ok",
        &[("consumer_tag", ShortStr)],
    ),
    m(
        60,
        30,
        "basic",
        "basic.cancel",
        &[("consumer_tag", ShortStr), ("no_wait", Bit)],
        &[31],
    ),
    ok(
        60,
        31,
        "basic",
        "basic.cancel-ok",
        &[("consumer_tag", ShortStr)],
    ),
    with_content(m(
        60,
        40,
        "basic",
        "basic.publish",
        &[
            ("reserved_1", Short),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("mandatory", Bit),
            ("immediate", Bit),
        ],
        &[],
    )),
    with_content(m(
        60,
        50,
        "basic",
        "basic.return",
        &[
            ("reply_code", Short),
            ("reply_text", ShortStr),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
        ],
        &[],
    )),
    with_content(m(
        60,
        60,
        "basic",
        "basic.deliver",
        &[
            ("consumer_tag", ShortStr),
            ("delivery_tag", LongLong),
            ("redelivered", Bit),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
        ],
        &[],
    )),
    m(
        60,
        70,
        "basic",
        "basic.get",
        &[("reserved_1", Short), ("queue", ShortStr), ("no_ack", Bit)],
        &[71, 72],
    ),
    with_content(ok(
        60,
        71,
        "basic",
        "basic.get-ok",
        &[
            ("delivery_tag", LongLong),
            ("redelivered", Bit),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("message_count", Long),
        ],
    )),
    ok(
        60,
        72,
        "basic",
        "basic.get-empty",
        &[("reserved_1", ShortStr)],
    ),
    m(
        60,
        80,
        "basic",
        "basic.ack",
        &[("delivery_tag", LongLong), ("multiple", Bit)],
        &[],
    ),
    m(
        60,
        90,
        "basic",
        "basic.reject",
        &[("delivery_tag", LongLong), ("requeue", Bit)],
        &[],
    ),
    m(
        60,
        100,
        "basic",
        "basic.recover-async",
        &[("requeue", Bit)],
        &[],
    ),
    m(
        60,
        110,
        "basic",
        "basic.recover",
        &[("requeue", Bit)],
        &[111],
    ),
    ok(60, 111, "basic", "basic.recover-ok", &[]),
    m(
        60,
        120,
        "basic",
        "basic.nack",
        &[
            ("delivery_tag", LongLong),
            ("multiple", Bit),
            ("requeue", Bit),
        ],
        &[],
    ),
    // confirm
    m(
        85,
        10,
        "confirm",
        "confirm.select",
        &[("no_wait", Bit)],
        &[11],
    ),
    ok(85, 11, "confirm", "confirm.select-ok", &[]),
    // tx
    m(90, 10, "tx", "tx.select", &[], &[11]),
    ok(90, 11, "tx", "tx.select-ok", &[]),
    m(90, 20, "tx", "tx.commit", &[], &[21]),
    ok(90, 21, "tx", "tx.commit-ok", &[]),
    m(90, 30, "tx", "tx.rollback", &[], &[31]),
    ok(90, 31, "tx", "tx.rollback-ok", &[]),
];

/// The spec of a method.
pub(crate) fn lookup(class_id: u16, method_id: u16) -> Option<&'static MethodSpec> {
    METHODS
        .iter()
        .find(|s| s.class_id == class_id && s.method_id == method_id)
}

/// Name of a class id (also for methods this table does not know).
pub(crate) fn class_name(class_id: u16) -> Option<&'static str> {
    Some(match class_id {
        10 => "connection",
        20 => "channel",
        40 => "exchange",
        50 => "queue",
        60 => "basic",
        85 => "confirm",
        90 => "tx",
        _ => return None,
    })
}
