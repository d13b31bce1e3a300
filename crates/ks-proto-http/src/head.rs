//! Line-level helpers: cheap first-line classification, head boundary search and
//! the borrowed one-shot head parsers built on `httparse`.

use ks_proto::Verdict;
use memchr::memchr_iter;
use thiserror::Error;

/// How far a probe (and a resynchronisation candidate check) looks.
pub(crate) const PROBE_WINDOW: usize = 512;

/// Default cap on the head size used by the one-shot helpers.
const HELPER_MAX_HEAD: usize = 64 * 1024;
/// Default cap on the number of headers used by the one-shot helpers.
const HELPER_MAX_HEADERS: usize = 256;
/// Hard ceiling on the header array we allocate, whatever the configuration says.
const MAX_HEADER_SLOTS: usize = 65_536;

const KNOWN_METHODS: &[&[u8]] = &[
    b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

/// Why a head could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadError {
    /// The request or status line, or a header line, is malformed.
    #[error("malformed head: {0}")]
    Syntax(&'static str),
    /// More header lines than the cap.
    #[error("too many headers (cap {0})")]
    TooManyHeaders(usize),
    /// No end of head within the cap.
    #[error("head larger than {0} bytes")]
    TooLarge(usize),
}

/// A borrowed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// Method token as sent (`GET`).
    pub method: &'a str,
    /// Request-target as sent.
    pub target: &'a str,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 (1 for a malformed version).
    pub version: u8,
    /// The version as sent: `HTTP/1.1`, or whatever a malformed request line
    /// carries there (`HTTP/1.`, or empty when it has none).
    pub version_text: &'a str,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<(&'a str, &'a [u8])>,
}

/// A borrowed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: &'a str,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<(&'a str, &'a [u8])>,
}

fn is_method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'_' || b == b'-'
}

fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// Compares `data` with `lit` over their common length: `Some(true)` full match,
/// `Some(false)` data is a strict prefix, `None` mismatch.
fn prefix_match(data: &[u8], lit: &[u8]) -> Option<bool> {
    let n = data.len().min(lit.len());
    if data[..n] == lit[..n] {
        Some(n == lit.len())
    } else {
        None
    }
}

/// Does `data` start with a plausible request line? Looks at most at
/// [`PROBE_WINDOW`] bytes.
pub(crate) fn classify_request_line(data: &[u8]) -> Verdict {
    let lim = data.len().min(PROBE_WINDOW);
    let d = &data[..lim];
    let tok = d.iter().take_while(|&&b| is_method_byte(b)).count();
    if tok == lim {
        // Data ended inside the method token.
        return if tok <= 20 && lim < PROBE_WINDOW {
            Verdict::Unsure
        } else {
            Verdict::NotMine
        };
    }
    if !(3..=20).contains(&tok) || d[tok] != b' ' {
        return Verdict::NotMine;
    }
    let known = KNOWN_METHODS.contains(&&d[..tok]);
    let t0 = tok + 1;
    let tlen = d[t0..].iter().take_while(|&&b| is_target_byte(b)).count();
    let t1 = t0 + tlen;
    if t1 == lim {
        if lim < PROBE_WINDOW {
            return Verdict::Unsure;
        }
        // A very long target: a well-known method is convincing on its own.
        return if known && tlen > 0 {
            Verdict::Certain
        } else {
            Verdict::Unsure
        };
    }
    if tlen == 0 || d[t1] != b' ' {
        return Verdict::NotMine;
    }
    let rest = &d[t1 + 1..];
    match prefix_match(rest, b"HTTP/1.") {
        None => Verdict::NotMine,
        Some(false) => Verdict::Unsure,
        Some(true) => match rest.get(7) {
            None => Verdict::Unsure,
            Some(b'0' | b'1') => Verdict::Certain,
            Some(_) => Verdict::NotMine,
        },
    }
}

/// Does `data` start with a status line (`HTTP/1.`)?
pub(crate) fn classify_status_line(data: &[u8]) -> Verdict {
    match prefix_match(data, b"HTTP/1.") {
        None => Verdict::NotMine,
        Some(false) => Verdict::Unsure,
        Some(true) => Verdict::Certain,
    }
}

/// Finds the end of a head (one past the blank line), accepting CRLF or bare LF.
/// Scans from `from`; only the first `limit` bytes are considered so that a huge
/// head is rejected without scanning all of it.
pub(crate) fn find_head_end(buf: &[u8], from: usize, limit: usize) -> Option<usize> {
    let lim = buf.len().min(limit.saturating_add(3));
    let buf = &buf[..lim];
    let from = from.min(buf.len());
    for i in memchr_iter(b'\n', &buf[from..]) {
        let i = i + from;
        match buf.get(i + 1) {
            Some(b'\n') => return Some(i + 2),
            Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            _ => {}
        }
    }
    None
}

/// Where an interrupted scan may resume without missing a boundary.
pub(crate) fn resume_point(len: usize) -> usize {
    len.saturating_sub(2)
}

fn parser_config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    // A passive observer has to accept what real peers accept, not only what the
    // RFC allows.
    c.allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

fn header_slots(max_headers: usize) -> Vec<httparse::Header<'static>> {
    vec![httparse::EMPTY_HEADER; max_headers.clamp(1, MAX_HEADER_SLOTS)]
}

fn map_err(e: httparse::Error, max_headers: usize) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders(max_headers),
        other => HeadError::Syntax(other.description_str()),
    }
}

trait DescriptionStr {
    fn description_str(&self) -> &'static str;
}

impl DescriptionStr for httparse::Error {
    fn description_str(&self) -> &'static str {
        match self {
            httparse::Error::HeaderName => "invalid header name",
            httparse::Error::HeaderValue => "invalid header value",
            httparse::Error::NewLine => "invalid new line",
            httparse::Error::Status => "invalid response status",
            httparse::Error::Token => "invalid token",
            httparse::Error::TooManyHeaders => "too many headers",
            httparse::Error::Version => "invalid HTTP version",
        }
    }
}

/// Parses a complete request head (`head` ends with the blank line).
pub(crate) fn parse_request_exact(
    head: &[u8],
    max_headers: usize,
) -> Result<RequestHead<'_>, HeadError> {
    let mut slots = header_slots(max_headers);
    let mut req = httparse::Request::new(&mut slots);
    match parser_config().parse_request(&mut req, head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Syntax("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders(max_headers)),
        Err(e) => {
            return parse_request_lenient(head, max_headers).map_err(|_| map_err(e, max_headers))
        }
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Syntax("incomplete request line"));
    };
    let headers = req.headers.iter().map(|h| (h.name, h.value)).collect();
    Ok(RequestHead {
        method,
        target,
        version,
        version_text: if version == 0 { "HTTP/1.0" } else { "HTTP/1.1" },
        headers,
    })
}

/// Is `data` a request line httparse refuses but servers and tshark still take:
/// a method token, then up to two space-separated words (`OPTIONS HTTP/1.1`,
/// `GET / HTTP/1.`, `GET /`) on one printable line?
pub(crate) fn is_lenient_request_line(data: &[u8]) -> bool {
    let d = &data[..data.len().min(PROBE_WINDOW)];
    let Some(nl) = memchr::memchr(b'\n', d) else {
        return false;
    };
    let line = d[..nl].strip_suffix(b"\r").unwrap_or(&d[..nl]);
    let tok = line.iter().take_while(|&&b| is_method_byte(b)).count();
    (3..=20).contains(&tok)
        && (tok == line.len() || line[tok] == b' ')
        && line.iter().all(|&b| (0x20..0x7f).contains(&b))
        && line.iter().filter(|&&b| b == b' ').count() <= 2
}

/// Could `data`, which holds no complete first line yet, still become a
/// [`is_lenient_request_line`]? Then the parser waits for the line's end instead
/// of calling the bytes garbage, so the result never depends on where the
/// stream happened to be cut.
pub(crate) fn may_become_lenient_request_line(data: &[u8]) -> bool {
    if data.len() >= PROBE_WINDOW || memchr::memchr(b'\n', data).is_some() {
        return false;
    }
    let line = data.strip_suffix(b"\r").unwrap_or(data);
    let tok = line.iter().take_while(|&&b| is_method_byte(b)).count();
    if tok == line.len() {
        return tok <= 20;
    }
    (3..=20).contains(&tok)
        && line[tok] == b' '
        && line.iter().all(|&b| (0x20..0x7f).contains(&b))
        && line.iter().filter(|&&b| b == b' ').count() <= 2
}

/// The fallback for [`is_lenient_request_line`] heads: the line split on spaces
/// into method, target and version (missing parts empty, as tshark shows them),
/// headers parsed as usual.
fn parse_request_lenient(head: &[u8], max_headers: usize) -> Result<RequestHead<'_>, HeadError> {
    if !is_lenient_request_line(head) {
        return Err(HeadError::Syntax("bad request line"));
    }
    let nl = memchr::memchr(b'\n', head).ok_or(HeadError::Syntax("bad request line"))?;
    let raw = &head[..nl];
    let line = std::str::from_utf8(raw.strip_suffix(b"\r").unwrap_or(raw))
        .map_err(|_| HeadError::Syntax("bad request line"))?;
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let version_text = parts.next().unwrap_or("");
    let mut slots = header_slots(max_headers);
    let headers = match httparse::parse_headers(&head[nl + 1..], &mut slots) {
        Ok(httparse::Status::Complete((_, hs))) => hs.iter().map(|h| (h.name, h.value)).collect(),
        Ok(httparse::Status::Partial) => return Err(HeadError::Syntax("incomplete head")),
        Err(e) => return Err(map_err(e, max_headers)),
    };
    Ok(RequestHead {
        method,
        target,
        version: u8::from(version_text != "HTTP/1.0"),
        version_text,
        headers,
    })
}

/// Parses a complete response head (`head` ends with the blank line).
pub(crate) fn parse_response_exact(
    head: &[u8],
    max_headers: usize,
) -> Result<ResponseHead<'_>, HeadError> {
    let mut slots = header_slots(max_headers);
    let mut resp = httparse::Response::new(&mut slots);
    match parser_config().parse_response(&mut resp, head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Syntax("incomplete head")),
        Err(e) => return Err(map_err(e, max_headers)),
    }
    let (Some(version), Some(status)) = (resp.version, resp.code) else {
        return Err(HeadError::Syntax("incomplete status line"));
    };
    let headers = resp.headers.iter().map(|h| (h.name, h.value)).collect();
    Ok(ResponseHead {
        version,
        status,
        reason: resp.reason.unwrap_or(""),
        headers,
    })
}

/// Parses a header block (trailers) that ends with a blank line.
pub(crate) fn parse_field_block(
    block: &[u8],
    max_headers: usize,
) -> Result<Vec<(String, String)>, HeadError> {
    let mut slots = header_slots(max_headers);
    match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, hs))) => Ok(hs
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect()),
        Ok(httparse::Status::Partial) => Err(HeadError::Syntax("incomplete trailers")),
        Err(e) => Err(map_err(e, max_headers)),
    }
}

fn locate(buf: &[u8]) -> Result<Option<usize>, HeadError> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if skip > 0 {
        // Leading empty lines are not part of a head; callers that want to skip
        // them must do so (the head length would otherwise be misleading).
        return Err(HeadError::Syntax("empty line before head"));
    }
    match find_head_end(buf, 0, HELPER_MAX_HEAD) {
        Some(end) if end <= HELPER_MAX_HEAD => Ok(Some(end)),
        Some(_) => Err(HeadError::TooLarge(HELPER_MAX_HEAD)),
        None if buf.len() > HELPER_MAX_HEAD => Err(HeadError::TooLarge(HELPER_MAX_HEAD)),
        None => Ok(None),
    }
}

/// Parses a request head at the start of `buf`.
///
/// Returns `Ok(None)` when the head is not complete yet, otherwise the head and its
/// length in bytes (including the blank line). CRLF and bare LF line ends are
/// accepted; heads over 64 KiB or with more than 256 headers are errors.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead<'_>, usize)>, HeadError> {
    if classify_request_line(buf) == Verdict::NotMine {
        return Err(HeadError::Syntax("not a request line"));
    }
    let Some(end) = locate(buf)? else {
        return Ok(None);
    };
    parse_request_exact(&buf[..end], HELPER_MAX_HEADERS).map(|h| Some((h, end)))
}

/// Parses a response head at the start of `buf`. Same conventions as
/// [`parse_request_head`].
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead<'_>, usize)>, HeadError> {
    if classify_status_line(buf) == Verdict::NotMine {
        return Err(HeadError::Syntax("not a status line"));
    }
    let Some(end) = locate(buf)? else {
        return Ok(None);
    };
    parse_response_exact(&buf[..end], HELPER_MAX_HEADERS).map(|h| Some((h, end)))
}
