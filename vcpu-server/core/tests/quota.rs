//! Per-client accounting (issue 10, issue 9 point 6): every object is charged to the client that
//! created it, exhaustion is a status for that client alone, and every charge comes back when the
//! object goes, whoever drops the last reference.

mod common;

use common::{
    A, A1, B, B1, C, PAGE, RW_SPECIFIC, World, close, guest_create, port_create, send, set_trap, t,
    vcpu_create, vmar_map,
};
use vcpu_protocol::layout::GUEST_TRAP_MEM;
use vcpu_protocol::message::Request;
use vcpu_protocol::{ReplyPayload, Status};
use vcpu_server::{Kind, Limits, Usage};

fn usage(w: &World, c: vcpu_server::ClientId) -> Usage {
    w.s.quota(c).unwrap().1
}

/// Small limits for A so that each kind is quick to exhaust.
const SMALL: Limits = Limits {
    handles: 24,
    guests: 2,
    vcpus: 2,
    ports: 2,
    traps: 3,
    mappings: 3,
};

#[test]
fn each_kind_is_counted_exactly_and_refunded() {
    let mut w = World::with_limits(SMALL, Limits::DEFAULT);
    assert_eq!(usage(&w, A), Usage::default());
    let (g, vmar) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    let p = w.port(A1);
    w.mem_trap(g, 0x10_0000, 1);
    let f = w.fake().new_frame(PAGE);
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0, PAGE), f);
    assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    let one = Usage {
        guests: 1,
        vcpus: 1,
        ports: 1,
        traps: 1,
        mappings: 1,
    };
    assert_eq!(usage(&w, A), one);
    assert_eq!(usage(&w, B), Usage::default());
    assert_eq!(w.status(A1, close(p)), Status::OK);
    assert_eq!(usage(&w, A).ports, 0);
    assert_eq!(w.status(A1, close(v)), Status::OK);
    assert_eq!(usage(&w, A).vcpus, 0);
    // The guest (with its trap and mapping) lives while a handle does.
    assert_eq!(w.status(A1, close(g)), Status::OK);
    assert_eq!(usage(&w, A).guests, 1);
    assert_eq!(w.status(A1, close(vmar)), Status::OK);
    assert_eq!(usage(&w, A), Usage::default());
    w.assert_clean();
}

#[test]
fn exhausting_every_kind_is_a_status_for_that_client_alone() {
    let mut w = World::with_limits(SMALL, Limits::DEFAULT);
    // Guests: NO_RESOURCES (as VMIDs).
    let (g, vmar) = w.guest();
    let (_g2, _) = w.guest();
    assert_eq!(
        w.status(A1, guest_create(w.rsrc, 0)),
        Status::ERR_NO_RESOURCES
    );
    // VCPUs.
    w.vcpu(A1, g, 0);
    w.vcpu(t(A, 2), g, 0);
    assert_eq!(
        w.status(t(A, 4), vcpu_create(g, 0, 0)),
        Status::ERR_NO_MEMORY
    );
    // Ports.
    w.port(A1);
    w.port(A1);
    assert_eq!(w.status(A1, port_create(0)), Status::ERR_NO_MEMORY);
    // Traps.
    for i in 0..3 {
        w.mem_trap(g, 0x100_0000 + i * PAGE, i);
    }
    assert_eq!(
        w.status(A1, set_trap(g, GUEST_TRAP_MEM, 0x200_0000, PAGE, 0, 9)),
        Status::ERR_NO_MEMORY
    );
    // Mappings.
    for i in 0..3 {
        let f = w.fake().new_frame(PAGE);
        let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, i * PAGE, PAGE), f);
        assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    }
    let f = w.fake().new_frame(PAGE);
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0x40_0000, PAGE), f);
    assert_eq!(
        r.outcome,
        vcpu_server::Outcome::Reply(Err(Status::ERR_NO_MEMORY))
    );
    // Handles: A's table holds 24.
    while w.status(A1, common::duplicate(w.rsrc, caps::Rights::SAME_RIGHTS)) == Status::OK {}
    assert_eq!(w.s.free_handles(A), Some(0));
    assert_eq!(w.status(A1, port_create(0)), Status::ERR_NO_MEMORY);
    assert_eq!(
        usage(&w, A),
        Usage {
            guests: 2,
            vcpus: 2,
            ports: 2,
            traps: 3,
            mappings: 3,
        }
    );
    // The neighbour is unaffected: B creates ports up to its own limit, with its own handles.
    for _ in 0..Limits::DEFAULT.ports {
        w.port(B1);
    }
    assert_eq!(w.status(B1, port_create(0)), Status::ERR_NO_MEMORY);
    assert_eq!(
        w.s.free_handles(B),
        Some(usize::from(Limits::DEFAULT.handles - Limits::DEFAULT.ports))
    );
    w.assert_clean();
}

#[test]
fn the_creator_pays_even_when_another_client_drops_the_last_handle() {
    let mut w = World::new();
    let p = w.port(A1);
    assert_eq!(w.status(A1, send(p, C)), Status::OK);
    assert_eq!(usage(&w, A).ports, 1);
    assert_eq!(usage(&w, C).ports, 0);
    let got = match w.ok(common::C1, Request::HandleReceive) {
        ReplyPayload::Received(r) => r.handle,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.status(common::C1, close(got)), Status::OK);
    assert_eq!(
        usage(&w, A).ports,
        0,
        "A is refunded when C closes the port"
    );
    // A guest kept alive by a VMAR handle in B's table is still A's.
    let (g, vmar) = w.guest();
    assert_eq!(w.status(A1, send(vmar, B)), Status::OK);
    assert_eq!(w.status(A1, close(g)), Status::OK);
    assert_eq!(usage(&w, A).guests, 1);
    let got = match w.ok(B1, Request::HandleReceive) {
        ReplyPayload::Received(r) => r.handle,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.status(B1, close(got)), Status::OK);
    assert_eq!(usage(&w, A).guests, 0);
    w.assert_clean();
}

#[test]
fn a_trap_refunds_the_mappings_it_unmaps() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    for i in 0..4 {
        let f = w.fake().new_frame(PAGE);
        let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, i * PAGE, PAGE), f);
        assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    }
    assert_eq!(usage(&w, A).mappings, 4);
    w.mem_trap(g, PAGE, 1);
    assert_eq!(usage(&w, A).mappings, 3);
    assert_eq!(usage(&w, A).traps, 1);
    w.assert_clean();
}

#[test]
fn limits_must_fit_the_server() {
    let mut w = World::new();
    let greedy = Limits {
        vcpus: vcpu_server::MAX_VCPUS as u16,
        ..Limits::DEFAULT
    };
    assert_eq!(
        w.s.add_client_with(vcpu_server::ClientId(50), greedy),
        Err(Status::ERR_NO_RESOURCES)
    );
    let huge_table = Limits {
        handles: vcpu_server::MAX_HANDLES_PER_CLIENT as u16 + 1,
        ..Limits::DEFAULT
    };
    assert_eq!(
        w.s.add_client_with(vcpu_server::ClientId(51), huge_table),
        Err(Status::ERR_INVALID_ARGS)
    );
    assert!(w.s.quota(vcpu_server::ClientId(50)).is_none());
    for kind in Kind::ALL {
        assert!(w.limit(A, kind) > 0);
    }
}

/// Client death: a client stopped in the middle of `vcpu_enter`, with a running guest, mapped
/// frames, traps, ports, a thread in `port_wait` and handles in its inbox, leaves nothing
/// behind; 100 times over, the server's tables and the fake kernel's objects come back to their
/// starting state, and the neighbour's objects are untouched.
#[test]
fn a_client_stopped_mid_enter_leaves_no_trace_100_times() {
    let mut w = World::new();
    // B's own port, one handle of it sent to A: shared objects survive A's death.
    let bp = w.port(B1);
    let shared = w.handle(B1, common::duplicate(bp, caps::Rights::SAME_RIGHTS));
    assert_eq!(w.status(B1, send(shared, A)), Status::OK);
    // What must remain after each death: B's port, nothing of A's (its resource handle goes too).
    let start_counts = vcpu_server::ObjectCounts {
        ports: 1,
        ..Default::default()
    };
    let start_free_b = w.s.free_handles(B);
    let (a2, a3) = (t(A, 2), t(A, 3));
    for round in 0..100u16 {
        // A (re)starts with an empty table; the resource grant and B's port come again.
        if round > 0 {
            w.s.add_client(A).unwrap();
            let rights = caps::ObjType::Resource.default_rights();
            w.rsrc =
                w.s.grant_resource(A, vcpu_protocol::layout::RSRC_KIND_SYSTEM, 0, 1, rights)
                    .unwrap();
            let again = w.handle(B1, common::duplicate(bp, caps::Rights::SAME_RIGHTS));
            assert_eq!(w.status(B1, send(again, A)), Status::OK);
        }
        let (g, vmar) = w.guest();
        let (v, id) = w.vcpu(A1, g, 0x4000);
        let f = w.fake().new_frame(PAGE);
        let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0, PAGE), f);
        assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
        w.mem_trap(g, 0x10_0000, 1);
        let p = w.port(a2);
        assert_eq!(w.wait(a2, p).outcome, vcpu_server::Outcome::Deferred);
        w.enter_deferred(A1, v);
        assert_eq!(w.fake().vcpus[id as usize].run, common::FakeRun::Running);
        // A dies.
        w.s.client_stopped(A, &[A1.thread, a2.thread, a3.thread])
            .unwrap();
        w.s.check_invariants().unwrap();
        let c = w.s.pop_completion();
        assert!(c.is_none(), "no reply goes to a stopped client: {c:?}");
        assert_eq!(w.s.object_counts(), start_counts, "round {round}");
        assert_eq!(w.s.quota(A).unwrap().1, Usage::default());
        let all = usize::from(Limits::DEFAULT.handles);
        assert_eq!(
            w.s.free_handles(A),
            Some(all),
            "a stopped client holds nothing"
        );
        assert_eq!(w.status(A1, port_create(0)), Status::ERR_BAD_STATE);
        let fake = w.fake();
        assert!(fake.guests_alive.is_empty());
        assert!(fake.frames_alive.is_empty());
        assert_eq!(fake.vcpus[id as usize].run, common::FakeRun::Destroyed);
        assert_eq!(w.s.free_handles(B), start_free_b);
        assert_eq!(
            w.fake().memory_used(A),
            0,
            "round {round}: A's memory all back"
        );
        assert_eq!(w.fake().memory_used(B), 0);
    }
    // B's objects still work.
    assert_eq!(w.status(B1, close(bp)), Status::OK);
    assert_eq!(w.s.object_counts(), vcpu_server::ObjectCounts::default());
    w.assert_clean();
}

/// Memory is paid per client (issue 10): a client whose memory cannot hold one more object gets
/// `ZX_ERR_NO_MEMORY` while its limits would still allow it, its neighbour's creations are
/// unaffected, and closing the client's objects gives back exactly what they cost.
#[test]
fn a_client_out_of_memory_fails_alone() {
    let mut w = World::new();
    // A's memory holds one guest and one VCPU, far below its limits.
    let one = common::FakeBackend::GUEST_BYTES + common::FakeBackend::VCPU_BYTES;
    w.fake().give_memory(A, one);
    let (g, vmar) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    assert_eq!(w.fake().memory_used(A), one);
    assert_eq!(w.status(A1, guest_create(w.rsrc, 0)), Status::ERR_NO_MEMORY);
    assert_eq!(
        w.status(t(A, 2), vcpu_create(g, 0, 0)),
        Status::ERR_NO_MEMORY
    );
    assert_eq!(usage(&w, A).guests, 1, "a refused creation charges nothing");
    w.assert_clean();
    // B, given a handle to A's resource, creates in its own memory.
    let rsrc_b = w.handle(A1, common::duplicate(w.rsrc, caps::Rights::SAME_RIGHTS));
    assert_eq!(w.status(A1, send(rsrc_b, B)), Status::OK);
    let Ok(ReplyPayload::Received(received)) = w.reply(B1, Request::HandleReceive) else {
        panic!("B receives the resource");
    };
    let rb = received.handle;
    for _ in 0..Limits::DEFAULT.guests {
        assert!(matches!(
            w.reply(B1, guest_create(rb, 0)),
            Ok(ReplyPayload::GuestCreate(_))
        ));
    }
    assert_eq!(
        w.fake().memory_used(B),
        u64::from(Limits::DEFAULT.guests) * common::FakeBackend::GUEST_BYTES
    );
    w.assert_clean();
    // A's memory comes back exactly as its objects go.
    assert_eq!(w.status(A1, close(v)), Status::OK);
    assert_eq!(w.fake().memory_used(A), common::FakeBackend::GUEST_BYTES);
    assert_eq!(w.status(A1, close(g)), Status::OK);
    assert_eq!(w.status(A1, close(vmar)), Status::OK);
    assert_eq!(w.fake().memory_used(A), 0);
    let (_g, _) = w.guest();
    w.assert_clean();
}

/// A restarted client (issue 10): the new instance is a fresh client (empty table, requests
/// served again), while objects of the old instance that a neighbour still holds stay charged to
/// it, in its limits and its memory, until they go.
#[test]
fn a_restarted_client_starts_fresh_and_pays_for_what_survives() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    // B gets the VMAR: the guest survives A's death.
    assert_eq!(w.status(A1, send(vmar, B)), Status::OK);
    let Ok(ReplyPayload::Received(kept)) = w.reply(B1, Request::HandleReceive) else {
        panic!("B receives the VMAR");
    };
    let (_v, _) = w.vcpu(A1, g, 0);
    assert_eq!(
        w.s.client_restarted(A),
        Err(Status::ERR_BAD_STATE),
        "only a stopped client restarts"
    );
    w.s.client_stopped(A, &[A1.thread]).unwrap();
    assert_eq!(w.status(A1, port_create(0)), Status::ERR_BAD_STATE);
    w.s.client_restarted(A).unwrap();
    w.s.check_invariants().unwrap();
    assert_eq!(
        w.s.free_handles(A),
        Some(usize::from(Limits::DEFAULT.handles)),
        "an empty table"
    );
    assert_eq!(usage(&w, A).guests, 1, "the surviving guest is still A's");
    assert_eq!(usage(&w, A).vcpus, 0);
    assert_eq!(w.fake().memory_used(A), common::FakeBackend::GUEST_BYTES);
    // The new instance is served and gets its initial handle again.
    let rights = caps::ObjType::Resource.default_rights();
    w.rsrc =
        w.s.grant_resource(A, vcpu_protocol::layout::RSRC_KIND_SYSTEM, 0, 1, rights)
            .unwrap();
    let (g2, vmar2) = w.guest();
    assert_eq!(usage(&w, A).guests, 2);
    w.assert_clean();
    for h in [g2, vmar2] {
        assert_eq!(w.status(A1, close(h)), Status::OK);
    }
    assert_eq!(w.status(B1, close(kept.handle)), Status::OK);
    assert_eq!(usage(&w, A), Usage::default());
    assert_eq!(w.fake().memory_used(A), 0, "all of A's memory back");
    w.assert_clean();
}
