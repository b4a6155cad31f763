//! `faulter` (tests/qemu/ipc.toml): announces a deliberate fault to the root task, then reads
//! address 0, which is never mapped. The root task must report the VM fault and keep the faulted
//! thread suspended while every other component keeps running.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use qemu_test_support::Test;
use sel4::fault_label;

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("faulter is an seL4 component: build an image with `cargo xtask build`");
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    t.expect_fault(fault_label::VM_FAULT, 0);
    read_address_zero();
    t.check(
        "null-read-faults",
        false,
        format_args!("reading address 0 returned"),
    );
    t.finish()
}

/// Loads a word from address 0 (in assembly: in Rust a null read would be undefined behaviour).
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
fn read_address_zero() {
    // Safety: the load faults (address 0 is never mapped in a component, see plan::vspace) and
    // the root task never resumes this thread; no Rust-visible memory or register is changed.
    unsafe {
        core::arch::asm!("mov {tmp}, #0", "ldr {tmp}, [{tmp}]", tmp = out(reg) _, options(nostack, readonly));
    }
}

/// Host builds never run the component.
#[cfg(not(target_arch = "aarch64"))]
fn read_address_zero() {}
