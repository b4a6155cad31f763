//! The human-readable report of a validated system: objects, capabilities by slot, badges and
//! rights (Zircon and seL4) per component, and the physical memory plan.

use std::fmt::Write;
use std::path::Path;

use caps::sel4::{FrameMapping, Sel4Rights, endpoint_zircon_rights, frame_zircon_rights};
use plan::{Cap, MemorySource, Role, cspace};

use crate::codegen::hex;
use crate::model::{Component, GrantObjectExt, ValidatedSystem};
use crate::values::{show_rights, show_sel4_rights, show_size};

fn role(r: Role) -> &'static str {
    match r {
        Role::Server => "server",
        Role::Client => "client",
        Role::Isolated => "isolated: no capability to the server",
    }
}

fn sel4(word: u64) -> String {
    format!("seL4 {} ({word:#x})", show_sel4_rights(word))
}

fn endpoint_rights(word: u64) -> String {
    let z = endpoint_zircon_rights(Sel4Rights::from_word(word));
    format!("{} = Zircon {}", sel4(word), show_rights(z))
}

fn frame_rights(word: u64, execute_never: bool) -> String {
    let z = frame_zircon_rights(FrameMapping {
        rights: Sel4Rights::from_word(word),
        execute_never,
    });
    let x = if execute_never {
        ", never executable"
    } else {
        ""
    };
    format!("{} = Zircon {}{x}", sel4(word), show_rights(z))
}

/// The report text (deterministic; written next to each image by the build).
pub fn report(system: &ValidatedSystem) -> String {
    let mut o = String::new();
    // `fmt::Write` for `String` never fails, so the results below are ignored.
    let file = Path::new(&system.file)
        .file_name()
        .map_or_else(|| system.file.clone(), |f| f.to_string_lossy().into_owned());
    let _ = writeln!(o, "System `{}` (from {file})", system.name);
    let kind = match system.kind {
        plan::SystemKind::Product => {
            "product system: a misbehaving component is stopped alone; no judging, no power-off"
        }
        plan::SystemKind::Test => {
            "test system: a misbehaving component is stopped alone; the root task judges the run \
             and powers off"
        }
    };
    let _ = writeln!(o, "  {kind}");
    if let Some(d) = &system.description {
        let _ = writeln!(o, "  {d}");
    }
    let p = &system.platform;
    let _ = writeln!(
        o,
        "Platform {}: RAM {}..{} (boot reserve below {}), vm-memory {}..{}",
        p.name,
        hex(p.ram.start),
        hex(p.ram.end),
        hex(p.ram_reserved.end),
        hex(p.vm_memory.start),
        hex(p.vm_memory.end)
    );
    let _ = writeln!(
        o,
        "Kernel: {}, {}-bit PA, non-MCS",
        if system.kernel.hypervisor {
            "hypervisor support"
        } else {
            "no hypervisor support"
        },
        system.kernel.pa_bits
    );
    let _ = writeln!(
        o,
        "RAM estimate: {} of {} available",
        show_size(system.ram_estimate),
        show_size(p.ram.end - p.ram_reserved.end)
    );
    if let Some(hv) = &system.hypervisor {
        let blocks: Vec<String> = hv
            .untyped_size_bits
            .iter()
            .map(|b| show_size(1u64 << b))
            .collect();
        let _ = writeln!(
            o,
            "Hypervisor: untyped {} ({}), up to {} guests and {} VCPUs, VCPU priority {}",
            show_size(hv.untyped_bytes),
            blocks.join(" + "),
            hv.max_guests,
            hv.max_vcpus,
            hv.vcpu_priority
        );
    }
    for c in &system.components {
        let _ = writeln!(o);
        component(&mut o, system, c);
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Badges (client thread -> server endpoint):");
    let mut any = false;
    for c in &system.components {
        for t in &c.threads {
            if let (Some((_, badge)), Some(client), Some(id)) = (t.endpoint, c.client_id, t.id) {
                let _ = writeln!(
                    o,
                    "  {}  {}/{}  client {client} thread {id}",
                    hex(badge),
                    c.name,
                    t.name
                );
                any = true;
            }
        }
    }
    if !any {
        let _ = writeln!(o, "  none");
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Initial handles (installed by the server at start, in this order):"
    );
    if system.grants.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for g in &system.grants {
        let h = &g.handle;
        let _ = writeln!(
            o,
            "  {} (client {}): handle {} `{}` = {} ({}), rights {:#x} {}",
            system.components[g.component].name,
            g.client_id,
            hex(h.value.into()),
            h.name,
            h.object.manifest_name(),
            h.obj_type.name(),
            h.rights.bits(),
            show_rights(h.rights)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Physical memory of regions:");
    let mut rows: Vec<(Option<u64>, String)> = Vec::new();
    for c in &system.components {
        for r in &c.regions {
            let src = match r.source {
                MemorySource::Ram => "RAM",
                MemorySource::VmMemory => "vm-memory",
                MemorySource::Device => "device",
            };
            let at = match r.paddr {
                Some(pa) => format!("{}..{}", hex(pa), hex(pa + r.size)),
                None => "anywhere".to_string(),
            };
            let how = match (r.paddr, r.paddr_given) {
                (Some(_), true) => ", fixed by the manifest",
                (Some(_), false) => ", placed at build time",
                (None, _) => ", allocated by the root task",
            };
            rows.push((
                r.paddr,
                format!("  {at}  {src}  {}/{}{how}", c.name, r.name),
            ));
        }
    }
    rows.sort();
    if rows.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for (_, row) in rows {
        let _ = writeln!(o, "{row}");
    }
    o
}

fn component(o: &mut String, system: &ValidatedSystem, c: &Component) {
    let _ = writeln!(
        o,
        "Component {} `{}` ({}), program `{}`",
        c.index,
        c.name,
        role(c.role),
        c.program
    );
    if let Some(d) = &c.description {
        let _ = writeln!(o, "  {d}");
    }
    if let Some(id) = c.client_id {
        let _ = writeln!(o, "  client id {id}");
    }
    if c.expect_stopped {
        let _ = writeln!(
            o,
            "  expected to misbehave: the run passes only if it is stopped"
        );
    }
    if c.restarts > 0 {
        let _ = writeln!(
            o,
            "  restarted when stopped for misbehaviour, at most {} times",
            c.restarts
        );
    }
    if let Some(e) = &c.endpoint {
        let l = e.limits;
        let _ = writeln!(
            o,
            "  limits in the server: {} handles, {} guests, {} VCPUs, {} ports, {} traps, \
             {} mappings, {} of memory for its kernel objects",
            l.handles,
            l.guests,
            l.vcpus,
            l.ports,
            l.traps,
            l.mappings,
            show_size(l.memory)
        );
        if !e.send_to.is_empty() {
            let ids: Vec<String> = e.send_to.iter().map(|id| format!("client {id}")).collect();
            let _ = writeln!(o, "  may send handles to: {}", ids.join(", "));
        }
    }
    let _ = writeln!(
        o,
        "  CSpace: 2^{} = {} slots, first free slot {}",
        c.cspace_bits,
        1u64 << c.cspace_bits,
        c.first_free_slot
    );
    let _ = writeln!(o, "  Threads:");
    for t in &c.threads {
        let id = t.id.map_or_else(String::new, |id| format!(" id {id}"));
        let _ = writeln!(
            o,
            "    {} `{}`{id}: priority {}, mcp {}, entry {}, stack {} below {}, IPC buffer {}",
            t.index,
            t.name,
            t.priority,
            t.mcp,
            t.entry,
            show_size(t.stack_size),
            hex(t.stack_top),
            hex(t.ipc_buffer)
        );
    }
    let _ = writeln!(o, "  Capabilities:");
    for cp in &c.caps {
        let what = match cp.cap {
            Cap::CNode => format!(
                "own CNode (guard {} bits, resolve at depth 64)",
                cspace::guard_data(c.cspace_bits)
            ),
            Cap::VSpace => "own VSpace".to_string(),
            Cap::Tcb { thread } => format!("TCB of thread `{}`", c.threads[thread as usize].name),
            Cap::ServerEndpoint { rights, badge: 0 } => format!(
                "endpoint to the server `{}`, unbadged original; {}",
                system.server().name,
                endpoint_rights(rights)
            ),
            Cap::ServerEndpoint { rights, badge } => format!(
                "endpoint to the server `{}`, badge {}; {}",
                system.server().name,
                hex(badge),
                endpoint_rights(rights)
            ),
            Cap::ConsoleEndpoint { rights, badge: 0 } => {
                format!("console endpoint, unbadged; {}", endpoint_rights(rights))
            }
            Cap::ConsoleEndpoint { rights, badge } => format!(
                "console endpoint, badge {}; {}",
                hex(badge),
                endpoint_rights(rights)
            ),
            Cap::FaultEndpoint { rights, badge } => format!(
                "fault endpoint to the root task, badge {}; {}",
                hex(badge),
                endpoint_rights(rights)
            ),
            Cap::AsidPool => format!(
                "ASID pool, dedicated ({} ASIDs for guest VSpaces)",
                system.platform.asids_per_pool
            ),
            Cap::Untyped { size_bits } => format!("untyped {}", show_size(1u64 << size_bits)),
            Cap::ClientMemory {
                client_id,
                size_bits,
            } => format!(
                "untyped {} of client {client_id}'s memory",
                show_size(1u64 << size_bits)
            ),
            Cap::DeviceFrame {
                paddr,
                size_bits,
                rights,
            } => format!(
                "device frame {} at {}; {}",
                show_size(1u64 << size_bits),
                hex(paddr),
                sel4(rights)
            ),
            Cap::RegionFrames { region, count } => {
                let r = &c.regions[region as usize];
                format!(
                    "frames of region `{}`: {count} x {} (slots {}..{})",
                    r.name,
                    show_size(1u64 << r.page_bits),
                    cp.slot,
                    cp.slot + count
                )
            }
        };
        let _ = writeln!(o, "    slot {:>4}  {what}", cp.slot);
    }
    let _ = writeln!(o, "  Memory:");
    if c.heap_size > 0 {
        let _ = writeln!(
            o,
            "    heap {} at {}",
            show_size(c.heap_size),
            hex(c.heap_vaddr)
        );
    }
    for r in &c.regions {
        let at = r
            .vaddr
            .map_or_else(|| "not mapped".to_string(), |v| format!("at {}", hex(v)));
        let guest = if r.guest { ", guest memory" } else { "" };
        let zero = match (&r.preload, r.zero_fill) {
            (Some(blob), _) => format!(", preloaded with `{blob}` by the boot"),
            (None, true) => ", zeroed by the root task".to_string(),
            (None, false) => String::new(),
        };
        let _ = writeln!(
            o,
            "    region `{}` {} in {} pages, {at}{guest}{zero}; {}",
            r.name,
            show_size(r.size),
            show_size(1u64 << r.page_bits),
            frame_rights(r.rights, r.execute_never)
        );
    }
    if c.heap_size == 0 && c.regions.is_empty() {
        let _ = writeln!(o, "    no heap, no regions");
    }
    if !c.handles.is_empty() {
        let _ = writeln!(o, "  Initial handles:");
        for h in &c.handles {
            let _ = writeln!(
                o,
                "    {} `{}`: {} rights {:#x} {}",
                hex(h.value.into()),
                h.name,
                h.obj_type.name(),
                h.rights.bits(),
                show_rights(h.rights)
            );
        }
    }
}
