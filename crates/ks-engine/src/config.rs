//! Engine settings. Every cap is a named setting with a documented default;
//! when one bites, a counter in [`crate::Stats`] goes up.

use ks_decode::DefragConfig;
use ks_proto::Protocol;
use ks_proto_http::HttpConfig;
use ks_reassembly::{SctpConfig, TcpConfig};
use std::fmt;

/// Everything the engine can be told.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// TCP out-of-order caps per direction.
    pub tcp: TcpConfig,
    /// SCTP reassembly caps per association.
    pub sctp: SctpConfig,
    /// Total bytes of out-of-order TCP data buffered over all flows (default 256 MiB).
    pub reassembly_budget: usize,
    /// HTTP/1 parser caps.
    pub http: HttpConfig,
    /// HTTP/2 parser caps.
    pub http2: ks_proto_http2::Http2Config,
    /// WebSocket parser caps.
    pub websocket: ks_proto_websocket::WsConfig,
    /// gRPC message listing and schema-less decoding caps.
    pub grpc: ks_proto_grpc::GrpcConfig,
    /// GraphQL detection caps.
    pub graphql: ks_proto_graphql::GraphqlConfig,
    /// Redis parser caps.
    pub redis: ks_proto_redis::RedisConfig,
    /// Kafka parser caps.
    pub kafka: ks_proto_kafka::KafkaConfig,
    /// AMQP parser caps.
    pub amqp: ks_proto_amqp::AmqpConfig,
    /// DNS caps.
    pub dns: ks_proto_dns::DnsConfig,
    /// LDAP parser caps.
    pub ldap: ks_proto_ldap::LdapConfig,
    /// DIAMETER parser caps.
    pub diameter: ks_proto_diameter::DiameterConfig,
    /// TLS parser caps, and the key log that decrypts (`ks-dissect --tls-keylog`).
    pub tls: ks_proto_tls::TlsConfig,
    /// IP fragment reassembly caps.
    pub defrag: DefragConfig,
    /// Flows kept at once (default 262 144); past it the least recently active flow is
    /// finished early (its entries are emitted) to make room.
    pub max_flows: usize,
    /// A flow idle this long (capture clock) is finished (default 600 s).
    pub flow_idle_ns: u64,
    /// Unparsed bytes buffered per direction of a flow while a parser waits for a
    /// whole message head (default 1 MiB); past it the bytes are dropped as a gap.
    pub max_stream_buffer: usize,
    /// Bytes of a direction looked at before deciding no parser wants a flow (default 1024).
    pub max_probe_bytes: usize,
    /// Requests kept waiting for their response per flow (default 256).
    pub max_pending_requests: usize,
    /// Bytes of a body shown in an entry (default 64 KiB, and never more than the
    /// parser kept).
    pub max_body_shown: usize,
    /// One `tcp`/`udp` entry at the end of every flow no dissector claimed (default
    /// true; `ks-dissect --no-l4-entries`).
    pub l4_entries: bool,
    /// Decode-as rules (`tcp.port==N,PROTO`).
    pub decode_as: Vec<DecodeAs>,
    /// Tell flows on different VLANs apart even when their 5-tuples are equal
    /// (default false, like tshark 4.0 whose conversations ignore VLAN ids).
    pub flow_key_vlan: bool,
    /// Dissect only the flows of this shard (multi-threaded runs; see
    /// [`crate::dissect_parallel`]). `None`: all flows.
    pub shard: Option<Shard>,
    /// Who endpoints are in Kubernetes (`ks-dissect --k8s-snapshot`, `--kubeconfig`).
    /// When set, the `src` and `dst` of every entry are resolved at the entry's time
    /// as it leaves the engine (two lookups per entry, none per packet). `None`
    /// (default): addresses only.
    pub identity: Option<IdentitySource>,
}

/// A shared [`ks_k8s::Resolve`]: an offline `ks_k8s::Index` or a live one.
#[derive(Clone)]
pub struct IdentitySource(pub std::sync::Arc<dyn ks_k8s::Resolve>);

impl fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySource(..)")
    }
}

/// One of `count` workers; a flow belongs to the worker its key hashes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This worker, `0..count`.
    pub index: u32,
    /// Number of workers.
    pub count: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tcp: TcpConfig::default(),
            sctp: SctpConfig::default(),
            reassembly_budget: 256 << 20,
            http: HttpConfig::default(),
            http2: Default::default(),
            websocket: Default::default(),
            // Entries list at most 100 messages a side, with a bounded decode each: a
            // crafted body cannot make one entry huge.
            grpc: ks_proto_grpc::GrpcConfig {
                max_messages: 100,
                max_fields: 1000,
                max_decompressed: 1 << 20,
                ..Default::default()
            },
            graphql: Default::default(),
            redis: Default::default(),
            kafka: Default::default(),
            amqp: Default::default(),
            dns: Default::default(),
            ldap: Default::default(),
            diameter: Default::default(),
            tls: Default::default(),
            defrag: DefragConfig::default(),
            max_flows: 262_144,
            flow_idle_ns: 600_000_000_000,
            max_stream_buffer: 1 << 20,
            max_probe_bytes: 1024,
            max_pending_requests: 256,
            max_body_shown: 64 << 10,
            l4_entries: true,
            decode_as: Vec::new(),
            flow_key_vlan: false,
            shard: None,
            identity: None,
        }
    }
}

/// Transport of a decode-as rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// Decode traffic on a port as a protocol, like tshark's `-d tcp.port==8888,http`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeAs {
    /// Transport.
    pub transport: Transport,
    /// Port (either end).
    pub port: u16,
    /// Protocol to use without probing.
    pub protocol: Protocol,
}

/// A decode-as rule could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeAsError(pub String);

impl fmt::Display for DecodeAsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeAsError {}

impl std::str::FromStr for DecodeAs {
    type Err = DecodeAsError;
    /// `tcp.port==8080,http` (tshark syntax; `=` and spaces tolerated).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || {
            DecodeAsError(format!(
                "bad decode-as rule {s:?}: expected tcp.port==N,PROTO"
            ))
        };
        let (sel, proto) = s.split_once(',').ok_or_else(err)?;
        let (field, port) = sel.split_once('=').ok_or_else(err)?;
        let port = port.trim_start_matches('=').trim();
        let transport = match field.trim() {
            "tcp.port" => Transport::Tcp,
            "udp.port" => Transport::Udp,
            "sctp.port" => Transport::Sctp,
            _ => return Err(err()),
        };
        let port: u16 = port.parse().map_err(|_| err())?;
        let protocol = Protocol::from_name(proto.trim()).ok_or_else(|| {
            DecodeAsError(format!("unknown protocol {:?} in {s:?}", proto.trim()))
        })?;
        Ok(DecodeAs {
            transport,
            port,
            protocol,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_as_parses_tshark_syntax() {
        let d: DecodeAs = "tcp.port==30035,http".parse().unwrap();
        assert_eq!(
            d,
            DecodeAs {
                transport: Transport::Tcp,
                port: 30035,
                protocol: Protocol::Http
            }
        );
        assert!("tcp.port==x,http".parse::<DecodeAs>().is_err());
        assert!("tcp.port==80,nope".parse::<DecodeAs>().is_err());
        assert!("ip.addr==1,http".parse::<DecodeAs>().is_err());
    }
}
