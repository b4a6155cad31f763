//! Request and reply messages: the fixed structs in the message words, and the typed enums the
//! server dispatches on.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::layout::{PortPacket, VcpuState};
use crate::{HandleValue, Status};

/// `guest_create` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GuestCreateReq {
    /// Hypervisor resource handle.
    pub resource: HandleValue,
    /// `ZX_GUEST_OPT_*`.
    pub options: u32,
}

/// `guest_set_trap` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GuestSetTrapReq {
    /// Guest handle.
    pub guest: HandleValue,
    /// `ZX_GUEST_TRAP_*`.
    pub kind: u32,
    /// Guest-physical start.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// Port handle, or `ZX_HANDLE_INVALID`.
    pub port: HandleValue,
    /// Zero.
    pub reserved: u32,
    /// Key reported in packets.
    pub key: u64,
}

/// `vcpu_create` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuCreateReq {
    /// Guest handle.
    pub guest: HandleValue,
    /// Must be 0.
    pub options: u32,
    /// Guest-physical entry point.
    pub entry: u64,
}

/// A request whose only argument is one handle (`vcpu_enter`, `vcpu_kick`, `handle_close`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HandleReq {
    /// The handle.
    pub handle: HandleValue,
    /// Zero.
    pub reserved: u32,
}

/// `vcpu_interrupt` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuInterruptReq {
    /// VCPU handle.
    pub vcpu: HandleValue,
    /// GIC INTID.
    pub vector: u32,
}

/// `vcpu_read_state` request, and the header of `vcpu_write_state` (whose buffer follows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuStateReq {
    /// VCPU handle.
    pub vcpu: HandleValue,
    /// `ZX_VCPU_STATE` or `ZX_VCPU_IO`.
    pub kind: u32,
    /// The caller's buffer size in bytes.
    pub buffer_size: u32,
    /// Zero.
    pub reserved: u32,
}

/// `object_get_info` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ObjectGetInfoReq {
    /// The object's handle.
    pub handle: HandleValue,
    /// `ZX_INFO_*` topic (only `ZX_INFO_VCPU` is served).
    pub topic: u32,
    /// The caller's buffer size in bytes.
    pub buffer_size: u32,
    /// Zero.
    pub reserved: u32,
}

/// `handle_duplicate` / `handle_replace` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HandleRightsReq {
    /// Source handle.
    pub handle: HandleValue,
    /// Requested rights, or `ZX_RIGHT_SAME_RIGHTS`.
    pub rights: u32,
}

/// `handle_send` request: move `handle` into the inbox of client `to_client`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HandleSendReq {
    /// The handle to move (needs TRANSFER).
    pub handle: HandleValue,
    /// Receiving client's id (the manifest's client index).
    pub to_client: u32,
}

/// `port_create` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PortCreateReq {
    /// Must be 0.
    pub options: u32,
    /// Zero.
    pub reserved: u32,
}

/// `port_wait` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PortWaitReq {
    /// Port handle.
    pub port: HandleValue,
    /// Zero.
    pub reserved: u32,
    /// `ZX_TIME_INFINITE` blocks; any other value polls (the server keeps no clock).
    pub deadline: i64,
}

/// `vmar_map` request on a guest VMAR; the frame capability travels as the message's extra cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VmarMapReq {
    /// Guest VMAR handle.
    pub vmar: HandleValue,
    /// `ZX_VM_PERM_*` | `ZX_VM_SPECIFIC`.
    pub options: u32,
    /// Guest-physical address.
    pub vmar_offset: u64,
    /// Length in bytes: the frame's size.
    pub len: u64,
}

/// `port_queue` request: the packet to queue (its type is set to `ZX_PKT_TYPE_USER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PortQueueReq {
    /// Port handle.
    pub port: HandleValue,
    /// Zero.
    pub reserved: u32,
    /// `zx_port_packet_t` with the user payload.
    pub packet: PortPacket,
}

/// `vmar_unmap` request on a guest VMAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VmarUnmapReq {
    /// Guest VMAR handle.
    pub vmar: HandleValue,
    /// Zero.
    pub reserved: u32,
    /// Guest-physical start.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
}

/// `vmar_protect` request on a guest VMAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VmarProtectReq {
    /// Guest VMAR handle.
    pub vmar: HandleValue,
    /// `ZX_VM_PERM_*`.
    pub options: u32,
    /// Guest-physical start.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
}

/// `vmar_map_frames` request: `count` frames of `len` bytes, from slots `first_slot..` of the
/// CNode capability that travels as the message's extra cap, mapped back to back from
/// `vmar_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VmarMapFramesReq {
    /// Guest VMAR handle.
    pub vmar: HandleValue,
    /// `ZX_VM_PERM_*` | `ZX_VM_SPECIFIC`.
    pub options: u32,
    /// Guest-physical address of the first frame.
    pub vmar_offset: u64,
    /// Size of each frame in bytes.
    pub len: u64,
    /// Slot of the first frame in the sent CNode (resolved at depth 64).
    pub first_slot: u64,
    /// Number of frames.
    pub count: u32,
    /// Zero.
    pub reserved: u32,
}

/// `guest_create` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GuestCreateReply {
    /// New guest handle.
    pub guest: HandleValue,
    /// New guest VMAR handle.
    pub vmar: HandleValue,
}

/// A reply carrying one new handle (`vcpu_create`, `handle_duplicate`, `handle_replace`,
/// `port_create`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HandleReply {
    /// The new handle.
    pub handle: HandleValue,
    /// Zero.
    pub reserved: u32,
}

/// `handle_receive` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ReceivedHandle {
    /// The handle, now in the caller's table.
    pub handle: HandleValue,
    /// Its `zx_obj_type_t`.
    pub obj_type: u32,
    /// Its rights.
    pub rights: u32,
    /// The sending client's id.
    pub from_client: u32,
}

/// `object_get_info(ZX_INFO_VCPU)` reply: `zx_info_vcpu_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct InfoVcpu {
    /// `ZX_INFO_VCPU_FLAG_*`.
    pub flags: u32,
    /// Zero (not part of `zx_info_vcpu_t`; pads the message word).
    pub reserved: u32,
}

/// `vmar_map` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MapReply {
    /// Guest-physical address mapped.
    pub mapped_addr: u64,
}

/// A decoded request: what the server dispatches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `zx_guest_create`.
    GuestCreate(GuestCreateReq),
    /// `zx_guest_set_trap`.
    GuestSetTrap(GuestSetTrapReq),
    /// `zx_vcpu_create`.
    VcpuCreate(VcpuCreateReq),
    /// `zx_vcpu_enter`.
    VcpuEnter(HandleReq),
    /// `zx_vcpu_kick`.
    VcpuKick(HandleReq),
    /// `zx_vcpu_interrupt`.
    VcpuInterrupt(VcpuInterruptReq),
    /// `zx_vcpu_read_state`.
    VcpuReadState(VcpuStateReq),
    /// `zx_vcpu_write_state`: the header and exactly `buffer_size` bytes of buffer.
    VcpuWriteState(VcpuStateReq, &'a [u8]),
    /// `zx_object_get_info`.
    ObjectGetInfo(ObjectGetInfoReq),
    /// `zx_handle_duplicate`.
    HandleDuplicate(HandleRightsReq),
    /// `zx_handle_replace`.
    HandleReplace(HandleRightsReq),
    /// `zx_handle_close`.
    HandleClose(HandleReq),
    /// Hand a handle to another client.
    HandleSend(HandleSendReq),
    /// Take a handle another client handed over.
    HandleReceive,
    /// `zx_port_create`.
    PortCreate(PortCreateReq),
    /// `zx_port_wait`.
    PortWait(PortWaitReq),
    /// `zx_vmar_map` (a frame capability came with the message).
    VmarMap(VmarMapReq),
    /// `zx_port_queue`.
    PortQueue(PortQueueReq),
    /// `zx_vmar_unmap`.
    VmarUnmap(VmarUnmapReq),
    /// `zx_vmar_protect`.
    VmarProtect(VmarProtectReq),
    /// Map many frames from a sent CNode (a CNode capability came with the message).
    VmarMapFrames(VmarMapFramesReq),
}

/// The payload of a successful reply.
// One reply exists per message, on the stack, and no_std has no `Box`: the size of the largest
// variant (`State`, 264 bytes) is the price of a plain value type.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyPayload {
    /// No payload (`guest_set_trap`, `vcpu_kick`, `vcpu_interrupt`, `vcpu_write_state`,
    /// `handle_close`, `handle_send`, `port_queue`, `vmar_unmap`, `vmar_protect`).
    Empty,
    /// `guest_create`.
    GuestCreate(GuestCreateReply),
    /// A new handle.
    Handle(HandleReply),
    /// `vcpu_enter` / `port_wait`: a port packet.
    Packet(PortPacket),
    /// `vcpu_read_state`.
    State(VcpuState),
    /// `object_get_info(ZX_INFO_VCPU)`.
    InfoVcpu(InfoVcpu),
    /// `handle_receive`.
    Received(ReceivedHandle),
    /// `vmar_map`.
    Map(MapReply),
}

/// A reply: a status, and on `ZX_OK` the payload.
pub type Reply = Result<ReplyPayload, Status>;
