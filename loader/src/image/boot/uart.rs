//! Polled output on the QEMU `virt` PL011 UART at 0x0900_0000.
//!
//! QEMU's PL011 needs no set-up to transmit; the loader only waits for room
//! in the FIFO and writes the data register.

use core::fmt;
use core::ptr::NonNull;

use vcpu_loader::qemu_virt::UART;
use volatile::VolatilePtr;
use volatile::access::{ReadOnly, WriteOnly};

/// Data register offset.
const DR: usize = 0x00;
/// Flag register offset.
const FR: usize = 0x18;
/// FR.TXFF: transmit FIFO full.
const FR_TXFF: u32 = 1 << 5;

/// A handle on the console UART; handles hold no state and may coexist.
pub struct Uart {
    dr: VolatilePtr<'static, u32, WriteOnly>,
    fr: VolatilePtr<'static, u32, ReadOnly>,
}

/// The console UART.
pub fn console() -> Uart {
    let reg = |offset: usize| (UART as usize + offset) as *mut u32;
    // Safety: UART + offset is a non-zero constant. DR and FR are PL011
    // registers, accessible with the MMU off (physical) and after it is on
    // (identity-mapped device memory); each access through the handle is a
    // single aligned 32-bit volatile load or store.
    unsafe {
        Uart {
            dr: VolatilePtr::new_restricted(WriteOnly, NonNull::new_unchecked(reg(DR))),
            fr: VolatilePtr::new_restricted(ReadOnly, NonNull::new_unchecked(reg(FR))),
        }
    }
}

impl Uart {
    fn put(&mut self, byte: u8) {
        while self.fr.read() & FR_TXFF != 0 {}
        self.dr.write(u32::from(byte));
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.put(b'\r');
            }
            self.put(byte);
        }
        Ok(())
    }
}
