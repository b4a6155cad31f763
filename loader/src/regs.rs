//! Values for the EL2 system registers the loader programs before the jump.
//!
//! Each value is composed from named fields (Arm ARM field names) so it can be
//! checked against the seL4 entry contract: seL4 compares TCR_EL2 with its
//! own expected value and refuses to boot on any difference, and its page
//! tables use MAIR_EL2 attribute indices 0 (Device-nGnRnE) and 4 (Normal WB).

/// TCR_EL2 fields (non-VHE EL2 layout).
pub mod tcr {
    /// T0SZ: VA size is 64 − T0SZ bits; 16 gives 48-bit VAs.
    pub const T0SZ_48BIT: u64 = 16;
    /// IRGN0 = 0b01: inner write-back, read- and write-allocate.
    pub const IRGN0_WBWA: u64 = 0b01 << 8;
    /// ORGN0 = 0b01: outer write-back, read- and write-allocate.
    pub const ORGN0_WBWA: u64 = 0b01 << 10;
    /// SH0 = 0b11: inner shareable table walks.
    pub const SH0_INNER: u64 = 0b11 << 12;
    /// TG0 = 0b00: 4 KiB granule.
    pub const TG0_4K: u64 = 0b00 << 14;
    /// Position of PS, the physical address size.
    pub const PS_SHIFT: u64 = 16;
    /// PS encoding for a 40-bit (1 TiB) physical address space.
    pub const PS_40BIT: u64 = 0b010;
    /// PS encoding for a 44-bit (16 TiB) physical address space.
    pub const PS_44BIT: u64 = 0b100;
    /// Bits 23 and 31 are RES1 in the non-VHE layout.
    pub const RES1: u64 = (1 << 23) | (1 << 31);

    /// TCR_EL2 for a 48-bit VA, 4 KiB-granule, write-back, inner-shareable
    /// TTBR0 regime with the given PS encoding.
    pub const fn value(ps: u64) -> u64 {
        T0SZ_48BIT | IRGN0_WBWA | ORGN0_WBWA | SH0_INNER | TG0_4K | (ps << PS_SHIFT) | RES1
    }
}

/// TCR_EL2 the reference kernel (44-bit PA, cortex-a57) expects.
pub const TCR_EL2: u64 = tcr::value(tcr::PS_44BIT);

/// MAIR attribute encodings, one byte per index.
pub mod mair {
    /// Device-nGnRnE.
    pub const DEVICE_NGNRNE: u8 = 0x00;
    /// Device-nGnRE.
    pub const DEVICE_NGNRE: u8 = 0x04;
    /// Device-GRE.
    pub const DEVICE_GRE: u8 = 0x0c;
    /// Normal, inner and outer non-cacheable.
    pub const NORMAL_NC: u8 = 0x44;
    /// Normal, inner and outer write-back non-transient, read/write-allocate.
    pub const NORMAL_WB: u8 = 0xff;
    /// Normal, inner and outer write-through non-transient, read/write-allocate.
    pub const NORMAL_WT: u8 = 0xaa;

    /// Index of Device-nGnRnE (seL4 uses it for device mappings).
    pub const IDX_DEVICE: u8 = 0;
    /// Index of Normal write-back (seL4 uses it for memory).
    pub const IDX_NORMAL: u8 = 4;

    /// The attributes by index 0..=7.
    pub const ATTRS: [u8; 8] = [
        DEVICE_NGNRNE,
        DEVICE_NGNRE,
        DEVICE_GRE,
        NORMAL_NC,
        NORMAL_WB,
        NORMAL_WT,
        0,
        0,
    ];

    /// Packs one attribute byte per index into the register value.
    pub const fn value(attrs: [u8; 8]) -> u64 {
        u64::from_le_bytes(attrs)
    }
}

/// MAIR_EL2 value (indices 0..=5: nGnRnE, nGnRE, GRE, NC, WB, WT).
pub const MAIR_EL2: u64 = mair::value(mair::ATTRS);

/// SCTLR_EL2 bits the loader sets or clears.
pub mod sctlr {
    /// M: stage-1 MMU enable.
    pub const M: u64 = 1 << 0;
    /// A: alignment checking.
    pub const A: u64 = 1 << 1;
    /// C: data cacheability.
    pub const C: u64 = 1 << 2;
    /// SA: stack alignment checking.
    pub const SA: u64 = 1 << 3;
    /// I: instruction cacheability.
    pub const I: u64 = 1 << 12;
    /// WXN: writable implies execute-never.
    pub const WXN: u64 = 1 << 19;
    /// EE: big-endian data accesses at EL2.
    pub const EE: u64 = 1 << 25;

    /// SCTLR_EL2 with the MMU and caches on, little-endian, no alignment
    /// checks and WXN off (seL4 executes from a writable mapping).
    pub const fn enabled(current: u64) -> u64 {
        (current | M | C | I) & !(A | SA | WXN | EE)
    }
}

/// CurrentEL value (bits [3:2]) as an exception level.
pub const fn current_el(raw: u64) -> u64 {
    (raw >> 2) & 0b11
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcr_matches_sel4_expected_values() {
        assert_eq!(TCR_EL2, 0x8084_3510);
        assert_eq!(tcr::value(tcr::PS_40BIT), 0x8082_3510);
    }

    #[test]
    fn mair_indices() {
        assert_eq!(MAIR_EL2, 0x0000_aaff_440c_0400);
        let byte = |i: u8| (MAIR_EL2 >> (8 * u32::from(i))) as u8;
        assert_eq!(byte(mair::IDX_DEVICE), 0x00);
        assert_eq!(byte(mair::IDX_NORMAL), 0xff);
    }

    #[test]
    fn sctlr_enable_sets_and_clears() {
        // Reset value of SCTLR_EL2 on QEMU: RES1 bits only.
        let reset = 0x30c5_0830;
        let on = sctlr::enabled(reset | sctlr::WXN | sctlr::A);
        assert_eq!(
            on & (sctlr::M | sctlr::C | sctlr::I),
            sctlr::M | sctlr::C | sctlr::I
        );
        assert_eq!(on & (sctlr::A | sctlr::SA | sctlr::WXN | sctlr::EE), 0);
        assert_eq!(on & reset, reset & !sctlr::SA);
    }

    #[test]
    fn current_el_field() {
        assert_eq!(current_el(0b1000), 2);
        assert_eq!(current_el(0b0100), 1);
        assert_eq!(current_el(0b1100), 3);
    }
}
