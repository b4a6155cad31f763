//! Guest `timer`: reads N from IN_IRQ_COUNT (0 means 1), enables the GIC CPU interface as
//! `irq` does, arms the EL1 virtual timer (CNTV_TVAL_EL0 = CNTFRQ / 1000, i.e. about 1 ms;
//! CNTV_CTL_EL0 = ENABLE), unmasks IRQs, writes STATUS = READY and waits in WFI. Each IRQ:
//! read GICC_IAR; special INTIDs (1020..1023) are ignored; INTID 27 (the timer PPI) counts a
//! tick: the timer is re-armed (another interval) or, at the N-th tick, disabled, *before*
//! EOIR (so the line is low when the host unmasks it); then RESULT = ticks so far, and at the
//! N-th tick SYSTEM_OFF. Any other INTID: EOIR, DETAIL = INTID, STATUS = UNEXPECTED_IRQ,
//! SYSTEM_OFF. CPU 0's program (the counters are global).
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/timer.rs"]
mod vtimer;

#[cfg(target_os = "none")]
rt::guest!(main = guest::main, irq = guest::on_irq);

#[cfg(target_os = "none")]
mod guest {
    use core::sync::atomic::{AtomicU64, Ordering};

    use guests::gicc;
    use guests::testdev::{
        DETAIL, IN_IRQ_COUNT, RESULT, STATUS, STATUS_READY, STATUS_UNEXPECTED_IRQ,
    };
    use guests::timer::{CNTV_CTL_ENABLE, TIMER_INTID, interval};

    use crate::{rt, vtimer};

    /// Ticks to take before powering off.
    static WANTED: AtomicU64 = AtomicU64::new(1);
    /// Ticks taken so far (plain loads and stores only: no exclusives on Device memory).
    static TAKEN: AtomicU64 = AtomicU64::new(0);
    /// The re-arm interval in counter ticks.
    static INTERVAL: AtomicU64 = AtomicU64::new(1);

    pub fn main(_: [u64; 4]) -> ! {
        WANTED.store(rt::testdev_read(IN_IRQ_COUNT).max(1), Ordering::Relaxed);
        let ticks = interval(vtimer::frequency());
        INTERVAL.store(ticks, Ordering::Relaxed);
        rt::gicc_write(gicc::PMR, gicc::PMR_ALL);
        rt::gicc_write(gicc::CTLR, gicc::CTLR_GUEST);
        vtimer::set_tval(ticks);
        vtimer::set_ctl(CNTV_CTL_ENABLE);
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
        if intid != TIMER_INTID {
            rt::gicc_write(gicc::EOIR, iar);
            rt::testdev_write(DETAIL, u64::from(intid));
            rt::testdev_write(STATUS, STATUS_UNEXPECTED_IRQ);
            rt::system_off();
        }
        let count = TAKEN.load(Ordering::Relaxed) + 1;
        TAKEN.store(count, Ordering::Relaxed);
        let done = count >= WANTED.load(Ordering::Relaxed);
        if done {
            vtimer::set_ctl(0);
        } else {
            vtimer::set_tval(INTERVAL.load(Ordering::Relaxed));
        }
        rt::gicc_write(gicc::EOIR, iar);
        rt::testdev_write(RESULT, count);
        if done {
            rt::system_off();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`timer` is a guest image: build it with --target aarch64-unknown-none");
}
