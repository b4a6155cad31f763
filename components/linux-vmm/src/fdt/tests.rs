//! The device tree, read back with a small flattened-tree walker.

use std::collections::BTreeMap;
use std::string::String;

use super::*;
use crate::layout::{DTB_BASE, DTB_MAX, INITRD_BASE};

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Every property as "path/name" -> value bytes.
fn props(dtb: &[u8]) -> BTreeMap<String, Vec<u8>> {
    assert_eq!(be32(dtb, 0), 0xD00D_FEED);
    assert_eq!(be32(dtb, 4) as usize, dtb.len(), "totalsize");
    let structs = be32(dtb, 8) as usize;
    let strings = be32(dtb, 12) as usize;
    let mut out = BTreeMap::new();
    let mut path: Vec<String> = Vec::new();
    let mut at = structs;
    loop {
        let token = be32(dtb, at);
        at += 4;
        match token {
            1 => {
                let end = at + dtb[at..].iter().position(|&b| b == 0).unwrap();
                path.push(String::from_utf8(dtb[at..end].to_vec()).unwrap());
                at = (end + 1).div_ceil(4) * 4;
            }
            2 => {
                path.pop();
            }
            3 => {
                let len = be32(dtb, at) as usize;
                let name_off = be32(dtb, at + 4) as usize + strings;
                let name_end = name_off + dtb[name_off..].iter().position(|&b| b == 0).unwrap();
                let name = String::from_utf8(dtb[name_off..name_end].to_vec()).unwrap();
                let value = dtb[at + 8..at + 8 + len].to_vec();
                out.insert(format!("{}/{}", path.join("/"), name), value);
                at = (at + 8 + len).div_ceil(4) * 4;
            }
            4 => {}
            9 => break,
            t => panic!("bad token {t}"),
        }
    }
    out
}

fn cells(v: &[u8]) -> Vec<u32> {
    v.chunks(4).map(|c| be32(c, 0)).collect()
}

fn placement() -> Placement {
    Placement {
        image: 0x4020_0000,
        initrd: INITRD_BASE,
        initrd_end: INITRD_BASE + 0x1234,
        dtb: DTB_BASE,
    }
}

#[test]
fn nodes_linux_needs() {
    let dtb = build(&placement(), "console=ttyAMA0 quiet").unwrap();
    assert!((dtb.len() as u64) < DTB_MAX);
    let p = props(&dtb);
    assert_eq!(p["/chosen/bootargs"], b"console=ttyAMA0 quiet\0");
    assert_eq!(p["/chosen/stdout-path"], b"/pl011@9000000\0");
    assert_eq!(cells(&p["/chosen/linux,initrd-start"]), [0, 0x4800_0000]);
    assert_eq!(cells(&p["/chosen/linux,initrd-end"]), [0, 0x4800_1234]);
    assert_eq!(
        cells(&p["/memory@40000000/reg"]),
        [0, 0x4000_0000, 0, 0x1000_0000]
    );
    assert_eq!(p["/cpus/cpu@0/enable-method"], b"psci\0");
    assert_eq!(cells(&p["/cpus/cpu@0/reg"]), [0]);
    assert_eq!(p["/psci/method"], b"smc\0");
    assert_eq!(p["/psci/compatible"], b"arm,psci-1.0\0arm,psci-0.2\0");
    assert_eq!(
        cells(&p["/intc@8000000/reg"]),
        [0, 0x0800_0000, 0, 0x1000, 0x8, 0x0000_1000, 0, 0x2000]
    );
    assert!(p.contains_key("/intc@8000000/interrupt-controller"));
    assert_eq!(cells(&p["/intc@8000000/phandle"]), [GIC_PHANDLE]);
    assert_eq!(cells(&p["/interrupt-parent"]), [GIC_PHANDLE]);
    assert_eq!(
        cells(&p["/timer/interrupts"]),
        [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4],
        "secure, non-secure, virtual, hyp PPIs in that order, level-high"
    );
    assert_eq!(cells(&p["/apb-pclk/clock-frequency"]), [24_000_000]);
    assert_eq!(
        p["/pl011@9000000/compatible"],
        b"arm,pl011\0arm,primecell\0"
    );
    assert_eq!(cells(&p["/pl011@9000000/interrupts"]), [0, 1, 4]);
    assert_eq!(
        cells(&p["/pl011@9000000/clocks"]),
        [CLOCK_PHANDLE, CLOCK_PHANDLE]
    );
    assert_eq!(cells(&p["/pl011@9000000/reg"]), [0, 0x0900_0000, 0, 0x1000]);
}

#[test]
fn no_host_virtualisation_ranges_leak() {
    let dtb = build(&placement(), "").unwrap();
    let p = props(&dtb);
    assert!(
        !p.contains_key("/intc@8000000/interrupts"),
        "no maintenance IRQ"
    );
    assert_eq!(
        cells(&p["/intc@8000000/reg"]).len(),
        8,
        "GICD and GICC only"
    );
}
