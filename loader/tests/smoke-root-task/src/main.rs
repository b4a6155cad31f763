//! Smoke-test root task for `vcpu-loader`.
//!
//! Prints a line with `seL4_DebugPutChar`, then powers QEMU off through the
//! SMC capability (PSCI `SYSTEM_OFF`). It uses raw `svc #0` calls so it
//! depends on nothing but the seL4 aarch64 syscall ABI:
//! - x7 = syscall number (Call = -1, DebugPutChar = -9);
//! - Call: x0 = cap, x1 = MessageInfo, x2..x5 = MR0..MR3, further MRs in the
//!   IPC buffer after its 8-byte tag.
//!
//! The kernel starts this thread with SP = 0 and x0 = BootInfo, so `_start`
//! sets up a stack first.

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::fmt::{self, Write};

/// seL4_SysCall.
const SYS_CALL: i64 = -1;
/// seL4_SysDebugPutChar.
const SYS_DEBUG_PUT_CHAR: i64 = -9;
/// Root CNode slot of the SMC capability (seL4_CapSMC).
const CAP_SMC: u64 = 15;
/// Invocation label of ARMSMCCall in the reference kernel build.
const ARM_SMC_CALL: u64 = 37;
/// PSCI SYSTEM_OFF function id.
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
/// Byte offset of `ipcBuffer` in seL4_BootInfo.
const BOOTINFO_IPC_BUFFER: usize = 32;
/// The extra BootInfo region starts one page after the BootInfo frame.
const EXTRA_BOOTINFO: usize = 4096;
/// seL4_BootInfoHeader id of a flattened device tree.
const BOOTINFO_FDT: u64 = 6;

const STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static mut STACK: Stack = Stack([0; STACK_SIZE]);

global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
_start:
    adrp    x9, {stack}
    add     x9, x9, :lo12:{stack}
    add     x9, x9, #{size}
    mov     sp, x9
    bl      {main}
1:  b       1b
"#,
    stack = sym STACK,
    size = const STACK_SIZE,
    main = sym smoke_main,
);

struct DebugConsole;

impl Write for DebugConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            // Safety: DebugPutChar only reads x0 and clobbers no memory.
            unsafe {
                asm!(
                    "svc #0",
                    inout("x0") u64::from(byte) => _,
                    in("x7") SYS_DEBUG_PUT_CHAR,
                    lateout("x1") _, lateout("x2") _, lateout("x3") _,
                    lateout("x4") _, lateout("x5") _,
                    options(nostack),
                );
            }
        }
        Ok(())
    }
}

extern "C" fn smoke_main(bootinfo: *const u8) -> ! {
    let _ = writeln!(
        DebugConsole,
        "smoke-root-task: hello from the root task, bootinfo at {bootinfo:p}"
    );
    report_fdt(bootinfo);
    // Safety: the kernel maps the BootInfo frame at `bootinfo`; word 4 is the
    // IPC buffer pointer, a mapped writable frame of this thread.
    let ipc = unsafe { bootinfo.add(BOOTINFO_IPC_BUFFER).cast::<*mut u64>().read() };
    for mr in 4..8 {
        // Safety: msg[4..8] of the IPC buffer (after the tag word) are in
        // the IPC buffer frame.
        unsafe { ipc.add(1 + mr).write_volatile(0) };
    }
    let _ = writeln!(
        DebugConsole,
        "smoke-root-task: PSCI SYSTEM_OFF via ARM_SMC_Call"
    );
    let info = (ARM_SMC_CALL << 12) | 8;
    let (label, mr0): (u64, u64);
    // Safety: seL4_Call on the SMC cap; the kernel writes only x0..x5 and
    // the IPC buffer.
    unsafe {
        asm!(
            "svc #0",
            inout("x0") CAP_SMC => _,
            inout("x1") info => label,
            inout("x2") PSCI_SYSTEM_OFF => mr0,
            inout("x3") 0u64 => _,
            inout("x4") 0u64 => _,
            inout("x5") 0u64 => _,
            in("x7") SYS_CALL,
            options(nostack),
        );
    }
    let _ = writeln!(
        DebugConsole,
        "smoke-root-task: still running after SYSTEM_OFF (reply info {label:#x}, x0 {mr0:#x})"
    );
    loop {
        core::hint::spin_loop();
    }
}

/// Prints whether the kernel passed a device tree in the extra BootInfo.
fn report_fdt(bootinfo: *const u8) {
    // Safety: word 0 of the mapped BootInfo frame is `extraLen`; the kernel
    // maps `extraLen` bytes of extra BootInfo right after the frame.
    let extra_len = unsafe { bootinfo.cast::<u64>().read() } as usize;
    let mut offset = 0;
    while offset + 16 <= extra_len {
        // Safety: within the mapped extra BootInfo (checked against extraLen).
        let (id, len, magic) = unsafe {
            let header = bootinfo.add(EXTRA_BOOTINFO + offset).cast::<u64>();
            (
                header.read(),
                header.add(1).read(),
                header.add(2).cast::<u32>().read(),
            )
        };
        if id == BOOTINFO_FDT {
            let magic = u32::from_be(magic);
            let _ = writeln!(
                DebugConsole,
                "smoke-root-task: FDT in extra BootInfo, {len} bytes, magic {magic:#x}"
            );
            return;
        }
        if len == 0 {
            break;
        }
        offset += len as usize;
    }
    let _ = writeln!(
        DebugConsole,
        "smoke-root-task: no FDT in extra BootInfo (extraLen {extra_len})"
    );
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(DebugConsole, "smoke-root-task: panic");
    loop {
        core::hint::spin_loop();
    }
}
