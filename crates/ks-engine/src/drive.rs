//! Driving a streaming parser over one connection, whatever its protocol: the
//! engine's side of the parser contract (buffering of unconsumed bytes, `needed`,
//! errors, gaps, ends), written once for every [`Session`].

use crate::conn::{side_for, Ctx};
use crate::entry::{Endpoint, Entry, EntryError, Frames, Output, Request, Response};
use crate::stream::{DirStream, FrameMark};
use ks_proto::{Direction, StreamParser};
use ks_reassembly::Side;
use std::net::SocketAddr;

/// One protocol's state on a connection: its parser, and what turns the
/// parser's messages into entries.
pub(crate) trait Session {
    /// The parser.
    type P: StreamParser;
    /// The parser and the vector it pushes messages into.
    fn parts(&mut self) -> (&mut Self::P, &mut Vec<<Self::P as StreamParser>::Message>);
    /// The parser, to read.
    fn parser(&self) -> &Self::P;
    /// Turn the messages the parser produced (while parsing `dir`) into outputs.
    /// `closing`: they were flushed by the end of `dir`.
    fn deliver(&mut self, io: &mut Io<'_, '_>, dir: Direction, closing: bool);
    /// Both directions are over and delivered: emit what waits for a partner,
    /// and add the parser's counters to the engine's.
    fn close(&mut self, io: &mut Io<'_, '_>);
}

/// What an HTTP/1 `101` (or `Upgrade: h2c`) exchange tells the protocol that takes over.
#[derive(Clone, Debug, Default)]
pub(crate) struct Upgrade {
    pub method: String,
    pub path: String,
    pub request_headers: Vec<(String, String)>,
    pub request_start: u64,
    pub request_end: u64,
    pub request_body_size: u64,
    pub response_headers: Vec<(String, String)>,
}

impl Upgrade {
    /// First value of a response header (ASCII case-insensitive name).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        header(&self.response_headers, name)
    }
    /// First value of a request header.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        header(&self.request_headers, name)
    }
}

/// First value of a header (ASCII case-insensitive name).
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The connection as a session sees it while it delivers.
pub(crate) struct Io<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    /// Indexed by [`Side::index`].
    pub dirs: &'c mut [DirStream; 2],
    pub client: Option<Side>,
    /// Entries emitted so far on the connection.
    pub entries: &'c mut u64,
    /// Set by the HTTP/1 session when a `101` pairs.
    pub upgrade: &'c mut Option<Box<Upgrade>>,
}

/// An entry as a session builds it; [`Io::emit`] adds the connection's part.
#[derive(Clone)]
pub(crate) struct NewEntry {
    pub protocol: &'static str,
    pub version: String,
    pub stream_id: Option<u32>,
    /// A one-way message: the direction it went (src/dst are its sender/receiver).
    pub one_way: Option<Direction>,
    pub first: FrameMark,
    pub elapsed_us: Option<u64>,
    pub frames: Frames,
    pub request: Option<Request>,
    pub response: Option<Response>,
    pub summary: String,
    pub error: Option<EntryError>,
}

impl Io<'_, '_> {
    pub fn dir(&mut self, dir: Direction) -> &mut DirStream {
        &mut self.dirs[side_for(self.client, dir).index()]
    }

    /// The frame that carried the byte at `offset` of `dir` (the current frame
    /// when no mark is known).
    pub fn frame_of(&self, dir: Direction, offset: u64) -> FrameMark {
        self.dirs[side_for(self.client, dir).index()]
            .frame_of(offset)
            .unwrap_or(self.here(offset))
    }

    /// The frame being processed.
    pub fn here(&self, offset: u64) -> FrameMark {
        FrameMark {
            offset,
            frame: self.ctx.frame,
            ts_ns: self.ctx.ts_ns,
        }
    }

    /// (client, server) addresses.
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        match self.client.unwrap_or(Side::A) {
            Side::A => (self.ctx.a, self.ctx.b),
            Side::B => (self.ctx.b, self.ctx.a),
        }
    }

    /// Count an event a parser reported.
    pub fn event(&mut self, kind: &'static str) {
        *self.ctx.stats.events.entry(kind).or_default() += 1;
    }

    /// Emit an entry.
    pub fn emit(&mut self, e: NewEntry) {
        let (client, server) = self.endpoints();
        let (src, dst) = match e.one_way {
            Some(Direction::ToClient) => (server, client),
            _ => (client, server),
        };
        let n = *self.entries;
        *self.entries += 1;
        *self.ctx.stats.entries.entry(e.protocol).or_default() += 1;
        if let Some(x) = &e.error {
            *self
                .ctx
                .stats
                .entry_errors
                .entry(x.kind.clone())
                .or_default() += 1;
        }
        self.ctx.out.push_back((
            self.ctx.seq,
            Output::Entry(Box::new(Entry {
                id: crate::entry::entry_id(self.ctx.transport, self.ctx.stream, n),
                protocol: e.protocol,
                version: e.version,
                transport: self.ctx.transport,
                tls: false,
                stream: self.ctx.stream,
                stream_id: e.stream_id,
                src: Endpoint::from(src),
                dst: Endpoint::from(dst),
                timestamp: crate::entry::rfc3339_us(e.first.ts_ns),
                ts_ns: e.first.ts_ns,
                elapsed_us: e.elapsed_us,
                frames: e.frames,
                request: e.request,
                response: e.response,
                summary: e.summary,
                error: e.error,
                process: None,
            })),
        ));
    }
}

/// Hand bytes of `dir` (new `data`, or what is buffered) to the session's parser.
/// Bytes the parser did not take stay buffered — after a hand-off too, where
/// they belong to the next protocol.
pub(crate) fn feed<S: Session>(
    s: &mut S,
    io: &mut Io<'_, '_>,
    dir: Direction,
    data: Option<&[u8]>,
) {
    let side = side_for(io.client, dir).index();
    if io.dirs[side].ended || s.parser().handoff().is_some() {
        if let Some(new) = data {
            // After a hand-off, keep the next protocol's bytes.
            if !io.dirs[side].ended {
                io.dirs[side].buf.extend_from_slice(new);
            }
        }
        return;
    }
    let d = &mut io.dirs[side];
    match data {
        // The common case: nothing pending, parse straight from the capture buffer
        // and keep only an unfinished message's rest.
        Some(new) if d.buf.is_empty() && d.needed == 0 => {
            let used = run_parser(s, io, dir, new);
            let d = &mut io.dirs[side];
            d.base += used as u64;
            if used < new.len() {
                d.buf.extend_from_slice(&new[used..]);
            }
        }
        _ => {
            if let Some(new) = data {
                d.buf.extend_from_slice(new);
                d.fresh += new.len();
                if d.fresh < d.needed {
                    return;
                }
            }
            let buf = std::mem::take(&mut d.buf);
            let used = run_parser(s, io, dir, &buf);
            let d = &mut io.dirs[side];
            d.buf = buf;
            d.buf.drain(..used);
            d.base += used as u64;
            d.release();
        }
    }
    let d = &mut io.dirs[side];
    d.fresh = 0;
    if s.parser().handoff().is_none() && d.buf.len() > io.ctx.cfg.max_stream_buffer {
        io.ctx.stats.stream_buffer_capped += 1;
        let lost = d.drop_buffered();
        let (p, out) = s.parts();
        p.gap(dir, lost, out);
        s.deliver(io, dir, false);
    }
}

/// Call the parser until it stops making progress on `input`; returns bytes consumed.
fn run_parser<S: Session>(s: &mut S, io: &mut Io<'_, '_>, dir: Direction, input: &[u8]) -> usize {
    let side = side_for(io.client, dir).index();
    let mut pos = 0;
    let mut errors_in_a_row = 0;
    while pos < input.len() {
        let (p, out) = s.parts();
        match p.parse(dir, &input[pos..], out) {
            Ok(p) => {
                errors_in_a_row = 0;
                io.dirs[side].needed = p.needed;
                pos += p.consumed.min(input.len() - pos);
                s.deliver(io, dir, false);
                if p.consumed == 0 {
                    break;
                }
            }
            Err(_) => {
                // The parser is now resynchronising; calling again lets it skip ahead.
                io.ctx.stats.parse_errors += 1;
                errors_in_a_row += 1;
                s.deliver(io, dir, false);
                if errors_in_a_row > 2 {
                    break;
                }
            }
        }
        if s.parser().handoff().is_some() {
            break;
        }
    }
    pos
}

/// `len` bytes of `dir` from `offset` on were lost.
pub(crate) fn gap<S: Session>(
    s: &mut S,
    io: &mut Io<'_, '_>,
    dir: Direction,
    offset: u64,
    len: u64,
) {
    let d = io.dir(dir);
    let lost = d.drop_buffered();
    d.base = offset + len;
    let (p, out) = s.parts();
    p.gap(dir, lost + len, out);
    s.deliver(io, dir, false);
}

/// `dir` ended; returns true when both directions have.
pub(crate) fn end<S: Session>(s: &mut S, io: &mut Io<'_, '_>, dir: Direction) -> bool {
    let d = io.dir(dir);
    if d.ended {
        return false;
    }
    // Whatever is buffered is all there will be.
    if !d.buf.is_empty() && s.parser().handoff().is_none() {
        let buf = std::mem::take(&mut d.buf);
        let (p, out) = s.parts();
        let _ = p.parse(dir, &buf, out);
        s.deliver(io, dir, false);
    }
    let (p, out) = s.parts();
    p.end(dir, out);
    s.deliver(io, dir, true);
    io.dir(dir).ended = true;
    io.dirs.iter().all(|d| d.ended)
}

/// The connection is over (or handed to another protocol): flush the parser and
/// emit what is left.
pub(crate) fn finish<S: Session>(s: &mut S, io: &mut Io<'_, '_>) {
    for dir in [Direction::ToServer, Direction::ToClient] {
        if !io.dir(dir).ended && s.parser().handoff().is_none() {
            let (p, out) = s.parts();
            p.end(dir, out);
            io.dir(dir).ended = true;
        }
        s.deliver(io, dir, true);
    }
    s.close(io);
}
