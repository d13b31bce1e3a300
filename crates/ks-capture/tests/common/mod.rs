//! Builders for synthetic capture files.
#![allow(dead_code)]

use ks_capture::{CaptureError, FileSource, PacketSource};

/// Owned copy of a packet, for comparing whole streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub frame: u64,
    pub ts_ns: u64,
    pub link_type: u32,
    pub interface_id: u32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

pub fn source(bytes: Vec<u8>) -> Result<FileSource, CaptureError> {
    FileSource::from_reader(Box::new(std::io::Cursor::new(bytes)), "test")
}

/// Reads until the end or the first error; returns packets and the error.
pub fn read_all(src: &mut FileSource) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    loop {
        match src.next_packet() {
            Ok(Some(p)) => out.push(Owned {
                frame: p.frame,
                ts_ns: p.ts_ns,
                link_type: p.link_type,
                interface_id: p.interface_id,
                orig_len: p.orig_len,
                data: p.data.to_vec(),
            }),
            Ok(None) => return (out, None),
            Err(e) => {
                // Finished after an error.
                assert!(matches!(src.next_packet(), Ok(None)));
                return (out, Some(e));
            }
        }
    }
}

pub struct Pcap {
    pub be: bool,
    pub bytes: Vec<u8>,
}

impl Pcap {
    pub fn new(be: bool, nanos: bool, link_type: u32) -> Self {
        let mut p = Pcap {
            be,
            bytes: Vec::new(),
        };
        p.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(65535);
        p.u32(link_type);
        p
    }
    pub fn u16(&mut self, v: u16) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    pub fn u32(&mut self, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    pub fn record(&mut self, sec: u32, frac: u32, orig_len: u32, data: &[u8]) {
        self.u32(sec);
        self.u32(frac);
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.bytes.extend_from_slice(data);
    }
}

pub struct PcapNg {
    pub be: bool,
    pub bytes: Vec<u8>,
}

impl PcapNg {
    pub fn new(be: bool) -> Self {
        let mut p = PcapNg {
            be,
            bytes: Vec::new(),
        };
        p.shb();
        p
    }
    fn w16(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn w32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    pub fn block(&mut self, btype: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = body.len() as u32 + 12;
        let (t, l) = (self.w32(btype), self.w32(len));
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(&l);
    }
    /// Starts a new section (switching byte order if `be` was changed).
    pub fn shb(&mut self) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.w32(0x1a2b_3c4d));
        b.extend_from_slice(&self.w16(1));
        b.extend_from_slice(&self.w16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &b);
    }
    pub fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&self.w16(code));
        body.extend_from_slice(&self.w16(value.len() as u16));
        body.extend_from_slice(value);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
    }
    pub fn idb(
        &mut self,
        link_type: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.w16(link_type));
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.w32(snaplen));
        // A name option first, so option walking is exercised.
        self.option(&mut b, 2, b"eth0");
        if let Some(r) = tsresol {
            self.option(&mut b, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let v = if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut b, 14, &v);
        }
        self.option(&mut b, 0, &[]);
        self.block(1, &b);
    }
    pub fn epb(&mut self, if_id: u32, ticks: u64, orig_len: u32, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.w32(if_id));
        b.extend_from_slice(&self.w32((ticks >> 32) as u32));
        b.extend_from_slice(&self.w32(ticks as u32));
        b.extend_from_slice(&self.w32(data.len() as u32));
        b.extend_from_slice(&self.w32(orig_len));
        b.extend_from_slice(data);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        // An EPB option (epb_flags) to check that options are skipped.
        self.option(&mut b, 2, &self.w32(1));
        self.block(6, &b);
    }
    pub fn spb(&mut self, orig_len: u32, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.w32(orig_len));
        b.extend_from_slice(data);
        self.block(3, &b);
    }
    pub fn pb(&mut self, if_id: u16, ticks: u64, orig_len: u32, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.w16(if_id));
        b.extend_from_slice(&self.w16(0));
        b.extend_from_slice(&self.w32((ticks >> 32) as u32));
        b.extend_from_slice(&self.w32(ticks as u32));
        b.extend_from_slice(&self.w32(data.len() as u32));
        b.extend_from_slice(&self.w32(orig_len));
        b.extend_from_slice(data);
        self.block(2, &b);
    }
}
