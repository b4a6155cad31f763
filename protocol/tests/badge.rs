//! Badges: round trips and rejection of every pattern this system does not mint.

use proptest::prelude::*;
use vcpu_protocol::{Badge, ClientId, Sender, ThreadId};

#[test]
fn pinned_layout() {
    let b = Badge::Client(Sender {
        client: ClientId(0x1234),
        thread: ThreadId(0x5678),
    });
    assert_eq!(b.encode(), 1 << 63 | 0x1234 << 32 | 0x5678);
    let f = Badge::VcpuFault {
        slot: 0x0102,
        generation: 0x0304,
    };
    assert_eq!(f.encode(), 1 << 62 | 0x0304 << 16 | 0x0102);
    assert_eq!(Badge::Invalid.encode(), 0);
    assert_eq!(Badge::decode(0), Badge::Invalid);
    // Both kind bits, or a stray bit in a field the kind leaves zero.
    assert_eq!(Badge::decode(3 << 62), Badge::Invalid);
    assert_eq!(Badge::decode(1 << 63 | 1 << 16), Badge::Invalid);
    assert_eq!(Badge::decode(1 << 62 | 1 << 32), Badge::Invalid);
    assert_eq!(Badge::decode(1), Badge::Invalid);
    // The supervisor's badge is bit 61 alone.
    assert_eq!(Badge::Supervisor.encode(), 1 << 61);
    assert_eq!(Badge::decode(1 << 61), Badge::Supervisor);
    assert_eq!(Badge::decode(1 << 61 | 1), Badge::Invalid);
    assert_eq!(Badge::decode(1 << 63 | 1 << 61), Badge::Invalid);
}

fn any_badge() -> impl Strategy<Value = Badge> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(c, t)| Badge::Client(Sender {
            client: ClientId(c),
            thread: ThreadId(t)
        })),
        (any::<u16>(), any::<u16>())
            .prop_map(|(slot, generation)| Badge::VcpuFault { slot, generation }),
        Just(Badge::Supervisor),
        Just(Badge::Invalid),
    ]
}

proptest! {
    #[test]
    fn round_trip(b in any_badge()) {
        prop_assert_eq!(Badge::decode(b.encode()), b);
    }

    #[test]
    fn decode_is_canonical(word in any::<u64>()) {
        // Every word decodes; a word that decodes to a valid badge is that badge's encoding,
        // so no two words name the same sender.
        match Badge::decode(word) {
            Badge::Invalid => {}
            b => prop_assert_eq!(b.encode(), word),
        }
    }

    #[test]
    fn invalid_patterns(word in any::<u64>()) {
        let client_ok = word >> 62 == 0b10 && word & 0x3FFF_0000_FFFF_0000 == 0;
        let fault_ok = word >> 62 == 0b01 && word & 0x3FFF_FFFF_0000_0000 == 0;
        prop_assert_eq!(Badge::decode(word) != Badge::Invalid, client_ok || fault_ok);
    }
}
