//! Single-VCPU guest runs: registers in and out (`compute`), PSCI results, UART output
//! (`hello`), MEM exits of every size (`mmio`), doorbells (`hello` with a BELL trap),
//! interrupts (`irq`), kicks (`irq` waiting, `spin`).

use guests::layout::{RAM_BASE, TESTDEV_BASE, TESTDEV_SIZE, UART_BASE, UART_DR, UART_SIZE};
use guests::testdev::STATUS_READY;
use guests::{compute, mmio, psci};
use vcpu_client::{
    GuestPacket, HandleValue, PortPacket, Status, guest_packet, vcpu_info_flags, vcpu_read_state,
    vcpu_write_state, zx_guest_set_trap, zx_port_create, zx_port_wait, zx_vcpu_create,
    zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_BELL, GUEST_TRAP_MEM, INFO_VCPU_FLAG_KICKED, TIME_INFINITE,
};
use zerocopy::FromZeros;

use vmm::fail;
use vmm::images;
use vmm::machine::{Devices, KEY_TESTDEV, RunEnd, Step, Vm, mem_access, run};
use vmm::report::{CaseResult, Detail, detail, expect_eq, expect_ok, expect_status};

use crate::cases::{G, Lines, MAX_EXITS};
use crate::helper::{self, HELPER, JOB_ALARM_INTERRUPT, JOB_ALARM_KICK};

/// Registers written before the first enter of `compute`.
fn inputs() -> [u64; 31] {
    let mut x = [0u64; 31];
    for (i, v) in x.iter_mut().enumerate() {
        *v = 0x5A00_0000_0000_0000 | (i as u64) << 40 | 0xC0DE;
    }
    x[0] = 40;
    x[1] = 2;
    x[2] = 0x1234_5678;
    x[3] = 0x9ABC_DEF0;
    x
}

/// Runs `compute` with [`inputs`] in a fresh VCPU of `gvm`; returns the VCPU after its first
/// `ZX_ERR_STOP`, with its registers checked.
fn compute_run(g: &mut G, gvm: &vmm::rt::GuestVm) -> Result<HandleValue, Detail> {
    let v = g.boot(gvm, images::COMPUTE)?;
    let r = (|| {
        let t = &mut g.ctx.t;
        let mut state = expect_ok("read_state", vcpu_read_state(t, v))?;
        state.x = inputs();
        expect_status("write_state", Status::OK, vcpu_write_state(t, v, &state))?;
        let end = run(t, v, 16, |_, _| Step::Stop);
        expect_eq("end (PSCI CPU_OFF)", RunEnd::Status(Status::ERR_STOP), end)?;
        let got = expect_ok("read_state", vcpu_read_state(t, v))?;
        for (i, want) in compute::expected_x(inputs()).iter().enumerate() {
            if let Some(w) = want {
                if got.x[i] != *w {
                    return fail!("x{i}: expected {w:#x}, got {:#x}", got.x[i]);
                }
            }
        }
        expect_eq("sp (SP_EL1)", compute::expected_sp(0), got.sp)?;
        expect_eq("cpsr (Z, C)", compute::CPSR, got.cpsr)
    })();
    match r {
        Ok(()) => Ok(v),
        Err(d) => {
            g.close(&[v]);
            Err(d)
        }
    }
}

/// `compute` reads x0..x3 written with `write_state`, computes, and its results come back with
/// `read_state` (x19 = x0 + x1, x20 = x2 * x3, fib(20), flags, SP) after PSCI CPU_OFF.
pub fn compute(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = compute_run(g, &gvm);
    let r = r.map(|v| g.close(&[v]));
    gvm.close(&mut g.ctx);
    r
}

/// After CPU_OFF the guest repeats its `smc #0` with the x0 we write: SYSTEM_RESET is
/// `ZX_ERR_CANCELED`, SYSTEM_OFF `ZX_ERR_UNAVAILABLE`, CPU_OFF `ZX_ERR_STOP`; the VCPU stays
/// usable after each.
pub fn psci(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = compute_run(g, &gvm).and_then(|v| {
        let r = (|| {
            let calls = [
                (psci::SYSTEM_RESET, Status::ERR_CANCELED),
                (psci::SYSTEM_OFF, Status::ERR_UNAVAILABLE),
                (psci::CPU_OFF, Status::ERR_STOP),
                (psci::SYSTEM_OFF, Status::ERR_UNAVAILABLE),
            ];
            for (function, want) in calls {
                let t = &mut g.ctx.t;
                let mut state = expect_ok("read_state", vcpu_read_state(t, v))?;
                state.x[0] = u64::from(function);
                expect_status("write_state", Status::OK, vcpu_write_state(t, v, &state))?;
                let mut packet = PortPacket::new_zeroed();
                let s = zx_vcpu_enter(t, v, &mut packet);
                let what = match function {
                    psci::SYSTEM_RESET => "PSCI SYSTEM_RESET",
                    psci::SYSTEM_OFF => "PSCI SYSTEM_OFF",
                    _ => "PSCI CPU_OFF",
                };
                expect_status(what, want, s)?;
            }
            Ok(())
        })();
        g.close(&[v]);
        r
    });
    gvm.close(&mut g.ctx);
    r
}

/// `hello` prints its greeting through MEM exits on the UART page and powers off.
pub fn hello(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::HELLO)?;
        let mut devs = Devices::new(0);
        let mut lines = Lines::new();
        let end = g.run(v, &mut devs, &mut lines);
        g.close(&[v]);
        expect_eq(
            "end (PSCI SYSTEM_OFF)",
            RunEnd::Status(Status::ERR_UNAVAILABLE),
            end,
        )?;
        expect_eq("lines", 1, lines.len())?;
        expect_eq("greeting", "Hello from guest 0!", lines[0].as_str())
    })();
    gvm.close(&mut g.ctx);
    r
}

/// `mmio`: each of its 40 test-device accesses arrives as a GUEST_MEM packet with exactly the
/// documented address, size, sign extension, register, direction and data; each load's value,
/// written into x[xt] with `write_state`, is what the guest then stores back.
pub fn mmio(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::MMIO)?;
        let mut index = 0usize;
        let mut mismatch: Option<Detail> = None;
        let end = run(&mut g.ctx.t, v, 64, |_, p| {
            let Some(m) = mem_access(p) else {
                mismatch = Some(detail(format_args!("packet type {}", p.packet_type)));
                return Step::Stop;
            };
            let Some(want) = mmio::SEQUENCE.get(index) else {
                mismatch = Some(detail(format_args!("more than {} exits", mmio::LEN)));
                return Step::Stop;
            };
            let got = (m.addr, m.access_size, m.sign_extend != 0, m.xt, m.read != 0);
            let exp = (want.addr, want.size, want.sign_extend, want.xt, want.read);
            let data_ok = want.read && m.data == 0 || !want.read && m.data == want.data;
            if got != exp || !data_ok || p.key != KEY_TESTDEV {
                mismatch = Some(detail(format_args!(
                    "exit {index}: expected {exp:x?} data {:#x}, got {got:x?} data {:#x}",
                    want.data, m.data
                )));
                return Step::Stop;
            }
            index += 1;
            if want.read {
                Step::Load(want.reg)
            } else {
                Step::Resume
            }
        });
        g.close(&[v]);
        if let Some(d) = mismatch {
            return Err(d);
        }
        expect_eq("exits", mmio::LEN, index)?;
        expect_eq(
            "end (PSCI SYSTEM_OFF)",
            RunEnd::Status(Status::ERR_UNAVAILABLE),
            end,
        )
    })();
    gvm.close(&mut g.ctx);
    r
}

/// Runs `hello` in `vm` with its UART page trapped as a BELL on `port` (packets keyed `key`) and
/// the test device as a MEM trap: maps RAM B, sets both traps, loads the image, creates a VCPU
/// and enters it once. Returns the status that enter ended with (the VCPU is closed).
fn run_hello_with_bell(g: &mut G, vm: &Vm, port: HandleValue, key: u64) -> Result<Status, Detail> {
    let t = &mut g.ctx.t;
    let frames = g.ram_b.frames();
    expect_ok(
        "vmar_map",
        vm.map(t, RAM_BASE, g.ram_b.frame_size(), frames),
    )?;
    let s = zx_guest_set_trap(
        t,
        vm.guest,
        GUEST_TRAP_BELL,
        UART_BASE,
        UART_SIZE,
        port,
        key,
    );
    expect_status("BELL trap", Status::OK, s)?;
    let s = zx_guest_set_trap(
        t,
        vm.guest,
        GUEST_TRAP_MEM,
        TESTDEV_BASE,
        TESTDEV_SIZE,
        0,
        1,
    );
    expect_status("MEM trap", Status::OK, s)?;
    let loaded = g.ram_b.load(g.ctx.ipc(), images::HELLO, RAM_BASE);
    let loaded = loaded.map_err(|e| detail(format_args!("load: {e:?}")))?;
    let t = &mut g.ctx.t;
    let v = expect_ok("vcpu_create", zx_vcpu_create(t, vm.guest, 0, loaded.entry))?;
    let mut packet = PortPacket::new_zeroed();
    let end = zx_vcpu_enter(t, v, &mut packet);
    g.close(&[v]);
    Ok(end)
}

/// `hello` with its UART page trapped as a BELL on a port: the guest never exits for its
/// bytes (it runs on to SYSTEM_OFF), and each byte is a GUEST_BELL packet on the port.
pub fn bell(g: &mut G) -> CaseResult {
    const KEY: u64 = 0xBE11;
    let t = &mut g.ctx.t;
    let vm = expect_ok("guest_create", Vm::create(t, g.resource))?;
    let r = (|| {
        let port = expect_ok("port_create", zx_port_create(&mut g.ctx.t, 0))?;
        let r = (|| {
            let end = run_hello_with_bell(g, &vm, port, KEY)?;
            let mut packet = PortPacket::new_zeroed();
            expect_status(
                "enter (no exit before SYSTEM_OFF)",
                Status::ERR_UNAVAILABLE,
                end,
            )?;
            let want = b"Hello from guest 0!\n".len();
            for i in 0..want {
                let s = zx_port_wait(&mut g.ctx.t, port, TIME_INFINITE, &mut packet);
                expect_status("port_wait", Status::OK, s)?;
                let GuestPacket::Bell(b) = guest_packet(&packet) else {
                    return fail!("packet {i}: type {}", packet.packet_type);
                };
                expect_eq("key", KEY, packet.key)?;
                expect_eq("address", UART_DR, b.addr)?;
            }
            let s = zx_port_wait(&mut g.ctx.t, port, 0, &mut packet);
            expect_status(
                "port_wait after the last doorbell",
                Status::ERR_TIMED_OUT,
                s,
            )
        })();
        g.close(&[port]);
        r
    })();
    g.close(&[vm.guest, vm.vmar]);
    r
}

/// `irq` takes three interrupts: 40 raised before the first enter, 41 raised by main when the
/// guest reports READY, 42 raised by the helper thread while main is blocked in `vcpu_enter`.
pub fn irq(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::IRQ)?;
        let r = (|| {
            let s = zx_vcpu_interrupt(&mut g.ctx.t, v, 40);
            expect_status("interrupt 40 before enter", Status::OK, s)?;
            helper::inputs(gvm.vm.guest, v, 42, 0);
            g.ctx.start(HELPER, JOB_ALARM_INTERRUPT);
            let mut devs = Devices::new(3);
            let mut raised = Status::ERR_INTERNAL;
            let end = run(&mut g.ctx.t, v, MAX_EXITS, |t, p| {
                let was_ready = devs.testdev.status == Some(STATUS_READY);
                let step = devs.handle(p, &mut |_| {});
                if !was_ready && devs.testdev.status == Some(STATUS_READY) {
                    raised = zx_vcpu_interrupt(t, v, 41);
                }
                step
            });
            g.ctx.wait(HELPER);
            expect_eq(
                "end (SYSTEM_OFF after 3)",
                RunEnd::Status(Status::ERR_UNAVAILABLE),
                end,
            )?;
            expect_status("interrupt 41 at READY", Status::OK, raised)?;
            helper::alarm_result()?;
            let mut taken = [0u64; 3];
            for (t, r) in taken.iter_mut().zip(&devs.testdev.results) {
                *t = *r;
            }
            taken.sort_unstable();
            expect_eq("INTIDs taken", [40, 41, 42], taken)?;
            expect_eq("interrupts taken", 3, devs.testdev.results.len())
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// A guest waiting in WFI (`irq` with nothing raised) is stopped by a kick from the helper
/// (`ZX_ERR_CANCELED`); then an interrupt wakes it and it completes.
pub fn kick_wfi(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::IRQ)?;
        let r = (|| {
            helper::inputs(gvm.vm.guest, v, 0, 0);
            let mut devs = Devices::new(1);
            let mut lines = Lines::new();
            // Run to READY first, then let the helper's alarm and kick go: on several cores the
            // helper would otherwise run beside the guest from its first instruction.
            let ready = run(&mut g.ctx.t, v, MAX_EXITS, |_, p| {
                let was_ready = devs.testdev.status == Some(STATUS_READY);
                let step = devs.handle(p, &mut |_| {});
                match !was_ready && devs.testdev.status == Some(STATUS_READY) {
                    true => Step::Stop,
                    false => step,
                }
            });
            expect_eq(
                "run to READY",
                true,
                matches!(ready, RunEnd::Packet(_)) && devs.testdev.status == Some(STATUS_READY),
            )?;
            g.ctx.start(HELPER, JOB_ALARM_KICK);
            let end = g.run(v, &mut devs, &mut lines);
            g.ctx.wait(HELPER);
            expect_eq(
                "end (kicked in WFI)",
                RunEnd::Status(Status::ERR_CANCELED),
                end,
            )?;
            helper::alarm_result()?;
            expect_eq(
                "status before the kick",
                Some(STATUS_READY),
                devs.testdev.status,
            )?;
            let s = zx_vcpu_interrupt(&mut g.ctx.t, v, 45);
            expect_status("interrupt 45", Status::OK, s)?;
            let end = g.run(v, &mut devs, &mut lines);
            expect_eq(
                "end (SYSTEM_OFF)",
                RunEnd::Status(Status::ERR_UNAVAILABLE),
                end,
            )?;
            expect_eq("INTID taken", Some(45), devs.testdev.result())
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

fn x19(g: &mut G, v: HandleValue) -> Result<u64, Detail> {
    Ok(expect_ok("read_state", vcpu_read_state(&mut g.ctx.t, v))?.x[19])
}

/// Kicks before `vcpu_enter` coalesce into one `ZX_ERR_CANCELED`, reported at once (the guest
/// does not run) and flagged by `ZX_INFO_VCPU` until then.
pub fn kick_before_enter(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::SPIN)?;
        let r = (|| {
            let t = &mut g.ctx.t;
            expect_status("kick", Status::OK, zx_vcpu_kick(t, v))?;
            expect_status("kick again", Status::OK, zx_vcpu_kick(t, v))?;
            expect_eq("flags", Ok(INFO_VCPU_FLAG_KICKED), vcpu_info_flags(t, v))?;
            let mut packet = PortPacket::new_zeroed();
            let s = zx_vcpu_enter(t, v, &mut packet);
            expect_status("enter", Status::ERR_CANCELED, s)?;
            expect_eq("flags after", Ok(0), vcpu_info_flags(t, v))?;
            expect_eq("x19 (the guest did not run)", 0, x19(g, v)?)
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// `spin` starts from x19 = 1000 (written with `write_state`) and is stopped by the helper's
/// kick while running: `ZX_ERR_CANCELED`, x19 grew; entered and kicked again, it resumes where
/// it was (x19 grows further).
pub fn kick_running(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::SPIN)?;
        let r = (|| {
            let t = &mut g.ctx.t;
            let mut state = expect_ok("read_state", vcpu_read_state(t, v))?;
            state.x[19] = 1000;
            expect_status("write_state", Status::OK, vcpu_write_state(t, v, &state))?;
            let mut last = 1000;
            for round in 0..2 {
                helper::inputs(gvm.vm.guest, v, 0, 0);
                g.ctx.start(HELPER, JOB_ALARM_KICK);
                let mut packet = PortPacket::new_zeroed();
                let s = zx_vcpu_enter(&mut g.ctx.t, v, &mut packet);
                g.ctx.wait(HELPER);
                expect_status("enter", Status::ERR_CANCELED, s)?;
                helper::alarm_result()?;
                let now = x19(g, v)?;
                if now <= last {
                    return fail!("round {round}: x19 went from {last} to {now}");
                }
                vmm::rt::debug_println!("vcpu-guests: kicked after {} iterations", now - last);
                last = now;
            }
            Ok(())
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// Each BELL trap has its own packet pool, apart from the port's user packets: the port is
/// filled with user packets (`zx_port_queue` until SHOULD_WAIT), yet `hello` with its UART page
/// as a BELL trap on that port runs to SYSTEM_OFF without blocking (20 doorbells queued).
/// `port_wait` returns the user packets first (queue order); destroying the guest then
/// cancels its doorbells but not the remaining user packets.
pub fn bell_pool_per_trap(g: &mut G) -> CaseResult {
    use vcpu_client::zx_port_queue;
    const KEY: u64 = 0xBE12;
    let t = &mut g.ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let r = (|| {
        let t = &mut g.ctx.t;
        let mut user = 0u64;
        let refused = loop {
            let mut p = PortPacket::new_zeroed();
            p.key = user;
            let s = zx_port_queue(t, port, &p);
            if s != Status::OK || user > 1000 {
                break s;
            }
            user += 1;
        };
        expect_status(
            "the port is full of user packets",
            Status::ERR_SHOULD_WAIT,
            refused,
        )?;
        let vm = expect_ok("guest_create", Vm::create(t, g.resource))?;
        let ran = (|| {
            let end = run_hello_with_bell(g, &vm, port, KEY)?;
            expect_status(
                "enter (doorbells not blocked by the full port)",
                Status::ERR_UNAVAILABLE,
                end,
            )
        })();
        let mut packet = PortPacket::new_zeroed();
        let first = zx_port_wait(&mut g.ctx.t, port, 0, &mut packet);
        let first_key = packet.key;
        // Destroying the guest cancels its 20 doorbells.
        g.close(&[vm.guest, vm.vmar]);
        ran?;
        expect_status("port_wait", Status::OK, first)?;
        expect_eq("the oldest packet (user packet 0) first", 0, first_key)?;
        for i in 1..user {
            let s = zx_port_wait(&mut g.ctx.t, port, 0, &mut packet);
            expect_status("port_wait", Status::OK, s)?;
            expect_eq("user packet key (queue order)", i, packet.key)?;
            expect_eq("user packet type", 0, packet.packet_type)?;
        }
        let s = zx_port_wait(&mut g.ctx.t, port, 0, &mut packet);
        expect_status(
            "after the user packets (doorbells cancelled)",
            Status::ERR_TIMED_OUT,
            s,
        )
    })();
    g.close(&[port]);
    r
}
