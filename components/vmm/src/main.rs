//! The `vmm` component of `manifests/default.toml`: runs three guests through the VCPU server
//! and shows every part of the VCPU API on the way.
//!
//! 1. `irq`: before entering, sends the `irq-source` component a `SIGNAL | TRANSFER` handle to
//!    the VCPU (which it narrows to `SIGNAL`); the guest takes the interrupts that component
//!    raises ([`vmm::demo::IRQ_VECTORS`]).
//! 2. `hello`: the guest's UART greeting is printed as `guest: ...`.
//! 3. `spin`: a kick before `vcpu_enter` makes it return `ZX_ERR_CANCELED` at once; then the
//!    kicker thread stops the spinning guest while the main thread is blocked in `vcpu_enter`.
//!
//! Each step prints `PASS`/`FAIL` like a test; at the end the VMM collects the interrupt
//! source's done token, prints a summary, and its threads report to the root task and stop (it
//! holds no capability to power the machine off): the root task prints the verdict once every
//! thread has reported, and ends the run.
//!
//! # The kick, and why the kicker needs its own VCPU
//! The kicker must stop a guest that has really been running, but it runs above every VCPU, so
//! it must block until the spinning VCPU has had the CPU. It does so in an *alarm* VCPU of the
//! same guest whose entry is unmapped, which faults (`ZX_ERR_NOT_FOUND`) as soon as it runs:
//! 1. the main thread starts the kicker's job; the kicker (priority 110, above the main thread's
//!    100) runs at once, creates the alarm VCPU and enters it, and blocks;
//! 2. the main thread enters the spinning VCPU and blocks;
//! 3. both VCPUs are ready at priority 50; seL4 puts a thread it resumes at the head of its
//!    priority's run queue, so the spinner, resumed last, runs first, for a whole time slice,
//!    and only then the alarm, which faults at once and wakes the kicker;
//! 4. the kicker kicks the spinner: the main thread's `vcpu_enter` returns `ZX_ERR_CANCELED`
//!    and the guest's loop counter x19 shows it ran.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "vmm/component.rs"]
mod component;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vmm` is an seL4 component: build it with --target aarch64-unknown-none");
}
