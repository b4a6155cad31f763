//! Property test: random request sequences from several clients and threads (garbage handle
//! values included), random guest exits and random backend failures never panic, keep the
//! server's invariants, respect the backend contract, complete every deferred call at most
//! once, and leave nothing behind once every handle is closed.

mod common;

use std::collections::BTreeSet;

use caps::Rights;
use common::{FakeFrame, FakeRun, Op, PAGE, World, t};
use proptest::prelude::*;
use vcpu_protocol::layout::{TIME_INFINITE, VM_SPECIFIC};
use vcpu_protocol::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReq, HandleRightsReq, HandleSendReq, ObjectGetInfoReq,
    PortCreateReq, PortWaitReq, Request, VcpuCreateReq, VcpuInterruptReq, VcpuStateReq, VmarMapReq,
};
use vcpu_protocol::{HandleValue, ReplyPayload};
use vcpu_server::exit::{self, GuestExit};
use vcpu_server::{ClientId, Completions, Outcome, Sender, ThreadId};

const TRAP_BASE: u64 = 0x1000_0000;
const CLIENTS: [ClientId; 4] = [common::A, common::B, common::C, common::STRANGER];

#[derive(Clone, Debug)]
enum H {
    /// A value the sender's client received.
    Known(u8),
    /// A value another client received.
    Foreign(u8),
    Raw(u32),
    Zero,
}

#[derive(Clone, Debug)]
enum Req {
    GuestCreate(H, u32),
    SetTrap(H, u32, u8, u8, H),
    VcpuCreate(H, u32, bool),
    Enter(H),
    Kick(H),
    Interrupt(H, u32),
    Read(H, u32, u32),
    Write(H, u32, u32),
    Info(H, u32, u32),
    Dup(H, u32),
    Replace(H, u32),
    Close(H),
    Send(H, u8),
    Receive,
    PortCreate(u32),
    PortWait(H, bool),
    Map(H, u32, u8, Option<u64>),
}

/// Something done to a VCPU whose creation the test saw, with its creator's handle.
#[derive(Clone, Debug)]
enum Own {
    /// `vcpu_enter` from its thread.
    Enter,
    /// `vcpu_kick` from thread `.0` of the creating client.
    Kick(u8),
    /// `vcpu_interrupt` from thread `.0` of the creating client.
    Interrupt(u8, u32),
    /// `vcpu_read_state` from its thread.
    Read,
    /// `handle_close` from another thread of the creating client.
    Close,
}

#[derive(Clone, Debug)]
enum Step {
    Req(u8, u8, Req),
    Own(u8, Own),
    Exit(u8, ExitKind),
    Fail(u8, bool),
    Abandon(u8),
}

#[derive(Clone, Debug)]
enum ExitKind {
    Abort(u8, u16, bool, u32),
    Wfi(u64),
    Wfe,
    Smc(u16, u64),
    Eoi(u8),
    Vppi(u32),
    Raw(u64, Vec<u64>),
}

fn h() -> impl Strategy<Value = H> {
    prop_oneof![
        12 => any::<u8>().prop_map(H::Known),
        1 => any::<u8>().prop_map(H::Foreign),
        2 => any::<u32>().prop_map(H::Raw),
        1 => Just(H::Zero),
    ]
}

fn small() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0..3u32, 1 => any::<u32>()]
}

fn req_objects() -> impl Strategy<Value = Req> {
    prop_oneof![
        1 => (h(), small()).prop_map(|(a, b)| Req::GuestCreate(a, b)),
        1 => (h(), 0..4u32, 0..16u8, 0..3u8, h())
            .prop_map(|(a, b, c, d, e)| Req::SetTrap(a, b, c, d, e)),
        1 => (h(), small(), any::<bool>()).prop_map(|(a, b, c)| Req::VcpuCreate(a, b, c)),
        1 => small().prop_map(Req::PortCreate),
        1 => (
            h(),
            prop_oneof![Just(3 | VM_SPECIFIC), any::<u32>()],
            0..16u8,
            prop_oneof![Just(Some(PAGE)), Just(None), Just(Some(2 * PAGE)), Just(Some(0x20_0000))],
        )
            .prop_map(|(a, b, c, d)| Req::Map(a, b, c, d)),
    ]
}

fn req_vcpu() -> impl Strategy<Value = Req> {
    prop_oneof![
        4 => h().prop_map(Req::Enter),
        2 => h().prop_map(Req::Kick),
        2 => (h(), prop_oneof![0..300u32, Just(27u32)]).prop_map(|(a, b)| Req::Interrupt(a, b)),
        1 => (h(), 0..3u32, prop_oneof![Just(264u32), 0..300u32])
            .prop_map(|(a, b, c)| Req::Read(a, b, c)),
        1 => (h(), 0..3u32, prop_oneof![Just(264u32), Just(8u32), 0..300u32])
            .prop_map(|(a, b, c)| Req::Write(a, b, c)),
        1 => (h(), prop_oneof![Just(32u32), any::<u32>()], 0..8u32)
            .prop_map(|(a, b, c)| Req::Info(a, b, c)),
        2 => (h(), any::<bool>()).prop_map(|(a, b)| Req::PortWait(a, b)),
    ]
}

fn req_handles() -> impl Strategy<Value = Req> {
    prop_oneof![
        1 => (h(), prop_oneof![Just(1u32 << 31), any::<u32>(), 0..0x10000u32])
            .prop_map(|(a, b)| Req::Dup(a, b)),
        1 => (h(), prop_oneof![Just(1u32 << 31), any::<u32>()]).prop_map(|(a, b)| Req::Replace(a, b)),
        2 => h().prop_map(Req::Close),
        1 => (h(), 0..5u8).prop_map(|(a, b)| Req::Send(a, b)),
        1 => Just(Req::Receive),
    ]
}

fn req() -> impl Strategy<Value = Req> {
    prop_oneof![3 => req_objects(), 5 => req_vcpu(), 3 => req_handles()]
}

fn exit_kind() -> impl Strategy<Value = ExitKind> {
    let esr = prop_oneof![
        any::<u32>(),
        (any::<bool>(), 0..4u8, any::<bool>(), 0..32u8, any::<bool>())
            .prop_map(|(i, s, x, r, w)| common::dabt_esr(i, 1 << s, x, r, w)),
    ];
    prop_oneof![
        4 => (prop_oneof![0..2u8, 0..24u8], 0..4096u16, any::<bool>(), esr)
            .prop_map(|(a, b, c, d)| ExitKind::Abort(a, b, c, d)),
        2 => (0..4u64).prop_map(ExitKind::Wfi),
        1 => Just(ExitKind::Wfe),
        2 => (prop_oneof![Just(0u16), any::<u16>()],
            prop_oneof![Just(0x8400_0000u64), Just(0xC400_0003), Just(0x8400_0002),
                Just(0x8400_0008), Just(0x8400_0009), any::<u64>()])
            .prop_map(|(a, b)| ExitKind::Smc(a, b)),
        2 => (0..6u8).prop_map(ExitKind::Eoi),
        1 => (prop_oneof![Just(27u32), any::<u32>()]).prop_map(ExitKind::Vppi),
        1 => (0..10u64, proptest::collection::vec(any::<u64>(), 0..14))
            .prop_map(|(a, b)| ExitKind::Raw(a, b)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let own = prop_oneof![
        6 => Just(Own::Enter),
        2 => (0..4u8).prop_map(Own::Kick),
        2 => (0..4u8, prop_oneof![0..64u32, Just(27u32), Just(256u32)])
            .prop_map(|(t, v)| Own::Interrupt(t, v)),
        1 => Just(Own::Read),
        1 => Just(Own::Close),
    ];
    let client = prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => 2..4u8];
    prop_oneof![
        12 => (client, 0..4u8, req()).prop_map(|(c, th, r)| Step::Req(c, th, r)),
        8 => (any::<u8>(), own).prop_map(|(v, o)| Step::Own(v, o)),
        5 => (any::<u8>(), exit_kind()).prop_map(|(v, e)| Step::Exit(v, e)),
        1 => (0..10u8, any::<bool>()).prop_map(|(o, on)| Step::Fail(o, on)),
        1 => (0..16u8).prop_map(Step::Abandon),
    ]
}

/// The test state: the world, the handle values each client received, and the deferred calls
/// outstanding.
struct Run {
    w: World,
    pools: [Vec<HandleValue>; 4],
    pending: BTreeSet<ThreadId>,
    buf: Vec<u8>,
    /// VCPUs created: (client, owner thread, handle).
    created: Vec<(u8, u8, HandleValue)>,
}

const FAILABLE: [Op; 10] = [
    Op::CreateGuest,
    Op::CreateVcpu,
    Op::FrameSize,
    Op::MapFrame,
    Op::Resume,
    Op::ReadRegs,
    Op::WriteRegs,
    Op::ReadSysreg,
    Op::InjectIrq,
    Op::AckVppi,
];

impl Run {
    fn value(&self, c: u8, h: &H) -> HandleValue {
        let pick = |pool: &Vec<HandleValue>, i: u8| {
            if pool.is_empty() {
                0
            } else {
                pool[i as usize % pool.len()]
            }
        };
        match h {
            H::Known(i) => pick(&self.pools[c as usize % 4], *i),
            H::Foreign(i) => pick(&self.pools[(c as usize + 1) % 3], *i),
            H::Zero => 0,
            H::Raw(v) => *v,
        }
    }

    fn sender(c: u8, th: u8) -> Sender {
        // Threads are global: client c's thread th is 100 * c + th.
        t(CLIENTS[c as usize % 4], 100 * u16::from(c) + u16::from(th))
    }

    fn completions(&mut self, c: &Completions) -> Result<(), TestCaseError> {
        let mut seen = BTreeSet::new();
        for x in c.iter() {
            prop_assert!(seen.insert(x.thread), "two completions for {:?}", x.thread);
            prop_assert!(
                self.pending.remove(&x.thread),
                "completion for {:?} not deferred",
                x.thread
            );
            // Completions carry packets or statuses, never handles.
            prop_assert!(matches!(x.reply, Ok(ReplyPayload::Packet(_)) | Err(_)));
        }
        Ok(())
    }

    fn collect(&mut self, c: usize, reply: &vcpu_protocol::Reply) {
        let pool = &mut self.pools[c];
        match reply {
            Ok(ReplyPayload::Handle(x)) => pool.push(x.handle),
            Ok(ReplyPayload::GuestCreate(x)) => pool.extend([x.guest, x.vmar]),
            Ok(ReplyPayload::Received(x)) => pool.push(x.handle),
            _ => {}
        }
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let inv = self.w.s.check_invariants();
        prop_assert!(inv.is_ok(), "{:?}", inv);
        let v = &self.w.fake().violations;
        prop_assert!(v.is_empty(), "backend contract: {:?}", v);
        Ok(())
    }

    fn request(
        &mut self,
        c: u8,
        who: Sender,
        req: Request<'_>,
        frame: Option<FakeFrame>,
    ) -> Result<(), TestCaseError> {
        // A call pending under this badge is cancelled (completed with CANCELED) first.
        let was_pending = self.pending.contains(&who.thread);
        let is_blocking = matches!(req, Request::VcpuEnter(_) | Request::PortWait(_));
        let req_kind = match req {
            Request::VcpuCreate(x) => Request::VcpuCreate(x),
            _ => Request::HandleReceive,
        };
        let r = self.w.s.handle_request(who, req, frame);
        let cancelled = r
            .completions
            .iter()
            .any(|x| x.thread == who.thread && x.reply == Err(vcpu_server::Status::ERR_CANCELED));
        prop_assert_eq!(
            was_pending,
            cancelled,
            "the caller's earlier call ends with CANCELED"
        );
        self.completions(&r.completions)?;
        match r.outcome {
            Outcome::Deferred => {
                prop_assert!(is_blocking);
                self.pending.insert(who.thread);
            }
            Outcome::Reply(reply) => {
                if let (Request::VcpuCreate(_), Ok(ReplyPayload::Handle(x))) = (&req_kind, &reply) {
                    let th = (who.thread.0 % 100) as u8;
                    self.created.push((c, th, x.handle));
                }
                self.collect(c as usize % 4, &reply)
            }
        }
        self.check()
    }

    fn build(&mut self, c: u8, r: &Req) -> (Request<'static>, Option<u64>) {
        let v = |h: &H| self.value(c, h);
        let hr = |handle| HandleReq {
            handle,
            reserved: 0,
        };
        let st = |vcpu, kind, buffer_size| VcpuStateReq {
            vcpu,
            kind,
            buffer_size,
            reserved: 0,
        };
        let req = match r {
            Req::GuestCreate(a, o) => Request::GuestCreate(GuestCreateReq {
                resource: v(a),
                options: *o,
            }),
            Req::SetTrap(g, kind, page, pages, p) => Request::GuestSetTrap(GuestSetTrapReq {
                guest: v(g),
                kind: *kind,
                addr: TRAP_BASE + u64::from(*page) * PAGE,
                size: u64::from(*pages) * PAGE,
                port: v(p),
                reserved: 0,
                key: u64::from(*page),
            }),
            Req::VcpuCreate(g, o, high) => Request::VcpuCreate(VcpuCreateReq {
                guest: v(g),
                options: *o,
                entry: if *high { 1 << 36 } else { 0x1000 },
            }),
            Req::Enter(a) => Request::VcpuEnter(hr(v(a))),
            Req::Kick(a) => Request::VcpuKick(hr(v(a))),
            Req::Interrupt(a, n) => Request::VcpuInterrupt(VcpuInterruptReq {
                vcpu: v(a),
                vector: *n,
            }),
            Req::Read(a, k, s) => Request::VcpuReadState(st(v(a), *k, *s)),
            Req::Write(..) => Request::HandleReceive, // built in `step` (borrows the buffer)
            Req::Info(a, topic, s) => Request::ObjectGetInfo(ObjectGetInfoReq {
                handle: v(a),
                topic: *topic,
                buffer_size: *s,
                reserved: 0,
            }),
            Req::Dup(a, r) => Request::HandleDuplicate(HandleRightsReq {
                handle: v(a),
                rights: *r,
            }),
            Req::Replace(a, r) => Request::HandleReplace(HandleRightsReq {
                handle: v(a),
                rights: *r,
            }),
            Req::Close(a) => Request::HandleClose(hr(v(a))),
            Req::Send(a, to) => Request::HandleSend(HandleSendReq {
                handle: v(a),
                to_client: u32::from(CLIENTS.get(*to as usize).map_or(999, |c| c.0)),
            }),
            Req::Receive => Request::HandleReceive,
            Req::PortCreate(o) => Request::PortCreate(PortCreateReq {
                options: *o,
                reserved: 0,
            }),
            Req::PortWait(a, inf) => Request::PortWait(PortWaitReq {
                port: v(a),
                reserved: 0,
                deadline: if *inf { TIME_INFINITE } else { 0 },
            }),
            Req::Map(a, o, page, _) => Request::VmarMap(VmarMapReq {
                vmar: v(a),
                options: *o,
                vmar_offset: TRAP_BASE + u64::from(*page) * PAGE,
                len: PAGE,
            }),
        };
        let frame = match r {
            Req::Map(.., f) => *f,
            _ => None,
        };
        (req, frame)
    }

    fn step(&mut self, s: &Step) -> Result<(), TestCaseError> {
        match s {
            Step::Req(c, th, r) => {
                let who = Self::sender(*c, *th);
                if let Req::Write(a, kind, size) = r {
                    let h = self.value(*c, a);
                    self.buf = vec![0xA5; *size as usize];
                    let buf = std::mem::take(&mut self.buf);
                    let req = Request::VcpuWriteState(
                        VcpuStateReq {
                            vcpu: h,
                            kind: *kind,
                            buffer_size: *size,
                            reserved: 0,
                        },
                        &buf,
                    );
                    return self.request(*c, who, req, None);
                }
                let (req, frame) = self.build(*c, r);
                let frame = frame.map(|size| self.w.fake().new_frame(size));
                self.request(*c, who, req, frame)
            }
            Step::Exit(pick, kind) => self.exit(*pick, kind),
            Step::Own(pick, action) => {
                let Some(&(c, th, h)) =
                    self.created.get(*pick as usize % self.created.len().max(1))
                else {
                    return Ok(());
                };
                let hr = HandleReq {
                    handle: h,
                    reserved: 0,
                };
                let (who, req) = match action {
                    Own::Enter => (Self::sender(c, th), Request::VcpuEnter(hr)),
                    Own::Kick(t) => (Self::sender(c, *t), Request::VcpuKick(hr)),
                    Own::Interrupt(t, vector) => (
                        Self::sender(c, *t),
                        Request::VcpuInterrupt(VcpuInterruptReq {
                            vcpu: h,
                            vector: *vector,
                        }),
                    ),
                    Own::Read => (
                        Self::sender(c, th),
                        Request::VcpuReadState(VcpuStateReq {
                            vcpu: h,
                            kind: 0,
                            buffer_size: 264,
                            reserved: 0,
                        }),
                    ),
                    Own::Close => (
                        Self::sender(c, th.wrapping_add(1) % 4),
                        Request::HandleClose(hr),
                    ),
                };
                self.request(c, who, req, None)
            }
            Step::Fail(o, on) => {
                let op = FAILABLE[*o as usize % FAILABLE.len()];
                if *on {
                    self.w.fake().fail(op, vcpu_server::Status::ERR_IO);
                } else {
                    self.w.fake().heal(op);
                }
                Ok(())
            }
            Step::Abandon(th) => {
                let who = Self::sender(th % 4, th / 4);
                self.w.s.abandon(who.thread);
                self.pending.remove(&who.thread);
                self.check()
            }
        }
    }

    /// A guest exit of a running fake VCPU (a guest can only fault while it runs).
    fn exit(&mut self, pick: u8, kind: &ExitKind) -> Result<(), TestCaseError> {
        let running: Vec<u32> = (0..self.w.fake().vcpus.len() as u32)
            .filter(|i| self.w.fake().vcpus[*i as usize].run == FakeRun::Running)
            .collect();
        if running.is_empty() {
            return Ok(());
        }
        let id = running[pick as usize % running.len()];
        let exit = match kind {
            ExitKind::Abort(page, off, instr, esr) => GuestExit::MemAbort {
                ip: 0,
                addr: TRAP_BASE + u64::from(*page) * PAGE + u64::from(*off),
                instruction: *instr,
                esr: *esr,
            },
            ExitKind::Wfi(ctl) => {
                self.w.fake().vcpus[id as usize].cntv_ctl = *ctl;
                GuestExit::Wfi
            }
            ExitKind::Wfe => GuestExit::Wfe,
            ExitKind::Smc(imm, x0) => {
                self.w.fake().vcpus[id as usize].regs.x[0] = *x0;
                GuestExit::Smc { imm: *imm }
            }
            ExitKind::Eoi(lr) => {
                self.w.fake().guest_eois(id, usize::from(*lr));
                GuestExit::Maintenance { lr: Some(*lr) }
            }
            ExitKind::Vppi(irq) => GuestExit::Vppi { irq: *irq },
            ExitKind::Raw(label, words) => match exit::decode(*label, words) {
                // A spoofed maintenance would make the kernel overwrite a pending LR, which
                // the fake flags; keep maintenance consistent with an EOI.
                GuestExit::Maintenance { .. } => GuestExit::Wfe,
                e => e,
            },
        };
        self.w.fake().guest_faults(id);
        let key = self.w.fake().vcpus[id as usize].key;
        let c = self.w.s.handle_guest_exit(key.slot, key.generation, exit);
        self.completions(&c)?;
        self.check()
    }

    /// Closes everything every client holds; then nothing may be left anywhere.
    fn teardown(&mut self) -> Result<(), TestCaseError> {
        for op in FAILABLE {
            self.w.fake().heal(op);
        }
        for _ in 0..8 {
            for c in 0..3u8 {
                let who = Self::sender(c, 9);
                // At most four senders (three clients and a stranger), each with its share.
                for _ in 0..4 * vcpu_server::INBOX_PER_SENDER {
                    self.request(c, who, Request::HandleReceive, None)?;
                }
                for h in self.pools[c as usize].clone() {
                    let close = Request::HandleClose(HandleReq {
                        handle: h,
                        reserved: 0,
                    });
                    self.request(c, who, close, None)?;
                }
            }
        }
        let counts = self.w.s.object_counts();
        prop_assert_eq!(counts, vcpu_server::ObjectCounts::default());
        prop_assert!(
            self.pending.is_empty(),
            "never completed: {:?}",
            self.pending
        );
        let f = self.w.fake();
        prop_assert!(
            f.frames_alive.is_empty(),
            "frames leaked: {:?}",
            f.frames_alive
        );
        prop_assert!(f.guests_alive.is_empty());
        prop_assert!(f.vcpus.iter().all(|v| v.run == FakeRun::Destroyed));
        Ok(())
    }
}

/// A fixed start: A and B each make a guest; A makes a port and two VCPUs (threads 0 and 1),
/// B one VCPU (thread 0). Handle values are deterministic, so `Known` indexes hit them often.
fn setup() -> Vec<Step> {
    let k = H::Known;
    vec![
        Step::Req(0, 0, Req::GuestCreate(k(0), 0)),
        Step::Req(0, 0, Req::PortCreate(0)),
        Step::Req(0, 0, Req::VcpuCreate(k(1), 0, false)),
        Step::Req(0, 1, Req::VcpuCreate(k(1), 0, false)),
        Step::Req(1, 0, Req::GuestCreate(k(0), 0)),
        Step::Req(1, 0, Req::VcpuCreate(k(1), 0, false)),
        Step::Req(0, 2, Req::SetTrap(k(1), 1, 0, 1, H::Zero)),
        Step::Req(0, 2, Req::SetTrap(k(1), 0, 1, 1, k(3))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_invariants(steps in proptest::collection::vec(step(), 1..80)) {
        let mut w = World::new();
        // Give B a resource too, so that more clients can make guests.
        let rights = caps::ObjType::Resource.default_rights();
        let b_rsrc = w.s.grant_resource(common::B, 5, 0, 1, rights).unwrap();
        let pools = [vec![w.rsrc], vec![b_rsrc], vec![], vec![]];
        let mut run = Run { w, pools, pending: BTreeSet::new(), buf: vec![], created: vec![] };
        for s in setup().iter().chain(&steps) {
            run.step(s)?;
        }
        run.teardown()?;
        let _ = Rights::NONE;
    }
}
