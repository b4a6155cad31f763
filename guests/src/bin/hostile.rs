//! Guest `hostile`: tries to escape, one step of `guests::hostile::STEPS` at a time, starting
//! at the index in x0: HVCs (seL4 syscalls on small cptrs, unknown numbers, a forged fault),
//! SMCs with non-PSCI ids and non-zero immediates, accesses to unmapped IPAs and to the GIC
//! distributor, accesses without a syndrome, jumps outside RAM, the EL1 physical timer, and
//! EL1-internal exceptions (SVC, BRK, UDF, EL2 registers, an illegal ERET). Each step is
//! announced on MARKER and reported on RESULT/DETAIL; then STATUS = DONE and PSCI SYSTEM_OFF.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/hostile.rs"]
mod attempts;

#[cfg(target_os = "none")]
rt::guest!(main = guest::main);

#[cfg(target_os = "none")]
mod guest {
    use guests::hostile::STEPS;
    use guests::testdev::{DETAIL, MARKER, RESULT, STATUS, STATUS_DONE};

    use crate::{attempts, rt};

    pub fn main(x: [u64; 4]) -> ! {
        let first = usize::try_from(x[0]).unwrap_or(usize::MAX);
        for (index, step) in STEPS.iter().enumerate().skip(first) {
            rt::testdev_write(MARKER, index as u64);
            let (result, detail) = attempts::run(step.action);
            rt::testdev_write(RESULT, result);
            rt::testdev_write(DETAIL, detail);
        }
        rt::testdev_write(STATUS, STATUS_DONE);
        rt::system_off()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`hostile` is a guest image: build it with --target aarch64-unknown-none");
}
