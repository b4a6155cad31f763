//! A small C integer-expression evaluator for the `#if` lines, enum initialisers and
//! `#define` values of the libsel4 headers still read as C, and for the marshalling
//! expressions of `sel4_client.h`.
//!
//! Supported, and no more (each is used by those headers or stubs; see the tests):
//! decimal and hex literals with `u`/`l` suffixes, identifiers (resolved by the caller,
//! member paths such as `rights.words[0]` and `regs->pc` as one identifier),
//! `defined(X)`/`defined X`, `sizeof` of libsel4's integer types, `LIBSEL4_BIT(n)`, unary
//! `! -`, parentheses and the binary operators `* / % + - << >> < <= > >= == != & ^ | && ||`.
//! Values are `i128` (so 64-bit unsigned constants fit). Anything else (casts, `?:`, octal
//! literals, ...) is an error naming the expression, never a panic or a guess.

use std::fmt;

/// Why an expression could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError(pub String);

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How identifiers are resolved.
pub trait Env {
    /// Value of an identifier; `None` if unknown.
    fn value(&self, name: &str) -> Option<i128>;
    /// True if the identifier is a defined macro (for `defined`).
    fn is_defined(&self, name: &str) -> bool;
    /// Unknown identifiers evaluate to 0 (C `#if` semantics) instead of failing.
    fn unknown_is_zero(&self) -> bool {
        false
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i128),
    Ident(String),
    Op(&'static str),
}

const OPS: [&str; 22] = [
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "(", ")", "!", "-", "+", "*", "/", "%",
    "<", ">", "&", "^", "|",
];

fn tokenize(s: &str) -> Result<Vec<Tok>, ExprError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Num(parse_number(&s[start..i])?));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if c == b'.' || c == b'[' || c == b']' {
            // Member access and indexing are folded into one identifier: `a.words[0]`.
            let Some(Tok::Ident(prev)) = out.pop() else {
                return Err(ExprError(format!("unexpected '{}' in `{s}`", c as char)));
            };
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b"_.[]".contains(&b[i])) {
                i += 1;
            }
            out.push(Tok::Ident(format!("{prev}{}", &s[start..i])));
        } else if let Some(op) = OPS.iter().find(|op| s[i..].starts_with(**op)) {
            if *op == "->" {
                let Some(Tok::Ident(prev)) = out.pop() else {
                    return Err(ExprError(format!("unexpected '->' in `{s}`")));
                };
                i += 2;
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Ident(format!("{prev}->{}", &s[start..i])));
            } else {
                out.push(Tok::Op(op));
                i += op.len();
            }
        } else {
            return Err(ExprError(format!(
                "unexpected character '{}' in `{s}`",
                c as char
            )));
        }
    }
    Ok(out)
}

/// Parses a C decimal or hex integer literal (`0x1f`, `12ull`); octal (`017`) is refused.
pub fn parse_number(text: &str) -> Result<i128, ExprError> {
    let t = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i128::from_str_radix(h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        return Err(ExprError(format!(
            "octal literal `{text}` is not supported"
        )));
    } else {
        t.parse::<i128>()
    };
    parsed.map_err(|_| ExprError(format!("bad number `{text}`")))
}

/// Size in bytes of a C type name used by libsel4 (aarch64).
pub fn type_size(name: &str) -> Option<i128> {
    Some(match name {
        "seL4_Word" | "seL4_CPtr" | "seL4_Uint64" | "seL4_Int64" | "seL4_NodeId"
        | "seL4_Domain" | "seL4_SlotPos" | "long" | "size_t" => 8,
        "seL4_Uint32" | "seL4_Int32" | "int" | "unsigned" => 4,
        "seL4_Uint16" | "seL4_Int16" | "short" => 2,
        "seL4_Uint8" | "seL4_Int8" | "seL4_Bool" | "char" => 1,
        _ => return None,
    })
}

struct Parser<'a, E: Env> {
    toks: Vec<Tok>,
    pos: usize,
    env: &'a E,
    src: &'a str,
}

/// Evaluates `expr` with identifiers resolved by `env`.
pub fn eval(expr: &str, env: &impl Env) -> Result<i128, ExprError> {
    let mut p = Parser {
        toks: tokenize(expr)?,
        pos: 0,
        env,
        src: expr,
    };
    let v = p.binary(0)?;
    if p.pos != p.toks.len() {
        return Err(ExprError(format!("trailing tokens in `{expr}`")));
    }
    Ok(v)
}

impl<E: Env> Parser<'_, E> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), ExprError> {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ExprError(format!("expected `{op}` in `{}`", self.src)))
        }
    }

    fn binary(&mut self, min_prec: u8) -> Result<i128, ExprError> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_op() {
            let prec = match op {
                "*" | "/" | "%" => 10,
                "+" | "-" => 9,
                "<<" | ">>" => 8,
                "<" | "<=" | ">" | ">=" => 7,
                "==" | "!=" => 6,
                "&" => 5,
                "^" => 4,
                "|" => 3,
                "&&" => 2,
                "||" => 1,
                _ => break,
            };
            if prec < min_prec.max(1) {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = apply(op, lhs, rhs)
                .ok_or_else(|| ExprError(format!("bad `{op}` in `{}`", self.src)))?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<i128, ExprError> {
        match self.peek_op() {
            Some("!") => {
                self.pos += 1;
                Ok(i128::from(self.unary()? == 0))
            }
            Some("-") => {
                self.pos += 1;
                Ok(-self.unary()?)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<i128, ExprError> {
        let Some(tok) = self.toks.get(self.pos).cloned() else {
            return Err(ExprError(format!("unexpected end of `{}`", self.src)));
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(n),
            Tok::Op("(") => {
                let v = self.binary(0)?;
                self.expect(")")?;
                Ok(v)
            }
            Tok::Ident(name) => self.ident(&name),
            Tok::Op(op) => Err(ExprError(format!("unexpected `{op}` in `{}`", self.src))),
        }
    }

    fn ident(&mut self, name: &str) -> Result<i128, ExprError> {
        match name {
            "defined" => {
                let paren = self.peek_op() == Some("(");
                if paren {
                    self.pos += 1;
                }
                let Some(Tok::Ident(n)) = self.toks.get(self.pos).cloned() else {
                    return Err(ExprError(format!("bad defined() in `{}`", self.src)));
                };
                self.pos += 1;
                if paren {
                    self.expect(")")?;
                }
                Ok(i128::from(self.env.is_defined(&n)))
            }
            "sizeof" => {
                self.expect("(")?;
                let Some(Tok::Ident(t)) = self.toks.get(self.pos).cloned() else {
                    return Err(ExprError(format!("bad sizeof in `{}`", self.src)));
                };
                self.pos += 1;
                self.expect(")")?;
                type_size(&t).ok_or_else(|| ExprError(format!("unknown type `{t}` in sizeof")))
            }
            "LIBSEL4_BIT" => {
                self.expect("(")?;
                let n = self.binary(0)?;
                self.expect(")")?;
                u32::try_from(n)
                    .ok()
                    .and_then(|n| 1i128.checked_shl(n))
                    .ok_or_else(|| ExprError(format!("bad bit index {n}")))
            }
            _ => match self.env.value(name) {
                Some(v) => Ok(v),
                None if self.env.unknown_is_zero() => Ok(0),
                None => Err(ExprError(format!("unknown identifier `{name}`"))),
            },
        }
    }
}

fn apply(op: &str, a: i128, b: i128) -> Option<i128> {
    Some(match op {
        "*" => a.checked_mul(b)?,
        "/" => a.checked_div(b)?,
        "%" => a.checked_rem(b)?,
        "+" => a.checked_add(b)?,
        "-" => a.checked_sub(b)?,
        "<<" => a.checked_shl(u32::try_from(b).ok()?)?,
        ">>" => a.checked_shr(u32::try_from(b).ok()?)?,
        "<" => i128::from(a < b),
        "<=" => i128::from(a <= b),
        ">" => i128::from(a > b),
        ">=" => i128::from(a >= b),
        "==" => i128::from(a == b),
        "!=" => i128::from(a != b),
        "&" => a & b,
        "^" => a ^ b,
        "|" => a | b,
        "&&" => i128::from(a != 0 && b != 0),
        "||" => i128::from(a != 0 || b != 0),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Env, eval, parse_number};

    struct Map(BTreeMap<&'static str, i128>, bool);
    impl Env for Map {
        fn value(&self, n: &str) -> Option<i128> {
            self.0.get(n).copied()
        }
        fn is_defined(&self, n: &str) -> bool {
            self.0.contains_key(n)
        }
        fn unknown_is_zero(&self) -> bool {
            self.1
        }
    }

    fn env(zero: bool) -> Map {
        Map(
            BTreeMap::from([
                ("A", 5),
                ("CONFIG_X", 1),
                ("x", 0xff),
                ("r.words[0]", 3),
                ("regs->pc", 7),
            ]),
            zero,
        )
    }

    #[test]
    fn arithmetic_and_precedence() {
        let e = env(false);
        assert_eq!(eval("1 + 2 * 3", &e), Ok(7));
        assert_eq!(eval("(1 + 2) * 3", &e), Ok(9));
        assert_eq!(eval("A - 1", &e), Ok(4));
        assert_eq!(eval("(LIBSEL4_BIT(2)-1)", &e), Ok(3));
        assert_eq!(eval("(sizeof(seL4_Word) * 8)", &e), Ok(64));
        assert_eq!(eval("0x00000fffffffffff", &e), Ok(0xfff_ffff_ffff));
        assert_eq!(eval("(x & 0xffull) << 8 | (A & 0x1ull)", &e), Ok(0xff01));
        assert_eq!(eval("r.words[0]", &e), Ok(3));
        assert_eq!(eval("regs->pc + 1", &e), Ok(8));
        assert_eq!(eval("-A", &e), Ok(-5));
        assert_eq!(parse_number("0"), Ok(0));
    }

    #[test]
    fn conditionals() {
        let e = env(true);
        assert_eq!(eval("defined(CONFIG_X) && !defined CONFIG_Y", &e), Ok(1));
        assert_eq!(eval("CONFIG_Y == 32", &e), Ok(0));
        assert_eq!(
            eval("!defined(CONFIG_X) || (defined(A) && A >= 5)", &e),
            Ok(1)
        );
    }

    #[test]
    fn errors_not_panics() {
        let e = env(false);
        assert!(eval("UNKNOWN", &e).is_err());
        assert!(eval("1 +", &e).is_err());
        assert!(eval("1 / 0", &e).is_err());
        assert!(eval("1 << 999", &e).is_err());
        assert!(eval("\"str\"", &e).is_err());
        assert!(eval("(1", &e).is_err());
        assert!(eval("1 2", &e).is_err());
        // Outside the supported subset: refused, not guessed.
        for unsupported in [
            "(seL4_Word) 4",
            "1 ? 2 : 3",
            "~A",
            "+A",
            "017",
            "BIT(2)",
            ".x",
        ] {
            assert!(eval(unsupported, &e).is_err(), "{unsupported}");
        }
        assert!(parse_number("017").is_err());
    }
}
