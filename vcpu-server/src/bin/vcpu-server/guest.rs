//! Guest address spaces: a stage-2 VSpace with an ASID, the GICV page, page tables on demand,
//! and frame mappings.
//!
//! A guest is `seL4_ARM_VSpaceObject` (4 KiB on PA44) assigned to the server's ASID pool. The
//! GIC virtual CPU interface page is mapped at guest-physical [`GICV_GPA`] (Zircon's
//! `kGicvAddress`) uncached, read-write, execute-never, through a `CNode_Copy` of the GICV
//! capability (a frame capability maps in one place only). Page tables are retyped when a
//! mapping needs them and recorded in [`PageTables`]; destroying the guest deletes them, the
//! GICV copy and the VSpace (which frees its ASID).

use sel4::{Cap, CapRights, ObjectType, VmAttributes, WORD_DEPTH, cap_type};
use vcpu_protocol::Status;

use crate::alloc::{Obj, Objects};
use crate::frame::Sel4Frame;
use crate::tables::{PageTables, needed_spans};

/// Guest-physical address of the GICV page (Zircon's `kGicvAddress`).
pub const GICV_GPA: u64 = 0x8_0000_1000;
/// log2 of the GICV frame size.
const GICV_BITS: u8 = 12;

/// A guest address space.
#[derive(Debug)]
pub struct Sel4Guest {
    /// The VSpace.
    pub vspace: Obj,
    /// Slot of this guest's copy of the GICV capability (mapped at [`GICV_GPA`]), if any.
    pub gicv: Option<u64>,
}

impl Sel4Guest {
    /// The key of this guest's page-table records.
    pub fn key(&self) -> u64 {
        self.vspace.slot
    }

    /// The VSpace capability.
    pub fn cap(&self) -> Cap<cap_type::VSpace> {
        self.vspace.cap()
    }

    fn gicv_overlaps(&self, gpa: u64, bits: u8) -> bool {
        let end = gpa.saturating_add(1 << bits);
        self.gicv.is_some() && gpa < GICV_GPA + (1 << GICV_BITS) && GICV_GPA < end
    }
}

/// Creates a guest: VSpace, ASID, and the GICV mapping when `gicv` names a GICV capability.
pub fn create(
    k: &mut Objects,
    tables: &mut PageTables,
    pool: Cap<cap_type::AsidPool>,
    gicv: Option<u64>,
) -> Result<Sel4Guest, Status> {
    let vspace = k.retype(ObjectType::VSpace, 0)?;
    let assigned = k.ipc().and_then(|ipc| {
        pool.asid_pool_assign(ipc, vspace.cap())
            .map_err(|_| Status::ERR_NO_RESOURCES)
    });
    if let Err(s) = assigned {
        k.free(vspace);
        return Err(s);
    }
    let mut guest = Sel4Guest { vspace, gicv: None };
    if let Some(src) = gicv {
        if let Err(s) = map_gicv(k, tables, &mut guest, src) {
            destroy(k, tables, guest);
            return Err(s);
        }
    }
    Ok(guest)
}

fn map_gicv(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &mut Sel4Guest,
    src: u64,
) -> Result<(), Status> {
    let copy = k.slot()?;
    let cnode = k.cnode();
    let copied = k.ipc().and_then(|ipc| {
        cnode
            .cnode_copy(
                ipc,
                copy,
                WORD_DEPTH,
                cnode,
                src,
                WORD_DEPTH,
                CapRights::READ_WRITE,
            )
            .map_err(crate::kernel_status)
    });
    if let Err(s) = copied {
        k.slots.free(copy);
        return Err(s);
    }
    guest.gicv = Some(copy);
    ensure_tables(k, tables, guest, GICV_GPA, GICV_BITS)?;
    let frame: Cap<cap_type::SmallPage> = Cap::from_cptr(copy);
    let ipc = k.ipc()?;
    frame
        .frame_map(
            ipc,
            guest.cap(),
            GICV_GPA,
            CapRights::READ_WRITE,
            VmAttributes::EXECUTE_NEVER,
        )
        .map_err(crate::kernel_status)?;
    tables.adjust(guest.key(), GICV_GPA, GICV_BITS + 9, 1);
    Ok(())
}

/// Destroys a guest: its page tables, its GICV copy, its VSpace (and so its ASID).
pub fn destroy(k: &mut Objects, tables: &mut PageTables, guest: Sel4Guest) {
    while let Some(t) = tables.pop_guest(guest.key()) {
        k.free(t.obj);
    }
    if let Some(copy) = guest.gicv {
        k.release_slot(copy);
    }
    k.free(guest.vspace);
}

/// Installs the page tables a frame of 2^`bits` bytes at `gpa` needs, removing empty tables
/// that lie where the frame goes. `ZX_ERR_ALREADY_EXISTS` if live mappings are in the way.
fn ensure_tables(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &Sel4Guest,
    gpa: u64,
    bits: u8,
) -> Result<(), Status> {
    let key = guest.key();
    loop {
        let inside = tables
            .removable_inside(key, gpa, bits)
            .ok_or(Status::ERR_ALREADY_EXISTS)?;
        let Some(&i) = inside.first() else {
            break;
        };
        if let Some(t) = tables.remove_at(i) {
            // Deleting the last capability of a mapped table unmaps it.
            k.free(t.obj);
        }
    }
    for span in needed_spans(bits) {
        if tables.find(key, gpa, span).is_some() {
            continue;
        }
        if tables.is_full() {
            return Err(Status::ERR_NO_MEMORY);
        }
        let t = k.retype(ObjectType::PageTable, 0)?;
        let ipc = k.ipc()?;
        let mapped = t.cap::<cap_type::PageTable>().page_table_map(
            ipc,
            guest.cap(),
            gpa,
            VmAttributes::DEFAULT,
        );
        if let Err(e) = mapped {
            k.free(t);
            return Err(crate::kernel_status(e));
        }
        if !tables.insert(key, gpa, span, t) {
            k.free(t);
            return Err(Status::ERR_NO_MEMORY);
        }
    }
    Ok(())
}

/// Maps `frame` (size already probed) at `gpa` with seL4 `rights` and `attrs`, then cleans it to
/// the point of coherency (a guest starts with its caches off).
pub fn map(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &Sel4Guest,
    gpa: u64,
    frame: &Sel4Frame,
    rights: CapRights,
    attrs: VmAttributes,
) -> Result<(), Status> {
    let bits = frame.bits.get();
    if !matches!(bits, 12 | 21 | 30) || gpa % (1 << bits) != 0 {
        return Err(Status::ERR_INVALID_ARGS);
    }
    if guest.gicv_overlaps(gpa, bits) {
        return Err(Status::ERR_ALREADY_EXISTS);
    }
    ensure_tables(k, tables, guest, gpa, bits)?;
    let ipc = k.ipc()?;
    frame
        .cap()
        .frame_map(ipc, guest.cap(), gpa, rights, attrs)
        .map_err(|e| match e {
            // The walk ended at another level than the probed size: not the frame we probed.
            sel4::Error::FailedLookup | sel4::Error::AlignmentError => Status::ERR_INVALID_ARGS,
            e => crate::kernel_status(e),
        })?;
    tables.adjust(guest.key(), gpa, bits + 9, 1);
    let size = 1u64 << bits;
    // Best effort: cache maintenance cannot fail on a mapped frame.
    let _ = frame.cap().frame_clean_invalidate_data(ipc, 0, size);
    let _ = frame.cap().frame_unify_instruction(ipc, 0, size);
    Ok(())
}

/// Unmaps a frame mapped by [`map`] at `gpa`.
pub fn unmap(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &Sel4Guest,
    gpa: u64,
    frame: &Sel4Frame,
) {
    let Ok(ipc) = k.ipc() else {
        return;
    };
    if frame.cap().frame_unmap(ipc).is_ok() {
        tables.adjust(guest.key(), gpa, frame.bits.get() + 9, -1);
    }
}

#[cfg(test)]
mod tests {
    use super::{GICV_GPA, Sel4Guest, create, destroy, map, unmap};
    use crate::alloc::Obj;
    use crate::fake::{self, label};
    use crate::frame::Sel4Frame;
    use crate::tables::PageTables;
    use sel4::{Cap, CapRights, InvocationLabel as L, VmAttributes};
    use vcpu_protocol::Status;

    fn labels(calls: &[fake::Call]) -> std::vec::Vec<u64> {
        calls.iter().map(|c| c.label).collect()
    }

    #[test]
    fn guest_life_cycle_with_gicv_and_tables() {
        fake::install(None);
        let mut k = fake::objects();
        let mut t = PageTables::new();
        let g = create(&mut k, &mut t, Cap::from_cptr(3), Some(5)).unwrap();
        let calls = fake::take();
        let pt = [L::UntypedRetype, L::ARMPageTableMap].map(label);
        let mut expected = std::vec![
            label(L::UntypedRetype),
            label(L::ARMASIDPoolAssign),
            label(L::CNodeCopy),
        ];
        for _ in 0..3 {
            expected.extend_from_slice(&pt);
        }
        expected.push(label(L::ARMPageMap));
        assert_eq!(labels(&calls), expected);
        let gicv_map = calls.last().unwrap();
        assert_eq!(
            gicv_map.cptr,
            g.gicv.unwrap(),
            "the copy is mapped, not slot 5"
        );
        assert_eq!(gicv_map.words, [GICV_GPA, CapRights::READ_WRITE.word(), 4]);
        assert_eq!(gicv_map.caps, [g.vspace.slot]);

        // A 2 MiB frame over the GICV's table: refused before any invocation.
        let big = Sel4Frame::new(900);
        big.bits.set(21);
        let rw = CapRights::READ_WRITE;
        let attrs = VmAttributes::CACHEABLE;
        assert_eq!(
            map(&mut k, &mut t, &g, 0x8_0000_0000, &big, rw, attrs),
            Err(Status::ERR_ALREADY_EXISTS)
        );
        assert!(fake::take().is_empty());

        // A 4 KiB frame at 0x1000: an L2 and an L3 table (the L1 is shared), map, clean.
        let small = Sel4Frame::new(901);
        small.bits.set(12);
        map(&mut k, &mut t, &g, 0x1000, &small, rw, attrs).unwrap();
        let mut expected = std::vec::Vec::new();
        expected.extend_from_slice(&pt);
        expected.extend_from_slice(&pt);
        expected.extend_from_slice(
            &[
                L::ARMPageMap,
                L::ARMPageCleanInvalidate_Data,
                L::ARMPageUnify_Instruction,
            ]
            .map(label),
        );
        assert_eq!(labels(&fake::take()), expected);

        // Unmapped, its empty L3 table gives way to a 2 MiB frame at 0.
        unmap(&mut k, &mut t, &g, 0x1000, &small);
        assert_eq!(labels(&fake::take()), [label(L::ARMPageUnmap)]);
        map(&mut k, &mut t, &g, 0, &big, rw, attrs).unwrap();
        let calls = fake::take();
        assert_eq!(
            calls[0].label,
            label(L::CNodeDelete),
            "the empty L3 table goes"
        );
        assert_eq!(calls[1].label, label(L::ARMPageMap), "no new table needed");

        let before = k.slots.free_count();
        destroy(&mut k, &mut t, g);
        let deletes = fake::take()
            .iter()
            .filter(|c| c.label == label(L::CNodeDelete))
            .count();
        assert_eq!(
            deletes,
            4 + 1 + 1,
            "tables (L1, 2 x L2, L3), GICV copy, VSpace"
        );
        assert_eq!(k.slots.free_count(), before + 6);
        assert_eq!(k.untyped.free_bytes(), 1 << 20, "all memory back");
    }

    #[test]
    fn gicv_overlap() {
        let g = Sel4Guest {
            vspace: Obj {
                slot: 9,
                untyped: 0,
            },
            gicv: Some(10),
        };
        assert!(g.gicv_overlaps(GICV_GPA, 12));
        assert!(g.gicv_overlaps(0x8_0000_0000, 21));
        assert!(g.gicv_overlaps(0x8_0000_0000, 30));
        assert!(!g.gicv_overlaps(0x8_0000_0000, 12));
        assert!(!g.gicv_overlaps(0x8_0000_2000, 12));
        assert!(!g.gicv_overlaps(0x4000_0000, 21));
        let none = Sel4Guest { gicv: None, ..g };
        assert!(!none.gicv_overlaps(GICV_GPA, 12));
    }
}
