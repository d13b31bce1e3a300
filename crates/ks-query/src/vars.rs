//! The variables a filter can name (Kubeshark's KFL2 vocabulary over ks's entry
//! model), and how each is read from a typed entry when the filter asks for it.
//! Nothing is converted up front: a filter that only reads `http` and
//! `status_code` costs two field reads per entry.

use cel::common::types::{CelBool, CelInt, CelList, CelMap, CelMapKey, CelString, CelTimestamp};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use ks_engine::{Entry, HttpRequest, HttpResponse, Request, Response};
use std::borrow::Cow;
use std::collections::HashMap;

/// One variable of the language, as docs/filter.md lists it.
#[derive(Clone, Copy, Debug)]
pub struct Variable {
    /// Its name in expressions.
    pub name: &'static str,
    /// CEL type.
    pub cel_type: &'static str,
    /// What it holds, and on which entries.
    pub doc: &'static str,
    /// An expression using it.
    pub example: &'static str,
}

const fn var(
    name: &'static str,
    cel_type: &'static str,
    doc: &'static str,
    example: &'static str,
) -> Variable {
    Variable {
        name,
        cel_type,
        doc,
        example,
    }
}

/// Every variable, in the order docs/filter.md lists them.
pub const VARIABLES: &[Variable] = &[
    var("http", "bool", "An HTTP exchange: HTTP/1.x and HTTP/2, gRPC and GraphQL calls included (Kubeshark's meaning; `http2` narrows it).", "http && status_code >= 500"),
    var("http2", "bool", "An HTTP exchange over HTTP/2 (gRPC and GraphQL over HTTP/2 included).", "http2 && path == \"/\""),
    var("grpc", "bool", "A gRPC call.", "grpc && grpc_status != 0"),
    var("gql", "bool", "A GraphQL operation (over HTTP/1.x or HTTP/2).", "gql && request.body.contains(\"mutation\")"),
    var("websocket", "bool", "A WebSocket message (the upgrade itself is an `http` entry).", "websocket && src.port == 8080"),
    var("redis", "bool", "A Redis command and its reply, or a pushed message.", "redis && redis_command == \"SET\""),
    var("kafka", "bool", "A Kafka request and its response.", "kafka && kafka_api == \"Produce\""),
    var("amqp", "bool", "An AMQP 0-9-1 method.", "amqp && amqp_method == \"basic.publish\""),
    var("dns", "bool", "A DNS query and its response (mDNS included).", "dns && dns_questions.exists(q, q.endsWith(\"example.com\"))"),
    var("ldap", "bool", "An LDAP operation and its result.", "ldap && dst.port == 389"),
    var("radius", "bool", "A RADIUS request and its answer.", "radius"),
    var("diameter", "bool", "A DIAMETER request and its answer.", "diameter"),
    var("icmp", "bool", "An ICMP or ICMPv6 message (an echo with its reply).", "icmp && elapsed_time > 10000"),
    var("tls", "bool", "A TLS handshake entry, or an entry seen inside TLS (through decryption, or `--tls-trace`).", "tls && tls_sni.endsWith(\".internal\")"),
    var("tcp", "bool", "Carried over TCP (every protocol on TCP, as in Wireshark; `protocol == \"tcp\"` is a TCP flow no dissector took).", "tcp && dst.port == 443"),
    var("udp", "bool", "Carried over UDP.", "udp && !dns"),
    var("sctp", "bool", "Carried over SCTP.", "sctp"),
    var("protocol", "string", "The entry's protocol name (`http`, `http2`, `grpc`, `graphql`, `websocket`, `redis`, `kafka`, `amqp`, `dns`, `ldap`, `radius`, `diameter`, `icmp`, `tls`; `tcp`, `udp`, `sctp` for flows no dissector took).", "protocol in [\"tcp\", \"udp\"]"),
    var("src.ip", "string", "Client (or sender) address, as text (`10.0.0.1`, `fd00::1`).", "src.ip == \"10.0.0.1\""),
    var("src.port", "int", "Client (or sender) port (0 for ICMP).", "src.port > 32767"),
    var("dst.ip", "string", "Server (or receiver) address, as text.", "dst.ip.startsWith(\"10.42.\")"),
    var("dst.port", "int", "Server (or receiver) port.", "dst.port == 6379"),
    var("src.name", "string", "Kubernetes name of the client (`--k8s-snapshot`, `--kubeconfig`; docs/k8s.md): its workload's, else its pod's, service's or node's.", "src.name == \"frontend\""),
    var("src.namespace", "string", "Kubernetes namespace of the client's pod or service.", "src.namespace != dst.namespace"),
    var("src.pod", "string", "The pod that held the client's address at the entry's time.", "src.pod.startsWith(\"frontend-\")"),
    var("src.node", "string", "The node of the client's pod (or the node whose address it is).", "src.node == \"worker-1\""),
    var("src.service", "string", "The client's service: the one whose cluster IP it is, or whose endpoints held its pod's address then.", "src.service == \"checkout\""),
    var("src.workload.kind", "string", "Kind of the client pod's top controller (`Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, ...).", "src.workload.kind == \"DaemonSet\""),
    var("src.workload.name", "string", "Name of the client pod's top controller.", "src.workload.name == \"frontend\""),
    var("src.labels", "map(string, string)", "Labels of the client's pod.", "src.labels[\"app\"] == \"frontend\""),
    var("dst.name", "string", "Kubernetes name of the server (as `src.name`).", "dst.name == \"catalogue\""),
    var("dst.namespace", "string", "Kubernetes namespace of the server's pod or service.", "dst.namespace == \"shop\""),
    var("dst.pod", "string", "The pod that held the server's address at the entry's time.", "dst.pod == \"redis-0\""),
    var("dst.node", "string", "The node of the server's pod (or the node whose address it is).", "dst.node != src.node"),
    var("dst.service", "string", "The server's service: by cluster IP, or by EndpointSlice membership of its pod's address then.", "dst.service == \"catalogue\" && status_code >= 500"),
    var("dst.workload.kind", "string", "Kind of the server pod's top controller.", "dst.workload.kind == \"StatefulSet\""),
    var("dst.workload.name", "string", "Name of the server pod's top controller.", "dst.workload.name == \"redis\""),
    var("process.comm", "string", "Command name of the process whose TLS library calls gave the entry (`--tls-trace`; docs/tls.md).", "process.comm == \"curl\""),
    var("process.pid", "int", "Its process id.", "process.pid == 4242"),
    var("dst.labels", "map(string, string)", "Labels of the server's pod.", "dst.labels[\"tier\"] == \"db\""),
    var("timestamp", "timestamp", "Time of the first frame of the request (or of the lone message).", "timestamp > now() - duration(\"5m\")"),
    var("elapsed_time", "int", "Request's first frame to the frame completing the response, in µs; only on answered entries.", "elapsed_time > 100000"),
    var("method", "string", "HTTP method (`:method` on HTTP/2).", "method == \"POST\""),
    var("path", "string", "HTTP request target as sent (`:path` on HTTP/2), query included.", "path.startsWith(\"/api\")"),
    var("url", "string", "`scheme://host` (`:authority` or the Host header) followed by the path; only when the host is known.", "url.contains(\"example.com/login\")"),
    var("status_code", "int", "HTTP response status.", "status_code >= 400"),
    var("request.headers", "map(string, string)", "HTTP request headers; keys lower-case, so any case matches; repeated fields joined with `, `.", "request.headers[\"user-agent\"].contains(\"curl\")"),
    var("response.headers", "map(string, string)", "HTTP response headers (as `request.headers`).", "response.headers[\"content-type\"].startsWith(\"application/json\")"),
    var("request.body", "string", "HTTP request body (decoded, cut at the shown limit; invalid UTF-8 replaced), also WebSocket payloads and AMQP bodies.", "request.body.contains(\"password\")"),
    var("response.body", "string", "HTTP response body (as `request.body`).", "response.body.matches(\"\\\"error\\\": *\\\"\")"),
    var("grpc_method", "string", "gRPC call as `pkg.Service/Method`.", "grpc_method.endsWith(\"/SayHello\")"),
    var("grpc_status", "int", "gRPC status code (from the trailers).", "grpc_status == 5"),
    var("dns_questions", "list(string)", "Names asked in a DNS query, without the final dot.", "dns_questions.exists(q, q.endsWith(\"example.com\"))"),
    var("redis_command", "string", "Redis command word, upper-case (`GET`, `CLIENT`).", "redis_command in [\"DEL\", \"FLUSHALL\"]"),
    var("kafka_api", "string", "Kafka API name (`Produce`, `Fetch`, `Metadata`...).", "kafka_api == \"Fetch\""),
    var("kafka_topic", "string", "The first topic a Kafka request (else its response) names.", "kafka_topic == \"orders\""),
    var("kafka_topics", "list(string)", "Every topic a Kafka request (else its response) names.", "\"orders\" in kafka_topics"),
    var("amqp_method", "string", "AMQP method name (`basic.publish`, `queue.declare`...).", "amqp_method.startsWith(\"basic.\")"),
    var("tls_sni", "string", "Server name the TLS ClientHello asked for.", "tls_sni == \"api.example.com\""),
    var("summary", "string", "The entry's one-line summary, as the table shows it.", "summary.contains(\"NXDOMAIN\")"),
    var("entry", "map", "The whole entry as its JSON shows it (docs/entry.md), for anything else; built only when a filter names it.", "entry.request.version == \"1.0\""),
];

/// True for a name the filter may use as a variable (the first segment of the
/// dotted names: `src` for `src.ip`).
pub(crate) fn is_variable(name: &str) -> bool {
    matches!(name, "src" | "dst" | "request" | "response" | "process")
        || VARIABLES.iter().any(|v| v.name == name)
        || name == crate::logic::NOW_VAR
}

/// Reads variables from one entry as cel-rust asks for them.
pub(crate) struct EntryVars<'e> {
    pub(crate) entry: &'e Entry,
    /// `entry` converted once per evaluation, however often the filter names it.
    pub(crate) whole: std::sync::OnceLock<Option<Box<dyn Val>>>,
}

fn boolean<'b>(b: bool) -> Option<CowVal<'b, 'b>> {
    Some(CowVal::owned(CelBool::from(b)))
}

fn int<'b>(n: i64) -> Option<CowVal<'b, 'b>> {
    Some(CowVal::owned(CelInt::from(n)))
}

fn text(s: &str) -> Option<CowVal<'_, '_>> {
    Some(CowVal::owned(CelString::from(s)))
}

fn owned_text<'b>(s: String) -> Option<CowVal<'b, 'b>> {
    Some(CowVal::owned(CelString::from(s)))
}

fn list<'b>(items: Vec<Box<dyn Val + 'b>>) -> Option<CowVal<'b, 'b>> {
    Some(CowVal::owned(CelList::from(items)))
}

fn map<'b>(pairs: Vec<(&'b str, Box<dyn Val + 'b>)>) -> CowVal<'b, 'b> {
    let m: HashMap<CelMapKey<'b>, Box<dyn Val + 'b>> = pairs
        .into_iter()
        .map(|(k, v)| (CelMapKey::from(k), v))
        .collect();
    CowVal::owned(CelMap::from(m))
}

/// Headers as a map with lower-case keys; a repeated field's values joined
/// with `, ` (RFC 9110 §5.3).
fn headers<'b>(h: &'b [(String, String)]) -> Box<dyn Val + 'b> {
    let mut m: HashMap<String, Cow<'b, str>> = HashMap::with_capacity(h.len());
    for (k, v) in h {
        m.entry(k.to_ascii_lowercase())
            .and_modify(|old| {
                let joined = format!("{old}, {v}");
                *old = Cow::Owned(joined);
            })
            .or_insert(Cow::Borrowed(v.as_str()));
    }
    let m: HashMap<CelMapKey<'b>, Box<dyn Val + 'b>> = m
        .into_iter()
        .map(|(k, v)| {
            (
                CelMapKey::from(k),
                Box::new(CelString::from(v)) as Box<dyn Val + 'b>,
            )
        })
        .collect();
    Box::new(crate::headers::Headers(CelMap::from(m)))
}

fn body(bytes: Option<&[u8]>) -> Box<dyn Val + '_> {
    Box::new(CelString::from(String::from_utf8_lossy(
        bytes.unwrap_or_default(),
    )))
}

impl<'e> EntryVars<'e> {
    fn http_request(&self) -> Option<&'e HttpRequest> {
        match self.entry.request.as_ref()? {
            Request::Http(r) => Some(r),
            _ => None,
        }
    }

    fn http_response(&self) -> Option<&'e HttpResponse> {
        match self.entry.response.as_ref()? {
            Response::Http(r) => Some(r),
            _ => None,
        }
    }

    fn is_http(&self) -> bool {
        matches!(self.entry.protocol, "http" | "http2" | "grpc" | "graphql")
    }

    /// `src` / `dst`: address, and the Kubernetes identity when the entry has
    /// one (its fields are absent otherwise, so comparisons on them are false).
    fn endpoint(&self, e: &'e ks_engine::Endpoint) -> CowVal<'e, 'e> {
        let mut fields: Vec<(&'e str, Box<dyn Val + 'e>)> = vec![
            ("ip", Box::new(CelString::from(e.ip.to_string()))),
            ("port", Box::new(CelInt::from(i64::from(e.port)))),
        ];
        if let Some(id) = e.k8s.as_deref() {
            let s = |v: &str| -> Box<dyn Val + 'e> { Box::new(CelString::from(v.to_string())) };
            fields.push(("name", s(&id.name)));
            for (k, v) in [
                ("namespace", &id.namespace),
                ("pod", &id.pod),
                ("node", &id.node),
                ("service", &id.service),
            ] {
                if let Some(v) = v {
                    fields.push((k, s(v)));
                }
            }
            if let Some(w) = &id.workload {
                fields.push((
                    "workload",
                    map(vec![("kind", s(&w.kind)), ("name", s(&w.name))]).into_owned(),
                ));
            }
            let labels: HashMap<CelMapKey<'e>, Box<dyn Val + 'e>> = id
                .labels
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), s(v)))
                .collect();
            fields.push(("labels", Box::new(CelMap::from(labels))));
        }
        map(fields)
    }

    /// `request` / `response`: headers and body of HTTP, the payload of a
    /// WebSocket message, the body of an AMQP method.
    fn message(&self, request: bool) -> Option<CowVal<'e, 'e>> {
        let mut fields: Vec<(&'e str, Box<dyn Val + 'e>)> = Vec::with_capacity(2);
        if request {
            match self.entry.request.as_ref()? {
                Request::Http(r) => {
                    fields.push(("headers", headers(&r.headers)));
                    fields.push(("body", body(r.body.as_ref().map(|b| b.as_bytes()))));
                }
                Request::WebSocket(m) => {
                    fields.push(("body", body(m.payload.as_ref().map(|b| b.as_bytes()))));
                }
                Request::Amqp(m) => fields.push(("body", body(m.body.as_deref()))),
                _ => return None,
            }
        } else {
            match self.entry.response.as_ref()? {
                Response::Http(r) => {
                    fields.push(("headers", headers(&r.headers)));
                    fields.push(("body", body(r.body.as_ref().map(|b| b.as_bytes()))));
                }
                Response::Amqp(m) => fields.push(("body", body(m.body.as_deref()))),
                _ => return None,
            }
        }
        Some(map(fields))
    }

    fn url(&self) -> Option<String> {
        let r = self.http_request()?;
        let host = r.authority.as_deref().or_else(|| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                .map(|(_, v)| v.as_str())
        })?;
        if r.path.contains("://") {
            // Absolute form (a request to a proxy) is already a URL.
            return Some(r.path.clone());
        }
        let scheme = r
            .scheme
            .as_deref()
            .unwrap_or(if self.entry.tls { "https" } else { "http" });
        Some(format!("{scheme}://{host}{}", r.path))
    }

    fn kafka_topics(&self) -> Option<Vec<&'e str>> {
        let from_request = match self.entry.request.as_ref() {
            Some(Request::Kafka(r)) => Some(&r.topics),
            _ => None,
        };
        let from_response = match self.entry.response.as_ref() {
            Some(Response::Kafka(r)) => Some(&r.topics),
            _ => None,
        };
        let topics = match (from_request, from_response) {
            (Some(t), _) if !t.is_empty() => t,
            (_, Some(t)) => t,
            (Some(t), None) => t,
            (None, None) => return None,
        };
        Some(topics.iter().map(|t| t.name.as_str()).collect())
    }

    fn read(&self, name: &str) -> Option<CowVal<'e, 'e>> {
        let e = self.entry;
        let p = e.protocol;
        match name {
            "http" => boolean(self.is_http()),
            "http2" => boolean(self.is_http() && e.version == "2"),
            "grpc" => boolean(p == "grpc"),
            "gql" => boolean(p == "graphql"),
            "websocket" => boolean(p == "websocket"),
            "redis" | "kafka" | "amqp" | "dns" | "ldap" | "radius" | "diameter" | "icmp" => {
                boolean(p == name)
            }
            "tls" => boolean(p == "tls" || e.tls),
            "tcp" | "udp" | "sctp" => boolean(e.transport == name),
            "protocol" => text(p),
            "src" => Some(self.endpoint(&e.src)),
            "dst" => Some(self.endpoint(&e.dst)),
            "process" => {
                let p = e.process.as_deref()?;
                Some(map(vec![
                    ("pid", Box::new(CelInt::from(i64::from(p.pid)))),
                    ("comm", Box::new(CelString::from(p.comm.clone()))),
                ]))
            }
            "timestamp" => Some(CowVal::owned(timestamp(e.ts_ns))),
            "elapsed_time" => int(i64::try_from(e.elapsed_us?).ok()?),
            "method" => text(&self.http_request()?.method),
            "path" => text(&self.http_request()?.path),
            "url" => owned_text(self.url()?),
            "status_code" => int(i64::from(self.http_response()?.status)),
            "request" => self.message(true),
            "response" => self.message(false),
            "grpc_method" => {
                let g = self.http_request()?.grpc.as_ref()?;
                owned_text(format!("{}/{}", g.service, g.method))
            }
            "grpc_status" => int(i64::from(self.http_response()?.grpc.as_ref()?.status?)),
            "dns_questions" => match e.request.as_ref()? {
                Request::Dns(m) => list(
                    m.questions
                        .iter()
                        .map(|q| Box::new(CelString::from(q.name.as_str())) as Box<dyn Val>)
                        .collect(),
                ),
                _ => None,
            },
            "redis_command" => match e.request.as_ref()? {
                Request::Redis(r) => text(&r.command),
                _ => None,
            },
            "kafka_api" => match e.request.as_ref()? {
                Request::Kafka(r) => text(&r.api_name),
                _ => None,
            },
            "kafka_topic" => text(self.kafka_topics()?.first()?),
            "kafka_topics" => list(
                self.kafka_topics()?
                    .into_iter()
                    .map(|t| Box::new(CelString::from(t)) as Box<dyn Val>)
                    .collect(),
            ),
            "amqp_method" => match e.request.as_ref()? {
                Request::Amqp(m) => text(&m.method),
                _ => None,
            },
            "tls_sni" => match e.request.as_ref()? {
                Request::Tls(h) => text(h.sni()?),
                _ => None,
            },
            "summary" => text(&e.summary),
            crate::logic::NOW_VAR => Some(CowVal::owned(now())),
            _ => None,
        }
    }
}

impl VariableResolver for EntryVars<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        if variable == "entry" {
            let whole = self.whole.get_or_init(|| {
                let v = cel::to_value(self.entry).ok()?;
                v.try_into().ok()
            });
            return whole.as_deref().map(CowVal::Borrowed);
        }
        self.read(variable)
    }
}

fn timestamp(ns: u64) -> CelTimestamp {
    let secs = (ns / 1_000_000_000) as i64;
    let nanos = (ns % 1_000_000_000) as u32;
    let utc = chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default();
    CelTimestamp::from(utc.fixed_offset())
}

fn now() -> CelTimestamp {
    CelTimestamp::from(chrono::Utc::now().fixed_offset())
}
