//! Zircon rights: bit values, default rights, the duplicate/replace rules, the operation table.

use caps::{DeriveError, HandleArg, ObjType, Operation, Rights, derive_rights};
use proptest::prelude::*;

#[test]
fn bit_values_are_zircons() {
    // zircon/rights.h
    let expected: [(Rights, u32); 23] = [
        (Rights::NONE, 0),
        (Rights::DUPLICATE, 1 << 0),
        (Rights::TRANSFER, 1 << 1),
        (Rights::READ, 1 << 2),
        (Rights::WRITE, 1 << 3),
        (Rights::EXECUTE, 1 << 4),
        (Rights::MAP, 1 << 5),
        (Rights::GET_PROPERTY, 1 << 6),
        (Rights::SET_PROPERTY, 1 << 7),
        (Rights::ENUMERATE, 1 << 8),
        (Rights::DESTROY, 1 << 9),
        (Rights::SET_POLICY, 1 << 10),
        (Rights::GET_POLICY, 1 << 11),
        (Rights::SIGNAL, 1 << 12),
        (Rights::SIGNAL_PEER, 1 << 13),
        (Rights::WAIT, 1 << 14),
        (Rights::INSPECT, 1 << 15),
        (Rights::MANAGE_JOB, 1 << 16),
        (Rights::MANAGE_PROCESS, 1 << 17),
        (Rights::MANAGE_THREAD, 1 << 18),
        (Rights::APPLY_PROFILE, 1 << 19),
        (Rights::MANAGE_SOCKET, 1 << 20),
        (Rights::SAME_RIGHTS, 1 << 31),
    ];
    for (r, bits) in expected {
        assert_eq!(r.bits(), bits, "{r:?}");
    }
    assert_eq!(Rights::BASIC.bits(), 0xC003);
    assert_eq!(Rights::IO.bits(), 0xC);
    assert_eq!(Rights::ALL.bits(), 0x1F_FFFF);
    // NAMED lists every real right once, in bit order.
    for (i, (r, _)) in Rights::NAMED.iter().enumerate() {
        assert_eq!(r.bits(), 1 << i);
    }
}

#[test]
fn default_rights_are_zircon_v3() {
    assert_eq!(ObjType::Guest.default_rights().bits(), 0x4800B);
    assert_eq!(ObjType::Vcpu.default_rights().bits(), 0xD01F);
    assert_eq!(ObjType::Vmar.default_rights().bits(), 0x801F);
    assert_eq!(ObjType::Port.default_rights().bits(), 0x800F);
    assert_eq!(ObjType::Resource.default_rights().bits(), 0x800B);
    // Spelled out: the guest's MANAGE_THREAD (V3, not V1/V2's MANAGE_PROCESS) and the VCPU's
    // BASIC | IO | EXECUTE | SIGNAL.
    assert_eq!(
        ObjType::Guest.default_rights(),
        Rights::TRANSFER
            | Rights::DUPLICATE
            | Rights::WRITE
            | Rights::INSPECT
            | Rights::MANAGE_THREAD
    );
    assert_eq!(
        ObjType::Vcpu.default_rights(),
        Rights::BASIC | Rights::IO | Rights::EXECUTE | Rights::SIGNAL
    );
    assert_eq!(
        ObjType::Port.default_rights(),
        Rights::BASIC.difference(Rights::WAIT) | Rights::IO
    );
    for t in ObjType::ALL {
        assert!(Rights::ALL.contains(t.default_rights()), "{t:?}");
        assert_eq!(ObjType::from_raw(t as u32), Some(t));
    }
    assert_eq!(ObjType::from_raw(0), None);
}

#[test]
fn derive_rules() {
    let held = ObjType::Vcpu.default_rights();
    assert_eq!(derive_rights(held, Rights::SAME_RIGHTS), Ok(held));
    // Zircon compares with SAME_RIGHTS for equality: combined with other bits it is an
    // ordinary request for bit 31, which no handle holds.
    assert_eq!(
        derive_rights(Rights::READ, Rights::SAME_RIGHTS | Rights::READ),
        Err(DeriveError::Escalation)
    );
    assert_eq!(derive_rights(held, Rights::READ), Ok(Rights::READ));
    assert_eq!(derive_rights(held, Rights::NONE), Ok(Rights::NONE));
    assert_eq!(
        derive_rights(held, Rights::MANAGE_THREAD),
        Err(DeriveError::Escalation)
    );
    // Unknown bits are never silently dropped: asking for them is an escalation.
    assert_eq!(
        derive_rights(held, Rights::from_bits(1 << 25)),
        Err(DeriveError::Escalation)
    );
}

proptest! {
    #[test]
    fn derive_never_escalates(held in any::<u32>(), requested in any::<u32>()) {
        let (held, requested) = (Rights::from_bits(held), Rights::from_bits(requested));
        match derive_rights(held, requested) {
            Ok(out) => {
                prop_assert!(held.contains(out));
                if requested == Rights::SAME_RIGHTS {
                    prop_assert_eq!(out, held);
                } else {
                    prop_assert_eq!(out, requested);
                }
            }
            Err(DeriveError::Escalation) => {
                prop_assert!(requested != Rights::SAME_RIGHTS);
                prop_assert!(!held.contains(requested));
            }
        }
    }

    #[test]
    fn subset_requests_are_granted_exactly(held in any::<u32>(), mask in any::<u32>()) {
        let held = Rights::from_bits(held).difference(Rights::SAME_RIGHTS);
        let requested = held & Rights::from_bits(mask);
        prop_assert_eq!(derive_rights(held, requested), Ok(requested));
        // Any one right the source lacks turns the request into an escalation.
        let missing = (!held).difference(Rights::SAME_RIGHTS);
        if !missing.is_empty() {
            let one = Rights::from_bits(1 << missing.bits().trailing_zeros());
            prop_assert_eq!(derive_rights(held, requested | one), Err(DeriveError::Escalation));
        }
    }

    #[test]
    fn derive_is_monotone_in_held(held in any::<u32>(), extra in any::<u32>(), requested in any::<u32>()) {
        let requested = Rights::from_bits(requested) .difference(Rights::SAME_RIGHTS);
        let small = Rights::from_bits(held);
        let big = small | Rights::from_bits(extra);
        if derive_rights(small, requested).is_ok() {
            prop_assert_eq!(derive_rights(big, requested), Ok(requested));
        }
    }

    #[test]
    fn derive_chain_only_narrows(held in any::<u32>(), a in any::<u32>(), b in any::<u32>()) {
        let held = Rights::from_bits(held);
        if let Ok(first) = derive_rights(held, Rights::from_bits(a)) {
            if let Ok(second) = derive_rights(first, Rights::from_bits(b)) {
                prop_assert!(held.contains(second));
            }
        }
    }

    #[test]
    fn rights_algebra(a in any::<u32>(), b in any::<u32>()) {
        let (a, b) = (Rights::from_bits(a), Rights::from_bits(b));
        prop_assert!((a | b).contains(a));
        prop_assert!(a.contains(a & b));
        prop_assert_eq!(a & !b, a.difference(b));
        prop_assert!(a.difference(b).intersect(b).is_empty());
    }

    #[test]
    fn label_lookup_is_total(label in any::<u64>()) {
        match Operation::from_label(label) {
            Some(op) => prop_assert_eq!(op.label(), label),
            None => prop_assert!(label == 0 || label > Operation::ALL.len() as u64),
        }
    }
}

#[test]
fn operation_labels_round_trip() {
    assert_eq!(Operation::from_label(0), None);
    for (i, op) in Operation::ALL.iter().enumerate() {
        assert_eq!(op.label(), i as u64 + 1, "labels are dense from 1");
        assert_eq!(Operation::from_label(op.label()), Some(*op));
    }
    let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Operation::ALL.len(), "names are unique");
}

fn arg(op: Operation, name: &str) -> HandleArg {
    *op.handle_args()
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{op:?} has no argument {name}"))
}

#[test]
fn handle_args_match_zircon_v3() {
    use Operation as O;
    let cases: [(O, &str, Option<ObjType>, Rights, bool); 16] = [
        (
            O::GuestCreate,
            "resource",
            Some(ObjType::Resource),
            Rights::NONE,
            false,
        ),
        (
            O::GuestSetTrap,
            "guest",
            Some(ObjType::Guest),
            Rights::WRITE,
            false,
        ),
        (
            O::GuestSetTrap,
            "port",
            Some(ObjType::Port),
            Rights::WRITE,
            true,
        ),
        (
            O::VcpuCreate,
            "guest",
            Some(ObjType::Guest),
            Rights::MANAGE_THREAD,
            false,
        ),
        (
            O::VcpuEnter,
            "vcpu",
            Some(ObjType::Vcpu),
            Rights::EXECUTE,
            false,
        ),
        (
            O::VcpuKick,
            "vcpu",
            Some(ObjType::Vcpu),
            Rights::EXECUTE,
            false,
        ),
        (
            O::VcpuInterrupt,
            "vcpu",
            Some(ObjType::Vcpu),
            Rights::SIGNAL,
            false,
        ),
        (
            O::VcpuReadState,
            "vcpu",
            Some(ObjType::Vcpu),
            Rights::READ,
            false,
        ),
        (
            O::VcpuWriteState,
            "vcpu",
            Some(ObjType::Vcpu),
            Rights::WRITE,
            false,
        ),
        (
            O::ObjectGetInfo,
            "handle",
            Some(ObjType::Vcpu),
            Rights::INSPECT,
            false,
        ),
        (O::HandleDuplicate, "handle", None, Rights::DUPLICATE, false),
        (O::HandleReplace, "handle", None, Rights::NONE, false),
        (O::HandleClose, "handle", None, Rights::NONE, false),
        (O::HandleSend, "handle", None, Rights::TRANSFER, false),
        (
            O::PortWait,
            "port",
            Some(ObjType::Port),
            Rights::READ,
            false,
        ),
        (O::VmarMap, "vmar", Some(ObjType::Vmar), Rights::NONE, false),
    ];
    for (op, name, ty, rights, optional) in cases {
        let a = arg(op, name);
        assert_eq!(
            (a.obj_type, a.rights, a.optional),
            (ty, rights, optional),
            "{op:?} {name}"
        );
    }
    assert!(O::HandleReceive.handle_args().is_empty());
    assert!(O::PortCreate.handle_args().is_empty());
    assert_eq!(
        Operation::vmar_map_rights(true, true, true),
        Rights::READ | Rights::WRITE | Rights::EXECUTE
    );
    assert_eq!(
        Operation::vmar_map_rights(false, false, false),
        Rights::NONE
    );
}

#[test]
fn every_operation_has_a_consistent_entry() {
    let mut seen = 0;
    for op in Operation::ALL {
        let args = op.handle_args();
        // At most two handle arguments, unique names, rights within the named set, and a
        // required right the default handle of that type actually holds (else no freshly
        // created handle could ever be used for the operation).
        assert!(args.len() <= 2, "{op:?}");
        for (i, a) in args.iter().enumerate() {
            assert!(args[..i].iter().all(|b| b.name != a.name), "{op:?}");
            assert!(Rights::ALL.contains(a.rights), "{op:?}");
            if let Some(t) = a.obj_type {
                assert!(t.default_rights().contains(a.rights), "{op:?} {}", a.name);
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 21);
}
