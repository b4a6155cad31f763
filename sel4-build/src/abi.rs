//! Compares every number of the `sel4` crate with an installed libsel4 (`<prefix>/libsel4/
//! include`): syscall numbers, invocation labels and each builder's marshalling (checked
//! against the generated `sel4_client.h` stubs), object types and sizes, VCPU registers,
//! fault labels and layouts, error codes, IPC buffer / BootInfo / UserContext layouts, message
//! bit fields and the initial cap slots.
//!
//! Sources: the configuration comes from the `gen_config.json` files ([`crate::kconfig`]);
//! syscall numbers and invocation labels are computed from the XML interface files for that
//! configuration ([`crate::interfaces`]); only what exists nowhere else is read from C headers
//! with the small preprocessor of [`crate::cpp`] (object type, error, VCPU register and
//! initial-slot enums, constants, struct layouts, the marshalling of `sel4_client.h`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sel4::{
    Error as Sel4Error, InvocationLabel, IpcBuffer, ObjectType, Syscall, UserContext, VcpuReg,
};

use crate::cexpr::{self, Env};
use crate::client::{ClientFn, parse_client};
use crate::cpp::{ParseError, Symbols, preprocess};
use crate::headers::{Block, Structs, collect_enums, field_position, parse_pbf};
use crate::interfaces::{
    INTERFACE_FILES, SYSCALL_FILE, XmlError, invocation_labels, syscall_numbers,
};
use crate::kconfig::KernelConfig;
use crate::samples::samples;

/// The configuration files, relative to `libsel4/include`.
pub const CONFIG_FILES: [&str; 2] = ["kernel/gen_config.json", "sel4/gen_config.json"];

/// Headers read, in include order, with the configuration's `CONFIG_*` macros predefined.
const HEADERS: [&str; 14] = [
    "sel4/macros.h",
    "sel4/constants.h",
    "sel4/sel4_arch/constants.h",
    "sel4/mode/types.h",
    "sel4/objecttype.h",
    "sel4/sel4_arch/objecttype.h",
    "sel4/arch/objecttype.h",
    "sel4/errors.h",
    "sel4/shared_types_gen.h",
    "sel4/shared_types.h",
    "sel4/sel4_arch/types.h",
    "sel4/sel4_arch/types_gen.h",
    "sel4/arch/types.h",
    "sel4/bootinfo_types.h",
];

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
    /// A header could not be parsed.
    Parse(ParseError),
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            AbiError::Config { path, reason } => write!(f, "{}: {reason}", path.display()),
            AbiError::Xml(e) => write!(f, "cannot read libsel4 interface file {e}"),
            AbiError::Parse(e) => write!(f, "cannot parse libsel4 header {e}"),
        }
    }
}

impl std::error::Error for AbiError {}

impl From<XmlError> for AbiError {
    fn from(e: XmlError) -> Self {
        AbiError::Xml(e)
    }
}

impl From<ParseError> for AbiError {
    fn from(e: ParseError) -> Self {
        AbiError::Parse(e)
    }
}

/// What the install defines.
#[derive(Debug)]
pub struct Headers {
    /// The configuration (`gen_config.json`).
    pub config: KernelConfig,
    /// Invocation labels computed from the XML interface files for `config`.
    pub labels: BTreeMap<String, i128>,
    /// Syscall numbers (`seL4_Sys*`) computed from `api/syscall.xml` for `config`.
    pub syscalls: BTreeMap<String, i128>,
    /// Macros (including the configuration) and enumerators of the headers.
    pub symbols: Symbols,
    /// Structs, for layouts.
    pub structs: Structs,
    /// Bitfield blocks of `shared_types.pbf`.
    pub blocks: BTreeMap<String, Block>,
    /// Invocation stubs of `interfaces/sel4_client.h`.
    pub client: BTreeMap<String, ClientFn>,
}

fn read(path: &Path) -> Result<String, AbiError> {
    std::fs::read_to_string(path).map_err(|error| AbiError::Io {
        path: path.to_path_buf(),
        error,
    })
}

impl Headers {
    /// Reads the configuration, interface files and headers of an install prefix
    /// (`<prefix>/libsel4/include`).
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
        let mut symbols = Symbols::default();
        for (name, body) in config.macros() {
            symbols.define(&name, body);
        }
        let mut structs = Structs::default();
        for f in HEADERS {
            let text = read(&inc.join(f))?;
            let lines = preprocess(f, &text, &mut symbols)?;
            let joined: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
            collect_enums(f, &joined, &mut symbols)?;
            structs.collect(f, &joined)?;
        }
        let blocks = parse_pbf(
            "sel4/shared_types.pbf",
            &read(&inc.join("sel4/shared_types.pbf"))?,
        )?;
        let client_path = "interfaces/sel4_client.h";
        let client = parse_client(client_path, &read(&inc.join(client_path))?, &mut symbols)?;
        Ok(Headers {
            config,
            labels,
            syscalls,
            symbols,
            structs,
            blocks,
            client,
        })
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

    fn eq(
        &mut self,
        item: impl Into<String>,
        ours: impl fmt::Display,
        theirs: Option<impl fmt::Display>,
    ) {
        let theirs = theirs.map_or_else(
            || "<not found in the headers>".to_string(),
            |t| t.to_string(),
        );
        self.checks.push(Check {
            item: item.into(),
            ours: ours.to_string(),
            theirs,
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

/// Compares already-loaded headers with the `sel4` crate.
pub fn compare(h: &Headers) -> AbiReport {
    let mut r = AbiReport::default();
    let sym = |n: &str| h.symbols.value(n);
    for s in Syscall::ALL {
        r.eq(
            format!("syscall {}", s.c_name()),
            s.number(),
            h.syscalls.get(s.c_name()),
        );
    }
    for l in InvocationLabel::ALL {
        r.eq(
            format!("invocation label {}", l.c_name()),
            l.value(),
            h.labels.get(l.c_name()),
        );
    }
    for t in ObjectType::ALL {
        r.eq(
            format!("object type {}", t.c_name()),
            t.value(),
            sym(t.c_name()),
        );
    }
    for v in VcpuReg::ALL {
        r.eq(
            format!("VCPU register {}", v.c_name()),
            v.number(),
            sym(v.c_name()),
        );
    }
    for e in Sel4Error::ALL {
        r.eq(format!("error {}", e.c_name()), e.code(), sym(e.c_name()));
    }
    for (name, slot) in sel4::init_slot::NAMED {
        r.eq(format!("initial cap {name}"), slot, sym(name));
    }
    for (name, value) in sel4::names::CONSTANTS {
        let theirs = match name
            .strip_prefix("sizeof(")
            .and_then(|n| n.strip_suffix(')'))
        {
            Some(s) => h
                .structs
                .layout(s, &h.symbols)
                .ok()
                .map(|l| i128::from(l.size)),
            None => sym(name),
        };
        r.eq(format!("constant {name}"), value, theirs);
    }
    compare_layouts(h, &mut r);
    compare_bitfields(h, &mut r);
    compare_invocations(h, &mut r);
    r
}

fn compare_layouts(h: &Headers, r: &mut AbiReport) {
    let ipc = h.structs.layout("seL4_IPCBuffer", &h.symbols);
    let ipc_fields = [
        ("tag", IpcBuffer::OFFSET_TAG),
        ("msg", IpcBuffer::OFFSET_MSG),
        ("userData", IpcBuffer::OFFSET_USER_DATA),
        ("caps_or_badges", IpcBuffer::OFFSET_CAPS_OR_BADGES),
        ("receiveCNode", IpcBuffer::OFFSET_RECEIVE_CNODE),
        ("receiveIndex", IpcBuffer::OFFSET_RECEIVE_INDEX),
        ("receiveDepth", IpcBuffer::OFFSET_RECEIVE_DEPTH),
    ];
    for (field, ours) in ipc_fields {
        let theirs = ipc.as_ref().ok().and_then(|l| l.offset(field));
        r.eq(format!("offset of seL4_IPCBuffer.{field}"), ours, theirs);
    }
    r.eq(
        "sizeof(seL4_IPCBuffer)",
        IpcBuffer::SIZE,
        ipc.as_ref().ok().map(|l| l.size),
    );
    let bi = h.structs.layout("seL4_BootInfo", &h.symbols);
    use sel4::bootinfo_offset as o;
    let bi_fields = [
        ("extraLen", o::EXTRA_LEN),
        ("nodeID", o::NODE_ID),
        ("numNodes", o::NUM_NODES),
        ("numIOPTLevels", o::NUM_IOPT_LEVELS),
        ("ipcBuffer", o::IPC_BUFFER),
        ("empty", o::EMPTY),
        ("sharedFrames", o::SHARED_FRAMES),
        ("userImageFrames", o::USER_IMAGE_FRAMES),
        ("userImagePaging", o::USER_IMAGE_PAGING),
        ("ioSpaceCaps", o::IO_SPACE_CAPS),
        ("extraBIPages", o::EXTRA_BI_PAGES),
        ("initThreadCNodeSizeBits", o::INIT_THREAD_CNODE_SIZE_BITS),
        ("initThreadDomain", o::INIT_THREAD_DOMAIN),
        ("untyped", o::UNTYPED),
        ("untypedList", o::UNTYPED_LIST),
    ];
    for (field, ours) in bi_fields {
        let theirs = bi.as_ref().ok().and_then(|l| l.offset(field));
        r.eq(format!("offset of seL4_BootInfo.{field}"), ours, theirs);
    }
    let desc = h.structs.layout("seL4_UntypedDesc", &h.symbols);
    for (field, ours) in [("paddr", 0u64), ("sizeBits", 8), ("isDevice", 9)] {
        let theirs = desc.as_ref().ok().and_then(|l| l.offset(field));
        r.eq(format!("offset of seL4_UntypedDesc.{field}"), ours, theirs);
    }
    let uc = h.structs.layout("seL4_UserContext", &h.symbols);
    let theirs: Option<Vec<String>> = uc
        .as_ref()
        .ok()
        .map(|l| l.fields.iter().map(|(n, _)| n.clone()).collect());
    r.eq(
        "seL4_UserContext field order",
        UserContext::C_FIELD_NAMES.join(","),
        theirs.map(|t| t.join(",")),
    );
    r.eq(
        "sizeof(seL4_UserContext)",
        core::mem::size_of::<UserContext>(),
        uc.ok().map(|l| l.size),
    );
}

fn compare_bitfields(h: &Headers, r: &mut AbiReport) {
    use sel4::{CNodeCapData as D, CapRights as R, MessageInfo as M};
    let fields: [(&str, &str, (u32, u32)); 9] = [
        ("seL4_MessageInfo", "label", (M::LABEL_SHIFT, M::LABEL_BITS)),
        (
            "seL4_MessageInfo",
            "capsUnwrapped",
            (M::CAPS_UNWRAPPED_SHIFT, M::CAPS_UNWRAPPED_BITS),
        ),
        (
            "seL4_MessageInfo",
            "extraCaps",
            (M::EXTRA_CAPS_SHIFT, M::EXTRA_CAPS_BITS),
        ),
        (
            "seL4_MessageInfo",
            "length",
            (M::LENGTH_SHIFT, M::LENGTH_BITS),
        ),
        ("seL4_CapRights", "capAllowWrite", (R::WRITE_BIT, 1)),
        ("seL4_CapRights", "capAllowRead", (R::READ_BIT, 1)),
        ("seL4_CapRights", "capAllowGrant", (R::GRANT_BIT, 1)),
        (
            "seL4_CapRights",
            "capAllowGrantReply",
            (R::GRANT_REPLY_BIT, 1),
        ),
        (
            "seL4_CNode_CapData",
            "guard",
            (D::GUARD_SIZE_BITS, D::GUARD_BITS),
        ),
    ];
    let show = |p: (u32, u32)| format!("bits {}..{}", p.0, p.0 + p.1);
    for (block, field, ours) in fields {
        let theirs = h
            .blocks
            .get(block)
            .and_then(|b| field_position(b, field))
            .map(show);
        r.eq(format!("bit field {block}.{field}"), show(ours), theirs);
    }
    let theirs = h
        .blocks
        .get("seL4_CNode_CapData")
        .and_then(|b| field_position(b, "guardSize"));
    r.eq(
        "bit field seL4_CNode_CapData.guardSize",
        show((0, D::GUARD_SIZE_BITS)),
        theirs.map(show),
    );
}

struct Args<'a>(&'a [(String, u64)]);

impl Env for Args<'_> {
    fn value(&self, name: &str) -> Option<i128> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| i128::from(*v))
    }
    fn is_defined(&self, _: &str) -> bool {
        false
    }
}

fn compare_invocations(h: &Headers, r: &mut AbiReport) {
    for (name, args, request) in samples() {
        let Some(f) = h.client.get(name) else {
            r.eq(format!("{name}: stub"), "present", None::<&str>);
            continue;
        };
        let env = Args(&args);
        r.eq(
            format!("{name}: label"),
            request.label(),
            h.labels.get(&f.label),
        );
        r.eq(
            format!("{name}: extraCaps"),
            request.caps().len(),
            Some(f.caps),
        );
        r.eq(
            format!("{name}: length"),
            request.words().len(),
            Some(f.length),
        );
        for (i, expr) in &f.cap_args {
            let ours = request
                .caps()
                .get(*i)
                .map_or("<none>".into(), |v| v.to_string());
            r.eq(
                format!("{name}: cap {i} ({expr})"),
                ours,
                cexpr::eval(expr, &env).ok(),
            );
        }
        for (i, expr) in &f.words {
            let ours = request
                .words()
                .get(*i)
                .map_or("<none>".into(), |v| format!("{v:#x}"));
            let theirs = cexpr::eval(expr, &env).ok().map(|v| format!("{v:#x}"));
            r.eq(format!("{name}: MR{i} ({expr})"), ours, theirs);
        }
    }
}
