//! Fuzzes `Request::decode`: byte 0 is the label, byte 1 the cap count (mod 4), the rest the
//! message words. The oracle (shared with the proptest run in `cargo test`) checks that decoding
//! never panics, gives the documented status, and that accepted messages re-encode exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../protocol/tests/oracle/mod.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::decode_request(data));
