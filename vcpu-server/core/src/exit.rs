//! Decoding seL4 fault messages from a VCPU thread into [`GuestExit`]s.
//!
//! Everything here is guest-controlled: a guest can invoke its own fault endpoint through HVC
//! (seL4 treats HVC like a syscall), so any label and words may arrive. [`decode`] is total:
//! an unknown label, too few words or an out-of-range field yields [`GuestExit::Invalid`].
//! Extra words beyond those a fault type defines are ignored.
//!
//! Labels are the non-MCS AArch64 hypervisor fault types: CapFault 1, UnknownSyscall 2,
//! UserException 3, VMFault 5, VGICMaintenance 6, VCPUFault 7, VPPIEvent 8.

/// seL4 fault labels (non-MCS, AArch64 with hypervisor support). The core does not depend on
/// the seL4 bindings; the seL4 component (`vcpu-server/sel4`) asserts at compile time that each
/// of these equals `sel4::fault_label`'s, whose every number `sel4-build`'s ABI test compares
/// with the installed kernel.
pub mod label {
    /// `seL4_Fault_CapFault`.
    pub const CAP_FAULT: u64 = 1;
    /// `seL4_Fault_UnknownSyscall` (a guest HVC whose x7 is no seL4 syscall).
    pub const UNKNOWN_SYSCALL: u64 = 2;
    /// `seL4_Fault_UserException`.
    pub const USER_EXCEPTION: u64 = 3;
    /// `seL4_Fault_VMFault` (stage-2 abort).
    pub const VM_FAULT: u64 = 5;
    /// `seL4_Fault_VGICMaintenance`.
    pub const VGIC_MAINTENANCE: u64 = 6;
    /// `seL4_Fault_VCPUFault` (trapped instruction; MR0 = ESR_EL2).
    pub const VCPU_FAULT: u64 = 7;
    /// `seL4_Fault_VPPIEvent`.
    pub const VPPI_EVENT: u64 = 8;
}

/// ESR_EL2 exception classes the server handles.
pub mod ec {
    /// WFI / WFE.
    pub const WFX: u32 = 0x01;
    /// HVC from AArch64.
    pub const HVC64: u32 = 0x16;
    /// SMC from AArch64.
    pub const SMC64: u32 = 0x17;
    /// MSR / MRS / system instruction.
    pub const SYSREG: u32 = 0x18;
    /// Instruction abort from a lower exception level.
    pub const IABT_LOWER: u32 = 0x20;
    /// Data abort from a lower exception level.
    pub const DABT_LOWER: u32 = 0x24;
}

/// A guest exit, as far as the message shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestExit {
    /// Stage-2 abort (VMFault).
    MemAbort {
        /// Guest (virtual) PC of the faulting instruction.
        ip: u64,
        /// Guest-physical address (IPA), page offset included.
        addr: u64,
        /// True for an instruction fetch, false for a data access.
        instruction: bool,
        /// ESR_EL2.
        esr: u32,
    },
    /// WFI trapped (VCPUFault, EC 0x01, TI = 0).
    Wfi,
    /// WFE trapped (VCPUFault, EC 0x01, TI = 1).
    Wfe,
    /// SMC trapped (VCPUFault, EC 0x17) with its 16-bit immediate.
    Smc {
        /// `imm16` of the SMC instruction.
        imm: u16,
    },
    /// MSR/MRS/system instruction trapped (VCPUFault, EC 0x18).
    SysReg {
        /// ESR_EL2.ISS.
        iss: u32,
    },
    /// Any other exception class in a VCPUFault.
    OtherClass {
        /// ESR_EL2.
        esr: u32,
    },
    /// The guest EOI'd list register `lr` (`None`: the kernel could not tell which).
    Maintenance {
        /// The list register, if known.
        lr: Option<u8>,
    },
    /// A virtual PPI fired (27 = the virtual timer).
    Vppi {
        /// INTID.
        irq: u32,
    },
    /// Guest HVC that is no seL4 syscall (UnknownSyscall).
    Hvc {
        /// The guest's x7.
        number: u64,
    },
    /// UserException (e.g. ESR EC 0: unknown reason).
    UserException {
        /// The exception number (ESR).
        number: u64,
    },
    /// A capability fault (a guest HVC-syscall on a bad capability).
    CapFault,
    /// Not a well-formed fault message.
    Invalid {
        /// The message label.
        label: u64,
    },
}

/// Decodes the fault message with `fault_label` and message words `words` (MR0 first).
pub fn decode(fault_label: u64, words: &[u64]) -> GuestExit {
    decode_known(fault_label, words).unwrap_or(GuestExit::Invalid { label: fault_label })
}

fn decode_known(fault_label: u64, words: &[u64]) -> Option<GuestExit> {
    let word = |i: usize| words.get(i).copied();
    match fault_label {
        label::VM_FAULT => {
            let instruction = match word(2)? {
                0 => false,
                1 => true,
                _ => return None,
            };
            Some(GuestExit::MemAbort {
                ip: word(0)?,
                addr: word(1)?,
                instruction,
                esr: u32::try_from(word(3)?).ok()?,
            })
        }
        label::VCPU_FAULT => Some(decode_hsr(u32::try_from(word(0)?).ok()?)),
        label::VGIC_MAINTENANCE => match word(0)? {
            u64::MAX => Some(GuestExit::Maintenance { lr: None }),
            lr if lr < 64 => Some(GuestExit::Maintenance { lr: Some(lr as u8) }),
            _ => None,
        },
        label::VPPI_EVENT => Some(GuestExit::Vppi {
            irq: u32::try_from(word(0)?).ok()?,
        }),
        label::UNKNOWN_SYSCALL => Some(GuestExit::Hvc { number: word(12)? }),
        label::USER_EXCEPTION => Some(GuestExit::UserException { number: word(3)? }),
        label::CAP_FAULT => {
            word(3)?;
            Some(GuestExit::CapFault)
        }
        _ => None,
    }
}

/// Classifies a VCPUFault by its ESR_EL2 (`hsr`).
pub fn decode_hsr(hsr: u32) -> GuestExit {
    match hsr >> 26 {
        ec::WFX if hsr & 1 == 1 => GuestExit::Wfe,
        ec::WFX => GuestExit::Wfi,
        ec::SMC64 => GuestExit::Smc { imm: hsr as u16 },
        ec::SYSREG => GuestExit::SysReg {
            iss: hsr & 0x01FF_FFFF,
        },
        _ => GuestExit::OtherClass { esr: hsr },
    }
}

/// The data-abort syndrome fields of ESR_EL2.ISS the server uses (Arm ARM D17.2.37).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataAbort {
    /// ISV (bit 24): the fields below are valid.
    pub isv: bool,
    /// Access size in bytes, `1 << SAS` (bits 23:22).
    pub access_size: u8,
    /// SSE (bit 21): the load sign-extends.
    pub sign_extend: bool,
    /// SRT (bits 20:16): the register; 31 is XZR.
    pub srt: u8,
    /// WnR (bit 6): a write.
    pub write: bool,
}

impl DataAbort {
    /// Extracts the fields from an ESR_EL2 value.
    pub const fn from_esr(esr: u32) -> DataAbort {
        DataAbort {
            isv: esr & (1 << 24) != 0,
            access_size: 1 << ((esr >> 22) & 0b11),
            sign_extend: esr & (1 << 21) != 0,
            srt: ((esr >> 16) & 0x1F) as u8,
            write: esr & (1 << 6) != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DataAbort, GuestExit, decode, label};

    #[test]
    fn decodes_each_fault_type() {
        let esr = 0x9300_0046u64;
        assert_eq!(
            decode(label::VM_FAULT, &[0x1000, 0x9000_0004, 0, esr]),
            GuestExit::MemAbort {
                ip: 0x1000,
                addr: 0x9000_0004,
                instruction: false,
                esr: esr as u32
            }
        );
        assert_eq!(decode(label::VCPU_FAULT, &[0x0400_0000]), GuestExit::Wfi);
        assert_eq!(decode(label::VCPU_FAULT, &[0x0400_0001]), GuestExit::Wfe);
        assert_eq!(
            decode(label::VCPU_FAULT, &[0x5E00_0007]),
            GuestExit::Smc { imm: 7 }
        );
        assert_eq!(
            decode(label::VGIC_MAINTENANCE, &[u64::MAX]),
            GuestExit::Maintenance { lr: None }
        );
        assert_eq!(
            decode(label::VGIC_MAINTENANCE, &[3]),
            GuestExit::Maintenance { lr: Some(3) }
        );
        assert_eq!(
            decode(label::VPPI_EVENT, &[27]),
            GuestExit::Vppi { irq: 27 }
        );
        let hvc = [0u64; 13];
        assert_eq!(
            decode(label::UNKNOWN_SYSCALL, &hvc),
            GuestExit::Hvc { number: 0 }
        );
    }

    #[test]
    fn malformed_messages_are_invalid() {
        let bad = |l: u64, w: &[u64]| decode(l, w) == GuestExit::Invalid { label: l };
        assert!(bad(label::VM_FAULT, &[0, 0, 0]));
        assert!(bad(label::VM_FAULT, &[0, 0, 2, 0]));
        assert!(bad(label::VM_FAULT, &[0, 0, 0, 1 << 32]));
        assert!(bad(label::VCPU_FAULT, &[]));
        assert!(bad(label::VGIC_MAINTENANCE, &[64]));
        assert!(bad(label::UNKNOWN_SYSCALL, &[0; 12]));
        assert!(bad(0, &[]));
        assert!(bad(4, &[1, 2, 3, 4]));
        assert!(bad(u64::MAX, &[]));
    }

    #[test]
    fn data_abort_fields() {
        // ISV, SAS=2 (4 bytes), SSE, SRT=5, WnR.
        let esr = 1 << 24 | 2 << 22 | 1 << 21 | 5 << 16 | 1 << 6;
        assert_eq!(
            DataAbort::from_esr(esr),
            DataAbort {
                isv: true,
                access_size: 4,
                sign_extend: true,
                srt: 5,
                write: true
            }
        );
    }
}
