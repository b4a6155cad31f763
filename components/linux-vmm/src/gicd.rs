//! The GICv2 distributor as Linux's `irq-gic` driver sees it, emulated through MEM traps.
//!
//! The guest's CPU interface is the hardware GICV the server maps (not trapped); the
//! distributor page is trapped and every access is one GUEST_MEM exit handled here. The model
//! keeps the architectural state for [`NUM_IRQS`] interrupts and one CPU interface:
//! - CTLR (enable), TYPER (ITLinesNumber for [`NUM_IRQS`], one CPU), IIDR, the PrimeCell IDs;
//! - enable, pending and active bits (set/clear register pairs), priorities and targets (byte
//!   accessible), configuration (SGIs read-only edge, PPIs read-only level, SPIs writable);
//! - SGIR: an SGI for CPU interface 0 (the only one) becomes pending.
//!
//! Delivery: an interrupt that is enabled, pending, and the distributor enabled is handed to
//! the server with `zx_vcpu_interrupt` (the caller does that with the vectors this module
//! returns) and its pending bit here is cleared: from then on the server's virtual GIC owns it
//! (list registers, EOI through GICV). So pending bits here mean "pending, not yet delivered".
//! The virtual timer (INTID 27) never passes through here: the server takes it from the kernel's
//! VPPI event itself.
//!
//! Invariants: register arrays cover exactly [`NUM_IRQS`] interrupts; accesses past them read
//! as zero and ignore writes (RAZ/WI), as do reserved and unimplemented offsets.
#![forbid(unsafe_code)]

use heapless::Vec;

/// Interrupts implemented: SGIs, PPIs and 32 SPIs (TYPER.ITLinesNumber = 1). The guest's
/// devices use SPIs below 64, and each extra 32 would cost Linux ~30 more trapped writes at boot.
pub const NUM_IRQS: usize = 64;
/// Words of one bit per interrupt.
const WORDS: usize = NUM_IRQS / 32;

/// GICD_CTLR.
pub const CTLR: u64 = 0x000;
/// GICD_TYPER.
pub const TYPER: u64 = 0x004;
/// GICD_IIDR.
pub const IIDR: u64 = 0x008;
/// GICD_IGROUPRn.
pub const IGROUPR: u64 = 0x080;
/// GICD_ISENABLERn.
pub const ISENABLER: u64 = 0x100;
/// GICD_ICENABLERn.
pub const ICENABLER: u64 = 0x180;
/// GICD_ISPENDRn.
pub const ISPENDR: u64 = 0x200;
/// GICD_ICPENDRn.
pub const ICPENDR: u64 = 0x280;
/// GICD_ISACTIVERn.
pub const ISACTIVER: u64 = 0x300;
/// GICD_ICACTIVERn.
pub const ICACTIVER: u64 = 0x380;
/// GICD_IPRIORITYRn (byte per interrupt).
pub const IPRIORITYR: u64 = 0x400;
/// GICD_ITARGETSRn (byte per interrupt).
pub const ITARGETSR: u64 = 0x800;
/// GICD_ICFGRn (two bits per interrupt).
pub const ICFGR: u64 = 0xC00;
/// GICD_SGIR.
pub const SGIR: u64 = 0xF00;
/// Size of the distributor page.
pub const SIZE: u64 = 0x1000;

/// IIDR: Arm (0x43B), product GIC-400-like, revision 0.
pub const IIDR_VALUE: u32 = 0x0200_043B;
/// The CPU-interface mask of the one CPU (ITARGETSR0..7 read as this in every byte).
pub const CPU0_MASK: u8 = 1;
/// Priority bits kept (5, as a GIC-400).
const PRIORITY_MASK: u8 = 0xF8;
/// Peripheral and component ID registers from 0xFD0 (PIDR4..7, PIDR0..3, CIDR0..3): a GICv2
/// (PIDR2 arch revision 2).
const ID_REGS: [u8; 12] = [
    0x04, 0x00, 0x00, 0x00, 0x90, 0xB4, 0x2B, 0x00, 0x0D, 0xF0, 0x05, 0xB1,
];

/// Interrupts that became deliverable by one access (at most all of them).
pub type Deliveries = Vec<u32, NUM_IRQS>;

/// The emulated distributor.
#[derive(Clone, Debug)]
pub struct Gicd {
    enabled: bool,
    enable: [u32; WORDS],
    pending: [u32; WORDS],
    active: [u32; WORDS],
    priority: [u8; NUM_IRQS],
    target: [u8; NUM_IRQS],
    /// Two bits per interrupt, as the register holds them.
    config: [u32; NUM_IRQS / 16],
    /// Accesses to offsets that are no register (or bad sizes), for the VMM's report.
    pub ignored: u32,
}

impl Default for Gicd {
    fn default() -> Self {
        Self::new()
    }
}

impl Gicd {
    /// The distributor after reset: disabled, nothing enabled or pending, priorities 0, SPI
    /// targets 0, SGIs edge and everything else level.
    pub const fn new() -> Self {
        let mut config = [0u32; NUM_IRQS / 16];
        config[0] = 0xAAAA_AAAA; // SGIs: edge, read-only
        Gicd {
            enabled: false,
            enable: [0; WORDS],
            pending: [0; WORDS],
            active: [0; WORDS],
            priority: [0; NUM_IRQS],
            target: [0; NUM_IRQS],
            config,
            ignored: 0,
        }
    }

    /// The TYPER value: ITLinesNumber for [`NUM_IRQS`], CPUNumber 0 (one interface).
    pub const fn typer() -> u32 {
        (NUM_IRQS / 32 - 1) as u32
    }

    /// True if the distributor is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// True if `intid` is enabled.
    pub fn is_enabled(&self, intid: u32) -> bool {
        bit(&self.enable, intid)
    }

    /// True if `intid` is pending here (not yet handed to the server).
    pub fn is_pending(&self, intid: u32) -> bool {
        bit(&self.pending, intid)
    }

    /// Priority byte of `intid`.
    pub fn priority(&self, intid: u32) -> Option<u8> {
        self.priority.get(intid as usize).copied()
    }

    /// A `size`-byte read at `offset` (1, 2 or 4 bytes; Linux reads words).
    pub fn read(&mut self, offset: u64, size: u8) -> u32 {
        let word = self.read_word(offset & !3);
        let Some(shift) = lane(offset, size) else {
            self.ignored += 1;
            return 0;
        };
        let value = word >> shift;
        match size {
            1 => value & 0xFF,
            2 => value & 0xFFFF,
            _ => value,
        }
    }

    fn read_word(&mut self, offset: u64) -> u32 {
        match offset {
            CTLR => u32::from(self.enabled),
            TYPER => Self::typer(),
            IIDR => IIDR_VALUE,
            o if in_bits(o, IGROUPR) => 0,
            o if in_bits(o, ISENABLER) => self.enable[index(o, ISENABLER)],
            o if in_bits(o, ICENABLER) => self.enable[index(o, ICENABLER)],
            o if in_bits(o, ISPENDR) => self.pending[index(o, ISPENDR)],
            o if in_bits(o, ICPENDR) => self.pending[index(o, ICPENDR)],
            o if in_bits(o, ISACTIVER) => self.active[index(o, ISACTIVER)],
            o if in_bits(o, ICACTIVER) => self.active[index(o, ICACTIVER)],
            o if in_bytes(o, IPRIORITYR) => bytes_word(&self.priority, o - IPRIORITYR),
            o if (ITARGETSR..ITARGETSR + 32).contains(&o) => u32::from_le_bytes([CPU0_MASK; 4]),
            o if in_bytes(o, ITARGETSR) => bytes_word(&self.target, o - ITARGETSR),
            o if (ICFGR..ICFGR + (NUM_IRQS as u64 / 4)).contains(&o) => {
                self.config[((o - ICFGR) / 4) as usize]
            }
            o if (0xFD0..0x1000).contains(&o) => u32::from(ID_REGS[((o - 0xFD0) / 4) as usize]),
            _ => 0,
        }
    }

    /// A `size`-byte write of `value` at `offset`. Returns the interrupts that became
    /// deliverable (enabled, pending, distributor enabled); their pending bits are cleared.
    pub fn write(&mut self, offset: u64, size: u8, value: u32) -> Deliveries {
        if lane(offset, size).is_none() {
            self.ignored += 1;
            return Deliveries::new();
        }
        let aligned = offset & !3;
        match aligned {
            o if in_bytes(o, IPRIORITYR) => {
                let at = (offset - IPRIORITYR) as usize;
                write_bytes(&mut self.priority, at, size, value, PRIORITY_MASK);
                return Deliveries::new();
            }
            o if in_bytes(o, ITARGETSR) && o >= ITARGETSR + 32 => {
                let at = (offset - ITARGETSR) as usize;
                write_bytes(&mut self.target, at, size, value, CPU0_MASK);
                return Deliveries::new();
            }
            _ => {}
        }
        if size != 4 {
            // Everything else is word-only (KVM and QEMU agree); ignore like hardware would.
            self.ignored += 1;
            return Deliveries::new();
        }
        match aligned {
            CTLR => self.enabled = value & 1 != 0,
            o if in_bits(o, ISENABLER) => self.enable[index(o, ISENABLER)] |= value,
            o if in_bits(o, ICENABLER) => self.enable[index(o, ICENABLER)] &= !value,
            o if in_bits(o, ISPENDR) => {
                // SGI pending bits are set through SGIR (SPENDSGIR is not implemented).
                let i = index(o, ISPENDR);
                let mask = if i == 0 { 0xFFFF_0000 } else { u32::MAX };
                self.pending[i] |= value & mask;
            }
            o if in_bits(o, ICPENDR) => self.pending[index(o, ICPENDR)] &= !value,
            o if in_bits(o, ISACTIVER) => self.active[index(o, ISACTIVER)] |= value,
            o if in_bits(o, ICACTIVER) => self.active[index(o, ICACTIVER)] &= !value,
            o if (ICFGR..ICFGR + (NUM_IRQS as u64 / 4)).contains(&o) => {
                let i = ((o - ICFGR) / 4) as usize;
                // SGIs and PPIs read-only; for SPIs only the edge bits (2k+1) are writable.
                if i >= 2 {
                    self.config[i] = value & 0xAAAA_AAAA;
                }
            }
            SGIR => self.sgi(value),
            o if o == IGROUPR || in_bits(o, IGROUPR) => {} // group 0 only (RAZ/WI)
            _ => self.ignored += 1,
        }
        self.deliverable()
    }

    /// GICD_SGIR: with one CPU interface, every filter that names CPU 0 makes the SGI pending.
    fn sgi(&mut self, value: u32) {
        let intid = value & 0xF;
        let filter = (value >> 24) & 3;
        let list = (value >> 16) & 0xFF;
        let to_self = match filter {
            0 => list & u32::from(CPU0_MASK) != 0,
            1 => false, // all but the requester: there is no other CPU
            2 => true,
            _ => false, // reserved
        };
        if to_self {
            set_bit(&mut self.pending, intid);
        }
    }

    /// A device raised the (level or edge) line of SPI `intid`: it becomes pending. Returns the
    /// interrupts now deliverable.
    pub fn raise(&mut self, intid: u32) -> Deliveries {
        if (32..NUM_IRQS as u32).contains(&intid) {
            set_bit(&mut self.pending, intid);
        }
        self.deliverable()
    }

    /// Takes every enabled pending interrupt (if the distributor is enabled), clearing its
    /// pending bit here.
    fn deliverable(&mut self) -> Deliveries {
        let mut out = Deliveries::new();
        if !self.enabled {
            return out;
        }
        for w in 0..WORDS {
            let ready = self.pending[w] & self.enable[w];
            self.pending[w] &= !ready;
            for b in 0..32 {
                if ready & (1 << b) != 0 {
                    let _ = out.push(w as u32 * 32 + b);
                }
            }
        }
        out
    }
}

/// The bit shift of a `size`-byte access at `offset` inside its word, if the access is aligned
/// and of a supported size.
fn lane(offset: u64, size: u8) -> Option<u32> {
    let ok = matches!(size, 1 | 2 | 4) && offset % u64::from(size) == 0 && offset < SIZE;
    ok.then(|| ((offset & 3) * 8) as u32)
}

/// True if `o` is a word of a one-bit-per-interrupt bank starting at `base`.
fn in_bits(o: u64, base: u64) -> bool {
    (base..base + WORDS as u64 * 4).contains(&o)
}

/// True if `o` is a word of a one-byte-per-interrupt bank starting at `base`.
fn in_bytes(o: u64, base: u64) -> bool {
    (base..base + NUM_IRQS as u64).contains(&o)
}

fn index(o: u64, base: u64) -> usize {
    ((o - base) / 4) as usize
}

fn bit(words: &[u32; WORDS], intid: u32) -> bool {
    words
        .get(intid as usize / 32)
        .is_some_and(|w| w & (1 << (intid % 32)) != 0)
}

fn set_bit(words: &mut [u32; WORDS], intid: u32) {
    if let Some(w) = words.get_mut(intid as usize / 32) {
        *w |= 1 << (intid % 32);
    }
}

fn bytes_word(bytes: &[u8; NUM_IRQS], at: u64) -> u32 {
    let at = at as usize;
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn write_bytes(bytes: &mut [u8; NUM_IRQS], at: usize, size: u8, value: u32, keep: u8) {
    for k in 0..usize::from(size) {
        if let Some(b) = bytes.get_mut(at + k) {
            *b = (value >> (8 * k)) as u8 & keep;
        }
    }
}

#[cfg(test)]
mod tests;
