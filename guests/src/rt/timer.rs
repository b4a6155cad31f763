//! The `timer` guest's system-register access: the EL1 virtual timer (CNTV_*_EL0) and its
//! frequency. seL4 never traps these registers for a VCPU, so none of them exits.
#![allow(unsafe_code)]

use core::arch::asm;

/// CNTFRQ_EL0: the system counter's frequency in Hz.
pub fn frequency() -> u64 {
    let f: u64;
    // Safety: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) f, options(nomem, nostack, preserves_flags)) };
    f
}

/// CNTV_TVAL_EL0 = `ticks`: the virtual timer's condition becomes true `ticks` counter ticks
/// from now (this also clears a condition that was already true).
pub fn set_tval(ticks: u64) {
    // Safety: only reprograms this CPU's virtual timer; no memory access. An IRQ may follow
    // (hence no `nomem`).
    unsafe {
        asm!("msr cntv_tval_el0, {}", "isb", in(reg) ticks, options(nostack, preserves_flags))
    };
}

/// CNTV_CTL_EL0 = `ctl` (bit 0 ENABLE, bit 1 IMASK).
pub fn set_ctl(ctl: u64) {
    // Safety: as for `set_tval`.
    unsafe { asm!("msr cntv_ctl_el0, {}", "isb", in(reg) ctl, options(nostack, preserves_flags)) };
}
