//! Every scalar ABI constant of this crate under its libsel4 name, for `sel4-build`'s ABI
//! comparison with the installed headers. Enumerated values (syscalls, labels, object types,
//! VCPU registers, errors) are compared through their own `ALL`/`c_name` tables instead.

use crate::bootinfo::boot_info_size;
use crate::bootinfo::{EXTRA_ID_FDT, EXTRA_ID_PADDING, MAX_BOOTINFO_UNTYPEDS, UNTYPED_DESC_SIZE};
use crate::config::Config;
use crate::error::NUM_ERRORS;
use crate::fault::{
    cap_fault, label, unknown_syscall, user_exception, vcpu_fault, vgic_maintenance, vm_fault,
    vppi_event,
};
use crate::message::{
    CNodeCapData, FAST_MESSAGE_REGISTERS, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH, MessageInfo,
};
use crate::object::{
    ASID_POOL_BITS, ASID_POOL_INDEX_BITS, BADGE_BITS, ENDPOINT_BITS, HUGE_PAGE_BITS,
    IPC_BUFFER_SIZE_BITS, LARGE_PAGE_BITS, MAX_UNTYPED_BITS, MIN_SCHED_CONTEXT_BITS,
    MIN_UNTYPED_BITS, NUM_ASID_POOLS_BITS, PAGE_BITS, PAGE_TABLE_BITS, PAGE_TABLE_INDEX_BITS,
    REPLY_BITS, SLOT_BITS, TCB_BITS, USER_TOP, VCPU_BITS, VSPACE_BITS, VSPACE_INDEX_BITS,
    VmAttributes, notification_bits, object_type_count,
};
use crate::user_context::VCPU_REG_NUM;

/// Number of entries of [`constants`].
pub const CONSTANT_COUNT: usize = 76;

/// (libsel4 name, value) of every scalar constant every configuration has, as `config` defines
/// it.
pub const fn constants(config: Config) -> [(&'static str, u64); CONSTANT_COUNT] {
    let labels = label::in_config(config);
    [
        ("seL4_PageBits", PAGE_BITS as u64),
        ("seL4_LargePageBits", LARGE_PAGE_BITS as u64),
        ("seL4_HugePageBits", HUGE_PAGE_BITS as u64),
        ("seL4_SlotBits", SLOT_BITS as u64),
        ("seL4_TCBBits", TCB_BITS as u64),
        ("seL4_EndpointBits", ENDPOINT_BITS as u64),
        ("seL4_NotificationBits", notification_bits(config) as u64),
        ("seL4_PageTableBits", PAGE_TABLE_BITS as u64),
        ("seL4_PageTableIndexBits", PAGE_TABLE_INDEX_BITS as u64),
        ("seL4_VSpaceBits", VSPACE_BITS as u64),
        ("seL4_VSpaceIndexBits", VSPACE_INDEX_BITS as u64),
        ("seL4_VCPUBits", VCPU_BITS as u64),
        ("seL4_ASIDPoolBits", ASID_POOL_BITS as u64),
        ("seL4_NumASIDPoolsBits", NUM_ASID_POOLS_BITS as u64),
        ("seL4_ASIDPoolIndexBits", ASID_POOL_INDEX_BITS as u64),
        ("seL4_MinUntypedBits", MIN_UNTYPED_BITS as u64),
        ("seL4_MaxUntypedBits", MAX_UNTYPED_BITS as u64),
        ("seL4_IPCBufferSizeBits", IPC_BUFFER_SIZE_BITS as u64),
        ("seL4_BadgeBits", BADGE_BITS as u64),
        ("seL4_GuardSizeBits", CNodeCapData::GUARD_SIZE_BITS as u64),
        ("seL4_GuardBits", CNodeCapData::GUARD_BITS as u64),
        ("seL4_UserTop", USER_TOP),
        ("seL4_MsgMaxLength", MSG_MAX_LENGTH as u64),
        ("seL4_MsgMaxExtraCaps", MSG_MAX_EXTRA_CAPS as u64),
        ("seL4_MsgLengthBits", MessageInfo::LENGTH_BITS as u64),
        ("seL4_MsgExtraCapBits", MessageInfo::EXTRA_CAPS_BITS as u64),
        ("seL4_FastMessageRegisters", FAST_MESSAGE_REGISTERS as u64),
        ("seL4_NumErrors", NUM_ERRORS),
        ("seL4_ObjectTypeCount", object_type_count(config)),
        ("seL4_VCPUReg_Num", VCPU_REG_NUM),
        ("seL4_ARM_PageCacheable", VmAttributes::CACHEABLE.word()),
        (
            "seL4_ARM_ParityEnabled",
            VmAttributes::PARITY_ENABLED.word(),
        ),
        (
            "seL4_ARM_Default_VMAttributes",
            VmAttributes::DEFAULT.word(),
        ),
        ("seL4_ARM_ExecuteNever", VmAttributes::EXECUTE_NEVER.word()),
        (
            "CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS",
            MAX_BOOTINFO_UNTYPEDS as u64,
        ),
        ("SEL4_BOOTINFO_HEADER_PADDING", EXTRA_ID_PADDING),
        ("SEL4_BOOTINFO_HEADER_FDT", EXTRA_ID_FDT),
        ("sizeof(seL4_BootInfo)", boot_info_size(config) as u64),
        ("sizeof(seL4_UntypedDesc)", UNTYPED_DESC_SIZE as u64),
        ("seL4_Fault_NullFault", label::NULL_FAULT),
        ("seL4_Fault_CapFault", label::CAP_FAULT),
        ("seL4_Fault_UnknownSyscall", label::UNKNOWN_SYSCALL),
        ("seL4_Fault_UserException", label::USER_EXCEPTION),
        ("seL4_Fault_VMFault", labels.vm_fault),
        ("seL4_Fault_VGICMaintenance", labels.vgic_maintenance),
        ("seL4_Fault_VCPUFault", labels.vcpu_fault),
        ("seL4_Fault_VPPIEvent", labels.vppi_event),
        ("seL4_VMFault_IP", vm_fault::IP as u64),
        ("seL4_VMFault_Addr", vm_fault::ADDR as u64),
        (
            "seL4_VMFault_PrefetchFault",
            vm_fault::PREFETCH_FAULT as u64,
        ),
        ("seL4_VMFault_FSR", vm_fault::FSR as u64),
        ("seL4_VMFault_Length", vm_fault::LENGTH as u64),
        ("seL4_UnknownSyscall_X0", unknown_syscall::X0 as u64),
        (
            "seL4_UnknownSyscall_FaultIP",
            unknown_syscall::FAULT_IP as u64,
        ),
        ("seL4_UnknownSyscall_SP", unknown_syscall::SP as u64),
        ("seL4_UnknownSyscall_LR", unknown_syscall::LR as u64),
        ("seL4_UnknownSyscall_SPSR", unknown_syscall::SPSR as u64),
        (
            "seL4_UnknownSyscall_Syscall",
            unknown_syscall::SYSCALL as u64,
        ),
        ("seL4_UnknownSyscall_Length", unknown_syscall::LENGTH as u64),
        (
            "seL4_UserException_FaultIP",
            user_exception::FAULT_IP as u64,
        ),
        ("seL4_UserException_SP", user_exception::SP as u64),
        ("seL4_UserException_SPSR", user_exception::SPSR as u64),
        ("seL4_UserException_Number", user_exception::NUMBER as u64),
        ("seL4_UserException_Code", user_exception::CODE as u64),
        ("seL4_UserException_Length", user_exception::LENGTH as u64),
        ("seL4_CapFault_IP", cap_fault::IP as u64),
        ("seL4_CapFault_Addr", cap_fault::ADDR as u64),
        ("seL4_CapFault_InRecvPhase", cap_fault::IN_RECV_PHASE as u64),
        (
            "seL4_CapFault_LookupFailureType",
            cap_fault::LOOKUP_FAILURE_TYPE as u64,
        ),
        ("seL4_CapFault_BitsLeft", cap_fault::BITS_LEFT as u64),
        ("seL4_VGICMaintenance_IDX", vgic_maintenance::IDX as u64),
        (
            "seL4_VGICMaintenance_Length",
            vgic_maintenance::LENGTH as u64,
        ),
        ("seL4_VCPUFault_HSR", vcpu_fault::HSR as u64),
        ("seL4_VCPUFault_Length", vcpu_fault::LENGTH as u64),
        ("seL4_VPPIEvent_IRQ", vppi_event::IRQ as u64),
        ("seL4_VPPIEvent_Length", vppi_event::LENGTH as u64),
    ]
}

/// (libsel4 name, value) of the constants only MCS kernels define.
pub const MCS_CONSTANTS: [(&str, u64); 3] = [
    ("seL4_Fault_Timeout", 5),
    ("seL4_MinSchedContextBits", MIN_SCHED_CONTEXT_BITS as u64),
    ("seL4_ReplyBits", REPLY_BITS as u64),
];
