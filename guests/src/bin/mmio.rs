//! Guest `mmio`: loads from the test device with every size, sign extension and destination
//! width, echoes each loaded register, stores every size (and XZR), writes a checksum to
//! RESULT and calls PSCI SYSTEM_OFF. The exact exit sequence is `guests::mmio::SEQUENCE`; the
//! program is `src/rt/mmio.rs`.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/mmio.rs"]
mod program;

#[cfg(target_os = "none")]
rt::guest!(asm);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`mmio` is a guest image: build it with --target aarch64-unknown-none");
}
