//! The `irq-source` component of `manifests/default.toml`: a client with no resource and no
//! handle of its own, which raises virtual interrupts in the VMM's guest.
//!
//! It receives a handle to the VMM's VCPU through `handle_receive` (the VMM sends it with
//! `SIGNAL | TRANSFER`, the least `handle_send` accepts), drops it to `SIGNAL` alone with
//! `zx_handle_replace`, checks that this handle can do nothing but `zx_vcpu_interrupt`
//! (`ZX_ERR_ACCESS_DENIED` for enter, kick, read_state, write_state, duplicate), raises
//! [`vmm::demo::IRQ_VECTORS`], and sends the VMM a done token with its verdict.
//!
//! It runs only while the VMM is blocked (priority 90 < the VMM's 100), which the VMM first is
//! in `vcpu_enter` after sending the handle; so the first `handle_receive` finds it. It still
//! retries a bounded number of times, yielding in between, but it never waits for long: a
//! loop at its priority would keep the VMM's guest (priority 50) from running.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "irq_source.rs"]
mod component;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`irq-source` is an seL4 component: build it with --target aarch64-unknown-none");
}
