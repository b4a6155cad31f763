//! The component runtime of the VMM and the scenario programs (target only), on top of
//! `sel4-runtime`.
//!
//! # Threads
//! A program declares `vmm::component!(main = f, worker = g)`. Thread 0 runs
//! `f(Ctx) -> !`; every other thread of the component (a *worker*) parks until thread 0 gives
//! it a job with [`Ctx::start`], runs `g(&mut Ctx, job)`, and parks again. Thread 0 waits for
//! a job to end with [`Ctx::wait`]. Each thread has its own [`Ctx`]: its boot page entry, its
//! IPC buffer and its badged endpoint, i.e. its own `Sel4Transport` (the server tells threads
//! apart by their badges, which is what VCPU thread affinity rests on). Threads share
//! statics; pass data to a job through atomics.
//!
//! # Synchronisation (no notifications: a client gets no untyped memory)
//! Parking is `TCB_Suspend` on the thread's own TCB and waking is `TCB_Resume` from another
//! thread of the component (all TCB caps are in the shared CSpace):
//! - a worker parks only while its job word is 0, and re-checks it after every wake-up;
//! - thread 0 sets the job word before resuming the worker;
//! - thread 0 waits by raising `MAIN_WAITING` and suspending itself while the worker is busy; a
//!   worker that finishes a job resumes thread 0 only if `MAIN_WAITING` was raised (resuming a
//!   thread that is blocked in a server call would restart that call).
//!
//! Lost wake-ups are excluded by scheduling, not by atomicity: between its check and its
//! suspend a thread runs no syscall, and on this single-core, fixed-priority system a thread is
//! preempted there only if a higher-priority thread becomes runnable, which needs an IPC reply
//! or signal; the scenario manifests give no other thread a reason to run at that moment (the
//! server replies only to the thread that called it, and VCPUs run below every client thread).
//! A worker with a higher priority than thread 0 runs a job as soon as it is started, until it
//! blocks; a worker with a lower priority runs it only when thread 0 blocks (e.g. in
//! `vcpu_enter`). The scenario programs use both (see docs/SCENARIOS.md).

mod ram;
mod start;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use plan::bootpage::{BootPage, ThreadInfo};
use sel4::{Cap, IpcBuffer, cap_type};
use vcpu_client::{HandleValue, Sel4Transport};

pub use ram::{GuestRam, LoadError, RamError};
pub use sel4_runtime;

/// Most threads a component has.
pub const MAX_THREADS: usize = plan::MAX_THREADS;

/// The job word of each thread (0 = none).
static JOBS: [AtomicU32; MAX_THREADS] = [const { AtomicU32::new(0) }; MAX_THREADS];
/// True from [`Ctx::start`] until the worker finished that job.
static BUSY: [AtomicBool; MAX_THREADS] = [const { AtomicBool::new(false) }; MAX_THREADS];
/// Thread 0 is suspended (or about to be) in [`Ctx::wait`].
static MAIN_WAITING: AtomicBool = AtomicBool::new(false);

/// One thread's view of the component.
pub struct Ctx {
    /// Thread index (0 = main).
    pub index: usize,
    /// The component's boot page.
    pub boot: &'static BootPage,
    /// This thread's transport to the server.
    pub t: Sel4Transport<'static>,
}

impl Ctx {
    /// This thread's boot page entry.
    pub fn thread(&self) -> &ThreadInfo {
        &self.boot.threads()[self.index]
    }

    /// The TCB of thread `index` of this component.
    pub fn tcb(&self, index: usize) -> Cap<cap_type::Tcb> {
        Cap::from_cptr(self.boot.threads().get(index).map_or(0, |t| t.tcb))
    }

    /// This thread's IPC buffer.
    pub fn ipc(&mut self) -> &mut IpcBuffer {
        self.t.ipc()
    }

    /// The initial handle called `name` (a grant in the manifest).
    pub fn handle(&self, name: &str) -> Option<HandleValue> {
        self.boot.handle(name).map(|h| h.value)
    }

    /// This component's client id.
    pub fn client_id(&self) -> u16 {
        self.boot.client_id
    }

    /// Number of threads of this component.
    pub fn threads(&self) -> usize {
        self.boot.threads().len()
    }

    /// Gives worker `worker` the job `job` (non-zero) and wakes it. The worker must not be busy.
    pub fn start(&mut self, worker: usize, job: u32) {
        if worker == 0 || worker >= self.threads() || job == 0 {
            panic!("bad job {job} for worker {worker}");
        }
        if BUSY[worker].swap(true, Ordering::SeqCst) {
            panic!("worker {worker} is still busy");
        }
        JOBS[worker].store(job, Ordering::SeqCst);
        let tcb = self.tcb(worker);
        if let Err(e) = tcb.tcb_resume(self.ipc()) {
            panic!("cannot resume worker {worker}: {e:?}");
        }
    }

    /// Waits (suspended, not spinning) until worker `worker` has finished its job.
    pub fn wait(&mut self, worker: usize) {
        let Some(busy) = BUSY.get(worker) else {
            return;
        };
        let own = self.tcb(self.index);
        loop {
            if !busy.load(Ordering::SeqCst) {
                return;
            }
            MAIN_WAITING.store(true, Ordering::SeqCst);
            if !busy.load(Ordering::SeqCst) {
                MAIN_WAITING.store(false, Ordering::SeqCst);
                return;
            }
            sel4::suspend_without_ipc_buffer(own);
        }
    }

    /// True while worker `worker` has a job.
    pub fn busy(&self, worker: usize) -> bool {
        BUSY.get(worker).is_some_and(|b| b.load(Ordering::SeqCst))
    }

    /// Runs `job` on worker `worker` and waits for it.
    pub fn run_job(&mut self, worker: usize, job: u32) {
        self.start(worker, job);
        self.wait(worker);
    }
}

/// The boot page at `addr` (the x0 every thread starts with).
#[allow(unsafe_code)]
fn boot_page(addr: usize) -> &'static BootPage {
    // Safety: the root task maps the boot page read-only at this address (x0 of every thread)
    // for the component's whole life, and nothing ever writes it; 4096 bytes is its frame.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, 4096) };
    match BootPage::from_bytes(bytes) {
        Ok(page) => page,
        Err(e) => panic!("bad boot page at {addr:#x}: {e:?}"),
    }
}

/// This thread's transport: its IPC buffer and its badged endpoint.
#[allow(unsafe_code)]
fn transport(info: &ThreadInfo) -> Sel4Transport<'static> {
    let addr = usize::try_from(info.ipc_buffer).unwrap_or(0);
    // Safety: the boot page names this thread's own IPC buffer, registered with the kernel for
    // this thread; each thread calls this once, so this is the only reference to it.
    let Some(ipc) = (unsafe { IpcBuffer::from_addr(addr) }) else {
        panic!("bad IPC buffer address {addr:#x}");
    };
    if info.endpoint == 0 {
        panic!("thread {} has no endpoint to the server", info.name());
    }
    Sel4Transport::new(ipc, Cap::from_cptr(info.endpoint))
}

/// Thread 0's start (called by [`crate::component!`]).
pub fn start_main(boot: usize, main: fn(Ctx) -> !) -> ! {
    let boot = boot_page(boot);
    let Some(info) = boot.threads().first() else {
        panic!("boot page lists no thread");
    };
    sel4_runtime::set_own_tcb(Cap::from_cptr(info.tcb));
    let t = transport(info);
    main(Ctx { index: 0, boot, t })
}

/// A worker's start (called by [`crate::component!`] through `vmm_thread_start`).
pub fn start_worker(boot: usize, index: usize, worker: fn(&mut Ctx, u32)) -> ! {
    let boot = boot_page(boot);
    let Some(info) = boot.threads().get(index) else {
        panic!("boot page lists no thread {index}");
    };
    let own: Cap<cap_type::Tcb> = Cap::from_cptr(info.tcb);
    let park = || {
        while JOBS[index].load(Ordering::SeqCst) == 0 {
            sel4::suspend_without_ipc_buffer(own);
        }
    };
    park();
    let mut ctx = Ctx {
        index,
        boot,
        t: transport(info),
    };
    loop {
        let job = JOBS[index].swap(0, Ordering::SeqCst);
        if job != 0 {
            worker(&mut ctx, job);
            BUSY[index].store(false, Ordering::SeqCst);
            if MAIN_WAITING.swap(false, Ordering::SeqCst) {
                let main = ctx.tcb(0);
                let _ = main.tcb_resume(ctx.ipc());
            }
        }
        park();
    }
}

/// The worker of a program without workers: a started job is a bug.
pub fn no_worker(_: &mut Ctx, job: u32) {
    panic!("this program has no worker (job {job})");
}

/// Defines the program's entry points: `component!(main = f)` or
/// `component!(main = f, worker = g)` with `f: fn(Ctx) -> !` and `g: fn(&mut Ctx, u32)`.
/// The program must be linked with `-evmm_thread_start`.
#[macro_export]
macro_rules! component {
    (main = $main:path) => {
        $crate::component!(main = $main, worker = $crate::rt::no_worker);
    };
    (main = $main:path, worker = $worker:path) => {
        $crate::rt::sel4_runtime::entry!(__vmm_component_main);
        fn __vmm_component_main(boot: usize) -> ! {
            $crate::rt::start_main(boot, $main)
        }
        /// Entered by `vmm_thread_start` for threads 1.. with (boot page, thread index).
        #[unsafe(no_mangle)]
        extern "C" fn __vmm_worker_entry(boot: usize, index: usize) -> ! {
            $crate::rt::start_worker(boot, index, $worker)
        }
    };
}

/// Prints to the console (`seL4_DebugPutChar`).
pub use sel4_runtime::{DebugWriter, debug_print, debug_println};
