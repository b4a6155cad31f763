//! The guest-physical contract between the guest images in `src/bin/` and the VMM that runs
//! them on the VCPU server (documented in `docs/GUESTS.md`).
//!
//! Every guest is a bare aarch64 EL1 program linked at [`layout::RAM_BASE`], entered there
//! with the MMU off. It reaches the outside world only through:
//! - the PL011 UART data register ([`layout::UART_DR`], a MEM trap the VMM emulates),
//! - the test device page ([`layout::TESTDEV_BASE`], a MEM trap; registers in [`testdev`]),
//! - the GICv2 virtual CPU interface ([`layout::GICC_BASE`], mapped by the server; [`gicc`]),
//! - PSCI calls through `smc #0` ([`psci`]).
//!
//! This crate holds only constants, plain types and `const fn` reference models (what a VMM
//! must answer, what registers a guest leaves behind), so host tests and a target VMM can use
//! it alike. It has no `unsafe`; the guests' runtime lives in `src/rt/`, included by the
//! binaries only.
//!
//! Invariants every image keeps (checked by `link.ld` and this crate's tests):
//! - the ELF entry is [`layout::RAM_BASE`] and the image ends below [`layout::STACKS_BASE`];
//! - before the program proper runs, the entry code changes only x9, x10, SP, VBAR_EL1 and
//!   CPACR_EL1 (so x0..x8 and x11..x30 written with `write_state` before the first enter reach
//!   the program unchanged);
//! - a CPU whose MPIDR Aff0 is `>=` [`layout::MAX_CPUS`] writes [`testdev::STATUS_BAD_CPU`]
//!   to STATUS and powers off.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod compute;
pub mod hostile;
pub mod layout;
pub mod mmio;
pub mod testdev;

/// The `timer` guest's EL1 virtual timer (the generic timer's CNTV_*_EL0 registers).
pub mod timer {
    /// The virtual timer's PPI (INTID 27; Zircon's `kTimerVector`).
    pub const TIMER_INTID: u32 = 27;
    /// CNTV_CTL_EL0.ENABLE.
    pub const CNTV_CTL_ENABLE: u64 = 1 << 0;
    /// Timer ticks per second divided by this is the guest's interval (about 1 ms).
    pub const TICKS_PER_SECOND: u64 = 1000;

    /// The interval the guest arms CNTV_TVAL_EL0 with, from CNTFRQ_EL0: `frequency / 1000`,
    /// at least 1 (and at most `i32::MAX`, TVAL being a signed 32-bit down-counter).
    pub const fn interval(frequency: u64) -> u64 {
        let t = frequency / TICKS_PER_SECOND;
        if t == 0 {
            1
        } else if t > i32::MAX as u64 {
            i32::MAX as u64
        } else {
            t
        }
    }
}

/// GICv2 CPU interface registers (offsets from [`layout::GICC_BASE`]; 32-bit accesses).
///
/// The server maps the host's virtual CPU interface (GICV) there, so these accesses never
/// exit. Virtual interrupts arrive through the list registers whether or not anyone emulates
/// the distributor.
pub mod gicc {
    /// GICC_CTLR: control.
    pub const CTLR: u64 = 0x000;
    /// GICC_PMR: priority mask.
    pub const PMR: u64 = 0x004;
    /// GICC_IAR: interrupt acknowledge (read).
    pub const IAR: u64 = 0x00C;
    /// GICC_EOIR: end of interrupt (write the value IAR returned).
    pub const EOIR: u64 = 0x010;

    /// CTLR.EnableGrp0.
    pub const CTLR_ENABLE_GRP0: u32 = 1 << 0;
    /// CTLR.EnableGrp1.
    pub const CTLR_ENABLE_GRP1: u32 = 1 << 1;
    /// CTLR.AckCtl: IAR also acknowledges group 1 interrupts (else it answers 1022 for them).
    pub const CTLR_ACK_CTL: u32 = 1 << 2;
    /// What the `irq` guest writes to CTLR: both groups enabled and acknowledged through IAR,
    /// FIQEn clear (group 0 is signalled as IRQ too), EOImode 0 (EOIR also deactivates). The
    /// server may inject with group 0 or group 1.
    pub const CTLR_GUEST: u32 = CTLR_ENABLE_GRP0 | CTLR_ENABLE_GRP1 | CTLR_ACK_CTL;
    /// PMR value the guests write: unmask every priority (the GICV implements the top 5 bits,
    /// so it reads back as 0xF8).
    pub const PMR_ALL: u32 = 0xFF;
    /// The INTID field of IAR/EOIR.
    pub const INTID_MASK: u32 = 0x3FF;
    /// INTIDs from here on (1020..=1023) are special: 1022/1023 mean "nothing to acknowledge".
    pub const INTID_SPECIAL: u32 = 1020;
}

/// The `gicdef` guest (docs/GUESTS.md): takes interrupts without programming its GIC CPU
/// interface.
pub mod gicdef {
    /// x0 of the mode that never touches the GIC: the first IRQ writes RESULT = [`IRQ_TAKEN`].
    pub const MODE_SPIN: u64 = 0;
    /// x0 of the mode that acknowledges through GICC_IAR and executes WFI in the handler.
    pub const MODE_IAR_WFI: u64 = 1;
    /// RESULT of an IRQ taken in mode 0.
    pub const IRQ_TAKEN: u64 = 0x6000;
    /// OR-ed into the INTID in the RESULT written after the handler's WFI returned (mode 1).
    pub const WFI_RETURNED: u64 = 0x1_0000;
}

/// The `el0` guest (docs/GUESTS.md): WFI at EL0 must trap to the guest's own EL1.
pub mod el0 {
    /// SPSR_EL1 for AArch64 EL0t with D, A, I, F masked.
    pub const SPSR_EL0_AARCH64: u64 = 0x3C0;
    /// SPSR_EL1 for AArch32 User mode (M = 0b10000), A32, with A, I, F masked.
    pub const SPSR_EL0_AARCH32: u64 = 0x1D0;
    /// x0 selecting AArch32 at EL0 (0 selects AArch64).
    pub const MODE_AARCH32: u64 = 1;
    /// Vector slot of a synchronous exception from a lower EL in AArch64.
    pub const SLOT_LOWER_AARCH64: u64 = 8;
    /// Vector slot of a synchronous exception from a lower EL in AArch32.
    pub const SLOT_LOWER_AARCH32: u64 = 12;
    /// ESR_EL1.EC of a trapped WFI/WFE.
    pub const EC_WFX: u64 = 0x01;
}

/// PSCI 0.2 function ids (SMC calling convention; `smc #0`, id in w0) and return values.
pub mod psci {
    /// PSCI_VERSION: handled by the server (x0 = 2, i.e. 0.2).
    pub const VERSION: u32 = 0x8400_0000;
    /// CPU_SUSPEND (SMC64): not supported by the server (x0 = -1).
    pub const CPU_SUSPEND: u32 = 0xC400_0001;
    /// CPU_OFF: `enter` returns `ZX_ERR_STOP`.
    pub const CPU_OFF: u32 = 0x8400_0002;
    /// CPU_ON (SMC32 id): not CPU_ON for the server, which accepts only the SMC64 id (x0 = -1).
    pub const CPU_ON_32: u32 = 0x8400_0003;
    /// CPU_ON (SMC64): x1 = target MPIDR, x2 = entry, x3 = context. The server sets x0 = 0 and
    /// `enter` returns a GUEST_VCPU STARTUP packet (id = x1, entry = x2).
    pub const CPU_ON: u32 = 0xC400_0003;
    /// AFFINITY_INFO (SMC64): not supported (x0 = -1).
    pub const AFFINITY_INFO: u32 = 0xC400_0004;
    /// MIGRATE_INFO_TYPE: not supported (x0 = -1).
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    /// SYSTEM_OFF: `enter` returns `ZX_ERR_UNAVAILABLE`.
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    /// SYSTEM_RESET: `enter` returns `ZX_ERR_CANCELED`.
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    /// PSCI_FEATURES: not supported (x0 = -1).
    pub const FEATURES: u32 = 0x8400_000A;

    /// x0 after PSCI_VERSION: major 0, minor 2.
    pub const VERSION_0_2: u64 = 2;
    /// PSCI SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// PSCI NOT_SUPPORTED (-1), also the server's answer to any SMC with a non-zero immediate.
    pub const NOT_SUPPORTED: u64 = u64::MAX;
}

/// The Zircon statuses the guests provoke (`zx_status_t`, spec §2.1), for expectation tables.
pub mod zx {
    /// ZX_OK: `enter` returned a packet.
    pub const OK: i32 = 0;
    /// ZX_ERR_NOT_SUPPORTED.
    pub const ERR_NOT_SUPPORTED: i32 = -2;
    /// ZX_ERR_CANCELED (kick, or PSCI SYSTEM_RESET).
    pub const ERR_CANCELED: i32 = -23;
    /// ZX_ERR_NOT_FOUND (stage-2 fault outside every mapping and trap).
    pub const ERR_NOT_FOUND: i32 = -25;
    /// ZX_ERR_UNAVAILABLE (PSCI SYSTEM_OFF).
    pub const ERR_UNAVAILABLE: i32 = -28;
    /// ZX_ERR_IO_DATA_INTEGRITY (MEM-trap access without a valid syndrome).
    pub const ERR_IO_DATA_INTEGRITY: i32 = -42;
    /// ZX_ERR_STOP (PSCI CPU_OFF).
    pub const ERR_STOP: i32 = -60;
}

#[cfg(test)]
mod tests;
