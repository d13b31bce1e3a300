//! SCTP chunks (RFC 9260): the chunks of one packet, and the fields of the ones
//! reassembly needs (DATA, INIT/INIT ACK, SACK, FORWARD TSN).

use crate::{be16, be32};

/// Chunk type numbers (RFC 9260 3.2, RFC 4895, RFC 5061, RFC 6525, RFC 3758, RFC 8260).
pub mod chunk {
    /// Payload data.
    pub const DATA: u8 = 0;
    /// Initiation.
    pub const INIT: u8 = 1;
    /// Initiation acknowledgement.
    pub const INIT_ACK: u8 = 2;
    /// Selective acknowledgement.
    pub const SACK: u8 = 3;
    /// Abort.
    pub const ABORT: u8 = 6;
    /// Shutdown.
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// Interleaved data (RFC 8260).
    pub const I_DATA: u8 = 64;
    /// Forward cumulative TSN (RFC 3758).
    pub const FORWARD_TSN: u8 = 192;
}

/// The name tshark gives a chunk type (`DATA`, `INIT_ACK`...); `None` when unknown.
pub fn chunk_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "DATA",
        1 => "INIT",
        2 => "INIT_ACK",
        3 => "SACK",
        4 => "HEARTBEAT",
        5 => "HEARTBEAT_ACK",
        6 => "ABORT",
        7 => "SHUTDOWN",
        8 => "SHUTDOWN_ACK",
        9 => "ERROR",
        10 => "COOKIE_ECHO",
        11 => "COOKIE_ACK",
        12 => "ECNE",
        13 => "CWR",
        14 => "SHUTDOWN_COMPLETE",
        15 => "AUTH",
        16 => "NR_SACK",
        64 => "I_DATA",
        128 => "ASCONF_ACK",
        130 => "RE_CONFIG",
        132 => "PAD",
        192 => "FORWARD_TSN",
        193 => "ASCONF",
        194 => "I_FORWARD_TSN",
        _ => return None,
    })
}

/// One chunk of an SCTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpChunk<'a> {
    /// Chunk type.
    pub chunk_type: u8,
    /// Chunk flags.
    pub flags: u8,
    /// The value (after the 4-byte chunk header, padding excluded; shorter than the
    /// length field says when the frame was cut).
    pub value: &'a [u8],
    /// The frame ends inside this chunk.
    pub truncated: bool,
}

/// The chunks of a packet, in order. Stops at a chunk whose length is below 4
/// (malformed: nothing after it can be found) or at the end of the bytes.
#[derive(Clone, Debug)]
pub struct SctpChunks<'a> {
    rest: &'a [u8],
    /// A malformed chunk length stopped the walk.
    pub malformed: bool,
}

impl<'a> SctpChunks<'a> {
    /// Walk `chunks` (the bytes after the 12-byte common header).
    pub fn new(chunks: &'a [u8]) -> Self {
        SctpChunks {
            rest: chunks,
            malformed: false,
        }
    }
}

impl<'a> Iterator for SctpChunks<'a> {
    type Item = SctpChunk<'a>;

    fn next(&mut self) -> Option<SctpChunk<'a>> {
        if self.rest.len() < 4 {
            return None;
        }
        let len = usize::from(be16(self.rest, 2));
        if len < 4 {
            self.malformed = true;
            self.rest = &[];
            return None;
        }
        let (chunk_type, flags) = (self.rest[0], self.rest[1]);
        let truncated = len > self.rest.len();
        let value = &self.rest[4..len.min(self.rest.len())];
        // Chunks are padded to 4 bytes; the last one's padding may be missing.
        let padded = (len + 3) & !3;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some(SctpChunk {
            chunk_type,
            flags,
            value,
            truncated,
        })
    }
}

/// The fields of a DATA chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataChunk<'a> {
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// Payload protocol identifier (46 = DIAMETER).
    pub ppid: u32,
    /// U bit: unordered.
    pub unordered: bool,
    /// B bit: first fragment of a user message.
    pub begin: bool,
    /// E bit: last fragment.
    pub end: bool,
    /// User data (captured part).
    pub data: &'a [u8],
    /// User data length on the wire (from the chunk length).
    pub data_len: u32,
}

impl<'a> SctpChunk<'a> {
    /// The DATA fields, when this is a DATA chunk with its 12 fixed bytes.
    pub fn data(&self) -> Option<DataChunk<'a>> {
        if self.chunk_type != chunk::DATA || self.value.len() < 12 {
            return None;
        }
        Some(DataChunk {
            tsn: be32(self.value, 0),
            stream: be16(self.value, 4),
            ssn: be16(self.value, 6),
            ppid: be32(self.value, 8),
            unordered: self.flags & 4 != 0,
            begin: self.flags & 2 != 0,
            end: self.flags & 1 != 0,
            data: &self.value[12..],
            data_len: (self.value.len() - 12) as u32,
        })
    }

    /// INIT / INIT ACK: the initial TSN the sender will use.
    pub fn initial_tsn(&self) -> Option<u32> {
        matches!(self.chunk_type, chunk::INIT | chunk::INIT_ACK)
            .then(|| self.value.get(12..16).map(|_| be32(self.value, 12)))
            .flatten()
    }

    /// SACK (and NR-SACK): the cumulative TSN the sender acknowledges.
    /// FORWARD TSN: the new cumulative TSN the sender moves its peer to.
    pub fn cumulative_tsn(&self) -> Option<u32> {
        matches!(self.chunk_type, chunk::SACK | 16 | chunk::FORWARD_TSN)
            .then(|| self.value.get(..4).map(|_| be32(self.value, 0)))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_walk_with_padding_and_stop_on_bad_lengths() {
        // DATA (TSN 5, stream 1, SSN 2, PPID 46, B|E, 3 bytes + 1 padding), then SACK.
        let mut b = vec![
            0, 3, 0, 19, 0, 0, 0, 5, 0, 1, 0, 2, 0, 0, 0, 46, b'a', b'b', b'c', 0,
        ];
        b.extend([3, 0, 0, 16, 0, 0, 0, 4, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
        let mut it = SctpChunks::new(&b);
        let d = it.next().unwrap();
        let data = d.data().unwrap();
        assert_eq!(
            (data.tsn, data.stream, data.ssn, data.ppid, data.data),
            (5, 1, 2, 46, &b"abc"[..])
        );
        assert!(data.begin && data.end && !data.unordered);
        let s = it.next().unwrap();
        assert_eq!((s.chunk_type, s.cumulative_tsn()), (chunk::SACK, Some(4)));
        assert!(it.next().is_none() && !it.malformed);
        // A length below 4 ends the walk and says so.
        let mut it = SctpChunks::new(&[11, 0, 0, 2, 1, 2, 3, 4]);
        assert!(it.next().is_none() && it.malformed);
        // A chunk cut by the snap length is returned, marked.
        let c = SctpChunks::new(&[0, 3, 0, 200, 0, 0]).next().unwrap();
        assert!(c.truncated && c.data().is_none());
    }

    #[test]
    fn init_gives_its_initial_tsn() {
        let v = [
            1, 0, 0, 20, 0, 0, 0, 1, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 99,
        ];
        let c = SctpChunks::new(&v).next().unwrap();
        assert_eq!(c.initial_tsn(), Some(99));
        assert_eq!(chunk_name(c.chunk_type), Some("INIT"));
    }
}
