use ks_reassembly::{
    flags::{ACK, FIN, PSH, RST, SYN},
    Budget, Segment, Side, StreamEvent, TcpConfig, TcpConnection, TcpCounters,
};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Data(Side, u64, Vec<u8>),
    Gap(Side, u64, u64),
    Fin(Side),
    Rst(Side),
}

fn own(ev: StreamEvent<'_>) -> Ev {
    match ev {
        StreamEvent::Data { side, offset, data } => Ev::Data(side, offset, data.to_vec()),
        StreamEvent::Gap { side, offset, len } => Ev::Gap(side, offset, len),
        StreamEvent::Fin { side } => Ev::Fin(side),
        StreamEvent::Rst { side } => Ev::Rst(side),
    }
}

struct H {
    conn: TcpConnection,
    cfg: TcpConfig,
    budget: Budget,
    c: TcpCounters,
    ev: Vec<Ev>,
}

impl H {
    fn new() -> Self {
        H {
            conn: TcpConnection::new(),
            cfg: TcpConfig::default(),
            budget: Budget::default(),
            c: TcpCounters::default(),
            ev: Vec::new(),
        }
    }
    fn seg(&mut self, side: Side, seq: u32, ack: u32, fl: u8, payload: &[u8]) -> Vec<Ev> {
        self.seg_cut(side, seq, ack, fl, payload, payload.len() as u32)
    }
    fn seg_cut(
        &mut self,
        side: Side,
        seq: u32,
        ack: u32,
        fl: u8,
        payload: &[u8],
        wire: u32,
    ) -> Vec<Ev> {
        let s = Segment {
            seq,
            ack,
            flags: fl,
            payload,
            payload_len: wire,
        };
        let mut got = Vec::new();
        self.conn.segment(
            side,
            &s,
            &self.cfg,
            &mut self.budget,
            &mut self.c,
            &mut |e| got.push(own(e)),
        );
        self.ev.extend(got.iter().cloned());
        got
    }
    fn flush(&mut self) -> Vec<Ev> {
        let mut got = Vec::new();
        self.conn
            .flush(&mut self.budget, &mut self.c, &mut |e| got.push(own(e)));
        self.ev.extend(got.iter().cloned());
        got
    }
    fn handshake_a_only(&mut self, ia: u32) {
        assert!(self.seg(Side::A, ia, 0, SYN, b"").is_empty());
    }
    /// Client A with ISN `ia`, server B with ISN `ib`, full handshake.
    fn handshake(&mut self, ia: u32, ib: u32) {
        assert!(self.seg(Side::A, ia, 0, SYN, b"").is_empty());
        assert!(self
            .seg(Side::B, ib, ia.wrapping_add(1), SYN | ACK, b"")
            .is_empty());
        assert!(self
            .seg(Side::A, ia.wrapping_add(1), ib.wrapping_add(1), ACK, b"")
            .is_empty());
    }
}

use Side::{A, B};

fn d(side: Side, off: u64, b: &[u8]) -> Ev {
    Ev::Data(side, off, b.to_vec())
}

#[test]
fn in_order_is_zero_copy() {
    let mut h = H::new();
    h.handshake(1000, 5000);
    let payload = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    let seg = Segment {
        seq: 1001,
        ack: 5001,
        flags: ACK | PSH,
        payload: &payload,
        payload_len: payload.len() as u32,
    };
    let mut ptrs = Vec::new();
    h.conn
        .segment(A, &seg, &h.cfg, &mut h.budget, &mut h.c, &mut |e| {
            if let StreamEvent::Data { data, offset, side } = e {
                assert_eq!((side, offset), (A, 0));
                ptrs.push((data.as_ptr(), data.len()));
            }
        });
    assert_eq!(ptrs, vec![(payload.as_ptr(), payload.len())]);
    assert_eq!(
        h.seg(A, 1001 + 18, 5001, ACK, b"more"),
        vec![d(A, 18, b"more")]
    );
    assert_eq!(h.c.bytes_in_order, 22);
    assert_eq!(h.c.out_of_order, 0);
    assert_eq!(h.conn.next_offset(A), 22);
    assert_eq!(h.conn.client_side(), Some(A));
    assert!(h.conn.saw_syn(A) && h.conn.saw_syn(B));
    assert_eq!(h.conn.isn(A), Some(1000));
    assert_eq!(h.conn.isn(B), Some(5000));
}

#[test]
fn out_of_order_reverse() {
    let mut h = H::new();
    h.handshake(100, 900);
    assert!(h.seg(A, 111, 901, ACK, b"ccccc").is_empty());
    assert!(h.seg(A, 106, 901, ACK, b"bbbbb").is_empty());
    assert_eq!(h.conn.buffered_bytes(), 10);
    assert_eq!(h.budget.used, 10);
    assert_eq!(
        h.seg(A, 101, 901, ACK, b"aaaaa"),
        vec![d(A, 0, b"aaaaa"), d(A, 5, b"bbbbb"), d(A, 10, b"ccccc")]
    );
    assert_eq!(h.conn.buffered_bytes(), 0);
    assert_eq!(h.budget.used, 0);
    assert_eq!(h.c.out_of_order, 2);
    assert_eq!(h.c.ooo_bytes_buffered, 10);
    assert_eq!(h.c.gaps, 0);
}

#[test]
fn exact_retransmission() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"hello");
    assert!(h.seg(A, 101, 901, ACK, b"hello").is_empty());
    assert_eq!(h.c.retransmissions, 1);
    // Retransmission of a buffered segment.
    h.seg(A, 110, 901, ACK, b"xyz");
    assert!(h.seg(A, 110, 901, ACK, b"xyz").is_empty());
    assert_eq!(h.c.retransmissions, 2);
    assert_eq!(h.c.overlap_conflicts, 0);
    assert_eq!(h.budget.used, 3);
}

#[test]
fn partial_overlap_first_wins() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"abcd");
    // Overlaps delivered bytes: only the new tail is taken.
    assert_eq!(h.seg(A, 103, 901, ACK, b"cdef"), vec![d(A, 4, b"ef")]);
    assert_eq!(h.c.overlaps, 1);
    // Overlap with buffered data that differs: the buffered bytes win.
    assert!(h.seg(A, 109, 901, ACK, b"IJ").is_empty());
    assert_eq!(
        h.seg(A, 107, 901, ACK, b"ghijkl"),
        vec![d(A, 6, b"gh"), d(A, 8, b"IJ"), d(A, 10, b"kl")]
    );
    assert_eq!(h.c.overlaps, 2);
    assert_eq!(h.c.overlap_conflicts, 1);
    // Out-of-order overlap of buffered bytes that differ.
    assert!(h.seg(A, 120, 901, ACK, b"QRST").is_empty());
    assert!(h.seg(A, 118, 901, ACK, b"opqrs").is_empty());
    assert_eq!(h.c.overlaps, 3);
    assert_eq!(h.c.overlap_conflicts, 2);
    assert_eq!(
        h.seg(A, 113, 901, ACK, b"mnXYZ"),
        vec![d(A, 12, b"mnXYZ"), d(A, 17, b"op"), d(A, 19, b"QRST")]
    );
    assert_eq!(h.budget.used, 0);
}

#[test]
fn gap_via_ack() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"aaaa");
    // Bytes 4..8 never captured; 8..12 buffered.
    h.seg(A, 109, 901, ACK, b"cccc");
    let ev = h.seg(B, 901, 113, ACK, b"resp");
    assert_eq!(
        ev,
        vec![Ev::Gap(A, 4, 4), d(A, 8, b"cccc"), d(B, 0, b"resp")]
    );
    assert_eq!(h.c.acked_unseen, 1);
    assert_eq!((h.c.gaps, h.c.gap_bytes), (1, 4));
    // ACK beyond next with nothing buffered: the bytes up to the ack were lost.
    let ev = h.seg(B, 905, 120, ACK, b"");
    assert_eq!(ev, vec![Ev::Gap(A, 12, 7)]);
    // The late copy of lost bytes is old now.
    assert!(h.seg(A, 113, 905, ACK, b"ddd").is_empty());
    assert_eq!(h.c.retransmissions, 1);
    // An ACK of one byte past next (an unseen FIN) is not a gap.
    assert!(h.seg(B, 905, 121, ACK, b"").is_empty());
    // An absurd ACK is ignored.
    assert!(h
        .seg(B, 905, 120u32.wrapping_add(0x7000_0000), ACK, b"")
        .is_empty());
    assert_eq!(h.c.acked_unseen, 2);
}

#[test]
fn gap_via_per_direction_cap() {
    let mut h = H::new();
    h.cfg = TcpConfig {
        max_ooo_bytes: 8,
        max_ooo_segments: 100,
    };
    h.handshake(100, 900);
    assert!(h.seg(A, 111, 0, 0, b"bbbbb").is_empty()); // offsets 10..15
    assert_eq!(h.budget.used, 5);
    // 20..25 would exceed 8 bytes: skip the hole 0..10, deliver 10..15, then buffer.
    let ev = h.seg(A, 121, 0, 0, b"ccccc");
    assert_eq!(ev, vec![Ev::Gap(A, 0, 10), d(A, 10, b"bbbbb")]);
    assert_eq!(h.c.ooo_cap_hits, 1);
    assert_eq!(h.budget.used, 5);
    // Segment-count cap.
    let mut h = H::new();
    h.cfg = TcpConfig {
        max_ooo_bytes: 1000,
        max_ooo_segments: 1,
    };
    h.handshake(100, 900);
    h.seg(A, 121, 0, 0, b"ccccc");
    // 10..15 is before the buffered chunk: skip to it and deliver zero-copy.
    let ev = h.seg(A, 111, 0, 0, b"bbbbb");
    assert_eq!(ev, vec![Ev::Gap(A, 0, 10), d(A, 10, b"bbbbb")]);
    assert_eq!(h.c.ooo_cap_hits, 1);
    let ev = h.seg(A, 116, 0, 0, b"BBBBB");
    assert_eq!(ev, vec![d(A, 15, b"BBBBB"), d(A, 20, b"ccccc")]);
    assert_eq!(h.budget.used, 0);
}

#[test]
fn gap_via_global_budget() {
    let mut budget = Budget::new(6);
    let cfg = TcpConfig::default();
    let mut c = TcpCounters::default();
    let mut ev = Vec::new();
    let mut c1 = TcpConnection::new();
    let mut c2 = TcpConnection::new();
    let s = |seq, fl, p: &'static [u8]| Segment {
        seq,
        ack: 0,
        flags: fl,
        payload: p,
        payload_len: p.len() as u32,
    };
    c1.segment(A, &s(0, SYN, b""), &cfg, &mut budget, &mut c, &mut |e| {
        ev.push(own(e))
    });
    c2.segment(A, &s(0, SYN, b""), &cfg, &mut budget, &mut c, &mut |e| {
        ev.push(own(e))
    });
    c1.segment(A, &s(11, 0, b"1234"), &cfg, &mut budget, &mut c, &mut |e| {
        ev.push(own(e))
    });
    assert_eq!(budget.used, 4);
    assert!(ev.is_empty());
    // c2 cannot buffer 4 more bytes: it gives up its hole and delivers zero-copy.
    c2.segment(A, &s(21, 0, b"abcd"), &cfg, &mut budget, &mut c, &mut |e| {
        ev.push(own(e))
    });
    assert_eq!(ev, vec![Ev::Gap(A, 0, 20), d(A, 20, b"abcd")]);
    assert_eq!(c.budget_cap_hits, 1);
    assert_eq!(budget.used, 4);
    ev.clear();
    c1.flush(&mut budget, &mut c, &mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Gap(A, 0, 10), d(A, 10, b"1234")]);
    assert_eq!(budget.used, 0);
}

#[test]
fn flush_with_holes() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"aa");
    h.seg(A, 105, 901, ACK, b"bb");
    h.seg(A, 110, 901, ACK | FIN, b"cc");
    h.seg(B, 901, 0, FIN, b"zz");
    assert!(h.conn.is_closed());
    assert_eq!(
        h.flush(),
        vec![
            Ev::Gap(A, 2, 2),
            d(A, 4, b"bb"),
            Ev::Gap(A, 6, 3),
            d(A, 9, b"cc"),
            Ev::Fin(A),
        ]
    );
    assert_eq!(h.budget.used, 0);
    assert_eq!(h.conn.buffered_bytes(), 0);
    assert_eq!(h.c.fins, 2);
    assert!(h.flush().is_empty());
}

#[test]
fn midstream_pickup() {
    let mut h = H::new();
    assert_eq!(h.seg(A, 7000, 300, ACK, b"abc"), vec![d(A, 0, b"abc")]);
    assert_eq!(h.c.midstream, 1);
    assert_eq!(h.conn.client_side(), None);
    assert!(!h.conn.saw_syn(A));
    // Before the pickup point: old.
    assert!(h.seg(A, 6990, 300, ACK, b"old").is_empty());
    assert_eq!(h.c.old_data, 1);
    // Straddling the pickup point: only the part after it counts.
    assert_eq!(h.seg(A, 6998, 300, ACK, b"xxabcdef"), vec![d(A, 3, b"def")]);
    // B picked up from its first payload too.
    assert_eq!(h.seg(B, 300, 7006, ACK, b"ok"), vec![d(B, 0, b"ok")]);
    assert_eq!(h.c.midstream, 2);
}

#[test]
fn reordered_handshake() {
    // Capture order: client data, then SYN, then SYN/ACK, then server data.
    let mut h = H::new();
    assert_eq!(h.seg(A, 101, 501, ACK, b"req"), vec![d(A, 0, b"req")]);
    assert!(h.seg(A, 100, 0, SYN, b"").is_empty());
    assert!(h.seg(B, 500, 101, SYN | ACK, b"").is_empty());
    assert_eq!(h.conn.client_side(), Some(A));
    assert_eq!(h.conn.isn(A), Some(100));
    assert_eq!(h.seg(A, 104, 501, ACK, b"uest"), vec![d(A, 3, b"uest")]);
    assert_eq!(h.seg(B, 501, 108, ACK, b"resp"), vec![d(B, 0, b"resp")]);

    // SYN/ACK seen before the SYN: client inferred, then confirmed.
    let mut h = H::new();
    h.seg(B, 500, 101, SYN | ACK, b"");
    assert_eq!(h.conn.client_side(), Some(A));
    h.seg(A, 100, 0, SYN, b"");
    assert_eq!(h.conn.client_side(), Some(A));
    assert_eq!(h.seg(A, 101, 501, ACK, b"x"), vec![d(A, 0, b"x")]);

    // Server data before its SYN/ACK, first data segment missing and then
    // arriving late: the pickup point stays offset 0, earlier bytes are old.
    let mut h = H::new();
    h.handshake_a_only(100);
    assert_eq!(h.seg(B, 511, 101, ACK, b"second"), vec![d(B, 0, b"second")]);
    assert!(h.seg(B, 500, 101, SYN | ACK, b"").is_empty());
    assert!(h.conn.saw_syn(B));
    assert_eq!(h.conn.isn(B), Some(500));
    assert!(h.seg(B, 501, 101, ACK, b"first.....").is_empty());
    assert_eq!(h.c.old_data, 1);
    assert_eq!(h.seg(B, 517, 101, ACK, b"third"), vec![d(B, 6, b"third")]);
}

#[test]
fn tfo_syn_data() {
    let mut h = H::new();
    assert_eq!(h.seg(A, 1000, 0, SYN, b"GET"), vec![d(A, 0, b"GET")]);
    assert_eq!(h.c.syn_data, 1);
    // SYN retransmission: nothing new.
    assert!(h.seg(A, 1000, 0, SYN, b"GET").is_empty());
    assert!(h.seg(A, 1000, 0, SYN, b"").is_empty());
    // SYN+ACK acks the data, then the client ACK and more data.
    assert!(h.seg(B, 9000, 1004, SYN | ACK, b"").is_empty());
    assert!(h.seg(A, 1004, 9001, ACK, b"").is_empty());
    assert_eq!(h.seg(A, 1004, 9001, ACK, b" /"), vec![d(A, 3, b" /")]);
    assert_eq!(h.seg(B, 9001, 1006, ACK, b"200"), vec![d(B, 0, b"200")]);
    assert_eq!(h.conn.client_side(), Some(A));
    assert_eq!(h.c.gaps, 0);
}

#[test]
fn fin_after_data_and_fin_out_of_order() {
    let mut h = H::new();
    h.handshake(100, 900);
    assert_eq!(
        h.seg(A, 101, 901, ACK | FIN, b"bye"),
        vec![d(A, 0, b"bye"), Ev::Fin(A)]
    );
    // FIN retransmission and the ACK of the FIN (+1) are quiet.
    assert!(h.seg(A, 101, 901, ACK | FIN, b"bye").is_empty());
    assert!(h.seg(B, 901, 105, ACK, b"").is_empty());
    assert!(!h.conn.is_closed());
    // B's FIN arrives before its data.
    assert!(h.seg(B, 906, 105, ACK | FIN, b"").is_empty());
    assert!(h.conn.is_closed());
    assert!(h.seg(B, 904, 105, ACK, b"de").is_empty());
    assert_eq!(
        h.seg(B, 901, 105, ACK, b"abc"),
        vec![d(B, 0, b"abc"), d(B, 3, b"de"), Ev::Fin(B)]
    );
    assert_eq!(h.c.fins, 2);
    assert_eq!(h.budget.used, 0);
}

#[test]
fn rst() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"x");
    assert_eq!(h.seg(B, 901, 102, RST | ACK, b"ignored"), vec![Ev::Rst(B)]);
    assert!(h.conn.is_closed());
    assert_eq!(h.c.rsts, 1);
    assert_eq!(h.conn.next_offset(B), 0);
}

#[test]
fn seq_wraparound() {
    let mut h = H::new();
    let isn = u32::MAX - 5;
    h.handshake(isn, 7);
    // Offsets 0..4 cross the wrap at offset 5.
    assert_eq!(
        h.seg(A, isn.wrapping_add(1), 8, ACK, b"abcd"),
        vec![d(A, 0, b"abcd")]
    );
    // Out of order across the wrap (offset 4 is seq u32::MAX).
    assert!(h.seg(A, 1, 8, ACK, b"ghij").is_empty());
    assert_eq!(
        h.seg(A, u32::MAX, 8, ACK, b"ef"),
        vec![d(A, 4, b"ef"), d(A, 6, b"ghij")]
    );
    assert_eq!(h.conn.next_offset(A), 10);
    // ACK across the wrap declares the gap.
    assert_eq!(h.seg(B, 8, 9, ACK, b""), vec![Ev::Gap(A, 10, 4)]);
    // Old data across the wrap.
    assert!(h.seg(A, u32::MAX, 8, ACK, b"zz").is_empty());
    assert_eq!(h.c.retransmissions, 1);
}

#[test]
fn snaplen_cut() {
    let mut h = H::new();
    h.handshake(100, 900);
    assert_eq!(
        h.seg_cut(A, 101, 901, ACK, b"abcd", 10),
        vec![d(A, 0, b"abcd"), Ev::Gap(A, 4, 6)]
    );
    assert_eq!(h.c.snaplen_cut, 1);
    // Out of order and cut: buffered, then delivered with its gap.
    assert!(h.seg_cut(A, 115, 901, ACK, b"xy", 5).is_empty());
    assert_eq!(
        h.seg(A, 111, 901, ACK, b"1234"),
        vec![d(A, 10, b"1234"), d(A, 14, b"xy"), Ev::Gap(A, 16, 3)]
    );
    assert_eq!(h.conn.next_offset(A), 19);
    assert_eq!(h.budget.used, 0);
    // Nothing captured at all.
    assert_eq!(h.seg_cut(A, 120, 901, ACK, b"", 7), vec![Ev::Gap(A, 19, 7)]);
}

#[test]
fn keepalive() {
    let mut h = H::new();
    h.handshake(100, 900);
    h.seg(A, 101, 901, ACK, b"abc");
    assert!(h.seg(A, 103, 901, ACK, b"").is_empty());
    assert!(h.seg(A, 103, 901, ACK, b"c").is_empty());
    assert_eq!(h.c.keepalives, 2);
    assert_eq!(h.c.retransmissions, 0);
    assert_eq!(h.seg(A, 104, 901, ACK, b"d"), vec![d(A, 3, b"d")]);
}

#[test]
fn counters_add() {
    let mut a = TcpCounters {
        segments: 2,
        gaps: 1,
        ..Default::default()
    };
    let b = TcpCounters {
        segments: 3,
        acked_unseen: 4,
        ..Default::default()
    };
    a.add(&b);
    assert_eq!((a.segments, a.gaps, a.acked_unseen), (5, 1, 4));
}

#[test]
fn garbage_does_not_panic() {
    let cfg = TcpConfig {
        max_ooo_bytes: 64,
        max_ooo_segments: 4,
    };
    let mut budget = Budget::new(100);
    let mut c = TcpCounters::default();
    let mut conn = TcpConnection::new();
    let mut x: u32 = 12345;
    let buf = [7u8; 300];
    for _ in 0..20000 {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
        let side = if x & 1 == 0 { A } else { B };
        let len = (x >> 8) as usize % 40;
        let seg = Segment {
            seq: if x & 0x100 != 0 {
                x.rotate_left(7)
            } else {
                (x >> 20) & 0x3ff
            },
            ack: (x >> 4) & 0x7ff,
            flags: (x >> 24) as u8 & 0x3f,
            payload: &buf[..len],
            payload_len: if x & 0x200 != 0 {
                len as u32 + (x >> 28)
            } else {
                len as u32
            },
        };
        conn.segment(side, &seg, &cfg, &mut budget, &mut c, &mut |_| {});
        assert!(conn.buffered_bytes() <= 128);
        assert_eq!(budget.used, conn.buffered_bytes());
    }
    conn.flush(&mut budget, &mut c, &mut |_| {});
    assert_eq!(budget.used, 0);
}
