//! The `zx_*` calls, one request each. See the crate documentation for the shared rules.

use vcpu_protocol::layout::PortPacket;
use vcpu_protocol::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReq, HandleRightsReq, HandleSendReq, ObjectGetInfoReq,
    PortCreateReq, PortQueueReq, PortWaitReq, ReceivedHandle, VcpuCreateReq, VcpuInterruptReq,
    VcpuStateReq, VmarMapFramesReq, VmarMapReq, VmarProtectReq, VmarUnmapReq,
};
use vcpu_protocol::{HandleValue, ReplyPayload, Request, Status};
use zerocopy::IntoBytes;

use crate::{Rights, Transport, roundtrip, wire_size};

/// The reply had a payload of the wrong shape; `decode_reply` already rules this out, so this
/// only keeps the matches total.
const MALFORMED: Status = Status::ERR_INTERNAL;

fn status_of(reply: Result<ReplyPayload, Status>) -> Status {
    match reply {
        Ok(_) => Status::OK,
        Err(s) => s,
    }
}

fn new_handle(reply: Result<ReplyPayload, Status>) -> Result<HandleValue, Status> {
    match reply? {
        ReplyPayload::Handle(h) => Ok(h.handle),
        _ => Err(MALFORMED),
    }
}

fn one_handle(handle: HandleValue) -> HandleReq {
    HandleReq {
        handle,
        reserved: 0,
    }
}

/// `zx_guest_create(resource, options, &guest, &vmar)`: a guest and its guest-physical VMAR.
pub fn zx_guest_create<T: Transport + ?Sized>(
    t: &mut T,
    resource: HandleValue,
    options: u32,
) -> Result<(HandleValue, HandleValue), Status> {
    let req = Request::GuestCreate(GuestCreateReq { resource, options });
    match roundtrip(t, &req, None)? {
        ReplyPayload::GuestCreate(r) => Ok((r.guest, r.vmar)),
        _ => Err(MALFORMED),
    }
}

/// `zx_guest_set_trap(guest, kind, addr, size, port, key)`. `port` may be
/// [`crate::HANDLE_INVALID`].
pub fn zx_guest_set_trap<T: Transport + ?Sized>(
    t: &mut T,
    guest: HandleValue,
    kind: u32,
    addr: u64,
    size: u64,
    port: HandleValue,
    key: u64,
) -> Status {
    let req = Request::GuestSetTrap(GuestSetTrapReq {
        guest,
        kind,
        addr,
        size,
        port,
        reserved: 0,
        key,
    });
    status_of(roundtrip(t, &req, None))
}

/// `zx_vcpu_create(guest, options, entry, &vcpu)`. The VCPU is bound to the calling thread.
pub fn zx_vcpu_create<T: Transport + ?Sized>(
    t: &mut T,
    guest: HandleValue,
    options: u32,
    entry: u64,
) -> Result<HandleValue, Status> {
    let req = Request::VcpuCreate(VcpuCreateReq {
        guest,
        options,
        entry,
    });
    new_handle(roundtrip(t, &req, None))
}

/// `zx_vcpu_enter(vcpu, &packet)`: runs the guest until an exit the caller must handle (blocks).
/// `packet` is written only on `ZX_OK`.
pub fn zx_vcpu_enter<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    packet: &mut PortPacket,
) -> Status {
    let req = Request::VcpuEnter(one_handle(vcpu));
    packet_reply(roundtrip(t, &req, None), packet)
}

fn packet_reply(reply: Result<ReplyPayload, Status>, packet: &mut PortPacket) -> Status {
    match reply {
        Ok(ReplyPayload::Packet(p)) => {
            *packet = p;
            Status::OK
        }
        Ok(_) => MALFORMED,
        Err(s) => s,
    }
}

/// `zx_vcpu_kick(vcpu)`: makes the current or next `zx_vcpu_enter` return `ZX_ERR_CANCELED`.
pub fn zx_vcpu_kick<T: Transport + ?Sized>(t: &mut T, vcpu: HandleValue) -> Status {
    status_of(roundtrip(t, &Request::VcpuKick(one_handle(vcpu)), None))
}

/// `zx_vcpu_interrupt(vcpu, vector)`: raises GIC INTID `vector` in the guest.
pub fn zx_vcpu_interrupt<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    vector: u32,
) -> Status {
    let req = Request::VcpuInterrupt(VcpuInterruptReq { vcpu, vector });
    status_of(roundtrip(t, &req, None))
}

/// `zx_vcpu_read_state(vcpu, kind, buffer, buffer.len())`. The size is sent as given (the
/// server wants exactly `size_of::<VcpuState>()` for `ZX_VCPU_STATE`); `buffer` is written only
/// on `ZX_OK`.
pub fn zx_vcpu_read_state<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    kind: u32,
    buffer: &mut [u8],
) -> Status {
    let req = Request::VcpuReadState(VcpuStateReq {
        vcpu,
        kind,
        buffer_size: wire_size(buffer.len()),
        reserved: 0,
    });
    match roundtrip(t, &req, None) {
        Ok(ReplyPayload::State(state)) => {
            let bytes = state.as_bytes();
            // The server answers OK only for a buffer of exactly this size.
            if buffer.len() != bytes.len() {
                return MALFORMED;
            }
            buffer.copy_from_slice(bytes);
            Status::OK
        }
        Ok(_) => MALFORMED,
        Err(s) => s,
    }
}

/// `zx_vcpu_write_state(vcpu, kind, buffer, buffer.len())`. The size is sent as given and checked
/// by the server; only a buffer larger than one message can carry (944 bytes) is refused
/// locally, with `ZX_ERR_INVALID_ARGS` (Zircon would refuse it too: no state is that large).
pub fn zx_vcpu_write_state<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    kind: u32,
    buffer: &[u8],
) -> Status {
    match Request::vcpu_write_state(vcpu, kind, buffer) {
        Ok(req) => status_of(roundtrip(t, &req, None)),
        Err(s) => s,
    }
}

/// `zx_object_get_info(handle, topic, buffer, buffer.len(), actual, avail)`. Only `ZX_INFO_VCPU`
/// is served: on `ZX_OK`, `buffer` starts with the `zx_info_vcpu_t` (`u32 flags`) and
/// `actual`/`avail` are 1. The size is sent as given; nothing is written on error.
pub fn zx_object_get_info<T: Transport + ?Sized>(
    t: &mut T,
    handle: HandleValue,
    topic: u32,
    buffer: &mut [u8],
    actual: Option<&mut usize>,
    avail: Option<&mut usize>,
) -> Status {
    let req = Request::ObjectGetInfo(ObjectGetInfoReq {
        handle,
        topic,
        buffer_size: wire_size(buffer.len()),
        reserved: 0,
    });
    match roundtrip(t, &req, None) {
        Ok(ReplyPayload::InfoVcpu(info)) => {
            let flags = info.flags.to_le_bytes();
            let Some(dst) = buffer.get_mut(..flags.len()) else {
                // The server answers OK only for a buffer that holds the record.
                return MALFORMED;
            };
            dst.copy_from_slice(&flags);
            for count in [actual, avail].into_iter().flatten() {
                *count = 1;
            }
            Status::OK
        }
        Ok(_) => MALFORMED,
        Err(s) => s,
    }
}

/// `zx_handle_duplicate(handle, rights, &out)`. `rights` may be [`Rights::SAME_RIGHTS`].
pub fn zx_handle_duplicate<T: Transport + ?Sized>(
    t: &mut T,
    handle: HandleValue,
    rights: Rights,
) -> Result<HandleValue, Status> {
    let req = Request::HandleDuplicate(HandleRightsReq {
        handle,
        rights: rights.bits(),
    });
    new_handle(roundtrip(t, &req, None))
}

/// `zx_handle_replace(handle, rights, &out)`. `rights` may be [`Rights::SAME_RIGHTS`].
pub fn zx_handle_replace<T: Transport + ?Sized>(
    t: &mut T,
    handle: HandleValue,
    rights: Rights,
) -> Result<HandleValue, Status> {
    let req = Request::HandleReplace(HandleRightsReq {
        handle,
        rights: rights.bits(),
    });
    new_handle(roundtrip(t, &req, None))
}

/// `zx_handle_close(handle)`. Closing [`crate::HANDLE_INVALID`] is sent too (Zircon answers OK).
pub fn zx_handle_close<T: Transport + ?Sized>(t: &mut T, handle: HandleValue) -> Status {
    status_of(roundtrip(
        t,
        &Request::HandleClose(one_handle(handle)),
        None,
    ))
}

/// Moves `handle` (which needs `ZX_RIGHT_TRANSFER`) to client `to_client`'s inbox; it leaves
/// the caller's table. The receiver takes it with [`handle_receive`].
pub fn handle_send<T: Transport + ?Sized>(
    t: &mut T,
    handle: HandleValue,
    to_client: u32,
) -> Status {
    let req = Request::HandleSend(HandleSendReq { handle, to_client });
    status_of(roundtrip(t, &req, None))
}

/// Takes the oldest handle another client sent to the caller: the new handle value in the
/// caller's table, its type, rights and sender.
pub fn handle_receive<T: Transport + ?Sized>(t: &mut T) -> Result<ReceivedHandle, Status> {
    match roundtrip(t, &Request::HandleReceive, None)? {
        ReplyPayload::Received(r) => Ok(r),
        _ => Err(MALFORMED),
    }
}

/// `zx_port_create(options, &port)`: a port for BELL-trap packets.
pub fn zx_port_create<T: Transport + ?Sized>(
    t: &mut T,
    options: u32,
) -> Result<HandleValue, Status> {
    let req = Request::PortCreate(PortCreateReq {
        options,
        reserved: 0,
    });
    new_handle(roundtrip(t, &req, None))
}

/// `zx_port_wait(port, deadline, &packet)`. `ZX_TIME_INFINITE` blocks; any other deadline polls.
/// `packet` is written only on `ZX_OK`.
pub fn zx_port_wait<T: Transport + ?Sized>(
    t: &mut T,
    port: HandleValue,
    deadline: i64,
    packet: &mut PortPacket,
) -> Status {
    let req = Request::PortWait(PortWaitReq {
        port,
        reserved: 0,
        deadline,
    });
    packet_reply(roundtrip(t, &req, None), packet)
}

/// `zx_vmar_map` on a guest VMAR: maps the caller's `frame` (sent as the message's capability)
/// at guest-physical `vmar_offset` with `options` (`ZX_VM_PERM_*` | `ZX_VM_SPECIFIC`); returns
/// the mapped address.
pub fn zx_vmar_map<T: Transport + ?Sized>(
    t: &mut T,
    vmar: HandleValue,
    options: u32,
    vmar_offset: u64,
    frame: T::Cap,
    len: u64,
) -> Result<u64, Status> {
    let req = Request::VmarMap(VmarMapReq {
        vmar,
        options,
        vmar_offset,
        len,
    });
    match roundtrip(t, &req, Some(frame))? {
        ReplyPayload::Map(m) => Ok(m.mapped_addr),
        _ => Err(MALFORMED),
    }
}

/// `zx_port_queue`: queues a user packet on `port` (needs `ZX_RIGHT_WRITE`). The server sets
/// its type to `ZX_PKT_TYPE_USER`; key, status and payload arrive as given.
/// `ZX_ERR_SHOULD_WAIT` when the port holds as many user packets as it can.
pub fn zx_port_queue<T: Transport + ?Sized>(
    t: &mut T,
    port: HandleValue,
    packet: &PortPacket,
) -> Status {
    let req = Request::PortQueue(PortQueueReq {
        port,
        reserved: 0,
        packet: *packet,
    });
    status_of(roundtrip(t, &req, None))
}

/// `zx_vmar_unmap` on a guest VMAR: removes the frames mapped in `[addr, addr + len)` (whole
/// frames only: a range that would split a larger frame is `ZX_ERR_NOT_SUPPORTED`).
pub fn zx_vmar_unmap<T: Transport + ?Sized>(
    t: &mut T,
    vmar: HandleValue,
    addr: u64,
    len: u64,
) -> Status {
    let req = Request::VmarUnmap(VmarUnmapReq {
        vmar,
        reserved: 0,
        addr,
        len,
    });
    status_of(roundtrip(t, &req, None))
}

/// `zx_vmar_protect` on a guest VMAR: gives every frame in `[addr, addr + len)` the
/// permissions `options` (`ZX_VM_PERM_*`), which the VMAR handle's rights must allow.
pub fn zx_vmar_protect<T: Transport + ?Sized>(
    t: &mut T,
    vmar: HandleValue,
    options: u32,
    addr: u64,
    len: u64,
) -> Status {
    let req = Request::VmarProtect(VmarProtectReq {
        vmar,
        options,
        addr,
        len,
    });
    status_of(roundtrip(t, &req, None))
}

/// Maps `count` frames of `len` bytes each into a guest VMAR in one call, back to back from
/// `vmar_offset`, with `options` as for [`zx_vmar_map`]: the frames are the capabilities in
/// slots `first_slot..first_slot + count` (resolved at depth 64) of the CNode `cnode`, sent as
/// the message's capability (the server copies the frames out and never keeps the CNode).
/// All or nothing; returns `vmar_offset`.
#[allow(clippy::too_many_arguments)] // the VMAR call's arguments plus the frames' location
pub fn vmar_map_frames<T: Transport + ?Sized>(
    t: &mut T,
    vmar: HandleValue,
    options: u32,
    vmar_offset: u64,
    len: u64,
    cnode: T::Cap,
    first_slot: u64,
    count: u32,
) -> Result<u64, Status> {
    let req = Request::VmarMapFrames(VmarMapFramesReq {
        vmar,
        options,
        vmar_offset,
        len,
        first_slot,
        count,
        reserved: 0,
    });
    match roundtrip(t, &req, Some(cnode))? {
        ReplyPayload::Map(m) => Ok(m.mapped_addr),
        _ => Err(MALFORMED),
    }
}
