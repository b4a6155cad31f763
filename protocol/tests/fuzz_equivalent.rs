//! The fuzz targets' oracles driven by proptest, so plain `cargo test` (CI) exercises them:
//! arbitrary labels, 0..=130 arbitrary words and cap counts, plus mutations of valid messages
//! (which reach far deeper than random words do).

mod oracle;
mod strategies;

use proptest::prelude::*;
use vcpu_protocol::{MSG_MAX_WORDS, Operation};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn decode_request_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..1100)) {
        oracle::decode_request(&data);
    }

    #[test]
    fn decode_request_arbitrary_message(
        label in prop_oneof![0u64..=20, any::<u64>()],
        words in prop::collection::vec(any::<u64>(), 0..=oracle::MAX_FUZZ_WORDS),
        caps in 0usize..=4,
    ) {
        oracle::check_request(label, &words, caps);
    }

    #[test]
    fn decode_request_mutated(
        req in strategies::any_request(),
        word in any::<usize>(),
        bit in 0u32..64,
        len_delta in -2isize..=2,
        caps_delta in -1isize..=1,
    ) {
        let mut out = [0u64; MSG_MAX_WORDS];
        let (label, len, caps) = req.request().encode(&mut out);
        let mut words = out[..len].to_vec();
        if !words.is_empty() {
            let i = word % words.len();
            words[i] ^= 1 << bit;
        }
        let new_len = len.saturating_add_signed(len_delta).min(oracle::MAX_FUZZ_WORDS);
        words.resize(new_len, 0);
        let caps = caps.saturating_add_signed(caps_delta);
        oracle::check_request(label, &words, caps);
    }

    #[test]
    fn decode_reply_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..1100)) {
        oracle::decode_reply_bytes(&data);
    }

    #[test]
    fn decode_reply_mutated(
        (reply_op, reply) in strategies::any_op().prop_flat_map(|op| (Just(op), strategies::any_reply(op))),
        op in strategies::any_op(),
        word in any::<usize>(),
        bit in prop::option::of(0u32..64),
        len_delta in -1isize..=1,
    ) {
        // A valid reply to `reply_op`, maybe bit-flipped and resized, read as a reply to `op`.
        let mut out = [0u64; MSG_MAX_WORDS];
        let len = vcpu_protocol::encode_reply(&reply, &mut out);
        let mut words = out[..len].to_vec();
        if let Some(bit) = bit {
            let i = word % words.len();
            words[i] ^= 1 << bit;
        }
        words.resize(len.saturating_add_signed(len_delta), 0);
        let _ = reply_op;
        oracle::check_reply(op, &words);
    }
}

#[test]
fn oracle_accepts_every_valid_shape() {
    // The oracles themselves must not reject valid messages.
    for op in Operation::ALL {
        let words = vec![0u64; vcpu_protocol::request_words(op)];
        oracle::check_request(op.label(), &words, vcpu_protocol::request_caps(op));
        oracle::check_reply(op, &[0]);
        oracle::check_reply(op, &[(-10i64) as u64]);
    }
}
