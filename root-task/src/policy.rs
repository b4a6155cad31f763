//! Supervision policy: what the root task does with each message on its fault endpoint.
//!
//! Supervision is a policy, not a verdict. In every system a component that faults, or sends on
//! its fault endpoint a message that is no status message (a forged fault looks exactly like a
//! real one and is treated the same), is stopped alone: all its threads are suspended and every
//! other component keeps running. The kind of system (`plan::SystemKind`) decides the rest:
//!
//! - **Product**: the root task never judges and never powers the machine off. Status messages
//!   are refused (answered with label 1); they change nothing.
//! - **Test**: status messages follow the protocol of `root_task` and the judge turns faults and
//!   reports into a verdict (then the machine is powered off). A component declared
//!   `expect = "stopped"` is meant to misbehave: its faults, forged faults and a second final
//!   report from one of its threads stop it alone, which the judge counts as its expected end;
//!   its first reports are only acknowledged.
//!
//! Messages from a component already stopped are dropped (no reply: a thread that got its
//! message through before being suspended stays blocked).

use plan::SystemKind;
use root_task::Status;

/// What the message was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A well-formed status message.
    Status(Status),
    /// A message with a status label but a wrong shape.
    MalformedStatus,
    /// Anything else: a fault, or a message forged to look like one.
    Fault,
}

/// What the root task knows about the sender's component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sender {
    /// The component was stopped already.
    pub stopped: bool,
    /// Test systems: the component is declared `expect = "stopped"`.
    pub expect_stopped: bool,
    /// The sending thread reported `Done` before.
    pub reported: bool,
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Drop the message: no reply.
    Drop,
    /// Answer with this label (0: acknowledged; 1: refused or not understood) and do nothing
    /// else.
    Answer(u64),
    /// Stop the sender's component alone (suspend all its threads); tell the judge in a test
    /// system.
    Stop(Reason),
    /// Test systems: the judge decides (status messages are then acknowledged, faults suspend
    /// the faulting thread).
    Judge,
}

/// Why a component is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A fault or a forged fault message.
    Fault,
    /// A second final report from one thread.
    ReportedTwice,
}

/// The decision for `message` from a thread of a component in state `sender`.
pub fn decide(kind: SystemKind, sender: Sender, message: Message) -> Decision {
    if sender.stopped {
        return Decision::Drop;
    }
    match (kind, message) {
        (_, Message::Fault) if kind == SystemKind::Product || sender.expect_stopped => {
            Decision::Stop(Reason::Fault)
        }
        (SystemKind::Product, _) => Decision::Answer(1),
        (SystemKind::Test, Message::MalformedStatus) => Decision::Answer(1),
        (SystemKind::Test, Message::Status(Status::Done { .. })) if sender.expect_stopped => {
            if sender.reported {
                Decision::Stop(Reason::ReportedTwice)
            } else {
                Decision::Answer(0)
            }
        }
        (SystemKind::Test, Message::Status(_)) if sender.expect_stopped => Decision::Answer(0),
        (SystemKind::Test, _) => Decision::Judge,
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, Message, Reason, Sender, decide};
    use plan::SystemKind::{Product, Test};
    use root_task::Status;

    const DONE: Message = Message::Status(Status::Done {
        passed: 1,
        failed: 0,
    });
    const EXPECT: Message = Message::Status(Status::ExpectFault { label: 5, addr: 0 });

    #[test]
    fn product_systems_stop_the_faulting_component_and_refuse_status() {
        let s = Sender::default();
        assert_eq!(
            decide(Product, s, Message::Fault),
            Decision::Stop(Reason::Fault)
        );
        for m in [DONE, EXPECT, Message::MalformedStatus] {
            assert_eq!(decide(Product, s, m), Decision::Answer(1));
        }
        let reported = Sender {
            reported: true,
            ..s
        };
        assert_eq!(decide(Product, reported, DONE), Decision::Answer(1));
    }

    #[test]
    fn stopped_components_are_not_heard() {
        let s = Sender {
            stopped: true,
            ..Sender::default()
        };
        for kind in [Product, Test] {
            for m in [DONE, EXPECT, Message::Fault, Message::MalformedStatus] {
                assert_eq!(decide(kind, s, m), Decision::Drop);
            }
        }
    }

    #[test]
    fn test_systems_judge_unless_the_component_is_meant_to_misbehave() {
        let s = Sender::default();
        for m in [DONE, EXPECT, Message::Fault] {
            assert_eq!(decide(Test, s, m), Decision::Judge);
        }
        assert_eq!(
            decide(Test, s, Message::MalformedStatus),
            Decision::Answer(1)
        );
        let bad = Sender {
            expect_stopped: true,
            ..s
        };
        assert_eq!(
            decide(Test, bad, Message::Fault),
            Decision::Stop(Reason::Fault)
        );
        assert_eq!(decide(Test, bad, DONE), Decision::Answer(0));
        assert_eq!(decide(Test, bad, EXPECT), Decision::Answer(0));
        let twice = Sender {
            reported: true,
            ..bad
        };
        assert_eq!(
            decide(Test, twice, DONE),
            Decision::Stop(Reason::ReportedTwice)
        );
    }
}
