//! The program proper (target only); see the binary's documentation.

use guests::hostile::{Expect, LEN, STEPS, Step};
use guests::layout::{RAM_BASE, TESTDEV_BASE, TESTDEV_SIZE};
use guests::testdev::{DETAIL, MARKER, RESULT, STATUS, STATUS_DONE};
use guests::{compute, zx};
use heapless::Vec;
use vcpu_client::{
    HandleValue, PortPacket, Status, vcpu_read_state, vcpu_write_state, zx_handle_close,
    zx_vcpu_create, zx_vcpu_enter,
};
use zerocopy::FromZeros;

use vmm::device::TestDevice;
use vmm::machine::{Devices, RunEnd, Step as RunStep, complete_read, load_value, mem_access, run};
use vmm::report::{CaseResult, Detail, Suite, detail, expect_eq, expect_ok, expect_status};
use vmm::rt::{Ctx, DebugWriter, GuestRam, GuestVm, debug_println};
use vmm::{fail, images};

vmm::component!(main = main);

/// Exits one step may take before the driver gives up on it.
const MAX_EXITS_PER_STEP: u32 = 64;

/// What one step did.
#[derive(Default)]
struct Log {
    errors: Vec<Status, 8>,
    result: Option<u64>,
    detail: Option<u64>,
    stuck: bool,
    powered_off: bool,
}

fn main(mut ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    match setup(&mut ctx) {
        Ok((resource, mut ram)) => {
            drive(&mut ctx, resource, &mut ram, &mut suite);
            let r = still_served(&mut ctx, resource, &mut ram);
            suite.record("hostile-server-still-serves", r);
        }
        Err(d) => suite.record("hostile-setup", Err(d)),
    }
    suite.summary("vcpu-hostile-guest");
    ctx.finish(suite.passed(), suite.failed())
}

fn setup(ctx: &mut Ctx) -> Result<(HandleValue, GuestRam), Detail> {
    let resource = ctx
        .handle("hypervisor")
        .ok_or_else(|| detail(format_args!("no grant")))?;
    let ram = GuestRam::take(ctx.boot, "ram").map_err(|e| detail(format_args!("ram: {e:?}")))?;
    Ok((resource, ram))
}

/// Runs every step, restarting the guest after a step that leaves it stuck.
fn drive(ctx: &mut Ctx, resource: HandleValue, ram: &mut GuestRam, suite: &mut Suite<DebugWriter>) {
    let gvm = match GuestVm::new(ctx, resource, ram, RAM_BASE) {
        Ok(g) => g,
        Err(d) => return suite.record("hostile-guest", Err(d)),
    };
    let entry = match gvm.load(ctx, ram, images::HOSTILE) {
        Ok(l) => l.entry,
        Err(d) => return suite.record("hostile-guest", Err(d)),
    };
    let mut start = 0;
    let mut restarts = 0;
    while start < LEN {
        match run_from(ctx, &gvm, entry, start, suite) {
            Ok(next) => start = next,
            Err(d) => {
                suite.record("hostile-guest", Err(d));
                break;
            }
        }
        restarts += 1;
    }
    debug_println!("vcpu-hostile-guest: {LEN} steps with {restarts} VCPU(s)");
    gvm.close(ctx);
}

/// One VCPU from step `start` on; returns the step to restart at (LEN when all are done).
fn run_from(
    ctx: &mut Ctx,
    gvm: &GuestVm,
    entry: u64,
    start: usize,
    suite: &mut Suite<DebugWriter>,
) -> Result<usize, Detail> {
    let t = &mut ctx.t;
    let vcpu = expect_ok("vcpu_create", zx_vcpu_create(t, gvm.vm.guest, 0, entry))?;
    let r = (|| {
        let mut state = expect_ok("read_state", vcpu_read_state(t, vcpu))?;
        state.x[0] = start as u64;
        expect_status("write_state", Status::OK, vcpu_write_state(t, vcpu, &state))?;
        let mut dev = TestDevice::new(0);
        let mut current: Option<(usize, Log)> = None;
        let mut last_error: Option<Status> = None;
        let mut exits = 0;
        let mut packet = PortPacket::new_zeroed();
        loop {
            let s = zx_vcpu_enter(t, vcpu, &mut packet);
            exits += 1;
            if exits > MAX_EXITS_PER_STEP {
                let at = current.as_ref().map_or(start, |c| c.0);
                suite.record_step(
                    at,
                    Err(detail(format_args!("more than {MAX_EXITS_PER_STEP} exits"))),
                );
                return Ok(at + 1);
            }
            if !s.is_ok() {
                let Some((index, log)) = current.as_mut() else {
                    return fail!("enter before the first step: {s:?}");
                };
                if s == Status::ERR_UNAVAILABLE {
                    // PSCI SYSTEM_OFF: the guest finished, or gave up after an exception.
                    log.powered_off = true;
                    let (index, log) = (*index, core::mem::take(log));
                    let done = dev.status == Some(STATUS_DONE);
                    suite.record_step(index, judge(&STEPS[index], &log, done));
                    return Ok(if done { LEN } else { index + 1 });
                }
                let _ = log.errors.push(s);
                if last_error == Some(s) {
                    log.stuck = true;
                    let (index, log) = (*index, core::mem::take(log));
                    suite.record_step(index, judge(&STEPS[index], &log, false));
                    return Ok(index + 1);
                }
                last_error = Some(s);
                continue;
            }
            last_error = None;
            let Some(m) = mem_access(&packet) else {
                continue;
            };
            let in_dev = (TESTDEV_BASE..TESTDEV_BASE + TESTDEV_SIZE).contains(&m.addr);
            if !in_dev {
                continue;
            }
            let offset = m.addr - TESTDEV_BASE;
            if m.read != 0 {
                let value = load_value(
                    dev.read(offset, m.access_size),
                    m.access_size,
                    m.sign_extend != 0,
                );
                let s = complete_read(t, vcpu, m.xt, value);
                expect_status("completing a read", Status::OK, s)?;
                continue;
            }
            dev.write(offset, m.data);
            match offset {
                MARKER => {
                    if let Some((index, log)) = current.take() {
                        suite.record_step(index, judge(&STEPS[index], &log, false));
                    }
                    let index = usize::try_from(m.data).unwrap_or(usize::MAX);
                    if index >= LEN {
                        return fail!("MARKER {index}");
                    }
                    if halts_this_kernel(&STEPS[index]) {
                        debug_println!(
                            "vcpu-hostile-guest: step {index} SKIPPED: its HVC is a debug \
                             syscall that halts this kernel (debug SMP)"
                        );
                        return Ok(index + 1);
                    }
                    current = Some((index, Log::default()));
                    exits = 0;
                }
                RESULT => {
                    if let Some((_, log)) = current.as_mut() {
                        log.result = Some(m.data);
                    }
                }
                DETAIL => {
                    if let Some((_, log)) = current.as_mut() {
                        log.detail = Some(m.data);
                    }
                }
                STATUS => {}
                _ => {}
            }
        }
    })();
    let _ = zx_handle_close(t, vcpu);
    r
}

/// True for a step the guest must not run on this kernel: on a debug SMP kernel x7 = -15 and
/// -16 are DebugSendIPI and DebugGetThreadAffinity, which halt the machine on the guest's
/// arguments (elsewhere they are unknown numbers, and the step runs).
fn halts_this_kernel(step: &Step) -> bool {
    let debug_smp = sel4::CONFIG.debug && sel4::CONFIG.smp && !sel4::CONFIG.mcs;
    debug_smp
        && matches!(
            step.action,
            guests::hostile::Action::Hvc {
                number: -15 | -16,
                ..
            }
        )
}

trait StepRecord {
    fn record_step(&mut self, index: usize, r: CaseResult);
}

impl StepRecord for Suite<DebugWriter> {
    fn record_step(&mut self, index: usize, r: CaseResult) {
        let mut name: heapless::String<24> = heapless::String::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("hostile-step-{index:03}"));
        self.record(&name, r);
    }
}

/// Checks what step `step` did against its expectation on this kernel. `finished` is true when the guest's
/// power-off came after its last step (STATUS = DONE).
fn judge(step: &Step, log: &Log, finished: bool) -> CaseResult {
    let off = log.powered_off && !finished;
    // On a release kernel the debug syscall numbers are no syscalls at all.
    match step.expect_on(sel4::CONFIG.debug) {
        Expect::Continue { result } => {
            expect_eq("errors", 0, log.errors.len())?;
            expect_eq("RESULT", Some(result), log.result)
        }
        Expect::GuestException { esr } => {
            expect_eq("errors", 0, log.errors.len())?;
            expect_eq("RESULT (ESR_EL1)", Some(esr), log.result)
        }
        Expect::Skipped { status, result } => {
            let want = Status::from_raw(status);
            expect_eq("statuses", [want].as_slice(), log.errors.as_slice())?;
            expect_eq("RESULT", Some(result), log.result)
        }
        Expect::Stuck { status } => {
            let want = Status::from_raw(status);
            if !log.stuck || log.errors.iter().any(|s| *s != want) {
                return fail!(
                    "expected stuck at {want:?}, got {:?} (stuck: {})",
                    log.errors.as_slice(),
                    log.stuck
                );
            }
            Ok(())
        }
        Expect::Sel4Syscall => {
            // Any outcome but a hang or a crash of the guest is acceptable; report which.
            if off {
                return fail!(
                    "the guest powered off (exception?) after {:?}",
                    log.errors.as_slice()
                );
            }
            let how = if log.stuck { "stuck" } else { "continued" };
            debug_println!(
                "vcpu-hostile-guest: seL4 syscall step: {how}, statuses {:?}, RESULT {:x?}",
                log.errors.as_slice(),
                log.result
            );
            Ok(())
        }
    }
}

/// After the hostile guest, well-behaved guests run normally.
fn still_served(ctx: &mut Ctx, resource: HandleValue, ram: &mut GuestRam) -> CaseResult {
    let gvm = GuestVm::new(ctx, resource, ram, RAM_BASE)?;
    let r = (|| {
        let v = gvm.boot(ctx, ram, images::COMPUTE)?;
        let end = run(&mut ctx.t, v, 16, |_, _| RunStep::Stop);
        let state = vcpu_read_state(&mut ctx.t, v);
        let _ = zx_handle_close(&mut ctx.t, v);
        expect_eq(
            "compute end",
            RunEnd::Status(Status::from_raw(zx::ERR_STOP)),
            end,
        )?;
        let state = expect_ok("read_state", state)?;
        expect_eq("fib(20)", compute::FIB_20, state.x[21])?;
        let v = gvm.boot(ctx, ram, images::HELLO)?;
        let mut devs = Devices::new(0);
        let mut lines = 0;
        let end = run(&mut ctx.t, v, 100, |_, p| {
            devs.handle(p, &mut |l| {
                debug_println!("guest: {l}");
                lines += 1;
            })
        });
        let _ = zx_handle_close(&mut ctx.t, v);
        expect_eq("hello end", RunEnd::Status(Status::ERR_UNAVAILABLE), end)?;
        expect_eq("hello lines", 1, lines)
    })();
    gvm.close(ctx);
    r
}
