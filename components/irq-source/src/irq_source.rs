//! The program proper (target only); see the binary's documentation.

use caps::{ObjType, Rights};
use vcpu_client::{
    HandleValue, PortPacket, ReceivedHandle, Status, VcpuState, handle_receive, vcpu_read_state,
    vcpu_write_state, zx_handle_close, zx_handle_duplicate, zx_handle_replace, zx_vcpu_enter,
    zx_vcpu_interrupt, zx_vcpu_kick,
};
use zerocopy::FromZeros;

use vmm::demo::{IRQ_VECTORS, RECEIVE_TRIES, VMM_CLIENT};
use vmm::report::{CaseResult, Suite, expect_eq, expect_err, expect_status};
use vmm::rt::{Ctx, DebugWriter, debug_println};
use vmm::{fail, token};

vmm::component!(main = main);

fn main(mut ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    let received = receive(&mut ctx);
    let vcpu = match received {
        Ok(r) => {
            suite.record("irq-source-received-vcpu", check_received(&r));
            match zx_handle_replace(&mut ctx.t, r.handle, Rights::SIGNAL) {
                Ok(h) => Some(h),
                Err(s) => {
                    suite.record(
                        "irq-source-replace-signal-only",
                        expect_status("replace", Status::OK, s),
                    );
                    None
                }
            }
        }
        Err(d) => {
            suite.record("irq-source-received-vcpu", Err(d));
            None
        }
    };
    if let Some(vcpu) = vcpu {
        suite.record("irq-source-only-signal", only_signal(&mut ctx, vcpu));
        suite.record("irq-source-interrupts", interrupts(&mut ctx, vcpu));
        // A VCPU lives while any handle to it does, and its thread can own no other VCPU
        // meanwhile: let go so the VMM can run its next guest.
        let closed = zx_handle_close(&mut ctx.t, vcpu);
        suite.record(
            "irq-source-close",
            expect_status("close", Status::OK, closed),
        );
    }
    let sent = token::send_done(&mut ctx.t, VMM_CLIENT, suite.all_passed());
    suite.record(
        "irq-source-done-token",
        expect_status("handle_send", Status::OK, sent),
    );
    suite.summary("irq-source");
    ctx.finish(suite.passed(), suite.failed())
}

/// `handle_receive`, retried a few times with a yield in between.
fn receive(ctx: &mut Ctx) -> Result<ReceivedHandle, vmm::report::Detail> {
    for _ in 0..RECEIVE_TRIES {
        match handle_receive(&mut ctx.t) {
            Ok(r) => return Ok(r),
            Err(Status::ERR_SHOULD_WAIT) => sel4::yield_now(),
            Err(s) => return fail!("handle_receive: {s:?}"),
        }
    }
    fail!("handle_receive: still ZX_ERR_SHOULD_WAIT after {RECEIVE_TRIES} tries")
}

fn check_received(r: &ReceivedHandle) -> CaseResult {
    expect_eq("sender", VMM_CLIENT, r.from_client)?;
    expect_eq("object type", ObjType::Vcpu as u32, r.obj_type)?;
    let want = Rights::SIGNAL.union(Rights::TRANSFER).bits();
    expect_eq("rights", want, r.rights)?;
    debug_println!(
        "irq-source: received VCPU handle {:#x} (rights {:#x}) from client {}",
        r.handle,
        r.rights,
        r.from_client
    );
    Ok(())
}

/// Everything but `zx_vcpu_interrupt` needs a right this handle lacks.
fn only_signal(ctx: &mut Ctx, vcpu: HandleValue) -> CaseResult {
    let denied = Status::ERR_ACCESS_DENIED;
    let mut packet = PortPacket::new_zeroed();
    let enter = zx_vcpu_enter(&mut ctx.t, vcpu, &mut packet);
    expect_status("enter", denied, enter)?;
    expect_status("kick", denied, zx_vcpu_kick(&mut ctx.t, vcpu))?;
    expect_err("read_state", denied, vcpu_read_state(&mut ctx.t, vcpu))?;
    let state = VcpuState::new_zeroed();
    expect_status(
        "write_state",
        denied,
        vcpu_write_state(&mut ctx.t, vcpu, &state),
    )?;
    let dup = zx_handle_duplicate(&mut ctx.t, vcpu, Rights::SAME_RIGHTS);
    expect_err("duplicate", denied, dup)?;
    debug_println!("irq-source: enter, kick, read/write_state, duplicate: ZX_ERR_ACCESS_DENIED");
    Ok(())
}

fn interrupts(ctx: &mut Ctx, vcpu: HandleValue) -> CaseResult {
    for v in IRQ_VECTORS {
        let s = zx_vcpu_interrupt(&mut ctx.t, vcpu, v);
        expect_status("interrupt", Status::OK, s)?;
    }
    let out_of_range = zx_vcpu_interrupt(&mut ctx.t, vcpu, 256);
    expect_status("interrupt 256", Status::ERR_OUT_OF_RANGE, out_of_range)?;
    debug_println!("irq-source: raised interrupts {IRQ_VECTORS:?} in the VMM's guest");
    Ok(())
}
