//! Zircon's initial VCPU state (issue 9): the GIC virtual CPU interface is enabled at creation
//! (`gicdef`, which never programs it), and SCTLR_EL1 lets WFI at guest EL0 trap to the
//! guest's own EL1 (`el0`, in AArch64 and AArch32).

use guests::el0::{EC_WFX, MODE_AARCH32, SLOT_LOWER_AARCH32, SLOT_LOWER_AARCH64};
use guests::gicdef::{IRQ_TAKEN, MODE_IAR_WFI, MODE_SPIN, WFI_RETURNED};
use guests::testdev::STATUS_EXCEPTION;
use vcpu_client::{HandleValue, Status, vcpu_read_state, vcpu_write_state, zx_vcpu_interrupt};
use vmm::fail;
use vmm::machine::{Devices, RunEnd};
use vmm::report::{CaseResult, expect_eq, expect_ok, expect_status};

use crate::cases::{G, Lines};
use crate::vgic::image;

/// Boots `image` on a fresh guest with x0 = `x0`, runs `body`, and cleans up.
fn with_guest(
    g: &mut G,
    image: &[u8],
    x0: u64,
    body: impl FnOnce(&mut G, HandleValue) -> CaseResult,
) -> CaseResult {
    let gvm = g.fresh()?;
    let r = (|| {
        let v = g.boot(&gvm, image)?;
        let r = (|| {
            let t = &mut g.ctx.t;
            let mut state = expect_ok("read_state", vcpu_read_state(t, v))?;
            state.x[0] = x0;
            expect_status("write_state", Status::OK, vcpu_write_state(t, v, &state))?;
            body(g, v)
        })();
        g.close(&[v]);
        r
    })();
    gvm.close(&mut g.ctx);
    r
}

/// `gicdef` in mode 0 only unmasks IRQs and spins: vector 40, raised before the first enter,
/// must be taken although the guest never enables its GIC CPU interface (with seL4's default
/// VMCR of 0 it would spin forever and the case would time out).
pub fn gic_default_spin(g: &mut G) -> CaseResult {
    with_guest(g, image::GICDEF, MODE_SPIN, |g, v| {
        let s = zx_vcpu_interrupt(&mut g.ctx.t, v, 40);
        expect_status("interrupt 40 before the first enter", Status::OK, s)?;
        let mut devs = Devices::new(1);
        let end = g.run(v, &mut devs, &mut Lines::new());
        expect_eq(
            "end (SYSTEM_OFF from the IRQ handler)",
            RunEnd::Status(Status::ERR_UNAVAILABLE),
            end,
        )?;
        expect_eq("results", &[IRQ_TAKEN][..], &devs.testdev.results[..])
    })
}

/// `gicdef` in mode 1: 40 and 41 raised before the first enter; the handler acknowledges 40
/// through GICC_IAR and executes WFI, which returns at once (41 is pending), then 41 the same
/// way: RESULT 40, 40 | WFI_RETURNED, 41, 41 | WFI_RETURNED, SYSTEM_OFF.
pub fn gic_default_iar_wfi(g: &mut G) -> CaseResult {
    with_guest(g, image::GICDEF, MODE_IAR_WFI, |g, v| {
        for vector in [40, 41] {
            let s = zx_vcpu_interrupt(&mut g.ctx.t, v, vector);
            expect_status("interrupt before the first enter", Status::OK, s)?;
        }
        let mut devs = Devices::new(1);
        let end = g.run(v, &mut devs, &mut Lines::new());
        expect_eq(
            "end (SYSTEM_OFF after two)",
            RunEnd::Status(Status::ERR_UNAVAILABLE),
            end,
        )?;
        let want = [40, WFI_RETURNED | 40, 41, WFI_RETURNED | 41];
        expect_eq("results", &want[..], &devs.testdev.results[..])
    })
}

/// `el0` with x0 = `mode`: the WFI at EL0 must reach the guest's EL1 (ESR_EL1.EC 0x01, TI 0),
/// reported as an exception of vector slot `slot`; with the kernel's SCTLR_EL1 (nTWI set) it
/// would reach the server instead and wait there (the case would time out).
fn el0_wfi(g: &mut G, mode: u64, slot: u64) -> CaseResult {
    with_guest(g, image::EL0, mode, |g, v| {
        let mut devs = Devices::new(1);
        let end = g.run(v, &mut devs, &mut Lines::new());
        expect_eq(
            "end (SYSTEM_OFF after the report)",
            RunEnd::Status(Status::ERR_UNAVAILABLE),
            end,
        )?;
        expect_eq(
            "STATUS (exception from a lower EL)",
            Some(STATUS_EXCEPTION | slot),
            devs.testdev.status,
        )?;
        let Some(esr) = devs.testdev.fault[0] else {
            return fail!("no FAULT_ESR written");
        };
        expect_eq("ESR_EL1.EC (WFI/WFE trapped)", EC_WFX, esr >> 26)?;
        expect_eq("ESR_EL1.ISS.TI (WFI)", 0, esr & 1)?;
        let elr = devs.testdev.fault[1].unwrap_or(0);
        if elr < guests::layout::RAM_BASE {
            return fail!("FAULT_ELR {elr:#x} is not in the image");
        }
        Ok(())
    })
}

/// WFI at AArch64 EL0 traps to the guest's EL1.
pub fn el0_wfi_aarch64(g: &mut G) -> CaseResult {
    el0_wfi(g, 0, SLOT_LOWER_AARCH64)
}

/// WFI at AArch32 EL0 traps to the guest's EL1.
pub fn el0_wfi_aarch32(g: &mut G) -> CaseResult {
    el0_wfi(g, MODE_AARCH32, SLOT_LOWER_AARCH32)
}
