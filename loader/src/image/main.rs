//! The bootable `vcpu-loader` image for QEMU `virt` (aarch64, EL2).
//!
//! QEMU loads this ELF at its physical addresses (see `link.ld`) and enters
//! `_start` at EL2 with the MMU off. The loader copies the embedded seL4
//! kernel, optional DTB and root task into place as planned by
//! [`vcpu_loader::layout`], builds the EL2 page tables, turns the MMU on and
//! branches to the kernel's virtual entry (spec §4.2/§4.3).
//!
//! `unsafe` is denied here and allowed only in three small modules:
//! `arch` (entry assembly, system registers, caches, the jump), `mem` (raw
//! physical copies, linker symbols, the page-table buffer) and `uart` (MMIO).
//! On any other target than bare-metal aarch64 this is a stub that explains
//! how to build the real image.

#![cfg_attr(all(target_arch = "aarch64", target_os = "none"), no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod boot;

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
fn main() {
    eprintln!("vcpu-loader is a bare-metal image: build it with --target aarch64-unknown-none");
    std::process::exit(2);
}
