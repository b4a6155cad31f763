//! Links the `vcpu-server` component binary with the seL4 runtime's linker script when it is
//! built for seL4 (`target_os = "none"`). Host builds (the binary's host stub and its unit tests)
//! get no extra link arguments.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        for arg in sel4_runtime::LINK_ARGS {
            println!("cargo:rustc-link-arg-bin=vcpu-server={arg}");
        }
    }
}
