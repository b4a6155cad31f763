//! The guest-physical address map every guest image assumes. A VMM must provide exactly this:
//!
//! | IPA | size | what | provided by |
//! |---|---|---|---|
//! | [`RAM_BASE`] 0x4000_0000 | [`RAM_SIZE`] 2 MiB | RAM: image at the bottom, stacks at the top | VMM maps RAM (`vmar_map`) |
//! | [`UART_BASE`] 0x0900_0000 | 4 KiB | PL011, only the data register (offset 0) is used | VMM MEM trap |
//! | [`TESTDEV_BASE`] 0x0a00_0000 | 4 KiB | test device ([`crate::testdev`]) | VMM MEM trap |
//! | [`GICC_BASE`] 0x8_0000_1000 | 8 KiB | GICv2 CPU interface (host GICV) | server (`kGicvAddress`) |
//! | [`GICD_BASE`] 0x0800_0000 | 4 KiB | GIC distributor: **not emulated**, never touched (except by `hostile`) | nobody |
//!
//! Everything else is unmapped: a guest access there makes `enter` fail with
//! `ZX_ERR_NOT_FOUND`.
//!
//! Stacks: CPU `n` (MPIDR Aff0 = `n`, `n <` [`MAX_CPUS`]) starts with SP = [`stack_top`]`(n)`
//! and owns [`STACK_SIZE`] bytes below it, so several VCPUs can run one image at once.

/// Guest RAM base; images are linked and entered here (the ELF entry is this address).
pub const RAM_BASE: u64 = 0x4000_0000;
/// Guest RAM size (2 MiB).
pub const RAM_SIZE: u64 = 0x20_0000;
/// First address after guest RAM.
pub const RAM_END: u64 = RAM_BASE + RAM_SIZE;

/// Most CPUs an image supports (MPIDR Aff0 0..MAX_CPUS); Zircon allows 7 VCPUs per guest.
pub const MAX_CPUS: u64 = 8;
/// log2 of [`STACK_SIZE`].
pub const STACK_SHIFT: u32 = 15;
/// Stack bytes per CPU (32 KiB).
pub const STACK_SIZE: u64 = 1 << STACK_SHIFT;
/// Lowest stack byte: every image must end at or below this address (checked by `link.ld`).
pub const STACKS_BASE: u64 = RAM_END - MAX_CPUS * STACK_SIZE;

/// Initial SP of CPU `cpu` (MPIDR Aff0): the top of RAM minus `cpu` stacks.
pub const fn stack_top(cpu: u64) -> u64 {
    RAM_END - cpu * STACK_SIZE
}

/// Translation granule, and the size of every trap.
pub const PAGE_SIZE: u64 = 0x1000;

/// PL011 UART page (MEM trap).
pub const UART_BASE: u64 = 0x0900_0000;
/// Size of the UART trap.
pub const UART_SIZE: u64 = PAGE_SIZE;
/// PL011 data register: guests write one byte per `strb` (a GUEST_MEM write packet of
/// access_size 1); they never read the UART.
pub const UART_DR: u64 = UART_BASE;

/// Test device page (MEM trap); registers in [`crate::testdev`].
pub const TESTDEV_BASE: u64 = 0x0a00_0000;
/// Size of the test-device trap.
pub const TESTDEV_SIZE: u64 = PAGE_SIZE;

/// GIC distributor IPA on QEMU virt. Not emulated: no guest here depends on it (virtual
/// interrupts reach the CPU interface through the list registers regardless).
pub const GICD_BASE: u64 = 0x0800_0000;

/// GICv2 CPU interface IPA (Zircon's `kGicvAddress`); the server maps the host GICV here.
pub const GICC_BASE: u64 = 0x8_0000_1000;
/// Size of the GICV mapping (8 KiB).
pub const GICC_SIZE: u64 = 0x2000;
