//! Why an image was refused: one variant per rule, naming the program header at fault.

use core::fmt;

use crate::{MAX_SEGMENTS, Window};

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the ELF header or the header tables need.
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
    /// `e_shentsize` is not 64.
    BadSectionHeaders,
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
    /// More than [`MAX_SEGMENTS`] non-empty load segments.
    TooManySegments,
    /// No `PT_LOAD` segment with a non-zero size.
    NoLoadSegments,
    /// Program header `index` covers `[start, end)`, not inside `window`.
    OutsideWindow {
        /// Program header index.
        index: usize,
        /// Its first address.
        start: u64,
        /// One past its last byte.
        end: u64,
        /// Where it had to be.
        window: Window,
    },
    /// Program headers `first` and `second` overlap.
    Overlap {
        /// Program header index of one.
        first: usize,
        /// Program header index of the other.
        second: usize,
    },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable {
        /// `e_entry`.
        entry: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => f.write_str("truncated ELF file"),
            Self::BadMagic => f.write_str("not an ELF file (bad magic)"),
            Self::NotElf64 => f.write_str("not a 64-bit ELF"),
            Self::NotLittleEndian => f.write_str("not a little-endian ELF"),
            Self::BadVersion => f.write_str("unknown ELF version"),
            Self::NotExecutable(t) => write!(
                f,
                "e_type {t} is not a static executable (ET_EXEC); link with a fixed address"
            ),
            Self::WrongMachine(m) => write!(f, "machine {m} is not AArch64 (183)"),
            Self::BadPhentsize(s) => write!(f, "program header size {s} is not 56"),
            Self::BadSectionHeaders => f.write_str("section header size is not 64"),
            Self::SegmentOutOfFile { index } => {
                write!(f, "program header {index}: bytes outside the file")
            }
            Self::FileszExceedsMemsz { index } => {
                write!(f, "program header {index}: p_filesz > p_memsz")
            }
            Self::AddressOverflow { index } => {
                write!(f, "program header {index}: address range wraps")
            }
            Self::TooManySegments => write!(f, "more than {MAX_SEGMENTS} PT_LOAD segments"),
            Self::NoLoadSegments => f.write_str("no loadable segment"),
            Self::OutsideWindow {
                index,
                start,
                end,
                window,
            } => write!(
                f,
                "program header {index}: segment [{start:#x}, {end:#x}) is outside the {} [{:#x}, \
                 {:#x})",
                window.name, window.start, window.end
            ),
            Self::Overlap { first, second } => {
                write!(f, "program headers {first} and {second}: segments overlap")
            }
            Self::EntryNotExecutable { entry } => {
                write!(f, "entry {entry:#x} is not in an executable segment")
            }
        }
    }
}
