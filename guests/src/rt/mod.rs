//! The guests' runtime, included by every guest binary (`#[path]`, target only): the entry
//! point, the EL1 exception vectors, device access with fixed registers, PSCI calls and the
//! panic handler. With the guest-specific assembly next to it (`compute.rs`, `mmio.rs`,
//! `spin.rs`, `hostile.rs` in this directory) it holds all of the guests' `unsafe` code.
//!
//! Conventions the documented exit sequences rely on:
//! - the entry code (`_start`, the ELF entry) touches only x9, x10, SP, VBAR_EL1 and
//!   CPACR_EL1, then branches (no link) to `guest_main`, which the binary defines with
//!   [`guest!`] or in assembly; x0..x3 arrive as `guest_main`'s arguments;
//! - every device access goes through one instruction with fixed registers: data in x9/w9,
//!   address in x10, so each GUEST_MEM packet has xt = 9. Test-device registers are accessed
//!   64-bit, the UART data register with `strb`, the GIC CPU interface 32-bit;
//! - the MMU stays off, so all data accesses are Device-nGnRnE: the code must not make
//!   unaligned accesses (the target's `+strict-align` guarantees that for compiled code).
#![allow(unsafe_code)]
// Each guest uses a different subset of these helpers.
#![allow(dead_code)]

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicBool, Ordering};

use guests::layout::{GICC_BASE, GICC_SIZE, MAX_CPUS, PAGE_SIZE, RAM_END, STACK_SHIFT};
use guests::layout::{TESTDEV_BASE, UART_DR};
use guests::psci;
use guests::testdev::{self, STATUS, STATUS_BAD_CPU, STATUS_EXCEPTION, STATUS_PANIC};

// The entry code can build these addresses with one `movz`.
const _: () = assert!(RAM_END & 0xFFFF == 0 && RAM_END >> 32 == 0);
const _: () = assert!(TESTDEV_BASE & 0xFFFF == 0 && TESTDEV_BASE >> 32 == 0);

// `_start`: the ELF entry, at the first byte of the image (link.ld). Aff0 of MPIDR_EL1 picks
// the stack: SP = RAM_END - Aff0 * STACK_SIZE. A CPU without a stack slot reports
// STATUS_BAD_CPU and powers off. FP/SIMD is enabled for EL1 (CPACR_EL1.FPEN = 0b11) in case
// the compiler ever emits it; VBAR_EL1 points at `rt_vectors`.
global_asm!(
    ".section .text.entry, \"ax\"",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "    mrs   x9, mpidr_el1",
    "    and   x9, x9, #0xff",
    "    cmp   x9, #{max_cpus}",
    "    b.hs  2f",
    "    lsl   x9, x9, #{stack_shift}",
    "    movz  x10, #{ram_end_hi}, lsl #16",
    "    sub   x10, x10, x9",
    "    mov   sp, x10",
    "    adrp  x9, rt_vectors",
    "    add   x9, x9, :lo12:rt_vectors",
    "    msr   vbar_el1, x9",
    "    movz  x9, #0x30, lsl #16",
    "    msr   cpacr_el1, x9",
    "    isb",
    "    b     guest_main",
    "2:  movz  x10, #{testdev_hi}, lsl #16",
    "    movz  x9, #{bad_cpu}",
    "    str   x9, [x10, #{status}]",
    "    movz  x0, #{off_lo}",
    "    movk  x0, #{off_hi}, lsl #16",
    "3:  smc   #0",
    "    b     3b",
    ".size _start, . - _start",
    max_cpus = const MAX_CPUS,
    stack_shift = const STACK_SHIFT,
    ram_end_hi = const RAM_END >> 16,
    testdev_hi = const TESTDEV_BASE >> 16,
    bad_cpu = const STATUS_BAD_CPU,
    status = const STATUS,
    off_lo = const psci::SYSTEM_OFF & 0xFFFF,
    off_hi = const psci::SYSTEM_OFF >> 16,
);

// One initialised data word: link.ld folds .bss into .data, and this keeps that output section
// PROGBITS (file-backed zeros, p_filesz == p_memsz) even in images whose only statics are
// zero-initialised; lld would otherwise emit it as NOBITS.
global_asm!(
    ".section .data.rt_progbits, \"aw\", %progbits",
    ".balign 8",
    ".quad 0"
);

/// Bytes of the register frame an exception pushes (see [`Frame`]).
const FRAME_SIZE: usize = 272;
const _: () = assert!(core::mem::size_of::<Frame>() == FRAME_SIZE);

// The 16 EL1 vectors (0x80 bytes each): push x0/x1, pass the slot index in x0 and the frame in
// x1 to `exception`, then restore everything (including ELR/SPSR, which the handler may edit)
// and return.
global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global rt_vectors",
    "rt_vectors:",
    ".irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    "    sub   sp, sp, #{frame}",
    "    stp   x0, x1, [sp]",
    "    mov   x0, #\\kind",
    "    b     rt_exception_entry",
    ".endr",
    "rt_exception_entry:",
    "    stp   x2, x3, [sp, #16]",
    "    stp   x4, x5, [sp, #32]",
    "    stp   x6, x7, [sp, #48]",
    "    stp   x8, x9, [sp, #64]",
    "    stp   x10, x11, [sp, #80]",
    "    stp   x12, x13, [sp, #96]",
    "    stp   x14, x15, [sp, #112]",
    "    stp   x16, x17, [sp, #128]",
    "    stp   x18, x19, [sp, #144]",
    "    stp   x20, x21, [sp, #160]",
    "    stp   x22, x23, [sp, #176]",
    "    stp   x24, x25, [sp, #192]",
    "    stp   x26, x27, [sp, #208]",
    "    stp   x28, x29, [sp, #224]",
    "    mrs   x1, elr_el1",
    "    stp   x30, x1, [sp, #240]",
    "    mrs   x1, spsr_el1",
    "    str   x1, [sp, #256]",
    "    mov   x1, sp",
    "    bl    {handler}",
    "    ldr   x1, [sp, #256]",
    "    msr   spsr_el1, x1",
    "    ldp   x30, x1, [sp, #240]",
    "    msr   elr_el1, x1",
    "    ldp   x28, x29, [sp, #224]",
    "    ldp   x26, x27, [sp, #208]",
    "    ldp   x24, x25, [sp, #192]",
    "    ldp   x22, x23, [sp, #176]",
    "    ldp   x20, x21, [sp, #160]",
    "    ldp   x18, x19, [sp, #144]",
    "    ldp   x16, x17, [sp, #128]",
    "    ldp   x14, x15, [sp, #112]",
    "    ldp   x12, x13, [sp, #96]",
    "    ldp   x10, x11, [sp, #80]",
    "    ldp   x8, x9, [sp, #64]",
    "    ldp   x6, x7, [sp, #48]",
    "    ldp   x4, x5, [sp, #32]",
    "    ldp   x2, x3, [sp, #16]",
    "    ldp   x0, x1, [sp]",
    "    add   sp, sp, #{frame}",
    "    eret",
    frame = const FRAME_SIZE,
    handler = sym exception,
);

/// The registers an exception vector saved, as `exception` sees (and may edit) them.
#[repr(C)]
struct Frame {
    x: [u64; 31],
    elr: u64,
    spsr: u64,
    _pad: u64,
}

/// VBAR slot: synchronous exception from the current EL with SP_EL1.
const VECTOR_SYNC: u64 = 4;
/// VBAR slot: IRQ from the current EL with SP_EL1.
const VECTOR_IRQ: u64 = 5;
/// ESR_EL1.EC of an SVC from AArch64.
const EC_SVC64: u64 = 0x15;
/// SPSR.IL (illegal execution state).
const SPSR_IL: u64 = 1 << 20;

/// Per-CPU "the next synchronous exception is deliberate" flags (see [`expect_exception`]).
static EXPECTED: [AtomicBool; MAX_CPUS as usize] =
    [const { AtomicBool::new(false) }; MAX_CPUS as usize];

/// Called by the vectors. SVC returns to the instruction after it with x0 = ESR_EL1. An
/// expected synchronous exception skips the faulting instruction, clears SPSR.IL and returns
/// x0 = ESR_EL1. An IRQ goes to the binary's handler. Anything else is fatal.
extern "C" fn exception(kind: u64, frame: *mut Frame) {
    // Safety: the vector code passes the frame it just pushed on this CPU's stack; nothing
    // else refers to it until this function returns.
    let frame = unsafe { &mut *frame };
    let esr = read_esr();
    match kind {
        VECTOR_SYNC if esr >> 26 == EC_SVC64 => {
            frame.x[0] = esr;
            return;
        }
        VECTOR_SYNC if take_expected() => {
            frame.x[0] = esr;
            frame.elr = frame.elr.wrapping_add(4);
            frame.spsr &= !SPSR_IL;
            return;
        }
        VECTOR_IRQ if crate::guest_irq() => return,
        _ => {}
    }
    testdev_write(testdev::FAULT_ESR, esr);
    testdev_write(testdev::FAULT_ELR, frame.elr);
    testdev_write(testdev::FAULT_FAR, read_far());
    testdev_write(STATUS, STATUS_EXCEPTION | kind);
    system_off()
}

/// Defines the image's `guest_main` (the symbol `_start` branches to) and its IRQ hook.
///
/// - `guest!(main = f)`: `f([x0, x1, x2, x3]) -> !` is the program; any IRQ is fatal.
/// - `guest!(main = f, irq = g)`: `g()` handles each IRQ (it must acknowledge it).
/// - `guest!(asm)`: `guest_main` is defined in assembly; any IRQ is fatal.
macro_rules! guest {
    (main = $main:path) => {
        $crate::rt::guest!(@main $main);
        pub(crate) fn guest_irq() -> bool {
            false
        }
    };
    (main = $main:path, irq = $irq:path) => {
        $crate::rt::guest!(@main $main);
        pub(crate) fn guest_irq() -> bool {
            $irq();
            true
        }
    };
    (asm) => {
        pub(crate) fn guest_irq() -> bool {
            false
        }
    };
    (@main $main:path) => {
        // `no_mangle` only exports the name: this is the one definition of `guest_main` in
        // the image, with the C ABI `_start` assumes (arguments x0..x3, never returns).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        extern "C" fn guest_main(x0: u64, x1: u64, x2: u64, x3: u64) -> ! {
            $main([x0, x1, x2, x3])
        }
    };
}
pub(crate) use guest;

/// This CPU's index: MPIDR_EL1.Aff0 (always `< MAX_CPUS`: `_start` stops other CPUs).
pub fn cpu() -> usize {
    let mpidr: u64;
    // Safety: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack, preserves_flags)) };
    (mpidr & 0xFF) as usize
}

/// Address of `_start` (the image entry, for PSCI CPU_ON).
pub fn entry_point() -> u64 {
    let addr: u64;
    // Safety: computes an address; no memory access.
    unsafe {
        asm!(
            "adrp {0}, _start",
            "add {0}, {0}, :lo12:_start",
            out(reg) addr,
            options(nomem, nostack, preserves_flags),
        )
    };
    addr
}

/// 64-bit store of `value` to test-device register `offset` (`str x9, [x10]`). The offset is
/// reduced to an 8-byte aligned offset inside the page.
pub fn testdev_write(offset: u64, value: u64) {
    let addr = TESTDEV_BASE + (offset & (PAGE_SIZE - 8));
    // Safety: `addr` is inside the test-device page, outside RAM, so the store cannot touch
    // memory Rust uses; it exits to the VMM, which emulates it.
    unsafe {
        asm!("str x9, [x10]", in("x9") value, in("x10") addr, options(nostack, preserves_flags))
    };
}

/// 64-bit load of test-device register `offset` (`ldr x9, [x10]`), reduced like
/// [`testdev_write`].
pub fn testdev_read(offset: u64) -> u64 {
    let addr = TESTDEV_BASE + (offset & (PAGE_SIZE - 8));
    let value: u64;
    // Safety: as for `testdev_write`; the VMM supplies the loaded value.
    unsafe {
        asm!("ldr x9, [x10]", out("x9") value, in("x10") addr, options(nostack, preserves_flags))
    };
    value
}

/// Writes one byte to the UART data register (`strb w9, [x10]`).
pub fn uart_putc(byte: u8) {
    // Safety: UART_DR is a trapped device register outside RAM; the VMM emulates the store.
    unsafe {
        asm!("strb w9, [x10]", in("w9") u32::from(byte), in("x10") UART_DR, options(nostack, preserves_flags))
    };
}

/// Writes `bytes` to the UART, one `strb` each.
pub fn uart_write(bytes: &[u8]) {
    for &b in bytes {
        uart_putc(b);
    }
}

/// Writes `value` in decimal to the UART.
pub fn uart_write_dec(value: u64) {
    let mut digits = [0u8; 20];
    let mut n = value;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 || len == digits.len() {
            break;
        }
    }
    for &d in digits[..len].iter().rev() {
        uart_putc(d);
    }
}

/// 32-bit load of GIC CPU interface register `offset` (`ldr w9, [x10]`).
pub fn gicc_read(offset: u64) -> u32 {
    let addr = GICC_BASE + (offset & (GICC_SIZE - 4));
    let value: u32;
    // Safety: `addr` is inside the GICV mapping (device memory outside RAM).
    unsafe {
        asm!("ldr w9, [x10]", out("w9") value, in("x10") addr, options(nostack, preserves_flags))
    };
    value
}

/// 32-bit store to GIC CPU interface register `offset` (`str w9, [x10]`).
pub fn gicc_write(offset: u64, value: u32) {
    let addr = GICC_BASE + (offset & (GICC_SIZE - 4));
    // Safety: `addr` is inside the GICV mapping (device memory outside RAM).
    unsafe {
        asm!("str w9, [x10]", in("w9") value, in("x10") addr, options(nostack, preserves_flags))
    };
}

/// A PSCI call: `smc #0` with x0 = `function`, x1..x3 = `args`; returns x0.
pub fn psci(function: u32, args: [u64; 3]) -> u64 {
    let mut x0 = u64::from(function);
    // Safety: the SMC traps to the hypervisor, which answers in x0; per the SMC calling
    // convention x0..x17 may change and memory does not. (The clobbers are listed rather
    // than `clobber_abi("C")`, which would also clobber the FP/SIMD registers and make every
    // caller save d8..d15.)
    unsafe {
        asm!(
            "smc #0",
            inout("x0") x0,
            inout("x1") args[0] => _,
            inout("x2") args[1] => _,
            inout("x3") args[2] => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _, out("x9") _,
            out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        )
    };
    x0
}

/// PSCI SYSTEM_OFF (`enter` returns `ZX_ERR_UNAVAILABLE`); repeated if the VMM enters again.
pub fn system_off() -> ! {
    loop {
        psci(psci::SYSTEM_OFF, [0; 3]);
    }
}

/// PSCI CPU_OFF (`enter` returns `ZX_ERR_STOP`); repeated if the VMM enters again.
pub fn cpu_off() -> ! {
    loop {
        psci(psci::CPU_OFF, [0; 3]);
    }
}

/// Unmasks IRQs (`msr daifclr, #2`).
pub fn irq_unmask() {
    // Safety: only changes PSTATE.I; the vectors are installed by `_start`.
    unsafe { asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Waits for an interrupt (`wfi`; the server handles the trap).
pub fn wfi() {
    // Safety: no effect on memory or registers; an IRQ handler may run meanwhile (hence no
    // `nomem`).
    unsafe { asm!("wfi", options(nostack, preserves_flags)) };
}

/// Waits for an event (`wfe`; the server handles the trap and resumes at once).
pub fn wfe() {
    // Safety: as for `wfi`.
    unsafe { asm!("wfe", options(nostack, preserves_flags)) };
}

/// Signals an event to all CPUs (`sev`).
pub fn sev() {
    // Safety: no effect on memory or registers.
    unsafe { asm!("sev", options(nostack, preserves_flags)) };
}

/// Marks the next synchronous exception on this CPU as deliberate (see [`exception`]).
pub fn expect_exception() {
    if let Some(flag) = EXPECTED.get(cpu()) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Clears this CPU's flag (after a deliberate exception that did not happen, or an SVC).
pub fn clear_expected() {
    if let Some(flag) = EXPECTED.get(cpu()) {
        flag.store(false, Ordering::Relaxed);
    }
}

// Load then store, not `swap`: read-modify-write atomics need exclusive accesses, which are
// not guaranteed on the Device memory the guest runs with; each flag has one CPU.
fn take_expected() -> bool {
    match EXPECTED.get(cpu()) {
        Some(flag) if flag.load(Ordering::Relaxed) => {
            flag.store(false, Ordering::Relaxed);
            true
        }
        _ => false,
    }
}

fn read_esr() -> u64 {
    let esr: u64;
    // Safety: reading ESR_EL1 has no side effects.
    unsafe { asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack, preserves_flags)) };
    esr
}

fn read_far() -> u64 {
    let far: u64;
    // Safety: reading FAR_EL1 has no side effects.
    unsafe { asm!("mrs {}, far_el1", out(reg) far, options(nomem, nostack, preserves_flags)) };
    far
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    testdev_write(STATUS, STATUS_PANIC);
    system_off()
}
