//! The `linux-vmm` component of `manifests/linux.toml`: boots unmodified Linux (Debian's arm64
//! cloud kernel and a busybox initramfs) through the VCPU server.
//!
//! 1. Reads the boot blob (`linux-boot` region, placed by the build; `linux_vmm::blob`).
//! 2. Places the Image by the arm64 boot protocol, the initramfs and the device tree in its
//!    `guest-ram` region (`linux_vmm::layout`), *before* mapping it into the guest, so the
//!    server's clean-and-invalidate at `vmar_map` makes it visible to a guest running with
//!    caches off.
//! 3. Creates the guest, maps the RAM (2 MiB frames), traps the GIC distributor and the PL011,
//!    creates the boot VCPU at the Image's first byte with x0 = DTB, x1..x3 = 0.
//! 4. Enters the VCPU in a loop, emulating the distributor and the UART (`linux_vmm::board`),
//!    printing the guest's console lines as `linux: ...`, until PSCI SYSTEM_OFF
//!    (`ZX_ERR_UNAVAILABLE`). Anything else ends the run with the exit and the last exits.
//!
//! It prints `PASS`/`FAIL` per step and its timings and exit counts, then reports to the root
//! task, which prints the verdict and powers QEMU off.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "linux/component.rs"]
mod component;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`linux-vmm` is an seL4 component: build it with --target aarch64-unknown-none");
}
