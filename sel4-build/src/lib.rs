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
//! | object types, errors, VCPU registers, initial slots, constants, struct layouts, message bit fields | libsel4's C headers | [`probe`] (the C compiler) |
//! | invocation marshalling | `libsel4/include/interfaces/sel4_client.h` stubs | [`probe`] (compiled and run) |
//!
//! Labels and syscall numbers are computed for the configuration read from `gen_config.json`,
//! honouring the XML `<condition>`s, so the same code serves MCS, SMP or debug builds.
//!
//! The last two rows exist nowhere else in the install, so a real C compiler reads them: the
//! host `gcc` compiles a generated program against the install's headers, with a recording
//! stand-in for the system-call header, and runs it; it prints each constant, size, offset and
//! bit position asked, and the label, caps and words each invocation stub hands the kernel for
//! sample arguments. The aarch64 compiler then confirms every integer with `_Static_assert`s
//! against the real headers. No C is parsed or evaluated here; a name a configuration lacks is
//! reported as absent, and anything the compiler rejects is a located error (the query or the
//! compiler's messages). Each answer is compared with the `sel4` crate's own value
//! ([`abi::compare`]), so a wrong one shows as a mismatch.
#![forbid(unsafe_code)]

pub mod abi;
pub mod config;
pub mod interfaces;
pub mod kconfig;
pub mod probe;
mod samples;
