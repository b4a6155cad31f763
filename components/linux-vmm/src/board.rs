//! The guest's devices behind their traps, and the record of exits.
//!
//! [`Board::mem`] takes one GUEST_MEM exit (from the distributor or UART trap) and says what
//! the VMM must do: complete a load, hand interrupts to the server, print a console line. It
//! counts exits by kind and keeps the last [`LAST_EXITS`] of them, which the VMM prints when it
//! gives up on a guest. Accesses outside both devices ("wild" MMIO inside a trap) are refused:
//! the VMM reports them and stops the guest.
#![forbid(unsafe_code)]

use heapless::{Deque, String, Vec};
use vcpu_protocol::layout::PacketGuestMem;

use crate::gicd::{self, Gicd};
use crate::layout::{GICD_BASE, UART_BASE, UART_SPI};
use crate::pl011::{self, Pl011};

/// Exits kept for the report.
pub const LAST_EXITS: usize = 16;
/// Longest console line handed out.
pub const LINE_MAX: usize = vmm::uart::LINE_MAX;
/// The UART's INTID.
pub const UART_INTID: u32 = 32 + UART_SPI;

/// What kind of exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// GICD access.
    Gicd,
    /// PL011 access.
    Uart,
    /// A MEM exit at no device.
    Wild,
    /// Another packet type.
    Packet,
    /// An enter that returned an error status.
    Status,
}

/// One exit as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitRecord {
    /// Its kind.
    pub kind: Kind,
    /// Address (MEM), packet type (Packet) or the status (Status).
    pub addr: u64,
    /// Access size.
    pub size: u8,
    /// True for a read.
    pub read: bool,
    /// Value written or read.
    pub value: u64,
}

/// Exits by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// GICD accesses.
    pub gicd: u64,
    /// PL011 accesses.
    pub uart: u64,
    /// MEM exits at no device.
    pub wild: u64,
    /// Other packets (e.g. GUEST_VCPU).
    pub packets: u64,
    /// Interrupts handed to the server (`zx_vcpu_interrupt`).
    pub injected: u64,
}

/// What the VMM must do after a MEM exit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MemOutcome {
    /// A load: this value (already extended) goes into `x[xt]`.
    pub load: Option<u64>,
    /// Interrupts to hand to the server with `zx_vcpu_interrupt`.
    pub interrupts: Vec<u32, { gicd::NUM_IRQS }>,
    /// A console line the guest completed.
    pub line: Option<String<LINE_MAX>>,
    /// The access hit no device: stop the guest.
    pub wild: bool,
}

/// The devices and the exit record.
#[derive(Debug, Default)]
pub struct Board {
    /// The distributor.
    pub gicd: Gicd,
    /// The UART.
    pub uart: Pl011,
    uart_level: bool,
    /// Exits by kind.
    pub counts: Counts,
    last: Deque<ExitRecord, LAST_EXITS>,
}

impl Board {
    /// Fresh devices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an exit (the oldest is dropped when full).
    pub fn record(&mut self, r: ExitRecord) {
        if self.last.is_full() {
            self.last.pop_front();
        }
        let _ = self.last.push_back(r);
    }

    /// The last exits, oldest first.
    pub fn last_exits(&self) -> impl Iterator<Item = &ExitRecord> {
        self.last.iter()
    }

    /// Handles a MEM exit.
    pub fn mem(&mut self, m: &PacketGuestMem) -> MemOutcome {
        let mut out = MemOutcome::default();
        let read = m.read != 0;
        let size = m.access_size;
        let (kind, value) = if let Some(off) = within(m.addr, GICD_BASE, gicd::SIZE) {
            self.counts.gicd += 1;
            if read {
                let v = self.gicd.read(off, size);
                out.load = Some(extend(v, size, m.sign_extend != 0));
                (Kind::Gicd, u64::from(v))
            } else {
                out.interrupts = self.gicd.write(off, size, m.data as u32);
                (Kind::Gicd, m.data)
            }
        } else if let Some(off) = within(m.addr, UART_BASE, pl011::SIZE) {
            self.counts.uart += 1;
            if read {
                let v = self.uart.read(off, size);
                out.load = Some(extend(v, size, m.sign_extend != 0));
                (Kind::Uart, u64::from(v))
            } else {
                if let Some(line) = self.uart.write(off, size, m.data as u32) {
                    let mut s = String::new();
                    let _ = s.push_str(line);
                    out.line = Some(s);
                }
                let level = self.uart.irq_level();
                if level && !self.uart_level {
                    out.interrupts = self.gicd.raise(UART_INTID);
                }
                self.uart_level = level;
                (Kind::Uart, m.data)
            }
        } else {
            self.counts.wild += 1;
            out.wild = true;
            (Kind::Wild, m.data)
        };
        self.counts.injected += out.interrupts.len() as u64;
        self.record(ExitRecord {
            kind,
            addr: m.addr,
            size,
            read,
            value,
        });
        out
    }
}

fn within(addr: u64, base: u64, size: u64) -> Option<u64> {
    addr.checked_sub(base).filter(|off| *off < size)
}

/// A loaded register value: a `size`-byte device value, sign- or zero-extended to 64 bits.
fn extend(v: u32, size: u8, sign: bool) -> u64 {
    vmm::machine::load_value(u64::from(v), size, sign)
}

#[cfg(test)]
mod tests {
    use zerocopy::FromZeros;

    use super::*;
    use crate::gicd::{CTLR, ISENABLER};
    use crate::pl011::{DR, FR, IMSC, INT_TX};

    fn mem(addr: u64, size: u8, read: bool, data: u64) -> PacketGuestMem {
        let mut m = PacketGuestMem::new_zeroed();
        m.addr = addr;
        m.access_size = size;
        m.read = u8::from(read);
        m.data = data;
        m.xt = 1;
        m
    }

    #[test]
    fn uart_lines_and_flag_reads() {
        let mut b = Board::new();
        let mut lines = std::vec::Vec::new();
        for c in b"Linux version 6.1.0\n" {
            let o = b.mem(&mem(UART_BASE + FR, 2, true, 0));
            assert_eq!(o.load, Some(0x90));
            let o = b.mem(&mem(UART_BASE + DR, 2, false, u64::from(*c)));
            if let Some(l) = o.line {
                lines.push(l);
            }
        }
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].as_str(), "Linux version 6.1.0");
        assert_eq!(b.counts.uart, 40);
    }

    #[test]
    fn uart_tx_interrupt_goes_through_the_distributor() {
        let mut b = Board::new();
        b.mem(&mem(GICD_BASE + CTLR, 4, false, 1));
        b.mem(&mem(
            GICD_BASE + ISENABLER + 4,
            4,
            false,
            1 << (UART_INTID - 32),
        ));
        let o = b.mem(&mem(UART_BASE + IMSC, 2, false, u64::from(INT_TX)));
        assert_eq!(o.interrupts.as_slice(), [UART_INTID]);
        // Still high: no second edge.
        let o = b.mem(&mem(UART_BASE + IMSC, 2, false, u64::from(INT_TX)));
        assert!(o.interrupts.is_empty());
        b.mem(&mem(UART_BASE + IMSC, 2, false, 0));
        let o = b.mem(&mem(UART_BASE + IMSC, 2, false, u64::from(INT_TX)));
        assert_eq!(o.interrupts.as_slice(), [UART_INTID]);
        assert_eq!(b.counts.injected, 2);
    }

    #[test]
    fn wild_access_is_flagged_and_recorded() {
        let mut b = Board::new();
        let o = b.mem(&mem(GICD_BASE + 0x1000, 4, true, 0));
        assert!(o.wild);
        assert_eq!(b.counts.wild, 1);
        let last: std::vec::Vec<_> = b.last_exits().collect();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].kind, Kind::Wild);
        assert_eq!(last[0].addr, GICD_BASE + 0x1000);
    }

    #[test]
    fn last_exits_keep_the_newest() {
        let mut b = Board::new();
        for k in 0..40u64 {
            b.mem(&mem(UART_BASE + DR, 1, false, k));
        }
        let last: std::vec::Vec<_> = b.last_exits().map(|r| r.value).collect();
        assert_eq!(last.len(), LAST_EXITS);
        assert_eq!(last[0], 40 - LAST_EXITS as u64);
        assert_eq!(*last.last().unwrap(), 39);
    }

    #[test]
    fn sign_extended_loads() {
        let mut b = Board::new();
        let mut m = mem(UART_BASE + 0xFFC, 1, true, 0);
        m.sign_extend = 1;
        assert_eq!(b.mem(&m).load, Some(0xFFFF_FFFF_FFFF_FFB1));
    }
}
