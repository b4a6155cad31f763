//! Fuzzes `decode_reply`: byte 0 picks the operation, the rest are the reply words. The oracle
//! (shared with the proptest run in `cargo test`) checks that decoding never panics, that errors
//! are the lone status word or ZX_ERR_INTERNAL, and that accepted replies re-encode exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../protocol/tests/oracle/mod.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::decode_reply_bytes(data));
