//! Virtual-interrupt delivery beyond single injections: the guest's own virtual timer
//! (`timer`: VPPI events, injection of vector 27 and its acknowledgement after each EOI), and
//! more pending interrupts than the GIC has list registers (`irq`: the server queues them and
//! refills on maintenance exits).

use guests::testdev::STATUS_READY;
use vcpu_client::{Status, zx_vcpu_interrupt};
use vmm::images;
use vmm::machine::{Devices, RunEnd};
use vmm::report::{CaseResult, expect_eq, expect_status};
use vmm::rt::debug_println;

use crate::cases::{G, Lines};

/// The `timer`, `gicdef` and `el0` guest images, embedded by `build.rs`.
pub(crate) mod image {
    include!(concat!(env!("OUT_DIR"), "/timer_image.rs"));
}

/// Timer ticks the `timer` guest takes: each after the previous one's EOI and acknowledgement,
/// so a missing `AckVPPI` stops it after the first.
const TICKS: u64 = 5;

/// The `timer` guest takes [`TICKS`] ticks of its virtual timer (no `vcpu_interrupt` at all)
/// and powers off; RESULT counts 1..=TICKS.
pub fn vtimer(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, image::TIMER)?;
        let r = (|| {
            let mut devs = Devices::new(TICKS);
            let mut lines = Lines::new();
            let end = g.run(v, &mut devs, &mut lines);
            expect_eq(
                "status (READY, not UNEXPECTED_IRQ)",
                Some(STATUS_READY),
                devs.testdev.status,
            )?;
            expect_eq("unexpected INTID", None, devs.testdev.detail)?;
            expect_eq(
                "ticks counted",
                &[1, 2, 3, 4, 5][..],
                &devs.testdev.results[..],
            )?;
            expect_eq(
                "end (SYSTEM_OFF after the last tick)",
                RunEnd::Status(Status::ERR_UNAVAILABLE),
                end,
            )
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// SPIs raised at once, twice QEMU's 4 list registers.
const OVERFLOW: [u32; 8] = [40, 41, 42, 43, 44, 45, 46, 47];

/// Eight SPIs raised before the first enter of `irq` (IN_IRQ_COUNT = 8): each is taken
/// exactly once, the four beyond the list registers after refills on maintenance exits.
pub fn irq_overflow(g: &mut G) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, images::IRQ)?;
        let r = (|| {
            for vector in OVERFLOW {
                let s = zx_vcpu_interrupt(&mut g.ctx.t, v, vector);
                expect_status("interrupt before enter", Status::OK, s)?;
            }
            let mut devs = Devices::new(OVERFLOW.len() as u64);
            let mut lines = Lines::new();
            let end = g.run(v, &mut devs, &mut lines);
            debug_println!(
                "irq-overflow: INTIDs in order taken: {:?}",
                devs.testdev.results
            );
            expect_eq(
                "end (SYSTEM_OFF after 8)",
                RunEnd::Status(Status::ERR_UNAVAILABLE),
                end,
            )?;
            let mut taken = [0u64; OVERFLOW.len()];
            for (t, r) in taken.iter_mut().zip(&devs.testdev.results) {
                *t = *r;
            }
            taken.sort_unstable();
            expect_eq("INTIDs taken (sorted)", OVERFLOW.map(u64::from), taken)?;
            expect_eq(
                "interrupts taken",
                OVERFLOW.len(),
                devs.testdev.results.len(),
            )
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}
