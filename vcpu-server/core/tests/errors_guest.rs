//! Every error of `guest_create`, `guest_set_trap` and `vmar_map`, in the documented order.

mod common;

use caps::{ObjType, Rights};
use common::{
    A1, B1, Call, Op, PAGE, RW_SPECIFIC, World, guest_create, port_create, set_trap, vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_PHYS_SIZE, GUEST_TRAP_BELL, GUEST_TRAP_IO, GUEST_TRAP_MEM, RSRC_KIND_SYSTEM,
    VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC,
};
use vcpu_protocol::{ReplyPayload, Status};
use vcpu_server::handle::encode;
use vcpu_server::{Kind, Limits, MAX_GUESTS};

const FORGED: u32 = 0x1234_5673;

#[test]
fn guest_create_resource_checks_come_first() {
    let mut w = World::new();
    // BAD_HANDLE beats bad options (V3: resource first).
    assert_eq!(
        w.status(A1, guest_create(FORGED, 7)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(w.status(A1, guest_create(0, 0)), Status::ERR_BAD_HANDLE);
    assert_eq!(
        w.status(A1, guest_create(w.rsrc & !1, 0)),
        Status::ERR_BAD_HANDLE
    );
    // B holds nothing: A's value means nothing to it.
    assert_eq!(
        w.status(B1, guest_create(w.rsrc, 0)),
        Status::ERR_BAD_HANDLE
    );
    let port = w.port(A1);
    assert_eq!(w.status(A1, guest_create(port, 7)), Status::ERR_WRONG_TYPE);
    let rights = ObjType::Resource.default_rights();
    for (kind, base, size) in [
        (0, 0, 1),
        (RSRC_KIND_SYSTEM, 1, 1),
        (RSRC_KIND_SYSTEM, 0, 0),
    ] {
        let r =
            w.s.grant_resource(common::A, kind, base, size, rights)
                .unwrap();
        assert_eq!(w.status(A1, guest_create(r, 7)), Status::ERR_ACCESS_DENIED);
    }
    // A range covering the hypervisor base is accepted, as Zircon's ranged check does.
    let wide =
        w.s.grant_resource(common::A, RSRC_KIND_SYSTEM, 0, 16, rights)
            .unwrap();
    assert_eq!(w.status(A1, guest_create(wide, 0)), Status::OK);
    // The resource needs no right at all.
    let bare =
        w.s.grant_resource(common::A, RSRC_KIND_SYSTEM, 0, 1, Rights::NONE)
            .unwrap();
    assert_eq!(w.status(A1, guest_create(bare, 0)), Status::OK);
    w.assert_clean();
}

#[test]
fn guest_create_options() {
    let mut w = World::new();
    assert_eq!(
        w.status(A1, guest_create(w.rsrc, 1)),
        Status::ERR_NOT_SUPPORTED
    );
    for o in [2, 3, u32::MAX] {
        assert_eq!(
            w.status(A1, guest_create(w.rsrc, o)),
            Status::ERR_INVALID_ARGS
        );
    }
    assert!(w.fake().calls.is_empty(), "no guest created");
    match w.ok(A1, guest_create(w.rsrc, 0)) {
        ReplyPayload::GuestCreate(g) => {
            assert_eq!(g.guest, encode(1, 1));
            assert_eq!(g.vmar, encode(2, 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn guest_create_returns_default_rights() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    // Duplicating with all default rights works, one more right does not.
    for (h, t) in [(g, ObjType::Guest), (vmar, ObjType::Vmar)] {
        let d = t.default_rights();
        assert_eq!(w.status(A1, common::duplicate(h, d)), Status::OK);
        let more = d.union(Rights::MANAGE_PROCESS);
        assert_eq!(
            w.status(A1, common::duplicate(h, more)),
            Status::ERR_INVALID_ARGS
        );
    }
}

#[test]
fn guest_create_capacity_and_backend_failure() {
    // A may have every VMID; nobody else may have a guest.
    let no_guests = Limits {
        guests: 0,
        ..Limits::DEFAULT
    };
    let all_guests = Limits {
        guests: MAX_GUESTS as u16,
        ..Limits::DEFAULT
    };
    let mut w = World::with_limits(all_guests, no_guests);
    w.fake().fail(Op::CreateGuest, Status::ERR_NO_MEMORY);
    assert_eq!(w.status(A1, guest_create(w.rsrc, 0)), Status::ERR_NO_MEMORY);
    w.fake().heal(Op::CreateGuest);
    // Keep each guest alive through its VMAR handle only, parked in helper clients' tables.
    for k in 0..5u16 {
        w.s.add_client_with(vcpu_server::ClientId(10 + k), no_guests)
            .unwrap();
    }
    for i in 0..MAX_GUESTS {
        let (g, vmar) = w.guest();
        assert_eq!(w.status(A1, common::close(g)), Status::OK);
        let k = (i / 60) as u16;
        let to = vcpu_server::ClientId(10 + k);
        assert_eq!(w.status(A1, common::send(vmar, to)), Status::OK);
        let who = common::t(to, 100 + k);
        let got = w.ok(who, vcpu_protocol::message::Request::HandleReceive);
        assert!(matches!(got, ReplyPayload::Received(_)));
    }
    assert_eq!(w.s.object_counts().guests, MAX_GUESTS);
    // 255th guest: VMIDs exhausted.
    assert_eq!(
        w.status(A1, guest_create(w.rsrc, 0)),
        Status::ERR_NO_RESOURCES
    );
    w.assert_clean();
}

#[test]
fn guest_create_needs_two_free_handle_slots() {
    let mut w = World::new();
    // A has the resource; fill all but one slot with duplicates.
    for _ in 0..usize::from(Limits::DEFAULT.handles) - 2 {
        w.handle(A1, common::duplicate(w.rsrc, Rights::SAME_RIGHTS));
    }
    assert_eq!(w.status(A1, guest_create(w.rsrc, 0)), Status::ERR_NO_MEMORY);
    assert_eq!(w.s.object_counts().guests, 0);
    assert!(w.fake().calls.is_empty());
}

#[test]
fn set_trap_handle_checks() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let port = w.port(A1);
    let mem = GUEST_TRAP_MEM;
    assert_eq!(
        w.status(A1, set_trap(FORGED, mem, 0, PAGE, 0, 0)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, set_trap(vmar, mem, 0, PAGE, 0, 0)),
        Status::ERR_WRONG_TYPE
    );
    let ro = w.handle(
        A1,
        common::duplicate(g, ObjType::Guest.default_rights().difference(Rights::WRITE)),
    );
    assert_eq!(
        w.status(A1, set_trap(ro, mem, 0, PAGE, 0, 0)),
        Status::ERR_ACCESS_DENIED
    );
    // The guest is checked before the port.
    assert_eq!(
        w.status(A1, set_trap(ro, GUEST_TRAP_BELL, 0, PAGE, FORGED, 0)),
        Status::ERR_ACCESS_DENIED
    );
    let bell = GUEST_TRAP_BELL;
    assert_eq!(
        w.status(A1, set_trap(g, bell, 0, PAGE, FORGED, 0)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, set_trap(g, bell, 0, PAGE, vmar, 0)),
        Status::ERR_WRONG_TYPE
    );
    let port_ro = w.handle(
        A1,
        common::duplicate(port, Rights::READ | Rights::DUPLICATE),
    );
    assert_eq!(
        w.status(A1, set_trap(g, bell, 0, PAGE, port_ro, 0)),
        Status::ERR_ACCESS_DENIED
    );
    // The port is checked before the kind.
    assert_eq!(
        w.status(A1, set_trap(g, 99, 1, 0, FORGED, 0)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, set_trap(g, bell, 0, PAGE, port, 0)),
        Status::OK
    );
}

#[test]
fn set_trap_kind_alignment_range_in_order() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let port = w.port(A1);
    let (bell, mem, io) = (GUEST_TRAP_BELL, GUEST_TRAP_MEM, GUEST_TRAP_IO);
    assert_eq!(
        w.status(A1, set_trap(g, mem, 0, PAGE, port, 0)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, set_trap(g, bell, 0, PAGE, 0, 0)),
        Status::ERR_INVALID_ARGS
    );
    // IO is NOT_SUPPORTED on arm64, with or without a port, before alignment.
    assert_eq!(
        w.status(A1, set_trap(g, io, 1, 3, 0, 0)),
        Status::ERR_NOT_SUPPORTED
    );
    assert_eq!(
        w.status(A1, set_trap(g, io, 1, 3, port, 0)),
        Status::ERR_NOT_SUPPORTED
    );
    assert_eq!(
        w.status(A1, set_trap(g, 3, 0, PAGE, 0, 0)),
        Status::ERR_INVALID_ARGS
    );
    for (addr, size) in [
        (1, PAGE),
        (0, PAGE + 1),
        (0, 0),
        (GUEST_PHYS_SIZE - PAGE, 2 * PAGE),
        (GUEST_PHYS_SIZE, PAGE),
        (u64::MAX - PAGE + 1, PAGE),
        (PAGE, u64::MAX - PAGE + 1),
    ] {
        assert_eq!(
            w.status(A1, set_trap(g, mem, addr, size, 0, 0)),
            Status::ERR_INVALID_ARGS,
            "addr {addr:#x} size {size:#x}"
        );
    }
    assert_eq!(
        w.status(A1, set_trap(g, mem, GUEST_PHYS_SIZE - PAGE, PAGE, 0, 0)),
        Status::OK
    );
    assert_eq!(w.s.object_counts().traps, 1);
}

#[test]
fn set_trap_overlap_and_capacity() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (g2, _) = w.guest();
    let port = w.port(A1);
    let mem = GUEST_TRAP_MEM;
    w.mem_trap(g, 0x10000, 1);
    // Any intersection, BELL against MEM too.
    for (kind, addr, size, p) in [
        (mem, 0x10000, PAGE, 0),
        (mem, 0xF000, 2 * PAGE, 0),
        (mem, 0x8000, 0x10000, 0),
        (GUEST_TRAP_BELL, 0x10000, PAGE, port),
    ] {
        assert_eq!(
            w.status(A1, set_trap(g, kind, addr, size, p, 0)),
            Status::ERR_ALREADY_EXISTS
        );
    }
    // Adjacent is fine, and another guest has its own space.
    assert_eq!(
        w.status(A1, set_trap(g, mem, 0x11000, PAGE, 0, 0)),
        Status::OK
    );
    assert_eq!(
        w.status(A1, set_trap(g2, mem, 0x10000, PAGE, 0, 0)),
        Status::OK
    );
    while w.s.object_counts().traps < w.limit(common::A, Kind::Trap) {
        let n = w.s.object_counts().traps as u64;
        w.mem_trap(g, 0x100_0000 + n * PAGE, n);
    }
    // A's limit (NO_MEMORY) is checked before overlap, as Zircon allocates before inserting.
    assert_eq!(
        w.status(A1, set_trap(g, mem, 0x10000, PAGE, 0, 0)),
        Status::ERR_NO_MEMORY
    );
    assert_eq!(
        w.status(A1, set_trap(g, mem, 0x7_0000_0000, PAGE, 0, 0)),
        Status::ERR_NO_MEMORY
    );
}

#[test]
fn set_trap_unmaps_before_checking_overlap() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let frame = w.fake().new_frame(PAGE);
    let frame_id = frame.id;
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0x20000, PAGE), frame);
    assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    w.mem_trap(g, 0x21000, 1);
    let before = w.fake().calls.len();
    let st = w.status(A1, set_trap(g, GUEST_TRAP_MEM, 0x20000, 2 * PAGE, 0, 2));
    assert_eq!(st, Status::ERR_ALREADY_EXISTS);
    assert_eq!(
        w.fake().calls_since(before),
        [
            Call::UnmapFrame {
                guest: 1,
                gpa: 0x20000,
                frame: frame_id
            },
            Call::DeleteFrame(frame_id)
        ]
    );
    assert_eq!(w.s.object_counts().mappings, 0);
    w.assert_clean();
}

#[test]
fn vmar_map_checks_in_order() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let map = |w: &mut World, vmar: u32, options: u32, off: u64, len: u64, size: Option<u64>| {
        let before = w.fake().frames_alive.len();
        let r = match size {
            Some(size) => {
                let f = w.fake().new_frame(size);
                w.call_frame(A1, vmar_map(vmar, options, off, len), f)
            }
            None => w.call(A1, vmar_map(vmar, options, off, len)),
        };
        let status = match r.outcome {
            vcpu_server::Outcome::Reply(Ok(_)) => Status::OK,
            vcpu_server::Outcome::Reply(Err(s)) => s,
            vcpu_server::Outcome::Deferred => panic!("deferred"),
        };
        if status != Status::OK {
            assert_eq!(w.fake().frames_alive.len(), before, "frame not given back");
        }
        status
    };
    let p = Some(PAGE);
    assert_eq!(map(&mut w, FORGED, 0, 0, 0, None), Status::ERR_BAD_HANDLE);
    assert_eq!(
        map(&mut w, FORGED, RW_SPECIFIC, 0, PAGE, p),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        map(&mut w, g, RW_SPECIFIC, 0, PAGE, p),
        Status::ERR_WRONG_TYPE
    );
    let ro = w.handle(
        A1,
        common::duplicate(vmar, Rights::READ | Rights::DUPLICATE),
    );
    let rw = VM_PERM_READ | VM_PERM_WRITE | VM_SPECIFIC;
    assert_eq!(map(&mut w, ro, rw, 0, PAGE, p), Status::ERR_ACCESS_DENIED);
    assert_eq!(
        map(&mut w, ro, VM_PERM_EXECUTE | VM_SPECIFIC, 0, PAGE, p),
        Status::ERR_ACCESS_DENIED
    );
    // Rights before option bits.
    assert_eq!(
        map(&mut w, ro, rw | 1 << 20, 0, PAGE, p),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        map(&mut w, vmar, rw | 1 << 20, 0, PAGE, p),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, VM_PERM_READ, 0, PAGE, p),
        Status::ERR_NOT_SUPPORTED
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0, PAGE, None),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0, 2 * PAGE, p),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0x800, PAGE, p),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0x1000, 0x20_0000, Some(0x20_0000)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, GUEST_PHYS_SIZE, PAGE, p),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0, 0x800, Some(0x800)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0, 3 * PAGE, Some(3 * PAGE)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        map(&mut w, vmar, rw, GUEST_PHYS_SIZE - PAGE, PAGE, p),
        Status::OK
    );
    assert_eq!(
        map(&mut w, vmar, rw, 0x20_0000, 0x20_0000, Some(0x20_0000)),
        Status::OK
    );
    // Overlaps: an existing mapping, a trap.
    assert_eq!(
        map(&mut w, vmar, rw, 0x20_1000, PAGE, p),
        Status::ERR_ALREADY_EXISTS
    );
    w.mem_trap(g, 0x50_0000, 1);
    assert_eq!(
        map(&mut w, vmar, rw, 0x50_0000, PAGE, p),
        Status::ERR_ALREADY_EXISTS
    );
    // Backend failures.
    w.fake().fail(Op::FrameSize, Status::ERR_INVALID_ARGS);
    assert_eq!(
        map(&mut w, vmar, rw, 0x60_0000, PAGE, p),
        Status::ERR_INVALID_ARGS
    );
    w.fake().heal(Op::FrameSize);
    w.fake().fail(Op::MapFrame, Status::ERR_NO_MEMORY);
    assert_eq!(
        map(&mut w, vmar, rw, 0x60_0000, PAGE, p),
        Status::ERR_NO_MEMORY
    );
    w.fake().heal(Op::MapFrame);
    // A read-only VMAR handle may still map read-only.
    assert_eq!(
        map(&mut w, ro, VM_PERM_READ | VM_SPECIFIC, 0x60_0000, PAGE, p),
        Status::OK
    );
    w.assert_clean();
}

#[test]
fn vmar_map_capacity_and_guest_teardown() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    for i in 0..w.limit(common::A, Kind::Mapping) as u64 {
        let f = w.fake().new_frame(PAGE);
        let r =
            w.s.handle_request(A1, vmar_map(vmar, RW_SPECIFIC, i * PAGE, PAGE), Some(f));
        assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    }
    let f = w.fake().new_frame(PAGE);
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0x100_0000, PAGE), f);
    assert_eq!(
        r.outcome,
        vcpu_server::Outcome::Reply(Err(Status::ERR_NO_MEMORY))
    );
    // Closing the guest handle keeps the guest (VMAR handle); closing the VMAR frees it all.
    assert_eq!(w.status(A1, common::close(g)), Status::OK);
    assert_eq!(w.s.object_counts().guests, 1);
    assert_eq!(w.status(A1, common::close(vmar)), Status::OK);
    assert_eq!(w.s.object_counts().guests, 0);
    assert_eq!(w.s.object_counts().mappings, 0);
    assert!(w.fake().frames_alive.is_empty());
    assert!(w.fake().guests_alive.is_empty());
    w.assert_clean();
}

#[test]
fn frames_with_other_requests_are_given_back() {
    let mut w = World::new();
    let f = w.fake().new_frame(PAGE);
    let id = f.id;
    let r = w.call_frame(A1, port_create(0), f);
    assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    assert_eq!(w.fake().calls, [Call::DeleteFrame(id)]);
    w.assert_clean();
}
