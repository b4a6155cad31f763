//! The CSpace layout every component gets: one single-level CNode, fixed slot numbers.
//!
//! Each component's CSpace is one CNode of `2^size_bits` slots whose capability carries a guard of
//! `64 - size_bits` zero bits, so every slot resolves at depth 64 with `index = slot`, exactly like
//! the root task's own CNode ([`guard_data`] is the word to pass as `cspace_root_data` to
//! `TCB_Configure` and as the badge word when minting the component's self-capability).
//!
//! | slot            | capability                                                          | who       |
//! |-----------------|---------------------------------------------------------------------|-----------|
//! | 0               | null                                                                | all       |
//! | [`CNODE`]       | the component's own CNode (guarded, see above)                      | all       |
//! | [`VSPACE`]      | the component's own VSpace root                                     | all       |
//! | [`ASID_POOL`]   | a dedicated ASID pool for guest VSpaces                             | server*   |
//! | [`SERVER_ENDPOINT`] | the server's endpoint, unbadged, all rights (Recv; mints VCPU fault badges) | server |
//! | [`GICV_FRAME`]  | the GIC virtual CPU interface, first 4 KiB frame (mapped into guests) | server*   |
//! | [`GICV_FRAME`]` + 1` | its second 4 KiB frame (holds `GICC_DIR`); [`GICV_FRAMES`] frames in all | server* |
//! | [`CONSOLE`]     | the console endpoint: badged, send + grant-reply (print by `Call`); the console's own, unbadged, receive | all |
//! | [`tcb`]`(t)`    | TCB of thread `t`                                                   | all       |
//! | [`endpoint`]`(t)` | badged endpoint to the server for thread `t`                      | clients   |
//! | [`fault`]`(t)`  | badged endpoint to the root task's fault handler (the TCB's `fault_ep`) | all   |
//! | [`untyped`]`(i)` | untyped memory for VCPU objects, in plan order                     | server*   |
//! | [`reply`]`(t)`  | MCS kernels only: thread `t`'s reply object (named in its IPC buffer's `userData`) | all |
//! | [`REGION_BASE`].. | frame caps of the memory regions, region after region, frames in ascending address order | owners |
//! | `first_free`..`2^size_bits` | empty, for the component's own use                      | all       |
//!
//! `*` only when the system has a `[hypervisor]` section. Slots a component does not use stay
//! empty. Components never hard-code these numbers: their boot page carries every slot
//! ([`crate::bootpage::BootPage`]); the constants exist for the root task and the manifest
//! compiler.

use crate::MAX_THREADS;

/// The component's own CNode.
pub const CNODE: u64 = 1;
/// The component's own VSpace root.
pub const VSPACE: u64 = 2;
/// The server's dedicated ASID pool.
pub const ASID_POOL: u64 = 3;
/// The server's own endpoint (unbadged, all rights).
pub const SERVER_ENDPOINT: u64 = 4;
/// The server's first GICV frame; the others follow in consecutive slots.
pub const GICV_FRAME: u64 = 5;
/// Number of 4 KiB GICV frames (slots `GICV_FRAME..GICV_FRAME + GICV_FRAMES`, physical pages
/// ascending from the GICV base): Zircon maps the GICV as 8 KiB, the second page holding
/// `GICC_DIR`.
pub const GICV_FRAMES: u64 = 2;

/// The console endpoint (every component prints through it; see `crate::console`).
pub const CONSOLE: u64 = 8;

/// First TCB slot.
pub const TCB_BASE: u64 = 16;
/// First per-thread server endpoint slot.
pub const ENDPOINT_BASE: u64 = TCB_BASE + MAX_THREADS as u64;
/// First per-thread fault endpoint slot.
pub const FAULT_BASE: u64 = ENDPOINT_BASE + MAX_THREADS as u64;
/// First untyped slot (server only).
pub const UNTYPED_BASE: u64 = FAULT_BASE + MAX_THREADS as u64;
/// First reply-object slot (MCS kernels only).
pub const REPLY_BASE: u64 = UNTYPED_BASE + crate::MAX_UNTYPED as u64;
/// First frame slot of the memory regions.
pub const REGION_BASE: u64 = 64;

/// Slots kept empty at the end of every CSpace at least (the manifest compiler checks that
/// `REGION_BASE + frames + MIN_FREE_SLOTS <= 2^size_bits`).
pub const MIN_FREE_SLOTS: u64 = 32;

/// Smallest CNode a component may have (`2^MIN_SIZE_BITS` slots).
pub const MIN_SIZE_BITS: u8 = 7;
/// Largest CNode a component may have.
pub const MAX_SIZE_BITS: u8 = 16;

/// Slot of thread `t`'s TCB.
pub const fn tcb(thread: usize) -> u64 {
    TCB_BASE + thread as u64
}

/// Slot of thread `t`'s badged endpoint to the server.
pub const fn endpoint(thread: usize) -> u64 {
    ENDPOINT_BASE + thread as u64
}

/// Slot of thread `t`'s badged fault endpoint (named by the TCB's `fault_ep`).
pub const fn fault(thread: usize) -> u64 {
    FAULT_BASE + thread as u64
}

/// Slot of thread `t`'s reply object (MCS kernels only: the root task retypes one per thread
/// and names it in the thread's IPC buffer, `sel4::IpcBuffer::set_reply_object`).
pub const fn reply(thread: usize) -> u64 {
    REPLY_BASE + thread as u64
}

/// Slot of the server's `i`-th untyped capability.
pub const fn untyped(index: usize) -> u64 {
    UNTYPED_BASE + index as u64
}

/// The CNode guard word for a single-level CNode of `2^size_bits` slots: guard size
/// `64 - size_bits` in bits 5:0, guard value 0 (bits 63:6). Pass it as `cspace_root_data` to
/// `TCB_Configure` and as the badge word of the `CNode_Mint` that makes the self-capability.
pub const fn guard_data(size_bits: u8) -> u64 {
    64 - size_bits as u64
}

const _: () = assert!(REPLY_BASE + MAX_THREADS as u64 <= REGION_BASE);
const _: () = assert!(GICV_FRAME + GICV_FRAMES <= CONSOLE && CONSOLE < TCB_BASE);
