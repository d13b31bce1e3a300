//! WebSocket streaming dissector (frames, fragments, control frames, permessage-deflate) implementing the ks parser contract.
#![forbid(unsafe_code)]
