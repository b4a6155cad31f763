//! Pure logic of the seL4 kernel loader for QEMU `virt` (aarch64, EL2).
//!
//! The bootable image (`src/image/`, built only for `aarch64-unknown-none`
//! with the `image` feature) embeds a kernel ELF, a root-task ELF and an
//! optional DTB, and uses this library to decide everything before touching
//! memory:
//! - [`elf`]: the shared `elf-image` reader (bad input is an error, never a panic);
//! - [`layout`]: where each image goes and the kernel's x0..x5 arguments;
//! - [`pagetable`]: the EL2 stage-1 block mappings, built over a buffer;
//! - [`regs`]: TCR_EL2 / MAIR_EL2 / SCTLR_EL2 values from named fields.
//!
//! Everything here is host-tested and free of `unsafe`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod elf;
pub mod layout;
pub mod pagetable;
pub mod regs;

/// Facts of QEMU `virt` with `-m 2048` and the reference seL4 build.
pub mod qemu_virt {
    /// RAM the kernel manages: PADDR_BASE..PADDR_TOP of the kernel build.
    pub const KERNEL_RAM: core::ops::Range<u64> = 0x6000_0000..0xc000_0000;
    /// PL011 UART base.
    pub const UART: u64 = 0x0900_0000;
    /// seL4_UserTop of the aarch64 hypervisor build (44-bit PA).
    pub const USER_TOP: u64 = 0xfff_ffff_ffff;
}
