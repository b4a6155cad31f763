//! Every error of the VCPU calls, in the documented order.

mod common;

use caps::{ObjType, Rights};
use common::{
    A, A1, A2, A3, B1, Call, Op, World, enter, get_info, interrupt, kick, read_state, state_req, t,
    vcpu_create, write_state,
};
use vcpu_protocol::layout::{GUEST_PHYS_SIZE, INFO_VCPU, VCPU_IO, VCPU_STATE, VcpuState};
use vcpu_protocol::message::Request;
use vcpu_protocol::{ReplyPayload, Status};
use vcpu_server::{Limits, MAX_HANDLES_PER_CLIENT, MAX_VCPUS, Outcome, Resume};
use zerocopy::IntoBytes;

const FORGED: u32 = 0x0BAD_0003;

fn without(t: ObjType, r: Rights) -> Rights {
    t.default_rights().difference(r)
}

#[test]
fn vcpu_create_order() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    // options first, even before the handle.
    assert_eq!(
        w.status(A1, vcpu_create(FORGED, 1, 0)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, vcpu_create(FORGED, 0, 0)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, vcpu_create(vmar, 0, 0)),
        Status::ERR_WRONG_TYPE
    );
    let weak = w.handle(
        A1,
        common::duplicate(g, without(ObjType::Guest, Rights::MANAGE_THREAD)),
    );
    assert_eq!(
        w.status(A1, vcpu_create(weak, 0, 0)),
        Status::ERR_ACCESS_DENIED
    );
    // MANAGE_PROCESS (the V1/V2 right) is not enough.
    assert_eq!(
        w.status(A1, vcpu_create(weak, 0, GUEST_PHYS_SIZE)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        w.status(A1, vcpu_create(g, 0, GUEST_PHYS_SIZE)),
        Status::ERR_INVALID_ARGS
    );
    let (_, _) = w.vcpu(A1, g, GUEST_PHYS_SIZE - 4);
    // Entry is checked before the thread.
    assert_eq!(
        w.status(A1, vcpu_create(g, 0, GUEST_PHYS_SIZE)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(w.status(A1, vcpu_create(g, 0, 0)), Status::ERR_BAD_STATE);
    // Another guest does not help: one VCPU per thread.
    let (g2, _) = w.guest();
    assert_eq!(w.status(A1, vcpu_create(g2, 0, 0)), Status::ERR_BAD_STATE);
    w.assert_clean();
}

#[test]
fn vcpu_create_vpids_and_capacity() {
    let all_vcpus = Limits {
        vcpus: MAX_VCPUS as u16,
        guests: 16,
        handles: MAX_HANDLES_PER_CLIENT as u16,
        ..Limits::DEFAULT
    };
    let no_vcpus = Limits {
        vcpus: 0,
        ..Limits::DEFAULT
    };
    let mut w = World::with_limits(all_vcpus, no_vcpus);
    let (g, _) = w.guest();
    let mut handles = vec![];
    for i in 0..7u16 {
        handles.push(w.vcpu(t(A, 100 + i), g, 0).0);
    }
    let vmpidrs: Vec<u64> = w.fake().vcpus.iter().map(|v| v.vmpidr).collect();
    assert_eq!(vmpidrs, (0..7).map(|i| i | 1 << 31).collect::<Vec<u64>>());
    // Thread check before VPID exhaustion.
    assert_eq!(
        w.status(t(A, 100), vcpu_create(g, 0, 0)),
        Status::ERR_BAD_STATE
    );
    assert_eq!(
        w.status(t(A, 107), vcpu_create(g, 0, 0)),
        Status::ERR_NO_RESOURCES
    );
    // Free VPID 3 (MPIDR 2); next-fit gives it back because it is the only free one.
    assert_eq!(w.status(A1, common::close(handles[2])), Status::OK);
    w.vcpu(t(A, 107), g, 0);
    assert_eq!(w.fake().vcpus.last().unwrap().vmpidr, 2 | 1 << 31);
    // Backend failure: its status, the VPID is released again.
    assert_eq!(w.status(A1, common::close(handles[4])), Status::OK);
    w.fake().fail(Op::CreateVcpu, Status::ERR_NO_MEMORY);
    assert_eq!(
        w.status(t(A, 108), vcpu_create(g, 0, 0)),
        Status::ERR_NO_MEMORY
    );
    w.fake().heal(Op::CreateVcpu);
    w.vcpu(t(A, 108), g, 0);
    assert_eq!(w.fake().vcpus.last().unwrap().vmpidr, 4 | 1 << 31);
    // A's VCPU limit (here the whole server's capacity): NO_MEMORY.
    let mut thread = 200;
    let mut guest = w.guest().0;
    let mut on_guest = 0;
    while w.s.object_counts().vcpus < MAX_VCPUS {
        if on_guest == 7 {
            guest = w.guest().0;
            on_guest = 0;
        }
        w.vcpu(t(A, thread), guest, 0);
        thread += 1;
        on_guest += 1;
    }
    let (fresh, _) = w.guest();
    assert_eq!(
        w.status(t(A, thread), vcpu_create(fresh, 0, 0)),
        Status::ERR_NO_MEMORY
    );
    w.assert_clean();
}

#[test]
fn vcpu_create_needs_a_handle_slot() {
    let mut w = World::new();
    let (g, _) = w.guest();
    while w.status(A1, common::duplicate(w.rsrc, Rights::SAME_RIGHTS)) == Status::OK {}
    assert_eq!(w.status(A1, vcpu_create(g, 0, 0)), Status::ERR_NO_MEMORY);
    assert_eq!(w.s.object_counts().vcpus, 0);
    assert_eq!(w.fake().vcpus.len(), 0);
    let _ = MAX_HANDLES_PER_CLIENT;
}

#[test]
fn enter_order() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0x1000);
    assert_eq!(w.status(A1, enter(FORGED)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, enter(vmar)), Status::ERR_WRONG_TYPE);
    let weak = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::EXECUTE)),
    );
    assert_eq!(w.status(A1, enter(weak)), Status::ERR_ACCESS_DENIED);
    // Wrong thread beats a pending kick, and leaves it pending.
    assert_eq!(w.status(A2, kick(v)), Status::OK);
    assert_eq!(w.status(A2, enter(v)), Status::ERR_BAD_STATE);
    let before = w.fake().calls.len();
    assert_eq!(w.status(A1, enter(v)), Status::ERR_CANCELED);
    assert!(
        w.fake().calls_since(before).is_empty(),
        "the guest must not run"
    );
    // Backend failure to start: its status, and the next enter starts it.
    w.fake().fail(Op::Resume, Status::ERR_INTERNAL);
    assert_eq!(w.status(A1, enter(v)), Status::ERR_INTERNAL);
    w.fake().heal(Op::Resume);
    w.enter_deferred(A1, v);
    assert_eq!(w.fake().calls.last(), Some(&Call::Resume(0, Resume::Start)));
    w.assert_clean();
}

#[test]
fn kick_and_interrupt_handle_checks() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    assert_eq!(w.status(A1, kick(FORGED)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, kick(g)), Status::ERR_WRONG_TYPE);
    let no_exec = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::EXECUTE)),
    );
    assert_eq!(w.status(A1, kick(no_exec)), Status::ERR_ACCESS_DENIED);
    assert_eq!(w.status(A3, kick(v)), Status::OK);
    assert_eq!(w.status(A1, interrupt(FORGED, 1)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, interrupt(g, 1)), Status::ERR_WRONG_TYPE);
    let no_sig = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::SIGNAL)),
    );
    // The handle is checked before the vector.
    assert_eq!(
        w.status(A1, interrupt(no_sig, 1000)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(w.status(A2, interrupt(v, 256)), Status::ERR_OUT_OF_RANGE);
    assert_eq!(
        w.status(A2, interrupt(v, u32::MAX)),
        Status::ERR_OUT_OF_RANGE
    );
    assert_eq!(w.status(A2, interrupt(v, 255)), Status::OK);
}

#[test]
fn read_state_order() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    let rs = |kind, size| Request::VcpuReadState(state_req(v, kind, size));
    assert_eq!(w.status(A1, read_state(FORGED)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, read_state(g)), Status::ERR_WRONG_TYPE);
    let no_read = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::READ)),
    );
    assert_eq!(w.status(A1, read_state(no_read)), Status::ERR_ACCESS_DENIED);
    // kind and size before the thread.
    assert_eq!(w.status(A2, rs(VCPU_IO, 264)), Status::ERR_INVALID_ARGS);
    assert_eq!(w.status(A2, rs(VCPU_STATE, 263)), Status::ERR_INVALID_ARGS);
    assert_eq!(w.status(A2, rs(VCPU_STATE, 265)), Status::ERR_INVALID_ARGS);
    assert_eq!(w.status(A1, rs(VCPU_IO, 8)), Status::ERR_INVALID_ARGS);
    assert_eq!(w.status(A2, rs(VCPU_STATE, 264)), Status::ERR_BAD_STATE);
    assert_eq!(w.status(B1, rs(VCPU_STATE, 264)), Status::ERR_BAD_HANDLE);
    w.fake().fail(Op::ReadRegs, Status::ERR_IO);
    assert_eq!(w.status(A1, rs(VCPU_STATE, 264)), Status::ERR_IO);
    w.fake().heal(Op::ReadRegs);
    assert_eq!(w.status(A1, rs(VCPU_STATE, 264)), Status::OK);
}

#[test]
fn write_state_order() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    let state = VcpuState {
        x: [0; 31],
        sp: 0,
        cpsr: 0,
        padding1: [0; 4],
    };
    let bytes = state.as_bytes().to_vec();
    fn ws(v: u32, kind: u32, size: u32, buf: &[u8]) -> Request<'_> {
        Request::VcpuWriteState(state_req(v, kind, size), buf)
    }
    assert_eq!(
        w.status(A1, write_state(FORGED, &bytes)),
        Status::ERR_BAD_HANDLE
    );
    let no_write = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::WRITE)),
    );
    assert_eq!(
        w.status(A1, write_state(no_write, &bytes)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        w.status(A2, ws(v, VCPU_STATE, 263, &bytes[..263])),
        Status::ERR_INVALID_ARGS
    );
    // A buffer shorter than the size claimed is a copy-in fault: INVALID_ARGS.
    assert_eq!(
        w.status(A2, ws(v, VCPU_STATE, 264, &bytes[..200])),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A2, ws(v, VCPU_STATE, 264, &bytes)),
        Status::ERR_BAD_STATE
    );
    // ZX_VCPU_IO: INVALID_ARGS always on arm64, with no thread check.
    assert_eq!(
        w.status(A2, ws(v, VCPU_IO, 8, &[1, 0, 0, 0, 0, 0, 0, 0])),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, ws(v, VCPU_IO, 8, &[1, 0, 0, 0, 0, 0, 0, 0])),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, ws(v, VCPU_IO, 7, &[1; 7])),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, ws(v, 2, 264, &bytes)),
        Status::ERR_INVALID_ARGS
    );
    w.fake().fail(Op::WriteRegs, Status::ERR_IO);
    assert_eq!(w.status(A1, ws(v, VCPU_STATE, 264, &bytes)), Status::ERR_IO);
    w.fake().heal(Op::WriteRegs);
    assert_eq!(w.status(A1, ws(v, VCPU_STATE, 264, &bytes)), Status::OK);
}

#[test]
fn get_info_order() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    // Zircon switches on the topic first: NOT_SUPPORTED before any handle check.
    assert_eq!(
        w.status(A1, get_info(FORGED, 29, 4)),
        Status::ERR_NOT_SUPPORTED
    );
    assert_eq!(w.status(A1, get_info(v, 2, 4)), Status::ERR_NOT_SUPPORTED);
    assert_eq!(
        w.status(A1, get_info(FORGED, INFO_VCPU, 0)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, get_info(g, INFO_VCPU, 0)),
        Status::ERR_WRONG_TYPE
    );
    let blind = w.handle(
        A1,
        common::duplicate(v, without(ObjType::Vcpu, Rights::INSPECT)),
    );
    assert_eq!(
        w.status(A1, get_info(blind, INFO_VCPU, 0)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        w.status(A2, get_info(v, INFO_VCPU, 3)),
        Status::ERR_BUFFER_TOO_SMALL
    );
    let flags = |w: &mut World| match w.ok(A2, get_info(v, INFO_VCPU, 4)) {
        ReplyPayload::InfoVcpu(i) => i.flags,
        other => panic!("{other:?}"),
    };
    assert_eq!(flags(&mut w), 0);
    assert_eq!(
        w.status(B1, get_info(v, INFO_VCPU, 4)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(w.status(A3, kick(v)), Status::OK);
    assert_eq!(w.status(A3, kick(v)), Status::OK);
    assert_eq!(flags(&mut w), 1);
    let r = w.call(A1, enter(v));
    assert_eq!(r.outcome, Outcome::Reply(Err(Status::ERR_CANCELED)));
    assert_eq!(flags(&mut w), 0, "two kicks coalesce into one CANCELED");
    w.enter_deferred(A1, v);
}
