//! A small, strict ELF64 reader for the images the loader places.
//!
//! Only what loading needs is read: the file header (entry point, program
//! header table) and the `PT_LOAD` program headers. The input is an untrusted
//! byte slice: every field is range-checked with checked arithmetic and any
//! inconsistency is an [`ElfError`], never a panic or an out-of-bounds read.
//!
//! Invariants of a parsed [`Elf`]:
//! - little-endian ELF64, `EM_AARCH64`, `ET_EXEC`;
//! - every load segment's file bytes lie inside the input, `filesz <= memsz`,
//!   and neither `vaddr + memsz` nor `paddr + memsz` overflows;
//! - there is at least one load segment with a non-zero `memsz`.

use core::fmt;
use core::ops::Range;

/// Most `PT_LOAD` segments an image may have (linkers emit 1..4).
pub const MAX_LOAD_SEGMENTS: usize = 16;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const ET_EXEC: u16 = 2;
const EM_AARCH64: u16 = 183;
const PT_LOAD: u32 = 1;

/// Why an image was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the ELF header or program header table needs.
    Truncated,
    /// Does not start with `\x7fELF`.
    BadMagic,
    /// Not ELFCLASS64.
    NotElf64,
    /// Not little-endian.
    NotLittleEndian,
    /// Unknown ELF version.
    BadVersion,
    /// `e_type` is not `ET_EXEC` (found value).
    NotExecutable(u16),
    /// `e_machine` is not AArch64 (found value).
    WrongMachine(u16),
    /// `e_phentsize` is not 56 (found value).
    BadPhentsize(u16),
    /// Program header `index` has file bytes outside the input.
    SegmentOutOfFile {
        /// Program header index.
        index: usize,
    },
    /// Program header `index` has `p_filesz > p_memsz`.
    FileszExceedsMemsz {
        /// Program header index.
        index: usize,
    },
    /// Program header `index` wraps the address space.
    AddressOverflow {
        /// Program header index.
        index: usize,
    },
    /// More than [`MAX_LOAD_SEGMENTS`] load segments.
    TooManySegments,
    /// No `PT_LOAD` segment with a non-zero size.
    NoLoadSegments,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => f.write_str("truncated ELF file"),
            Self::BadMagic => f.write_str("bad ELF magic"),
            Self::NotElf64 => f.write_str("not an ELF64 file"),
            Self::NotLittleEndian => f.write_str("not little-endian"),
            Self::BadVersion => f.write_str("unknown ELF version"),
            Self::NotExecutable(t) => write!(f, "e_type {t} is not ET_EXEC"),
            Self::WrongMachine(m) => write!(f, "e_machine {m} is not AArch64 (183)"),
            Self::BadPhentsize(s) => write!(f, "e_phentsize {s} is not 56"),
            Self::SegmentOutOfFile { index } => {
                write!(f, "program header {index}: bytes outside the file")
            }
            Self::FileszExceedsMemsz { index } => {
                write!(f, "program header {index}: p_filesz > p_memsz")
            }
            Self::AddressOverflow { index } => {
                write!(f, "program header {index}: address range overflows")
            }
            Self::TooManySegments => write!(f, "more than {MAX_LOAD_SEGMENTS} PT_LOAD segments"),
            Self::NoLoadSegments => f.write_str("no non-empty PT_LOAD segment"),
        }
    }
}

/// One `PT_LOAD` segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address (`p_vaddr`).
    pub vaddr: u64,
    /// Physical address (`p_paddr`).
    pub paddr: u64,
    /// Bytes of the segment within the ELF file (`p_offset .. + p_filesz`).
    pub file: Range<usize>,
    /// Size in memory (`p_memsz`); bytes past the file part are zero.
    pub memsz: u64,
}

impl Segment {
    /// Number of bytes copied from the file.
    pub fn filesz(&self) -> u64 {
        // usize is at most 64 bits on every supported target.
        (self.file.end - self.file.start) as u64
    }
}

/// A validated ELF64 AArch64 executable.
#[derive(Clone, Debug)]
pub struct Elf {
    entry: u64,
    segments: heapless::Vec<Segment, MAX_LOAD_SEGMENTS>,
}

impl Elf {
    /// Parses and validates `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ElfError> {
        let header = bytes.get(..EHDR_SIZE).ok_or(ElfError::Truncated)?;
        if header[..4] != [0x7f, b'E', b'L', b'F'] {
            return Err(ElfError::BadMagic);
        }
        if header[4] != ELFCLASS64 {
            return Err(ElfError::NotElf64);
        }
        if header[5] != ELFDATA2LSB {
            return Err(ElfError::NotLittleEndian);
        }
        if header[6] != EV_CURRENT {
            return Err(ElfError::BadVersion);
        }
        let e_type = u16_at(header, 16)?;
        if e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(e_type));
        }
        let machine = u16_at(header, 18)?;
        if machine != EM_AARCH64 {
            return Err(ElfError::WrongMachine(machine));
        }
        let entry = u64_at(header, 24)?;
        let phoff = usize::try_from(u64_at(header, 32)?).map_err(|_| ElfError::Truncated)?;
        let phentsize = u16_at(header, 54)?;
        let phnum = usize::from(u16_at(header, 56)?);
        if phnum > 0 && usize::from(phentsize) != PHDR_SIZE {
            return Err(ElfError::BadPhentsize(phentsize));
        }
        let table_len = phnum.checked_mul(PHDR_SIZE).ok_or(ElfError::Truncated)?;
        let table_end = phoff.checked_add(table_len).ok_or(ElfError::Truncated)?;
        let table = bytes.get(phoff..table_end).ok_or(ElfError::Truncated)?;

        let mut segments = heapless::Vec::new();
        for (index, ph) in table.chunks_exact(PHDR_SIZE).enumerate() {
            if let Some(segment) = load_segment(bytes.len(), ph, index)? {
                segments
                    .push(segment)
                    .map_err(|_| ElfError::TooManySegments)?;
            }
        }
        if segments.is_empty() {
            return Err(ElfError::NoLoadSegments);
        }
        Ok(Self { entry, segments })
    }

    /// Entry point (`e_entry`), a virtual address.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The non-empty `PT_LOAD` segments, in program header order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

/// Decodes program header `index`; `Ok(None)` for non-load or empty segments.
fn load_segment(file_len: usize, ph: &[u8], index: usize) -> Result<Option<Segment>, ElfError> {
    if u32_at(ph, 0)? != PT_LOAD {
        return Ok(None);
    }
    let offset = u64_at(ph, 8)?;
    let vaddr = u64_at(ph, 16)?;
    let paddr = u64_at(ph, 24)?;
    let filesz = u64_at(ph, 32)?;
    let memsz = u64_at(ph, 40)?;
    if memsz == 0 && filesz == 0 {
        return Ok(None);
    }
    if filesz > memsz {
        return Err(ElfError::FileszExceedsMemsz { index });
    }
    if vaddr.checked_add(memsz).is_none() || paddr.checked_add(memsz).is_none() {
        return Err(ElfError::AddressOverflow { index });
    }
    let out_of_file = ElfError::SegmentOutOfFile { index };
    let start = usize::try_from(offset).map_err(|_| out_of_file)?;
    let len = usize::try_from(filesz).map_err(|_| out_of_file)?;
    let end = start.checked_add(len).ok_or(out_of_file)?;
    if end > file_len {
        return Err(out_of_file);
    }
    Ok(Some(Segment {
        vaddr,
        paddr,
        file: start..end,
        memsz,
    }))
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], ElfError> {
    let end = at.checked_add(N).ok_or(ElfError::Truncated)?;
    bytes
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(ElfError::Truncated)
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, ElfError> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, ElfError> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, ElfError> {
    field(bytes, at).map(u64::from_le_bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::vec::Vec;

    /// A program header for [`build`]: (type, offset, vaddr, paddr, filesz, memsz).
    pub(crate) type Ph = (u32, u64, u64, u64, u64, u64);

    /// Builds an ELF64 AArch64 executable with the given headers, padded to `file_len`.
    pub(crate) fn build(entry: u64, phdrs: &[Ph], file_len: usize) -> Vec<u8> {
        let mut b = std::vec![0u8; file_len.max(EHDR_SIZE + PHDR_SIZE * phdrs.len())];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = ELFCLASS64;
        b[5] = ELFDATA2LSB;
        b[6] = EV_CURRENT;
        b[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        b[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        b[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        b[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, &(ty, off, va, pa, fsz, msz)) in phdrs.iter().enumerate() {
            let p = EHDR_SIZE + i * PHDR_SIZE;
            b[p..p + 4].copy_from_slice(&ty.to_le_bytes());
            for (k, v) in [off, va, pa, fsz, msz].into_iter().enumerate() {
                b[p + 8 + 8 * k..p + 16 + 8 * k].copy_from_slice(&v.to_le_bytes());
            }
        }
        b
    }

    fn kernel_like() -> Vec<u8> {
        build(
            0xff_c000_0000,
            &[
                (PT_LOAD, 0x200, 0xff_c000_0000, 0x6000_0000, 0x100, 0x23f000),
                (0x6474_e551, 0, 0, 0, 0, 0), // PT_GNU_STACK: ignored
            ],
            0x300,
        )
    }

    #[test]
    fn parses_kernel_like_image() {
        let elf = Elf::parse(&kernel_like()).unwrap();
        assert_eq!(elf.entry(), 0xff_c000_0000);
        assert_eq!(
            elf.segments(),
            &[Segment {
                vaddr: 0xff_c000_0000,
                paddr: 0x6000_0000,
                file: 0x200..0x300,
                memsz: 0x23f000,
            }]
        );
        assert_eq!(elf.segments()[0].filesz(), 0x100);
    }

    #[test]
    fn header_errors() {
        let good = kernel_like();
        assert_eq!(Elf::parse(&good[..63]).unwrap_err(), ElfError::Truncated);
        assert_eq!(Elf::parse(&[]).unwrap_err(), ElfError::Truncated);
        let cases: [(usize, &[u8], ElfError); 7] = [
            (0, b"\x7fELG", ElfError::BadMagic),
            (4, &[1], ElfError::NotElf64),
            (5, &[2], ElfError::NotLittleEndian),
            (6, &[0], ElfError::BadVersion),
            (16, &[3, 0], ElfError::NotExecutable(3)),
            (18, &[62, 0], ElfError::WrongMachine(62)),
            (54, &[32, 0], ElfError::BadPhentsize(32)),
        ];
        for (at, patch, err) in cases {
            let mut b = good.clone();
            b[at..at + patch.len()].copy_from_slice(patch);
            assert_eq!(Elf::parse(&b).unwrap_err(), err, "patch at {at}");
        }
    }

    #[test]
    fn program_header_table_outside_file() {
        let mut b = kernel_like();
        b[32..40].copy_from_slice(&(0x2f0u64).to_le_bytes());
        assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::Truncated);
        b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::Truncated);
    }

    #[test]
    fn segment_errors() {
        let seg = |off, va: u64, fsz, msz| build(0, &[(PT_LOAD, off, va, va, fsz, msz)], 0x100);
        assert_eq!(
            Elf::parse(&seg(0x80, 0x1000, 0x81, 0x1000)).unwrap_err(),
            ElfError::SegmentOutOfFile { index: 0 }
        );
        assert_eq!(
            Elf::parse(&seg(u64::MAX, 0x1000, 2, 0x1000)).unwrap_err(),
            ElfError::SegmentOutOfFile { index: 0 }
        );
        assert_eq!(
            Elf::parse(&seg(0x80, 0x1000, 0x20, 0x10)).unwrap_err(),
            ElfError::FileszExceedsMemsz { index: 0 }
        );
        assert_eq!(
            Elf::parse(&seg(0x80, u64::MAX - 4, 0, 0x10)).unwrap_err(),
            ElfError::AddressOverflow { index: 0 }
        );
        assert_eq!(
            Elf::parse(&seg(0x80, 0x1000, 0, 0)).unwrap_err(),
            ElfError::NoLoadSegments
        );
    }

    #[test]
    fn too_many_segments() {
        let phdrs: Vec<Ph> = (0..=MAX_LOAD_SEGMENTS as u64)
            .map(|i| (PT_LOAD, 0, i << 12, i << 12, 0, 0x1000))
            .collect();
        assert_eq!(
            Elf::parse(&build(0, &phdrs, 0)).unwrap_err(),
            ElfError::TooManySegments
        );
        assert!(Elf::parse(&build(0, &phdrs[1..], 0)).is_ok());
    }

    #[test]
    fn no_panic_on_any_truncation_or_byte_flip() {
        let good = kernel_like();
        for len in 0..good.len() {
            let _ = Elf::parse(&good[..len]);
        }
        for at in 0..EHDR_SIZE + 2 * PHDR_SIZE {
            for v in [0x00, 0x7f, 0xff] {
                let mut b = good.clone();
                b[at] = v;
                let _ = Elf::parse(&b);
            }
        }
    }

    fn field_value() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        // Mostly small values, so that a good share of the images is accepted.
        prop_oneof![
            30 => 0..0x400u64,
            1 => Just(u64::MAX),
            1 => Just(u64::MAX - 0x10),
            1 => any::<u64>(),
        ]
    }

    proptest::proptest! {
        /// Whatever the program headers say, parsing never panics and an
        /// accepted image satisfies the documented invariants.
        #[test]
        fn accepted_images_satisfy_invariants(
            phdrs in proptest::collection::vec(
                (
                    proptest::prop_oneof![3 => proptest::strategy::Just(PT_LOAD), 1 => 0u32..3],
                    field_value(),
                    field_value(),
                    field_value(),
                    field_value(),
                    field_value(),
                    // Usually make memsz cover filesz, as real images do.
                    proptest::bool::weighted(0.8),
                ),
                0..8,
            ),
            file_len in 0usize..0x800,
        ) {
            let phdrs: Vec<Ph> = phdrs
                .into_iter()
                .map(|(ty, off, va, pa, fsz, msz, grow)| {
                    (ty, off, va, pa, fsz, if grow { fsz.saturating_add(msz) } else { msz })
                })
                .collect();
            let bytes = build(0x1000, &phdrs, file_len);
            if let Ok(elf) = Elf::parse(&bytes) {
                proptest::prop_assert!(!elf.segments().is_empty());
                for s in elf.segments() {
                    proptest::prop_assert!(s.file.start <= s.file.end && s.file.end <= bytes.len());
                    proptest::prop_assert!(s.filesz() <= s.memsz);
                    proptest::prop_assert!(s.vaddr.checked_add(s.memsz).is_some());
                    proptest::prop_assert!(s.paddr.checked_add(s.memsz).is_some());
                }
            }
        }
    }
}
