//! Frame capabilities clients hand over with `vmar_map`: checking that a received capability is
//! a frame, learning its size, and mapping it into a guest.
//!
//! seL4 has no capability-type query outside debug kernels, and invoking an unknown capability
//! is dangerous: an endpoint "invoked" with a paging label is an IPC `Call` that could block
//! the server forever. So a received capability is accepted in two steps, neither of which can
//! block:
//! 1. [`accept`] (transport, right after the receive): `CNode_Mutate` it out of the receive
//!    slot with `preserve` semantics. seL4 refuses that for endpoint, notification and SMC
//!    capabilities (the only ones whose invocation is not a plain kernel-object call); reply
//!    capabilities cannot be transferred at all. Anything else is now a kernel object whose
//!    invocation answers at once.
//! 2. [`probe_size`] (`Backend::frame_size`): map it read-only into a private probe VSpace at
//!    addresses where only one frame size fits (`Page_Map` fails with `FailedLookup` when the
//!    page-table walk ends at another level), then unmap it. A non-frame fails every probe:
//!    `ZX_ERR_INVALID_ARGS`. A received frame capability is always unmapped (seL4 derives an
//!    unmapped copy when it transfers one), so the probe never disturbs a client mapping.
//!
//! Rights: the mapping uses the permissions of the request (`caps::sel4::frame_mapping`); the
//! kernel masks them with the capability's own rights, so a frame sent without Write maps
//! read-only even if `ZX_VM_PERM_WRITE` was asked (the guest then takes permission faults).

use core::cell::Cell;

use caps::Rights;
use sel4::{Cap, CapRights, ObjectType, VmAttributes, WORD_DEPTH, cap_type};
use vcpu_protocol::Status;
use vcpu_server::MapPerms;

use crate::alloc::{Obj, Objects};

/// A frame capability received from a client, in the server's CNode.
#[derive(Debug)]
pub struct Sel4Frame {
    /// Its slot.
    pub slot: u64,
    /// log2 of its size once [`probe_size`] learnt it (0 = not yet).
    pub bits: Cell<u8>,
}

impl Sel4Frame {
    /// A frame in `slot`, size unknown.
    pub fn new(slot: u64) -> Self {
        Sel4Frame {
            slot,
            bits: Cell::new(0),
        }
    }

    /// The capability (the kernel checks its real size; labels are the same for all sizes).
    pub fn cap(&self) -> Cap<cap_type::SmallPage> {
        Cap::from_cptr(self.slot)
    }
}

/// seL4 rights and attributes for a guest mapping with `perms`: cacheable, execute-never
/// unless executable (`caps::sel4::frame_mapping`; write without read maps nothing).
pub fn mapping(perms: MapPerms) -> (CapRights, VmAttributes) {
    let mut rights = Rights::NONE;
    if perms.read {
        rights = rights.union(Rights::READ);
    }
    if perms.write {
        rights = rights.union(Rights::WRITE);
    }
    if perms.execute {
        rights = rights.union(Rights::EXECUTE);
    }
    let m = caps::sel4::frame_mapping(rights);
    let mut attrs = VmAttributes::CACHEABLE;
    if m.execute_never {
        attrs = attrs.union(VmAttributes::EXECUTE_NEVER);
    }
    (CapRights::from_word(m.rights.word()), attrs)
}

/// Moves the capability in the receive slot `rx` to a fresh slot if it may be invoked as a
/// kernel object (see the module docs); otherwise deletes it. `rx` is empty afterwards.
pub fn accept(k: &mut Objects, rx: u64) -> Option<Sel4Frame> {
    let Ok(slot) = k.slot() else {
        k.clear(rx);
        return None;
    };
    let cnode = k.cnode();
    let moved = k.ipc().is_ok_and(|ipc| {
        cnode
            .cnode_mutate(ipc, slot, WORD_DEPTH, cnode, rx, WORD_DEPTH, 0)
            .is_ok()
    });
    if moved {
        Some(Sel4Frame::new(slot))
    } else {
        k.clear(rx);
        k.slots.free(slot);
        None
    }
}

/// Moves the capability that came with a `vmar_map_frames` request (meant to be a CNode of
/// frames) out of `rx` unchanged (`CNode_Move`; `accept`'s `CNode_Mutate` would clear a CNode's
/// guard). It is never invoked: it only serves as the source root of `CNode_Copy` in
/// [`take_from`], where the kernel checks that it is a CNode. `rx` is empty afterwards.
pub fn accept_source(k: &mut Objects, rx: u64) -> Option<Sel4Frame> {
    let Ok(slot) = k.slot() else {
        k.clear(rx);
        return None;
    };
    let cnode = k.cnode();
    let moved = k.ipc().is_ok_and(|ipc| {
        cnode
            .cnode_move(ipc, slot, WORD_DEPTH, cnode, rx, WORD_DEPTH)
            .is_ok()
    });
    if moved {
        Some(Sel4Frame::new(slot))
    } else {
        k.clear(rx);
        k.slots.free(slot);
        None
    }
}

/// Copies the capability in slot `slot` (depth 64) of the CNode in `source` into the server's
/// CNode and accepts it like a frame sent with `vmar_map` ([`accept`]: endpoints and
/// notifications are refused). `ZX_ERR_INVALID_ARGS` if `source` is no CNode, the slot is
/// empty or the capability is refused.
pub fn take_from(k: &mut Objects, source: &Sel4Frame, slot: u64) -> Result<Sel4Frame, Status> {
    let tmp = k.slot()?;
    let own = k.cnode();
    let copied = k.ipc().is_ok_and(|ipc| {
        own.cnode_copy(
            ipc,
            tmp,
            WORD_DEPTH,
            Cap::from_cptr(source.slot),
            slot,
            WORD_DEPTH,
            CapRights::ALL,
        )
        .is_ok()
    });
    let frame = if copied { accept(k, tmp) } else { None };
    k.slots.free(tmp);
    frame.ok_or(Status::ERR_INVALID_ARGS)
}

/// Guest-physical addresses of the probe VSpace and the frame size that fits at each: below
/// 0..1 GiB there is a level-2 table; a level-3 table covers 2..4 MiB; 1 GiB has no level-2
/// table. Small frames come first (the common case for client mappings of 4 KiB pages).
const PROBES: [(u64, u8); 3] = [(0x20_0000, 12), (0, 21), (0x4000_0000, 30)];

/// The private VSpace used to learn frame sizes.
pub struct Probe {
    vspace: Obj,
    /// Kept for the server's whole life (never freed).
    _tables: [Obj; 3],
}

impl Probe {
    /// Builds the probe VSpace (one VSpace, an ASID from `pool`, three page tables).
    pub fn create(k: &mut Objects, pool: Cap<cap_type::AsidPool>) -> Result<Probe, Status> {
        let vspace = k.retype(ObjectType::VSpace, 0)?;
        let assigned = k.ipc().and_then(|ipc| {
            pool.asid_pool_assign(ipc, vspace.cap())
                .map_err(crate::kernel_status)
        });
        if let Err(s) = assigned {
            k.free(vspace);
            return Err(s);
        }
        let mut tables = [vspace; 3];
        // L1 at 0, L2 for 0..1 GiB, L3 for 2..4 MiB.
        for (i, addr) in [0u64, 0, 0x20_0000].into_iter().enumerate() {
            let made = k.retype(ObjectType::PageTable, 0).and_then(|t| {
                let ipc = k.ipc()?;
                match t.cap::<cap_type::PageTable>().page_table_map(
                    ipc,
                    vspace.cap(),
                    addr,
                    VmAttributes::DEFAULT,
                ) {
                    Ok(()) => Ok(t),
                    Err(e) => {
                        k.free(t);
                        Err(crate::kernel_status(e))
                    }
                }
            });
            match made {
                Ok(t) => tables[i] = t,
                Err(s) => {
                    for t in &tables[..i] {
                        k.free(*t);
                    }
                    k.free(vspace);
                    return Err(s);
                }
            }
        }
        Ok(Probe {
            vspace,
            _tables: tables,
        })
    }
}

/// The size (log2 bytes) of `frame`, learnt by mapping it into the probe VSpace (see the module
/// docs); cached in the frame. `ZX_ERR_INVALID_ARGS` if it is no frame.
pub fn probe_size(k: &mut Objects, probe: &Probe, frame: &Sel4Frame) -> Result<u8, Status> {
    if frame.bits.get() != 0 {
        return Ok(frame.bits.get());
    }
    let ipc = k.ipc()?;
    for (addr, bits) in PROBES {
        let mapped = frame.cap().frame_map(
            ipc,
            probe.vspace.cap(),
            addr,
            CapRights::READ,
            VmAttributes::DEFAULT,
        );
        if mapped.is_ok() {
            let _ = frame.cap().frame_unmap(ipc);
            frame.bits.set(bits);
            return Ok(bits);
        }
    }
    Err(Status::ERR_INVALID_ARGS)
}

#[cfg(test)]
mod tests {
    use super::{PROBES, Probe, Sel4Frame, accept, mapping, probe_size};
    use crate::fake::{self, label};
    use sel4::{Cap, CapRights, Error, InvocationLabel as L, VmAttributes};
    use vcpu_protocol::Status;
    use vcpu_server::MapPerms;

    /// Page_Map succeeds only at guest-physical 0 (a 2 MiB frame).
    fn large_frame(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
        let refused = c.label == L::ARMPageMap.value() && c.words[0] != 0;
        (
            if refused {
                Error::FailedLookup.code()
            } else {
                0
            },
            std::vec![],
        )
    }

    /// Every invocation of slot 700 fails: not a frame.
    fn not_a_frame(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
        let refused = c.cptr == 700 || c.label == L::CNodeMutate.value();
        (
            if refused {
                Error::IllegalOperation.code()
            } else {
                0
            },
            std::vec![],
        )
    }

    #[test]
    fn probe_tells_sizes_and_caches_them() {
        fake::install(Some(large_frame));
        let mut k = fake::objects();
        let probe = Probe::create(&mut k, Cap::from_cptr(3)).unwrap();
        fake::take();
        let f = Sel4Frame::new(600);
        assert_eq!(probe_size(&mut k, &probe, &f), Ok(21));
        let calls = fake::take();
        let tried: std::vec::Vec<u64> = calls
            .iter()
            .map(|c| c.words.first().copied().unwrap_or(0))
            .collect();
        assert_eq!(
            tried,
            [0x20_0000, 0, 0],
            "4 KiB slot, then 2 MiB slot, then unmap"
        );
        assert_eq!(calls[2].label, label(L::ARMPageUnmap));
        assert_eq!(
            calls[0].words[1],
            CapRights::READ.word(),
            "probed read-only"
        );
        assert_eq!(probe_size(&mut k, &probe, &f), Ok(21));
        assert!(fake::take().is_empty(), "cached");

        fake::install(Some(not_a_frame));
        let g = Sel4Frame::new(700);
        assert_eq!(
            probe_size(&mut k, &probe, &g),
            Err(Status::ERR_INVALID_ARGS)
        );
        assert_eq!(fake::take().len(), 3, "three probes, no unmap");
    }

    #[test]
    fn accept_refuses_what_mutate_refuses() {
        fake::install(Some(not_a_frame));
        let mut k = fake::objects();
        let free = k.slots.free_count();
        assert!(accept(&mut k, 99).is_none());
        let calls = fake::take();
        assert_eq!(
            calls.iter().map(|c| c.label).collect::<std::vec::Vec<_>>(),
            [label(L::CNodeMutate), label(L::CNodeDelete)]
        );
        assert_eq!(calls[1].words, [99, 64], "the receive slot is emptied");
        assert_eq!(k.slots.free_count(), free);
        fake::install(None);
        let f = accept(&mut k, 99).expect("a kernel object");
        assert_ne!(f.slot, 99);
        assert_eq!(f.bits.get(), 0);
    }

    fn perms(read: bool, write: bool, execute: bool) -> MapPerms {
        MapPerms {
            read,
            write,
            execute,
        }
    }

    #[test]
    fn rights_and_attributes() {
        let xn = VmAttributes::CACHEABLE.union(VmAttributes::EXECUTE_NEVER);
        assert_eq!(mapping(perms(true, false, false)), (CapRights::READ, xn));
        assert_eq!(
            mapping(perms(true, true, false)),
            (CapRights::READ_WRITE, xn)
        );
        assert_eq!(
            mapping(perms(true, true, true)),
            (CapRights::READ_WRITE, VmAttributes::CACHEABLE)
        );
        assert_eq!(
            mapping(perms(true, false, true)),
            (CapRights::READ, VmAttributes::CACHEABLE)
        );
        // seL4 cannot map write-only: nothing is mapped accessible.
        assert_eq!(mapping(perms(false, true, false)).0, CapRights::NONE);
        assert_eq!(mapping(perms(false, false, false)), (CapRights::NONE, xn));
    }

    #[test]
    fn probe_addresses_are_aligned_for_their_size() {
        for (addr, bits) in PROBES {
            assert_eq!(addr % (1 << bits), 0);
        }
        // Each probe address sits where the walk stops at the probed level: 2 MiB lies in the
        // L3 table's range; 0 in the L2 table's range but outside the L3 table; 1 GiB outside
        // the L2 table.
        assert!((0x20_0000..0x40_0000).contains(&PROBES[0].0));
        assert!(PROBES[1].0 < 0x20_0000);
        assert!(PROBES[2].0 >= 1 << 30);
    }
}
