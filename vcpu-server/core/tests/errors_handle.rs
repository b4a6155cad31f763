//! Every error of the handle and port calls, and of requests from unknown clients.

mod common;

use caps::{ObjType, Rights};
use common::{
    A, A1, A2, B, B1, C, C1, STRANGER, World, close, duplicate, enter, get_info, guest_create,
    interrupt, kick, port_create, port_wait, read_state, replace, send, set_trap, t, vcpu_create,
    vmar_map, write_state,
};
use vcpu_protocol::layout::{GUEST_TRAP_MEM, INFO_VCPU, TIME_INFINITE};
use vcpu_protocol::message::Request;
use vcpu_protocol::{ReplyPayload, Status};
use vcpu_server::handle::{FIRST_HANDLE, encode};
use vcpu_server::{
    INBOX_CAPACITY, INBOX_PER_SENDER, MAX_HANDLES_PER_CLIENT, MAX_PORT_WAITERS, MAX_PORTS, Outcome,
};

const RECEIVE: Request<'static> = Request::HandleReceive;

#[test]
fn handle_values_are_deterministic() {
    let mut w = World::new();
    assert_eq!(w.rsrc, FIRST_HANDLE);
    let p = w.port(B1);
    assert_eq!(p, FIRST_HANDLE, "B's first handle");
    assert_eq!(w.port(B1), encode(1, 1));
    assert_eq!(w.status(B1, close(p)), Status::OK);
    // The slot is reused with the next generation.
    assert_eq!(w.port(B1), encode(0, 2));
}

#[test]
fn duplicate_errors() {
    let mut w = World::new();
    let p = w.port(A1);
    assert_eq!(
        w.status(A1, duplicate(0, Rights::SAME_RIGHTS)),
        Status::ERR_BAD_HANDLE
    );
    assert_eq!(
        w.status(A1, duplicate(p ^ 4, Rights::SAME_RIGHTS)),
        Status::ERR_BAD_HANDLE
    );
    let nodup = w.handle(A1, duplicate(p, Rights::READ | Rights::WRITE));
    // DUPLICATE is checked before the rights asked for.
    assert_eq!(
        w.status(A1, duplicate(nodup, Rights::ALL)),
        Status::ERR_ACCESS_DENIED
    );
    let pd = ObjType::Port.default_rights();
    assert_eq!(
        w.status(A1, duplicate(p, pd.union(Rights::EXECUTE))),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, duplicate(p, Rights::from_bits(1 << 25))),
        Status::ERR_INVALID_ARGS
    );
    // Zircon compares with SAME_RIGHTS for equality: combined with other bits it is an
    // ordinary request for bit 31, which no handle holds.
    let same = Rights::SAME_RIGHTS.union(Rights::EXECUTE);
    assert_eq!(w.status(A1, duplicate(p, same)), Status::ERR_INVALID_ARGS);
    assert_eq!(w.status(A1, duplicate(p, Rights::SAME_RIGHTS)), Status::OK);
    while w.status(A1, duplicate(p, Rights::NONE)) == Status::OK {}
    assert_eq!(
        w.status(A1, duplicate(p, Rights::NONE)),
        Status::ERR_NO_MEMORY
    );
    assert_eq!(w.s.object_counts().ports, 1);
}

#[test]
fn replace_consumes_the_source_even_on_escalation() {
    let mut w = World::new();
    let p = w.port(A1);
    assert_eq!(
        w.status(A1, replace(0, Rights::NONE)),
        Status::ERR_BAD_HANDLE
    );
    let weak = w.handle(A1, duplicate(p, Rights::READ));
    assert_eq!(
        w.status(A1, replace(weak, Rights::WRITE)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        w.status(A1, close(weak)),
        Status::ERR_BAD_HANDLE,
        "source consumed"
    );
    // Replace needs no right and may keep everything.
    let none = w.handle(A1, duplicate(p, Rights::NONE));
    let again = w.handle(A1, replace(none, Rights::SAME_RIGHTS));
    assert_ne!(again, none);
    assert_eq!(w.status(A1, close(none)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, close(p)), Status::OK);
    assert_eq!(
        w.s.object_counts().ports,
        1,
        "the replacement still holds the port"
    );
    // Replacing the last handle with escalation destroys the object.
    assert_eq!(
        w.status(A1, replace(again, Rights::ALL)),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(w.s.object_counts().ports, 0);
}

#[test]
fn close_errors() {
    let mut w = World::new();
    assert_eq!(w.status(A1, close(0)), Status::OK, "ZX_HANDLE_INVALID");
    assert_eq!(w.status(A1, close(1)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, close(u32::MAX)), Status::ERR_BAD_HANDLE);
    let p = w.port(A1);
    assert_eq!(
        w.status(B1, close(p)),
        Status::ERR_BAD_HANDLE,
        "A's handle, B's table"
    );
    assert_eq!(w.status(A1, close(p)), Status::OK);
    assert_eq!(w.status(A1, close(p)), Status::ERR_BAD_HANDLE);
}

#[test]
fn send_and_receive_errors() {
    let mut w = World::new();
    let p = w.port(A1);
    assert_eq!(w.status(A1, send(0, B)), Status::ERR_BAD_HANDLE);
    let stuck = w.handle(A1, duplicate(p, Rights::READ | Rights::DUPLICATE));
    // TRANSFER is checked before the receiver.
    assert_eq!(
        w.status(A1, send(stuck, STRANGER)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(w.status(A1, send(p, STRANGER)), Status::ERR_NOT_FOUND);
    let too_big = Request::HandleSend(vcpu_protocol::message::HandleSendReq {
        handle: p,
        to_client: 0x1_0002,
    });
    assert_eq!(w.status(A1, too_big), Status::ERR_NOT_FOUND);
    assert_eq!(w.status(B1, RECEIVE), Status::ERR_SHOULD_WAIT);
    for _ in 0..INBOX_PER_SENDER {
        let d = w.handle(A1, duplicate(p, Rights::SAME_RIGHTS));
        assert_eq!(w.status(A1, send(d, B)), Status::OK);
    }
    // A's share of B's inbox is full; C's share is not.
    assert_eq!(w.status(A1, send(p, B)), Status::ERR_SHOULD_WAIT);
    let cp = w.port(C1);
    assert_eq!(w.status(C1, send(cp, B)), Status::OK);
    assert_eq!(w.status(A1, close(p)), Status::OK, "the sender kept it");
    // Fill B's table; receiving then fails and the handle stays in the inbox.
    let bp = w.port(B1);
    while w.status(B1, duplicate(bp, Rights::SAME_RIGHTS)) == Status::OK {}
    assert_eq!(w.status(B1, RECEIVE), Status::ERR_NO_MEMORY);
    assert_eq!(w.status(B1, close(FIRST_HANDLE)), Status::OK);
    match w.ok(B1, RECEIVE) {
        ReplyPayload::Received(r) => {
            assert_eq!(r.handle, encode(0, 2));
            assert_eq!(r.obj_type, ObjType::Port as u32);
            assert_eq!(r.rights, ObjType::Port.default_rights().bits());
            assert_eq!(r.from_client, u32::from(A.0));
        }
        other => panic!("{other:?}"),
    }
    // In-flight handles keep their object alive.
    assert_eq!(w.s.object_counts().ports, 3);
    let _ = INBOX_CAPACITY;
}

#[test]
fn sends_need_a_declared_grant_and_reveal_nothing_else() {
    let mut w = World::new();
    let d = vcpu_server::ClientId(40);
    w.s.add_client(d).unwrap();
    // A may send to B (declared); D may send to nobody but itself.
    let p = w.port(t(d, 400));
    assert_eq!(w.status(t(d, 400), send(p, A)), Status::ERR_NOT_FOUND);
    assert_eq!(
        w.status(t(d, 400), send(p, STRANGER)),
        Status::ERR_NOT_FOUND,
        "an unauthorised and an unknown receiver look the same"
    );
    assert_eq!(w.status(t(d, 400), send(p, d)), Status::OK, "to itself");
    w.s.allow_send(d, A).unwrap();
    let q = w.port(t(d, 400));
    assert_eq!(w.status(t(d, 400), send(q, A)), Status::OK);
    assert_eq!(
        w.s.allow_send(d, STRANGER),
        Err(Status::ERR_NOT_FOUND),
        "grants name known clients"
    );
    w.s.check_invariants().unwrap();
}

#[test]
fn port_errors() {
    let mut w = World::new();
    assert_eq!(w.status(A1, port_create(1)), Status::ERR_INVALID_ARGS);
    let p = w.port(A1);
    let (g, _) = w.guest();
    assert_eq!(w.status(A1, port_wait(0, 0)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, port_wait(g, 0)), Status::ERR_WRONG_TYPE);
    let wo = w.handle(A1, duplicate(p, Rights::WRITE));
    assert_eq!(
        w.status(A1, port_wait(wo, TIME_INFINITE)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(w.status(A1, port_wait(p, 0)), Status::ERR_TIMED_OUT);
    assert_eq!(
        w.status(A1, port_wait(p, TIME_INFINITE - 1)),
        Status::ERR_TIMED_OUT
    );
    assert_eq!(w.status(A1, port_wait(p, -1)), Status::ERR_TIMED_OUT);
    for i in 0..MAX_PORT_WAITERS as u16 {
        let r = w.call(t(A, 50 + i), port_wait(p, TIME_INFINITE));
        assert_eq!(r.outcome, Outcome::Deferred);
    }
    assert_eq!(
        w.status(A2, port_wait(p, TIME_INFINITE)),
        Status::ERR_NO_RESOURCES
    );
    let limit = w.limit(C, vcpu_server::Kind::Port);
    while usize::from(w.s.quota(C).unwrap().1.ports) < limit {
        w.port(C1);
    }
    assert_eq!(w.status(C1, port_create(0)), Status::ERR_NO_MEMORY);
    // C's exhaustion is C's alone: B still has its own ports.
    w.port(B1);
    assert!(w.s.object_counts().ports <= MAX_PORTS);
}

#[test]
fn unknown_clients_hold_nothing() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    let s = t(STRANGER, 900);
    let h = FIRST_HANDLE;
    let bytes = [0u8; 264];
    let cases: Vec<(Request<'_>, Status)> = vec![
        (guest_create(h, 0), Status::ERR_BAD_HANDLE),
        (
            set_trap(g, GUEST_TRAP_MEM, 0, 4096, 0, 0),
            Status::ERR_BAD_HANDLE,
        ),
        (vcpu_create(g, 0, 0), Status::ERR_BAD_HANDLE),
        (vcpu_create(g, 1, 0), Status::ERR_INVALID_ARGS),
        (enter(v), Status::ERR_BAD_HANDLE),
        (kick(v), Status::ERR_BAD_HANDLE),
        (interrupt(v, 1), Status::ERR_BAD_HANDLE),
        (read_state(v), Status::ERR_BAD_HANDLE),
        (write_state(v, &bytes), Status::ERR_BAD_HANDLE),
        (get_info(v, INFO_VCPU, 4), Status::ERR_BAD_HANDLE),
        (duplicate(h, Rights::SAME_RIGHTS), Status::ERR_BAD_HANDLE),
        (replace(h, Rights::SAME_RIGHTS), Status::ERR_BAD_HANDLE),
        (close(h), Status::ERR_BAD_HANDLE),
        (close(0), Status::OK),
        (send(h, A), Status::ERR_BAD_HANDLE),
        (RECEIVE, Status::ERR_SHOULD_WAIT),
        (port_create(0), Status::ERR_NO_MEMORY),
        (port_create(1), Status::ERR_INVALID_ARGS),
        (port_wait(h, TIME_INFINITE), Status::ERR_BAD_HANDLE),
        (vmar_map(vmar, 0, 0, 0), Status::ERR_BAD_HANDLE),
    ];
    for (req, want) in cases {
        assert_eq!(w.status(s, req), want, "{req:?}");
    }
    assert_eq!(w.s.object_counts().ports, 0);
    // Sending to an unknown client, and setup calls for one.
    let p = w.port(A1);
    assert_eq!(w.status(A1, send(p, STRANGER)), Status::ERR_NOT_FOUND);
    let r = w.s.grant_resource(STRANGER, 5, 0, 1, Rights::NONE);
    assert_eq!(r, Err(Status::ERR_NOT_FOUND));
    assert_eq!(w.s.add_client(A), Err(Status::ERR_ALREADY_EXISTS));
}

#[test]
fn grant_resource_rules() {
    let mut w = World::new();
    let too_much = ObjType::Resource.default_rights().union(Rights::EXECUTE);
    assert_eq!(
        w.s.grant_resource(B, 5, 0, 1, too_much),
        Err(Status::ERR_INVALID_ARGS)
    );
    assert_eq!(
        w.s.grant_resource(B, 5, 0, 1, Rights::TRANSFER),
        Ok(FIRST_HANDLE)
    );
    // B's resource has no DUPLICATE.
    assert_eq!(
        w.status(B1, duplicate(FIRST_HANDLE, Rights::NONE)),
        Status::ERR_ACCESS_DENIED
    );
    // Resource table capacity (A already holds one, B one).
    let mut granted = 2;
    while w.s.grant_resource(C1.client, 5, 0, 1, Rights::NONE).is_ok() {
        granted += 1;
    }
    assert_eq!(granted, vcpu_server::MAX_RESOURCES);
    assert_eq!(
        w.s.grant_resource(A, 5, 0, 1, Rights::NONE),
        Err(Status::ERR_NO_MEMORY)
    );
    // Handle table capacity.
    let full = ObjType::Resource.default_rights();
    assert_eq!(w.status(A1, close(w.rsrc)), Status::OK);
    let r = w.s.grant_resource(A, 5, 0, 1, full).unwrap();
    while w.status(A1, duplicate(r, Rights::SAME_RIGHTS)) == Status::OK {}
    assert_eq!(
        w.s.grant_resource(A, 5, 0, 1, Rights::NONE),
        Err(Status::ERR_NO_MEMORY)
    );
    let _ = MAX_HANDLES_PER_CLIENT;
    w.s.check_invariants().unwrap();
}

#[test]
fn clients_are_bounded() {
    let mut w = World::new();
    // Default limits: eight clients share the server's capacity; a ninth does not fit.
    let mut id = 100;
    while w.s.add_client(vcpu_server::ClientId(id)).is_ok() {
        id += 1;
    }
    assert_eq!(id - 100, 5);
    assert_eq!(
        w.s.add_client(vcpu_server::ClientId(id)),
        Err(Status::ERR_NO_RESOURCES)
    );
    // Clients that may create nothing fit up to MAX_CLIENTS.
    let nothing = vcpu_server::Limits {
        handles: 1,
        guests: 0,
        vcpus: 0,
        ports: 0,
        traps: 0,
        mappings: 0,
    };
    while w
        .s
        .add_client_with(vcpu_server::ClientId(id), nothing)
        .is_ok()
    {
        id += 1;
    }
    assert_eq!(id - 100, (vcpu_server::MAX_CLIENTS - 3) as u16);
    assert_eq!(
        w.s.add_client_with(vcpu_server::ClientId(id), nothing),
        Err(Status::ERR_NO_MEMORY)
    );
    w.s.check_invariants().unwrap();
}
