//! The rights matrix: every operation, every handle argument, every subset of the argument
//! type's default rights. A request is refused with `ZX_ERR_ACCESS_DENIED` exactly when the
//! held rights lack one the operation table requires; otherwise it is not refused for rights.

mod common;

use caps::{ObjType, Operation, Rights};
use common::{A, A1, B, PAGE, World, duplicate};
use vcpu_protocol::layout::{
    GUEST_TRAP_BELL, GUEST_TRAP_MEM, INFO_VCPU, VCPU_STATE, VM_PERM_EXECUTE, VM_PERM_READ,
    VM_PERM_WRITE, VM_SPECIFIC,
};
use vcpu_protocol::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReq, HandleRightsReq, HandleSendReq, ObjectGetInfoReq,
    PortCreateReq, PortQueueReq, PortWaitReq, Request, VcpuCreateReq, VcpuInterruptReq,
    VcpuStateReq, VmarMapFramesReq, VmarMapReq, VmarProtectReq, VmarUnmapReq,
};
use vcpu_protocol::{HandleValue, ReplyPayload, Status};
use vcpu_server::Outcome;

/// Every subset of `universe`.
fn subsets(universe: Rights) -> Vec<Rights> {
    let bits: Vec<u32> = (0..32)
        .filter(|b| universe.bits() & (1 << b) != 0)
        .collect();
    (0..1u32 << bits.len())
        .map(|m| {
            let raw = bits
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .fold(0, |acc, (_, b)| acc | 1 << b);
            Rights::from_bits(raw)
        })
        .collect()
}

/// The objects of the test world, each with a default-rights handle held by A.
struct Objects {
    rsrc: HandleValue,
    guest: HandleValue,
    vmar: HandleValue,
    vcpu: HandleValue,
    port: HandleValue,
}

impl Objects {
    fn of(&self, t: ObjType) -> HandleValue {
        match t {
            ObjType::Resource => self.rsrc,
            ObjType::Guest => self.guest,
            ObjType::Vmar => self.vmar,
            ObjType::Vcpu => self.vcpu,
            ObjType::Port => self.port,
        }
    }
}

const STATE: [u8; 264] = [0; 264];

/// A request of `op` whose argument `arg` is `h` and whose other fields are valid.
fn request(op: Operation, arg: usize, h: HandleValue, o: &Objects) -> Request<'static> {
    let hr = |handle| HandleReq {
        handle,
        reserved: 0,
    };
    match op {
        Operation::GuestCreate => Request::GuestCreate(GuestCreateReq {
            resource: h,
            options: 0,
        }),
        Operation::GuestSetTrap => {
            let (guest, port) = if arg == 0 { (h, o.port) } else { (o.guest, h) };
            Request::GuestSetTrap(GuestSetTrapReq {
                guest,
                kind: GUEST_TRAP_BELL,
                addr: 0x1000_0000,
                size: PAGE,
                port,
                reserved: 0,
                key: 0,
            })
        }
        Operation::VcpuCreate => Request::VcpuCreate(VcpuCreateReq {
            guest: h,
            options: 0,
            entry: 0,
        }),
        Operation::VcpuEnter => Request::VcpuEnter(hr(h)),
        Operation::VcpuKick => Request::VcpuKick(hr(h)),
        Operation::VcpuInterrupt => Request::VcpuInterrupt(VcpuInterruptReq {
            vcpu: h,
            vector: 40,
        }),
        Operation::VcpuReadState => Request::VcpuReadState(VcpuStateReq {
            vcpu: h,
            kind: VCPU_STATE,
            buffer_size: 264,
            reserved: 0,
        }),
        Operation::VcpuWriteState => Request::VcpuWriteState(
            VcpuStateReq {
                vcpu: h,
                kind: VCPU_STATE,
                buffer_size: 264,
                reserved: 0,
            },
            &STATE,
        ),
        Operation::ObjectGetInfo => Request::ObjectGetInfo(ObjectGetInfoReq {
            handle: h,
            topic: INFO_VCPU,
            buffer_size: 4,
            reserved: 0,
        }),
        Operation::HandleDuplicate => Request::HandleDuplicate(HandleRightsReq {
            handle: h,
            rights: Rights::SAME_RIGHTS.bits(),
        }),
        Operation::HandleReplace => Request::HandleReplace(HandleRightsReq {
            handle: h,
            rights: Rights::SAME_RIGHTS.bits(),
        }),
        Operation::HandleClose => Request::HandleClose(hr(h)),
        Operation::HandleSend => Request::HandleSend(HandleSendReq {
            handle: h,
            to_client: u32::from(B.0),
        }),
        Operation::HandleReceive => Request::HandleReceive,
        Operation::PortCreate => Request::PortCreate(PortCreateReq {
            options: 0,
            reserved: 0,
        }),
        Operation::PortWait => Request::PortWait(PortWaitReq {
            port: h,
            reserved: 0,
            deadline: 0,
        }),
        Operation::VmarMap => Request::VmarMap(VmarMapReq {
            vmar: h,
            options: VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC,
            vmar_offset: 0x2000_0000,
            len: PAGE,
        }),
        Operation::PortQueue => Request::PortQueue(PortQueueReq {
            port: h,
            reserved: 0,
            packet: common::user_packet(7),
        }),
        // Unmapping a range without a mapping is NOT_FOUND: not a rights refusal.
        Operation::VmarUnmap => Request::VmarUnmap(VmarUnmapReq {
            vmar: h,
            reserved: 0,
            addr: 0x3000_0000,
            len: PAGE,
        }),
        Operation::VmarMapFrames => Request::VmarMapFrames(VmarMapFramesReq {
            vmar: h,
            options: VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC,
            vmar_offset: 0x2100_0000,
            len: PAGE,
            first_slot: 0,
            count: 2,
            reserved: 0,
        }),
        Operation::VmarProtect => Request::VmarProtect(VmarProtectReq {
            vmar: h,
            options: VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE,
            addr: 0x3000_0000,
            len: PAGE,
        }),
    }
}

/// The rights the server must require: the table's, plus the permission-dependent ones.
fn required(op: Operation, arg: usize) -> Rights {
    let base = op.handle_args()[arg].rights;
    match op {
        Operation::VmarMap | Operation::VmarProtect | Operation::VmarMapFrames => {
            base.union(Operation::vmar_map_rights(true, true, true))
        }
        _ => base,
    }
}

fn status_of(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Reply(Ok(_)) | Outcome::Deferred => Status::OK,
        Outcome::Reply(Err(s)) => s,
    }
}

#[test]
fn every_operation_every_subset() {
    let mut w = World::new();
    let (guest, vmar) = w.guest();
    let (vcpu, _) = w.vcpu(A1, guest, 0);
    let port = w.port(A1);
    let o = Objects {
        rsrc: w.rsrc,
        guest,
        vmar,
        vcpu,
        port,
    };
    let mut checked = 0;
    for op in Operation::ALL {
        for (arg, spec) in op.handle_args().iter().enumerate() {
            // An argument of any type is checked with each type.
            let types: Vec<ObjType> = match spec.obj_type {
                Some(t) => vec![t],
                None => ObjType::ALL.to_vec(),
            };
            for t in types {
                for held in subsets(t.default_rights()) {
                    let h = w.handle(A1, duplicate(o.of(t), held));
                    let frame = match op {
                        Operation::VmarMap => Some(w.fake().new_frame(PAGE)),
                        Operation::VmarMapFrames => Some(w.fake().new_cnode(&[PAGE, PAGE])),
                        _ => None,
                    };
                    let r = w.s.handle_request(A1, request(op, arg, h, &o), frame);
                    w.s.check_invariants().unwrap();
                    // Completions may only come from a kick ending the enter of A1 itself,
                    // which the next request from A1 abandons anyway.
                    let st = status_of(r.outcome);
                    let must_deny = !held.contains(required(op, arg));
                    assert_eq!(
                        st == Status::ERR_ACCESS_DENIED,
                        must_deny,
                        "{} arg {arg} type {t:?} held {held:?}: {st:?}",
                        op.name()
                    );
                    // Drop the test handle unless the operation consumed it, and any handle
                    // the operation made.
                    let mut made = vec![h];
                    match r.outcome {
                        Outcome::Reply(Ok(ReplyPayload::Handle(x))) => made.push(x.handle),
                        Outcome::Reply(Ok(ReplyPayload::GuestCreate(x))) => {
                            made.extend([x.guest, x.vmar]);
                        }
                        _ => {}
                    }
                    for x in made {
                        let _ = w.s.handle_request(A1, common::close(x), None);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 2000, "only {checked} cases");
    // Handles sent to B are still B's to take; nothing leaked in the backend.
    w.assert_clean();
    let _ = A;
}

#[test]
fn the_table_says_what_zircon_says() {
    let r = |op: Operation, arg: usize| op.handle_args()[arg].rights;
    assert_eq!(r(Operation::VcpuCreate, 0), Rights::MANAGE_THREAD);
    assert_eq!(r(Operation::GuestSetTrap, 0), Rights::WRITE);
    assert_eq!(r(Operation::GuestSetTrap, 1), Rights::WRITE);
    assert_eq!(r(Operation::VcpuEnter, 0), Rights::EXECUTE);
    assert_eq!(r(Operation::VcpuKick, 0), Rights::EXECUTE);
    assert_eq!(r(Operation::VcpuInterrupt, 0), Rights::SIGNAL);
    assert_eq!(r(Operation::VcpuReadState, 0), Rights::READ);
    assert_eq!(r(Operation::VcpuWriteState, 0), Rights::WRITE);
    assert_eq!(r(Operation::ObjectGetInfo, 0), Rights::INSPECT);
    assert_eq!(r(Operation::HandleDuplicate, 0), Rights::DUPLICATE);
    assert_eq!(r(Operation::HandleSend, 0), Rights::TRANSFER);
    assert_eq!(r(Operation::PortWait, 0), Rights::READ);
    assert_eq!(r(Operation::PortQueue, 0), Rights::WRITE);
    assert_eq!(r(Operation::VmarUnmap, 0), Rights::NONE);
    assert_eq!(r(Operation::VmarProtect, 0), Rights::NONE);
    assert_eq!(
        Operation::vmar_map_rights(true, false, true),
        Rights::READ.union(Rights::EXECUTE)
    );
    assert!(Operation::GuestSetTrap.handle_args()[1].optional);
    let _ = GUEST_TRAP_MEM;
}

#[test]
fn duplicate_with_fewer_rights_is_denied_exactly_what_it_lacks() {
    let mut w = World::new();
    let (g, _) = w.guest();
    let (v, _) = w.vcpu(A1, g, 0);
    // Drop SIGNAL only: interrupt is denied, kick and read_state are not.
    let no_signal = ObjType::Vcpu.default_rights().difference(Rights::SIGNAL);
    let h = w.handle(A1, duplicate(v, no_signal));
    assert_eq!(
        w.status(A1, common::interrupt(h, 1)),
        Status::ERR_ACCESS_DENIED
    );
    assert_eq!(w.status(A1, common::kick(h)), Status::OK);
    assert_eq!(w.status(A1, common::read_state(h)), Status::OK);
    // A duplicate cannot regain SIGNAL.
    let back = ObjType::Vcpu.default_rights();
    assert_eq!(w.status(A1, duplicate(h, back)), Status::ERR_INVALID_ARGS);
}
