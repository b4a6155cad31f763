//! The helper thread's jobs. Each first enters a VCPU of its own, so it blocks until that VCPU
//! has had the CPU, which happens only once main's VCPU (resumed later, so ahead in the run
//! queue) has run and blocked or used up its time slice.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

use vcpu_client::{
    HandleValue, PortPacket, Status, zx_handle_close, zx_vcpu_create, zx_vcpu_enter,
    zx_vcpu_interrupt, zx_vcpu_kick,
};
use zerocopy::FromZeros;

use vmm::machine::{Devices, RunEnd, run};
use vmm::report::{CaseResult, expect_eq, expect_status};
use vmm::rt::{Ctx, debug_println};

/// The helper's thread index.
pub const HELPER: usize = 1;
/// Job: run an alarm VCPU of [`GUEST`], then kick [`TARGET`].
pub const JOB_ALARM_KICK: u32 = 1;
/// Job: run an alarm VCPU of [`GUEST`], then raise [`VECTOR`] in [`TARGET`].
pub const JOB_ALARM_INTERRUPT: u32 = 2;
/// Job: create a VCPU of [`GUEST`] at [`ENTRY`] and run it with the standard devices; its
/// first UART line must be [`EXPECT`].
pub const JOB_RUN: u32 = 3;

/// Alarm VCPU runs before a kick or interrupt (one on one core; see the job handler).
const ALARMS: usize = if sel4::CONFIG.smp { 20 } else { 1 };

/// Entry of an alarm VCPU: unmapped, so it faults (`ZX_ERR_NOT_FOUND`) as soon as it runs.
pub const ALARM_ENTRY: u64 = 0x1000;

/// Job inputs.
pub static GUEST: AtomicU32 = AtomicU32::new(0);
pub static TARGET: AtomicU32 = AtomicU32::new(0);
pub static VECTOR: AtomicU32 = AtomicU32::new(0);
pub static ENTRY: AtomicU64 = AtomicU64::new(0);
/// Index into [`EXPECTED_LINES`].
pub static EXPECT: AtomicU32 = AtomicU32::new(0);
/// Job results: the own VCPU's end, the action's status, whether the line matched.
pub static OWN_END: AtomicI32 = AtomicI32::new(0);
pub static ACTION: AtomicI32 = AtomicI32::new(0);
pub static LINE_OK: AtomicBool = AtomicBool::new(false);

/// Lines a [`JOB_RUN`] VCPU may be expected to print first.
pub const EXPECTED_LINES: [&str; 2] = ["smp: cpu 1 up", "Hello from guest 0!"];

/// Sets the inputs of a job.
pub fn inputs(guest: HandleValue, target: HandleValue, vector: u32, entry: u64) {
    GUEST.store(guest, Ordering::SeqCst);
    TARGET.store(target, Ordering::SeqCst);
    VECTOR.store(vector, Ordering::SeqCst);
    ENTRY.store(entry, Ordering::SeqCst);
    OWN_END.store(0, Ordering::SeqCst);
    ACTION.store(0, Ordering::SeqCst);
    LINE_OK.store(false, Ordering::SeqCst);
}

/// The result of an alarm job: the alarm faulted, then the action succeeded.
pub fn alarm_result() -> CaseResult {
    let alarm = Status::from_raw(OWN_END.load(Ordering::SeqCst));
    expect_status("the helper's alarm VCPU", Status::ERR_NOT_FOUND, alarm)?;
    let action = Status::from_raw(ACTION.load(Ordering::SeqCst));
    expect_status("the helper's kick or interrupt", Status::OK, action)
}

/// The result of a [`JOB_RUN`]: its VCPU ended with `want` and printed the expected line.
pub fn run_result(want: Status) -> CaseResult {
    let end = Status::from_raw(OWN_END.load(Ordering::SeqCst));
    expect_status("the helper's VCPU", want, end)?;
    expect_eq(
        "the helper's VCPU printed the expected line",
        true,
        LINE_OK.load(Ordering::SeqCst),
    )
}

/// Runs a job (the worker function of the component).
pub fn job(ctx: &mut Ctx, job: u32) {
    let guest = GUEST.load(Ordering::SeqCst);
    let target = TARGET.load(Ordering::SeqCst);
    match job {
        JOB_ALARM_KICK | JOB_ALARM_INTERRUPT => {
            let mut end = own_vcpu(ctx, guest, ALARM_ENTRY, None);
            // On one core the alarm VCPU runs only once the target (same priority) has had the
            // CPU, which is what makes it an alarm. On several cores it runs beside the target
            // at once, so the helper lets the target run for a number of alarm rounds first.
            let mut more = ALARMS - 1;
            while more > 0 {
                end = own_vcpu(ctx, guest, ALARM_ENTRY, None);
                more -= 1;
            }
            OWN_END.store(end.into_raw(), Ordering::SeqCst);
            // Act in any case, so main is never left blocked.
            let action = if job == JOB_ALARM_KICK {
                zx_vcpu_kick(&mut ctx.t, target)
            } else {
                zx_vcpu_interrupt(&mut ctx.t, target, VECTOR.load(Ordering::SeqCst))
            };
            ACTION.store(action.into_raw(), Ordering::SeqCst);
        }
        JOB_RUN => {
            let entry = ENTRY.load(Ordering::SeqCst);
            let want = EXPECTED_LINES.get(EXPECT.load(Ordering::SeqCst) as usize);
            let end = own_vcpu(ctx, guest, entry, want.copied());
            OWN_END.store(end.into_raw(), Ordering::SeqCst);
        }
        _ => {}
    }
}

/// Creates a VCPU of `guest` at `entry`, runs it to its first error status with the standard
/// devices (recording whether its first line is `want`), and closes it.
fn own_vcpu(ctx: &mut Ctx, guest: HandleValue, entry: u64, want: Option<&str>) -> Status {
    let vcpu = match zx_vcpu_create(&mut ctx.t, guest, 0, entry) {
        Ok(v) => v,
        Err(s) => return s,
    };
    let end = if want.is_none() {
        let mut packet = PortPacket::new_zeroed();
        zx_vcpu_enter(&mut ctx.t, vcpu, &mut packet)
    } else {
        let mut devs = Devices::new(0);
        let mut first = true;
        let end = run(&mut ctx.t, vcpu, crate::cases::MAX_EXITS, |_, p| {
            devs.handle(p, &mut |l| {
                debug_println!("guest (helper's VCPU): {l}");
                if first && Some(l) == want {
                    LINE_OK.store(true, Ordering::SeqCst);
                }
                first = false;
            })
        });
        match end {
            RunEnd::Status(s) => s,
            _ => Status::ERR_INTERNAL,
        }
    };
    let _ = zx_handle_close(&mut ctx.t, vcpu);
    end
}
