//! The messages the parser emits, and their one-line summaries.

use ks_proto::Direction;
use serde::Serialize;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One change of a modifyRequest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `add`, `delete`, `replace` or `increment`.
    pub operation: &'static str,
    /// Attribute description (values are not kept).
    pub attribute: String,
}

/// A message sent by the client (any of the request operations of RFC 4511).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LdapRequest {
    /// Absolute offset of the first byte of the LDAPMessage.
    pub start: u64,
    /// Absolute offset just after its last byte.
    pub end: u64,
    /// messageID.
    pub message_id: i64,
    /// protocolOp name as tshark spells it (`bindRequest`, `searchRequest`, ...).
    pub operation: &'static str,
    /// protocolOp number (APPLICATION tag), as tshark's `ldap.protocolOp`.
    pub protocol_op: u32,
    /// The entry named: bind name, entry of modify/add/delete/modDN/compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// bindRequest: protocol version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// bindRequest: `simple`, `sasl` or the name of another choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Simple bind: `<hidden, N bytes>` (the password itself is never kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// SASL bind: the mechanism (`GSSAPI`, `DIGEST-MD5`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
    /// SASL bind: length of the credentials (never shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_credentials_len: Option<usize>,
    /// searchRequest: baseObject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_object: Option<String>,
    /// searchRequest: `baseObject`, `singleLevel`, `wholeSubtree`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// searchRequest: derefAliases name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deref: Option<&'static str>,
    /// searchRequest: sizeLimit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<i64>,
    /// searchRequest: timeLimit (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<i64>,
    /// searchRequest: typesOnly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub types_only: Option<bool>,
    /// searchRequest: the filter as an RFC 4515 string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// searchRequest: attributes asked for; addRequest: attribute names given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Attributes beyond `MAX_ATTRIBUTES`, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub attributes_omitted: u64,
    /// modifyRequest: the changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Changes beyond `MAX_CHANGES`, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub changes_omitted: u64,
    /// modDNRequest: newrdn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_rdn: Option<String>,
    /// modDNRequest: deleteoldrdn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_old_rdn: Option<bool>,
    /// modDNRequest: newSuperior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_superior: Option<String>,
    /// compareRequest: the assertion as a filter item, `(cn=Fred)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assertion: Option<String>,
    /// abandonRequest: the messageID abandoned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandon_id: Option<i64>,
    /// extendedReq: requestName (an OID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_name: Option<String>,
    /// Short name of a well-known extended operation (`StartTLS`, `whoami`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_name: Option<&'static str>,
    /// extendedReq: length of requestValue (not shown: passwordModify carries
    /// passwords in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_value_len: Option<usize>,
    /// Control OIDs (at most `MAX_CONTROLS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// What could not be decoded (the fields before it are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A message sent by the server: a response, a search result entry or reference,
/// an intermediate response, or an unsolicited notification.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LdapResponse {
    /// Absolute offset of the first byte of the LDAPMessage.
    pub start: u64,
    /// Absolute offset just after its last byte.
    pub end: u64,
    /// messageID (0 for unsolicited notifications).
    pub message_id: i64,
    /// protocolOp name as tshark spells it (`bindResponse`, `searchResDone`, ...).
    pub operation: &'static str,
    /// protocolOp number, as tshark's `ldap.protocolOp`.
    pub protocol_op: u32,
    /// resultCode, as tshark's `ldap.resultCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<i64>,
    /// Its name (`success`, `noSuchObject`, ...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_name: Option<&'static str>,
    /// matchedDN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_dn: Option<String>,
    /// diagnosticMessage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_message: Option<String>,
    /// Referral URIs (at most `MAX_REFERENCES`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referral: Vec<String>,
    /// bindResponse: length of serverSaslCreds (never shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_sasl_creds_len: Option<usize>,
    /// extendedResp / intermediateResponse: responseName (an OID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_name: Option<String>,
    /// Short name of a well-known extended operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_name: Option<&'static str>,
    /// Length of responseValue (shown only for "Who am I?": others may carry
    /// generated passwords).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_value_len: Option<usize>,
    /// "Who am I?" response: the authzId (`dn:...`, `u:...`, or empty for anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authz_id: Option<String>,
    /// searchResEntry: objectName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    /// searchResEntry: attribute names (values are not kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Attributes beyond `MAX_ATTRIBUTES`, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub attributes_omitted: u64,
    /// searchResRef: the URIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// searchResRef: URIs beyond `MAX_REFERENCES`, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub uris_omitted: u64,
    /// Control OIDs (at most `MAX_CONTROLS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// What could not be decoded (the fields before it are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One searchResEntry of a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchEntry {
    /// Absolute offset of its first byte (server direction).
    pub start: u64,
    /// Absolute offset just after its last byte.
    pub end: u64,
    /// objectName.
    pub dn: String,
    /// Attribute names (at most `MAX_ATTRIBUTES`).
    pub attributes: Vec<String>,
    /// Attributes not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub attributes_omitted: u64,
}

/// A request and its final response, with what came between under the same
/// messageID (search entries and references, intermediate responses). Either side
/// may be missing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Exchange {
    /// The request; `None` when it was not seen.
    pub request: Option<LdapRequest>,
    /// The final response (`searchResDone` for a search); `None` when unanswered.
    pub response: Option<LdapResponse>,
    /// Search entries, the first `MAX_ENTRIES`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<SearchEntry>,
    /// All search entries received, listed or not.
    #[serde(skip_serializing_if = "is_zero")]
    pub entry_count: u64,
    /// Search continuation reference URIs, the first `MAX_REFERENCES`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// All reference URIs received.
    #[serde(skip_serializing_if = "is_zero")]
    pub reference_count: u64,
    /// Intermediate responses, the first `MAX_INTERMEDIATE`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intermediate: Vec<LdapResponse>,
    /// All intermediate responses received.
    #[serde(skip_serializing_if = "is_zero")]
    pub intermediate_count: u64,
}

/// A message that gets no response (unbind, abandon), an unsolicited notification
/// (messageID 0, from the server), or a message that went the unexpected way.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWay {
    /// Direction it went.
    #[serde(skip)]
    pub dir: Direction,
    /// Absolute offset of the first byte.
    pub start: u64,
    /// Absolute offset just after the last byte.
    pub end: u64,
    /// The message, when it is a request operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<LdapRequest>,
    /// The message, when it is a response operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<LdapResponse>,
}

fn verb(op: &str) -> &str {
    match op {
        "bindRequest" => "bind",
        "unbindRequest" => "unbind",
        "searchRequest" => "search",
        "modifyRequest" => "modify",
        "addRequest" => "add",
        "delRequest" => "delete",
        "modDNRequest" => "modDN",
        "compareRequest" => "compare",
        "abandonRequest" => "abandon",
        "extendedReq" => "extended",
        o => o,
    }
}

impl LdapRequest {
    /// The request side of a summary: `search base=dc=x (uid=y)`,
    /// `bind cn=admin,dc=x simple`, `bind sasl GSSAPI`, `add uid=y,dc=x`,
    /// `extended StartTLS`, `abandon id=3`, `unbind`.
    pub fn label(&self) -> String {
        let v = verb(self.operation);
        let dn = self.dn.as_deref().unwrap_or_default();
        let mut s = v.to_string();
        let mut add = |p: &str| {
            if !p.is_empty() {
                s.push(' ');
                s.push_str(p);
            }
        };
        match self.protocol_op {
            0 => {
                add(dn);
                add(self.auth.as_deref().unwrap_or_default());
                add(self.sasl_mechanism.as_deref().unwrap_or_default());
            }
            3 => {
                let base = self.base_object.as_deref().unwrap_or_default();
                add(&format!(
                    "base={}",
                    if base.is_empty() { "<ROOT>" } else { base }
                ));
                add(self.filter.as_deref().unwrap_or_default());
            }
            12 => {
                add(dn);
                if let Some(r) = &self.new_rdn {
                    add(&format!("newrdn={r}"));
                }
                if let Some(r) = &self.new_superior {
                    add(&format!("newSuperior={r}"));
                }
            }
            14 => {
                add(dn);
                add(self.assertion.as_deref().unwrap_or_default());
            }
            16 => {
                if let Some(id) = self.abandon_id {
                    add(&format!("id={id}"));
                }
            }
            23 => add(self
                .extended_name
                .or(self.request_name.as_deref())
                .unwrap_or_default()),
            _ => add(dn),
        }
        s
    }
}

impl LdapResponse {
    /// The result: `success`, `invalidCredentials`, `code 99` for unknown codes;
    /// the operation name for messages without a result.
    pub fn result(&self) -> String {
        match (self.result_code, self.result_name) {
            (_, Some(n)) => n.to_string(),
            (Some(c), None) => format!("code {c}"),
            (None, None) => self.operation.to_string(),
        }
    }

    /// A response on its own: `unsolicited noticeOfDisconnection → unavailable`,
    /// `bindResponse id=1 → success`.
    pub fn label(&self) -> String {
        if self.message_id == 0 && self.protocol_op == 24 {
            let name = self
                .extended_name
                .or(self.response_name.as_deref())
                .unwrap_or("notification");
            return format!("unsolicited {name} → {}", self.result());
        }
        format!(
            "{} id={} → {}",
            self.operation,
            self.message_id,
            self.result()
        )
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Exchange {
    /// One line: `search base=dc=x (uid=y) → success 1 entry`,
    /// `bind cn=admin,dc=x simple → success`, `extended whoami → success dn:cn=admin,dc=x`,
    /// `modify uid=y,dc=x → insufficientAccessRights`; `(no response)` when
    /// unanswered, `? id=N` when the request was not seen.
    pub fn summary(&self) -> String {
        let left = match (&self.request, &self.response) {
            (Some(q), _) => q.label(),
            (None, Some(r)) => format!("? id={}", r.message_id),
            (None, None) => "?".to_string(),
        };
        let mut right = match &self.response {
            Some(r) => r.result(),
            None => "(no response)".to_string(),
        };
        let is_search = self.request.as_ref().is_some_and(|q| q.protocol_op == 3)
            || self.response.as_ref().is_some_and(|r| r.protocol_op == 5);
        if is_search || self.entry_count > 0 {
            right.push(' ');
            right.push_str(&plural(self.entry_count, "entry", "entries"));
        }
        if self.reference_count > 0 {
            right.push(' ');
            right.push_str(&plural(self.reference_count, "reference", "references"));
        }
        if let Some(a) = self.response.as_ref().and_then(|r| r.authz_id.as_deref()) {
            right.push(' ');
            right.push_str(if a.is_empty() { "(anonymous)" } else { a });
        }
        format!("{left} → {right}")
    }
}

impl OneWay {
    /// One line: `unbind`, `abandon id=3`, `unsolicited noticeOfDisconnection →
    /// unavailable`; messages that went the unexpected way are marked
    /// `(from server)` / `(from client)`.
    pub fn label(&self) -> String {
        match (&self.request, &self.response) {
            (Some(q), _) if self.dir == Direction::ToClient => {
                format!("{} (from server)", q.label())
            }
            (Some(q), _) => q.label(),
            (None, Some(r)) if self.dir == Direction::ToServer => {
                format!("{} (from client)", r.label())
            }
            (None, Some(r)) => r.label(),
            (None, None) => "?".to_string(),
        }
    }
}
