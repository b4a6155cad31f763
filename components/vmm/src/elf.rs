//! Loading a guest image (a static aarch64 ELF64) into guest RAM.
//!
//! The guest starts with its MMU off, so segments are placed at their *physical* address
//! (`p_paddr`) and the entry is `e_entry` as is. The image is read by the shared `elf-image`
//! reader; only its non-empty `PT_LOAD` segments are loaded: the file bytes are copied and the
//! rest of the segment (`p_memsz - p_filesz`) is zeroed.
//!
//! Every rule is checked before anything is written: the reader's (a static little-endian
//! aarch64 ELF64, segments inside the file with `p_filesz <= p_memsz`, at most
//! [`MAX_SEGMENTS`]), each segment inside the RAM window `[ram_base, ram_base + ram.len())`
//! without overlapping another, and the entry inside an executable segment. A refusal is an
//! [`ElfError`], and then RAM is untouched.

use elf_image::{Address, Image, Window};

pub use elf_image::{Error as ElfError, MAX_SEGMENTS};

/// Guest memory an image can be written into (a byte window starting at the RAM base).
pub trait GuestMemory {
    /// Size of the window in bytes.
    fn len(&self) -> usize;
    /// True if the window is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `bytes` to `offset` (the caller has checked the bounds).
    fn write(&mut self, offset: usize, bytes: &[u8]);
    /// Zeroes `len` bytes at `offset` (the caller has checked the bounds).
    fn zero(&mut self, offset: usize, len: usize);
}

impl GuestMemory for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        self[offset..offset + bytes.len()].copy_from_slice(bytes);
    }
    fn zero(&mut self, offset: usize, len: usize) {
        self[offset..offset + len].fill(0);
    }
}

/// What was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Guest-physical entry point.
    pub entry: u64,
    /// Lowest guest-physical address written.
    pub start: u64,
    /// One past the highest guest-physical address written.
    pub end: u64,
}

/// Loads `image` into `ram`, a window of guest RAM starting at guest-physical `ram_base`.
/// Nothing is written unless the whole image checks out.
pub fn load<M: GuestMemory + ?Sized>(
    image: &[u8],
    ram_base: u64,
    ram: &mut M,
) -> Result<Loaded, ElfError> {
    let elf = Image::parse(image)?;
    let window = Window {
        name: "guest RAM",
        start: ram_base,
        end: ram_base.saturating_add(ram.len() as u64),
    };
    elf.check_placement(Address::Physical, window)?;
    elf.check_entry(Address::Physical)?;
    let mut start = u64::MAX;
    let mut end = 0;
    for s in elf.segments() {
        // Lossless: the segment lies inside the window, whose length is a usize.
        let at = (s.paddr - ram_base) as usize;
        ram.write(at, s.data);
        ram.zero(at + s.data.len(), (s.memsz - s.filesz()) as usize);
        start = start.min(s.paddr);
        end = end.max(s.end(Address::Physical));
    }
    Ok(Loaded {
        entry: elf.entry(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests;
