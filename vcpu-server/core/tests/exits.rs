//! Guest-exit translation: MEM and BELL traps, aborts, PSCI, WFx, HVC, system registers, the
//! virtual GIC (refill, VPPI), and the register state calls around them.

mod common;

use common::{
    A1, A2, Call, FakeRun, Op, PAGE, RW_SPECIFIC, World, dabt, dabt_esr, enter, kick, mem_of,
    packet, vcpu_of, vmar_map, write_state,
};
use vcpu_protocol::layout::{PKT_TYPE_GUEST_MEM, PKT_TYPE_GUEST_VCPU, VcpuState};
use vcpu_protocol::{HandleValue, Status};
use vcpu_server::exit::{GuestExit, decode_hsr};
use vcpu_server::{BELL_PACKETS_PER_TRAP, Resume};
use zerocopy::IntoBytes;

const MMIO: u64 = 0x9000_0000;

/// A world with one guest, a VCPU of A1 in `vcpu_enter`, and a MEM trap at `MMIO` (key 7).
fn running() -> (World, HandleValue, HandleValue, u32) {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0x4000);
    w.mem_trap(g, MMIO, 7);
    w.enter_deferred(A1, v);
    (w, g, v, id)
}

fn set_x(w: &mut World, id: u32, i: usize, value: u64) {
    w.fake().vcpus[id as usize].regs.x[i] = value;
}

fn pc(w: &mut World, id: u32) -> u64 {
    w.fake().vcpus[id as usize].regs.pc
}

#[test]
fn mem_writes_of_every_size() {
    let (mut w, _, v, id) = running();
    for (n, size) in [1u8, 2, 4, 8].into_iter().enumerate() {
        set_x(&mut w, id, 3, 0x1122_3344_5566_7788);
        let before = pc(&mut w, id);
        let exit = dabt(MMIO + 0x10 + n as u64, dabt_esr(true, size, false, 3, true));
        let p = packet(w.exit_completes(id, exit, A1));
        assert_eq!((p.key, p.packet_type, p.status), (7, PKT_TYPE_GUEST_MEM, 0));
        let m = mem_of(&p);
        assert_eq!(m.addr, MMIO + 0x10 + n as u64, "exact IPA");
        assert_eq!(m.access_size, size);
        assert_eq!((m.xt, m.read, m.sign_extend), (3, 0, 0));
        let mask = if size == 8 {
            u64::MAX
        } else {
            (1 << (8 * size)) - 1
        };
        assert_eq!(m.data, 0x1122_3344_5566_7788 & mask);
        assert_eq!(pc(&mut w, id), before + 4, "pc advanced first");
        w.enter_deferred(A1, v);
        assert_eq!(
            w.fake().calls.last(),
            Some(&Call::Resume(id, Resume::Fault))
        );
    }
    w.assert_clean();
}

#[test]
fn mem_reads_sign_extension_and_xzr() {
    let (mut w, _, v, id) = running();
    set_x(&mut w, id, 5, 0xFFFF);
    let p = packet(w.exit_completes(id, dabt(MMIO, dabt_esr(true, 2, true, 5, false)), A1));
    let m = mem_of(&p);
    assert_eq!(
        (m.read, m.sign_extend, m.xt, m.access_size, m.data),
        (1, 1, 5, 2, 0)
    );
    // The VMM completes the load with write_state before the next enter.
    let mut st = w.state(A1, v);
    st.x[5] = 0xFFFF_FFFF_FFFF_FF80;
    assert_eq!(w.status(A1, write_state(v, st.as_bytes())), Status::OK);
    w.enter_deferred(A1, v);
    assert_eq!(w.fake().vcpus[id as usize].regs.x[5], 0xFFFF_FFFF_FFFF_FF80);
    // A store of XZR carries 0 whatever x31 would be.
    let p = packet(w.exit_completes(id, dabt(MMIO, dabt_esr(true, 8, false, 31, true)), A1));
    assert_eq!((mem_of(&p).xt, mem_of(&p).data), (31, 0));
    w.enter_deferred(A1, v);
    // Without ISV: IO_DATA_INTEGRITY, pc already advanced.
    let before = pc(&mut w, id);
    let r = w.exit_completes(id, dabt(MMIO, dabt_esr(false, 4, false, 1, true)), A1);
    assert_eq!(r, Err(Status::ERR_IO_DATA_INTEGRITY));
    assert_eq!(pc(&mut w, id), before + 4);
}

#[test]
fn aborts_outside_traps() {
    let (mut w, _, v, id) = running();
    let vmar = vcpu_server::handle::encode(2, 1);
    let f = w.fake().new_frame(PAGE);
    let r = w.call_frame(A1, vmar_map(vmar, RW_SPECIFIC, 0x4000_0000, PAGE), f);
    assert!(matches!(r.outcome, vcpu_server::Outcome::Reply(Ok(_))));
    // The enter was abandoned by the vmar_map from A1: enter again.
    w.enter_deferred(A1, v);
    let before = pc(&mut w, id);
    let r = w.exit_completes(id, dabt(0x5000_0000, dabt_esr(true, 4, false, 0, true)), A1);
    assert_eq!(r, Err(Status::ERR_NOT_FOUND));
    assert_eq!(pc(&mut w, id), before, "retried by the next enter");
    w.enter_deferred(A1, v);
    let r = w.exit_completes(id, dabt(0x4000_0010, dabt_esr(true, 4, false, 0, true)), A1);
    assert_eq!(r, Err(Status::ERR_ACCESS_DENIED));
    w.enter_deferred(A1, v);
    let fetch = GuestExit::MemAbort {
        ip: MMIO,
        addr: MMIO,
        instruction: true,
        esr: 0x8200_0006,
    };
    assert_eq!(w.exit_completes(id, fetch, A1), Err(Status::ERR_NOT_FOUND));
    assert_eq!(pc(&mut w, id), before);
}

#[test]
fn bell_traps_queue_and_apply_back_pressure() {
    let (mut w, g, v, id) = running();
    let port = w.port(A2);
    w.bell_trap(g, 0xA000_0000, port, 3);
    let write = |addr| dabt(addr, dabt_esr(true, 4, false, 2, true));
    // Reads are NOT_SUPPORTED (pc advanced).
    let before = pc(&mut w, id);
    let r = w.exit_completes(
        id,
        dabt(0xA000_0000, dabt_esr(true, 4, false, 2, false)),
        A1,
    );
    assert_eq!(r, Err(Status::ERR_NOT_SUPPORTED));
    assert_eq!(pc(&mut w, id), before + 4);
    w.enter_deferred(A1, v);
    for i in 0..BELL_PACKETS_PER_TRAP as u64 {
        w.exit_resumes(id, write(0xA000_0000 + i));
    }
    // Pool exhausted: the VCPU waits unanswered; a kick does not wake it.
    let c = w.exit(id, write(0xA000_0FFC));
    assert!(c.is_empty());
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::AtFault);
    assert!(w.call(A2, kick(v)).completions.is_empty());
    // Draining one packet delivers the blocked doorbell; the kick is then reported.
    let r = w.call(A2, common::port_wait(port, 0));
    let first = packet(match r.outcome {
        vcpu_server::Outcome::Reply(x) => x,
        vcpu_server::Outcome::Deferred => panic!(),
    });
    assert_eq!(common::bell_of(&first).addr, 0xA000_0000);
    let c = r.completions.as_slice();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].thread, c[0].reply),
        (A1.thread, Err(Status::ERR_CANCELED))
    );
    // The rest come out in order, the blocked one last.
    let mut addrs = vec![];
    while let Ok(p) = w.reply(A2, common::port_wait(port, 0)) {
        addrs.push(common::bell_of(&packet(Ok(p))).addr);
    }
    assert_eq!(addrs.len(), BELL_PACKETS_PER_TRAP);
    assert_eq!(addrs[0], 0xA000_0001);
    assert_eq!(*addrs.last().unwrap(), 0xA000_0FFC);
    w.assert_clean();
}

#[test]
fn bell_back_pressure_resumes_the_guest_when_not_kicked() {
    let (mut w, g, v, id) = running();
    let port = w.port(A2);
    w.bell_trap(g, 0xA000_0000, port, 3);
    let write = dabt(0xA000_0000, dabt_esr(true, 4, false, 2, true));
    for _ in 0..BELL_PACKETS_PER_TRAP {
        w.exit_resumes(id, write);
    }
    assert!(w.exit(id, write).is_empty());
    let r = w.call(A2, common::port_wait(port, 0));
    assert!(r.completions.is_empty());
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
    let _ = v;
    w.assert_clean();
}

/// Runs an SMC with x0 = `function`, x1, x2 and returns the completion (None if resumed).
fn smc(w: &mut World, id: u32, imm: u16, function: u64) -> Option<vcpu_protocol::Reply> {
    set_x(w, id, 0, function);
    set_x(w, id, 1, 0x8000_0001);
    set_x(w, id, 2, 0x4008_0000);
    let before = pc(w, id);
    let c = w.exit(id, GuestExit::Smc { imm });
    assert_eq!(pc(w, id), before + 4);
    match c.as_slice() {
        [] => None,
        [one] => Some(one.reply),
        more => panic!("{more:?}"),
    }
}

#[test]
fn psci_calls() {
    let (mut w, _, v, id) = running();
    assert_eq!(smc(&mut w, id, 0, 0x8400_0000), None);
    assert_eq!(w.fake().vcpus[id as usize].regs.x[0], 2);
    for other in [0x8400_0001, 0x8400_000A, 0x8400_0003, 0xC400_0001] {
        assert_eq!(smc(&mut w, id, 0, other), None);
        assert_eq!(w.fake().vcpus[id as usize].regs.x[0], u64::MAX);
    }
    assert_eq!(smc(&mut w, id, 1, 0x8400_0000), None, "imm != 0");
    assert_eq!(w.fake().vcpus[id as usize].regs.x[0], u64::MAX);
    let p = packet(smc(&mut w, id, 0, 0xC400_0003).unwrap());
    assert_eq!((p.packet_type, p.key), (PKT_TYPE_GUEST_VCPU, 0));
    let s = vcpu_of(&p);
    assert_eq!(
        (s.vcpu_type, s.word0, s.word1),
        (1, 0x8000_0001, 0x4008_0000)
    );
    assert_eq!(w.fake().vcpus[id as usize].regs.x[0], 0, "PSCI_SUCCESS");
    for (f, status) in [
        (0x8400_0002, Status::ERR_STOP),
        (0x8400_0008, Status::ERR_UNAVAILABLE),
        (0x8400_0009, Status::ERR_CANCELED),
    ] {
        w.enter_deferred(A1, v);
        assert_eq!(smc(&mut w, id, 0, f), Some(Err(status)));
    }
    w.assert_clean();
}

#[test]
fn wfe_wfi_and_the_virtual_timer() {
    let (mut w, _, v, id) = running();
    let before = pc(&mut w, id);
    w.exit_resumes(id, GuestExit::Wfe);
    assert_eq!(pc(&mut w, id), before + 4);
    // Timer enabled and unmasked: resume (no clock in the server).
    w.fake().vcpus[id as usize].cntv_ctl = 0b01;
    w.exit_resumes(id, GuestExit::Wfi);
    // Masked or disabled: wait.
    for ctl in [0b11, 0b00, 0b10] {
        w.fake().vcpus[id as usize].cntv_ctl = ctl;
        assert!(w.exit(id, GuestExit::Wfi).is_empty());
        assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::AtFault);
        assert_eq!(w.status(A2, common::interrupt(v, 50)), Status::OK);
        assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
        w.maintenance(id, 0);
    }
    assert_eq!(pc(&mut w, id), before + 20);
    w.assert_clean();
}

#[test]
fn list_registers_refill_lowest_first() {
    let (mut w, _, v, id) = running();
    for vector in [200, 40, 7, 33, 31] {
        assert_eq!(w.status(A2, common::interrupt(v, vector)), Status::OK);
    }
    let lrs: Vec<_> = w.fake().vcpus[id as usize].lrs.to_vec();
    assert_eq!(
        lrs,
        [
            Some((200, 2, 0)),
            Some((40, 2, 0)),
            Some((7, 0, 0)),
            Some((33, 2, 0))
        ]
    );
    // 31 is pending; EOI of LR 1 refills it with 31 (lowest pending).
    assert!(w.maintenance(id, 1).is_empty());
    assert_eq!(w.fake().vcpus[id as usize].lrs[1], Some((31, 0, 0)));
    // Raising a vector that sits in an LR re-delivers it after its EOI.
    assert_eq!(w.status(A2, common::interrupt(v, 7)), Status::OK);
    w.maintenance(id, 0);
    assert_eq!(w.fake().vcpus[id as usize].lrs[0], None);
    w.maintenance(id, 2);
    assert_eq!(w.fake().vcpus[id as usize].lrs[0], Some((7, 0, 0)));
    // An unknown LR index frees nothing.
    w.exit_resumes(id, GuestExit::Maintenance { lr: None });
    w.exit_resumes(id, GuestExit::Maintenance { lr: Some(63) });
    assert_eq!(w.fake().vcpus[id as usize].lrs.iter().flatten().count(), 3);
    w.assert_clean();
}

#[test]
fn vppi_timer_is_injected_and_acked_after_eoi() {
    let (mut w, _, _, id) = running();
    w.exit_resumes(id, GuestExit::Vppi { irq: 27 });
    assert_eq!(w.fake().vcpus[id as usize].lrs[0], Some((27, 0, 0)));
    assert!(
        !w.fake()
            .calls
            .iter()
            .any(|c| matches!(c, Call::AckVppi(..)))
    );
    w.maintenance(id, 0);
    assert_eq!(
        w.fake().calls.last(),
        Some(&Call::Resume(id, Resume::Fault))
    );
    assert!(w.fake().calls.contains(&Call::AckVppi(id, 27)));
    // Other PPIs from the kernel are ignored; an ack happens only once.
    w.exit_resumes(id, GuestExit::Vppi { irq: 26 });
    assert_eq!(w.fake().vcpus[id as usize].lrs[0], None);
    let acks = w
        .fake()
        .calls
        .iter()
        .filter(|c| matches!(c, Call::AckVppi(..)))
        .count();
    assert_eq!(acks, 1);
    w.assert_clean();
}

#[test]
fn unsupported_exits() {
    let (mut w, _, v, id) = running();
    let before = pc(&mut w, id);
    let hvc = GuestExit::Hvc { number: 0 };
    assert_eq!(
        w.exit_completes(id, hvc, A1),
        Err(Status::ERR_NOT_SUPPORTED)
    );
    assert_eq!(pc(&mut w, id), before + 4, "continues after the HVC");
    for exit in [
        decode_hsr(0x6000_0000),
        decode_hsr(0x1C00_0000),
        GuestExit::UserException { number: 0 },
        GuestExit::CapFault,
        GuestExit::Invalid { label: 99 },
    ] {
        w.enter_deferred(A1, v);
        assert_eq!(
            w.exit_completes(id, exit, A1),
            Err(Status::ERR_NOT_SUPPORTED),
            "{exit:?}"
        );
        assert_eq!(pc(&mut w, id), before + 4, "not advanced: {exit:?}");
    }
    // A backend failure while handling an exit ends the enter with its status.
    w.enter_deferred(A1, v);
    w.fake().fail(Op::WriteRegs, Status::ERR_IO);
    assert_eq!(
        w.exit_completes(id, GuestExit::Wfe, A1),
        Err(Status::ERR_IO)
    );
    w.fake().heal(Op::WriteRegs);
    w.enter_deferred(A1, v);
    w.fake().fail(Op::Resume, Status::ERR_INTERNAL);
    assert_eq!(
        w.exit_completes(id, GuestExit::Wfe, A1),
        Err(Status::ERR_INTERNAL)
    );
}

#[test]
fn state_read_write_semantics() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0x1000);
    {
        let f = &mut w.fake().vcpus[id as usize];
        f.regs.spsr = 0x6000_03C5;
        f.regs.x[30] = 30;
        f.sp_el1 = 0x8000;
        f.regs.sp_el0 = 0x1234;
    }
    let st = w.state(A1, v);
    assert_eq!(
        (st.cpsr, st.sp, st.x[30], st.padding1),
        (0x6000_0000, 0x8000, 30, [0; 4])
    );
    let new = VcpuState {
        x: core::array::from_fn(|i| i as u64 * 3),
        sp: 0x9000,
        cpsr: 0x8000_03FF,
        padding1: [0; 4],
    };
    assert_eq!(w.status(A1, write_state(v, new.as_bytes())), Status::OK);
    let f = w.fake().vcpus[id as usize].clone();
    assert_eq!(f.regs.x, new.x);
    assert_eq!(f.sp_el1, 0x9000);
    assert_eq!(f.regs.sp_el0, 0x1234, "SP_EL0 untouched");
    assert_eq!(f.regs.pc, 0x1000, "no PC in the state");
    // NZCV are OR-ed in: Z (bit 30) stays, N is set; mode and DAIF are untouched.
    assert_eq!(f.regs.spsr, 0xE000_03C5);
    assert_eq!(w.state(A1, v).cpsr, 0xE000_0000);
    let _ = enter;
}

#[test]
fn each_trap_has_its_own_pool() {
    let (mut w, g, v, id) = running();
    let port = w.port(A2);
    w.bell_trap(g, 0xA000_0000, port, 1);
    w.bell_trap(g, 0xB000_0000, port, 2);
    let write = |addr| dabt(addr, dabt_esr(true, 4, false, 2, true));
    // The port is full of user packets and of trap 1's doorbells ...
    for k in 0..vcpu_server::PORT_QUEUE_CAPACITY as u64 {
        assert_eq!(
            w.status(A2, common::port_queue(port, common::user_packet(100 + k))),
            Status::OK
        );
    }
    assert_eq!(
        w.status(A2, common::port_queue(port, common::user_packet(1))),
        Status::ERR_SHOULD_WAIT,
        "the user-packet capacity is the port's"
    );
    for i in 0..BELL_PACKETS_PER_TRAP as u64 {
        w.exit_resumes(id, write(0xA000_0000 + i));
    }
    assert!(
        w.exit(id, write(0xA000_0FFF)).is_empty(),
        "trap 1's pool is full"
    );
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::AtFault);
    // ... which does not block trap 2 once the VCPU is past trap 1 (another VCPU, same port).
    let (v2, id2) = w.vcpu(A2, g, 0x4000);
    w.enter_deferred(A2, v2);
    w.exit_resumes(id2, write(0xB000_0010));
    // port_wait order is queue order: user packets first, then trap 1's, then trap 2's.
    let first = packet(w.reply(common::A3, common::port_wait(port, 0)));
    assert_eq!((first.key, first.packet_type, first.status), (100, 0, -5));
    assert_eq!(first.payload, common::user_packet(0).payload);
    for k in 1..vcpu_server::PORT_QUEUE_CAPACITY as u64 {
        assert_eq!(
            packet(w.reply(common::A3, common::port_wait(port, 0))).key,
            100 + k
        );
    }
    // Taking trap 1's first doorbell lets the blocked VCPU's doorbell in (queued last of trap 1,
    // but after trap 2's, which was queued before it).
    let p = packet(w.reply(common::A3, common::port_wait(port, 0)));
    assert_eq!((p.key, common::bell_of(&p).addr), (1, 0xA000_0000));
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
    let mut keys = vec![];
    while let Ok(p) = w.reply(common::A3, common::port_wait(port, 0)) {
        keys.push((p_key(&p), common::bell_of(&packet(Ok(p))).addr));
    }
    assert_eq!(keys.len(), BELL_PACKETS_PER_TRAP + 1);
    assert_eq!(keys[BELL_PACKETS_PER_TRAP - 2], (1, 0xA000_00FF));
    assert_eq!(keys[BELL_PACKETS_PER_TRAP - 1], (2, 0xB000_0010));
    assert_eq!(keys[BELL_PACKETS_PER_TRAP], (1, 0xA000_0FFF));
    let _ = v;
    w.s.check_invariants().unwrap();
}

fn p_key(p: &vcpu_protocol::ReplyPayload) -> u64 {
    match p {
        vcpu_protocol::ReplyPayload::Packet(p) => p.key,
        _ => panic!("not a packet"),
    }
}

#[test]
fn destroying_a_guest_cancels_its_doorbells_but_not_user_packets() {
    let (mut w, g, v, id) = running();
    let port = w.port(A2);
    w.bell_trap(g, 0xA000_0000, port, 1);
    let write = |addr| dabt(addr, dabt_esr(true, 4, false, 2, true));
    w.exit_resumes(id, write(0xA000_0000));
    assert_eq!(
        w.status(A2, common::port_queue(port, common::user_packet(1))),
        Status::OK
    );
    w.exit_resumes(id, write(0xA000_0004));
    let r = w.call(A2, common::close(v));
    assert_eq!(r.completions.len(), 1, "the pending enter is cancelled");
    assert_eq!(w.status(A2, common::close(g)), Status::OK);
    assert_eq!(
        w.status(A2, common::close(vcpu_server::handle::encode(2, 1))),
        Status::OK
    );
    assert_eq!(w.s.object_counts().traps, 0);
    let p = packet(w.reply(A2, common::port_wait(port, 0)));
    assert_eq!((p.key, p.packet_type), (1, 0), "the user packet survives");
    assert_eq!(
        w.status(A2, common::port_wait(port, 0)),
        Status::ERR_TIMED_OUT,
        "both doorbells are gone"
    );
    w.assert_clean();
}

#[test]
fn port_queue_wakes_a_waiter_and_checks_in_order() {
    let mut w = World::new();
    let port = w.port(A1);
    assert_eq!(w.wait(A2, port).outcome, vcpu_server::Outcome::Deferred);
    let r = w.call(A1, common::port_queue(port, common::user_packet(9)));
    assert_eq!(
        r.outcome,
        vcpu_server::Outcome::Reply(Ok(vcpu_protocol::ReplyPayload::Empty))
    );
    let c = r.completions.as_slice();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].thread, A2.thread);
    let p = packet(c[0].reply);
    assert_eq!((p.key, p.packet_type, p.status), (9, 0, -5));
    // Handle, type, rights.
    let forged = vcpu_server::handle::encode(40, 1);
    let pq = |h| common::port_queue(h, common::user_packet(1));
    assert_eq!(w.status(A1, pq(forged)), Status::ERR_BAD_HANDLE);
    let (g, _) = w.guest();
    assert_eq!(w.status(A1, pq(g)), Status::ERR_WRONG_TYPE);
    let read_only = w.handle(A1, common::duplicate(port, caps::Rights::READ));
    assert_eq!(w.status(A1, pq(read_only)), Status::ERR_ACCESS_DENIED);
    let write_only = w.handle(A1, common::duplicate(port, caps::Rights::WRITE));
    assert_eq!(w.status(A1, pq(write_only)), Status::OK);
}

// ---- exits a guest sends rather than takes (issue 10): hints, never state ----------------------

#[test]
fn a_sent_wfi_never_makes_the_server_believe_a_running_guest_stopped() {
    let (mut w, _, v, id) = running();
    // Nothing pending: a real WFI would wait; a sent one finds no caller, so the guest is
    // stopped for real before the server waits.
    let c = w.forged_exit(id, GuestExit::Wfi);
    assert!(c.is_empty());
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Stopped);
    // A kick ends the enter; the state calls then touch a stopped guest only (the fake
    // records a violation for any register access to a running one).
    let r = w.call(A2, kick(v));
    assert_eq!(r.completions.len(), 1);
    let _ = w.state(A1, v);
    // The next enter restarts it where it is.
    let n = w.fake().calls.len();
    w.enter_deferred(A1, v);
    assert_eq!(w.fake().calls_since(n), [Call::Resume(id, Resume::Restart)]);
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
    w.assert_clean();
}

#[test]
fn a_sent_exit_that_ends_the_enter_stops_the_guest() {
    let (mut w, _, v, id) = running();
    let exit = GuestExit::Invalid { label: 99 };
    let reply = {
        let c = w.forged_exit(id, exit);
        assert_eq!(c.len(), 1);
        c.as_slice()[0].reply
    };
    assert_eq!(reply, Err(Status::ERR_NOT_SUPPORTED));
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Stopped);
    let _ = w.state(A1, v);
    w.enter_deferred(A1, v);
    assert_eq!(
        w.fake().calls.last(),
        Some(&Call::Resume(id, Resume::Restart))
    );
    w.assert_clean();
}

#[test]
fn a_sent_exit_the_server_answers_at_once_leaves_the_guest_running() {
    let (mut w, _, _, id) = running();
    // WFE: pc += 4 and resume; the reply goes to an empty slot and the guest runs on.
    let before = pc(&mut w, id);
    let c = w.forged_exit(id, GuestExit::Wfe);
    assert!(c.is_empty());
    assert_eq!(w.fake().vcpus[id as usize].run, FakeRun::Running);
    assert_eq!(
        pc(&mut w, id),
        before + 4,
        "the guest only moved its own pc"
    );
    assert!(
        !w.fake().calls.contains(&Call::CallerWaiting(id)),
        "no check needed when the guest is resumed"
    );
    w.assert_clean();
}

#[test]
fn a_sent_maintenance_exit_for_a_free_list_register_changes_nothing() {
    let (mut w, _, v, id) = running();
    assert_eq!(w.status(A2, common::interrupt(v, 40)), Status::OK);
    let n = w.fake().calls.len();
    // LR 3 holds nothing: the server's shadow is unchanged and vector 40 stays in LR 0.
    w.forged_exit(id, GuestExit::Maintenance { lr: Some(3) });
    assert!(
        !w.fake()
            .calls_since(n)
            .iter()
            .any(|c| matches!(c, Call::Inject { .. }))
    );
    // A real EOI of LR 0 then frees it as usual.
    assert!(w.maintenance(id, 0).is_empty());
    w.assert_clean();
}
