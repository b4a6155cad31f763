//! Runtime for seL4 components written against the `sel4` crate: entry point, stack, panic
//! handler and console printing.
//!
//! # Use
//! ```ignore
//! #![no_std]
//! #![no_main]
//! sel4_runtime::root_task!(main);            // or: sel4_runtime::entry!(main);
//! fn main(bootinfo: sel4::BootInfo<'static>, ipc: &'static mut sel4::IpcBuffer) -> ! { .. }
//! ```
//! and a `build.rs` that links with the runtime's script (see [`LINK_ARGS`]):
//! ```ignore
//! fn main() {
//!     for arg in sel4_runtime::LINK_ARGS {
//!         println!("cargo:rustc-link-arg-bins={arg}");
//!     }
//! }
//! ```
//! Build with `cargo build --target aarch64-unknown-none --release` (that target already has
//! `+strict-align`, needed because uncached mappings fault on unaligned accesses).
//!
//! # What happens at start
//! `_start` (assembly, first in `.text`) looks at the initial SP:
//! - SP = 0 (seL4 starts the root task so): it zeroes `.bss` and points SP at the top of the
//!   stack the program's `entry!`/`root_task!` defined in `.bss`;
//! - SP != 0 (a thread its creator gave a stack: every thread the root task starts from a boot
//!   plan): it keeps SP and zeroes nothing, since other threads of the image may already run.
//!   The creator must load the image with `.bss` zeroed (the root task does).
//!
//! It then calls the program's main with the initial x0 and x1 untouched: for the root task
//! the BootInfo address; for components the root task starts, the address of their boot page
//! and the thread's index in the plan.
//!
//! # Panics
//! The panic handler prints `panicked at <file>:<line>:<col>: <message>` and then
//! [`FAILURE_SENTINEL`] on its own line via `seL4_DebugPutChar`, then stops the thread without
//! burning CPU: it suspends its own TCB if known ([`set_own_tcb`]; `root_task!` sets slot 1),
//! else it raises a cap fault (a thread without fault handler is then made inactive by the
//! kernel; otherwise its handler learns of the failure). A QEMU test runner scans the console
//! for the sentinels.
#![no_std]
#![deny(unsafe_code)]

mod rt;

use core::fmt;

#[doc(hidden)]
pub use rt::start_root_task;
pub use rt::{Stack, virtual_counter};

/// Printed (alone on a line) by a test image after its last case when every case passed.
/// Must equal the xtask QEMU runner's success sentinel.
pub const SUCCESS_SENTINEL: &str = "*** ALL TESTS PASSED ***";
/// Printed (alone on a line) on failure, and by the panic handler after the panic message.
/// Must equal the xtask QEMU runner's failure sentinel.
pub const FAILURE_SENTINEL: &str = "*** TEST FAILURE ***";

/// Default stack size of [`entry!`]/[`root_task!`] (64 KiB).
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// Linker arguments for programs using this runtime: the runtime's linker script (base
/// 0x40_0000), 4 KiB pages (no large gaps, first PT_LOAD page aligned) and a static, non-PIE
/// executable. Emit them from the program's `build.rs` with `cargo:rustc-link-arg-bins=`.
pub const LINK_ARGS: [&str; 4] = [
    concat!("-T", env!("CARGO_MANIFEST_DIR"), "/link.ld"),
    "-zmax-page-size=4096",
    "-static",
    "--no-pie",
];

/// Path of the runtime's linker script.
pub const LINKER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/link.ld");

/// Tells the panic handler which cap names the calling thread's TCB (0 = unknown), so a panic
/// suspends the thread instead of faulting it. The value is per thread: on the target it is
/// kept in `TPIDR_EL0`, which seL4 saves and restores with each thread (programs using this
/// runtime must not use that register otherwise); on the host, in a process-wide word.
pub fn set_own_tcb(tcb: sel4::Cap<sel4::cap_type::Tcb>) {
    rt::set_thread_word(tcb.cptr());
}

/// The calling thread's TCB as set with [`set_own_tcb`], if any.
pub fn own_tcb() -> Option<sel4::Cap<sel4::cap_type::Tcb>> {
    match rt::thread_word() {
        0 => None,
        c => Some(sel4::Cap::from_cptr(c)),
    }
}

/// Stops the calling thread for good: suspends its own TCB if known, else faults on the null
/// cap. Used after a panic; also useful to end a component cleanly.
pub fn stop() -> ! {
    if let Some(tcb) = own_tcb() {
        sel4::suspend_without_ipc_buffer(tcb);
    }
    sel4::fault_on_null_cap()
}

/// A `core::fmt::Write` sink that prints through `seL4_DebugPutChar` (one syscall per byte;
/// the kernel console is the PL011 UART).
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugWriter;

impl fmt::Write for DebugWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            sel4::debug_put_char(b);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    // DebugWriter::write_str never fails.
    let _ = fmt::Write::write_fmt(&mut DebugWriter, args);
}

/// Prints to the kernel console (`seL4_DebugPutChar`).
#[macro_export]
macro_rules! debug_print {
    ($($arg:tt)*) => { $crate::_print(core::format_args!($($arg)*)) };
}

/// Prints a line to the kernel console (`seL4_DebugPutChar`).
#[macro_export]
macro_rules! debug_println {
    () => { $crate::_print(core::format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::_print(core::format_args!($($arg)*));
        $crate::_print(core::format_args!("\n"));
    }};
}

/// A program's main function as [`entry!`] accepts it: `fn(usize) -> !` (gets x0) or
/// `fn(usize, usize) -> !` (gets x0 and x1). Implemented for every such function; the type
/// parameter only tells the two shapes apart, so `entry!` needs no annotation.
pub trait EntryFn<Args> {
    /// Calls the function with the thread's initial x0 and x1 (a one-argument main ignores x1).
    fn call(self, x0: usize, x1: usize);
}

impl<F: FnOnce(usize) -> R, R> EntryFn<(usize,)> for F {
    fn call(self, x0: usize, _x1: usize) {
        self(x0);
    }
}

impl<F: FnOnce(usize, usize) -> R, R> EntryFn<(usize, usize)> for F {
    fn call(self, x0: usize, x1: usize) {
        self(x0, x1);
    }
}

#[doc(hidden)]
pub fn _call_entry<A, F: EntryFn<A>>(main: F, x0: usize, x1: usize) -> ! {
    main.call(x0, x1);
    // Only reachable if `main` is not `-> !` after all: end the thread like a finished one.
    stop()
}

/// Defines the program entry. `main` is either `fn main(arg: usize) -> !` (the thread's
/// initial x0) or `fn main(arg: usize, thread: usize) -> !` (x0 and x1). Threads the root task
/// starts from a boot plan get x0 = boot page address and x1 = thread index; they start with
/// the plan's stack (see the crate docs, "What happens at start"), so several threads can run
/// one image. `entry!(main, stack_size = N)` sets the size of the static stack used when a
/// thread starts without one (bytes, a non-zero multiple of 16).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        $crate::entry!($main, stack_size = $crate::DEFAULT_STACK_SIZE);
    };
    ($main:path, stack_size = $size:expr) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        static __sel4_runtime_stack: $crate::Stack<{ $size }> = $crate::Stack::new();
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        static __sel4_runtime_stack_size: usize = $size;
        /// Called once per thread by `_start` with the initial x0 and x1.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        extern "C" fn __sel4_runtime_main(x0: usize, x1: usize) -> ! {
            $crate::_call_entry($main, x0, x1)
        }
    };
}

/// Defines a root-task entry:
/// `fn main(bootinfo: sel4::BootInfo<'static>, ipc: &'static mut sel4::IpcBuffer) -> !`.
/// Before calling it the runtime records slot 1 as the own TCB (for panics), parses the
/// BootInfo at the initial x0 and takes the IPC buffer it names (panicking, which prints the
/// failure sentinel, if either is invalid).
#[macro_export]
macro_rules! root_task {
    ($main:path) => {
        $crate::root_task!($main, stack_size = $crate::DEFAULT_STACK_SIZE);
    };
    ($main:path, stack_size = $size:expr) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        static __sel4_runtime_stack: $crate::Stack<{ $size }> = $crate::Stack::new();
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        static __sel4_runtime_stack_size: usize = $size;
        /// Called once by `_start` with the BootInfo address the kernel passed in x0.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn __sel4_runtime_main(arg: usize) -> ! {
            // Safety: `_start` is the only caller and passes the kernel's initial x0.
            unsafe { $crate::start_root_task(arg, $main) }
        }
    };
}
