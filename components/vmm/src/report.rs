//! Test reporting in the QEMU runner's format: one `PASS <case>` or `FAIL <case>: <detail>`
//! line per case. The verdict and the test sentinel are the root task's: each thread reports
//! its counts to it when done (`rt::Ctx::finish`), and it prints `*** ALL TESTS PASSED ***`
//! only when every thread of the system has reported and none reported a failure.
//!
//! Cases are plain functions registered in a table ([`Case`]); each returns a [`CaseResult`].
//! The helpers build the detail text: a status mismatch reads
//! `<what>: expected ZX_ERR_BAD_STATE, got ZX_OK` (statuses print by their Zircon names).

use core::fmt::{self, Debug, Write};

use heapless::String;
use vcpu_protocol::Status;

/// The detail of a failed case (longer text is cut; 120 bytes keeps `CaseResult` small).
pub type Detail = String<120, u8>;

/// What a case returns.
pub type CaseResult = Result<(), Detail>;

/// A detail text from format arguments (cut at the capacity).
pub fn detail(args: fmt::Arguments<'_>) -> Detail {
    let mut d = Cut(Detail::new());
    let _ = d.write_fmt(args);
    d.0
}

/// A `fmt::Write` into a fixed string that drops what does not fit instead of failing.
struct Cut(Detail);

impl Write for Cut {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// `Err(detail)` from format arguments: `return fail!("x was {}", x);`.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        ::core::result::Result::Err($crate::report::detail(::core::format_args!($($arg)*)))
    };
}

/// Ok if `got == want`, else `<what>: expected <want>, got <got>` (Zircon names).
pub fn expect_status(what: &str, want: Status, got: Status) -> CaseResult {
    if got == want {
        Ok(())
    } else {
        Err(detail(format_args!(
            "{what}: expected {want:?}, got {got:?}"
        )))
    }
}

/// Ok if `got` is `Err(want)`; an `Ok` counts as `ZX_OK`.
pub fn expect_err<T>(what: &str, want: Status, got: Result<T, Status>) -> CaseResult {
    expect_status(what, want, got.err().unwrap_or(Status::OK))
}

/// The value of an `Ok`, or a case failure naming `what` and the status.
pub fn expect_ok<T>(what: &str, got: Result<T, Status>) -> Result<T, Detail> {
    got.map_err(|s| detail(format_args!("{what}: expected ZX_OK, got {s:?}")))
}

/// Ok if `got == want`, else `<what>: expected <want>, got <got>` (Debug forms).
pub fn expect_eq<T: Debug + PartialEq>(what: &str, want: T, got: T) -> CaseResult {
    if got == want {
        Ok(())
    } else {
        Err(detail(format_args!(
            "{what}: expected {want:?}, got {got:?}"
        )))
    }
}

/// SplitMix64: a tiny deterministic generator for reproducible "random" test inputs.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` > 0; slightly biased, which tests do not mind).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// The handle value the server gives table slot `slot` at `generation`
/// (`slot << 18 | generation << 2 | 0b11`, see docs/PROTOCOL.md): for forging handles.
pub const fn handle_value(slot: u32, generation: u16) -> u32 {
    slot << 18 | (generation as u32) << 2 | 0b11
}

/// A registered case: its name and its function over the program's context `C`.
pub struct Case<C> {
    /// Printed after PASS/FAIL.
    pub name: &'static str,
    /// The case.
    pub run: fn(&mut C) -> CaseResult,
}

/// Counts and prints case results.
pub struct Suite<W: Write> {
    out: W,
    passed: u64,
    failed: u64,
}

impl<W: Write> Suite<W> {
    /// A suite printing to `out`.
    pub fn new(out: W) -> Self {
        Suite {
            out,
            passed: 0,
            failed: 0,
        }
    }

    /// Prints and counts one result.
    pub fn record(&mut self, name: &str, result: CaseResult) {
        match result {
            Ok(()) => {
                self.passed += 1;
                let _ = writeln!(self.out, "PASS {name}");
            }
            Err(d) => {
                self.failed += 1;
                let _ = writeln!(self.out, "FAIL {name}: {d}");
            }
        }
    }

    /// Runs every case of `cases` in order.
    pub fn run<C>(&mut self, ctx: &mut C, cases: &[Case<C>]) {
        for case in cases {
            let result = (case.run)(ctx);
            self.record(case.name, result);
        }
    }

    /// Cases passed so far.
    pub fn passed(&self) -> u64 {
        self.passed
    }

    /// Cases failed so far.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// True if at least one case ran and none failed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }

    /// Prints `<who>: N passed, M failed`; returns [`Self::all_passed`].
    pub fn summary(&mut self, who: &str) -> bool {
        let _ = writeln!(
            self.out,
            "{who}: {} passed, {} failed",
            self.passed, self.failed
        );
        self.all_passed()
    }

    /// The output sink.
    pub fn out(&mut self) -> &mut W {
        &mut self.out
    }
}

#[cfg(test)]
mod tests {
    use std::string::String;

    use vcpu_protocol::Status;

    use super::{Case, CaseResult, Suite, expect_err, expect_status};

    fn passes(_: &mut u32) -> CaseResult {
        Ok(())
    }

    fn fails(n: &mut u32) -> CaseResult {
        *n += 1;
        expect_status("enter", Status::ERR_BAD_STATE, Status::OK)
    }

    #[test]
    fn lines_have_the_runner_format() {
        let mut s = Suite::new(String::new());
        let mut ctx = 0u32;
        s.run(
            &mut ctx,
            &[
                Case {
                    name: "a",
                    run: passes,
                },
                Case {
                    name: "b",
                    run: fails,
                },
            ],
        );
        assert!(!s.summary("t"));
        assert_eq!(ctx, 1);
        assert_eq!(
            s.out().as_str(),
            "PASS a\nFAIL b: enter: expected ZX_ERR_BAD_STATE, got ZX_OK\nt: 1 passed, 1 failed\n"
        );
    }

    #[test]
    fn all_passed_needs_one_case_and_no_failure() {
        let mut s = Suite::new(String::new());
        s.record("only", Ok(()));
        assert!(s.summary("t"));
        assert_eq!((s.passed(), s.failed()), (1, 0));
        assert!(
            !Suite::new(String::new()).all_passed(),
            "no case is no success"
        );
    }

    #[test]
    fn splitmix_is_deterministic_and_handle_values_match_the_server() {
        let (mut a, mut b) = (super::SplitMix(7), super::SplitMix(7));
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(a.below(10) < 10);
        assert_eq!(super::handle_value(0, 1), 0x7);
        assert_eq!(super::handle_value(1, 1), 0x40007);
        assert_eq!(super::handle_value(1, 1), plan::grant_handle_value(1));
    }

    #[test]
    fn ok_counts_as_zx_ok_and_details_are_cut() {
        let r = expect_err("close", Status::ERR_BAD_HANDLE, Ok::<(), Status>(()));
        assert_eq!(
            r.unwrap_err().as_str(),
            "close: expected ZX_ERR_BAD_HANDLE, got ZX_OK"
        );
        let long: CaseResult = crate::fail!("{}", "x".repeat(500));
        assert_eq!(long.unwrap_err().len(), 120);
    }
}
