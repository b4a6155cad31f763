//! Generation of the Rust source of a [`plan::Plan`] from a [`ValidatedSystem`].
//!
//! The output is deterministic and self-contained: a private module holding one `static` per
//! distinct ELF (`include_bytes!` of the absolute paths the caller gives) and the `PLAN` static,
//! re-exported as `PLAN`. A root-task `build.rs` writes it to `OUT_DIR` and the root task
//! `include!`s it; the root task must depend on the `plan` crate.

use std::fmt;
use std::path::{Path, PathBuf};

use plan::{Cap, MemorySource, Role, SystemKind};

use crate::model::{Component, Handle, ValidatedSystem};

/// Why [`codegen`] could not produce source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodegenError {
    /// The ELF path of `program` is not absolute (`include_bytes!` would resolve it relative to
    /// the generated file).
    RelativeElfPath {
        /// The program.
        program: String,
        /// The path given.
        path: PathBuf,
    },
    /// The ELF path of `program` is not valid UTF-8.
    NonUtf8ElfPath {
        /// The program.
        program: String,
    },
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::RelativeElfPath { program, path } => {
                write!(
                    f,
                    "ELF path of `{program}` is not absolute: {}",
                    path.display()
                )
            }
            CodegenError::NonUtf8ElfPath { program } => {
                write!(f, "ELF path of `{program}` is not valid UTF-8")
            }
        }
    }
}

impl std::error::Error for CodegenError {}

/// `0x` hex with `_` every four digits.
pub(crate) fn hex(v: u64) -> String {
    let digits = format!("{v:x}");
    let mut out = String::from("0x");
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 4 == 0 {
            out.push('_');
        }
        out.push(ch);
    }
    out
}

fn opt_hex(v: Option<u64>) -> String {
    v.map_or_else(|| "None".into(), |v| format!("Some({})", hex(v)))
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Server => "Role::Server",
        Role::Client => "Role::Client",
        Role::Isolated => "Role::Isolated",
    }
}

fn cap(c: &Cap) -> String {
    match *c {
        Cap::CNode => "Cap::CNode".into(),
        Cap::VSpace => "Cap::VSpace".into(),
        Cap::Tcb { thread } => format!("Cap::Tcb {{ thread: {thread} }}"),
        Cap::ServerEndpoint { rights, badge } => {
            format!(
                "Cap::ServerEndpoint {{ rights: {}, badge: {} }}",
                hex(rights),
                hex(badge)
            )
        }
        Cap::ConsoleEndpoint { rights, badge } => {
            format!(
                "Cap::ConsoleEndpoint {{ rights: {}, badge: {} }}",
                hex(rights),
                hex(badge)
            )
        }
        Cap::FaultEndpoint { rights, badge } => {
            format!(
                "Cap::FaultEndpoint {{ rights: {}, badge: {} }}",
                hex(rights),
                hex(badge)
            )
        }
        Cap::AsidPool => "Cap::AsidPool".into(),
        Cap::Untyped { size_bits } => format!("Cap::Untyped {{ size_bits: {size_bits} }}"),
        Cap::ClientMemory {
            client_id,
            size_bits,
        } => format!("Cap::ClientMemory {{ client_id: {client_id}, size_bits: {size_bits} }}"),
        Cap::DeviceFrame {
            paddr,
            size_bits,
            rights,
        } => format!(
            "Cap::DeviceFrame {{ paddr: {}, size_bits: {size_bits}, rights: {} }}",
            hex(paddr),
            hex(rights)
        ),
        Cap::RegionFrames { region, count } => {
            format!("Cap::RegionFrames {{ region: {region}, count: {count} }}")
        }
    }
}

/// Indented line writer.
struct W {
    out: String,
    depth: usize,
}

impl W {
    fn line(&mut self, text: &str) {
        if !text.is_empty() {
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
            self.out.push_str(text);
        }
        self.out.push('\n');
    }

    fn open(&mut self, text: &str) {
        self.line(text);
        self.depth += 1;
    }

    fn close(&mut self, text: &str) {
        self.depth -= 1;
        self.line(text);
    }

    /// `name: &[` (or the whole `name: &[],` when `empty`).
    fn open_list(&mut self, name: &str, empty: bool) {
        if empty {
            self.line(&format!("{name}: &[],"));
        } else {
            self.open(&format!("{name}: &["));
        }
    }

    fn close_list(&mut self, empty: bool) {
        if !empty {
            self.close("],");
        }
    }
}

/// Rust source defining `pub static PLAN: plan::Plan` for `system`.
///
/// `elf_path(program)` gives the absolute path of each program's ELF (see
/// [`ValidatedSystem::programs`]); it is embedded with `include_bytes!`.
pub fn codegen(
    system: &ValidatedSystem,
    elf_path: impl Fn(&str) -> PathBuf,
) -> Result<String, CodegenError> {
    let programs = system.programs();
    let mut elves = Vec::new();
    for p in &programs {
        let path = elf_path(p);
        if !path.is_absolute() {
            return Err(CodegenError::RelativeElfPath {
                program: p.to_string(),
                path,
            });
        }
        let Some(text) = path.to_str() else {
            return Err(CodegenError::NonUtf8ElfPath {
                program: p.to_string(),
            });
        };
        elves.push(text.to_string());
    }
    let file = Path::new(&system.file)
        .file_name()
        .map_or_else(|| system.file.clone(), |f| f.to_string_lossy().into_owned());
    let mut w = W {
        out: String::new(),
        depth: 0,
    };
    w.line(&format!(
        "// @generated by `manifest::codegen` from `{file}` (system `{}`). Do not edit: change",
        system.name
    ));
    w.line("// the manifest and rebuild. Slot and address conventions: the `plan` crate.");
    w.line("");
    w.open("mod plan_generated {");
    // Import exactly the names the plan uses, so the including crate sees no unused import.
    let regions = system.components.iter().any(|c| !c.regions.is_empty());
    let mut names = vec!["Cap", "CapPlan", "ClientLimits", "ComponentPlan"];
    if !system.grants.is_empty() {
        names.extend(["GrantObject", "GrantPlan", "HandlePlan"]);
    }
    if system.hypervisor.is_some() {
        names.push("HypervisorPlan");
    }
    names.push("KernelRequirements");
    if regions {
        names.push("MemorySource");
    }
    names.push("Plan");
    if regions {
        names.push("RegionPlan");
    }
    names.extend(["Role", "SystemKind", "ThreadPlan"]);
    w.line(&format!("use ::plan::{{{}}};", names.join(", ")));
    w.line("");
    for (i, (p, path)) in programs.iter().zip(&elves).enumerate() {
        w.line(&format!("/// ELF of program `{p}`."));
        w.line(&format!(
            "static ELF_{i}: &[u8] = include_bytes!({path:?});"
        ));
    }
    w.line("");
    w.line(&format!("/// The boot plan of system `{}`.", system.name));
    w.open("pub static PLAN: Plan = Plan {");
    w.line(&format!("version: {},", plan::PLAN_VERSION));
    w.line(&format!("system: {:?},", system.name));
    w.line(&format!(
        "kernel: KernelRequirements {{ hypervisor: {}, pa_bits: {} }},",
        system.kernel.hypervisor, system.kernel.pa_bits
    ));
    w.open("components: &[");
    for c in &system.components {
        let elf = programs.iter().position(|p| *p == c.program).unwrap_or(0);
        component(&mut w, c, elf);
    }
    w.close("],");
    w.line(&format!("server: {},", system.server));
    w.line(&format!("console: {},", system.console));
    match &system.hypervisor {
        None => w.line("hypervisor: None,"),
        Some(hv) => {
            w.open("hypervisor: Some(HypervisorPlan {");
            w.line(&format!("untyped_size_bits: &{:?},", hv.untyped_size_bits));
            w.line(&format!("untyped_bytes: {},", hex(hv.untyped_bytes)));
            w.line(&format!("max_guests: {},", hv.max_guests));
            w.line(&format!("max_vcpus: {},", hv.max_vcpus));
            w.line(&format!("vcpu_priority: {},", hv.vcpu_priority));
            w.line(&format!("gicv_paddr: {},", opt_hex(hv.gicv_paddr)));
            w.close("}),");
        }
    }
    w.open_list("grants", system.grants.is_empty());
    for g in &system.grants {
        w.open("GrantPlan {");
        w.line(&format!("component: {},", g.component));
        w.line(&format!("client_id: {},", g.client_id));
        w.line(&format!("handle: {},", handle(&g.handle)));
        w.close("},");
    }
    w.close_list(system.grants.is_empty());
    let kind = match system.kind {
        SystemKind::Product => "SystemKind::Product",
        SystemKind::Test => "SystemKind::Test",
    };
    w.line(&format!("kind: {kind},"));
    w.close("};");
    w.close("}");
    w.line("");
    w.line(&format!("/// The boot plan of system `{}`.", system.name));
    w.line("pub use plan_generated::PLAN;");
    Ok(w.out)
}

fn handle(h: &Handle) -> String {
    format!(
        "HandlePlan {{ name: {:?}, value: {}, object: GrantObject::{:?}, obj_type: {}, rights: {} }}",
        h.name,
        hex(h.value.into()),
        h.object,
        h.obj_type as u32,
        hex(h.rights.bits().into())
    )
}

fn component(w: &mut W, c: &Component, elf: usize) {
    w.open("ComponentPlan {");
    w.line(&format!("index: {},", c.index));
    w.line(&format!("name: {:?},", c.name));
    w.line(&format!("program: {:?},", c.program));
    w.line(&format!("elf: ELF_{elf},"));
    w.line(&format!("role: {},", role(c.role)));
    w.line(&format!("client_id: {},", c.client_id.unwrap_or(0)));
    w.line(&format!("cspace_size_bits: {},", c.cspace_bits));
    w.line(&format!("first_free_slot: {},", c.first_free_slot));
    w.line(&format!("heap_vaddr: {},", hex(c.heap_vaddr)));
    w.line(&format!("heap_size: {},", hex(c.heap_size)));
    w.open("threads: &[");
    for t in &c.threads {
        w.open("ThreadPlan {");
        w.line(&format!("index: {},", t.index));
        w.line(&format!("name: {:?},", t.name));
        w.line(&format!("id: {},", t.id.unwrap_or(0)));
        w.line(&format!("entry: {},", t.entry));
        w.line(&format!("priority: {},", t.priority));
        w.line(&format!("mcp: {},", t.mcp));
        w.line(&format!("stack_top: {},", hex(t.stack_top)));
        w.line(&format!("stack_size: {},", hex(t.stack_size)));
        w.line(&format!("budget_us: {},", t.budget_us));
        w.line(&format!("period_us: {},", t.period_us));
        w.line(&format!("ipc_buffer: {},", hex(t.ipc_buffer)));
        w.line(&format!("tcb_slot: {},", t.tcb_slot));
        let (slot, badge) = t.endpoint.unwrap_or((0, 0));
        w.line(&format!("endpoint_slot: {slot},"));
        w.line(&format!("badge: {},", hex(badge)));
        w.line(&format!("fault_slot: {},", t.fault_slot));
        w.line(&format!("fault_badge: {},", hex(t.fault_badge)));
        w.line(&format!("core: {},", t.core));
        w.close("},");
    }
    w.close("],");
    w.open("caps: &[");
    for cp in &c.caps {
        w.line(&format!(
            "CapPlan {{ slot: {}, cap: {} }},",
            cp.slot,
            cap(&cp.cap)
        ));
    }
    w.close("],");
    w.open_list("regions", c.regions.is_empty());
    for r in &c.regions {
        w.open("RegionPlan {");
        w.line(&format!("name: {:?},", r.name));
        w.line(&format!("size: {},", hex(r.size)));
        w.line(&format!("page_bits: {},", r.page_bits));
        let source = match r.source {
            MemorySource::Ram => "MemorySource::Ram",
            MemorySource::VmMemory => "MemorySource::VmMemory",
            MemorySource::Device => "MemorySource::Device",
        };
        w.line(&format!("source: {source},"));
        w.line(&format!("paddr: {},", opt_hex(r.paddr)));
        w.line(&format!("vaddr: {},", opt_hex(r.vaddr)));
        w.line(&format!("rights: {},", hex(r.rights)));
        w.line(&format!("execute_never: {},", r.execute_never));
        w.line(&format!("guest: {},", r.guest));
        w.line(&format!("zero_fill: {},", r.zero_fill));
        w.line(&format!("frame_slot: {},", r.frame_slot));
        w.line(&format!("frame_count: {},", r.frame_count));
        w.close("},");
    }
    w.close_list(c.regions.is_empty());
    w.open_list("handles", c.handles.is_empty());
    for h in &c.handles {
        w.line(&format!("{},", handle(h)));
    }
    w.close_list(c.handles.is_empty());
    w.line(&format!("expect_stopped: {},", c.expect_stopped));
    w.line(&format!("restarts: {},", c.restarts));
    let send_to = c
        .endpoint
        .as_ref()
        .map(|e| e.send_to.clone())
        .unwrap_or_default();
    let ids: Vec<String> = send_to.iter().map(u16::to_string).collect();
    w.line(&format!("send_to: &[{}],", ids.join(", ")));
    let l = c.endpoint.as_ref().map(|e| e.limits).unwrap_or_default();
    w.line(&format!(
        "limits: ClientLimits {{ handles: {}, guests: {}, vcpus: {}, ports: {}, traps: {}, \
         mappings: {}, memory: {} }},",
        l.handles,
        l.guests,
        l.vcpus,
        l.ports,
        l.traps,
        l.mappings,
        hex(l.memory)
    ));
    w.close("},");
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_groups() {
        assert_eq!(hex(0), "0x0");
        assert_eq!(hex(0x7), "0x7");
        assert_eq!(hex(0xffff), "0xffff");
        assert_eq!(hex(0x1_0000), "0x1_0000");
        assert_eq!(hex(0x8000_0001_0000_0001), "0x8000_0001_0000_0001");
    }
}
