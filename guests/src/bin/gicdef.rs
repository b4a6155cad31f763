//! Guest `gicdef`: never programs its GIC CPU interface (no CTLR, no PMR write): it relies on
//! the interface being enabled at VCPU creation, as Zircon enables it. x0 (written with
//! `write_state`) picks the mode:
//! - 0: unmask IRQs and spin. The first IRQ writes RESULT = [`IRQ_TAKEN`] and powers off; the
//!   guest never touches the GIC at all.
//! - 1: unmask IRQs and spin. Each IRQ reads GICC_IAR, writes RESULT = INTID, executes WFI
//!   (which must return at once: the server resumes a WFI while a vector is in a list register),
//!   writes RESULT = [`WFI_RETURNED`] | INTID, writes GICC_EOIR; the second IRQ powers off.
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
    use guests::gicdef::{IRQ_TAKEN, MODE_IAR_WFI, WFI_RETURNED};
    use guests::testdev::RESULT;

    use crate::rt;

    /// The mode (x0). Only CPU 0 runs this guest.
    static MODE: AtomicU64 = AtomicU64::new(0);
    /// Interrupts taken in mode 1.
    static TAKEN: AtomicU64 = AtomicU64::new(0);

    pub fn main(args: [u64; 4]) -> ! {
        MODE.store(args[0], Ordering::Relaxed);
        rt::irq_unmask();
        #[allow(clippy::empty_loop)]
        loop {}
    }

    pub fn on_irq() {
        if MODE.load(Ordering::Relaxed) != MODE_IAR_WFI {
            rt::testdev_write(RESULT, IRQ_TAKEN);
            rt::system_off();
        }
        let iar = rt::gicc_read(gicc::IAR);
        let intid = u64::from(iar & gicc::INTID_MASK);
        rt::testdev_write(RESULT, intid);
        rt::wfi();
        rt::testdev_write(RESULT, WFI_RETURNED | intid);
        rt::gicc_write(gicc::EOIR, iar);
        let taken = TAKEN.load(Ordering::Relaxed) + 1;
        TAKEN.store(taken, Ordering::Relaxed);
        if taken >= 2 {
            rt::system_off();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`gicdef` is a guest image: build it with --target aarch64-unknown-none");
}
