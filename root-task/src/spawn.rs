//! Creating one component of the plan as its own process: CNode, VSpace, TCBs, the ELF image,
//! the boot page, IPC buffers, stacks, heap and memory regions. Capabilities and thread setup
//! follow in `caps.rs`.
//!
//! Every object comes from RAM untyped, which the kernel zeroes when it retypes it: a fresh frame
//! is all zeros, so `.bss`, the tail of partly filled pages, stacks and heap need no writing.
//! Only frames that must hold data (image pages with file bytes, the boot page) and regions the
//! plan marks `zero_fill` (device memory, which the kernel never zeroes) are written, through
//! the root task's scratch window (`mem.rs`).

use plan::{ComponentPlan, MAX_THREADS, MemorySource, Plan, RegionPlan, vspace as layout};
use sel4::{Cap, CapRights, ObjectType, VmAttributes, WORD_DEPTH, cap_type, init};
use zerocopy::IntoBytes;

use crate::alloc::Alloc;
use elf_image::Address::Virtual;
use elf_image::Segment;

use crate::elf::{self, Image};
use crate::error::{BootError, Cause, Context};
use crate::mem::{self, After};
use crate::vspace::{self, DATA, Perm, RO_DATA, RW_DATA};

const PAGE: u64 = layout::PAGE_SIZE;

/// A created component: the root task's capabilities to its objects, and what it consumed.
pub struct Process {
    /// Its CNode (the original, unguarded, in the root CNode).
    pub cnode: Cap<cap_type::CNode>,
    /// Its VSpace root.
    pub vspace: Cap<cap_type::VSpace>,
    /// One TCB per thread of the plan, in thread order.
    pub tcbs: heapless::Vec<Cap<cap_type::Tcb>, MAX_THREADS>,
    /// The IPC buffer frame of each thread.
    pub ipc_frames: heapless::Vec<Cap<cap_type::SmallPage>, MAX_THREADS>,
    /// The ELF entry point.
    pub entry: u64,
    /// Frames mapped into it.
    pub frames: u32,
    /// Page tables created for it.
    pub tables: u32,
    /// A restartable component: the memory all its objects came from (see `alloc.rs`).
    pub instance: Option<crate::alloc::Instance>,
}

impl Process {
    fn map<F: sel4::FrameType>(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        alloc: &mut Alloc,
        frame: Cap<F>,
        vaddr: u64,
        perm: Perm,
        step: &'static str,
    ) -> Result<(), BootError> {
        self.tables += vspace::map(ipc, alloc, frame, self.vspace, vaddr, perm, step)?;
        self.frames += 1;
        Ok(())
    }

    /// Maps fresh (zero) read-write data pages over `[start, start + size)`.
    fn map_fresh(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        alloc: &mut Alloc,
        start: u64,
        size: u64,
        step: &'static str,
    ) -> Result<(), BootError> {
        let mut vaddr = start;
        while vaddr < start + size {
            let frame: Cap<cap_type::SmallPage> =
                alloc.retype(ipc, ObjectType::SmallPage, 0, step)?;
            self.map(ipc, alloc, frame, vaddr, RW_DATA, step)?;
            vaddr += PAGE;
        }
        Ok(())
    }
}

/// Creates component `index` of `plan` up to (not including) its capabilities and threads'
/// registers: objects, image, boot page, IPC buffers, stacks, heap and regions.
pub fn create(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    plan: &Plan,
    index: usize,
    cores: u8,
) -> Result<Process, BootError> {
    let c = plan.components.get(index).ok_or(BootError::new(
        "find the component",
        None,
        Cause::BadPlan("no such component"),
    ))?;
    if c.threads.is_empty() || c.threads.len() > MAX_THREADS {
        return Err(BootError::new(
            "count the threads",
            None,
            Cause::BadPlan("a component needs 1..=8 threads"),
        ));
    }
    let image = elf::parse(c.elf)
        .map_err(|why| BootError::new("read the ELF image", None, Cause::BadElf(why)))?;
    let cnode = alloc.retype(
        ipc,
        ObjectType::CNode,
        u32::from(c.cspace_size_bits),
        "retype the CNode",
    )?;
    let vspace = alloc.retype(ipc, ObjectType::VSpace, 0, "retype the VSpace")?;
    init::ASID_POOL
        .asid_pool_assign(ipc, vspace)
        .step("assign an ASID to the VSpace")?;
    let mut p = Process {
        cnode,
        vspace,
        tcbs: heapless::Vec::new(),
        ipc_frames: heapless::Vec::new(),
        entry: image.entry,
        frames: 0,
        tables: 0,
        instance: None,
    };
    for _ in c.threads {
        let tcb = alloc.retype(ipc, ObjectType::Tcb, 0, "retype a TCB")?;
        // Capacity: at most MAX_THREADS threads (checked above).
        let _ = p.tcbs.push(tcb);
    }
    load_image(ipc, alloc, &mut p, &image)?;
    boot_page(ipc, alloc, &mut p, plan, index, cores)?;
    for t in c.threads {
        let frame = alloc.retype(ipc, ObjectType::SmallPage, 0, "retype an IPC buffer")?;
        if sel4::CONFIG.mcs {
            // The thread's reply object (placed by `caps::configure_threads`), named where
            // `sel4::IpcBuffer::reply_object` finds it.
            let reply = plan::cspace::reply(usize::from(t.index)).to_le_bytes();
            let at = sel4::IpcBuffer::OFFSET_USER_DATA;
            mem::with_frame(ipc, alloc, frame, 12, After::Clean, |b| {
                b[at..at + 8].copy_from_slice(&reply);
            })?;
        }
        p.map(
            ipc,
            alloc,
            frame,
            t.ipc_buffer,
            RW_DATA,
            "map an IPC buffer",
        )?;
        let _ = p.ipc_frames.push(frame);
        if t.stack_size == 0 || t.stack_size % PAGE != 0 || t.stack_size > t.stack_top {
            return Err(BootError::new(
                "map a stack",
                Some(t.stack_top),
                Cause::BadPlan("bad stack size"),
            ));
        }
        p.map_fresh(
            ipc,
            alloc,
            t.stack_top - t.stack_size,
            t.stack_size,
            "map a stack frame",
        )?;
    }
    if c.heap_size > 0 {
        p.map_fresh(ipc, alloc, c.heap_vaddr, c.heap_size, "map a heap frame")?;
    }
    for r in c.regions {
        region(ipc, alloc, &mut p, c, r)?;
    }
    Ok(p)
}

/// Size (log2 bytes) of the untyped that holds every object of an instance of component `c`
/// (a restartable one): an upper bound of what [`create`] and `caps.rs` retype for it, doubled
/// for alignment losses. `None` if its image cannot be read.
pub fn instance_bits(c: &ComponentPlan) -> Option<u32> {
    let image = elf::parse(c.elf).ok()?;
    let threads = c.threads.len() as u64;
    let image_pages: u64 = image
        .segments
        .iter()
        .map(|s| (s.end(Virtual).div_ceil(PAGE)) - s.vaddr / PAGE)
        .sum();
    let stacks: u64 = c.threads.iter().map(|t| t.stack_size).sum();
    let mut regions = 0;
    let mut large = 0;
    for r in c.regions {
        regions += r.size;
        if r.page_bits == 21 {
            // A 2 MiB frame may follow a page table: count its alignment.
            large += r.size;
        }
    }
    let untypeds: u64 = c
        .caps
        .iter()
        .map(|cp| match cp.cap {
            plan::Cap::Untyped { size_bits } => 2u64 << size_bits,
            _ => 0,
        })
        .sum();
    let pages = image_pages + stacks / PAGE + c.heap_size / PAGE + 2 * threads + 1;
    // Tables: the three levels near each group of mappings, one last-level table per 2 MiB.
    let tables = 3 * (4 + threads + c.regions.len() as u64) + pages / 512 + regions / (2 << 20);
    let bytes = (1u64 << (u64::from(c.cspace_size_bits) + 5))
        + PAGE * (1 + threads * 3 + pages + tables)
        + regions
        + large
        + untypeds;
    Some((64 - (2 * bytes - 1).leading_zeros()).max(16))
}

/// Loads the `PT_LOAD` segments page by page (a page shared by two segments gets both, with the
/// union of their permissions).
fn load_image(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &mut Process,
    image: &Image<'_>,
) -> Result<(), BootError> {
    let mut done_below = 0;
    for seg in &image.segments {
        let mut page = (seg.vaddr & !(PAGE - 1)).max(done_below);
        while page < seg.end(Virtual) {
            let in_page = |s: &&Segment<'_>| s.vaddr < page + PAGE && s.end(Virtual) > page;
            let exec = image.segments.iter().filter(in_page).any(|s| s.exec);
            let write = image.segments.iter().filter(in_page).any(|s| s.write);
            let frame: Cap<cap_type::SmallPage> =
                alloc.retype(ipc, ObjectType::SmallPage, 0, "retype an image frame")?;
            let has_data = image
                .segments
                .iter()
                .any(|s| s.vaddr < page + PAGE && s.vaddr + s.data.len() as u64 > page);
            if has_data {
                let after = if exec {
                    After::UnifyInstruction
                } else {
                    After::Nothing
                };
                mem::with_frame(ipc, alloc, frame, 12, after, |bytes| {
                    for s in &image.segments {
                        copy_into_page(bytes, page, s);
                    }
                })?;
            }
            let perm = Perm {
                rights: if write {
                    CapRights::READ_WRITE
                } else {
                    CapRights::READ
                },
                attr: if exec { VmAttributes::DEFAULT } else { DATA },
            };
            p.map(ipc, alloc, frame, page, perm, "map an image page")?;
            page += PAGE;
        }
        done_below = page;
    }
    Ok(())
}

/// Copies the file bytes of `seg` that fall in the page at `page` into `bytes` (that page).
fn copy_into_page(bytes: &mut [u8], page: u64, seg: &Segment<'_>) {
    let data_end = seg.vaddr + seg.data.len() as u64;
    let lo = seg.vaddr.max(page);
    let hi = data_end.min(page + bytes.len() as u64);
    if lo < hi {
        let dst = &mut bytes[(lo - page) as usize..(hi - page) as usize];
        dst.copy_from_slice(&seg.data[(lo - seg.vaddr) as usize..(hi - seg.vaddr) as usize]);
    }
}

/// Writes the component's boot page and maps it read-only.
fn boot_page(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &mut Process,
    plan: &Plan,
    index: usize,
    cores: u8,
) -> Result<(), BootError> {
    let mut page = plan.boot_page(index).ok_or(BootError::new(
        "build the boot page",
        None,
        Cause::BadPlan("no such component"),
    ))?;
    page.cores = cores;
    let frame: Cap<cap_type::SmallPage> =
        alloc.retype(ipc, ObjectType::SmallPage, 0, "retype the boot page")?;
    mem::with_frame(ipc, alloc, frame, 12, After::Nothing, |bytes| {
        let src = page.as_bytes();
        bytes[..src.len()].copy_from_slice(src);
    })?;
    p.map(
        ipc,
        alloc,
        frame,
        layout::BOOT_PAGE,
        RO_DATA,
        "map the boot page",
    )
}

/// Creates the frames of region `r`, zero-fills them if the plan says so, maps them if the
/// region has an address, and moves them to the region's slots in the component's CNode (as
/// copies carrying the region's rights).
fn region(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    p: &mut Process,
    c: &ComponentPlan,
    r: &RegionPlan,
) -> Result<(), BootError> {
    let (ty, bits) = match r.page_bits {
        12 => (ObjectType::SmallPage, 12),
        21 => (ObjectType::LargePage, 21),
        _ => {
            return Err(BootError::new(
                "create a region",
                None,
                Cause::BadPlan("page size"),
            ));
        }
    };
    let rights = CapRights::from_word(r.rights);
    let perm = Perm {
        rights,
        attr: match (r.source, r.execute_never) {
            // Device registers: uncached (Device-nGnRnE), never executable.
            (MemorySource::Device, _) => VmAttributes::EXECUTE_NEVER,
            (_, true) => DATA,
            (_, false) => VmAttributes::DEFAULT,
        },
    };
    let depth = c.cspace_size_bits;
    for k in 0..r.frame_count {
        let offset = k << bits;
        let frame: Cap<cap_type::LargePage> = match (r.paddr, r.source) {
            (Some(base), _) => alloc.frame_at(ipc, ty, base + offset, "take a region frame")?,
            (None, MemorySource::Ram) => alloc.retype(ipc, ty, 0, "retype a region frame")?,
            (None, MemorySource::VmMemory | MemorySource::Device) => {
                return Err(BootError::new(
                    "create a region",
                    None,
                    Cause::BadPlan("a vm-memory or device region needs a physical address"),
                ));
            }
        };
        // The typed wrappers only need "some frame type"; the kernel knows the real size.
        if r.zero_fill {
            mem::with_frame(ipc, alloc, frame, bits, After::Clean, |b| b.fill(0))?;
        }
        let narrowed = alloc.slot("copy a region frame")?;
        init::CNODE
            .cnode_copy(
                ipc,
                narrowed,
                WORD_DEPTH,
                init::CNODE,
                frame.cptr(),
                WORD_DEPTH,
                rights,
            )
            .at("copy a region frame with the region's rights", narrowed)?;
        alloc.delete(ipc, frame.cptr())?;
        let narrowed: Cap<cap_type::LargePage> = Cap::from_cptr(narrowed);
        if let Some(vaddr) = r.vaddr {
            p.map(
                ipc,
                alloc,
                narrowed,
                vaddr + offset,
                perm,
                "map a region frame",
            )?;
        }
        let slot = r.frame_slot + k;
        p.cnode
            .cnode_move(ipc, slot, depth, init::CNODE, narrowed.cptr(), WORD_DEPTH)
            .at("move a region frame into the component", slot)?;
        alloc.free_slot(narrowed.cptr());
    }
    Ok(())
}
