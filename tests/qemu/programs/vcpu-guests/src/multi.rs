//! Several VCPUs: the `smp` guest's second CPU (PSCI CPU_ON, a STARTUP packet, a VCPU on the
//! helper thread), and two guests running at once.

use core::sync::atomic::Ordering;

use guests::layout::RAM_BASE;
use guests::testdev::STATUS_DONE;
use vcpu_client::{GuestPacket, Status, guest_packet};
use vcpu_protocol::layout::PKT_GUEST_VCPU_STARTUP;

use vmm::fail;
use vmm::images;
use vmm::machine::{Devices, RunEnd};
use vmm::report::{CaseResult, detail, expect_eq};
use vmm::rt::GuestVm;

use crate::cases::{G, Lines};
use crate::helper::{self, EXPECT, HELPER, JOB_RUN};

/// `smp`: CPU 0's PSCI CPU_ON ends its `vcpu_enter` with a STARTUP packet (target MPIDR 1,
/// entry); the helper thread creates the second VCPU there and runs it while main runs CPU 0
/// on; both print, CPU 1 stops (CPU_OFF), CPU 0 sees it and powers off.
pub fn smp(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::SMP)?;
        let r = (|| {
            let mut devs = Devices::new(0);
            let mut lines = Lines::new();
            let end = g.run(v, &mut devs, &mut lines);
            let RunEnd::Packet(p) = end else {
                return fail!("expected a STARTUP packet, got {end:?}");
            };
            let GuestPacket::Vcpu(start) = guest_packet(&p) else {
                return fail!("expected a GUEST_VCPU packet, type {}", p.packet_type);
            };
            expect_eq("packet key", 0, p.key)?;
            expect_eq("packet kind", PKT_GUEST_VCPU_STARTUP, start.vcpu_type)?;
            expect_eq("target MPIDR", 1, start.word0)?;
            expect_eq("entry", RAM_BASE, start.word1)?;
            helper::inputs(gvm.vm.guest, 0, 0, start.word1);
            EXPECT.store(0, Ordering::SeqCst);
            g.ctx.start(HELPER, JOB_RUN);
            let end = g.run(v, &mut devs, &mut lines);
            g.ctx.wait(HELPER);
            expect_eq("CPU 0 end", RunEnd::Status(Status::ERR_UNAVAILABLE), end)?;
            helper::run_result(Status::ERR_STOP)?;
            let want = ["smp: cpu 0 up", "smp: all up"];
            let got: [&str; 2] = [
                lines.first().map_or("", |l| l.as_str()),
                lines.get(1).map_or("", |l| l.as_str()),
            ];
            expect_eq("CPU 0 lines", want, got)?;
            expect_eq("CPU_ON result (DETAIL)", Some(0), devs.testdev.detail)?;
            expect_eq("STATUS", Some(STATUS_DONE), devs.testdev.status)
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// Two guests at once, each with its own RAM: `compute` in the first on main, `hello` in the
/// second on the helper thread; both run to their documented end.
pub fn two_guests(g: &mut G) -> CaseResult {
    let second = GuestVm::new(&mut g.ctx, g.resource, &g.ram_b, RAM_BASE);
    second.and_then(|second| {
        let r = (|| {
            let loaded = second.load(&mut g.ctx, &mut g.ram_b, images::HELLO)?;
            helper::inputs(second.vm.guest, 0, 0, loaded.entry);
            EXPECT.store(1, Ordering::SeqCst);
            g.ctx.start(HELPER, JOB_RUN);
            let r = crate::exec::compute(g).map_err(|d| detail(format_args!("first guest: {d}")));
            g.ctx.wait(HELPER);
            r?;
            helper::run_result(Status::ERR_UNAVAILABLE)
        })();
        second.close(&mut g.ctx);
        r
    })
}
