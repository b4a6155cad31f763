//! Asks the C compiler what an installed libsel4 defines: integer constants (macros and
//! enumerators), `sizeof`/`offsetof`, bitfield positions, and what each invocation stub hands
//! the kernel for sample arguments.
//!
//! How: [`probe`] generates one C program (one function per [`Query`]) that includes the
//! install's `sel4/sel4.h`, with `c/mock_syscalls.h` standing in for the aarch64 system-call
//! header so the stubs record their registers instead of trapping. The host compiler
//! ([`HOST_CC`]) builds it and the program prints one answer line per query, which is parsed
//! back ([`answer`]). Then the target compiler ([`TARGET_CC`]) checks, with the install's real
//! headers and `-fsyntax-only`, a `_Static_assert` for every integer the host found, so sizes,
//! offsets and constants are the aarch64 ones, not merely the host's.
//!
//! Invariants: the answers are in query order, one per query. A name the configuration lacks
//! (an undeclared constant, type, field, getter or stub) is [`Answer::Absent`], found by
//! compiling once, reading the compiler's errors per query function ([`diag`]) and compiling
//! again without the failed queries; an error attributable to no query (e.g. in a header) is a
//! [`ProbeError::Compile`] carrying the compiler's messages, and the probe directory is kept
//! for inspection. Nothing here evaluates C itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod answer;
mod cgen;
mod diag;

/// The host C compiler that builds and runs the probe (Debian package `gcc`).
pub const HOST_CC: &str = "gcc";
/// The aarch64 compiler that confirms the host's integers for the target.
pub const TARGET_CC: &str = "aarch64-linux-gnu-gcc";
/// The capability every sampled stub is invoked on (`PROBE_SERVICE` in `c/probe_prelude.h`).
pub const SERVICE: u64 = 0x7e5;

/// Types whose host sizes the target check also asserts: the integers the stubs compute with
/// and the message tag, so the recorded marshalling is the aarch64 one (both are LP64).
const BASIS: [&str; 6] = [
    "seL4_Word",
    "seL4_Uint8",
    "seL4_Uint16",
    "seL4_Uint32",
    "seL4_Uint64",
    "seL4_MessageInfo_t",
];

const MOCK_SYSCALLS: &str = include_str!("../c/mock_syscalls.h");
const PRELUDE: &str = include_str!("../c/probe_prelude.h");

/// One question about the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// An integer constant expression, usually a macro or enumerator name.
    Value(String),
    /// `sizeof(type)`.
    Size(String),
    /// `offsetof(type, field)`.
    Offset(String, String),
    /// Bit range of a field of a one-word bitfield block (type `<block>_t`), through its
    /// generated getter `<block>_get_<field>`.
    Bits(String, String),
    /// One call of the stub with these arguments after the service capability [`SERVICE`].
    Call(String, Vec<CArg>),
}

/// One argument of a sampled stub call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CArg {
    /// An integer, converted to the parameter's type as C does.
    Word(u64),
    /// A zeroed struct of type `ty` with the given members set (`pc`, `words[0]`), passed by
    /// value or by pointer.
    Struct {
        /// The C type name.
        ty: String,
        /// Passed as `&value`.
        pointer: bool,
        /// (member designator, value).
        fields: Vec<(String, u64)>,
    },
}

/// What one stub handed the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marshalled {
    /// The tag's label.
    pub label: u64,
    /// The tag's extraCaps.
    pub extra_caps: u64,
    /// The tag's length.
    pub length: u64,
    /// The cap slots set (`extra_caps` of them, as far as the IPC buffer holds).
    pub caps: Vec<u64>,
    /// The message words (`length` of them, as far as the IPC buffer holds).
    pub words: Vec<u64>,
}

/// The answer to one [`Query`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The integer ([`Query::Value`], [`Query::Size`], [`Query::Offset`]).
    Int(i128),
    /// (shift, width) of a [`Query::Bits`] field.
    Bits(u32, u32),
    /// The message of a [`Query::Call`].
    Call(Marshalled),
    /// A name the query uses does not exist in these headers.
    Absent,
    /// The headers have the names but the query failed: the compiler's message (or what the
    /// stub did wrong, e.g. no or several system calls).
    Invalid(String),
}

/// Why the probe could not answer at all.
#[derive(Debug)]
pub enum ProbeError {
    /// A query cannot be written as C (a name that is not an identifier).
    Query(String),
    /// A file of the probe could not be written.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A compiler (or the probe program) could not be started.
    Spawn {
        /// The program.
        program: String,
        /// The error.
        error: std::io::Error,
    },
    /// The probe did not compile for a reason no query explains (e.g. an error in a header).
    Compile {
        /// The compiler command.
        command: String,
        /// Its error messages.
        stderr: String,
        /// The probe directory, kept for inspection.
        kept: PathBuf,
    },
    /// The probe program failed or printed something unexpected.
    Run {
        /// What went wrong.
        reason: String,
        /// The probe directory, kept for inspection.
        kept: PathBuf,
    },
    /// The target compiler disagrees with a value the host found (or refused the headers).
    Target {
        /// The compiler command.
        command: String,
        /// Its error messages (each failed assertion names its query).
        stderr: String,
        /// The probe directory, kept for inspection.
        kept: PathBuf,
    },
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Query(q) => write!(f, "cannot write the probe query {q}"),
            ProbeError::Io { path, error } => write!(f, "cannot write {}: {error}", path.display()),
            ProbeError::Spawn { program, error } => write!(
                f,
                "cannot run `{program}` ({error}); it compiles libsel4's headers for the ABI \
                 check (Debian package `{}`; `cargo xtask setup` installs it)",
                package_of(program)
            ),
            ProbeError::Compile {
                command,
                stderr,
                kept,
            } => write!(
                f,
                "libsel4's headers do not compile with the probe (kept in {}):\n  {command}\n{}",
                kept.display(),
                stderr.trim_end()
            ),
            ProbeError::Run { reason, kept } => {
                write!(f, "the probe program {reason} (kept in {})", kept.display())
            }
            ProbeError::Target {
                command,
                stderr,
                kept,
            } => write!(
                f,
                "the aarch64 compiler disagrees with the host's reading of libsel4 (kept in \
                 {}):\n  {command}\n{}",
                kept.display(),
                stderr.trim_end()
            ),
        }
    }
}

impl std::error::Error for ProbeError {}

fn package_of(program: &str) -> &'static str {
    if program == TARGET_CC {
        "gcc-aarch64-linux-gnu"
    } else {
        "gcc"
    }
}

/// Answers `queries` for the libsel4 headers under `include` (`<prefix>/libsel4/include`).
pub fn probe(include: &Path, queries: &[Query]) -> Result<Vec<Answer>, ProbeError> {
    for q in queries {
        cgen::check(q).map_err(ProbeError::Query)?;
    }
    let dir = tempfile::Builder::new()
        .prefix("sel4-build-probe-")
        .tempdir()
        .map_err(|error| ProbeError::Io {
            path: std::env::temp_dir(),
            error,
        })?;
    let work = Work {
        dir: dir.path(),
        include,
    };
    let mut all = queries.to_vec();
    all.extend(BASIS.map(|t| Query::Size(t.to_string())));
    let result = work.run(&all).and_then(|mut answers| {
        let basis = answers.split_off(queries.len());
        match basis.iter().position(|a| !matches!(a, Answer::Int(_))) {
            Some(i) => Err(ProbeError::Run {
                reason: format!("has no size for {}: {:?}", BASIS[i], basis[i]),
                kept: dir.path().to_path_buf(),
            }),
            None => Ok(answers),
        }
    });
    if result.as_ref().is_err_and(keeps_dir) {
        let _ = dir.keep();
    }
    result
}

fn keeps_dir(e: &ProbeError) -> bool {
    matches!(
        e,
        ProbeError::Compile { .. } | ProbeError::Run { .. } | ProbeError::Target { .. }
    )
}

struct Work<'a> {
    dir: &'a Path,
    include: &'a Path,
}

impl Work<'_> {
    fn write(&self, rel: &str, text: &str) -> Result<PathBuf, ProbeError> {
        let path = self.dir.join(rel);
        let io = |error| ProbeError::Io {
            path: path.clone(),
            error,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, text).map_err(io)?;
        Ok(path)
    }

    fn run(&self, queries: &[Query]) -> Result<Vec<Answer>, ProbeError> {
        self.write("mock/sel4/sel4_arch/syscalls.h", MOCK_SYSCALLS)?;
        self.write("mock/probe_prelude.h", PRELUDE)?;
        let mut answers: Vec<Option<Answer>> = vec![None; queries.len()];
        // First build: every query. Queries the compiler rejects get their answer from its
        // messages; the second build leaves them out and must succeed.
        for attempt in 0..2 {
            let wanted: Vec<usize> = (0..queries.len())
                .filter(|&i| answers[i].is_none())
                .collect();
            let program = cgen::probe_program(queries, &wanted);
            let source = self.write("probe.c", &program.text)?;
            let mut cc = Command::new(HOST_CC);
            cc.args(["-std=gnu11", "-O0", "-fdiagnostics-plain-output"])
                .arg("-Werror=implicit-function-declaration")
                .arg("-I")
                .arg(self.dir.join("mock"))
                .arg("-I")
                .arg(self.include)
                .arg("-o")
                .arg(self.dir.join("probe"))
                .arg(&source);
            let (ok, stderr, command) = compile(cc)?;
            if ok {
                break;
            }
            let failed = diag::attribute(&stderr, "probe.c", &program.lines, queries);
            if attempt == 1 || failed.unattributed || failed.answers.is_empty() {
                return Err(ProbeError::Compile {
                    command,
                    stderr,
                    kept: self.dir.to_path_buf(),
                });
            }
            for (i, a) in failed.answers {
                answers[i] = Some(a);
            }
        }
        self.run_program(queries, &mut answers)?;
        let answers: Vec<Answer> = answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Answer::Invalid("no answer".into())))
            .collect();
        self.target_check(queries, &answers)?;
        Ok(answers)
    }

    fn run_program(
        &self,
        queries: &[Query],
        answers: &mut [Option<Answer>],
    ) -> Result<(), ProbeError> {
        let program = self.dir.join("probe");
        let out = Command::new(&program)
            .output()
            .map_err(|error| ProbeError::Spawn {
                program: program.display().to_string(),
                error,
            })?;
        let run_error = |reason: String| ProbeError::Run {
            reason,
            kept: self.dir.to_path_buf(),
        };
        if !out.status.success() {
            return Err(run_error(format!(
                "failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        answer::parse(&stdout, queries, answers).map_err(run_error)
    }

    /// Recompiles every integer answer as a `_Static_assert` with the target compiler and the
    /// install's real headers.
    fn target_check(&self, queries: &[Query], answers: &[Answer]) -> Result<(), ProbeError> {
        let source = self.write("target_check.c", &cgen::target_check(queries, answers))?;
        let mut cc = Command::new(TARGET_CC);
        cc.args(["-std=gnu11", "-fsyntax-only", "-fdiagnostics-plain-output"])
            .arg("-I")
            .arg(self.include)
            .arg(&source);
        let (ok, stderr, command) = compile(cc)?;
        if ok {
            Ok(())
        } else {
            Err(ProbeError::Target {
                command,
                stderr,
                kept: self.dir.to_path_buf(),
            })
        }
    }
}

/// Runs a compiler with plain ASCII messages: (success, stderr, the command line).
fn compile(mut cc: Command) -> Result<(bool, String, String), ProbeError> {
    cc.env("LC_ALL", "C");
    let command = format!("{cc:?}");
    let program = cc.get_program().to_string_lossy().into_owned();
    let out = cc
        .output()
        .map_err(|error| ProbeError::Spawn { program, error })?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        command,
    ))
}

#[cfg(test)]
mod tests;
