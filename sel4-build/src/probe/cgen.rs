//! The C text of the probe program and of the target check.
//!
//! Each query becomes one function `probe_q<index>` of its own lines, so a compiler message can
//! be traced to the query that caused it (`Program::lines`), and gcc reports an undeclared name
//! once per query rather than once per program. Names are checked ([`check`]) before they are
//! pasted into C.

use std::fmt::Write as _;

use super::{Answer, CArg, Query};

/// A generated probe program.
pub struct Program {
    /// The C source.
    pub text: String,
    /// (first line, last line, query index) of each query's function, 1-based lines.
    pub lines: Vec<(usize, usize, usize)>,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A member designator: `name` or `name[digits]`.
fn is_member(s: &str) -> bool {
    match s.split_once('[') {
        Some((name, rest)) => rest.strip_suffix(']').is_some_and(|i| {
            !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) && is_ident(name)
        }),
        None => is_ident(s),
    }
}

/// The names a query pastes into C must be identifiers (members may carry an index).
pub fn check(q: &Query) -> Result<(), String> {
    let bad = |what: &str| Err(format!("{q:?}: `{what}` is not a C identifier"));
    for name in names(q) {
        if !is_ident(&name) {
            return bad(&name);
        }
    }
    if let Query::Call(_, args) = q {
        for arg in args {
            if let CArg::Struct { fields, .. } = arg {
                for (member, _) in fields {
                    if !is_member(member) {
                        return bad(member);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The identifiers a query uses (the query "is absent" when the compiler lacks one of them).
pub fn names(q: &Query) -> Vec<String> {
    match q {
        Query::Value(n) | Query::Size(n) => vec![n.clone()],
        Query::Offset(t, f) => vec![t.clone(), f.clone()],
        Query::Bits(block, f) => vec![format!("{block}_t"), format!("{block}_get_{f}")],
        Query::Call(stub, args) => {
            let mut v = vec![stub.clone()];
            for a in args {
                if let CArg::Struct { ty, fields, .. } = a {
                    v.push(ty.clone());
                    v.extend(
                        fields
                            .iter()
                            .map(|(m, _)| m.split('[').next().unwrap_or(m).to_string()),
                    );
                }
            }
            v
        }
    }
}

/// The C statements answering query `i`.
fn body(i: usize, q: &Query) -> String {
    match q {
        Query::Value(n) => format!("    PROBE_INT({i}, {n});\n"),
        Query::Size(t) => format!("    PROBE_INT({i}, sizeof({t}));\n"),
        Query::Offset(t, f) => format!("    PROBE_INT({i}, __builtin_offsetof({t}, {f}));\n"),
        Query::Bits(block, f) => format!("    PROBE_BITS({i}, {block}_t, {block}_get_{f});\n"),
        Query::Call(stub, args) => {
            let mut s = String::new();
            let mut call = vec!["PROBE_SERVICE".to_string()];
            for (k, a) in args.iter().enumerate() {
                match a {
                    CArg::Word(v) => call.push(format!("{v:#x}ull")),
                    CArg::Struct {
                        ty,
                        pointer,
                        fields,
                    } => {
                        let var = format!("a{k}_");
                        let _ = writeln!(s, "    {ty} {var};");
                        let _ = writeln!(s, "    __builtin_memset(&{var}, 0, sizeof {var});");
                        for (m, v) in fields {
                            let _ = writeln!(s, "    {var}.{m} = {v:#x}ull;");
                        }
                        call.push(if *pointer { format!("&{var}") } else { var });
                    }
                }
            }
            let _ = writeln!(s, "    probe_call_begin();");
            let _ = writeln!(s, "    (void){stub}({});", call.join(", "));
            let _ = writeln!(s, "    probe_call_end({i});");
            s
        }
    }
}

/// The probe program asking the queries `wanted` (indices into `queries`).
pub fn probe_program(queries: &[Query], wanted: &[usize]) -> Program {
    let mut text = String::from("#include \"probe_prelude.h\"\n\n");
    let mut lines = Vec::new();
    for &i in wanted {
        let first = text.lines().count() + 1;
        let _ = write!(
            text,
            "static void probe_q{i}(void)\n{{\n{}}}\n",
            body(i, &queries[i])
        );
        lines.push((first, text.lines().count(), i));
        text.push('\n');
    }
    text.push_str("int main(void)\n{\n");
    for &i in wanted {
        let _ = writeln!(text, "    probe_q{i}();");
    }
    text.push_str("    return 0;\n}\n");
    Program { text, lines }
}

/// The C expression whose integer the host found, for the target's `_Static_assert`.
fn expression(q: &Query) -> Option<String> {
    match q {
        Query::Value(n) => Some(format!("({n})")),
        Query::Size(t) => Some(format!("sizeof({t})")),
        Query::Offset(t, f) => Some(format!("__builtin_offsetof({t}, {f})")),
        Query::Bits(..) | Query::Call(..) => None,
    }
}

/// A translation unit asserting, for the target compiler, every integer answer the host found.
pub fn target_check(queries: &[Query], answers: &[Answer]) -> String {
    let mut text = String::from("#include <sel4/sel4.h>\n\n");
    for (q, a) in queries.iter().zip(answers) {
        if let (Some(e), Answer::Int(v)) = (expression(q), a) {
            let _ = writeln!(
                text,
                "_Static_assert({e} == {}, \"{} as on the host\");",
                literal(*v),
                e.replace('"', "")
            );
        }
    }
    text
}

fn literal(v: i128) -> String {
    if v < 0 {
        format!("({v}ll)")
    } else {
        format!("{v}ull")
    }
}
