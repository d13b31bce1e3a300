//! Broken expressions are refused when compiled, with the place of the fault.

use ks_query::Filter;

/// (expression, column of the caret, words the reason must contain)
const BROKEN: &[(&str, usize, &str)] = &[
    ("http && status_code >= ", 23, "end of the expression"),
    ("http &&", 7, "end of the expression"),
    ("(http || dns", 12, "end of the expression"),
    ("http && )", 8, "unexpected ')'"),
    (
        "stauts_code == 200",
        0,
        "unknown variable `stauts_code` (did you mean `status_code`?)",
    ),
    ("http && methd == \"GET\"", 8, "did you mean `method`"),
    (
        "path.startswith(\"/api\")",
        5,
        "unknown function `startswith` (did you mean `startsWith`?)",
    ),
    ("method == \"GET", 10, "unterminated string"),
    ("status_code >= 400 @ 1", 19, "unexpected character"),
    ("frobnicate", 0, "unknown variable `frobnicate`"),
    ("", 0, "empty expression"),
    ("   ", 0, "empty expression"),
];

#[test]
fn broken_expressions_are_refused_with_their_position() {
    for (expr, column, words) in BROKEN {
        let err = Filter::new(expr).expect_err(expr);
        assert_eq!(err.column(), *column, "{expr:?}: {err}");
        assert!(
            err.message().contains(words),
            "{expr:?}: reason {:?} lacks {words:?}",
            err.message()
        );
        // The rendering: the expression, then the caret under the fault.
        let text = err.to_string();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(expr.replace('\n', " ").as_str()));
        let caret = lines.next().unwrap();
        assert_eq!(caret.find('^'), Some(*column), "{text}");
        assert!(lines.next().is_none());
    }
}

#[test]
fn comprehension_variables_are_known_inside_only() {
    assert!(Filter::new("dns_questions.exists(q, q.endsWith(\"x\"))").is_ok());
    let err = Filter::new("dns_questions.exists(q, true) && q == \"a\"").unwrap_err();
    assert!(err.message().contains("unknown variable `q`"), "{err}");
    assert_eq!(err.column(), 33);
}

#[test]
fn overlong_and_deep_expressions_are_refused_not_crashed() {
    let long = "http || ".repeat(2000) + "http";
    let err = Filter::new(&long).unwrap_err();
    assert!(err.message().contains("longer than"), "{err}");
    let deep = "(".repeat(500) + "http" + &")".repeat(500);
    assert!(Filter::new(&deep).is_err());
    // Comprehensions nest three deep at most: each level multiplies the work.
    let three = "[1, 2].all(a, [1, 2].all(b, [1, 2].all(c, a + b + c > 0)))";
    assert!(Filter::new(three).is_ok());
    let four = "[1].all(a, [1].all(b, [1].all(c, [1].all(d, true))))";
    let err = Filter::new(four).unwrap_err();
    assert!(err.message().contains("nested deeper than 3"), "{err}");
    // A long flat chain within the cap compiles and runs.
    let chain = "dns || ".repeat(900) + "http";
    assert!(Filter::new(&chain).is_ok());
}
