//! The `hostile` guest's escape attempts, one [`Step`] each, in the order of [`STEPS`].
//!
//! The guest reads its first step index from x0 (the VMM writes it with `write_state` before
//! the first enter; a fresh VCPU has x0 = 0). For each step `i` from there it:
//! 1. writes `i` to [`testdev::MARKER`] (64-bit, xt 9);
//! 2. performs [`Step::action`];
//! 3. writes the step's first output (usually x0) to [`testdev::RESULT`] and the second
//!    (usually x1) to [`testdev::DETAIL`] (64-bit, xt 9; see [`Action`] for which registers).
//!
//! After the last step it writes [`testdev::STATUS_DONE`] to STATUS and calls PSCI SYSTEM_OFF.
//!
//! Driving it (see [`Expect`]): enter until the MARKER write for step `i`; then the exits up to
//! the next MARKER belong to step `i`. When a step leaves the VCPU stuck (the same error on
//! every enter), destroy that VCPU and start a new one at the entry with x0 = `i + 1` (a guest
//! has at most 7 VCPUs, so destroy before creating).
//!
//! Deliberately **not** attempted (listed in [`SKIPPED_SEL4_SYSCALLS`]): the seL4 debug
//! syscalls DebugDumpScheduler (-10), DebugHalt (-11), DebugSnapshot (-13) and
//! DebugNameThread (-14). A guest HVC is a real seL4 syscall, and on this debug kernel -11
//! halts the whole machine, -14 halts it unless x0 names a TCB cap and the thread has an IPC
//! buffer (a VCPU thread has none), and -10/-13 print the scheduler/capability state to the
//! kernel console. Running them would stop the test system, not test the server; they are a
//! reason to run guests only on a non-debug kernel. On a release kernel the attempted debug
//! numbers (DebugPutChar -9, DebugCapIdentify -12) are no syscalls: [`Step::expect_on`] then
//! expects the `UnknownSyscall` exit every unknown number gives.

use crate::layout::{GICC_BASE, GICC_SIZE, GICD_BASE, RAM_BASE, RAM_END, TESTDEV_BASE};
use crate::psci;
use crate::testdev::{PATTERN_NEG, RESULT};
use crate::zx;

/// One escape attempt. Outputs are (RESULT, DETAIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `hvc #0` with x7 = `number`, x0 = `x0`, x1..x6 = `args`. Outputs: x0, x1 afterwards.
    Hvc {
        /// x7: the seL4 syscall number (negative) or anything else.
        number: i64,
        /// x0: for seL4 syscalls, the capability pointer.
        x0: u64,
        /// x1..x6 (x1 is the seL4 message info).
        args: [u64; 6],
    },
    /// `hvc #0xffff` with x7 = `number` and x0..x6 = 0. Outputs: x0, x1.
    HvcImmMax {
        /// x7.
        number: i64,
    },
    /// `smc #0` with x0 = `function`, x1..x3 = 0. Outputs: x0, x1.
    Smc {
        /// x0.
        function: u64,
    },
    /// `smc #1` with x0 = `function`. Outputs: x0, x1.
    SmcImm1 {
        /// x0.
        function: u64,
    },
    /// `smc #0xffff` with x0 = `function`. Outputs: x0, x1.
    SmcImmMax {
        /// x0.
        function: u64,
    },
    /// `ldr x9, [x10]` with x9 = 0, x10 = `addr`. Outputs: x9, x10.
    Load {
        /// x10.
        addr: u64,
    },
    /// `str x9, [x10]` with x9 = [`STORE_VALUE`], x10 = `addr`. Outputs: 0, 0.
    Store {
        /// x10.
        addr: u64,
    },
    /// `str w9, [x10]` with w9 = 1, x10 = `addr` (a GICD_CTLR-style enable). Outputs: 0, 0.
    Store32 {
        /// x10.
        addr: u64,
    },
    /// `ldp x9, x11, [x10]` with x9 = x11 = 0 (no syndrome: ISS.ISV = 0). Outputs: x9, x10.
    LoadPair {
        /// x10.
        addr: u64,
    },
    /// `ldr x9, [x10], #8` with x9 = 0 (writeback: ISS.ISV = 0). Outputs: x9, x10 (x10 still
    /// `addr` if the server skipped the instruction).
    LoadPostIndex {
        /// x10.
        addr: u64,
    },
    /// `blr x10`: execute at `addr`. Outputs: 0, 0 (never reached).
    Jump {
        /// x10.
        addr: u64,
    },
    /// `mrs x9, cntp_ctl_el0` (EL1 physical timer; trapped to EL2). Outputs: x9, 0.
    ReadCntpCtl,
    /// `msr cntp_ctl_el0, x9` with x9 = 1 (enable). Outputs: 0, 0.
    WriteCntpCtl,
    /// `mrs x9, cntpct_el0` (physical counter; trapped to EL2). Outputs: x9, 0.
    ReadCntpct,
    /// `svc #0`: taken by the guest's own EL1 vector. Outputs: ESR_EL1, 0.
    Svc0,
    /// `svc #0xffff`. Outputs: ESR_EL1, 0.
    SvcMax,
    /// `brk #0`: EL1 debug exception (the kernel leaves MDCR_EL2.TDE clear). Outputs: ESR, 0.
    Brk0,
    /// `udf #0`: undefined at EL1. Outputs: ESR_EL1, 0.
    Udf,
    /// `mrs x9, hcr_el2`: an EL2 register, undefined at EL1. Outputs: ESR_EL1, 0.
    ReadHcrEl2,
    /// `msr vbar_el2, x9`: undefined at EL1. Outputs: ESR_EL1, 0.
    WriteVbarEl2,
    /// `eret` with SPSR_EL1 = EL2h (0x3C9): an illegal exception return, which sets PSTATE.IL
    /// and faults at EL1 on the next instruction. Outputs: ESR_EL1, 0.
    IllegalEret,
}

/// What the VMM should observe for a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Handled without a visible status (the server answers, or seL4 completes the call):
    /// the next exit is the RESULT write, with this value.
    Continue {
        /// RESULT.
        result: u64,
    },
    /// Taken by the guest's own EL1 vector, invisible to the server: RESULT = this ESR_EL1.
    GuestException {
        /// ESR_EL1 the guest saw.
        esr: u64,
    },
    /// `enter` returns `status` once, with the instruction already skipped: the next enter
    /// continues and RESULT = `result`.
    Skipped {
        /// The `enter` status.
        status: i32,
        /// RESULT after continuing.
        result: u64,
    },
    /// `enter` returns `status` and the guest stays at the instruction: every further enter
    /// returns it again. Restart at the next step.
    Stuck {
        /// The `enter` status.
        status: i32,
    },
    /// A real seL4 syscall (x7 in -1..-8 or -12) run in the VCPU thread's own CSpace: the
    /// outcome depends on what the cptr in x0 names there (docs/GUESTS.md lists the cases:
    /// continue with an error reply, continue silently, or a capability fault that makes
    /// `enter` return `ZX_ERR_NOT_SUPPORTED` on every try). It must never hang the VCPU, crash
    /// the server or affect anything outside this guest.
    Sel4Syscall,
}

/// One escape attempt and its expected effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// What the guest does.
    pub action: Action,
    /// What the VMM should see.
    pub expect: Expect,
}

/// The 64-bit value [`Action::Store`] writes.
pub const STORE_VALUE: u64 = 0x5A5A_5A5A_A5A5_A5A5;

/// seL4 syscalls attempted with each cptr 0..=[`MAX_CPTR`]: Call, ReplyRecv, Send, NBSend,
/// Recv, NBRecv, DebugCapIdentify.
pub const SEL4_CPTR_SYSCALLS: [i64; 7] = [-1, -2, -3, -4, -5, -8, -12];
/// seL4 syscalls attempted once with no capability: Reply, Yield, DebugPutChar (x0 = b'.').
pub const SEL4_PLAIN_SYSCALLS: [i64; 3] = [-6, -7, -9];
/// The debug syscall numbers of a non-MCS debug kernel (DebugPutChar .. DebugNameThread).
pub const DEBUG_SYSCALLS: core::ops::RangeInclusive<i64> = -14..=-9;

impl Step {
    /// What the VMM should see on a kernel with (`debug_syscalls`) or without the debug
    /// syscalls: on a release kernel an `hvc` with a debug syscall number is an
    /// `UnknownSyscall` exit like any other unknown number (skipped, `ZX_ERR_NOT_SUPPORTED`,
    /// x0 unchanged), so no debug syscall is reached.
    pub const fn expect_on(&self, debug_syscalls: bool) -> Expect {
        match self.action {
            Action::Hvc { number, x0, .. } if !debug_syscalls && number >= -14 && number <= -9 => {
                Expect::Skipped {
                    status: zx::ERR_NOT_SUPPORTED,
                    result: x0,
                }
            }
            _ => self.expect,
        }
    }
}

/// seL4 debug syscalls never attempted (see the module docs).
pub const SKIPPED_SEL4_SYSCALLS: [i64; 4] = [-10, -11, -13, -14];
/// x7 values that are no syscall on this kernel (UnknownSyscall fault to the server).
pub const UNKNOWN_HVC_NUMBERS: [i64; 8] = [0, 1, 8, -15, -16, -17, i64::MIN, i64::MAX];
/// Highest cptr tried.
pub const MAX_CPTR: u64 = 8;

/// A forged fault message (Call with the VMFault label 5, length 4, MRs x2..x5 = pc, a
/// test-device address, 0, and the ESR of a 64-bit str x9 with a valid syndrome).
pub const FORGED_VMFAULT: [u64; 6] = [
    (5 << 12) | 4,
    RAM_BASE,
    TESTDEV_BASE + RESULT,
    0,
    0x93C9_8047,
    0,
];

/// SMC function ids (x0 of `smc #0`) other than power control: every one but PSCI_VERSION must
/// be answered x0 = -1, and none may reach real firmware.
pub const SMC_FUNCTIONS: [(u64, u64); 13] = [
    (psci::VERSION as u64, psci::VERSION_0_2),
    (psci::FEATURES as u64, psci::NOT_SUPPORTED),
    (psci::CPU_SUSPEND as u64, psci::NOT_SUPPORTED),
    (psci::AFFINITY_INFO as u64, psci::NOT_SUPPORTED),
    (psci::MIGRATE_INFO_TYPE as u64, psci::NOT_SUPPORTED),
    (psci::CPU_ON_32 as u64, psci::NOT_SUPPORTED),
    (0x8000_0000, psci::NOT_SUPPORTED), // SMCCC_VERSION
    (0x8000_8000, psci::NOT_SUPPORTED), // SMCCC_ARCH_WORKAROUND_1
    (0xC200_0000, psci::NOT_SUPPORTED), // SiP service, SMC64
    (0xC300_0000, psci::NOT_SUPPORTED), // OEM service, SMC64
    (0xB200_0000, psci::NOT_SUPPORTED), // Trusted OS, SMC32
    (0xFFFF_FFFF, psci::NOT_SUPPORTED),
    (0, psci::NOT_SUPPORTED),
];

/// Guest-physical addresses that are neither RAM nor a trap nor the GICV: loads and stores
/// there must fail with `ZX_ERR_NOT_FOUND` (the first ones are host-physical addresses of the
/// GIC hypervisor interface and of the seL4 kernel image: guest-physical is not host-physical).
pub const UNMAPPED: [u64; 6] = [
    0x0803_0000,
    0x6000_0000,
    0x1000_0000,
    RAM_END,
    GICC_BASE + GICC_SIZE,
    0xF_FFFF_F000,
];

/// ESR_EL1 of an EL1 exception with the given class (IL = 1, ISS = `iss`).
pub const fn esr(class: u64, iss: u64) -> u64 {
    class << 26 | 1 << 25 | iss
}

/// x1..x6 of HVC step `index`: SplitMix64 outputs, so runs are reproducible.
pub const fn hvc_args(index: u64) -> [u64; 6] {
    let mut out = [0; 6];
    let mut k = 0;
    while k < 6 {
        out[k] = splitmix64(index * 8 + k as u64);
        k += 1;
    }
    out
}

const fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Number of steps.
pub const LEN: usize = 123;

/// Every step, in order.
pub const STEPS: [Step; LEN] = build();

const fn step(action: Action, expect: Expect) -> Step {
    Step { action, expect }
}

const fn stuck(status: i32) -> Expect {
    Expect::Stuck { status }
}

const fn build() -> [Step; LEN] {
    let filler = step(Action::Udf, Expect::GuestException { esr: esr(0x00, 0) });
    let mut s = [filler; LEN];
    let mut n = 0;

    // EL1-internal: the server never sees these.
    let guest = [
        (Action::Svc0, esr(0x15, 0)),
        (Action::SvcMax, esr(0x15, 0xFFFF)),
        (Action::Brk0, esr(0x3C, 0)),
        (Action::Udf, esr(0x00, 0)),
        (Action::ReadHcrEl2, esr(0x00, 0)),
        (Action::WriteVbarEl2, esr(0x00, 0)),
        (Action::IllegalEret, esr(0x0E, 0)),
    ];
    let mut i = 0;
    while i < guest.len() {
        s[n] = step(guest[i].0, Expect::GuestException { esr: guest[i].1 });
        n += 1;
        i += 1;
    }

    // SMC: answered by the server, the guest continues.
    i = 0;
    while i < SMC_FUNCTIONS.len() {
        let (function, result) = SMC_FUNCTIONS[i];
        s[n] = step(Action::Smc { function }, Expect::Continue { result });
        n += 1;
        i += 1;
    }
    let not_supported = Expect::Continue {
        result: psci::NOT_SUPPORTED,
    };
    s[n] = step(
        Action::SmcImm1 {
            function: psci::VERSION as u64,
        },
        not_supported,
    );
    s[n + 1] = step(
        Action::SmcImmMax {
            function: psci::SYSTEM_OFF as u64,
        },
        not_supported,
    );
    n += 2;

    // HVC that is no syscall: UnknownSyscall; the server skips it and fails the enter.
    i = 0;
    while i < UNKNOWN_HVC_NUMBERS.len() {
        let action = Action::Hvc {
            number: UNKNOWN_HVC_NUMBERS[i],
            x0: 0,
            args: hvc_args(n as u64),
        };
        s[n] = step(
            action,
            Expect::Skipped {
                status: zx::ERR_NOT_SUPPORTED,
                result: 0,
            },
        );
        n += 1;
        i += 1;
    }
    s[n] = step(
        Action::HvcImmMax { number: 0x5A5A },
        Expect::Skipped {
            status: zx::ERR_NOT_SUPPORTED,
            result: 0,
        },
    );
    n += 1;

    // seL4 syscalls without a capability: complete inside the kernel, x0 unchanged.
    i = 0;
    while i < SEL4_PLAIN_SYSCALLS.len() {
        let number = SEL4_PLAIN_SYSCALLS[i];
        let x0 = if number == -9 { b'.' as u64 } else { 0 };
        s[n] = step(
            Action::Hvc {
                number,
                x0,
                args: hvc_args(n as u64),
            },
            Expect::Continue { result: x0 },
        );
        n += 1;
        i += 1;
    }

    // seL4 syscalls on cptrs 0..=8 with random message info and registers.
    i = 0;
    while i < SEL4_CPTR_SYSCALLS.len() {
        let mut cptr = 0;
        while cptr <= MAX_CPTR {
            let action = Action::Hvc {
                number: SEL4_CPTR_SYSCALLS[i],
                x0: cptr,
                args: hvc_args(n as u64),
            };
            s[n] = step(action, Expect::Sel4Syscall);
            n += 1;
            cptr += 1;
        }
        i += 1;
    }
    // Forged fault messages: Call on each cptr with a VMFault-shaped message.
    let mut cptr = 0;
    while cptr <= MAX_CPTR {
        s[n] = step(
            Action::Hvc {
                number: -1,
                x0: cptr,
                args: FORGED_VMFAULT,
            },
            Expect::Sel4Syscall,
        );
        n += 1;
        cptr += 1;
    }

    // Memory outside RAM, traps and the GICV, and trapped accesses without a syndrome.
    let not_found = stuck(zx::ERR_NOT_FOUND);
    i = 0;
    while i < UNMAPPED.len() {
        s[n] = step(Action::Load { addr: UNMAPPED[i] }, not_found);
        n += 1;
        i += 1;
    }
    s[n] = step(Action::Store { addr: 0x1000_0000 }, not_found);
    s[n + 1] = step(Action::Store { addr: RAM_END }, not_found);
    s[n + 2] = step(Action::Store32 { addr: GICD_BASE }, not_found);
    s[n + 3] = step(
        Action::Load {
            addr: GICD_BASE + 0x8,
        },
        not_found,
    );
    let no_syndrome = Expect::Skipped {
        status: zx::ERR_IO_DATA_INTEGRITY,
        result: 0,
    };
    s[n + 4] = step(
        Action::LoadPair {
            addr: TESTDEV_BASE + PATTERN_NEG,
        },
        no_syndrome,
    );
    s[n + 5] = step(
        Action::LoadPostIndex {
            addr: TESTDEV_BASE + PATTERN_NEG,
        },
        no_syndrome,
    );
    s[n + 6] = step(Action::Jump { addr: 0x1000_0000 }, not_found);
    s[n + 7] = step(Action::Jump { addr: TESTDEV_BASE }, not_found);
    n += 8;

    // Physical timer and counter: trapped to EL2, not emulated.
    let sysreg = stuck(zx::ERR_NOT_SUPPORTED);
    s[n] = step(Action::ReadCntpCtl, sysreg);
    s[n + 1] = step(Action::WriteCntpCtl, sysreg);
    s[n + 2] = step(Action::ReadCntpct, sysreg);
    n += 3;

    assert!(n == LEN, "hostile::LEN does not match the steps built");
    s
}
