//! QEMU scenario program `vcpu-hostile-guest` (`tests/qemu/vcpu-hostile.toml`): drives the
//! `hostile` guest through its 123 escape attempts (`guests::hostile::STEPS`) and checks each
//! against its documented expectation, one `PASS`/`FAIL hostile-step-NNN` line per step; then
//! runs well-behaved guests to show the server still serves.
//!
//! Driving: the guest announces step `i` by writing `i` to the test device's MARKER, then does
//! the step, then writes RESULT and DETAIL. The exits between two MARKER writes belong to the
//! step. An error status from `vcpu_enter` that comes back on the next enter, with no packet in
//! between, means the VCPU is stuck on that instruction: the driver closes that VCPU and
//! starts a new one at the entry with x0 = `i + 1` (the guest starts at the step in x0).
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod driver;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "`vcpu-hostile-guest` is an seL4 component: build it with --target aarch64-unknown-none"
    );
}
