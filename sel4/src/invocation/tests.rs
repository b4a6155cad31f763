//! Word-for-word request layouts, and end-to-end wrappers over a recording fake kernel.

use std::cell::RefCell;
use std::vec::Vec;

use super::{CNodeSlotOp, CacheOp, IrqTrigger, Request, Response, VirqInjection};
use crate::abi::{InvocationLabel, Syscall};
use crate::arch::{SyscallRegs, host};
use crate::cap::{Cap, cap_type};
use crate::error::Error;
use crate::ipc_buffer::IpcBuffer;
use crate::message::{CNodeCapData, CapRights, MessageInfo};
use crate::object::{ObjectType, VmAttributes};
use crate::user_context::{UserContext, VcpuReg};

fn cap<T: crate::cap::CapType>(c: u64) -> Cap<T> {
    Cap::from_cptr(c)
}

/// Asserts label, words and caps of a request, and that the tag counts them.
fn check(r: &Request, label: InvocationLabel, words: &[u64], caps: &[u64]) {
    assert_eq!(r.label(), label.value(), "label of {label:?}");
    assert_eq!(r.words(), words, "words of {label:?}");
    assert_eq!(r.caps(), caps, "caps of {label:?}");
    assert_eq!(
        r.info(),
        MessageInfo::new(label.value(), 0, caps.len() as u64, words.len() as u64)
    );
}

#[test]
fn untyped_and_cnode_layouts() {
    let root = cap::<cap_type::CNode>(2);
    check(
        &Request::untyped_retype(ObjectType::Endpoint, 0, root, 0, 0, 300, 1),
        InvocationLabel::UntypedRetype,
        &[2, 0, 0, 0, 300, 1],
        &[2],
    );
    check(
        &Request::cnode_copy(10, 64, root, 11, 64, CapRights::READ),
        InvocationLabel::CNodeCopy,
        &[10, 64, 11, 64, 2],
        &[2],
    );
    check(
        &Request::cnode_mint(10, 64, cap(7), 11, 32, CapRights::ALL, 0xBEEF),
        InvocationLabel::CNodeMint,
        &[10, 64, 11, 32, 0xF, 0xBEEF],
        &[7],
    );
    check(
        &Request::cnode_move(1, 2, root, 3, 4),
        InvocationLabel::CNodeMove,
        &[1, 2, 3, 4],
        &[2],
    );
    check(
        &Request::cnode_mutate(1, 2, root, 3, 4, 5),
        InvocationLabel::CNodeMutate,
        &[1, 2, 3, 4, 5],
        &[2],
    );
    check(
        &Request::cnode_rotate(1, 2, 3, cap(8), 4, 5, 6, cap(9), 7, 8),
        InvocationLabel::CNodeRotate,
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[8, 9],
    );
    for (op, label) in [
        (CNodeSlotOp::Delete, InvocationLabel::CNodeDelete),
        (CNodeSlotOp::Revoke, InvocationLabel::CNodeRevoke),
        (CNodeSlotOp::SaveCaller, InvocationLabel::CNodeSaveCaller),
        (
            CNodeSlotOp::CancelBadgedSends,
            InvocationLabel::CNodeCancelBadgedSends,
        ),
    ] {
        check(&Request::cnode_slot_op(op, 42, 64), label, &[42, 64], &[]);
    }
}

#[test]
fn tcb_layouts() {
    let tcb = cap::<cap_type::Tcb>(1);
    check(
        &Request::tcb_read_registers(true, 0, 36),
        InvocationLabel::TCBReadRegisters,
        &[1, 36],
        &[],
    );
    check(
        &Request::tcb_read_registers(false, 3, 1),
        InvocationLabel::TCBReadRegisters,
        &[0x300, 1],
        &[],
    );
    let mut regs = UserContext::default();
    regs.set_pc(0x1000);
    regs.set_sp(0x2000);
    regs.set_spsr(0x3c5);
    regs.set_x(0, 0x4000);
    check(
        &Request::tcb_write_registers(true, 0, 4, &regs),
        InvocationLabel::TCBWriteRegisters,
        &[1, 4, 0x1000, 0x2000, 0x3c5, 0x4000],
        &[],
    );
    let full = Request::tcb_write_registers(false, 0, 36, &regs);
    assert_eq!(full.words().len(), 38);
    // An impossible count is passed through for the kernel to reject, with 36 registers.
    let over = Request::tcb_write_registers(false, 0, 99, &regs);
    assert_eq!((over.words().len(), over.words()[1]), (38, 99));
    check(
        &Request::tcb_configure(
            5,
            cap(6),
            CNodeCapData::new(0, 61),
            cap(7),
            0,
            0x40_0000,
            cap(8),
        ),
        InvocationLabel::TCBConfigure,
        &[5, 61, 0, 0x40_0000],
        &[6, 7, 8],
    );
    check(
        &Request::tcb_set_space(5, cap(6), CNodeCapData::default(), cap(7), 9),
        InvocationLabel::TCBSetSpace,
        &[5, 0, 9],
        &[6, 7],
    );
    check(
        &Request::tcb_set_ipc_buffer(0x1000, cap(4)),
        InvocationLabel::TCBSetIPCBuffer,
        &[0x1000],
        &[4],
    );
    check(
        &Request::tcb_set_priority(tcb, 200),
        InvocationLabel::TCBSetPriority,
        &[200],
        &[1],
    );
    check(
        &Request::tcb_set_mc_priority(tcb, 100),
        InvocationLabel::TCBSetMCPriority,
        &[100],
        &[1],
    );
    check(
        &Request::tcb_set_sched_params(tcb, 100, 90),
        InvocationLabel::TCBSetSchedParams,
        &[100, 90],
        &[1],
    );
    check(
        &Request::tcb_suspend(),
        InvocationLabel::TCBSuspend,
        &[],
        &[],
    );
    check(&Request::tcb_resume(), InvocationLabel::TCBResume, &[], &[]);
    check(
        &Request::tcb_bind_notification(cap(3)),
        InvocationLabel::TCBBindNotification,
        &[],
        &[3],
    );
    check(
        &Request::tcb_unbind_notification(),
        InvocationLabel::TCBUnbindNotification,
        &[],
        &[],
    );
    check(
        &Request::tcb_set_tls_base(0xAB),
        InvocationLabel::TCBSetTLSBase,
        &[0xAB],
        &[],
    );
    check(
        &Request::tcb_set_flags(1, 0),
        InvocationLabel::TCBSetFlags,
        &[1, 0],
        &[],
    );
}

#[test]
fn paging_layouts() {
    let vs = cap::<cap_type::VSpace>(3);
    check(
        &Request::page_table_map(vs, 0x8000_0000, VmAttributes::DEFAULT),
        InvocationLabel::ARMPageTableMap,
        &[0x8000_0000, 3],
        &[3],
    );
    check(
        &Request::page_table_unmap(),
        InvocationLabel::ARMPageTableUnmap,
        &[],
        &[],
    );
    check(
        &Request::frame_map(
            vs,
            0x1000,
            CapRights::READ_WRITE,
            VmAttributes::EXECUTE_NEVER,
        ),
        InvocationLabel::ARMPageMap,
        &[0x1000, 3, 4],
        &[3],
    );
    check(
        &Request::frame_unmap(),
        InvocationLabel::ARMPageUnmap,
        &[],
        &[],
    );
    check(
        &Request::frame_get_address(),
        InvocationLabel::ARMPageGetAddress,
        &[],
        &[],
    );
    let ops = [
        (
            CacheOp::Clean,
            InvocationLabel::ARMPageClean_Data,
            InvocationLabel::ARMVSpaceClean_Data,
        ),
        (
            CacheOp::Invalidate,
            InvocationLabel::ARMPageInvalidate_Data,
            InvocationLabel::ARMVSpaceInvalidate_Data,
        ),
        (
            CacheOp::CleanInvalidate,
            InvocationLabel::ARMPageCleanInvalidate_Data,
            InvocationLabel::ARMVSpaceCleanInvalidate_Data,
        ),
        (
            CacheOp::UnifyInstruction,
            InvocationLabel::ARMPageUnify_Instruction,
            InvocationLabel::ARMVSpaceUnify_Instruction,
        ),
    ];
    for (op, page, vspace) in ops {
        check(&Request::frame_cache_op(op, 0, 4096), page, &[0, 4096], &[]);
        check(
            &Request::vspace_cache_op(op, 0x1000, 0x3000),
            vspace,
            &[0x1000, 0x3000],
            &[],
        );
    }
    check(
        &Request::asid_control_make_pool(cap(100), cap(2), 50, 64),
        InvocationLabel::ARMASIDControlMakePool,
        &[50, 64],
        &[100, 2],
    );
    check(
        &Request::asid_pool_assign(vs),
        InvocationLabel::ARMASIDPoolAssign,
        &[],
        &[3],
    );
}

#[test]
fn vcpu_irq_smc_layouts() {
    check(
        &Request::vcpu_set_tcb(cap(9)),
        InvocationLabel::ARMVCPUSetTCB,
        &[],
        &[9],
    );
    let inj = VirqInjection {
        virq: 27,
        priority: 0xA0,
        group: 1,
        index: 3,
    };
    assert_eq!(inj.word(), 27 | (0xA0 << 16) | (1 << 24) | (3 << 32));
    check(
        &Request::vcpu_inject_irq(inj),
        InvocationLabel::ARMVCPUInjectIRQ,
        &[inj.word()],
        &[],
    );
    check(
        &Request::vcpu_read_regs(VcpuReg::Cntvoff),
        InvocationLabel::ARMVCPUReadReg,
        &[22],
        &[],
    );
    check(
        &Request::vcpu_write_regs(VcpuReg::VmpidrEl2, 0x8000_0000),
        InvocationLabel::ARMVCPUWriteReg,
        &[16, 0x8000_0000],
        &[],
    );
    check(
        &Request::vcpu_ack_vppi(27),
        InvocationLabel::ARMVCPUAckVPPI,
        &[27],
        &[],
    );
    check(
        &Request::irq_control_get(33, cap(2), 400, 64),
        InvocationLabel::IRQIssueIRQHandler,
        &[33, 400, 64],
        &[2],
    );
    check(
        &Request::irq_control_get_trigger(48, IrqTrigger::Edge, cap(2), 401, 64),
        InvocationLabel::ARMIRQIssueIRQHandlerTrigger,
        &[48, 1, 401, 64],
        &[2],
    );
    check(
        &Request::irq_handler_ack(),
        InvocationLabel::IRQAckIRQ,
        &[],
        &[],
    );
    check(
        &Request::irq_handler_set_notification(cap(5)),
        InvocationLabel::IRQSetIRQHandler,
        &[],
        &[5],
    );
    check(
        &Request::irq_handler_clear(),
        InvocationLabel::IRQClearIRQHandler,
        &[],
        &[],
    );
    let args = [0x8400_0008, 1, 2, 3, 4, 5, 6, 7];
    check(
        &Request::smc_call(&args),
        InvocationLabel::ARMSMCCall,
        &args,
        &[],
    );
}

#[test]
fn response_reads_registers_then_buffer() {
    let mut msg = [0u64; 120];
    msg[4] = 44;
    msg[5] = 55;
    let r = Response::from_parts(MessageInfo::new(0, 0, 0, 6), [0, 1, 2, 3], &msg);
    assert_eq!(r.words(), &[0, 1, 2, 3, 44, 55]);
    assert_eq!(r.result(), Ok(()));
    assert_eq!(r.word(9), 0);
    let e = Response::new(Error::RangeError.code(), &[1, 31]);
    assert_eq!(e.result(), Err(Error::RangeError));
}

// ---- end to end through the host fake kernel --------------------------------------------

/// What the fake kernel saw: syscall, x0, tag, all words (regs + buffer) and the cap cptrs.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    sys: Syscall,
    x0: u64,
    info: MessageInfo,
    words: Vec<u64>,
    caps: Vec<u64>,
}

std::thread_local! {
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
    static REPLY: RefCell<(u64, Vec<u64>)> = const { RefCell::new((0, Vec::new())) };
}

/// Records the call, as the kernel would read it, then replies with REPLY (label, words),
/// putting words 0..4 in registers and the rest in the buffer.
fn fake_kernel(sys: Syscall, regs: &mut SyscallRegs, buf: Option<&mut IpcBuffer>) {
    let info = MessageInfo::from_word(regs.x1);
    let mut buf = buf;
    let mut words = Vec::new();
    let mut caps = Vec::new();
    for i in 0..info.length() {
        words.push(if i < 4 {
            regs.mrs[i]
        } else {
            buf.as_ref().map_or(0, |b| b.msg()[i])
        });
    }
    for i in 0..info.extra_caps() {
        caps.push(buf.as_ref().map_or(0, |b| b.caps_or_badges()[i]));
    }
    SEEN.with(|s| {
        s.borrow_mut().push(Seen {
            sys,
            x0: regs.x0,
            info,
            words,
            caps,
        })
    });
    let (label, reply) = REPLY.with(|r| r.borrow().clone());
    for (i, w) in reply.iter().enumerate() {
        if i < 4 {
            regs.mrs[i] = *w;
        } else if let Some(b) = buf.as_mut() {
            b.msg_mut()[i] = *w;
        }
    }
    regs.x0 = 0;
    regs.x1 = MessageInfo::new(label, 0, 0, reply.len() as u64).word();
}

fn with_fake<R>(label: u64, reply: &[u64], f: impl FnOnce(&mut IpcBuffer) -> R) -> (R, Vec<Seen>) {
    host::set_syscall_handler(Some(fake_kernel));
    SEEN.with(|s| s.borrow_mut().clear());
    REPLY.with(|r| *r.borrow_mut() = (label, reply.to_vec()));
    let mut ipc = std::boxed::Box::new(IpcBuffer::new());
    let out = f(&mut ipc);
    (out, SEEN.with(|s| s.borrow().clone()))
}

#[test]
fn wrappers_send_the_built_request() {
    let (res, seen) = with_fake(0, &[], |ipc| {
        cap::<cap_type::CNode>(2).cnode_mint(ipc, 10, 64, cap(2), 11, 64, CapRights::WRITE, 7)
    });
    assert_eq!(res, Ok(()));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sys, Syscall::Call);
    assert_eq!(seen[0].x0, 2);
    assert_eq!(
        seen[0].words,
        [10, 64, 11, 64, 1, 7],
        "words 4.. reach the buffer"
    );
    assert_eq!(seen[0].caps, [2]);
}

#[test]
fn wrappers_decode_results_and_errors() {
    let (addr, _) = with_fake(0, &[0x6000_1000], |ipc| {
        cap::<cap_type::SmallPage>(9).frame_get_address(ipc)
    });
    assert_eq!(addr, Ok(0x6000_1000));
    let (err, _) = with_fake(Error::DeleteFirst.code(), &[], |ipc| {
        cap::<cap_type::PageTable>(9).page_table_map(ipc, cap(3), 0, VmAttributes::DEFAULT)
    });
    assert_eq!(err, Err(Error::DeleteFirst));
    let regs: Vec<u64> = (100..136).collect();
    let (ctx, seen) = with_fake(0, &regs, |ipc| {
        cap::<cap_type::Tcb>(5).tcb_read_registers(ipc, false, 36)
    });
    assert_eq!(seen[0].words, [0, 36]);
    let ctx = ctx.expect("ok");
    assert_eq!(
        ctx.words()[..],
        regs[..],
        "MR4.. come from the buffer, MR0..3 from registers"
    );
    let (smc, _) = with_fake(0, &[1, 2, 3, 4, 5, 6, 7, 8], |ipc| {
        cap::<cap_type::Smc>(15).smc_call(ipc, &[0x8400_0000, 0, 0, 0, 0, 0, 0, 0])
    });
    assert_eq!(smc, Ok([1, 2, 3, 4, 5, 6, 7, 8]));
}

#[test]
fn ipc_moves_first_four_words_through_registers() {
    let (info, seen) = with_fake(0x77, &[9, 8, 7, 6, 5], |ipc| {
        for (i, w) in ipc.msg_mut().iter_mut().take(6).enumerate() {
            *w = i as u64 + 1;
        }
        let info = cap::<cap_type::Endpoint>(40).call(ipc, MessageInfo::new(3, 0, 0, 6));
        assert_eq!(&ipc.msg()[..5], &[9, 8, 7, 6, 5], "reply lands in msg[]");
        info
    });
    assert_eq!((info.label(), info.length()), (0x77, 5));
    assert_eq!(seen[0].words, [1, 2, 3, 4, 5, 6]);
    let (badge, seen) = with_fake(0, &[], |ipc| cap::<cap_type::Notification>(4).wait(ipc));
    assert_eq!((badge, seen[0].sys, seen[0].x0), (0, Syscall::Recv, 4));
}

#[test]
fn lean_wrappers_send_the_builders_words() {
    use crate::user_context::{UserContext, VcpuReg};
    let mut ctx = UserContext::zeroed();
    for (i, w) in ctx.words_mut().iter_mut().enumerate() {
        *w = 1000 + i as u64;
    }
    let tcb = cap::<cap_type::Tcb>(5);
    let vcpu = cap::<cap_type::Vcpu>(6);
    let cnode = cap::<cap_type::CNode>(2);
    use std::boxed::Box;
    type Wrapper = Box<dyn Fn(&mut IpcBuffer)>;
    let cases: Vec<(Request, Wrapper)> = std::vec![
        (
            Request::tcb_read_registers(false, 0, 4),
            Box::new(move |ipc| {
                let _ = tcb.tcb_read_registers(ipc, false, 4);
            }),
        ),
        (
            Request::tcb_write_registers(false, 0, 1, &ctx),
            Box::new(move |ipc| {
                let _ = tcb.tcb_write_registers(ipc, false, 1, &ctx);
            }),
        ),
        (
            Request::tcb_write_registers(true, 0, 34, &ctx),
            Box::new(move |ipc| {
                let _ = tcb.tcb_write_registers(ipc, true, 34, &ctx);
            }),
        ),
        (
            Request::tcb_write_registers(false, 0, 40, &ctx),
            Box::new(move |ipc| {
                let _ = tcb.tcb_write_registers(ipc, false, 40, &ctx);
            }),
        ),
        (
            Request::tcb_suspend(),
            Box::new(move |ipc| {
                let _ = tcb.tcb_suspend(ipc);
            }),
        ),
        (
            Request::tcb_resume(),
            Box::new(move |ipc| {
                let _ = tcb.tcb_resume(ipc);
            }),
        ),
        (
            Request::vcpu_read_regs(VcpuReg::CntvCtl),
            Box::new(move |ipc| {
                let _ = vcpu.vcpu_read_regs(ipc, VcpuReg::CntvCtl);
            }),
        ),
        (
            Request::vcpu_write_regs(VcpuReg::SpEl1, 77),
            Box::new(move |ipc| {
                let _ = vcpu.vcpu_write_regs(ipc, VcpuReg::SpEl1, 77);
            }),
        ),
        (
            Request::vcpu_inject_irq(super::VirqInjection {
                virq: 40,
                priority: 2,
                group: 0,
                index: 3,
            }),
            Box::new(move |ipc| {
                let _ = vcpu.vcpu_inject_irq(ipc, 40, 2, 0, 3);
            }),
        ),
        (
            Request::vcpu_ack_vppi(27),
            Box::new(move |ipc| {
                let _ = vcpu.vcpu_ack_vppi(ipc, 27);
            }),
        ),
        (
            Request::cnode_slot_op(super::CNodeSlotOp::SaveCaller, 300, 64),
            Box::new(move |ipc| {
                let _ = cnode.cnode_save_caller(ipc, 300, 64);
            }),
        ),
    ];
    for (built, wrapper) in cases {
        let ((), seen) = with_fake(0, &[], |ipc| wrapper(ipc));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].sys, Syscall::Call);
        assert_eq!(seen[0].info, built.info(), "label {}", built.label());
        assert_eq!(seen[0].words, built.words(), "label {}", built.label());
        assert!(seen[0].caps.is_empty());
    }
    // Results come back from registers and the buffer; a short reply leaves the rest alone.
    let regs: Vec<u64> = (100..106).collect();
    let (r, _) = with_fake(0, &regs, |ipc| {
        let mut out = UserContext::zeroed();
        tcb.tcb_read_registers_into(ipc, false, 6, &mut out)
            .map(|()| out)
    });
    assert_eq!(&r.unwrap().words()[..7], &[100, 101, 102, 103, 104, 105, 0]);
    let (v, _) = with_fake(0, &[0x3], |ipc| vcpu.vcpu_read_regs(ipc, VcpuReg::CntvCtl));
    assert_eq!(v, Ok(3));
    let (e, _) = with_fake(Error::RangeError.code(), &[], |ipc| tcb.tcb_resume(ipc));
    assert_eq!(e, Err(Error::RangeError));
}
