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
use vcpu_protocol::message::Request;
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
        w.s.allow_send(common::A, vcpu_server::ClientId(10 + k))
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

/// Maps a new frame of `size` at `gpa` through `vmar`; its id.
fn map_new(w: &mut World, vmar: u32, gpa: u64, size: u64) -> u32 {
    let f = w.fake().new_frame(size);
    let id = f.id;
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, gpa, size), f);
    assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    id
}

const LARGE: u64 = 2 << 20;

#[test]
fn a_trap_never_removes_memory_outside_its_range() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    map_new(&mut w, vmar, 0x4000_0000, LARGE);
    let before = w.fake().calls.len();
    // One page inside a 2 MiB frame, or a range reaching into it: refused, nothing unmapped.
    for (addr, size) in [
        (0x4000_0000, PAGE),
        (0x401F_F000, PAGE),
        (0x3FFF_F000, 2 * PAGE),
        (0x4010_0000, LARGE),
    ] {
        let st = w.status(A1, set_trap(g, GUEST_TRAP_MEM, addr, size, 0, 1));
        assert_eq!(st, Status::ERR_NOT_SUPPORTED, "{addr:#x}+{size:#x}");
    }
    assert!(w.fake().calls_since(before).is_empty());
    assert_eq!(w.s.object_counts().mappings, 1);
    assert_eq!(w.s.object_counts().traps, 0);
    // The order: range checks (INVALID_ARGS) come first, the split check before overlap.
    let st = w.status(A1, set_trap(g, GUEST_TRAP_MEM, 0x4000_0800, PAGE, 0, 1));
    assert_eq!(st, Status::ERR_INVALID_ARGS);
    // Covering the whole frame removes it, as Zircon's unmap step does.
    let st = w.status(
        A1,
        set_trap(g, GUEST_TRAP_MEM, 0x3FFF_F000, LARGE + 2 * PAGE, 0, 1),
    );
    assert_eq!(st, Status::OK);
    assert_eq!(w.s.object_counts().mappings, 0);
    // 4 KiB frames: only the trapped pages go.
    for i in 0..4 {
        map_new(&mut w, vmar, 0x5000_0000 + i * PAGE, PAGE);
    }
    let st = w.status(A1, set_trap(g, GUEST_TRAP_MEM, 0x5000_1000, 2 * PAGE, 0, 2));
    assert_eq!(st, Status::OK);
    assert_eq!(w.s.object_counts().mappings, 2);
    w.assert_clean();
}

#[test]
fn vmar_unmap_checks_and_whole_frames() {
    use common::vmar_unmap;
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let large = map_new(&mut w, vmar, 0x4000_0000, LARGE);
    let small: Vec<u32> = (0..3)
        .map(|i| map_new(&mut w, vmar, 0x5000_0000 + i * PAGE, PAGE))
        .collect();
    let forged = vcpu_server::handle::encode(40, 1);
    assert_eq!(
        w.status(A1, vmar_unmap(forged, 0, PAGE)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, vmar_unmap(g, 0x5000_0000, PAGE)),
        Status::ERR_WRONG_TYPE
    );
    // No right is needed.
    let bare = w.handle(A1, common::duplicate(vmar, caps::Rights::NONE));
    for (addr, len) in [
        (0x5000_0800, PAGE),
        (0x5000_0000, 0x800),
        (0x5000_0000, 0),
        (1 << 36, PAGE),
        (u64::MAX - PAGE + 1, 2 * PAGE),
    ] {
        let st = w.status(A1, vmar_unmap(bare, addr, len));
        assert_eq!(st, Status::ERR_INVALID_ARGS, "{addr:#x}+{len:#x}");
    }
    assert_eq!(
        w.status(A1, vmar_unmap(bare, 0x4000_0000, PAGE)),
        Status::ERR_NOT_SUPPORTED,
        "would split the 2 MiB frame"
    );
    assert_eq!(
        w.status(A1, vmar_unmap(bare, 0x6000_0000, PAGE)),
        Status::ERR_NOT_FOUND
    );
    assert_eq!(w.s.object_counts().mappings, 4);
    let before = w.fake().calls.len();
    // Two of the three pages (and an unmapped page after them) go; the first stays.
    assert_eq!(
        w.status(A1, vmar_unmap(bare, 0x5000_1000, 3 * PAGE)),
        Status::OK
    );
    let calls = w.fake().calls_since(before).to_vec();
    assert_eq!(calls.len(), 4);
    assert!(calls.contains(&Call::DeleteFrame(small[1])));
    assert!(calls.contains(&Call::DeleteFrame(small[2])));
    assert_eq!(w.s.object_counts().mappings, 2);
    assert_eq!(
        w.status(A1, vmar_unmap(vmar, 0x4000_0000, LARGE)),
        Status::OK
    );
    assert!(w.fake().calls.contains(&Call::DeleteFrame(large)));
    // The address is free again.
    map_new(&mut w, vmar, 0x4000_0000, PAGE);
    w.assert_clean();
}

#[test]
fn vmar_protect_checks_and_remaps() {
    use common::vmar_protect;
    use vcpu_server::MapPerms;
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let large = map_new(&mut w, vmar, 0x4000_0000, LARGE);
    let a = map_new(&mut w, vmar, 0x5000_0000, PAGE);
    let b = map_new(&mut w, vmar, 0x5000_1000, PAGE);
    let r = VM_PERM_READ;
    assert_eq!(
        w.status(A1, vmar_protect(g, r, 0x5000_0000, PAGE)),
        Status::ERR_WRONG_TYPE
    );
    // Rights per permission, before the option checks.
    let read_only = w.handle(A1, common::duplicate(vmar, caps::Rights::READ));
    assert_eq!(
        w.status(
            A1,
            vmar_protect(read_only, r | VM_PERM_WRITE, 0x5000_0000, PAGE)
        ),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        w.status(
            A1,
            vmar_protect(read_only, VM_PERM_EXECUTE | 1 << 10, 0x5000_0000, PAGE)
        ),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        w.status(A1, vmar_protect(read_only, r | 1 << 10, 0x5000_0000, PAGE)),
        Status::ERR_INVALID_ARGS,
        "unknown option bit"
    );
    assert_eq!(
        w.status(A1, vmar_protect(vmar, VM_PERM_WRITE, 0x5000_0000, PAGE)),
        Status::ERR_INVALID_ARGS,
        "write without read"
    );
    for (addr, len) in [(0x5000_0800, PAGE), (0x5000_0000, 0), (1 << 36, PAGE)] {
        let st = w.status(A1, vmar_protect(vmar, r, addr, len));
        assert_eq!(st, Status::ERR_INVALID_ARGS, "{addr:#x}+{len:#x}");
    }
    assert_eq!(
        w.status(A1, vmar_protect(vmar, r, 0x4000_0000, PAGE)),
        Status::ERR_NOT_SUPPORTED
    );
    assert_eq!(
        w.status(A1, vmar_protect(vmar, r, 0x5000_0000, 3 * PAGE)),
        Status::ERR_NOT_FOUND,
        "the third page is not mapped"
    );
    let before = w.fake().calls.len();
    assert_eq!(
        w.status(A1, vmar_protect(read_only, r, 0x5000_0000, 2 * PAGE)),
        Status::OK
    );
    let ro = MapPerms {
        read: true,
        write: false,
        execute: false,
    };
    assert_eq!(
        w.fake().calls_since(before),
        [
            Call::ProtectFrame {
                guest: 1,
                gpa: 0x5000_0000,
                frame: a,
                perms: ro
            },
            Call::ProtectFrame {
                guest: 1,
                gpa: 0x5000_1000,
                frame: b,
                perms: ro
            },
        ]
    );
    assert_eq!(
        w.status(
            A1,
            vmar_protect(vmar, r | VM_PERM_EXECUTE, 0x4000_0000, LARGE)
        ),
        Status::OK
    );
    assert!(matches!(
        w.fake().calls.last(),
        Some(Call::ProtectFrame { frame, perms: MapPerms { execute: true, write: false, .. }, .. })
            if *frame == large
    ));
    // A backend failure is the status.
    w.fake().fail(Op::ProtectFrame, Status::ERR_NO_MEMORY);
    assert_eq!(
        w.status(A1, vmar_protect(vmar, r, 0x5000_0000, PAGE)),
        Status::ERR_NO_MEMORY
    );
    w.assert_clean();
}

fn map_frames(
    vmar: u32,
    options: u32,
    at: u64,
    len: u64,
    first: u64,
    count: u32,
) -> Request<'static> {
    Request::VmarMapFrames(vcpu_protocol::message::VmarMapFramesReq {
        vmar,
        options,
        vmar_offset: at,
        len,
        first_slot: first,
        count,
        reserved: 0,
    })
}

#[test]
fn vmar_map_frames_maps_all_or_nothing() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    // Slots 0..8: eight 4 KiB frames, slot 8 empty, slot 9 a 2 MiB frame.
    let sizes = [PAGE, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE, 0, LARGE];
    let call = |w: &mut World, req: Request<'static>| {
        let c = w.fake().new_cnode(&sizes);
        let r = w.call_frame(A1, req, c);
        match r.outcome {
            vcpu_server::Outcome::Reply(Ok(_)) => Status::OK,
            vcpu_server::Outcome::Reply(Err(s)) => s,
            vcpu_server::Outcome::Deferred => panic!("deferred"),
        }
    };
    let at = 0x5000_0000;
    assert_eq!(
        call(&mut w, map_frames(g, RW_SPECIFIC, at, PAGE, 0, 4)),
        Status::ERR_WRONG_TYPE
    );
    let ro = w.handle(A1, common::duplicate(vmar, Rights::READ));
    assert_eq!(
        call(&mut w, map_frames(ro, RW_SPECIFIC, at, PAGE, 0, 4)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(
        call(
            &mut w,
            map_frames(vmar, RW_SPECIFIC | 1 << 20, at, PAGE, 0, 4)
        ),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        call(&mut w, map_frames(vmar, VM_PERM_READ, at, PAGE, 0, 4)),
        Status::ERR_NOT_SUPPORTED,
        "without ZX_VM_SPECIFIC"
    );
    for (off, len, count) in [
        (at, PAGE, 0),
        (at, 0x800, 4),
        (at, 3 * PAGE, 4),
        (at + 0x800, PAGE, 4),
        (GUEST_PHYS_SIZE - PAGE, PAGE, 2),
        (at, 1 << 40, u32::MAX),
    ] {
        let st = call(&mut w, map_frames(vmar, RW_SPECIFIC, off, len, 0, count));
        assert_eq!(st, Status::ERR_INVALID_ARGS, "{off:#x} {len:#x} x{count}");
    }
    // No CNode at all.
    let r = w.call(A1, map_frames(vmar, RW_SPECIFIC, at, PAGE, 0, 4));
    assert_eq!(
        r.outcome,
        vcpu_server::Outcome::Reply(Err(Status::ERR_INVALID_ARGS))
    );
    // An empty slot in the middle, or a frame of another size: nothing stays mapped.
    let before = w.fake().calls.len();
    assert_eq!(
        call(&mut w, map_frames(vmar, RW_SPECIFIC, at, PAGE, 5, 4)),
        Status::ERR_INVALID_ARGS,
        "slot 8 is empty"
    );
    let calls = w.fake().calls_since(before).to_vec();
    let mapped = calls
        .iter()
        .filter(|c| matches!(c, Call::MapFrame { .. }))
        .count();
    let unmapped = calls
        .iter()
        .filter(|c| matches!(c, Call::UnmapFrame { .. }))
        .count();
    assert_eq!((mapped, unmapped), (3, 3), "rolled back");
    assert_eq!(
        call(&mut w, map_frames(vmar, RW_SPECIFIC, at, PAGE, 8, 2)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(w.s.object_counts().mappings, 0);
    // Eight frames in one call, back to back.
    assert_eq!(
        call(&mut w, map_frames(vmar, RW_SPECIFIC, at, PAGE, 0, 8)),
        Status::OK
    );
    assert_eq!(w.s.object_counts().mappings, 8);
    for i in 0..8 {
        assert_eq!(
            w.fake()
                .mapped
                .values()
                .filter(|(_, gpa)| *gpa == at + i * PAGE)
                .count(),
            1
        );
    }
    // Overlap with those, or with a trap: ALREADY_EXISTS before any frame is taken.
    assert_eq!(
        call(
            &mut w,
            map_frames(vmar, RW_SPECIFIC, at + 7 * PAGE, PAGE, 0, 2)
        ),
        Status::ERR_ALREADY_EXISTS
    );
    w.mem_trap(g, 0x6000_1000, 1);
    assert_eq!(
        call(
            &mut w,
            map_frames(vmar, RW_SPECIFIC, 0x6000_0000, PAGE, 0, 4)
        ),
        Status::ERR_ALREADY_EXISTS
    );
    // A large frame through the same call.
    assert_eq!(
        call(
            &mut w,
            map_frames(vmar, RW_SPECIFIC, 0x4000_0000, LARGE, 9, 1)
        ),
        Status::OK
    );
    // Capacity: more frames than mappings left.
    let left = (vcpu_server::MAX_MAPPINGS - w.s.object_counts().mappings) as u32;
    assert_eq!(
        call(
            &mut w,
            map_frames(vmar, RW_SPECIFIC, 0x1_0000_0000, PAGE, 0, left + 1)
        ),
        Status::ERR_NO_MEMORY
    );
    w.assert_clean();
}

#[test]
fn bell_pools_are_bounded_apart_from_traps() {
    use vcpu_server::{ClientId, Limits, MAX_BELL_POOLS, Sender, ThreadId};
    let mut w = World::new();
    let d = ClientId(9);
    let d1 = Sender {
        client: d,
        thread: ThreadId(90),
    };
    let limits = Limits {
        traps: MAX_BELL_POOLS as u16 + 8,
        ..Limits::DEFAULT
    };
    // Room in the server's quota capacity for a client with more traps than pools.
    let st = w.s.add_client_with(d, limits);
    assert_eq!(st, Ok(()));
    let rights = ObjType::Resource.default_rights();
    let rsrc =
        w.s.grant_resource(d, RSRC_KIND_SYSTEM, 0, 1, rights)
            .unwrap();
    let ReplyPayload::GuestCreate(gc) = w.ok(d1, guest_create(rsrc, 0)) else {
        panic!("guest_create");
    };
    let port = w.handle(d1, port_create(0));
    for i in 0..MAX_BELL_POOLS as u64 {
        let st = w.status(
            d1,
            set_trap(gc.guest, GUEST_TRAP_BELL, i * PAGE, PAGE, port, i),
        );
        assert_eq!(st, Status::OK, "BELL trap {i}");
    }
    let next = MAX_BELL_POOLS as u64 * PAGE;
    assert_eq!(
        w.status(d1, set_trap(gc.guest, GUEST_TRAP_BELL, next, PAGE, port, 0)),
        Status::ERR_NO_MEMORY,
        "no pool left"
    );
    assert_eq!(
        w.status(d1, set_trap(gc.guest, GUEST_TRAP_MEM, next, PAGE, 0, 0)),
        Status::OK,
        "a MEM trap needs no pool"
    );
    w.s.check_invariants().unwrap();
    // Destroying the guest frees the pools.
    assert_eq!(w.status(d1, common::close(gc.guest)), Status::OK);
    assert_eq!(w.status(d1, common::close(gc.vmar)), Status::OK);
    let ReplyPayload::GuestCreate(g2) = w.ok(d1, guest_create(rsrc, 0)) else {
        panic!("guest_create");
    };
    assert_eq!(
        w.status(d1, set_trap(g2.guest, GUEST_TRAP_BELL, 0, PAGE, port, 0)),
        Status::OK
    );
    w.assert_clean();
}
