//! AArch64 EL2 specifics: the entry point, system registers, cache
//! maintenance, the MMU switch and the jump into the kernel.
//!
//! Invariant: until [`enable_mmu`] the CPU runs with the EL2 MMU off, so
//! virtual addresses equal physical ones; afterwards the loader's tables map
//! this image and the UART at their physical addresses.

use core::arch::{asm, global_asm};
use core::ops::Range;

use vcpu_loader::layout::KernelArgs;
use vcpu_loader::regs::{self, MAIR_EL2, TCR_EL2};

// Entry from QEMU: mask interrupts, set the stack, clear BSS, let Rust code
// use FP/SIMD registers at the current EL (so the EL check can still print if
// we are not at EL2), then call `loader_main`.
global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    adrp    x9, __stack_top
    add     x9, x9, :lo12:__stack_top
    mov     sp, x9
    adrp    x9, __bss_start
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
1:  cmp     x9, x10
    b.hs    2f
    stp     xzr, xzr, [x9], #16
    b       1b
2:  mrs     x9, CurrentEL
    ubfx    x9, x9, #2, #2
    cmp     x9, #2
    b.eq    3f
    cmp     x9, #3
    b.eq    4f
    mrs     x10, cpacr_el1
    orr     x10, x10, #(3 << 20)
    msr     cpacr_el1, x10
    b       5f
3:  mrs     x10, cptr_el2
    bic     x10, x10, #(1 << 10)
    msr     cptr_el2, x10
    b       5f
4:  mrs     x10, cptr_el3
    bic     x10, x10, #(1 << 10)
    msr     cptr_el3, x10
5:  isb
    bl      {main}
6:  wfe
    b       6b
"#,
    main = sym super::loader_main,
);

// Entry of a secondary core started by PSCI CPU_ON (EL2, MMU and caches off, x0 = the
// context id: the core's index 1..7): mask interrupts, take that core's stack, allow FP/SIMD
// at EL2, then call `secondary_main(index)`.
global_asm!(
    r#"
    .section .text
    .global _secondary_start
    .balign 4
_secondary_start:
    msr     daifset, #0xf
    adrp    x9, __secondary_stacks
    add     x9, x9, :lo12:__secondary_stacks
    add     x9, x9, x0, lsl #12
    mov     sp, x9
    mrs     x10, cptr_el2
    bic     x10, x10, #(1 << 10)
    msr     cptr_el2, x10
    isb
    bl      {main}
1:  wfe
    b       1b
"#,
    main = sym super::secondary_main,
);

unsafe extern "C" {
    /// Entry of secondary cores (above).
    fn _secondary_start();
}

/// PSCI `CPU_ON` (SMC64).
const PSCI_CPU_ON: u64 = 0xC400_0003;

/// Starts the core with MPIDR affinity `core` at `_secondary_start` with x0 = `core`, through
/// PSCI `CPU_ON` over SMC (QEMU's conduit with `virtualization=on`). Returns PSCI's status
/// (0 success, -2 unknown core, -4 already on).
pub fn psci_cpu_on(core: u64) -> i64 {
    let entry = _secondary_start as *const () as usize as u64;
    let mut x0 = PSCI_CPU_ON;
    // Safety: a PSCI call to QEMU's firmware emulation: it only powers the target core on at
    // `entry` (this image's code, identity-addressed with the MMU off) and touches no memory
    // of this core; x1..x3 may be clobbered per the SMC calling convention.
    unsafe {
        asm!(
            "smc #0",
            inout("x0") x0,
            inout("x1") core => _,
            inout("x2") entry => _,
            inout("x3") core => _,
            options(nostack),
        )
    };
    x0 as i64
}

/// Raw CurrentEL register.
pub fn current_el() -> u64 {
    let el: u64;
    // Safety: reading CurrentEL is permitted at every EL above EL0 and has no
    // side effects.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) el, options(nomem, nostack, preserves_flags)) };
    el
}

/// Stops this CPU for good.
pub fn halt() -> ! {
    loop {
        // Safety: WFE only waits for an event; no memory or register effects.
        unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
    }
}

/// Smallest data cache line size in bytes (CTR_EL0.DminLine).
fn dcache_line() -> u64 {
    let ctr: u64;
    // Safety: CTR_EL0 is a read-only identification register.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    4 << ((ctr >> 16) & 0xf)
}

/// Cleans the data cache for `range` to the point of coherency.
pub fn clean_dcache_to_poc(range: Range<u64>) {
    let line = dcache_line();
    let mut addr = range.start - range.start % line;
    while addr < range.end {
        // Safety: DC CVAC writes back a line if dirty; it never changes the
        // memory contents seen by this CPU.
        unsafe { asm!("dc cvac, {}", in(reg) addr, options(nostack, preserves_flags)) };
        addr += line;
    }
    // Safety: barrier only.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// Invalidates the whole instruction cache (to PoU).
pub fn invalidate_icache() {
    // Safety: invalidating instruction caches only drops cached copies.
    unsafe {
        asm!(
            "ic iallu",
            "dsb sy",
            "isb",
            options(nostack, preserves_flags)
        )
    };
}

/// Loads MAIR/TCR/TTBR0 for EL2, flushes the EL2 TLB and enables the MMU
/// and caches; also zeroes CNTVOFF_EL2 and sets TPIDR_EL1 to `core`, the
/// logical core index an SMP kernel takes its stack by (0 on the boot core).
///
/// # Safety
/// `root_pa` must be a level-0 table (cleaned to PoC) that maps the code,
/// data and stack of this program and the UART at their current addresses.
pub unsafe fn enable_mmu(root_pa: u64, core: u64) {
    let sctlr: u64;
    // Safety: reading SCTLR_EL2 at EL2 has no side effects.
    unsafe { asm!("mrs {}, sctlr_el2", out(reg) sctlr, options(nomem, nostack, preserves_flags)) };
    let sctlr = regs::sctlr::enabled(sctlr);
    // Safety: the caller guarantees the tables keep this program mapped at
    // the same addresses, so execution continues after SCTLR_EL2.M is set.
    unsafe {
        asm!(
            "msr mair_el2, {mair}",
            "msr tcr_el2, {tcr}",
            "msr ttbr0_el2, {ttbr}",
            "isb",
            "tlbi alle2",
            "dsb ish",
            "isb",
            "msr sctlr_el2, {sctlr}",
            "isb",
            "msr cntvoff_el2, xzr",
            "msr tpidr_el1, {core}",
            "isb",
            mair = in(reg) MAIR_EL2,
            tcr = in(reg) TCR_EL2,
            ttbr = in(reg) root_pa,
            sctlr = in(reg) sctlr,
            core = in(reg) core,
            options(nostack, preserves_flags),
        );
    }
}

/// Branches to the kernel's virtual entry with x0..x5 = `args`.
///
/// # Safety
/// The kernel image must be in place and the MMU must map `entry` as the
/// kernel expects (spec §4.2). Never returns.
pub unsafe fn enter_kernel(entry: u64, args: &KernelArgs) -> ! {
    // Safety: per the caller's contract; the kernel does not return.
    unsafe {
        asm!(
            "br {entry}",
            entry = in(reg) entry,
            in("x0") args.ui_p_reg_start,
            in("x1") args.ui_p_reg_end,
            in("x2") args.pv_offset,
            in("x3") args.v_entry,
            in("x4") args.dtb_paddr,
            in("x5") args.dtb_size,
            options(noreturn, nostack),
        )
    }
}
