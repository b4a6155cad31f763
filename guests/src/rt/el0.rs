//! The `el0` guest's program: `guest_main` enters EL0 (x0 = 0: AArch64 EL0t; otherwise AArch32
//! User mode, A32) at a WFI loop, with D, A, I, F masked. The WFI traps to this guest's EL1
//! (SCTLR_EL1.nTWI = 0), where the runtime reports the exception and powers off.
#![allow(unsafe_code)]

core::arch::global_asm!(
    ".section .text.guest_main, \"ax\"",
    ".global guest_main",
    ".type guest_main, %function",
    "guest_main:",
    "    cbnz  x0, 1f",
    "    adr   x9, 3f",
    "    movz  x10, #{spsr64}",
    "    b     2f",
    "1:  adr   x9, 4f",
    "    movz  x10, #{spsr32}",
    "2:  msr   elr_el1, x9",
    "    msr   spsr_el1, x10",
    "    isb",
    "    eret",
    ".balign 4",
    "3:  wfi",
    "    b     3b",
    ".balign 4",
    // A32: `wfi` and `b .-4` (condition AL).
    "4:  .word 0xe320f003",
    "    .word 0xeafffffd",
    ".size guest_main, . - guest_main",
    spsr64 = const guests::el0::SPSR_EL0_AARCH64,
    spsr32 = const guests::el0::SPSR_EL0_AARCH32,
);
