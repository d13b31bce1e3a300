//! Names of TLS code points (IANA TLS parameters registries).

/// A GREASE value (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Display form of a protocol version: `TLS 1.3`, `SSL 3.0`, `TLS 1.3 draft 23`,
/// `GREASE`, else `0x1234`.
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        v if v & 0xff00 == 0x7f00 => format!("TLS 1.3 draft {}", v & 0xff),
        v if is_grease(v) => "GREASE".into(),
        v => format!("0x{v:04x}"),
    }
}

/// IANA name of a cipher suite (`TLS_AES_128_GCM_SHA256`), `GREASE`, else `0x1234`.
/// The table is tls-parser's, generated from the IANA registry.
pub fn cipher_name(id: u16) -> String {
    if is_grease(id) {
        return "GREASE".into();
    }
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_string(),
        None => format!("0x{id:04x}"),
    }
}

/// Name of a handshake message type (`client_hello`), `unknown` otherwise.
pub fn handshake_name(t: u8) -> &'static str {
    match t {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        3 => "hello_verify_request",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        6 => "hello_retry_request",
        8 => "encrypted_extensions",
        9 => "request_connection_id",
        10 => "new_connection_id",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        17 => "client_certificate_request",
        20 => "finished",
        21 => "certificate_url",
        22 => "certificate_status",
        23 => "supplemental_data",
        24 => "key_update",
        25 => "compressed_certificate",
        26 => "ekt_key",
        254 => "message_hash",
        _ => "unknown",
    }
}

/// Name of an alert level.
pub fn alert_level_name(l: u8) -> &'static str {
    match l {
        1 => "warning",
        2 => "fatal",
        _ => "unknown",
    }
}

/// Name of an alert description (`handshake_failure`), `unknown` otherwise.
pub fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => "unknown",
    }
}

/// Name of an extension (`server_name`), `GREASE`, else `0x1234`.
pub fn extension_name(id: u16) -> String {
    let n = match id {
        0 => "server_name",
        1 => "max_fragment_length",
        2 => "client_certificate_url",
        3 => "trusted_ca_keys",
        4 => "truncated_hmac",
        5 => "status_request",
        6 => "user_mapping",
        7 => "client_authz",
        8 => "server_authz",
        9 => "cert_type",
        10 => "supported_groups",
        11 => "ec_point_formats",
        12 => "srp",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        24 => "token_binding",
        25 => "cached_info",
        27 => "compress_certificate",
        28 => "record_size_limit",
        34 => "delegated_credentials",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        13172 => "next_protocol_negotiation",
        17513 | 17613 => "application_settings",
        30031 | 30032 => "channel_id",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        id if is_grease(id) => "GREASE",
        id => return format!("0x{id:04x}"),
    };
    n.into()
}

/// Name of a supported group (`x25519`, `secp256r1`), `GREASE`, else `0x1234`.
pub fn group_name(id: u16) -> String {
    let n = match id {
        1..=22 => {
            const SECT: [&str; 22] = [
                "sect163k1",
                "sect163r1",
                "sect163r2",
                "sect193r1",
                "sect193r2",
                "sect233k1",
                "sect233r1",
                "sect239k1",
                "sect283k1",
                "sect283r1",
                "sect409k1",
                "sect409r1",
                "sect571k1",
                "sect571r1",
                "secp160k1",
                "secp160r1",
                "secp160r2",
                "secp192k1",
                "secp192r1",
                "secp224k1",
                "secp224r1",
                "secp256k1",
            ];
            SECT[usize::from(id - 1)]
        }
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11ec => "X25519MLKEM768",
        0x11eb => "SecP256r1MLKEM768",
        0x6399 => "X25519Kyber768Draft00",
        id if is_grease(id) => "GREASE",
        id => return format!("0x{id:04x}"),
    };
    n.into()
}

/// Name of a signature scheme (`ecdsa_secp256r1_sha256`), `GREASE`, else `0x1234`.
pub fn sigalg_name(id: u16) -> String {
    let n = match id {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0202 => "dsa_sha1",
        0x0401 => "rsa_pkcs1_sha256",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0402 => "dsa_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0301 => "rsa_sha224",
        0x0303 => "ecdsa_sha224",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        id if is_grease(id) => "GREASE",
        id => return format!("0x{id:04x}"),
    };
    n.into()
}

/// Name of an EC point format.
pub fn point_format_name(f: u8) -> String {
    match f {
        0 => "uncompressed".into(),
        1 => "ansiX962_compressed_prime".into(),
        2 => "ansiX962_compressed_char2".into(),
        f => format!("0x{f:02x}"),
    }
}
