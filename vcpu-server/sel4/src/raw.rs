//! The binary's only `unsafe` code: a once-taken global cell for the server, and turning the
//! addresses the boot plan promises (boot page, IPC buffer) into references.
//!
//! Invariants:
//! - [`Global::take`] hands out one `&'static mut` for the whole program, and `None` after
//!   that, so the value is never aliased.
//! - [`boot_page`] and [`ipc_buffer`] are `unsafe fn`: their callers promise what the
//!   addresses are (the boot plan's mappings, which the root task keeps for the program's whole
//!   life) and, for the IPC buffer, that no other reference to it exists.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value in a `static`, built at compile time (so it never passes through the stack) and
/// lent out mutably exactly once.
pub struct Global<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// Safety: the value is only reachable through `take`, which gives out a single `&mut` for the
// whole program (the atomic flag makes a second `take` return `None`, even from another
// thread), so sharing the cell between threads never yields two references; `T: Send` because
// the one reference may be taken on any thread.
unsafe impl<T: Send> Sync for Global<T> {}

impl<T> Global<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        Global {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    #[allow(
        clippy::mut_from_ref,
        reason = "the atomic flag makes the `&mut` unique"
    )]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // Safety: the flag was clear, so no reference to the value was ever made, and the swap
        // set it, so none will be made again: this `&mut` is unique for the rest of the program.
        Some(unsafe { &mut *self.value.get() })
    }
}

/// The boot page the root task mapped at `addr` (the thread's initial x0), checked by
/// [`plan::bootpage::BootPage::from_bytes`].
///
/// # Safety
/// If `addr` is non-null and 8-byte aligned, the 4096 bytes from `addr` must be mapped
/// readable for the rest of the program and never written while the reference lives: true
/// of the value the root task passes in x0 (`plan::vspace::BOOT_PAGE`, a read-only frame it
/// never unmaps). Any other address is undefined behaviour.
#[cfg(target_os = "none")]
pub unsafe fn boot_page(
    addr: usize,
) -> Result<&'static plan::bootpage::BootPage, plan::bootpage::BootPageError> {
    use plan::bootpage::{BootPage, BootPageError};
    if addr == 0 || addr % 8 != 0 {
        return Err(BootPageError::TooShort);
    }
    // Safety: the caller guarantees (contract above) that the 4 KiB at `addr` are mapped,
    // readable and unchanging for the program's life; non-null and alignment are checked
    // above.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, 4096) };
    BootPage::from_bytes(bytes)
}

/// The server thread's IPC buffer at `addr` (from its boot page).
///
/// # Safety
/// `addr` must be the calling thread's IPC buffer as the kernel knows it, mapped read-write
/// for the rest of the program, and no other reference to that memory may exist or be made
/// while the returned one lives: call it once, with the boot page's value for this thread.
#[cfg(target_os = "none")]
pub unsafe fn ipc_buffer(addr: u64) -> Option<&'static mut sel4::IpcBuffer> {
    let addr = usize::try_from(addr).ok()?;
    // Safety: the caller guarantees (contract above) that `addr` is this thread's IPC buffer,
    // mapped read-write for the program's life, and that this reference is the only one.
    unsafe { sel4::IpcBuffer::from_addr(addr) }
}

/// Writes the GIC-enable stub ([`crate::gic_enable::STUB`]) at `vaddr`, where
/// `GicEnable::create` has just mapped the server's own fresh 4 KiB frame read-write.
#[cfg(target_os = "none")]
pub fn write_stub(vaddr: u64) {
    let code = crate::gic_enable::STUB;
    let base = vaddr as *mut u32;
    for (i, word) in code.iter().enumerate() {
        // Safety: `vaddr` is the start of a 4 KiB frame the server retyped itself and mapped
        // read-write at this otherwise unused address of its own VSpace just before the call;
        // nothing else refers to it, and 9 words fit the page.
        unsafe { base.add(i).write_volatile(*word) };
    }
}

/// Host builds (unit tests) have no frame to write: the fake kernel maps nothing.
#[cfg(not(target_os = "none"))]
pub fn write_stub(_vaddr: u64) {}

#[cfg(test)]
mod tests {
    use super::Global;

    static CELL: Global<[u32; 4]> = Global::new([1, 2, 3, 4]);

    #[test]
    fn taken_once() {
        let v = CELL.take().expect("first take");
        v[0] = 9;
        assert_eq!(v, &[9, 2, 3, 4]);
        assert!(CELL.take().is_none(), "a second take must fail");
    }
}
