//! Enumerators, struct layouts and bitfield blocks read from preprocessed libsel4 headers.

use std::collections::BTreeMap;

use crate::cexpr::{self, type_size};
use crate::cpp::{ParseError, Symbols};

fn perr(file: &str, line: usize, message: String) -> ParseError {
    ParseError {
        file: file.to_string(),
        line,
        message,
    }
}

/// Finds the body between the `{` at or after `from` and its matching `}`.
fn braced(text: &str, from: usize) -> Option<(usize, usize)> {
    let open = from + text[from..].find('{')?;
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open + 1, open + i));
                }
            }
            _ => {}
        }
    }
    None
}

fn is_word_at(text: &str, at: usize, word: &str) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + word.len()..].chars().next();
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    !ident(before) && !ident(after)
}

/// Adds every enumerator of every `enum { ... }` in `text` to `symbols`.
pub fn collect_enums(file: &str, text: &str, symbols: &mut Symbols) -> Result<(), ParseError> {
    let mut pos = 0;
    while let Some(off) = text[pos..].find("enum") {
        let at = pos + off;
        pos = at + 4;
        if !is_word_at(text, at, "enum") {
            continue;
        }
        // `enum name {` or `enum {`; skip `enum name var;` uses.
        let head_end = text[at..].find(['{', ';', ')']).map(|i| at + i);
        if head_end.is_none_or(|e| !text[e..].starts_with('{')) {
            continue;
        }
        let Some((start, end)) = braced(text, at) else {
            return Err(perr(file, 0, "unterminated enum".into()));
        };
        let mut next = 0i128;
        for item in text[start..end].split(',') {
            let item = item.trim();
            if item.is_empty() || item.starts_with("SEL4_FORCE_LONG_ENUM") {
                continue;
            }
            let (name, value) = match item.split_once('=') {
                Some((n, e)) => {
                    let v = cexpr::eval(e.trim(), symbols)
                        .map_err(|er| perr(file, 0, format!("enumerator {}: {er}", n.trim())))?;
                    (n.trim(), v)
                }
                None => (item, next),
            };
            symbols.enumerator(name, value);
            next = value + 1;
        }
        pos = end;
    }
    Ok(())
}

/// One field of a struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Type name (without `*`).
    pub ty: String,
    /// True for a pointer.
    pub pointer: bool,
    /// Array length expression, if an array.
    pub array: Option<String>,
}

/// All structs found, by struct tag and by typedef name.
#[derive(Clone, Debug, Default)]
pub struct Structs {
    defs: BTreeMap<String, Vec<Field>>,
    aliases: BTreeMap<String, String>,
}

/// Offsets and size of a laid-out struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Size in bytes (rounded to the alignment).
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// (field name, byte offset), in declaration order.
    pub fields: Vec<(String, u64)>,
}

impl Layout {
    /// Offset of `field`.
    pub fn offset(&self, field: &str) -> Option<u64> {
        self.fields
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, o)| *o)
    }
}

impl Structs {
    /// Adds the structs (and `typedef struct a b;` aliases) of a preprocessed text.
    pub fn collect(&mut self, file: &str, text: &str) -> Result<(), ParseError> {
        let mut pos = 0;
        while let Some(off) = text[pos..].find("struct") {
            let at = pos + off;
            pos = at + 6;
            if !is_word_at(text, at, "struct") {
                continue;
            }
            let typedef = text[..at].trim_end().ends_with("typedef");
            let rest = &text[at + 6..];
            let tag: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after_tag = rest.trim_start()[tag.len()..].trim_start();
            if after_tag.starts_with('{') {
                let Some((start, end)) = braced(text, at) else {
                    return Err(perr(file, 0, format!("unterminated struct {tag}")));
                };
                let fields = parse_fields(file, &text[start..end])?;
                if !tag.is_empty() {
                    self.defs.insert(tag.clone(), fields.clone());
                }
                if typedef {
                    let alias: String = text[end + 1..]
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !alias.is_empty() {
                        self.defs.insert(alias, fields);
                    }
                }
                pos = end;
            } else if typedef {
                // `typedef struct tag alias;`
                let alias: String = after_tag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !alias.is_empty() && !tag.is_empty() {
                    self.aliases.insert(alias, tag);
                }
            }
        }
        Ok(())
    }

    fn fields(&self, name: &str) -> Option<&Vec<Field>> {
        self.defs
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|t| self.defs.get(t)))
    }

    /// Lays out struct `name` with the aarch64 C rules; array lengths come from `symbols`.
    pub fn layout(&self, name: &str, symbols: &Symbols) -> Result<Layout, String> {
        self.layout_depth(name, symbols, 0)
    }

    fn layout_depth(&self, name: &str, symbols: &Symbols, depth: u32) -> Result<Layout, String> {
        let fields = self
            .fields(name)
            .ok_or_else(|| format!("struct {name} not found"))?;
        if depth > 8 {
            return Err(format!("struct {name} nests too deeply"));
        }
        let (mut off, mut align) = (0u64, 1u64);
        let mut out = Vec::new();
        for f in fields {
            let (size, a) = if f.pointer {
                (8, 8)
            } else if let Some(s) = type_size(&f.ty) {
                let s = s as u64;
                (s, s)
            } else {
                let l = self.layout_depth(&f.ty, symbols, depth + 1)?;
                (l.size, l.align)
            };
            let count = match &f.array {
                Some(e) => u64::try_from(cexpr::eval(e, symbols).map_err(|e| e.0)?)
                    .map_err(|_| format!("negative array length in {name}.{}", f.name))?,
                None => 1,
            };
            off = off.div_ceil(a) * a;
            out.push((f.name.clone(), off));
            off += size * count;
            align = align.max(a);
        }
        Ok(Layout {
            size: off.div_ceil(align) * align,
            align,
            fields: out,
        })
    }
}

fn parse_fields(file: &str, body: &str) -> Result<Vec<Field>, ParseError> {
    let mut out = Vec::new();
    for decl in body.split(';') {
        let decl = decl.trim();
        if decl.is_empty() {
            continue;
        }
        // `type a, *b, c[N]` -> type word(s) then declarators.
        let mut parts = decl.splitn(2, |c: char| c.is_whitespace());
        let mut ty = parts.next().unwrap_or_default().to_string();
        let mut rest = parts.next().unwrap_or_default().trim().to_string();
        if ty == "struct" || ty == "unsigned" || ty == "const" {
            let mut p = rest.splitn(2, |c: char| c.is_whitespace());
            ty = p.next().unwrap_or_default().to_string();
            rest = p.next().unwrap_or_default().trim().to_string();
        }
        for d in rest.split(',') {
            let d = d.trim();
            let pointer = d.starts_with('*') || ty.ends_with('*');
            let d = d.trim_start_matches('*').trim();
            let (name, array) = match d.split_once('[') {
                Some((n, a)) => (n.trim(), Some(a.trim_end_matches(']').trim().to_string())),
                None => (d, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(perr(file, 0, format!("cannot read field `{decl}`")));
            }
            out.push(Field {
                name: name.to_string(),
                ty: ty.trim_end_matches('*').to_string(),
                pointer,
                array,
            });
        }
    }
    Ok(out)
}

/// One bitfield block of a `.pbf` file: (field name, width), most significant first, with
/// padding as `None`.
pub type Block = Vec<(Option<String>, u32)>;

/// Reads the `block NAME { field f N / padding N }` definitions of a `.pbf` file.
pub fn parse_pbf(file: &str, text: &str) -> Result<BTreeMap<String, Block>, ParseError> {
    let mut blocks = BTreeMap::new();
    let mut current: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.split("--").next().unwrap_or_default().trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["block", name, "{"] | ["block", name, "{", ..] => {
                current = Some((name.trim_end_matches('{').to_string(), Vec::new()));
            }
            ["field", name, bits] | ["field_high", name, bits] => {
                let bits = bits
                    .parse()
                    .map_err(|_| perr(file, i + 1, format!("bad width {bits}")))?;
                if let Some((_, b)) = current.as_mut() {
                    b.push((Some((*name).to_string()), bits));
                }
            }
            ["padding", bits] => {
                let bits = bits
                    .parse()
                    .map_err(|_| perr(file, i + 1, format!("bad width {bits}")))?;
                if let Some((_, b)) = current.as_mut() {
                    b.push((None, bits));
                }
            }
            ["}"] => {
                if let Some((name, b)) = current.take() {
                    blocks.insert(name, b);
                }
            }
            _ => {}
        }
    }
    Ok(blocks)
}

/// (shift, width) of `field` in a single-word (64-bit) block.
pub fn field_position(block: &Block, field: &str) -> Option<(u32, u32)> {
    let total: u32 = block.iter().map(|(_, w)| *w).sum();
    let mut top = total;
    for (name, width) in block {
        top = top.checked_sub(*width)?;
        if name.as_deref() == Some(field) {
            return Some((top % 64, *width));
        }
    }
    None
}

#[cfg(test)]
mod tests;
