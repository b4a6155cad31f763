//! The UART against what `amba-pl011` and the AMBA bus do (spec §4).

use super::*;

#[test]
fn amba_probe_reads_the_ids_with_words() {
    let mut u = Pl011::new();
    let mut pid = 0u32;
    let mut cid = 0u32;
    for i in 0..4u64 {
        pid |= (u.read(0xFE0 + 4 * i, 4) & 0xFF) << (8 * i);
        cid |= (u.read(0xFF0 + 4 * i, 4) & 0xFF) << (8 * i);
    }
    assert_eq!(cid, 0xB105_F00D);
    assert_eq!(pid & 0x000F_FFFF, 0x0004_1011, "vendor_arm match");
    assert_eq!((pid >> 20) & 0xF, 1, "revision 1: 16-byte FIFO");
}

#[test]
fn flags_never_block_the_driver() {
    let mut u = Pl011::new();
    for _ in 0..100 {
        u.write(DR, 2, u32::from(b'x'));
        let fr = u.read(FR, 2);
        assert_eq!(fr, FR_IDLE);
        assert_eq!(fr & (1 << 5 | 1 << 3), 0, "never TXFF or BUSY");
    }
    assert_eq!(u.bytes, 100);
}

#[test]
fn console_setup_registers_read_back() {
    let mut u = Pl011::new();
    assert_eq!(u.read(CR, 2), 0x300);
    u.write(CR, 2, 0x300);
    u.write(FBRD, 2, 4);
    u.write(IBRD, 2, 39);
    u.write(LCR_H, 2, 0x70);
    u.write(CR, 2, 0xF01);
    assert_eq!(u.read(FBRD, 2), 4);
    assert_eq!(u.read(IBRD, 2), 39);
    assert_eq!(u.read(LCR_H, 2), 0x70);
    assert_eq!(u.read(CR, 2), 0xF01);
    u.write(IFLS, 2, 0x12);
    assert_eq!(u.read(IFLS, 2), 0x12);
}

#[test]
fn lines_come_out_whole() {
    let mut u = Pl011::new();
    let mut lines = std::vec::Vec::new();
    for b in b"Linux version 6.1\r\nsecond" {
        if let Some(l) = u.write(DR, 1, u32::from(*b)) {
            lines.push(l.to_string());
        }
    }
    assert_eq!(lines, ["Linux version 6.1"]);
    assert_eq!(u.pending(), "second");
}

#[test]
fn tx_interrupt_follows_the_mask() {
    let mut u = Pl011::new();
    // pl011_hwinit / startup: ICR, IMSC = RX|RT: no line.
    u.write(ICR, 2, 0x7D0);
    u.write(IMSC, 2, 0x50);
    assert!(!u.irq_level());
    assert_eq!(u.read(MIS, 2), 0);
    // pl011_start_tx with bytes left: TXIM set -> line high, handler sees TX in RIS.
    u.write(IMSC, 2, 0x50 | INT_TX);
    assert!(u.irq_level());
    assert_eq!(u.read(RIS, 2) & INT_TX, INT_TX);
    assert_eq!(u.read(MIS, 2), INT_TX);
    // ICR does not silence it while the FIFO is empty ...
    u.write(ICR, 2, INT_TX);
    assert!(u.irq_level());
    // ... pl011_stop_tx does.
    u.write(IMSC, 2, 0x50);
    assert!(!u.irq_level());
}

#[test]
fn no_input() {
    let mut u = Pl011::new();
    assert_eq!(u.read(DR, 2), 0);
    assert_eq!(u.read(RIS, 2) & 0x50, 0, "no RX or RT status");
}

#[test]
fn bad_accesses_are_counted() {
    let mut u = Pl011::new();
    assert_eq!(u.read(0x801, 2), 0);
    assert!(u.write(0x100, 4, 1).is_none());
    assert!(u.write(DR, 8, 0x41).is_none());
    assert_eq!(u.ignored, 3);
    assert_eq!(u.bytes, 0);
}
