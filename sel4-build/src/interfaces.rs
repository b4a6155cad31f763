//! Invocation labels and syscall numbers computed from libsel4's XML interface files
//! (`interfaces/object-api*.xml`, `api/syscall.xml`), read with `roxmltree`, for any
//! configuration.
//!
//! Numbering, as seL4's generators do it (facts from its `tools/`, not its code):
//!
//! - Labels: `InvalidInvocation` is 0; then the `<method id=...>` of `object-api.xml`, then of
//!   `object-api-sel4-arch.xml`, then of `object-api-arch.xml`, in document order, numbered
//!   consecutively across the three files. A method whose `<condition>` is false for the
//!   configuration is absent and takes no number. Within a file, a second method with the
//!   same id *and* the same condition is dropped if it says `duplicate="true"` (an error
//!   otherwise); the same id under another condition is a separate entry (e.g. the MCS and
//!   non-MCS `TCBConfigure`). The first label of the sel4-arch and arch files may not be
//!   conditional.
//! - Syscalls: the `<api-mcs>` list if `CONFIG_KERNEL_MCS` is defined, else `<api-master>`,
//!   followed by every `<debug>` group; numbered -1, -2, ... over all of them, whether or not
//!   a group's condition holds; only those whose condition holds exist (`seL4_Sys<name>`).
//!
//! A `<condition>` holds one expression of `<config var="CONFIG_X"/>` (true iff the option is
//! defined, see [`KernelConfig::is_defined`]), `<not>`, `<and>` and `<or>`.
//!
//! Invariant: every error names the file and line of the offending element.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use roxmltree::{Document, Node};

use crate::kconfig::KernelConfig;

/// The interface files, in numbering order, relative to `libsel4/include`.
pub const INTERFACE_FILES: [&str; 3] = [
    "interfaces/object-api.xml",
    "interfaces/object-api-sel4-arch.xml",
    "interfaces/object-api-arch.xml",
];

/// The syscall list, relative to `libsel4/include`.
pub const SYSCALL_FILE: &str = "api/syscall.xml";

/// A malformed interface file, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    /// The file, as given by the caller.
    pub file: String,
    /// 1-based line (0 if the file as a whole is at fault).
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for XmlError {}

/// A `<condition>` expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `<config var="CONFIG_X"/>`: the option is defined.
    Config(String),
    /// `<not>`.
    Not(Box<Condition>),
    /// `<and>`.
    And(Vec<Condition>),
    /// `<or>`.
    Or(Vec<Condition>),
}

impl Condition {
    /// Evaluates the condition against `config`.
    pub fn holds(&self, config: &KernelConfig) -> bool {
        match self {
            Condition::Config(var) => config.is_defined(var),
            Condition::Not(c) => !c.holds(config),
            Condition::And(cs) => cs.iter().all(|c| c.holds(config)),
            Condition::Or(cs) => cs.iter().any(|c| c.holds(config)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, cs: &[Condition], op: &str| {
            write!(f, "(")?;
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{c}")?;
            }
            write!(f, ")")
        };
        match self {
            Condition::Config(v) => write!(f, "defined({v})"),
            Condition::Not(c) => write!(f, "!{c}"),
            Condition::And(cs) => join(f, cs, "&&"),
            Condition::Or(cs) => join(f, cs, "||"),
        }
    }
}

struct Ctx<'a> {
    file: &'a str,
    doc: &'a Document<'a>,
}

impl Ctx<'_> {
    fn err(&self, node: Node<'_, '_>, message: String) -> XmlError {
        XmlError {
            file: self.file.to_string(),
            line: self.doc.text_pos_at(node.range().start).row,
            message,
        }
    }

    /// The condition among `parent`'s child elements: `None` if there is none or it is empty.
    fn condition(&self, parent: Node<'_, '_>) -> Result<Option<Condition>, XmlError> {
        let mut conds = parent.children().filter(|n| n.has_tag_name("condition"));
        let Some(cond) = conds.next() else {
            return Ok(None);
        };
        if conds.next().is_some() {
            return Err(self.err(parent, "more than one <condition>".into()));
        }
        let mut exprs = cond.children().filter(Node::is_element);
        let Some(expr) = exprs.next() else {
            return Ok(None);
        };
        if exprs.next().is_some() {
            return Err(self.err(cond, "<condition> must hold one expression".into()));
        }
        self.expr(expr).map(Some)
    }

    fn expr(&self, node: Node<'_, '_>) -> Result<Condition, XmlError> {
        let kids = || node.children().filter(Node::is_element);
        match node.tag_name().name() {
            "config" => match node.attribute("var") {
                Some(v) if !v.is_empty() => Ok(Condition::Config(v.to_string())),
                _ => Err(self.err(node, "<config> without a var".into())),
            },
            "not" => {
                let mut k = kids();
                match (k.next(), k.next()) {
                    (Some(c), None) => Ok(Condition::Not(Box::new(self.expr(c)?))),
                    _ => Err(self.err(node, "<not> must hold one expression".into())),
                }
            }
            tag @ ("and" | "or") => {
                let cs = kids()
                    .map(|c| self.expr(c))
                    .collect::<Result<Vec<_>, _>>()?;
                if cs.is_empty() {
                    return Err(self.err(node, format!("empty <{tag}>")));
                }
                Ok(if tag == "and" {
                    Condition::And(cs)
                } else {
                    Condition::Or(cs)
                })
            }
            other => Err(self.err(node, format!("unknown condition element <{other}>"))),
        }
    }
}

fn parse<'a>(file: &str, text: &'a str) -> Result<Document<'a>, XmlError> {
    Document::parse(text).map_err(|e| XmlError {
        file: file.to_string(),
        line: e.pos().row,
        message: e.to_string(),
    })
}

/// The labels one interface file defines for `config`, in order.
fn file_labels(
    file: &str,
    text: &str,
    config: &KernelConfig,
    first_may_be_conditional: bool,
) -> Result<Vec<String>, XmlError> {
    let doc = parse(file, text)?;
    let ctx = Ctx { file, doc: &doc };
    let mut seen = BTreeSet::new();
    let mut labels = Vec::new();
    let mut listed = 0usize;
    for method in doc.descendants().filter(|n| n.has_tag_name("method")) {
        let id = match method.attribute("id") {
            Some(id) if !id.is_empty() => id,
            _ => return Err(ctx.err(method, "<method> without an id".into())),
        };
        let cond = ctx.condition(method)?;
        let key = cond.as_ref().map(ToString::to_string).unwrap_or_default();
        if !seen.insert((id.to_string(), key)) {
            if matches!(method.attribute("duplicate"), Some("true" | "1")) {
                continue;
            }
            return Err(ctx.err(method, format!("implicit duplicate method id {id}")));
        }
        if listed == 0 && cond.is_some() && !first_may_be_conditional {
            return Err(ctx.err(method, format!("first label {id} cannot be conditional")));
        }
        listed += 1;
        if cond.as_ref().is_none_or(|c| c.holds(config)) {
            if labels.iter().any(|l| l == id) {
                return Err(ctx.err(method, format!("label {id} is active twice")));
            }
            labels.push(id.to_string());
        }
    }
    Ok(labels)
}

/// Invocation label values for `config` from the three interface files, given as
/// (file name, text) in [`INTERFACE_FILES`] order. Also contains `InvalidInvocation` and the
/// `nInvocationLabels`, `nSeL4ArchInvocationLabels` and `nArchInvocationLabels` counts.
pub fn invocation_labels(
    config: &KernelConfig,
    files: &[(&str, &str); 3],
) -> Result<BTreeMap<String, i128>, XmlError> {
    let mut out = BTreeMap::from([("InvalidInvocation".to_string(), 0)]);
    let mut next: i128 = 1;
    let ends = [
        "nInvocationLabels",
        "nSeL4ArchInvocationLabels",
        "nArchInvocationLabels",
    ];
    for (i, (file, text)) in files.iter().enumerate() {
        for label in file_labels(file, text, config, i == 0)? {
            out.insert(label, next);
            next += 1;
        }
        out.insert(ends[i].to_string(), next);
    }
    Ok(out)
}

/// Syscall numbers (`seL4_Sys<name>` to value) that exist for `config`, from `api/syscall.xml`.
pub fn syscall_numbers(
    config: &KernelConfig,
    file: &str,
    text: &str,
) -> Result<BTreeMap<String, i128>, XmlError> {
    let doc = parse(file, text)?;
    let ctx = Ctx { file, doc: &doc };
    let root = doc.root_element();
    let api_tag = if config.is_defined("KERNEL_MCS") {
        "api-mcs"
    } else {
        "api-master"
    };
    let apis: Vec<Node<'_, '_>> = root
        .children()
        .filter(|n| n.has_tag_name(api_tag))
        .collect();
    let [api] = apis.as_slice() else {
        return Err(ctx.err(
            root,
            format!("expected one <{api_tag}>, found {}", apis.len()),
        ));
    };
    let api_configs = api.children().filter(|n| n.has_tag_name("config")).count();
    if api_configs != 1 {
        return Err(ctx.err(*api, format!("<{api_tag}> must hold one <config>")));
    }
    let groups = std::iter::once(*api)
        .chain(root.children().filter(|n| n.has_tag_name("debug")))
        .flat_map(|g| g.children().filter(|n| n.has_tag_name("config")));
    let mut out = BTreeMap::new();
    let mut number: i128 = -1;
    for group in groups {
        let active = ctx.condition(group)?.is_none_or(|c| c.holds(config));
        for sc in group.children().filter(|n| n.has_tag_name("syscall")) {
            let name = match sc.attribute("name") {
                Some(n) if !n.is_empty() => n,
                _ => return Err(ctx.err(sc, "<syscall> without a name".into())),
            };
            if active && out.insert(format!("seL4_Sys{name}"), number).is_some() {
                return Err(ctx.err(sc, format!("syscall {name} is listed twice")));
            }
            number -= 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
