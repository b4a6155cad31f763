//! Raw physical memory: the loader's extent from the linker script, the
//! static page-table buffer, and executing a load plan.
//!
//! Invariant: physical = virtual for everything here (MMU off, or the
//! identity mapping of this image once it is on).

use core::ops::Range;
use core::ptr;

use vcpu_loader::layout::{Image, KernelArgs, LayoutError, Plan};
use vcpu_loader::pagetable::Table;
use vcpu_loader::qemu_virt::KERNEL_RAM;

/// Tables available to the loader: root, one level-1 table per used PGD
/// slot and one level-2 table per used GiB (6 for the stock layout).
const TABLES: usize = 8;

#[repr(C, align(4096))]
struct TableBuffer([Table; TABLES]);

static mut PAGE_TABLES: TableBuffer = TableBuffer([[0; 512]; TABLES]);
static mut TABLES_TAKEN: bool = false;

unsafe extern "C" {
    /// First byte of the image (`link.ld`).
    static __loader_start: u8;
    /// End of the image including BSS and stack (`link.ld`).
    static __loader_end: u8;
}

/// Physical extent of this image: text, data, BSS (page tables) and stack.
pub fn loader_image() -> Range<u64> {
    let start = &raw const __loader_start;
    let end = &raw const __loader_end;
    start as u64..end as u64
}

/// The page-table buffer and its physical address; `None` after the first
/// call, so the returned reference is unique.
pub fn page_tables() -> Option<(&'static mut [Table], u64)> {
    // Safety: single CPU with interrupts masked, so these accesses cannot
    // race; the flag hands the buffer out once, making the `&mut` unique.
    unsafe {
        if TABLES_TAKEN {
            return None;
        }
        TABLES_TAKEN = true;
        let buffer: *mut TableBuffer = &raw mut PAGE_TABLES;
        let tables = &mut (*buffer).0;
        let pa = tables.as_ptr() as u64;
        Some((tables, pa))
    }
}

/// What a secondary core needs to enter the kernel: the boot core's page tables, the
/// kernel's entry and its arguments (ignored on secondaries; passed as elfloader does).
#[derive(Clone, Copy)]
pub struct Handover {
    /// Level-0 table of the EL2 mappings.
    pub tables_pa: u64,
    /// Kernel virtual entry.
    pub entry: u64,
    /// x0..x5.
    pub args: KernelArgs,
}

static mut HANDOVER: Option<Handover> = None;

/// Publishes the hand-over for secondary cores. Called on the boot core with the MMU off
/// (writes go straight to memory) before any secondary is started.
pub fn publish_handover(h: Handover) {
    // Safety: only the boot core writes, before it starts any other core (so nothing reads
    // concurrently); the write is a plain store of a `Copy` value.
    unsafe {
        let slot = &raw mut HANDOVER;
        slot.write_volatile(Some(h));
    }
    // Safety: barrier only: the store is visible before the PSCI call that starts a reader.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// The hand-over the boot core published (read by secondary cores, MMU off).
pub fn handover() -> Option<Handover> {
    // Safety: written once by the boot core before this core was started (and a DSB); never
    // written again, so this read cannot race with a write.
    unsafe { (&raw const HANDOVER).read_volatile() }
}

/// The bytes each [`Image`] of a plan is copied from.
pub struct Sources<'a> {
    /// Kernel ELF file.
    pub kernel: &'a [u8],
    /// DTB blob (empty if none).
    pub dtb: &'a [u8],
    /// Root-task ELF file.
    pub root_task: &'a [u8],
}

/// Performs the plan's copy/zero operations in order.
///
/// Each destination is checked first to lie in kernel RAM and outside this
/// image (where `sources` and all of the loader's own state live), so the
/// raw writes cannot hit a live Rust object; a violating plan is refused
/// before anything is written.
pub fn load(plan: &Plan, sources: &Sources<'_>) -> Result<(), LayoutError> {
    let image = loader_image();
    for op in &plan.ops {
        let dst = op.written();
        let in_ram = KERNEL_RAM.start <= dst.start && dst.end <= KERNEL_RAM.end;
        if !in_ram || (dst.start < image.end && image.start < dst.end) {
            return Err(LayoutError::OverlapsLoader(op.source));
        }
        if source(op.source, sources).get(op.file.clone()).is_none() {
            return Err(LayoutError::Overflow(op.source));
        }
    }
    for op in &plan.ops {
        let bytes = source(op.source, sources)
            .get(op.file.clone())
            .unwrap_or(&[]);
        let dst = op.dst as *mut u8;
        // Safety: checked above: `dst .. dst + len + zero` is kernel RAM
        // outside this image, hence disjoint from `bytes` and from every
        // object of this program.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
            ptr::write_bytes(dst.add(bytes.len()), 0, op.zero as usize);
        }
    }
    Ok(())
}

fn source<'a>(image: Image, sources: &Sources<'a>) -> &'a [u8] {
    match image {
        Image::Kernel => sources.kernel,
        Image::Dtb => sources.dtb,
        Image::RootTask => sources.root_task,
    }
}
