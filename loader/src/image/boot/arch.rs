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
/// and caches; also zeroes CNTVOFF_EL2 and TPIDR_EL1 for the kernel.
///
/// # Safety
/// `root_pa` must be a level-0 table (cleaned to PoC) that maps the code,
/// data and stack of this program and the UART at their current addresses.
pub unsafe fn enable_mmu(root_pa: u64) {
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
            "msr tpidr_el1, xzr",
            "isb",
            mair = in(reg) MAIR_EL2,
            tcr = in(reg) TCR_EL2,
            ttbr = in(reg) root_pa,
            sctlr = in(reg) sctlr,
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
