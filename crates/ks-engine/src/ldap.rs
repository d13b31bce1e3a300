//! LDAP entries: an operation and its result paired by messageID, a search with its
//! entries and references; unbind, abandon and unsolicited notifications one-way.

use crate::entry::{EntryError, LdapResult, Request, Response};
use crate::paired::{decode_error, Item, Protocol};
use ks_proto::Direction;
use ks_proto_ldap::{LdapParser, Message};

pub(crate) struct Ldap;

/// Result codes that are not failures: success, compareFalse/True, referral (the
/// client follows it), saslBindInProgress.
fn failed(code: i64) -> bool {
    !matches!(code, 0 | 5 | 6 | 10 | 14)
}

impl Protocol for Ldap {
    type P = LdapParser;
    const NAME: &'static str = "ldap";

    fn item(m: Message) -> Item {
        match m {
            Message::Exchange(x) => {
                let summary = x.summary();
                let x = *x;
                let error = x
                    .response
                    .as_ref()
                    .and_then(|r| r.result_code.filter(|&c| failed(c)).map(|_| r))
                    .map(|r| EntryError {
                        kind: "ldap-error".into(),
                        message: match &r.diagnostic_message {
                            Some(d) if !d.is_empty() => format!("{}: {d}", r.result()),
                            _ => r.result(),
                        },
                    })
                    .or_else(|| {
                        decode_error(
                            "malformed",
                            x.request.as_ref().map(|q| &q.error),
                            x.response.as_ref().map(|r| &r.error),
                        )
                    });
                let request = x.request.map(|q| {
                    let span = (q.start, q.end);
                    (Request::Ldap(q), span)
                });
                // The response side spans the entries, references and intermediate
                // responses that came before the final one.
                let starts = x
                    .entries
                    .first()
                    .map(|e| e.start)
                    .into_iter()
                    .chain(x.intermediate.first().map(|i| i.start))
                    .chain(x.response.as_ref().map(|r| r.start));
                let start = starts.min();
                let end = x
                    .response
                    .as_ref()
                    .map(|r| r.end)
                    .into_iter()
                    .chain(x.entries.last().map(|e| e.end))
                    .chain(x.intermediate.last().map(|i| i.end))
                    .max();
                let response = match (start, end) {
                    (Some(s), Some(e)) if x.response.is_some() || x.entry_count > 0 => Some((
                        Response::Ldap(LdapResult {
                            response: x.response,
                            entries: x.entries,
                            entry_count: x.entry_count,
                            references: x.references,
                            reference_count: x.reference_count,
                            intermediate: x.intermediate,
                            intermediate_count: x.intermediate_count,
                        }),
                        (s, e),
                    )),
                    _ => None,
                };
                Item::Exchange {
                    request,
                    response,
                    summary,
                    error,
                    version: String::new(),
                    request_dir: Direction::ToServer,
                }
            }
            Message::OneWay(o) => {
                let summary = o.label();
                let span = (o.start, o.end);
                let message = match (o.request, o.response) {
                    (Some(q), _) => Request::Ldap(q),
                    (None, r) => Request::LdapResult(LdapResult {
                        response: r,
                        ..LdapResult::default()
                    }),
                };
                Item::OneWay {
                    dir: o.dir,
                    span,
                    summary,
                    error: None,
                    version: String::new(),
                    message,
                }
            }
            Message::Event(e) => Item::Event(e.kind),
        }
    }

    fn counters(p: &LdapParser, add: &mut dyn FnMut(&'static str, u64)) {
        let c = p.counters();
        add("ldap.malformed", c.malformed);
        add("ldap.too_large", c.too_large);
        add("ldap.resyncs", c.resyncs);
        add("ldap.pending_capped", c.pending_capped);
        add("ldap.orphan_responses", c.orphan_responses);
        add("ldap.sasl_wrapped", c.sasl_wrapped);
        add("ldap.not_ldap", c.not_ldap);
    }
}
