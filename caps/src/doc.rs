//! Generates `docs/RIGHTS.md` from the tables of this crate, so the document cannot drift from
//! the code: a test (`caps/tests/rights_doc.rs`) fails when the committed file differs from
//! [`write_rights_markdown`]'s output.
//!
//! The generator writes into any [`fmt::Write`], so it needs no allocator.

use core::fmt::{self, Write};

use crate::sel4::{CapKind, frame_mapping};
use crate::{ObjType, Operation, Rights};

/// The command that regenerates `docs/RIGHTS.md`.
pub const REGENERATE: &str = "UPDATE_DOCS=1 cargo test -p caps --test rights_doc";

/// Writes a Zircon rights set as `A, B, C` (or `none`; unnamed bits as a hex remainder).
pub fn write_rights(w: &mut dyn Write, rights: Rights) -> fmt::Result {
    let mut sep = "";
    let mut named = Rights::NONE;
    for (r, name) in Rights::NAMED {
        if rights.contains(r) {
            write!(w, "{sep}{name}")?;
            sep = ", ";
            named = named | r;
        }
    }
    if rights.contains(Rights::SAME_RIGHTS) {
        write!(w, "{sep}SAME_RIGHTS")?;
        sep = ", ";
        named = named | Rights::SAME_RIGHTS;
    }
    let rest = rights.difference(named);
    if !rest.is_empty() {
        write!(w, "{sep}{:#x}", rest.bits())?;
    } else if sep.is_empty() {
        write!(w, "none")?;
    }
    Ok(())
}

fn write_sel4(w: &mut dyn Write, s: crate::sel4::Sel4Rights) -> fmt::Result {
    let mut sep = "";
    for (r, name) in crate::sel4::Sel4Rights::NAMED {
        if s.contains(r) {
            write!(w, "{sep}{name}")?;
            sep = " + ";
        }
    }
    if sep.is_empty() {
        write!(w, "none")?;
    }
    Ok(())
}

/// Writes the whole `docs/RIGHTS.md`.
pub fn write_rights_markdown(w: &mut dyn Write) -> fmt::Result {
    writeln!(w, "# Rights")?;
    writeln!(w)?;
    writeln!(
        w,
        "<!-- Generated from the tables in the `caps` crate (caps::doc). Do not edit by hand; \
         regenerate with `{REGENERATE}`. -->"
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "Every Zircon right lives in the VCPU server's handle table; handlers ask the `caps` \
         tables below and never name a right themselves. Values are Zircon's (`zircon/rights.h`, \
         V3 semantics)."
    )?;
    write_bits(w)?;
    write_defaults(w)?;
    write_operations(w)?;
    write_derive(w)?;
    write_sel4_mapping(w)
}

fn write_bits(w: &mut dyn Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Right bits")?;
    writeln!(w)?;
    writeln!(w, "| right | bit | value |")?;
    writeln!(w, "|---|---|---|")?;
    for (r, name) in Rights::NAMED {
        let bit = r.bits().trailing_zeros();
        writeln!(w, "| `ZX_RIGHT_{name}` | {bit} | {:#x} |", r.bits())?;
    }
    let same = Rights::SAME_RIGHTS.bits();
    writeln!(
        w,
        "| `ZX_RIGHT_SAME_RIGHTS` (not a right) | {} | {same:#x} |",
        same.trailing_zeros()
    )
}

fn write_defaults(w: &mut dyn Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Default rights of new handles")?;
    writeln!(w)?;
    writeln!(
        w,
        "| object type | `zx_obj_type_t` | default rights | value |"
    )?;
    writeln!(w, "|---|---|---|---|")?;
    for t in ObjType::ALL {
        write!(w, "| `{}` | {} | ", t.name(), t as u32)?;
        write_rights(w, t.default_rights())?;
        writeln!(w, " | {:#x} |", t.default_rights().bits())?;
    }
    Ok(())
}

fn write_operations(w: &mut dyn Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Operations: handle arguments and required rights")?;
    writeln!(w)?;
    writeln!(
        w,
        "Each handle argument is looked up in the caller's table: unknown → `ZX_ERR_BAD_HANDLE`, \
         wrong type → `ZX_ERR_WRONG_TYPE`, missing rights → `ZX_ERR_ACCESS_DENIED`, in that order. \
         An optional argument may be `ZX_HANDLE_INVALID` (0), and then no check applies."
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "| label | operation | argument | type | required rights | optional |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|")?;
    for op in Operation::ALL {
        let args = op.handle_args();
        if args.is_empty() {
            writeln!(w, "| {} | `{}` | (none) | | | |", op.label(), op.name())?;
        }
        for arg in args {
            write!(w, "| {} | `{}` | `{}` | ", op.label(), op.name(), arg.name)?;
            match arg.obj_type {
                Some(t) => write!(w, "`{}`", t.name())?,
                None => write!(w, "any")?,
            }
            write!(w, " | ")?;
            write_rights(w, arg.rights)?;
            writeln!(w, " | {} |", if arg.optional { "yes" } else { "no" })?;
        }
    }
    writeln!(w)?;
    writeln!(
        w,
        "`vmar_map` additionally needs, on the VMAR, the right matching each permission it asks \
         for (`Operation::vmar_map_rights`):"
    )?;
    writeln!(w)?;
    writeln!(w, "| option | right |")?;
    writeln!(w, "|---|---|")?;
    let perms = [
        (
            "ZX_VM_PERM_READ",
            Operation::vmar_map_rights(true, false, false),
        ),
        (
            "ZX_VM_PERM_WRITE",
            Operation::vmar_map_rights(false, true, false),
        ),
        (
            "ZX_VM_PERM_EXECUTE",
            Operation::vmar_map_rights(false, false, true),
        ),
    ];
    for (name, r) in perms {
        write!(w, "| `{name}` | ")?;
        write_rights(w, r)?;
        writeln!(w, " |")?;
    }
    Ok(())
}

fn write_derive(w: &mut dyn Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Duplicate and replace (`derive_rights`)")?;
    writeln!(w)?;
    writeln!(
        w,
        "- Requested rights equal to `ZX_RIGHT_SAME_RIGHTS` give exactly the source's rights \
         (combined with other bits it is an ordinary request, refused as an escalation)."
    )?;
    writeln!(
        w,
        "- Otherwise the requested rights must be a subset of the source's, and the new handle \
         has exactly the requested rights."
    )?;
    writeln!(
        w,
        "- Anything else is an escalation: `ZX_ERR_INVALID_ARGS`."
    )?;
    writeln!(
        w,
        "- `handle_duplicate` also needs `DUPLICATE` on the source (table above); \
         `handle_replace` needs no right on the source."
    )
}

fn write_sel4_mapping(w: &mut dyn Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Zircon rights → seL4 capability rights")?;
    writeln!(w)?;
    writeln!(
        w,
        "The kinds of seL4 capability a client can hold, and the seL4 rights (`seL4_CapRights`: \
         Write = bit 0, Read = 1, Grant = 2, GrantReply = 3) a cap gets for the Zircon rights it \
         stands for (`caps::sel4`). A cap gets the union of every row whose Zircon rights are all \
         held; other Zircon rights map to nothing. Back from seL4 rights, a cap carries the \
         Zircon rights of every row it fully covers. TCB, VCPU, CNode, Untyped, page-table, IRQ \
         and SMC caps ignore rights (holding one is full control), so clients never get them."
    )?;
    writeln!(w)?;
    writeln!(w, "| cap | Zircon rights (all of) | seL4 rights | allows |")?;
    writeln!(w, "|---|---|---|---|")?;
    for kind in CapKind::ALL {
        for rule in kind.rules() {
            write!(w, "| {} | ", kind.name())?;
            write_rights(w, rule.requires)?;
            write!(w, " | ")?;
            write_sel4(w, rule.grants)?;
            writeln!(w, " | {} |", rule.meaning)?;
        }
    }
    let exec = frame_mapping(Rights::EXECUTE);
    let no_exec = frame_mapping(Rights::NONE);
    writeln!(
        w,
        "| frame | EXECUTE | ExecuteNever = {} (absent: {}) | executable mapping (an attribute, \
         not a cap right) |",
        exec.execute_never, no_exec.execute_never
    )
}
