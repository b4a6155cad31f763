//! The ELF entry of programs built on [`crate::rt`]: `vmm_thread_start`.
//!
//! The root task starts every thread of a component at the ELF entry with x0 = the boot page
//! address, x1 = the thread index and SP = that thread's own stack. Thread 0 goes on to the
//! runtime's `_start` (which zeroes `.bss` and switches to the runtime's stack, so it must run
//! exactly once); every other thread keeps its stack and calls the program's
//! `__vmm_worker_entry(boot_page, index)` (defined by [`crate::component!`]), which parks it
//! until thread 0 gives it a job. Workers touch no `.bss` before that, so thread 0 zeroing
//! `.bss` later is harmless.

#![allow(unsafe_code)]

core::arch::global_asm!(
    ".section .text.vmm_thread_start, \"ax\"",
    ".global vmm_thread_start",
    ".type vmm_thread_start, %function",
    "vmm_thread_start:",
    "    cbz   x1, 1f",
    "    mov   x29, xzr",
    "    mov   x30, xzr",
    "    bl    __vmm_worker_entry",
    "2:  b     2b",
    "1:  b     _start",
    ".size vmm_thread_start, . - vmm_thread_start",
);
