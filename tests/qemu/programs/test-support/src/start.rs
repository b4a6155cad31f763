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
