//! Bounded fuzzing of the server core under `cargo test` (issue 10): random byte strings through
//! the oracle in `tests/oracle/mod.rs` (raw client messages, raw guest exits under real, stale
//! and forged badges, client deaths; invariants after every step). The same oracle runs
//! coverage-guided, for as long as wanted, as `fuzz/fuzz_targets/server_core.rs` (see
//! fuzz/README.md). `PROPTEST_CASES` raises the number of cases here.

mod common;
mod oracle;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn raw_messages_and_exits_keep_the_invariants(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = oracle::run(&data);
    }
}

/// A crafted sequence in the oracle's format that reaches deep states: client 1 creates a
/// guest, a VCPU, enters it; the guest faults (WFI, data aborts) and sends forged exits; the
/// client dies and comes back; repeated.
#[test]
fn a_known_deep_sequence() {
    // A client message: kind 0, sender 0 (client 1, thread 10), label, mode 1 (search the
    // length), then eight 3-byte words.
    fn msg(label: u8, words: [[u8; 3]; 8]) -> Vec<u8> {
        let mut m = vec![0, 0, label, 1];
        for w in words {
            m.extend_from_slice(&w);
        }
        m
    }
    let zero = [3, 0, 0]; // fold 3: the word 0
    let pooled = |i: u8| [0, i, 0]; // fold 0: the i-th handle given out (mod the pool size)
    let mut data = Vec::new();
    for _ in 0..20 {
        // guest_create(resource 0x7): an empty pool yields 0x7.
        data.extend(msg(
            1,
            [pooled(0), zero, zero, zero, zero, zero, zero, zero],
        ));
        // vcpu_create(guest, 0, entry 0): the guest is handle 0 of the pool.
        data.extend(msg(
            3,
            [pooled(0), zero, zero, zero, zero, zero, zero, zero],
        ));
        // vcpu_enter(vcpu): handle 2 of the pool.
        data.extend(msg(
            4,
            [pooled(2), zero, zero, zero, zero, zero, zero, zero],
        ));
        // Exits of VCPU 0: a real WFE fault (label 7, ESR EC 1 with TI), a sent one, a stale one.
        data.extend([5, 0, 7, 1, 0x01, 0x00, 0x00, 0x06, 0, 0, 0, 0]);
        data.extend([6, 0, 7, 1, 0x01, 0x00, 0x00, 0x06, 0, 0, 0, 0]);
        data.extend([5, 2, 5, 0]);
        // Client 1 dies and comes back.
        data.extend([7, 0]);
    }
    let stats = oracle::run(&data);
    assert!(
        stats.ok > 0 && stats.guests > 0 && stats.vcpus > 0,
        "the crafted sequence reaches VCPUs: {stats:?}"
    );
}

/// The harness is worth running: over fixed pseudo-random inputs it gets requests accepted and
/// objects created (guests, VCPUs), not only decode errors.
#[test]
fn the_harness_reaches_deep_states() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let (mut ok, mut guests, mut vcpus) = (0, 0, 0);
    for _ in 0..300 {
        let data: Vec<u8> = (0..2000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let s = oracle::run(&data);
        ok += s.ok;
        guests = guests.max(s.guests);
        vcpus = vcpus.max(s.vcpus);
    }
    // Random bytes reach accepted requests and guests; VCPU-deep states come from the crafted
    // sequence above and, coverage-guided, from the fuzz target.
    assert!(
        ok > 100 && guests > 0,
        "ok {ok}, guests {guests}, vcpus {vcpus}"
    );
}
