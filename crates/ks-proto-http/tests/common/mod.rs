//! A small driver that mimics the engine: per-direction buffers, honours
//! `consumed` / `needed`, drops buffered bytes on a gap.
#![allow(dead_code)]

use ks_proto::{Direction, ParseError, StreamParser};
use ks_proto_http::{Http1Parser, HttpConfig, Message, Request, Response};

pub const C2S: Direction = Direction::ToServer;
pub const S2C: Direction = Direction::ToClient;

pub struct Driver {
    pub p: Http1Parser,
    pub buf: [Vec<u8>; 2],
    fresh: [usize; 2],
    need: [usize; 2],
    pub out: Vec<Message>,
    pub errors: Vec<ParseError>,
    pub calls: usize,
    /// Absolute offset of `buf[d][0]`.
    pub abs: [u64; 2],
}

impl Driver {
    pub fn new(cfg: HttpConfig) -> Self {
        Driver {
            p: Http1Parser::new(cfg),
            buf: [Vec::new(), Vec::new()],
            fresh: [0; 2],
            need: [0; 2],
            out: Vec::new(),
            errors: Vec::new(),
            calls: 0,
            abs: [0; 2],
        }
    }

    pub fn feed(&mut self, dir: Direction, bytes: &[u8]) {
        let d = dir.index();
        self.buf[d].extend_from_slice(bytes);
        self.fresh[d] += bytes.len();
        if self.p.handoff().is_some() || self.fresh[d] < self.need[d] || bytes.is_empty() {
            return;
        }
        self.run(dir);
    }

    /// Same loop as the engine: call until no progress; an `Err` consumes nothing
    /// and is followed by another call on the same bytes.
    fn run(&mut self, dir: Direction) {
        let d = dir.index();
        self.fresh[d] = 0;
        let mut errors_in_a_row = 0;
        while !self.buf[d].is_empty() {
            self.calls += 1;
            let len = self.buf[d].len();
            match self.p.parse(dir, &self.buf[d], &mut self.out) {
                Ok(p) => {
                    errors_in_a_row = 0;
                    assert!(p.consumed <= len, "consumed {} > {}", p.consumed, len);
                    assert!(
                        p.consumed > 0 || p.needed > 0 || self.p.handoff().is_some(),
                        "no progress and needed 0 with {len} bytes"
                    );
                    self.need[d] = p.needed;
                    self.buf[d].drain(..p.consumed);
                    self.abs[d] += p.consumed as u64;
                    if p.consumed == 0 {
                        break;
                    }
                }
                Err(e) => {
                    assert_eq!(
                        e.offset, self.abs[d],
                        "an error is reported at the first byte"
                    );
                    self.errors.push(e);
                    errors_in_a_row += 1;
                    assert!(
                        errors_in_a_row <= 1,
                        "resync must make progress after an error"
                    );
                }
            }
            if self.p.handoff().is_some() {
                break;
            }
        }
    }

    pub fn gap(&mut self, dir: Direction, len: u64) {
        let d = dir.index();
        let dropped = self.buf[d].len() as u64;
        self.buf[d].clear();
        self.need[d] = 0;
        self.abs[d] += len + dropped;
        self.p.gap(dir, len + dropped, &mut self.out);
    }

    pub fn end(&mut self, dir: Direction) {
        self.p.end(dir, &mut self.out);
    }

    pub fn requests(&self) -> Vec<&Request> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn responses(&self) -> Vec<&Response> {
        self.out
            .iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}
