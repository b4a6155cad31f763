//! Placing each [`CapPlan`] in a component's CSpace, then configuring its threads.
//!
//! Capabilities go straight into the component's CNode (its root-CNode capability, indexed at
//! the CNode's full radix). Endpoint capabilities are minted from the originals the root task
//! keeps (the server's endpoint, the root task's fault endpoint) with the plan's rights and
//! badge, so the badge a thread's messages carry is exactly the one the plan computed.

use plan::{Cap as Planned, CapPlan, ComponentPlan, cspace, vspace as layout};
use sel4::{
    CNodeCapData, Cap, CapRights, ObjectType, USER_CONTEXT_WORDS, UserContext, WORD_DEPTH,
    cap_type, init,
};

use crate::alloc::Alloc;
use crate::error::{BootError, Cause, Context};
use crate::spawn::Process;

/// Objects shared by every component.
#[derive(Clone, Copy, Debug)]
pub struct Shared {
    /// The server's endpoint (the original, unbadged, all rights).
    pub server_ep: Cap<cap_type::Endpoint>,
    /// The root task's fault endpoint (the original).
    pub fault_ep: Cap<cap_type::Endpoint>,
    /// The console's endpoint (the original).
    pub console_ep: Cap<cap_type::Endpoint>,
    /// Cores the kernel runs on (BootInfo `numNodes`).
    pub cores: u8,
    /// MCS kernels: the SchedControl capability of core 0 (configures every thread's
    /// scheduling context); unused otherwise.
    pub sched_control: Cap<cap_type::SchedControl>,
}

/// Places every capability of `c`'s plan into its CNode.
pub fn place(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &Process,
    c: &ComponentPlan,
    shared: &Shared,
) -> Result<(), BootError> {
    let dest = p.cnode;
    let depth = c.cspace_size_bits;
    for &CapPlan { slot, cap } in c.caps {
        if slot == 0 || slot >> depth != 0 {
            return Err(BootError::new(
                "place a capability",
                Some(slot),
                Cause::BadPlan("slot outside the CSpace"),
            ));
        }
        let copy = |ipc: &mut sel4::IpcBuffer, src: u64, rights: CapRights, step| {
            dest.cnode_copy(ipc, slot, depth, init::CNODE, src, WORD_DEPTH, rights)
                .at(step, slot)
        };
        let mint = |ipc: &mut sel4::IpcBuffer, src: u64, rights: u64, badge: u64, step| {
            let rights = CapRights::from_word(rights);
            dest.cnode_mint(
                ipc,
                slot,
                depth,
                init::CNODE,
                src,
                WORD_DEPTH,
                rights,
                badge,
            )
            .at(step, slot)
        };
        match cap {
            Planned::CNode => mint(
                ipc,
                p.cnode.cptr(),
                CapRights::ALL.word(),
                cspace::guard_data(depth),
                "mint the component's own CNode capability",
            )?,
            Planned::VSpace => copy(
                ipc,
                p.vspace.cptr(),
                CapRights::ALL,
                "copy the VSpace capability",
            )?,
            Planned::Tcb { thread } => {
                let tcb = p.tcbs.get(usize::from(thread)).ok_or(BootError::new(
                    "copy a TCB capability",
                    Some(slot),
                    Cause::BadPlan("no such thread"),
                ))?;
                copy(ipc, tcb.cptr(), CapRights::ALL, "copy a TCB capability")?;
            }
            Planned::ServerEndpoint { rights, badge } => mint(
                ipc,
                shared.server_ep.cptr(),
                rights,
                badge,
                "mint a server endpoint capability",
            )?,
            Planned::ConsoleEndpoint { rights, badge } => mint(
                ipc,
                shared.console_ep.cptr(),
                rights,
                badge,
                "mint a console endpoint capability",
            )?,
            Planned::FaultEndpoint { rights, badge } => mint(
                ipc,
                shared.fault_ep.cptr(),
                rights,
                badge,
                "mint a fault endpoint capability",
            )?,
            Planned::AsidPool => {
                let ut: Cap<cap_type::Untyped> = alloc.retype(
                    ipc,
                    ObjectType::Untyped,
                    sel4::ASID_POOL_BITS,
                    "retype the memory of an ASID pool",
                )?;
                init::ASID_CONTROL
                    .asid_control_make_pool(ipc, ut, dest, slot, depth)
                    .at("make an ASID pool", slot)?;
            }
            Planned::Untyped { size_bits } | Planned::ClientMemory { size_bits, .. } => alloc
                .retype_into(
                    ipc,
                    ObjectType::Untyped,
                    u32::from(size_bits),
                    dest,
                    slot,
                    "retype an untyped for the component",
                )?,
            Planned::DeviceFrame {
                paddr,
                size_bits,
                rights,
            } => {
                let ty = match size_bits {
                    12 => ObjectType::SmallPage,
                    21 => ObjectType::LargePage,
                    _ => {
                        return Err(BootError::new(
                            "take a device frame",
                            Some(paddr),
                            Cause::BadPlan("device frames are 4 KiB or 2 MiB"),
                        ));
                    }
                };
                // The typed wrappers only need "a frame type"; the kernel knows the real size.
                let frame: Cap<cap_type::LargePage> =
                    alloc.frame_at(ipc, ty, paddr, "take a device frame")?;
                copy(
                    ipc,
                    frame.cptr(),
                    CapRights::from_word(rights),
                    "copy a device frame",
                )?;
            }
            Planned::RegionFrames { region, count } => {
                // The frames were placed when the region was created; check the plan agrees.
                let r = c.regions.get(usize::from(region));
                if r.is_none_or(|r| r.frame_slot != slot || r.frame_count != count) {
                    return Err(BootError::new(
                        "check region frame slots",
                        Some(slot),
                        Cause::BadPlan("region frames disagree with the region"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Configures every thread of `c` (spaces, IPC buffer, fault endpoint, priorities, registers)
/// without starting it. On MCS kernels each thread also gets a scheduling context (from
/// `sched_control`), a reply object at `plan::cspace::reply(t)`, and its fault endpoint as a
/// capability held by the TCB.
pub fn configure_threads(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &Process,
    c: &ComponentPlan,
    shared: &Shared,
) -> Result<(), BootError> {
    let guard = CNodeCapData::for_single_level(u32::from(c.cspace_size_bits)).ok_or(
        BootError::new("configure a TCB", None, Cause::BadPlan("CNode size")),
    )?;
    for (t, (tcb, frame)) in c.threads.iter().zip(p.tcbs.iter().zip(&p.ipc_frames)) {
        if sel4::CONFIG.mcs {
            configure_mcs(ipc, alloc, p, c, t, *tcb, *frame, guard, shared)?;
        } else {
            tcb.tcb_configure(
                ipc,
                t.fault_slot,
                p.cnode,
                guard,
                p.vspace,
                0,
                t.ipc_buffer,
                *frame,
            )
            .at("configure a TCB", t.tcb_slot)?;
            tcb.tcb_set_sched_params(ipc, init::TCB, u64::from(t.mcp), u64::from(t.priority))
                .at("set a thread's priority and MCP", u64::from(t.priority))?;
        }
        place_on_core(ipc, t, *tcb, shared.cores)?;
        let mut regs = UserContext::default();
        regs.set_pc(p.entry);
        regs.set_sp(t.stack_top);
        regs.set_x(0, layout::BOOT_PAGE);
        regs.set_x(1, u64::from(t.index));
        tcb.tcb_write_registers(ipc, false, USER_CONTEXT_WORDS as u64, &regs)
            .at("write a thread's registers", p.entry)?;
        let mut name: heapless::String<48> = heapless::String::new();
        // Too long a name is only cut short.
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("{}.{}", c.name, t.name));
        ipc.debug_name_thread(*tcb, &name);
    }
    Ok(())
}

/// Moves thread `t` to its manifest core before it starts (`TCB_SetAffinity`; a new TCB has
/// the affinity of the core that retyped it, the root task's core 0). MCS kernels place a
/// thread through its scheduling context's SchedControl core instead, which the root task does
/// not do yet, so there a core other than 0 is refused.
fn place_on_core(
    ipc: &mut sel4::IpcBuffer,
    t: &plan::ThreadPlan,
    tcb: Cap<cap_type::Tcb>,
    cores: u8,
) -> Result<(), BootError> {
    let refuse = |why| {
        Err(BootError::new(
            "place a thread on its core",
            Some(u64::from(t.core)),
            Cause::BadPlan(why),
        ))
    };
    if t.core >= cores {
        return refuse("the thread's core is not one of the kernel's cores");
    }
    if t.core == 0 {
        return Ok(());
    }
    if sel4::CONFIG.mcs {
        return refuse("threads on cores other than 0 are not supported on MCS kernels yet");
    }
    tcb.tcb_set_affinity(ipc, u64::from(t.core)).at(
        "place a thread on its core (TCB_SetAffinity)",
        u64::from(t.core),
    )
}

/// Starts every thread of a configured component.
pub fn start(ipc: &mut sel4::IpcBuffer, p: &Process) -> Result<(), BootError> {
    for tcb in &p.tcbs {
        tcb.tcb_resume(ipc).at("resume a thread", tcb.cptr())?;
    }
    Ok(())
}

/// The MCS part of [`configure_threads`] for thread `t`: spaces and IPC buffer, a reply object
/// in the component's CSpace, a scheduling context (budget and period from the plan), priority, MCP and the fault
/// endpoint (a badged copy minted into a root slot for the call, held by the TCB after it).
#[allow(clippy::too_many_arguments)]
fn configure_mcs(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &Process,
    c: &ComponentPlan,
    t: &plan::ThreadPlan,
    tcb: Cap<cap_type::Tcb>,
    frame: Cap<cap_type::SmallPage>,
    guard: CNodeCapData,
    shared: &Shared,
) -> Result<(), BootError> {
    tcb.tcb_configure_mcs(ipc, p.cnode, guard, p.vspace, 0, t.ipc_buffer, frame)
        .at("configure a TCB", t.tcb_slot)?;
    let reply = cspace::reply(usize::from(t.index));
    alloc.retype_into(
        ipc,
        ObjectType::Reply,
        0,
        p.cnode,
        reply,
        "retype a reply object",
    )?;
    let sc: Cap<cap_type::SchedContext> = alloc.retype(
        ipc,
        ObjectType::SchedContext,
        sel4::MIN_SCHED_CONTEXT_BITS,
        "retype a scheduling context",
    )?;
    shared
        .sched_control
        .sched_control_configure_flags(ipc, sc, t.budget_us, t.period_us, 0, t.fault_badge, 0)
        .at("configure a scheduling context", t.budget_us)?;
    let rights = c
        .caps
        .iter()
        .find_map(|cp| match cp.cap {
            Planned::FaultEndpoint { rights, .. } if cp.slot == t.fault_slot => Some(rights),
            _ => None,
        })
        .ok_or(BootError::new(
            "install a fault endpoint",
            Some(t.fault_slot),
            Cause::BadPlan("no fault endpoint at the thread's fault slot"),
        ))?;
    let temp = alloc.slot("mint a fault endpoint for a TCB")?;
    init::CNODE
        .cnode_mint(
            ipc,
            temp,
            WORD_DEPTH,
            init::CNODE,
            shared.fault_ep.cptr(),
            WORD_DEPTH,
            CapRights::from_word(rights),
            t.fault_badge,
        )
        .at("mint a fault endpoint for a TCB", temp)?;
    let set = tcb.tcb_set_sched_params_mcs(
        ipc,
        init::TCB,
        u64::from(t.mcp),
        u64::from(t.priority),
        sc.cptr(),
        temp,
    );
    alloc.delete(ipc, temp)?;
    set.at(
        "set a thread's scheduling context, priority, MCP and fault endpoint",
        u64::from(t.priority),
    )
}
