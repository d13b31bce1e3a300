//! A filter refused before any packet is read: where, and why.

use std::fmt;

/// Why an expression was refused, with the position of the fault.
///
/// `Display` prints the expression, a caret under the fault and a one-line
/// reason:
///
/// ```text
/// http && status_code >=
///                       ^ unexpected end of the expression
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    source: String,
    /// Character (not byte) offset of the fault in `source`.
    column: usize,
    message: String,
}

impl FilterError {
    /// An error at byte offset `byte` of `source`.
    pub(crate) fn at_byte(source: &str, byte: usize, message: impl Into<String>) -> Self {
        let byte = byte.min(source.len());
        // The parser's offsets are byte offsets; a caret counts characters.
        let column = source.char_indices().take_while(|(i, _)| *i < byte).count();
        FilterError {
            source: source.to_string(),
            column,
            message: message.into(),
        }
    }

    /// An error at character `column` of `source` (clamped to its end).
    pub(crate) fn at_column(source: &str, column: usize, message: impl Into<String>) -> Self {
        FilterError {
            source: source.to_string(),
            column: column.min(source.chars().count()),
            message: message.into(),
        }
    }

    /// The expression as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Character offset (from 0) of the fault in the expression; the length of
    /// the expression when it ended too early.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The one-line reason.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A multi-line expression is shown on one line so that the caret lines up.
        let shown: String = self
            .source
            .chars()
            .map(|c| {
                if c == '\n' || c == '\r' || c == '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        writeln!(f, "{shown}")?;
        write!(
            f,
            "{:>width$} {}",
            "^",
            self.message,
            width = self.column + 1
        )
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_fault_counting_characters() {
        let e = FilterError::at_byte("path == \"é\" &&", 15, "unexpected end");
        // "é" is two bytes and one character: the end is character 14.
        assert_eq!(e.column(), 14);
        assert_eq!(
            e.to_string(),
            "path == \"é\" &&\n              ^ unexpected end"
        );
    }
}
