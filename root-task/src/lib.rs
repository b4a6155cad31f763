//! The root task's status protocol: how a component thread tells the root task it finished, or
//! that its next fault is deliberate.
//!
//! Every thread the root task starts holds a badged endpoint to the root task's fault endpoint
//! (slot [`plan::cspace::fault`]`(thread)`, the TCB's fault handler). The kernel sends faults
//! there with a fault label (`sel4::fault_label`, 1..=8). A thread may also `Call` it with one of
//! the [`Status`] labels below, which are far from every fault label; the badge tells the root
//! task which component and thread speaks, so a thread can only ever report about itself. The
//! root task answers every status message with an empty reply (label 0).
//!
//! The root task judges a system run (see `root-task/src/judge.rs`): once every thread has either
//! reported [`Status::Done`] or faulted after announcing it with [`Status::ExpectFault`], it
//! prints its verdict and the success or failure sentinel. Threads that keep serving (a server)
//! report `Done` when their own checks are complete and keep running.
#![no_std]
#![forbid(unsafe_code)]

use sel4::{Cap, IpcBuffer, MessageInfo, cap_type};

/// Label of [`Status::Done`] ("ST" + 1).
pub const LABEL_DONE: u64 = 0x5354_0001;
/// Label of [`Status::ExpectFault`] ("ST" + 2).
pub const LABEL_EXPECT_FAULT: u64 = 0x5354_0002;

/// A status message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The thread's work is complete: `passed` checks passed and `failed` failed.
    /// Message: label [`LABEL_DONE`], words `[passed, failed]`.
    Done {
        /// Checks that passed.
        passed: u64,
        /// Checks that failed.
        failed: u64,
    },
    /// The thread's next fault is deliberate: a fault with this `label` (`sel4::fault_label`)
    /// at this address (the cptr of a cap fault, the data address of a VM fault).
    /// Message: label [`LABEL_EXPECT_FAULT`], words `[label, addr]`.
    ExpectFault {
        /// The fault label expected.
        label: u64,
        /// The address expected.
        addr: u64,
    },
}

impl Status {
    /// The message label and words.
    pub const fn encode(self) -> (u64, [u64; 2]) {
        match self {
            Status::Done { passed, failed } => (LABEL_DONE, [passed, failed]),
            Status::ExpectFault { label, addr } => (LABEL_EXPECT_FAULT, [label, addr]),
        }
    }

    /// Decodes a received message; `None` if it is not a well-formed status message (e.g. a
    /// fault).
    pub fn decode(info: MessageInfo, words: &[u64]) -> Option<Status> {
        if info.length() != 2 || info.extra_caps() != 0 || words.len() < 2 {
            return None;
        }
        match info.label() {
            LABEL_DONE => Some(Status::Done {
                passed: words[0],
                failed: words[1],
            }),
            LABEL_EXPECT_FAULT => Some(Status::ExpectFault {
                label: words[0],
                addr: words[1],
            }),
            _ => None,
        }
    }

    /// True if `label` is one of the status labels (whatever the message's shape).
    pub const fn is_status_label(label: u64) -> bool {
        label == LABEL_DONE || label == LABEL_EXPECT_FAULT
    }

    /// Sends the status to the root task through `fault_ep` (the thread's own fault endpoint
    /// capability) and waits for the acknowledgement. Returns true if the root task
    /// acknowledged it (an empty reply with label 0).
    pub fn send(self, ipc: &mut IpcBuffer, fault_ep: Cap<cap_type::Endpoint>) -> bool {
        let (label, words) = self.encode();
        ipc.msg_mut()[..2].copy_from_slice(&words);
        let reply = fault_ep.call(ipc, MessageInfo::new(label, 0, 0, 2));
        reply.label() == 0 && reply.length() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            Status::Done {
                passed: 3,
                failed: 0,
            },
            Status::ExpectFault {
                label: sel4::fault_label::VM_FAULT,
                addr: 0,
            },
        ] {
            let (label, words) = s.encode();
            assert_eq!(
                Status::decode(MessageInfo::new(label, 0, 0, 2), &words),
                Some(s)
            );
        }
    }

    #[test]
    fn faults_and_malformed_messages_are_not_status() {
        let words = [1, 2, 3, 4, 5];
        for label in 0..=8 {
            assert!(!Status::is_status_label(label));
            assert_eq!(
                Status::decode(MessageInfo::new(label, 0, 0, 2), &words),
                None
            );
        }
        assert_eq!(
            Status::decode(MessageInfo::new(LABEL_DONE, 0, 0, 1), &words),
            None
        );
        assert_eq!(
            Status::decode(MessageInfo::new(LABEL_DONE, 0, 1, 2), &words),
            None
        );
        assert_eq!(
            Status::decode(MessageInfo::new(LABEL_DONE, 0, 0, 2), &words[..1]),
            None
        );
    }
}
