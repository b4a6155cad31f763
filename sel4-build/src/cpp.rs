//! Just enough of the C preprocessor for the libsel4 headers still read as C (enums, struct
//! layouts, constants and the `sel4_client.h` stubs; the configuration, labels and syscall
//! numbers come from JSON and XML): comments, line continuations,
//! `#if/#ifdef/#ifndef/#elif/#else/#endif` against the configuration's `CONFIG_*` macros, and
//! object-like `#define`s (collected as symbols; function-like ones are recorded as defined
//! but never expanded). `#include` and `#pragma` are ignored: the caller feeds files in
//! include order. An active `#error` or any other directive (`#undef`, `#line`, ...) is a
//! located error, not silently skipped.

use std::collections::BTreeMap;
use std::fmt;

use crate::cexpr::{self, Env};

/// A header that could not be read, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// File (as given by the caller).
    pub file: String,
    /// 1-based line, 0 if not line-specific.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Macros and enumerators seen so far.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    defines: BTreeMap<String, String>,
    enums: BTreeMap<String, i128>,
}

impl Symbols {
    /// Records an object-like macro.
    pub fn define(&mut self, name: &str, body: &str) {
        self.defines
            .insert(name.to_string(), body.trim().to_string());
    }

    /// Records an enumerator.
    pub fn enumerator(&mut self, name: &str, value: i128) {
        self.enums.insert(name.to_string(), value);
    }

    /// True if `name` is a macro.
    pub fn is_macro(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }

    /// The integer value of an enumerator or macro (macros are evaluated on demand).
    pub fn value(&self, name: &str) -> Option<i128> {
        self.lookup(name, 0)
    }

    fn lookup(&self, name: &str, depth: u32) -> Option<i128> {
        if let Some(v) = self.enums.get(name) {
            return Some(*v);
        }
        let body = self.defines.get(name)?;
        if depth > 32 || body.is_empty() {
            return None;
        }
        cexpr::eval(
            body,
            &Nested {
                symbols: self,
                depth: depth + 1,
            },
        )
        .ok()
    }
}

struct Nested<'a> {
    symbols: &'a Symbols,
    depth: u32,
}

impl Env for Nested<'_> {
    fn value(&self, name: &str) -> Option<i128> {
        self.symbols.lookup(name, self.depth)
    }
    fn is_defined(&self, name: &str) -> bool {
        self.symbols.is_macro(name)
    }
}

impl Env for Symbols {
    fn value(&self, name: &str) -> Option<i128> {
        self.lookup(name, 0)
    }
    fn is_defined(&self, name: &str) -> bool {
        self.is_macro(name)
    }
}

/// `#if` semantics: unknown identifiers are 0.
struct IfEnv<'a>(&'a Symbols);

impl Env for IfEnv<'_> {
    fn value(&self, name: &str) -> Option<i128> {
        self.0.value(name)
    }
    fn is_defined(&self, name: &str) -> bool {
        self.0.is_macro(name)
    }
    fn unknown_is_zero(&self) -> bool {
        true
    }
}

/// Removes `/* */` and `//` comments (outside string literals) and joins `\` continuations.
/// Returns (original line number, text) pairs.
fn clean(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let mut line = String::new();
        let mut chars = raw.chars().peekable();
        let mut in_str = false;
        while let Some(c) = chars.next() {
            if in_block {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block = false;
                    line.push(' ');
                }
                continue;
            }
            if in_str {
                line.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        line.push(n);
                    }
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            match (c, chars.peek()) {
                ('/', Some('*')) => {
                    chars.next();
                    in_block = true;
                }
                ('/', Some('/')) => break,
                ('"', _) => {
                    in_str = true;
                    line.push(c);
                }
                _ => line.push(c),
            }
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        let trimmed = line.trim_end();
        if let Some(body) = trimmed.strip_suffix('\\') {
            joined.push_str(body);
            joined.push(' ');
            pending = Some((start, joined));
        } else {
            joined.push_str(trimmed);
            out.push((start, joined));
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

struct Cond {
    /// Lines in this branch are active.
    active: bool,
    /// Some branch of this #if chain was taken.
    taken: bool,
    /// The enclosing region is active.
    parent: bool,
}

/// Preprocesses `text`: returns the active non-directive lines (line number, text) and adds
/// active `#define`s to `symbols`.
pub fn preprocess(
    file: &str,
    text: &str,
    symbols: &mut Symbols,
) -> Result<Vec<(usize, String)>, ParseError> {
    let err = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let mut stack: Vec<Cond> = Vec::new();
    let mut out = Vec::new();
    for (n, line) in clean(text) {
        let active = stack.last().is_none_or(|c| c.active);
        let t = line.trim_start();
        let Some(directive) = t.strip_prefix('#') else {
            if active && !t.is_empty() {
                out.push((n, line));
            }
            continue;
        };
        let directive = directive.trim_start();
        let (word, rest) = directive
            .split_once(|c: char| c.is_whitespace())
            .map_or((directive, ""), |(w, r)| (w, r.trim()));
        let test = |expr: &str, symbols: &Symbols| -> Result<bool, ParseError> {
            cexpr::eval(expr, &IfEnv(symbols))
                .map(|v| v != 0)
                .map_err(|e| err(n, format!("#{word}: {e}")))
        };
        match word {
            "if" | "ifdef" | "ifndef" => {
                let cond = if !active {
                    false
                } else {
                    match word {
                        "if" => test(rest, symbols)?,
                        "ifdef" => symbols.is_macro(rest),
                        _ => !symbols.is_macro(rest),
                    }
                };
                stack.push(Cond {
                    active: active && cond,
                    taken: cond,
                    parent: active,
                });
            }
            "elif" => {
                let Some(top) = stack.last_mut() else {
                    return Err(err(n, "#elif without #if".into()));
                };
                let cond = top.parent && !top.taken && test(rest, symbols)?;
                top.active = cond;
                top.taken |= cond;
            }
            "else" => {
                let Some(top) = stack.last_mut() else {
                    return Err(err(n, "#else without #if".into()));
                };
                top.active = top.parent && !top.taken;
                top.taken = true;
            }
            "endif" => {
                let Some(_) = stack.pop() else {
                    return Err(err(n, "#endif without #if".into()));
                };
            }
            "define" if active => {
                let name_end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let (name, body) = rest.split_at(name_end);
                if name.is_empty() {
                    return Err(err(n, "#define without a name".into()));
                }
                // Function-like macros are not evaluated; record only that they exist.
                let body = if body.starts_with('(') { "" } else { body };
                symbols.define(name, body);
            }
            "include" | "pragma" | "" => {} // the caller feeds files in include order
            _ if !active => {}
            "error" => return Err(err(n, format!("#error {rest}"))),
            _ => return Err(err(n, format!("unsupported directive #{word}"))),
        }
    }
    if !stack.is_empty() {
        return Err(err(0, format!("{} unterminated #if", stack.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Symbols, preprocess};

    #[test]
    fn conditionals_select_lines_and_collect_defines() {
        let mut s = Symbols::default();
        s.define("CONFIG_A", "1");
        let text = "#ifdef CONFIG_A\n#define X 3 /* c */\nyes_a\n#else\nno_a\n#endif\n\
                    #if defined(CONFIG_B) || X == 3\nyes_bx // c\n#elif 1\nno_elif\n#endif\n\
                    #ifndef CONFIG_A\n#if 1\nnested_off\n#endif\n#endif\n\
                    #define LONG (1 + \\\n 2)\n#define F(x) (x)\n/* multi\nline */ tail\n";
        let lines: Vec<String> = preprocess("t.h", text, &mut s)
            .expect("ok")
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(lines, ["yes_a", "yes_bx", "  tail"]);
        assert_eq!(s.value("X"), Some(3));
        assert_eq!(s.value("LONG"), Some(3));
        assert!(s.is_macro("F") && s.value("F").is_none());
    }

    #[test]
    fn unbalanced_directives_are_located_errors() {
        let mut s = Symbols::default();
        let e = preprocess("t.h", "a\n#endif\n", &mut s).expect_err("unbalanced");
        assert_eq!((e.file.as_str(), e.line), ("t.h", 2));
        assert!(preprocess("t.h", "#if 1\n", &mut s).is_err());
        assert!(preprocess("t.h", "#if (\n#endif\n", &mut s).is_err());
        assert!(preprocess("t.h", "#else\n", &mut s).is_err());
        let e = preprocess("t.h", "#if 1\n#error no\n#endif\n", &mut s).expect_err("error");
        assert_eq!((e.line, e.message.as_str()), (2, "#error no"));
        assert!(preprocess("t.h", "#if 0\n#error no\n#undef X\n#endif\n", &mut s).is_ok());
        let e = preprocess("t.h", "#undef X\n", &mut s).expect_err("undef");
        assert!(e.message.contains("unsupported directive #undef"), "{e}");
    }
}
