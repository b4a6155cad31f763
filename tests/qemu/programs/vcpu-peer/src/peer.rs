//! The program proper (target only); see the binary's documentation.

use caps::{ObjType, Rights};
use vcpu_client::{
    HandleValue, PortPacket, ReceivedHandle, Status, VcpuState, handle_receive, vcpu_read_state,
    vcpu_write_state, zx_guest_create, zx_guest_set_trap, zx_handle_close, zx_handle_duplicate,
    zx_object_get_info, zx_port_create, zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick,
};
use vcpu_protocol::layout::{GUEST_TRAP_MEM, INFO_VCPU};
use zerocopy::FromZeros;

use vmm::report::{CaseResult, Detail, Suite, expect_eq, expect_err, expect_ok, expect_status};
use vmm::report::{detail, handle_value};
use vmm::rt::{Ctx, DebugWriter, debug_println};
use vmm::{fail, token};

vmm::component!(main = main);

/// `vcpu-api`'s client id.
const API: u32 = 1;
/// The hostile client's id.
const HOSTILE: u32 = 3;

fn main(mut ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    let vcpu = match received(&mut ctx) {
        Ok(r) => {
            suite.record("peer-received-vcpu", Ok(()));
            Some(r.handle)
        }
        Err(d) => {
            suite.record("peer-received-vcpu", Err(d));
            None
        }
    };
    let own = vcpu.unwrap_or(0);
    suite.record("peer-foreign-values", foreign_values(&mut ctx, own));
    if let Some(v) = vcpu {
        suite.record(
            "peer-same-values-name-own-objects",
            own_namespace(&mut ctx, v),
        );
        suite.record("peer-signal-only", signal_only(&mut ctx, v));
        let closed = zx_handle_close(&mut ctx.t, v);
        suite.record("peer-close", expect_status("close", Status::OK, closed));
    }
    suite.record("peer-after-hostile", after_hostile(&mut ctx));
    suite.record("peer-unauthorised-send", unauthorised_send(&mut ctx));
    let sent = token::send_done(&mut ctx.t, API, suite.all_passed());
    suite.record(
        "peer-done-token",
        expect_status("handle_send", Status::OK, sent),
    );
    suite.summary("vcpu-peer");
    ctx.finish(suite.passed(), suite.failed())
}

/// The VCPU handle `vcpu-api` sent before it blocked: SIGNAL and TRANSFER, nothing else.
fn received(ctx: &mut Ctx) -> Result<ReceivedHandle, Detail> {
    let r = expect_ok("handle_receive", handle_receive(&mut ctx.t))?;
    expect_eq("sender", API, r.from_client)?;
    expect_eq("type", ObjType::Vcpu as u32, r.obj_type)?;
    expect_eq(
        "rights",
        Rights::SIGNAL.union(Rights::TRANSFER).bits(),
        r.rights,
    )?;
    Ok(r)
}

/// Every plausible handle value except our own is BAD_HANDLE here, whatever the call: the
/// values `vcpu-api` holds (resource, guests, VCPUs, ports: slots 0.. with small generations)
/// mean nothing in this client's table.
fn foreign_values(ctx: &mut Ctx, own: HandleValue) -> CaseResult {
    let bad = Status::ERR_BAD_HANDLE;
    let mut probed = 0;
    for slot in 0..24 {
        for generation in 1..=6 {
            let v = handle_value(slot, generation);
            if v == own {
                continue;
            }
            let t = &mut ctx.t;
            let mut buf = [0u8; 4];
            let calls = [
                (
                    "get_info",
                    zx_object_get_info(t, v, INFO_VCPU, &mut buf, None, None),
                ),
                ("kick", zx_vcpu_kick(t, v)),
                ("interrupt", zx_vcpu_interrupt(t, v, 40)),
                (
                    "set_trap",
                    zx_guest_set_trap(t, v, GUEST_TRAP_MEM, 0x9000_0000, 0x1000, 0, 0),
                ),
                (
                    "guest_create",
                    zx_guest_create(t, v, 0).err().unwrap_or(Status::OK),
                ),
                (
                    "duplicate",
                    zx_handle_duplicate(t, v, Rights::SAME_RIGHTS)
                        .err()
                        .unwrap_or(Status::OK),
                ),
                ("close", zx_handle_close(t, v)),
            ];
            for (what, got) in calls {
                if got != bad {
                    return Err(detail(format_args!(
                        "{what}({v:#x}): expected ZX_ERR_BAD_HANDLE, got {got:?}"
                    )));
                }
            }
            probed += 1;
        }
    }
    debug_println!("vcpu-peer: {probed} foreign handle values, 7 calls each: ZX_ERR_BAD_HANDLE");
    Ok(())
}

/// Handle values are per client: our first handle has `vcpu-api`'s resource value (0x7) but
/// names our VCPU; a port we create gets a value `vcpu-api` also uses, and it is ours.
fn own_namespace(ctx: &mut Ctx, vcpu: HandleValue) -> CaseResult {
    expect_eq("our first handle's value", 0x7, vcpu)?;
    let t = &mut ctx.t;
    let s = zx_guest_create(t, vcpu, 0);
    expect_err(
        "guest_create with 0x7 (our VCPU)",
        Status::ERR_WRONG_TYPE,
        s,
    )?;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    expect_eq("our port's value", handle_value(1, 1), port)?;
    expect_status("close our port", Status::OK, zx_handle_close(t, port))
}

/// The received handle allows `zx_vcpu_interrupt` and nothing else.
fn signal_only(ctx: &mut Ctx, vcpu: HandleValue) -> CaseResult {
    let t = &mut ctx.t;
    let denied = Status::ERR_ACCESS_DENIED;
    expect_status("interrupt", Status::OK, zx_vcpu_interrupt(t, vcpu, 50))?;
    let mut packet = PortPacket::new_zeroed();
    expect_status("enter", denied, zx_vcpu_enter(t, vcpu, &mut packet))?;
    expect_status("kick", denied, zx_vcpu_kick(t, vcpu))?;
    expect_err("read_state", denied, vcpu_read_state(t, vcpu))?;
    let w = vcpu_write_state(t, vcpu, &VcpuState::new_zeroed());
    expect_status("write_state", denied, w)?;
    let mut buf = [0u8; 4];
    let info = zx_object_get_info(t, vcpu, INFO_VCPU, &mut buf, None, None);
    expect_status("get_info (no INSPECT)", denied, info)
}

/// The manifest lets this client send handles to `vcpu-api` only: a send to the hostile client
/// is `ZX_ERR_NOT_FOUND`, as to a client that does not exist, and the handle stays here.
fn unauthorised_send(ctx: &mut Ctx) -> CaseResult {
    let t = &mut ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let refused = vcpu_client::handle_send(t, port, HOSTILE);
    let unknown = vcpu_client::handle_send(t, port, 77);
    let kept = zx_handle_close(t, port);
    expect_status(
        "send to a client not granted",
        Status::ERR_NOT_FOUND,
        refused,
    )?;
    expect_status("send to no client", Status::ERR_NOT_FOUND, unknown)?;
    expect_status("the handle stayed", Status::OK, kept)
}

/// The hostile client has finished (its token is here) and the server still serves us.
fn after_hostile(ctx: &mut Ctx) -> CaseResult {
    let t = expect_ok(
        "the hostile client's token",
        token::receive_done(&mut ctx.t),
    )?;
    expect_eq("token sender", HOSTILE, t.from_client)?;
    if !t.passed {
        return fail!("the hostile client reported failures");
    }
    let t = &mut ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let dup = zx_handle_duplicate(t, port, Rights::SAME_RIGHTS);
    let closed = zx_handle_close(t, port);
    let dup = expect_ok("duplicate", dup)?;
    expect_status("close", Status::OK, closed)?;
    expect_status("close the duplicate", Status::OK, zx_handle_close(t, dup))?;
    debug_println!("vcpu-peer: served normally after the hostile client");
    Ok(())
}
