//! Record decryption with an NSS key log (feature `decrypt`, ks-tls-decrypt).
//!
//! Per direction one current decrypter: TLS ≤ 1.2 from the master secret, switched
//! on at that side's ChangeCipherSpec; TLS 1.3 from the handshake traffic secrets
//! after ServerHello, then `*_TRAFFIC_SECRET_0` after that side's Finished, advanced
//! by KeyUpdate; the client's 0-RTT records with `CLIENT_EARLY_TRAFFIC_SECRET` (the
//! suite found by trial on the first early record) until EndOfEarlyData. A side whose
//! record fails authentication is not decrypted any further.

use std::sync::Arc;

use ks_proto::Direction;
use ks_tls_decrypt::{suite_info, DecryptError, KeyLog, RecordDecrypter, Secrets, Side};

use crate::hello::{RawClientHello, RawServerHello};

/// Decryption state of one connection.
pub(crate) struct DecState {
    keylog: Option<Arc<KeyLog>>,
    secrets: Option<Secrets>,
    cur: [Option<RecordDecrypter>; 2],
    /// TLS ≤ 1.2: the decrypters waiting for their side's ChangeCipherSpec.
    pending: [Option<RecordDecrypter>; 2],
    /// TLS 1.3: application traffic secrets, used after each side's Finished.
    next: [Option<Vec<u8>>; 2],
    /// TLS 1.3 client handshake decrypter held while 0-RTT records are decrypted.
    client_hs: Option<RecordDecrypter>,
    /// 0-RTT: the client offered early data and the key log has its secret.
    early: bool,
    suite: u16,
    failed: [bool; 2],
    /// Scratch buffer for plaintext (one record).
    pub(crate) plain: Vec<u8>,
}

impl DecState {
    pub(crate) fn new(keylog: Option<Arc<KeyLog>>) -> Self {
        DecState {
            keylog,
            secrets: None,
            cur: [None, None],
            pending: [None, None],
            next: [None, None],
            client_hs: None,
            early: false,
            suite: 0,
            failed: [false, false],
            plain: Vec::new(),
        }
    }

    /// A key log was given.
    pub(crate) fn enabled(&self) -> bool {
        self.keylog.is_some()
    }

    /// Records of `dir` are decrypted now.
    pub(crate) fn active(&self, dir: Direction) -> bool {
        self.cur[dir.index()].is_some()
    }

    /// The ClientHello: look its secrets up (0-RTT needs them before ServerHello).
    pub(crate) fn on_client_hello(&mut self, ch: &RawClientHello, early_data: bool) {
        let Some(log) = &self.keylog else { return };
        self.secrets = log.get(&ch.random).cloned();
        self.early = early_data
            && self
                .secrets
                .as_ref()
                .is_some_and(|s| s.client_early_traffic.is_some());
    }

    /// A record from the client before ServerHello: 0-RTT data when early data was
    /// offered. The suite is found by trying the TLS 1.3 suites the client offered.
    pub(crate) fn early_record(
        &mut self,
        ch: &RawClientHello,
        ct: u8,
        version: u16,
        payload: &[u8],
    ) -> Option<Result<u8, DecryptError>> {
        if !self.early {
            return None;
        }
        let d = Direction::ToServer.index();
        if self.cur[d].is_none() && !self.failed[d] {
            let secret = self.secrets.as_ref()?.client_early_traffic.clone()?;
            for &s in ch.ciphers.iter().filter(|s| matches!(s, 0x1301..=0x1303)) {
                let Ok(mut dec) = RecordDecrypter::tls13(s, &secret) else {
                    continue;
                };
                let mut tmp = Vec::new();
                if dec.decrypt(ct, version, payload, &mut tmp).is_ok() {
                    // Keep a decrypter at the right sequence: a fresh one, one record on.
                    let mut keep = RecordDecrypter::tls13(s, &secret).ok()?;
                    self.plain.clear();
                    let r = keep.decrypt(ct, version, payload, &mut self.plain);
                    self.cur[d] = Some(keep);
                    self.suite = s;
                    return Some(r);
                }
            }
            self.failed[d] = true;
            return Some(Err(DecryptError::AuthFailed { seq: 0 }));
        }
        self.decrypt(Direction::ToServer, ct, version, payload)
    }

    /// The final ServerHello: builds the decrypters; returns the status text.
    pub(crate) fn on_server_hello(
        &mut self,
        ch: Option<&RawClientHello>,
        sh: &RawServerHello,
        tls13: bool,
    ) -> Option<String> {
        self.keylog.as_ref()?;
        let ch = ch?;
        let Some(sec) = self.secrets.clone() else {
            return Some(format!(
                "no key: client random {}… not in the key log",
                ks_proto::hex(&ch.random[..8])
            ));
        };
        let name = || crate::names::cipher_name(sh.cipher);
        if suite_info(sh.cipher).is_none_or(|s| s.tls13 != tls13) {
            return Some(format!("unsupported cipher suite {}", name()));
        }
        self.suite = sh.cipher;
        let res = if tls13 {
            self.tls13_keys(&sec)
        } else {
            self.tls12_keys(&sec, ch, sh)
        };
        Some(match res {
            Ok(()) => "decrypted".into(),
            Err(DecryptError::UnsupportedSuite(_)) => {
                format!("unsupported cipher suite {}", name())
            }
            Err(e @ DecryptError::BadSecret(_)) => format!("bad key: {e}"),
            Err(e) => format!("cannot decrypt: {e}"),
        })
    }

    fn tls13_keys(&mut self, sec: &Secrets) -> Result<(), DecryptError> {
        let (c, s) = (&sec.client_handshake_traffic, &sec.server_handshake_traffic);
        if c.is_none() && s.is_none() {
            return Err(DecryptError::BadSecret(
                "handshake traffic secrets missing from the key log",
            ));
        }
        if let Some(s) = s {
            self.cur[Direction::ToClient.index()] = Some(RecordDecrypter::tls13(self.suite, s)?);
        }
        if let Some(c) = c {
            let client = RecordDecrypter::tls13(self.suite, c)?;
            let d = Direction::ToServer.index();
            if self.early && self.cur[d].is_some() {
                // 0-RTT records go on until EndOfEarlyData.
                self.client_hs = Some(client);
            } else {
                self.cur[d] = Some(client);
            }
        }
        self.next = [sec.client_traffic_0.clone(), sec.server_traffic_0.clone()];
        Ok(())
    }

    fn tls12_keys(
        &mut self,
        sec: &Secrets,
        ch: &RawClientHello,
        sh: &RawServerHello,
    ) -> Result<(), DecryptError> {
        let ms = sec.master_secret.as_ref().ok_or(DecryptError::BadSecret(
            "no CLIENT_RANDOM master secret in the key log",
        ))?;
        for (d, side) in [(0, Side::Client), (1, Side::Server)] {
            self.pending[d] = Some(RecordDecrypter::tls12(
                self.suite,
                sh.selected_version,
                ms,
                &ch.random,
                &sh.random,
                side,
                sh.encrypt_then_mac,
            )?);
        }
        Ok(())
    }

    /// The early data was rejected (EncryptedExtensions without early_data): the
    /// client's next records use the handshake keys.
    pub(crate) fn early_rejected(&mut self) {
        if let Some(hs) = self.client_hs.take() {
            self.cur[Direction::ToServer.index()] = Some(hs);
        }
    }

    /// EndOfEarlyData: the client switches to its handshake keys.
    pub(crate) fn end_of_early_data(&mut self) {
        self.early_rejected();
    }

    /// TLS ≤ 1.2 ChangeCipherSpec of `dir`.
    pub(crate) fn on_ccs(&mut self, dir: Direction) {
        let d = dir.index();
        if let Some(p) = self.pending[d].take() {
            if !self.failed[d] {
                self.cur[d] = Some(p);
            }
        }
    }

    /// TLS 1.3 Finished of `dir`: switch to the application traffic keys.
    pub(crate) fn on_finished13(&mut self, dir: Direction) -> Result<(), DecryptError> {
        let d = dir.index();
        if self.failed[d] || self.cur[d].is_none() {
            return Ok(());
        }
        self.cur[d] = None;
        let secret = self.next[d].take().ok_or(DecryptError::BadSecret(
            "application traffic secret missing from the key log",
        ))?;
        self.cur[d] = Some(RecordDecrypter::tls13(self.suite, &secret)?);
        Ok(())
    }

    /// TLS 1.3 KeyUpdate sent in `dir`.
    pub(crate) fn key_update(&mut self, dir: Direction) -> Result<(), DecryptError> {
        match &mut self.cur[dir.index()] {
            Some(d) => d.key_update(),
            None => Ok(()),
        }
    }

    /// Decrypts one record of `dir` into `self.plain`; returns the real content type.
    pub(crate) fn decrypt(
        &mut self,
        dir: Direction,
        ct: u8,
        version: u16,
        payload: &[u8],
    ) -> Option<Result<u8, DecryptError>> {
        let dec = self.cur[dir.index()].as_mut()?;
        self.plain.clear();
        Some(dec.decrypt(ct, version, payload, &mut self.plain))
    }

    /// Stops decrypting `dir`.
    pub(crate) fn fail(&mut self, dir: Direction) {
        let d = dir.index();
        self.failed[d] = true;
        self.cur[d] = None;
        self.pending[d] = None;
        if d == 0 {
            self.client_hs = None;
        }
    }
}
