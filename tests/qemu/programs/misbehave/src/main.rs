//! `misbehave` (tests/qemu/supervision.toml, issue 10): misbehaves towards the root task in the
//! way its component name says, without announcing anything. The root task must stop the whole
//! component alone and keep every other component running.
//!
//! - `faulter`: reads address 0 (a real VM fault);
//! - `forger`: calls its fault endpoint with a VM-fault label and made-up words (a forged fault
//!   message, which the root task cannot tell from a real one);
//! - `reporter`: reports `Done` twice.
//!
//! Each thread that is not stopped prints a `FAIL` line and reports a failure.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use qemu_test_support::Test;
use sel4::{MessageInfo, fault_label};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("misbehave is an seL4 component: build an image with `cargo xtask build`");
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    match t.boot.name() {
        "faulter" => read_address_zero(),
        "forger" => {
            let words = [0x40_0000, 0xdead_0000, 0, 0x9200_0007];
            t.ipc.msg_mut()[..4].copy_from_slice(&words);
            let ep = t.fault_ep();
            let _ = ep.call(t.ipc, MessageInfo::new(fault_label::VM_FAULT, 0, 0, 4));
        }
        "reporter" => {
            t.report();
            t.report();
        }
        other => {
            t.check(
                "misbehave",
                false,
                format_args!("no misbehaviour for component `{other}`"),
            );
        }
    }
    t.check(
        "stopped",
        false,
        format_args!("the root task let this component run on"),
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
