//! Layout: CSpace slots, virtual addresses, badges and rights of every component, then the CSpace
//! size and RAM budget checks that need them.

use std::collections::BTreeSet;

use caps::Rights;
use caps::sel4::{endpoint_rights, frame_mapping};
use plan::{Cap, CapPlan, KernelRequirements, MemorySource, Role, SystemKind, cspace, vspace};
use vcpu_protocol::{Badge, ClientId, Sender, ThreadId};

use super::{Comp, Ctx, Grants, Hv, Reg, Span};
use crate::diag::ErrorKind;
use crate::model::{Component, Endpoint, Hypervisor, Region, Thread, ValidatedSystem};
use crate::platform::{ELF_ALLOWANCE, Platform};
use crate::values::show_size;

/// Everything the earlier phases produced.
pub(crate) struct Input<'a> {
    pub file: String,
    pub name: String,
    pub description: Option<String>,
    pub platform: Platform,
    pub kernel: KernelRequirements,
    pub untrusted_guests: Option<String>,
    pub kind: SystemKind,
    pub comps: &'a [Comp],
    pub server: usize,
    pub console: usize,
    pub hv: Option<&'a Hv>,
    pub grants: &'a Grants,
    pub regions: &'a [Reg],
}

/// Default CNode size of the server (it creates objects for every guest and VCPU).
pub const SERVER_CSPACE_BITS: u8 = 12;
/// Default CNode size of other components.
pub const DEFAULT_CSPACE_BITS: u8 = 10;

/// Rights of the server's own endpoint: receive, send, and pass capabilities both ways.
pub fn server_endpoint_rights() -> Rights {
    Rights::READ | Rights::WRITE | Rights::TRANSFER
}

/// The console endpoint capability of component `index`: the console's own receives
/// (unbadged); every other component's sends and is answered (Write + GrantReply: a `Call`
/// through a capability without GrantReply would leave the caller blocked for ever).
pub fn console_cap(index: usize, console: usize) -> Cap {
    use caps::sel4::Sel4Rights;
    if index == console {
        Cap::ConsoleEndpoint {
            rights: Sel4Rights::READ.union(Sel4Rights::WRITE).word(),
            badge: 0,
        }
    } else {
        Cap::ConsoleEndpoint {
            rights: Sel4Rights::WRITE.union(Sel4Rights::GRANT_REPLY).word(),
            badge: plan::console::badge(index as u16),
        }
    }
}

/// Rights of a fault endpoint capability: send (and get a reply) only.
pub fn fault_endpoint_rights() -> Rights {
    Rights::WRITE
}

pub(crate) fn build(cx: &mut Ctx<'_>, input: Input<'_>) -> ValidatedSystem {
    let mut components = Vec::new();
    // (bytes, span, what) in manifest order, for the RAM budget.
    let mut ram_uses: Vec<(u64, Span, String)> = Vec::new();
    for (index, c) in input.comps.iter().enumerate() {
        let regions: Vec<&Reg> = input.regions.iter().filter(|r| r.owner == index).collect();
        let comp = component(cx, &input, index, c, &regions);
        let tables = page_table_bytes(&comp);
        let mut bytes = (1u64 << (comp.cspace_bits + 5)) + 0x1000 * (2 + comp.threads.len() as u64);
        bytes += comp
            .threads
            .iter()
            .map(|t| t.stack_size + 0x800)
            .sum::<u64>();
        bytes += comp.heap_size + ELF_ALLOWANCE + tables;
        let span = c.heap_span.clone().unwrap_or_else(|| c.name_span.clone());
        ram_uses.push((bytes, span, format!("component `{}`", c.name)));
        components.push(comp);
    }
    for r in input
        .regions
        .iter()
        .filter(|r| r.source == MemorySource::Ram)
    {
        ram_uses.push((r.size, r.size_span.clone(), format!("region `{}`", r.name)));
    }
    if let Some(hv) = input.hv {
        let what = "[hypervisor] untyped-size".to_string();
        ram_uses.push((hv.untyped_bytes + 0x1000, hv.untyped_span.clone(), what));
        for c in input.comps.iter().filter(|c| c.role == Role::Client) {
            if let Some(ep) = &c.endpoint {
                let what = format!("the memory of client `{}` in the server", c.name);
                ram_uses.push((ep.limits.memory, c.name_span.clone(), what));
            }
        }
    }
    let available = input.platform.ram.end - input.platform.ram_reserved.end;
    let mut total = 0u64;
    for (bytes, span, what) in &ram_uses {
        total += bytes;
        if total > available {
            cx.err(
                ErrorKind::MemoryBudget,
                span.clone(),
                format!(
                    "RAM is exhausted at {what}: {} needed so far, {} available",
                    show_size(total),
                    show_size(available)
                ),
            );
            break;
        }
    }
    ValidatedSystem {
        file: input.file,
        name: input.name,
        description: input.description,
        platform: input.platform,
        kernel: input.kernel,
        untrusted_guests: input.untrusted_guests,
        kind: input.kind,
        components,
        server: input.server,
        console: input.console,
        hypervisor: input.hv.map(|hv| Hypervisor {
            untyped_size_bits: hv.untyped_size_bits.clone(),
            untyped_bytes: hv.untyped_bytes,
            max_guests: hv.max_guests,
            max_vcpus: hv.max_vcpus,
            vcpu_priority: hv.vcpu_priority,
            gicv_paddr: hv.gicv.then_some(input.platform.gicv),
        }),
        grants: input.grants.clone(),
        ram_estimate: total,
    }
}

fn component(
    cx: &mut Ctx<'_>,
    input: &Input<'_>,
    index: usize,
    c: &Comp,
    regs: &[&Reg],
) -> Component {
    let is_server = c.role == Role::Server;
    let endpoint = c.endpoint.as_ref().map(|e| {
        let z = if e.send_caps {
            Rights::WRITE | Rights::TRANSFER
        } else {
            Rights::WRITE
        };
        Endpoint {
            zircon_rights: z,
            rights: endpoint_rights(z).word(),
            send_caps: e.send_caps,
            limits: e.limits,
            send_to: e
                .send_to
                .iter()
                .filter_map(|&i| input.comps.get(i).and_then(|c| c.client_id))
                .collect(),
        }
    });
    let mut caps = vec![CapPlan {
        slot: cspace::CNODE,
        cap: Cap::CNode,
    }];
    caps.push(CapPlan {
        slot: cspace::VSPACE,
        cap: Cap::VSpace,
    });
    caps.push(CapPlan {
        slot: cspace::CONSOLE,
        cap: console_cap(index, input.console),
    });
    if is_server {
        if input.hv.is_some() {
            caps.push(CapPlan {
                slot: cspace::ASID_POOL,
                cap: Cap::AsidPool,
            });
        }
        let rights = endpoint_rights(server_endpoint_rights()).word();
        let cap = Cap::ServerEndpoint { rights, badge: 0 };
        caps.push(CapPlan {
            slot: cspace::SERVER_ENDPOINT,
            cap,
        });
        if input.hv.is_some_and(|hv| hv.gicv) {
            // The GICV is 8 KiB (Zircon's `kGicvSize`): one 4 KiB frame per page, in order.
            let rights = frame_mapping(Rights::READ | Rights::WRITE).rights.word();
            for i in 0..cspace::GICV_FRAMES {
                let cap = Cap::DeviceFrame {
                    paddr: input.platform.gicv + (i << 12),
                    size_bits: 12,
                    rights,
                };
                caps.push(CapPlan {
                    slot: cspace::GICV_FRAME + i,
                    cap,
                });
            }
        }
    }
    let mut threads = Vec::new();
    for (i, t) in c.threads.iter().enumerate() {
        let calls = c.endpoint.as_ref().is_some_and(|e| e.threads.contains(&i));
        let ep = match (calls, &endpoint, c.client_id, t.id) {
            (true, Some(ep), Some(client), Some(thread)) => {
                let sender = Sender {
                    client: ClientId(client),
                    thread: ThreadId(thread),
                };
                Some((
                    cspace::endpoint(i),
                    Badge::Client(sender).encode(),
                    ep.rights,
                ))
            }
            _ => None,
        };
        let fault_badge = plan::fault_badge(index as u16, i as u16);
        caps.push(CapPlan {
            slot: cspace::tcb(i),
            cap: Cap::Tcb { thread: i as u8 },
        });
        if let Some((slot, badge, rights)) = ep {
            caps.push(CapPlan {
                slot,
                cap: Cap::ServerEndpoint { rights, badge },
            });
        }
        let rights = endpoint_rights(fault_endpoint_rights()).word();
        let cap = Cap::FaultEndpoint {
            rights,
            badge: fault_badge,
        };
        caps.push(CapPlan {
            slot: cspace::fault(i),
            cap,
        });
        threads.push(Thread {
            index: i,
            name: t.name.clone(),
            id: t.id,
            entry: t.entry,
            priority: t.priority,
            mcp: if is_server { t.priority } else { 0 },
            stack_size: t.stack_size,
            budget_us: t.budget_us,
            period_us: t.period_us,
            stack_top: vspace::stack_top(i),
            ipc_buffer: vspace::ipc_buffer(i),
            tcb_slot: cspace::tcb(i),
            endpoint: ep.map(|(slot, badge, _)| (slot, badge)),
            fault_slot: cspace::fault(i),
            fault_badge,
            core: t.core,
            core_location: t.core_location.clone(),
        });
    }
    if let (true, Some(hv)) = (is_server, input.hv) {
        for (k, &bits) in hv.untyped_size_bits.iter().enumerate() {
            caps.push(CapPlan {
                slot: cspace::untyped(k),
                cap: Cap::Untyped { size_bits: bits },
            });
        }
    }
    let mut regions = Vec::new();
    let mut next_slot = cspace::REGION_BASE;
    let mut vend = vspace::REGION_BASE;
    for (k, r) in regs.iter().enumerate() {
        let zircon_rights = if r.writable {
            Rights::READ | Rights::WRITE
        } else {
            Rights::READ
        };
        let mapping = frame_mapping(zircon_rights);
        let frame_count = r.size >> r.page_bits;
        let vaddr = r.map.then(|| {
            let start = vspace::next_region(vend);
            vend = start + r.size;
            start
        });
        caps.push(CapPlan {
            slot: next_slot,
            cap: Cap::RegionFrames {
                region: k as u8,
                count: frame_count,
            },
        });
        regions.push(Region {
            name: r.name.clone(),
            size: r.size,
            page_bits: r.page_bits,
            source: r.source,
            paddr: r.paddr,
            paddr_given: r.paddr_given,
            vaddr,
            zircon_rights,
            rights: mapping.rights.word(),
            execute_never: mapping.execute_never,
            guest: r.guest,
            zero_fill: r.source == MemorySource::VmMemory && r.preload.is_none(),
            preload: r.preload.clone(),
            frame_slot: next_slot,
            frame_count,
        });
        next_slot += frame_count;
    }
    // The server's working slots beyond the minimum: what every client may hold at once (a
    // slot per memory cell and per object made in one, per mapping, per GICV copy of a guest,
    // per VCPU reply slot and client thread), so no client can take slots another needs.
    let mut client_slots = 0;
    if is_server && input.hv.is_some() {
        for client in input.comps.iter().filter(|c| c.role == Role::Client) {
            let (Some(id), Some(ep)) = (client.client_id, &client.endpoint) else {
                continue;
            };
            let l = ep.limits;
            for size_bits in super::grants::untyped_blocks(l.memory) {
                caps.push(CapPlan {
                    slot: next_slot,
                    cap: Cap::ClientMemory {
                        client_id: id,
                        size_bits,
                    },
                });
                next_slot += 1;
            }
            client_slots += 2 * (l.memory >> 12)
                + u64::from(l.mappings)
                + 2 * u64::from(l.guests)
                + u64::from(l.vcpus)
                + client.threads.len() as u64;
        }
    }
    caps.sort_by_key(|c| c.slot);
    let first_free = next_slot;
    let need = first_free + cspace::MIN_FREE_SLOTS + client_slots;
    let cspace_bits = match &c.cspace_bits {
        Some((bits, span)) => {
            if 1u64 << bits < need {
                cx.err(
                    ErrorKind::CspaceSize,
                    span.clone(),
                    format!(
                        "cspace-bits {bits} gives {} slots; `{}` needs at least {need} \
                         ({first_free} for its capabilities, {} free)",
                        1u64 << bits,
                        c.name,
                        cspace::MIN_FREE_SLOTS
                    ),
                );
            }
            *bits
        }
        None => {
            let mut bits = if is_server {
                SERVER_CSPACE_BITS
            } else {
                DEFAULT_CSPACE_BITS
            };
            while 1u64 << bits < need && bits < cspace::MAX_SIZE_BITS {
                bits += 1;
            }
            if 1u64 << bits < need {
                cx.err(
                    ErrorKind::CspaceSize,
                    c.name_span.clone(),
                    format!(
                        "`{}` needs {need} CSpace slots; at most {} are possible",
                        c.name,
                        1u64 << bits
                    ),
                );
            }
            bits
        }
    };
    let handles = input
        .grants
        .iter()
        .filter(|g| g.component == index)
        .map(|g| g.handle.clone())
        .collect();
    Component {
        index,
        name: c.name.clone(),
        program: c.program.clone(),
        description: c.description.clone(),
        role: c.role,
        client_id: c.client_id,
        cspace_bits,
        first_free_slot: first_free,
        heap_size: c.heap_size,
        expect_stopped: c.expect_stopped,
        restarts: c.restarts,
        heap_vaddr: if c.heap_size > 0 { vspace::HEAP } else { 0 },
        threads,
        endpoint,
        regions,
        handles,
        caps,
    }
}

/// Bytes of stage-2 page tables a component's fixed mappings need (one table per distinct
/// 2 MiB, 1 GiB and 512 GiB block touched by 4 KiB mappings; 2 MiB mappings need no last level).
fn page_table_bytes(c: &Component) -> u64 {
    let mut ranges: Vec<(u64, u64, bool)> = vec![
        (
            vspace::IMAGE_START,
            vspace::IMAGE_START + ELF_ALLOWANCE,
            false,
        ),
        (vspace::BOOT_PAGE, vspace::BOOT_PAGE + 0x1000, false),
    ];
    for t in &c.threads {
        ranges.push((t.ipc_buffer, t.ipc_buffer + 0x1000, false));
        ranges.push((t.stack_top - t.stack_size, t.stack_top, false));
    }
    if c.heap_size > 0 {
        ranges.push((c.heap_vaddr, c.heap_vaddr + c.heap_size, false));
    }
    for r in &c.regions {
        if let Some(v) = r.vaddr {
            ranges.push((v, v + r.size, r.page_bits == 21));
        }
    }
    let mut levels: [BTreeSet<u64>; 3] = Default::default();
    for (start, end, large) in ranges {
        for (level, shift) in [(0usize, 39u32), (1, 30), (2, 21)] {
            if level == 2 && large {
                continue;
            }
            let mut block = start >> shift;
            while block << shift < end {
                levels[level].insert(block);
                block += 1;
            }
        }
    }
    levels.iter().map(|s| s.len() as u64 * 0x1000).sum()
}
