//! Small, self-contained seL4 bindings for aarch64 with hypervisor support (one core), for the
//! four supported kernel configurations (debug, release, MCS, MCS release: see [`Config`]).
//!
//! Written from the facts in the project's seL4 digest and the installed libsel4 headers; no
//! libsel4 or rust-sel4 code is used. `sel4-build` checks every number here against an
//! installed kernel of each configuration and refuses kernels configured differently.
//!
//! # Layers
//! - **Pure data** (host-tested): [`MessageInfo`], [`CapRights`], [`CNodeCapData`], [`Error`],
//!   [`ObjectType`] and sizes, [`VmAttributes`], [`UserContext`], [`VcpuReg`], [`Fault`],
//!   [`BootInfo`], the initial cap slots ([`init_slot`], [`init`]).
//! - **Requests**: each invocation is built by a pure function on [`Request`] (label, words,
//!   cap arguments) and tested word for word against libsel4's generated marshalling.
//! - **Typed wrappers**: methods on [`Cap<T>`] (e.g. `Cap<Untyped>::untyped_retype`), each
//!   documented "Corresponds to `seL4_...`", hand the request to [`IpcBuffer::invoke`].
//! - **Trap**: `arch` holds the crate's only `unsafe` code (the `svc #0` asm and turning
//!   kernel-given addresses into references). On the host it routes syscalls to an optional
//!   fake kernel ([`host::set_syscall_handler`]), so the wrappers can be tested end to end.
//!
//! # How the IPC buffer is reached: an explicit context
//! Every operation that can make the kernel read or write the IPC buffer takes
//! `ipc: &mut IpcBuffer`. The single `&'static mut IpcBuffer` of a thread comes from
//! [`IpcBuffer::from_addr`] (unsafe, once; the runtime does it for the root task).
//!
//! Trade-off: one extra argument per call, in exchange for no global state, no hidden
//! aliasing of kernel-written memory (the borrow checker proves no other reference is live
//! while the kernel writes), no re-entrancy rules, and threads of one address space each using
//! their own buffer without thread-local storage. A global pointer set once would shorten
//! call sites but needs a run-time borrow flag (or `unsafe` at each use) and is wrong as soon
//! as a second thread shares the address space. Syscalls that never touch the buffer
//! ([`Cap::signal`](Cap#method.signal), [`yield_now`], [`debug_put_char`]) take no context.
//!
//! # Message model
//! For plain IPC the whole message lives in [`IpcBuffer::msg`]: sends move msg[0..4] into
//! x2..x5, receives copy x2..x5 back, so `msg()[..info.length()]` is always the message.
#![no_std]
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

mod abi;
mod arch;
mod bootinfo;
mod cap;
mod config;
mod error;
mod fault;
mod invocation;
mod ipc_buffer;
mod message;
pub mod names;
mod object;
mod user_context;

pub use abi::{InvocationLabel, Syscall};
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub use arch::host;
pub use arch::{
    SyscallRegs, debug_halt, debug_put_char, fault_on_null_cap, suspend_without_ipc_buffer,
    yield_now,
};
pub use bootinfo::{
    BOOT_INFO_FRAME_SIZE, BOOT_INFO_SIZE, BootInfo, BootInfoError, EXTRA_ID_FDT, EXTRA_ID_PADDING,
    ExtraChunk, ExtraChunks, MAX_BOOTINFO_UNTYPEDS, SlotRegion, UNTYPED_DESC_SIZE, UntypedDesc,
    boot_info_size, offset as bootinfo_offset,
};
pub use cap::{Badge, CPtr, Cap, CapType, FrameType, NULL_CAP, cap_type, init};
pub use config::{CONFIG, Config};
pub use error::{Error, NUM_ERRORS, Result};
pub use fault::{
    Fault, cap_fault, label as fault_label, unknown_syscall, user_exception, vcpu_fault,
    vgic_maintenance, vm_fault, vppi_event,
};
pub use invocation::{
    CNodeSlotOp, CacheOp, IrqTrigger, MAX_REQUEST_WORDS, MAX_RESPONSE_WORDS, Request, Response,
    SmcArgs, VirqInjection,
};
pub use ipc_buffer::IpcBuffer;
pub use message::{
    CNodeCapData, CapRights, FAST_MESSAGE_REGISTERS, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH,
    MessageInfo,
};
pub use object::{
    ASID_POOL_BITS, ASID_POOL_INDEX_BITS, BADGE_BITS, ENDPOINT_BITS, HUGE_PAGE_BITS,
    IPC_BUFFER_SIZE_BITS, LARGE_PAGE_BITS, MAX_UNTYPED_BITS, MIN_SCHED_CONTEXT_BITS,
    MIN_UNTYPED_BITS, NOTIFICATION_BITS, NUM_ASID_POOLS_BITS, OBJECT_TYPE_COUNT, ObjectType,
    PAGE_BITS, PAGE_TABLE_BITS, PAGE_TABLE_INDEX_BITS, REPLY_BITS, SLOT_BITS, TCB_BITS, USER_TOP,
    VCPU_BITS, VSPACE_BITS, VSPACE_INDEX_BITS, VmAttributes, init_slot, notification_bits,
    object_type_count,
};
pub use user_context::{USER_CONTEXT_WORDS, UserContext, VCPU_REG_NUM, VcpuReg};

/// PSCI `SYSTEM_OFF` function id; `init::SMC.smc_call(ipc, &[PSCI_SYSTEM_OFF, 0, ..])` powers
/// QEMU off (exit status 0).
pub const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

/// Depth that resolves a slot index in a single-level CNode whose guard makes radix + guard
/// size = 64, such as the root task's CNode.
pub const WORD_DEPTH: u8 = 64;
