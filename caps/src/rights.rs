//! Zircon handle rights (`zx_rights_t`) and the duplicate/replace rules.

use core::fmt;
use core::ops::{BitAnd, BitOr, Not};

/// A set of Zircon rights (`zx_rights_t`, a `u32` bit set). Bit values are Zircon's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u32);

impl Rights {
    /// No rights (`ZX_RIGHT_NONE`).
    pub const NONE: Rights = Rights(0);
    /// `ZX_RIGHT_DUPLICATE`: the handle may be duplicated.
    pub const DUPLICATE: Rights = Rights(1 << 0);
    /// `ZX_RIGHT_TRANSFER`: the handle may be handed to another client.
    pub const TRANSFER: Rights = Rights(1 << 1);
    /// `ZX_RIGHT_READ`.
    pub const READ: Rights = Rights(1 << 2);
    /// `ZX_RIGHT_WRITE`.
    pub const WRITE: Rights = Rights(1 << 3);
    /// `ZX_RIGHT_EXECUTE`.
    pub const EXECUTE: Rights = Rights(1 << 4);
    /// `ZX_RIGHT_MAP`.
    pub const MAP: Rights = Rights(1 << 5);
    /// `ZX_RIGHT_GET_PROPERTY`.
    pub const GET_PROPERTY: Rights = Rights(1 << 6);
    /// `ZX_RIGHT_SET_PROPERTY`.
    pub const SET_PROPERTY: Rights = Rights(1 << 7);
    /// `ZX_RIGHT_ENUMERATE`.
    pub const ENUMERATE: Rights = Rights(1 << 8);
    /// `ZX_RIGHT_DESTROY`.
    pub const DESTROY: Rights = Rights(1 << 9);
    /// `ZX_RIGHT_SET_POLICY`.
    pub const SET_POLICY: Rights = Rights(1 << 10);
    /// `ZX_RIGHT_GET_POLICY`.
    pub const GET_POLICY: Rights = Rights(1 << 11);
    /// `ZX_RIGHT_SIGNAL`.
    pub const SIGNAL: Rights = Rights(1 << 12);
    /// `ZX_RIGHT_SIGNAL_PEER`.
    pub const SIGNAL_PEER: Rights = Rights(1 << 13);
    /// `ZX_RIGHT_WAIT`.
    pub const WAIT: Rights = Rights(1 << 14);
    /// `ZX_RIGHT_INSPECT`.
    pub const INSPECT: Rights = Rights(1 << 15);
    /// `ZX_RIGHT_MANAGE_JOB`.
    pub const MANAGE_JOB: Rights = Rights(1 << 16);
    /// `ZX_RIGHT_MANAGE_PROCESS`.
    pub const MANAGE_PROCESS: Rights = Rights(1 << 17);
    /// `ZX_RIGHT_MANAGE_THREAD`.
    pub const MANAGE_THREAD: Rights = Rights(1 << 18);
    /// `ZX_RIGHT_APPLY_PROFILE`.
    pub const APPLY_PROFILE: Rights = Rights(1 << 19);
    /// `ZX_RIGHT_MANAGE_SOCKET`.
    pub const MANAGE_SOCKET: Rights = Rights(1 << 20);
    /// `ZX_RIGHT_SAME_RIGHTS`: not a right; asks duplicate/replace to keep the source's rights.
    pub const SAME_RIGHTS: Rights = Rights(1 << 31);

    /// `ZX_RIGHTS_BASIC` = TRANSFER | DUPLICATE | WAIT | INSPECT.
    pub const BASIC: Rights = Rights(0xC003);
    /// `ZX_RIGHTS_IO` = READ | WRITE.
    pub const IO: Rights = Rights(0x000C);

    /// Every real right this crate names (bits 0..=20), without `SAME_RIGHTS`.
    pub const ALL: Rights = Rights((1 << 21) - 1);

    /// Every named right with its Zircon name, in bit order (for documentation and display).
    pub const NAMED: [(Rights, &'static str); 21] = [
        (Rights::DUPLICATE, "DUPLICATE"),
        (Rights::TRANSFER, "TRANSFER"),
        (Rights::READ, "READ"),
        (Rights::WRITE, "WRITE"),
        (Rights::EXECUTE, "EXECUTE"),
        (Rights::MAP, "MAP"),
        (Rights::GET_PROPERTY, "GET_PROPERTY"),
        (Rights::SET_PROPERTY, "SET_PROPERTY"),
        (Rights::ENUMERATE, "ENUMERATE"),
        (Rights::DESTROY, "DESTROY"),
        (Rights::SET_POLICY, "SET_POLICY"),
        (Rights::GET_POLICY, "GET_POLICY"),
        (Rights::SIGNAL, "SIGNAL"),
        (Rights::SIGNAL_PEER, "SIGNAL_PEER"),
        (Rights::WAIT, "WAIT"),
        (Rights::INSPECT, "INSPECT"),
        (Rights::MANAGE_JOB, "MANAGE_JOB"),
        (Rights::MANAGE_PROCESS, "MANAGE_PROCESS"),
        (Rights::MANAGE_THREAD, "MANAGE_THREAD"),
        (Rights::APPLY_PROFILE, "APPLY_PROFILE"),
        (Rights::MANAGE_SOCKET, "MANAGE_SOCKET"),
    ];

    /// Rights from raw bits, exactly as given (unknown bits are kept, so that a request carrying
    /// them can be refused rather than silently narrowed).
    pub const fn from_bits(bits: u32) -> Rights {
        Rights(bits)
    }

    /// The raw `zx_rights_t` value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True if every right in `other` is also in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights in both sets.
    pub const fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// The rights in either set.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// The rights of `self` that are not in `other`.
    pub const fn difference(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// True if no right is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Rights {
    type Output = Rights;
    fn bitor(self, rhs: Rights) -> Rights {
        self.union(rhs)
    }
}

impl BitAnd for Rights {
    type Output = Rights;
    fn bitand(self, rhs: Rights) -> Rights {
        self.intersect(rhs)
    }
}

impl Not for Rights {
    type Output = Rights;
    fn not(self) -> Rights {
        Rights(!self.0)
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights({:#x}", self.0)?;
        let mut sep = " ";
        for (r, name) in Rights::NAMED {
            if self.contains(r) {
                write!(f, "{sep}{name}")?;
                sep = "|";
            }
        }
        if self.contains(Rights::SAME_RIGHTS) {
            write!(f, "{sep}SAME_RIGHTS")?;
        }
        write!(f, ")")
    }
}

/// Why [`derive_rights`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeriveError {
    /// The requested rights are not a subset of the source handle's rights (`ZX_ERR_INVALID_ARGS`).
    Escalation,
}

/// The rights of a handle made by `zx_handle_duplicate` or `zx_handle_replace` from a handle
/// holding `held`, when the caller asks for `requested`.
///
/// - `requested` equal to `ZX_RIGHT_SAME_RIGHTS` yields exactly `held` (Zircon compares for
///   equality: combined with other bits it is an ordinary request for bit 31, which no handle
///   holds, so it is refused as an escalation);
/// - otherwise `requested` must be a subset of `held` (else [`DeriveError::Escalation`], which the
///   server reports as `ZX_ERR_INVALID_ARGS`), and the result is `requested`.
///
/// Whether the source needs `ZX_RIGHT_DUPLICATE` is an operation rule, kept in the operation
/// table ([`crate::Operation::HandleDuplicate`]).
pub const fn derive_rights(held: Rights, requested: Rights) -> Result<Rights, DeriveError> {
    if requested.bits() == Rights::SAME_RIGHTS.bits() {
        Ok(held)
    } else if held.contains(requested) {
        Ok(requested)
    } else {
        Err(DeriveError::Escalation)
    }
}
