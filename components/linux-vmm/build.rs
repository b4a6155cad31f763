//! Links the component for the target with the runtime's script.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        for arg in sel4_runtime::LINK_ARGS {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}
