//! Record batch (magic v2) decoding with bounded decompression.
//!
//! kafka-protocol has a record decoder, but it decompresses without a size cap and
//! reserves `record_count` slots before reading them, so a crafted batch can make
//! it allocate gigabytes; this one stops at `max_decoded_bytes` and lists at most
//! `max_records` records.

use std::io::Read;

use serde::Serialize;

/// One record batch of a Produce request or a Fetch response partition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordBatchInfo {
    /// Topic name (or topic id when the version sends ids only).
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Offset of the first record (as sent; producers send 0).
    pub base_offset: i64,
    /// Batch format version (magic byte): 2 is decoded, 0 and 1 are not.
    pub magic: i8,
    /// Record count declared in the batch header.
    pub record_count: i32,
    /// `none`, `gzip`, `snappy`, `lz4`, `zstd` or `unknown(N)`.
    pub compression: String,
    /// Transactional batch.
    pub transactional: bool,
    /// Control batch (transaction markers).
    pub control: bool,
    /// Producer id (-1 when not idempotent).
    pub producer_id: i64,
    /// The first `max_records` records.
    pub records: Vec<RecordInfo>,
    /// Why the records could not all be decoded (bad compression, cut batch...).
    pub decode_error: Option<String>,
}

/// Shape of one record (sizes, not contents).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordInfo {
    /// Absolute offset (base offset + delta).
    pub offset: i64,
    /// Timestamp in ms (base timestamp + delta).
    pub timestamp: i64,
    /// Key size in bytes; `None` for a null key.
    pub key_size: Option<u32>,
    /// Value size in bytes; `None` for a null value (tombstone).
    pub value_size: Option<u32>,
    /// Header names (at most 32, lossy UTF-8).
    pub headers: Vec<String>,
}

const MAX_HEADERS_LISTED: usize = 32;
/// Bytes of a v2 batch header after base offset + length.
const V2_HEADER: usize = 49;

/// Limits for [`decode_batches`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecLimits {
    pub max_batches: usize,
    pub max_records: usize,
    pub max_decoded_bytes: usize,
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.p.checked_add(n)?;
        let s = self.b.get(self.p..end)?;
        self.p = end;
        Some(s)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn i8(&mut self) -> Option<i8> {
        Some(i8::from_be_bytes(self.arr()?))
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.arr()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.arr()?))
    }
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.b.get(self.p)?;
            self.p += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn varlong(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some((u >> 1) as i64 ^ -((u & 1) as i64))
    }
    fn varint(&mut self) -> Option<i32> {
        i32::try_from(self.varlong()?).ok()
    }
    /// A varint length: -1 is null, other negatives are errors.
    fn nullable_len(&mut self) -> Option<Option<usize>> {
        match self.varint()? {
            -1 => Some(None),
            n => usize::try_from(n).ok().map(Some),
        }
    }
}

fn compression_name(c: i16) -> String {
    match c {
        0 => "none".into(),
        1 => "gzip".into(),
        2 => "snappy".into(),
        3 => "lz4".into(),
        4 => "zstd".into(),
        n => format!("unknown({n})"),
    }
}

/// Reads at most `cap` bytes from `r`; `Err` says why it stopped early.
fn read_capped(r: impl Read, cap: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() > cap {
        return Err(format!("decompressed size exceeds {cap} bytes"));
    }
    Ok(out)
}

/// Kafka's snappy: xerial framing (magic + version + compat, then length-prefixed
/// raw blocks) or, from some clients, a single raw block.
fn unsnappy(data: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    const MAGIC: &[u8] = b"\x82SNAPPY\x00";
    let raw = |blk: &[u8], out: &mut Vec<u8>| -> Result<(), String> {
        let n = snap::raw::decompress_len(blk).map_err(|e| e.to_string())?;
        if out.len().saturating_add(n) > cap {
            return Err(format!("decompressed size exceeds {cap} bytes"));
        }
        let at = out.len();
        out.resize(at + n, 0);
        snap::raw::Decoder::new()
            .decompress(blk, &mut out[at..])
            .map_err(|e| e.to_string())?;
        Ok(())
    };
    let mut out = Vec::new();
    if let Some(rest) = data.strip_prefix(MAGIC) {
        let mut c = Cur { b: rest, p: 8 };
        while c.p < rest.len() {
            let len = c.i32().ok_or("cut snappy block length")?;
            let len = usize::try_from(len).map_err(|_| "negative snappy block length")?;
            let blk = c.take(len).ok_or("cut snappy block")?;
            raw(blk, &mut out)?;
        }
    } else {
        raw(data, &mut out)?;
    }
    Ok(out)
}

fn decompress(codec: i16, data: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    match codec {
        1 => read_capped(flate2::read::GzDecoder::new(data), cap),
        2 => unsnappy(data, cap),
        3 => {
            let d = lz4::Decoder::new(data).map_err(|e| e.to_string())?;
            read_capped(d, cap)
        }
        4 => {
            let d = zstd::stream::read::Decoder::with_buffer(data).map_err(|e| e.to_string())?;
            read_capped(d, cap)
        }
        n => Err(format!("unknown compression codec {n}")),
    }
}

fn decode_record(c: &mut Cur<'_>, base_off: i64, base_ts: i64) -> Option<RecordInfo> {
    let len = usize::try_from(c.varint()?).ok()?;
    let body = c.take(len)?;
    let mut r = Cur { b: body, p: 0 };
    r.i8()?;
    let ts = r.varlong()?;
    let od = r.varint()?;
    let key = r.nullable_len()?;
    if let Some(k) = key {
        r.take(k)?;
    }
    let value = r.nullable_len()?;
    if let Some(v) = value {
        r.take(v)?;
    }
    let nh = usize::try_from(r.varint()?).ok()?;
    let mut headers = Vec::new();
    for _ in 0..nh {
        let kl = usize::try_from(r.varint()?).ok()?;
        let k = r.take(kl)?;
        if let Some(vl) = r.nullable_len()? {
            r.take(vl)?;
        }
        if headers.len() < MAX_HEADERS_LISTED {
            headers.push(String::from_utf8_lossy(k).into_owned());
        }
    }
    Some(RecordInfo {
        offset: base_off.wrapping_add(i64::from(od)),
        timestamp: base_ts.wrapping_add(ts),
        key_size: key.and_then(|k| u32::try_from(k).ok()),
        value_size: value.and_then(|v| u32::try_from(v).ok()),
        headers,
    })
}

/// Decodes the record batches in one partition's `records` bytes. A batch cut at
/// the end (Fetch responses may end with a partial batch) ends the list silently.
pub(crate) fn decode_batches(
    topic: &str,
    partition: i32,
    data: &[u8],
    lim: RecLimits,
    budget: &mut usize,
    out: &mut Vec<RecordBatchInfo>,
) {
    let mut c = Cur { b: data, p: 0 };
    while c.p < data.len() && out.len() < lim.max_batches {
        let Some(base_offset) = c.i64() else { return };
        let Some(len) = c.i32() else { return };
        let Ok(len) = usize::try_from(len) else {
            return;
        };
        let Some(batch) = c.take(len) else { return };
        let mut b = Cur { b: batch, p: 0 };
        let mut info = RecordBatchInfo {
            topic: topic.to_string(),
            partition,
            base_offset,
            magic: -1,
            record_count: 0,
            compression: String::new(),
            transactional: false,
            control: false,
            producer_id: -1,
            records: Vec::new(),
            decode_error: None,
        };
        let hdr = (|| {
            b.i32()?; // partition leader epoch
            let magic = b.i8()?;
            Some(magic)
        })();
        let Some(magic) = hdr else { return };
        info.magic = magic;
        if magic != 2 {
            // Magic 0/1 message sets: legacy format, only named here.
            info.decode_error = Some(format!("message set v{magic} not decoded"));
            out.push(info);
            continue;
        }
        if batch.len() < V2_HEADER {
            return;
        }
        let parsed = (|| {
            b.i32()?; // crc (not verified: a dissector reports what was sent)
            let attrs = b.i16()?;
            b.i32()?; // last offset delta
            let base_ts = b.i64()?;
            b.i64()?; // max timestamp
            let pid = b.i64()?;
            b.i16()?;
            b.i32()?;
            let count = b.i32()?;
            Some((attrs, base_ts, pid, count))
        })();
        let Some((attrs, base_ts, pid, count)) = parsed else {
            return;
        };
        let codec = attrs & 7;
        info.compression = compression_name(codec);
        info.transactional = attrs & 0x10 != 0;
        info.control = attrs & 0x20 != 0;
        info.producer_id = pid;
        info.record_count = count;
        let rest = &batch[b.p..];
        let plain;
        let recs: &[u8] = if codec == 0 {
            rest
        } else {
            match decompress(codec, rest, (*budget).min(lim.max_decoded_bytes)) {
                Ok(v) => {
                    *budget = budget.saturating_sub(v.len());
                    plain = v;
                    &plain
                }
                Err(e) => {
                    info.decode_error = Some(format!("{}: {e}", info.compression));
                    out.push(info);
                    continue;
                }
            }
        };
        let mut r = Cur { b: recs, p: 0 };
        let want = usize::try_from(count).unwrap_or(0);
        for i in 0..want {
            if i >= lim.max_records {
                break;
            }
            match decode_record(&mut r, base_offset, base_ts) {
                Some(rec) => info.records.push(rec),
                None => {
                    info.decode_error = Some(format!("record {i} cut or malformed"));
                    break;
                }
            }
        }
        out.push(info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints() {
        let mut c = Cur {
            b: &[0x01, 0x02, 0x03, 0xac, 0x02],
            p: 0,
        };
        assert_eq!(c.varint(), Some(-1));
        assert_eq!(c.varint(), Some(1));
        assert_eq!(c.varint(), Some(-2));
        assert_eq!(c.varint(), Some(150));
        assert_eq!(c.varint(), None);
    }

    #[test]
    fn gzip_bomb_is_capped() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 100_000]).unwrap();
        let z = e.finish().unwrap();
        assert!(decompress(1, &z, 1000).is_err());
        assert_eq!(decompress(1, &z, 100_000).unwrap().len(), 100_000);
    }
}
