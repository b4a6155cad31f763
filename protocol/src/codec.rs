//! Encoding and decoding of request messages: the one place message words become a [`Request`].
//!
//! A request is `(label, words, caps)`: the label names the [`Operation`], the words hold the
//! operation's `#[repr(C)]` struct (little-endian, as on both the host and aarch64), and `caps`
//! counts the extra capabilities that came with the message.
//!
//! Decode rules, checked in this order (the first failing one gives the status):
//! 1. the label names no operation → `ZX_ERR_BAD_SYSCALL`;
//! 2. the cap count is not the operation's ([`request_caps`]: 1 for `vmar_map` and
//!    `vmar_map_frames`, else 0) →
//!    `ZX_ERR_INVALID_ARGS`;
//! 3. the word count is not the operation's ([`request_words`]; for `vcpu_write_state` the
//!    2-word header plus exactly `ceil(buffer_size / 8)` buffer words, `buffer_size` at most
//!    [`WRITE_STATE_MAX_BYTES`]) → `ZX_ERR_INVALID_ARGS`;
//! 4. a reserved field, or a padding byte after a `vcpu_write_state` buffer, is nonzero →
//!    `ZX_ERR_INVALID_ARGS`.
//!
//! Field values (options, kinds, sizes, handles) are the server's to judge, so that it can apply
//! Zircon's check order. Decoding never panics.

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReq, HandleRightsReq, HandleSendReq, ObjectGetInfoReq,
    PortCreateReq, PortQueueReq, PortWaitReq, VcpuCreateReq, VcpuInterruptReq, VcpuStateReq,
    VmarMapFramesReq, VmarMapReq, VmarProtectReq, VmarUnmapReq,
};
use crate::{MSG_MAX_WORDS, Operation, Request, Status};

/// Words of the `vcpu_write_state` header ([`VcpuStateReq`]) before the buffer.
pub const WRITE_STATE_HEADER_WORDS: usize = words_of::<VcpuStateReq>();

/// The largest `vcpu_write_state` buffer one message can carry (944 bytes).
pub const WRITE_STATE_MAX_BYTES: usize = (MSG_MAX_WORDS - WRITE_STATE_HEADER_WORDS) * 8;

/// Message words a `#[repr(C)]` struct occupies.
pub(crate) const fn words_of<T>() -> usize {
    size_of::<T>().div_ceil(8)
}

/// Every message struct fills whole words and fits one message.
const fn fits<T>() -> bool {
    size_of::<T>() % 8 == 0 && size_of::<T>() / 8 <= MSG_MAX_WORDS
}

const _: () = {
    assert!(fits::<GuestCreateReq>());
    assert!(fits::<GuestSetTrapReq>());
    assert!(fits::<VcpuCreateReq>());
    assert!(fits::<HandleReq>());
    assert!(fits::<VcpuInterruptReq>());
    assert!(fits::<VcpuStateReq>());
    assert!(fits::<ObjectGetInfoReq>());
    assert!(fits::<HandleRightsReq>());
    assert!(fits::<HandleSendReq>());
    assert!(fits::<PortCreateReq>());
    assert!(fits::<PortWaitReq>());
    assert!(fits::<VmarMapReq>());
    assert!(fits::<PortQueueReq>());
    assert!(fits::<VmarUnmapReq>());
    assert!(fits::<VmarProtectReq>());
    assert!(fits::<VmarMapFramesReq>());
    // The largest write_state message is exactly one full message.
    assert!(WRITE_STATE_HEADER_WORDS + WRITE_STATE_MAX_BYTES / 8 == MSG_MAX_WORDS);
    // Every operation's request fits (checks the table below too).
    let mut i = 0;
    while i < Operation::ALL.len() {
        assert!(request_words(Operation::ALL[i]) <= MSG_MAX_WORDS);
        i += 1;
    }
};

/// The number of message words an operation's request has; for `vcpu_write_state`, the header
/// only (the buffer's words follow it).
pub const fn request_words(op: Operation) -> usize {
    match op {
        Operation::GuestCreate => words_of::<GuestCreateReq>(),
        Operation::GuestSetTrap => words_of::<GuestSetTrapReq>(),
        Operation::VcpuCreate => words_of::<VcpuCreateReq>(),
        Operation::VcpuEnter | Operation::VcpuKick | Operation::HandleClose => {
            words_of::<HandleReq>()
        }
        Operation::VcpuInterrupt => words_of::<VcpuInterruptReq>(),
        Operation::VcpuReadState | Operation::VcpuWriteState => words_of::<VcpuStateReq>(),
        Operation::ObjectGetInfo => words_of::<ObjectGetInfoReq>(),
        Operation::HandleDuplicate | Operation::HandleReplace => words_of::<HandleRightsReq>(),
        Operation::HandleSend => words_of::<HandleSendReq>(),
        Operation::HandleReceive => 0,
        Operation::PortCreate => words_of::<PortCreateReq>(),
        Operation::PortWait => words_of::<PortWaitReq>(),
        Operation::VmarMap => words_of::<VmarMapReq>(),
        Operation::PortQueue => words_of::<PortQueueReq>(),
        Operation::VmarUnmap => words_of::<VmarUnmapReq>(),
        Operation::VmarProtect => words_of::<VmarProtectReq>(),
        Operation::VmarMapFrames => words_of::<VmarMapFramesReq>(),
    }
}

/// The number of extra capabilities an operation's request carries: the frame of `vmar_map`.
pub const fn request_caps(op: Operation) -> usize {
    match op {
        Operation::VmarMap | Operation::VmarMapFrames => 1,
        Operation::GuestCreate
        | Operation::GuestSetTrap
        | Operation::VcpuCreate
        | Operation::VcpuEnter
        | Operation::VcpuKick
        | Operation::VcpuInterrupt
        | Operation::VcpuReadState
        | Operation::VcpuWriteState
        | Operation::ObjectGetInfo
        | Operation::HandleDuplicate
        | Operation::HandleReplace
        | Operation::HandleClose
        | Operation::HandleSend
        | Operation::HandleReceive
        | Operation::PortCreate
        | Operation::PortWait
        | Operation::PortQueue
        | Operation::VmarUnmap
        | Operation::VmarProtect => 0,
    }
}

const INVALID: Status = Status::ERR_INVALID_ARGS;

/// Reads a whole message struct from exactly its words.
fn fixed<T: FromBytes>(words: &[u64]) -> Result<T, Status> {
    T::read_from_bytes(words.as_bytes()).map_err(|_| INVALID)
}

fn reserved_zero(value: u32) -> Result<(), Status> {
    if value == 0 { Ok(()) } else { Err(INVALID) }
}

/// Writes a message struct into the first words of `words`; returns the words used.
fn put<T: IntoBytes + Immutable>(words: &mut [u64], value: &T) -> usize {
    let n = words_of::<T>();
    if let Some(dst) = words.get_mut(..n) {
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

impl<'a> Request<'a> {
    /// The operation of this request.
    pub const fn op(&self) -> Operation {
        match self {
            Request::GuestCreate(_) => Operation::GuestCreate,
            Request::GuestSetTrap(_) => Operation::GuestSetTrap,
            Request::VcpuCreate(_) => Operation::VcpuCreate,
            Request::VcpuEnter(_) => Operation::VcpuEnter,
            Request::VcpuKick(_) => Operation::VcpuKick,
            Request::VcpuInterrupt(_) => Operation::VcpuInterrupt,
            Request::VcpuReadState(_) => Operation::VcpuReadState,
            Request::VcpuWriteState(..) => Operation::VcpuWriteState,
            Request::ObjectGetInfo(_) => Operation::ObjectGetInfo,
            Request::HandleDuplicate(_) => Operation::HandleDuplicate,
            Request::HandleReplace(_) => Operation::HandleReplace,
            Request::HandleClose(_) => Operation::HandleClose,
            Request::HandleSend(_) => Operation::HandleSend,
            Request::HandleReceive => Operation::HandleReceive,
            Request::PortCreate(_) => Operation::PortCreate,
            Request::PortWait(_) => Operation::PortWait,
            Request::VmarMap(_) => Operation::VmarMap,
            Request::PortQueue(_) => Operation::PortQueue,
            Request::VmarUnmap(_) => Operation::VmarUnmap,
            Request::VmarProtect(_) => Operation::VmarProtect,
            Request::VmarMapFrames(_) => Operation::VmarMapFrames,
        }
    }

    /// A `vcpu_write_state` request for `buffer`, with `buffer_size` set to its length.
    /// A buffer longer than [`WRITE_STATE_MAX_BYTES`] does not fit one message:
    /// `ZX_ERR_INVALID_ARGS`.
    pub fn vcpu_write_state(vcpu: u32, kind: u32, buffer: &'a [u8]) -> Result<Self, Status> {
        if buffer.len() > WRITE_STATE_MAX_BYTES {
            return Err(INVALID);
        }
        let header = VcpuStateReq {
            vcpu,
            kind,
            // Lossless: at most WRITE_STATE_MAX_BYTES.
            buffer_size: buffer.len() as u32,
            reserved: 0,
        };
        Ok(Request::VcpuWriteState(header, buffer))
    }

    /// Decodes a request message; see the module documentation for the rules and statuses.
    /// A `vcpu_write_state` buffer borrows from `words`.
    pub fn decode(label: u64, words: &'a [u64], caps: usize) -> Result<Request<'a>, Status> {
        let op = Operation::from_label(label).ok_or(Status::ERR_BAD_SYSCALL)?;
        if caps != request_caps(op) {
            return Err(INVALID);
        }
        Ok(match op {
            Operation::GuestCreate => Request::GuestCreate(fixed(words)?),
            Operation::GuestSetTrap => {
                let r: GuestSetTrapReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::GuestSetTrap(r)
            }
            Operation::VcpuCreate => Request::VcpuCreate(fixed(words)?),
            Operation::VcpuEnter => Request::VcpuEnter(handle_req(words)?),
            Operation::VcpuKick => Request::VcpuKick(handle_req(words)?),
            Operation::HandleClose => Request::HandleClose(handle_req(words)?),
            Operation::VcpuInterrupt => Request::VcpuInterrupt(fixed(words)?),
            Operation::VcpuReadState => {
                let r: VcpuStateReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::VcpuReadState(r)
            }
            Operation::VcpuWriteState => return decode_write_state(words),
            Operation::ObjectGetInfo => {
                let r: ObjectGetInfoReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::ObjectGetInfo(r)
            }
            Operation::HandleDuplicate => Request::HandleDuplicate(fixed(words)?),
            Operation::HandleReplace => Request::HandleReplace(fixed(words)?),
            Operation::HandleSend => Request::HandleSend(fixed(words)?),
            Operation::HandleReceive if words.is_empty() => Request::HandleReceive,
            Operation::HandleReceive => return Err(INVALID),
            Operation::PortCreate => {
                let r: PortCreateReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::PortCreate(r)
            }
            Operation::PortWait => {
                let r: PortWaitReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::PortWait(r)
            }
            Operation::VmarMap => Request::VmarMap(fixed(words)?),
            Operation::PortQueue => {
                let r: PortQueueReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::PortQueue(r)
            }
            Operation::VmarUnmap => {
                let r: VmarUnmapReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::VmarUnmap(r)
            }
            Operation::VmarProtect => Request::VmarProtect(fixed(words)?),
            Operation::VmarMapFrames => {
                let r: VmarMapFramesReq = fixed(words)?;
                reserved_zero(r.reserved)?;
                Request::VmarMapFrames(r)
            }
        })
    }

    /// Encodes this request into `words`; returns `(label, length in words, extra caps)`.
    /// The caller sends the capability itself (for `vmar_map`).
    ///
    /// Total and panic-free. A valid request (every reserved field zero; a `vcpu_write_state`
    /// buffer of exactly `buffer_size` bytes, at most [`WRITE_STATE_MAX_BYTES`]: see
    /// [`Request::vcpu_write_state`]) decodes back to itself. For any other request the fields
    /// are written as given and the buffer is cut to what fits, so the server sees the
    /// inconsistency and answers `ZX_ERR_INVALID_ARGS`, or a different request.
    pub fn encode(&self, words: &mut [u64; MSG_MAX_WORDS]) -> (u64, usize, usize) {
        let op = self.op();
        let len = match self {
            Request::GuestCreate(r) => put(words, r),
            Request::GuestSetTrap(r) => put(words, r),
            Request::VcpuCreate(r) => put(words, r),
            Request::VcpuEnter(r) | Request::VcpuKick(r) | Request::HandleClose(r) => put(words, r),
            Request::VcpuInterrupt(r) => put(words, r),
            Request::VcpuReadState(r) => put(words, r),
            Request::VcpuWriteState(header, buffer) => {
                let head = put(words, header);
                let buffer = buffer.get(..WRITE_STATE_MAX_BYTES).unwrap_or(buffer);
                let body = &mut words[head..head + buffer.len().div_ceil(8)];
                body.fill(0);
                body.as_mut_bytes()[..buffer.len()].copy_from_slice(buffer);
                head + body.len()
            }
            Request::ObjectGetInfo(r) => put(words, r),
            Request::HandleDuplicate(r) | Request::HandleReplace(r) => put(words, r),
            Request::HandleSend(r) => put(words, r),
            Request::HandleReceive => 0,
            Request::PortCreate(r) => put(words, r),
            Request::PortWait(r) => put(words, r),
            Request::VmarMap(r) => put(words, r),
            Request::PortQueue(r) => put(words, r),
            Request::VmarUnmap(r) => put(words, r),
            Request::VmarProtect(r) => put(words, r),
            Request::VmarMapFrames(r) => put(words, r),
        };
        (op.label(), len, request_caps(op))
    }
}

fn handle_req(words: &[u64]) -> Result<HandleReq, Status> {
    let r: HandleReq = fixed(words)?;
    reserved_zero(r.reserved)?;
    Ok(r)
}

fn decode_write_state(words: &[u64]) -> Result<Request<'_>, Status> {
    let (head, body) = words
        .split_at_checked(WRITE_STATE_HEADER_WORDS)
        .ok_or(INVALID)?;
    let header: VcpuStateReq = fixed(head)?;
    reserved_zero(header.reserved)?;
    let size = header.buffer_size as usize;
    if size > WRITE_STATE_MAX_BYTES || body.len() != size.div_ceil(8) {
        return Err(INVALID);
    }
    let (buffer, padding) = body.as_bytes().split_at_checked(size).ok_or(INVALID)?;
    if padding.iter().any(|b| *b != 0) {
        return Err(INVALID);
    }
    Ok(Request::VcpuWriteState(header, buffer))
}
