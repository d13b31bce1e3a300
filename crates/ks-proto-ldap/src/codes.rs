//! Names of protocol operations, result codes and well-known OIDs.

/// tshark's name of a protocolOp (APPLICATION tag number), e.g. `bindRequest`.
pub fn op_name(num: u32) -> Option<&'static str> {
    Some(match num {
        0 => "bindRequest",
        1 => "bindResponse",
        2 => "unbindRequest",
        3 => "searchRequest",
        4 => "searchResEntry",
        5 => "searchResDone",
        6 => "modifyRequest",
        7 => "modifyResponse",
        8 => "addRequest",
        9 => "addResponse",
        10 => "delRequest",
        11 => "delResponse",
        12 => "modDNRequest",
        13 => "modDNResponse",
        14 => "compareRequest",
        15 => "compareResponse",
        16 => "abandonRequest",
        19 => "searchResRef",
        23 => "extendedReq",
        24 => "extendedResp",
        25 => "intermediateResponse",
        _ => return None,
    })
}

/// The identifier byte each protocolOp is encoded with (RFC 4511 section 4): the
/// primitive ones are unbind (NULL), delete (LDAPDN) and abandon (MessageID).
pub(crate) fn op_ident_ok(ident: u8) -> bool {
    matches!(ident, 0x42 | 0x4a | 0x50)
        || (matches!(ident, 0x60..=0x79)
            && !matches!(ident, 0x62 | 0x6a | 0x70 | 0x71 | 0x72 | 0x74 | 0x75 | 0x76))
}

/// Operations sent by the client.
pub(crate) fn is_request(num: u32) -> bool {
    matches!(num, 0 | 2 | 3 | 6 | 8 | 10 | 12 | 14 | 16 | 23)
}

/// Name of an LDAP result code (RFC 4511 appendix A, plus RFC 3909, 4370, 4528, 4533).
pub fn result_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        118 => "canceled",
        119 => "noSuchOperation",
        120 => "tooLate",
        121 => "cannotCancel",
        122 => "assertionFailed",
        123 => "authorizationDenied",
        4096 => "e-syncRefreshRequired",
        _ => return None,
    })
}

/// StartTLS (RFC 4511 section 4.14).
pub const OID_STARTTLS: &str = "1.3.6.1.4.1.1466.20037";
/// "Who am I?" (RFC 4532).
pub const OID_WHOAMI: &str = "1.3.6.1.4.1.4203.1.11.3";
/// Notice of Disconnection (RFC 4511 section 4.4.1).
pub const OID_NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";

/// Short name of a well-known extended operation OID.
pub fn extended_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        OID_STARTTLS => "StartTLS",
        OID_WHOAMI => "whoami",
        OID_NOTICE_OF_DISCONNECTION => "noticeOfDisconnection",
        "1.3.6.1.4.1.4203.1.11.1" => "passwordModify",
        "1.3.6.1.1.8" => "cancel",
        "1.3.6.1.1.21.1" => "startTransaction",
        "1.3.6.1.1.21.3" => "endTransaction",
        "1.3.6.1.4.1.4203.1.9.1.1" => "syncRequest",
        "1.3.6.1.4.1.4203.1.9.1.4" => "syncInfo",
        "1.3.6.1.4.1.1466.101.119.1" => "refresh",
        _ => return None,
    })
}

/// `scope` names (RFC 4511 section 4.5.1.2, plus subordinateSubtree of the draft
/// that OpenLDAP and AD implement).
pub(crate) fn scope_name(n: i64) -> &'static str {
    match n {
        0 => "baseObject",
        1 => "singleLevel",
        2 => "wholeSubtree",
        3 => "subordinateSubtree",
        _ => "unknown",
    }
}

/// `derefAliases` names.
pub(crate) fn deref_name(n: i64) -> &'static str {
    match n {
        0 => "neverDerefAliases",
        1 => "derefInSearching",
        2 => "derefFindingBaseObj",
        3 => "derefAlways",
        _ => "unknown",
    }
}

/// Modify operation names (RFC 4511, increment from RFC 4525).
pub(crate) fn change_name(n: i64) -> &'static str {
    match n {
        0 => "add",
        1 => "delete",
        2 => "replace",
        3 => "increment",
        _ => "unknown",
    }
}
