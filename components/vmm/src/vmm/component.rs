//! The `vmm` program proper (target only); see the binary's documentation.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use caps::Rights;
use guests::layout::RAM_BASE;
use vcpu_client::{
    HandleValue, PortPacket, Status, handle_send, vcpu_info_flags, vcpu_read_state,
    zx_handle_close, zx_handle_duplicate, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_kick,
};
use vcpu_protocol::layout::INFO_VCPU_FLAG_KICKED;
use zerocopy::FromZeros;

use vmm::demo::{IRQ_SOURCE_CLIENT, IRQ_VECTORS};
use vmm::machine::{Devices, RunEnd, Vm, run};
use vmm::report::{Case, CaseResult, Detail, Suite, expect_eq, expect_ok, expect_status};
use vmm::rt::{Ctx, DebugWriter, GuestRam, debug_println};
use vmm::{fail, images, token};

vmm::component!(main = main, worker = kicker);

/// The kicker's thread index.
const KICKER: usize = 1;
/// The kicker's job: stop the spinning VCPU (see the binary's documentation).
const JOB_KICK: u32 = 1;
/// Entry of the alarm VCPU: unmapped guest-physical memory, so it faults at once.
const ALARM_ENTRY: u64 = 0x1000;
/// Exits allowed per guest run.
const MAX_EXITS: u32 = 10_000;

/// The guest and the spinning VCPU, for the kicker.
static GUEST: AtomicU32 = AtomicU32::new(0);
static SPINNER: AtomicU32 = AtomicU32::new(0);
/// What the kicker saw: the alarm VCPU's enter, and its kick.
static ALARM_STATUS: AtomicI32 = AtomicI32::new(0);
static KICK_STATUS: AtomicI32 = AtomicI32::new(0);

/// The demo's steps, in order (each depends on the ones before).
const STEPS: &[Case<Demo>] = &[
    Case {
        name: "vmm-irq-guest",
        run: irq_guest,
    },
    Case {
        name: "vmm-hello-guest",
        run: hello_guest,
    },
    Case {
        name: "vmm-kick-before-enter",
        run: kick_before_enter,
    },
    Case {
        name: "vmm-kick-spinning-guest",
        run: kick_spinning_guest,
    },
    Case {
        name: "vmm-irq-source-finished",
        run: irq_source_finished,
    },
];

struct Demo {
    ctx: Ctx,
    ram: GuestRam,
    vm: Vm,
}

fn main(mut ctx: Ctx) -> ! {
    debug_println!("vmm: starting");
    let mut suite = Suite::new(DebugWriter);
    let ctx = match setup(&mut ctx) {
        Ok((ram, vm)) => {
            suite.record("vmm-setup", Ok(()));
            let mut demo = Demo { ctx, ram, vm };
            suite.run(&mut demo, STEPS);
            demo.ctx
        }
        Err(d) => {
            suite.record("vmm-setup", Err(d));
            ctx
        }
    };
    let verdict = if suite.summary("vmm") {
        "everything worked"
    } else {
        "something failed"
    };
    debug_println!("vmm: {verdict}; all components finished, the VMM stops");
    ctx.finish(suite.passed(), suite.failed())
}

/// A guest with the VMM's RAM at `RAM_BASE` and the UART and test-device traps.
fn setup(ctx: &mut Ctx) -> Result<(GuestRam, Vm), Detail> {
    let Some(resource) = ctx.handle("hypervisor") else {
        return fail!("no `hypervisor` handle in the boot page");
    };
    let ram = match GuestRam::take(ctx.boot, "guest-ram") {
        Ok(r) => r,
        Err(e) => return fail!("guest-ram: {e:?}"),
    };
    let vm = expect_ok("guest_create", Vm::create(&mut ctx.t, resource))?;
    GUEST.store(vm.guest, Ordering::SeqCst);
    let frames = ram.frames();
    expect_ok(
        "vmar_map",
        vm.map(&mut ctx.t, RAM_BASE, ram.frame_size(), frames),
    )?;
    expect_ok("set_trap", vm.trap_devices(&mut ctx.t))?;
    debug_println!(
        "vmm: guest {:#x} with {} KiB of RAM at {RAM_BASE:#x}",
        vm.guest,
        ram.frame_size() * ram.frame_count() / 1024
    );
    Ok((ram, vm))
}

/// Loads `image` and creates a VCPU at its entry.
fn boot(d: &mut Demo, name: &str, image: &[u8]) -> Result<HandleValue, Detail> {
    let loaded = match d.ram.load(d.ctx.ipc(), image, RAM_BASE) {
        Ok(l) => l,
        Err(e) => return fail!("loading {name}: {e}"),
    };
    debug_println!("vmm: loaded `{name}` ({} bytes)", loaded.end - loaded.start);
    expect_ok(
        "vcpu_create",
        zx_vcpu_create(&mut d.ctx.t, d.vm.guest, 0, loaded.entry),
    )
}

/// Runs `vcpu` with the standard devices, printing the guest's UART lines.
fn run_guest(d: &mut Demo, vcpu: HandleValue, devs: &mut Devices) -> RunEnd {
    run(&mut d.ctx.t, vcpu, MAX_EXITS, |_, p| {
        devs.handle(p, &mut |line| debug_println!("guest: {line}"))
    })
}

fn irq_guest(d: &mut Demo) -> CaseResult {
    let vcpu = boot(d, "irq", images::IRQ)?;
    let signal = Rights::SIGNAL.union(Rights::TRANSFER);
    let dup = expect_ok(
        "duplicate(SIGNAL|TRANSFER)",
        zx_handle_duplicate(&mut d.ctx.t, vcpu, signal),
    )?;
    let sent = handle_send(&mut d.ctx.t, dup, IRQ_SOURCE_CLIENT);
    expect_status("handle_send to irq-source", Status::OK, sent)?;
    debug_println!("vmm: sent irq-source a SIGNAL handle to the VCPU; entering");
    let mut devs = Devices::new(IRQ_VECTORS.len() as u64);
    let end = run_guest(d, vcpu, &mut devs);
    let _ = zx_handle_close(&mut d.ctx.t, vcpu);
    expect_eq(
        "irq guest end",
        RunEnd::Status(Status::ERR_UNAVAILABLE),
        end,
    )?;
    let mut taken = [0u64; IRQ_VECTORS.len()];
    for (slot, v) in taken.iter_mut().zip(&devs.testdev.results) {
        *slot = *v;
    }
    taken.sort_unstable();
    debug_println!("vmm: the guest took interrupts {taken:?} and powered off");
    expect_eq("INTIDs taken", IRQ_VECTORS.map(u64::from), taken)?;
    expect_eq(
        "interrupts taken",
        IRQ_VECTORS.len(),
        devs.testdev.results.len(),
    )
}

fn hello_guest(d: &mut Demo) -> CaseResult {
    let vcpu = boot(d, "hello", images::HELLO)?;
    let mut devs = Devices::new(0);
    let end = run_guest(d, vcpu, &mut devs);
    let _ = zx_handle_close(&mut d.ctx.t, vcpu);
    expect_eq(
        "hello guest end",
        RunEnd::Status(Status::ERR_UNAVAILABLE),
        end,
    )?;
    expect_eq("UART lines", 1, devs.uart.lines())
}

fn kick_before_enter(d: &mut Demo) -> CaseResult {
    let vcpu = boot(d, "spin", images::SPIN)?;
    SPINNER.store(vcpu, Ordering::SeqCst);
    expect_status("kick", Status::OK, zx_vcpu_kick(&mut d.ctx.t, vcpu))?;
    let flags = expect_ok("get_info", vcpu_info_flags(&mut d.ctx.t, vcpu))?;
    expect_eq("KICKED flag", INFO_VCPU_FLAG_KICKED, flags)?;
    let mut packet = PortPacket::new_zeroed();
    let entered = zx_vcpu_enter(&mut d.ctx.t, vcpu, &mut packet);
    expect_status("enter after kick", Status::ERR_CANCELED, entered)?;
    let state = expect_ok("read_state", vcpu_read_state(&mut d.ctx.t, vcpu))?;
    expect_eq("x19 (the guest did not run)", 0, state.x[19])?;
    debug_println!("vmm: a kick before enter made it return ZX_ERR_CANCELED at once");
    Ok(())
}

fn kick_spinning_guest(d: &mut Demo) -> CaseResult {
    let vcpu = SPINNER.load(Ordering::SeqCst);
    if vcpu == 0 {
        return fail!("no spinning VCPU (the previous step failed)");
    }
    d.ctx.start(KICKER, JOB_KICK);
    let mut packet = PortPacket::new_zeroed();
    let entered = zx_vcpu_enter(&mut d.ctx.t, vcpu, &mut packet);
    d.ctx.wait(KICKER);
    let alarm = Status::from_raw(ALARM_STATUS.load(Ordering::SeqCst));
    let kick = Status::from_raw(KICK_STATUS.load(Ordering::SeqCst));
    let state = vcpu_read_state(&mut d.ctx.t, vcpu);
    let _ = zx_handle_close(&mut d.ctx.t, vcpu);
    expect_status("enter", Status::ERR_CANCELED, entered)?;
    expect_status("alarm VCPU", Status::ERR_NOT_FOUND, alarm)?;
    expect_status("kick from the kicker thread", Status::OK, kick)?;
    let spins = expect_ok("read_state", state)?.x[19];
    if spins == 0 {
        return fail!("the guest never ran before the kick (x19 = 0)");
    }
    debug_println!("vmm: the kicker stopped the spinning guest after {spins} iterations");
    Ok(())
}

fn irq_source_finished(d: &mut Demo) -> CaseResult {
    let t = expect_ok(
        "done token from irq-source",
        token::receive_done(&mut d.ctx.t),
    )?;
    expect_eq("token sender", IRQ_SOURCE_CLIENT, t.from_client)?;
    if !t.passed {
        return fail!("irq-source reported failed checks");
    }
    Ok(())
}

/// The kicker thread's jobs.
fn kicker(ctx: &mut Ctx, job: u32) {
    if job != JOB_KICK {
        return;
    }
    let guest = GUEST.load(Ordering::SeqCst);
    let target = SPINNER.load(Ordering::SeqCst);
    debug_println!("vmm: kicker: entering the alarm VCPU");
    let alarm = match zx_vcpu_create(&mut ctx.t, guest, 0, ALARM_ENTRY) {
        Ok(alarm) => {
            let mut packet = PortPacket::new_zeroed();
            let s = zx_vcpu_enter(&mut ctx.t, alarm, &mut packet);
            let _ = zx_handle_close(&mut ctx.t, alarm);
            s
        }
        Err(s) => s,
    };
    ALARM_STATUS.store(alarm.into_raw(), Ordering::SeqCst);
    debug_println!("vmm: kicker: the alarm VCPU returned {alarm:?}; kicking");
    // Kick in any case, so the main thread is never left blocked.
    let kick = zx_vcpu_kick(&mut ctx.t, target);
    KICK_STATUS.store(kick.into_raw(), Ordering::SeqCst);
}
