//! Loading a guest image (a static aarch64 ELF64) into guest RAM.
//!
//! The guest starts with its MMU off, so segments are placed at their *physical* address
//! (`p_paddr`) and the entry is `e_entry` as is. Only `PT_LOAD` segments are loaded: the file
//! bytes are copied and the rest of the segment (`p_memsz - p_filesz`) is zeroed.
//!
//! Every bound is checked before anything is written: a header or segment outside the file, a
//! segment outside the RAM window `[ram_base, ram_base + ram.len())`, `p_filesz > p_memsz`, an
//! entry point outside a loaded executable segment, or an image that is not little-endian
//! aarch64 ELF64 is an [`ElfError`], and then RAM is untouched.

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

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not an ELF64 little-endian aarch64 executable (`EM_AARCH64`, `ET_EXEC`).
    NotAarch64Elf,
    /// A header or a segment's file range lies outside the image.
    Truncated,
    /// Segment `index` does not fit the RAM window.
    OutsideRam {
        /// Program header index.
        index: usize,
    },
    /// Segment `index` has `p_filesz > p_memsz`.
    FileLargerThanMemory {
        /// Program header index.
        index: usize,
    },
    /// The entry point is not inside a loaded executable segment.
    BadEntry,
    /// No `PT_LOAD` segment at all.
    NothingToLoad,
    /// More than [`MAX_SEGMENTS`] `PT_LOAD` segments.
    TooManySegments,
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

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const EM_AARCH64: u16 = 183;
const ET_EXEC: u16 = 2;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// The `N` bytes at `off` (an offset that may come from the file, so it may be anything).
fn bytes_at<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N], ElfError> {
    let end = off.checked_add(N).ok_or(ElfError::Truncated)?;
    let s = b.get(off..end).ok_or(ElfError::Truncated)?;
    let mut w = [0u8; N];
    w.copy_from_slice(s);
    Ok(w)
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, ElfError> {
    bytes_at(b, off).map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, ElfError> {
    bytes_at(b, off).map(u32::from_le_bytes)
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, ElfError> {
    bytes_at(b, off).map(u64::from_le_bytes)
}

/// One `PT_LOAD` segment, checked against the file and the RAM window.
#[derive(Clone, Copy)]
struct Segment {
    file: usize,
    filesz: usize,
    ram: usize,
    memsz: usize,
    exec: bool,
}

/// Most `PT_LOAD` segments an image may have.
pub const MAX_SEGMENTS: usize = 16;

/// The entry point and the checked `PT_LOAD` segments of `image`.
fn segments(
    image: &[u8],
    ram_base: u64,
    ram_len: usize,
) -> Result<(u64, heapless::Vec<Segment, MAX_SEGMENTS>), ElfError> {
    if image.get(..4) != Some(b"\x7fELF".as_slice())
        || image.get(4) != Some(&2) // ELFCLASS64
        || image.get(5) != Some(&1) // little-endian
        || u16_at(image, 16)? != ET_EXEC
        || u16_at(image, 18)? != EM_AARCH64
    {
        return Err(ElfError::NotAarch64Elf);
    }
    let entry = u64_at(image, 24)?;
    let phoff = usize::try_from(u64_at(image, 32)?).map_err(|_| ElfError::Truncated)?;
    let phentsize = usize::from(u16_at(image, 54)?);
    let phnum = usize::from(u16_at(image, 56)?);
    if image.len() < EHDR_SIZE || (phnum > 0 && phentsize < PHDR_SIZE) {
        return Err(ElfError::Truncated);
    }
    let mut out = heapless::Vec::new();
    for index in 0..phnum {
        let ph = phentsize
            .checked_mul(index)
            .and_then(|o| o.checked_add(phoff))
            .ok_or(ElfError::Truncated)?;
        if u32_at(image, ph)? != PT_LOAD {
            continue;
        }
        // `ph` itself was readable, so `ph + 56` cannot overflow.
        let flags = u32_at(image, ph + 4)?;
        let offset = u64_at(image, ph + 8)?;
        let paddr = u64_at(image, ph + 24)?;
        let filesz = u64_at(image, ph + 32)?;
        let memsz = u64_at(image, ph + 40)?;
        if filesz > memsz {
            return Err(ElfError::FileLargerThanMemory { index });
        }
        let file_end = offset.checked_add(filesz).ok_or(ElfError::Truncated)?;
        if file_end > image.len() as u64 {
            return Err(ElfError::Truncated);
        }
        let outside = ElfError::OutsideRam { index };
        let ram = paddr.checked_sub(ram_base).ok_or(outside)?;
        let ram_end = ram.checked_add(memsz).ok_or(outside)?;
        if ram_end > ram_len as u64 {
            return Err(outside);
        }
        // Lossless: each is bounded by a usize length above.
        let seg = Segment {
            file: offset as usize,
            filesz: filesz as usize,
            ram: ram as usize,
            memsz: memsz as usize,
            exec: flags & PF_X != 0,
        };
        out.push(seg).map_err(|_| ElfError::TooManySegments)?;
    }
    Ok((entry, out))
}

/// Loads `image` into `ram`, a window of guest RAM starting at guest-physical `ram_base`.
/// Nothing is written unless the whole image checks out.
pub fn load<M: GuestMemory + ?Sized>(
    image: &[u8],
    ram_base: u64,
    ram: &mut M,
) -> Result<Loaded, ElfError> {
    let (entry, segs) = segments(image, ram_base, ram.len())?;
    if segs.is_empty() {
        return Err(ElfError::NothingToLoad);
    }
    let entry_ok = segs.iter().any(|s| {
        let start = ram_base + s.ram as u64;
        s.exec && entry >= start && entry < start + s.memsz as u64
    });
    if !entry_ok {
        return Err(ElfError::BadEntry);
    }
    let mut start = u64::MAX;
    let mut end = 0;
    for s in &segs {
        ram.write(s.ram, &image[s.file..s.file + s.filesz]);
        ram.zero(s.ram + s.filesz, s.memsz - s.filesz);
        start = start.min(ram_base + s.ram as u64);
        end = end.max(ram_base + (s.ram + s.memsz) as u64);
    }
    Ok(Loaded { entry, start, end })
}

#[cfg(test)]
mod tests;
