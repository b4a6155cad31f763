//! The runtime's `unsafe` parts: `_start`, the stack type, the root-task start and the panic
//! handler. Target-only pieces are gated on `aarch64`/`none`, so the crate also builds on the
//! host (e.g. as a build-dependency for [`crate::LINK_ARGS`]) without defining a panic handler
//! that would clash with std's.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;

/// A zero-initialised stack of `N` bytes (16-byte aligned), placed in `.bss` by the
/// `entry!`/`root_task!` macros.
#[repr(C, align(16))]
pub struct Stack<const N: usize>(UnsafeCell<[u8; N]>);

// Safety: the stack is only ever used by the CPU as the stack of the single thread that
// `_start` runs on; Rust code never reads or writes it through this value.
unsafe impl<const N: usize> Sync for Stack<N> {}

impl<const N: usize> Stack<N> {
    /// A zeroed stack. Fails to compile if `N` is 0 or not a multiple of 16.
    pub const fn new() -> Self {
        const {
            assert!(
                N > 0 && N % 16 == 0,
                "stack size must be a non-zero multiple of 16"
            )
        };
        Stack(UnsafeCell::new([0; N]))
    }
}

impl<const N: usize> Default for Stack<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The virtual counter `CNTVCT_EL0` (seL4 `KernelArmExportVCNTUser` makes it readable at EL0;
/// under QEMU `-icount shift=0` it ticks once per 16 instructions), after an `isb` so that it
/// is not read ahead of earlier instructions.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn virtual_counter() -> u64 {
    let ticks: u64;
    // Safety: reads a system register and synchronises the pipeline; no memory is touched.
    // With the counter not exported to EL0 the read traps, which the kernel reports as a fault
    // of this thread (never undefined behaviour).
    unsafe {
        core::arch::asm!("isb", "mrs {t}, cntvct_el0", t = out(reg) ticks, options(nomem, nostack));
    }
    ticks
}

/// On the host there is no virtual counter: always 0.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub fn virtual_counter() -> u64 {
    0
}

/// Sets the calling thread's runtime word (its own TCB cptr, see `crate::set_own_tcb`).
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn set_thread_word(value: u64) {
    // Safety: TPIDR_EL0 is the EL0 read/write thread register; seL4 saves and restores it per
    // thread and nothing else in a program using this runtime reads it (no thread-local
    // storage on this target). Writing it touches no memory.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {v}", v = in(reg) value, options(nomem, nostack, preserves_flags));
    }
}

/// The calling thread's runtime word (0 until set).
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn thread_word() -> u64 {
    let value: u64;
    // Safety: reading TPIDR_EL0 has no side effect (see `set_thread_word`).
    unsafe {
        core::arch::asm!("mrs {v}, tpidr_el0", v = out(reg) value, options(nomem, nostack, preserves_flags));
    }
    value
}

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
static THREAD_WORD: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Host stand-in for the thread register: one word for the process.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub fn set_thread_word(value: u64) {
    THREAD_WORD.store(value, core::sync::atomic::Ordering::Relaxed);
}

/// Host stand-in for the thread register.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub fn thread_word() -> u64 {
    THREAD_WORD.load(core::sync::atomic::Ordering::Relaxed)
}

/// Starts a root task: records slot 1 as the own TCB, reads the BootInfo and takes the IPC
/// buffer, then calls `main`.
///
/// # Safety
/// `bootinfo_addr` must be the initial x0 the kernel gave the root task, and this must be
/// called once (the IPC buffer reference it creates is unique).
pub unsafe fn start_root_task(
    bootinfo_addr: usize,
    main: fn(sel4::BootInfo<'static>, &'static mut sel4::IpcBuffer) -> !,
) -> ! {
    crate::set_own_tcb(sel4::init::TCB);
    // Safety: by the caller's contract the address is the kernel's BootInfo frame, mapped for
    // the rest of the program.
    let bootinfo = match unsafe { sel4::BootInfo::from_addr(bootinfo_addr) } {
        Ok(bi) => bi,
        Err(e) => panic!("bad BootInfo at {bootinfo_addr:#x}: {e}"),
    };
    let ipc_addr = usize::try_from(bootinfo.ipc_buffer_addr()).unwrap_or(0);
    // Safety: the kernel registered this address as the root task's IPC buffer and mapped
    // it; this is the only reference ever made to it (called once).
    let Some(ipc) = (unsafe { sel4::IpcBuffer::from_addr(ipc_addr) }) else {
        panic!("BootInfo names a bad IPC buffer address {ipc_addr:#x}");
    };
    main(bootinfo, ipc)
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod target {
    use core::panic::PanicInfo;
    use core::sync::atomic::{AtomicBool, Ordering};

    // The entry point. Two ways in:
    // - SP = 0: the root task (seL4 starts it with SP = 0 and x0 = BootInfo), or any thread
    //   started without a stack. `.bss` (which holds the stack) is zeroed with 8-byte stores
    //   (the linker script aligns both ends to 16), then SP is pointed at the top of the stack
    //   the program's macro defined (`__sel4_runtime_stack` + `_size`).
    // - SP != 0: a thread its creator gave a stack, e.g. every thread the root task starts from
    //   a boot plan (x0 = boot page, x1 = thread index, SP = the plan's stack top). Several
    //   threads may share the image, so nothing is zeroed and the static stack is not used: the
    //   creator must have loaded the image with `.bss` zeroed (the root task does).
    // Only x9/x10 are used before the call, so x0 and x1 reach `__sel4_runtime_main` unchanged.
    // A program without the macro fails to link, naming these symbols.
    core::arch::global_asm!(
        ".section .text._start, \"ax\"",
        ".global _start",
        ".type _start, %function",
        "_start:",
        "    mov  x9, sp",
        "    cbnz x9, 3f",
        "    adrp x9, __bss_start",
        "    add  x9, x9, :lo12:__bss_start",
        "    adrp x10, __bss_end",
        "    add  x10, x10, :lo12:__bss_end",
        "1:  cmp  x9, x10",
        "    b.hs 2f",
        "    str  xzr, [x9], #8",
        "    b    1b",
        "2:  adrp x9, __sel4_runtime_stack",
        "    add  x9, x9, :lo12:__sel4_runtime_stack",
        "    adrp x10, __sel4_runtime_stack_size",
        "    ldr  x10, [x10, :lo12:__sel4_runtime_stack_size]",
        "    add  x9, x9, x10",
        "    and  x9, x9, #~0xf",
        "    mov  sp, x9",
        "3:  mov  x29, xzr",
        "    mov  x30, xzr",
        "    bl   __sel4_runtime_main",
        "4:  b    4b",
        ".size _start, . - _start",
    );

    static PANICKING: AtomicBool = AtomicBool::new(false);

    #[panic_handler]
    fn panic(info: &PanicInfo<'_>) -> ! {
        // A panic while printing a panic skips straight to stopping.
        if !PANICKING.swap(true, Ordering::Relaxed) {
            match info.location() {
                Some(l) => {
                    crate::debug_print!("\npanicked at {}:{}:{}: ", l.file(), l.line(), l.column())
                }
                None => crate::debug_print!("\npanicked: "),
            }
            crate::debug_println!("{}", info.message());
            crate::debug_println!("{}", crate::FAILURE_SENTINEL);
        }
        crate::stop()
    }
}

// `memcpy` and `memset` for the seL4 programs. compiler-builtins' generic versions (weak, so
// these take their place) move 8 bytes per 3-4 instructions; the server and its clients move
// and clear message-sized buffers on every request, so these move 64 bytes per loop with
// `ldp`/`stp` of general registers (no SIMD registers, no alignment needed: user memory is
// Normal memory, where seL4 leaves unaligned access enabled).
//
// Contract (the C one): `memcpy(dst, src, n)` copies `n` bytes between non-overlapping
// buffers, `memset(dst, c, n)` stores the low byte of `c` `n` times; both return `dst`. Only
// x0..x12 (caller-saved) are used.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
core::arch::global_asm!(
    ".section .text.memcpy,\"ax\",@progbits",
    ".globl memcpy",
    ".type memcpy,@function",
    ".p2align 4",
    "memcpy:",
    "    mov x3, x0",
    "    subs x4, x2, #64",
    "    b.lo 2f",
    "1:  ldp x5, x6, [x1]",
    "    ldp x7, x8, [x1, #16]",
    "    ldp x9, x10, [x1, #32]",
    "    ldp x11, x12, [x1, #48]",
    "    add x1, x1, #64",
    "    stp x5, x6, [x3]",
    "    stp x7, x8, [x3, #16]",
    "    stp x9, x10, [x3, #32]",
    "    stp x11, x12, [x3, #48]",
    "    add x3, x3, #64",
    "    subs x4, x4, #64",
    "    b.hs 1b",
    "2:  add x4, x4, #64",
    "3:  subs x4, x4, #16",
    "    b.lo 4f",
    "    ldp x5, x6, [x1], #16",
    "    stp x5, x6, [x3], #16",
    "    b 3b",
    "4:  adds x4, x4, #16",
    "    b.eq 6f",
    "5:  ldrb w5, [x1], #1",
    "    strb w5, [x3], #1",
    "    subs x4, x4, #1",
    "    b.ne 5b",
    "6:  ret",
    ".size memcpy, . - memcpy",
    "",
    ".section .text.memset,\"ax\",@progbits",
    ".globl memset",
    ".type memset,@function",
    ".p2align 4",
    "memset:",
    "    and x1, x1, #0xff",
    "    mov x5, #0x0101010101010101",
    "    mul x1, x1, x5",
    "    mov x3, x0",
    "    subs x4, x2, #64",
    "    b.lo 2f",
    "1:  stp x1, x1, [x3]",
    "    stp x1, x1, [x3, #16]",
    "    stp x1, x1, [x3, #32]",
    "    stp x1, x1, [x3, #48]",
    "    add x3, x3, #64",
    "    subs x4, x4, #64",
    "    b.hs 1b",
    "2:  add x4, x4, #64",
    "3:  subs x4, x4, #16",
    "    b.lo 4f",
    "    stp x1, x1, [x3], #16",
    "    b 3b",
    "4:  adds x4, x4, #16",
    "    b.eq 6f",
    "5:  strb w1, [x3], #1",
    "    subs x4, x4, #1",
    "    b.ne 5b",
    "6:  ret",
    ".size memset, . - memset",
);
