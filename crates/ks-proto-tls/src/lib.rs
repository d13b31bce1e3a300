//! TLS (SSL 3.0 – TLS 1.3) for ks: the record layer of each direction, handshake
//! messages reassembled across records, ClientHello / ServerHello decoded, the
//! certificate chain (x509-parser), JA3 / JA3S / JA4 / JA4S fingerprints, alerts, and
//! one [`Handshake`] message per connection emitted as soon as the handshake is over.
//!
//! ```
//! use ks_proto::{Direction, StreamParser};
//! use ks_proto_tls::{TlsConfig, TlsMessage, TlsParser};
//!
//! // A ClientHello for example.com offering h2, in one record.
//! let mut ch = vec![0x03, 0x03];
//! ch.extend([7u8; 32]); // random
//! ch.push(0); // session id
//! ch.extend([0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
//! ch.extend([1, 0]); // compression
//! let sni = [0, 0, 0, 16, 0, 14, 0, 0, 11, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o', b'm'];
//! let alpn = [0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
//! let sv = [0, 43, 0, 3, 2, 3, 4];
//! let exts = [&sni[..], &alpn, &sv].concat();
//! ch.extend((exts.len() as u16).to_be_bytes());
//! ch.extend(exts);
//! let mut msg = vec![1, 0, 0, ch.len() as u8];
//! msg.extend(ch);
//! let mut rec = vec![0x16, 3, 1, 0, msg.len() as u8];
//! rec.extend(msg);
//!
//! let mut p = TlsParser::new(TlsConfig::default());
//! let mut out = Vec::new();
//! let r = p.parse(Direction::ToServer, &rec, &mut out).unwrap();
//! assert_eq!(r.consumed, rec.len());
//! p.end(Direction::ToServer, &mut out);
//! p.end(Direction::ToClient, &mut out);
//! let TlsMessage::Handshake(h) = &out[0] else { panic!("{out:?}") };
//! assert_eq!(h.sni(), Some("example.com"));
//! assert_eq!(h.alpn(), Some("h2"));
//! assert!(h.ja4.as_deref().unwrap().starts_with("t13d0103h2_"));
//! assert!(!h.complete);
//! ```
//!
//! Own record layer and hello decoder rather than tls-parser's (see `docs/tls.md`):
//! records must be followed across TCP segments and handshake messages across
//! records, with caps; tls-parser is used for its IANA cipher-suite table and
//! x509-parser for certificates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
#[cfg(feature = "decrypt")]
mod decrypt;
pub mod fingerprint;
mod hello;
pub mod names;
mod types;

pub use cert::{certificate, rfc3339};
pub use hello::{client_hello, server_hello, RawClientHello, RawServerHello, HRR_RANDOM, MAX_LIST};
pub use types::{
    Alert, Certificate, ClientHello, Extension, Handshake, HandshakeMsg, ServerHello, TlsMessage,
};

#[cfg(feature = "decrypt")]
use decrypt::DecState;
#[cfg(feature = "decrypt")]
pub use ks_tls_decrypt::KeyLog;

use ks_proto::{
    run_steps, Direction, ParseError, Parsed, ParserEvent, Probe, ProbeInput, Protocol, Role, Step,
    StreamParser, Verdict,
};

/// Largest TLSCiphertext fragment (RFC 5246 6.2.3: 2^14 + 2048).
pub const MAX_RECORD: usize = (1 << 14) + 2048;
/// Default largest handshake message reassembled (larger → `handshake-too-large`).
pub const DEFAULT_MAX_HANDSHAKE_MESSAGE: usize = 256 << 10;
/// Default number of certificates decoded per chain.
pub const DEFAULT_MAX_CERTIFICATES: usize = 10;
/// Handshake messages listed in [`Handshake::messages`].
pub const MAX_MESSAGES: usize = 64;
/// Alerts kept in [`Handshake::alerts`].
pub const MAX_ALERTS: usize = 16;

/// Ports where TLS is usual: HTTPS, LDAPS, IMAPS, POP3S, SMTPS, DNS over TLS,
/// Kubernetes API (6443), kubelet (10250), etcd (2379/2380), ...
pub const PORTS: [u16; 14] = [
    443, 8443, 636, 993, 995, 465, 853, 990, 992, 994, 6443, 10250, 2379, 2380,
];

/// Limits of the parser.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Largest handshake message reassembled; larger ones are skipped with a
    /// `handshake-too-large` event.
    pub max_handshake_message: usize,
    /// Certificates decoded per chain (the others are counted).
    pub max_certificates: usize,
    /// NSS key log: with it, records are decrypted ([`TlsMessage::Plaintext`],
    /// [`Handshake::decryption`]).
    #[cfg(feature = "decrypt")]
    pub keylog: Option<std::sync::Arc<KeyLog>>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            max_handshake_message: DEFAULT_MAX_HANDSHAKE_MESSAGE,
            max_certificates: DEFAULT_MAX_CERTIFICATES,
            #[cfg(feature = "decrypt")]
            keylog: None,
        }
    }
}

/// Without the `decrypt` feature: nothing is ever decrypted.
#[cfg(not(feature = "decrypt"))]
struct DecState {
    plain: Vec<u8>,
}

#[cfg(not(feature = "decrypt"))]
#[allow(clippy::unused_self, clippy::needless_pass_by_ref_mut)]
impl DecState {
    fn enabled(&self) -> bool {
        false
    }
    fn active(&self, _: Direction) -> bool {
        false
    }
    fn on_client_hello(&mut self, _: &RawClientHello, _: bool) {}
    fn early_record(
        &mut self,
        _: &RawClientHello,
        _: u8,
        _: u16,
        _: &[u8],
    ) -> Option<Result<u8, std::convert::Infallible>> {
        None
    }
    fn on_server_hello(
        &mut self,
        _: Option<&RawClientHello>,
        _: &RawServerHello,
        _: bool,
    ) -> Option<String> {
        None
    }
    fn early_rejected(&mut self) {}
    fn end_of_early_data(&mut self) {}
    fn on_ccs(&mut self, _: Direction) {}
    fn on_finished13(&mut self, _: Direction) -> Result<(), std::convert::Infallible> {
        Ok(())
    }
    fn key_update(&mut self, _: Direction) -> Result<(), std::convert::Infallible> {
        Ok(())
    }
    fn decrypt(
        &mut self,
        _: Direction,
        _: u8,
        _: u16,
        _: &[u8],
    ) -> Option<Result<u8, std::convert::Infallible>> {
        None
    }
    fn fail(&mut self, _: Direction) {}
}

/// Event counters of one parser.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TlsCounters {
    /// Records parsed (both directions).
    pub records: u64,
    /// Handshake messages decoded.
    pub handshake_messages: u64,
    /// Encrypted records counted.
    pub encrypted_records: u64,
    /// Parse errors returned (bytes that are not a TLS record).
    pub parse_errors: u64,
    /// Times a direction entered resynchronisation.
    pub resyncs: u64,
    /// Records above [`MAX_RECORD`].
    pub oversized_records: u64,
    /// Handshake messages above the cap.
    pub oversized_messages: u64,
    /// Bytes skipped (opaque record bodies, oversized messages, resyncs).
    pub skipped_bytes: u64,
}

/// Bytes as text, at most `max` bytes (`…` marks the cut).
pub(crate) fn text(b: &[u8], max: usize) -> String {
    match b.get(..max) {
        Some(head) if b.len() > max => {
            let mut s = String::from_utf8_lossy(head).into_owned();
            s.push('…');
            s
        }
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

enum Mode {
    /// At a record boundary.
    Idle,
    /// Inside the body of a record that is not decoded (encrypted, application data).
    Skip { left: u64 },
    /// Looking for a plausible record header; `skip`: the first byte cannot be one.
    Resync { skip: bool },
}

struct DirState {
    /// Absolute offset of the first byte of the next `parse` input.
    offset: u64,
    mode: Mode,
    err_next: Option<(&'static str, String)>,
    /// No record seen yet (an SSLv2 ClientHello can only come first).
    first: bool,
    /// The part of a handshake message reassembled so far.
    hs_buf: Vec<u8>,
    /// Record start where the message in `hs_buf` began.
    hs_start: Option<u64>,
    /// Bytes of an oversized handshake message still to drop.
    hs_skip: u64,
    /// Records of this direction are encrypted from now on (CCS in TLS ≤ 1.2,
    /// ServerHello selecting TLS 1.3).
    encrypted: bool,
    /// ChangeCipherSpec sent (TLS ≤ 1.2).
    ccs: bool,
    /// The encrypted Finished after the ChangeCipherSpec was seen.
    finished: bool,
    ended: bool,
}

impl DirState {
    fn new() -> Self {
        DirState {
            offset: 0,
            mode: Mode::Idle,
            err_next: None,
            first: true,
            hs_buf: Vec::new(),
            hs_start: None,
            hs_skip: 0,
            encrypted: false,
            ccs: false,
            finished: false,
            ended: false,
        }
    }
}

/// TLS parser for one TCP connection.
pub struct TlsParser {
    cfg: TlsConfig,
    counters: TlsCounters,
    dirs: [DirState; 2],
    hs: Handshake,
    /// Something of a handshake was seen (a hello, an alert, a CCS).
    started: bool,
    emitted: bool,
    /// TLS 1.3 selected (by a HelloRetryRequest or a ServerHello).
    tls13: bool,
    /// The final ServerHello was seen.
    sh_seen: bool,
    /// The server sent a Certificate or ServerKeyExchange (full handshake).
    server_full: bool,
    client_raw: Option<RawClientHello>,
    server_raw: Option<RawServerHello>,
    /// Handshake start per direction (for `low_water`).
    hs_first: [Option<u64>; 2],
    dec: DecState,
    /// The handshake bytes being processed came from a decrypted record.
    decrypted_ctx: bool,
}

fn plausible_header(b: &[u8]) -> Option<(u8, u16, usize)> {
    let h = b.get(..5)?;
    let ct = h[0];
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    Some((ct, u16::from_be_bytes([h[1], h[2]]), len))
}

fn header_ok(ct: u8, version: u16) -> bool {
    (20..=24).contains(&ct) && (0x0300..=0x0304).contains(&version)
}

/// An SSLv2 CLIENT-HELLO header (RFC 6101 E.2): 2-byte length with the high bit
/// set, msg_type 1, a version 0x0002 or 3.x. Returns the record length (header
/// included) or `None` when not one; `Some(0)` when more bytes are needed.
fn sslv2_hello(b: &[u8]) -> Option<usize> {
    let b0 = *b.first()?;
    if b0 & 0x80 == 0 {
        return None;
    }
    if b.len() < 5 {
        // Consistent so far?
        let ok = b.get(2).is_none_or(|&t| t == 1)
            && b.get(3).is_none_or(|&m| m == 0 || m == 3)
            && b.get(4).is_none_or(|&m| m <= 4);
        return ok.then_some(0);
    }
    let len = usize::from(u16::from_be_bytes([b0 & 0x7f, b[1]]));
    let v = u16::from_be_bytes([b[3], b[4]]);
    (b[2] == 1 && (v == 0x0002 || (0x0300..=0x0304).contains(&v)) && len >= 9).then_some(len + 2)
}

impl TlsParser {
    /// A parser for one TCP connection.
    pub fn new(cfg: TlsConfig) -> Self {
        #[cfg(feature = "decrypt")]
        let cfg_keylog = cfg.keylog.clone();
        TlsParser {
            cfg,
            counters: TlsCounters::default(),
            dirs: [DirState::new(), DirState::new()],
            hs: Handshake::default(),
            started: false,
            emitted: false,
            tls13: false,
            sh_seen: false,
            server_full: false,
            client_raw: None,
            server_raw: None,
            hs_first: [None, None],
            #[cfg(feature = "decrypt")]
            dec: DecState::new(cfg_keylog),
            #[cfg(not(feature = "decrypt"))]
            dec: DecState { plain: Vec::new() },
            decrypted_ctx: false,
        }
    }

    /// Event counters so far.
    pub fn counters(&self) -> TlsCounters {
        self.counters
    }

    fn event(
        out: &mut Vec<TlsMessage>,
        kind: &'static str,
        message: String,
        dir: Direction,
        offset: u64,
    ) {
        out.push(TlsMessage::Event(ParserEvent {
            kind,
            message,
            dir,
            offset,
        }));
    }

    /// Emits the Handshake message once.
    fn emit(&mut self, complete: bool, out: &mut Vec<TlsMessage>) {
        if self.emitted || !self.started {
            return;
        }
        self.emitted = true;
        let mut h = std::mem::take(&mut self.hs);
        h.complete = complete;
        out.push(TlsMessage::Handshake(Box::new(h)));
        for d in &mut self.dirs {
            d.hs_buf = Vec::new();
            d.hs_start = None;
        }
    }

    fn start(&mut self, dir: Direction, at: u64) {
        self.started = true;
        let f = &mut self.hs_first[dir.index()];
        if f.is_none() {
            *f = Some(at);
        }
    }

    fn push_msg(
        &mut self,
        dir: Direction,
        kind: &'static str,
        code: u8,
        record_end: u64,
        encrypted: bool,
    ) {
        if self.hs.messages.len() < MAX_MESSAGES {
            self.hs.messages.push(HandshakeMsg {
                dir,
                kind,
                code,
                record_end,
                encrypted: encrypted || self.decrypted_ctx,
            });
        }
    }

    /// TLS ≤ 1.2: both sides sent ChangeCipherSpec and their Finished.
    fn check_done(&mut self, out: &mut Vec<TlsMessage>) {
        if !self.tls13 && self.dirs.iter().all(|d| d.ccs && d.finished) {
            self.emit(true, out);
        }
    }

    /// One record at `data[*pos..]` (or part of a skipped body).
    fn step(
        &mut self,
        dir: Direction,
        data: &[u8],
        pos: &mut usize,
        out: &mut Vec<TlsMessage>,
    ) -> Step {
        let d = dir.index();
        let rest = data.get(*pos..).unwrap_or_default();
        let abs = self.dirs[d].offset + *pos as u64;
        match &mut self.dirs[d].mode {
            Mode::Skip { left } => {
                let n = (*left).min(rest.len() as u64);
                *left -= n;
                *pos += n as usize;
                self.counters.skipped_bytes += n;
                if *left > 0 {
                    return Step::Wait(0);
                }
                self.dirs[d].mode = Mode::Idle;
                return Step::Continue;
            }
            Mode::Resync { skip } => {
                if std::mem::take(skip) && !rest.is_empty() {
                    *pos += 1;
                    self.counters.skipped_bytes += 1;
                }
                return self.resync(dir, data, pos);
            }
            Mode::Idle => {}
        }
        if rest.is_empty() {
            return Step::Wait(5);
        }
        if self.dirs[d].first && rest[0] & 0x80 != 0 {
            match sslv2_hello(rest) {
                Some(0) => return Step::Wait(5 - rest.len()),
                Some(n) => {
                    let Some(rec) = rest.get(..n) else {
                        return Step::Wait(n - rest.len());
                    };
                    *pos += n;
                    self.dirs[d].first = false;
                    self.on_sslv2(dir, rec, abs, out);
                    return Step::Continue;
                }
                None => {}
            }
        }
        // Reject garbage as early as its first bytes allow.
        if !(20..=24).contains(&rest[0])
            || rest.get(1).is_some_and(|&m| m != 3)
            || rest.get(2).is_some_and(|&m| m > 4)
        {
            return Step::Bad(
                "bad-record",
                format!(
                    "not a TLS record header: {}",
                    ks_proto::hex(&rest[..rest.len().min(5)])
                ),
            );
        }
        let Some((ct, version, len)) = plausible_header(rest) else {
            return Step::Wait(5 - rest.len());
        };
        if !header_ok(ct, version) {
            return Step::Bad(
                "bad-record",
                format!("content type {ct}, version 0x{version:04x}"),
            );
        }
        self.counters.records += 1;
        self.dirs[d].first = false;
        if len > MAX_RECORD {
            self.counters.oversized_records += 1;
            self.counters.resyncs += 1;
            Self::event(
                out,
                "record-too-large",
                format!("record of {len} bytes exceeds {MAX_RECORD}; resynchronising"),
                dir,
                abs,
            );
            self.dirs[d].mode = Mode::Resync { skip: true };
            self.dirs[d].hs_buf.clear();
            self.dirs[d].hs_start = None;
            return Step::Continue;
        }
        let end = abs + 5 + len as u64;
        let encrypted = self.dirs[d].encrypted;
        let decrypting = encrypted && self.dec.active(dir);
        // 0-RTT: client records before ServerHello, when early data was offered.
        let early = dir == Direction::ToServer && ct == 23 && !self.sh_seen && self.dec.enabled();
        let needs_body = match ct {
            20 => true,
            // A 2-byte alert is in clear even after the keys changed (TLS 1.3 clients
            // send unknown_ca that way); encrypted ones are longer.
            21 => !encrypted || len == 2 || decrypting,
            // Encrypted ones too, whole: the message listed ends with the record.
            22 => !self.emitted || decrypting,
            23 => decrypting || early,
            _ => false,
        };
        if !needs_body {
            *pos += 5;
            self.dirs[d].mode = Mode::Skip { left: len as u64 };
            self.on_opaque(dir, ct, encrypted, abs, end, out);
            return Step::Continue;
        }
        let Some(rec) = rest.get(..5 + len) else {
            return Step::Wait(5 + len - rest.len());
        };
        *pos += 5 + len;
        if ct != 20 && (decrypting || early) && !(ct == 21 && len == 2 && !decrypting) {
            self.on_protected(dir, ct, version, &rec[5..], abs, end, early, out);
        } else if ct == 22 && encrypted {
            self.on_opaque(dir, ct, encrypted, abs, end, out);
        } else {
            self.on_record(dir, ct, &rec[5..], abs, end, out);
        }
        Step::Continue
    }

    /// Skips to the next plausible record header.
    fn resync(&mut self, dir: Direction, data: &[u8], pos: &mut usize) -> Step {
        let d = dir.index();
        while let Some(c) = data.get(*pos..).filter(|c| !c.is_empty()) {
            if c.len() < 5 {
                // Keep a possible header start.
                let ok = (20..=24).contains(&c[0])
                    && c.get(1).is_none_or(|&m| m == 3)
                    && c.get(2).is_none_or(|&m| m <= 4);
                if ok {
                    return Step::Wait(5 - c.len());
                }
                *pos += 1;
                self.counters.skipped_bytes += 1;
                continue;
            }
            match plausible_header(c) {
                Some((ct, v, len)) if header_ok(ct, v) && len <= MAX_RECORD && len > 0 => {
                    self.dirs[d].mode = Mode::Idle;
                    return Step::Continue;
                }
                _ => {
                    *pos += 1;
                    self.counters.skipped_bytes += 1;
                }
            }
        }
        Step::Wait(5)
    }

    /// A record whose body is not decoded: encrypted, application data, heartbeat,
    /// or anything after the Handshake message was emitted.
    fn on_opaque(
        &mut self,
        dir: Direction,
        ct: u8,
        encrypted: bool,
        start: u64,
        end: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        let d = dir.index();
        if encrypted || ct == 23 {
            self.counters.encrypted_records += 1;
            if !self.emitted {
                self.hs.encrypted_records[d] = self.hs.encrypted_records[d].saturating_add(1);
            }
        }
        if self.emitted {
            return;
        }
        match ct {
            22 if encrypted => {
                self.start(dir, start);
                // TLS ≤ 1.2: the first encrypted handshake record after CCS is Finished.
                let st = &mut self.dirs[d];
                let (kind, code) = if st.ccs && !st.finished {
                    ("finished", 20)
                } else {
                    ("encrypted", 0)
                };
                st.finished |= st.ccs;
                self.push_msg(dir, kind, code, end, true);
                self.check_done(out);
            }
            // TLS ≤ 1.2: application data ends the handshake; TLS 1.3: the client's
            // first encrypted record after ServerHello (its Finished).
            23 if self.sh_seen && (!self.tls13 || dir == Direction::ToServer) => {
                self.emit(true, out);
            }
            _ => {}
        }
    }

    fn on_record(
        &mut self,
        dir: Direction,
        ct: u8,
        body: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        let d = dir.index();
        match ct {
            20 => {
                // TLS 1.3 middlebox-compatibility CCS (and a TLS 1.3 client's CCS
                // before any ServerHello) change nothing.
                if self.tls13 || !self.sh_seen || self.emitted {
                    return;
                }
                self.start(dir, start);
                self.dec.on_ccs(dir);
                let st = &mut self.dirs[d];
                st.ccs = true;
                st.encrypted = true;
                // Abbreviated handshake: the server's CCS comes without a Certificate.
                if dir == Direction::ToClient && !self.server_full {
                    self.hs.resumed = true;
                }
            }
            21 => self.on_alert(dir, body, start, out),
            22 => self.on_handshake_bytes(dir, body, start, end, out),
            _ => {}
        }
    }

    fn on_alert(&mut self, dir: Direction, body: &[u8], start: u64, out: &mut Vec<TlsMessage>) {
        for a in body.chunks_exact(2) {
            let alert = Alert::new(dir, a[0], a[1], start);
            if self.emitted {
                out.push(TlsMessage::Alert {
                    dir,
                    alert,
                    offset: start,
                });
                continue;
            }
            self.start(dir, start);
            let fatal = a[0] == 2;
            if self.hs.alerts.len() < MAX_ALERTS {
                self.hs.alerts.push(alert);
            }
            if fatal {
                self.emit(false, out);
            }
        }
    }

    fn on_handshake_bytes(
        &mut self,
        dir: Direction,
        body: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        let d = dir.index();
        let max = self.cfg.max_handshake_message as u64;
        let mut b = body;
        while !b.is_empty() && !self.emitted {
            let st = &mut self.dirs[d];
            if st.hs_skip > 0 {
                let n = st.hs_skip.min(b.len() as u64);
                st.hs_skip -= n;
                b = &b[n as usize..];
                self.counters.skipped_bytes += n;
                continue;
            }
            // Fast path: a whole message at the start of what is left.
            if st.hs_buf.is_empty() && b.len() >= 4 {
                let len = u64::from(u32::from_be_bytes([0, b[1], b[2], b[3]]));
                if len <= max && b.len() as u64 >= 4 + len {
                    let (m, rest) = b.split_at(4 + len as usize);
                    b = rest;
                    self.on_message(dir, m[0], &m[4..], start, end, out);
                    continue;
                }
            }
            if st.hs_buf.is_empty() {
                st.hs_start = Some(start);
            }
            if st.hs_buf.len() < 4 {
                let n = (4 - st.hs_buf.len()).min(b.len());
                st.hs_buf.extend_from_slice(&b[..n]);
                b = &b[n..];
                if st.hs_buf.len() < 4 {
                    break;
                }
            }
            let h = &st.hs_buf;
            let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
            if len > max {
                let typ = h[0];
                st.hs_skip = len;
                st.hs_buf.clear();
                let at = st.hs_start.take().unwrap_or(start);
                self.counters.oversized_messages += 1;
                Self::event(
                    out,
                    "handshake-too-large",
                    format!(
                        "{} message of {len} bytes exceeds {max}, skipped",
                        names::handshake_name(typ)
                    ),
                    dir,
                    at,
                );
                self.push_msg(dir, names::handshake_name(typ), typ, end, false);
                continue;
            }
            let want = 4 + len as usize - st.hs_buf.len();
            let n = want.min(b.len());
            st.hs_buf.extend_from_slice(&b[..n]);
            b = &b[n..];
            if n == want {
                let m = std::mem::take(&mut st.hs_buf);
                let at = st.hs_start.take().unwrap_or(start);
                self.on_message(dir, m[0], &m[4..], at, end, out);
            }
        }
    }

    fn on_sslv2(&mut self, dir: Direction, rec: &[u8], start: u64, out: &mut Vec<TlsMessage>) {
        let end = start + rec.len() as u64;
        self.start(dir, start);
        Self::event(
            out,
            "sslv2-hello",
            "SSLv2-compatible ClientHello".into(),
            dir,
            start,
        );
        self.push_msg(dir, "sslv2_client_hello", 1, end, false);
        // msg_type, version, cipher_spec_length, session_id_length, challenge_length.
        let b = &rec[2..];
        let mut ch = ClientHello {
            sslv2: true,
            ..ClientHello::default()
        };
        let v = u16::from_be_bytes([b[1], b[2]]);
        ch.legacy_version = names::version_name(v);
        let specs_len = usize::from(u16::from_be_bytes([
            b.get(3).copied().unwrap_or(0),
            b.get(4).copied().unwrap_or(0),
        ]));
        let sid_len = usize::from(u16::from_be_bytes([
            b.get(5).copied().unwrap_or(0),
            b.get(6).copied().unwrap_or(0),
        ]));
        ch.session_id_len = sid_len.min(255) as u8;
        match b.get(9..9 + specs_len) {
            Some(specs) => {
                for s in specs.chunks_exact(3) {
                    if ch.cipher_suites.len() >= MAX_LIST {
                        break;
                    }
                    ch.cipher_suites.push(if s[0] == 0 {
                        names::cipher_name(u16::from_be_bytes([s[1], s[2]]))
                    } else {
                        format!("SSL2_0x{}", ks_proto::hex(s))
                    });
                }
            }
            None => ch.malformed = true,
        }
        if self.hs.client_hello.is_none() {
            self.hs.client_hello = Some(ch);
        }
    }

    fn on_message(
        &mut self,
        dir: Direction,
        typ: u8,
        body: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        if self.emitted {
            return;
        }
        self.counters.handshake_messages += 1;
        self.start(dir, start);
        self.push_msg(dir, names::handshake_name(typ), typ, end, false);
        match typ {
            1 => {
                let (ch, raw) = hello::client_hello(body);
                if ch.malformed {
                    Self::event(
                        out,
                        "malformed-hello",
                        "ClientHello cut or malformed".into(),
                        dir,
                        start,
                    );
                }
                // Fingerprints of the client's first offer.
                if self.hs.ja3.is_none() && !ch.malformed {
                    let (full, ja3, ja4) = hello::client_fingerprints(&raw, ch.sni.is_some());
                    self.hs.ja3_full = Some(full);
                    self.hs.ja3 = Some(ja3);
                    self.hs.ja4 = Some(ja4);
                }
                self.dec.on_client_hello(&raw, ch.early_data);
                self.hs.client_hello = Some(ch);
                self.client_raw = Some(raw);
            }
            2 => self.on_server_hello(dir, body, start, out),
            11 => {
                let (ders, cut) = cert::chain(body, self.tls13);
                if cut {
                    Self::event(
                        out,
                        "bad-certificate",
                        "Certificate message cut or malformed".into(),
                        dir,
                        start,
                    );
                }
                self.hs.certificate_count =
                    self.hs.certificate_count.saturating_add(ders.len() as u32);
                let list = if dir == Direction::ToClient {
                    self.server_full = true;
                    &mut self.hs.certificates
                } else {
                    &mut self.hs.client_certificates
                };
                // The cap holds per list, also over several Certificate messages.
                let room = self.cfg.max_certificates.saturating_sub(list.len());
                for der in ders.into_iter().take(room) {
                    list.push(cert::certificate(der));
                }
            }
            12 => self.server_full = true,
            5 => self.dec.end_of_early_data(),
            8 => self.on_encrypted_extensions(body),
            20 if self.decrypted_ctx => {
                if self.tls13 {
                    if let Err(e) = self.dec.on_finished13(dir) {
                        self.dec.fail(dir);
                        Self::event(out, "decrypt-failed", e.to_string(), dir, start);
                    }
                    if dir == Direction::ToServer {
                        self.emit(true, out);
                    }
                } else {
                    self.dirs[dir.index()].finished = true;
                    self.check_done(out);
                }
            }
            _ => {}
        }
    }

    /// EncryptedExtensions (TLS 1.3, seen decrypted): the ALPN selected, and whether
    /// 0-RTT data was accepted.
    fn on_encrypted_extensions(&mut self, body: &[u8]) {
        let mut r = hello::Rd::new(body);
        let mut early = false;
        if let Some(exts) = r.vec(2) {
            let mut e = hello::Rd::new(exts);
            while let (Some(id), Some(data)) = (e.u16(), e.vec(2)) {
                match id {
                    16 => {
                        let mut l = hello::Rd::new(data);
                        if let Some(p) = l.vec(2).and_then(|v| hello::Rd::new(v).vec(1)) {
                            if let Some(sh) = &mut self.hs.server_hello {
                                sh.alpn = Some(text(p, 255));
                            }
                        }
                    }
                    42 => early = true,
                    _ => {}
                }
            }
        }
        if !early {
            self.dec.early_rejected();
        }
    }

    /// A protected record of `dir` with decryption on (or a 0-RTT candidate).
    #[allow(clippy::too_many_arguments)]
    fn on_protected(
        &mut self,
        dir: Direction,
        ct: u8,
        version: u16,
        payload: &[u8],
        start: u64,
        end: u64,
        early: bool,
        out: &mut Vec<TlsMessage>,
    ) {
        let r = if early {
            match &self.client_raw {
                Some(ch) => {
                    let ch = ch.clone();
                    self.dec.early_record(&ch, ct, version, payload)
                }
                None => None,
            }
        } else {
            self.dec.decrypt(dir, ct, version, payload)
        };
        let inner = match r {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                self.dec.fail(dir);
                if !self.emitted {
                    self.hs.decryption = Some("wrong key: record authentication failed".into());
                }
                Self::event(out, "decrypt-failed", e.to_string(), dir, start);
                return self.on_opaque(dir, ct, true, start, end, out);
            }
            None => {
                return self.on_opaque(dir, ct, self.dirs[dir.index()].encrypted, start, end, out)
            }
        };
        let d = dir.index();
        self.counters.encrypted_records += 1;
        if !self.emitted {
            self.hs.encrypted_records[d] = self.hs.encrypted_records[d].saturating_add(1);
        }
        let plain = std::mem::take(&mut self.dec.plain);
        match inner {
            22 if self.emitted => self.post_handshake(dir, &plain, start, end, out),
            22 => {
                self.decrypted_ctx = true;
                self.on_handshake_bytes(dir, &plain, start, end, out);
                self.decrypted_ctx = false;
            }
            21 => self.on_alert(dir, &plain, start, out),
            23 => {
                if !self.emitted && self.sh_seen && !self.tls13 {
                    self.emit(true, out);
                }
                out.push(TlsMessage::Plaintext {
                    dir,
                    data: plain.clone(),
                    record_end: end,
                });
            }
            _ => {}
        }
        self.dec.plain = plain;
    }

    /// Handshake messages after the Handshake was emitted (TLS 1.3 NewSessionTicket,
    /// KeyUpdate): whole messages of one record; a KeyUpdate switches the keys of its
    /// sender after this record.
    fn post_handshake(
        &mut self,
        dir: Direction,
        plain: &[u8],
        start: u64,
        end: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        let mut r = hello::Rd::new(plain);
        let mut update = false;
        while let (Some(t), Some(_)) = (r.u8(), r.vec(3)) {
            update |= t == 24;
            out.push(TlsMessage::PostHandshake(HandshakeMsg {
                dir,
                kind: names::handshake_name(t),
                code: t,
                record_end: end,
                encrypted: true,
            }));
        }
        if update && self.tls13 {
            if let Err(e) = self.dec.key_update(dir) {
                self.dec.fail(dir);
                Self::event(out, "decrypt-failed", e.to_string(), dir, start);
            }
        }
    }

    fn on_server_hello(
        &mut self,
        dir: Direction,
        body: &[u8],
        start: u64,
        out: &mut Vec<TlsMessage>,
    ) {
        let (sh, raw) = hello::server_hello(body);
        if sh.malformed {
            Self::event(
                out,
                "malformed-hello",
                "ServerHello cut or malformed".into(),
                dir,
                start,
            );
        }
        let v = raw.selected_version;
        let known = (0x0300..=0x0304).contains(&v) || v & 0xff00 == 0x7f00;
        if !known && !sh.malformed {
            Self::event(
                out,
                "unknown-version",
                format!("ServerHello selects version 0x{v:04x}"),
                dir,
                start,
            );
        }
        let tls13 = v == 0x0304 || v & 0xff00 == 0x7f00;
        if sh.hello_retry_request {
            self.hs.hello_retry = true;
            self.tls13 |= tls13;
            self.hs.server_hello = Some(sh);
            return;
        }
        self.sh_seen = true;
        self.tls13 = tls13;
        self.hs.version = Some(names::version_name(v));
        self.hs.cipher_suite = Some(sh.cipher_suite.clone());
        if !sh.malformed {
            let (full, ja3s, ja4s) = hello::server_fingerprints(&raw);
            self.hs.ja3s_full = Some(full);
            self.hs.ja3s = Some(ja3s);
            self.hs.ja4s = Some(ja4s);
        }
        if tls13 {
            self.hs.resumed = raw.psk;
            for st in &mut self.dirs {
                st.encrypted = true;
            }
        } else if let Some(c) = &self.client_raw {
            if !raw.session_id.is_empty() && raw.session_id == c.session_id {
                self.hs.resumed = true;
            }
        }
        self.hs.decryption = self
            .dec
            .on_server_hello(self.client_raw.as_ref(), &raw, tls13);
        self.hs.server_hello = Some(sh);
        self.server_raw = Some(raw);
    }
}

impl StreamParser for TlsParser {
    type Message = TlsMessage;

    /// `Certain` for a handshake record header (0x16 0x03 0x00..=0x04, a plausible
    /// length) carrying a ClientHello (sender: client) or ServerHello (server), and
    /// for an SSLv2-compatible ClientHello; `Unsure` when the bytes are too few to
    /// tell but agree so far (or none yet on a TLS port); `NotMine` otherwise.
    fn probe(input: &ProbeInput<'_>) -> Probe {
        let b = input.data;
        let unsure = Probe {
            verdict: Verdict::Unsure,
            sender: None,
        };
        if b.is_empty() {
            let on_port = PORTS.contains(&input.src_port) || PORTS.contains(&input.dst_port);
            return if on_port { unsure } else { Probe::NOT_MINE };
        }
        if b[0] & 0x80 != 0 {
            return match sslv2_hello(b) {
                Some(0) => unsure,
                Some(_) => Probe {
                    verdict: Verdict::Certain,
                    sender: Some(Role::Client),
                },
                None => Probe::NOT_MINE,
            };
        }
        let agree =
            b[0] == 0x16 && b.get(1).is_none_or(|&m| m == 3) && b.get(2).is_none_or(|&m| m <= 4);
        if !agree {
            return Probe::NOT_MINE;
        }
        if b.len() < 6 {
            if let Some((_, _, len)) = plausible_header(b) {
                if !(4..=MAX_RECORD).contains(&len) {
                    return Probe::NOT_MINE;
                }
            }
            return unsure;
        }
        let len = usize::from(u16::from_be_bytes([b[3], b[4]]));
        if !(4..=MAX_RECORD).contains(&len) {
            return Probe::NOT_MINE;
        }
        match b[5] {
            1 => Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Client),
            },
            2 => Probe {
                verdict: Verdict::Certain,
                sender: Some(Role::Server),
            },
            _ => Probe::NOT_MINE,
        }
    }

    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<TlsMessage>,
    ) -> Result<Parsed, ParseError> {
        let d = dir.index();
        let mut latch = self.dirs[d].err_next.take();
        let r = run_steps(&mut latch, data.len(), |pos| self.step(dir, data, pos, out));
        self.dirs[d].err_next = latch;
        match r {
            Ok(p) => {
                self.dirs[d].offset += p.consumed as u64;
                Ok(p)
            }
            Err((kind, message)) => {
                self.counters.parse_errors += 1;
                self.counters.resyncs += 1;
                let st = &mut self.dirs[d];
                st.mode = Mode::Resync { skip: true };
                st.hs_buf.clear();
                st.hs_start = None;
                st.hs_skip = 0;
                Err(ParseError {
                    kind,
                    message,
                    offset: st.offset,
                })
            }
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<TlsMessage>) {
        let d = dir.index();
        let at = self.dirs[d].offset;
        let st = &mut self.dirs[d];
        st.offset += len;
        st.err_next = None;
        Self::event(out, "gap", format!("{len} bytes missing"), dir, at);
        // Records were lost: the sequence numbers of this side are unknown now.
        if self.dec.active(dir) {
            self.dec.fail(dir);
            Self::event(
                out,
                "decrypt-stopped",
                "bytes lost: this direction is not decrypted any further".into(),
                dir,
                at,
            );
        }
        match &mut st.mode {
            // Inside a skipped record body the record boundary is still known.
            Mode::Skip { left } if *left > len => *left -= len,
            m => {
                *m = Mode::Resync { skip: false };
                self.counters.resyncs += 1;
            }
        }
        let st = &mut self.dirs[d];
        if !st.hs_buf.is_empty() || st.hs_skip > 0 || !matches!(st.mode, Mode::Skip { .. }) {
            st.hs_buf.clear();
            st.hs_start = None;
            st.hs_skip = 0;
            self.emit(false, out);
        }
    }

    fn end(&mut self, dir: Direction, out: &mut Vec<TlsMessage>) {
        let d = dir.index();
        self.dirs[d].ended = true;
        if self.dirs.iter().all(|s| s.ended) {
            self.emit(false, out);
        }
    }

    fn low_water(&self, dir: Direction) -> u64 {
        let st = &self.dirs[dir.index()];
        let mut lw = st.offset;
        if let Some(s) = st.hs_start {
            lw = lw.min(s);
        }
        if !self.emitted {
            if let Some(s) = self.hs_first[dir.index()] {
                lw = lw.min(s);
            }
        }
        lw
    }

    fn handoff(&self) -> Option<Protocol> {
        None
    }
}
