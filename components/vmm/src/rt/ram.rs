//! Guest RAM as the VMM sees it: a memory region of the component (from its boot page), mapped
//! into the VMM and backed by frame capabilities the VMM sends to the server.
//!
//! The same physical memory is the guest's RAM, which the guest writes while it runs, so the
//! VMM never holds a Rust reference into it: [`GuestRam`] writes through raw pointers, with
//! every range checked against the region. The guest runs with its MMU and caches off, so after
//! writing an image the VMM cleans the data cache to the point of coherency and makes the
//! instruction side see it ([`GuestRam::clean`]).

use core::sync::atomic::{AtomicU32, Ordering};

use plan::bootpage::{BootPage, REGION_MAPPED, REGION_WRITABLE};
use sel4::{Cap, IpcBuffer, cap_type};

use crate::elf::{self, ElfError, GuestMemory, Loaded};

/// Regions already taken (bit i = region i), so each is wrapped at most once.
static TAKEN: AtomicU32 = AtomicU32::new(0);

/// Why a region cannot be used as guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamError {
    /// No region of that name in the boot page.
    NoSuchRegion,
    /// The region is not mapped writable into this component.
    NotMappedWritable,
    /// The region was taken already.
    AlreadyTaken,
    /// The region's numbers do not add up (size, frames, page size).
    Inconsistent,
}

/// A region of guest RAM mapped into this component.
pub struct GuestRam {
    base: *mut u8,
    len: usize,
    first_frame: u64,
    frame_count: u64,
    page_bits: u32,
}

impl GuestRam {
    /// Takes the region called `name` (each region once per component).
    pub fn take(boot: &BootPage, name: &str) -> Result<GuestRam, RamError> {
        let index = boot
            .regions()
            .iter()
            .position(|r| r.name() == name)
            .ok_or(RamError::NoSuchRegion)?;
        let r = &boot.regions()[index];
        let wanted = REGION_MAPPED | REGION_WRITABLE;
        if r.flags & wanted != wanted || r.vaddr == 0 {
            return Err(RamError::NotMappedWritable);
        }
        let frames_cover = (r.page_bits == 12 || r.page_bits == 21)
            && r.frame_count.checked_shl(r.page_bits) == Some(r.size)
            && r.size > 0;
        let len = usize::try_from(r.size).map_err(|_| RamError::Inconsistent)?;
        if !frames_cover {
            return Err(RamError::Inconsistent);
        }
        if TAKEN.fetch_or(1 << index, Ordering::Relaxed) & (1 << index) != 0 {
            return Err(RamError::AlreadyTaken);
        }
        Ok(GuestRam {
            base: r.vaddr as *mut u8,
            len,
            first_frame: r.frame_slot,
            frame_count: r.frame_count,
            page_bits: r.page_bits,
        })
    }

    /// Bytes of one frame.
    pub fn frame_size(&self) -> u64 {
        1 << self.page_bits
    }

    /// Number of frames.
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// The frame capabilities, in address order (for `zx_vmar_map`; sending one transfers a
    /// derived, unmapped copy, so the VMM keeps its own mapping).
    pub fn frames(&self) -> impl Iterator<Item = Cap<cap_type::Unspecified>> + use<> {
        let first = self.first_frame;
        (0..self.frame_count).map(move |i| Cap::from_cptr(first + i))
    }

    /// Loads a guest image whose RAM starts at guest-physical `ram_base`, then cleans the caches
    /// over the whole region.
    pub fn load(
        &mut self,
        ipc: &mut IpcBuffer,
        image: &[u8],
        ram_base: u64,
    ) -> Result<Loaded, LoadError> {
        let loaded = elf::load(image, ram_base, self).map_err(LoadError::Elf)?;
        self.clean(ipc).map_err(LoadError::Cache)?;
        Ok(loaded)
    }

    /// Cleans the data cache to the point of coherency and unifies the instruction cache over
    /// the whole region, frame by frame.
    pub fn clean(&self, ipc: &mut IpcBuffer) -> Result<(), sel4::Error> {
        let size = self.frame_size();
        for frame in self.frames() {
            if self.page_bits == 21 {
                clean_frame(ipc, frame.cast::<cap_type::LargePage>(), size)?;
            } else {
                clean_frame(ipc, frame.cast::<cap_type::SmallPage>(), size)?;
            }
        }
        Ok(())
    }

    /// Zeroes the whole region (then [`Self::clean`] it before a guest runs).
    pub fn zero_all(&mut self) {
        GuestMemory::zero(self, 0, self.len);
    }
}

fn clean_frame<F: sel4::FrameType>(
    ipc: &mut IpcBuffer,
    frame: Cap<F>,
    size: u64,
) -> Result<(), sel4::Error> {
    frame.frame_clean_data(ipc, 0, size)?;
    frame.frame_unify_instruction(ipc, 0, size)
}

/// Why [`GuestRam::load`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The image was refused (nothing written).
    Elf(ElfError),
    /// A cache operation failed.
    Cache(sel4::Error),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "{e}"),
            Self::Cache(e) => write!(f, "cache maintenance failed: {e:?}"),
        }
    }
}

#[allow(unsafe_code)]
impl GuestMemory for GuestRam {
    fn len(&self) -> usize {
        self.len
    }

    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let fits = offset
            .checked_add(bytes.len())
            .is_some_and(|end| end <= self.len);
        if !fits {
            return;
        }
        // Safety: the range lies inside the region, which the root task mapped read-write into
        // this component for its whole life; no Rust reference into it exists, and `bytes`
        // (our own memory) cannot overlap guest RAM.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(offset), bytes.len())
        };
    }

    fn zero(&mut self, offset: usize, len: usize) {
        let fits = offset.checked_add(len).is_some_and(|end| end <= self.len);
        if !fits {
            return;
        }
        // Safety: as for `write`: an in-bounds range of a mapping that lives as long as we do.
        unsafe { core::ptr::write_bytes(self.base.add(offset), 0, len) };
    }
}
