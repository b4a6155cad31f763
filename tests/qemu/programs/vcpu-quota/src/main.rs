//! QEMU scenario program `vcpu-quota` (`tests/qemu/vcpu-quota.toml`, issue 10): per-client
//! limits in the VCPU server.
//!
//! The same program runs as two clients. Client 1 (`greedy`, small `[endpoint.limits]`) takes
//! its limit of every kind of object the server keeps (guests, VCPUs, ports, traps, mappings,
//! handles) and checks that one more is refused with the documented status. Client 2
//! (`neighbour`, default limits, lower priority, so it runs once `greedy` is done) then creates
//! one object of every kind and must succeed: one client's exhaustion is never another's.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod quota;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vcpu-quota` is an seL4 component: build it with --target aarch64-unknown-none");
}
