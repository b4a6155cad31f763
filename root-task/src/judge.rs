//! The root task's verdict on a run: which threads finished, faulted as announced, or faulted
//! unexpectedly (see the status protocol, `root_task`).
//!
//! Every thread of the plan starts `Running`. It ends either `Done` (it reported
//! `Status::Done`) or `Faulted` (it faulted; expected if it announced exactly that fault with
//! `Status::ExpectFault`). An unexpected fault fails the run at once (other threads may be
//! waiting for the faulted one forever). When every thread has ended, the run passes if no
//! thread reported a failed check and, if any expected fault happened, at least one thread
//! reported `Done` after the first fault: proof that the others kept running while the faulted
//! thread stayed suspended.
//!
//! The judge only formats lines into a `core::fmt::Write` sink; the caller prints them and acts
//! on the returned [`Verdict`].

use core::fmt::{self, Write};

use root_task::Status;
use sel4::Fault;

use crate::faults::Describe;

/// Most threads the judge follows.
pub const MAX_THREADS: usize = 128;

/// State of one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Running,
    Expecting {
        label: u64,
        addr: u64,
    },
    Done {
        failed: u64,
    },
    Faulted {
        expected: bool,
    },
    /// Its component (declared `expect = "stopped"`) was stopped by supervision.
    Stopped,
}

impl State {
    const fn ended(self) -> bool {
        matches!(
            self,
            State::Done { .. } | State::Faulted { .. } | State::Stopped
        )
    }
}

/// The outcome once decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every thread ended and every check passed.
    Passed,
    /// Something failed.
    Failed,
}

/// Names a thread in messages: `component.thread`.
pub trait Names {
    /// The component's name.
    fn component(&self, component: u16) -> &str;
    /// The thread's name.
    fn thread(&self, component: u16, thread: u16) -> &str;
}

/// The judge: one state per thread, in plan order.
pub struct Judge {
    /// `(component, thread)` of each followed thread.
    ids: heapless::Vec<(u16, u16), MAX_THREADS>,
    states: heapless::Vec<State, MAX_THREADS>,
    faults_seen: u32,
    reports_after_fault: u32,
    verdict: Option<Verdict>,
}

impl Judge {
    /// Follows the threads `ids` yields (`(component, thread)`); `None` if there are more than
    /// [`MAX_THREADS`].
    pub fn new(ids: impl Iterator<Item = (u16, u16)>) -> Option<Judge> {
        let mut j = Judge {
            ids: heapless::Vec::new(),
            states: heapless::Vec::new(),
            faults_seen: 0,
            reports_after_fault: 0,
            verdict: None,
        };
        for id in ids {
            j.ids.push(id).ok()?;
            j.states.push(State::Running).ok()?;
        }
        Some(j)
    }

    fn index(&self, component: u16, thread: u16) -> Option<usize> {
        self.ids.iter().position(|&id| id == (component, thread))
    }

    /// A status message from `(component, thread)`. Returns the verdict if it decided one.
    pub fn status(
        &mut self,
        out: &mut impl Write,
        names: &impl Names,
        (component, thread): (u16, u16),
        status: Status,
    ) -> Result<Option<Verdict>, fmt::Error> {
        let Some(i) = self.index(component, thread) else {
            return Ok(None);
        };
        let who = Who(names, component, thread);
        let state = self.states[i];
        match status {
            Status::Done { passed, failed } => {
                writeln!(
                    out,
                    "root-task: {who} reported: {passed} passed, {failed} failed"
                )?;
                if state.ended() {
                    writeln!(out, "FAIL report {who}: a second final report")?;
                    return self.decide(out, Verdict::Failed);
                }
                self.states[i] = State::Done { failed };
                if self.faults_seen > 0 {
                    self.reports_after_fault += 1;
                }
            }
            Status::ExpectFault { label, addr } => {
                writeln!(
                    out,
                    "root-task: {who} announced a deliberate fault ({} at {addr:#x})",
                    crate::faults::label_name(label)
                )?;
                if state != State::Running {
                    writeln!(out, "FAIL report {who}: announcement after its end")?;
                    return self.decide(out, Verdict::Failed);
                }
                self.states[i] = State::Expecting { label, addr };
            }
        }
        self.check_end(out)
    }

    /// A fault of `(component, thread)`, already decoded. Returns the verdict if it decided
    /// one.
    pub fn fault(
        &mut self,
        out: &mut impl Write,
        names: &impl Names,
        (component, thread): (u16, u16),
        label: u64,
        fault: &Fault,
    ) -> Result<Option<Verdict>, fmt::Error> {
        let who = Who(names, component, thread);
        // The report's exact shape: `root-task: component <name> thread <t> faulted: <fault>`.
        let (c, t) = (names.component(component), thread);
        writeln!(
            out,
            "root-task: component {c} thread {t} faulted: {}",
            Describe(fault)
        )?;
        let Some(i) = self.index(component, thread) else {
            return Ok(None);
        };
        let expected = match self.states[i] {
            State::Expecting { label: l, addr } => l == label && Some(addr) == fault_addr(fault),
            _ => false,
        };
        self.states[i] = State::Faulted { expected };
        self.faults_seen += 1;
        if expected {
            writeln!(out, "PASS fault-reported {who}")?;
            self.check_end(out)
        } else {
            writeln!(out, "FAIL unexpected-fault {who}: {}", Describe(fault))?;
            self.decide(out, Verdict::Failed)
        }
    }

    /// Supervision stopped `component` (declared `expect = "stopped"`) because `why`: all its
    /// threads end, as expected; like a fault, the others must report after it.
    pub fn stopped(
        &mut self,
        out: &mut impl Write,
        names: &impl Names,
        component: u16,
        why: &str,
    ) -> Result<Option<Verdict>, fmt::Error> {
        let mut any = false;
        for (i, &(c, _)) in self.ids.iter().enumerate() {
            if c == component {
                self.states[i] = State::Stopped;
                any = true;
            }
        }
        if !any {
            return Ok(None);
        }
        self.faults_seen += 1;
        writeln!(
            out,
            "PASS supervision component {} stopped alone: {why}",
            names.component(component)
        )?;
        self.check_end(out)
    }

    fn check_end(&mut self, out: &mut impl Write) -> Result<Option<Verdict>, fmt::Error> {
        if self.verdict.is_some() || !self.states.iter().all(|s| s.ended()) {
            return Ok(None);
        }
        let failed: u64 = self
            .states
            .iter()
            .map(|s| match s {
                State::Done { failed } => *failed,
                _ => 0,
            })
            .sum();
        let mut ok = failed == 0;
        if failed > 0 {
            writeln!(out, "FAIL components: {failed} check(s) failed")?;
        }
        if self.faults_seen > 0 {
            if self.reports_after_fault > 0 {
                writeln!(
                    out,
                    "PASS others-run-after-fault: {} report(s) after the first fault",
                    self.reports_after_fault
                )?;
            } else {
                writeln!(
                    out,
                    "FAIL others-run-after-fault: no report after the first fault"
                )?;
                ok = false;
            }
        }
        writeln!(out, "root-task: all {} threads ended", self.states.len())?;
        self.decide(out, if ok { Verdict::Passed } else { Verdict::Failed })
    }

    fn decide(
        &mut self,
        out: &mut impl Write,
        verdict: Verdict,
    ) -> Result<Option<Verdict>, fmt::Error> {
        if self.verdict.is_some() {
            return Ok(None);
        }
        self.verdict = Some(verdict);
        let sentinel = match verdict {
            Verdict::Passed => sel4_runtime::SUCCESS_SENTINEL,
            Verdict::Failed => sel4_runtime::FAILURE_SENTINEL,
        };
        writeln!(out, "{sentinel}")?;
        Ok(Some(verdict))
    }
}

/// The address an announced fault is compared with.
fn fault_addr(fault: &Fault) -> Option<u64> {
    match *fault {
        Fault::CapFault { addr, .. } | Fault::VmFault { addr, .. } => Some(addr),
        Fault::UserException { fault_ip, .. } => Some(fault_ip),
        Fault::UnknownSyscall { syscall, .. } => Some(syscall),
        _ => None,
    }
}

struct Who<'a, N>(&'a N, u16, u16);

impl<N: Names> fmt::Display for Who<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Who(names, c, t) = *self;
        write!(
            f,
            "component {} thread {t} ({})",
            names.component(c),
            names.thread(c, t)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sel4::fault_label;

    struct N;
    impl Names for N {
        fn component(&self, c: u16) -> &str {
            ["server", "client", "faulter"][c as usize]
        }
        fn thread(&self, _: u16, t: u16) -> &str {
            ["main", "second"][t as usize]
        }
    }

    const THREADS: [(u16, u16); 4] = [(0, 0), (1, 0), (1, 1), (2, 0)];
    const NULL_READ: Fault = Fault::VmFault {
        ip: 0x40_0100,
        addr: 0,
        prefetch: false,
        fsr: 0x9200_0006,
    };

    fn done(failed: u64) -> Status {
        Status::Done { passed: 2, failed }
    }

    fn expect_null() -> Status {
        Status::ExpectFault {
            label: fault_label::VM_FAULT,
            addr: 0,
        }
    }

    #[test]
    fn passes_when_all_end_and_someone_reports_after_the_fault() {
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        assert_eq!(j.status(&mut out, &N, (1, 0), done(0)), Ok(None));
        assert_eq!(j.status(&mut out, &N, (2, 0), expect_null()), Ok(None));
        assert_eq!(
            j.fault(&mut out, &N, (2, 0), fault_label::VM_FAULT, &NULL_READ),
            Ok(None)
        );
        assert_eq!(j.status(&mut out, &N, (1, 1), done(0)), Ok(None));
        assert_eq!(
            j.status(&mut out, &N, (0, 0), done(0)),
            Ok(Some(Verdict::Passed))
        );
        assert!(out.contains("root-task: component faulter thread 0 faulted: VM fault: data read"));
        assert!(out.contains("PASS fault-reported component faulter thread 0 (main)"));
        assert!(out.contains("PASS others-run-after-fault: 2 report(s)"));
        assert!(out.ends_with(&format!("{}\n", sel4_runtime::SUCCESS_SENTINEL)));
        assert!(!out.contains("FAIL"));
        assert_eq!(
            j.status(&mut out, &N, (0, 0), done(0)),
            Ok(None),
            "decided once"
        );
    }

    #[test]
    fn unexpected_or_mismatched_faults_fail_at_once() {
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        let v = j.fault(&mut out, &N, (1, 1), fault_label::VM_FAULT, &NULL_READ);
        assert_eq!(v, Ok(Some(Verdict::Failed)));
        assert!(out.contains("FAIL unexpected-fault component client thread 1 (second)"));

        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let wrong_addr = Status::ExpectFault {
            label: fault_label::VM_FAULT,
            addr: 8,
        };
        j.status(&mut out, &N, (2, 0), wrong_addr).unwrap();
        let v = j.fault(&mut out, &N, (2, 0), fault_label::VM_FAULT, &NULL_READ);
        assert_eq!(v, Ok(Some(Verdict::Failed)));
    }

    #[test]
    fn failed_checks_or_no_progress_after_the_fault_fail() {
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        for id in [(0, 0), (1, 0)] {
            j.status(&mut out, &N, id, done(0)).unwrap();
        }
        j.status(&mut out, &N, (1, 1), done(1)).unwrap();
        j.status(&mut out, &N, (2, 0), expect_null()).unwrap();
        let v = j.fault(&mut out, &N, (2, 0), fault_label::VM_FAULT, &NULL_READ);
        assert_eq!(v, Ok(Some(Verdict::Failed)));
        assert!(out.contains("FAIL components: 1 check(s) failed"));
        assert!(out.contains("FAIL others-run-after-fault"));
        assert!(out.ends_with(&format!("{}\n", sel4_runtime::FAILURE_SENTINEL)));
    }

    #[test]
    fn a_second_final_report_fails() {
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        j.status(&mut out, &N, (1, 0), done(0)).unwrap();
        let v = j.status(&mut out, &N, (1, 0), done(0));
        assert_eq!(v, Ok(Some(Verdict::Failed)));
    }

    #[test]
    fn a_stopped_component_ends_its_threads_and_others_must_report_after() {
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        assert_eq!(j.status(&mut out, &N, (1, 0), done(0)), Ok(None));
        assert_eq!(j.stopped(&mut out, &N, 2, "it faulted"), Ok(None));
        assert!(out.contains("PASS supervision component faulter stopped alone: it faulted"));
        assert_eq!(j.status(&mut out, &N, (1, 1), done(0)), Ok(None));
        assert_eq!(
            j.status(&mut out, &N, (0, 0), done(0)),
            Ok(Some(Verdict::Passed))
        );
        assert!(out.contains("PASS others-run-after-fault: 2 report(s)"));
        // Nobody reporting after the stop fails the run.
        let mut j = Judge::new(THREADS.into_iter()).unwrap();
        let mut out = String::new();
        for id in [(0, 0), (1, 0), (1, 1)] {
            assert_eq!(j.status(&mut out, &N, id, done(0)), Ok(None));
        }
        assert_eq!(
            j.stopped(&mut out, &N, 2, "it faulted"),
            Ok(Some(Verdict::Failed))
        );
    }
}
