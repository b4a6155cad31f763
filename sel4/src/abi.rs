//! Syscall numbers and invocation labels of every supported kernel configuration
//! ([`Config`]): aarch64, hypervisor, no SMMU, no hardware-debug API, MCS or not, debug or
//! release, one core or several (SMP). `sel4-build`'s ABI test compares each one, by its C name, with the
//! headers of every installed configuration.

use crate::config::{CONFIG, Config};

/// A system call, passed in x7 (`seL4_Syscall_ID`). Which exist, and their numbers, depend on
/// the configuration: see [`Syscall::number_in`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Syscall {
    /// `seL4_SysCall`: send, then wait for the reply.
    Call,
    /// `seL4_SysReplyRecv`: reply to the caller (MCS: through the reply object in x6), then receive.
    ReplyRecv,
    /// `seL4_SysNBSendRecv`: MCS: non-blocking send (x8), then receive with a reply object (x6).
    NBSendRecv,
    /// `seL4_SysNBSendWait`: MCS: non-blocking send (x6), then receive without a reply object.
    NBSendWait,
    /// `seL4_SysSend`: blocking send (also Signal on a notification, and a reply on a reply capability).
    Send,
    /// `seL4_SysNBSend`: non-blocking send (dropped if no receiver is waiting).
    NBSend,
    /// `seL4_SysRecv`: blocking receive (MCS: with a reply object in x6 on an endpoint).
    Recv,
    /// `seL4_SysReply`: non-MCS: reply through the caller slot.
    Reply,
    /// `seL4_SysNBRecv`: non-blocking receive (Poll on a notification).
    NBRecv,
    /// `seL4_SysWait`: MCS: blocking receive without a reply object (non-MCS: use Recv).
    Wait,
    /// `seL4_SysNBWait`: MCS: non-blocking receive without a reply object.
    NBWait,
    /// `seL4_SysYield`: give up the rest of the time slice (MCS: of the budget).
    Yield,
    /// `seL4_SysDebugPutChar`: debug kernels only: print one byte on the kernel console.
    DebugPutChar,
    /// `seL4_SysDebugDumpScheduler`: debug kernels only: dump the scheduler state.
    DebugDumpScheduler,
    /// `seL4_SysDebugHalt`: debug kernels only: stop the whole machine.
    DebugHalt,
    /// `seL4_SysDebugCapIdentify`: debug kernels only: the type of a capability.
    DebugCapIdentify,
    /// `seL4_SysDebugSnapshot`: debug kernels only: dump every capability.
    DebugSnapshot,
    /// `seL4_SysDebugNameThread`: debug kernels only: name a thread in kernel messages.
    DebugNameThread,
    /// `seL4_SysDebugSendIPI`: debug SMP kernels only: send an SGI to a core.
    DebugSendIPI,
    /// `seL4_SysDebugGetThreadAffinity`: debug SMP kernels only: the core a thread runs on.
    DebugGetThreadAffinity,
}

impl Syscall {
    /// Every syscall of any supported configuration.
    pub const ALL: [Syscall; 20] = [
        Syscall::Call,
        Syscall::ReplyRecv,
        Syscall::NBSendRecv,
        Syscall::NBSendWait,
        Syscall::Send,
        Syscall::NBSend,
        Syscall::Recv,
        Syscall::Reply,
        Syscall::NBRecv,
        Syscall::Wait,
        Syscall::NBWait,
        Syscall::Yield,
        Syscall::DebugPutChar,
        Syscall::DebugDumpScheduler,
        Syscall::DebugHalt,
        Syscall::DebugCapIdentify,
        Syscall::DebugSnapshot,
        Syscall::DebugNameThread,
        Syscall::DebugSendIPI,
        Syscall::DebugGetThreadAffinity,
    ];

    /// The value for x7 in `config`, or `None` if that configuration has no such syscall.
    pub const fn number_in(self, config: Config) -> Option<i64> {
        match (self, config.mcs) {
            (Syscall::Call, false) => Some(-1),
            (Syscall::Call, true) => Some(-1),
            (Syscall::ReplyRecv, false) => Some(-2),
            (Syscall::ReplyRecv, true) => Some(-2),
            (Syscall::NBSendRecv, false) => None,
            (Syscall::NBSendRecv, true) => Some(-3),
            (Syscall::NBSendWait, false) => None,
            (Syscall::NBSendWait, true) => Some(-4),
            (Syscall::Send, false) => Some(-3),
            (Syscall::Send, true) => Some(-5),
            (Syscall::NBSend, false) => Some(-4),
            (Syscall::NBSend, true) => Some(-6),
            (Syscall::Recv, false) => Some(-5),
            (Syscall::Recv, true) => Some(-7),
            (Syscall::Reply, false) => Some(-6),
            (Syscall::Reply, true) => None,
            (Syscall::NBRecv, false) => Some(-8),
            (Syscall::NBRecv, true) => Some(-8),
            (Syscall::Wait, false) => None,
            (Syscall::Wait, true) => Some(-9),
            (Syscall::NBWait, false) => None,
            (Syscall::NBWait, true) => Some(-10),
            (Syscall::Yield, false) => Some(-7),
            (Syscall::Yield, true) => Some(-11),
            (Syscall::DebugPutChar, false) => {
                if config.debug {
                    Some(-9)
                } else {
                    None
                }
            }
            (Syscall::DebugPutChar, true) => {
                if config.debug {
                    Some(-12)
                } else {
                    None
                }
            }
            (Syscall::DebugDumpScheduler, false) => {
                if config.debug {
                    Some(-10)
                } else {
                    None
                }
            }
            (Syscall::DebugDumpScheduler, true) => {
                if config.debug {
                    Some(-13)
                } else {
                    None
                }
            }
            (Syscall::DebugHalt, false) => {
                if config.debug {
                    Some(-11)
                } else {
                    None
                }
            }
            (Syscall::DebugHalt, true) => {
                if config.debug {
                    Some(-14)
                } else {
                    None
                }
            }
            (Syscall::DebugCapIdentify, false) => {
                if config.debug {
                    Some(-12)
                } else {
                    None
                }
            }
            (Syscall::DebugCapIdentify, true) => {
                if config.debug {
                    Some(-15)
                } else {
                    None
                }
            }
            (Syscall::DebugSnapshot, false) => {
                if config.debug {
                    Some(-13)
                } else {
                    None
                }
            }
            (Syscall::DebugSnapshot, true) => {
                if config.debug {
                    Some(-16)
                } else {
                    None
                }
            }
            (Syscall::DebugNameThread, false) => {
                if config.debug {
                    Some(-14)
                } else {
                    None
                }
            }
            (Syscall::DebugNameThread, true) => {
                if config.debug {
                    Some(-17)
                } else {
                    None
                }
            }
            (Syscall::DebugSendIPI, mcs) => {
                if config.debug && config.smp {
                    Some(if mcs { -18 } else { -15 })
                } else {
                    None
                }
            }
            (Syscall::DebugGetThreadAffinity, mcs) => {
                if config.debug && config.smp {
                    Some(if mcs { -19 } else { -16 })
                } else {
                    None
                }
            }
        }
    }

    /// The value for x7 in the configuration this crate is built for ([`CONFIG`]), or `None`
    /// if that kernel has no such syscall (the trap then never issues it).
    pub const fn number(self) -> Option<i64> {
        self.number_in(CONFIG)
    }

    /// True for the debug syscalls (`DebugPutChar` .. `DebugNameThread`).
    pub const fn is_debug(self) -> bool {
        matches!(
            self,
            Syscall::DebugPutChar
                | Syscall::DebugDumpScheduler
                | Syscall::DebugHalt
                | Syscall::DebugCapIdentify
                | Syscall::DebugSnapshot
                | Syscall::DebugNameThread
                | Syscall::DebugSendIPI
                | Syscall::DebugGetThreadAffinity
        )
    }

    /// The libsel4 name, e.g. `seL4_SysCall`.
    pub const fn c_name(self) -> &'static str {
        match self {
            Syscall::Call => "seL4_SysCall",
            Syscall::ReplyRecv => "seL4_SysReplyRecv",
            Syscall::NBSendRecv => "seL4_SysNBSendRecv",
            Syscall::NBSendWait => "seL4_SysNBSendWait",
            Syscall::Send => "seL4_SysSend",
            Syscall::NBSend => "seL4_SysNBSend",
            Syscall::Recv => "seL4_SysRecv",
            Syscall::Reply => "seL4_SysReply",
            Syscall::NBRecv => "seL4_SysNBRecv",
            Syscall::Wait => "seL4_SysWait",
            Syscall::NBWait => "seL4_SysNBWait",
            Syscall::Yield => "seL4_SysYield",
            Syscall::DebugPutChar => "seL4_SysDebugPutChar",
            Syscall::DebugDumpScheduler => "seL4_SysDebugDumpScheduler",
            Syscall::DebugHalt => "seL4_SysDebugHalt",
            Syscall::DebugCapIdentify => "seL4_SysDebugCapIdentify",
            Syscall::DebugSnapshot => "seL4_SysDebugSnapshot",
            Syscall::DebugNameThread => "seL4_SysDebugNameThread",
            Syscall::DebugSendIPI => "seL4_SysDebugSendIPI",
            Syscall::DebugGetThreadAffinity => "seL4_SysDebugGetThreadAffinity",
        }
    }
}

macro_rules! labels {
    ($($(#[$doc:meta])* $name:ident = $non_mcs:expr, $mcs:expr;)*) => {
        /// An invocation label (the label of the message-info word of an invocation).
        ///
        /// Only the labels the project uses or that sit between them are listed; the C names
        /// are the generated enumerators of `sel4/invocation.h`, `sel4/sel4_arch/invocation.h`
        /// and `sel4/arch/invocation.h`. Numbers depend on the configuration
        /// ([`InvocationLabel::value_in`]): the table gives the one-core numbers (non-MCS,
        /// MCS); a non-MCS SMP kernel inserts `TCBSetAffinity` after `TCBUnbindNotification`,
        /// moving every later label up by one.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[allow(non_camel_case_types)] // variant names are the C enumerators
        pub enum InvocationLabel {
            $($(#[$doc])* $name,)*
        }

        impl InvocationLabel {
            /// Every listed label of any configuration.
            pub const ALL: &'static [InvocationLabel] = &[$(InvocationLabel::$name,)*];

            /// The enumerator name in the generated headers, e.g. `UntypedRetype`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(InvocationLabel::$name => stringify!($name),)*
                }
            }

            /// The label in `config`, or `None` if that configuration has no such method.
            pub const fn value_in(self, config: Config) -> Option<u64> {
                let one_core = match self {
                    $(InvocationLabel::$name => if config.mcs { $mcs } else { $non_mcs },)*
                };
                let affinity = !config.mcs && config.smp;
                match (self, one_core) {
                    (InvocationLabel::TCBSetAffinity, _) => {
                        if affinity { Some(SET_AFFINITY_SMP) } else { None }
                    }
                    (_, Some(v)) if affinity && v >= SET_AFFINITY_SMP => Some(v + 1),
                    (_, v) => v,
                }
            }
        }
    };
}

labels! {
    /// `seL4_Untyped_Retype`.
    UntypedRetype = Some(1), Some(1);
    /// `seL4_TCB_ReadRegisters`.
    TCBReadRegisters = Some(2), Some(2);
    /// `seL4_TCB_WriteRegisters`.
    TCBWriteRegisters = Some(3), Some(3);
    /// `seL4_TCB_CopyRegisters`.
    TCBCopyRegisters = Some(4), Some(4);
    /// `seL4_TCB_Configure`.
    TCBConfigure = Some(5), Some(5);
    /// `seL4_TCB_SetPriority`.
    TCBSetPriority = Some(6), Some(6);
    /// `seL4_TCB_SetMCPriority`.
    TCBSetMCPriority = Some(7), Some(7);
    /// `seL4_TCB_SetSchedParams`.
    TCBSetSchedParams = Some(8), Some(8);
    /// `seL4_TCB_SetTimeoutEndpoint` (MCS).
    TCBSetTimeoutEndpoint = None, Some(9);
    /// `seL4_TCB_SetIPCBuffer`.
    TCBSetIPCBuffer = Some(9), Some(10);
    /// `seL4_TCB_SetSpace`.
    TCBSetSpace = Some(10), Some(11);
    /// `seL4_TCB_Suspend`.
    TCBSuspend = Some(11), Some(12);
    /// `seL4_TCB_Resume`.
    TCBResume = Some(12), Some(13);
    /// `seL4_TCB_BindNotification`.
    TCBBindNotification = Some(13), Some(14);
    /// `seL4_TCB_UnbindNotification`.
    TCBUnbindNotification = Some(14), Some(15);
    /// `seL4_TCB_SetAffinity` (non-MCS SMP only; its number is `SET_AFFINITY_SMP`).
    TCBSetAffinity = None, None;
    /// `seL4_TCB_SetTLSBase`.
    TCBSetTLSBase = Some(15), Some(16);
    /// `seL4_TCB_SetFlags`.
    TCBSetFlags = Some(16), Some(17);
    /// `seL4_CNode_Revoke`.
    CNodeRevoke = Some(17), Some(18);
    /// `seL4_CNode_Delete`.
    CNodeDelete = Some(18), Some(19);
    /// `seL4_CNode_CancelBadgedSends`.
    CNodeCancelBadgedSends = Some(19), Some(20);
    /// `seL4_CNode_Copy`.
    CNodeCopy = Some(20), Some(21);
    /// `seL4_CNode_Mint`.
    CNodeMint = Some(21), Some(22);
    /// `seL4_CNode_Move`.
    CNodeMove = Some(22), Some(23);
    /// `seL4_CNode_Mutate`.
    CNodeMutate = Some(23), Some(24);
    /// `seL4_CNode_Rotate`.
    CNodeRotate = Some(24), Some(25);
    /// `seL4_CNode_SaveCaller`.
    CNodeSaveCaller = Some(25), None;
    /// `seL4_IRQControl_Get`.
    IRQIssueIRQHandler = Some(26), Some(26);
    /// `seL4_IRQHandler_Ack`.
    IRQAckIRQ = Some(27), Some(27);
    /// `seL4_IRQHandler_SetNotification`.
    IRQSetIRQHandler = Some(28), Some(28);
    /// `seL4_IRQHandler_Clear`.
    IRQClearIRQHandler = Some(29), Some(29);
    /// `seL4_DomainSet_Set`.
    DomainSetSet = Some(30), Some(30);
    /// `seL4_SchedControl_ConfigureFlags` (MCS).
    SchedControlConfigureFlags = None, Some(33);
    /// `seL4_SchedContext_Bind` (MCS).
    SchedContextBind = None, Some(34);
    /// `seL4_SchedContext_Unbind` (MCS).
    SchedContextUnbind = None, Some(35);
    /// `seL4_SchedContext_UnbindObject` (MCS).
    SchedContextUnbindObject = None, Some(36);
    /// `seL4_SchedContext_Consumed` (MCS).
    SchedContextConsumed = None, Some(37);
    /// `seL4_SchedContext_YieldTo` (MCS).
    SchedContextYieldTo = None, Some(38);
    /// `seL4_ARM_VSpace_Clean_Data`.
    ARMVSpaceClean_Data = Some(33), Some(39);
    /// `seL4_ARM_VSpace_Invalidate_Data`.
    ARMVSpaceInvalidate_Data = Some(34), Some(40);
    /// `seL4_ARM_VSpace_CleanInvalidate_Data`.
    ARMVSpaceCleanInvalidate_Data = Some(35), Some(41);
    /// `seL4_ARM_VSpace_Unify_Instruction`.
    ARMVSpaceUnify_Instruction = Some(36), Some(42);
    /// `seL4_ARM_SMC_Call`.
    ARMSMCCall = Some(37), Some(43);
    /// `seL4_ARM_PageTable_Map`.
    ARMPageTableMap = Some(38), Some(44);
    /// `seL4_ARM_PageTable_Unmap`.
    ARMPageTableUnmap = Some(39), Some(45);
    /// `seL4_ARM_Page_Map`.
    ARMPageMap = Some(40), Some(46);
    /// `seL4_ARM_Page_Unmap`.
    ARMPageUnmap = Some(41), Some(47);
    /// `seL4_ARM_Page_Clean_Data`.
    ARMPageClean_Data = Some(42), Some(48);
    /// `seL4_ARM_Page_Invalidate_Data`.
    ARMPageInvalidate_Data = Some(43), Some(49);
    /// `seL4_ARM_Page_CleanInvalidate_Data`.
    ARMPageCleanInvalidate_Data = Some(44), Some(50);
    /// `seL4_ARM_Page_Unify_Instruction`.
    ARMPageUnify_Instruction = Some(45), Some(51);
    /// `seL4_ARM_Page_GetAddress`.
    ARMPageGetAddress = Some(46), Some(52);
    /// `seL4_ARM_ASIDControl_MakePool`.
    ARMASIDControlMakePool = Some(47), Some(53);
    /// `seL4_ARM_ASIDPool_Assign`.
    ARMASIDPoolAssign = Some(48), Some(54);
    /// `seL4_ARM_VCPU_SetTCB`.
    ARMVCPUSetTCB = Some(49), Some(55);
    /// `seL4_ARM_VCPU_InjectIRQ`.
    ARMVCPUInjectIRQ = Some(50), Some(56);
    /// `seL4_ARM_VCPU_ReadRegs`.
    ARMVCPUReadReg = Some(51), Some(57);
    /// `seL4_ARM_VCPU_WriteRegs`.
    ARMVCPUWriteReg = Some(52), Some(58);
    /// `seL4_ARM_VCPU_AckVPPI`.
    ARMVCPUAckVPPI = Some(53), Some(59);
    /// `seL4_IRQControl_GetTrigger`.
    ARMIRQIssueIRQHandlerTrigger = Some(54), Some(60);
}

/// `TCBSetAffinity` on a non-MCS SMP kernel: right after `TCBUnbindNotification` (14).
const SET_AFFINITY_SMP: u64 = 15;

impl InvocationLabel {
    /// The label value for the message-info word in the configuration this crate is built for
    /// ([`CONFIG`]); 0 (`InvalidInvocation`, refused by the kernel) for a method that
    /// configuration lacks. The typed wrappers only use methods their configuration has.
    pub const fn value(self) -> u64 {
        match self.value_in(CONFIG) {
            Some(v) => v,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Config, InvocationLabel, Syscall};

    #[test]
    fn syscall_numbers_are_distinct_and_negative() {
        for config in Config::ALL {
            let mut seen: std::vec::Vec<i64> = std::vec::Vec::new();
            for s in Syscall::ALL {
                if let Some(n) = s.number_in(config) {
                    assert!(n < 0 && !seen.contains(&n), "{} in {config:?}", s.c_name());
                    seen.push(n);
                }
                let smp_only = matches!(s, Syscall::DebugSendIPI | Syscall::DebugGetThreadAffinity);
                assert_eq!(
                    s.is_debug() && s.number_in(config).is_some(),
                    s.is_debug() && config.debug && (config.smp || !smp_only)
                );
            }
        }
        assert_eq!(Syscall::Send.number_in(Config::DEBUG), Some(-3));
        assert_eq!(Syscall::Send.number_in(Config::MCS), Some(-5));
        assert_eq!(Syscall::DebugPutChar.number_in(Config::MCS), Some(-12));
        assert_eq!(Syscall::DebugPutChar.number_in(Config::MCS_RELEASE), None);
        assert_eq!(Syscall::Reply.number_in(Config::MCS), None);
    }

    #[test]
    fn labels_are_strictly_increasing_in_every_configuration() {
        for config in Config::ALL {
            let values: std::vec::Vec<u64> = InvocationLabel::ALL
                .iter()
                .filter_map(|l| l.value_in(config))
                .collect();
            assert!(values.windows(2).all(|w| w[0] < w[1]), "{config:?}");
        }
        assert_eq!(
            InvocationLabel::ARMVCPUSetTCB.value_in(Config::DEBUG),
            Some(49)
        );
        assert_eq!(
            InvocationLabel::ARMVCPUSetTCB.value_in(Config::MCS),
            Some(55)
        );
        assert_eq!(InvocationLabel::CNodeRotate.value_in(Config::MCS), Some(25));
        assert_eq!(InvocationLabel::CNodeSaveCaller.value_in(Config::MCS), None);
        assert_eq!(InvocationLabel::ARMVCPUSetTCB.c_name(), "ARMVCPUSetTCB");
        assert_eq!(
            InvocationLabel::TCBSetAffinity.value_in(Config::SMP),
            Some(15)
        );
        assert_eq!(
            InvocationLabel::TCBSetTLSBase.value_in(Config::SMP),
            Some(16)
        );
        assert_eq!(
            InvocationLabel::ARMVCPUSetTCB.value_in(Config::SMP),
            Some(50)
        );
        assert_eq!(
            InvocationLabel::TCBSetAffinity.value_in(Config::DEBUG),
            None
        );
        assert_eq!(
            InvocationLabel::TCBSetAffinity.value_in(Config::MCS_SMP),
            None
        );
        assert_eq!(
            InvocationLabel::ARMVCPUSetTCB.value_in(Config::MCS_SMP),
            Some(55)
        );
        assert_eq!(Syscall::DebugSendIPI.number_in(Config::SMP), Some(-15));
        assert_eq!(
            Syscall::DebugGetThreadAffinity.number_in(Config::MCS_SMP),
            Some(-19)
        );
        assert_eq!(Syscall::DebugSendIPI.number_in(Config::DEBUG), None);
    }
}
