//! gRPC message framing, status and schema-less protobuf decoding over HTTP/2 bodies.
#![forbid(unsafe_code)]
