//! Multi-client model scenarios: isolation, stale and forged handles, thread affinity, kicks,
//! interrupts, handle transfer and object lifetimes.

mod common;

use caps::{ObjType, Rights};
use common::{
    A, A1, A2, B, B1, C1, Call, FakeRun, World, close, duplicate, enter, interrupt, kick,
    read_state, send, t, vcpu_create,
};
use vcpu_protocol::message::Request;
use vcpu_protocol::{ReplyPayload, Status};
use vcpu_server::exit::GuestExit;
use vcpu_server::handle::{FIRST_HANDLE, encode};
use vcpu_server::{Completion, Outcome, Resume};

#[test]
fn clients_cannot_use_each_others_handles() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    // B's first handle has the same value as A's first, but names B's own object.
    let bp = w.port(B1);
    assert_eq!(bp, FIRST_HANDLE);
    assert_eq!(w.status(B1, kick(v)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(B1, interrupt(v, 1)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(B1, close(v)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(B1, vcpu_create(g, 0, 0)), Status::ERR_BAD_HANDLE);
    // B's value FIRST_HANDLE is its port, not A's resource.
    assert_eq!(
        w.status(B1, common::guest_create(FIRST_HANDLE, 0)),
        Status::ERR_WRONG_TYPE
    );
    assert_eq!(w.s.object_counts().vcpus, 1);
}

#[test]
fn stale_and_forged_values_are_bad_handles() {
    let mut w = World::new();
    let p = w.port(A1);
    let d = w.handle(A1, duplicate(p, Rights::SAME_RIGHTS));
    assert_eq!(w.status(A1, close(d)), Status::OK);
    // The slot is reused with a new generation: the old value stays dead.
    let d2 = w.handle(A1, duplicate(p, Rights::SAME_RIGHTS));
    assert_ne!(d, d2);
    assert_eq!(d & 0x3_FFFF, 0x7, "generation 1");
    assert_eq!(w.status(A1, kick(d)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, close(d)), Status::ERR_BAD_HANDLE);
    assert_eq!(
        w.status(A1, common::port_wait(d2, 0)),
        Status::ERR_TIMED_OUT
    );
    for forged in [
        p & !1,
        p & !2,
        p ^ (1 << 2),
        p ^ (1 << 19),
        encode(63, 1),
        encode(64, 1),
        encode(16383, 1),
        u32::MAX,
        3,
    ] {
        assert_eq!(
            w.status(A1, common::port_wait(forged, 0)),
            Status::ERR_BAD_HANDLE,
            "{forged:#x}"
        );
    }
}

#[test]
fn only_the_creating_thread_enters_and_reads_state() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0x8000);
    assert_eq!(w.status(A2, enter(v)), Status::ERR_BAD_STATE);
    assert_eq!(w.status(A2, read_state(v)), Status::ERR_BAD_STATE);
    // Sent to B, the VCPU still belongs to A1's thread.
    let d = w.handle(A1, duplicate(v, Rights::SAME_RIGHTS));
    assert_eq!(w.status(A1, send(d, B)), Status::OK);
    let got = match w.ok(B1, Request::HandleReceive) {
        ReplyPayload::Received(r) => r.handle,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.status(B1, enter(got)), Status::ERR_BAD_STATE);
    assert_eq!(w.status(B1, read_state(got)), Status::ERR_BAD_STATE);
    assert_eq!(w.status(B1, kick(got)), Status::OK);
    assert_eq!(w.status(B1, interrupt(got, 33)), Status::OK);
    assert_eq!(w.status(A1, enter(v)), Status::ERR_CANCELED);
    w.enter_deferred(A1, v);
}

#[test]
fn handle_send_requires_transfer_and_moves() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    let no_transfer = ObjType::Vcpu.default_rights().difference(Rights::TRANSFER);
    let stuck = w.handle(A1, duplicate(v, no_transfer));
    assert_eq!(w.status(A1, send(stuck, B)), Status::ERR_ACCESS_DENIED);
    assert_eq!(w.status(A1, kick(stuck)), Status::OK, "still A's");
    assert_eq!(w.status(A1, send(v, C1.client)), Status::OK);
    assert_eq!(w.status(A1, kick(v)), Status::ERR_BAD_HANDLE, "moved away");
    let got = match w.ok(C1, Request::HandleReceive) {
        ReplyPayload::Received(r) => {
            assert_eq!(r.rights, ObjType::Vcpu.default_rights().bits());
            r.handle
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(w.status(C1, kick(got)), Status::OK);
    assert_eq!(
        w.status(C1, Request::HandleReceive),
        Status::ERR_SHOULD_WAIT
    );
}

#[test]
fn kick_before_enter_is_reported_once() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    assert_eq!(w.status(A2, kick(v)), Status::OK);
    assert_eq!(w.status(B1, kick(v)), Status::ERR_BAD_HANDLE);
    assert_eq!(w.status(A1, enter(v)), Status::ERR_CANCELED);
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::NotStarted);
    w.enter_deferred(A1, v);
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
}

#[test]
fn kick_during_enter_from_another_thread_and_client() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    let d = w.handle(A1, duplicate(v, Rights::SAME_RIGHTS));
    assert_eq!(w.status(A1, send(d, B)), Status::OK);
    let bv = match w.ok(B1, Request::HandleReceive) {
        ReplyPayload::Received(r) => r.handle,
        other => panic!("{other:?}"),
    };
    for kicker in [(A2, v), (B1, bv)] {
        w.enter_deferred(A1, v);
        let r = w.call(kicker.0, kick(kicker.1));
        assert_eq!(r.outcome, Outcome::Reply(Ok(ReplyPayload::Empty)));
        let c = r.completions.as_slice();
        assert_eq!(
            c,
            [Completion {
                thread: A1.thread,
                reply: Err(Status::ERR_CANCELED)
            }]
        );
        assert_eq!(w.fake().calls.last(), Some(&Call::Stop(id)));
        // A second kick does not complete again; it is pending for the next enter.
        let r = w.call(kicker.0, kick(kicker.1));
        assert!(r.completions.is_empty());
        assert_eq!(w.status(A1, enter(v)), Status::ERR_CANCELED);
    }
    w.enter_deferred(A1, v);
    assert_eq!(
        w.fake().calls.last(),
        Some(&Call::Resume(id, Resume::Restart))
    );
    w.assert_clean();
}

#[test]
fn an_exit_packet_is_delivered_before_a_kick() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    w.mem_trap(g, 0x9000_0000, 5);
    w.enter_deferred(A1, v);
    let esr = common::dabt_esr(true, 4, false, 1, true);
    let reply = w.exit_completes(id, common::dabt(0x9000_0000, esr), A1);
    assert_eq!(common::packet(reply).key, 5);
    let r = w.call(A2, kick(v));
    assert!(r.completions.is_empty(), "no enter is pending");
    assert_eq!(w.status(A1, enter(v)), Status::ERR_CANCELED);
}

#[test]
fn interrupts_while_running_and_while_waiting() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    w.enter_deferred(A1, v);
    // Running: injected into a free LR at once (one core: the guest is not on the CPU).
    let n = w.fake().calls.len();
    assert_eq!(w.status(B1.with_client(A), interrupt(v, 40)), Status::OK);
    assert_eq!(
        w.fake().calls_since(n),
        [Call::Inject {
            vcpu: id,
            lr: 0,
            vector: 40,
            priority: 2,
            group: 0
        }]
    );
    // WFI with an interrupt in an LR resumes at once.
    w.exit_resumes(id, GuestExit::Wfi);
    w.maintenance(id, 0);
    // Nothing pending: WFI waits without an answer to the guest.
    let n = w.fake().calls.len();
    let c = w.exit(id, GuestExit::Wfi);
    assert!(c.is_empty());
    // The server keeps the VCPU stopped, so it checks that the guest really waits.
    assert_eq!(
        w.fake().calls_since(n),
        [Call::TakeFault(id), Call::CallerWaiting(id)]
    );
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::AtFault);
    // An interrupt from another client's thread wakes it.
    let n = w.fake().calls.len();
    assert_eq!(w.status(A2, interrupt(v, 3)), Status::OK);
    assert_eq!(
        w.fake().calls_since(n),
        [
            Call::Inject {
                vcpu: id,
                lr: 0,
                vector: 3,
                priority: 0,
                group: 0
            },
            Call::Resume(id, Resume::Fault)
        ]
    );
    w.assert_clean();
}

trait WithClient {
    fn with_client(self, c: vcpu_server::ClientId) -> vcpu_server::Sender;
}
impl WithClient for vcpu_server::Sender {
    fn with_client(self, client: vcpu_server::ClientId) -> vcpu_server::Sender {
        vcpu_server::Sender { client, ..self }
    }
}

#[test]
fn kick_wakes_a_wfi_wait() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    w.enter_deferred(A1, v);
    assert!(w.exit(id, GuestExit::Wfi).is_empty());
    let r = w.call(A2, kick(v));
    let c = r.completions.as_slice();
    assert_eq!(
        c,
        [Completion {
            thread: A1.thread,
            reply: Err(Status::ERR_CANCELED)
        }]
    );
    assert!(!w.fake().calls.contains(&Call::Stop(id)), "nothing to stop");
    // pc moved past the WFI; the next enter answers the fault.
    assert_eq!(w.fake().vcpus[id as usize].regs.pc, 4);
    w.enter_deferred(A1, v);
    assert_eq!(
        w.fake().calls.last(),
        Some(&Call::Resume(id, Resume::Fault))
    );
    w.assert_clean();
}

#[test]
fn closing_the_last_vcpu_handle_cancels_enter_and_frees_the_thread() {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    let d = w.handle(A1, duplicate(v, Rights::SAME_RIGHTS));
    w.enter_deferred(A1, v);
    // Not the last handle: nothing happens to the enter.
    let r = w.call(A2, close(d));
    assert!(r.completions.is_empty());
    // Close the guest and VMAR handles too: the VCPU keeps the guest alive.
    assert_eq!(w.status(A2, close(g)), Status::OK);
    assert_eq!(w.status(A2, close(vmar)), Status::OK);
    assert_eq!(w.s.object_counts().guests, 1);
    let r = w.call(A2, close(v));
    let c = r.completions.as_slice();
    assert_eq!(
        c,
        [Completion {
            thread: A1.thread,
            reply: Err(Status::ERR_CANCELED)
        }]
    );
    assert_eq!(w.s.object_counts().vcpus, 0);
    assert_eq!(w.s.object_counts().guests, 0);
    assert!(
        w.fake()
            .calls
            .ends_with(&[Call::DestroyVcpu(id), Call::DestroyGuest(1)])
    );
    // A late fault from the destroyed VCPU is ignored.
    let key = w.fake().vcpus[id as usize].key;
    let n = w.fake().calls.len();
    let c =
        w.s.handle_guest_exit(key.slot, key.generation, GuestExit::Wfe);
    assert!(c.is_empty());
    assert_eq!(w.fake().calls.len(), n);
    // The thread may create a VCPU again.
    let (g2, _) = w.guest();
    w.vcpu(A1, g2, 0);
    w.assert_clean();
}

#[test]
fn a_new_call_under_a_pending_badge_cancels_the_old_call() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    w.enter_deferred(A1, v);
    // A request under A1's badge while its enter is pending: A1 was restarted, or a sibling
    // thread used A1's badge. The guest is stopped and the old enter ends with CANCELED
    // (sent before the new reply, on the old reply capability), never silently.
    let r = w.call(A1, read_state(v));
    assert!(matches!(
        r.outcome,
        Outcome::Reply(Ok(ReplyPayload::State(_)))
    ));
    assert_eq!(
        r.completions.as_slice(),
        [vcpu_server::Completion {
            thread: A1.thread,
            reply: Err(Status::ERR_CANCELED)
        }]
    );
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Stopped);
    // Restarting the enter resumes the guest.
    w.enter_deferred(A1, v);
    let r = w.call(A1, common::enter(v));
    assert_eq!(r.outcome, Outcome::Deferred);
    assert_eq!(r.completions.len(), 1, "the first enter was cancelled");
    assert_eq!(
        w.fake().calls.last(),
        Some(&Call::Resume(id, Resume::Restart))
    );
    // The transport can drop it explicitly too.
    w.s.abandon(A1.thread);
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Stopped);
    let r = w.call(A2, kick(v));
    assert!(r.completions.is_empty(), "no enter to complete");
    w.assert_clean();
}

#[test]
fn a_new_call_under_a_waiting_badge_cancels_the_wait() {
    let mut w = World::new();
    let p = w.port(A1);
    assert_eq!(w.wait(A2, p).outcome, Outcome::Deferred);
    let r = w.call(A2, kick(0x7));
    assert_eq!(
        r.completions.as_slice(),
        [vcpu_server::Completion {
            thread: A2.thread,
            reply: Err(Status::ERR_CANCELED)
        }]
    );
    // The wait is gone: a doorbell-free close completes nobody.
    let r = w.call(A1, common::close(p));
    assert!(r.completions.is_empty());
    w.assert_clean();
}

#[test]
fn port_wait_is_completed_by_a_doorbell_and_cancelled_by_the_last_close() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    let p = w.port(A2);
    w.bell_trap(g, 0x7000_0000, p, 9);
    let r = w.wait(A2, p);
    assert_eq!(r.outcome, Outcome::Deferred);
    w.enter_deferred(A1, v);
    let c = w.exit(
        id,
        common::dabt(0x7000_0008, common::dabt_esr(true, 4, false, 0, true)),
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c.as_slice()[0].thread, A2.thread);
    let pk = common::packet(c.as_slice()[0].reply);
    assert_eq!((pk.key, pk.packet_type), (9, 0x03));
    assert_eq!(common::bell_of(&pk).addr, 0x7000_0008);
    assert_eq!(
        w.fake().vcpus[id as usize].run,
        FakeRun::Running,
        "BELL does not stop the guest"
    );
    // Two waiters, then the last port handle closes.
    assert_eq!(w.wait(t(A, 60), p).outcome, Outcome::Deferred);
    assert_eq!(w.wait(t(A, 61), p).outcome, Outcome::Deferred);
    let r = w.call(A2, close(p));
    let threads: Vec<_> = r.completions.iter().map(|c| (c.thread, c.reply)).collect();
    assert_eq!(
        threads,
        [
            (t(A, 60).thread, Err(Status::ERR_CANCELED)),
            (t(A, 61).thread, Err(Status::ERR_CANCELED))
        ]
    );
    // The trap keeps the port object, but a doorbell now fails the enter.
    assert_eq!(w.s.object_counts().ports, 1);
    let reply = w.exit_completes(
        id,
        common::dabt(0x7000_0000, common::dabt_esr(true, 4, false, 0, true)),
        A1,
    );
    assert_eq!(reply, Err(Status::ERR_BAD_STATE));
    // Destroying the guest drops the trap and with it the port.
    assert_eq!(w.status(A1, close(v)), Status::OK);
    assert_eq!(w.status(A1, close(g)), Status::OK);
    let vmar = encode(2, 1);
    assert_eq!(w.status(A1, close(vmar)), Status::OK);
    assert_eq!(
        w.s.object_counts(),
        vcpu_server::ObjectCounts {
            resources: 1,
            ..Default::default()
        }
    );
    w.assert_clean();
}

#[test]
fn an_exit_after_a_failed_stop_is_held_for_the_next_enter() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0);
    w.enter_deferred(A1, v);
    w.fake().fail(common::Op::Stop, Status::ERR_INTERNAL);
    let r = w.call(A2, kick(v));
    let c = r.completions.as_slice();
    assert_eq!(
        c,
        [Completion {
            thread: A1.thread,
            reply: Err(Status::ERR_CANCELED)
        }]
    );
    w.fake().heal(common::Op::Stop);
    // The guest ran on and faults: nothing is completed, pc untouched, the VPPI is recorded.
    let pc = w.fake().vcpus[id as usize].regs.pc;
    assert!(w.exit(id, GuestExit::Vppi { irq: 27 }).is_empty());
    assert_eq!(w.fake().vcpus[id as usize].regs.pc, pc);
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::AtFault);
    // The next enter answers the held fault (and injects the timer first).
    w.enter_deferred(A1, v);
    let n = w.fake().calls.len();
    assert!(matches!(
        w.fake().calls[n - 2],
        Call::Inject { vector: 27, .. }
    ));
    assert_eq!(w.fake().calls[n - 1], Call::Resume(id, Resume::Fault));
    w.assert_clean();
}

#[test]
fn server_state_fits_a_static() {
    let size = std::mem::size_of::<vcpu_server::Server<common::FakeBackend>>();
    eprintln!("Server<FakeBackend> is {size} bytes");
    assert!(size < 512 * 1024, "{size}");
}
