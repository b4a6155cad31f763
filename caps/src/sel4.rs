//! The mapping of Zircon rights onto seL4 capability rights, and back.
//!
//! The VCPU server keeps every Zircon right in its own handle table; the kernel never sees them.
//! But the system also hands clients a few real seL4 capabilities, and their seL4 rights must not
//! let a client do more than the Zircon rights the manifest grants. This module is the one table
//! for that, per kind of capability a client can ever hold ([`CapKind`]):
//!
//! - **Endpoint** (the client's badged endpoint to the server): `WRITE` → Write + GrantReply (may
//!   Send/Call; GrantReply because a Call through a cap with neither Grant nor GrantReply leaves
//!   the caller blocked forever), `READ` → Read (may Recv), `TRANSFER` → Grant (capabilities may
//!   travel through the endpoint: extra caps on a send, or caps in the reply when the cap is used
//!   to Recv).
//! - **Notification**: `SIGNAL` → Write (Signal), `WAIT` → Read (Wait/Poll, binding).
//! - **Frame**: `READ` → Read; `READ`+`WRITE` → Write (the kernel maps Write without Read with no
//!   access at all, so `WRITE` alone maps nothing); `EXECUTE` absent → the ExecuteNever attribute
//!   (execution is not a cap right on seL4, only a mapping attribute): see [`FrameMapping`].
//!
//! Every other seL4 object type (TCB, VCPU, CNode, Untyped, page tables, IRQ, SMC) ignores cap
//! rights: whoever holds the cap controls the object. Such caps are never given to clients.
//!
//! Invariants (checked by property tests):
//! - every mapping is total: defined for every `u32` of Zircon rights (unknown bits are ignored)
//!   and every seL4 rights word (bits above GrantReply are dropped);
//! - monotone: more Zircon rights never yield fewer seL4 rights;
//! - never escalates: `back(to(r)) ⊆ r` and `to(back(s)) ⊆ s`.

use core::fmt;
use core::ops::BitOr;

use crate::Rights;

/// A `seL4_CapRights` word: bit 0 Write, bit 1 Read, bit 2 Grant, bit 3 GrantReply.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sel4Rights(u64);

impl Sel4Rights {
    /// No rights.
    pub const NONE: Sel4Rights = Sel4Rights(0);
    /// `seL4_CanWrite`: send/call on an endpoint, signal a notification, write a frame.
    pub const WRITE: Sel4Rights = Sel4Rights(1 << 0);
    /// `seL4_CanRead`: receive on an endpoint, wait on a notification, read a frame.
    pub const READ: Sel4Rights = Sel4Rights(1 << 1);
    /// `seL4_CanGrant`: capabilities may travel through an endpoint.
    pub const GRANT: Sel4Rights = Sel4Rights(1 << 2);
    /// `seL4_CanGrantReply`: a Call through an endpoint gets a reply capability.
    pub const GRANT_REPLY: Sel4Rights = Sel4Rights(1 << 3);
    /// `seL4_AllRights`.
    pub const ALL: Sel4Rights = Sel4Rights(0xF);

    /// Every right with its seL4 name, in bit order.
    pub const NAMED: [(Sel4Rights, &'static str); 4] = [
        (Sel4Rights::WRITE, "Write"),
        (Sel4Rights::READ, "Read"),
        (Sel4Rights::GRANT, "Grant"),
        (Sel4Rights::GRANT_REPLY, "GrantReply"),
    ];

    /// Rights from a `seL4_CapRights` word; bits above GrantReply mean nothing and are dropped.
    pub const fn from_word(word: u64) -> Sel4Rights {
        Sel4Rights(word & Sel4Rights::ALL.0)
    }

    /// The `seL4_CapRights` word (as passed to `CNode_Mint`/`CNode_Copy`).
    pub const fn word(self) -> u64 {
        self.0
    }

    /// True if every right in `other` is also in `self`.
    pub const fn contains(self, other: Sel4Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights in either set.
    pub const fn union(self, other: Sel4Rights) -> Sel4Rights {
        Sel4Rights(self.0 | other.0)
    }

    /// The rights in both sets.
    pub const fn intersect(self, other: Sel4Rights) -> Sel4Rights {
        Sel4Rights(self.0 & other.0)
    }

    /// True if no right is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Sel4Rights {
    type Output = Sel4Rights;
    fn bitor(self, rhs: Sel4Rights) -> Sel4Rights {
        self.union(rhs)
    }
}

impl fmt::Debug for Sel4Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sel4Rights({:#x}", self.0)?;
        let mut sep = " ";
        for (r, name) in Sel4Rights::NAMED {
            if self.contains(r) {
                write!(f, "{sep}{name}")?;
                sep = "|";
            }
        }
        write!(f, ")")
    }
}

/// One row of a mapping table: holding all of `requires` yields `grants`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The Zircon rights that must all be held.
    pub requires: Rights,
    /// The seL4 rights they yield.
    pub grants: Sel4Rights,
    /// What the seL4 rights allow, in words (for the generated documentation).
    pub meaning: &'static str,
}

/// A kind of seL4 capability the system gives clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapKind {
    /// A badged endpoint capability.
    Endpoint,
    /// A notification capability.
    Notification,
    /// A frame (page) capability; see also [`FrameMapping`] for the execute attribute.
    Frame,
}

const ENDPOINT_RULES: [Rule; 3] = [
    Rule {
        requires: Rights::WRITE,
        grants: Sel4Rights::WRITE.union(Sel4Rights::GRANT_REPLY),
        meaning: "Send and Call; a Call gets a reply cap (without Grant or GrantReply it blocks forever)",
    },
    Rule {
        requires: Rights::READ,
        grants: Sel4Rights::READ,
        meaning: "Recv (without Read a Recv is a cap fault)",
    },
    Rule {
        requires: Rights::TRANSFER,
        grants: Sel4Rights::GRANT,
        meaning: "caps travel through the endpoint: extra caps on a send, caps in the reply to a Recv",
    },
];

const NOTIFICATION_RULES: [Rule; 2] = [
    Rule {
        requires: Rights::SIGNAL,
        grants: Sel4Rights::WRITE,
        meaning: "Signal",
    },
    Rule {
        requires: Rights::WAIT,
        grants: Sel4Rights::READ,
        meaning: "Wait, Poll, bind to a TCB",
    },
];

const FRAME_RULES: [Rule; 2] = [
    Rule {
        requires: Rights::READ,
        grants: Sel4Rights::READ,
        meaning: "mapped readable",
    },
    Rule {
        requires: Rights::READ.union(Rights::WRITE),
        grants: Sel4Rights::WRITE,
        meaning: "mapped writable (Write without Read would map with no access)",
    },
];

impl CapKind {
    /// Every kind, in documentation order.
    pub const ALL: [CapKind; 3] = [CapKind::Endpoint, CapKind::Notification, CapKind::Frame];

    /// The seL4 name of the object type.
    pub const fn name(self) -> &'static str {
        match self {
            CapKind::Endpoint => "endpoint",
            CapKind::Notification => "notification",
            CapKind::Frame => "frame",
        }
    }

    /// The mapping table of this kind. A frame's execute attribute is not a cap right and is not
    /// in this table: see [`frame_mapping`].
    pub const fn rules(self) -> &'static [Rule] {
        match self {
            CapKind::Endpoint => &ENDPOINT_RULES,
            CapKind::Notification => &NOTIFICATION_RULES,
            CapKind::Frame => &FRAME_RULES,
        }
    }

    /// The Zircon rights this kind gives meaning to (every other right maps to nothing). For a
    /// frame this includes `EXECUTE`, carried by [`FrameMapping::execute_never`].
    pub const fn mapped_rights(self) -> Rights {
        let rules = self.rules();
        let mut r = match self {
            CapKind::Frame => Rights::EXECUTE,
            CapKind::Endpoint | CapKind::Notification => Rights::NONE,
        };
        let mut i = 0;
        while i < rules.len() {
            r = r.union(rules[i].requires);
            i += 1;
        }
        r
    }

    /// The seL4 cap rights a cap of this kind gets for a handle holding `rights`: the union of
    /// every rule whose requirements `rights` meets. Total and monotone by construction.
    pub const fn sel4_rights(self, rights: Rights) -> Sel4Rights {
        let rules = self.rules();
        let mut s = Sel4Rights::NONE;
        let mut i = 0;
        while i < rules.len() {
            if rights.contains(rules[i].requires) {
                s = s.union(rules[i].grants);
            }
            i += 1;
        }
        s
    }

    /// The most Zircon rights a cap of this kind holding `sel4` actually carries: the union of
    /// every rule's requirements whose full mapping `sel4` covers. So `Write` without
    /// `GrantReply` on an endpoint carries no `WRITE` (such a cap cannot Call), and `Write`
    /// without `Read` on a frame carries nothing.
    pub const fn zircon_rights(self, sel4: Sel4Rights) -> Rights {
        let rules = self.rules();
        let mut r = Rights::NONE;
        let mut i = 0;
        while i < rules.len() {
            if sel4.contains(self.sel4_rights(rules[i].requires)) {
                r = r.union(rules[i].requires);
            }
            i += 1;
        }
        r
    }
}

/// The seL4 rights of a client's endpoint cap for Zircon `rights` ([`CapKind::Endpoint`]).
pub const fn endpoint_rights(rights: Rights) -> Sel4Rights {
    CapKind::Endpoint.sel4_rights(rights)
}

/// The Zircon rights an endpoint cap with `sel4` rights carries.
pub const fn endpoint_zircon_rights(sel4: Sel4Rights) -> Rights {
    CapKind::Endpoint.zircon_rights(sel4)
}

/// The seL4 rights of a notification cap for Zircon `rights` ([`CapKind::Notification`]).
pub const fn notification_rights(rights: Rights) -> Sel4Rights {
    CapKind::Notification.sel4_rights(rights)
}

/// The Zircon rights a notification cap with `sel4` rights carries.
pub const fn notification_zircon_rights(sel4: Sel4Rights) -> Rights {
    CapKind::Notification.zircon_rights(sel4)
}

/// How a frame is mapped: the cap rights (`seL4_CapRights` passed to `ARM_Page_Map`) and whether
/// the ExecuteNever attribute is set (execution is an attribute on seL4, not a cap right).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameMapping {
    /// Read, or Read + Write, or nothing.
    pub rights: Sel4Rights,
    /// True unless the Zircon rights include `EXECUTE`.
    pub execute_never: bool,
}

impl FrameMapping {
    /// True if this mapping allows nothing that `other` does not (rights ⊆, and executable only
    /// if `other` is).
    pub const fn is_within(self, other: FrameMapping) -> bool {
        other.rights.contains(self.rights) && (self.execute_never || !other.execute_never)
    }
}

/// The frame mapping for Zircon `rights` (e.g. [`crate::Operation::vmar_map_rights`] of the
/// permissions asked of `vmar_map`).
pub const fn frame_mapping(rights: Rights) -> FrameMapping {
    FrameMapping {
        rights: CapKind::Frame.sel4_rights(rights),
        execute_never: !rights.contains(Rights::EXECUTE),
    }
}

/// The Zircon rights a frame mapped as `mapping` carries (`READ`, `WRITE`, `EXECUTE` at most).
pub const fn frame_zircon_rights(mapping: FrameMapping) -> Rights {
    let r = CapKind::Frame.zircon_rights(mapping.rights);
    if mapping.execute_never {
        r
    } else {
        r.union(Rights::EXECUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_write_can_call() {
        let s = endpoint_rights(Rights::WRITE);
        assert!(s.contains(Sel4Rights::WRITE));
        assert!(
            s.contains(Sel4Rights::GRANT_REPLY),
            "a Call without GrantReply blocks forever"
        );
        assert!(!s.contains(Sel4Rights::GRANT));
        assert!(!s.contains(Sel4Rights::READ));
    }

    #[test]
    fn frame_write_needs_read() {
        assert_eq!(frame_mapping(Rights::WRITE).rights, Sel4Rights::NONE);
        assert_eq!(
            frame_mapping(Rights::READ | Rights::WRITE).rights,
            Sel4Rights::READ | Sel4Rights::WRITE
        );
        assert!(frame_mapping(Rights::READ).execute_never);
        assert!(!frame_mapping(Rights::EXECUTE).execute_never);
    }

    #[test]
    fn mapped_rights() {
        assert_eq!(
            CapKind::Endpoint.mapped_rights(),
            Rights::READ | Rights::WRITE | Rights::TRANSFER
        );
        assert_eq!(
            CapKind::Notification.mapped_rights(),
            Rights::SIGNAL | Rights::WAIT
        );
        assert_eq!(
            CapKind::Frame.mapped_rights(),
            Rights::READ | Rights::WRITE | Rights::EXECUTE
        );
    }
}
