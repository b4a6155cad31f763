//! PSCI for the Linux guest: who answers what.
//!
//! The guest calls PSCI with `smc #0` (the device tree says `method = "smc"`). The VCPU server
//! answers every SMC itself (vcpu-server `guest_exit.rs`, following Zircon's arm64 `vmexit`);
//! the VMM sees only the calls that end or start a VCPU, as `zx_vcpu_enter` results:
//!
//! | call (w0) | answered by | guest sees / VMM sees |
//! |---|---|---|
//! | PSCI_VERSION 0x8400_0000 | server | x0 = 2 (PSCI 0.2, Zircon's answer): Linux then uses the 0.2 function ids and makes **no** PSCI_FEATURES calls |
//! | MIGRATE_INFO_TYPE 0x8400_0006 | server | x0 = −1 (NOT_SUPPORTED): "MIGRATE_INFO_TYPE not supported", no Trusted-OS CPU pinned |
//! | PSCI_FEATURES 0x8400_000A | server | x0 = −1 (never called after VERSION 0.2) |
//! | AFFINITY_INFO 0xC400_0004 | server | x0 = −1 (Linux asks only when unplugging a CPU) |
//! | CPU_ON 0xC400_0003 | server | x0 = 0; enter returns a GUEST_VCPU STARTUP packet (id = MPIDR, entry) → [`Event::CpuOn`] |
//! | CPU_OFF 0x8400_0002 | server | enter returns `ZX_ERR_STOP` → [`Event::CpuOff`] |
//! | SYSTEM_OFF 0x8400_0008 | server | enter returns `ZX_ERR_UNAVAILABLE` → [`Event::SystemOff`] |
//! | SYSTEM_RESET 0x8400_0009 | server | enter returns `ZX_ERR_CANCELED` → [`Event::SystemResetOrKick`] (the same status a kick gives) |
//! | anything else | server | x0 = −1 |
//!
//! The VMM boots one VCPU (the device tree lists one CPU), so Linux never calls CPU_ON; a
//! STARTUP packet is reported as unexpected. SYSTEM_RESET (e.g. `panic=-1` after a kernel
//! panic) ends the run as a failure: this VMM does not reboot guests.
#![forbid(unsafe_code)]

use vcpu_protocol::Status;
use vcpu_protocol::layout::PacketGuestVcpu;

/// `ZX_PKT_GUEST_VCPU_STARTUP`.
pub const VCPU_STARTUP: u32 = 1;

/// A power event the VMM learns from `zx_vcpu_enter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// PSCI SYSTEM_OFF: the guest powered off.
    SystemOff,
    /// PSCI SYSTEM_RESET, or a kick (the server reports both as `ZX_ERR_CANCELED`).
    SystemResetOrKick,
    /// PSCI CPU_OFF of this VCPU.
    CpuOff,
    /// PSCI CPU_ON for the CPU with this MPIDR at this entry.
    CpuOn {
        /// Target MPIDR.
        mpidr: u64,
        /// Entry point.
        entry: u64,
    },
}

/// What an error status from `zx_vcpu_enter` means for this guest (the server's exit
/// semantics, docs/SERVER.md and vcpu-server `guest_exit.rs`).
pub fn explain(status: Status) -> &'static str {
    match status {
        Status::ERR_UNAVAILABLE => "PSCI SYSTEM_OFF: the guest powered off",
        Status::ERR_CANCELED => "PSCI SYSTEM_RESET (or a kick): this VMM does not reboot guests",
        Status::ERR_STOP => "PSCI CPU_OFF of the only VCPU",
        Status::ERR_NOT_FOUND => {
            "an access to guest-physical memory that is neither RAM nor a trapped device (wild MMIO or a wild jump)"
        }
        Status::ERR_ACCESS_DENIED => "a permission fault in guest RAM",
        Status::ERR_IO_DATA_INTEGRITY => {
            "a device access without instruction syndrome (e.g. a load pair), which cannot be emulated"
        }
        Status::ERR_NOT_SUPPORTED => {
            "an exit the server does not handle: an unknown system register, HVC or exception class"
        }
        _ => "an error of the server or of the VMM's own request",
    }
}

/// The power event an enter status stands for, if any.
pub fn from_status(status: Status) -> Option<Event> {
    match status {
        Status::ERR_UNAVAILABLE => Some(Event::SystemOff),
        Status::ERR_CANCELED => Some(Event::SystemResetOrKick),
        Status::ERR_STOP => Some(Event::CpuOff),
        _ => None,
    }
}

/// The power event of a GUEST_VCPU packet, if it is a STARTUP.
pub fn from_vcpu_packet(p: &PacketGuestVcpu) -> Option<Event> {
    (p.vcpu_type == VCPU_STARTUP).then_some(Event::CpuOn {
        mpidr: p.word0,
        entry: p.word1,
    })
}

#[cfg(test)]
mod tests {
    use zerocopy::FromZeros;

    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(from_status(Status::ERR_UNAVAILABLE), Some(Event::SystemOff));
        assert_eq!(
            from_status(Status::ERR_CANCELED),
            Some(Event::SystemResetOrKick)
        );
        assert_eq!(from_status(Status::ERR_STOP), Some(Event::CpuOff));
        assert_eq!(from_status(Status::ERR_NOT_FOUND), None);
        assert_eq!(from_status(Status::OK), None);
    }

    #[test]
    fn every_failure_is_explained() {
        assert!(explain(Status::ERR_NOT_FOUND).contains("wild"));
        assert!(explain(Status::ERR_NOT_SUPPORTED).contains("system register"));
        assert!(explain(Status::ERR_CANCELED).contains("RESET"));
        assert!(explain(Status::ERR_NO_MEMORY).contains("error"));
    }

    #[test]
    fn startup_packet() {
        let mut p = PacketGuestVcpu::new_zeroed();
        p.vcpu_type = VCPU_STARTUP;
        p.word0 = 1;
        p.word1 = 0x40DD_22C8;
        assert_eq!(
            from_vcpu_packet(&p),
            Some(Event::CpuOn {
                mpidr: 1,
                entry: 0x40DD_22C8
            })
        );
        p.vcpu_type = 2;
        assert_eq!(from_vcpu_packet(&p), None);
    }
}
