//! The boolean skeleton of a filter: `&&`, `||` and `!` over leaves that cel-rust
//! evaluates. A leaf whose evaluation fails (a variable that does not apply to
//! the entry, a header it does not have) is false, so that `status_code >= 400`
//! is false on a DNS entry and `!(status_code >= 400)` is true, as in
//! Wireshark's display filters. CEL's own rule would make the whole expression
//! an error instead.

use cel::common::ast::{Expr, IdedExpr};
use cel::common::types::CelBool;
use cel::{Context, Value};

/// `&&` / `||` chains flattened, so that a long chain is a wide node rather
/// than a deep one.
#[derive(Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(IdedExpr),
}

impl Node {
    pub(crate) fn build(expr: IdedExpr) -> Node {
        match expr.expr {
            Expr::Call(call) if call.target.is_none() && call.args.len() == 2 => {
                let kind = match call.func_name.as_str() {
                    "_&&_" => Some(true),
                    "_||_" => Some(false),
                    _ => None,
                };
                let Some(is_and) = kind else {
                    return Node::Leaf(IdedExpr {
                        id: expr.id,
                        expr: Expr::Call(call),
                    });
                };
                let mut parts = Vec::with_capacity(2);
                for arg in call.args {
                    match (Node::build(arg), is_and) {
                        (Node::And(v), true) | (Node::Or(v), false) => parts.extend(v),
                        (n, _) => parts.push(n),
                    }
                }
                if is_and {
                    Node::And(parts)
                } else {
                    Node::Or(parts)
                }
            }
            Expr::Call(mut call)
                if call.target.is_none() && call.args.len() == 1 && call.func_name == "!_" =>
            {
                let arg = call.args.pop().unwrap_or_default();
                Node::Not(Box::new(Node::build(arg)))
            }
            e => Node::Leaf(IdedExpr {
                id: expr.id,
                expr: e,
            }),
        }
    }

    pub(crate) fn eval(&self, ctx: &Context) -> bool {
        match self {
            Node::And(v) => v.iter().all(|n| n.eval(ctx)),
            Node::Or(v) => v.iter().any(|n| n.eval(ctx)),
            Node::Not(n) => !n.eval(ctx),
            Node::Leaf(e) => match Value::resolve_val(e, ctx) {
                Ok(v) => v.downcast_ref::<CelBool>().is_some_and(|b| *b.inner()),
                Err(_) => false,
            },
        }
    }
}

/// Calls the filter may make besides operators: the CEL standard library as
/// cel-rust has it, and ks's `now()`. Macros (`has`, `all`, `exists`,
/// `exists_one`, `map`, `filter`) are expanded by the parser before this check.
const FUNCTIONS: &[&str] = &[
    "bool",
    "bytes",
    "contains",
    "double",
    "duration",
    "dyn",
    "endsWith",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getMonth",
    "getSeconds",
    "hasValue",
    "int",
    "matches",
    "now",
    "optional.none",
    "optional.of",
    "optional.ofNonZeroValue",
    "or",
    "orValue",
    "size",
    "startsWith",
    "string",
    "timestamp",
    "type",
    "uint",
    "value",
];

/// Type names an identifier may be (`type(x) == string`).
const TYPE_NAMES: &[&str] = &[
    "bool",
    "bytes",
    "double",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

/// The variable that `now()` is rewritten to (not a name a user can type).
pub(crate) const NOW_VAR: &str = "@now";

/// Comprehensions (`exists`, `all`, `map`...) nested deeper than this are
/// refused: each level multiplies the work by a list's length, and a filter
/// runs on every entry.
pub(crate) const MAX_COMPREHENSION_DEPTH: usize = 3;

/// What the check refuses, with the node at fault.
pub(crate) enum Unknown {
    Variable(u64, String),
    Function(u64, String),
    TooDeep(u64),
}

/// Checks every identifier and call against what ks knows (`is_var`), and
/// rewrites `now()` to a variable read when the filter runs.
pub(crate) fn check(
    expr: &mut IdedExpr,
    is_var: &dyn Fn(&str) -> bool,
    scope: &mut Vec<String>,
) -> Result<(), Unknown> {
    let id = expr.id;
    match &mut expr.expr {
        Expr::Ident(name) => {
            if !(is_var(name)
                || scope.iter().any(|s| s == name)
                || TYPE_NAMES.contains(&name.as_str()))
            {
                return Err(Unknown::Variable(id, name.clone()));
            }
        }
        Expr::Call(call) => {
            if call.func_name == "now" && call.target.is_none() && call.args.is_empty() {
                expr.expr = Expr::Ident(NOW_VAR.to_string());
                return Ok(());
            }
            let operator = call.func_name.starts_with('_')
                || call.func_name.starts_with('!')
                || call.func_name.starts_with('@');
            if !operator && !FUNCTIONS.contains(&call.func_name.as_str()) {
                return Err(Unknown::Function(id, call.func_name.clone()));
            }
            if let Some(t) = call.target.as_deref_mut() {
                check(t, is_var, scope)?;
            }
            for a in &mut call.args {
                check(a, is_var, scope)?;
            }
        }
        Expr::Comprehension(c) => {
            check(&mut c.iter_range, is_var, scope)?;
            check(&mut c.accu_init, is_var, scope)?;
            // Each level pushes its accumulator (and one or two loop variables).
            let depth = scope.iter().filter(|s| *s == &c.accu_var).count();
            if depth >= MAX_COMPREHENSION_DEPTH {
                return Err(Unknown::TooDeep(id));
            }
            let before = scope.len();
            scope.push(c.iter_var.clone());
            scope.extend(c.iter_var2.clone());
            scope.push(c.accu_var.clone());
            let r = check(&mut c.loop_cond, is_var, scope)
                .and_then(|_| check(&mut c.loop_step, is_var, scope))
                .and_then(|_| check(&mut c.result, is_var, scope));
            scope.truncate(before);
            r?;
        }
        Expr::List(l) => {
            for e in &mut l.elements {
                check(e, is_var, scope)?;
            }
        }
        Expr::Map(m) => {
            for e in &mut m.entries {
                if let cel::common::ast::EntryExpr::MapEntry(me) = &mut e.expr {
                    check(&mut me.key, is_var, scope)?;
                    check(&mut me.value, is_var, scope)?;
                }
            }
        }
        Expr::Select(s) => check(&mut s.operand, is_var, scope)?,
        Expr::Struct(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
    Ok(())
}
