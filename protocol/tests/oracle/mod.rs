//! Fuzz oracles shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which include this
//! file by path) and their proptest equivalents (`tests/fuzz_equivalent.rs`, run by plain
//! `cargo test`). Each takes arbitrary bytes, runs a decoder, and panics if an invariant breaks.

#![allow(dead_code)]

use vcpu_protocol::{
    MSG_MAX_WORDS, Operation, ReplyKind, Request, Status, decode_reply, encode_reply, request_caps,
};

/// The most words the oracles feed a decoder (more than one message can hold).
pub const MAX_FUZZ_WORDS: usize = 130;

/// Little-endian words from bytes; a trailing partial word is dropped.
pub fn words_from(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .take(MAX_FUZZ_WORDS)
        .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect()
}

/// Decodes a request built from `data` (byte 0: label, byte 1: cap count, the rest: words) and
/// checks: no panic; errors are BAD_SYSCALL exactly for unknown labels and INVALID_ARGS
/// otherwise; an accepted message re-encodes to exactly the same label, words and cap count.
pub fn decode_request(data: &[u8]) {
    let (label, caps, rest) = match data {
        [l, c, rest @ ..] => (u64::from(*l), usize::from(*c % 4), rest),
        _ => return,
    };
    check_request(label, &words_from(rest), caps);
}

/// The request oracle on an already split message.
pub fn check_request(label: u64, words: &[u64], caps: usize) {
    match Request::decode(label, words, caps) {
        Ok(req) => {
            let op = req.op();
            assert_eq!(op.label(), label);
            assert_eq!(caps, request_caps(op));
            let mut out = [0u64; MSG_MAX_WORDS];
            let (l, len, c) = req.encode(&mut out);
            assert_eq!((l, c), (label, caps), "{req:?}");
            assert_eq!(&out[..len], words, "{req:?} re-encodes differently");
        }
        Err(status) => {
            let expected = if Operation::from_label(label).is_none() {
                Status::ERR_BAD_SYSCALL
            } else {
                Status::ERR_INVALID_ARGS
            };
            assert_eq!(status, expected, "label {label}");
        }
    }
}

/// Decodes a reply built from `data` (byte 0 picks the operation, the rest: words) and checks:
/// no panic; an OK payload has the operation's shape and re-encodes to the same words; an error
/// is either the lone status word or ERR_INTERNAL for a malformed reply.
pub fn decode_reply_bytes(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let op = Operation::ALL[usize::from(pick) % Operation::ALL.len()];
    check_reply(op, &words_from(rest));
}

/// The reply oracle on already split words.
pub fn check_reply(op: Operation, words: &[u64]) {
    let reply = decode_reply(op, words);
    match reply {
        Ok(payload) => {
            assert_eq!(payload.kind(), ReplyKind::of(op));
            let mut out = [0u64; MSG_MAX_WORDS];
            let len = encode_reply(&reply, &mut out);
            assert_eq!(
                &out[..len],
                words,
                "{op:?}: {payload:?} re-encodes differently"
            );
        }
        Err(status) => {
            assert!(!status.is_ok());
            let lone = words.len() == 1 && words[0] as i64 == i64::from(status.into_raw());
            assert!(
                lone || status == Status::ERR_INTERNAL,
                "{op:?} {words:x?} -> {status:?}"
            );
        }
    }
}
