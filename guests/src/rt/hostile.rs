//! The `hostile` guest's escape attempts: one instruction (with fixed registers) per
//! `guests::hostile::Action`. Each returns the two words the guest reports (RESULT, DETAIL).
//!
//! Accesses and jumps to guest RAM are refused (returning `(u64::MAX, u64::MAX)` without
//! executing anything): they could hit the image itself, and no step needs them.
#![allow(unsafe_code)]

use core::arch::asm;

use guests::hostile::{Action, STORE_VALUE};
use guests::layout::{RAM_BASE, RAM_END};

use crate::rt::{clear_expected, expect_exception};

/// Performs `action`; returns (RESULT, DETAIL) as documented on [`Action`].
pub fn run(action: Action) -> (u64, u64) {
    match action {
        Action::Hvc { number, x0, args } => hvc(number, x0, args),
        Action::HvcImmMax { number } => hvc_imm_max(number),
        Action::Smc { function } => smc::<0>(function),
        Action::SmcImm1 { function } => smc::<1>(function),
        Action::SmcImmMax { function } => smc::<0xFFFF>(function),
        Action::Load { addr }
        | Action::Store { addr }
        | Action::Store32 { addr }
        | Action::LoadPair { addr }
        | Action::LoadPostIndex { addr }
        | Action::Jump { addr }
            if (RAM_BASE..RAM_END).contains(&addr) =>
        {
            (u64::MAX, u64::MAX)
        }
        Action::Load { addr } => load(addr),
        Action::Store { addr } => store(addr),
        Action::Store32 { addr } => store32(addr),
        Action::LoadPair { addr } => load_pair(addr),
        Action::LoadPostIndex { addr } => load_post_index(addr),
        Action::Jump { addr } => jump(addr),
        Action::ReadCntpCtl => read_cntp_ctl(),
        Action::WriteCntpCtl => write_cntp_ctl(),
        Action::ReadCntpct => read_cntpct(),
        Action::Svc0
        | Action::SvcMax
        | Action::Brk0
        | Action::Udf
        | Action::ReadHcrEl2
        | Action::WriteVbarEl2
        | Action::IllegalEret => {
            expect_exception();
            let esr = el1_exception(action);
            clear_expected();
            (esr, 0)
        }
    }
}

fn hvc(number: i64, x0: u64, args: [u64; 6]) -> (u64, u64) {
    let (mut r0, mut r1) = (x0, args[0]);
    // Safety: HVC enters seL4 (a syscall, or a fault to the server). A VCPU thread has no IPC
    // buffer, so the kernel writes no guest memory; registers x0..x7 are treated as changed.
    unsafe {
        asm!(
            "hvc #0",
            inout("x0") r0,
            inout("x1") r1,
            inout("x2") args[1] => _,
            inout("x3") args[2] => _,
            inout("x4") args[3] => _,
            inout("x5") args[4] => _,
            inout("x6") args[5] => _,
            inout("x7") number => _,
            options(nostack),
        )
    };
    (r0, r1)
}

fn hvc_imm_max(number: i64) -> (u64, u64) {
    let (mut r0, mut r1) = (0u64, 0u64);
    // Safety: as for `hvc`.
    unsafe {
        asm!(
            "hvc #0xffff",
            inout("x0") r0,
            inout("x1") r1,
            inout("x2") 0u64 => _,
            inout("x3") 0u64 => _,
            inout("x4") 0u64 => _,
            inout("x5") 0u64 => _,
            inout("x6") 0u64 => _,
            inout("x7") number => _,
            options(nostack),
        )
    };
    (r0, r1)
}

fn smc<const IMM: u16>(function: u64) -> (u64, u64) {
    let (mut r0, mut r1) = (function, 0u64);
    // Safety: the SMC traps to the hypervisor, which answers in x0 (SMC calling convention:
    // x0..x17 may change, memory does not).
    unsafe {
        asm!(
            "smc #{imm}",
            imm = const IMM,
            inout("x0") r0,
            inout("x1") r1,
            inout("x2") 0u64 => _,
            inout("x3") 0u64 => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _, out("x9") _,
            out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        )
    };
    (r0, r1)
}

fn load(addr: u64) -> (u64, u64) {
    let mut x9 = 0u64;
    // Safety: `addr` is outside guest RAM (checked by `run`), so the load reads no Rust
    // memory; it faults to the server or reads a device.
    unsafe {
        asm!("ldr x9, [x10]", inout("x9") x9, in("x10") addr, options(nostack, preserves_flags))
    };
    (x9, addr)
}

fn store(addr: u64) -> (u64, u64) {
    // Safety: `addr` is outside guest RAM (checked by `run`): no Rust memory is written.
    unsafe {
        asm!("str x9, [x10]", in("x9") STORE_VALUE, in("x10") addr, options(nostack, preserves_flags))
    };
    (0, 0)
}

fn store32(addr: u64) -> (u64, u64) {
    // Safety: as for `store`.
    unsafe {
        asm!("str w9, [x10]", in("w9") 1u32, in("x10") addr, options(nostack, preserves_flags))
    };
    (0, 0)
}

fn load_pair(addr: u64) -> (u64, u64) {
    let mut x9 = 0u64;
    // Safety: as for `load`; both doublewords are outside RAM (addr is 8-aligned below a
    // page boundary).
    unsafe {
        asm!(
            "ldp x9, x11, [x10]",
            inout("x9") x9,
            inout("x11") 0u64 => _,
            in("x10") addr,
            options(nostack, preserves_flags),
        )
    };
    (x9, addr)
}

fn load_post_index(addr: u64) -> (u64, u64) {
    let (mut x9, mut x10) = (0u64, addr);
    // Safety: as for `load`; x10 is an in/out operand because of the writeback.
    unsafe {
        asm!("ldr x9, [x10], #8", inout("x9") x9, inout("x10") x10, options(nostack, preserves_flags))
    };
    (x9, x10)
}

fn jump(addr: u64) -> (u64, u64) {
    // Safety: `addr` is outside guest RAM (checked by `run`): executing there faults to the
    // server before any instruction runs. Should it ever return, every caller-saved
    // register (x0..x17) and x30 are declared clobbered.
    unsafe {
        asm!(
            "blr x10",
            in("x10") addr,
            out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _,
            out("x6") _, out("x7") _, out("x8") _, out("x9") _, out("x11") _, out("x12") _,
            out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _, out("x30") _,
        )
    };
    (0, 0)
}

fn read_cntp_ctl() -> (u64, u64) {
    let mut x9 = 0u64;
    // Safety: a system-register read; it traps to EL2 (CNTHCTL_EL2.EL1PCEN = 0).
    unsafe {
        asm!("mrs x9, cntp_ctl_el0", inout("x9") x9, options(nomem, nostack, preserves_flags))
    };
    (x9, 0)
}

fn write_cntp_ctl() -> (u64, u64) {
    // Safety: a system-register write that traps to EL2; the guest does not use this timer.
    unsafe {
        asm!("msr cntp_ctl_el0, x9", in("x9") 1u64, options(nomem, nostack, preserves_flags))
    };
    (0, 0)
}

fn read_cntpct() -> (u64, u64) {
    let mut x9 = 0u64;
    // Safety: a system-register read; it traps to EL2 (CNTHCTL_EL2.EL1PCTEN = 0).
    unsafe { asm!("mrs x9, cntpct_el0", inout("x9") x9, options(nomem, nostack, preserves_flags)) };
    (x9, 0)
}

/// Runs an action that raises a synchronous exception at EL1; the vector handler (which
/// `expect_exception` armed, or which always returns from SVC) sets x0 = ESR_EL1 and resumes
/// after the instruction. Returns that x0 (0 if no exception happened).
fn el1_exception(action: Action) -> u64 {
    // Each instruction below only raises a synchronous exception that the guest's own EL1
    // vector handles (`rt::exception`): it sets x0 = ESR_EL1 and returns to the next
    // instruction, changing nothing else; x9 is declared as changed where used.
    let mut x0 = 0u64;
    match action {
        Action::Svc0 => {
            // Safety: see above (an SVC always returns with x0 = ESR_EL1).
            unsafe { asm!("svc #0", inout("x0") x0, options(nostack)) }
        }
        Action::SvcMax => {
            // Safety: see above.
            unsafe { asm!("svc #0xffff", inout("x0") x0, options(nostack)) }
        }
        Action::Brk0 => {
            // Safety: see above (expected exception: the handler skips the BRK).
            unsafe { asm!("brk #0", inout("x0") x0, options(nostack)) }
        }
        Action::Udf => {
            // Safety: see above (expected exception: the handler skips the UDF).
            unsafe { asm!("udf #0", inout("x0") x0, options(nostack)) }
        }
        Action::ReadHcrEl2 => {
            // Safety: see above (EL2 registers are undefined at EL1).
            unsafe { asm!("mrs x9, hcr_el2", inout("x0") x0, out("x9") _, options(nostack)) }
        }
        Action::WriteVbarEl2 => {
            // Safety: see above.
            unsafe { asm!("msr vbar_el2, x9", inout("x0") x0, in("x9") 0u64, options(nostack)) }
        }
        Action::IllegalEret => {
            // Safety: see above. ELR_EL1 = the `nop`, SPSR_EL1 = EL2h with DAIF masked: EL1
            // cannot return to EL2, so the ERET is an illegal return that stays at EL1 with
            // PSTATE.IL set, and the `nop` raises an Illegal Execution State exception, which
            // the handler skips (clearing IL). PSTATE.DAIF comes from the SPSR (all masked),
            // as it already was for this guest; ELR/SPSR_EL1 hold nothing else of value here.
            unsafe {
                asm!(
                    "adr  x9, 2f",
                    "msr  elr_el1, x9",
                    "mov  x9, #0x3c9",
                    "msr  spsr_el1, x9",
                    "eret",
                    "2:   nop",
                    inout("x0") x0,
                    out("x9") _,
                    options(nostack),
                )
            }
        }
        _ => {}
    }
    x0
}
