//! Bookkeeping of the stage-2 page tables the server created for guests (pure; host-tested).
//!
//! On the reference kernel (PA 44 bits) a guest VSpace root is a level-0 table that maps
//! nothing itself; below it hang level-1 tables (each entry 1 GiB), level-2 tables (2 MiB) and
//! level-3 tables (4 KiB). A table is named by the span it covers: 2^39 (level 1), 2^30
//! (level 2) or 2^21 (level 3) bytes, and its base address. A frame of 2^`bits` bytes lives in
//! the table of span `bits + 9`.
//!
//! Each record counts its live entries (frames and child tables), so the server knows when a
//! table is empty. seL4's `Page_Map` silently replaces whatever a slot holds, and
//! `PageTable_Map` refuses a slot that already has a table, so before mapping a frame the
//! server removes empty tables in the frame's range and refuses ranges with live entries.

use crate::alloc::Obj;

/// Spans of the three table levels, top-down.
pub const SPANS: [u8; 3] = [39, 30, 21];

/// Most page tables all guests together may have.
pub const MAX_TABLES: usize = 256;

/// One page table of one guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The guest (its VSpace slot).
    pub guest: u64,
    /// First guest-physical address the table covers.
    pub base: u64,
    /// log2 of the bytes it covers.
    pub span: u8,
    /// The table object.
    pub obj: Obj,
    /// Frames and child tables installed in it.
    pub live: u16,
}

/// `addr` rounded down to a multiple of 2^`span`.
pub const fn align_down(addr: u64, span: u8) -> u64 {
    addr & !((1u64 << span) - 1)
}

/// The table spans a frame of 2^`bits` bytes needs above it, top-down (e.g. 12 → 39, 30, 21).
pub fn needed_spans(bits: u8) -> impl Iterator<Item = u8> {
    SPANS.into_iter().filter(move |&s| s > bits)
}

/// Every page table of every guest.
pub struct PageTables {
    list: heapless::Vec<Table, MAX_TABLES>,
}

impl PageTables {
    /// No tables.
    pub const fn new() -> Self {
        PageTables {
            list: heapless::Vec::new(),
        }
    }

    /// The table of `guest` with `span` that covers `addr`.
    pub fn find(&self, guest: u64, addr: u64, span: u8) -> Option<&Table> {
        let base = align_down(addr, span);
        self.list
            .iter()
            .find(|t| t.guest == guest && t.span == span && t.base == base)
    }

    /// True if no more tables can be recorded.
    pub fn is_full(&self) -> bool {
        self.list.is_full()
    }

    /// Records a new table covering `addr` with `span` and counts it in its parent.
    /// False if the list is full.
    pub fn insert(&mut self, guest: u64, addr: u64, span: u8, obj: Obj) -> bool {
        let table = Table {
            guest,
            base: align_down(addr, span),
            span,
            obj,
            live: 0,
        };
        if self.list.push(table).is_err() {
            return false;
        }
        self.adjust(guest, addr, span + 9, 1);
        true
    }

    /// Adds `delta` to the live count of the table of `guest` with `span` covering `addr` (a
    /// frame or table was installed in it or removed from it). The root (span 48) is not
    /// recorded.
    pub fn adjust(&mut self, guest: u64, addr: u64, span: u8, delta: i32) {
        let base = align_down(addr, span.min(63));
        if let Some(t) = self
            .list
            .iter_mut()
            .find(|t| t.guest == guest && t.span == span && t.base == base)
        {
            t.live = (i32::from(t.live) + delta).clamp(0, i32::from(u16::MAX)) as u16;
        }
    }

    /// The tables of `guest` lying inside `[addr, addr + 2^bits)` (tables a frame of that size
    /// would replace), deepest first. `None` if any of them has a live entry.
    pub fn removable_inside(
        &self,
        guest: u64,
        addr: u64,
        bits: u8,
    ) -> Option<heapless::Vec<usize, MAX_TABLES>> {
        let start = align_down(addr, bits);
        let end = start.saturating_add(1u64 << bits);
        let mut found: heapless::Vec<usize, MAX_TABLES> = heapless::Vec::new();
        for (i, t) in self.list.iter().enumerate() {
            if t.guest == guest && t.span <= bits && t.base >= start && t.base < end {
                // Capacity: at most every recorded table.
                let _ = found.push(i);
            }
        }
        // A table inside the range is empty if its own frames are gone; its child tables are
        // in the list too (and counted in its `live`), so only tables whose live entries are
        // exactly their recorded children may go.
        for &i in &found {
            let t = self.list[i];
            let children = found
                .iter()
                .filter(|&&j| {
                    let c = self.list[j];
                    c.span + 9 == t.span && align_down(c.base, t.span) == t.base
                })
                .count();
            if usize::from(t.live) != children {
                return None;
            }
        }
        found.sort_unstable_by_key(|&i| self.list[i].span);
        Some(found)
    }

    /// Removes the record at `index` (found by [`PageTables::removable_inside`]) and uncounts
    /// it in its parent; returns it.
    pub fn remove_at(&mut self, index: usize) -> Option<Table> {
        if index >= self.list.len() {
            return None;
        }
        let t = self.list.swap_remove(index);
        self.adjust(t.guest, t.base, t.span + 9, -1);
        Some(t)
    }

    /// Removes the table of `guest` with `span` covering `addr` if it has no live entry, and
    /// uncounts it in its parent; returns it (`None` if there is no such table or it is in use).
    pub fn remove_if_empty(&mut self, guest: u64, addr: u64, span: u8) -> Option<Table> {
        let base = align_down(addr, span.min(63));
        let i = self
            .list
            .iter()
            .position(|t| t.guest == guest && t.span == span && t.base == base)?;
        if self.list[i].live != 0 {
            return None;
        }
        self.remove_at(i)
    }

    /// Number of tables of all guests.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Removes and returns one table of `guest` (deepest first), or `None` when it has none.
    pub fn pop_guest(&mut self, guest: u64) -> Option<Table> {
        let i = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, t)| t.guest == guest)
            .min_by_key(|(_, t)| t.span)
            .map(|(i, _)| i)?;
        Some(self.list.swap_remove(i))
    }

    /// Number of tables of `guest`.
    #[cfg(test)]
    pub fn count(&self, guest: u64) -> usize {
        self.list.iter().filter(|t| t.guest == guest).count()
    }
}

#[cfg(test)]
mod tests {
    use super::{PageTables, align_down, needed_spans};
    use crate::alloc::Obj;

    fn obj(slot: u64) -> Obj {
        Obj { slot, untyped: 0 }
    }

    #[test]
    fn spans_per_frame_size() {
        assert_eq!(needed_spans(12).collect::<std::vec::Vec<_>>(), [39, 30, 21]);
        assert_eq!(needed_spans(21).collect::<std::vec::Vec<_>>(), [39, 30]);
        assert_eq!(needed_spans(30).collect::<std::vec::Vec<_>>(), [39]);
        assert_eq!(align_down(0x8_0000_1000, 21), 0x8_0000_0000);
    }

    #[test]
    fn live_counts_follow_tables_and_frames() {
        let mut t = PageTables::new();
        let g = 100;
        let gicv = 0x8_0000_1000;
        for (i, s) in needed_spans(12).enumerate() {
            assert!(t.insert(g, gicv, s, obj(200 + i as u64)));
        }
        t.adjust(g, gicv, 21, 1); // the GICV page itself
        assert_eq!(t.find(g, gicv, 39).unwrap().live, 1);
        assert_eq!(t.find(g, gicv, 30).unwrap().live, 1);
        assert_eq!(t.find(g, gicv, 21).unwrap().live, 1);
        // A 2 MiB frame over the GICV's 2 MiB region must not replace its table.
        assert!(t.removable_inside(g, 0x8_0000_0000, 21).is_none());
        // Elsewhere nothing is in the way.
        assert_eq!(t.removable_inside(g, 0x4000_0000, 21).unwrap().len(), 0);
        assert_eq!(t.count(g), 3);
        assert_eq!(t.count(g + 1), 0);
    }

    #[test]
    fn empty_subtrees_are_removable_deepest_first() {
        let mut t = PageTables::new();
        let g = 7;
        let a = 0x4000_0000;
        assert!(t.insert(g, a, 39, obj(1)));
        assert!(t.insert(g, a, 30, obj(2)));
        assert!(t.insert(g, a + 0x20_0000, 21, obj(3)));
        t.adjust(g, a + 0x20_0000, 21, 1); // a 4 KiB frame
        assert!(t.removable_inside(g, a, 30).is_none(), "a live 4 KiB frame");
        t.adjust(g, a + 0x20_0000, 21, -1); // unmapped
        let r = t.removable_inside(g, a, 30).expect("empty now");
        let spans: std::vec::Vec<u8> = r.iter().map(|&i| t.list[i].span).collect();
        assert_eq!(spans, [21, 30], "the L3 table goes before its L2 parent");
        // Remove in that order (indices shift with swap_remove: look each one up again).
        let l3 = t.find(g, a + 0x20_0000, 21).copied().unwrap();
        let i = t.list.iter().position(|x| *x == l3).unwrap();
        assert_eq!(t.remove_at(i).unwrap().obj, obj(3));
        assert_eq!(t.find(g, a, 30).unwrap().live, 0);
        let i = t.list.iter().position(|x| x.span == 30).unwrap();
        t.remove_at(i);
        assert_eq!(t.find(g, a, 39).unwrap().live, 0);
        assert_eq!(t.pop_guest(g).unwrap().obj, obj(1));
        assert!(t.pop_guest(g).is_none());
    }

    #[test]
    fn capacity_is_bounded() {
        let mut t = PageTables::new();
        for i in 0..super::MAX_TABLES as u64 {
            assert!(t.insert(1, i << 21, 21, obj(i)));
        }
        assert!(t.is_full());
        assert!(!t.insert(1, 0, 30, obj(0)));
    }
}
