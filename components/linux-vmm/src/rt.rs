//! The target-only runtime of the Linux VMM: the boot blob's region, the counter, and a heap.
//!
//! All of the crate's `unsafe` is here, each block with its reason.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use plan::bootpage::{BootPage, REGION_MAPPED};

/// A region of this component mapped read-only for its whole life and written by nobody (the
/// boot blob: QEMU placed it before the kernel started; it is not guest memory).
pub fn read_only_region(boot: &BootPage, name: &str) -> Option<&'static [u8]> {
    let r = boot.regions().iter().find(|r| r.name() == name)?;
    if r.flags & REGION_MAPPED == 0 || r.vaddr == 0 {
        return None;
    }
    let len = usize::try_from(r.size).ok()?;
    #[allow(unsafe_code)]
    // Safety: the root task mapped this region at `vaddr` for `size` bytes for the component's
    // whole life; it is never sent to the server as guest memory and nothing writes it, so a
    // shared reference for 'static is sound.
    let bytes = unsafe { core::slice::from_raw_parts(r.vaddr as *const u8, len) };
    Some(bytes)
}

/// The virtual counter (`CNTVCT_EL0`, exported to user level in the reference kernel).
pub fn counter() -> u64 {
    let v: u64;
    #[allow(unsafe_code)]
    // Safety: reading CNTVCT_EL0 has no side effect; the kernel configuration lets EL0 read it.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack))
    };
    v
}

/// The counter's frequency (`CNTFRQ_EL0`).
pub fn counter_hz() -> u64 {
    let v: u64;
    #[allow(unsafe_code)]
    // Safety: reading CNTFRQ_EL0 has no side effect and is allowed at EL0 with the counter.
    unsafe {
        core::arch::asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack))
    };
    v
}

/// A bump allocator over the component's heap (the manifest's `heap-size`, mapped at the boot
/// page's `heap_vaddr`). Memory is never given back: the VMM allocates only the device tree.
pub struct Bump {
    next: AtomicUsize,
    end: AtomicUsize,
}

impl Bump {
    /// An allocator without memory (every allocation fails until [`Bump::init`]).
    pub const fn new() -> Self {
        Bump {
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
        }
    }

    /// Gives it the heap of `boot` (once, before any allocation).
    pub fn init(&self, boot: &BootPage) {
        let start = boot.heap_vaddr as usize;
        self.end
            .store(start + boot.heap_size as usize, Ordering::SeqCst);
        self.next.store(start, Ordering::SeqCst);
    }
}

impl Default for Bump {
    fn default() -> Self {
        Self::new()
    }
}

#[allow(unsafe_code)]
// Safety: `alloc` hands out disjoint, suitably aligned ranges of the heap mapping (read-write,
// private to this component) or null; `dealloc` does nothing, which is always sound.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let end = self.end.load(Ordering::SeqCst);
        let mut cur = self.next.load(Ordering::SeqCst);
        loop {
            let start = cur.next_multiple_of(layout.align());
            let Some(stop) = start.checked_add(layout.size()) else {
                return core::ptr::null_mut();
            };
            if start == 0 || stop > end {
                return core::ptr::null_mut();
            }
            match self
                .next
                .compare_exchange(cur, stop, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return start as *mut u8,
                Err(now) => cur = now,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
