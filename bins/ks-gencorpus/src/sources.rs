//! The bundled captures replayed by the mixed corpus, and the byte mix between them.

use crate::gen::{Plan, Rng};
use crate::template::{from_capture, Template};

/// Traffic classes of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Http1,
    Http2,
    Grpc,
    Kafka,
    Redis,
    Amqp,
    Dns,
    /// LDAP, RADIUS and DIAMETER (identity and policy traffic).
    Aaa,
    Tls,
    /// TCP corner cases and link-layer variants (mostly HTTP/1 over odd TCP).
    Other,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Http1 => "http1",
            Category::Http2 => "http2",
            Category::Grpc => "grpc",
            Category::Kafka => "kafka",
            Category::Redis => "redis",
            Category::Amqp => "amqp",
            Category::Dns => "dns",
            Category::Aaa => "aaa",
            Category::Tls => "tls",
            Category::Other => "other",
        }
    }
}

/// Share of output bytes per category, in percent (a busy cluster: HTTP/1, HTTP/2 and gRPC
/// most, then Kafka, Redis, AMQP, DNS, LDAP/RADIUS/DIAMETER, TLS, the rest).
pub const MIX: [(Category, u64); 10] = [
    (Category::Http1, 27),
    (Category::Http2, 18),
    (Category::Grpc, 18),
    (Category::Kafka, 8),
    (Category::Redis, 6),
    (Category::Amqp, 4),
    (Category::Dns, 6),
    (Category::Aaa, 3),
    (Category::Tls, 5),
    (Category::Other, 5),
];

pub struct Source {
    pub category: Category,
    /// Path under `testdata/pcap/`.
    pub path: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! src {
    ($cat:expr, $path:literal) => {
        Source {
            category: $cat,
            path: $path,
            bytes: include_bytes!(concat!("../../../testdata/pcap/", $path)),
        }
    };
}

/// Every capture replayed (embedded at build time, so the binary runs anywhere).
pub static SOURCES: &[Source] = &[
    src!(Category::Http1, "http1/suricata-verify_http-chunked.pcap"),
    src!(
        Category::Http1,
        "http1/suricata-verify_http-pipeline-files-with-gap.pcap"
    ),
    src!(Category::Http1, "http1/tcpdump_ipv4_tcp_http_xml.pcap"),
    src!(Category::Http1, "http1/zeek_http_100-continue.pcap"),
    src!(Category::Http1, "http1/zeek_http_bro-org.pcap"),
    src!(Category::Http1, "http1/zeek_http_get-gzip.pcap"),
    src!(Category::Http1, "http1/zeek_http_get.pcap"),
    src!(Category::Http1, "http1/zeek_http_methods.pcap"),
    src!(Category::Http1, "http1/zeek_http_pipelined-requests.pcap"),
    src!(Category::Http1, "http1/zeek_http_post.pcap"),
    src!(Category::Http1, "http1/zeek_http_version-mismatch.pcap"),
    src!(Category::Http1, "http1/zeek_web_http10.pcap"),
    src!(Category::Http2, "http2/deepflow_h2c_ascii.pcap"),
    src!(Category::Http2, "http2/ndpi_http2_5g-sbi.pcapng"),
    src!(
        Category::Http2,
        "http2/suricata-verify_http2-continuation.pcap"
    ),
    src!(
        Category::Http2,
        "http2/suricata-verify_http2-multiple-headers.pcap"
    ),
    src!(Category::Http2, "http2/suricata-verify_http2-range.pcap"),
    src!(Category::Http2, "http2/ks_h2c_prior-knowledge.pcap"),
    src!(Category::Http2, "http2/ks_h2c_upgrade.pcap"),
    src!(Category::Http2, "http2/ks_h2c_push.pcap"),
    src!(Category::Grpc, "grpc/deepflow_grpc-segmented.pcap"),
    src!(Category::Grpc, "grpc/deepflow_grpc-server-stream.pcap"),
    src!(Category::Grpc, "grpc/deepflow_grpc-unary.pcap"),
    src!(Category::Grpc, "grpc/ks_grpc_python.pcap"),
    src!(Category::Kafka, "kafka/deepflow_kafka_00-produce-v2.pcap"),
    src!(
        Category::Kafka,
        "kafka/deepflow_kafka_00-produce-v7-sw8.pcap"
    ),
    src!(
        Category::Kafka,
        "kafka/deepflow_kafka_11-join-group-v7.pcap"
    ),
    src!(
        Category::Kafka,
        "kafka/deepflow_kafka_18-api-versions-v3.pcap"
    ),
    src!(
        Category::Kafka,
        "kafka/deepflow_kafka_mixed-with-unsupported.pcap"
    ),
    src!(Category::Kafka, "kafka/ndpi_kafka.pcapng"),
    src!(Category::Kafka, "kafka/ks_kafka_clients.pcap"),
    src!(Category::Redis, "redis/deepflow_redis-error.pcap"),
    src!(Category::Redis, "redis/tcpdump_resp_2_inline.pcap"),
    src!(Category::Redis, "redis/zeek_redis_attr.pcap"),
    src!(Category::Redis, "redis/zeek_redis_auth.pcap"),
    src!(Category::Redis, "redis/zeek_redis_pipelining-example.pcap"),
    src!(Category::Redis, "redis/zeek_redis_set.pcap"),
    src!(Category::Redis, "redis/zeek_redis_stream.pcap"),
    src!(Category::Amqp, "amqp/deepflow_amqp-error.pcap"),
    src!(Category::Amqp, "amqp/deepflow_amqp1.pcap"),
    src!(Category::Amqp, "amqp/ks_amqp_pika.pcap"),
    src!(Category::Amqp, "amqp/ndpi_amqp.pcap"),
    src!(Category::Dns, "dns/deepflow_dns-tcp-multi.pcap"),
    src!(Category::Dns, "dns/tcpdump_dns_tcp.pcap"),
    src!(Category::Dns, "dns/tcpdump_dns_udp.pcap"),
    src!(Category::Dns, "dns/zeek_dns-edns-tcp-keepalive.pcap"),
    src!(Category::Dns, "dns/zeek_dns-https.pcap"),
    src!(Category::Dns, "dns/zeek_dns-two-responses.pcap"),
    src!(Category::Dns, "dns/zeek_dns_long-connection.pcap"),
    src!(Category::Dns, "dns/zeek_ipv6-fragmented-dns.pcap"),
    src!(Category::Aaa, "ldap/ks_ldap_slapd.pcap"),
    src!(Category::Aaa, "ldap/suricata-verify_ldap-search.pcap"),
    src!(Category::Aaa, "ldap/zeek_ldap_simpleauth.pcap"),
    src!(Category::Aaa, "ldap/zeek_ldap_who-am-i.pcap"),
    src!(Category::Aaa, "radius/tcpdump_RADIUS.pcap"),
    src!(Category::Aaa, "radius/tcpdump_RADIUS-RFC5176.pcap"),
    src!(Category::Aaa, "radius/zeek_radius.pcap"),
    src!(Category::Aaa, "diameter/ks_diameter_peers.pcap"),
    src!(Category::Aaa, "diameter/ndpi_diameter.pcap"),
    src!(Category::Tls, "tls/suricata-verify_tls-alpn.pcap"),
    src!(Category::Tls, "tls/zeek_tls_chrome-34-google.pcap"),
    src!(Category::Tls, "tls/zeek_tls_ecdhe.pcap"),
    src!(Category::Tls, "tls/zeek_tls_hrr.pcap"),
    src!(Category::Other, "tcp/deepflow_out-of-order.pcap"),
    src!(Category::Other, "tcp/deepflow_syn-retrans.pcap"),
    src!(Category::Other, "tcp/zeek_http_content-range-gap.pcap"),
    src!(Category::Other, "tcp/zeek_http_get-nosyn.pcap"),
    src!(Category::Other, "tcp/zeek_tcp_fast-open_http10.pcap"),
    src!(Category::Other, "tcp/zeek_tcp_handshake-reorder.pcap"),
    src!(Category::Other, "link/suricata-verify_sll2-http.pcap"),
    src!(Category::Other, "link/zeek_http-qinq.pcap"),
    src!(Category::Other, "link/zeek_http-vlan.pcap"),
    src!(Category::Other, "link/zeek_mixed-vlan-mpls.pcap"),
    src!(Category::Other, "link/zeek_nflog-http.pcap"),
    src!(Category::Other, "link/zeek_pcapng-multi-interface.pcapng"),
];

/// Templates of all [`SOURCES`], in order.
pub fn templates() -> Result<Vec<Template>, String> {
    SOURCES
        .iter()
        .map(|s| from_capture(s.path, s.bytes))
        .collect()
}

/// Picks the next copy so that output bytes follow [`MIX`] across categories and are
/// spread evenly over the files of a category; stops once `size` bytes are scheduled.
pub struct MixedPlan {
    size: u64,
    scheduled: u64,
    out_bytes: Vec<u64>,
    per_file: Vec<u64>,
    per_cat: Vec<u64>,
}

impl MixedPlan {
    pub fn new(templates: &[Template], link_len: usize, size: u64) -> Self {
        MixedPlan {
            size,
            scheduled: 24,
            out_bytes: templates.iter().map(|t| t.out_bytes(link_len)).collect(),
            per_file: vec![0; templates.len()],
            per_cat: vec![0; MIX.len()],
        }
    }
}

impl Plan for MixedPlan {
    fn next(&mut self, _rng: &mut Rng) -> Option<usize> {
        if self.scheduled >= self.size {
            return None;
        }
        // The category furthest below its share (smallest bytes/weight), then its
        // file with the fewest bytes so far.
        let (ci, _) = MIX
            .iter()
            .enumerate()
            .min_by_key(|(i, (_, w))| self.per_cat[*i] * 1000 / w)?;
        let cat = MIX[ci].0;
        let fi = (0..SOURCES.len())
            .filter(|&i| SOURCES[i].category == cat)
            .min_by_key(|&i| self.per_file[i])?;
        let b = self.out_bytes[fi];
        self.scheduled += b;
        self.per_cat[ci] += b;
        self.per_file[fi] += b;
        Some(fi)
    }
}

/// Equal bytes for every template given (for `--only`).
pub struct EvenPlan {
    size: u64,
    scheduled: u64,
    out_bytes: Vec<u64>,
    per_file: Vec<u64>,
}

impl EvenPlan {
    pub fn new(templates: &[Template], link_len: usize, size: u64) -> Self {
        EvenPlan {
            size,
            scheduled: 24,
            out_bytes: templates.iter().map(|t| t.out_bytes(link_len)).collect(),
            per_file: vec![0; templates.len()],
        }
    }
}

impl Plan for EvenPlan {
    fn next(&mut self, _rng: &mut Rng) -> Option<usize> {
        if self.scheduled >= self.size {
            return None;
        }
        let fi = (0..self.per_file.len()).min_by_key(|&i| self.per_file[i])?;
        self.scheduled += self.out_bytes[fi];
        self.per_file[fi] += self.out_bytes[fi];
        Some(fi)
    }
}
