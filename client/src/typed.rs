//! Typed conveniences over the raw calls: whole `zx_vcpu_state_t`/`zx_vcpu_io_t` values instead
//! of byte buffers, and port packets decoded by type.

use vcpu_protocol::HandleValue;
use vcpu_protocol::layout::INFO_VCPU;
use vcpu_protocol::layout::{
    PKT_TYPE_GUEST_BELL, PKT_TYPE_GUEST_MEM, PKT_TYPE_GUEST_VCPU, PacketGuestBell, PacketGuestMem,
    PacketGuestVcpu, PortPacket, VCPU_IO, VCPU_STATE, VcpuIo, VcpuState,
};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use crate::{Status, Transport, zx_object_get_info, zx_vcpu_read_state, zx_vcpu_write_state};

/// `zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, ..)` into a [`VcpuState`].
pub fn vcpu_read_state<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
) -> Result<VcpuState, Status> {
    let mut state = VcpuState::new_zeroed();
    zx_vcpu_read_state(t, vcpu, VCPU_STATE, state.as_mut_bytes()).ok()?;
    Ok(state)
}

/// `zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, state)`.
pub fn vcpu_write_state<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    state: &VcpuState,
) -> Status {
    zx_vcpu_write_state(t, vcpu, VCPU_STATE, state.as_bytes())
}

/// `zx_vcpu_write_state(vcpu, ZX_VCPU_IO, io)` (always `ZX_ERR_INVALID_ARGS` on arm64, as in
/// Zircon; kept for API completeness).
pub fn vcpu_write_io<T: Transport + ?Sized>(t: &mut T, vcpu: HandleValue, io: &VcpuIo) -> Status {
    zx_vcpu_write_state(t, vcpu, VCPU_IO, io.as_bytes())
}

/// `zx_object_get_info(vcpu, ZX_INFO_VCPU)`: the `zx_info_vcpu_t` flags
/// (`ZX_INFO_VCPU_FLAG_KICKED` while a kick is pending).
pub fn vcpu_info_flags<T: Transport + ?Sized>(t: &mut T, vcpu: HandleValue) -> Result<u32, Status> {
    let mut flags = [0u8; 4];
    zx_object_get_info(t, vcpu, INFO_VCPU, &mut flags, None, None).ok()?;
    Ok(u32::from_le_bytes(flags))
}

/// A port packet's payload, by `packet_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestPacket {
    /// `ZX_PKT_TYPE_GUEST_BELL`.
    Bell(PacketGuestBell),
    /// `ZX_PKT_TYPE_GUEST_MEM`.
    Mem(PacketGuestMem),
    /// `ZX_PKT_TYPE_GUEST_VCPU`.
    Vcpu(PacketGuestVcpu),
    /// Any other type (its value).
    Other(u32),
}

/// Interprets a packet's payload according to its type.
pub fn guest_packet(packet: &PortPacket) -> GuestPacket {
    // Every payload struct is exactly the 32-byte union, so these reads cannot fail.
    fn read<P: FromBytes>(packet: &PortPacket) -> Option<P> {
        P::read_from_bytes(&packet.payload).ok()
    }
    let decoded = match packet.packet_type {
        PKT_TYPE_GUEST_BELL => read(packet).map(GuestPacket::Bell),
        PKT_TYPE_GUEST_MEM => read(packet).map(GuestPacket::Mem),
        PKT_TYPE_GUEST_VCPU => read(packet).map(GuestPacket::Vcpu),
        _ => None,
    };
    decoded.unwrap_or(GuestPacket::Other(packet.packet_type))
}
