//! Architecture glue: the syscall trap (aarch64 target) or the host fake-kernel hook.

mod syscall;

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub use syscall::host;
pub use syscall::{
    SyscallRegs, debug_halt, debug_put_char, fault_on_null_cap, suspend_without_ipc_buffer,
    yield_now,
};
pub(crate) use syscall::{call_registers, send_registers, signal, syscall, syscall_x6};
