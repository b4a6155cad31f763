//! Polled transmit on the PL011 (QEMU `virt`'s UART0): 32-bit register accesses only (the
//! mapping is Device memory).
#![allow(unsafe_code)]

/// Data register: write the byte to send.
const DR: usize = 0x000;
/// Flag register: bit 5 = transmit FIFO full.
const FR: usize = 0x018;
const FR_TXFF: u32 = 1 << 5;
/// Control register: UARTEN | TXE | RXE.
const CR: usize = 0x030;
const CR_ENABLE: u32 = 0x301;

/// The PL011's registers, mapped at `base`.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// # Safety
    /// `base` must map the PL011's 4 KiB of registers (uncached) for the rest of the program,
    /// and nothing else may use them.
    pub unsafe fn new(base: usize) -> Uart {
        Uart { base }
    }

    fn read(&self, reg: usize) -> u32 {
        // Safety: `reg` is a register offset inside the 4 KiB the constructor's contract maps;
        // 32-bit aligned (every offset above is).
        unsafe { core::ptr::read_volatile((self.base + reg) as *const u32) }
    }

    fn write_reg(&self, reg: usize, value: u32) {
        // Safety: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + reg) as *mut u32, value) }
    }

    /// Enables the UART (QEMU ignores the enable bits; real PL011s need them).
    pub fn enable(&self) {
        self.write_reg(CR, CR_ENABLE);
    }

    /// Writes `bytes`, each `\n` as `\r\n`, waiting while the transmit FIFO is full.
    pub fn write(&self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
    }

    fn put(&self, b: u8) {
        while self.read(FR) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        self.write_reg(DR, u32::from(b));
    }
}
