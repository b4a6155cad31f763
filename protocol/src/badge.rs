//! Badges: the unforgeable transport identity of a message's sender.
//!
//! On seL4 the root task mints one badged endpoint capability per client thread, and the server
//! mints one per VCPU (its fault endpoint). The kernel delivers the badge with every message, so
//! a sender cannot claim another identity. Layout of the 64-bit badge:
//!
//! | bits  | client-thread badge | VCPU-fault badge |
//! |-------|---------------------|------------------|
//! | 63    | 1                   | 0                |
//! | 62    | 0                   | 1                |
//! | 47:32 | client id           | 0                |
//! | 31:16 | 0                   | VCPU generation  |
//! | 15:0  | thread id           | VCPU slot        |
//!
//! The root task holds one more capability to the server's endpoint, badged exactly bit 61
//! ([`Badge::Supervisor`]): its messages are kernel-authenticated notices (a client was stopped,
//! [`LABEL_CLIENT_STOPPED`]). Every other bit pattern (including 0, an unbadged capability)
//! decodes to [`Badge::Invalid`].

/// Label of the supervisor's notice that a client component was stopped: word 0 is its client
/// id. Sent with `Send` (no reply).
pub const LABEL_CLIENT_STOPPED: u64 = 0x5356_0001;

/// Label of the supervisor's notice that a stopped client component is about to run again as a
/// new instance (the root task restarted it): word 0 is its client id. The server treats the
/// new instance as a fresh client: an empty handle table with its initial handles again. Sent
/// with `Send` after [`LABEL_CLIENT_STOPPED`] and before the new instance's threads start.
pub const LABEL_CLIENT_RESTARTED: u64 = 0x5356_0002;

/// Identifies a client component (a protection domain with one handle table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u16);

/// Identifies one client thread, unique across the whole system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub u16);

/// The sender of a client request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sender {
    /// Whose handle table the request uses.
    pub client: ClientId,
    /// Which thread (for VCPU thread affinity).
    pub thread: ThreadId,
}

/// A decoded badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Badge {
    /// A request from a client thread.
    Client(Sender),
    /// A fault (guest exit) from the VCPU in `slot`, created with `generation`.
    VcpuFault {
        /// Slot of the VCPU in the server's object table.
        slot: u16,
        /// Generation of that slot when the VCPU was created.
        generation: u16,
    },
    /// The root task's notices (supervision).
    Supervisor,
    /// Not a badge this system mints.
    Invalid,
}

const CLIENT_BIT: u64 = 1 << 63;
const FAULT_BIT: u64 = 1 << 62;
const SUPERVISOR_BIT: u64 = 1 << 61;

impl Badge {
    /// The 64-bit badge word for this badge (`Invalid` encodes as 0, an unbadged capability).
    pub const fn encode(self) -> u64 {
        match self {
            Badge::Client(s) => CLIENT_BIT | (s.client.0 as u64) << 32 | s.thread.0 as u64,
            Badge::VcpuFault { slot, generation } => {
                FAULT_BIT | (generation as u64) << 16 | slot as u64
            }
            Badge::Supervisor => SUPERVISOR_BIT,
            Badge::Invalid => 0,
        }
    }

    /// Decodes a badge word; any pattern this system does not mint is [`Badge::Invalid`].
    pub const fn decode(word: u64) -> Badge {
        const CLIENT_MASK: u64 = CLIENT_BIT | 0xFFFF << 32 | 0xFFFF;
        const FAULT_MASK: u64 = FAULT_BIT | 0xFFFF_FFFF;
        if word & CLIENT_BIT != 0 && word & !CLIENT_MASK == 0 {
            Badge::Client(Sender {
                client: ClientId((word >> 32) as u16),
                thread: ThreadId(word as u16),
            })
        } else if word & FAULT_BIT != 0 && word & !FAULT_MASK == 0 {
            Badge::VcpuFault {
                slot: word as u16,
                generation: (word >> 16) as u16,
            }
        } else if word == SUPERVISOR_BIT {
            Badge::Supervisor
        } else {
            Badge::Invalid
        }
    }
}
