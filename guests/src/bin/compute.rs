//! Guest `compute`: reads x0..x3 (written by the VMM before the first enter), leaves
//! x19 = x0 + x1, x20 = x2 * x3, x21 = fib(20) and NZCV = Z|C, then calls PSCI CPU_OFF
//! (`ZX_ERR_STOP`) so the VMM can `read_state`. Exact register table: `guests::compute`.
//! The program is `src/rt/compute.rs`.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/compute.rs"]
mod program;

#[cfg(target_os = "none")]
rt::guest!(asm);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`compute` is a guest image: build it with --target aarch64-unknown-none");
}
