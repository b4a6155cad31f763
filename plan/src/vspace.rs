//! The virtual address layout every component gets (stage-2 IPAs of a native thread).
//!
//! | range                                   | contents                                         |
//! |-----------------------------------------|--------------------------------------------------|
//! | `0 .. IMAGE_START`                      | never mapped (null-pointer guard)                |
//! | `IMAGE_START .. IMAGE_END`              | the ELF's `PT_LOAD` segments, at their `p_vaddr` |
//! | [`BOOT_PAGE`]                           | the boot page, 4 KiB, read-only, never executable |
//! | [`ipc_buffer`]`(t)`                     | thread `t`'s IPC buffer, 4 KiB read-write, each followed by an unmapped page |
//! | [`stack_window`]`(t)`                   | thread `t`'s stack: `[top - size, top)` with `top` the window's end; the rest of the window is an unmapped guard |
//! | [`HEAP`] `.. HEAP + heap_size`          | the heap, read-write (at most [`MAX_HEAP`])      |
//! | [`REGION_BASE`] ..                      | memory regions in manifest order, each aligned to [`REGION_ALIGN`] and followed by at least [`REGION_GUARD`] unmapped bytes |
//!
//! Nothing here is executable except the ELF's executable segments; every data mapping is mapped
//! with ExecuteNever. Components learn all these addresses from their boot page; the constants are
//! for the root task and the manifest compiler.

use crate::MAX_THREADS;

/// The page size of every fixed mapping.
pub const PAGE_SIZE: u64 = 0x1000;
/// Lowest address an ELF segment may occupy.
pub const IMAGE_START: u64 = 0x1000;
/// End (exclusive) of the range ELF segments may occupy.
pub const IMAGE_END: u64 = 0x1000_0000;
/// The boot page; its address is also passed in `x0` to every thread.
pub const BOOT_PAGE: u64 = 0x1000_0000;
/// First IPC buffer.
pub const IPC_BUFFER_BASE: u64 = 0x1001_0000;
/// Distance between two IPC buffers (the buffer page plus one unmapped guard page).
pub const IPC_BUFFER_STRIDE: u64 = 2 * PAGE_SIZE;
/// First stack window.
pub const STACK_BASE: u64 = 0x2000_0000;
/// Size of each thread's stack window.
pub const STACK_WINDOW: u64 = 0x0100_0000;
/// Largest stack a thread may have (half its window, so at least as much guard lies below).
pub const MAX_STACK: u64 = STACK_WINDOW / 2;
/// The heap.
pub const HEAP: u64 = 0x3000_0000;
/// Largest heap.
pub const MAX_HEAP: u64 = 0x1000_0000;
/// Where memory regions start.
pub const REGION_BASE: u64 = 0x4000_0000;
/// Every region starts at a multiple of this (so 2 MiB pages can back it).
pub const REGION_ALIGN: u64 = 0x20_0000;
/// Unmapped gap after each region.
pub const REGION_GUARD: u64 = 0x20_0000;
/// End (exclusive) of the region area.
pub const REGION_END: u64 = 0x100_0000_0000;

/// Thread `t`'s IPC buffer (page aligned, so also 1 KiB aligned as seL4 requires).
pub const fn ipc_buffer(thread: usize) -> u64 {
    IPC_BUFFER_BASE + thread as u64 * IPC_BUFFER_STRIDE
}

/// Thread `t`'s stack window `(start, end)`; its stack top is `end`.
pub const fn stack_window(thread: usize) -> (u64, u64) {
    let start = STACK_BASE + thread as u64 * STACK_WINDOW;
    (start, start + STACK_WINDOW)
}

/// Thread `t`'s initial stack pointer (16-byte aligned).
pub const fn stack_top(thread: usize) -> u64 {
    stack_window(thread).1
}

/// The address of the region that follows a region occupying `[.., prev_end)` (or the first one
/// when `prev_end` is [`REGION_BASE`]).
pub const fn next_region(prev_end: u64) -> u64 {
    let start = if prev_end == REGION_BASE {
        REGION_BASE
    } else {
        prev_end + REGION_GUARD
    };
    start.div_ceil(REGION_ALIGN) * REGION_ALIGN
}

const _: () = assert!(ipc_buffer(MAX_THREADS) <= STACK_BASE);
const _: () = assert!(stack_top(MAX_THREADS - 1) <= HEAP);
const _: () = assert!(HEAP + MAX_HEAP <= REGION_BASE);
const _: () = assert!(BOOT_PAGE >= IMAGE_END);
