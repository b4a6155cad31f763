//! QEMU scenario program `vcpu-api` (`tests/qemu/vcpu-api.toml`): every VCPU-server call's
//! success path and every error a client can provoke, each a case function in a table
//! ([`api::CASES`]), printing `PASS <case>` or `FAIL <case>: <expected vs got>`.
//!
//! Threads: `main` runs the cases; `helper` (above main) runs the jobs of the thread-affinity
//! cases without blocking main. The other two clients of the system run below main, i.e. only
//! while main is blocked: no case blocks it (no guest runs, the helper's jobs complete at
//! once) until the last-but-one, which runs the `compute` guest. While main is blocked in it,
//! the hostile client and then the peer run (see the manifest), and their done tokens are
//! checked afterwards. docs/SCENARIOS.md lists the cases with the statuses they expect.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod api;
#[cfg(target_os = "none")]
mod guest;
#[cfg(target_os = "none")]
mod handles;
#[cfg(target_os = "none")]
mod limits;
#[cfg(target_os = "none")]
mod peers;
#[cfg(target_os = "none")]
mod vcpu;
#[cfg(target_os = "none")]
mod vmar;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`vcpu-api` is an seL4 component: build it with --target aarch64-unknown-none");
}
