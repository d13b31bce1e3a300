//! NSS key log files (`SSLKEYLOGFILE`), as browsers, curl, OpenSSL and Go write them.

use std::collections::HashMap;
use std::fmt;

/// Secrets of one TLS session, as the key log gives them (raw bytes, not hex).
///
/// `Debug` shows only which secrets are present and their lengths, never their bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `CLIENT_RANDOM`: the TLS 1.2 (and older) master secret, 48 bytes.
    pub master_secret: Option<Vec<u8>>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET` (TLS 1.3).
    pub client_handshake_traffic: Option<Vec<u8>>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET` (TLS 1.3).
    pub server_handshake_traffic: Option<Vec<u8>>,
    /// `CLIENT_TRAFFIC_SECRET_0` (TLS 1.3 application data, client to server).
    pub client_traffic_0: Option<Vec<u8>>,
    /// `SERVER_TRAFFIC_SECRET_0` (TLS 1.3 application data, server to client).
    pub server_traffic_0: Option<Vec<u8>>,
    /// `CLIENT_EARLY_TRAFFIC_SECRET` (TLS 1.3 0-RTT data).
    pub client_early_traffic: Option<Vec<u8>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hidden<'a>(&'a Option<Vec<u8>>);
        impl fmt::Debug for Hidden<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Some(v) => write!(f, "<{} bytes>", v.len()),
                    None => f.write_str("None"),
                }
            }
        }
        f.debug_struct("Secrets")
            .field("master_secret", &Hidden(&self.master_secret))
            .field(
                "client_handshake_traffic",
                &Hidden(&self.client_handshake_traffic),
            )
            .field(
                "server_handshake_traffic",
                &Hidden(&self.server_handshake_traffic),
            )
            .field("client_traffic_0", &Hidden(&self.client_traffic_0))
            .field("server_traffic_0", &Hidden(&self.server_traffic_0))
            .field("client_early_traffic", &Hidden(&self.client_early_traffic))
            .finish()
    }
}

impl Secrets {
    /// True when no secret is set.
    pub fn is_empty(&self) -> bool {
        self.master_secret.is_none()
            && self.client_handshake_traffic.is_none()
            && self.server_handshake_traffic.is_none()
            && self.client_traffic_0.is_none()
            && self.server_traffic_0.is_none()
            && self.client_early_traffic.is_none()
    }

    /// True when the secrets can decrypt TLS 1.3 application data in both directions.
    pub fn has_tls13_traffic(&self) -> bool {
        self.client_traffic_0.is_some() && self.server_traffic_0.is_some()
    }

    /// Copies every secret `other` has into `self` (`other` wins where both have one).
    pub fn merge(&mut self, other: &Secrets) {
        let pairs = [
            (&mut self.master_secret, &other.master_secret),
            (
                &mut self.client_handshake_traffic,
                &other.client_handshake_traffic,
            ),
            (
                &mut self.server_handshake_traffic,
                &other.server_handshake_traffic,
            ),
            (&mut self.client_traffic_0, &other.client_traffic_0),
            (&mut self.server_traffic_0, &other.server_traffic_0),
            (&mut self.client_early_traffic, &other.client_early_traffic),
        ];
        for (mine, theirs) in pairs {
            if let Some(v) = theirs {
                *mine = Some(v.clone());
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Label {
    Master,
    ClientHs,
    ServerHs,
    Client0,
    Server0,
    ClientEarly,
}

impl Label {
    fn from_str(s: &str) -> Option<Label> {
        Some(match s {
            "CLIENT_RANDOM" => Label::Master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHs,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHs,
            "CLIENT_TRAFFIC_SECRET_0" => Label::Client0,
            "SERVER_TRAFFIC_SECRET_0" => Label::Server0,
            "CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            _ => return None,
        })
    }

    fn slot(self, s: &mut Secrets) -> &mut Option<Vec<u8>> {
        match self {
            Label::Master => &mut s.master_secret,
            Label::ClientHs => &mut s.client_handshake_traffic,
            Label::ServerHs => &mut s.server_handshake_traffic,
            Label::Client0 => &mut s.client_traffic_0,
            Label::Server0 => &mut s.server_traffic_0,
            Label::ClientEarly => &mut s.client_early_traffic,
        }
    }

    fn length_ok(self, len: usize) -> bool {
        match self {
            // RFC 5246 section 8.1: the master secret is always 48 bytes.
            Label::Master => len == 48,
            // A TLS 1.3 secret is as long as the suite's hash: SHA-256 or SHA-384.
            _ => len == 32 || len == 48,
        }
    }
}

/// A parsed key log: secrets by client random.
///
/// ```
/// let log = ks_tls_decrypt::KeyLog::parse(
///     "# written by curl\n\
///      CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 \
///      000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\n\
///      CLIENT_RANDOM not-hex 00\n",
/// );
/// assert_eq!((log.len(), log.bad_lines()), (1, 1));
/// let s = log.get(&[1; 32]).unwrap();
/// assert_eq!(s.master_secret.as_ref().map(Vec::len), Some(48));
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], Secrets>,
    bad_lines: usize,
    skipped_lines: usize,
}

impl KeyLog {
    /// Parses NSS key log text. Comments (`#`), blank lines and labels it does not use
    /// (`EXPORTER_SECRET`, `EARLY_EXPORTER_SECRET`, `RSA` ...) are skipped; malformed
    /// lines are counted ([`KeyLog::bad_lines`]), never fatal. Lines may end in CRLF;
    /// hex may be upper or lower case. Several lines for one client random merge into
    /// one [`Secrets`]; when the same label repeats for a client random, the last wins.
    pub fn parse(text: &str) -> KeyLog {
        let mut log = KeyLog::default();
        log.add_text(text);
        log
    }

    /// Parses more key log text into this log (a second file, or lines appended to
    /// a file being watched), with the same rules as [`KeyLog::parse`].
    pub fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            self.add_line(line);
        }
    }

    fn add_line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let mut fields = line.split_ascii_whitespace();
        let Some(label_text) = fields.next() else {
            return;
        };
        let Some(label) = Label::from_str(label_text) else {
            // EXPORTER_SECRET, RSA, PMS_CLIENT_RANDOM, future labels: not ours. A first
            // word that cannot be a label at all means the line is garbage.
            if label_text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                self.skipped_lines += 1;
            } else {
                self.bad_lines += 1;
            }
            return;
        };
        let (Some(random), Some(secret), None) = (fields.next(), fields.next(), fields.next())
        else {
            self.bad_lines += 1;
            return;
        };
        let random = decode_hex(random).and_then(|r| <[u8; 32]>::try_from(r).ok());
        let secret = decode_hex(secret).filter(|s| label.length_ok(s.len()));
        let (Some(random), Some(secret)) = (random, secret) else {
            self.bad_lines += 1;
            return;
        };
        *label.slot(self.sessions.entry(random).or_default()) = Some(secret);
    }

    /// Adds (or merges into) the secrets of one session.
    pub fn insert(&mut self, client_random: [u8; 32], secrets: &Secrets) {
        self.sessions
            .entry(client_random)
            .or_default()
            .merge(secrets);
    }

    /// The secrets logged for the session with this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// Number of sessions (distinct client randoms).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session has secrets.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Lines that looked like key log entries but could not be used: wrong number of
    /// fields, bad hex, a client random that is not 32 bytes, a secret of the wrong length.
    pub fn bad_lines(&self) -> usize {
        self.bad_lines
    }

    /// Well-formed lines with a label this crate does not use (`EXPORTER_SECRET`, `RSA`...).
    pub fn skipped_lines(&self) -> usize {
        self.skipped_lines
    }

    /// Every session: client random and secrets, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8; 32], &Secrets)> {
        self.sessions.iter()
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(decode_hex("00fFaA19"), Some(vec![0, 255, 170, 0x19]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex(""), Some(vec![]));
    }

    #[test]
    fn debug_hides_secret_bytes() {
        let s = Secrets {
            master_secret: Some(vec![0xAB; 48]),
            ..Secrets::default()
        };
        let d = format!("{s:?}");
        assert!(d.contains("<48 bytes>"), "{d}");
        assert!(
            !d.contains("171") && !d.to_lowercase().contains("ab, "),
            "{d}"
        );
        let log = KeyLog {
            sessions: [([0; 32], s)].into_iter().collect(),
            ..KeyLog::default()
        };
        assert!(format!("{log:?}").contains("<48 bytes>"));
    }

    #[test]
    fn merge_and_is_empty() {
        let mut a = Secrets {
            client_traffic_0: Some(vec![1; 32]),
            ..Secrets::default()
        };
        assert!(!a.is_empty() && !a.has_tls13_traffic());
        a.merge(&Secrets {
            server_traffic_0: Some(vec![2; 32]),
            ..Secrets::default()
        });
        assert!(a.has_tls13_traffic());
        assert!(Secrets::default().is_empty());
    }
}
