//! Links the program with the component runtime's script when building for seL4 (host builds
//! compile a stub `main`), and embeds the `timer`, `gicdef` and `el0` guest images for the
//! target: the `guests`
//! binaries are built first into this build's target directory (xtask builds the binaries of
//! a program's embedded packages first), so the ELF is taken from next to this build's
//! artifacts (`<target-dir>/aarch64-unknown-none/<profile>/timer`, derived from `OUT_DIR`), or
//! from `$VMM_GUEST_DIR` if set. The generated `timer_image.rs` defines `TIMER`, `GICDEF` and
//! `EL0` (`&[u8]`).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VMM_GUEST_DIR");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    for arg in sel4_runtime::LINK_ARGS {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR = <target-dir>/<triple>/<profile>/build/vcpu-guests-<hash>/out
    let dir = match env::var_os("VMM_GUEST_DIR") {
        Some(d) => PathBuf::from(d),
        None => out
            .ancestors()
            .nth(3)
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let mut module = String::new();
    for (name, konst) in [("timer", "TIMER"), ("gicdef", "GICDEF"), ("el0", "EL0")] {
        let image = dir.join(name);
        if !image.is_file() {
            panic!(
                "guest image `{name}` not found at {}: build the guests first (`cargo build -p \
                 guests --release --target aarch64-unknown-none`, same CARGO_TARGET_DIR) or set \
                 VMM_GUEST_DIR",
                image.display()
            );
        }
        println!("cargo:rerun-if-changed={}", image.display());
        module.push_str(&format!(
            "/// The `{name}` guest image (ELF).\npub static {konst}: &[u8] = include_bytes!({:?});\n",
            image.display().to_string()
        ));
    }
    std::fs::write(out.join("timer_image.rs"), module).expect("write timer_image.rs");
}
