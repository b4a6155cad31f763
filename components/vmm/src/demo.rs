//! What the two components of `manifests/default.toml` (`vmm` and `irq-source`) agree on.
//!
//! The VMM runs the `irq` guest first: before its first `vcpu_enter` it sends the interrupt
//! source a `SIGNAL | TRANSFER` duplicate of the VCPU handle (`handle_send` needs `TRANSFER`
//! on the handle it moves; the receiver drops it with `zx_handle_replace`), so the interrupt
//! source, which runs only while the VMM is blocked, finds the handle on its first
//! `handle_receive` and never has to wait while a guest needs the CPU.

/// The VMM's client id.
pub const VMM_CLIENT: u32 = 1;
/// The interrupt source's client id.
pub const IRQ_SOURCE_CLIENT: u32 = 2;
/// The SPIs the interrupt source raises; the `irq` guest is told to take this many.
pub const IRQ_VECTORS: [u32; 3] = [40, 41, 42];
/// How often the interrupt source tries `handle_receive` (yielding in between) before it
/// gives up: the VMM sends the handle before it first blocks, so the first try succeeds.
pub const RECEIVE_TRIES: u32 = 100;
