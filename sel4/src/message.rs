//! Packed kernel words: the message-info tag, capability rights and CNode guard data.
//!
//! All three are plain `u64` words whose bit layouts are defined by seL4's `shared_types.bf`
//! (checked against the installed `shared_types.pbf` by `sel4-build`'s ABI test). Constructors
//! mask every field to its width, as libsel4 does, so no input can corrupt a neighbouring field.

use core::fmt;

/// Maximum number of message registers in one message (`seL4_MsgMaxLength`).
pub const MSG_MAX_LENGTH: usize = 120;
/// Maximum number of extra capabilities in one message (`seL4_MsgMaxExtraCaps`).
pub const MSG_MAX_EXTRA_CAPS: usize = 3;
/// Message registers passed in machine registers x2..x5 (`seL4_FastMessageRegisters`).
pub const FAST_MESSAGE_REGISTERS: usize = 4;

/// The message-info word (`seL4_MessageInfo_t`), passed in x1 on every IPC.
///
/// Layout, most significant bit first: `label` 63..12 (52 bits), `capsUnwrapped` 11..9,
/// `extraCaps` 8..7, `length` 6..0. On an invocation the label is the invocation label, on a
/// kernel reply it is the error code, on a fault message it is the fault type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageInfo(u64);

impl MessageInfo {
    /// Bit position of the label field.
    pub const LABEL_SHIFT: u32 = 12;
    /// Width of the label field.
    pub const LABEL_BITS: u32 = 52;
    /// Bit position of the capsUnwrapped field.
    pub const CAPS_UNWRAPPED_SHIFT: u32 = 9;
    /// Width of the capsUnwrapped field.
    pub const CAPS_UNWRAPPED_BITS: u32 = 3;
    /// Bit position of the extraCaps field.
    pub const EXTRA_CAPS_SHIFT: u32 = 7;
    /// Width of the extraCaps field.
    pub const EXTRA_CAPS_BITS: u32 = 2;
    /// Bit position of the length field.
    pub const LENGTH_SHIFT: u32 = 0;
    /// Width of the length field (`seL4_MsgLengthBits`).
    pub const LENGTH_BITS: u32 = 7;

    /// Packs a tag; every field is masked to its width (`seL4_MessageInfo_new`).
    ///
    /// A `length` above [`MSG_MAX_LENGTH`] fits the field but the kernel clamps it to 120.
    pub const fn new(label: u64, caps_unwrapped: u64, extra_caps: u64, length: u64) -> Self {
        MessageInfo(
            (field(label, Self::LABEL_BITS) << Self::LABEL_SHIFT)
                | (field(caps_unwrapped, Self::CAPS_UNWRAPPED_BITS) << Self::CAPS_UNWRAPPED_SHIFT)
                | (field(extra_caps, Self::EXTRA_CAPS_BITS) << Self::EXTRA_CAPS_SHIFT)
                | (field(length, Self::LENGTH_BITS) << Self::LENGTH_SHIFT),
        )
    }

    /// The tag as received in x1.
    pub const fn from_word(word: u64) -> Self {
        MessageInfo(word)
    }

    /// The word to put in x1.
    pub const fn word(self) -> u64 {
        self.0
    }

    /// The label (invocation label, error code or fault type).
    pub const fn label(self) -> u64 {
        field(self.0 >> Self::LABEL_SHIFT, Self::LABEL_BITS)
    }

    /// Bit i set: extra cap i was unwrapped and only its badge was delivered.
    pub const fn caps_unwrapped(self) -> u64 {
        field(
            self.0 >> Self::CAPS_UNWRAPPED_SHIFT,
            Self::CAPS_UNWRAPPED_BITS,
        )
    }

    /// Number of extra caps (0..=3).
    pub const fn extra_caps(self) -> usize {
        field(self.0 >> Self::EXTRA_CAPS_SHIFT, Self::EXTRA_CAPS_BITS) as usize
    }

    /// Number of message registers, as encoded (0..=127; the kernel never sends more than 120).
    pub const fn length(self) -> usize {
        field(self.0 >> Self::LENGTH_SHIFT, Self::LENGTH_BITS) as usize
    }
}

impl fmt::Debug for MessageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageInfo")
            .field("label", &self.label())
            .field("caps_unwrapped", &self.caps_unwrapped())
            .field("extra_caps", &self.extra_caps())
            .field("length", &self.length())
            .finish()
    }
}

const fn field(value: u64, bits: u32) -> u64 {
    value & ((1u64 << bits) - 1)
}

/// A capability-rights word (`seL4_CapRights_t`): bit 0 Write, 1 Read, 2 Grant, 3 GrantReply.
///
/// Used by `CNode_Copy`/`CNode_Mint` (to mask the new cap) and `ARM_Page_Map` (mapping rights).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapRights(u64);

impl CapRights {
    /// Bit of the Write right (`capAllowWrite`).
    pub const WRITE_BIT: u32 = 0;
    /// Bit of the Read right (`capAllowRead`).
    pub const READ_BIT: u32 = 1;
    /// Bit of the Grant right (`capAllowGrant`).
    pub const GRANT_BIT: u32 = 2;
    /// Bit of the GrantReply right (`capAllowGrantReply`).
    pub const GRANT_REPLY_BIT: u32 = 3;

    /// No rights (`seL4_NoRights`).
    pub const NONE: CapRights = CapRights(0);
    /// `seL4_CanWrite`.
    pub const WRITE: CapRights = CapRights(1 << Self::WRITE_BIT);
    /// `seL4_CanRead`.
    pub const READ: CapRights = CapRights(1 << Self::READ_BIT);
    /// `seL4_CanGrant`.
    pub const GRANT: CapRights = CapRights(1 << Self::GRANT_BIT);
    /// `seL4_CanGrantReply`.
    pub const GRANT_REPLY: CapRights = CapRights(1 << Self::GRANT_REPLY_BIT);
    /// `seL4_ReadWrite`.
    pub const READ_WRITE: CapRights = CapRights(0x3);
    /// `seL4_AllRights`.
    pub const ALL: CapRights = CapRights(0xF);

    /// Builds a rights word from flags (`seL4_CapRights_new(grant_reply, grant, read, write)`).
    pub const fn new(grant_reply: bool, grant: bool, read: bool, write: bool) -> Self {
        CapRights(
            ((grant_reply as u64) << Self::GRANT_REPLY_BIT)
                | ((grant as u64) << Self::GRANT_BIT)
                | ((read as u64) << Self::READ_BIT)
                | ((write as u64) << Self::WRITE_BIT),
        )
    }

    /// Rights from a raw word; bits above GrantReply are dropped.
    pub const fn from_word(word: u64) -> Self {
        CapRights(word & 0xF)
    }

    /// The word passed to the kernel.
    pub const fn word(self) -> u64 {
        self.0
    }

    /// The rights in either set.
    pub const fn union(self, other: CapRights) -> Self {
        CapRights(self.0 | other.0)
    }

    /// True if every right of `other` is in `self`.
    pub const fn contains(self, other: CapRights) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Debug for CapRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(Self::WRITE, "W"), (Self::READ, "R"), (Self::GRANT, "G")];
        write!(f, "CapRights(")?;
        for (r, n) in names {
            if self.contains(r) {
                write!(f, "{n}")?;
            }
        }
        if self.contains(Self::GRANT_REPLY) {
            write!(f, "GR")?;
        }
        write!(f, ")")
    }
}

/// CNode guard data (`seL4_CNode_CapData`): guardSize in bits 5..0, guard in bits 63..6.
///
/// Passed as the `badge` word of `CNode_Mint` on a CNode cap, or as `cspace_root_data` of
/// `TCB_Configure`/`TCB_SetSpace`. A single-level CNode of radix `r` must get guard size
/// `64 - r` so that every slot resolves at depth 64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct CNodeCapData(u64);

impl CNodeCapData {
    /// Width of the guardSize field (`seL4_GuardSizeBits`).
    pub const GUARD_SIZE_BITS: u32 = 6;
    /// Width of the guard field (`seL4_GuardBits`).
    pub const GUARD_BITS: u32 = 58;

    /// Packs a guard and its size; both fields are masked to their widths.
    pub const fn new(guard: u64, guard_size: u64) -> Self {
        CNodeCapData(
            (field(guard, Self::GUARD_BITS) << Self::GUARD_SIZE_BITS)
                | field(guard_size, Self::GUARD_SIZE_BITS),
        )
    }

    /// Guard data that makes a CNode of `radix_bits` slots resolve at depth 64 (guard 0).
    ///
    /// Returns `None` when `radix_bits` is 0 or above 64 (no such CNode exists).
    pub const fn for_single_level(radix_bits: u32) -> Option<Self> {
        if radix_bits == 0 || radix_bits > 64 {
            return None;
        }
        Some(Self::new(0, (64 - radix_bits) as u64))
    }

    /// The packed word.
    pub const fn word(self) -> u64 {
        self.0
    }

    /// The guard value.
    pub const fn guard(self) -> u64 {
        self.0 >> Self::GUARD_SIZE_BITS
    }

    /// The guard size in bits.
    pub const fn guard_size(self) -> u64 {
        field(self.0, Self::GUARD_SIZE_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::{CNodeCapData, CapRights, MessageInfo};

    #[test]
    fn message_info_packs_fields_at_their_bits() {
        let info = MessageInfo::new(0x1, 0, 0, 0);
        assert_eq!(info.word(), 1 << 12);
        assert_eq!(MessageInfo::new(0, 0b101, 0, 0).word(), 0b101 << 9);
        assert_eq!(MessageInfo::new(0, 0, 3, 0).word(), 3 << 7);
        assert_eq!(MessageInfo::new(0, 0, 0, 120).word(), 120);
        // Label UntypedRetype (1), 1 cap, 6 words: the exact word libsel4 builds.
        assert_eq!(MessageInfo::new(1, 0, 1, 6).word(), 0x1086);
    }

    #[test]
    fn message_info_round_trips_and_masks() {
        let info = MessageInfo::new((1 << 52) - 1, 7, 3, 127);
        assert_eq!(info.word(), u64::MAX);
        assert_eq!(info.label(), (1 << 52) - 1);
        assert_eq!(
            (info.caps_unwrapped(), info.extra_caps(), info.length()),
            (7, 3, 127)
        );
        // Oversized fields are masked, never spilling into neighbours.
        let masked = MessageInfo::new(1 << 52, 8, 4, 128);
        assert_eq!(masked.word(), 0);
        let w = MessageInfo::from_word(0xABCD_E000 | (2 << 9) | (1 << 7) | 5);
        assert_eq!(
            (w.label(), w.caps_unwrapped(), w.extra_caps(), w.length()),
            (0xABCDE, 2, 1, 5)
        );
    }

    #[test]
    fn rights_words_match_sel4_constants() {
        assert_eq!(CapRights::WRITE.word(), 0x1);
        assert_eq!(CapRights::READ.word(), 0x2);
        assert_eq!(CapRights::GRANT.word(), 0x4);
        assert_eq!(CapRights::GRANT_REPLY.word(), 0x8);
        assert_eq!(CapRights::ALL.word(), 0xF);
        assert_eq!(CapRights::new(true, false, true, true).word(), 0xB);
        assert_eq!(
            CapRights::new(false, false, true, true),
            CapRights::READ_WRITE
        );
        assert_eq!(CapRights::from_word(0xFF), CapRights::ALL);
        assert!(CapRights::ALL.contains(CapRights::GRANT));
        assert!(!CapRights::READ.contains(CapRights::READ_WRITE));
        assert_eq!(
            CapRights::READ.union(CapRights::WRITE),
            CapRights::READ_WRITE
        );
    }

    #[test]
    fn cnode_guard_data_layout() {
        let d = CNodeCapData::new(0x5, 52);
        assert_eq!(d.word(), (0x5 << 6) | 52);
        assert_eq!((d.guard(), d.guard_size()), (0x5, 52));
        assert_eq!(
            CNodeCapData::for_single_level(12).map(|d| d.word()),
            Some(52)
        );
        assert_eq!(
            CNodeCapData::for_single_level(3).map(|d| d.word()),
            Some(61)
        );
        assert_eq!(CNodeCapData::for_single_level(0), None);
        assert_eq!(CNodeCapData::for_single_level(65), None);
        assert_eq!(
            CNodeCapData::new(0, 64).guard_size(),
            0,
            "64 does not fit 6 bits"
        );
    }
}
