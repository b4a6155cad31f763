//! The test device (`guests::testdev`): one trapped page the guests use to report results and
//! to read test inputs.
//!
//! Reads are answered by [`guests::testdev::device_read`] (the contract's reference answer)
//! with the configured [`TestDevice::irq_count`]. Writes are recorded: the last value of each
//! register, and every RESULT value in order (the `irq` guest writes one per interrupt).

use guests::testdev::{
    self, DETAIL, ECHO, FAULT_ELR, FAULT_ESR, FAULT_FAR, MARKER, RESULT, STATUS,
};
use heapless::Vec;

/// RESULT values kept.
pub const RESULT_LOG: usize = 32;

/// The test device's state as the VMM keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestDevice {
    /// What a read of `IN_IRQ_COUNT` answers.
    pub irq_count: u64,
    /// Every RESULT written, oldest first (at most [`RESULT_LOG`]; later ones are dropped).
    pub results: Vec<u64, RESULT_LOG>,
    /// Last STATUS written.
    pub status: Option<u64>,
    /// Last MARKER written.
    pub marker: Option<u64>,
    /// Last ECHO written.
    pub echo: Option<u64>,
    /// Last DETAIL written.
    pub detail: Option<u64>,
    /// FAULT_ESR, FAULT_ELR, FAULT_FAR as last written (an unexpected guest exception).
    pub fault: [Option<u64>; 3],
    /// Writes to offsets that are no register (e.g. the SINK).
    pub other_writes: u32,
}

impl TestDevice {
    /// A device answering `irq_count` for `IN_IRQ_COUNT`.
    pub fn new(irq_count: u64) -> Self {
        TestDevice {
            irq_count,
            ..TestDevice::default()
        }
    }

    /// The value of a `size`-byte read at `offset` (before register extension).
    pub fn read(&self, offset: u64, size: u8) -> u64 {
        testdev::device_read(offset, u64::from(size), self.irq_count)
    }

    /// Records a write of `value` at `offset`.
    pub fn write(&mut self, offset: u64, value: u64) {
        match offset {
            RESULT => {
                let _ = self.results.push(value);
            }
            STATUS => self.status = Some(value),
            MARKER => self.marker = Some(value),
            ECHO => self.echo = Some(value),
            DETAIL => self.detail = Some(value),
            FAULT_ESR => self.fault[0] = Some(value),
            FAULT_ELR => self.fault[1] = Some(value),
            FAULT_FAR => self.fault[2] = Some(value),
            _ => self.other_writes += 1,
        }
    }

    /// The last RESULT written.
    pub fn result(&self) -> Option<u64> {
        self.results.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use guests::testdev::{IN_IRQ_COUNT, PATTERN_NEG, PATTERN_NEG_VALUE, RESULT, SINK, STATUS};

    use super::TestDevice;

    #[test]
    fn reads_follow_the_contract() {
        let d = TestDevice::new(3);
        assert_eq!(d.read(IN_IRQ_COUNT, 8), 3);
        assert_eq!(d.read(PATTERN_NEG, 8), PATTERN_NEG_VALUE);
        assert_eq!(d.read(PATTERN_NEG + 1, 1), 0xF2);
        assert_eq!(d.read(0x800, 4), 0);
    }

    #[test]
    fn writes_are_recorded() {
        let mut d = TestDevice::new(0);
        d.write(RESULT, 40);
        d.write(RESULT, 41);
        d.write(STATUS, 1);
        d.write(SINK, 9);
        assert_eq!(d.results.as_slice(), [40, 41]);
        assert_eq!(d.result(), Some(41));
        assert_eq!(d.status, Some(1));
        assert_eq!(d.other_writes, 1);
    }
}
