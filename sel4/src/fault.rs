//! Fault messages: labels, message-register layouts and a decoder.
//!
//! A fault arrives as a Call on the faulting thread's fault endpoint with the fault type as
//! label. The message may also be forged (a guest can `hvc` a real seL4 syscall on caps in its
//! own CSpace, see the spec's gotcha 1), so [`Fault::decode`] treats it as untrusted input:
//! any label/length it does not recognise gives [`Fault::Unrecognised`], never a panic.

use crate::message::MessageInfo;

/// Fault labels (`seL4_FaultType`). MCS inserts `Timeout` at 5 and moves the later ones up by
/// one; the constants are those of the configuration this crate is built for, [`in_config`]
/// gives any configuration's.
pub mod label {
    use crate::config::{CONFIG, Config};

    /// The fault labels of one configuration.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Labels {
        /// `seL4_Fault_Timeout` (MCS only).
        pub timeout: Option<u64>,
        /// `seL4_Fault_VMFault`.
        pub vm_fault: u64,
        /// `seL4_Fault_VGICMaintenance`.
        pub vgic_maintenance: u64,
        /// `seL4_Fault_VCPUFault`.
        pub vcpu_fault: u64,
        /// `seL4_Fault_VPPIEvent`.
        pub vppi_event: u64,
    }

    /// The labels that depend on the configuration.
    pub const fn in_config(config: Config) -> Labels {
        let shift = if config.mcs { 1 } else { 0 };
        Labels {
            timeout: if config.mcs { Some(5) } else { None },
            vm_fault: 5 + shift,
            vgic_maintenance: 6 + shift,
            vcpu_fault: 7 + shift,
            vppi_event: 8 + shift,
        }
    }

    /// `seL4_Fault_NullFault`.
    pub const NULL_FAULT: u64 = 0;
    /// `seL4_Fault_CapFault`.
    pub const CAP_FAULT: u64 = 1;
    /// `seL4_Fault_UnknownSyscall`.
    pub const UNKNOWN_SYSCALL: u64 = 2;
    /// `seL4_Fault_UserException`.
    pub const USER_EXCEPTION: u64 = 3;
    /// `seL4_Fault_Timeout` (MCS; on other configurations a value no fault has).
    pub const TIMEOUT: u64 = match in_config(CONFIG).timeout {
        Some(l) => l,
        None => u64::MAX,
    };
    /// `seL4_Fault_VMFault`.
    pub const VM_FAULT: u64 = in_config(CONFIG).vm_fault;
    /// `seL4_Fault_VGICMaintenance`.
    pub const VGIC_MAINTENANCE: u64 = in_config(CONFIG).vgic_maintenance;
    /// `seL4_Fault_VCPUFault`.
    pub const VCPU_FAULT: u64 = in_config(CONFIG).vcpu_fault;
    /// `seL4_Fault_VPPIEvent`.
    pub const VPPI_EVENT: u64 = in_config(CONFIG).vppi_event;
}

/// Message-register indices of `seL4_Fault_VMFault`.
pub mod vm_fault {
    /// `seL4_VMFault_IP`: the (guest virtual) PC.
    pub const IP: usize = 0;
    /// `seL4_VMFault_Addr`: for a VCPU thread, the IPA.
    pub const ADDR: usize = 1;
    /// `seL4_VMFault_PrefetchFault`: 1 for an instruction fetch.
    pub const PREFETCH_FAULT: usize = 2;
    /// `seL4_VMFault_FSR`: the whole ESR_EL2.
    pub const FSR: usize = 3;
    /// `seL4_VMFault_Length`.
    pub const LENGTH: usize = 4;
}

/// Message-register indices of `seL4_Fault_UnknownSyscall`.
pub mod unknown_syscall {
    /// `seL4_UnknownSyscall_X0` (X1..X7 follow).
    pub const X0: usize = 0;
    /// `seL4_UnknownSyscall_FaultIP`: address of the trapping instruction.
    pub const FAULT_IP: usize = 8;
    /// `seL4_UnknownSyscall_SP`.
    pub const SP: usize = 9;
    /// `seL4_UnknownSyscall_LR` (ELR: FaultIP + 4).
    pub const LR: usize = 10;
    /// `seL4_UnknownSyscall_SPSR`.
    pub const SPSR: usize = 11;
    /// `seL4_UnknownSyscall_Syscall`: the x7 value.
    pub const SYSCALL: usize = 12;
    /// `seL4_UnknownSyscall_Length`.
    pub const LENGTH: usize = 13;
}

/// Message-register indices of `seL4_Fault_UserException`.
pub mod user_exception {
    /// `seL4_UserException_FaultIP`.
    pub const FAULT_IP: usize = 0;
    /// `seL4_UserException_SP`.
    pub const SP: usize = 1;
    /// `seL4_UserException_SPSR`.
    pub const SPSR: usize = 2;
    /// `seL4_UserException_Number`.
    pub const NUMBER: usize = 3;
    /// `seL4_UserException_Code`.
    pub const CODE: usize = 4;
    /// `seL4_UserException_Length`.
    pub const LENGTH: usize = 5;
}

/// Message-register indices of `seL4_Fault_CapFault`.
pub mod cap_fault {
    /// `seL4_CapFault_IP`.
    pub const IP: usize = 0;
    /// `seL4_CapFault_Addr`: the cptr that failed.
    pub const ADDR: usize = 1;
    /// `seL4_CapFault_InRecvPhase`.
    pub const IN_RECV_PHASE: usize = 2;
    /// `seL4_CapFault_LookupFailureType`.
    pub const LOOKUP_FAILURE_TYPE: usize = 3;
    /// `seL4_CapFault_BitsLeft`.
    pub const BITS_LEFT: usize = 4;
    /// Words the decoder needs (IP..LookupFailureType).
    pub const MIN_LENGTH: usize = 4;
}

/// `seL4_VGICMaintenance_IDX` / `_Length`.
pub mod vgic_maintenance {
    /// Index of the list register (all ones if unknown).
    pub const IDX: usize = 0;
    /// `seL4_VGICMaintenance_Length`.
    pub const LENGTH: usize = 1;
}

/// `seL4_VCPUFault_HSR` / `_Length`.
pub mod vcpu_fault {
    /// The ESR_EL2 of the trapped instruction.
    pub const HSR: usize = 0;
    /// `seL4_VCPUFault_Length`.
    pub const LENGTH: usize = 1;
}

/// `seL4_VPPIEvent_IRQ` / `_Length`.
pub mod vppi_event {
    /// The PPI number (27, the virtual timer).
    pub const IRQ: usize = 0;
    /// `seL4_VPPIEvent_Length`.
    pub const LENGTH: usize = 1;
}

/// A decoded fault message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// `seL4_Fault_NullFault`.
    Null,
    /// A capability lookup failed.
    CapFault {
        /// Faulting PC.
        ip: u64,
        /// The cptr that failed to resolve.
        addr: u64,
        /// True if the failure was in the receive phase.
        in_recv_phase: bool,
        /// `seL4_LookupFailureType`.
        lookup_failure_type: u64,
    },
    /// An unknown syscall number (for a VCPU thread: an `hvc` outside -1..-14).
    UnknownSyscall {
        /// x0..x7.
        x: [u64; 8],
        /// Address of the trapping instruction.
        fault_ip: u64,
        /// SP_EL0.
        sp: u64,
        /// ELR (fault_ip + 4).
        lr: u64,
        /// SPSR.
        spsr: u64,
        /// The syscall number (x7).
        syscall: u64,
    },
    /// An exception the kernel does not handle otherwise.
    UserException {
        /// Faulting PC.
        fault_ip: u64,
        /// SP_EL0.
        sp: u64,
        /// SPSR.
        spsr: u64,
        /// Exception number (the ESR for unknown-EC exceptions).
        number: u64,
        /// Exception code.
        code: u64,
    },
    /// A stage-2 (or native) memory fault.
    VmFault {
        /// (Guest virtual) PC.
        ip: u64,
        /// Faulting address (IPA for a VCPU thread).
        addr: u64,
        /// True for an instruction fetch.
        prefetch: bool,
        /// ESR_EL2.
        fsr: u64,
    },
    /// The guest EOI'd a list register injected with maintenance.
    VgicMaintenance {
        /// The list register, or `None` if the kernel did not know it.
        idx: Option<u64>,
    },
    /// A trapped guest instruction (WFx, SMC, system register, ...).
    VcpuFault {
        /// ESR_EL2.
        hsr: u64,
    },
    /// A virtual PPI (the virtual timer) fired while the VCPU ran.
    VppiEvent {
        /// The PPI number.
        irq: u64,
    },
    /// An unknown label, or a message shorter than the layout of its label.
    Unrecognised {
        /// The label.
        label: u64,
        /// The message length.
        length: usize,
    },
}

impl Fault {
    /// Decodes a fault message; `words` is the received message (at least `info.length()`
    /// words are consulted, missing words make the message unrecognised).
    pub fn decode(info: MessageInfo, words: &[u64]) -> Fault {
        let length = info.length();
        let label = info.label();
        let need = match label {
            label::NULL_FAULT => 0,
            label::CAP_FAULT => cap_fault::MIN_LENGTH,
            label::UNKNOWN_SYSCALL => unknown_syscall::LENGTH,
            label::USER_EXCEPTION => user_exception::LENGTH,
            label::VM_FAULT => vm_fault::LENGTH,
            label::VGIC_MAINTENANCE => vgic_maintenance::LENGTH,
            label::VCPU_FAULT => vcpu_fault::LENGTH,
            label::VPPI_EVENT => vppi_event::LENGTH,
            _ => return Fault::Unrecognised { label, length },
        };
        if length < need || words.len() < need {
            return Fault::Unrecognised { label, length };
        }
        let w = |i: usize| words[i];
        match label {
            label::CAP_FAULT => Fault::CapFault {
                ip: w(cap_fault::IP),
                addr: w(cap_fault::ADDR),
                in_recv_phase: w(cap_fault::IN_RECV_PHASE) != 0,
                lookup_failure_type: w(cap_fault::LOOKUP_FAILURE_TYPE),
            },
            label::UNKNOWN_SYSCALL => {
                let mut x = [0u64; 8];
                x.copy_from_slice(&words[unknown_syscall::X0..unknown_syscall::X0 + 8]);
                Fault::UnknownSyscall {
                    x,
                    fault_ip: w(unknown_syscall::FAULT_IP),
                    sp: w(unknown_syscall::SP),
                    lr: w(unknown_syscall::LR),
                    spsr: w(unknown_syscall::SPSR),
                    syscall: w(unknown_syscall::SYSCALL),
                }
            }
            label::USER_EXCEPTION => Fault::UserException {
                fault_ip: w(user_exception::FAULT_IP),
                sp: w(user_exception::SP),
                spsr: w(user_exception::SPSR),
                number: w(user_exception::NUMBER),
                code: w(user_exception::CODE),
            },
            label::VM_FAULT => Fault::VmFault {
                ip: w(vm_fault::IP),
                addr: w(vm_fault::ADDR),
                prefetch: w(vm_fault::PREFETCH_FAULT) != 0,
                fsr: w(vm_fault::FSR),
            },
            label::VGIC_MAINTENANCE => {
                let idx = w(vgic_maintenance::IDX);
                Fault::VgicMaintenance {
                    idx: if idx == u64::MAX { None } else { Some(idx) },
                }
            }
            label::VCPU_FAULT => Fault::VcpuFault {
                hsr: w(vcpu_fault::HSR),
            },
            label::VPPI_EVENT => Fault::VppiEvent {
                irq: w(vppi_event::IRQ),
            },
            _ => Fault::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Fault, label};
    use crate::message::MessageInfo;

    fn msg(l: u64, len: u64) -> MessageInfo {
        MessageInfo::new(l, 0, 0, len)
    }

    #[test]
    fn decodes_vm_fault() {
        let words = [0x8000_1000, 0x0900_0000, 0, 0x9300_0046];
        let f = Fault::decode(msg(label::VM_FAULT, 4), &words);
        assert_eq!(
            f,
            Fault::VmFault {
                ip: 0x8000_1000,
                addr: 0x0900_0000,
                prefetch: false,
                fsr: 0x9300_0046
            }
        );
    }

    #[test]
    fn decodes_vcpu_events() {
        assert_eq!(
            Fault::decode(msg(label::VCPU_FAULT, 1), &[0x0600_0001]),
            Fault::VcpuFault { hsr: 0x0600_0001 }
        );
        assert_eq!(
            Fault::decode(msg(label::VGIC_MAINTENANCE, 1), &[u64::MAX]),
            Fault::VgicMaintenance { idx: None }
        );
        assert_eq!(
            Fault::decode(msg(label::VGIC_MAINTENANCE, 1), &[2]),
            Fault::VgicMaintenance { idx: Some(2) }
        );
        assert_eq!(
            Fault::decode(msg(label::VPPI_EVENT, 1), &[27]),
            Fault::VppiEvent { irq: 27 }
        );
        assert_eq!(Fault::decode(msg(label::NULL_FAULT, 0), &[]), Fault::Null);
    }

    #[test]
    fn decodes_unknown_syscall_in_sel4_order() {
        let words: [u64; 13] = [0, 1, 2, 3, 4, 5, 6, 7, 0x100, 0x200, 0x104, 0x3c5, 42];
        match Fault::decode(msg(label::UNKNOWN_SYSCALL, 13), &words) {
            Fault::UnknownSyscall {
                x,
                fault_ip,
                sp,
                lr,
                spsr,
                syscall,
            } => {
                assert_eq!(x, [0, 1, 2, 3, 4, 5, 6, 7]);
                assert_eq!(
                    (fault_ip, sp, lr, spsr, syscall),
                    (0x100, 0x200, 0x104, 0x3c5, 42)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn short_or_unknown_messages_are_unrecognised() {
        assert_eq!(
            Fault::decode(msg(label::VM_FAULT, 3), &[1, 2, 3, 4]),
            Fault::Unrecognised {
                label: label::VM_FAULT,
                length: 3
            }
        );
        assert_eq!(
            Fault::decode(msg(label::UNKNOWN_SYSCALL, 13), &[0; 4]),
            Fault::Unrecognised {
                label: label::UNKNOWN_SYSCALL,
                length: 13
            }
        );
        assert_eq!(
            Fault::decode(msg(4, 0), &[]),
            Fault::Unrecognised {
                label: 4,
                length: 0
            }
        );
        assert_eq!(
            Fault::decode(msg(1 << 40, 120), &[0; 120]),
            Fault::Unrecognised {
                label: 1 << 40,
                length: 120
            }
        );
    }
}
