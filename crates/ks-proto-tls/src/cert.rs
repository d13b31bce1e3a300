//! Certificate messages (RFC 5246 7.4.2, RFC 8446 4.4.2) and X.509 via x509-parser.

use sha2::{Digest as _, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::hello::Rd;
use crate::types::Certificate;

/// The DER certificates of a Certificate message body (`tls13`: with the request
/// context and per-entry extensions). Returns the list and whether it was cut.
pub fn chain(body: &[u8], tls13: bool) -> (Vec<&[u8]>, bool) {
    let mut out = Vec::new();
    let mut r = Rd::new(body);
    if tls13 && r.vec(1).is_none() {
        return (out, true);
    }
    let Some(list) = r.vec(3) else {
        return (out, true);
    };
    let mut l = Rd::new(list);
    while !l.is_empty() {
        let Some(der) = l.vec(3) else {
            return (out, true);
        };
        out.push(der);
        if tls13 && l.vec(2).is_none() {
            return (out, true);
        }
    }
    (out, false)
}

/// RFC 3339 (UTC) of a Unix timestamp.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn curve(params: Option<&x509_parser::der_parser::asn1_rs::Any<'_>>) -> &'static str {
    let Some(oid) = params.and_then(|p| p.clone().oid().ok()) else {
        return "?";
    };
    match oid.to_id_string().as_str() {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => "?",
    }
}

fn key_type(c: &X509Certificate<'_>) -> String {
    let spki = c.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return "Ed25519".into(),
        "1.3.101.113" => return "Ed448".into(),
        "1.3.101.110" => return "X25519".into(),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => format!("RSA {}", k.key_size()),
        Ok(PublicKey::EC(_)) => format!("EC {}", curve(spki.algorithm.parameters.as_ref())),
        Ok(PublicKey::DSA(y)) => format!("DSA {}", y.len() * 8),
        Ok(_) | Err(_) => alg,
    }
}

/// Decodes one DER certificate.
pub fn certificate(der: &[u8]) -> Certificate {
    let sha256 = ks_proto::hex(&Sha256::digest(der));
    let c = match X509Certificate::from_der(der) {
        Ok((_, c)) => c,
        Err(e) => {
            return Certificate {
                sha256,
                error: Some(crate::text(e.to_string().as_bytes(), 200)),
                ..Certificate::default()
            }
        }
    };
    let mut san = Vec::new();
    if let Ok(Some(ext)) = c.subject_alternative_name() {
        for n in &ext.value.general_names {
            if san.len() >= crate::hello::MAX_LIST {
                break;
            }
            match n {
                GeneralName::DNSName(d) => san.push(crate::text(d.as_bytes(), 255)),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => san.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(ip);
                        san.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let v = c.validity();
    Certificate {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        san,
        not_before: rfc3339(v.not_before.timestamp()),
        not_after: rfc3339(v.not_after.timestamp()),
        key_type: key_type(&c),
        serial: ks_proto::hex(c.raw_serial()),
        self_signed: c.subject().as_raw() == c.issuer().as_raw(),
        sha256,
        error: None,
    }
}
