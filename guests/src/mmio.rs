//! The `mmio` guest's exact access sequence (the program is `src/rt/mmio.rs`).
//!
//! Every access goes to the test device (base in x10) and makes `enter` return `ZX_OK` with a
//! GUEST_MEM packet whose fields equal one [`Access`] of [`SEQUENCE`], in order. After the
//! last one the guest calls PSCI SYSTEM_OFF (`ZX_ERR_UNAVAILABLE`).
//!
//! Before each load the destination register holds [`POISON`]; after each load (except the one
//! into XZR) the guest stores the whole 64-bit register to [`testdev::ECHO`], so the VMM sees
//! exactly what its `write_state` produced, including the upper half of W-register loads.
//!
//! For a read the VMM must write [`Access::reg`] into x\[xt\] (read_state, modify,
//! write_state) before the next enter; for xt = 31 (XZR) it must write no register. The packet
//! carries access_size and sign_extend but not the destination width (ISS.SF), so a VMM cannot
//! tell `ldrsb w2` from `ldrsb x3` by the packet alone: [`Access::wide`] records it, and
//! [`Access::reg`] is the architectural result (a W destination has its upper 32 bits zero,
//! sign extension stops at bit 31).

use crate::layout::TESTDEV_BASE;
use crate::testdev::{self, ECHO, PATTERN_NEG, PATTERN_POS, RESULT, SINK};
use crate::testdev::{PATTERN_NEG_VALUE, PATTERN_POS_VALUE};

/// One MEM-trap exit of the `mmio` guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The instruction (mnemonic and transfer register) in `src/rt/mmio.rs`.
    pub insn: &'static str,
    /// Guest-physical address (packet `addr`).
    pub addr: u64,
    /// Packet `access_size`: 1, 2, 4 or 8.
    pub size: u8,
    /// Packet `sign_extend`.
    pub sign_extend: bool,
    /// Packet `xt` (31 = XZR).
    pub xt: u8,
    /// Packet `read`.
    pub read: bool,
    /// Reads: the destination is an X register (ISS.SF; not in the packet). Writes: false.
    pub wide: bool,
    /// Writes: the packet's `data` (the register masked to `size`). Reads: the raw device
    /// value [`testdev::device_read`] gives (the packet's `data` is 0 for reads).
    pub data: u64,
    /// Reads: the value x\[xt\] must hold afterwards ([`extend`] of `data`). Writes: `data`.
    pub reg: u64,
}

/// The value every load destination holds just before the load.
pub const POISON: u64 = 0xDEAD_BEEF_DEAD_BEEF;
/// The register (x20) the sized stores take their data from.
pub const STORE_VALUE: u64 = 0x1122_3344_5566_7788;

const T: u64 = TESTDEV_BASE;

const fn load(
    insn: &'static str,
    off: u64,
    size: u8,
    sign_extend: bool,
    (xt, wide): (u8, bool),
    data: u64,
    reg: u64,
) -> Access {
    Access {
        insn,
        addr: T + off,
        size,
        sign_extend,
        xt,
        read: true,
        wide,
        data,
        reg,
    }
}

const fn store(insn: &'static str, off: u64, size: u8, xt: u8, data: u64) -> Access {
    Access {
        insn,
        addr: T + off,
        size,
        sign_extend: false,
        xt,
        read: false,
        wide: false,
        data,
        reg: data,
    }
}

const fn echo(insn: &'static str, xt: u8, value: u64) -> Access {
    store(insn, ECHO, 8, xt, value)
}

/// Number of accesses.
pub const LEN: usize = 40;

/// Every exit in order: 16 loads (15 of them echoed), 8 stores, then the checksum to RESULT.
///
/// | # | instruction | offset | value put in the register |
/// |---|---|---|---|
/// | 1 | `ldrb w1` | 0x100 | 0xF1 |
/// | 2 | `ldrsb w2` | 0x100 | 0xFFFF_FFF1 |
/// | 3 | `ldrsb x3` | 0x100 | 0xFFFF_FFFF_FFFF_FFF1 |
/// | 4 | `ldrh w4` | 0x100 | 0xF2F1 |
/// | 5 | `ldrsh w5` | 0x100 | 0xFFFF_F2F1 |
/// | 6 | `ldrsh x6` | 0x100 | 0xFFFF_FFFF_FFFF_F2F1 |
/// | 7 | `ldr w7` | 0x100 | 0xF4F3_F2F1 |
/// | 8 | `ldrsw x8` | 0x100 | 0xFFFF_FFFF_F4F3_F2F1 |
/// | 9 | `ldr x11` | 0x100 | 0xF8F7_F6F5_F4F3_F2F1 |
/// | 10 | `ldrb w12` | 0x107 | 0xF8 |
/// | 11 | `ldrsh w13` | 0x10A | 0x7473 |
/// | 12 | `ldrsw x14` | 0x10C | 0x7877_7675 |
/// | 13 | `ldrsb x15` | 0x108 | 0x71 |
/// | 14 | `ldr x0` | 0x108 | 0x7877_7675_7473_7271 |
/// | 15 | `ldr w30` | 0x104 | 0xF8F7_F6F5 |
/// | 16 | `ldr xzr` | 0x100 | none (discarded, no echo) |
/// | 17..24 | `strb w20`, `strh w20`, `str w20`, `str x20`, `str xzr`, `strb wzr`, `strh w0`, `str x30` | 0x200, 0x202, 0x204, 0x208, 0x210, 0x218, 0x21A, 0x220 | |
/// | 25 | `str x21` | RESULT | [`CHECKSUM`] |
///
/// Each load `n` (1..=15) is followed by `str xN, [ECHO]` (8 bytes, data = the register).
pub const SEQUENCE: [Access; LEN] = [
    load("ldrb w1", PATTERN_NEG, 1, false, (1, false), 0xF1, 0xF1),
    echo("str x1", 1, 0xF1),
    load(
        "ldrsb w2",
        PATTERN_NEG,
        1,
        true,
        (2, false),
        0xF1,
        0xFFFF_FFF1,
    ),
    echo("str x2", 2, 0xFFFF_FFF1),
    load(
        "ldrsb x3",
        PATTERN_NEG,
        1,
        true,
        (3, true),
        0xF1,
        0xFFFF_FFFF_FFFF_FFF1,
    ),
    echo("str x3", 3, 0xFFFF_FFFF_FFFF_FFF1),
    load("ldrh w4", PATTERN_NEG, 2, false, (4, false), 0xF2F1, 0xF2F1),
    echo("str x4", 4, 0xF2F1),
    load(
        "ldrsh w5",
        PATTERN_NEG,
        2,
        true,
        (5, false),
        0xF2F1,
        0xFFFF_F2F1,
    ),
    echo("str x5", 5, 0xFFFF_F2F1),
    load(
        "ldrsh x6",
        PATTERN_NEG,
        2,
        true,
        (6, true),
        0xF2F1,
        0xFFFF_FFFF_FFFF_F2F1,
    ),
    echo("str x6", 6, 0xFFFF_FFFF_FFFF_F2F1),
    load(
        "ldr w7",
        PATTERN_NEG,
        4,
        false,
        (7, false),
        0xF4F3_F2F1,
        0xF4F3_F2F1,
    ),
    echo("str x7", 7, 0xF4F3_F2F1),
    load(
        "ldrsw x8",
        PATTERN_NEG,
        4,
        true,
        (8, true),
        0xF4F3_F2F1,
        0xFFFF_FFFF_F4F3_F2F1,
    ),
    echo("str x8", 8, 0xFFFF_FFFF_F4F3_F2F1),
    load(
        "ldr x11",
        PATTERN_NEG,
        8,
        false,
        (11, true),
        PATTERN_NEG_VALUE,
        PATTERN_NEG_VALUE,
    ),
    echo("str x11", 11, PATTERN_NEG_VALUE),
    load(
        "ldrb w12",
        PATTERN_NEG + 7,
        1,
        false,
        (12, false),
        0xF8,
        0xF8,
    ),
    echo("str x12", 12, 0xF8),
    load(
        "ldrsh w13",
        PATTERN_POS + 2,
        2,
        true,
        (13, false),
        0x7473,
        0x7473,
    ),
    echo("str x13", 13, 0x7473),
    load(
        "ldrsw x14",
        PATTERN_POS + 4,
        4,
        true,
        (14, true),
        0x7877_7675,
        0x7877_7675,
    ),
    echo("str x14", 14, 0x7877_7675),
    load("ldrsb x15", PATTERN_POS, 1, true, (15, true), 0x71, 0x71),
    echo("str x15", 15, 0x71),
    load(
        "ldr x0",
        PATTERN_POS,
        8,
        false,
        (0, true),
        PATTERN_POS_VALUE,
        PATTERN_POS_VALUE,
    ),
    echo("str x0", 0, PATTERN_POS_VALUE),
    load(
        "ldr w30",
        PATTERN_NEG + 4,
        4,
        false,
        (30, false),
        0xF8F7_F6F5,
        0xF8F7_F6F5,
    ),
    echo("str x30", 30, 0xF8F7_F6F5),
    load(
        "ldr xzr",
        PATTERN_NEG,
        8,
        false,
        (31, true),
        PATTERN_NEG_VALUE,
        0,
    ),
    store("strb w20", SINK, 1, 20, 0x88),
    store("strh w20", SINK + 0x02, 2, 20, 0x7788),
    store("str w20", SINK + 0x04, 4, 20, 0x5566_7788),
    store("str x20", SINK + 0x08, 8, 20, STORE_VALUE),
    store("str xzr", SINK + 0x10, 8, 31, 0),
    store("strb wzr", SINK + 0x18, 1, 31, 0),
    store("strh w0", SINK + 0x1A, 2, 0, 0x7271),
    store("str x30", SINK + 0x20, 8, 30, 0xF8F7_F6F5),
    store("str x21", RESULT, 8, 21, CHECKSUM),
];

/// What the guest writes to RESULT (from x21): the wrapping sum of the 15 loaded registers
/// (every load except the one into XZR), as the VMM set them.
pub const CHECKSUM: u64 = checksum();

const fn checksum() -> u64 {
    // Computed from the literal register values (the table above refers to this constant, so
    // it cannot be derived from the table itself); `tests` checks the two agree.
    const REGS: [u64; 15] = [
        0xF1,
        0xFFFF_FFF1,
        0xFFFF_FFFF_FFFF_FFF1,
        0xF2F1,
        0xFFFF_F2F1,
        0xFFFF_FFFF_FFFF_F2F1,
        0xF4F3_F2F1,
        0xFFFF_FFFF_F4F3_F2F1,
        0xF8F7_F6F5_F4F3_F2F1,
        0xF8,
        0x7473,
        0x7877_7675,
        0x71,
        0x7877_7675_7473_7271,
        0xF8F7_F6F5,
    ];
    let mut sum = 0u64;
    let mut i = 0;
    while i < REGS.len() {
        sum = sum.wrapping_add(REGS[i]);
        i += 1;
    }
    sum
}

/// The architectural register value of a load: `raw` (the `size`-byte device value) zero- or
/// sign-extended to the destination width (`wide`: X register, else W register with the upper
/// 32 bits zero).
pub const fn extend(raw: u64, size: u8, sign_extend: bool, wide: bool) -> u64 {
    let bits = 8 * size as u32;
    let raw = raw & testdev::size_mask(size as u64);
    let value = if sign_extend && bits < 64 {
        let shift = 64 - bits;
        (((raw << shift) as i64) >> shift) as u64
    } else {
        raw
    };
    if wide { value } else { value & 0xFFFF_FFFF }
}
