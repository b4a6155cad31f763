//! A VMM for the VCPU server, and the building blocks the `vmm` component and the QEMU scenario
//! programs (`tests/qemu/programs/vcpu-*`) share.
//!
//! Host-testable logic (no `unsafe`, no seL4):
//! - [`demo`]: what the `vmm` and `irq-source` components agree on;
//! - [`elf`]: loading a guest image into guest RAM;
//! - [`uart`], [`device`]: the guest contract's devices (PL011 data register, test device);
//! - [`machine`]: a guest and its VCPU run loop over any `vcpu_client::Transport`;
//! - [`report`]: `PASS`/`FAIL` lines in the QEMU runner's format, case tables, test helpers;
//! - [`token`]: done tokens, how components tell each other they finished (through the server).
//!
//! Target-only (`target_os = "none"`):
//! - `rt`: the component runtime on top of `sel4-runtime`: boot page, per-thread transports,
//!   worker threads and their synchronisation, guest RAM and its frame capabilities;
//! - `images`: the guest images, embedded at build time (see `build.rs`).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

pub mod demo;
pub mod device;
pub mod elf;
pub mod machine;
pub mod report;
pub mod token;
pub mod uart;

#[cfg(test)]
mod sim;

#[cfg(target_os = "none")]
pub mod rt;

/// The guest images (ELF files of the `guests` package), embedded at build time.
#[cfg(target_os = "none")]
pub mod images {
    include!(concat!(env!("OUT_DIR"), "/images.rs"));
}
