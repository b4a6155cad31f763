//! Allocation of the server's kernel resources: CNode slots and objects retyped from its
//! untyped memory.
//!
//! - [`SlotAlloc`]: a bitmap over the free part of the server's CNode
//!   (`first_free_slot..slot_limit` from the boot page); the lowest free slot is handed out.
//! - [`UntypedAlloc`]: a mirror of each untyped capability's free index. seL4 allocates from an
//!   untyped by bumping its free index (aligned up to the object size) and resets it to 0 only
//!   when the untyped has no children left. The mirror does the same: `used` only grows, and
//!   drops to 0 when the last object retyped from that untyped is freed (`live == 0`). The
//!   kernel's own index is never above the mirror, so a placement the mirror accepts always
//!   fits in the kernel too. Memory of a freed object is therefore recycled only once every
//!   object of its untyped is gone; until then exhaustion is `ZX_ERR_NO_MEMORY`.
//! - To make that recycling useful, the plan's untypeds are cut into [`CHUNK_BITS`]-sized
//!   child untypeds at start-up ([`Objects::add_untyped`]): a chunk empties (and is reused from
//!   its start) as soon as the objects placed in it are gone, while one big untyped would stay
//!   busy as long as any object lives, e.g. the server's permanent frame-size probe. At most
//!   [`MAX_CHUNKS`] chunks are made; the rest of a larger untyped stays usable as one pinned
//!   untyped that is never reset.
//! - **Pools** (issue 10): every untyped belongs to one pool. Pool [`SERVER_POOL`] holds the
//!   plan's `[hypervisor]` untypeds (the server's own objects); pool `i + 1` holds the memory of
//!   the `i`-th client of the boot page, cut into 4 KiB **cells** ([`CELL_BITS`]) at start-up
//!   ([`Objects::add_pool`]). A cell takes exactly one object (every object the server makes for
//!   a client is at most 4 KiB) and is empty again, with its full size, once that object is
//!   freed: a client's objects never share an untyped with another client's, nor with each
//!   other, so nothing pins memory beyond its own object, and a client's free memory returns
//!   exactly to its start value when its objects are gone. [`Objects::retype`] places in the
//!   pool chosen with [`Objects::set_payer`]; an object is always freed into the untyped it came
//!   from.
//! - [`Objects`]: the two together with the IPC buffer and the server's CNode: retype one
//!   object into a fresh slot, delete it again.

use sel4::{Cap, IpcBuffer, ObjectType, WORD_DEPTH, cap_type};
use vcpu_protocol::Status;

/// Most slots the bitmap covers (a CNode has at most 2^16 slots in a plan).
pub const MAX_SLOTS: u64 = 1 << 16;
const WORDS: usize = (MAX_SLOTS / 64) as usize;

/// Free slots of the server's CNode, and which pool ([`crate::alloc`]) each taken slot is
/// charged to: the server's own, or the client whose object it holds.
pub struct SlotAlloc {
    used: [u64; WORDS],
    /// Pool of each taken slot.
    owner: [u8; MAX_SLOTS as usize],
    first: u64,
    limit: u64,
}

impl SlotAlloc {
    /// An allocator with no slots.
    pub const fn new() -> Self {
        SlotAlloc {
            used: [0; WORDS],
            owner: [0; MAX_SLOTS as usize],
            first: 0,
            limit: 0,
        }
    }

    /// Makes `first..limit` the free range (clamped to [`MAX_SLOTS`]); forgets earlier state.
    pub fn set_range(&mut self, first: u64, limit: u64) {
        self.used = [0; WORDS];
        self.limit = limit.min(MAX_SLOTS);
        self.first = first.min(self.limit);
    }

    /// The lowest free slot, now taken for the server's own pool.
    pub fn alloc(&mut self) -> Option<u64> {
        self.alloc_for(SERVER_POOL)
    }

    /// The lowest free slot, now taken and charged to `pool`.
    pub fn alloc_for(&mut self, pool: u8) -> Option<u64> {
        let mut slot = self.first;
        while slot < self.limit {
            let (w, b) = ((slot / 64) as usize, slot % 64);
            let word = self.used[w];
            if word == u64::MAX {
                slot = (slot / 64 + 1) * 64;
                continue;
            }
            if word & (1 << b) == 0 {
                self.used[w] |= 1 << b;
                self.owner[slot as usize] = pool;
                return Some(slot);
            }
            slot += 1;
        }
        None
    }

    /// Gives `slot` back. Slots outside the range and free slots are ignored.
    pub fn free(&mut self, slot: u64) {
        if (self.first..self.limit).contains(&slot) {
            self.used[(slot / 64) as usize] &= !(1 << (slot % 64));
        }
    }

    fn is_used(&self, slot: u64) -> bool {
        self.used[(slot / 64) as usize] & (1 << (slot % 64)) != 0
    }

    /// Number of free slots.
    pub fn free_count(&self) -> u64 {
        (self.first..self.limit)
            .filter(|&s| !self.is_used(s))
            .count() as u64
    }

    /// Number of taken slots charged to `pool`.
    pub fn held_by(&self, pool: u8) -> u64 {
        (self.first..self.limit)
            .filter(|&s| self.is_used(s) && self.owner[s as usize] == pool)
            .count() as u64
    }
}

/// log2 of the size of the chunks the plan's untypeds are cut into (64 KiB).
pub const CHUNK_BITS: u8 = 16;
/// Most untyped capabilities of the server's own pool (chunks and plan untypeds).
pub const MAX_CHUNKS: usize = 256;
/// log2 of the size of a client memory cell (4 KiB): one object each.
pub const CELL_BITS: u8 = 12;
/// Most client memory cells (all clients together).
pub const MAX_CELLS: usize = (plan::MAX_CLIENT_MEMORY >> CELL_BITS) as usize;
/// The pool of the server's own objects.
pub const SERVER_POOL: u8 = 0;

/// One untyped capability and the mirror of its free index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Untyped {
    slot: u64,
    used: u64,
    live: u32,
    size_bits: u8,
    /// Never reset (it has children the allocator does not track).
    pinned: bool,
    /// The pool it belongs to.
    pool: u8,
    /// A client memory cell: it takes one object, which fills it.
    cell: bool,
}

/// How to add an untyped of 2^`size_bits` bytes when `room` list entries are free: the number
/// of chunks to cut from it, and whether the untyped itself must be kept (pinned) for the part
/// left over.
pub fn split_plan(size_bits: u8, room: usize) -> (u64, bool) {
    if size_bits <= CHUNK_BITS || room < 2 {
        return (0, true);
    }
    let all = 1u64 << (size_bits - CHUNK_BITS).min(63);
    if all <= room as u64 {
        (all, false)
    } else {
        (room as u64 - 1, true)
    }
}

/// Where an object was placed, to undo the placement if the kernel refuses the retype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Index of the untyped.
    pub index: u16,
    /// Its capability slot.
    pub slot: u64,
    prev_used: u64,
}

/// The server's untyped capabilities (see the module docs).
pub struct UntypedAlloc {
    list: heapless::Vec<Untyped, { MAX_CHUNKS + MAX_CELLS }>,
    /// Entries of the server's own pool.
    own: usize,
}

impl UntypedAlloc {
    /// No untyped memory.
    pub const fn new() -> Self {
        UntypedAlloc {
            list: heapless::Vec::new(),
            own: 0,
        }
    }

    /// Adds an untyped capability of 2^`size_bits` bytes to the server's own pool, of which the
    /// first `used` bytes are taken by children the allocator does not track (then it is
    /// pinned: never reset); false if the pool is full ([`MAX_CHUNKS`]) or the size is not a
    /// real untyped size.
    pub fn add(&mut self, slot: u64, size_bits: u8, used: u64) -> bool {
        if !(sel4::MIN_UNTYPED_BITS..=sel4::MAX_UNTYPED_BITS).contains(&u32::from(size_bits))
            || self.own >= MAX_CHUNKS
        {
            return false;
        }
        let pushed = self
            .list
            .push(Untyped {
                slot,
                size_bits,
                used,
                live: 0,
                pinned: used != 0,
                pool: SERVER_POOL,
                cell: false,
            })
            .is_ok();
        self.own += usize::from(pushed);
        pushed
    }

    /// Adds the 4 KiB cell in `slot` to client pool `pool` (not [`SERVER_POOL`]); false if the
    /// list is full.
    pub fn add_cell(&mut self, slot: u64, pool: u8) -> bool {
        pool != SERVER_POOL
            && self
                .list
                .push(Untyped {
                    slot,
                    size_bits: CELL_BITS,
                    used: 0,
                    live: 0,
                    pinned: false,
                    pool,
                    cell: true,
                })
                .is_ok()
    }

    /// Free entries of the server's own pool.
    pub fn room(&self) -> usize {
        MAX_CHUNKS - self.own
    }

    /// Places an object of 2^`bits` bytes in the server's own pool.
    #[cfg(test)]
    pub fn place(&mut self, bits: u32) -> Option<Placement> {
        self.place_in(SERVER_POOL, bits)
    }

    /// Places an object of 2^`bits` bytes in the first untyped of `pool` where it fits (in a
    /// client pool: the first empty cell).
    pub fn place_in(&mut self, pool: u8, bits: u32) -> Option<Placement> {
        let size = 1u64.checked_shl(bits)?;
        for (i, u) in self.list.iter_mut().enumerate() {
            if u.pool != pool {
                continue;
            }
            let start = u.used.checked_next_multiple_of(size)?;
            let end = start.checked_add(size)?;
            if end <= 1u64 << u.size_bits {
                let placement = Placement {
                    index: i as u16,
                    slot: u.slot,
                    prev_used: u.used,
                };
                // A cell is full with its one object.
                u.used = if u.cell { 1u64 << u.size_bits } else { end };
                u.live += 1;
                return Some(placement);
            }
        }
        None
    }

    /// Undoes [`UntypedAlloc::place`] (the kernel refused the retype).
    pub fn undo(&mut self, p: Placement) {
        if let Some(u) = self.list.get_mut(usize::from(p.index)) {
            u.used = p.prev_used;
            u.live = u.live.saturating_sub(1);
        }
    }

    /// An object of untyped `index` was deleted; when it was the last one, the untyped is
    /// empty again (the kernel restarts it from 0 on the next retype).
    pub fn release(&mut self, index: u16) {
        if let Some(u) = self.list.get_mut(usize::from(index)) {
            u.live = u.live.saturating_sub(1);
            if u.live == 0 && !u.pinned {
                u.used = 0;
            }
        }
    }

    /// Seals every untyped of the server's own pool that holds a live object now (the server's
    /// permanent objects, made at start-up): nothing more is placed in it, so objects made
    /// later never share a chunk with an object that lives forever, and every chunk they use is
    /// reset once they are gone. Free memory then returns exactly to its value after sealing.
    pub fn seal(&mut self) {
        for u in self.list.iter_mut().filter(|u| u.pool == SERVER_POOL) {
            if u.live > 0 {
                u.used = 1u64 << u.size_bits;
                u.pinned = true;
            }
        }
    }

    /// Total bytes of all untypeds (every pool).
    pub fn total_bytes(&self) -> u64 {
        self.list.iter().map(|u| 1u64 << u.size_bits).sum()
    }

    /// Bytes still unused in every pool (counting alignment losses as used).
    pub fn free_bytes(&self) -> u64 {
        self.list
            .iter()
            .map(|u| (1u64 << u.size_bits) - u.used)
            .sum()
    }

    /// Total bytes of `pool`.
    pub fn pool_bytes(&self, pool: u8) -> u64 {
        self.list
            .iter()
            .filter(|u| u.pool == pool)
            .map(|u| 1u64 << u.size_bits)
            .sum()
    }

    /// Bytes still unused in `pool`.
    pub fn pool_free_bytes(&self, pool: u8) -> u64 {
        self.list
            .iter()
            .filter(|u| u.pool == pool)
            .map(|u| (1u64 << u.size_bits) - u.used)
            .sum()
    }

    /// Number of untyped capabilities.
    pub fn count(&self) -> usize {
        self.list.len()
    }
}

/// A kernel object the server retyped: its capability slot and the untyped it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obj {
    /// Slot of the object's (only) capability in the server's CNode.
    pub slot: u64,
    /// Index of the untyped it was retyped from.
    pub untyped: u16,
}

impl Obj {
    /// The capability, typed as `T`.
    pub fn cap<T: sel4::CapType>(self) -> Cap<T> {
        Cap::from_cptr(self.slot)
    }
}

/// The server's kernel context: its IPC buffer, CNode, slots and untyped memory.
pub struct Objects {
    ipc: Option<&'static mut IpcBuffer>,
    cnode: u64,
    /// Free slots.
    pub slots: SlotAlloc,
    /// Untyped memory.
    pub untyped: UntypedAlloc,
    /// The pool [`Objects::retype`] places in.
    payer: u8,
}

impl Objects {
    /// Not yet connected to a thread (see [`Objects::connect`]).
    pub const fn new() -> Self {
        Objects {
            ipc: None,
            cnode: 0,
            slots: SlotAlloc::new(),
            untyped: UntypedAlloc::new(),
            payer: SERVER_POOL,
        }
    }

    /// Makes [`Objects::retype`] place in `pool` from now on; returns the pool it placed in
    /// before (give it back when the payer's objects are made).
    pub fn set_payer(&mut self, pool: u8) -> u8 {
        core::mem::replace(&mut self.payer, pool)
    }

    /// Gives the context the thread's IPC buffer and CNode slot.
    pub fn connect(&mut self, ipc: &'static mut IpcBuffer, cnode: u64) {
        self.ipc = Some(ipc);
        self.cnode = cnode;
    }

    /// The IPC buffer (`ZX_ERR_BAD_STATE` before [`Objects::connect`]).
    pub fn ipc(&mut self) -> Result<&mut IpcBuffer, Status> {
        self.ipc.as_deref_mut().ok_or(Status::ERR_BAD_STATE)
    }

    /// The server's own CNode.
    pub fn cnode(&self) -> Cap<cap_type::CNode> {
        Cap::from_cptr(self.cnode)
    }

    /// A free slot, charged to the payer's pool (`ZX_ERR_NO_MEMORY` if none is left).
    pub fn slot(&mut self) -> Result<u64, Status> {
        self.slots
            .alloc_for(self.payer)
            .ok_or(Status::ERR_NO_MEMORY)
    }

    /// Deletes whatever capability `slot` holds (nothing if it is empty).
    pub fn clear(&mut self, slot: u64) {
        let cnode = self.cnode();
        if let Ok(ipc) = self.ipc() {
            // Deleting an empty slot succeeds; any other failure leaves a cap we cannot use.
            let _ = cnode.cnode_delete(ipc, slot, WORD_DEPTH);
        }
    }

    /// Deletes the capability in `slot` and frees the slot.
    pub fn release_slot(&mut self, slot: u64) {
        self.clear(slot);
        self.slots.free(slot);
    }

    /// Retypes one object of `ty` (`size_bits` for CNodes and untypeds) into a fresh slot,
    /// from the payer's pool ([`Objects::set_payer`]). `ZX_ERR_NO_MEMORY` when slots or the
    /// pool's memory run out.
    pub fn retype(&mut self, ty: ObjectType, size_bits: u32) -> Result<Obj, Status> {
        let bits = ty
            .object_size_bits(size_bits)
            .ok_or(Status::ERR_INVALID_ARGS)?;
        let slot = self.slot()?;
        let Some(p) = self.untyped.place_in(self.payer, bits) else {
            self.slots.free(slot);
            return Err(Status::ERR_NO_MEMORY);
        };
        let cnode = self.cnode();
        let result = self.ipc().and_then(|ipc| {
            Cap::<cap_type::Untyped>::from_cptr(p.slot)
                .untyped_retype(ipc, ty, u64::from(size_bits), cnode, 0, 0, slot, 1)
                .map_err(crate::kernel_status)
        });
        match result {
            Ok(()) => Ok(Obj {
                slot,
                untyped: p.index,
            }),
            Err(s) => {
                self.untyped.undo(p);
                self.slots.free(slot);
                Err(s)
            }
        }
    }

    /// Adds the plan's untyped in `slot` (2^`size_bits` bytes), cut into chunks as far as the
    /// list allows (see the module docs). Returns the number of list entries added.
    pub fn add_untyped(&mut self, slot: u64, size_bits: u8) -> Result<usize, Status> {
        let (chunks, keep) = split_plan(size_bits, self.untyped.room());
        let parent: Cap<cap_type::Untyped> = Cap::from_cptr(slot);
        let cnode = self.cnode();
        let mut made = 0u64;
        while made < chunks {
            let Ok(dest) = self.slot() else { break };
            let cut = self.ipc().and_then(|ipc| {
                parent
                    .untyped_retype(
                        ipc,
                        ObjectType::Untyped,
                        u64::from(CHUNK_BITS),
                        cnode,
                        0,
                        0,
                        dest,
                        1,
                    )
                    .map_err(crate::kernel_status)
            });
            if cut.is_err() {
                self.slots.free(dest);
                break;
            }
            self.untyped.add(dest, CHUNK_BITS, 0);
            made += 1;
        }
        let whole = made == 1u64 << size_bits.saturating_sub(CHUNK_BITS).min(63);
        let mut added = made as usize;
        if (keep || !whole) && self.untyped.add(slot, size_bits, made << CHUNK_BITS) {
            added += 1;
        }
        if added == 0 {
            return Err(Status::ERR_NO_MEMORY);
        }
        Ok(added)
    }

    /// Adds client memory pool `pool`: the untyped of 2^`size_bits` bytes in `slot`, cut into
    /// 4 KiB cells (one `Untyped_Retype` each, into fresh slots). Returns the cells made;
    /// `ZX_ERR_NO_MEMORY` if slots or cell records run out first, `ZX_ERR_INVALID_ARGS` for
    /// the server's own pool or an untyped smaller than a cell.
    pub fn add_pool(&mut self, pool: u8, slot: u64, size_bits: u8) -> Result<u64, Status> {
        if pool == SERVER_POOL || !(CELL_BITS..=40).contains(&size_bits) {
            return Err(Status::ERR_INVALID_ARGS);
        }
        let parent: Cap<cap_type::Untyped> = Cap::from_cptr(slot);
        let cnode = self.cnode();
        let cells = 1u64 << (size_bits - CELL_BITS);
        for _ in 0..cells {
            let dest = self.slot()?;
            let cut = self.ipc().and_then(|ipc| {
                parent
                    .untyped_retype(
                        ipc,
                        ObjectType::Untyped,
                        u64::from(CELL_BITS),
                        cnode,
                        0,
                        0,
                        dest,
                        1,
                    )
                    .map_err(crate::kernel_status)
            });
            if let Err(s) = cut {
                self.slots.free(dest);
                return Err(s);
            }
            if !self.untyped.add_cell(dest, pool) {
                self.release_slot(dest);
                return Err(Status::ERR_NO_MEMORY);
            }
        }
        Ok(cells)
    }

    /// Deletes an object's capability (destroying the object) and frees its slot and memory.
    pub fn free(&mut self, obj: Obj) {
        self.release_slot(obj.slot);
        self.untyped.release(obj.untyped);
    }
}

#[cfg(test)]
mod tests {
    use super::{SlotAlloc, UntypedAlloc};

    #[test]
    fn sealed_chunks_take_no_new_objects_and_the_rest_recycles() {
        let mut u = UntypedAlloc::new();
        assert!(u.add(100, 16, 0));
        assert!(u.add(101, 16, 0));
        let permanent = u.place(12).unwrap();
        assert_eq!(permanent.slot, 100);
        u.seal();
        let before = u.free_bytes();
        assert_eq!(before, 1 << 16, "the permanent object's chunk is full");
        let a = u.place(12).unwrap();
        let b = u.place(14).unwrap();
        assert_eq!((a.slot, b.slot), (101, 101));
        u.release(a.index);
        u.release(b.index);
        assert_eq!(u.free_bytes(), before, "back to the value after sealing");
    }

    #[test]
    fn client_pools_hold_one_object_per_cell_and_never_mix() {
        use super::SERVER_POOL;
        let mut u = UntypedAlloc::new();
        assert!(u.add(100, 16, 0));
        for i in 0..3 {
            assert!(u.add_cell(200 + i, 1));
        }
        assert!(u.add_cell(300, 2));
        assert!(!u.add_cell(301, SERVER_POOL), "cells belong to clients");
        assert_eq!((u.pool_bytes(1), u.pool_bytes(2)), (3 * 4096, 4096));
        // A 64 B CNode and a 2 KiB TCB each take a whole cell.
        let a = u.place_in(1, 6).unwrap();
        let b = u.place_in(1, 11).unwrap();
        assert_eq!((a.slot, b.slot), (200, 201));
        assert_eq!(u.pool_free_bytes(1), 4096);
        assert!(u.place_in(1, 13).is_none(), "8 KiB fits no cell");
        let c = u.place_in(1, 12).unwrap();
        assert!(u.place_in(1, 12).is_none(), "pool 1 is full");
        // Its neighbour and the server are unaffected.
        assert_eq!(u.place_in(2, 12).unwrap().slot, 300);
        assert_eq!(u.place(12).unwrap().slot, 100);
        // Freed in any order, each cell is whole again at once.
        u.release(b.index);
        assert_eq!(u.pool_free_bytes(1), 4096);
        assert_eq!(u.place_in(1, 12).unwrap().slot, 201, "reused at once");
        for p in [a, c] {
            u.release(p.index);
        }
        assert_eq!(u.pool_free_bytes(1), 2 * 4096);
    }

    #[test]
    fn slots_lowest_first_and_reused() {
        let mut s = SlotAlloc::new();
        s.set_range(62, 200);
        assert_eq!(s.free_count(), 138);
        let a: std::vec::Vec<u64> = (0..4).filter_map(|_| s.alloc()).collect();
        assert_eq!(a, [62, 63, 64, 65]);
        s.free(63);
        s.free(63);
        s.free(5); // outside the range: ignored
        assert_eq!(s.alloc(), Some(63));
        assert_eq!(s.alloc(), Some(66));
        assert_eq!(s.free_count(), 138 - 5);
    }

    #[test]
    fn slots_run_out() {
        let mut s = SlotAlloc::new();
        s.set_range(10, 13);
        assert_eq!(
            (s.alloc(), s.alloc(), s.alloc()),
            (Some(10), Some(11), Some(12))
        );
        assert_eq!(s.alloc(), None);
        let mut empty = SlotAlloc::new();
        assert_eq!(empty.alloc(), None);
        let mut big = SlotAlloc::new();
        big.set_range(0, u64::MAX);
        for _ in 0..64 * 3 {
            assert!(big.alloc().is_some());
        }
        assert_eq!(big.alloc(), Some(192), "whole used words are skipped");
    }

    #[test]
    fn untyped_bump_aligns_and_spills_over() {
        let mut u = UntypedAlloc::new();
        assert!(u.add(40, 13, 0)); // 8 KiB
        assert!(u.add(41, 14, 0)); // 16 KiB
        assert!(!u.add(42, 3, 0), "below the minimum untyped size");
        let a = u.place(6).unwrap(); // 64 B CNode at 0
        assert_eq!((a.index, a.slot), (0, 40));
        let b = u.place(12).unwrap(); // 4 KiB: aligned up to 4096
        assert_eq!(b.index, 0);
        let c = u.place(12).unwrap(); // would end at 12 KiB > 8 KiB: next untyped
        assert_eq!((c.index, c.slot), (1, 41));
        assert_eq!(u.free_bytes(), 16384 - 4096);
        assert_eq!(u.total_bytes(), 8192 + 16384);
        assert!(u.place(15).is_none(), "32 KiB fits nowhere");
    }

    #[test]
    fn untyped_resets_when_empty_and_undo_restores() {
        let mut u = UntypedAlloc::new();
        assert!(u.add(40, 12, 0));
        let a = u.place(11).unwrap();
        let b = u.place(11).unwrap();
        assert!(u.place(11).is_none(), "full");
        u.release(a.index);
        assert!(u.place(11).is_none(), "not recycled while an object lives");
        u.release(b.index);
        let c = u.place(12).expect("empty untyped starts again at 0");
        u.undo(c);
        assert_eq!(u.free_bytes(), 4096);
        assert!(u.place(12).is_some());
    }

    #[test]
    fn pinned_untypeds_never_reset() {
        let mut u = UntypedAlloc::new();
        assert!(u.add(40, 13, 4096)); // the first 4 KiB belong to chunks cut from it
        let a = u.place(12).unwrap();
        assert_eq!(u.free_bytes(), 0);
        u.release(a.index);
        assert_eq!(u.free_bytes(), 0, "its children still occupy the start");
        assert_eq!(u.room(), super::MAX_CHUNKS - 1);
    }

    #[test]
    fn split_plans() {
        use super::split_plan;
        assert_eq!(
            split_plan(16, 100),
            (0, true),
            "a chunk-sized untyped is kept whole"
        );
        assert_eq!(split_plan(12, 100), (0, true));
        assert_eq!(
            split_plan(23, 256),
            (128, false),
            "8 MiB: 128 chunks, all of it"
        );
        assert_eq!(
            split_plan(24, 256),
            (256, false),
            "16 MiB: exactly fills the list"
        );
        assert_eq!(
            split_plan(25, 256),
            (255, true),
            "32 MiB: as many as fit, the rest pinned"
        );
        assert_eq!(split_plan(30, 10), (9, true));
        assert_eq!(split_plan(23, 1), (0, true), "no room to split");
    }
}
