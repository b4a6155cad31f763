//! Located diagnostics: every error names a file, a line and a column, and a stable kind.

use std::fmt;
use std::ops::Range;

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// The stable kind of a diagnostic. Tests and tools match on it; its kebab-case name
        /// ([`ErrorKind::name`]) is also the file name of the negative fixture that exercises it
        /// (`tests/manifests/bad/<name>.toml`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorKind {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The kebab-case name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $name,)*
                }
            }

            /// The kind called `name`.
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name {
                    $($name => Some(ErrorKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_kinds! {
    /// The file could not be read.
    Io = "io",
    /// Not valid TOML.
    Syntax = "syntax",
    /// A key the schema does not know.
    UnknownField = "unknown-field",
    /// A required key is absent.
    MissingField = "missing-field",
    /// A value of the wrong TOML type.
    InvalidType = "invalid-type",
    /// A value of the right type that the schema does not accept (unknown role, bad size text...).
    InvalidValue = "invalid-value",
    /// A name is malformed (empty, too long, bad characters).
    BadName = "bad-name",
    /// Two things of one kind share a name.
    DuplicateName = "duplicate-name",
    /// A reference to a component that does not exist.
    UnknownComponent = "unknown-component",
    /// A reference to a thread that does not exist in that component.
    UnknownThread = "unknown-thread",
    /// Not exactly one component has `role = "server"`.
    ServerCount = "server-count",
    /// A component's role does not allow what is asked of it.
    RoleMismatch = "role-mismatch",
    /// A client without `client-id`, or a non-client with one.
    ClientIdPresence = "client-id-presence",
    /// A client id outside 1..=65535.
    ClientIdRange = "client-id-range",
    /// Two clients share an id.
    DuplicateClientId = "duplicate-client-id",
    /// A client thread without `id`, or a non-client thread with one.
    ThreadIdPresence = "thread-id-presence",
    /// A thread id outside 1..=65535.
    ThreadIdRange = "thread-id-range",
    /// Two threads of the system share an id.
    DuplicateThreadId = "duplicate-thread-id",
    /// A component with no threads, or more than the boot page holds.
    ThreadCount = "thread-count",
    /// A priority outside 0..=254 (255 is the root task's).
    PriorityRange = "priority-range",
    /// A thread `core` outside 0..=7 (GICv2 serves at most 8 cores).
    CoreRange = "core-range",
    /// Priorities break the ordering rule (VCPUs < clients < server).
    PriorityOrder = "priority-order",
    /// A stack size that is zero, not page aligned or too large.
    StackSize = "stack-size",
    /// A heap size that is not page aligned or too large.
    HeapSize = "heap-size",
    /// A CSpace size out of range or too small for the component's capabilities.
    CspaceSize = "cspace-size",
    /// A client with no `[[endpoint]]` (it should be `role = "isolated"`).
    MissingEndpoint = "missing-endpoint",
    /// Two `[[endpoint]]` entries for one client.
    DuplicateEndpoint = "duplicate-endpoint",
    /// A client limit out of its range (`[endpoint.limits]`).
    LimitRange = "limit-range",
    /// Something only a test system may have (`expect` on a component of a product system).
    TestOnly = "test-only",
    /// A restart policy that is unknown, out of range, or for a component that cannot restart.
    Restart = "restart",
    /// The clients' limits together exceed the server's capacity.
    ServerCapacity = "server-capacity",
    /// A region size or address not aligned to its page size.
    RegionAlignment = "region-alignment",
    /// A region of size zero or larger than its memory source.
    RegionSize = "region-size",
    /// A fixed physical address outside the region's memory source.
    RegionRange = "region-range",
    /// Two regions' physical ranges overlap.
    RegionOverlap = "region-overlap",
    /// The platform's memory cannot hold everything asked for.
    MemoryBudget = "memory-budget",
    /// More entries than a fixed-size boot page array holds.
    TooMany = "too-many",
    /// An unknown Zircon right name.
    UnknownRight = "unknown-right",
    /// A right listed twice.
    DuplicateRight = "duplicate-right",
    /// Granted rights that are not a subset of the object's default rights.
    RightsEscalation = "rights-escalation",
    /// A hypervisor object granted in a system without `[hypervisor]`.
    GrantWithoutHypervisor = "grant-without-hypervisor",
    /// `[hypervisor]` values that cannot work (budget too small, limits out of range).
    HypervisorBudget = "hypervisor-budget",
    /// Kernel requirements this system cannot meet or this project does not support.
    KernelRequirement = "kernel-requirement",
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One error, located in a manifest file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What went wrong (stable).
    pub kind: ErrorKind,
    /// The file, as given to [`crate::load`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// Byte range in the file.
    pub span: Range<usize>,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error[kind]: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error[{}]: {}",
            self.file, self.line, self.col, self.kind, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Maps byte offsets of one source text to lines and columns.
#[derive(Clone, Debug)]
pub struct Source {
    name: String,
    text: String,
}

impl Source {
    /// A source called `name` (used in diagnostics) with contents `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column of byte `offset` (clamped to the text).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// A diagnostic at `span`.
    pub fn error(
        &self,
        kind: ErrorKind,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
        Diagnostic {
            kind,
            file: self.name.clone(),
            line,
            col,
            span,
            message: message.into(),
        }
    }

    /// The diagnostic for a TOML/serde error, classified by serde's stable message prefixes.
    pub(crate) fn toml_error(&self, err: &toml::de::Error) -> Diagnostic {
        let message = err.message().trim().to_string();
        let kind = if message.starts_with("unknown field") {
            ErrorKind::UnknownField
        } else if message.starts_with("missing field") {
            ErrorKind::MissingField
        } else if message.starts_with("invalid type") {
            ErrorKind::InvalidType
        } else if message.starts_with("unknown variant") || message.starts_with("invalid value") {
            ErrorKind::InvalidValue
        } else {
            ErrorKind::Syntax
        };
        self.error(kind, err.span().unwrap_or(0..0), message)
    }
}
