//! The last cases: a guest run (`compute`) during which the other two clients of the system
//! run, and their done tokens.

use caps::Rights;
use guests::compute;
use guests::layout::RAM_BASE;
use vcpu_client::{Status, handle_send, vcpu_read_state, vcpu_write_state};

use vmm::fail;
use vmm::images;
use vmm::machine::{RunEnd, Step, run};
use vmm::report::{CaseResult, expect_eq, expect_ok, expect_status};
use vmm::rt::{GuestVm, debug_println};
use vmm::token;

use crate::api::Api;

/// The peer's client id.
pub const PEER: u32 = 2;
/// The hostile client's client id.
pub const HOSTILE: u32 = 3;

/// Inputs for the `compute` guest: x0..x30 as written before the first enter.
fn inputs() -> [u64; 31] {
    let mut x = [0u64; 31];
    for (i, v) in x.iter_mut().enumerate() {
        *v = 0xA000_0000_0000_0000 | (i as u64) << 32 | 0x1234;
    }
    x[0] = 0x0123_4567_89AB_CDEF;
    x[1] = 0xFEDC_BA98_7654_3210;
    x[2] = 0x1_0000_0001;
    x[3] = 0xFFFF_FFFF;
    x
}

/// Runs `compute` with registers set by `write_state`, after giving the peer a `SIGNAL` handle
/// to its VCPU; the guest's results come back through `read_state`. While the main thread is
/// blocked in `vcpu_enter`, the hostile client and the peer run.
pub fn run_with_peers(a: &mut Api) -> CaseResult {
    let gvm = GuestVm::new(&mut a.ctx, a.resource, &a.ram, RAM_BASE)?;
    let r = (|| {
        let vcpu = gvm.boot(&mut a.ctx, &mut a.ram, images::COMPUTE)?;
        let r = (|| {
            let dup = a.dup(vcpu, Rights::SIGNAL.union(Rights::TRANSFER))?;
            let sent = handle_send(&mut a.ctx.t, dup, PEER);
            expect_status("handle_send to the peer", Status::OK, sent)?;
            let t = &mut a.ctx.t;
            let mut state = expect_ok("read_state", vcpu_read_state(t, vcpu))?;
            let input = inputs();
            state.x = input;
            expect_status("write_state", Status::OK, vcpu_write_state(t, vcpu, &state))?;
            debug_println!("vcpu-api: entering `compute`; the other clients run meanwhile");
            let end = run(t, vcpu, 16, |_, _| Step::Stop);
            expect_eq("end of compute", RunEnd::Status(Status::ERR_STOP), end)?;
            let got = expect_ok("read_state", vcpu_read_state(t, vcpu))?;
            for (i, want) in compute::expected_x(input).iter().enumerate() {
                if let Some(w) = want {
                    if got.x[i] != *w {
                        return fail!("x{i}: expected {w:#x}, got {:#x}", got.x[i]);
                    }
                }
            }
            expect_eq("sp", compute::expected_sp(0), got.sp)?;
            expect_eq("cpsr", compute::CPSR, got.cpsr)
        })();
        a.close(&[vcpu]);
        r
    })();
    gvm.close(&mut a.ctx);
    r
}

/// The hostile client and the peer each sent a done token, in priority order, both passed.
pub fn tokens(a: &mut Api) -> CaseResult {
    let first = expect_ok("first token", token::receive_done(&mut a.ctx.t))?;
    let second = expect_ok("second token", token::receive_done(&mut a.ctx.t))?;
    expect_eq(
        "senders in order",
        (HOSTILE, PEER),
        (first.from_client, second.from_client),
    )?;
    if !first.passed || !second.passed {
        return fail!(
            "hostile passed: {}, peer passed: {}",
            first.passed,
            second.passed
        );
    }
    Ok(())
}
