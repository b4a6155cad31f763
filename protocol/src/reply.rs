//! Encoding and decoding of reply messages.
//!
//! A reply's word 0 is the `zx_status_t`, sign-extended to 64 bits. On `ZX_OK` the operation's
//! reply struct follows in words 1.. ([`ReplyKind::of`] says which); on an error the reply is
//! word 0 alone. The reply label is not used (the server sends 0).
//!
//! [`decode_reply`] is the client's check of what came back: anything that is not exactly one of
//! these shapes for the operation that was called is `ZX_ERR_INTERNAL` (the transport or the
//! server misbehaved), so a client never acts on a half-understood reply.

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::codec::words_of;
use crate::layout::{PortPacket, VcpuState};
use crate::message::{GuestCreateReply, HandleReply, InfoVcpu, MapReply, ReceivedHandle};
use crate::{MSG_MAX_WORDS, Operation, Reply, ReplyPayload, Status};

/// The shape of a successful reply's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// No payload.
    Empty,
    /// [`GuestCreateReply`].
    GuestCreate,
    /// [`HandleReply`].
    Handle,
    /// [`PortPacket`].
    Packet,
    /// [`VcpuState`].
    State,
    /// [`InfoVcpu`].
    InfoVcpu,
    /// [`ReceivedHandle`].
    Received,
    /// [`MapReply`].
    Map,
}

impl ReplyKind {
    /// The payload an operation's successful reply carries.
    pub const fn of(op: Operation) -> ReplyKind {
        match op {
            Operation::GuestCreate => ReplyKind::GuestCreate,
            Operation::GuestSetTrap
            | Operation::VcpuKick
            | Operation::VcpuInterrupt
            | Operation::VcpuWriteState
            | Operation::HandleClose
            | Operation::HandleSend
            | Operation::PortQueue
            | Operation::VmarUnmap
            | Operation::VmarProtect => ReplyKind::Empty,
            Operation::VcpuCreate
            | Operation::HandleDuplicate
            | Operation::HandleReplace
            | Operation::PortCreate => ReplyKind::Handle,
            Operation::VcpuEnter | Operation::PortWait => ReplyKind::Packet,
            Operation::VcpuReadState => ReplyKind::State,
            Operation::ObjectGetInfo => ReplyKind::InfoVcpu,
            Operation::HandleReceive => ReplyKind::Received,
            Operation::VmarMap | Operation::VmarMapFrames => ReplyKind::Map,
        }
    }

    /// Payload words (after the status word).
    pub const fn words(self) -> usize {
        match self {
            ReplyKind::Empty => 0,
            ReplyKind::GuestCreate => words_of::<GuestCreateReply>(),
            ReplyKind::Handle => words_of::<HandleReply>(),
            ReplyKind::Packet => words_of::<PortPacket>(),
            ReplyKind::State => words_of::<VcpuState>(),
            ReplyKind::InfoVcpu => words_of::<InfoVcpu>(),
            ReplyKind::Received => words_of::<ReceivedHandle>(),
            ReplyKind::Map => words_of::<MapReply>(),
        }
    }
}

impl ReplyPayload {
    /// The shape of this payload.
    pub const fn kind(&self) -> ReplyKind {
        match self {
            ReplyPayload::Empty => ReplyKind::Empty,
            ReplyPayload::GuestCreate(_) => ReplyKind::GuestCreate,
            ReplyPayload::Handle(_) => ReplyKind::Handle,
            ReplyPayload::Packet(_) => ReplyKind::Packet,
            ReplyPayload::State(_) => ReplyKind::State,
            ReplyPayload::InfoVcpu(_) => ReplyKind::InfoVcpu,
            ReplyPayload::Received(_) => ReplyKind::Received,
            ReplyPayload::Map(_) => ReplyKind::Map,
        }
    }
}

/// The longest reply, in words (status word included): `vcpu_read_state`'s 1 + 33.
pub const REPLY_MAX_WORDS: usize = {
    let kinds = [
        ReplyKind::Empty,
        ReplyKind::GuestCreate,
        ReplyKind::Handle,
        ReplyKind::Packet,
        ReplyKind::State,
        ReplyKind::InfoVcpu,
        ReplyKind::Received,
        ReplyKind::Map,
    ];
    let mut max = 0;
    let mut i = 0;
    while i < kinds.len() {
        if kinds[i].words() > max {
            max = kinds[i].words();
        }
        i += 1;
    }
    1 + max
};

const _: () = {
    assert!(REPLY_MAX_WORDS <= MSG_MAX_WORDS);
    // Every payload struct fills whole words (so a decoded reply has no unchecked tail bytes).
    assert!(size_of::<GuestCreateReply>() % 8 == 0);
    assert!(size_of::<HandleReply>() % 8 == 0);
    assert!(size_of::<PortPacket>() % 8 == 0);
    assert!(size_of::<VcpuState>() % 8 == 0);
    assert!(size_of::<InfoVcpu>() % 8 == 0);
    assert!(size_of::<ReceivedHandle>() % 8 == 0);
    assert!(size_of::<MapReply>() % 8 == 0);
};

fn put<T: IntoBytes + Immutable>(words: &mut [u64], value: &T) -> usize {
    let n = words_of::<T>();
    if let Some(dst) = words.get_mut(1..1 + n) {
        // Every word up to the length is defined, even in a buffer that held another message.
        if size_of::<T>() % 8 != 0 {
            if let Some(last) = dst.last_mut() {
                *last = 0;
            }
        }
        dst.as_mut_bytes()[..size_of::<T>()].copy_from_slice(value.as_bytes());
    }
    n
}

/// Encodes a reply into `words`; returns its length in words (1 + payload words).
///
/// `Err(Status::OK)` is not a reply a server may send (OK always comes with the operation's
/// payload); it is encoded as `ZX_ERR_INTERNAL`.
pub fn encode_reply(reply: &Reply, words: &mut [u64; MSG_MAX_WORDS]) -> usize {
    let payload = match reply {
        Ok(payload) => payload,
        Err(status) => {
            let status = if status.is_ok() {
                Status::ERR_INTERNAL
            } else {
                *status
            };
            words[0] = i64::from(status.into_raw()) as u64;
            return 1;
        }
    };
    words[0] = 0;
    let n = match payload {
        ReplyPayload::Empty => 0,
        ReplyPayload::GuestCreate(r) => put(words, r),
        ReplyPayload::Handle(r) => put(words, r),
        ReplyPayload::Packet(r) => put(words, r),
        ReplyPayload::State(r) => put(words, r),
        ReplyPayload::InfoVcpu(r) => put(words, r),
        ReplyPayload::Received(r) => put(words, r),
        ReplyPayload::Map(r) => put(words, r),
    };
    1 + n
}

const MALFORMED: Status = Status::ERR_INTERNAL;

fn read<T: FromBytes>(words: &[u64]) -> Result<T, Status> {
    T::read_from_bytes(words.as_bytes()).map_err(|_| MALFORMED)
}

fn zero(reserved: u32) -> Result<(), Status> {
    if reserved == 0 {
        Ok(())
    } else {
        Err(MALFORMED)
    }
}

/// Decodes the reply to a request for `op` (client side). Returns the server's status, or the
/// payload on `ZX_OK`. `ZX_ERR_INTERNAL` if the reply is malformed: empty, a status word that is
/// not a sign-extended `i32`, an error reply longer than its status word, an OK reply whose length
/// is not exactly 1 + [`ReplyKind::words`] for `op`, or a nonzero reserved field.
pub fn decode_reply(op: Operation, words: &[u64]) -> Reply {
    let (&status, payload) = words.split_first().ok_or(MALFORMED)?;
    let status = i32::try_from(status as i64).map_err(|_| MALFORMED)?;
    if status != 0 {
        return if payload.is_empty() {
            Err(Status::from_raw(status))
        } else {
            Err(MALFORMED)
        };
    }
    let kind = ReplyKind::of(op);
    if payload.len() != kind.words() {
        return Err(MALFORMED);
    }
    Ok(match kind {
        ReplyKind::Empty => ReplyPayload::Empty,
        ReplyKind::GuestCreate => ReplyPayload::GuestCreate(read(payload)?),
        ReplyKind::Handle => {
            let r: HandleReply = read(payload)?;
            zero(r.reserved)?;
            ReplyPayload::Handle(r)
        }
        ReplyKind::Packet => ReplyPayload::Packet(read(payload)?),
        ReplyKind::State => ReplyPayload::State(read(payload)?),
        ReplyKind::InfoVcpu => {
            let r: InfoVcpu = read(payload)?;
            zero(r.reserved)?;
            ReplyPayload::InfoVcpu(r)
        }
        ReplyKind::Received => ReplyPayload::Received(read(payload)?),
        ReplyKind::Map => ReplyPayload::Map(read(payload)?),
    })
}
