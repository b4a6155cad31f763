//! A read-only view of the root task's BootInfo frame (`seL4_BootInfo`), parsed from bytes.
//!
//! Every field is read little-endian from a fixed offset ([`offset`]); [`BootInfo::from_bytes`]
//! checks the length and the untyped range once, so accessors cannot fail. The extra BootInfo
//! chunks (device tree etc.) that follow the 4 KiB frame are reachable when the slice covers
//! them ([`BootInfo::from_addr`] on the target does).

use core::fmt;
use core::ops::Range;

use crate::cap::CPtr;
use crate::config::{CONFIG, Config};

/// The BootInfo frame is one small page; extra BootInfo starts right after it.
pub const BOOT_INFO_FRAME_SIZE: usize = 4096;
/// `CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS` of the supported configuration.
pub const MAX_BOOTINFO_UNTYPEDS: usize = 230;
/// Size of one `seL4_UntypedDesc`.
pub const UNTYPED_DESC_SIZE: usize = 16;
/// `sizeof(seL4_BootInfo)` of `config` (MCS adds `schedcontrol`, 16 bytes).
pub const fn boot_info_size(config: Config) -> usize {
    offset::untyped_list(config) + MAX_BOOTINFO_UNTYPEDS * UNTYPED_DESC_SIZE
}
/// `sizeof(seL4_BootInfo)` for the configuration this crate is built for.
pub const BOOT_INFO_SIZE: usize = boot_info_size(CONFIG);
/// Extra-BootInfo chunk id of padding (`SEL4_BOOTINFO_HEADER_PADDING`).
pub const EXTRA_ID_PADDING: u64 = 0;
/// Extra-BootInfo chunk id of a flattened device tree (`SEL4_BOOTINFO_HEADER_FDT`).
pub const EXTRA_ID_FDT: u64 = 6;

const _: () = assert!(boot_info_size(Config::DEBUG) == 3848);
const _: () = assert!(boot_info_size(Config::MCS) == 3864);
const _: () = assert!(BOOT_INFO_SIZE <= BOOT_INFO_FRAME_SIZE);

/// Byte offsets of the `seL4_BootInfo` fields (those after `initThreadDomain` for the
/// configuration this crate is built for; the functions give any configuration's).
pub mod offset {
    use crate::config::{CONFIG, Config};

    /// `extraLen`.
    pub const EXTRA_LEN: usize = 0;
    /// `nodeID`.
    pub const NODE_ID: usize = 8;
    /// `numNodes`.
    pub const NUM_NODES: usize = 16;
    /// `numIOPTLevels`.
    pub const NUM_IOPT_LEVELS: usize = 24;
    /// `ipcBuffer`.
    pub const IPC_BUFFER: usize = 32;
    /// `empty`.
    pub const EMPTY: usize = 40;
    /// `sharedFrames`.
    pub const SHARED_FRAMES: usize = 56;
    /// `userImageFrames`.
    pub const USER_IMAGE_FRAMES: usize = 72;
    /// `userImagePaging`.
    pub const USER_IMAGE_PAGING: usize = 88;
    /// `ioSpaceCaps`.
    pub const IO_SPACE_CAPS: usize = 104;
    /// `extraBIPages`.
    pub const EXTRA_BI_PAGES: usize = 120;
    /// `initThreadCNodeSizeBits`.
    pub const INIT_THREAD_CNODE_SIZE_BITS: usize = 136;
    /// `initThreadDomain`.
    pub const INIT_THREAD_DOMAIN: usize = 144;
    /// `schedcontrol` (MCS only): one SchedControl cap per core.
    pub const SCHED_CONTROL: usize = 152;
    /// `untyped` in `config`.
    pub const fn untyped(config: Config) -> usize {
        if config.mcs { 168 } else { 152 }
    }
    /// `untypedList` in `config`.
    pub const fn untyped_list(config: Config) -> usize {
        untyped(config) + 16
    }
    /// `untyped`.
    pub const UNTYPED: usize = untyped(CONFIG);
    /// `untypedList`.
    pub const UNTYPED_LIST: usize = untyped_list(CONFIG);
}

/// A range of CNode slots `[start, end)` (`seL4_SlotRegion`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SlotRegion {
    /// First slot.
    pub start: CPtr,
    /// First slot after the region.
    pub end: CPtr,
}

impl SlotRegion {
    /// Number of slots (0 if `end < start`).
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True if the region holds no slot.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `slot` is in the region.
    pub const fn contains(&self, slot: CPtr) -> bool {
        self.start <= slot && slot < self.end
    }

    /// The slots as a range.
    pub const fn range(&self) -> Range<CPtr> {
        self.start..self.end
    }
}

/// One untyped capability handed to the root task (`seL4_UntypedDesc` plus its slot).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UntypedDesc {
    /// The slot holding the untyped cap.
    pub slot: CPtr,
    /// Physical address of the region.
    pub paddr: u64,
    /// Log2 of its size in bytes.
    pub size_bits: u8,
    /// True for device memory (can only become frames or untyped; not zeroed).
    pub is_device: bool,
}

impl UntypedDesc {
    /// Size in bytes (0 if `size_bits` is not a valid shift).
    pub const fn size(&self) -> u64 {
        if self.size_bits < 64 {
            1u64 << self.size_bits
        } else {
            0
        }
    }

    /// True if the physical range contains `paddr`.
    pub const fn contains(&self, paddr: u64) -> bool {
        paddr >= self.paddr && paddr - self.paddr < self.size()
    }
}

/// Why a BootInfo could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BootInfoError {
    /// Fewer bytes than `sizeof(seL4_BootInfo)`.
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The untyped slot region is reversed or lists more than the maximum.
    BadUntypedRange {
        /// `untyped.start`.
        start: u64,
        /// `untyped.end`.
        end: u64,
    },
    /// `extraLen` does not fit the address space.
    BadExtraLength,
    /// The BootInfo address is null or misaligned.
    BadAddress,
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootInfoError::TooShort { len } => {
                write!(f, "BootInfo needs {BOOT_INFO_SIZE} bytes, got {len}")
            }
            BootInfoError::BadUntypedRange { start, end } => write!(
                f,
                "untyped slots {start}..{end} are reversed or exceed {MAX_BOOTINFO_UNTYPEDS}"
            ),
            BootInfoError::BadExtraLength => write!(f, "extraLen does not fit the address space"),
            BootInfoError::BadAddress => write!(f, "BootInfo address is null or misaligned"),
        }
    }
}

/// A validated view of a BootInfo frame.
#[derive(Clone, Copy)]
pub struct BootInfo<'a> {
    bytes: &'a [u8],
}

impl<'a> BootInfo<'a> {
    /// Reads a BootInfo from `bytes` (the frame, optionally followed by the extra chunks).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, BootInfoError> {
        if bytes.len() < BOOT_INFO_SIZE {
            return Err(BootInfoError::TooShort { len: bytes.len() });
        }
        let bi = BootInfo { bytes };
        let untyped = bi.untyped();
        if untyped.end < untyped.start || untyped.len() > MAX_BOOTINFO_UNTYPEDS as u64 {
            return Err(BootInfoError::BadUntypedRange {
                start: untyped.start,
                end: untyped.end,
            });
        }
        Ok(bi)
    }

    fn word(&self, offset: usize) -> u64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.bytes[offset..offset + 8]);
        u64::from_le_bytes(raw)
    }

    fn region(&self, offset: usize) -> SlotRegion {
        SlotRegion {
            start: self.word(offset),
            end: self.word(offset + 8),
        }
    }

    /// Bytes of extra BootInfo after the frame (`extraLen`).
    pub fn extra_len(&self) -> u64 {
        self.word(offset::EXTRA_LEN)
    }
    /// `nodeID` (0 on a uniprocessor).
    pub fn node_id(&self) -> u64 {
        self.word(offset::NODE_ID)
    }
    /// `numNodes`.
    pub fn num_nodes(&self) -> u64 {
        self.word(offset::NUM_NODES)
    }
    /// `numIOPTLevels`.
    pub fn num_iopt_levels(&self) -> u64 {
        self.word(offset::NUM_IOPT_LEVELS)
    }
    /// Virtual address of the root task's IPC buffer (`ipcBuffer`).
    pub fn ipc_buffer_addr(&self) -> u64 {
        self.word(offset::IPC_BUFFER)
    }
    /// Empty slots of the root CNode (`empty`).
    pub fn empty(&self) -> SlotRegion {
        self.region(offset::EMPTY)
    }
    /// `sharedFrames`.
    pub fn shared_frames(&self) -> SlotRegion {
        self.region(offset::SHARED_FRAMES)
    }
    /// Frame caps of the root task's image, one per 4 KiB (`userImageFrames`).
    pub fn user_image_frames(&self) -> SlotRegion {
        self.region(offset::USER_IMAGE_FRAMES)
    }
    /// Page-table caps of the root task's image (`userImagePaging`).
    pub fn user_image_paging(&self) -> SlotRegion {
        self.region(offset::USER_IMAGE_PAGING)
    }
    /// `ioSpaceCaps`.
    pub fn io_space_caps(&self) -> SlotRegion {
        self.region(offset::IO_SPACE_CAPS)
    }
    /// Frame caps of the extra BootInfo pages (`extraBIPages`).
    pub fn extra_bi_pages(&self) -> SlotRegion {
        self.region(offset::EXTRA_BI_PAGES)
    }
    /// Log2 of the root CNode's slot count (`initThreadCNodeSizeBits`).
    pub fn init_thread_cnode_size_bits(&self) -> u64 {
        self.word(offset::INIT_THREAD_CNODE_SIZE_BITS)
    }
    /// `initThreadDomain`.
    pub fn init_thread_domain(&self) -> u64 {
        self.word(offset::INIT_THREAD_DOMAIN)
    }
    /// Slots of the untyped caps (`untyped`).
    pub fn untyped(&self) -> SlotRegion {
        self.region(offset::UNTYPED)
    }

    /// `schedcontrol` (MCS): the SchedControl caps, one per core; empty on other kernels.
    pub fn sched_control(&self) -> SlotRegion {
        if CONFIG.mcs {
            self.region(offset::SCHED_CONTROL)
        } else {
            SlotRegion::default()
        }
    }

    /// Number of untyped caps.
    pub fn untyped_count(&self) -> usize {
        // Bounded by MAX_BOOTINFO_UNTYPEDS in from_bytes.
        self.untyped().len() as usize
    }

    /// The `i`-th untyped, or `None` past the end.
    pub fn untyped_desc(&self, i: usize) -> Option<UntypedDesc> {
        if i >= self.untyped_count() {
            return None;
        }
        let at = offset::UNTYPED_LIST + i * UNTYPED_DESC_SIZE;
        Some(UntypedDesc {
            slot: self.untyped().start + i as u64,
            paddr: self.word(at),
            size_bits: self.bytes[at + 8],
            is_device: self.bytes[at + 9] != 0,
        })
    }

    /// Every untyped, in slot order (device untypeds first, then RAM).
    pub fn untyped_list(&self) -> impl Iterator<Item = UntypedDesc> + '_ {
        (0..self.untyped_count()).filter_map(|i| self.untyped_desc(i))
    }

    /// The extra BootInfo chunks, if the view covers them; stops at the first malformed
    /// header (a chunk shorter than its header or running past `extraLen`).
    pub fn extra_chunks(&self) -> ExtraChunks<'a> {
        let len = usize::try_from(self.extra_len()).unwrap_or(usize::MAX);
        let data = match BOOT_INFO_FRAME_SIZE.checked_add(len) {
            Some(end) if end <= self.bytes.len() => &self.bytes[BOOT_INFO_FRAME_SIZE..end],
            _ => &[],
        };
        ExtraChunks { data }
    }

    /// The device tree blob passed by the loader, if any.
    pub fn fdt(&self) -> Option<&'a [u8]> {
        self.extra_chunks()
            .find(|c| c.id == EXTRA_ID_FDT)
            .map(|c| c.data)
    }
}

impl fmt::Debug for BootInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootInfo")
            .field("ipc_buffer", &self.ipc_buffer_addr())
            .field("empty", &self.empty())
            .field("user_image_frames", &self.user_image_frames())
            .field("untyped", &self.untyped())
            .field("extra_len", &self.extra_len())
            .finish_non_exhaustive()
    }
}

/// One extra BootInfo chunk: its id and payload (header excluded).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExtraChunk<'a> {
    /// Chunk id (`SEL4_BOOTINFO_HEADER_*`).
    pub id: u64,
    /// Payload after the 16-byte header.
    pub data: &'a [u8],
}

/// Iterator over extra BootInfo chunks.
#[derive(Clone, Debug)]
pub struct ExtraChunks<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for ExtraChunks<'a> {
    type Item = ExtraChunk<'a>;

    fn next(&mut self) -> Option<ExtraChunk<'a>> {
        let header = self.data.get(..16)?;
        let mut id = [0u8; 8];
        let mut len = [0u8; 8];
        id.copy_from_slice(&header[..8]);
        len.copy_from_slice(&header[8..16]);
        let len = usize::try_from(u64::from_le_bytes(len)).ok()?;
        if len < 16 || len > self.data.len() {
            self.data = &[];
            return None;
        }
        let chunk = ExtraChunk {
            id: u64::from_le_bytes(id),
            data: &self.data[16..len],
        };
        self.data = &self.data[len..];
        Some(chunk)
    }
}

#[cfg(test)]
mod tests;
