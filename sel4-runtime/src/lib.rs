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
//! `_start` (assembly, first in `.text`) zeroes `.bss`, points SP at the top of the stack the
//! program's `entry!`/`root_task!` defined in `.bss` (seL4 starts the root task with SP = 0)
//! and calls the program's main with the initial x0 untouched: the BootInfo address for the
//! root task, or whatever word the creator of the thread put in x0 (for components the root
//! task starts: the address of the boot page it provides).
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
use core::sync::atomic::{AtomicU64, Ordering};

pub use rt::Stack;
#[doc(hidden)]
pub use rt::start_root_task;

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

static OWN_TCB: AtomicU64 = AtomicU64::new(0);

/// Tells the panic handler which cap names the current thread's TCB (0 = unknown), so a panic
/// suspends the thread instead of faulting it.
pub fn set_own_tcb(tcb: sel4::Cap<sel4::cap_type::Tcb>) {
    OWN_TCB.store(tcb.cptr(), Ordering::Relaxed);
}

/// The TCB set with [`set_own_tcb`], if any.
pub fn own_tcb() -> Option<sel4::Cap<sel4::cap_type::Tcb>> {
    match OWN_TCB.load(Ordering::Relaxed) {
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

/// Defines the program entry: `fn main(arg: usize) -> !` gets the thread's initial x0.
/// `entry!(main, stack_size = N)` sets the stack size (bytes, a non-zero multiple of 16).
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
        /// Called once by `_start` with the initial x0.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        extern "C" fn __sel4_runtime_main(arg: usize) -> ! {
            let main: fn(usize) -> ! = $main;
            main(arg)
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
