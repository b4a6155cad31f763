//! EL2 runtime of the `qemu-harness` test tool (not a guest): entry, EL2 vectors, the world
//! switch into the guest at EL1, stage-2 tables, the GIC virtual interface, the UART and PSCI.
//! All of the harness's `unsafe` code is here; `src/bin/qemu_harness.rs` is safe logic.
//!
//! The harness plays the VCPU server and the VMM at once, on bare QEMU (`-machine
//! virt,virtualization=on,gic-version=2`, which starts `-kernel` at EL2 with PSCI through
//! `smc`): it maps guest RAM and the GICV like the server does, leaves the UART, the test
//! device and everything else unmapped so accesses fault to EL2, and runs the guest with
//! seL4's HCR_EL2 traps (TSC, TWI, TWE) and CNTHCTL_EL2 = 0 (EL1 physical timer trapped).
//!
//! Memory map on QEMU (1 GiB of RAM at 0x4000_0000; QEMU puts its DTB at 0x4000_0000):
//! guest RAM backed by [`GUEST_RAM_PA`] (IPA 0x4000_0000 maps there: guest-physical is not
//! host-physical), the guest ELF file as raw bytes at [`ELF_PA`] (QEMU `-device
//! loader,force-raw=on`; the harness loads its segments like a VMM would), this program at
//! 0x4100_0000, a configuration page at [`CONFIG_ADDR`] written by QEMU `-device
//! loader,addr=...,data=...` options.
#![allow(unsafe_code)]

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::fmt;

use guests::layout::{GICC_BASE, RAM_BASE, RAM_SIZE};

const _: () = assert!(GUEST_RAM_PA % 0x20_0000 == 0 && RAM_SIZE == 0x20_0000);
const _: () = assert!(ELF_PA >= GUEST_RAM_PA + RAM_SIZE && ELF_PA + ELF_MAX as u64 <= 0x4100_0000);
use guests::psci;

/// Host-physical backing of the guest RAM (2 MiB aligned).
pub const GUEST_RAM_PA: u64 = 0x4040_0000;
/// Where the runner script puts the guest's ELF file, raw.
pub const ELF_PA: u64 = 0x4080_0000;
/// Most bytes of ELF file the harness looks at.
pub const ELF_MAX: usize = 0x80_0000;
/// Where the runner script puts the configuration words ([`Config`]).
pub const CONFIG_ADDR: u64 = 0x41FF_F000;
/// First configuration word: "GUESTCFG" in ASCII, so a missing configuration is detected.
pub const CONFIG_MAGIC: u64 = 0x4746_4354_5345_5547;

/// Host GIC addresses on QEMU virt (GICv2 with virtualization extensions).
const GICD_BASE: u64 = 0x0800_0000;
const GICC_PHYS_BASE: u64 = 0x0801_0000;
const GICH_BASE: u64 = 0x0803_0000;
/// INTID of the EL2 physical timer (PPI 10).
pub const HYP_TIMER_INTID: u32 = 26;
const GICV_BASE: u64 = 0x0804_0000;
/// PL011 data register (the harness writes its report there directly: EL2 has no stage 2).
const UART_DR: u64 = 0x0900_0000;

// Entry at EL2 (QEMU's -kernel), with the MMU off: stack, vectors, then `start`.
global_asm!(
    ".section .text.entry, \"ax\"",
    ".global _start",
    "_start:",
    "    adrp  x9, __harness_stack_top",
    "    add   x9, x9, :lo12:__harness_stack_top",
    "    mov   sp, x9",
    "    adrp  x9, harness_vectors",
    "    add   x9, x9, :lo12:harness_vectors",
    "    msr   vbar_el2, x9",
    "    isb",
    "    bl    {start}",
    "1:  b     1b",
    start = sym start,
);

// EL2 vectors. Slots 8..=11 (from a lower EL in AArch64: sync, IRQ, FIQ, SError) are guest
// exits: the guest's registers go to the frame whose address `guest_run` left in TPIDR_EL2,
// then `guest_run` returns the slot number to its caller. Every other slot is a harness bug.
global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global harness_vectors",
    "harness_vectors:",
    ".irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    "    stp   x0, x1, [sp, #-16]!",
    "    mov   x1, #\\kind",
    "    b     harness_exit",
    ".endr",
    "harness_exit:",
    "    cmp   x1, #8",
    "    b.lo  2f",
    "    cmp   x1, #11",
    "    b.hi  2f",
    "    mrs   x0, tpidr_el2",
    "    stp   x2, x3, [x0, #16]",
    "    stp   x4, x5, [x0, #32]",
    "    stp   x6, x7, [x0, #48]",
    "    stp   x8, x9, [x0, #64]",
    "    stp   x10, x11, [x0, #80]",
    "    stp   x12, x13, [x0, #96]",
    "    stp   x14, x15, [x0, #112]",
    "    stp   x16, x17, [x0, #128]",
    "    stp   x18, x19, [x0, #144]",
    "    stp   x20, x21, [x0, #160]",
    "    stp   x22, x23, [x0, #176]",
    "    stp   x24, x25, [x0, #192]",
    "    stp   x26, x27, [x0, #208]",
    "    stp   x28, x29, [x0, #224]",
    "    str   x30, [x0, #240]",
    "    ldp   x2, x3, [sp], #16",
    "    stp   x2, x3, [x0]",
    "    mrs   x2, sp_el1",
    "    str   x2, [x0, #248]",
    "    mrs   x2, elr_el2",
    "    str   x2, [x0, #256]",
    "    mrs   x2, spsr_el2",
    "    str   x2, [x0, #264]",
    "    mov   x0, x1",
    "    ldp   x19, x20, [sp]",
    "    ldp   x21, x22, [sp, #16]",
    "    ldp   x23, x24, [sp, #32]",
    "    ldp   x25, x26, [sp, #48]",
    "    ldp   x27, x28, [sp, #64]",
    "    ldp   x29, x30, [sp, #80]",
    "    add   sp, sp, #96",
    "    ret",
    "2:  mov   x0, x1",
    "    bl    {fatal}",
    "3:  b     3b",
    // guest_run(frame): saves the harness's callee-saved registers, loads the guest's and
    // enters it; returns (from `harness_exit`) at the guest's next exit.
    ".global harness_guest_run",
    "harness_guest_run:",
    "    sub   sp, sp, #96",
    "    stp   x19, x20, [sp]",
    "    stp   x21, x22, [sp, #16]",
    "    stp   x23, x24, [sp, #32]",
    "    stp   x25, x26, [sp, #48]",
    "    stp   x27, x28, [sp, #64]",
    "    stp   x29, x30, [sp, #80]",
    "    msr   tpidr_el2, x0",
    "    ldr   x1, [x0, #248]",
    "    msr   sp_el1, x1",
    "    ldr   x1, [x0, #256]",
    "    msr   elr_el2, x1",
    "    ldr   x1, [x0, #264]",
    "    msr   spsr_el2, x1",
    "    ldr   x30, [x0, #240]",
    "    ldp   x28, x29, [x0, #224]",
    "    ldp   x26, x27, [x0, #208]",
    "    ldp   x24, x25, [x0, #192]",
    "    ldp   x22, x23, [x0, #176]",
    "    ldp   x20, x21, [x0, #160]",
    "    ldp   x18, x19, [x0, #144]",
    "    ldp   x16, x17, [x0, #128]",
    "    ldp   x14, x15, [x0, #112]",
    "    ldp   x12, x13, [x0, #96]",
    "    ldp   x10, x11, [x0, #80]",
    "    ldp   x8, x9, [x0, #64]",
    "    ldp   x6, x7, [x0, #48]",
    "    ldp   x4, x5, [x0, #32]",
    "    ldp   x2, x3, [x0, #16]",
    "    ldp   x0, x1, [x0]",
    "    eret",
    fatal = sym fatal,
);

unsafe extern "C" {
    fn harness_guest_run(frame: *mut Frame) -> u64;
}

/// The guest's registers while it is not running (offsets used by the assembly above).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    /// x0..x30.
    pub x: [u64; 31],
    /// SP_EL1.
    pub sp_el1: u64,
    /// ELR_EL2: the guest PC.
    pub elr: u64,
    /// SPSR_EL2: the guest PSTATE.
    pub spsr: u64,
}

const _: () = assert!(core::mem::size_of::<Frame>() == 272);

/// Why [`run`] returned: the vector slot (8 sync, 9 IRQ, 10 FIQ, 11 SError) and the EL2
/// syndrome registers at that moment.
#[derive(Clone, Copy, Debug)]
pub struct Trap {
    /// Vector slot.
    pub kind: u64,
    /// ESR_EL2.
    pub esr: u64,
    /// The faulting IPA (HPFAR_EL2 page | FAR_EL2 offset); meaningful for stage-2 aborts.
    pub ipa: u64,
}

/// Runs the guest from `frame` until its next exit; `frame` then holds its registers.
pub fn run(frame: &mut Frame) -> Trap {
    // Safety: `frame` is exclusively borrowed for the call; the assembly only reads and
    // writes it and the EL1/EL2 registers, and returns on the guest's next exit with the
    // harness's callee-saved registers and stack restored.
    let kind = unsafe { harness_guest_run(frame) };
    let (esr, far, hpfar): (u64, u64, u64);
    // Safety: reading syndrome registers has no side effects.
    unsafe {
        asm!(
            "mrs {}, esr_el2",
            "mrs {}, far_el2",
            "mrs {}, hpfar_el2",
            out(reg) esr,
            out(reg) far,
            out(reg) hpfar,
            options(nomem, nostack, preserves_flags),
        )
    };
    let ipa = ((hpfar >> 4) & 0xFF_FFFF_FFFF) << 12 | (far & 0xFFF);
    Trap { kind, esr, ipa }
}

/// Stage-2 translation tables (4 KiB granule, 39-bit IPA, walk from level 1).
#[repr(C, align(4096))]
struct Table([u64; 512]);

struct Tables {
    l1: UnsafeCell<Table>,
    l2_ram: UnsafeCell<Table>,
    l2_gic: UnsafeCell<Table>,
    l3_gic: UnsafeCell<Table>,
}

// Safety: written once by `setup` on the only CPU before the guest runs; then read only by
// the MMU.
unsafe impl Sync for Tables {}

static TABLES: Tables = Tables {
    l1: UnsafeCell::new(Table([0; 512])),
    l2_ram: UnsafeCell::new(Table([0; 512])),
    l2_gic: UnsafeCell::new(Table([0; 512])),
    l3_gic: UnsafeCell::new(Table([0; 512])),
};

/// Stage-2 descriptor bits: valid table/page, block, access flag, inner shareable, S2AP
/// read/write, MemAttr normal write-back or Device-nGnRE.
const S2_TABLE: u64 = 0b11;
const S2_BLOCK: u64 = 0b01;
const S2_PAGE: u64 = 0b11;
const S2_AF: u64 = 1 << 10;
const S2_SH_INNER: u64 = 0b11 << 8;
const S2_RW: u64 = 0b11 << 6;
const S2_NORMAL: u64 = 0b1111 << 2;
const S2_DEVICE: u64 = 0b0001 << 2;

/// Builds stage 2 (guest RAM at IPA 0x4000_0000 as one 2 MiB block, the host GICV at
/// [`GICC_BASE`]; nothing else), sets the EL1 state of a fresh seL4 VCPU and seL4's traps,
/// and enables the GIC virtual interface.
pub fn setup() {
    const _: () = assert!(RAM_BASE == 0x4000_0000 && RAM_SIZE == 0x20_0000);
    const _: () = assert!(GICC_BASE == 0x8_0000_1000);
    let l1 = TABLES.l1.get() as u64;
    let l2_ram = TABLES.l2_ram.get() as u64;
    let l2_gic = TABLES.l2_gic.get() as u64;
    let l3_gic = TABLES.l3_gic.get() as u64;
    let leaf = S2_AF | S2_SH_INNER | S2_RW;
    // Safety: the tables are this program's own statics, not yet in use by the MMU; each
    // write stays inside its 512-entry table.
    unsafe {
        (*TABLES.l1.get()).0[1] = l2_ram | S2_TABLE; // IPA 1 GiB..2 GiB
        (*TABLES.l1.get()).0[32] = l2_gic | S2_TABLE; // IPA 32 GiB..33 GiB
        (*TABLES.l2_ram.get()).0[0] = GUEST_RAM_PA | leaf | S2_NORMAL | S2_BLOCK;
        (*TABLES.l2_gic.get()).0[0] = l3_gic | S2_TABLE;
        (*TABLES.l3_gic.get()).0[1] = GICV_BASE | leaf | S2_DEVICE | S2_PAGE;
        (*TABLES.l3_gic.get()).0[2] = (GICV_BASE + 0x1000) | leaf | S2_DEVICE | S2_PAGE;
    }
    // VTCR_EL2: RES1 bit 31, PS = 40 bits, TG0 4 KiB, non-cacheable walks, SL0 = level 1,
    // T0SZ = 25 (39-bit IPA).
    let vtcr: u64 = 1 << 31 | 0b010 << 16 | 0b01 << 6 | 25;
    // seL4's HCR_VCPU: VM, FMO, IMO, AMO, TWI, TWE, TSC, RW.
    let hcr: u64 = 1 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 13 | 1 << 14 | 1 << 19 | 1 << 31;
    // Safety: configures the EL1&0 regime and stage 2 for the guest; the harness itself runs
    // at EL2 with its MMU off and is unaffected. GICH is the host's GIC hypervisor interface.
    unsafe {
        asm!(
            "msr vtcr_el2, {vtcr}",
            "msr vttbr_el2, {l1}",
            "msr cnthctl_el2, xzr",
            "msr cntvoff_el2, xzr",
            "msr cptr_el2, {cptr}",
            "msr vmpidr_el2, {vmpidr}",
            "msr sctlr_el1, {sctlr}",
            "msr vbar_el1, xzr",
            "msr cpacr_el1, xzr",
            "msr hcr_el2, {hcr}",
            "isb",
            "tlbi vmalls12e1",
            "dsb sy",
            "isb",
            vtcr = in(reg) vtcr,
            l1 = in(reg) l1,
            cptr = in(reg) 0x33FFu64,
            vmpidr = in(reg) 0x8000_0000u64,
            sctlr = in(reg) 0x34D5_8820u64,
            hcr = in(reg) hcr,
            options(nostack),
        );
        core::ptr::write_volatile(GICH_BASE as *mut u32, 1); // GICH_HCR.En
    }
}

/// Arms the EL2 physical timer to interrupt in `ticks` counter ticks (the interrupt stops the
/// guest: physical IRQs go to EL2 while it runs, HCR_EL2.IMO), enabling its PPI in the host GIC
/// distributor and CPU interface first.
pub fn arm_hyp_timer(ticks: u64) {
    // Safety: the host GIC distributor and physical CPU interface, which only the harness
    // uses (the guest sees neither): enable, group 0, unmask all priorities, enable PPI 26.
    unsafe {
        core::ptr::write_volatile(GICD_BASE as *mut u32, 1);
        core::ptr::write_volatile((GICD_BASE + 0x100) as *mut u32, 1 << HYP_TIMER_INTID);
        core::ptr::write_volatile((GICC_PHYS_BASE + 0x4) as *mut u32, 0xFF);
        core::ptr::write_volatile(GICC_PHYS_BASE as *mut u32, 1);
    }
    // Safety: the EL2 physical timer belongs to the harness; enabled, unmasked.
    unsafe {
        asm!(
            "msr cnthp_tval_el2, {}",
            "msr cnthp_ctl_el2, {}",
            "isb",
            in(reg) ticks,
            in(reg) 1u64,
            options(nomem, nostack, preserves_flags),
        )
    };
}

/// Acknowledges the pending host interrupt, disables the timer and ends the interrupt;
/// returns its INTID.
pub fn ack_host_irq() -> u32 {
    // Safety: the host GIC physical CPU interface (IAR, then EOIR with the same value) and
    // the harness's own timer.
    unsafe {
        let iar = core::ptr::read_volatile((GICC_PHYS_BASE + 0xC) as *const u32);
        asm!(
            "msr cnthp_ctl_el2, xzr",
            "isb",
            options(nomem, nostack, preserves_flags)
        );
        core::ptr::write_volatile((GICC_PHYS_BASE + 0x10) as *mut u32, iar);
        iar & 0x3FF
    }
}

/// The guest ELF file as QEMU loaded it (the runner script passes it raw at [`ELF_PA`]).
pub fn elf_file() -> &'static [u8] {
    // Safety: QEMU RAM that nothing else in this program uses; never written while the
    // harness runs.
    unsafe { core::slice::from_raw_parts(ELF_PA as *const u8, ELF_MAX) }
}

/// The host memory behind guest RAM. Call once (before the guest runs).
pub fn guest_ram() -> &'static mut [u8] {
    static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if TAKEN.load(core::sync::atomic::Ordering::Relaxed) {
        crate::harness::fail_stop("guest_ram() called twice");
    }
    TAKEN.store(true, core::sync::atomic::Ordering::Relaxed);
    // Safety: QEMU RAM reserved for the guest (not this image, the ELF file, the DTB or the
    // configuration page); the flag above makes this the only reference.
    unsafe { core::slice::from_raw_parts_mut(GUEST_RAM_PA as *mut u8, RAM_SIZE as usize) }
}

/// Reports a harness error and powers off.
pub fn fail_stop(what: &str) -> ! {
    let _ = fmt::Write::write_fmt(&mut Uart, format_args!("FAIL {what}\n"));
    power_off()
}

/// Writes GICH_LR`index` (0..4 on QEMU): a pending virtual interrupt `intid`, group `group`,
/// priority field `priority` (5 bits; the priority is `priority << 3`).
pub fn inject(index: u64, intid: u32, group: u32, priority: u32) {
    let lr = 0b01 << 28 | (group & 1) << 30 | (priority & 0x1F) << 23 | (intid & 0x3FF);
    let addr = GICH_BASE + 0x100 + 4 * (index & 3);
    // Safety: GICH_LR0..3 of the host GIC hypervisor interface; the guest is not running.
    unsafe { core::ptr::write_volatile(addr as *mut u32, lr) };
}

/// The runner's configuration words at [`CONFIG_ADDR`].
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Must be [`CONFIG_MAGIC`].
    pub magic: u64,
    /// Which check to run (see the binary).
    pub mode: u64,
    /// Initial x0..x3 of the guest.
    pub x: [u64; 4],
}

/// Reads the configuration page.
pub fn config() -> Config {
    let word = |i: u64| {
        // Safety: the configuration page is RAM outside this image, written by QEMU before
        // the harness starts and never changed.
        unsafe { core::ptr::read_volatile((CONFIG_ADDR + 8 * i) as *const u64) }
    };
    Config {
        magic: word(0),
        mode: word(1),
        x: [word(2), word(3), word(4), word(5)],
    }
}

/// The host UART, for the harness's report.
pub struct Uart;

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // Safety: the PL011 data register; QEMU accepts writes without set-up.
            unsafe { core::ptr::write_volatile(UART_DR as *mut u32, u32::from(b)) };
        }
        Ok(())
    }
}

/// Powers QEMU off (PSCI SYSTEM_OFF from EL2).
pub fn power_off() -> ! {
    loop {
        // Safety: a PSCI call to QEMU's firmware emulation; it does not return.
        unsafe { asm!("smc #0", in("x0") u64::from(psci::SYSTEM_OFF), options(nostack)) };
    }
}

extern "C" fn start() -> ! {
    crate::harness_main()
}

/// An exception taken at EL2 itself: a harness bug.
extern "C" fn fatal(kind: u64) -> ! {
    let (esr, elr, far): (u64, u64, u64);
    // Safety: reading syndrome registers has no side effects.
    unsafe {
        asm!(
            "mrs {}, esr_el2",
            "mrs {}, elr_el2",
            "mrs {}, far_el2",
            out(reg) esr,
            out(reg) elr,
            out(reg) far,
            options(nomem, nostack, preserves_flags),
        )
    };
    let _ = fmt::Write::write_fmt(
        &mut Uart,
        format_args!(
            "FAIL harness exception slot {kind}: esr {esr:#x} elr {elr:#x} far {far:#x}\n"
        ),
    );
    power_off()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = fmt::Write::write_fmt(&mut Uart, format_args!("FAIL harness panic: {info}\n"));
    power_off()
}
