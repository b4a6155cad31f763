//! The `spin` guest's program: `guest_main` adds 1 to x19 forever (starting from whatever the
//! VMM wrote there; 0 on a fresh VCPU). No memory access, no exit of its own: only a kick (or
//! the host preempting it) stops it.
#![allow(unsafe_code)]

core::arch::global_asm!(
    ".section .text.guest_main, \"ax\"",
    ".global guest_main",
    ".type guest_main, %function",
    "guest_main:",
    "1:  add   x19, x19, #1",
    "    b     1b",
    ".size guest_main, . - guest_main",
);
