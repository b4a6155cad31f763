//! The VCPU server core: Zircon's guest / VCPU / port semantics (V3, arm64) over a kernel
//! [`Backend`].
//!
//! This crate is pure logic: it owns the object tables and the per-client handle tables, checks
//! every request in Zircon's order, and tells the backend what the kernel must do. The seL4
//! component (package `vcpu-server-sel4`, `vcpu-server/sel4/`) implements [`Backend`] and the
//! transport (badged endpoint, saved reply capabilities); host tests drive it with a
//! deterministic fake backend. This crate does not depend on the seL4 bindings.
//!
//! # Model
//! - Clients are [`ClientId`]s, each with one handle table; threads are [`ThreadId`]s (unique
//!   system-wide). The transport derives both from the sender's badge, so they are unforgeable.
//! - [`Server::handle_request`] answers one request. Its [`Response`] carries the caller's
//!   [`Outcome`] (a reply, or [`Outcome::Deferred`]: the caller stays blocked and the transport
//!   keeps its reply capability keyed by its [`ThreadId`]) and [`Completions`]: replies for
//!   *other*, previously deferred threads. Only `vcpu_enter` and `port_wait(ZX_TIME_INFINITE)`
//!   defer.
//! - Guest exits arrive as seL4 fault messages on the VCPU's badged fault endpoint; the transport
//!   decodes them with [`exit::decode`] and passes them to [`Server::handle_guest_exit`].
//!
//! # Invariants
//! - No rights literal appears in a handler: every handle argument is looked up by one function
//!   that consults [`caps::Operation::handle_args`] (BAD_HANDLE, then WRONG_TYPE, then
//!   ACCESS_DENIED; an optional argument given as 0 is absent).
//! - Handle values are `slot << 18 | generation << 2 | 0b11` ([`handle::encode`]); a value
//!   without the low bits `0b11`, of another client, of a closed slot or of an older generation is
//!   `ZX_ERR_BAD_HANDLE`. The first handle installed in a fresh table is [`handle::FIRST_HANDLE`].
//! - A thread owns at most one VCPU; a deferred `vcpu_enter` is completed exactly once; a frame
//!   capability handed to the server is either recorded in a mapping or given back to the backend
//!   for deletion.
//! - Fixed capacities (the constants below), no allocator, no panics on any input: capacity
//!   exhaustion is a status.
//! - Every object is charged to the client that created it, within that client's [`Limits`];
//!   the limits of all clients together fit the capacities, so one client's exhaustion is
//!   never another's (see [`quota`]).
//!
//! # Decisions where Zircon gives no exact answer (see the module docs for details)
//! - Object capacities are exhausted with `ZX_ERR_NO_MEMORY` (Zircon's allocation failure),
//!   except the 254-guest VMID limit and the 7-VCPU VPID limit (`ZX_ERR_NO_RESOURCES`).
//! - A request from a client never added behaves as if the client had an empty handle table with
//!   no free slots: lookups fail with BAD_HANDLE, installs with NO_MEMORY.
//! - A request from a thread that still has a deferred call comes from that thread after a
//!   restart or from a sibling thread using its badge: the old call is completed with
//!   `ZX_ERR_CANCELED` (a pending `vcpu_enter` stops the guest, as a kick would, but keeps the
//!   kick flag), so a sibling can end another thread's call but never leave it unanswered.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod backend;
pub mod exit;
mod guest;
mod guest_exit;
pub mod handle;
mod handle_ops;
mod object;
mod port;
pub mod quota;
mod run;
mod server;
mod vcpu;
pub mod vgic;

pub use backend::{Backend, GuestRegs, MapPerms, RegSet, Resume, SysReg, VcpuKey};
pub use exit::GuestExit;
pub use quota::{Kind, Limits, Usage};
pub use server::{Completion, Completions, ObjectCounts, Outcome, Response, Server};
pub use vcpu_protocol::{ClientId, HandleValue, Sender, Status, ThreadId};

/// Maximum number of clients ([`Server::add_client_with`]); their [`Limits`] must also fit
/// the server's capacities together.
pub const MAX_CLIENTS: usize = 16;
/// The largest handle table a client may have ([`Limits::handles`] is at most this).
pub const MAX_HANDLES_PER_CLIENT: usize = 256;
/// Handles one sender may have waiting in one client's inbox (`handle_send` beyond is
/// `ZX_ERR_SHOULD_WAIT`): each sender has its own share, so no sender can fill an inbox for the
/// others.
pub const INBOX_PER_SENDER: usize = 8;
/// Handles that may wait in one client's inbox: a share for every possible sender.
pub const INBOX_CAPACITY: usize = INBOX_PER_SENDER * MAX_CLIENTS;
/// Live resource objects.
pub const MAX_RESOURCES: usize = 16;
/// Live guests: Zircon V3 arm64 VMIDs 1..=254 (`ZX_ERR_NO_RESOURCES` beyond).
pub const MAX_GUESTS: usize = 254;
/// VCPUs per guest: Zircon V3 arm64 VPIDs 1..=7 (`ZX_ERR_NO_RESOURCES` beyond).
pub const MAX_VCPUS_PER_GUEST: usize = 7;
/// VCPU capacity of the server, shared out by the clients' [`Limits::vcpus`].
pub const MAX_VCPUS: usize = 64;
/// Trap capacity of the server, shared out by the clients' [`Limits::traps`].
pub const MAX_TRAPS: usize = 256;
/// Mapping capacity of the server, shared out by the clients' [`Limits::mappings`]. Use large
/// frames for guest RAM.
pub const MAX_MAPPINGS: usize = 1024;
/// Port capacity of the server, shared out by the clients' [`Limits::ports`].
pub const MAX_PORTS: usize = 32;
/// User packets (`zx_port_queue`) one port can hold (`ZX_ERR_SHOULD_WAIT` beyond). BELL packets
/// do not count: each BELL trap has its own pool of [`BELL_PACKETS_PER_TRAP`].
pub const PORT_QUEUE_CAPACITY: usize = 32;
/// BELL traps in the whole server: each owns a pool of [`BELL_PACKETS_PER_TRAP`] packets
/// (4 KiB of server memory), so their number is bounded apart from [`MAX_TRAPS`];
/// `zx_guest_set_trap(BELL)` beyond is `ZX_ERR_NO_MEMORY` (Zircon: the pool's allocation fails).
pub const MAX_BELL_POOLS: usize = 64;
/// BELL packets one trap may have queued at once (Zircon's `kMaxPacketsPerRange`).
pub const BELL_PACKETS_PER_TRAP: usize = 256;
/// Threads that may block in `port_wait` on one port (`ZX_ERR_NO_RESOURCES` beyond).
pub const MAX_PORT_WAITERS: usize = 8;
/// List registers the server tracks per VCPU (the backend's count is clamped to this).
pub const MAX_LIST_REGISTERS: usize = 16;
/// Interrupt vectors per VCPU (Zircon's `kNumInterrupts`).
pub const NUM_VECTORS: usize = 256;
/// Completions one call can produce: the caller's own earlier call cancelled (a sibling used
/// its badge), plus closing a port's last handle, which wakes every waiter and every VCPU
/// blocked on it.
pub const MAX_COMPLETIONS: usize = 1 + MAX_PORT_WAITERS + MAX_VCPUS;

/// `ZX_HANDLE_INVALID`.
pub const HANDLE_INVALID: HandleValue = vcpu_protocol::HANDLE_INVALID;
