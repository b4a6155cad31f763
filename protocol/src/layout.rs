//! Zircon's public struct layouts (arm64), byte for byte, with compile-time size checks.
//!
//! `zx_vcpu_state_t` (264 bytes), `zx_vcpu_io_t` (8), `zx_port_packet_t` (48) and the guest packet
//! payloads (32 each). The `zx_packet_guest_vcpu_t` layout is the V3 one (type at offset 0).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `zx_vcpu_state_t` on arm64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuState {
    /// x0..x30.
    pub x: [u64; 31],
    /// The guest's SP_EL1.
    pub sp: u64,
    /// Only the NZCV flags (bits 31:28) are meaningful.
    pub cpsr: u32,
    /// Zero.
    pub padding1: [u8; 4],
}

/// `zx_vcpu_io_t` (x86 port I/O; on arm64 writing it is always `ZX_ERR_INVALID_ARGS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuIo {
    /// 1, 2 or 4.
    pub access_size: u8,
    /// Zero.
    pub padding1: [u8; 3],
    /// The data, low bytes first.
    pub data: [u8; 4],
}

/// `zx_port_packet_t`: 48 bytes, the payload interpreted according to `packet_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PortPacket {
    /// The trap key for trap packets, 0 otherwise.
    pub key: u64,
    /// `ZX_PKT_TYPE_*`.
    pub packet_type: u32,
    /// Always 0 for guest packets.
    pub status: i32,
    /// The type-specific payload (one of the `PacketGuest*` structs).
    pub payload: [u8; 32],
}

/// `zx_packet_guest_bell_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PacketGuestBell {
    /// Guest-physical address written.
    pub addr: u64,
    /// Zero.
    pub reserved: [u64; 3],
}

/// `zx_packet_guest_mem_t` on arm64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PacketGuestMem {
    /// Exact guest-physical address accessed.
    pub addr: u64,
    /// 1, 2, 4 or 8.
    pub access_size: u8,
    /// Nonzero if a load sign-extends.
    pub sign_extend: u8,
    /// Register number 0..=31 (31 = XZR).
    pub xt: u8,
    /// Nonzero for a read (load).
    pub read: u8,
    /// Zero.
    pub padding1: [u8; 4],
    /// For writes, the value stored (masked to the access size); 0 for reads.
    pub data: u64,
    /// Zero.
    pub reserved: u64,
}

/// `zx_packet_guest_vcpu_t`, V3 layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PacketGuestVcpu {
    /// `ZX_PKT_GUEST_VCPU_INTERRUPT` (0), `_STARTUP` (1) or `_EXIT` (2).
    pub vcpu_type: u32,
    /// Zero.
    pub padding1: [u8; 4],
    /// interrupt: `mask`; startup: `id` (target MPIDR); exit: `retcode`.
    pub word0: u64,
    /// interrupt: `vector` in the low byte; startup: `entry`.
    pub word1: u64,
    /// Zero.
    pub reserved: u64,
}

/// `ZX_PKT_TYPE_USER`: a packet queued by `zx_port_queue`.
pub const PKT_TYPE_USER: u32 = 0x00;
/// `ZX_PKT_TYPE_GUEST_BELL`.
pub const PKT_TYPE_GUEST_BELL: u32 = 0x03;
/// `ZX_PKT_TYPE_GUEST_MEM`.
pub const PKT_TYPE_GUEST_MEM: u32 = 0x04;
/// `ZX_PKT_TYPE_GUEST_IO`.
pub const PKT_TYPE_GUEST_IO: u32 = 0x05;
/// `ZX_PKT_TYPE_GUEST_VCPU`.
pub const PKT_TYPE_GUEST_VCPU: u32 = 0x06;
/// `ZX_PKT_GUEST_VCPU_INTERRUPT`.
pub const PKT_GUEST_VCPU_INTERRUPT: u32 = 0;
/// `ZX_PKT_GUEST_VCPU_STARTUP`.
pub const PKT_GUEST_VCPU_STARTUP: u32 = 1;

/// `ZX_GUEST_TRAP_BELL`.
pub const GUEST_TRAP_BELL: u32 = 0;
/// `ZX_GUEST_TRAP_MEM`.
pub const GUEST_TRAP_MEM: u32 = 1;
/// `ZX_GUEST_TRAP_IO`.
pub const GUEST_TRAP_IO: u32 = 2;
/// `ZX_VCPU_STATE`.
pub const VCPU_STATE: u32 = 0;
/// `ZX_VCPU_IO`.
pub const VCPU_IO: u32 = 1;
/// `ZX_GUEST_OPT_NORMAL`.
pub const GUEST_OPT_NORMAL: u32 = 0;
/// `ZX_GUEST_OPT_DIRECT` (x86 only; `ZX_ERR_NOT_SUPPORTED` here).
pub const GUEST_OPT_DIRECT: u32 = 1;
/// `ZX_INFO_VCPU`.
pub const INFO_VCPU: u32 = 32;
/// `ZX_INFO_VCPU_FLAG_KICKED`.
pub const INFO_VCPU_FLAG_KICKED: u32 = 1;
/// `ZX_VM_PERM_READ`.
pub const VM_PERM_READ: u32 = 1 << 0;
/// `ZX_VM_PERM_WRITE`.
pub const VM_PERM_WRITE: u32 = 1 << 1;
/// `ZX_VM_PERM_EXECUTE`.
pub const VM_PERM_EXECUTE: u32 = 1 << 2;
/// `ZX_VM_SPECIFIC`: map at exactly `vmar_offset` (required for guest VMARs here).
pub const VM_SPECIFIC: u32 = 1 << 10;
/// `ZX_RSRC_KIND_SYSTEM`.
pub const RSRC_KIND_SYSTEM: u32 = 5;
/// `ZX_RSRC_SYSTEM_HYPERVISOR_BASE`.
pub const RSRC_SYSTEM_HYPERVISOR_BASE: u64 = 0;
/// `ZX_TIME_INFINITE`.
pub const TIME_INFINITE: i64 = i64::MAX;
/// Size of the guest-physical address space on arm64 (2^36 bytes).
pub const GUEST_PHYS_SIZE: u64 = 1 << 36;

const _: () = assert!(size_of::<VcpuState>() == 264);
const _: () = assert!(size_of::<VcpuIo>() == 8);
const _: () = assert!(size_of::<PortPacket>() == 48);
const _: () = assert!(size_of::<PacketGuestBell>() == 32);
const _: () = assert!(size_of::<PacketGuestMem>() == 32);
const _: () = assert!(size_of::<PacketGuestVcpu>() == 32);
