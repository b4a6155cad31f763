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
            Planned::Untyped { size_bits } => alloc.retype_into(
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
/// without starting it.
pub fn configure_threads(
    ipc: &mut sel4::IpcBuffer,
    p: &Process,
    c: &ComponentPlan,
    cores: u8,
) -> Result<(), BootError> {
    let guard = CNodeCapData::for_single_level(u32::from(c.cspace_size_bits)).ok_or(
        BootError::new("configure a TCB", None, Cause::BadPlan("CNode size")),
    )?;
    for (t, (tcb, frame)) in c.threads.iter().zip(p.tcbs.iter().zip(&p.ipc_frames)) {
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
        if t.core >= cores {
            return Err(BootError::new(
                "place a thread on its core",
                Some(u64::from(t.core)),
                Cause::BadPlan("the thread's core is not one of the kernel's cores"),
            ));
        }
        if t.core != 0 {
            // A new TCB has the affinity of the core that retyped it: the root task's, 0.
            tcb.tcb_set_affinity(ipc, u64::from(t.core)).at(
                "place a thread on its core (TCB_SetAffinity)",
                u64::from(t.core),
            )?;
        }
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

/// Starts every thread of a configured component.
pub fn start(ipc: &mut sel4::IpcBuffer, p: &Process) -> Result<(), BootError> {
    for tcb in &p.tcbs {
        tcb.tcb_resume(ipc).at("resume a thread", tcb.cptr())?;
    }
    Ok(())
}
