//! The component runtime of the VMM and the scenario programs (target only), on top of
//! `sel4-runtime`.
//!
//! # Threads
//! A program declares `vmm::component!(main = f, worker = g)`. Every thread starts at the ELF
//! entry on its own stack with x0 = boot page and x1 = thread index (`sel4-runtime`'s
//! two-argument `entry!`). Thread 0 runs `f(Ctx) -> !`; every other thread (a *worker*) parks
//! until thread 0 gives it a job with [`Ctx::start`], runs `g(&mut Ctx, job)`, and parks
//! again. Thread 0 waits for a job to end with [`Ctx::wait`]. Each thread has its own
//! [`Ctx`]: its boot page entry, its IPC buffer and its badged endpoint, i.e. its own
//! `Sel4Transport` (the server tells threads apart by their badges, which is what VCPU thread
//! affinity rests on). Threads share statics; pass data to a job through atomics.
//!
//! # Ending
//! Every thread of a plan reports to the root task when it is done (`root_task::Status::Done`
//! on its fault endpoint), and the root task prints the run's verdict and the test sentinel
//! once all have. Thread 0 ends with [`Ctx::finish`], which first makes every worker report
//! (the [`FINISH`] job) and then reports its own counts.
//!
//! # Synchronisation (no notifications: a client gets no untyped memory)
//! A thread waits by blocking in the server: it creates a port, publishes its handle in its
//! `PARK` word, re-checks the condition it waits for, and calls `zx_port_wait(ZX_TIME_INFINITE)`
//! on it. Another thread of the component (same handle table) wakes it by setting the condition
//! and then closing the published port: a thread blocked in `port_wait` on a port whose last
//! handle is closed gets `ZX_ERR_CANCELED`, and a wait on an already closed handle fails at once
//! (`ZX_ERR_BAD_HANDLE`). With sequentially consistent atomics either the waiter sees the
//! condition before it waits, or the waker sees the published port and closes it, so no wake-up
//! is lost, whatever the priorities. (A thread cannot simply suspend itself: a thread that
//! suspends itself re-executes its suspend syscall when resumed.) Each parked thread holds one
//! port, and the server has few (`vcpu_server::MAX_PORTS`).
//!
//! A worker with a higher priority than thread 0 runs a job as soon as it is started, until it
//! blocks; a worker with a lower priority runs it only when thread 0 blocks (e.g. in
//! `vcpu_enter`). The scenario programs use both (see docs/SCENARIOS.md).

mod guest;
mod ram;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use plan::bootpage::{BootPage, ThreadInfo};
use sel4::{Cap, IpcBuffer, cap_type};
use vcpu_client::{
    HandleValue, PortPacket, Sel4Transport, Status, zx_handle_close, zx_port_create, zx_port_wait,
};
use vcpu_protocol::layout::TIME_INFINITE;
use zerocopy::FromZeros;

pub use guest::GuestVm;
pub use ram::{GuestRam, LoadError, RamError};
pub use sel4_runtime;

/// Most threads a component has.
pub const MAX_THREADS: usize = plan::MAX_THREADS;

/// The job that makes a worker report to the root task and park for good.
pub const FINISH: u32 = u32::MAX;

/// The job word of each thread (0 = none).
static JOBS: [AtomicU32; MAX_THREADS] = [const { AtomicU32::new(0) }; MAX_THREADS];
/// True from [`Ctx::start`] until the worker finished that job.
static BUSY: [AtomicBool; MAX_THREADS] = [const { AtomicBool::new(false) }; MAX_THREADS];
/// The port each thread is parked on (0 = not parked).
static PARK: [AtomicU32; MAX_THREADS] = [const { AtomicU32::new(0) }; MAX_THREADS];

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
        self.wake(worker);
    }

    /// Waits (blocked in the server, not spinning) until worker `worker` has finished its job.
    pub fn wait(&mut self, worker: usize) {
        if let Some(busy) = BUSY.get(worker) {
            self.park_until(|| !busy.load(Ordering::SeqCst));
        }
    }

    /// Blocks until `ready()` holds; another thread must make it hold and then call
    /// [`Ctx::wake`] for this thread (see the module documentation).
    fn park_until(&mut self, ready: impl Fn() -> bool) {
        let park = &PARK[self.index];
        loop {
            if ready() {
                return;
            }
            let port = match zx_port_create(&mut self.t, 0) {
                Ok(p) => p,
                Err(s) => panic!("cannot park: port_create: {s:?}"),
            };
            park.store(port, Ordering::SeqCst);
            if !ready() {
                let mut packet = PortPacket::new_zeroed();
                // CANCELED when woken; BAD_HANDLE if woken before the call.
                let s = zx_port_wait(&mut self.t, port, TIME_INFINITE, &mut packet);
                if s != Status::ERR_CANCELED && s != Status::ERR_BAD_HANDLE {
                    panic!("cannot park: port_wait: {s:?}");
                }
            }
            // Not woken by closing (the condition held already): close the port ourselves.
            let left = park.swap(0, Ordering::SeqCst);
            if left != 0 {
                let _ = zx_handle_close(&mut self.t, left);
            }
        }
    }

    /// Wakes thread `index` if it is parked (after the caller made its condition hold).
    fn wake(&mut self, index: usize) {
        let port = PARK.get(index).map_or(0, |p| p.swap(0, Ordering::SeqCst));
        if port != 0 {
            let _ = zx_handle_close(&mut self.t, port);
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

    /// Reports this thread's counts to the root task (`Status::Done`); false if the root task
    /// did not acknowledge.
    pub fn report(&mut self, passed: u64, failed: u64) -> bool {
        let fault_ep = Cap::from_cptr(plan::cspace::fault(self.index));
        root_task::Status::Done { passed, failed }.send(self.ipc(), fault_ep)
    }

    /// Thread 0's end: every worker reports (job [`FINISH`]), then this thread reports its
    /// counts and stops.
    pub fn finish(mut self, passed: u64, failed: u64) -> ! {
        for worker in 1..self.threads() {
            self.wait(worker);
            self.run_job(worker, FINISH);
        }
        if !self.report(passed, failed) {
            sel4_runtime::debug_println!("{}: the root task did not acknowledge", self.boot.name());
        }
        sel4_runtime::stop()
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

/// Every thread's start (called by [`crate::component!`] with the initial x0 and x1).
pub fn start(boot: usize, index: usize, main: fn(Ctx) -> !, worker: fn(&mut Ctx, u32)) -> ! {
    let boot = boot_page(boot);
    let Some(info) = boot.threads().get(index) else {
        panic!("boot page lists no thread {index}");
    };
    let own: Cap<cap_type::Tcb> = Cap::from_cptr(info.tcb);
    sel4_runtime::set_own_tcb(own);
    let mut ctx = Ctx {
        index,
        boot,
        t: transport(info),
    };
    ctx.ipc().debug_name_thread(own, info.name());
    if index == 0 {
        main(ctx)
    }
    run_worker(ctx, worker)
}

/// A worker's life: park, run jobs, report at [`FINISH`].
fn run_worker(mut ctx: Ctx, worker: fn(&mut Ctx, u32)) -> ! {
    let index = ctx.index;
    loop {
        ctx.park_until(|| JOBS[index].load(Ordering::SeqCst) != 0);
        let job = JOBS[index].swap(0, Ordering::SeqCst);
        if job == FINISH {
            let acknowledged = ctx.report(0, 0);
            if !acknowledged {
                let name = ctx.thread().name();
                sel4_runtime::debug_println!("{name}: the root task did not acknowledge");
            }
            BUSY[index].store(false, Ordering::SeqCst);
            ctx.wake(0);
            sel4_runtime::stop()
        }
        worker(&mut ctx, job);
        BUSY[index].store(false, Ordering::SeqCst);
        ctx.wake(0);
    }
}

/// The worker of a program without workers (its threads other than 0, if any, only report).
pub fn no_worker(_: &mut Ctx, job: u32) {
    panic!("this program has no worker (job {job})");
}

/// Defines the program's entry: `component!(main = f)` or `component!(main = f, worker = g)`
/// with `f: fn(Ctx) -> !` and `g: fn(&mut Ctx, u32)`.
#[macro_export]
macro_rules! component {
    (main = $main:path) => {
        $crate::component!(main = $main, worker = $crate::rt::no_worker);
    };
    (main = $main:path, worker = $worker:path) => {
        $crate::rt::sel4_runtime::entry!(__vmm_component_entry);
        fn __vmm_component_entry(boot: usize, index: usize) -> ! {
            $crate::rt::start(boot, index, $main, $worker)
        }
    };
}

/// Prints to the console (`seL4_DebugPutChar`).
pub use sel4_runtime::{DebugWriter, debug_print, debug_println};
