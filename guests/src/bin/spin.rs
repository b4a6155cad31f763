//! Guest `spin`: adds 1 to x19 forever, touching no memory and never exiting by itself (for
//! kick and preemption tests). x19 starts from the value the VMM wrote (0 on a fresh VCPU).
//! The program is `src/rt/spin.rs`.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/spin.rs"]
mod program;

#[cfg(target_os = "none")]
rt::guest!(asm);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`spin` is a guest image: build it with --target aarch64-unknown-none");
}
