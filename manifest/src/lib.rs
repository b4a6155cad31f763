//! System manifests: a typed TOML schema, validation with located errors, and generation of the
//! boot plan the root task executes.
//!
//! A manifest (`manifests/README.md` documents every field) describes a seL4 system: components
//! and their threads, which client threads may call the one server (each gets its own badge),
//! memory regions, the server's VCPU-making resources and the Zircon handles clients receive at
//! boot. All policy is decided here, on the host, at build time:
//!
//! - [`load`] / [`load_str`] parse strictly (unknown keys are errors) and validate semantically,
//!   returning every problem as a [`Diagnostic`] printed `file:line:col: error[kind]: message`,
//!   with a stable [`ErrorKind`];
//! - [`codegen`] turns a [`ValidatedSystem`] into Rust source defining
//!   `pub static PLAN: plan::Plan`, for the root task's `build.rs` to write and its code to
//!   `include!`;
//! - [`check_elf`] checks a built component ELF against the loading conventions (call it for
//!   each of [`ValidatedSystem::programs`] before embedding them);
//! - [`report`] describes the same system for people: objects, capabilities, slots, badges and
//!   rights (Zircon and seL4) per component.
//!
//! Invariants: a [`ValidatedSystem`] exists only if validation found no error; the generated plan
//! and the report are pure functions of it (deterministic, no clock, no environment), so they can
//! be snapshot-tested.

mod codegen;
mod diag;
mod elf;
mod model;
pub mod platform;
mod report;
mod schema;
mod validate;
mod values;

use std::path::Path;

pub use codegen::{CodegenError, codegen};
pub use diag::{Diagnostic, ErrorKind, Source};
pub use elf::{ElfError, ElfSummary, check_elf};
pub use model::{
    Component, Endpoint, Grant, GrantObjectExt, Handle, Hypervisor, Region, Thread, ValidatedSystem,
};
pub use report::report;
pub use values::{show_rights, show_sel4_rights, show_size};

/// Reads and validates the manifest at `path`. Diagnostics name the file as `path` displays.
pub fn load(path: impl AsRef<Path>) -> Result<ValidatedSystem, Vec<Diagnostic>> {
    let path = path.as_ref();
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&name, &text),
        Err(e) => {
            let src = Source::new(name, "");
            Err(vec![src.error(
                ErrorKind::Io,
                0..0,
                format!("cannot read the manifest: {e}"),
            )])
        }
    }
}

/// Validates manifest `text`; `name` is the file name diagnostics show.
pub fn load_str(name: &str, text: &str) -> Result<ValidatedSystem, Vec<Diagnostic>> {
    validate::validate(&Source::new(name, text))
}
