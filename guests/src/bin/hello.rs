//! Guest `hello`: writes `Hello from guest <n>!\n` to the UART, one `strb` per byte (n = MPIDR
//! Aff0 in decimal), then calls PSCI SYSTEM_OFF.
//!
//! Exits: one GUEST_MEM write per byte (addr 0x0900_0000, access_size 1, xt 9, data = the
//! byte), then `ZX_ERR_UNAVAILABLE`. See docs/GUESTS.md.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
rt::guest!(main = guest::main);

#[cfg(target_os = "none")]
mod guest {
    use crate::rt;

    pub fn main(_: [u64; 4]) -> ! {
        rt::uart_write(b"Hello from guest ");
        rt::uart_write_dec(rt::cpu() as u64);
        rt::uart_write(b"!\n");
        rt::system_off()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`hello` is a guest image: build it with --target aarch64-unknown-none");
}
