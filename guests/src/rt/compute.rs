//! The `compute` guest's program: `guest_main` in assembly, so the registers it leaves are
//! exactly those documented in `guests::compute` (no compiler-chosen registers, no stack, no
//! memory access). It ends with PSCI CPU_OFF, repeated if entered again.
#![allow(unsafe_code)]

use guests::compute::{FIB_20, FIB_N};
use guests::psci;

const _: () = assert!(FIB_20 <= 0xFFFF);

core::arch::global_asm!(
    ".section .text.guest_main, \"ax\"",
    ".global guest_main",
    ".type guest_main, %function",
    "guest_main:",
    "    add   x19, x0, x1",
    "    mul   x20, x2, x3",
    "    mov   x21, #0",
    "    mov   x22, #1",
    "    mov   x23, #{fib_n}",
    "1:  add   x24, x21, x22",
    "    mov   x21, x22",
    "    mov   x22, x24",
    "    subs  x23, x23, #1",
    "    b.ne  1b",
    "    movz  x25, #{fib_20}",
    "    cmp   x21, x25",
    "    movz  x0, #{off_lo}",
    "    movk  x0, #{off_hi}, lsl #16",
    "2:  smc   #0",
    "    b     2b",
    ".size guest_main, . - guest_main",
    fib_n = const FIB_N,
    fib_20 = const FIB_20,
    off_lo = const psci::CPU_OFF & 0xFFFF,
    off_hi = const psci::CPU_OFF >> 16,
);
