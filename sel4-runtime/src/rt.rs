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

    // The entry point. seL4 starts the root task with SP = 0 and x0 = BootInfo; threads
    // created by the root task start wherever their creator set pc, with x0 as given. The
    // code uses only x9/x10 before the call, so x0 reaches main unchanged. `.bss` (which
    // holds the stack) is zeroed first, with 8-byte stores: the linker script aligns both
    // ends to 16. The program's macro defines `__sel4_runtime_stack` (+ `_size`) and
    // `__sel4_runtime_main`; a program without it fails to link, naming these symbols.
    core::arch::global_asm!(
        ".section .text._start, \"ax\"",
        ".global _start",
        ".type _start, %function",
        "_start:",
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
        "    mov  x29, xzr",
        "    mov  x30, xzr",
        "    bl   __sel4_runtime_main",
        "3:  b    3b",
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
