//! Physical placement of the kernel, DTB and root task, and the kernel's
//! entry arguments (spec §4.2/§4.3).
//!
//! [`plan`] is pure: it turns parsed images and a [`Platform`] description
//! into a [`Plan`] of copy/zero operations, the mappings the loader's page
//! tables need, and the x0..x5 values for the kernel. The image executes the
//! plan verbatim, so every check lives here:
//! - the kernel goes to its `p_paddr`; its segments share one
//!   virtual-to-physical offset, 2 MiB aligned so block mappings can cover it;
//! - the DTB (if any) goes at the next page after the kernel;
//! - the root task goes at the next page after that, its span starting at its
//!   lowest `p_vaddr`, which must be 4 KiB aligned;
//! - every destination lies inside kernel RAM and outside the loader image.

use core::fmt;
use core::ops::Range;

use crate::elf::{Elf, MAX_LOAD_SEGMENTS};
use crate::pagetable::{Memory, SIZE_1G, SIZE_2M};

/// Page size used for placement.
pub const PAGE: u64 = 4096;
/// Bytes of the kernel window the loader maps (at most; clipped to RAM).
pub const KERNEL_WINDOW: u64 = SIZE_1G;
/// Most load operations a plan holds.
pub const MAX_OPS: usize = 3 * MAX_LOAD_SEGMENTS + 2;

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_HEADER_SIZE: usize = 40;

/// Which image an operation or error concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// The seL4 kernel ELF.
    Kernel,
    /// The flattened device tree blob.
    Dtb,
    /// The root-task ELF.
    RootTask,
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kernel => "kernel",
            Self::Dtb => "DTB",
            Self::RootTask => "root task",
        })
    }
}

/// Why the images cannot be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Kernel segments have different virtual-to-physical offsets.
    KernelMixedOffsets,
    /// The kernel's virtual-to-physical offset is not 2 MiB aligned.
    KernelOffsetUnaligned,
    /// The kernel does not fit in the window the loader maps.
    KernelWindowTooSmall,
    /// An entry point lies outside the image's loaded range.
    EntryOutsideImage(Image),
    /// The DTB header is missing, has a bad magic or an impossible size.
    BadDtb,
    /// The root task's lowest virtual address is not 4 KiB aligned.
    RootTaskUnaligned {
        /// Lowest `p_vaddr`.
        min_vaddr: u64,
    },
    /// The root task's virtual span reaches the user address limit.
    RootTaskAboveUserTop,
    /// The image's physical range leaves kernel RAM.
    OutsideRam {
        /// Offending image.
        image: Image,
        /// Its physical range.
        start: u64,
        /// Exclusive end.
        end: u64,
    },
    /// The image would overwrite the running loader.
    OverlapsLoader(Image),
    /// An address computation overflowed.
    Overflow(Image),
    /// The [`Platform`] description is inconsistent (loader range, UART).
    BadPlatform,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::KernelMixedOffsets => f.write_str("kernel segments disagree on phys-virt offset"),
            Self::KernelOffsetUnaligned => f.write_str("kernel phys-virt offset not 2 MiB aligned"),
            Self::KernelWindowTooSmall => f.write_str("kernel larger than the mapped window"),
            Self::EntryOutsideImage(i) => write!(f, "{i} entry point outside its segments"),
            Self::BadDtb => f.write_str("DTB header invalid"),
            Self::RootTaskUnaligned { min_vaddr } => {
                write!(f, "root task lowest vaddr {min_vaddr:#x} not 4 KiB aligned")
            }
            Self::RootTaskAboveUserTop => f.write_str("root task above the user address limit"),
            Self::OutsideRam { image, start, end } => {
                write!(f, "{image} at [{start:#x}, {end:#x}) is outside kernel RAM")
            }
            Self::OverlapsLoader(i) => write!(f, "{i} would overwrite the loader"),
            Self::Overflow(i) => write!(f, "{i}: address overflow"),
            Self::BadPlatform => f.write_str("inconsistent platform description"),
        }
    }
}

/// Platform facts the plan depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// RAM the kernel manages (PADDR_BASE..PADDR_TOP).
    pub ram: Range<u64>,
    /// Physical range of the running loader (image, BSS, stack, tables).
    pub loader: Range<u64>,
    /// Physical address of the console UART, mapped as device memory.
    pub uart: u64,
    /// Exclusive limit for root-task virtual addresses (seL4_UserTop).
    pub user_top: u64,
}

/// One step of loading: copy `file` of `source` to `dst`, then zero `zero`
/// bytes after the copied bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOp {
    /// Image the bytes come from.
    pub source: Image,
    /// Byte range within that image (may be empty).
    pub file: Range<usize>,
    /// Physical destination.
    pub dst: u64,
    /// Bytes zeroed after the copy.
    pub zero: u64,
}

impl LoadOp {
    /// Physical range written by this operation.
    pub fn written(&self) -> Range<u64> {
        let len = (self.file.end - self.file.start) as u64 + self.zero;
        self.dst..self.dst + len
    }
}

/// A block mapping the loader's page tables must contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Virtual start (2 MiB aligned).
    pub va: u64,
    /// Physical start (2 MiB aligned).
    pub pa: u64,
    /// Size (a multiple of 2 MiB).
    pub size: u64,
    /// Memory type.
    pub memory: Memory,
}

/// Values of x0..x5 at the kernel's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelArgs {
    /// x0: user image physical start.
    pub ui_p_reg_start: u64,
    /// x1: user image physical end (exclusive, page aligned).
    pub ui_p_reg_end: u64,
    /// x2: user image physical minus virtual address.
    pub pv_offset: i64,
    /// x3: user image virtual entry.
    pub v_entry: u64,
    /// x4: DTB physical address, 0 if none.
    pub dtb_paddr: u64,
    /// x5: DTB size, 0 if none.
    pub dtb_size: u64,
}

/// Everything the loader does, decided up front.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Kernel virtual entry point (where the loader branches).
    pub kernel_entry: u64,
    /// Physical range of the kernel image (page aligned).
    pub kernel: Range<u64>,
    /// Physical range of the DTB copy, if any.
    pub dtb: Option<Range<u64>>,
    /// Kernel entry arguments.
    pub args: KernelArgs,
    /// Copy/zero operations, in order.
    pub ops: heapless::Vec<LoadOp, MAX_OPS>,
    /// Kernel window, loader identity map, UART identity map.
    pub mappings: [Mapping; 3],
}

/// Size of a flattened device tree from its header (`totalsize`).
pub fn fdt_size(blob: &[u8]) -> Result<usize, LayoutError> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    if word(0) != Some(FDT_MAGIC) {
        return Err(LayoutError::BadDtb);
    }
    let total = word(4).ok_or(LayoutError::BadDtb)? as usize;
    if total < FDT_HEADER_SIZE || total > blob.len() {
        return Err(LayoutError::BadDtb);
    }
    Ok(total)
}

/// Computes the placement of `kernel`, `dtb` and `root_task` on `platform`.
pub fn plan(
    kernel: &Elf,
    dtb: Option<&[u8]>,
    root_task: &Elf,
    platform: &Platform,
) -> Result<Plan, LayoutError> {
    if platform.loader.start > platform.loader.end || platform.ram.start > platform.ram.end {
        return Err(LayoutError::BadPlatform);
    }
    let mut ops = heapless::Vec::new();
    let mut push = |op: LoadOp| {
        let image = op.source;
        ops.push(op).map_err(|_| LayoutError::Overflow(image))
    };

    // Kernel: each segment at its p_paddr, one shared offset.
    let segs = kernel.segments();
    let offset = segs[0].vaddr.wrapping_sub(segs[0].paddr);
    let mut k_start = u64::MAX;
    let mut k_end = 0;
    let mut entry_inside = false;
    for s in segs {
        if s.vaddr.wrapping_sub(s.paddr) != offset {
            return Err(LayoutError::KernelMixedOffsets);
        }
        k_start = k_start.min(s.paddr);
        k_end = k_end.max(s.paddr + s.memsz);
        entry_inside |= (s.vaddr..s.vaddr + s.memsz).contains(&kernel.entry());
        push(LoadOp {
            source: Image::Kernel,
            file: s.file(),
            dst: s.paddr,
            zero: s.memsz - s.filesz(),
        })?;
    }
    if !entry_inside {
        return Err(LayoutError::EntryOutsideImage(Image::Kernel));
    }
    if offset % SIZE_2M != 0 {
        return Err(LayoutError::KernelOffsetUnaligned);
    }
    let kernel_range =
        round_out(k_start, k_end, PAGE).ok_or(LayoutError::Overflow(Image::Kernel))?;
    check_placement(Image::Kernel, &kernel_range, platform)?;
    let window_pa = k_start - k_start % SIZE_2M;
    let window_size = KERNEL_WINDOW.min(platform.ram.end.saturating_sub(window_pa));
    let window_size = window_size - window_size % SIZE_2M;
    if kernel_range.end > window_pa + window_size {
        return Err(LayoutError::KernelWindowTooSmall);
    }
    let kernel_window = Mapping {
        va: window_pa.wrapping_add(offset),
        pa: window_pa,
        size: window_size,
        memory: Memory::Normal,
    };

    // DTB: next page after the kernel.
    let mut next = kernel_range.end;
    let dtb_range = match dtb {
        Some(blob) => {
            let size = fdt_size(blob)?;
            let range = next..next + size as u64;
            check_placement(Image::Dtb, &range, platform)?;
            push(LoadOp {
                source: Image::Dtb,
                file: 0..size,
                dst: range.start,
                zero: 0,
            })?;
            next = round_up(range.end, PAGE).ok_or(LayoutError::Overflow(Image::Dtb))?;
            Some(range)
        }
        None => None,
    };

    // Root task: span [min vaddr, max end rounded up) placed at `next`.
    let rt = root_task.segments();
    let v_min = rt.iter().map(|s| s.vaddr).min().unwrap_or(0);
    let v_max = rt.iter().map(|s| s.vaddr + s.memsz).max().unwrap_or(0);
    if v_min % PAGE != 0 {
        return Err(LayoutError::RootTaskUnaligned { min_vaddr: v_min });
    }
    let v_end = round_up(v_max, PAGE).ok_or(LayoutError::Overflow(Image::RootTask))?;
    if v_end >= platform.user_top {
        return Err(LayoutError::RootTaskAboveUserTop);
    }
    if !rt
        .iter()
        .any(|s| (s.vaddr..s.vaddr + s.memsz).contains(&root_task.entry()))
    {
        return Err(LayoutError::EntryOutsideImage(Image::RootTask));
    }
    let span = v_end - v_min;
    let ui_start = next;
    let ui_end = ui_start
        .checked_add(span)
        .ok_or(LayoutError::Overflow(Image::RootTask))?;
    check_placement(Image::RootTask, &(ui_start..ui_end), platform)?;
    push(LoadOp {
        source: Image::RootTask,
        file: 0..0,
        dst: ui_start,
        zero: span,
    })?;
    for s in rt {
        push(LoadOp {
            source: Image::RootTask,
            file: s.file(),
            dst: ui_start + (s.vaddr - v_min),
            zero: 0,
        })?;
    }

    let loader = round_out(platform.loader.start, platform.loader.end, SIZE_2M)
        .ok_or(LayoutError::BadPlatform)?;
    let uart = platform.uart - platform.uart % SIZE_2M;
    Ok(Plan {
        kernel_entry: kernel.entry(),
        kernel: kernel_range,
        args: KernelArgs {
            ui_p_reg_start: ui_start,
            ui_p_reg_end: ui_end,
            pv_offset: ui_start.wrapping_sub(v_min) as i64,
            v_entry: root_task.entry(),
            dtb_paddr: dtb_range.as_ref().map_or(0, |r| r.start),
            dtb_size: dtb_range.as_ref().map_or(0, |r| r.end - r.start),
        },
        dtb: dtb_range,
        ops,
        mappings: [
            kernel_window,
            Mapping {
                va: loader.start,
                pa: loader.start,
                size: loader.end - loader.start,
                memory: Memory::Normal,
            },
            Mapping {
                va: uart,
                pa: uart,
                size: SIZE_2M,
                memory: Memory::Device,
            },
        ],
    })
}

fn round_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? / align * align)
}

fn round_out(start: u64, end: u64, align: u64) -> Option<Range<u64>> {
    Some(start - start % align..round_up(end, align)?)
}

fn check_placement(
    image: Image,
    range: &Range<u64>,
    platform: &Platform,
) -> Result<(), LayoutError> {
    if range.start < platform.ram.start || range.end > platform.ram.end {
        return Err(LayoutError::OutsideRam {
            image,
            start: range.start,
            end: range.end,
        });
    }
    if range.start < platform.loader.end && platform.loader.start < range.end {
        return Err(LayoutError::OverlapsLoader(image));
    }
    Ok(())
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
