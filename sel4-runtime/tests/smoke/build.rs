//! Links with the runtime's script (static, non-PIE, base 0x40_0000, 4 KiB pages).

fn main() {
    for arg in sel4_runtime::LINK_ARGS {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed={}", sel4_runtime::LINKER_SCRIPT);
}
