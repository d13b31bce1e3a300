//! First byte picks a link type, then length-prefixed frames (see `ks_fuzz::frames`):
//! each goes through `decode_link`; IP packets through `decode_transport`, fragments
//! into a `Defragmenter` with small caps (and reassembled datagrams through
//! `decode_transport` again). Caps must hold after every fragment.
#![no_main]

use ks_decode::{decode_link, decode_transport, DefragConfig, Defragmenter, Network};
use libfuzzer_sys::fuzz_target;

const CFG: DefragConfig = DefragConfig {
    max_datagrams: 4,
    max_bytes: 4096,
    max_datagram_size: 3000,
    timeout_ns: 5_000_000_000,
};

fuzz_target!(|data: &[u8]| {
    let (link_type, frames) = ks_fuzz::frames(data);
    let mut defrag = Defragmenter::new(CFG);
    for (i, frame) in frames.enumerate() {
        let ts = i as u64 * 1_000_000_000;
        let Ok(link) = decode_link(link_type, frame) else {
            continue;
        };
        let _ = link.vlans.as_slice();
        let Network::Ip(ip) = link.net else {
            continue;
        };
        assert!(ip.payload.len() <= frame.len());
        let _ = ip.is_truncated();
        if ip.fragment.is_some() {
            if let Some(whole) = defrag.push(&ip, ts) {
                assert!(whole.payload.len() <= CFG.max_datagram_size);
                let _ =
                    decode_transport(whole.protocol, &whole.payload, whole.payload.len() as u32);
            }
            assert!(
                defrag.buffered_bytes() <= CFG.max_bytes,
                "defrag over max_bytes"
            );
            assert!(
                defrag.pending() <= CFG.max_datagrams,
                "defrag over max_datagrams"
            );
            defrag.expire(ts);
        } else {
            let _ = decode_transport(ip.protocol, ip.payload, ip.payload_len);
        }
    }
    defrag.expire(u64::MAX);
    assert_eq!(defrag.pending(), 0);
    assert_eq!(defrag.buffered_bytes(), 0);
});
