//! The test device: one 4 KiB page at [`crate::layout::TESTDEV_BASE`], trapped by the VMM
//! (`ZX_GUEST_TRAP_MEM`). Guests write results and progress to it and read test inputs from
//! it. Offsets are from the page base.
//!
//! | offset | name | dir | meaning |
//! |---|---|---|---|
//! | 0x000 | [`RESULT`] | W | the guest's main result (`irq`: each INTID; `timer`: ticks so far; `mmio`: checksum; `hostile`: x0 after a step) |
//! | 0x008 | [`STATUS`] | W | progress/status code (`STATUS_*`) |
//! | 0x010 | [`MARKER`] | W | `hostile`: index of the step about to run |
//! | 0x018 | [`ECHO`] | W | `mmio`: each loaded register written back, 64-bit |
//! | 0x020 | [`DETAIL`] | W | a second result word (`hostile`: x1 after a step; `smp`: PSCI CPU_ON's x0; `timer`: an unexpected INTID) |
//! | 0x028 | [`FAULT_ESR`] | W | unexpected EL1 exception: ESR_EL1 (then FAULT_ELR, FAULT_FAR, STATUS) |
//! | 0x030 | [`FAULT_ELR`] | W | unexpected EL1 exception: ELR_EL1 |
//! | 0x038 | [`FAULT_FAR`] | W | unexpected EL1 exception: FAR_EL1 |
//! | 0x040 | [`IN_IRQ_COUNT`] | R | `irq`: interrupts (`timer`: timer ticks) to take before powering off (0 means 1) |
//! | 0x100..0x108 | [`PATTERN_NEG`] | R | bytes of [`PATTERN_NEG_VALUE`] (every byte >= 0x80) |
//! | 0x108..0x110 | [`PATTERN_POS`] | R | bytes of [`PATTERN_POS_VALUE`] (every byte < 0x80) |
//! | 0x200..0x300 | [`SINK`] | W | `mmio` store targets: recorded by the VMM, no effect |
//!
//! Guests access the 64-bit registers with 64-bit `str x9`/`ldr x9` (xt = 9; `mmio` and
//! `compute` document their own registers). A read elsewhere returns 0 and a write elsewhere is
//! ignored; [`device_read`] is the reference answer for every read.

/// W: main result.
pub const RESULT: u64 = 0x000;
/// W: status code.
pub const STATUS: u64 = 0x008;
/// W: step marker (`hostile`).
pub const MARKER: u64 = 0x010;
/// W: loaded value echoed back (`mmio`).
pub const ECHO: u64 = 0x018;
/// W: second result word.
pub const DETAIL: u64 = 0x020;
/// W: ESR_EL1 of an unexpected exception.
pub const FAULT_ESR: u64 = 0x028;
/// W: ELR_EL1 of an unexpected exception.
pub const FAULT_ELR: u64 = 0x030;
/// W: FAR_EL1 of an unexpected exception.
pub const FAULT_FAR: u64 = 0x038;
/// R: number of interrupts the `irq` guest (timer ticks the `timer` guest) waits for; 0 is
/// read as 1.
pub const IN_IRQ_COUNT: u64 = 0x040;
/// R: 8 bytes of [`PATTERN_NEG_VALUE`], readable with any naturally aligned size.
pub const PATTERN_NEG: u64 = 0x100;
/// R: 8 bytes of [`PATTERN_POS_VALUE`], readable with any naturally aligned size.
pub const PATTERN_POS: u64 = 0x108;
/// W: 256 bytes of store targets.
pub const SINK: u64 = 0x200;
/// Size of [`SINK`].
pub const SINK_SIZE: u64 = 0x100;

/// Little-endian contents of [`PATTERN_NEG`]: bytes F1 F2 .. F8 (sign bit set in every byte,
/// halfword, word and doubleword).
pub const PATTERN_NEG_VALUE: u64 = 0xF8F7_F6F5_F4F3_F2F1;
/// Little-endian contents of [`PATTERN_POS`]: bytes 71 72 .. 78 (sign bit clear everywhere).
pub const PATTERN_POS_VALUE: u64 = 0x7877_7675_7473_7271;

/// STATUS: the `irq` guest is set up (GICC enabled, IRQs unmasked) and waits in WFI.
pub const STATUS_READY: u64 = 0x1;
/// STATUS: the guest finished its sequence (`hostile`, `smp`); power-off follows.
pub const STATUS_DONE: u64 = 0x2;
/// STATUS: `smp`: PSCI CPU_ON did not return SUCCESS (DETAIL holds x0).
pub const STATUS_CPU_ON_FAILED: u64 = 0x3;
/// STATUS: `timer`: an interrupt other than the timer PPI arrived (DETAIL holds its INTID);
/// power-off follows.
pub const STATUS_UNEXPECTED_IRQ: u64 = 0x4;
/// STATUS: MPIDR Aff0 >= `MAX_CPUS`: this CPU has no stack and powers off at once.
pub const STATUS_BAD_CPU: u64 = 0xBAD1;
/// STATUS: a Rust panic (a guest bug); power-off follows.
pub const STATUS_PANIC: u64 = 0xBAD0;
/// STATUS: an unexpected EL1 exception from vector `k` (0..16, the VBAR_EL1 slot index:
/// 4 = synchronous, 5 = IRQ, 6 = FIQ, 7 = SError, all from the current EL with SP_EL1) is
/// reported as `STATUS_EXCEPTION | k`, after FAULT_ESR/ELR/FAR; power-off follows.
pub const STATUS_EXCEPTION: u64 = 0xE00;

/// The value a correct VMM returns for a guest read of `size` bytes (1, 2, 4 or 8) at
/// `offset`: the raw device data, before the register extension the load instruction asks for
/// (see [`crate::mmio::extend`]). `irq_count` is what the test wants [`IN_IRQ_COUNT`] to say.
pub const fn device_read(offset: u64, size: u64, irq_count: u64) -> u64 {
    let mask = size_mask(size);
    if offset == IN_IRQ_COUNT {
        return irq_count & mask;
    }
    if offset >= PATTERN_NEG && offset + size <= PATTERN_POS + 8 {
        let (base, value) = if offset < PATTERN_POS {
            (PATTERN_NEG, PATTERN_NEG_VALUE)
        } else {
            (PATTERN_POS, PATTERN_POS_VALUE)
        };
        // An access may not straddle the two patterns (natural alignment guarantees this).
        if (offset - base) + size <= 8 {
            return (value >> (8 * (offset - base))) & mask;
        }
    }
    0
}

/// All-ones in the low `size` bytes (`size` in 1, 2, 4, 8; anything else is treated as 8).
pub const fn size_mask(size: u64) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        4 => 0xFFFF_FFFF,
        _ => u64::MAX,
    }
}
