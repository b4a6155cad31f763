//! Slots of the root CNode and objects retyped from the untyped capabilities of the BootInfo.
//!
//! - [`Slots`] tracks which root-CNode slots are empty: the BootInfo's empty region at start;
//!   slots are returned when their capability is moved out or deleted.
//! - [`Pool`] mirrors, for every untyped, the kernel's free pointer. `Untyped_Retype` places an
//!   object at the free pointer aligned up to the object's size and moves the pointer past it
//!   (the kernel only resets an untyped that has no children, and the root task never deletes
//!   every child of one), so the pool predicts where each object lands and whether it fits.
//! - [`Alloc`] performs the retypes: RAM objects go into the RAM untyped that wastes the least
//!   to alignment (then the smallest, to keep large untypeds whole); a frame at a fixed physical
//!   address (a device frame such as the GICV, or `vm-memory`, which the kernel hands out as
//!   device untyped) is reached by retyping "filler" untyped objects up to the address from the
//!   untyped that covers it, then checked with `Page_GetAddress`.
//! - An [`Instance`] is the memory of one restartable component: while one is open
//!   ([`Alloc::open_instance`]) every object is retyped from its own untyped and every root
//!   slot taken is recorded, so that [`Alloc::revoke_instance`] (`CNode_Revoke` of that
//!   untyped) destroys exactly the component's objects, frees those slots, and leaves the
//!   untyped empty for the next instance: a restart reuses the same memory, nothing leaks.

use sel4::{Cap, CapType, ObjectType, WORD_DEPTH, cap_type, init};

use crate::error::{BootError, Cause, Context};

/// Slots of the root CNode the root task uses (2^12, the kernel's `ROOT_CNODE_SIZE_BITS`).
pub const ROOT_SLOTS: usize = 4096;

/// Empty slots of the root CNode.
pub struct Slots {
    free: [u64; ROOT_SLOTS / 64],
}

impl Slots {
    /// Slots `empty` (the BootInfo's empty region, clipped to [`ROOT_SLOTS`]) are free.
    pub fn new(empty: core::ops::Range<u64>) -> Slots {
        let mut s = Slots {
            free: [0; ROOT_SLOTS / 64],
        };
        for slot in empty.start..empty.end.min(ROOT_SLOTS as u64) {
            s.free(slot);
        }
        s
    }

    /// Takes the lowest empty slot.
    pub fn take(&mut self) -> Option<u64> {
        let (i, word) = self.free.iter_mut().enumerate().find(|(_, w)| **w != 0)?;
        let bit = word.trailing_zeros();
        *word &= !(1 << bit);
        Some(i as u64 * 64 + u64::from(bit))
    }

    /// Marks `slot` empty again.
    pub fn free(&mut self, slot: u64) {
        if let Some(word) = self.free.get_mut((slot / 64) as usize) {
            *word |= 1 << (slot % 64);
        }
    }

    /// Number of empty slots.
    pub fn count(&self) -> u32 {
        self.free.iter().map(|w| w.count_ones()).sum()
    }
}

/// One untyped capability and the kernel's free pointer in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Untyped {
    /// Its slot in the root CNode.
    pub slot: u64,
    /// Physical base address.
    pub paddr: u64,
    /// Size, log2 bytes.
    pub size_bits: u8,
    /// Device memory (only frames and untyped can be made from it; not zeroed).
    pub device: bool,
    /// Bytes before the free pointer.
    pub used: u64,
}

const fn align_up(v: u64, bits: u32) -> Option<u64> {
    let mask = (1u64 << bits) - 1;
    match v.checked_add(mask) {
        Some(x) => Some(x & !mask),
        None => None,
    }
}

impl Untyped {
    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.paddr.saturating_add(1u64 << self.size_bits)
    }

    /// The free pointer.
    pub const fn next_free(&self) -> u64 {
        self.paddr + self.used
    }

    /// Where the kernel would place an object of `2^bits` bytes, if it fits.
    pub fn place(&self, bits: u32) -> Option<u64> {
        if bits >= 64 || bits > u32::from(self.size_bits) {
            return None;
        }
        let at = align_up(self.next_free(), bits)?;
        (at.checked_add(1 << bits)? <= self.end()).then_some(at)
    }

    /// Records that an object of `2^bits` bytes was placed at `at`.
    pub fn commit(&mut self, at: u64, bits: u32) {
        self.used = at + (1 << bits) - self.paddr;
    }
}

/// Size (log2 bytes) of the next filler object on the way from `cur` to `target`
/// (`cur < target`, both 16-byte aligned): as large as possible while aligned at `cur` (so
/// nothing is lost to alignment) and not past `target`.
pub fn filler_bits(cur: u64, target: u64) -> u32 {
    let distance = target - cur;
    let fits = 63 - distance.leading_zeros();
    cur.trailing_zeros().min(fits)
}

/// Every untyped of the BootInfo, and the fixed physical addresses still to be handed out.
pub struct Pool {
    list: heapless::Vec<Untyped, { sel4::MAX_BOOTINFO_UNTYPEDS }>,
    reserved: heapless::Vec<u64, 64>,
}

impl Pool {
    /// The pool of `untypeds` (none used yet).
    pub fn new(untypeds: impl Iterator<Item = sel4::UntypedDesc>) -> Pool {
        let mut list = heapless::Vec::new();
        for u in untypeds {
            let entry = Untyped {
                slot: u.slot,
                paddr: u.paddr,
                size_bits: u.size_bits,
                device: u.is_device,
                used: 0,
            };
            if list.push(entry).is_err() {
                break; // the BootInfo holds at most as many as the list
            }
        }
        Pool {
            list,
            reserved: heapless::Vec::new(),
        }
    }

    /// Keeps ordinary allocations from passing `paddr` (the start of memory a plan fixes), so
    /// that [`Alloc::frame_at`] can still reach it later. Returns false if too many addresses
    /// are reserved already.
    pub fn reserve(&mut self, paddr: u64) -> bool {
        self.reserved.push(paddr).is_ok()
    }

    /// Where an ordinary object of `2^bits` bytes would go in `u`: not across a reserved
    /// address still ahead of its free pointer.
    fn place_ordinary(&self, u: &Untyped, bits: u32) -> Option<u64> {
        let at = u.place(bits)?;
        let end = at + (1 << bits);
        let blocked = self.reserved.iter().any(|&r| r >= u.next_free() && r < end);
        (!blocked).then_some(at)
    }

    /// The untypeds.
    pub fn list(&self) -> &[Untyped] {
        &self.list
    }

    /// The RAM untyped for an object of `2^bits` bytes: least alignment waste, then smallest.
    pub fn choose_ram(&self, bits: u32) -> Option<usize> {
        self.list
            .iter()
            .enumerate()
            .filter(|(_, u)| !u.device)
            .filter_map(|(i, u)| {
                Some((
                    i,
                    self.place_ordinary(u, bits)? - u.next_free(),
                    u.size_bits,
                ))
            })
            .min_by_key(|&(_, waste, size)| (waste, size))
            .map(|(i, _, _)| i)
    }

    /// The untyped whose range contains `paddr`.
    pub fn containing(&self, paddr: u64) -> Option<usize> {
        self.list
            .iter()
            .position(|u| paddr >= u.paddr && paddr < u.end())
    }

    /// Total bytes of RAM not yet used.
    pub fn ram_left(&self) -> u64 {
        self.list
            .iter()
            .filter(|u| !u.device)
            .map(|u| u.end() - u.next_free())
            .sum()
    }
}

/// The memory and root slots of one restartable component instance (see the module docs).
pub struct Instance {
    /// The untyped all its objects come from. `paddr` is 0: only offsets matter for
    /// placement, the untyped being aligned to its own size.
    untyped: Untyped,
    /// Root slots taken for it (a bitmap over [`ROOT_SLOTS`]).
    slots: [u64; ROOT_SLOTS / 64],
}

impl Instance {
    /// Bytes of its untyped.
    pub fn bytes(&self) -> u64 {
        1 << self.untyped.size_bits
    }

    /// Bytes its objects use now.
    pub fn used(&self) -> u64 {
        self.untyped.used
    }

    fn mark(&mut self, slot: u64, taken: bool) {
        if let Some(w) = self.slots.get_mut((slot / 64) as usize) {
            if taken {
                *w |= 1 << (slot % 64);
            } else {
                *w &= !(1 << (slot % 64));
            }
        }
    }
}

/// Retypes objects into the root CNode (or a component's CNode) and hands out slots.
pub struct Alloc {
    /// Empty root-CNode slots.
    pub slots: Slots,
    /// The untypeds.
    pub pool: Pool,
    /// Objects created so far.
    pub objects: u32,
    /// The instance being created, if any: objects come from it alone.
    instance: Option<Instance>,
}

impl Alloc {
    /// An allocator over the BootInfo's untypeds and empty slots.
    pub fn new(bootinfo: &sel4::BootInfo<'_>) -> Alloc {
        Alloc {
            slots: Slots::new(bootinfo.empty().range()),
            pool: Pool::new(bootinfo.untyped_list()),
            objects: 0,
            instance: None,
        }
    }

    /// An empty root-CNode slot (recorded in the open instance, if any).
    pub fn slot(&mut self, step: &'static str) -> Result<u64, BootError> {
        let slot = self
            .slots
            .take()
            .ok_or(BootError::new(step, None, Cause::OutOfSlots))?;
        if let Some(i) = &mut self.instance {
            i.mark(slot, true);
        }
        Ok(slot)
    }

    /// Marks root slot `slot` empty again (its capability was moved out or deleted).
    pub fn free_slot(&mut self, slot: u64) {
        self.slots.free(slot);
        if let Some(i) = &mut self.instance {
            i.mark(slot, false);
        }
    }

    /// Deletes the capability in root slot `slot` and frees the slot.
    pub fn delete(&mut self, ipc: &mut sel4::IpcBuffer, slot: u64) -> Result<(), BootError> {
        init::CNODE
            .cnode_delete(ipc, slot, WORD_DEPTH)
            .at("delete a temporary capability", slot)?;
        self.free_slot(slot);
        Ok(())
    }

    /// Makes a new instance of 2^`bits` bytes (an untyped from the pool) and opens it: from
    /// now until [`Alloc::close_instance`] every object comes from it.
    pub fn open_instance(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        bits: u32,
        step: &'static str,
    ) -> Result<(), BootError> {
        let ut: Cap<cap_type::Untyped> = self.retype(ipc, ObjectType::Untyped, bits, step)?;
        self.instance = Some(Instance {
            untyped: Untyped {
                slot: ut.cptr(),
                paddr: 0,
                size_bits: bits as u8,
                device: false,
                used: 0,
            },
            slots: [0; ROOT_SLOTS / 64],
        });
        Ok(())
    }

    /// Opens an instance again (emptied by [`Alloc::revoke_instance`]).
    pub fn reopen_instance(&mut self, instance: Instance) {
        self.instance = Some(instance);
    }

    /// Ends the open instance and returns it (to keep with its component).
    pub fn close_instance(&mut self) -> Option<Instance> {
        self.instance.take()
    }

    /// Destroys every object of `instance` (`CNode_Revoke` of its untyped: every capability
    /// derived from it, wherever it is, is deleted, and the objects with them), frees the root
    /// slots they held, and returns it empty.
    pub fn revoke_instance(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        mut instance: Instance,
    ) -> Result<Instance, BootError> {
        let slot = instance.untyped.slot;
        init::CNODE
            .cnode_revoke(ipc, slot, WORD_DEPTH)
            .at("revoke the memory of a component instance", slot)?;
        self.emptied(&mut instance);
        Ok(instance)
    }

    /// After the revoke: the root slots `instance` recorded are empty again, and so is its
    /// untyped.
    fn emptied(&mut self, instance: &mut Instance) {
        for (w, word) in instance.slots.iter_mut().enumerate() {
            while *word != 0 {
                let bit = word.trailing_zeros();
                *word &= !(1 << bit);
                self.slots.free(w as u64 * 64 + u64::from(bit));
            }
        }
        instance.untyped.used = 0;
    }

    /// A new RAM object of type `ty` (`size` as `Untyped_Retype` takes it) in a new root slot.
    pub fn retype<T: CapType>(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        ty: ObjectType,
        size: u32,
        step: &'static str,
    ) -> Result<Cap<T>, BootError> {
        let slot = self.slot(step)?;
        match self.retype_into(ipc, ty, size, init::CNODE, slot, step) {
            Ok(()) => Ok(Cap::from_cptr(slot)),
            Err(e) => {
                self.free_slot(slot);
                Err(e)
            }
        }
    }

    /// A new RAM object of type `ty` placed directly at `slot` of `cnode` (a CNode capability
    /// in the root CNode; `slot` indexes it at its full radix).
    pub fn retype_into(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        ty: ObjectType,
        size: u32,
        cnode: Cap<cap_type::CNode>,
        slot: u64,
        step: &'static str,
    ) -> Result<(), BootError> {
        let bits = ty.object_size_bits(size).ok_or(BootError::new(
            step,
            None,
            Cause::BadPlan("object too large"),
        ))?;
        if let Some(inst) = &mut self.instance {
            let u = inst.untyped;
            let at =
                u.place(bits)
                    .ok_or(BootError::new(step, None, Cause::OutOfMemory { bits }))?;
            Cap::<cap_type::Untyped>::from_cptr(u.slot)
                .untyped_retype(ipc, ty, u64::from(size), cnode, 0, 0, slot, 1)
                .at(step, slot)?;
            inst.untyped.commit(at, bits);
            self.objects += 1;
            return Ok(());
        }
        let i = self.pool.choose_ram(bits).ok_or(BootError::new(
            step,
            None,
            Cause::OutOfMemory { bits },
        ))?;
        let u = self.pool.list[i];
        let at = self.pool.place_ordinary(&u, bits).unwrap_or(u.paddr);
        Cap::<cap_type::Untyped>::from_cptr(u.slot)
            .untyped_retype(ipc, ty, u64::from(size), cnode, 0, 0, slot, 1)
            .at(step, slot)?;
        self.pool.list[i].commit(at, bits);
        self.objects += 1;
        Ok(())
    }

    /// A frame (`SmallPage` or `LargePage`) at physical address `paddr`, from whichever untyped
    /// covers it (device or RAM), in a new root slot; checked with `Page_GetAddress`.
    pub fn frame_at<F: sel4::FrameType>(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        ty: ObjectType,
        paddr: u64,
        step: &'static str,
    ) -> Result<Cap<F>, BootError> {
        let unreachable = BootError::new(step, Some(paddr), Cause::Unreachable { paddr });
        if self.instance.is_some() {
            // The manifest compiler refuses restartable components with such frames.
            return Err(BootError::new(
                step,
                Some(paddr),
                Cause::BadPlan("a restartable component has a fixed-address frame"),
            ));
        }
        let bits = ty.object_size_bits(0).ok_or(unreachable)?;
        let i = self.pool.containing(paddr).ok_or(unreachable)?;
        // Fillers move the free pointer up to `paddr`; they are deleted once the frame exists
        // (the untyped then still has a child, so its free pointer stays).
        let mut fillers: heapless::Vec<u64, 64> = heapless::Vec::new();
        let result = self.reach(ipc, i, paddr, bits, &mut fillers, step);
        let frame = match result {
            Ok(()) => self.retype_from::<F>(ipc, i, ty, bits, step),
            Err(e) => Err(e),
        };
        for &slot in &fillers {
            // A filler that cannot be deleted only costs its slot.
            let _ = self.delete(ipc, slot);
        }
        let frame = frame?;
        let got = frame.frame_get_address(ipc).at(step, paddr)?;
        if got != paddr {
            return Err(BootError::new(
                step,
                Some(paddr),
                Cause::WrongAddress {
                    expected: paddr,
                    got,
                },
            ));
        }
        Ok(frame)
    }

    fn reach(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        i: usize,
        paddr: u64,
        bits: u32,
        fillers: &mut heapless::Vec<u64, 64>,
        step: &'static str,
    ) -> Result<(), BootError> {
        let unreachable = BootError::new(step, Some(paddr), Cause::Unreachable { paddr });
        if paddr % (1 << bits) != 0 || self.pool.list[i].next_free() > paddr {
            return Err(unreachable);
        }
        while self.pool.list[i].next_free() < paddr {
            let cur = self.pool.list[i].next_free();
            let fb = filler_bits(cur, paddr);
            if fb < sel4::MIN_UNTYPED_BITS || fillers.is_full() {
                return Err(unreachable);
            }
            let slot =
                self.retype_from::<cap_type::Untyped>(ipc, i, ObjectType::Untyped, fb, step)?;
            // `fillers` is not full (checked above).
            let _ = fillers.push(slot.cptr());
        }
        Ok(())
    }

    /// One object of `2^bits` bytes from untyped `i` into a new root slot.
    fn retype_from<T: CapType>(
        &mut self,
        ipc: &mut sel4::IpcBuffer,
        i: usize,
        ty: ObjectType,
        bits: u32,
        step: &'static str,
    ) -> Result<Cap<T>, BootError> {
        let u = self.pool.list[i];
        let at = u.place(bits).ok_or(BootError::new(
            step,
            Some(u.next_free()),
            Cause::Unreachable {
                paddr: u.next_free(),
            },
        ))?;
        let slot = self.slot(step)?;
        let size = if ty == ObjectType::Untyped { bits } else { 0 };
        let r = Cap::<cap_type::Untyped>::from_cptr(u.slot).untyped_retype(
            ipc,
            ty,
            u64::from(size),
            init::CNODE,
            0,
            0,
            slot,
            1,
        );
        if let Err(e) = r {
            self.free_slot(slot);
            return Err(BootError::new(step, Some(at), Cause::Kernel(e)));
        }
        self.pool.list[i].commit(at, bits);
        self.objects += 1;
        Ok(Cap::from_cptr(slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hand_out_the_empty_region_and_take_back_freed_slots() {
        let mut s = Slots::new(100..103);
        assert_eq!(s.count(), 3);
        assert_eq!(
            (s.take(), s.take(), s.take(), s.take()),
            (Some(100), Some(101), Some(102), None)
        );
        s.free(101);
        assert_eq!(s.take(), Some(101));
        let s = Slots::new(4000..5000);
        assert_eq!(s.count(), 96, "clipped to the root CNode");
    }

    fn ut(paddr: u64, size_bits: u8, device: bool) -> Untyped {
        Untyped {
            slot: 0,
            paddr,
            size_bits,
            device,
            used: 0,
        }
    }

    #[test]
    fn an_instance_records_exactly_the_root_slots_it_still_holds() {
        let mut a = Alloc {
            slots: Slots::new(100..110),
            pool: Pool::new(core::iter::empty()),
            objects: 0,
            instance: None,
        };
        let outside = a.slot("before").unwrap();
        a.instance = Some(Instance {
            untyped: ut(0, 16, false),
            slots: [0; ROOT_SLOTS / 64],
        });
        let kept: [u64; 3] = core::array::from_fn(|_| a.slot("object").unwrap());
        let moved_out = a.slot("temporary").unwrap();
        a.free_slot(moved_out);
        let mut inst = a.close_instance().unwrap();
        inst.untyped.used = 0x4000;
        let after = a.slot("after").unwrap();
        assert_eq!(a.slots.count(), 10 - 5);
        a.emptied(&mut inst);
        assert_eq!(
            a.slots.count(),
            10 - 2,
            "the instance's three slots are free again"
        );
        assert_eq!(inst.used(), 0);
        let taken = [
            a.slot("x").unwrap(),
            a.slot("y").unwrap(),
            a.slot("z").unwrap(),
        ];
        assert_eq!(taken, kept, "the same slots, and not the others");
        assert!(!taken.contains(&outside) && !taken.contains(&after));
    }

    #[test]
    fn placement_follows_the_kernel_alignment_rule() {
        let mut u = ut(0x6000_0000, 16, false);
        assert_eq!(u.place(12), Some(0x6000_0000));
        u.commit(0x6000_0000, 12);
        assert_eq!(u.place(4), Some(0x6000_1000));
        assert_eq!(u.place(14), Some(0x6000_4000), "aligned up to 16 KiB");
        u.commit(0x6000_4000, 14);
        assert_eq!(u.used, 0x8000);
        assert_eq!(u.place(15), Some(0x6000_8000));
        assert_eq!(u.place(16), None, "does not fit any more");
        assert_eq!(u.place(17), None, "larger than the untyped");
    }

    #[test]
    fn ram_choice_avoids_waste_and_devices() {
        let mut pool = Pool::new(core::iter::empty());
        let mut a = ut(0x6000_0000, 20, false);
        a.used = 0x1000;
        let b = ut(0x7000_0000, 22, false);
        let dev = ut(0x4000_0000, 29, true);
        for u in [a, b, dev] {
            pool.list.push(u).unwrap();
        }
        assert_eq!(
            pool.choose_ram(12),
            Some(0),
            "no waste in the partly used one"
        );
        assert_eq!(pool.choose_ram(16), Some(1), "aligned start without waste");
        assert_eq!(
            pool.choose_ram(23),
            None,
            "devices never hold kernel objects"
        );
        assert_eq!(pool.containing(0x4123_4000), Some(2));
        assert_eq!(pool.containing(0x5fff_ffff), Some(2));
        assert_eq!(pool.containing(0x6000_0000), Some(0));
        assert_eq!(pool.containing(0x9000_0000), None);
        assert_eq!(pool.ram_left(), (1 << 20) - 0x1000 + (1 << 22));
        assert!(pool.reserve(0x6000_2000));
        assert_eq!(
            pool.choose_ram(12),
            Some(0),
            "the page below the fixed one is usable"
        );
        pool.list[0].used = 0x2000;
        assert_eq!(
            pool.choose_ram(12),
            Some(1),
            "the fixed page ahead is kept free"
        );
        pool.list[0].used = 0x3000;
        assert_eq!(
            pool.choose_ram(12),
            Some(0),
            "once passed, it blocks nothing"
        );
    }

    #[test]
    fn fillers_reach_any_page_aligned_target_without_waste() {
        for (start, target) in [
            (0x0803_1000u64, 0x0804_0000u64),
            (0x4000_0000, 0x4020_0000),
            (0x4000_0000, 0x5fe0_0000),
            (0, 0x0800_0000),
            (0x0803_3000, 0x0803_4000),
        ] {
            let mut cur = start;
            let mut steps = 0;
            while cur < target {
                let bits = filler_bits(cur, target);
                assert!(bits >= 12, "page-aligned steps");
                assert_eq!(cur % (1 << bits), 0, "no alignment waste");
                cur += 1 << bits;
                steps += 1;
                assert!(steps <= 64);
            }
            assert_eq!(cur, target, "{start:#x} -> {target:#x}");
        }
    }
}
