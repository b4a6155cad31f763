//! The guest's device tree, written with `vm-fdt` (spec `linux-guest-arm64.md` §2).
//!
//! Seven nodes, what Debian's 6.1 kernel needs and nothing else: `/memory`, `/cpus` (one CPU,
//! `enable-method = "psci"`, `reg` = its MPIDR, 0), `/psci` (method `smc`, see below), the GICv2
//! (distributor at the VMM-trapped page, CPU interface at the server's GICV mapping), the armv8
//! timer (PPIs 13, 14, 11, 10, level-high; Linux at EL1 uses the virtual timer, PPI 11 = INTID
//! 27, which seL4 delivers to the server as a VPPI event), a fixed 24 MHz clock and the PL011
//! (SPI 1, both clocks), plus `/chosen` with bootargs, stdout-path and the initrd range.
//!
//! **Why `smc`, not `hvc`**: a guest HVC is an seL4 system call (the kernel runs it in the
//! VCPU thread's CSpace, see docs/SERVER.md); it never reaches the VCPU server as a PSCI call.
//! A trapped SMC arrives as a VCPU fault, which the server answers with PSCI semantics.
#![forbid(unsafe_code)]

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use vm_fdt::{Error, FdtWriter};

use crate::layout::{
    GICC_BASE, GICC_SIZE, GICD_BASE, GICD_SIZE, Placement, RAM_BASE, RAM_SIZE, UART_BASE,
    UART_CLOCK_HZ, UART_SIZE, UART_SPI,
};

const GIC_PHANDLE: u32 = 1;
const CLOCK_PHANDLE: u32 = 2;
/// Interrupt specifier types.
const SPI: u32 = 0;
const PPI: u32 = 1;
/// Level-high trigger.
const LEVEL_HIGH: u32 = 4;

/// The device tree blob for a boot with `p` and `bootargs`.
pub fn build(p: &Placement, bootargs: &str) -> Result<Vec<u8>, Error> {
    let mut w = FdtWriter::new()?;
    let root = w.begin_node("")?;
    w.property_u32("#address-cells", 2)?;
    w.property_u32("#size-cells", 2)?;
    w.property_string("compatible", "linux,dummy-virt")?;
    w.property_string("model", "sel4-vcpu-server linux-vmm")?;
    w.property_u32("interrupt-parent", GIC_PHANDLE)?;

    let chosen = w.begin_node("chosen")?;
    w.property_string("bootargs", bootargs)?;
    w.property_string("stdout-path", &uart_path())?;
    w.property_u64("linux,initrd-start", p.initrd)?;
    w.property_u64("linux,initrd-end", p.initrd_end)?;
    w.end_node(chosen)?;

    let memory = w.begin_node(&alloc::format!("memory@{RAM_BASE:x}"))?;
    w.property_string("device_type", "memory")?;
    w.property_array_u64("reg", &[RAM_BASE, RAM_SIZE])?;
    w.end_node(memory)?;

    let cpus = w.begin_node("cpus")?;
    w.property_u32("#address-cells", 1)?;
    w.property_u32("#size-cells", 0)?;
    let cpu = w.begin_node("cpu@0")?;
    w.property_string("device_type", "cpu")?;
    w.property_string("compatible", "arm,cortex-a57")?;
    w.property_u32("reg", 0)?;
    w.property_string("enable-method", "psci")?;
    w.end_node(cpu)?;
    w.end_node(cpus)?;

    let psci = w.begin_node("psci")?;
    w.property_string_list(
        "compatible",
        vec!["arm,psci-1.0".to_string(), "arm,psci-0.2".to_string()],
    )?;
    w.property_string("method", "smc")?;
    w.end_node(psci)?;

    let gic = w.begin_node(&alloc::format!("intc@{GICD_BASE:x}"))?;
    w.property_string("compatible", "arm,cortex-a15-gic")?;
    w.property_null("interrupt-controller")?;
    w.property_u32("#interrupt-cells", 3)?;
    w.property_u32("#address-cells", 0)?;
    w.property_array_u64("reg", &[GICD_BASE, GICD_SIZE, GICC_BASE, GICC_SIZE])?;
    w.property_phandle(GIC_PHANDLE)?;
    w.end_node(gic)?;

    let timer = w.begin_node("timer")?;
    w.property_string("compatible", "arm,armv8-timer")?;
    w.property_null("always-on")?;
    let mut irqs = Vec::new();
    for ppi in [13, 14, 11, 10] {
        irqs.extend_from_slice(&[PPI, ppi, LEVEL_HIGH]);
    }
    w.property_array_u32("interrupts", &irqs)?;
    w.end_node(timer)?;

    let clock = w.begin_node("apb-pclk")?;
    w.property_string("compatible", "fixed-clock")?;
    w.property_u32("#clock-cells", 0)?;
    w.property_u32("clock-frequency", UART_CLOCK_HZ)?;
    w.property_string("clock-output-names", "clk24mhz")?;
    w.property_phandle(CLOCK_PHANDLE)?;
    w.end_node(clock)?;

    let uart = w.begin_node(&uart_path()[1..])?;
    w.property_string_list(
        "compatible",
        vec!["arm,pl011".to_string(), "arm,primecell".to_string()],
    )?;
    w.property_array_u64("reg", &[UART_BASE, UART_SIZE])?;
    w.property_array_u32("interrupts", &[SPI, UART_SPI, LEVEL_HIGH])?;
    w.property_array_u32("clocks", &[CLOCK_PHANDLE, CLOCK_PHANDLE])?;
    w.property_string_list(
        "clock-names",
        vec!["uartclk".to_string(), "apb_pclk".to_string()],
    )?;
    w.end_node(uart)?;

    w.end_node(root)?;
    w.finish()
}

/// The PL011's node path.
fn uart_path() -> alloc::string::String {
    alloc::format!("/pl011@{UART_BASE:x}")
}

#[cfg(test)]
mod tests;
