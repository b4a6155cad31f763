//! What the `compute` guest does to its registers (the program is `src/rt/compute.rs`).
//!
//! The VMM writes x0..x3 (and may write any other register) with `write_state` before the
//! first `enter` of the fresh VCPU. The guest then, in assembly with no memory access:
//!
//! | register | after the run |
//! |---|---|
//! | x0 | [`crate::psci::CPU_OFF`] (0x8400_0002): the PSCI function it calls |
//! | x1..x3 | unchanged (inputs) |
//! | x9, x10 | clobbered by the entry code (stack set-up) |
//! | x19 | x0 + x1 (wrapping) |
//! | x20 | x2 * x3 (low 64 bits) |
//! | x21 | fib(20) = 6765 |
//! | x22, x24 | fib(21) = 10946 |
//! | x23 | 0 (loop counter) |
//! | x25 | 6765 (compare constant) |
//! | NZCV | Z and C set, N and V clear (`cmp x21, x25` with equal values): cpsr = 0x6000_0000 |
//! | SP | [`crate::layout::stack_top`]`(cpu)` |
//! | all others (x4..x8, x11..x18, x26..x30) | unchanged |
//!
//! It ends with `smc #0` (CPU_OFF), so `enter` returns `ZX_ERR_STOP`; entering again repeats
//! the call (another `ZX_ERR_STOP`) and changes no register. Note that `write_state` ORs NZCV
//! into the guest's flags; the final `cmp` sets all four anyway, so the result is 0x6000_0000
//! whatever the VMM wrote.

use crate::layout;
use crate::psci;

/// The Fibonacci index the guest computes.
pub const FIB_N: u64 = 20;
/// fib(20) (fib(0) = 0, fib(1) = 1).
pub const FIB_20: u64 = 6765;
/// fib(21).
pub const FIB_21: u64 = 10946;
/// The cpsr `read_state` reports after the run (Z and C).
pub const CPSR: u32 = 0x6000_0000;

/// Registers the entry code clobbers before the program runs.
pub const CLOBBERED: [usize; 2] = [9, 10];

/// Expected x0..x30 after the `ZX_ERR_STOP`, given the values the VMM wrote before the first
/// enter (`input`; a fresh VCPU starts with zeros). `None` marks the clobbered x9 and x10.
pub const fn expected_x(input: [u64; 31]) -> [Option<u64>; 31] {
    let mut out = [None; 31];
    let mut i = 0;
    while i < 31 {
        if i != 9 && i != 10 {
            out[i] = Some(input[i]);
        }
        i += 1;
    }
    out[0] = Some(psci::CPU_OFF as u64);
    out[19] = Some(input[0].wrapping_add(input[1]));
    out[20] = Some(input[2].wrapping_mul(input[3]));
    out[21] = Some(FIB_20);
    out[22] = Some(FIB_21);
    out[23] = Some(0);
    out[24] = Some(FIB_21);
    out[25] = Some(FIB_20);
    out
}

/// Expected SP (SP_EL1) after the run on CPU `cpu` (MPIDR Aff0): the program uses no stack.
pub const fn expected_sp(cpu: u64) -> u64 {
    layout::stack_top(cpu)
}

/// fib(n) by the same iteration the guest runs (a, b = b, a + b; n times), wrapping.
pub const fn fib(n: u64) -> u64 {
    let (mut a, mut b, mut i) = (0u64, 1u64, 0);
    while i < n {
        let next = a.wrapping_add(b);
        a = b;
        b = next;
        i += 1;
    }
    a
}
