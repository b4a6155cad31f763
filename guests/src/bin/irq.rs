//! Guest `irq`: reads N from IN_IRQ_COUNT (0 means 1), enables the GIC CPU interface (PMR
//! 0xFF, CTLR = EnableGrp0 | EnableGrp1 | AckCtl), unmasks IRQs, writes STATUS = READY and
//! waits in WFI. Each IRQ: read GICC_IAR; for a real INTID (< 1020) write EOIR, write the
//! INTID to RESULT and, at the N-th, call PSCI SYSTEM_OFF. Special INTIDs (1020..1023) are
//! ignored. Per-CPU state, so every VCPU may run it.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
rt::guest!(main = guest::main, irq = guest::on_irq);

#[cfg(target_os = "none")]
mod guest {
    use core::sync::atomic::{AtomicU64, Ordering};

    use guests::gicc;
    use guests::layout::MAX_CPUS;
    use guests::testdev::{IN_IRQ_COUNT, RESULT, STATUS, STATUS_READY};

    use crate::rt;

    const CPUS: usize = MAX_CPUS as usize;
    /// Interrupts to take before powering off, per CPU.
    static WANTED: [AtomicU64; CPUS] = [const { AtomicU64::new(1) }; CPUS];
    /// Interrupts taken so far, per CPU. Only this CPU's IRQ handler writes its slot, and
    /// only with plain loads and stores (no exclusives on Device memory).
    static TAKEN: [AtomicU64; CPUS] = [const { AtomicU64::new(0) }; CPUS];

    pub fn main(_: [u64; 4]) -> ! {
        let cpu = rt::cpu();
        let wanted = rt::testdev_read(IN_IRQ_COUNT).max(1);
        if let Some(slot) = WANTED.get(cpu) {
            slot.store(wanted, Ordering::Relaxed);
        }
        rt::gicc_write(gicc::PMR, gicc::PMR_ALL);
        rt::gicc_write(gicc::CTLR, gicc::CTLR_GUEST);
        rt::irq_unmask();
        rt::testdev_write(STATUS, STATUS_READY);
        loop {
            rt::wfi();
        }
    }

    pub fn on_irq() {
        let iar = rt::gicc_read(gicc::IAR);
        let intid = iar & gicc::INTID_MASK;
        if intid >= gicc::INTID_SPECIAL {
            return;
        }
        rt::gicc_write(gicc::EOIR, iar);
        rt::testdev_write(RESULT, u64::from(intid));
        let cpu = rt::cpu();
        let (Some(taken), Some(wanted)) = (TAKEN.get(cpu), WANTED.get(cpu)) else {
            return;
        };
        let count = taken.load(Ordering::Relaxed) + 1;
        taken.store(count, Ordering::Relaxed);
        if count >= wanted.load(Ordering::Relaxed) {
            rt::system_off();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`irq` is a guest image: build it with --target aarch64-unknown-none");
}
