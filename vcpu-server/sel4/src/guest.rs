//! Guest address spaces: a stage-2 VSpace with an ASID, the GICV pages, page tables on demand,
//! and frame mappings.
//!
//! A guest is `seL4_ARM_VSpaceObject` (4 KiB on PA44) assigned to the server's ASID pool. The
//! GIC virtual CPU interface, 8 KiB as in Zircon (`kGicvSize`; the second page holds
//! `GICC_DIR`), is mapped at guest-physical [`GICV_GPA`] (Zircon's `kGicvAddress`) as
//! [`GICV_PAGES`] 4 KiB frames, uncached, read-write, execute-never, each through a `CNode_Copy`
//! of its GICV capability (a frame capability maps in one place only). The whole range
//! [`GICV_GPA`]`..`[`GICV_END`] is reserved: client frames over it are refused. Page tables are
//! retyped when a mapping needs them and recorded in [`PageTables`]; destroying the guest
//! deletes them, the GICV copies and the VSpace (which frees its ASID).

use sel4::{Cap, CapRights, ObjectType, VmAttributes, WORD_DEPTH, cap_type};
use vcpu_protocol::Status;

use crate::alloc::{Obj, Objects};
use crate::frame::Sel4Frame;
use crate::tables::{PageTables, needed_spans};

/// Guest-physical address of the GICV (Zircon's `kGicvAddress`).
pub const GICV_GPA: u64 = 0x8_0000_1000;
/// log2 of each GICV frame's size.
const GICV_BITS: u8 = 12;
/// Number of GICV frames: consecutive capability slots, consecutive guest-physical pages.
pub const GICV_PAGES: usize = plan::cspace::GICV_FRAMES as usize;
/// End of the guest-physical range the GICV occupies (Zircon's `kGicvAddress + kGicvSize`).
pub const GICV_END: u64 = GICV_GPA + ((GICV_PAGES as u64) << GICV_BITS);

/// A guest address space.
#[derive(Debug)]
pub struct Sel4Guest {
    /// The VSpace.
    pub vspace: Obj,
    /// Slots of this guest's copies of the GICV capabilities (page `i` mapped at
    /// [`GICV_GPA`]` + i * 4 KiB`); all `None` for a guest without a GICV.
    pub gicv: [Option<u64>; GICV_PAGES],
    /// The memory pool its objects (VSpace, page tables) are paid from ([`crate::alloc`]).
    pub pool: u8,
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

    /// Whether this guest has a GICV (its range is then reserved, even while it is being mapped).
    fn has_gicv(&self) -> bool {
        self.gicv.iter().any(Option::is_some)
    }

    fn gicv_overlaps(&self, gpa: u64, bits: u8) -> bool {
        let end = gpa.saturating_add(1 << bits);
        self.has_gicv() && gpa < GICV_END && GICV_GPA < end
    }
}

/// Creates a guest: VSpace, ASID, and the GICV mappings when `gicv` names the first of the
/// [`GICV_PAGES`] consecutive GICV capabilities. Its objects are retyped from the pool `k`
/// places in now, which must be memory pool `memory` (recorded for its later page tables).
pub fn create(
    k: &mut Objects,
    tables: &mut PageTables,
    asids: Cap<cap_type::AsidPool>,
    gicv: Option<u64>,
    memory: u8,
) -> Result<Sel4Guest, Status> {
    let vspace = k.retype(ObjectType::VSpace, 0)?;
    let assigned = k.ipc().and_then(|ipc| {
        asids
            .asid_pool_assign(ipc, vspace.cap())
            .map_err(|_| Status::ERR_NO_RESOURCES)
    });
    if let Err(s) = assigned {
        k.free(vspace);
        return Err(s);
    }
    let mut guest = Sel4Guest {
        vspace,
        gicv: [None; GICV_PAGES],
        pool: memory,
    };
    if let Some(src) = gicv {
        for page in 0..GICV_PAGES {
            if let Err(s) = map_gicv(k, tables, &mut guest, src, page) {
                destroy(k, tables, guest);
                return Err(s);
            }
        }
    }
    Ok(guest)
}

/// Copies GICV capability `first + page` and maps the copy at its page of the GICV range.
fn map_gicv(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &mut Sel4Guest,
    first: u64,
    page: usize,
) -> Result<(), Status> {
    let src = first + page as u64;
    let gpa = GICV_GPA + ((page as u64) << GICV_BITS);
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
    guest.gicv[page] = Some(copy);
    ensure_tables(k, tables, guest, gpa, GICV_BITS)?;
    let frame: Cap<cap_type::SmallPage> = Cap::from_cptr(copy);
    let ipc = k.ipc()?;
    frame
        .frame_map(
            ipc,
            guest.cap(),
            gpa,
            CapRights::READ_WRITE,
            VmAttributes::EXECUTE_NEVER,
        )
        .map_err(crate::kernel_status)?;
    tables.adjust(guest.key(), gpa, GICV_BITS + 9, 1);
    Ok(())
}

/// Destroys a guest: its page tables, its GICV copies (deleting a mapped copy unmaps it), its
/// VSpace (and so its ASID).
pub fn destroy(k: &mut Objects, tables: &mut PageTables, guest: Sel4Guest) {
    while let Some(t) = tables.pop_guest(guest.key()) {
        k.free(t.obj);
    }
    for copy in guest.gicv.into_iter().flatten() {
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
    let mapped = ensure_tables(k, tables, guest, gpa, bits).and_then(|()| {
        let ipc = k.ipc()?;
        frame
            .cap()
            .frame_map(ipc, guest.cap(), gpa, rights, attrs)
            .map_err(|e| match e {
                // The walk ended at another level than the probed size: not the frame we probed.
                sel4::Error::FailedLookup | sel4::Error::AlignmentError => Status::ERR_INVALID_ARGS,
                e => crate::kernel_status(e),
            })
    });
    if let Err(s) = mapped {
        // Tables made for this frame must not outlive the failure.
        free_empty_tables(k, tables, guest.key(), gpa, bits + 9);
        return Err(s);
    }
    let ipc = k.ipc()?;
    tables.adjust(guest.key(), gpa, bits + 9, 1);
    let size = 1u64 << bits;
    // Best effort: cache maintenance cannot fail on a mapped frame.
    let _ = frame.cap().frame_clean_invalidate_data(ipc, 0, size);
    let _ = frame.cap().frame_unify_instruction(ipc, 0, size);
    Ok(())
}

/// Remaps a frame mapped by [`map`] at `gpa` with new rights and attributes (`zx_vmar_protect`):
/// seL4's `Page_Map` of an already mapped capability at its own address and VSpace changes the
/// entry in place (no tables change).
pub fn protect(
    k: &mut Objects,
    guest: &Sel4Guest,
    gpa: u64,
    frame: &Sel4Frame,
    rights: CapRights,
    attrs: VmAttributes,
) -> Result<(), Status> {
    let ipc = k.ipc()?;
    frame
        .cap()
        .frame_map(ipc, guest.cap(), gpa, rights, attrs)
        .map_err(crate::kernel_status)
}

/// Unmaps a frame mapped by [`map`] at `gpa`, then frees the page tables the mapping leaves
/// empty, deepest first (deleting a table's only capability unmaps it from its parent).
///
/// The mapping is gone whether or not `Page_Unmap` succeeds: it fails only when the frame's
/// capability no longer exists (its owner's memory was revoked, which unmapped the frame), so
/// the table's live count drops either way.
pub fn unmap(
    k: &mut Objects,
    tables: &mut PageTables,
    guest: &Sel4Guest,
    gpa: u64,
    frame: &Sel4Frame,
) {
    if let Ok(ipc) = k.ipc() {
        // Best effort: see above.
        let _ = frame.cap().frame_unmap(ipc);
    }
    let span = frame.bits.get() + 9;
    tables.adjust(guest.key(), gpa, span, -1);
    free_empty_tables(k, tables, guest.key(), gpa, span);
}

/// Frees the table of guest `key` with `span` covering `gpa` if it is empty, then its parent if
/// that is empty then, and so on up to the first table still in use (a level with no table, as
/// after a mapping that failed half-way, is passed over). Deleting a table's only capability
/// unmaps it.
fn free_empty_tables(k: &mut Objects, tables: &mut PageTables, key: u64, gpa: u64, span: u8) {
    for span in crate::tables::SPANS
        .into_iter()
        .rev()
        .filter(|&s| s >= span)
    {
        if tables.find(key, gpa, span).is_none() {
            continue;
        }
        match tables.remove_if_empty(key, gpa, span) {
            Some(t) => k.free(t.obj),
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{GICV_END, GICV_GPA, GICV_PAGES, Sel4Guest, create, destroy, map, unmap};
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
        let g = create(&mut k, &mut t, Cap::from_cptr(3), Some(5), 0).unwrap();
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
        // The second page shares the first one's tables.
        expected.extend_from_slice(&[L::CNodeCopy, L::ARMPageMap].map(label));
        assert_eq!(labels(&calls), expected);
        let copies: std::vec::Vec<_> = calls
            .iter()
            .filter(|c| c.label == label(L::CNodeCopy))
            .collect();
        let maps: std::vec::Vec<_> = calls
            .iter()
            .filter(|c| c.label == label(L::ARMPageMap))
            .collect();
        assert_eq!((copies.len(), maps.len()), (GICV_PAGES, GICV_PAGES));
        for (i, map) in maps.iter().enumerate() {
            let copy = g.gicv[i].unwrap();
            assert_eq!(map.cptr, copy, "the copy is mapped, not slot {}", 5 + i);
            assert_ne!(copy, 5 + i as u64);
            let gpa = GICV_GPA + 0x1000 * i as u64;
            // Execute-never only: uncached, RW.
            assert_eq!(map.words, [gpa, CapRights::READ_WRITE.word(), 4]);
            assert_eq!(map.caps, [g.vspace.slot]);
        }
        assert_ne!(g.gicv[0], g.gicv[1]);

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

        // Unmapped, it leaves its L3 and L2 tables empty: both are freed at once, deepest
        // first; the L1 table stays (the GICV's tables hang from it).
        let tables_before = t.len();
        unmap(&mut k, &mut t, &g, 0x1000, &small);
        let calls = fake::take();
        assert_eq!(
            labels(&calls),
            [L::ARMPageUnmap, L::CNodeDelete, L::CNodeDelete].map(label)
        );
        assert_eq!(t.len(), tables_before - 2);
        assert!(t.find(g.key(), 0x1000, 21).is_none());
        assert!(t.find(g.key(), 0x1000, 30).is_none());
        assert_eq!(
            t.find(g.key(), 0x1000, 39).unwrap().live,
            1,
            "the GICV's L2"
        );
        // A 2 MiB frame at 0 then needs a new L2 table only.
        map(&mut k, &mut t, &g, 0, &big, rw, attrs).unwrap();
        let calls = fake::take();
        assert_eq!(
            labels(&calls)[..3],
            [L::UntypedRetype, L::ARMPageTableMap, L::ARMPageMap].map(label)
        );

        let before = k.slots.free_count();
        destroy(&mut k, &mut t, g);
        let deletes = fake::take()
            .iter()
            .filter(|c| c.label == label(L::CNodeDelete))
            .count();
        assert_eq!(
            deletes,
            4 + 2 + 1,
            "tables (L1, 2 x L2, L3), both GICV copies, VSpace"
        );
        assert_eq!(k.slots.free_count(), before + 7);
        assert_eq!(k.untyped.free_bytes(), 1 << 20, "all memory back");
    }

    #[test]
    fn tables_of_unmapped_frames_do_not_accumulate() {
        // The attack of issue 10: 4 KiB frames 2 MiB apart each need their own L3 table. Each
        // unmap frees it, so a thousand map/unmap rounds need no more records than one.
        // Made in a client pool: one object per 4 KiB cell, so every freed table's memory is
        // free again at once.
        fake::install(None);
        let mut k = fake::objects();
        fake::add_pool(&mut k, 1, 16);
        k.set_payer(1);
        let mut t = PageTables::new();
        let g = create(&mut k, &mut t, Cap::from_cptr(3), Some(5), 0).unwrap();
        let (start_tables, start_free) = (t.len(), k.untyped.pool_free_bytes(1));
        assert_eq!(
            start_free,
            12 * 4096,
            "VSpace and three GICV tables: one cell each"
        );
        let frame = Sel4Frame::new(901);
        frame.bits.set(12);
        let (rw, attrs) = (CapRights::READ_WRITE, VmAttributes::CACHEABLE);
        for i in 0..1000u64 {
            let gpa = i << 21;
            map(&mut k, &mut t, &g, gpa, &frame, rw, attrs).unwrap();
            assert!(t.len() <= start_tables + 2, "round {i}: {} tables", t.len());
            unmap(&mut k, &mut t, &g, gpa, &frame);
            assert_eq!(t.len(), start_tables, "round {i}: the new tables are gone");
        }
        assert!(!t.is_full());
        assert_eq!(k.untyped.pool_free_bytes(1), start_free);
        destroy(&mut k, &mut t, g);
        assert_eq!(t.len(), 0);
        assert_eq!(k.untyped.pool_free_bytes(1), 16 * 4096, "all the pool back");
        assert_eq!(
            k.untyped.free_bytes(),
            (1 << 20) + 16 * 4096,
            "nothing else used"
        );
    }

    #[test]
    fn gicv_overlap() {
        let g = Sel4Guest {
            vspace: Obj {
                slot: 9,
                untyped: 0,
            },
            gicv: [Some(10), Some(11)],
            pool: 0,
        };
        assert_eq!(GICV_END, 0x8_0000_3000);
        assert!(g.gicv_overlaps(GICV_GPA, 12));
        assert!(g.gicv_overlaps(0x8_0000_2000, 12), "the second GICV page");
        assert!(g.gicv_overlaps(0x8_0000_0000, 21));
        assert!(g.gicv_overlaps(0x8_0000_0000, 30));
        assert!(!g.gicv_overlaps(0x8_0000_0000, 12));
        assert!(!g.gicv_overlaps(0x8_0000_3000, 12));
        assert!(!g.gicv_overlaps(0x4000_0000, 21));
        let half = Sel4Guest {
            gicv: [Some(10), None],
            ..g
        };
        assert!(
            half.gicv_overlaps(0x8_0000_2000, 12),
            "reserved while mapping"
        );
        let none = Sel4Guest {
            gicv: [None; GICV_PAGES],
            ..half
        };
        assert!(!none.gicv_overlaps(GICV_GPA, 12));
    }
}
