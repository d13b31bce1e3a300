//! One LDAPMessage (RFC 4511 section 4) into a request or a response.

use crate::ber::{boolean, head, int, Cur, Head, Tlv, R};
use crate::codes::{
    change_name, deref_name, extended_name, is_request, op_ident_ok, op_name, result_name,
    scope_name, OID_WHOAMI,
};
use crate::filter::{self, sensitive};
use crate::types::{Change, LdapRequest, LdapResponse};
use crate::{text, MAX_ATTRIBUTES, MAX_CHANGES, MAX_CONTROLS, MAX_REFERENCES, MAX_STRING};

/// Whether bytes can start an LDAPMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plaus {
    /// At least this many more bytes are needed to tell.
    Need(usize),
    /// Not an LDAPMessage start.
    Bad(&'static str, String),
}

fn need(at: usize, n: usize, have: usize) -> Plaus {
    Plaus::Need((at + n).saturating_sub(have).max(1))
}

/// Checks the framing of the LDAPMessage at the start of `b`: a SEQUENCE with a
/// definite length, an INTEGER messageID of 1 to 4 bytes, not negative, (in CLDAP an
/// optional LDAPv2 `user` OCTET STRING), then a protocolOp identifier that fits
/// inside the SEQUENCE. Returns the message's total length and protocolOp number.
pub(crate) fn plausible(b: &[u8], cldap: bool) -> Result<(u64, u32), Plaus> {
    match b.first() {
        None => return Err(Plaus::Need(2)),
        Some(0x30) => {}
        Some(x) => {
            return Err(Plaus::Bad(
                "not-ldap",
                format!("first byte 0x{x:02x} is not a SEQUENCE"),
            ))
        }
    }
    let (hdr, len) = match head(b) {
        Head::Need(n) => return Err(need(0, n, b.len())),
        Head::Bad(e) => return Err(Plaus::Bad("bad-length", e.to_string())),
        Head::Ok { hdr, len, .. } => (hdr, len),
    };
    let inner = &b[hdr..];
    let mut at = match head(inner) {
        Head::Need(n) => return Err(need(hdr, n, b.len())),
        Head::Ok {
            ident: 0x02,
            hdr: ih,
            len: il @ 1..=4,
            ..
        } => {
            if let Some(first) = inner.get(ih) {
                if first & 0x80 != 0 {
                    return Err(Plaus::Bad("not-ldap", "negative messageID".into()));
                }
            }
            ih + il as usize
        }
        _ => {
            return Err(Plaus::Bad(
                "not-ldap",
                "no INTEGER messageID of 1 to 4 bytes".into(),
            ))
        }
    };
    if cldap && inner.get(at) == Some(&0x04) {
        match head(&inner[at..]) {
            Head::Need(n) => return Err(need(hdr + at, n, b.len())),
            Head::Bad(e) => return Err(Plaus::Bad("not-ldap", e.to_string())),
            Head::Ok {
                hdr: uh, len: ul, ..
            } => {
                if (at + uh) as u64 + ul > len {
                    return Err(Plaus::Bad("not-ldap", "user name too long".into()));
                }
                at += uh + ul as usize;
            }
        }
    }
    let Some(op) = inner.get(at..) else {
        return Err(need(hdr + at, 2, b.len()));
    };
    match head(op) {
        Head::Need(n) => Err(need(hdr + at, n, b.len())),
        Head::Bad(e) => Err(Plaus::Bad("not-ldap", format!("protocolOp: {e}"))),
        Head::Ok {
            ident,
            num,
            hdr: oh,
            len: ol,
        } => {
            if !op_ident_ok(ident) {
                return Err(Plaus::Bad(
                    "not-ldap",
                    format!("0x{ident:02x} is not a protocolOp"),
                ));
            }
            if (at + oh) as u64 + ol > len {
                return Err(Plaus::Bad(
                    "not-ldap",
                    "protocolOp longer than the message".into(),
                ));
            }
            Ok((hdr as u64 + len, num))
        }
    }
}

/// A decoded message.
pub(crate) enum Pdu {
    Req(LdapRequest),
    /// The response and, for an extendedResp, its value as text (shown only when it
    /// answers "Who am I?").
    Resp(LdapResponse, Option<String>),
}

/// Decodes the whole LDAPMessage `b` (already checked by [`plausible`]).
pub(crate) fn decode(b: &[u8], start: u64, cldap: bool) -> Pdu {
    let end = start + b.len() as u64;
    let (body, err) = match head(b) {
        Head::Ok { hdr, .. } => (b.get(hdr..).unwrap_or_default(), None),
        _ => (&b[..0], Some("bad header".to_string())),
    };
    let mut c = Cur(body);
    let id = c
        .expect(0x02, "messageID")
        .and_then(|v| int(v, "messageID"));
    if cldap && c.peek() == Some(0x04) {
        let _ = c.next_tlv("user");
    }
    let op = c.next_tlv("protocolOp");
    let (op, mut error) = match (id, op, err) {
        (Ok(id), Ok(op), None) => ((id, op), None),
        (id, op, e) => {
            let e = e
                .or(id.err())
                .or(op.err())
                .unwrap_or_else(|| "bad message".into());
            let r = LdapResponse {
                start,
                end,
                operation: "unknown",
                protocol_op: u32::MAX,
                error: Some(e),
                ..LdapResponse::default()
            };
            return Pdu::Resp(r, None);
        }
    };
    let (id, op) = op;
    let controls = match c.optional(0xa0, "controls") {
        Ok(Some(v)) => match controls(v) {
            Ok(c) => c,
            Err(e) => {
                error = Some(e);
                Vec::new()
            }
        },
        Ok(None) => Vec::new(),
        Err(e) => {
            error = Some(e);
            Vec::new()
        }
    };
    let operation = op_name(op.num).unwrap_or("unknown");
    if is_request(op.num) {
        let mut q = LdapRequest {
            start,
            end,
            message_id: id,
            operation,
            protocol_op: op.num,
            controls,
            ..LdapRequest::default()
        };
        if let Err(e) = request(&op, &mut q) {
            q.error = Some(e);
        }
        if q.error.is_none() {
            q.error = error;
        }
        Pdu::Req(q)
    } else {
        let mut r = LdapResponse {
            start,
            end,
            message_id: id,
            operation,
            protocol_op: op.num,
            controls,
            ..LdapResponse::default()
        };
        let mut value = None;
        if let Err(e) = response(&op, &mut r, &mut value) {
            r.error = Some(e);
        }
        if r.error.is_none() {
            r.error = error;
        }
        Pdu::Resp(r, value)
    }
}

fn controls(v: &[u8]) -> R<Vec<String>> {
    let mut c = Cur(v);
    let mut out = Vec::new();
    while !c.is_empty() && out.len() < MAX_CONTROLS {
        let ctl = c.expect(0x30, "control")?;
        let oid = Cur(ctl).expect(0x04, "controlType")?;
        out.push(text(oid, 256));
    }
    Ok(out)
}

fn s(v: &[u8]) -> String {
    text(v, MAX_STRING)
}

/// Names of a SEQUENCE OF (Partial)Attribute, capped.
fn attr_names(v: &[u8], names: &mut Vec<String>, omitted: &mut u64) -> R<()> {
    let mut c = Cur(v);
    while !c.is_empty() {
        let a = c.expect(0x30, "attribute")?;
        let ty = Cur(a).expect(0x04, "attribute type")?;
        if names.len() < MAX_ATTRIBUTES {
            names.push(text(ty, 256));
        } else {
            *omitted += 1;
        }
    }
    Ok(())
}

fn request(op: &Tlv<'_>, q: &mut LdapRequest) -> R<()> {
    if !op_ident_ok(op.ident) {
        return Err(format!("protocolOp 0x{:02x} not known", op.ident));
    }
    let mut c = Cur(op.val);
    match op.num {
        0 => {
            q.version = Some(int(c.expect(0x02, "version")?, "version")?);
            q.dn = Some(s(c.expect(0x04, "name")?));
            let a = c.next_tlv("authentication")?;
            match a.ident {
                0x80 => {
                    q.auth = Some("simple".into());
                    q.password = Some(format!("<hidden, {} bytes>", a.val.len()));
                }
                0xa3 => {
                    q.auth = Some("sasl".into());
                    let mut sc = Cur(a.val);
                    q.sasl_mechanism = Some(text(sc.expect(0x04, "mechanism")?, 256));
                    q.sasl_credentials_len = sc.optional(0x04, "credentials")?.map(<[u8]>::len);
                }
                // Microsoft's NTLM-over-LDAP ("Sicily") choices.
                0x89 => q.auth = Some("sicilyPackageDiscovery".into()),
                0x8a => q.auth = Some("sicilyNegotiate".into()),
                0x8b => q.auth = Some("sicilyResponse".into()),
                x => q.auth = Some(format!("other(0x{x:02x})")),
            }
        }
        2 => {}
        3 => {
            q.base_object = Some(s(c.expect(0x04, "baseObject")?));
            q.scope = Some(scope_name(int(c.expect(0x0a, "scope")?, "scope")?));
            q.deref = Some(deref_name(int(
                c.expect(0x0a, "derefAliases")?,
                "derefAliases",
            )?));
            q.size_limit = Some(int(c.expect(0x02, "sizeLimit")?, "sizeLimit")?);
            q.time_limit = Some(int(c.expect(0x02, "timeLimit")?, "timeLimit")?);
            q.types_only = Some(boolean(c.expect(0x01, "typesOnly")?, "typesOnly")?);
            let f = c.next_tlv("filter")?;
            let (fs, fe) = filter::render(&f);
            q.filter = Some(fs);
            let mut ac = Cur(c.expect(0x30, "attributes")?);
            while !ac.is_empty() {
                let a = ac.expect(0x04, "attribute")?;
                if q.attributes.len() < MAX_ATTRIBUTES {
                    q.attributes.push(text(a, 256));
                } else {
                    q.attributes_omitted += 1;
                }
            }
            if let Some(e) = fe {
                return Err(format!("filter: {e}"));
            }
        }
        6 => {
            q.dn = Some(s(c.expect(0x04, "object")?));
            let mut cc = Cur(c.expect(0x30, "changes")?);
            while !cc.is_empty() {
                let mut ch = Cur(cc.expect(0x30, "change")?);
                let o = int(ch.expect(0x0a, "operation")?, "operation")?;
                let m = ch.expect(0x30, "modification")?;
                let ty = Cur(m).expect(0x04, "modification type")?;
                if q.changes.len() < MAX_CHANGES {
                    q.changes.push(Change {
                        operation: change_name(o),
                        attribute: text(ty, 256),
                    });
                } else {
                    q.changes_omitted += 1;
                }
            }
        }
        8 => {
            q.dn = Some(s(c.expect(0x04, "entry")?));
            attr_names(
                c.expect(0x30, "attributes")?,
                &mut q.attributes,
                &mut q.attributes_omitted,
            )?;
        }
        10 => q.dn = Some(s(op.val)),
        12 => {
            q.dn = Some(s(c.expect(0x04, "entry")?));
            q.new_rdn = Some(s(c.expect(0x04, "newrdn")?));
            q.delete_old_rdn = Some(boolean(c.expect(0x01, "deleteoldrdn")?, "deleteoldrdn")?);
            q.new_superior = c.optional(0x80, "newSuperior")?.map(s);
        }
        14 => {
            q.dn = Some(s(c.expect(0x04, "entry")?));
            let mut a = Cur(c.expect(0x30, "ava")?);
            let desc = text(a.expect(0x04, "attributeDesc")?, 256);
            let v = a.expect(0x04, "assertionValue")?;
            let shown = if sensitive(&desc) {
                format!("<hidden, {} bytes>", v.len())
            } else {
                let mut e = filter::escape_value(v.get(..MAX_STRING).unwrap_or(v));
                if v.len() > MAX_STRING {
                    e.push('…');
                }
                e
            };
            q.assertion = Some(format!("({desc}={shown})"));
        }
        16 => q.abandon_id = Some(int(op.val, "abandon messageID")?),
        23 => {
            let oid = text(c.expect(0x80, "requestName")?, 256);
            q.extended_name = extended_name(&oid);
            q.request_name = Some(oid);
            q.request_value_len = c.optional(0x81, "requestValue")?.map(<[u8]>::len);
        }
        n => return Err(format!("protocolOp {n} not known")),
    }
    Ok(())
}

fn result(c: &mut Cur<'_>, r: &mut LdapResponse) -> R<()> {
    let code = int(c.expect(0x0a, "resultCode")?, "resultCode")?;
    r.result_code = Some(code);
    r.result_name = result_name(code);
    r.matched_dn = Some(s(c.expect(0x04, "matchedDN")?));
    r.diagnostic_message = Some(s(c.expect(0x04, "diagnosticMessage")?));
    if let Some(refs) = c.optional(0xa3, "referral")? {
        uris(refs, &mut r.referral)?;
    }
    Ok(())
}

fn uris(v: &[u8], out: &mut Vec<String>) -> R<()> {
    let mut c = Cur(v);
    while !c.is_empty() && out.len() < MAX_REFERENCES {
        out.push(s(c.expect(0x04, "URI")?));
    }
    Ok(())
}

fn response(op: &Tlv<'_>, r: &mut LdapResponse, value: &mut Option<String>) -> R<()> {
    if !op_ident_ok(op.ident) {
        return Err(format!("protocolOp 0x{:02x} not known", op.ident));
    }
    let mut c = Cur(op.val);
    match op.num {
        1 => {
            result(&mut c, r)?;
            r.server_sasl_creds_len = c.optional(0x87, "serverSaslCreds")?.map(<[u8]>::len);
        }
        4 => {
            r.object_name = Some(s(c.expect(0x04, "objectName")?));
            attr_names(
                c.expect(0x30, "attributes")?,
                &mut r.attributes,
                &mut r.attributes_omitted,
            )?;
        }
        5 | 7 | 9 | 11 | 13 | 15 => result(&mut c, r)?,
        19 => {
            // Counted by the caller, so every URI is walked even past the list cap.
            let mut all = Cur(op.val);
            while !all.is_empty() {
                let u = all.expect(0x04, "URI")?;
                if r.uris.len() < MAX_REFERENCES {
                    r.uris.push(s(u));
                } else {
                    r.uris_omitted += 1;
                }
            }
        }
        24 => {
            result(&mut c, r)?;
            if let Some(n) = c.optional(0x8a, "responseName")? {
                let oid = text(n, 256);
                r.extended_name = extended_name(&oid);
                r.response_name = Some(oid);
            }
            if let Some(v) = c.optional(0x8b, "responseValue")? {
                r.response_value_len = Some(v.len());
                let t = s(v);
                if r.response_name.as_deref() == Some(OID_WHOAMI) {
                    r.authz_id = Some(t);
                } else {
                    *value = Some(t);
                }
            }
        }
        25 => {
            if let Some(n) = c.optional(0x80, "responseName")? {
                let oid = text(n, 256);
                r.extended_name = extended_name(&oid);
                r.response_name = Some(oid);
            }
            r.response_value_len = c.optional(0x81, "responseValue")?.map(<[u8]>::len);
        }
        n => return Err(format!("protocolOp {n} not known")),
    }
    Ok(())
}
