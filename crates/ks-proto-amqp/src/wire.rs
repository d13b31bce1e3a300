//! Decoding of method arguments, field tables and content-header properties.

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::spec::{Arg, MethodSpec};

/// Big-endian reader over a borrowed payload; every read is checked.
pub(crate) use ks_proto::Reader as Rd;

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A field value (method argument, field-table entry or array element).
///
/// Serialised as plain JSON: numbers, strings, booleans, arrays, objects
/// (tables), `null` (void); decimals as `{"scale", "value"}`; byte arrays and
/// long strings as lossy UTF-8 text; values beyond the depth/entry caps as the
/// string `"<capped>"`.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// `t` (and bit arguments).
    Bool(bool),
    /// `b`.
    I8(i8),
    /// `B` (and octet arguments).
    U8(u8),
    /// `s` (RabbitMQ) / `U` (0-9-1 spec).
    I16(i16),
    /// `u` (and short arguments).
    U16(u16),
    /// `I`.
    I32(i32),
    /// `i` (and long arguments).
    U32(u32),
    /// `l` (RabbitMQ) / `L` (0-9-1 spec).
    I64(i64),
    /// Long-long arguments (delivery tags).
    U64(u64),
    /// `f`.
    F32(f32),
    /// `d`.
    F64(f64),
    /// `D`: `value / 10^scale`.
    Decimal {
        /// Digits after the point.
        scale: u8,
        /// Unscaled value.
        value: u32,
    },
    /// `S` long string, short/long string arguments (lossy UTF-8).
    Str(String),
    /// `x` byte array.
    Bytes(Vec<u8>),
    /// `A`.
    Array(Vec<FieldValue>),
    /// `T`: seconds since the epoch.
    Timestamp(u64),
    /// `F`.
    Table(FieldTable),
    /// `V`.
    Void,
    /// Not decoded: beyond `max_table_depth` or `max_table_entries`.
    Capped,
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Bool(v) => s.serialize_bool(*v),
            FieldValue::I8(v) => s.serialize_i8(*v),
            FieldValue::U8(v) => s.serialize_u8(*v),
            FieldValue::I16(v) => s.serialize_i16(*v),
            FieldValue::U16(v) => s.serialize_u16(*v),
            FieldValue::I32(v) => s.serialize_i32(*v),
            FieldValue::U32(v) => s.serialize_u32(*v),
            FieldValue::I64(v) => s.serialize_i64(*v),
            FieldValue::U64(v) | FieldValue::Timestamp(v) => s.serialize_u64(*v),
            FieldValue::F32(v) => s.serialize_f32(*v),
            FieldValue::F64(v) => s.serialize_f64(*v),
            FieldValue::Decimal { scale, value } => {
                let mut st = s.serialize_struct("Decimal", 2)?;
                st.serialize_field("scale", scale)?;
                st.serialize_field("value", value)?;
                st.end()
            }
            FieldValue::Str(v) => s.serialize_str(v),
            FieldValue::Bytes(v) => s.serialize_str(&String::from_utf8_lossy(v)),
            FieldValue::Array(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for e in v {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            FieldValue::Table(t) => t.serialize(s),
            FieldValue::Void => s.serialize_unit(),
            FieldValue::Capped => s.serialize_str("<capped>"),
        }
    }
}

impl FieldValue {
    /// The value as text when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an unsigned integer when it is one.
    pub fn as_u64(&self) -> Option<u64> {
        Some(match *self {
            FieldValue::U8(v) => v.into(),
            FieldValue::U16(v) => v.into(),
            FieldValue::U32(v) => v.into(),
            FieldValue::U64(v) | FieldValue::Timestamp(v) => v,
            _ => return None,
        })
    }
}

/// A field table (or a method's argument list): entries in wire order,
/// duplicates kept. Serialised as a JSON object.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FieldTable(pub Vec<(String, FieldValue)>);

impl FieldTable {
    /// First value named `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FieldTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Limits and findings of one decode.
pub(crate) struct Budget {
    pub max_depth: usize,
    /// Values (table entries and array elements, all levels) still allowed.
    pub entries_left: usize,
    pub capped: bool,
}

/// A field table at nesting `depth` (1 for a top-level table). The table is
/// length-prefixed, so skipping what is not decoded costs nothing.
pub(crate) fn table(rd: &mut Rd<'_>, depth: usize, b: &mut Budget) -> Option<FieldValue> {
    let body = rd.vec(4)?;
    if depth > b.max_depth {
        b.capped = true;
        return Some(FieldValue::Capped);
    }
    let mut sub = Rd::new(body);
    let mut out = Vec::new();
    while !sub.is_empty() {
        if b.entries_left == 0 {
            b.capped = true;
            break;
        }
        b.entries_left -= 1;
        let name = sub.vec(1).map(lossy)?;
        let v = value(&mut sub, depth, b)?;
        out.push((name, v));
    }
    Some(FieldValue::Table(FieldTable(out)))
}

fn array(rd: &mut Rd<'_>, depth: usize, b: &mut Budget) -> Option<FieldValue> {
    let body = rd.vec(4)?;
    if depth > b.max_depth {
        b.capped = true;
        return Some(FieldValue::Capped);
    }
    let mut sub = Rd::new(body);
    let mut out = Vec::new();
    while !sub.is_empty() {
        if b.entries_left == 0 {
            b.capped = true;
            break;
        }
        b.entries_left -= 1;
        out.push(value(&mut sub, depth, b)?);
    }
    Some(FieldValue::Array(out))
}

/// A typed value inside a table or array at nesting `depth`.
fn value(rd: &mut Rd<'_>, depth: usize, b: &mut Budget) -> Option<FieldValue> {
    let t = rd.u8()?;
    Some(match t {
        b't' => FieldValue::Bool(rd.u8()? != 0),
        b'b' => FieldValue::I8(rd.u8()? as i8),
        b'B' => FieldValue::U8(rd.u8()?),
        b's' | b'U' => FieldValue::I16(rd.u16()? as i16),
        b'u' => FieldValue::U16(rd.u16()?),
        b'I' => FieldValue::I32(rd.u32()? as i32),
        b'i' => FieldValue::U32(rd.u32()?),
        b'l' | b'L' => FieldValue::I64(rd.u64()? as i64),
        b'f' => FieldValue::F32(f32::from_bits(rd.u32()?)),
        b'd' => FieldValue::F64(f64::from_bits(rd.u64()?)),
        b'D' => FieldValue::Decimal {
            scale: rd.u8()?,
            value: rd.u32()?,
        },
        b'S' => FieldValue::Str(lossy(rd.vec(4)?)),
        b'x' => FieldValue::Bytes(rd.vec(4)?.to_vec()),
        b'T' => FieldValue::Timestamp(rd.u64()?),
        b'V' => FieldValue::Void,
        b'A' => array(rd, depth + 1, b)?,
        b'F' => table(rd, depth + 1, b)?,
        // Unknown type: its length is unknown, so the rest cannot be decoded.
        _ => return None,
    })
}

/// Decoded arguments of a method frame.
pub(crate) struct Args {
    pub table: FieldTable,
    /// The payload ended early or held a value of unknown type.
    pub malformed: bool,
}

pub(crate) fn arguments(spec: &MethodSpec, payload: &[u8], b: &mut Budget) -> Args {
    let mut rd = Rd::new(payload);
    let mut list = Vec::with_capacity(spec.args.len());
    let mut bits: Option<(u8, u8)> = None; // (octet, next bit)
    let mut malformed = false;
    for &(name, ty) in spec.args {
        let v = if ty == Arg::Bit {
            // Consecutive bits share octets, least significant bit first.
            let (octet, bit) = match bits {
                Some((o, n)) if n < 8 => (o, n),
                _ => match rd.u8() {
                    Some(o) => (o, 0),
                    None => {
                        malformed = true;
                        break;
                    }
                },
            };
            bits = Some((octet, bit + 1));
            Some(FieldValue::Bool(octet & (1 << bit) != 0))
        } else {
            bits = None;
            match ty {
                Arg::Octet => rd.u8().map(FieldValue::U8),
                Arg::Short => rd.u16().map(FieldValue::U16),
                Arg::Long => rd.u32().map(FieldValue::U32),
                Arg::LongLong => rd.u64().map(FieldValue::U64),
                Arg::ShortStr => rd.vec(1).map(|s| FieldValue::Str(lossy(s))),
                Arg::LongStr => rd.vec(4).map(|s| FieldValue::Str(lossy(s))),
                Arg::Table => table(&mut rd, 1, b),
                Arg::Bit => None,
            }
        };
        let Some(v) = v else {
            malformed = true;
            break;
        };
        if !name.starts_with("reserved") {
            list.push((name.to_string(), v));
        }
    }
    Args {
        table: FieldTable(list),
        malformed,
    }
}

/// Properties of a `basic` content header (all optional, in flag order).
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct Properties {
    /// MIME content type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// MIME content encoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Application headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<FieldTable>,
    /// 1 non-persistent, 2 persistent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_mode: Option<u8>,
    /// Priority 0-9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Correlation id (RPC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Reply queue (RPC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Per-message TTL, milliseconds as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// Application message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Message type name (`type` on the wire).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Creating user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Creating application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Reserved (`cluster-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// A content header frame: class, body size, properties.
pub(crate) struct Header {
    pub class_id: u16,
    pub body_size: u64,
    pub properties: Properties,
    pub malformed: bool,
}

pub(crate) fn header(payload: &[u8], b: &mut Budget) -> Option<Header> {
    let mut rd = Rd::new(payload);
    let class_id = rd.u16()?;
    let _weight = rd.u16()?;
    let body_size = rd.u64()?;
    let mut h = Header {
        class_id,
        body_size,
        properties: Properties::default(),
        malformed: false,
    };
    // Flag words chain through bit 0; only the first carries basic's 14 properties,
    // but continuation words must be consumed (capped: at most 4 words).
    let mut flags = 0u16;
    for i in 0..4 {
        let Some(w) = rd.u16() else {
            h.malformed = true;
            return Some(h);
        };
        if i == 0 {
            flags = w;
        }
        if w & 1 == 0 {
            break;
        }
    }
    if class_id != crate::spec::BASIC {
        return Some(h);
    }
    let p = &mut h.properties;
    let has = |bit: u16| flags & (1 << bit) != 0;
    let ok = (|| -> Option<()> {
        if has(15) {
            p.content_type = Some(rd.vec(1).map(lossy)?);
        }
        if has(14) {
            p.content_encoding = Some(rd.vec(1).map(lossy)?);
        }
        if has(13) {
            match table(&mut rd, 1, b)? {
                FieldValue::Table(t) => p.headers = Some(t),
                _ => p.headers = Some(FieldTable::default()),
            }
        }
        if has(12) {
            p.delivery_mode = Some(rd.u8()?);
        }
        if has(11) {
            p.priority = Some(rd.u8()?);
        }
        if has(10) {
            p.correlation_id = Some(rd.vec(1).map(lossy)?);
        }
        if has(9) {
            p.reply_to = Some(rd.vec(1).map(lossy)?);
        }
        if has(8) {
            p.expiration = Some(rd.vec(1).map(lossy)?);
        }
        if has(7) {
            p.message_id = Some(rd.vec(1).map(lossy)?);
        }
        if has(6) {
            p.timestamp = Some(rd.u64()?);
        }
        if has(5) {
            p.kind = Some(rd.vec(1).map(lossy)?);
        }
        if has(4) {
            p.user_id = Some(rd.vec(1).map(lossy)?);
        }
        if has(3) {
            p.app_id = Some(rd.vec(1).map(lossy)?);
        }
        if has(2) {
            p.cluster_id = Some(rd.vec(1).map(lossy)?);
        }
        Some(())
    })();
    h.malformed = ok.is_none();
    Some(h)
}
