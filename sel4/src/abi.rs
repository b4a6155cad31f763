//! Syscall numbers and invocation labels of the supported kernel configuration.
//!
//! Values hold for aarch64, non-MCS, non-SMP, no SMMU, no hardware-debug API (the configuration
//! `sel4-build::check_config` accepts); `sel4-build`'s ABI test compares each one, by its C name,
//! with the installed headers.

/// A syscall number, passed in x7 (`seL4_Syscall_ID`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(i64)]
pub enum Syscall {
    /// `seL4_SysCall`: send, then wait for the reply.
    Call = -1,
    /// `seL4_SysReplyRecv`: reply to the caller, then receive.
    ReplyRecv = -2,
    /// `seL4_SysSend`: blocking send (also Signal on a notification).
    Send = -3,
    /// `seL4_SysNBSend`: non-blocking send (dropped if no receiver is waiting).
    NBSend = -4,
    /// `seL4_SysRecv`: blocking receive (also Wait on a notification).
    Recv = -5,
    /// `seL4_SysReply`: reply through the caller slot.
    Reply = -6,
    /// `seL4_SysYield`: give up the rest of the time slice.
    Yield = -7,
    /// `seL4_SysNBRecv`: non-blocking receive (Poll on a notification).
    NBRecv = -8,
    /// `seL4_SysDebugPutChar` (PRINTING builds only).
    DebugPutChar = -9,
    /// `seL4_SysDebugDumpScheduler` (PRINTING builds only).
    DebugDumpScheduler = -10,
    /// `seL4_SysDebugHalt` (DEBUG builds only): stops the whole machine.
    DebugHalt = -11,
    /// `seL4_SysDebugCapIdentify` (DEBUG builds only).
    DebugCapIdentify = -12,
    /// `seL4_SysDebugSnapshot` (DEBUG builds only).
    DebugSnapshot = -13,
    /// `seL4_SysDebugNameThread` (DEBUG builds only).
    DebugNameThread = -14,
}

impl Syscall {
    /// Every syscall, in number order.
    pub const ALL: [Syscall; 14] = [
        Syscall::Call,
        Syscall::ReplyRecv,
        Syscall::Send,
        Syscall::NBSend,
        Syscall::Recv,
        Syscall::Reply,
        Syscall::Yield,
        Syscall::NBRecv,
        Syscall::DebugPutChar,
        Syscall::DebugDumpScheduler,
        Syscall::DebugHalt,
        Syscall::DebugCapIdentify,
        Syscall::DebugSnapshot,
        Syscall::DebugNameThread,
    ];

    /// The value for x7.
    pub const fn number(self) -> i64 {
        self as i64
    }

    /// The libsel4 name, e.g. `seL4_SysCall`.
    pub const fn c_name(self) -> &'static str {
        match self {
            Syscall::Call => "seL4_SysCall",
            Syscall::ReplyRecv => "seL4_SysReplyRecv",
            Syscall::Send => "seL4_SysSend",
            Syscall::NBSend => "seL4_SysNBSend",
            Syscall::Recv => "seL4_SysRecv",
            Syscall::Reply => "seL4_SysReply",
            Syscall::Yield => "seL4_SysYield",
            Syscall::NBRecv => "seL4_SysNBRecv",
            Syscall::DebugPutChar => "seL4_SysDebugPutChar",
            Syscall::DebugDumpScheduler => "seL4_SysDebugDumpScheduler",
            Syscall::DebugHalt => "seL4_SysDebugHalt",
            Syscall::DebugCapIdentify => "seL4_SysDebugCapIdentify",
            Syscall::DebugSnapshot => "seL4_SysDebugSnapshot",
            Syscall::DebugNameThread => "seL4_SysDebugNameThread",
        }
    }
}

macro_rules! labels {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// An invocation label (the label of the message-info word of an invocation).
        ///
        /// Only the labels the project uses or that sit between them are listed; the C names
        /// are the generated enumerators of `sel4/invocation.h`, `sel4/sel4_arch/invocation.h`
        /// and `sel4/arch/invocation.h`.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u64)]
        #[allow(non_camel_case_types)] // variant names are the C enumerators
        pub enum InvocationLabel {
            $($(#[$doc])* $name = $value,)*
        }

        impl InvocationLabel {
            /// Every listed label.
            pub const ALL: &'static [InvocationLabel] = &[$(InvocationLabel::$name,)*];

            /// The enumerator name in the generated headers, e.g. `UntypedRetype`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(InvocationLabel::$name => stringify!($name),)*
                }
            }
        }
    };
}

labels! {
    /// `seL4_Untyped_Retype`.
    UntypedRetype = 1,
    /// `seL4_TCB_ReadRegisters`.
    TCBReadRegisters = 2,
    /// `seL4_TCB_WriteRegisters`.
    TCBWriteRegisters = 3,
    /// `seL4_TCB_CopyRegisters`.
    TCBCopyRegisters = 4,
    /// `seL4_TCB_Configure`.
    TCBConfigure = 5,
    /// `seL4_TCB_SetPriority`.
    TCBSetPriority = 6,
    /// `seL4_TCB_SetMCPriority`.
    TCBSetMCPriority = 7,
    /// `seL4_TCB_SetSchedParams`.
    TCBSetSchedParams = 8,
    /// `seL4_TCB_SetIPCBuffer`.
    TCBSetIPCBuffer = 9,
    /// `seL4_TCB_SetSpace`.
    TCBSetSpace = 10,
    /// `seL4_TCB_Suspend`.
    TCBSuspend = 11,
    /// `seL4_TCB_Resume`.
    TCBResume = 12,
    /// `seL4_TCB_BindNotification`.
    TCBBindNotification = 13,
    /// `seL4_TCB_UnbindNotification`.
    TCBUnbindNotification = 14,
    /// `seL4_TCB_SetTLSBase`.
    TCBSetTLSBase = 15,
    /// `seL4_TCB_SetFlags`.
    TCBSetFlags = 16,
    /// `seL4_CNode_Revoke`.
    CNodeRevoke = 17,
    /// `seL4_CNode_Delete`.
    CNodeDelete = 18,
    /// `seL4_CNode_CancelBadgedSends`.
    CNodeCancelBadgedSends = 19,
    /// `seL4_CNode_Copy`.
    CNodeCopy = 20,
    /// `seL4_CNode_Mint`.
    CNodeMint = 21,
    /// `seL4_CNode_Move`.
    CNodeMove = 22,
    /// `seL4_CNode_Mutate`.
    CNodeMutate = 23,
    /// `seL4_CNode_Rotate`.
    CNodeRotate = 24,
    /// `seL4_CNode_SaveCaller`.
    CNodeSaveCaller = 25,
    /// `seL4_IRQControl_Get`.
    IRQIssueIRQHandler = 26,
    /// `seL4_IRQHandler_Ack`.
    IRQAckIRQ = 27,
    /// `seL4_IRQHandler_SetNotification`.
    IRQSetIRQHandler = 28,
    /// `seL4_IRQHandler_Clear`.
    IRQClearIRQHandler = 29,
    /// `seL4_DomainSet_Set`.
    DomainSetSet = 30,
    /// `seL4_ARM_VSpace_Clean_Data`.
    ARMVSpaceClean_Data = 33,
    /// `seL4_ARM_VSpace_Invalidate_Data`.
    ARMVSpaceInvalidate_Data = 34,
    /// `seL4_ARM_VSpace_CleanInvalidate_Data`.
    ARMVSpaceCleanInvalidate_Data = 35,
    /// `seL4_ARM_VSpace_Unify_Instruction`.
    ARMVSpaceUnify_Instruction = 36,
    /// `seL4_ARM_SMC_Call`.
    ARMSMCCall = 37,
    /// `seL4_ARM_PageTable_Map`.
    ARMPageTableMap = 38,
    /// `seL4_ARM_PageTable_Unmap`.
    ARMPageTableUnmap = 39,
    /// `seL4_ARM_Page_Map`.
    ARMPageMap = 40,
    /// `seL4_ARM_Page_Unmap`.
    ARMPageUnmap = 41,
    /// `seL4_ARM_Page_Clean_Data`.
    ARMPageClean_Data = 42,
    /// `seL4_ARM_Page_Invalidate_Data`.
    ARMPageInvalidate_Data = 43,
    /// `seL4_ARM_Page_CleanInvalidate_Data`.
    ARMPageCleanInvalidate_Data = 44,
    /// `seL4_ARM_Page_Unify_Instruction`.
    ARMPageUnify_Instruction = 45,
    /// `seL4_ARM_Page_GetAddress`.
    ARMPageGetAddress = 46,
    /// `seL4_ARM_ASIDControl_MakePool`.
    ARMASIDControlMakePool = 47,
    /// `seL4_ARM_ASIDPool_Assign`.
    ARMASIDPoolAssign = 48,
    /// `seL4_ARM_VCPU_SetTCB`.
    ARMVCPUSetTCB = 49,
    /// `seL4_ARM_VCPU_InjectIRQ`.
    ARMVCPUInjectIRQ = 50,
    /// `seL4_ARM_VCPU_ReadRegs`.
    ARMVCPUReadReg = 51,
    /// `seL4_ARM_VCPU_WriteRegs`.
    ARMVCPUWriteReg = 52,
    /// `seL4_ARM_VCPU_AckVPPI`.
    ARMVCPUAckVPPI = 53,
    /// `seL4_IRQControl_GetTrigger`.
    ARMIRQIssueIRQHandlerTrigger = 54,
}

impl InvocationLabel {
    /// The label value for the message-info word.
    pub const fn value(self) -> u64 {
        self as u64
    }
}

#[cfg(test)]
mod tests {
    use super::{InvocationLabel, Syscall};

    #[test]
    fn syscall_numbers_are_dense_and_negative() {
        for (i, s) in Syscall::ALL.iter().enumerate() {
            assert_eq!(s.number(), -(i as i64) - 1, "{}", s.c_name());
        }
    }

    #[test]
    fn labels_are_strictly_increasing() {
        let values: std::vec::Vec<u64> = InvocationLabel::ALL.iter().map(|l| l.value()).collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(InvocationLabel::ARMVCPUSetTCB.value(), 49);
        assert_eq!(InvocationLabel::ARMVCPUSetTCB.c_name(), "ARMVCPUSetTCB");
    }
}
