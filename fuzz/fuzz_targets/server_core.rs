//! Fuzzes the VCPU server core (issue 10): raw client messages and raw guest exits under real,
//! stale and forged badges, and client deaths, through the decoders and dispatch, with the
//! server's invariants and the fake kernel's contract checked after every step. The oracle is
//! shared with the bounded run in `cargo test -p vcpu-server --test dispatch_fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../vcpu-server/core/tests/common/fake.rs"]
pub mod fake;

/// The oracle names the fake backend `crate::common::fake`, as in the test crate.
mod common {
    pub use super::fake;
}

#[path = "../../vcpu-server/core/tests/oracle/mod.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| {
    let _ = oracle::run(data);
});
