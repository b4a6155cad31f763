//! Guest `smp`: CPU 0 prints `smp: cpu 0 up\n`, starts CPU 1 with PSCI CPU_ON (target MPIDR
//! 1, entry = this image's entry, context 0), reports CPU_ON's x0 on DETAIL, waits (WFE) until
//! CPU 1 has printed `smp: cpu 1 up\n`, then prints `smp: all up\n` and calls SYSTEM_OFF.
//! CPU 1 (and any other) prints its line, flags itself up, and calls CPU_OFF.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
rt::guest!(main = guest::main);

#[cfg(target_os = "none")]
mod guest {
    use core::sync::atomic::{AtomicBool, Ordering};

    use guests::psci;
    use guests::testdev::{DETAIL, STATUS, STATUS_CPU_ON_FAILED, STATUS_DONE};

    use crate::rt;

    /// Set by CPU 1 after its line is printed (store-release / load-acquire: plain `stlrb` /
    /// `ldarb`, no exclusives).
    static SECONDARY_UP: AtomicBool = AtomicBool::new(false);

    pub fn main(_: [u64; 4]) -> ! {
        let cpu = rt::cpu();
        rt::uart_write(b"smp: cpu ");
        rt::uart_write_dec(cpu as u64);
        rt::uart_write(b" up\n");
        if cpu != 0 {
            SECONDARY_UP.store(true, Ordering::Release);
            rt::sev();
            rt::cpu_off();
        }
        let status = rt::psci(psci::CPU_ON, [1, rt::entry_point(), 0]);
        rt::testdev_write(DETAIL, status);
        if status != psci::SUCCESS {
            rt::testdev_write(STATUS, STATUS_CPU_ON_FAILED);
            rt::system_off();
        }
        while !SECONDARY_UP.load(Ordering::Acquire) {
            rt::wfe();
        }
        rt::uart_write(b"smp: all up\n");
        rt::testdev_write(STATUS, STATUS_DONE);
        rt::system_off()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`smp` is a guest image: build it with --target aarch64-unknown-none");
}
