//! Passes the link maps to the binaries, only when building for the bare-metal target (host
//! builds of tests and clippy link the binaries' stub `main` normally):
//! - every guest image gets `link.ld` (linked at the guest RAM base 0x4000_0000);
//! - the `qemu-harness` test tool gets `harness.ld` (0x4100_0000).
//!
//! All: static, non-PIE, 4 KiB segment alignment.

use std::env;
use std::path::Path;

/// Guest images (the `[[bin]]` targets that link with `link.ld`).
const GUESTS: [&str; 10] = [
    "hello", "irq", "spin", "compute", "mmio", "hostile", "smp", "timer", "gicdef", "el0",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let guest_script = Path::new(&dir).join("link.ld");
    let harness_script = Path::new(&dir).join("harness.ld");
    println!("cargo:rerun-if-changed={}", guest_script.display());
    println!("cargo:rerun-if-changed={}", harness_script.display());
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    for bin in GUESTS {
        println!(
            "cargo:rustc-link-arg-bin={bin}=-T{}",
            guest_script.display()
        );
    }
    println!(
        "cargo:rustc-link-arg-bin=qemu-harness=-T{}",
        harness_script.display()
    );
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bins=-static");
    println!("cargo:rustc-link-arg-bins=--no-pie");
}
