//! Shared by the seL4 benchmark image (`tests/bench/bench.toml`): the benchmark server
//! (`vcpu-server` built with its `bench` feature) and the benchmark client (`vcpu-bench`).
//!
//! Every path is timed [`WARMUP`] times without recording, then [`SAMPLES`] times; the result is
//! the median, minimum and maximum in virtual-counter ticks ([`Summary`]) and the ratio of the
//! median to the path's raw seL4 bound. One line per path, in the form the xtask collects:
//! `bench <path> median <ticks> min <ticks> max <ticks> ratio <x>` ([`Line`]). Nothing here
//! asserts: a benchmark measures.
//!
//! The raw-IPC hand-shake between the two: the client makes [`RAW_CALLS`] empty `seL4_Call`s on
//! its endpoint, each answered by an empty `seL4_ReplyRecv` (the raw null IPC), then one more
//! call, answered once the server has timed its raw VM-fault loop, with [`RAW_STATS_WORDS`]
//! words: that loop's median, minimum and maximum.
#![no_std]
#![forbid(unsafe_code)]

use core::fmt;

/// Untimed iterations before the timed ones.
pub const WARMUP: usize = 100;
/// Timed iterations per path.
pub const SAMPLES: usize = 1000;
/// Empty calls of the raw null-IPC baseline (warm-up included).
pub const RAW_CALLS: usize = WARMUP + SAMPLES;
/// Words of the reply that ends the raw phase: median, min, max of the raw VM-fault loop.
pub const RAW_STATS_WORDS: usize = 3;

/// Median, minimum and maximum of a set of samples, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Summary {
    /// The middle sample (the upper one of the two middles for an even count).
    pub median: u64,
    /// The smallest sample.
    pub min: u64,
    /// The largest sample.
    pub max: u64,
}

impl Summary {
    /// Sorts `samples` and summarises them; `None` if there are none.
    pub fn of(samples: &mut [u64]) -> Option<Summary> {
        samples.sort_unstable();
        Some(Summary {
            median: *samples.get(samples.len() / 2)?,
            min: *samples.first()?,
            max: *samples.last()?,
        })
    }

    /// The three numbers as words (for the raw phase's last reply).
    pub fn words(&self) -> [u64; RAW_STATS_WORDS] {
        [self.median, self.min, self.max]
    }

    /// The summary sent as [`Summary::words`].
    pub fn from_words(w: [u64; RAW_STATS_WORDS]) -> Summary {
        Summary {
            median: w[0],
            min: w[1],
            max: w[2],
        }
    }
}

/// One output line: `bench <path> median <m> min <a> max <b> ratio <x.yz>`, the ratio being
/// `median / bound` with two decimals (rounded; `0.00` for a zero bound).
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// The path's name (`request-kick`, `exit-mem`, `raw-null-ipc`, ...).
    pub path: &'a str,
    /// Its samples' summary.
    pub summary: Summary,
    /// The median of its raw seL4 bound.
    pub bound: u64,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        let hundredths = ratio_hundredths(s.median, self.bound);
        write!(
            f,
            "bench {} median {} min {} max {} ratio {}.{:02}",
            self.path,
            s.median,
            s.min,
            s.max,
            hundredths / 100,
            hundredths % 100
        )
    }
}

/// `value / bound` in hundredths, rounded to nearest; 0 for a zero bound.
pub fn ratio_hundredths(value: u64, bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let v = u128::from(value) * 100;
    let b = u128::from(bound);
    u64::try_from((v + b / 2) / b).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{Line, Summary, ratio_hundredths};
    use std::format;

    #[test]
    fn summary_of_unsorted_samples() {
        let mut s = [9, 1, 5, 7, 3];
        assert_eq!(
            Summary::of(&mut s),
            Some(Summary {
                median: 5,
                min: 1,
                max: 9
            })
        );
        let mut even = [4, 1, 3, 2];
        assert_eq!(Summary::of(&mut even).map(|s| s.median), Some(3));
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn lines_have_the_collected_form() {
        let summary = Summary {
            median: 630,
            min: 620,
            max: 701,
        };
        let line = Line {
            path: "request-kick",
            summary,
            bound: 50,
        };
        assert_eq!(
            format!("{line}"),
            "bench request-kick median 630 min 620 max 701 ratio 12.60"
        );
        assert_eq!(Summary::from_words(summary.words()), summary);
    }

    #[test]
    fn ratios_round_and_survive_a_zero_bound() {
        assert_eq!(ratio_hundredths(217, 217), 100);
        assert_eq!(ratio_hundredths(1979, 217), 912);
        assert_eq!(ratio_hundredths(2, 3), 67);
        assert_eq!(ratio_hundredths(5, 0), 0);
        assert_eq!(ratio_hundredths(u64::MAX, 1), u64::MAX);
    }
}
