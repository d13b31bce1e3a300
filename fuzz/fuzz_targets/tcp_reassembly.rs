//! Arbitrary segment sequences (see `ks_fuzz::TcpInput`) into one `TcpConnection`
//! with small caps, then `flush`. Checks: per side, `Data` and `Gap` events tile the
//! stream from offset 0 without overlap (so `Data` offsets increase), memory stays
//! under the caps, and `flush` returns the whole budget.
#![no_main]

use ks_fuzz::TcpInput;
use ks_reassembly::{Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Check {
    /// Next offset expected per side.
    next: [u64; 2],
    data_bytes: [u64; 2],
}

impl Check {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data { side, offset, data } => {
                let i = side.index();
                assert!(!data.is_empty(), "empty Data event");
                assert_eq!(
                    offset, self.next[i],
                    "{side:?}: Data at {offset}, expected {}",
                    self.next[i]
                );
                self.next[i] = offset + data.len() as u64;
                self.data_bytes[i] += data.len() as u64;
            }
            StreamEvent::Gap { side, offset, len } => {
                let i = side.index();
                assert!(len > 0, "empty Gap event");
                assert_eq!(
                    offset, self.next[i],
                    "{side:?}: Gap at {offset}, expected {}",
                    self.next[i]
                );
                self.next[i] = offset + len;
            }
            StreamEvent::Fin { .. } | StreamEvent::Rst { .. } => {}
        }
    }
}

fuzz_target!(|input: TcpInput<'_>| {
    let cfg = TcpConfig {
        max_ooo_bytes: input.max_ooo_bytes,
        max_ooo_segments: input.max_ooo_segments,
    };
    let mut budget = Budget::new(input.budget_cap);
    let mut counters = TcpCounters::default();
    let mut conn = TcpConnection::new();
    let mut check = Check::default();
    for s in &input.segs {
        let side = if s.side == 0 { Side::A } else { Side::B };
        let seg = Segment {
            seq: input.isn[s.side].wrapping_add(s.seq_off),
            ack: input.isn[1 - s.side].wrapping_add(s.ack_off),
            flags: s.flags,
            payload: s.payload,
            payload_len: (s.payload.len() as u32).saturating_add(u32::from(s.extra_len)),
        };
        conn.segment(side, &seg, &cfg, &mut budget, &mut counters, &mut |ev| {
            check.event(ev)
        });
        assert!(
            budget.used <= budget.cap,
            "budget {} over cap {}",
            budget.used,
            budget.cap
        );
        assert_eq!(budget.used, conn.buffered_bytes());
        assert!(
            conn.buffered_bytes() <= 2 * cfg.max_ooo_bytes,
            "{} bytes buffered",
            conn.buffered_bytes()
        );
        for side in [Side::A, Side::B] {
            assert!(conn.next_offset(side) >= check.next[side.index()]);
        }
    }
    conn.flush(&mut budget, &mut counters, &mut |ev| check.event(ev));
    assert_eq!(budget.used, 0, "budget not returned by flush");
    assert_eq!(conn.buffered_bytes(), 0);
    assert_eq!(
        counters.bytes_in_order,
        check.data_bytes[0] + check.data_bytes[1]
    );
    conn.flush(&mut budget, &mut counters, &mut |ev| check.event(ev));
    assert_eq!(budget.used, 0);
});
