//! The two references a thread of a plan starts from, made from the addresses the root task
//! gave it. This crate's only `unsafe` code.
#![allow(unsafe_code)]

use plan::bootpage::{BootPage, ThreadInfo};
use sel4::IpcBuffer;

/// The boot page at `addr` (the thread's initial x0), checked. Panics if it is not one.
pub fn boot_page(addr: usize) -> &'static BootPage {
    if addr != plan::vspace::BOOT_PAGE as usize {
        panic!("x0 = {addr:#x} is not the boot page address");
    }
    // Safety: the root task maps the boot page read-only at this fixed address for the
    // component's whole life and never changes it, so a shared 'static view is sound.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, 4096) };
    match BootPage::from_bytes(bytes) {
        Ok(page) => page,
        Err(e) => panic!("bad boot page: {e:?}"),
    }
}

/// The IPC buffer of `thread`. Panics if its address is invalid. Call once per thread.
pub fn ipc_buffer(thread: &ThreadInfo) -> &'static mut IpcBuffer {
    // Safety: the root task registered this page as this thread's IPC buffer (TCB_Configure)
    // and mapped it read-write; each thread calls this once, for its own entry, so the
    // reference is unique.
    match unsafe { IpcBuffer::from_addr(thread.ipc_buffer as usize) } {
        Some(ipc) => ipc,
        None => panic!("bad IPC buffer address {:#x}", thread.ipc_buffer),
    }
}

/// A memory region mapped into the component, accessed with bounds-checked volatile word reads
/// and writes (the memory may be shared with the server or a guest).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    base: usize,
    size: usize,
    writable: bool,
}

impl Region {
    /// The region `info` describes, if the root task mapped it.
    pub fn new(info: &plan::bootpage::RegionInfo) -> Option<Region> {
        use plan::bootpage::{REGION_MAPPED, REGION_WRITABLE};
        let base = usize::try_from(info.vaddr).ok()?;
        let size = usize::try_from(info.size).ok()?;
        let aligned = base % 8 == 0 && size % 8 == 0;
        (info.flags & REGION_MAPPED != 0 && base != 0 && aligned).then_some(Region {
            base,
            size,
            writable: info.flags & REGION_WRITABLE != 0,
        })
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The word at byte `offset` (8-aligned, inside the region).
    pub fn read(&self, offset: usize) -> Option<u64> {
        if offset % 8 != 0 || offset >= self.size {
            return None;
        }
        // Safety: the root task mapped `size` bytes at `base` (boot page, REGION_MAPPED) for the
        // component's life; the address is inside, 8-aligned, and read without a reference.
        Some(unsafe { core::ptr::read_volatile((self.base + offset) as *const u64) })
    }

    /// Writes the word at byte `offset`; false if out of range or the mapping is read-only.
    pub fn write(&self, offset: usize, value: u64) -> bool {
        if !self.writable || offset % 8 != 0 || offset >= self.size {
            return false;
        }
        // Safety: as for `read`, and the mapping is writable (REGION_WRITABLE).
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u64, value) };
        true
    }
}
