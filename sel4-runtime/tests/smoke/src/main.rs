//! Smoke root task: exercises the `sel4` bindings and `sel4-runtime` on the real kernel.
//!
//! Prints `PASS <case>` / `FAIL <case>: <detail>` lines (the xtask runner's format), then the
//! success or failure sentinel, then powers QEMU off through PSCI SYSTEM_OFF on the SMC cap.
//! With `--features panic-test` it ends with a deliberate panic instead, to check that the
//! panic handler prints the failure sentinel and stops the thread.
//!
//! Cases: BootInfo parsing; Untyped_Retype (endpoint, notification, TCB, frame, page tables);
//! CNode Copy/Mint/Delete; notification Signal/Poll with a badge; Page GetAddress/Map and
//! PageTable_Map; a second thread (TCB Configure/SetSchedParams/WriteRegisters/Resume) doing
//! Call with 6 words to the root task's Recv, a 5-word Reply, Suspend and ReadRegisters.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use sel4::{
    BootInfo, CNodeCapData, Cap, CapRights, Error, IpcBuffer, MessageInfo, ObjectType, UserContext,
    VmAttributes, WORD_DEPTH, cap_type, init,
};
use sel4_runtime::{debug_println, root_task};

root_task!(main);

/// Stack of the second thread.
static CHILD_STACK: sel4_runtime::Stack<16384> = sel4_runtime::Stack::new();
/// Where the child's IPC buffer frame is mapped: beyond the first 512 GiB, so PA44 needs three new
/// page tables (L1, L2, L3) under the level-0 VSpace root.
const CHILD_IPC_VADDR: u64 = 0x100_0000_0000;
const EP_BADGE: u64 = 0x1234;
const NTFN_BADGE: u64 = 0x50;

/// Hands out empty root-CNode slots and retypes objects from one untyped into them.
struct Alloc {
    untyped: Cap<cap_type::Untyped>,
    next: u64,
    end: u64,
}

impl Alloc {
    fn take(&mut self) -> u64 {
        if self.next >= self.end {
            panic!("out of empty slots");
        }
        self.next += 1;
        self.next - 1
    }

    fn retype(&mut self, ipc: &mut IpcBuffer, ty: ObjectType) -> Result<u64, Error> {
        let slot = self.take();
        self.untyped
            .untyped_retype(ipc, ty, 0, init::CNODE, 0, 0, slot, 1)
            .map(|()| slot)
    }
}

struct Report {
    failed: u32,
}

impl Report {
    fn case(&mut self, name: &str, ok: bool, detail: core::fmt::Arguments<'_>) {
        if ok {
            debug_println!("PASS {name}");
        } else {
            self.failed += 1;
            debug_println!("FAIL {name}: {detail}");
        }
    }

    fn result<T>(&mut self, name: &str, r: Result<T, Error>) -> Option<T> {
        match r {
            Ok(v) => {
                debug_println!("PASS {name}");
                Some(v)
            }
            Err(e) => {
                self.failed += 1;
                debug_println!("FAIL {name}: {e}");
                None
            }
        }
    }
}

fn main(bootinfo: BootInfo<'static>, ipc: &'static mut IpcBuffer) -> ! {
    // A root task without a console component: print through the kernel (debug kernels).
    sel4_runtime::use_kernel_console();
    debug_println!("smoke: hello from sel4-runtime");
    ipc.debug_name_thread(init::TCB, "sel4-smoke");
    let mut report = Report { failed: 0 };
    run(&bootinfo, ipc, &mut report);
    if report.failed == 0 {
        debug_println!("{}", sel4_runtime::SUCCESS_SENTINEL);
    } else {
        debug_println!("smoke: {} case(s) failed", report.failed);
        debug_println!("{}", sel4_runtime::FAILURE_SENTINEL);
    }
    if cfg!(feature = "panic-test") {
        panic!("deliberate panic (panic-test)");
    }
    debug_println!("smoke: PSCI SYSTEM_OFF");
    let off = init::SMC.smc_call(ipc, &[sel4::PSCI_SYSTEM_OFF, 0, 0, 0, 0, 0, 0, 0]);
    panic!("SYSTEM_OFF returned {off:?}");
}

fn run(bi: &BootInfo<'static>, ipc: &mut IpcBuffer, report: &mut Report) {
    let n_dev = bi.untyped_list().filter(|u| u.is_device).count();
    debug_println!(
        "smoke: bootinfo: {} untypeds ({} device), empty slots {}..{}, image frames {}..{}, \
         ipc buffer {:#x}, cnode bits {}",
        bi.untyped_count(),
        n_dev,
        bi.empty().start,
        bi.empty().end,
        bi.user_image_frames().start,
        bi.user_image_frames().end,
        bi.ipc_buffer_addr(),
        bi.init_thread_cnode_size_bits()
    );
    report.case(
        "bootinfo",
        bi.untyped_count() > 0 && bi.init_thread_cnode_size_bits() == 12 && !bi.empty().is_empty(),
        format_args!("{bi:?}"),
    );
    // The smallest RAM untyped of at least 128 KiB: the first retype zeroes it all.
    let Some(ut) = bi
        .untyped_list()
        .filter(|u| !u.is_device && u.size_bits >= 17)
        .min_by_key(|u| u.size_bits)
    else {
        report.case("untyped", false, format_args!("no RAM untyped of 128 KiB"));
        return;
    };
    debug_println!(
        "smoke: using untyped slot {} paddr {:#x} bits {}",
        ut.slot,
        ut.paddr,
        ut.size_bits
    );
    let mut alloc = Alloc {
        untyped: Cap::from_cptr(ut.slot),
        next: bi.empty().start,
        end: bi.empty().end,
    };

    let Some(ep) = report.result("retype endpoint", alloc.retype(ipc, ObjectType::Endpoint)) else {
        return;
    };
    let Some(ntfn) = report.result(
        "retype notification",
        alloc.retype(ipc, ObjectType::Notification),
    ) else {
        return;
    };
    let Some(tcb) = report.result("retype tcb", alloc.retype(ipc, ObjectType::Tcb)) else {
        return;
    };
    let Some(frame) = report.result("retype frame", alloc.retype(ipc, ObjectType::SmallPage))
    else {
        return;
    };
    let (copy, minted, ntfn_badged) = (alloc.take(), alloc.take(), alloc.take());
    let root = init::CNODE;
    report.result(
        "cnode copy",
        root.cnode_copy(ipc, copy, WORD_DEPTH, root, ep, WORD_DEPTH, CapRights::ALL),
    );
    let rights = CapRights::new(true, false, false, true);
    report.result(
        "cnode mint badged endpoint",
        root.cnode_mint(
            ipc, minted, WORD_DEPTH, root, ep, WORD_DEPTH, rights, EP_BADGE,
        ),
    );
    report.result(
        "cnode mint badged notification",
        root.cnode_mint(
            ipc,
            ntfn_badged,
            WORD_DEPTH,
            root,
            ntfn,
            WORD_DEPTH,
            CapRights::ALL,
            NTFN_BADGE,
        ),
    );
    let occupied = root.cnode_copy(ipc, copy, WORD_DEPTH, root, ep, WORD_DEPTH, CapRights::ALL);
    report.case(
        "cnode copy into a full slot fails",
        occupied == Err(Error::DeleteFirst),
        format_args!("{occupied:?}"),
    );
    report.result("cnode delete", root.cnode_delete(ipc, copy, WORD_DEPTH));

    Cap::<cap_type::Notification>::from_cptr(ntfn_badged).signal();
    let word = Cap::<cap_type::Notification>::from_cptr(ntfn).poll(ipc);
    report.case(
        "notification signal/poll",
        word == NTFN_BADGE,
        format_args!("word {word:#x}"),
    );

    let frame_cap: Cap<cap_type::SmallPage> = Cap::from_cptr(frame);
    if let Some(paddr) = report.result("frame get address", frame_cap.frame_get_address(ipc)) {
        debug_println!("smoke: frame paddr {paddr:#x}");
    }
    let mapped = map_with_tables(ipc, frame_cap, CHILD_IPC_VADDR, &mut alloc);
    let Some(tables) = report.result("frame map (with page tables)", mapped) else {
        return;
    };
    report.case(
        "page tables created",
        tables == 3,
        format_args!("{tables} tables"),
    );

    child_round_trip(
        ipc,
        report,
        Cap::from_cptr(tcb),
        Cap::from_cptr(ep),
        minted,
        frame_cap,
    );
}

/// Maps `frame` at `vaddr` in the root VSpace, adding page tables while the kernel reports a
/// missing level. Returns the number of tables created.
fn map_with_tables(
    ipc: &mut IpcBuffer,
    frame: Cap<cap_type::SmallPage>,
    vaddr: u64,
    alloc: &mut Alloc,
) -> Result<u32, Error> {
    let mut tables = 0;
    loop {
        match frame.frame_map(
            ipc,
            init::VSPACE,
            vaddr,
            CapRights::READ_WRITE,
            VmAttributes::DEFAULT,
        ) {
            Err(Error::FailedLookup) if tables < 3 => {
                let pt: Cap<cap_type::PageTable> =
                    Cap::from_cptr(alloc.retype(ipc, ObjectType::PageTable)?);
                pt.page_table_map(ipc, init::VSPACE, vaddr, VmAttributes::DEFAULT)?;
                tables += 1;
            }
            other => return other.map(|()| tables),
        }
    }
}

fn child_round_trip(
    ipc: &mut IpcBuffer,
    report: &mut Report,
    tcb: Cap<cap_type::Tcb>,
    ep: Cap<cap_type::Endpoint>,
    badged_ep: u64,
    ipc_frame: Cap<cap_type::SmallPage>,
) {
    let configured = tcb.tcb_configure(
        ipc,
        0,
        init::CNODE,
        CNodeCapData::default(),
        init::VSPACE,
        0,
        CHILD_IPC_VADDR,
        ipc_frame,
    );
    report.result("tcb configure", configured);
    report.result(
        "tcb set sched params",
        tcb.tcb_set_sched_params(ipc, init::TCB, 200, 200),
    );
    ipc.debug_name_thread(tcb, "smoke-child");
    let mut regs = UserContext::default();
    regs.set_pc(child_entry as *const () as u64);
    let stack_top = &CHILD_STACK as *const _ as u64 + 16384;
    regs.set_sp(stack_top);
    regs.set_x(0, CHILD_IPC_VADDR);
    regs.set_x(1, badged_ep);
    report.result(
        "tcb write registers + resume",
        tcb.tcb_write_registers(ipc, true, 36, &regs),
    );

    // The child (priority 200) runs once we block here.
    let (info, badge) = ep.recv(ipc);
    let words = &ipc.msg()[..info.length()];
    report.case(
        "recv call from child",
        badge == EP_BADGE && info.label() == 0x42 && words == [1, 2, 3, 4, 5, 6],
        format_args!("badge {badge:#x} {info:?} words {words:?}"),
    );
    ipc.msg_mut()[..5].copy_from_slice(&[11, 12, 13, 14, 15]);
    ipc.reply(MessageInfo::new(0, 0, 0, 5));
    // The child checks the reply and reports with a second Call (label 1 = reply was right).
    let (info, _) = ep.recv(ipc);
    report.case(
        "child saw the 5-word reply",
        info.label() == 1,
        format_args!("child reported label {}", info.label()),
    );
    report.result("tcb suspend child", tcb.tcb_suspend(ipc));
    if let Some(ctx) = report.result("tcb read registers", tcb.tcb_read_registers(ipc, false, 36)) {
        debug_println!("smoke: child pc {:#x} sp {:#x}", ctx.pc(), ctx.sp());
        report.case(
            "child registers",
            ctx.sp() <= stack_top && ctx.sp() > stack_top - 16384,
            format_args!("sp {:#x}", ctx.sp()),
        );
    }
}

/// The second thread: x0 = its IPC buffer, x1 = a badged endpoint cap. It never returns.
#[allow(unsafe_code)] // takes the IPC buffer the root task set up for this thread
extern "C" fn child_entry(ipc_addr: u64, ep: u64) -> ! {
    // Safety: the root task registered this frame as this thread's IPC buffer (TCB_Configure)
    // and never touches it; this is the only reference.
    let Some(ipc) = (unsafe { IpcBuffer::from_addr(ipc_addr as usize) }) else {
        sel4::fault_on_null_cap()
    };
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(ep);
    ipc.msg_mut()[..6].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
    let reply = ep.call(ipc, MessageInfo::new(0x42, 0, 0, 6));
    let ok = reply.label() == 0 && ipc.msg()[..reply.length()] == [11, 12, 13, 14, 15];
    ep.call(ipc, MessageInfo::new(if ok { 1 } else { 2 }, 0, 0, 0));
    sel4::fault_on_null_cap()
}
