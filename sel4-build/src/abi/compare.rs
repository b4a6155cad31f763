//! What is compared: the tables of names and the `sel4` crate's values, the probe queries they
//! need ([`queries`]), and the comparison itself ([`compare`]). Both walk the same tables, so
//! every name compared was asked.

use std::fmt;

use sel4::{
    Error as Sel4Error, InvocationLabel, IpcBuffer, ObjectType, Syscall, UserContext, VcpuReg,
};

use super::{AbiReport, Check, Fact, Headers, Layout};
use crate::probe::Query;
use crate::samples::samples;

/// Fields of `seL4_IPCBuffer` and the crate's offsets.
const IPC_FIELDS: [(&str, usize); 7] = [
    ("tag", IpcBuffer::OFFSET_TAG),
    ("msg", IpcBuffer::OFFSET_MSG),
    ("userData", IpcBuffer::OFFSET_USER_DATA),
    ("caps_or_badges", IpcBuffer::OFFSET_CAPS_OR_BADGES),
    ("receiveCNode", IpcBuffer::OFFSET_RECEIVE_CNODE),
    ("receiveIndex", IpcBuffer::OFFSET_RECEIVE_INDEX),
    ("receiveDepth", IpcBuffer::OFFSET_RECEIVE_DEPTH),
];

/// Fields of `seL4_BootInfo` every configuration has, and the crate's offsets.
fn bootinfo_fields(config: sel4::Config) -> [(&'static str, usize); 15] {
    use sel4::bootinfo_offset as o;
    [
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
        ("untyped", o::untyped(config)),
        ("untypedList", o::untyped_list(config)),
    ]
}

/// Fields of `seL4_UntypedDesc` and the crate's offsets.
const UNTYPED_DESC_FIELDS: [(&str, u64); 3] = [("paddr", 0), ("sizeBits", 8), ("isDevice", 9)];

/// The scalar constants compared for `config` (MCS adds its own).
fn constants(config: sel4::Config) -> Vec<(&'static str, u64)> {
    let mut all = sel4::names::constants(config).to_vec();
    if config.mcs {
        all.extend(sel4::names::MCS_CONSTANTS);
    }
    all
}

/// `sizeof(T)` names `T`.
fn sizeof_type(name: &str) -> Option<&str> {
    name.strip_prefix("sizeof(")?.strip_suffix(')')
}

/// The message bit fields: (block, field, the crate's (shift, width)).
fn bitfields() -> [(&'static str, &'static str, (u32, u32)); 10] {
    use sel4::{CNodeCapData as D, CapRights as R, MessageInfo as M};
    [
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
        ("seL4_CNode_CapData", "guardSize", (0, D::GUARD_SIZE_BITS)),
    ]
}

/// Every question the comparison for `config` needs answered by the headers.
pub fn queries(config: sel4::Config) -> Vec<Query> {
    let value = |n: &str| Query::Value(n.to_string());
    let mut q: Vec<Query> = Vec::new();
    q.extend(ObjectType::ALL.iter().map(|t| value(t.c_name())));
    q.extend(VcpuReg::ALL.iter().map(|v| value(v.c_name())));
    q.extend(Sel4Error::ALL.iter().map(|e| value(e.c_name())));
    q.extend(sel4::init_slot::NAMED.iter().map(|(n, _)| value(n)));
    for (name, _) in constants(config) {
        q.push(match sizeof_type(name) {
            Some(t) => Query::Size(t.to_string()),
            None => value(name),
        });
    }
    let mut layout = |ty: &str, fields: &mut dyn Iterator<Item = &str>| {
        let size = Query::Size(ty.to_string());
        if !q.contains(&size) {
            q.push(size);
        }
        q.extend(fields.map(|f| Query::Offset(ty.to_string(), f.to_string())));
    };
    layout("seL4_IPCBuffer", &mut IPC_FIELDS.iter().map(|(f, _)| *f));
    let bootinfo = bootinfo_fields(config);
    let schedcontrol = std::iter::once("schedcontrol");
    layout(
        "seL4_BootInfo",
        &mut bootinfo.iter().map(|(f, _)| *f).chain(schedcontrol),
    );
    layout(
        "seL4_UntypedDesc",
        &mut UNTYPED_DESC_FIELDS.iter().map(|(f, _)| *f),
    );
    layout(
        "seL4_UserContext",
        &mut UserContext::C_FIELD_NAMES.into_iter(),
    );
    for (block, field, _) in bitfields() {
        q.push(Query::Bits(block.to_string(), field.to_string()));
    }
    for (stub, args, _) in samples(config) {
        q.push(Query::Call(stub.to_string(), args));
    }
    q
}

/// Shows a number the configuration may lack.
fn opt<T: fmt::Display>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn value(h: &Headers, name: &str) -> Option<String> {
    h.values.get(name).and_then(Fact::shown)
}

fn layout<'a>(h: &'a Headers, ty: &str) -> Option<&'a Layout> {
    h.layouts.get(ty)
}

fn offset(h: &Headers, ty: &str, field: &str) -> Option<String> {
    layout(h, ty).and_then(|l| l.offset(field).shown())
}

fn size(h: &Headers, ty: &str) -> Option<String> {
    layout(h, ty).and_then(|l| l.size.shown())
}

/// Compares already-loaded headers with the `sel4` crate's numbers for the headers'
/// configuration ([`Headers::sel4_config`]): each number the crate has for that configuration
/// must be in the headers with the same value, and each it lacks must be absent there too.
pub fn compare(h: &Headers) -> AbiReport {
    let mut r = AbiReport::default();
    let config = h.sel4_config();
    for s in Syscall::ALL {
        r.maybe(
            format!("syscall {}", s.c_name()),
            opt(s.number_in(config)),
            opt(h.syscalls.get(s.c_name())),
        );
    }
    for l in InvocationLabel::ALL {
        r.maybe(
            format!("invocation label {}", l.c_name()),
            opt(l.value_in(config)),
            opt(h.labels.get(l.c_name())),
        );
    }
    for t in ObjectType::ALL {
        r.maybe(
            format!("object type {}", t.c_name()),
            opt(t.value_in(config)),
            value(h, t.c_name()),
        );
    }
    for v in VcpuReg::ALL {
        let item = format!("VCPU register {}", v.c_name());
        r.eq(item, v.number(), value(h, v.c_name()));
    }
    for e in Sel4Error::ALL {
        r.eq(
            format!("error {}", e.c_name()),
            e.code(),
            value(h, e.c_name()),
        );
    }
    for (name, slot) in sel4::init_slot::NAMED {
        r.eq(format!("initial cap {name}"), slot, value(h, name));
    }
    for (name, ours) in constants(config) {
        let theirs = match sizeof_type(name) {
            Some(t) => size(h, t),
            None => value(h, name),
        };
        r.eq(format!("constant {name}"), ours, theirs);
    }
    compare_layouts(h, config, &mut r);
    for (block, field, ours) in bitfields() {
        let show = |(shift, width): (u32, u32)| format!("bits {shift}..{}", shift + width);
        let theirs = h
            .bits
            .get(&(block.to_string(), field.to_string()))
            .and_then(|f| f.shown_with(|p| show(*p)));
        r.eq(format!("bit field {block}.{field}"), show(ours), theirs);
    }
    compare_invocations(h, config, &mut r);
    r
}

fn compare_layouts(h: &Headers, config: sel4::Config, r: &mut AbiReport) {
    for (field, ours) in IPC_FIELDS {
        let item = format!("offset of seL4_IPCBuffer.{field}");
        r.eq(item, ours, offset(h, "seL4_IPCBuffer", field));
    }
    let ipc_size = size(h, "seL4_IPCBuffer");
    r.eq("sizeof(seL4_IPCBuffer)", IpcBuffer::SIZE, ipc_size);
    for (field, ours) in bootinfo_fields(config) {
        let item = format!("offset of seL4_BootInfo.{field}");
        r.eq(item, ours, offset(h, "seL4_BootInfo", field));
    }
    r.maybe(
        "offset of seL4_BootInfo.schedcontrol",
        opt(config.mcs.then_some(sel4::bootinfo_offset::SCHED_CONTROL)),
        offset(h, "seL4_BootInfo", "schedcontrol"),
    );
    for (field, ours) in UNTYPED_DESC_FIELDS {
        let item = format!("offset of seL4_UntypedDesc.{field}");
        r.eq(item, ours, offset(h, "seL4_UntypedDesc", field));
    }
    // The field order is the order of the offsets of the fields the headers have.
    let order = layout(h, "seL4_UserContext").map(|l| {
        let mut present: Vec<(u64, &str)> = l
            .fields
            .iter()
            .filter_map(|(n, o)| o.value().map(|o| (*o, n.as_str())))
            .collect();
        present.sort();
        present
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",")
    });
    r.eq(
        "seL4_UserContext field order",
        UserContext::C_FIELD_NAMES.join(","),
        order,
    );
    r.eq(
        "sizeof(seL4_UserContext)",
        core::mem::size_of::<UserContext>(),
        size(h, "seL4_UserContext"),
    );
}

/// `<none>` for a cap slot or word one side does not have.
fn slot(v: Option<String>) -> String {
    v.unwrap_or_else(|| "<none>".to_string())
}

fn compare_invocations(h: &Headers, config: sel4::Config, r: &mut AbiReport) {
    for (name, _, request) in samples(config) {
        let m = match h.calls.get(name) {
            Some(Fact::Has(m)) => m,
            other => {
                let theirs = other.and_then(|f| f.shown_with(|_| String::new()));
                r.eq(format!("{name}: stub"), "present", theirs);
                continue;
            }
        };
        r.maybe(
            format!("{name}: label"),
            opt(request.label_id().value_in(config)),
            Some(m.label.to_string()),
        );
        r.eq(
            format!("{name}: extraCaps"),
            request.caps().len(),
            Some(m.extra_caps.to_string()),
        );
        r.eq(
            format!("{name}: length"),
            request.words().len(),
            Some(m.length.to_string()),
        );
        for i in 0..request.caps().len().max(m.caps.len()) {
            r.checks.push(Check {
                item: format!("{name}: cap {i}"),
                ours: slot(opt(request.caps().get(i))),
                theirs: slot(opt(m.caps.get(i))),
            });
        }
        let hex = |v: Option<&u64>| slot(v.map(|v| format!("{v:#x}")));
        for i in 0..request.words().len().max(m.words.len()) {
            r.checks.push(Check {
                item: format!("{name}: MR{i}"),
                ours: hex(request.words().get(i)),
                theirs: hex(m.words.get(i)),
            });
        }
    }
}
