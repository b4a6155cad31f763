//! EL2 stage-1 translation tables: 4 KiB granule, 48-bit VA, TTBR0_EL2.
//!
//! [`Builder`] fills a caller-provided buffer of 4 KiB tables (the first is
//! the level-0 root) with block mappings only: 1 GiB level-1 blocks where
//! address and size allow, 2 MiB level-2 blocks otherwise. It is pure: the
//! buffer's physical address is a parameter, so the same code runs on the host
//! in tests and on the target over a static buffer.
//!
//! Invariants: a slot is written only when empty, so an overlapping request is
//! an error rather than a silent remap; table descriptors point only into the
//! buffer; no entry is ever removed.

use core::fmt;

use crate::regs::mair;

/// Entries per table.
pub const ENTRIES: usize = 512;
/// Bytes per table (one 4 KiB page).
pub const TABLE_SIZE: u64 = 4096;
/// Level-2 block size.
pub const SIZE_2M: u64 = 1 << 21;
/// Level-1 block size.
pub const SIZE_1G: u64 = 1 << 30;
/// Exclusive end of the 48-bit virtual address space.
pub const VA_END: u64 = 1 << 48;
/// Exclusive end of the output address range a descriptor can hold.
pub const PA_END: u64 = 1 << 48;

/// One translation table.
pub type Table = [u64; ENTRIES];

/// Descriptor bits.
pub mod desc {
    /// Valid.
    pub const VALID: u64 = 1 << 0;
    /// Bit 1 set: table (levels 0..2) or page (level 3); clear: block.
    pub const TABLE: u64 = 1 << 1;
    /// Position of AttrIndx[2:0].
    pub const ATTR_INDEX_SHIFT: u64 = 2;
    /// AP[1], RES1 in the single-privilege EL2 regime.
    pub const AP1_RES1: u64 = 1 << 6;
    /// SH[1:0] = inner shareable.
    pub const SH_INNER: u64 = 0b11 << 8;
    /// Access flag.
    pub const AF: u64 = 1 << 10;
    /// Execute-never at EL2.
    pub const XN: u64 = 1 << 54;
    /// Output address bits [47:12].
    pub const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
}

/// Memory type of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Normal write-back (MAIR index 4), inner shareable, executable.
    Normal,
    /// Device-nGnRnE (MAIR index 0), execute-never.
    Device,
}

impl Memory {
    /// Lower and upper attribute bits of a block descriptor of this type.
    pub const fn block_attrs(self) -> u64 {
        let common = desc::VALID | desc::AF | desc::AP1_RES1;
        match self {
            Self::Normal => {
                common | desc::SH_INNER | ((mair::IDX_NORMAL as u64) << desc::ATTR_INDEX_SHIFT)
            }
            Self::Device => {
                common | desc::XN | ((mair::IDX_DEVICE as u64) << desc::ATTR_INDEX_SHIFT)
            }
        }
    }
}

/// Why a mapping could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The buffer is empty or its physical address is not 4 KiB aligned.
    BadBuffer,
    /// VA, PA or size is not 2 MiB aligned, or the size is zero.
    Unaligned,
    /// The range leaves the 48-bit VA space or the descriptor PA range.
    OutOfRange,
    /// Every table in the buffer is in use.
    OutOfTables,
    /// Part of the range is already mapped.
    Overlap {
        /// First virtual address found already mapped.
        va: u64,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadBuffer => f.write_str("page-table buffer empty or not 4 KiB aligned"),
            Self::Unaligned => f.write_str("mapping not 2 MiB aligned or empty"),
            Self::OutOfRange => f.write_str("mapping outside the 48-bit address space"),
            Self::OutOfTables => f.write_str("out of page-table pages"),
            Self::Overlap { va } => write!(f, "VA {va:#x} is already mapped"),
        }
    }
}

/// Table index of `va` at `level` (0..=3).
pub const fn index(va: u64, level: u32) -> usize {
    ((va >> (39 - 9 * level)) & 0x1ff) as usize
}

/// Builds block mappings into a buffer of tables whose first entry is the root.
pub struct Builder<'a> {
    tables: &'a mut [Table],
    base_pa: u64,
    used: usize,
}

impl<'a> Builder<'a> {
    /// Clears `tables` and uses `tables[0]` as the level-0 root. `base_pa` is
    /// the physical address of `tables[0]`; the tables are contiguous.
    pub fn new(tables: &'a mut [Table], base_pa: u64) -> Result<Self, MapError> {
        if tables.is_empty() || base_pa % TABLE_SIZE != 0 {
            return Err(MapError::BadBuffer);
        }
        let bytes = (tables.len() as u64)
            .checked_mul(TABLE_SIZE)
            .ok_or(MapError::BadBuffer)?;
        if base_pa.checked_add(bytes).is_none_or(|end| end > PA_END) {
            return Err(MapError::BadBuffer);
        }
        for table in tables.iter_mut() {
            table.fill(0);
        }
        Ok(Self {
            tables,
            base_pa,
            used: 1,
        })
    }

    /// Physical address of the root table (the TTBR0_EL2 value).
    pub fn root_pa(&self) -> u64 {
        self.base_pa
    }

    /// Number of tables in use, root included.
    pub fn tables_used(&self) -> usize {
        self.used
    }

    /// Maps `[va, va + size)` to `[pa, pa + size)` as `memory`.
    ///
    /// On error, mappings made by earlier blocks of this call stay in place.
    pub fn map(&mut self, va: u64, pa: u64, size: u64, memory: Memory) -> Result<(), MapError> {
        if size == 0 || (va | pa | size) % SIZE_2M != 0 {
            return Err(MapError::Unaligned);
        }
        let va_end = va.checked_add(size).ok_or(MapError::OutOfRange)?;
        let pa_end = pa.checked_add(size).ok_or(MapError::OutOfRange)?;
        if va_end > VA_END || pa_end > PA_END {
            return Err(MapError::OutOfRange);
        }
        let (mut va, mut pa) = (va, pa);
        while va < va_end {
            let huge = (va | pa) % SIZE_1G == 0 && va_end - va >= SIZE_1G;
            let (level, step) = if huge { (1, SIZE_1G) } else { (2, SIZE_2M) };
            let table = self.walk_to(va, level)?;
            let slot = &mut self.tables[table][index(va, level)];
            if *slot != 0 {
                return Err(MapError::Overlap { va });
            }
            *slot = (pa & desc::ADDR_MASK) | memory.block_attrs();
            va += step;
            pa += step;
        }
        Ok(())
    }

    /// Returns the buffer index of the table at `level` covering `va`,
    /// allocating intermediate tables as needed.
    fn walk_to(&mut self, va: u64, level: u32) -> Result<usize, MapError> {
        let mut table = 0;
        for l in 0..level {
            let entry = self.tables[table][index(va, l)];
            table = if entry == 0 {
                let next = self.used;
                if next >= self.tables.len() {
                    return Err(MapError::OutOfTables);
                }
                self.used += 1;
                let next_pa = self.base_pa + next as u64 * TABLE_SIZE;
                self.tables[table][index(va, l)] = next_pa | desc::TABLE | desc::VALID;
                next
            } else if entry & desc::TABLE != 0 {
                self.table_of(entry).ok_or(MapError::Overlap { va })?
            } else {
                // A block already covers this range.
                return Err(MapError::Overlap { va });
            };
        }
        Ok(table)
    }

    /// Buffer index a table descriptor points at.
    fn table_of(&self, entry: u64) -> Option<usize> {
        let offset = (entry & desc::ADDR_MASK).checked_sub(self.base_pa)?;
        let i = usize::try_from(offset / TABLE_SIZE).ok()?;
        (i < self.used).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    const KERNEL_VA: u64 = 0xff_c000_0000;
    const KERNEL_PA: u64 = 0x6000_0000;
    const BASE: u64 = 0xb010_0000;

    fn buffer(n: usize) -> std::vec::Vec<Table> {
        vec![[0xdead_beef; ENTRIES]; n]
    }

    #[test]
    fn indices_of_kernel_window() {
        assert_eq!(index(KERNEL_VA, 0), 1);
        assert_eq!(index(KERNEL_VA, 1), 511);
        assert_eq!(index(KERNEL_VA, 2), 0);
        assert_eq!(index(KERNEL_VA + 0x23f000, 2), 1);
        assert_eq!(index(0x0900_0000, 1), 0);
        assert_eq!(index(0x0900_0000, 2), 72);
    }

    #[test]
    fn attributes() {
        let n = Memory::Normal.block_attrs();
        assert_eq!(n, 0b1 | (4 << 2) | (1 << 6) | (0b11 << 8) | (1 << 10));
        let d = Memory::Device.block_attrs();
        assert_eq!(d, 0b1 | (1 << 6) | (1 << 10) | (1 << 54));
    }

    #[test]
    fn kernel_window_uses_2m_blocks_when_pa_not_1g_aligned() {
        let mut tables = buffer(4);
        let mut b = Builder::new(&mut tables, BASE).unwrap();
        b.map(KERNEL_VA, KERNEL_PA, SIZE_1G, Memory::Normal)
            .unwrap();
        assert_eq!(b.tables_used(), 3);
        assert_eq!(b.root_pa(), BASE);
        let t = &tables;
        assert_eq!(t[0][1], (BASE + 0x1000) | 0b11);
        assert_eq!(t[0].iter().filter(|&&e| e != 0).count(), 1);
        assert_eq!(t[1][511], (BASE + 0x2000) | 0b11);
        assert_eq!(t[1].iter().filter(|&&e| e != 0).count(), 1);
        for (i, &e) in t[2].iter().enumerate() {
            assert_eq!(
                e,
                (KERNEL_PA + i as u64 * SIZE_2M) | Memory::Normal.block_attrs()
            );
        }
        assert!(t[3].iter().all(|&e| e == 0), "unused tables are cleared");
    }

    #[test]
    fn aligned_gigabyte_uses_level1_block() {
        let mut tables = buffer(2);
        let mut b = Builder::new(&mut tables, BASE).unwrap();
        b.map(0x8000_0000, 0x8000_0000, SIZE_1G, Memory::Normal)
            .unwrap();
        assert_eq!(b.tables_used(), 2);
        assert_eq!(tables[1][2], 0x8000_0000 | Memory::Normal.block_attrs());
    }

    #[test]
    fn mixed_sizes_and_identity_device() {
        let mut tables = buffer(8);
        let mut b = Builder::new(&mut tables, BASE).unwrap();
        // 2 MiB below a 1 GiB boundary, then 1 GiB, then 2 MiB.
        let va = SIZE_1G - SIZE_2M;
        b.map(va, va, SIZE_1G + 2 * SIZE_2M, Memory::Normal)
            .unwrap();
        b.map(0x0900_0000, 0x0900_0000, SIZE_2M, Memory::Device)
            .unwrap();
        // root, L1 for PGD 0, L2 for GiB 0, L2 for GiB 2.
        assert_eq!(b.tables_used(), 4);
        let l1 = &tables[1];
        assert_eq!(l1[1], SIZE_1G | Memory::Normal.block_attrs());
        assert_eq!(l1[0], (BASE + 0x2000) | 0b11);
        assert_eq!(l1[2], (BASE + 0x3000) | 0b11);
        assert_eq!(tables[2][511], va | Memory::Normal.block_attrs());
        assert_eq!(tables[2][72], 0x0900_0000 | Memory::Device.block_attrs());
        assert_eq!(tables[3][0], (2 * SIZE_1G) | Memory::Normal.block_attrs());
    }

    #[test]
    fn errors() {
        let mut tables = buffer(3);
        assert_eq!(Builder::new(&mut [], BASE).err(), Some(MapError::BadBuffer));
        assert_eq!(
            Builder::new(&mut tables, BASE + 8).err(),
            Some(MapError::BadBuffer)
        );
        assert_eq!(
            Builder::new(&mut tables, PA_END - 0x1000).err(),
            Some(MapError::BadBuffer)
        );
        let mut b = Builder::new(&mut tables, BASE).unwrap();
        assert_eq!(b.map(0, 0, 0, Memory::Normal), Err(MapError::Unaligned));
        assert_eq!(
            b.map(0x1000, 0, SIZE_2M, Memory::Normal),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            b.map(0, 0x1000, SIZE_2M, Memory::Normal),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            b.map(VA_END, 0, SIZE_2M, Memory::Normal),
            Err(MapError::OutOfRange)
        );
        assert_eq!(
            b.map(u64::MAX - SIZE_2M + 1, 0, SIZE_2M, Memory::Normal),
            Err(MapError::OutOfRange)
        );
        b.map(SIZE_1G, SIZE_1G, SIZE_1G, Memory::Normal).unwrap();
        // Inside an existing 1 GiB block.
        assert_eq!(
            b.map(SIZE_1G + SIZE_2M, 0, SIZE_2M, Memory::Normal),
            Err(MapError::Overlap {
                va: SIZE_1G + SIZE_2M
            })
        );
        b.map(0, 0, SIZE_2M, Memory::Device).unwrap();
        assert_eq!(
            b.map(0, 0, SIZE_2M, Memory::Device),
            Err(MapError::Overlap { va: 0 })
        );
        // A 1 GiB block where a level-2 table already exists.
        assert_eq!(
            b.map(0, 0, SIZE_1G, Memory::Normal),
            Err(MapError::Overlap { va: 0 })
        );
        // Needs a new L1 table and a new L2 table; only none left.
        assert_eq!(
            b.map(KERNEL_VA, KERNEL_PA, SIZE_2M, Memory::Normal),
            Err(MapError::OutOfTables)
        );
    }
}
