//! The project's one reader of ELF images: the loader's kernel and root task, the root task's
//! components, the build's component check (`manifest::check_elf`) and the VMM's guests.
//!
//! Parsing is done by the `elf` crate (no default features: `no_std`, no allocation, fuzzed
//! upstream); this module states the project's rules on top of it and turns every refusal into
//! an [`Error`] that names the program header at fault. The input is untrusted: bad bytes are an
//! error, never a panic or an out-of-bounds read.
//!
//! Rules of [`Image::parse`] (every user):
//! - a static executable: ELF64, little-endian, `EV_CURRENT`, `ET_EXEC`, `EM_AARCH64`, program
//!   headers of 56 bytes whose table lies inside the file (and, if there is one, a section header
//!   table of 64-byte entries inside the file: the `elf` crate reads it too);
//! - each `PT_LOAD` has `p_filesz <= p_memsz`, its file bytes inside the file, and neither
//!   `p_vaddr + p_memsz` nor `p_paddr + p_memsz` wraps; one with both sizes zero occupies
//!   nothing and is skipped;
//! - 1..=[`MAX_SEGMENTS`] non-empty `PT_LOAD` segments.
//!
//! Rules a user adds where its loading needs them:
//! - [`Image::check_placement`]: every segment inside a window (by virtual or physical
//!   address), no two overlapping (root task and build check by `p_vaddr`, VMM by `p_paddr`);
//! - [`Image::check_entry`]: the entry point inside an executable segment.
//!
//! Why `elf` and not `object` (`read_core` + `elf`): `object` always links `alloc`, so every
//! `no_std` binary using it would need a global allocator, which the loader, the root task and
//! the components do not have; and its errors are messages, where `elf`'s typed `ParseError`
//! maps onto [`Error`] variant by variant. `object` would be smaller (about 1.1 KiB more loader
//! code against `elf`'s 7 KiB); docs/ARCHITECTURE.md, "ELF reading", has the measurements.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "build"))]
extern crate std;

#[cfg(any(test, feature = "build"))]
pub mod build;
mod error;

use core::ops::Range;

use elf::ElfBytes;
use elf::abi::{EM_AARCH64, ET_EXEC, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;
use elf::parse::ParseError;

pub use error::Error;

/// Most non-empty `PT_LOAD` segments an image may have (linkers emit 1..4).
pub const MAX_SEGMENTS: usize = 16;

/// Which address of a segment a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    /// `p_vaddr` (and `e_entry` as a virtual address): images run with the MMU on.
    Virtual,
    /// `p_paddr` (and `e_entry` as a physical address): guests start with the MMU off.
    Physical,
}

/// Where segments must lie: `[start, end)`, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// What the window is ("image window", "guest RAM").
    pub name: &'static str,
    /// First address inside.
    pub start: u64,
    /// One past the last address inside.
    pub end: u64,
}

/// One non-empty `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Its program header index (as errors name it).
    pub index: usize,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_memsz`; the bytes past `data` are zero.
    pub memsz: u64,
    /// `p_offset`: where `data` starts in the file.
    pub offset: usize,
    /// Its `p_filesz` bytes of the file.
    pub data: &'a [u8],
    /// `PF_X` is set.
    pub exec: bool,
    /// `PF_W` is set.
    pub write: bool,
}

impl Segment<'_> {
    /// Bytes copied from the file (`p_filesz`).
    pub fn filesz(&self) -> u64 {
        self.data.len() as u64
    }

    /// Its bytes within the file.
    pub fn file(&self) -> Range<usize> {
        self.offset..self.offset + self.data.len()
    }

    /// Its first address.
    pub fn start(&self, by: Address) -> u64 {
        match by {
            Address::Virtual => self.vaddr,
            Address::Physical => self.paddr,
        }
    }

    /// One past its last byte (cannot wrap: [`Image::parse`] checked it).
    pub fn end(&self, by: Address) -> u64 {
        self.start(by) + self.memsz
    }
}

/// A static aarch64 executable that passed the rules of [`Image::parse`].
#[derive(Clone, Debug)]
pub struct Image<'a> {
    entry: u64,
    segments: heapless::Vec<Segment<'a>, MAX_SEGMENTS>,
}

impl<'a> Image<'a> {
    /// Reads `bytes` under the rules of the module doc.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        // Something else entirely is not "truncated", however short.
        let prefix = bytes.len().min(elf::abi::ELFMAGIC.len());
        if bytes[..prefix] != elf::abi::ELFMAGIC[..prefix] {
            return Err(Error::BadMagic);
        }
        // The class first: the `elf` crate also reads ELF32, whose program headers differ.
        let ident = bytes.get(..elf::abi::EI_NIDENT).ok_or(Error::Truncated)?;
        let (_, class, _, _) = elf::file::parse_ident::<LittleEndian>(ident).map_err(header)?;
        if class != Class::ELF64 {
            return Err(Error::NotElf64);
        }
        let file = ElfBytes::<LittleEndian>::minimal_parse(bytes).map_err(header)?;
        let ehdr = &file.ehdr;
        if ehdr.e_type != ET_EXEC {
            return Err(Error::NotExecutable(ehdr.e_type));
        }
        if ehdr.e_machine != EM_AARCH64 {
            return Err(Error::WrongMachine(ehdr.e_machine));
        }
        let mut segments = heapless::Vec::new();
        for (index, ph) in file.segments().into_iter().flatten().enumerate() {
            if ph.p_type != PT_LOAD || (ph.p_memsz == 0 && ph.p_filesz == 0) {
                continue;
            }
            if ph.p_filesz > ph.p_memsz {
                return Err(Error::FileszExceedsMemsz { index });
            }
            let wraps = |a: u64| a.checked_add(ph.p_memsz).is_none();
            if wraps(ph.p_vaddr) || wraps(ph.p_paddr) {
                return Err(Error::AddressOverflow { index });
            }
            let data = file
                .segment_data(&ph)
                .map_err(|_| Error::SegmentOutOfFile { index })?;
            let segment = Segment {
                index,
                vaddr: ph.p_vaddr,
                paddr: ph.p_paddr,
                memsz: ph.p_memsz,
                // `segment_data` found `data` at `p_offset`, so it fits a usize.
                offset: ph.p_offset as usize,
                data,
                exec: ph.p_flags & PF_X != 0,
                write: ph.p_flags & PF_W != 0,
            };
            segments.push(segment).map_err(|_| Error::TooManySegments)?;
        }
        if segments.is_empty() {
            return Err(Error::NoLoadSegments);
        }
        Ok(Self {
            entry: ehdr.e_entry,
            segments,
        })
    }

    /// The entry point (`e_entry`).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The non-empty `PT_LOAD` segments, in program header order.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// Every segment lies inside `window` and no two overlap, both by `by` addresses.
    pub fn check_placement(&self, by: Address, window: Window) -> Result<(), Error> {
        for s in &self.segments {
            let (start, end) = (s.start(by), s.end(by));
            if start < window.start || end > window.end {
                return Err(Error::OutsideWindow {
                    index: s.index,
                    start,
                    end,
                    window,
                });
            }
        }
        for (i, a) in self.segments.iter().enumerate() {
            for b in &self.segments[i + 1..] {
                if a.start(by) < b.end(by) && b.start(by) < a.end(by) {
                    return Err(Error::Overlap {
                        first: a.index,
                        second: b.index,
                    });
                }
            }
        }
        Ok(())
    }

    /// The entry point, read as a `by` address, lies inside an executable segment.
    pub fn check_entry(&self, by: Address) -> Result<(), Error> {
        let inside = |s: &&Segment<'_>| s.exec && (s.start(by)..s.end(by)).contains(&self.entry);
        match self.segments.iter().find(inside) {
            Some(_) => Ok(()),
            None => Err(Error::EntryNotExecutable { entry: self.entry }),
        }
    }
}

/// The [`Error`] for a refusal of the `elf` crate while reading the file header and the
/// program header table.
fn header(e: ParseError) -> Error {
    match e {
        ParseError::BadMagic(_) => Error::BadMagic,
        ParseError::UnsupportedElfClass(_) => Error::NotElf64,
        ParseError::UnsupportedElfEndianness(_) => Error::NotLittleEndian,
        ParseError::UnsupportedVersion(_) => Error::BadVersion,
        // The program header table is the one with 56-byte entries; the section header table's
        // (64 bytes) is read too, and a bad one is refused as well.
        ParseError::BadEntsize((size, 56)) => Error::BadPhentsize(size as u16),
        ParseError::BadEntsize(_) => Error::BadSectionHeaders,
        _ => Error::Truncated,
    }
}

#[cfg(test)]
mod tests;
