//! One line buffer per sender: bytes wait until their sender's `\n` (or a full buffer), so
//! complete lines of different senders never interleave on the UART.
#![forbid(unsafe_code)]

/// Most bytes kept per sender before a partial line is written anyway.
pub const LINE: usize = 192;
/// Senders with their own buffer: badges `1..SENDERS` (components) and the root task's;
/// others share the last buffer.
pub const SENDERS: usize = 40;

/// The per-sender line buffers.
pub struct Lines {
    bufs: [[u8; LINE]; SENDERS],
    lens: [usize; SENDERS],
}

impl Lines {
    /// Empty buffers.
    pub const fn new() -> Lines {
        Lines {
            bufs: [[0; LINE]; SENDERS],
            lens: [0; SENDERS],
        }
    }

    fn index(badge: u64) -> usize {
        match badge {
            plan::console::ROOT_BADGE => 0,
            b if (b as usize) < SENDERS - 1 && b != 0 => b as usize,
            _ => SENDERS - 1,
        }
    }

    /// Adds `bytes` from `badge`; each completed (or full) line goes to `out`.
    pub fn feed(&mut self, badge: u64, bytes: &[u8], mut out: impl FnMut(&[u8])) {
        let i = Self::index(badge);
        for &b in bytes {
            if self.lens[i] == LINE {
                out(&self.bufs[i][..LINE]);
                self.lens[i] = 0;
            }
            self.bufs[i][self.lens[i]] = b;
            self.lens[i] += 1;
            if b == b'\n' {
                out(&self.bufs[i][..self.lens[i]]);
                self.lens[i] = 0;
            }
        }
    }
}
