//! Shared by the QEMU test programs (`tests/qemu/programs/*`): start-up from the boot page,
//! PASS/FAIL cases in the runner's format, and the status reports the root task judges.
//!
//! A test thread starts with [`Test::start`] (boot page address and thread index, the two
//! words every thread of a plan starts with), records its checks with [`Test::check`] (one
//! `PASS <case>` or `FAIL <case>: <detail>` line each, the case prefixed with
//! `component.thread`), and ends with [`Test::finish`]: it reports its counts to the root task
//! (`root_task::Status::Done`) and stops. A thread that must fault announces it first with
//! [`Test::expect_fault`]; the root task then counts the fault as a pass.
//!
//! The echo protocol of `tests/qemu/ipc.toml` (between `ipc-client` and `echo-server`) is
//! defined in [`echo`].
#![no_std]
#![deny(unsafe_code)]

mod start;

pub use start::Region;

use core::fmt;

use plan::bootpage::{BootPage, ThreadInfo};
use root_task::Status;
use sel4::{Cap, IpcBuffer, cap_type};
use sel4_runtime::debug_println;

/// The echo protocol between `ipc-client` and `echo-server`.
pub mod echo {
    /// Request: echo my words. Reply (label 0): `[badge the server saw, the request's words..]`.
    pub const ECHO: u64 = 1;
    /// Request: this thread is done calling. Reply: label 0, no words.
    pub const BYE: u64 = 2;
    /// Reply label for a request the server refused (unknown badge or label).
    pub const REFUSED: u64 = 0xE;
}

/// One test thread.
pub struct Test {
    /// The component's boot page.
    pub boot: &'static BootPage,
    /// This thread's index in the plan (`x1` at start).
    pub index: usize,
    /// This thread's IPC buffer.
    pub ipc: &'static mut IpcBuffer,
    passed: u64,
    failed: u64,
}

/// `component.thread`, as case names show it.
#[derive(Clone, Copy)]
pub struct Who(&'static str, &'static str);

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl Test {
    /// Starts a test thread from the initial `x0` (boot page) and `x1` (thread index).
    /// Panics (printing the failure sentinel) if the boot page or the index is invalid.
    pub fn start(boot_addr: usize, index: usize) -> Test {
        let boot = start::boot_page(boot_addr);
        let Some(thread) = boot.threads().get(index) else {
            panic!(
                "thread index {index} is not in the boot page of `{}`",
                boot.name()
            );
        };
        sel4_runtime::set_own_tcb(Cap::from_cptr(thread.tcb));
        let ipc = start::ipc_buffer(thread);
        ipc.debug_name_thread(Cap::from_cptr(thread.tcb), thread.name());
        Test {
            boot,
            index,
            ipc,
            passed: 0,
            failed: 0,
        }
    }

    /// This thread's entry in the boot page.
    pub fn thread(&self) -> &'static ThreadInfo {
        &self.boot.threads()[self.index]
    }

    /// `component.thread`.
    pub fn who(&self) -> Who {
        Who(self.boot.name(), self.thread().name())
    }

    /// This thread's fault endpoint capability (to the root task).
    pub fn fault_ep(&self) -> Cap<cap_type::Endpoint> {
        Cap::from_cptr(plan::cspace::fault(self.index))
    }

    /// Records a check: prints `PASS <who> <case>` or `FAIL <who> <case>: <detail>`.
    pub fn check(&mut self, case: &str, ok: bool, detail: fmt::Arguments<'_>) -> bool {
        if ok {
            self.passed += 1;
            debug_println!("PASS {} {case}: {detail}", self.who());
        } else {
            self.failed += 1;
            debug_println!("FAIL {} {case}: {detail}", self.who());
        }
        ok
    }

    /// Checks that failed so far.
    pub fn failures(&self) -> u64 {
        self.failed
    }

    /// Reports the counts to the root task (`Status::Done`) and returns, for threads that keep
    /// running (a server).
    pub fn report(&mut self) {
        let done = Status::Done {
            passed: self.passed,
            failed: self.failed,
        };
        if !done.send(self.ipc, self.fault_ep()) {
            debug_println!(
                "FAIL {} report: the root task did not acknowledge",
                self.who()
            );
        }
    }

    /// Reports the counts to the root task and stops the thread.
    pub fn finish(mut self) -> ! {
        self.report();
        sel4_runtime::stop()
    }

    /// Tells the root task that this thread's next fault, with `label` at `addr`, is deliberate.
    pub fn expect_fault(&mut self, label: u64, addr: u64) {
        let status = Status::ExpectFault { label, addr };
        if !status.send(self.ipc, self.fault_ep()) {
            debug_println!(
                "FAIL {} announce: the root task did not acknowledge",
                self.who()
            );
        }
    }
}
