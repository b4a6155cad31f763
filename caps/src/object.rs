//! The Zircon object types the VCPU server serves, and their default rights.

use crate::Rights;

/// A Zircon object type (`zx_obj_type_t`), limited to the types this server creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ObjType {
    /// `ZX_OBJ_TYPE_PORT` (6): receives BELL-trap packets.
    Port = 6,
    /// `ZX_OBJ_TYPE_RESOURCE` (15): the hypervisor resource that authorises `zx_guest_create`.
    Resource = 15,
    /// `ZX_OBJ_TYPE_VMAR` (18): a guest's physical address space.
    Vmar = 18,
    /// `ZX_OBJ_TYPE_GUEST` (20).
    Guest = 20,
    /// `ZX_OBJ_TYPE_VCPU` (21).
    Vcpu = 21,
}

impl ObjType {
    /// Every object type, in numeric order.
    pub const ALL: [ObjType; 5] = [
        ObjType::Port,
        ObjType::Resource,
        ObjType::Vmar,
        ObjType::Guest,
        ObjType::Vcpu,
    ];

    /// The rights a newly created handle to an object of this type carries (Zircon V3 values).
    ///
    /// - Guest: `ZX_DEFAULT_GUEST_RIGHTS` = TRANSFER|DUPLICATE|WRITE|INSPECT|MANAGE_THREAD = 0x4800B.
    /// - VCPU: `ZX_DEFAULT_VCPU_RIGHTS` = BASIC|IO|EXECUTE|SIGNAL = 0xD01F.
    /// - Guest VMAR: DUPLICATE|TRANSFER|INSPECT plus READ|WRITE|EXECUTE = 0x801F.
    /// - Port: `ZX_DEFAULT_PORT_RIGHTS` = (BASIC & !WAIT)|IO = 0x800F.
    /// - Resource: `ZX_DEFAULT_RESOURCE_RIGHTS` = TRANSFER|DUPLICATE|WRITE|INSPECT = 0x800B.
    pub const fn default_rights(self) -> Rights {
        match self {
            ObjType::Guest => Rights::from_bits(0x0004_800B),
            ObjType::Vcpu => Rights::from_bits(0x0000_D01F),
            ObjType::Vmar => Rights::from_bits(0x0000_801F),
            ObjType::Port => Rights::from_bits(0x0000_800F),
            ObjType::Resource => Rights::from_bits(0x0000_800B),
        }
    }

    /// The Zircon name (`ZX_OBJ_TYPE_*` without the prefix).
    pub const fn name(self) -> &'static str {
        match self {
            ObjType::Port => "PORT",
            ObjType::Resource => "RESOURCE",
            ObjType::Vmar => "VMAR",
            ObjType::Guest => "GUEST",
            ObjType::Vcpu => "VCPU",
        }
    }

    /// The type for a raw `zx_obj_type_t`, if this server knows it.
    pub const fn from_raw(raw: u32) -> Option<ObjType> {
        match raw {
            6 => Some(ObjType::Port),
            15 => Some(ObjType::Resource),
            18 => Some(ObjType::Vmar),
            20 => Some(ObjType::Guest),
            21 => Some(ObjType::Vcpu),
            _ => None,
        }
    }
}
