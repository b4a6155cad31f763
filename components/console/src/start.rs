//! The references the console starts from: its boot page, its IPC buffer and the UART
//! registers, made from the addresses the root task gave it. The console's only `unsafe` code
//! besides the register accesses in `uart`.
#![allow(unsafe_code)]

use plan::bootpage::{BootPage, REGION_MAPPED, RegionInfo};
use sel4::IpcBuffer;

use crate::uart::Uart;

/// The boot page at `addr` and the IPC buffer of thread `index`. Panics if either is invalid.
pub fn thread(addr: usize, index: usize) -> (&'static BootPage, &'static mut IpcBuffer) {
    if addr != plan::vspace::BOOT_PAGE as usize {
        panic!("x0 = {addr:#x} is not the boot page address");
    }
    // Safety: the root task maps the boot page read-only at this fixed address for the
    // component's whole life and never changes it, so a shared 'static view is sound.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, 4096) };
    let boot = match BootPage::from_bytes(bytes) {
        Ok(page) => page,
        Err(e) => panic!("bad boot page: {e:?}"),
    };
    let Some(t) = boot.threads().get(index) else {
        panic!("no thread {index} in the boot page");
    };
    sel4_runtime::set_own_tcb(sel4::Cap::from_cptr(t.tcb));
    // Safety: the root task registered this page as this thread's IPC buffer and mapped it
    // read-write; the console's single thread calls this once.
    match unsafe { IpcBuffer::from_addr(t.ipc_buffer as usize) } {
        Some(ipc) => (boot, ipc),
        None => panic!("bad IPC buffer address {:#x}", t.ipc_buffer),
    }
}

/// The UART whose registers region `r` maps, if it is mapped and page-sized.
pub fn uart(r: &RegionInfo) -> Option<Uart> {
    let base = usize::try_from(r.vaddr).ok()?;
    let mapped = r.flags & REGION_MAPPED != 0 && base != 0 && base % 4096 == 0;
    (mapped && r.size >= 4096 && r.paddr == plan::console::UART_PADDR).then(|| {
        // Safety: the root task mapped the PL011's 4 KiB device frame here, uncached, for the
        // console alone and for its whole life.
        unsafe { Uart::new(base) }
    })
}
