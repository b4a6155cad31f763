//! A VMM that boots unmodified Linux (Debian's arm64 cloud kernel) through the VCPU server, with
//! Zircon's hypervisor API; docs/GUESTS.md ("The Linux guest") describes the whole boot.
//!
//! Host-testable logic (`forbid(unsafe_code)` in every module):
//! - [`blob`]: the boot blob (Image, initramfs, command line) the build preloads;
//! - [`image`]: the arm64 Image header and placement rules of the boot protocol;
//! - [`layout`]: the guest-physical layout and where the boot files go;
//! - [`fdt`]: the device tree (`vm-fdt`);
//! - [`gicd`]: the GICv2 distributor emulation;
//! - [`pl011`]: the PL011 UART emulation;
//! - [`board`]: both devices behind their traps, exit counts and the last exits;
//! - [`psci`]: which PSCI calls the server answers and what the VMM sees of them.
//!
//! Target-only (`target_os = "none"`): `rt`, the blob's mapping, the counter and the heap. The
//! component itself is the binary (`src/linux/component.rs`), built on the `vmm` crate's
//! runtime, guest RAM, `Vm` and load completion.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod blob;
pub mod board;
pub mod fdt;
pub mod gicd;
pub mod image;
pub mod layout;
pub mod pl011;
pub mod psci;

#[cfg(target_os = "none")]
pub mod rt;
