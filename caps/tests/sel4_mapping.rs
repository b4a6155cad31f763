//! Properties of the Zircon → seL4 rights mapping: total, monotone, never escalating.

use caps::Rights;
use caps::sel4::{
    CapKind, FrameMapping, Sel4Rights, endpoint_rights, endpoint_zircon_rights, frame_mapping,
    frame_zircon_rights, notification_rights, notification_zircon_rights,
};
use proptest::prelude::*;

/// Every seL4 rights word and XN combination (the seL4 side is small enough to enumerate).
fn all_sel4() -> impl Iterator<Item = Sel4Rights> {
    (0..16).map(Sel4Rights::from_word)
}

#[test]
fn sel4_bits_are_the_cap_rights_word() {
    assert_eq!(Sel4Rights::WRITE.word(), 1);
    assert_eq!(Sel4Rights::READ.word(), 2);
    assert_eq!(Sel4Rights::GRANT.word(), 4);
    assert_eq!(Sel4Rights::GRANT_REPLY.word(), 8);
    assert_eq!(Sel4Rights::ALL.word(), 0xF);
    assert_eq!(Sel4Rights::from_word(u64::MAX), Sel4Rights::ALL);
    assert_eq!(Sel4Rights::from_word(0x30), Sel4Rights::NONE);
}

#[test]
fn documented_mapping() {
    let rw = Sel4Rights::READ | Sel4Rights::WRITE;
    let call = Sel4Rights::WRITE | Sel4Rights::GRANT_REPLY;
    assert_eq!(endpoint_rights(Rights::WRITE), call);
    assert_eq!(endpoint_rights(Rights::READ), Sel4Rights::READ);
    assert_eq!(endpoint_rights(Rights::TRANSFER), Sel4Rights::GRANT);
    assert_eq!(endpoint_rights(Rights::ALL), Sel4Rights::ALL);
    assert_eq!(
        endpoint_rights(Rights::EXECUTE | Rights::SIGNAL),
        Sel4Rights::NONE
    );
    assert_eq!(notification_rights(Rights::SIGNAL), Sel4Rights::WRITE);
    assert_eq!(notification_rights(Rights::WAIT), Sel4Rights::READ);
    assert_eq!(
        notification_rights(Rights::READ | Rights::WRITE),
        Sel4Rights::NONE
    );
    assert_eq!(
        frame_mapping(Rights::READ | Rights::WRITE | Rights::EXECUTE),
        FrameMapping {
            rights: rw,
            execute_never: false
        }
    );
    assert_eq!(
        frame_mapping(Rights::WRITE),
        FrameMapping {
            rights: Sel4Rights::NONE,
            execute_never: true
        }
    );
    // Back: an endpoint cap that can Send but not get a reply cannot Call: no WRITE.
    assert_eq!(endpoint_zircon_rights(Sel4Rights::WRITE), Rights::NONE);
    assert_eq!(endpoint_zircon_rights(call), Rights::WRITE);
    assert_eq!(
        endpoint_zircon_rights(Sel4Rights::ALL),
        Rights::READ | Rights::WRITE | Rights::TRANSFER
    );
    assert_eq!(
        notification_zircon_rights(Sel4Rights::ALL),
        Rights::SIGNAL | Rights::WAIT
    );
    // A write-only frame maps with no access, so it carries nothing.
    let write_only = FrameMapping {
        rights: Sel4Rights::WRITE,
        execute_never: true,
    };
    assert_eq!(frame_zircon_rights(write_only), Rights::NONE);
    let rwx = FrameMapping {
        rights: rw,
        execute_never: false,
    };
    assert_eq!(
        frame_zircon_rights(rwx),
        Rights::READ | Rights::WRITE | Rights::EXECUTE
    );
}

#[test]
fn back_then_to_never_exceeds_the_cap() {
    for kind in CapKind::ALL {
        for s in all_sel4() {
            let back = kind.zircon_rights(s);
            assert!(s.contains(kind.sel4_rights(back)), "{kind:?} {s:?}");
            assert!(kind.mapped_rights().contains(back), "{kind:?} {s:?}");
        }
    }
    for s in all_sel4() {
        for execute_never in [false, true] {
            let m = FrameMapping {
                rights: s,
                execute_never,
            };
            assert!(frame_mapping(frame_zircon_rights(m)).is_within(m), "{m:?}");
        }
    }
}

proptest! {
    #[test]
    fn total_and_within_the_word(bits in any::<u32>()) {
        let r = Rights::from_bits(bits);
        for kind in CapKind::ALL {
            let s = kind.sel4_rights(r);
            prop_assert!(Sel4Rights::ALL.contains(s));
            // Only the mapped rights matter: unknown and unmapped bits change nothing.
            prop_assert_eq!(s, kind.sel4_rights(r & kind.mapped_rights()));
        }
        prop_assert_eq!(frame_mapping(r), frame_mapping(r & CapKind::Frame.mapped_rights()));
    }

    #[test]
    fn monotone(a in any::<u32>(), b in any::<u32>()) {
        let small = Rights::from_bits(a);
        let big = small | Rights::from_bits(b);
        for kind in CapKind::ALL {
            prop_assert!(kind.sel4_rights(big).contains(kind.sel4_rights(small)), "{:?}", kind);
        }
        prop_assert!(frame_mapping(small).is_within(frame_mapping(big)));
    }

    #[test]
    fn never_escalates(bits in any::<u32>()) {
        let r = Rights::from_bits(bits);
        for kind in CapKind::ALL {
            let back = kind.zircon_rights(kind.sel4_rights(r));
            prop_assert!((r & kind.mapped_rights()).contains(back), "{:?} {:?}", kind, r);
            // The round trip loses nothing the cap can express.
            prop_assert_eq!(kind.sel4_rights(back), kind.sel4_rights(r));
        }
        let back = frame_zircon_rights(frame_mapping(r));
        prop_assert!((r & CapKind::Frame.mapped_rights()).contains(back));
        prop_assert_eq!(frame_mapping(back), frame_mapping(r));
    }

    #[test]
    fn back_is_total_and_monotone(a in any::<u64>(), b in any::<u64>()) {
        let small = Sel4Rights::from_word(a);
        let big = small | Sel4Rights::from_word(b);
        for kind in CapKind::ALL {
            prop_assert!(kind.zircon_rights(big).contains(kind.zircon_rights(small)));
        }
    }
}
