//! A PL011 UART good enough for Linux's `amba-pl011` driver (and its earlycon), emulated
//! through MEM traps.
//!
//! Transmission is instantaneous: every byte written to UARTDR goes to the console at once, so
//! the flag register always reads TX FIFO empty and RX FIFO empty (`FR = 0x90`, never TXFF or
//! BUSY) and the driver never has to wait. The TX interrupt follows from that: its raw status is
//! always set (the FIFO is always at or below any trigger level), so the line is high exactly
//! while the guest unmasks TXIM, which Linux does only while it still has bytes to send. There
//! is no input: RX status bits stay clear. The PrimeCell and peripheral ID registers identify an
//! Arm PL011 r1 (`PeriphID 0x00141011`, `CellID 0xB105F00D`), which the AMBA bus probe needs.
//!
//! Bytes are collected into lines ([`vmm::uart::LineUart`]); the VMM prints each completed line
//! with a prefix. Accesses may be 8, 16 or 32 bits wide (Linux uses 16, the AMBA probe and
//! earlycon 32 and 8); a narrower access sees the low bits of the register.
#![forbid(unsafe_code)]

use vmm::uart::LineUart;

/// UARTDR.
pub const DR: u64 = 0x000;
/// UARTRSR / UARTECR.
pub const RSR: u64 = 0x004;
/// UARTFR.
pub const FR: u64 = 0x018;
/// UARTILPR.
pub const ILPR: u64 = 0x020;
/// UARTIBRD.
pub const IBRD: u64 = 0x024;
/// UARTFBRD.
pub const FBRD: u64 = 0x028;
/// UARTLCR_H.
pub const LCR_H: u64 = 0x02C;
/// UARTCR.
pub const CR: u64 = 0x030;
/// UARTIFLS.
pub const IFLS: u64 = 0x034;
/// UARTIMSC.
pub const IMSC: u64 = 0x038;
/// UARTRIS.
pub const RIS: u64 = 0x03C;
/// UARTMIS.
pub const MIS: u64 = 0x040;
/// UARTICR.
pub const ICR: u64 = 0x044;
/// UARTDMACR.
pub const DMACR: u64 = 0x048;
/// Size of the register page.
pub const SIZE: u64 = 0x1000;

/// FR: TX FIFO empty | RX FIFO empty.
pub const FR_IDLE: u32 = 0x90;
/// The TX interrupt bit (RIS, MIS, IMSC, ICR).
pub const INT_TX: u32 = 1 << 5;
/// Interrupt bits that exist.
const INT_MASK: u32 = 0x7FF;
/// Bytes at 0xFE0.. (PeriphID0..3, PCellID0..3): PL011 revision 1, Arm.
const ID_REGS: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

/// The UART.
#[derive(Debug)]
pub struct Pl011 {
    cr: u32,
    lcr_h: u32,
    ibrd: u32,
    fbrd: u32,
    ifls: u32,
    imsc: u32,
    dmacr: u32,
    ilpr: u32,
    line: LineUart,
    /// Bytes written to UARTDR.
    pub bytes: u64,
    /// Accesses to offsets that are no register (or bad sizes).
    pub ignored: u32,
}

impl Default for Pl011 {
    fn default() -> Self {
        Self::new()
    }
}

impl Pl011 {
    /// The UART after reset (CR = TXE | RXE, FIFO levels 1/2).
    pub const fn new() -> Self {
        Pl011 {
            cr: 0x300,
            lcr_h: 0,
            ibrd: 0,
            fbrd: 0,
            ifls: 0x12,
            imsc: 0,
            dmacr: 0,
            ilpr: 0,
            line: LineUart::new(),
            bytes: 0,
            ignored: 0,
        }
    }

    /// Raw interrupt status: TX always (see the module documentation).
    pub fn ris(&self) -> u32 {
        INT_TX
    }

    /// The interrupt line: high while an unmasked interrupt is raised.
    pub fn irq_level(&self) -> bool {
        self.ris() & self.imsc != 0
    }

    /// The line being collected (not yet ended by a newline).
    pub fn pending(&self) -> &str {
        self.line.pending()
    }

    /// A `size`-byte read at `offset`.
    pub fn read(&mut self, offset: u64, size: u8) -> u32 {
        if !valid(offset, size) {
            self.ignored += 1;
            return 0;
        }
        let word = match offset & !3 {
            DR | RSR => 0, // no input, no errors
            FR => FR_IDLE,
            ILPR => self.ilpr,
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.ris(),
            MIS => self.ris() & self.imsc,
            DMACR => self.dmacr,
            o if (0xFE0..0x1000).contains(&o) => u32::from(ID_REGS[((o - 0xFE0) / 4) as usize]),
            _ => {
                self.ignored += 1;
                0
            }
        };
        let value = word >> ((offset & 3) * 8);
        match size {
            1 => value & 0xFF,
            2 => value & 0xFFFF,
            _ => value,
        }
    }

    /// A `size`-byte write of `value` at `offset`. Returns the console line the write
    /// completed, if any (valid until the next call).
    pub fn write(&mut self, offset: u64, size: u8, value: u32) -> Option<&str> {
        if !valid(offset, size) || offset & 3 != 0 {
            self.ignored += 1;
            return None;
        }
        match offset {
            DR => {
                self.bytes += 1;
                return self.line.write(value as u8);
            }
            RSR => {} // clears error flags; there are none
            ILPR => self.ilpr = value & 0xFF,
            IBRD => self.ibrd = value & 0xFFFF,
            FBRD => self.fbrd = value & 0x3F,
            LCR_H => self.lcr_h = value & 0xFF,
            CR => self.cr = value & 0xFF87,
            IFLS => self.ifls = value & 0x3F,
            IMSC => self.imsc = value & INT_MASK,
            ICR => {} // TX re-raises at once (the FIFO stays empty); nothing else is ever raised
            DMACR => self.dmacr = value & 0x7,
            _ => self.ignored += 1,
        }
        None
    }
}

fn valid(offset: u64, size: u8) -> bool {
    matches!(size, 1 | 2 | 4) && offset % u64::from(size) == 0 && offset < SIZE
}

#[cfg(test)]
mod tests;
