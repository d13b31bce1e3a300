//! GraphQL operations and results from HTTP and WebSocket payloads.
#![forbid(unsafe_code)]
