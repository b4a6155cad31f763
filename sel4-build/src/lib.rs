//! Host side of an installed seL4 kernel (`SEL4_PREFIX`): configuration check and ABI check.
//!
//! Where each fact comes from (the install's machine-readable files first):
//!
//! | fact | file | reader |
//! |---|---|---|
//! | configuration | `libsel4/include/{kernel,sel4}/gen_config.json` | [`kconfig`] (`serde_json`) |
//! | invocation labels | `libsel4/include/interfaces/object-api*.xml` | [`interfaces`] (`roxmltree`) |
//! | syscall numbers | `libsel4/include/api/syscall.xml` | [`interfaces`] (`roxmltree`) |
//! | memory map | `support/platform_gen.json` | [`config`] (`serde_json`) |
//! | message bit fields | `libsel4/include/sel4/shared_types.pbf` | [`headers`] (line format) |
//! | object types, errors, VCPU registers, initial slots, constants, struct layouts | libsel4 C headers | [`cpp`], [`cexpr`], [`headers`] |
//! | invocation marshalling | `libsel4/include/interfaces/sel4_client.h` | [`client`] |
//!
//! Labels and syscall numbers are computed for the configuration read from `gen_config.json`,
//! honouring the XML `<condition>`s, so the same code serves MCS, SMP or debug builds.
//!
//! The last two rows exist nowhere else in the install, so they are still read as C, with a
//! deliberately small hand-written subset rather than libclang/bindgen: object-like
//! `#define`s, the `#if` family, integer expressions of literals, identifiers, `defined`,
//! `sizeof` of libsel4's integer types and the usual binary operators, plain `enum`s and
//! `struct`s of integers, pointers, arrays and nested structs (aarch64 layout rules).
//! Anything outside it is a located error. Reasons: (1) the marshalling check evaluates each
//! stub's C expressions with sample argument values, which a C front end cannot do without
//! compiling and running target code, so an expression evaluator is needed anyway; (2)
//! libclang would be a system dependency of every host `cargo test` on every machine and CI
//! (installed by hand each time), for a few dozen declarations; (3) a misread item cannot
//! pass silently: each is compared with the `sel4` crate's own value, so a misparse shows as
//! a mismatch or as "not found".
#![forbid(unsafe_code)]

pub mod abi;
pub mod cexpr;
pub mod client;
pub mod config;
pub mod cpp;
pub mod headers;
pub mod interfaces;
pub mod kconfig;
mod samples;
