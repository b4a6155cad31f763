//! Compares every number of the `sel4` crate with an installed libsel4 (`<prefix>/libsel4/
//! include`): syscall numbers, invocation labels and each builder's marshalling (checked
//! against what the generated `sel4_client.h` stubs hand the kernel), object types and sizes,
//! VCPU registers, fault labels and layouts, error codes, IPC buffer / BootInfo / UserContext
//! layouts, message bit fields and the initial cap slots.
//!
//! Sources: the configuration comes from the `gen_config.json` files ([`crate::kconfig`]);
//! syscall numbers and invocation labels are computed from the XML interface files for that
//! configuration ([`crate::interfaces`]); everything else exists only as C and is answered by
//! the C compiler through [`crate::probe`], which is asked exactly the names the comparison
//! ([`compare`]) looks at.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::interfaces::{
    INTERFACE_FILES, SYSCALL_FILE, XmlError, invocation_labels, syscall_numbers,
};
use crate::kconfig::KernelConfig;
use crate::probe::{Answer, Marshalled, ProbeError, Query, probe};

mod compare;

pub use compare::compare;

/// The configuration files, relative to `libsel4/include`.
pub const CONFIG_FILES: [&str; 2] = ["kernel/gen_config.json", "sel4/gen_config.json"];

/// Why the headers could not be compared at all.
#[derive(Debug)]
pub enum AbiError {
    /// A required file is missing or unreadable.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A configuration file is malformed.
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An XML interface file is malformed.
    Xml(XmlError),
    /// The C compiler could not answer (headers that do not compile, a missing compiler).
    Probe(ProbeError),
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            AbiError::Config { path, reason } => write!(f, "{}: {reason}", path.display()),
            AbiError::Xml(e) => write!(f, "cannot read libsel4 interface file {e}"),
            AbiError::Probe(e) => write!(f, "cannot read libsel4's C headers: {e}"),
        }
    }
}

impl std::error::Error for AbiError {}

impl From<XmlError> for AbiError {
    fn from(e: XmlError) -> Self {
        AbiError::Xml(e)
    }
}

impl From<ProbeError> for AbiError {
    fn from(e: ProbeError) -> Self {
        AbiError::Probe(e)
    }
}

/// What the headers say about one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact<T> {
    /// Its value.
    Has(T),
    /// The headers lack it (in this configuration).
    Absent,
    /// The headers have it but the compiler refused the question: its message.
    Refused(String),
}

impl<T: fmt::Display> Fact<T> {
    /// The value as the report shows it; `None` when absent.
    pub fn shown(&self) -> Option<String> {
        self.shown_with(T::to_string)
    }
}

impl<T> Fact<T> {
    /// The value shown with `show`, the refusal with the compiler's message; `None` when
    /// absent.
    pub fn shown_with(&self, show: impl Fn(&T) -> String) -> Option<String> {
        match self {
            Fact::Has(v) => Some(show(v)),
            Fact::Absent => None,
            Fact::Refused(m) => Some(format!("<refused by the C compiler: {m}>")),
        }
    }

    /// The value, if the headers have one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Has(v) => Some(v),
            _ => None,
        }
    }
}

/// Size and field offsets of one struct, as far as they were asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `sizeof`.
    pub size: Fact<u64>,
    /// `offsetof` of each field asked, in the order asked.
    pub fields: Vec<(String, Fact<u64>)>,
}

impl Layout {
    /// The offset of `field` (absent if it was not asked).
    pub fn offset(&self, field: &str) -> Fact<u64> {
        self.fields
            .iter()
            .find(|(n, _)| n == field)
            .map_or(Fact::Absent, |(_, f)| f.clone())
    }
}

/// What the install defines.
#[derive(Clone, Debug)]
pub struct Headers {
    /// The configuration (`gen_config.json`).
    pub config: KernelConfig,
    /// Invocation labels computed from the XML interface files for `config`.
    pub labels: BTreeMap<String, i128>,
    /// Syscall numbers (`seL4_Sys*`) computed from `api/syscall.xml` for `config`.
    pub syscalls: BTreeMap<String, i128>,
    /// Integer constants (macros and enumerators) by name.
    pub values: BTreeMap<String, Fact<i128>>,
    /// Struct layouts by type name.
    pub layouts: BTreeMap<String, Layout>,
    /// (shift, width) of message bit fields by (block, field).
    pub bits: BTreeMap<(String, String), Fact<(u32, u32)>>,
    /// What each sampled invocation stub hands the kernel, by stub name.
    pub calls: BTreeMap<String, Fact<Marshalled>>,
}

fn read(path: &Path) -> Result<String, AbiError> {
    std::fs::read_to_string(path).map_err(|error| AbiError::Io {
        path: path.to_path_buf(),
        error,
    })
}

impl Headers {
    /// Reads the configuration and interface files of an install prefix
    /// (`<prefix>/libsel4/include`) and asks the C compiler the rest.
    pub fn load(prefix: &Path) -> Result<Headers, AbiError> {
        let inc = prefix.join("libsel4/include");
        let mut config = KernelConfig::default();
        for f in CONFIG_FILES {
            let path = inc.join(f);
            config
                .add_json(read(&path)?.as_bytes())
                .map_err(|reason| AbiError::Config { path, reason })?;
        }
        let xml: Vec<String> = INTERFACE_FILES
            .iter()
            .map(|f| read(&inc.join(f)))
            .collect::<Result<_, _>>()?;
        let files = [0, 1, 2].map(|i| (INTERFACE_FILES[i], xml[i].as_str()));
        let labels = invocation_labels(&config, &files)?;
        let syscalls = syscall_numbers(&config, SYSCALL_FILE, &read(&inc.join(SYSCALL_FILE))?)?;
        let mut h = Headers {
            config,
            labels,
            syscalls,
            values: BTreeMap::new(),
            layouts: BTreeMap::new(),
            bits: BTreeMap::new(),
            calls: BTreeMap::new(),
        };
        let queries = compare::queries(h.sel4_config());
        let answers = probe(&inc, &queries)?;
        for (q, a) in queries.into_iter().zip(answers) {
            h.record(q, a);
        }
        Ok(h)
    }

    fn record(&mut self, q: Query, a: Answer) {
        fn fact<T>(a: &Answer) -> Fact<T> {
            match a {
                Answer::Absent => Fact::Absent,
                Answer::Invalid(m) => Fact::Refused(m.clone()),
                other => Fact::Refused(format!("unexpected answer {other:?}")),
            }
        }
        let int = |a: &Answer| match a {
            Answer::Int(v) => Fact::Has(*v),
            a => fact(a),
        };
        let unsigned = |a: &Answer| match a {
            Answer::Int(v) => u64::try_from(*v)
                .map_or_else(|_| Fact::Refused(format!("negative: {v}")), Fact::Has),
            a => fact(a),
        };
        fn layout(layouts: &mut BTreeMap<String, Layout>, t: String) -> &mut Layout {
            layouts.entry(t).or_insert_with(|| Layout {
                size: Fact::Absent,
                fields: Vec::new(),
            })
        }
        match q {
            Query::Value(n) => {
                self.values.insert(n, int(&a));
            }
            Query::Size(t) => layout(&mut self.layouts, t).size = unsigned(&a),
            Query::Offset(t, f) => layout(&mut self.layouts, t).fields.push((f, unsigned(&a))),
            Query::Bits(b, f) => {
                let v = match &a {
                    Answer::Bits(s, w) => Fact::Has((*s, *w)),
                    a => fact(a),
                };
                self.bits.insert((b, f), v);
            }
            Query::Call(stub, _) => {
                let v = match a {
                    Answer::Call(m) => Fact::Has(m),
                    a => fact(&a),
                };
                self.calls.insert(stub, v);
            }
        }
    }

    /// The `sel4` crate's configuration these headers belong to: MCS from
    /// `CONFIG_KERNEL_MCS`, debug from `CONFIG_DEBUG_BUILD` (the configuration check makes
    /// sure `CONFIG_PRINTING` agrees), SMP from `CONFIG_ENABLE_SMP_SUPPORT`.
    pub fn sel4_config(&self) -> sel4::Config {
        sel4::Config {
            mcs: self.config.is_defined("CONFIG_KERNEL_MCS"),
            debug: self.config.is_defined("CONFIG_DEBUG_BUILD"),
            smp: self.config.is_defined("CONFIG_ENABLE_SMP_SUPPORT"),
        }
    }
}

/// One compared item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was compared, e.g. `invocation label TCBConfigure`.
    pub item: String,
    /// The `sel4` crate's value.
    pub ours: String,
    /// The headers' value (or why there is none).
    pub theirs: String,
}

impl Check {
    /// True if both sides agree.
    pub fn ok(&self) -> bool {
        self.ours == self.theirs
    }
}

/// Result of a comparison.
#[derive(Clone, Debug, Default)]
pub struct AbiReport {
    /// Every comparison made.
    pub checks: Vec<Check>,
}

impl AbiReport {
    /// The comparisons that disagree.
    pub fn mismatches(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok()).collect()
    }

    /// Compares a value every configuration has; a missing one shows as not found.
    fn eq(&mut self, item: impl Into<String>, ours: impl fmt::Display, theirs: Option<String>) {
        let theirs = theirs.unwrap_or_else(|| "<not found in the headers>".to_string());
        self.checks.push(Check {
            item: item.into(),
            ours: ours.to_string(),
            theirs,
        });
    }

    /// Compares a value the configuration may lack on either side.
    fn maybe(&mut self, item: impl Into<String>, ours: Option<String>, theirs: Option<String>) {
        let absent = || "<absent>".to_string();
        self.checks.push(Check {
            item: item.into(),
            ours: ours.unwrap_or_else(absent),
            theirs: theirs.unwrap_or_else(absent),
        });
    }
}

impl fmt::Display for AbiReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bad = self.mismatches();
        writeln!(
            f,
            "{} ABI items compared, {} mismatches",
            self.checks.len(),
            bad.len()
        )?;
        for c in bad {
            writeln!(
                f,
                "  {}: sel4 crate has {}, headers have {}",
                c.item, c.ours, c.theirs
            )?;
        }
        Ok(())
    }
}

/// Loads the headers under `prefix` and compares them with the `sel4` crate.
pub fn check_abi(prefix: &Path) -> Result<AbiReport, AbiError> {
    Ok(compare(&Headers::load(prefix)?))
}
