//! Every operation of the wire protocol and the one table of rights each handle argument needs.

use crate::{ObjType, Rights};

/// One operation of the VCPU server's protocol. The discriminant is the seL4 message label of the
/// request (label 0 is never an operation, so an empty message cannot be mistaken for one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Operation {
    /// `zx_guest_create(resource, options, *guest, *vmar)`.
    GuestCreate = 1,
    /// `zx_guest_set_trap(guest, kind, addr, size, port, key)`.
    GuestSetTrap = 2,
    /// `zx_vcpu_create(guest, options, entry, *vcpu)`.
    VcpuCreate = 3,
    /// `zx_vcpu_enter(vcpu, *packet)`: blocks until a guest exit or a kick.
    VcpuEnter = 4,
    /// `zx_vcpu_kick(vcpu)`.
    VcpuKick = 5,
    /// `zx_vcpu_interrupt(vcpu, vector)`.
    VcpuInterrupt = 6,
    /// `zx_vcpu_read_state(vcpu, kind, buffer, size)`.
    VcpuReadState = 7,
    /// `zx_vcpu_write_state(vcpu, kind, buffer, size)`.
    VcpuWriteState = 8,
    /// `zx_object_get_info(vcpu, ZX_INFO_VCPU, ...)`.
    ObjectGetInfo = 9,
    /// `zx_handle_duplicate(handle, rights, *out)`.
    HandleDuplicate = 10,
    /// `zx_handle_replace(handle, rights, *out)`.
    HandleReplace = 11,
    /// `zx_handle_close(handle)`.
    HandleClose = 12,
    /// Hand a handle to another client (moves it, like writing it into a channel).
    HandleSend = 13,
    /// Take the oldest handle another client handed to the caller.
    HandleReceive = 14,
    /// `zx_port_create(options, *port)`: a port for BELL-trap packets.
    PortCreate = 15,
    /// `zx_port_wait(port, deadline, *packet)`.
    PortWait = 16,
    /// `zx_vmar_map` on a guest VMAR: place a frame the caller owns (its seL4 frame capability
    /// travels with the request) into the guest-physical address space.
    VmarMap = 17,
    /// `zx_port_queue(port, *packet)`: queue a user packet.
    PortQueue = 18,
    /// `zx_vmar_unmap(vmar, addr, len)` on a guest VMAR.
    VmarUnmap = 19,
    /// `zx_vmar_protect(vmar, options, addr, len)` on a guest VMAR.
    VmarProtect = 20,
    /// Map many frames at once into a guest VMAR: `count` frames of `len` bytes each, taken
    /// from consecutive slots of a CNode capability that travels with the request, placed
    /// back to back from `vmar_offset` (an extension: Zircon maps one VMO per `zx_vmar_map`).
    VmarMapFrames = 21,
}

/// One handle argument of an operation, and what it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleArg {
    /// The argument's name in the Zircon signature.
    pub name: &'static str,
    /// The object type it must name; `None` for handle operations that accept any type.
    pub obj_type: Option<ObjType>,
    /// The rights the handle must hold.
    pub rights: Rights,
    /// `ZX_HANDLE_INVALID` (0) is accepted and means "absent" (then no check applies).
    pub optional: bool,
}

impl HandleArg {
    const fn required(name: &'static str, obj_type: ObjType, rights: Rights) -> HandleArg {
        HandleArg {
            name,
            obj_type: Some(obj_type),
            rights,
            optional: false,
        }
    }

    const fn any(name: &'static str, rights: Rights) -> HandleArg {
        HandleArg {
            name,
            obj_type: None,
            rights,
            optional: false,
        }
    }
}

impl Operation {
    /// Every operation, in label order.
    pub const ALL: [Operation; 21] = [
        Operation::GuestCreate,
        Operation::GuestSetTrap,
        Operation::VcpuCreate,
        Operation::VcpuEnter,
        Operation::VcpuKick,
        Operation::VcpuInterrupt,
        Operation::VcpuReadState,
        Operation::VcpuWriteState,
        Operation::ObjectGetInfo,
        Operation::HandleDuplicate,
        Operation::HandleReplace,
        Operation::HandleClose,
        Operation::HandleSend,
        Operation::HandleReceive,
        Operation::PortCreate,
        Operation::PortWait,
        Operation::VmarMap,
        Operation::PortQueue,
        Operation::VmarUnmap,
        Operation::VmarProtect,
        Operation::VmarMapFrames,
    ];

    /// The operation a message label names, if any.
    pub const fn from_label(label: u64) -> Option<Operation> {
        let mut i = 0;
        while i < Operation::ALL.len() {
            if Operation::ALL[i] as u64 == label {
                return Some(Operation::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The message label of this operation.
    pub const fn label(self) -> u64 {
        self as u64
    }

    /// The Zircon-style name (`zx_` prefix omitted).
    pub const fn name(self) -> &'static str {
        match self {
            Operation::GuestCreate => "guest_create",
            Operation::GuestSetTrap => "guest_set_trap",
            Operation::VcpuCreate => "vcpu_create",
            Operation::VcpuEnter => "vcpu_enter",
            Operation::VcpuKick => "vcpu_kick",
            Operation::VcpuInterrupt => "vcpu_interrupt",
            Operation::VcpuReadState => "vcpu_read_state",
            Operation::VcpuWriteState => "vcpu_write_state",
            Operation::ObjectGetInfo => "object_get_info",
            Operation::HandleDuplicate => "handle_duplicate",
            Operation::HandleReplace => "handle_replace",
            Operation::HandleClose => "handle_close",
            Operation::HandleSend => "handle_send",
            Operation::HandleReceive => "handle_receive",
            Operation::PortCreate => "port_create",
            Operation::PortWait => "port_wait",
            Operation::VmarMap => "vmar_map",
            Operation::PortQueue => "port_queue",
            Operation::VmarUnmap => "vmar_unmap",
            Operation::VmarProtect => "vmar_protect",
            Operation::VmarMapFrames => "vmar_map_frames",
        }
    }

    /// The handle arguments of this operation, in signature order, with the object type and
    /// rights each must have. This is the only place the server learns which rights an operation
    /// needs. Rights that depend on a request field (the permissions asked of `vmar_map`) are
    /// added by [`Operation::vmar_map_rights`].
    pub const fn handle_args(self) -> &'static [HandleArg] {
        // Each list is a named constant so that it is a `'static` promotion of a const value.
        const RESOURCE: [HandleArg; 1] = [HandleArg::required(
            "resource",
            ObjType::Resource,
            Rights::NONE,
        )];
        const SET_TRAP: [HandleArg; 2] = [
            HandleArg::required("guest", ObjType::Guest, Rights::WRITE),
            HandleArg {
                name: "port",
                obj_type: Some(ObjType::Port),
                rights: Rights::WRITE,
                optional: true,
            },
        ];
        const GUEST_MANAGE_THREAD: [HandleArg; 1] = [HandleArg::required(
            "guest",
            ObjType::Guest,
            Rights::MANAGE_THREAD,
        )];
        const VCPU_EXECUTE: [HandleArg; 1] =
            [HandleArg::required("vcpu", ObjType::Vcpu, Rights::EXECUTE)];
        const VCPU_SIGNAL: [HandleArg; 1] =
            [HandleArg::required("vcpu", ObjType::Vcpu, Rights::SIGNAL)];
        const VCPU_READ: [HandleArg; 1] =
            [HandleArg::required("vcpu", ObjType::Vcpu, Rights::READ)];
        const VCPU_WRITE: [HandleArg; 1] =
            [HandleArg::required("vcpu", ObjType::Vcpu, Rights::WRITE)];
        const VCPU_INSPECT: [HandleArg; 1] = [HandleArg::required(
            "handle",
            ObjType::Vcpu,
            Rights::INSPECT,
        )];
        const ANY_DUPLICATE: [HandleArg; 1] = [HandleArg::any("handle", Rights::DUPLICATE)];
        const ANY_NONE: [HandleArg; 1] = [HandleArg::any("handle", Rights::NONE)];
        const ANY_TRANSFER: [HandleArg; 1] = [HandleArg::any("handle", Rights::TRANSFER)];
        const PORT_READ: [HandleArg; 1] =
            [HandleArg::required("port", ObjType::Port, Rights::READ)];
        const VMAR: [HandleArg; 1] = [HandleArg::required("vmar", ObjType::Vmar, Rights::NONE)];
        const PORT_WRITE: [HandleArg; 1] =
            [HandleArg::required("port", ObjType::Port, Rights::WRITE)];
        match self {
            // V3/V4: the hypervisor resource; its kind and base are checked by the server
            // (ACCESS_DENIED for a resource of another kind); no right is required.
            Operation::GuestCreate => &RESOURCE,
            Operation::GuestSetTrap => &SET_TRAP,
            Operation::VcpuCreate => &GUEST_MANAGE_THREAD,
            Operation::VcpuEnter | Operation::VcpuKick => &VCPU_EXECUTE,
            Operation::VcpuInterrupt => &VCPU_SIGNAL,
            Operation::VcpuReadState => &VCPU_READ,
            Operation::VcpuWriteState => &VCPU_WRITE,
            // Only the ZX_INFO_VCPU topic is served; it needs a VCPU with INSPECT.
            Operation::ObjectGetInfo => &VCPU_INSPECT,
            Operation::HandleDuplicate => &ANY_DUPLICATE,
            Operation::HandleReplace | Operation::HandleClose => &ANY_NONE,
            Operation::HandleSend => &ANY_TRANSFER,
            Operation::HandleReceive | Operation::PortCreate => &[],
            Operation::PortWait => &PORT_READ,
            Operation::PortQueue => &PORT_WRITE,
            // Further rights depend on the permissions asked for: see `vmar_map_rights` (the
            // same rule serves `vmar_protect`). Zircon documents no right for `vmar_unmap`.
            Operation::VmarMap
            | Operation::VmarUnmap
            | Operation::VmarProtect
            | Operation::VmarMapFrames => &VMAR,
        }
    }

    /// Rights `vmar_map`, `vmar_map_frames` and `vmar_protect` need on the VMAR for the permissions they ask for: each of
    /// `ZX_VM_PERM_READ` (1), `ZX_VM_PERM_WRITE` (2), `ZX_VM_PERM_EXECUTE` (4) needs the matching
    /// READ, WRITE, EXECUTE right.
    pub const fn vmar_map_rights(perm_read: bool, perm_write: bool, perm_execute: bool) -> Rights {
        let mut r = Rights::NONE;
        if perm_read {
            r = r.union(Rights::READ);
        }
        if perm_write {
            r = r.union(Rights::WRITE);
        }
        if perm_execute {
            r = r.union(Rights::EXECUTE);
        }
        r
    }
}
