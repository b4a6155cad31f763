//! QEMU scenario program `vcpu-peer` (`tests/qemu/vcpu-api.toml`): a second client.
//!
//! It runs while `vcpu-api` is blocked in `vcpu_enter`, after the hostile client (higher
//! priority) has finished. It checks that it cannot touch `vcpu-api`'s objects (every handle
//! value that is not its own is `ZX_ERR_BAD_HANDLE` in its table, and the same values name its
//! own objects), that the one handle `vcpu-api` sent it has exactly the rights it was given,
//! and that its own calls still succeed after the hostile client's messages. It ends by sending
//! `vcpu-api` a done token.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod peer;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vcpu-peer` is an seL4 component: build it with --target aarch64-unknown-none");
}
