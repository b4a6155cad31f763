//! The `vmm` component of `manifests/default.toml`: runs three guests through the VCPU server
//! and shows every part of the VCPU API on the way.
//!
//! 1. `irq`: before entering, sends the `irq-source` component a `SIGNAL` handle to the VCPU;
//!    the guest takes the interrupts that component raises ([`vmm::demo::IRQ_VECTORS`]).
//! 2. `hello`: the guest's UART greeting is printed as `guest: ...`.
//! 3. `spin`: a kick before `vcpu_enter` makes it return `ZX_ERR_CANCELED` at once; then the
//!    kicker thread stops the spinning guest while the main thread is blocked in `vcpu_enter`.
//!
//! Each step prints `PASS`/`FAIL` like a test; at the end the VMM collects the interrupt
//! source's done token, prints a summary and the test sentinel, and stops its threads (it holds
//! no capability to power the machine off).
//!
//! # The kick, and why the kicker needs its own VCPU
//! The kicker (priority 75, between the VCPUs' 50 and the main thread's 100) is started right
//! before the main thread enters the spinning VCPU, so it runs only once the main thread is
//! blocked in `vcpu_enter`. It must not kick at once: the spinning VCPU, below it, would not
//! have run yet. So it first enters an *alarm* VCPU of the same guest whose entry is unmapped:
//! both VCPUs are at priority 50 and the spinning one is ahead in the run queue, so the alarm
//! runs only when the spinner's time slice ends, faults at once (`ZX_ERR_NOT_FOUND`) and wakes
//! the kicker, which then kicks a guest that has really been running (its loop counter x19 is
//! no longer 0).
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "vmm/component.rs"]
mod component;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vmm` is an seL4 component: build it with --target aarch64-unknown-none");
}
