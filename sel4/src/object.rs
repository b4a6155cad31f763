//! Object types for `Untyped_Retype`, object sizes, VM attributes and the initial cap slots.
//!
//! Sizes hold for aarch64, hypervisor, PA44 (the PA40 build differs in `VSPACE_BITS` (13) and
//! `USER_TOP`); where MCS differs, a `const fn` of the [`Config`] gives the value.

use crate::config::{CONFIG, Config};

/// `seL4_PageBits`: a small frame is 4 KiB.
pub const PAGE_BITS: u32 = 12;
/// `seL4_LargePageBits`: a large frame is 2 MiB.
pub const LARGE_PAGE_BITS: u32 = 21;
/// `seL4_HugePageBits`: a huge frame is 1 GiB.
pub const HUGE_PAGE_BITS: u32 = 30;
/// `seL4_SlotBits`: one CNode slot is 32 bytes.
pub const SLOT_BITS: u32 = 5;
/// `seL4_TCBBits`.
pub const TCB_BITS: u32 = 11;
/// `seL4_EndpointBits`.
pub const ENDPOINT_BITS: u32 = 4;
/// `seL4_NotificationBits` of `config` (32 bytes; 64 on MCS).
pub const fn notification_bits(config: Config) -> u32 {
    if config.mcs { 6 } else { 5 }
}
/// `seL4_NotificationBits` for the configuration this crate is built for.
pub const NOTIFICATION_BITS: u32 = notification_bits(CONFIG);
/// `seL4_ReplyBits` (MCS): a reply object is 32 bytes.
pub const REPLY_BITS: u32 = 5;
/// `seL4_MinSchedContextBits` (MCS): a scheduling context with no extra refills.
pub const MIN_SCHED_CONTEXT_BITS: u32 = 7;
/// `seL4_PageTableBits`.
pub const PAGE_TABLE_BITS: u32 = 12;
/// `seL4_PageTableIndexBits`: 512 entries per table.
pub const PAGE_TABLE_INDEX_BITS: u32 = 9;
/// `seL4_VSpaceBits` (12 on PA44; 13 on PA40).
pub const VSPACE_BITS: u32 = 12;
/// `seL4_VSpaceIndexBits` (9 on PA44; 10 on PA40).
pub const VSPACE_INDEX_BITS: u32 = 9;
/// `seL4_VCPUBits`.
pub const VCPU_BITS: u32 = 12;
/// `seL4_ASIDPoolBits`: the untyped given to `ASIDControl_MakePool` must be this size.
pub const ASID_POOL_BITS: u32 = 12;
/// `seL4_MinUntypedBits`.
pub const MIN_UNTYPED_BITS: u32 = 4;
/// `seL4_MaxUntypedBits`.
pub const MAX_UNTYPED_BITS: u32 = 47;
/// `seL4_IPCBufferSizeBits`: the IPC buffer is 1 KiB and must be 1 KiB aligned.
pub const IPC_BUFFER_SIZE_BITS: u32 = 10;
/// `seL4_BadgeBits`: endpoint and notification badges are full words.
pub const BADGE_BITS: u32 = 64;
/// `seL4_UserTop` (PA44): highest user virtual address (inclusive).
pub const USER_TOP: u64 = 0x0000_0fff_ffff_ffff;
/// `seL4_NumASIDPoolsBits`: at most 128 ASID pools.
pub const NUM_ASID_POOLS_BITS: u32 = 7;
/// `seL4_ASIDPoolIndexBits`: 512 ASIDs per pool.
pub const ASID_POOL_INDEX_BITS: u32 = 9;

/// An object type for `Untyped_Retype` (`seL4_ObjectType` + the ARM extensions). Numbers
/// depend on the configuration ([`ObjectType::value_in`]): MCS inserts SchedContext and Reply.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ObjectType {
    /// `seL4_UntypedObject`: size_bits = log2 bytes.
    Untyped,
    /// `seL4_TCBObject`.
    Tcb,
    /// `seL4_EndpointObject`.
    Endpoint,
    /// `seL4_NotificationObject`.
    Notification,
    /// `seL4_CapTableObject` (a CNode): size_bits = log2 slots.
    CNode,
    /// `seL4_SchedContextObject` (MCS): size_bits = log2 bytes, at least [`MIN_SCHED_CONTEXT_BITS`].
    SchedContext,
    /// `seL4_ReplyObject` (MCS).
    Reply,
    /// `seL4_ARM_HugePageObject` (1 GiB frame).
    HugePage,
    /// `seL4_ARM_VSpaceObject` (stage-2 root table).
    VSpace,
    /// `seL4_ARM_SmallPageObject` (4 KiB frame).
    SmallPage,
    /// `seL4_ARM_LargePageObject` (2 MiB frame).
    LargePage,
    /// `seL4_ARM_PageTableObject`.
    PageTable,
    /// `seL4_ARM_VCPUObject`.
    Vcpu,
}

/// `seL4_ObjectTypeCount` of `config`.
pub const fn object_type_count(config: Config) -> u64 {
    if config.mcs { 13 } else { 11 }
}

/// `seL4_ObjectTypeCount` for the configuration this crate is built for.
pub const OBJECT_TYPE_COUNT: u64 = object_type_count(CONFIG);

impl ObjectType {
    /// Every type of any configuration, in MCS number order.
    pub const ALL: [ObjectType; 13] = [
        ObjectType::Untyped,
        ObjectType::Tcb,
        ObjectType::Endpoint,
        ObjectType::Notification,
        ObjectType::CNode,
        ObjectType::SchedContext,
        ObjectType::Reply,
        ObjectType::HugePage,
        ObjectType::VSpace,
        ObjectType::SmallPage,
        ObjectType::LargePage,
        ObjectType::PageTable,
        ObjectType::Vcpu,
    ];

    /// The type number passed to `Untyped_Retype` in `config`, or `None` if that configuration
    /// has no such object.
    pub const fn value_in(self, config: Config) -> Option<u64> {
        match (self, config.mcs) {
            (ObjectType::Untyped, false) => Some(0),
            (ObjectType::Untyped, true) => Some(0),
            (ObjectType::Tcb, false) => Some(1),
            (ObjectType::Tcb, true) => Some(1),
            (ObjectType::Endpoint, false) => Some(2),
            (ObjectType::Endpoint, true) => Some(2),
            (ObjectType::Notification, false) => Some(3),
            (ObjectType::Notification, true) => Some(3),
            (ObjectType::CNode, false) => Some(4),
            (ObjectType::CNode, true) => Some(4),
            (ObjectType::SchedContext, false) => None,
            (ObjectType::SchedContext, true) => Some(5),
            (ObjectType::Reply, false) => None,
            (ObjectType::Reply, true) => Some(6),
            (ObjectType::HugePage, false) => Some(5),
            (ObjectType::HugePage, true) => Some(7),
            (ObjectType::VSpace, false) => Some(6),
            (ObjectType::VSpace, true) => Some(8),
            (ObjectType::SmallPage, false) => Some(7),
            (ObjectType::SmallPage, true) => Some(9),
            (ObjectType::LargePage, false) => Some(8),
            (ObjectType::LargePage, true) => Some(10),
            (ObjectType::PageTable, false) => Some(9),
            (ObjectType::PageTable, true) => Some(11),
            (ObjectType::Vcpu, false) => Some(10),
            (ObjectType::Vcpu, true) => Some(12),
        }
    }

    /// The type number in the configuration this crate is built for; for a type it lacks,
    /// [`OBJECT_TYPE_COUNT`] (an invalid type, refused by the kernel).
    pub const fn value(self) -> u64 {
        match self.value_in(CONFIG) {
            Some(v) => v,
            None => OBJECT_TYPE_COUNT,
        }
    }

    /// The libsel4 name, e.g. `seL4_ARM_VCPUObject`.
    pub const fn c_name(self) -> &'static str {
        match self {
            ObjectType::Untyped => "seL4_UntypedObject",
            ObjectType::Tcb => "seL4_TCBObject",
            ObjectType::Endpoint => "seL4_EndpointObject",
            ObjectType::Notification => "seL4_NotificationObject",
            ObjectType::CNode => "seL4_CapTableObject",
            ObjectType::SchedContext => "seL4_SchedContextObject",
            ObjectType::Reply => "seL4_ReplyObject",
            ObjectType::HugePage => "seL4_ARM_HugePageObject",
            ObjectType::VSpace => "seL4_ARM_VSpaceObject",
            ObjectType::SmallPage => "seL4_ARM_SmallPageObject",
            ObjectType::LargePage => "seL4_ARM_LargePageObject",
            ObjectType::PageTable => "seL4_ARM_PageTableObject",
            ObjectType::Vcpu => "seL4_ARM_VCPUObject",
        }
    }

    /// Log2 of the object size in bytes; `size_bits` is the Retype argument, used only by the
    /// variable-size types (Untyped: log2 bytes; CNode: log2 slots).
    ///
    /// Returns `None` when the result would not fit a word (the kernel rejects such sizes).
    pub const fn object_size_bits(self, size_bits: u32) -> Option<u32> {
        let bits = match self {
            ObjectType::Untyped => size_bits,
            ObjectType::Tcb => TCB_BITS,
            ObjectType::Endpoint => ENDPOINT_BITS,
            ObjectType::Notification => NOTIFICATION_BITS,
            ObjectType::SchedContext => size_bits,
            ObjectType::Reply => REPLY_BITS,
            ObjectType::CNode => match size_bits.checked_add(SLOT_BITS) {
                Some(b) => b,
                None => return None,
            },
            ObjectType::HugePage => HUGE_PAGE_BITS,
            ObjectType::VSpace => VSPACE_BITS,
            ObjectType::SmallPage => PAGE_BITS,
            ObjectType::LargePage => LARGE_PAGE_BITS,
            ObjectType::PageTable => PAGE_TABLE_BITS,
            ObjectType::Vcpu => VCPU_BITS,
        };
        if bits < 64 { Some(bits) } else { None }
    }
}

/// ARM VM attributes for `Page_Map`/`PageTable_Map` (`seL4_ARM_VMAttributes`).
///
/// 0 maps the frame uncached (Device-nGnRnE at stage 2); use 0 or `EXECUTE_NEVER` for MMIO.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct VmAttributes(u64);

impl VmAttributes {
    /// Uncached, executable (device memory).
    pub const NONE: VmAttributes = VmAttributes(0);
    /// `seL4_ARM_PageCacheable`.
    pub const CACHEABLE: VmAttributes = VmAttributes(0x1);
    /// `seL4_ARM_ParityEnabled` (ignored on aarch64).
    pub const PARITY_ENABLED: VmAttributes = VmAttributes(0x2);
    /// `seL4_ARM_Default_VMAttributes`: cacheable + parity.
    pub const DEFAULT: VmAttributes = VmAttributes(0x3);
    /// `seL4_ARM_ExecuteNever`.
    pub const EXECUTE_NEVER: VmAttributes = VmAttributes(0x4);

    /// Attributes from a raw word (bits above 2 are kept; the kernel ignores them).
    pub const fn from_word(word: u64) -> Self {
        VmAttributes(word)
    }

    /// The word passed to the kernel.
    pub const fn word(self) -> u64 {
        self.0
    }

    /// Both sets of attributes.
    pub const fn union(self, other: VmAttributes) -> Self {
        VmAttributes(self.0 | other.0)
    }
}

/// Slots of the root task's initial CNode (`seL4_RootCNodeCapSlots`).
pub mod init_slot {
    /// `seL4_CapNull`.
    pub const NULL: u64 = 0;
    /// `seL4_CapInitThreadTCB`.
    pub const TCB: u64 = 1;
    /// `seL4_CapInitThreadCNode` (radix 12, guard size 52: use depth 64).
    pub const CNODE: u64 = 2;
    /// `seL4_CapInitThreadVSpace`.
    pub const VSPACE: u64 = 3;
    /// `seL4_CapIRQControl`.
    pub const IRQ_CONTROL: u64 = 4;
    /// `seL4_CapASIDControl`.
    pub const ASID_CONTROL: u64 = 5;
    /// `seL4_CapInitThreadASIDPool`.
    pub const ASID_POOL: u64 = 6;
    /// `seL4_CapIOPortControl` (null on ARM).
    pub const IO_PORT_CONTROL: u64 = 7;
    /// `seL4_CapIOSpace` (null without an IOMMU).
    pub const IO_SPACE: u64 = 8;
    /// `seL4_CapBootInfoFrame`.
    pub const BOOT_INFO_FRAME: u64 = 9;
    /// `seL4_CapInitThreadIPCBuffer`.
    pub const IPC_BUFFER: u64 = 10;
    /// `seL4_CapDomain`.
    pub const DOMAIN: u64 = 11;
    /// `seL4_CapSMMUSIDControl` (null).
    pub const SMMU_SID_CONTROL: u64 = 12;
    /// `seL4_CapSMMUCBControl` (null).
    pub const SMMU_CB_CONTROL: u64 = 13;
    /// `seL4_CapInitThreadSC` (null on non-MCS).
    pub const SCHED_CONTEXT: u64 = 14;
    /// `seL4_CapSMC` (present when CONFIG_ALLOW_SMC_CALLS).
    pub const SMC: u64 = 15;
    /// `seL4_NumInitialCaps`.
    pub const NUM_INITIAL_CAPS: u64 = 16;

    /// Every slot with its libsel4 name, in slot order.
    pub const NAMED: [(&str, u64); 17] = [
        ("seL4_CapNull", NULL),
        ("seL4_CapInitThreadTCB", TCB),
        ("seL4_CapInitThreadCNode", CNODE),
        ("seL4_CapInitThreadVSpace", VSPACE),
        ("seL4_CapIRQControl", IRQ_CONTROL),
        ("seL4_CapASIDControl", ASID_CONTROL),
        ("seL4_CapInitThreadASIDPool", ASID_POOL),
        ("seL4_CapIOPortControl", IO_PORT_CONTROL),
        ("seL4_CapIOSpace", IO_SPACE),
        ("seL4_CapBootInfoFrame", BOOT_INFO_FRAME),
        ("seL4_CapInitThreadIPCBuffer", IPC_BUFFER),
        ("seL4_CapDomain", DOMAIN),
        ("seL4_CapSMMUSIDControl", SMMU_SID_CONTROL),
        ("seL4_CapSMMUCBControl", SMMU_CB_CONTROL),
        ("seL4_CapInitThreadSC", SCHED_CONTEXT),
        ("seL4_CapSMC", SMC),
        ("seL4_NumInitialCaps", NUM_INITIAL_CAPS),
    ];
}

#[cfg(test)]
mod tests {
    use super::{ObjectType, VmAttributes, init_slot};

    #[test]
    fn object_numbers_are_dense_in_every_configuration() {
        for config in crate::Config::ALL {
            let numbers: std::vec::Vec<u64> = ObjectType::ALL
                .iter()
                .filter_map(|t| t.value_in(config))
                .collect();
            let dense: std::vec::Vec<u64> = (0..super::object_type_count(config)).collect();
            assert_eq!(numbers, dense, "{config:?}");
        }
        assert_eq!(ObjectType::Vcpu.value_in(crate::Config::MCS), Some(12));
        assert_eq!(ObjectType::Reply.value_in(crate::Config::RELEASE), None);
    }

    #[test]
    fn object_sizes() {
        assert_eq!(ObjectType::Tcb.object_size_bits(0), Some(11));
        assert_eq!(ObjectType::CNode.object_size_bits(12), Some(17));
        assert_eq!(ObjectType::Untyped.object_size_bits(20), Some(20));
        assert_eq!(ObjectType::Untyped.object_size_bits(64), None);
        assert_eq!(ObjectType::CNode.object_size_bits(u32::MAX), None);
        assert_eq!(ObjectType::Vcpu.object_size_bits(99), Some(12));
        assert_eq!(ObjectType::LargePage.object_size_bits(0), Some(21));
    }

    #[test]
    fn vm_attributes_and_slots() {
        assert_eq!(VmAttributes::DEFAULT.word(), 3);
        assert_eq!(
            VmAttributes::CACHEABLE
                .union(VmAttributes::EXECUTE_NEVER)
                .word(),
            5
        );
        for (i, (_, slot)) in init_slot::NAMED.iter().enumerate() {
            assert_eq!(*slot, i as u64);
        }
    }
}
