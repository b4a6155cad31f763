//! Human-readable fault descriptions for the root task's fault reports.

use core::fmt;

use sel4::{Fault, fault_label};

/// The name of a fault label.
pub fn label_name(label: u64) -> &'static str {
    match label {
        fault_label::NULL_FAULT => "null fault",
        fault_label::CAP_FAULT => "cap fault",
        fault_label::UNKNOWN_SYSCALL => "unknown syscall",
        fault_label::USER_EXCEPTION => "user exception",
        fault_label::VM_FAULT => "VM fault",
        fault_label::VGIC_MAINTENANCE => "VGIC maintenance",
        fault_label::VCPU_FAULT => "VCPU fault",
        fault_label::VPPI_EVENT => "VPPI event",
        _ => "unknown fault",
    }
}

/// Displays a decoded fault on one line.
pub struct Describe<'a>(pub &'a Fault);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.0 {
            Fault::Null => write!(f, "null fault"),
            Fault::CapFault {
                ip,
                addr,
                in_recv_phase,
                lookup_failure_type,
            } => {
                write!(f, "cap fault: cptr {addr:#x} names no usable capability")?;
                if in_recv_phase {
                    write!(f, " (receive phase)")?;
                }
                write!(f, ", lookup failure type {lookup_failure_type}, pc {ip:#x}")
            }
            Fault::UnknownSyscall {
                fault_ip, syscall, ..
            } => write!(f, "unknown syscall {syscall:#x} at pc {fault_ip:#x}"),
            Fault::UserException {
                fault_ip,
                sp,
                number,
                code,
                ..
            } => write!(
                f,
                "user exception {number:#x} (code {code:#x}) at pc {fault_ip:#x}, sp {sp:#x}"
            ),
            Fault::VmFault {
                ip,
                addr,
                prefetch,
                fsr,
            } => {
                // ESR.ISS bit 6 (WnR) tells a data write from a read.
                let access = match (prefetch, fsr & (1 << 6) != 0) {
                    (true, _) => "instruction fetch",
                    (false, true) => "data write",
                    (false, false) => "data read",
                };
                write!(
                    f,
                    "VM fault: {access} at {addr:#x}, pc {ip:#x}, FSR {fsr:#x}"
                )
            }
            Fault::VgicMaintenance { idx } => match idx {
                Some(i) => write!(f, "VGIC maintenance, list register {i}"),
                None => write!(f, "VGIC maintenance, list register unknown"),
            },
            Fault::VcpuFault { hsr } => write!(f, "VCPU fault, HSR {hsr:#x}"),
            Fault::VppiEvent { irq } => write!(f, "VPPI event, IRQ {irq}"),
            Fault::Unrecognised { label, length } => {
                write!(f, "unrecognised message (label {label:#x}, {length} words)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_faults_tests_provoke() {
        let null_read = Fault::VmFault {
            ip: 0x40_0120,
            addr: 0,
            prefetch: false,
            fsr: 0x9200_0006,
        };
        assert_eq!(
            Describe(&null_read).to_string(),
            "VM fault: data read at 0x0, pc 0x400120, FSR 0x92000006"
        );
        let cap = Fault::CapFault {
            ip: 0x40_0200,
            addr: 24,
            in_recv_phase: false,
            lookup_failure_type: 2,
        };
        assert_eq!(
            Describe(&cap).to_string(),
            "cap fault: cptr 0x18 names no usable capability, lookup failure type 2, pc 0x400200"
        );
        assert_eq!(label_name(fault_label::VM_FAULT), "VM fault");
        assert_eq!(label_name(99), "unknown fault");
    }
}
