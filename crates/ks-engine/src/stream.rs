//! Per-direction stream state: bytes a parser has not consumed yet, and the map
//! from stream offsets back to the frames that carried them.

use std::collections::VecDeque;

/// Where a byte of a stream came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameMark {
    /// Absolute stream offset of the first byte the frame delivered.
    pub offset: u64,
    /// Frame number.
    pub frame: u64,
    /// Frame timestamp.
    pub ts_ns: u64,
}

/// Marks kept per direction; past this the ones in the middle of a long message
/// are merged away (no message can start inside bytes already consumed).
const MAX_MARKS: usize = 64;

/// Buffer capacity a direction keeps when empty.
const KEEP_CAPACITY: usize = 16 << 10;

/// One direction of a connection as the engine drives it.
#[derive(Debug, Default)]
pub(crate) struct DirStream {
    /// Bytes delivered but not consumed by the parser (usually empty: the engine
    /// parses straight from the capture buffer and keeps only a partial message's rest).
    pub buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    pub base: u64,
    /// More bytes the parser asked for before it is worth calling again.
    pub needed: usize,
    /// Bytes appended since the last parse call.
    pub fresh: usize,
    /// Frames that delivered bytes at or after the parser's low-water mark.
    marks: VecDeque<FrameMark>,
    /// The direction is over (FIN, RST).
    pub ended: bool,
}

impl DirStream {
    /// Record that `frame` delivered bytes starting at `offset`.
    pub fn mark(&mut self, offset: u64, frame: u64, ts_ns: u64) {
        if let Some(last) = self.marks.back_mut() {
            if last.frame == frame {
                return;
            }
        }
        self.marks.push_back(FrameMark {
            offset,
            frame,
            ts_ns,
        });
    }

    /// The frame that delivered the byte at `offset` (the last mark at or before it).
    pub fn frame_of(&self, offset: u64) -> Option<FrameMark> {
        self.marks
            .iter()
            .rev()
            .find(|m| m.offset <= offset)
            .copied()
            .or_else(|| self.marks.front().copied())
    }

    /// Forget marks wholly before `low_water` (start of the message in progress),
    /// and thin out the middle when a long message spans many frames.
    pub fn prune(&mut self, low_water: u64) {
        while self.marks.len() >= 2 && self.marks[1].offset <= low_water {
            self.marks.pop_front();
        }
        while self.marks.len() > MAX_MARKS {
            // Keep the first (holds the message start) and the recent ones.
            self.marks.remove(1);
        }
    }

    /// Drop buffered bytes (after a gap or a cap): returns how many.
    pub fn drop_buffered(&mut self) -> u64 {
        let n = self.buf.len() as u64;
        self.base += n;
        self.buf.clear();
        self.needed = 0;
        self.fresh = 0;
        self.release();
        n
    }

    /// Give back a large buffer once it is empty, so that a flow that once held a
    /// big message head does not keep that memory for the rest of its life.
    pub fn release(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_to_the_frames_that_carried_them() {
        let mut d = DirStream::default();
        d.mark(0, 4, 40);
        d.mark(100, 6, 60);
        d.mark(250, 9, 90);
        assert_eq!(d.frame_of(0).unwrap().frame, 4);
        assert_eq!(d.frame_of(99).unwrap().frame, 4);
        assert_eq!(d.frame_of(100).unwrap().frame, 6);
        assert_eq!(d.frame_of(1000).unwrap().frame, 9);
        d.prune(120);
        assert_eq!(d.frame_of(120).unwrap().frame, 6);
        d.prune(260);
        assert_eq!(d.frame_of(260).unwrap().frame, 9);
        assert_eq!(d.marks.len(), 1);
    }

    #[test]
    fn empty_buffers_give_their_memory_back() {
        let mut d = DirStream::default();
        d.buf.extend_from_slice(&[0; 1 << 20]);
        d.buf.clear();
        d.release();
        assert_eq!(d.buf.capacity(), 0);
        d.buf.extend_from_slice(&[0; 100]);
        d.buf.clear();
        d.release();
        assert!(d.buf.capacity() >= 100, "small buffers are kept for reuse");
    }

    #[test]
    fn marks_stay_bounded_for_long_messages() {
        let mut d = DirStream::default();
        for i in 0..10_000u64 {
            d.mark(i * 10, i + 1, i);
            d.prune(0);
        }
        assert!(d.marks.len() <= MAX_MARKS);
        // The message start is still attributed to its first frame.
        assert_eq!(d.frame_of(0).unwrap().frame, 1);
        assert_eq!(d.frame_of(99_990).unwrap().frame, 10_000);
    }
}
