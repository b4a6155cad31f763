//! The distributor against what Linux 6.1's `irq-gic` does at boot and at run time.

use super::*;

fn delivered(d: Deliveries) -> std::vec::Vec<u32> {
    d.iter().copied().collect()
}

#[test]
fn identification_registers() {
    let mut g = Gicd::new();
    assert_eq!(
        g.read(TYPER, 4),
        1,
        "ITLinesNumber 1: 64 interrupts, one CPU"
    );
    assert_eq!(g.read(IIDR, 4), IIDR_VALUE);
    assert_eq!(g.read(0xFE8, 4), 0x2B, "PIDR2: GICv2");
    assert_eq!(g.read(0xFF0, 4), 0x0D);
    assert_eq!(g.read(0xFFC, 4), 0xB1);
}

#[test]
fn banked_targets_read_as_own_cpu_and_spi_targets_take_bytes() {
    let mut g = Gicd::new();
    for k in 0..8 {
        assert_eq!(g.read(ITARGETSR + 4 * k, 4), 0x0101_0101);
    }
    g.write(ITARGETSR + 32, 4, 0x0101_0101);
    assert_eq!(g.read(ITARGETSR + 32, 4), 0x0101_0101);
    // gic_set_affinity: writeb of INTID 33's target.
    g.write(ITARGETSR + 33, 1, 0xFF);
    g.write(ITARGETSR + 32, 4, 0);
    g.write(ITARGETSR + 33, 1, 0x01);
    assert_eq!(g.read(ITARGETSR + 32, 4), 0x0000_0100);
    // The banked ones are read-only.
    g.write(ITARGETSR, 4, 0);
    assert_eq!(g.read(ITARGETSR, 4), 0x0101_0101);
}

#[test]
fn priorities_keep_five_bits_and_take_bytes() {
    let mut g = Gicd::new();
    g.write(IPRIORITYR + 0x20, 4, 0xA0A0_A0A0);
    assert_eq!(g.read(IPRIORITYR + 0x20, 4), 0xA0A0_A0A0);
    g.write(IPRIORITYR + 33, 1, 0xFF);
    assert_eq!(g.priority(33), Some(0xF8));
    assert_eq!(g.read(IPRIORITYR + 0x20, 4), 0xA0A0_F8A0);
    assert_eq!(g.read(IPRIORITYR + 33, 1), 0xF8);
}

#[test]
fn enable_set_clear_pairs() {
    let mut g = Gicd::new();
    g.write(ISENABLER, 4, 1 << 27);
    g.write(ISENABLER + 4, 4, 0x2);
    assert_eq!(g.read(ISENABLER, 4), 1 << 27);
    assert_eq!(
        g.read(ICENABLER + 4, 4),
        0x2,
        "ICENABLER reads the enable bits"
    );
    g.write(ICENABLER + 4, 4, 0xFFFF_FFFF);
    assert_eq!(g.read(ISENABLER + 4, 4), 0);
    assert!(g.is_enabled(27));
}

#[test]
fn active_set_clear_pairs() {
    let mut g = Gicd::new();
    g.write(ISACTIVER + 4, 4, 0x8);
    assert_eq!(g.read(ICACTIVER + 4, 4), 0x8);
    g.write(ICACTIVER + 4, 4, 0xFFFF_FFFF);
    assert_eq!(g.read(ISACTIVER + 4, 4), 0);
}

#[test]
fn config_sgis_and_ppis_read_only_spis_keep_edge_bits() {
    let mut g = Gicd::new();
    assert_eq!(g.read(ICFGR, 4), 0xAAAA_AAAA);
    g.write(ICFGR, 4, 0);
    assert_eq!(g.read(ICFGR, 4), 0xAAAA_AAAA);
    g.write(ICFGR + 4, 4, 0xFFFF_FFFF);
    assert_eq!(g.read(ICFGR + 4, 4), 0, "PPIs stay level");
    g.write(ICFGR + 8, 4, 0xFFFF_FFFF);
    assert_eq!(
        g.read(ICFGR + 8, 4),
        0xAAAA_AAAA,
        "SPI edge bits stick, reserved bits not"
    );
}

#[test]
fn pending_spi_is_delivered_once_enabled_and_distributor_on() {
    let mut g = Gicd::new();
    assert!(g.raise(33).is_empty(), "nothing enabled");
    assert!(g.is_pending(33));
    assert!(g.write(ISENABLER + 4, 4, 0x2).is_empty(), "distributor off");
    assert_eq!(delivered(g.write(CTLR, 4, 1)), [33]);
    assert!(!g.is_pending(33), "handed to the server");
    assert_eq!(delivered(g.raise(33)), [33]);
}

#[test]
fn ispendr_and_icpendr() {
    let mut g = Gicd::new();
    g.write(ISPENDR + 4, 4, 0x4);
    assert_eq!(g.read(ICPENDR + 4, 4), 0x4);
    g.write(ICPENDR + 4, 4, 0x4);
    assert_eq!(g.read(ISPENDR + 4, 4), 0);
    // SGI pending bits cannot be set through ISPENDR.
    g.write(ISPENDR, 4, 0x1);
    assert_eq!(g.read(ISPENDR, 4), 0);
}

#[test]
fn sgir_filters() {
    let mut g = Gicd::new();
    g.write(CTLR, 4, 1);
    g.write(ISENABLER, 4, 0x7F);
    // Linux with one possible CPU: TargetListFilter 0b10 (self).
    assert_eq!(delivered(g.write(SGIR, 4, 2 << 24 | 5)), [5]);
    // A target list naming CPU 0.
    assert_eq!(delivered(g.write(SGIR, 4, 1 << 16 | 1)), [1]);
    // All but self, and a list without CPU 0: nobody.
    assert!(g.write(SGIR, 4, 1 << 24 | 2).is_empty());
    assert!(g.write(SGIR, 4, 2 << 16 | 2).is_empty());
    assert!(!g.is_pending(2));
}

#[test]
fn disabled_sgi_stays_pending_until_enabled() {
    let mut g = Gicd::new();
    g.write(CTLR, 4, 1);
    assert!(g.write(SGIR, 4, 2 << 24 | 3).is_empty());
    assert_eq!(delivered(g.write(ISENABLER, 4, 1 << 3)), [3]);
}

#[test]
fn linux_boot_sequence_with_one_cpu() {
    // gic_dist_init / gic_cpu_init / enables, as traced in QEMU (spec §3.2), with N = 64.
    let mut g = Gicd::new();
    let n = g.read(TYPER, 4);
    let irqs = 32 * ((n & 0x1F) + 1);
    assert_eq!(irqs, 64);
    g.write(CTLR, 4, 0);
    let mask = g.read(ITARGETSR, 4) & 0xFF;
    assert_eq!(mask, 1, "the GIC CPU mask is found");
    let mask4 = mask * 0x0101_0101;
    for i in (32..irqs).step_by(4) {
        g.write(ITARGETSR + u64::from(i), 4, mask4);
    }
    for i in (32..irqs).step_by(16) {
        g.write(ICFGR + u64::from(i / 4), 4, 0);
    }
    for i in (32..irqs).step_by(4) {
        g.write(IPRIORITYR + u64::from(i), 4, 0xA0A0_A0A0);
    }
    for i in (32..irqs).step_by(32) {
        g.write(ICACTIVER + u64::from(i / 8), 4, u32::MAX);
        g.write(ICENABLER + u64::from(i / 8), 4, u32::MAX);
    }
    g.write(CTLR, 4, 1);
    g.write(ICACTIVER, 4, u32::MAX);
    g.write(ICENABLER, 4, u32::MAX);
    for i in (0..32).step_by(4) {
        g.write(IPRIORITYR + i, 4, 0xA0A0_A0A0);
    }
    for sgi in 0..7 {
        g.write(ISENABLER, 4, 1 << sgi);
    }
    g.write(ISENABLER, 4, 1 << 27);
    let _ = g.read(ICFGR + 8, 4);
    g.write(ISENABLER + 4, 4, 0x2);
    g.write(ITARGETSR + 33, 1, 0x1);
    assert!(g.enabled());
    assert!(g.is_enabled(33) && g.is_enabled(27) && g.is_enabled(6));
    assert_eq!(g.ignored, 0, "every access Linux makes is a register");
}

#[test]
fn bad_accesses_are_counted_not_fatal() {
    let mut g = Gicd::new();
    assert_eq!(g.read(CTLR + 1, 4), 0, "misaligned");
    g.write(CTLR, 2, 1);
    assert!(!g.enabled(), "half-word writes to CTLR are ignored");
    g.write(0xE00, 4, 1);
    assert_eq!(g.read(0x2000, 4), 0, "outside the page");
    assert_eq!(g.ignored, 4);
}
