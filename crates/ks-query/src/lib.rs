//! One filter language for ks entries: [CEL](https://cel.dev), the Common
//! Expression Language, with Kubeshark's KFL2 vocabulary (`http`,
//! `status_code`, `request.headers`, `dns_questions`...). Parsed by cel-rust
//! once, evaluated on the typed entry with no conversion of what the filter
//! does not name. The same filter serves `ks-dissect -Y` now and the agent,
//! hub and dashboard later. docs/filter.md lists every variable.
//!
//! ```
//! use ks_capture::FileSource;
//! use ks_engine::{Dissector, EngineConfig, Output};
//! use ks_query::Filter;
//!
//! let filter = Filter::new(r#"http && method == "GET" && status_code == 200"#).unwrap();
//! let source = FileSource::open("../../testdata/pcap/http1/zeek_http_methods.pcap").unwrap();
//! let ok = Dissector::new(source, EngineConfig::default())
//!     .filter_map(Result::ok)
//!     .filter(|o| matches!(o, Output::Entry(e) if filter.matches(e)))
//!     .count();
//! assert_eq!(ok, 3); // tshark: three GETs answered 200
//!
//! // Refused before any packet is read, with the place and the reason.
//! let err = Filter::new("http && status_code >= ").unwrap_err();
//! assert_eq!(err.column(), 23);
//! ```
#![forbid(unsafe_code)]

mod error;
mod headers;
mod logic;
mod vars;

pub use error::FilterError;
pub use vars::{Variable, VARIABLES};

use cel::{Context, Env};
use ks_engine::Entry;
use std::sync::Arc;

/// Longest expression accepted, in bytes: filters are typed by people, and the
/// cap bounds what compiling and evaluating one can cost.
pub const MAX_EXPRESSION_BYTES: usize = 8 * 1024;

/// A compiled filter. Cheap to share between threads (`Send + Sync`);
/// [`Filter::matches`] takes `&self`.
pub struct Filter {
    source: String,
    tree: logic::Node,
    env: Arc<Env>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("source", &self.source)
            .finish()
    }
}

impl Filter {
    /// Compiles `source`; refuses, with the position, a syntax error, an
    /// unknown variable or function, or an expression longer than
    /// [`MAX_EXPRESSION_BYTES`].
    pub fn new(source: &str) -> Result<Filter, FilterError> {
        if source.len() > MAX_EXPRESSION_BYTES {
            return Err(FilterError::at_byte(
                source,
                MAX_EXPRESSION_BYTES,
                format!("expression longer than {MAX_EXPRESSION_BYTES} bytes"),
            ));
        }
        if source.trim().is_empty() {
            return Err(FilterError::at_column(source, 0, "empty expression"));
        }
        let env = Env::stdlib();
        let program = env.compile(source).map_err(|e| parse_error(source, &e))?;
        let info = program.source_info();
        let mut expr = program.expression().clone();
        logic::check(&mut expr, &vars::is_variable, &mut Vec::new()).map_err(|u| {
            let (id, message, name) = match u {
                logic::Unknown::Variable(id, name) => (id, unknown_variable(&name), None),
                logic::Unknown::Function(id, name) => (id, unknown_function(&name), Some(name)),
                logic::Unknown::TooDeep(id) => (
                    id,
                    format!(
                        "comprehensions nested deeper than {}",
                        logic::MAX_COMPREHENSION_DEPTH
                    ),
                    None,
                ),
            };
            let mut at = info.offset_for(id).map_or(0, |(start, _)| start as usize);
            // A call is placed on its `(`: point at the function's name instead.
            if let Some(name) = name {
                let before = source.get(..at).unwrap_or_default().trim_end();
                if before.ends_with(name.as_str()) {
                    at = before.len() - name.len();
                }
            }
            FilterError::at_byte(source, at, message)
        })?;
        Ok(Filter {
            source: source.to_string(),
            tree: logic::Node::build(expr),
            env: Arc::new(env),
        })
    }

    /// The expression as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `entry` matches. Never fails: a comparison with a variable that
    /// does not apply to the entry (`status_code` on a DNS entry, a header the
    /// request lacks) is false.
    pub fn matches(&self, entry: &Entry) -> bool {
        let vars = vars::EntryVars {
            entry,
            whole: std::sync::OnceLock::new(),
        };
        let mut ctx = Context::with_env(Arc::clone(&self.env));
        ctx.set_variable_resolver(&vars);
        self.tree.eval(&ctx)
    }
}

/// The first of cel-rust's parse errors, placed on the character it names.
fn parse_error(source: &str, e: &cel::ParseErrors) -> FilterError {
    let Some(first) = e.errors.first() else {
        return FilterError::at_column(source, 0, "not a valid expression");
    };
    // `pos` is (line, column), both from 1, in characters.
    let (line, col) = first.pos;
    let col = col - 1;
    let mut column = 0usize;
    for (i, l) in source.split('\n').enumerate() {
        if i + 1 >= line.max(1) as usize {
            column += col.max(0) as usize;
            break;
        }
        column += l.chars().count() + 1;
    }
    FilterError::at_column(source, column, reason(&first.msg))
}

/// ANTLR's messages name grammar tokens (`mismatched input '<EOF>' expecting
/// {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, ...}`):
/// said in one short line instead.
fn reason(msg: &str) -> String {
    let msg = msg.trim();
    let msg = msg.strip_prefix("Syntax error: ").unwrap_or(msg);
    if msg.contains("<EOF>") {
        return "unexpected end of the expression".into();
    }
    if let Some(rest) = msg
        .strip_prefix("mismatched input ")
        .or_else(|| msg.strip_prefix("extraneous input "))
    {
        let token = rest.split(" expecting").next().unwrap_or(rest);
        return format!("unexpected {token}");
    }
    if let Some(rest) = msg.strip_prefix("token recognition error at: ") {
        if rest.starts_with("'\"") || rest.starts_with("''") {
            return "unterminated string".into();
        }
        return format!("unexpected character {rest}");
    }
    if let Some(rest) = msg.strip_prefix("no viable alternative at input ") {
        return format!("cannot read {rest}");
    }
    msg.lines().next().unwrap_or(msg).to_string()
}

fn unknown_variable(name: &str) -> String {
    let near = closest(name, vars::VARIABLES.iter().map(|v| v.name));
    match near {
        Some(n) => format!("unknown variable `{name}` (did you mean `{n}`?)"),
        None => format!("unknown variable `{name}` (docs/filter.md lists them)"),
    }
}

fn unknown_function(name: &str) -> String {
    let known = [
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "size",
        "now",
        "duration",
        "timestamp",
        "int",
        "string",
    ];
    match closest(name, known.into_iter()) {
        Some(n) => format!("unknown function `{name}` (did you mean `{n}`?)"),
        None => format!("unknown function `{name}`"),
    }
}

/// The candidate nearest to `name` by edit distance (case-insensitive), if
/// near enough to be a typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
