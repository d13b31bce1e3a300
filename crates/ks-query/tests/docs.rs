//! docs/filter.md lists every variable, and every variable's example compiles
//! and runs.

use ks_query::{Filter, VARIABLES};

#[test]
fn every_variable_is_documented_and_its_example_compiles() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/filter.md"))
        .unwrap();
    for v in VARIABLES {
        let row = format!("| `{}` | {} |", v.name, v.cel_type);
        assert!(doc.contains(&row), "docs/filter.md lacks the row {row}");
        let f = Filter::new(v.example).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert!(
            v.example.contains(v.name.split('.').next().unwrap()),
            "{}: example {} does not use it",
            v.name,
            v.example
        );
        assert_eq!(f.source(), v.example);
    }
    // And the examples the issue asks for are in the page.
    for ex in [
        "http && status_code >= 400",
        r#"http && method == "POST" && path.startsWith("/api")"#,
        r#"dns && dns_questions.exists(q, q.endsWith("example.com"))"#,
        r#"kafka && kafka_api == "Produce""#,
        "elapsed_time > 100000",
        r#"request.headers["user-agent"].contains("curl")"#,
        "!(tcp || udp)",
    ] {
        assert!(doc.contains(ex), "docs/filter.md lacks the example {ex}");
    }
}
