//! Mapping frames into a VSpace, creating the page tables the kernel reports missing.
//!
//! With 4 KiB pages and 44-bit IPAs a VSpace has three levels of page tables below its root.
//! `Page_Map` fails with `FailedLookup` while a level is missing; the missing table is then
//! retyped and mapped at the same address, and the map retried (at most three times). Page
//! tables stay in the root CNode for good: deleting one would unmap everything below it.

use sel4::{Cap, CapRights, Error, ObjectType, VmAttributes, cap_type};

use crate::alloc::Alloc;
use crate::error::{BootError, Context};

/// Levels of page tables below a VSpace root (PA44, 4 KiB granule).
const LEVELS: u32 = 3;

/// How a frame is mapped: access rights and attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// Read, or read and write (masked by the frame capability's rights).
    pub rights: CapRights,
    /// Cacheability and execute permission.
    pub attr: VmAttributes,
}
/// Mapping attributes for data (never executable).
pub const DATA: VmAttributes = VmAttributes::DEFAULT.union(VmAttributes::EXECUTE_NEVER);
/// Read-only data.
pub const RO_DATA: Perm = Perm {
    rights: CapRights::READ,
    attr: DATA,
};
/// Read-write data.
pub const RW_DATA: Perm = Perm {
    rights: CapRights::READ_WRITE,
    attr: DATA,
};

/// Maps `frame` at `vaddr` in `vspace` with `perm`, adding page tables as needed. Returns the
/// number of page tables created.
pub fn map<F: sel4::FrameType>(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    frame: Cap<F>,
    vspace: Cap<cap_type::VSpace>,
    vaddr: u64,
    perm: Perm,
    step: &'static str,
) -> Result<u32, BootError> {
    let mut tables = 0;
    loop {
        match frame.frame_map(ipc, vspace, vaddr, perm.rights, perm.attr) {
            Err(Error::FailedLookup) if tables < LEVELS => {
                let pt: Cap<cap_type::PageTable> =
                    alloc.retype(ipc, ObjectType::PageTable, 0, "retype a page table")?;
                pt.page_table_map(ipc, vspace, vaddr, VmAttributes::DEFAULT)
                    .at("map a page table", vaddr)?;
                tables += 1;
            }
            other => return other.at(step, vaddr).map(|()| tables),
        }
    }
}
