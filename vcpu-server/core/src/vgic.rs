//! Per-VCPU virtual-interrupt bookkeeping: the pending bitmap and a shadow of the list
//! registers (LRs).
//!
//! The kernel (seL4) writes LRs on request (`InjectIRQ`) and reports each guest EOI as a
//! maintenance fault naming the LR, but offers no way to read an LR's state. So the server
//! tracks which LRs hold which vector:
//! - [`Vgic::next_fill`] pairs the lowest free LR with the lowest-numbered pending vector that is
//!   not already in an LR (Zircon pops lowest first). A vector raised again while it sits in an
//!   LR stays pending and is injected after that LR is EOI'd: Zircon would make an *active* LR
//!   pending+active and drop the raise for a *pending* one; as the state cannot be read, the
//!   server re-delivers in both cases (never loses an interrupt, may deliver one extra).
//! - Priorities: Zircon uses 0x00 for SGIs/PPIs (< 32) and 0x10 for SPIs on the GIC's 8-bit
//!   scale. seL4's LR priority field is 5 bits (the top 5 of the 8), so the server passes
//!   `priority >> 3`: 0 and 2 ([`lr_priority`]).
//! - Zircon enables the LR-underflow maintenance interrupt when vectors remain pending; seL4
//!   raises an EOI maintenance fault for every LR it writes, which refills as well.

use crate::{MAX_LIST_REGISTERS, NUM_VECTORS};

/// The virtual-timer PPI (`kTimerVector`), delivered by seL4 as a VPPI event.
pub const TIMER_VECTOR: u16 = 27;

/// Zircon's GIC priority for a vector (8-bit scale).
pub const fn gic_priority(vector: u16) -> u8 {
    if vector < 32 { 0x00 } else { 0x10 }
}

/// The priority passed to the kernel's 5-bit LR field.
pub const fn lr_priority(vector: u16) -> u8 {
    gic_priority(vector) >> 3
}

/// Pending vectors and LR contents of one VCPU.
///
/// Kept as bitmaps, so that the refill on every resume and interrupt is a few word operations
/// rather than a scan of all [`NUM_VECTORS`] vectors: `pending` (raised, not yet in an LR),
/// `in_lr` (vectors some LR holds; a vector is in at most one LR, since only
/// [`Vgic::next_fill`]'s choices are written) and `occupied` (LRs holding a vector), all in step
/// with `lrs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vgic {
    pending: [u64; WORDS],
    in_lr: [u64; WORDS],
    lrs: [Option<u16>; MAX_LIST_REGISTERS],
    occupied: u16,
    num_lrs: u8,
    /// The timer PPI was delivered by the kernel and must be acknowledged (`AckVPPI`) once the
    /// guest EOIs it.
    pub timer_unacked: bool,
}

/// Words of a vector bitmap.
const WORDS: usize = NUM_VECTORS / 64;

const _: () = assert!(MAX_LIST_REGISTERS <= u16::BITS as usize);

/// Sets (`on`) or clears bit `v` of a vector bitmap (`v` < [`NUM_VECTORS`]).
fn set_bit(map: &mut [u64; WORDS], v: usize, on: bool) {
    if on {
        map[v / 64] |= 1 << (v % 64);
    } else {
        map[v / 64] &= !(1 << (v % 64));
    }
}

impl Vgic {
    /// No vector pending, `num_lrs` empty LRs (clamped to [`MAX_LIST_REGISTERS`]).
    pub fn new(num_lrs: usize) -> Vgic {
        Vgic {
            pending: [0; WORDS],
            in_lr: [0; WORDS],
            lrs: [None; MAX_LIST_REGISTERS],
            occupied: 0,
            num_lrs: num_lrs.min(MAX_LIST_REGISTERS) as u8,
            timer_unacked: false,
        }
    }

    /// Number of LRs tracked.
    pub fn num_lrs(&self) -> usize {
        usize::from(self.num_lrs)
    }

    /// Marks `vector` pending (idempotent). Vectors >= [`NUM_VECTORS`] are ignored (the caller
    /// rejects them first).
    pub fn raise(&mut self, vector: u16) {
        let v = usize::from(vector);
        if v < NUM_VECTORS {
            set_bit(&mut self.pending, v, true);
        }
    }

    /// True if `vector` is pending.
    pub fn is_pending(&self, vector: u16) -> bool {
        let v = usize::from(vector);
        v < NUM_VECTORS && self.pending[v / 64] & (1 << (v % 64)) != 0
    }

    /// True if any vector is pending.
    pub fn any_pending(&self) -> bool {
        self.pending.iter().any(|w| *w != 0)
    }

    /// True if any LR holds a vector.
    pub fn any_lr_occupied(&self) -> bool {
        self.occupied != 0
    }

    /// The vector in LR `lr`, if any.
    pub fn lr(&self, lr: usize) -> Option<u16> {
        self.lrs.get(lr).copied().flatten()
    }

    /// The next injection to make: the lowest free LR and the lowest pending vector that is in
    /// no LR.
    pub fn next_fill(&self) -> Option<(u8, u16)> {
        let all = (1u32 << self.num_lrs) - 1;
        let free = all & !u32::from(self.occupied);
        if free == 0 {
            return None;
        }
        let lr = free.trailing_zeros() as u8;
        let (i, word) = self
            .pending
            .iter()
            .zip(&self.in_lr)
            .map(|(p, l)| p & !l)
            .enumerate()
            .find(|(_, w)| *w != 0)?;
        Some((lr, (i * 64) as u16 + word.trailing_zeros() as u16))
    }

    /// Records that `vector` was written to LR `lr` and is no longer pending.
    pub fn occupy(&mut self, lr: u8, vector: u16) {
        let n = self.num_lrs();
        let v = usize::from(vector);
        if usize::from(lr) >= n || v >= NUM_VECTORS {
            return;
        }
        if let Some(old) = self.lrs[usize::from(lr)].replace(vector) {
            self.forget_in_lr(old, lr);
        }
        self.occupied |= 1 << lr;
        set_bit(&mut self.in_lr, v, true);
        set_bit(&mut self.pending, v, false);
    }

    /// The guest EOI'd LR `lr`: frees it and returns the vector it held.
    pub fn release(&mut self, lr: usize) -> Option<u16> {
        let n = self.num_lrs();
        let vector = self.lrs[..n].get_mut(lr)?.take()?;
        self.occupied &= !(1 << lr);
        self.forget_in_lr(vector, lr as u8);
        Some(vector)
    }

    /// `vector` left LR `lr`: clears its `in_lr` bit unless another LR still holds it.
    fn forget_in_lr(&mut self, vector: u16, lr: u8) {
        let elsewhere = self.lrs[..self.num_lrs()]
            .iter()
            .enumerate()
            .any(|(i, x)| i != usize::from(lr) && *x == Some(vector));
        if !elsewhere {
            set_bit(&mut self.in_lr, usize::from(vector), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Vgic, lr_priority};

    #[test]
    fn fills_lowest_vector_into_lowest_free_lr() {
        let mut g = Vgic::new(2);
        g.raise(40);
        g.raise(3);
        g.raise(3);
        assert_eq!(g.next_fill(), Some((0, 3)));
        g.occupy(0, 3);
        assert_eq!(g.next_fill(), Some((1, 40)));
        g.occupy(1, 40);
        g.raise(5);
        assert_eq!(g.next_fill(), None);
        assert_eq!(g.release(0), Some(3));
        assert_eq!(g.next_fill(), Some((0, 5)));
    }

    #[test]
    fn a_vector_in_an_lr_waits_for_its_eoi() {
        let mut g = Vgic::new(4);
        g.raise(27);
        g.occupy(0, 27);
        g.raise(27);
        assert_eq!(g.next_fill(), None);
        g.release(0);
        assert_eq!(g.next_fill(), Some((0, 27)));
    }

    #[test]
    fn bitmaps_follow_every_word_and_lr() {
        let mut g = Vgic::new(16);
        for v in [255, 64, 63, 128, 0] {
            g.raise(v);
        }
        let mut order = std::vec::Vec::new();
        while let Some((lr, v)) = g.next_fill() {
            g.occupy(lr, v);
            order.push((lr, v));
        }
        assert_eq!(order, [(0, 0), (1, 63), (2, 64), (3, 128), (4, 255)]);
        assert!(!g.any_pending() && g.any_lr_occupied());
        assert_eq!(g.release(2), Some(64));
        assert_eq!(g.release(2), None, "already free");
        g.raise(64);
        g.raise(128);
        assert_eq!(g.next_fill(), Some((2, 64)), "128 is still in LR 3");
        for lr in 0..16 {
            g.release(lr);
        }
        assert!(!g.any_lr_occupied());
        assert_eq!(g.next_fill(), Some((0, 64)));
    }

    #[test]
    fn priorities_fit_five_bits() {
        assert_eq!(lr_priority(0), 0);
        assert_eq!(lr_priority(31), 0);
        assert_eq!(lr_priority(32), 2);
        assert_eq!(lr_priority(255), 2);
    }

    #[test]
    fn lr_count_is_clamped_and_out_of_range_is_ignored() {
        let mut g = Vgic::new(100);
        assert_eq!(g.num_lrs(), crate::MAX_LIST_REGISTERS);
        assert_eq!(g.release(99), None);
        g.raise(300);
        assert!(!g.any_pending());
    }
}
