//! QEMU scenario program `vcpu-guests` (`tests/qemu/vcpu-guests.toml`): runs the guest images
//! of `guests/` through the VCPU server and checks what comes back, one case function per
//! scenario in a table ([`cases::CASES`]).
//!
//! Threads: `main` runs the cases; `helper` (priority 110, above main) runs jobs that must
//! happen while main is blocked in `vcpu_enter`: it enters a VCPU of its own first (an *alarm*
//! VCPU with an unmapped entry, a second VCPU of the `smp` guest, or a VCPU of a second
//! guest), so its job goes on only once that VCPU has had the CPU. seL4 puts a thread it
//! resumes at the head of its priority's run queue, so main's VCPU, resumed after the
//! helper's, runs first. docs/SCENARIOS.md lists the cases.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod cases;
#[cfg(target_os = "none")]
mod conform;
#[cfg(target_os = "none")]
mod exec;
#[cfg(target_os = "none")]
mod helper;
#[cfg(target_os = "none")]
mod multi;
#[cfg(target_os = "none")]
mod vgic;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vcpu-guests` is an seL4 component: build it with --target aarch64-unknown-none");
}
