//! Fixed-capacity object tables with per-slot generations.
//!
//! A [`Table`] hands out the lowest free slot (deterministic), and bumps a slot's generation
//! when its object is removed, so a `(slot, generation)` pair names one object for its whole
//! life and never a later occupant of the same slot.

/// One slot of a [`Table`].
struct Slot<T> {
    generation: u16,
    value: Option<T>,
}

/// A table of at most `N` objects (`N` <= 65535).
pub(crate) struct Table<T, const N: usize> {
    slots: [Slot<T>; N],
    len: usize,
}

impl<T, const N: usize> Table<T, N> {
    /// An empty table; every slot starts at generation 1.
    pub(crate) const fn new() -> Self {
        Table {
            slots: [const {
                Slot {
                    generation: 1,
                    value: None,
                }
            }; N],
            len: 0,
        }
    }

    /// Number of live objects.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when no slot is free.
    pub(crate) fn is_full(&self) -> bool {
        self.len == N
    }

    /// The slot and generation the next [`Table::insert`] will use.
    pub(crate) fn vacant(&self) -> Option<(u16, u16)> {
        self.slots
            .iter()
            .position(|s| s.value.is_none())
            .map(|i| (i as u16, self.slots[i].generation))
    }

    /// Stores `value` in the lowest free slot; gives it back when the table is full.
    pub(crate) fn insert(&mut self, value: T) -> Result<(u16, u16), T> {
        match self.vacant() {
            Some((i, generation)) => {
                self.slots[usize::from(i)].value = Some(value);
                self.len += 1;
                Ok((i, generation))
            }
            None => Err(value),
        }
    }

    /// The object in slot `i`.
    pub(crate) fn get(&self, i: u16) -> Option<&T> {
        self.slots.get(usize::from(i))?.value.as_ref()
    }

    /// The object in slot `i`, mutably.
    pub(crate) fn get_mut(&mut self, i: u16) -> Option<&mut T> {
        self.slots.get_mut(usize::from(i))?.value.as_mut()
    }

    /// The object in slot `i` if the slot still has `generation`.
    pub(crate) fn get_checked_mut(&mut self, i: u16, generation: u16) -> Option<&mut T> {
        let slot = self.slots.get_mut(usize::from(i))?;
        if slot.generation == generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// Removes the object in slot `i` and retires the slot's generation.
    pub(crate) fn remove(&mut self, i: u16) -> Option<T> {
        let slot = self.slots.get_mut(usize::from(i))?;
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.len -= 1;
        Some(value)
    }

    /// Live objects with their slots, in slot order.
    /// The live objects, lowest slot first; stops after the last one (`len` of them).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.value.as_ref().map(|v| (i as u16, v)))
            .take(self.len)
    }

    /// Slots of the live objects for which `pred` holds, collected so that the caller may then
    /// mutate the table.
    pub(crate) fn slots_where(&self, pred: impl Fn(&T) -> bool) -> heapless::Vec<u16, N> {
        let mut out = heapless::Vec::new();
        for (i, v) in self.iter() {
            if pred(v) {
                // Cannot overflow: at most N live objects.
                let _ = out.push(i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn lowest_slot_and_generations() {
        let mut t: Table<u32, 3> = Table::new();
        assert_eq!(t.insert(10), Ok((0, 1)));
        assert_eq!(t.insert(11), Ok((1, 1)));
        assert_eq!(t.remove(0), Some(10));
        assert_eq!(t.get_checked_mut(0, 1), None);
        assert_eq!(t.insert(12), Ok((0, 2)));
        assert_eq!(t.insert(13), Ok((2, 1)));
        assert!(t.is_full());
        assert_eq!(t.insert(14), Err(14));
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(7), None);
        assert_eq!(t.remove(7), None);
    }
}
