//! Input formats shared by the fuzz targets (`fuzz_targets/`) and the seed
//! generator (`examples/seed.rs`).
//!
//! Every format has a decoder, used by a target, and an encoder, used by the seed
//! generator, so that seeds made from `testdata/pcap` decode to exactly what they
//! were made from. The formats are described in `docs/fuzzing.md`.

use arbitrary::{Arbitrary, Unstructured};

/// Link types the `link_ip_decode` target picks from (index = first byte mod 9).
pub const LINK_TYPES: [u32; 9] = [0, 1, 101, 108, 113, 276, 239, 228, 229];

// ---------------------------------------------------------------------------
// link_ip_decode: a link type and a list of frames.

/// `link_ip_decode` input: byte 0 picks the link type (`LINK_TYPES[b % 9]`), then
/// records of `u16` LE length + frame bytes follow (a short last record takes the
/// rest).
pub fn frames(data: &[u8]) -> (u32, FrameIter<'_>) {
    match data.split_first() {
        Some((&b, rest)) => (
            LINK_TYPES[usize::from(b) % LINK_TYPES.len()],
            FrameIter { rest },
        ),
        None => (LINK_TYPES[0], FrameIter { rest: &[] }),
    }
}

/// The frames of a `link_ip_decode` input.
pub struct FrameIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FrameIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.len() < 2 {
            return None;
        }
        let n = usize::from(u16::from_le_bytes([self.rest[0], self.rest[1]]));
        let body = &self.rest[2..];
        let n = n.min(body.len());
        let (frame, rest) = body.split_at(n);
        self.rest = rest;
        Some(frame)
    }
}

/// Inverse of [`frames`]. Frames longer than 65535 bytes are cut.
pub fn encode_frames(link_type: u32, frames: &[&[u8]]) -> Vec<u8> {
    let idx = LINK_TYPES.iter().position(|&l| l == link_type).unwrap_or(0);
    let mut out = vec![idx as u8];
    for f in frames {
        let f = &f[..f.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(f.len() as u16).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

// ---------------------------------------------------------------------------
// http1 and engine: client bytes, server bytes and a delivery schedule.

/// Bytes before the payload in an `http1` / `engine` input.
pub const SPLIT_HEADER: usize = 10;

/// `http1` / `engine` input: bytes 0..2 = `u16` LE count of client bytes (clamped
/// to what is there), bytes 2..10 = schedule, then the client bytes, then the
/// server bytes.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// Client to server bytes.
    pub client: &'a [u8],
    /// Server to client bytes.
    pub server: &'a [u8],
    /// Delivery schedule (see [`Step`]).
    pub schedule: [u8; 8],
}

/// Decode an `http1` / `engine` input (missing header bytes count as 0).
pub fn split(data: &[u8]) -> Split<'_> {
    let mut head = [0u8; SPLIT_HEADER];
    let n = data.len().min(SPLIT_HEADER);
    head[..n].copy_from_slice(&data[..n]);
    let rest = &data[n..];
    let c = usize::from(u16::from_le_bytes([head[0], head[1]])).min(rest.len());
    let mut schedule = [0u8; 8];
    schedule.copy_from_slice(&head[2..10]);
    Split {
        client: &rest[..c],
        server: &rest[c..],
        schedule,
    }
}

/// Inverse of [`split`]; `client` is cut to 65535 bytes.
pub fn encode_split(client: &[u8], server: &[u8], schedule: [u8; 8]) -> Vec<u8> {
    let client = &client[..client.len().min(usize::from(u16::MAX))];
    let mut out = Vec::with_capacity(SPLIT_HEADER + client.len() + server.len());
    out.extend_from_slice(&(client.len() as u16).to_le_bytes());
    out.extend_from_slice(&schedule);
    out.extend_from_slice(client);
    out.extend_from_slice(server);
    out
}

/// One schedule byte: bit 7 = direction (0 client → server), bit 6 = the chunk is
/// lost (a capture gap), bits 0..6 = `n`, chunk length `n²` (0 = all that is left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Client to server.
    pub to_server: bool,
    /// The bytes are lost (not delivered).
    pub lost: bool,
    /// Chunk length; 0 = everything left in that direction.
    pub len: usize,
}

impl Step {
    /// Decode one schedule byte.
    pub fn from_byte(b: u8) -> Step {
        let n = usize::from(b & 0x3f);
        Step {
            to_server: b & 0x80 == 0,
            lost: b & 0x40 != 0,
            len: n * n,
        }
    }

    /// Encode (`len` must be a square ≤ 63², or 0).
    pub fn to_byte(self) -> u8 {
        let n = (self.len as f64).sqrt() as u8 & 0x3f;
        (u8::from(!self.to_server) << 7) | (u8::from(self.lost) << 6) | n
    }
}

/// A piece of one direction, as cut by the schedule.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// 0 = client to server, 1 = server to client.
    pub dir: usize,
    /// The bytes (not to be delivered when `lost`).
    pub bytes: &'a [u8],
    /// A capture gap: these bytes are missing.
    pub lost: bool,
    /// Nothing is left in this direction after this chunk.
    pub last: bool,
}

/// Cuts both directions into chunks following a schedule (cycled); when the
/// scheduled direction is exhausted the other one is taken. `max_len` caps a chunk
/// (0 = no cap).
pub struct Chunker<'a> {
    left: [&'a [u8]; 2],
    schedule: [u8; 8],
    i: usize,
    max_len: usize,
}

impl<'a> Chunker<'a> {
    /// Chunks of `s`, each at most `max_len` bytes when `max_len > 0`.
    pub fn new(s: &Split<'a>, max_len: usize) -> Self {
        Chunker {
            left: [s.client, s.server],
            schedule: s.schedule,
            i: 0,
            max_len,
        }
    }
}

impl<'a> Iterator for Chunker<'a> {
    type Item = Chunk<'a>;
    fn next(&mut self) -> Option<Chunk<'a>> {
        if self.left[0].is_empty() && self.left[1].is_empty() {
            return None;
        }
        let step = Step::from_byte(self.schedule[self.i % 8]);
        self.i += 1;
        let mut dir = usize::from(!step.to_server);
        if self.left[dir].is_empty() {
            dir = 1 - dir;
        }
        let avail = self.left[dir].len();
        let mut n = if step.len == 0 {
            avail
        } else {
            step.len.min(avail)
        };
        if self.max_len > 0 {
            n = n.min(self.max_len);
        }
        let (bytes, rest) = self.left[dir].split_at(n);
        self.left[dir] = rest;
        Some(Chunk {
            dir,
            bytes,
            lost: step.lost,
            last: rest.is_empty(),
        })
    }
}

// ---------------------------------------------------------------------------
// tcp_reassembly: caps, ISNs and a list of segments.

/// `tcp_reassembly` input.
///
/// Encoding: 1 byte of caps (bits 0-1 `max_ooo_bytes` ∈ {64, 512, 4096, 1 MiB},
/// bits 2-3 `max_ooo_segments` ∈ {1, 4, 16, 2048}, bits 4-5 budget cap ∈ {32,
/// 1024, 8192, 256 MiB}), ISN of side A and of side B (`u32` LE each), then
/// segments until the input ends: control byte (bit 7 = side B, bits 0-5 = TCP
/// flags FIN SYN RST PSH ACK URG), seq offset from the side's ISN (`u32` LE), ack
/// offset from the other side's ISN (`u32` LE), wire bytes beyond the captured
/// payload (`u16` LE), payload length (`u16` LE, clamped to what is left), payload.
#[derive(Debug, Clone)]
pub struct TcpInput<'a> {
    /// Out-of-order bytes buffered per direction.
    pub max_ooo_bytes: usize,
    /// Out-of-order segments buffered per direction.
    pub max_ooo_segments: usize,
    /// Global budget cap.
    pub budget_cap: usize,
    /// ISN of side A and side B.
    pub isn: [u32; 2],
    /// The segments, in capture order.
    pub segs: Vec<TcpSeg<'a>>,
}

/// One segment of a [`TcpInput`].
#[derive(Debug, Clone)]
pub struct TcpSeg<'a> {
    /// 0 = side A, 1 = side B.
    pub side: usize,
    /// TCP flags (low 6 bits).
    pub flags: u8,
    /// `seq - isn[side]`.
    pub seq_off: u32,
    /// `ack - isn[other side]`.
    pub ack_off: u32,
    /// `payload_len - payload.len()`.
    pub extra_len: u16,
    /// Captured payload.
    pub payload: &'a [u8],
}

const OOO_BYTES: [usize; 4] = [64, 512, 4096, 1 << 20];
const OOO_SEGS: [usize; 4] = [1, 4, 16, 2048];
const BUDGETS: [usize; 4] = [32, 1024, 8192, 256 << 20];

fn le_u32(u: &mut Unstructured<'_>) -> u32 {
    let mut b = [0u8; 4];
    for x in &mut b {
        *x = u8::arbitrary(u).unwrap_or(0);
    }
    u32::from_le_bytes(b)
}

fn le_u16(u: &mut Unstructured<'_>) -> u16 {
    let lo = u8::arbitrary(u).unwrap_or(0);
    let hi = u8::arbitrary(u).unwrap_or(0);
    u16::from_le_bytes([lo, hi])
}

impl<'a> Arbitrary<'a> for TcpSeg<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let ctl = u8::arbitrary(u)?;
        let seq_off = le_u32(u);
        let ack_off = le_u32(u);
        let extra_len = le_u16(u);
        let n = usize::from(le_u16(u)).min(u.len());
        let payload = u.bytes(n)?;
        Ok(TcpSeg {
            side: usize::from(ctl >> 7),
            flags: ctl & 0x3f,
            seq_off,
            ack_off,
            extra_len,
            payload,
        })
    }
}

impl<'a> Arbitrary<'a> for TcpInput<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let caps = u8::arbitrary(u)?;
        let isn = [le_u32(u), le_u32(u)];
        let mut segs = Vec::new();
        while !u.is_empty() {
            segs.push(TcpSeg::arbitrary(u)?);
        }
        Ok(TcpInput {
            max_ooo_bytes: OOO_BYTES[usize::from(caps & 3)],
            max_ooo_segments: OOO_SEGS[usize::from((caps >> 2) & 3)],
            budget_cap: BUDGETS[usize::from((caps >> 4) & 3)],
            isn,
            segs,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::arbitrary(&mut u)
    }
}

impl TcpInput<'_> {
    /// Inverse of the [`Arbitrary`] decoding; `caps` is the raw caps byte.
    pub fn encode(caps: u8, isn: [u32; 2], segs: &[TcpSeg<'_>]) -> Vec<u8> {
        let mut out = vec![caps];
        out.extend_from_slice(&isn[0].to_le_bytes());
        out.extend_from_slice(&isn[1].to_le_bytes());
        for s in segs {
            let payload = &s.payload[..s.payload.len().min(usize::from(u16::MAX))];
            out.push((u8::from(s.side == 1) << 7) | (s.flags & 0x3f));
            out.extend_from_slice(&s.seq_off.to_le_bytes());
            out.extend_from_slice(&s.ack_off.to_le_bytes());
            out.extend_from_slice(&s.extra_len.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
            out.extend_from_slice(payload);
        }
        out
    }
}

// ---------------------------------------------------------------------------
// engine: raw IPv4 + TCP packets.

/// Client and server endpoints used by the `engine` target.
pub const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
/// The server listens on port 80.
pub const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);

/// A raw IPv4 + TCP packet (link type 101) without checksums.
pub fn ipv4_tcp(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = 20 + 20 + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src.0);
    p.extend_from_slice(&dst.0);
    p.extend_from_slice(&src.1.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags]);
    p.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// A raw IPv4 + SCTP packet (link type 101) with `chunks` after the common header
/// (verification tag 0, no checksum).
pub fn ipv4_sctp(src: ([u8; 4], u16), dst: ([u8; 4], u16), chunks: &[u8]) -> Vec<u8> {
    let total = 20 + 12 + chunks.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 132, 0, 0]);
    p.extend_from_slice(&src.0);
    p.extend_from_slice(&dst.0);
    p.extend_from_slice(&src.1.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(chunks);
    p
}

/// One SCTP chunk: type, flags, value (length set, padded to 4 bytes).
pub fn sctp_chunk(chunk_type: u8, flags: u8, value: &[u8]) -> Vec<u8> {
    let len = (4 + value.len()).min(usize::from(u16::MAX));
    let mut c = vec![chunk_type, flags];
    c.extend_from_slice(&(len as u16).to_be_bytes());
    c.extend_from_slice(&value[..len - 4]);
    while c.len() % 4 != 0 {
        c.push(0);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let data = encode_frames(276, &[b"abc", b"", b"xyz!"]);
        let (lt, it) = frames(&data);
        assert_eq!(lt, 276);
        assert_eq!(it.collect::<Vec<_>>(), vec![&b"abc"[..], b"", b"xyz!"]);
    }

    #[test]
    fn split_round_trip() {
        let sched = [
            Step {
                to_server: true,
                lost: false,
                len: 9,
            }
            .to_byte(),
            Step {
                to_server: false,
                lost: true,
                len: 0,
            }
            .to_byte(),
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let data = encode_split(b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n", sched);
        let s = split(&data);
        assert_eq!(s.client, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(s.server, b"HTTP/1.1 200 OK\r\n\r\n");
        let chunks: Vec<_> = Chunker::new(&s, 0).collect();
        assert_eq!((chunks[0].dir, chunks[0].bytes.len()), (0, 9));
        assert!(chunks[1].lost && chunks[1].last && chunks[1].dir == 1);
        assert_eq!(chunks.len(), 3);
        assert!(chunks[2].last && !chunks[2].lost);
    }

    #[test]
    fn tcp_round_trip() {
        let segs = [
            TcpSeg {
                side: 1,
                flags: 0x12,
                seq_off: 0,
                ack_off: 1,
                extra_len: 3,
                payload: b"",
            },
            TcpSeg {
                side: 0,
                flags: 0x18,
                seq_off: 1,
                ack_off: 70000,
                extra_len: 0,
                payload: b"hello",
            },
        ];
        let data = TcpInput::encode(0b10_01_10, [7, u32::MAX], &segs);
        let t = TcpInput::arbitrary_take_rest(Unstructured::new(&data)).unwrap();
        assert_eq!(
            (t.max_ooo_bytes, t.max_ooo_segments, t.budget_cap),
            (4096, 4, 8192)
        );
        assert_eq!(t.isn, [7, u32::MAX]);
        assert_eq!(t.segs.len(), 2);
        assert_eq!(
            (t.segs[1].side, t.segs[1].flags, t.segs[1].ack_off),
            (0, 0x18, 70000)
        );
        assert_eq!(t.segs[1].payload, b"hello");
        assert_eq!((t.segs[0].side, t.segs[0].extra_len), (1, 3));
    }
}

// ---------------------------------------------------------------------------
// Streaming parsers driven as ks-engine drives them (http1, http2, websocket).

use ks_proto::{Direction, StreamParser};

/// The two directions, indexed as in `Split` (0: client → server).
pub const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

/// One direction as the driver keeps it.
#[derive(Default)]
pub struct DirState {
    buf: Vec<u8>,
    needed: usize,
    fresh: usize,
    ended: bool,
    /// Bytes of the stream seen so far (delivered or lost).
    pub seen: u64,
    /// The parser's low-water mark after its last call.
    pub low: u64,
}

/// What a target checks: called with the messages of every parser call (to drain).
pub type Check<'c, M> = dyn FnMut(&[DirState; 2], usize, &mut Vec<M>) + 'c;

/// A `StreamParser` driven as `ks-engine`'s `drive.rs` drives it: per direction the
/// unconsumed rest is kept, new bytes are appended, and the parser is called again
/// once `needed` bytes have arrived; after an `Err` it is called again with the same
/// bytes (at most 3 errors in a row); over `max_stream_buffer` unparsed bytes the
/// rest becomes a gap. Checked on every call: `consumed` never exceeds the input, a
/// call that consumes nothing asks for more, an `Err` points at the first byte it was
/// given, and `low_water` never passes the bytes seen.
pub struct Drive<P: StreamParser> {
    pub parser: P,
    pub dirs: [DirState; 2],
    out: Vec<P::Message>,
    max_stream_buffer: usize,
}

impl<P: StreamParser> Drive<P> {
    pub fn new(parser: P, max_stream_buffer: usize) -> Self {
        Drive {
            parser,
            dirs: Default::default(),
            out: Vec::new(),
            max_stream_buffer,
        }
    }

    /// Feed a split input through (chunks, losses, ends), then end both directions.
    pub fn run_split(&mut self, s: &Split<'_>, check: &mut Check<'_, P::Message>) {
        for chunk in Chunker::new(s, 0) {
            if self.parser.handoff().is_some() {
                break;
            }
            if chunk.lost {
                self.lose(chunk.dir, chunk.bytes.len() as u64, check);
            } else {
                self.feed(chunk.dir, chunk.bytes, check);
            }
            if chunk.last {
                self.end(chunk.dir, check);
            }
        }
        if self.parser.handoff().is_none() {
            for d in 0..2 {
                self.end(d, check);
            }
        }
    }

    fn check_out(&mut self, d: usize, check: &mut Check<'_, P::Message>) {
        check(&self.dirs, d, &mut self.out);
        self.out.clear();
        let lw = self.parser.low_water(DIRS[d]);
        assert!(
            lw <= self.dirs[d].seen,
            "low water {lw} past {}",
            self.dirs[d].seen
        );
        self.dirs[d].low = lw;
    }

    /// The engine's `run_parser`: returns bytes consumed.
    fn run(&mut self, d: usize, input: &[u8], check: &mut Check<'_, P::Message>) -> usize {
        let mut pos = 0;
        let mut errors_in_a_row = 0;
        while pos < input.len() {
            match self.parser.parse(DIRS[d], &input[pos..], &mut self.out) {
                Ok(p) => {
                    let left = input.len() - pos;
                    assert!(p.consumed <= left, "consumed {} of {left}", p.consumed);
                    errors_in_a_row = 0;
                    self.dirs[d].needed = p.needed;
                    pos += p.consumed;
                    self.check_out(d, check);
                    if p.consumed == 0 {
                        break;
                    }
                }
                Err(e) => {
                    let at = self.dirs[d].seen - (input.len() - pos) as u64;
                    assert!(
                        e.offset >= at,
                        "error at {} before the input ({at})",
                        e.offset
                    );
                    errors_in_a_row += 1;
                    self.check_out(d, check);
                    if errors_in_a_row > 2 {
                        break;
                    }
                }
            }
            if self.parser.handoff().is_some() {
                break;
            }
        }
        pos
    }

    /// The engine's `feed`.
    fn feed(&mut self, d: usize, new: &[u8], check: &mut Check<'_, P::Message>) {
        if self.dirs[d].ended {
            return;
        }
        self.dirs[d].seen += new.len() as u64;
        if self.dirs[d].buf.is_empty() && self.dirs[d].needed == 0 {
            let used = self.run(d, new, check);
            if used < new.len() && self.parser.handoff().is_none() {
                self.dirs[d].buf.extend_from_slice(&new[used..]);
            }
        } else {
            let dir = &mut self.dirs[d];
            dir.buf.extend_from_slice(new);
            dir.fresh += new.len();
            if dir.fresh < dir.needed {
                return;
            }
            let buf = std::mem::take(&mut dir.buf);
            let used = self.run(d, &buf, check);
            let dir = &mut self.dirs[d];
            dir.buf = buf;
            dir.buf.drain(..used);
        }
        self.dirs[d].fresh = 0;
        if self.dirs[d].buf.len() > self.max_stream_buffer {
            let lost = self.drop_buffered(d);
            self.parser.gap(DIRS[d], lost, &mut self.out);
            self.check_out(d, check);
        }
    }

    fn drop_buffered(&mut self, d: usize) -> u64 {
        let dir = &mut self.dirs[d];
        let n = dir.buf.len() as u64;
        dir.buf.clear();
        dir.needed = 0;
        dir.fresh = 0;
        n
    }

    /// The engine's `gap`.
    fn lose(&mut self, d: usize, len: u64, check: &mut Check<'_, P::Message>) {
        let lost = self.drop_buffered(d);
        self.dirs[d].seen += len;
        self.parser.gap(DIRS[d], lost + len, &mut self.out);
        self.check_out(d, check);
    }

    /// The engine's `end`.
    fn end(&mut self, d: usize, check: &mut Check<'_, P::Message>) {
        if self.dirs[d].ended {
            return;
        }
        if !self.dirs[d].buf.is_empty() {
            let buf = std::mem::take(&mut self.dirs[d].buf);
            let _ = self.parser.parse(DIRS[d], &buf, &mut self.out);
            self.check_out(d, check);
        }
        self.parser.end(DIRS[d], &mut self.out);
        self.check_out(d, check);
        self.dirs[d].ended = true;
    }
}

/// The chunks of a split input as datagrams (for UDP protocols): each delivered chunk
/// is one datagram of at most `max_len` bytes; lost chunks are simply not seen. Calls
/// `f(direction, datagram, bytes seen so far per direction)`.
pub fn datagrams(s: &Split<'_>, max_len: usize, f: &mut dyn FnMut(Direction, &[u8], [u64; 2])) {
    let mut seen = [0u64; 2];
    for chunk in Chunker::new(s, max_len) {
        if chunk.lost {
            continue;
        }
        seen[chunk.dir] += chunk.bytes.len() as u64;
        let dir = if chunk.dir == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        f(dir, chunk.bytes, seen);
    }
}
