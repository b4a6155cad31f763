//! Links the program with sel4-runtime's script when building for seL4 (host builds, e.g.
//! `cargo clippy --workspace`, compile a stub `main` and link nothing special).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        for arg in sel4_runtime::LINK_ARGS {
            println!("cargo::rustc-link-arg-bins={arg}");
        }
        println!("cargo::rerun-if-changed={}", sel4_runtime::LINKER_SCRIPT);
    }
}
