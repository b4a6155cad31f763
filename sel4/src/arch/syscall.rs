//! The crate's only `unsafe` code: the `svc #0` trap, and turning kernel-provided addresses
//! (IPC buffer, BootInfo frame) into references.
//!
//! Register convention (aarch64): x7 = syscall number; x0 = cptr in / badge out; x1 = message
//! info both ways; x2..x5 = MR0..MR3 both ways; on MCS also x6 = reply object (Recv,
//! ReplyRecv) and x8 = send destination (NBSendRecv). The kernel restores every other
//! register, so only x0..x5 are outputs.
//!
//! A syscall the configuration this crate is built for lacks (`Syscall::number` is `None`, e.g.
//! any debug syscall on a release kernel, `Reply` on MCS) is never issued: the trap answers it
//! like an `IllegalOperation` reply instead, so no code path can reach it on the kernel.
//!
//! Invariant that makes the safe API sound: a syscall that may read or write the IPC buffer is
//! only made through [`syscall`], which borrows the buffer mutably for the duration of the trap
//! and hands its address to the `asm!` block (so the compiler treats it as read and written).
//! The functions here that take no buffer ([`signal`], [`yield_now`], [`debug_put_char`],
//! [`debug_halt`], [`suspend_without_ipc_buffer`], [`fault_on_null_cap`]) make syscalls whose
//! kernel paths never touch the caller's IPC buffer; each says why.
//!
//! On the host there is no kernel: every syscall goes to a handler installed with
//! [`host::set_syscall_handler`] (a fake kernel for tests); without one, calls return an
//! `IllegalOperation` reply and sends are dropped.
#![allow(unsafe_code)]

use crate::abi::Syscall;
use crate::bootinfo::{BOOT_INFO_FRAME_SIZE, BootInfo, BootInfoError};
use crate::cap::{CPtr, Cap, cap_type};
use crate::invocation::Request;
use crate::ipc_buffer::IpcBuffer;
use crate::message::MessageInfo;

/// The registers a syscall reads and writes (x0, x1, x2..x5).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SyscallRegs {
    /// x0: cptr in, badge out.
    pub x0: u64,
    /// x1: message info.
    pub x1: u64,
    /// x2..x5: message registers 0..3.
    pub mrs: [u64; 4],
}

/// A syscall that may use the IPC buffer: the buffer is exclusively borrowed meanwhile.
pub(crate) fn syscall(buf: &mut IpcBuffer, sys: Syscall, regs: SyscallRegs) -> SyscallRegs {
    trap(Some(buf), sys, regs, 0)
}

/// Like [`syscall`], with x6 = `x6` (the MCS reply object of Recv and ReplyRecv; the send
/// destination of NBSendWait).
pub(crate) fn syscall_x6(
    buf: &mut IpcBuffer,
    sys: Syscall,
    regs: SyscallRegs,
    x6: u64,
) -> SyscallRegs {
    trap(Some(buf), sys, regs, x6)
}

/// Calls with a message of at most four words in registers, without an IPC buffer
/// (`seL4_Call`, length <= 4, no caps): the kernel reads nothing from the caller's buffer, and
/// writes nothing to it as long as the reply has at most four words and no caps (the
/// caller's contract, see `Cap::<Endpoint>::call_registers`). Returns the reply tag.
pub(crate) fn call_registers(dest: CPtr, label: u64, words: &[u64]) -> MessageInfo {
    let n = words.len().min(4);
    let mut mrs = [0u64; 4];
    mrs[..n].copy_from_slice(&words[..n]);
    let info = MessageInfo::new(label, 0, 0, n as u64);
    let out = trap(
        None,
        Syscall::Call,
        SyscallRegs {
            x0: dest,
            x1: info.word(),
            mrs,
        },
        0,
    );
    MessageInfo::from_word(out.x1)
}

/// Sends a message of at most four words, all in registers, without an IPC buffer
/// (`seL4_Send` with length <= 4 and no caps: the kernel copies MR0..3 from x2..x5 and reads
/// nothing from the sender's buffer). Longer lengths and extra caps are cut off.
pub(crate) fn send_registers(dest: CPtr, label: u64, words: &[u64]) {
    let n = words.len().min(4);
    let mut mrs = [0u64; 4];
    mrs[..n].copy_from_slice(&words[..n]);
    let info = MessageInfo::new(label, 0, 0, n as u64);
    trap(
        None,
        Syscall::Send,
        SyscallRegs {
            x0: dest,
            x1: info.word(),
            mrs,
        },
        0,
    );
}

/// Signals a notification (`seL4_Signal`). Send with an empty tag: the kernel copies no
/// message words and no caps from the sender, so the buffer is not touched.
pub(crate) fn signal(ntfn: CPtr) {
    trap(
        None,
        Syscall::Send,
        SyscallRegs {
            x0: ntfn,
            ..SyscallRegs::default()
        },
        0,
    );
}

/// Gives up the rest of the time slice (`seL4_Yield`). Uses no registers and no buffer.
pub fn yield_now() {
    trap(None, Syscall::Yield, SyscallRegs::default(), 0);
}

/// Prints one byte on the kernel console (`seL4_DebugPutChar`, debug kernels only; built for a
/// release kernel it does nothing). Uses only x0.
pub fn debug_put_char(c: u8) {
    trap(
        None,
        Syscall::DebugPutChar,
        SyscallRegs {
            x0: u64::from(c),
            ..SyscallRegs::default()
        },
        0,
    );
}

/// Halts the whole machine (`seL4_DebugHalt`, debug kernels only; built for a release kernel it
/// does nothing). Uses no buffer.
pub fn debug_halt() {
    trap(None, Syscall::DebugHalt, SyscallRegs::default(), 0);
}

/// Suspends `tcb` without an IPC buffer (for panic handlers). Corresponds to
/// `seL4_TCB_Suspend`, but invoked with `Send` instead of `Call`: the kernel performs the
/// operation and sends no reply, so nothing is ever written to the buffer, whatever object the
/// cptr really names, and errors are dropped. Suspending the calling thread does not return;
/// if this returns, `tcb` was not the caller's TCB.
pub fn suspend_without_ipc_buffer(tcb: Cap<cap_type::Tcb>) {
    let request = Request::tcb_suspend();
    let regs = SyscallRegs {
        x0: tcb.cptr(),
        x1: request.info().word(),
        mrs: [0; 4],
    };
    trap(None, Syscall::Send, regs, 0);
}

/// Stops the calling thread by raising a cap fault: `Call` on the null cptr. The kernel looks the
/// capability up before any message transfer and, because `Call` is a blocking invocation, turns
/// the failed lookup into a cap fault (a non-blocking `Send` would only print an error and
/// return). Nothing is read from or written to the IPC buffer. A thread without fault handler
/// (the root task) is made inactive; otherwise its handler decides. If the handler resumes it,
/// it faults again.
pub fn fault_on_null_cap() -> ! {
    loop {
        trap(None, Syscall::Call, SyscallRegs::default(), 0);
    }
}

impl IpcBuffer {
    /// The IPC buffer at `addr` (e.g. `BootInfo::ipc_buffer_addr` for the root task).
    /// Returns `None` if `addr` is null or not 1 KiB aligned.
    ///
    /// # Safety
    /// `addr` must be the calling thread's registered IPC buffer, mapped read-write for the
    /// rest of the program, and this must be the only reference to it ever created.
    pub unsafe fn from_addr(addr: usize) -> Option<&'static mut IpcBuffer> {
        if addr == 0 || addr % IpcBuffer::SIZE != 0 {
            return None;
        }
        // Safety: non-null and aligned (checked above); mapped, valid for any bit pattern
        // (all fields are integers) and unaliased by the caller's contract.
        Some(unsafe { &mut *(addr as *mut IpcBuffer) })
    }
}

impl BootInfo<'static> {
    /// The BootInfo frame at `addr` (the root task's initial x0), including the extra
    /// BootInfo chunks (e.g. the device tree) that follow it.
    ///
    /// # Safety
    /// `addr` must be the address the kernel passed to the root task, whose BootInfo frame and
    /// extra pages stay mapped and unmodified for the rest of the program.
    pub unsafe fn from_addr(addr: usize) -> core::result::Result<Self, BootInfoError> {
        if addr == 0 || addr % 8 != 0 {
            return Err(BootInfoError::BadAddress);
        }
        // Safety: the kernel maps the whole 4 KiB BootInfo frame at `addr` (caller contract).
        let frame = unsafe { core::slice::from_raw_parts(addr as *const u8, BOOT_INFO_FRAME_SIZE) };
        let extra_len = BootInfo::from_bytes(frame)?.extra_len();
        let total = usize::try_from(extra_len)
            .ok()
            .and_then(|e| e.checked_add(BOOT_INFO_FRAME_SIZE))
            .ok_or(BootInfoError::BadExtraLength)?;
        // Safety: the kernel maps `extra_len` bytes of extra BootInfo right after the frame.
        let all = unsafe { core::slice::from_raw_parts(addr as *const u8, total) };
        BootInfo::from_bytes(all)
    }
}

/// The answer to a syscall this configuration lacks: an `IllegalOperation` reply, badge 0.
fn absent(mut regs: SyscallRegs) -> SyscallRegs {
    regs.x0 = 0;
    let illegal = crate::error::Error::IllegalOperation.code();
    regs.x1 = crate::message::MessageInfo::new(illegal, 0, 0, 0).word();
    regs
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
fn trap(buf: Option<&mut IpcBuffer>, sys: Syscall, regs: SyscallRegs, x6: u64) -> SyscallRegs {
    let Some(number) = sys.number() else {
        return absent(regs);
    };
    let buf_addr: *mut IpcBuffer = match buf {
        Some(b) => b,
        None => core::ptr::null_mut(),
    };
    let SyscallRegs {
        mut x0,
        mut x1,
        mrs: [mut x2, mut x3, mut x4, mut x5],
    } = regs;
    // Safety: `svc #0` enters the seL4 kernel, which restores every register but x0..x5
    // (declared as in/out) and does not use our stack. The buffer address is passed as an
    // operand so the compiler assumes the trap reads and writes it; without a buffer, the
    // callers above guarantee the kernel path never touches it. Any other memory the kernel
    // changes (e.g. frames unmapped by an invocation) is not referenced by the caller.
    unsafe {
        core::arch::asm!(
            "svc #0 // ipc buffer: {buf}",
            buf = in(reg) buf_addr,
            inout("x0") x0,
            inout("x1") x1,
            inout("x2") x2,
            inout("x3") x3,
            inout("x4") x4,
            inout("x5") x5,
            in("x6") x6,
            in("x7") number,
            options(nostack),
        );
    }
    SyscallRegs {
        x0,
        x1,
        mrs: [x2, x3, x4, x5],
    }
}

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
fn trap(buf: Option<&mut IpcBuffer>, sys: Syscall, mut regs: SyscallRegs, _x6: u64) -> SyscallRegs {
    if sys.number().is_none() {
        return absent(regs);
    }
    match host::handler() {
        Some(handler) => handler(sys, &mut regs, buf),
        None => regs = absent(regs),
    }
    regs
}

/// Host-side fake kernel hook (not on the target).
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub mod host {
    use core::sync::atomic::{AtomicUsize, Ordering};

    use super::SyscallRegs;
    use crate::abi::Syscall;
    use crate::ipc_buffer::IpcBuffer;

    /// A fake kernel: gets the syscall, its registers (to update in place, as the kernel
    /// would) and the caller's IPC buffer when the syscall may use one.
    pub type SyscallHandler = fn(Syscall, &mut SyscallRegs, Option<&mut IpcBuffer>);

    static HANDLER: AtomicUsize = AtomicUsize::new(0);

    /// Installs (or with `None` removes) the process-wide fake kernel. Tests that need
    /// per-test state should keep it in thread-locals inside the handler.
    pub fn set_syscall_handler(handler: Option<SyscallHandler>) {
        HANDLER.store(handler.map_or(0, |h| h as usize), Ordering::SeqCst);
    }

    pub(super) fn handler() -> Option<SyscallHandler> {
        let raw = HANDLER.load(Ordering::SeqCst);
        if raw == 0 {
            return None;
        }
        // Safety: non-zero values are only ever stored by `set_syscall_handler`, from a
        // `SyscallHandler` fn pointer, which has the size of usize and is never null.
        Some(unsafe { core::mem::transmute::<usize, SyscallHandler>(raw) })
    }
}
