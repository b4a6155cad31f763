//! Kernel-object invocations, split into a pure request builder and a thin wrapper.
//!
//! Every invocation is first built as a [`Request`] (label, words, cap arguments) by an
//! associated function such as [`Request::untyped_retype`]: pure, host-tested word for word,
//! and compared by `sel4-build`'s ABI test with libsel4's generated marshalling. The typed
//! wrapper on [`crate::Cap`] (e.g. `Cap<Untyped>::untyped_retype`) hands the request to
//! [`crate::IpcBuffer::invoke`] and interprets the [`Response`]. No `unsafe` here.

mod cnode;
mod irq;
mod mcs;
mod paging;
mod tcb;
mod untyped;
mod vcpu;

#[cfg(test)]
mod tests;

use crate::abi::InvocationLabel;
use crate::cap::CPtr;
use crate::error::{Error, Result};
use crate::message::{FAST_MESSAGE_REGISTERS, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH, MessageInfo};
use crate::user_context::USER_CONTEXT_WORDS;

pub use cnode::CNodeSlotOp;
pub use irq::IrqTrigger;
pub use paging::CacheOp;
pub use vcpu::{SmcArgs, VirqInjection};

/// Most words any invocation sends (`TCB_WriteRegisters`: flags, count and 36 registers).
pub const MAX_REQUEST_WORDS: usize = 2 + USER_CONTEXT_WORDS;
/// Most words of a response kept (`TCB_ReadRegisters` returns 36).
pub const MAX_RESPONSE_WORDS: usize = USER_CONTEXT_WORDS;

/// One invocation, ready to send: the tag, the word arguments and the cap arguments.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Request {
    id: InvocationLabel,
    info: MessageInfo,
    words: [u64; MAX_REQUEST_WORDS],
    caps: [CPtr; MSG_MAX_EXTRA_CAPS],
}

impl Request {
    /// A request with `label`, the given words and cap arguments (at most
    /// [`MAX_REQUEST_WORDS`] words and 3 caps are kept; the builders never pass more).
    pub fn new(label: InvocationLabel, words: &[u64], caps: &[CPtr]) -> Request {
        let mut r = Request {
            id: label,
            info: MessageInfo::default(),
            words: [0; MAX_REQUEST_WORDS],
            caps: [0; MSG_MAX_EXTRA_CAPS],
        };
        let nw = words.len().min(MAX_REQUEST_WORDS);
        let nc = caps.len().min(MSG_MAX_EXTRA_CAPS);
        r.words[..nw].copy_from_slice(&words[..nw]);
        r.caps[..nc].copy_from_slice(&caps[..nc]);
        r.info = MessageInfo::new(label.value(), 0, nc as u64, nw as u64);
        r
    }

    /// The tag (label, extraCaps, length).
    pub fn info(&self) -> MessageInfo {
        self.info
    }

    /// The invocation label (its number in the configuration this crate is built for).
    pub fn label(&self) -> u64 {
        self.info.label()
    }

    /// Which method the request invokes (its number in any configuration is
    /// `label_id().value_in(config)`).
    pub fn label_id(&self) -> InvocationLabel {
        self.id
    }

    /// The word arguments (MR0..), `info().length()` of them.
    pub fn words(&self) -> &[u64] {
        &self.words[..self.info.length()]
    }

    /// The cap arguments (cptrs for caps_or_badges), `info().extra_caps()` of them.
    pub fn caps(&self) -> &[CPtr] {
        &self.caps[..self.info.extra_caps()]
    }
}

/// A reply to an invocation: the tag (label = error code) and up to
/// [`MAX_RESPONSE_WORDS`] words.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Response {
    info: MessageInfo,
    words: [u64; MAX_RESPONSE_WORDS],
    len: usize,
}

impl Response {
    /// Assembles a response from the registers (MR0..3) and the IPC buffer's msg (MR4..).
    pub fn from_parts(
        info: MessageInfo,
        fast: [u64; FAST_MESSAGE_REGISTERS],
        msg: &[u64; MSG_MAX_LENGTH],
    ) -> Response {
        let len = info.length().min(MAX_RESPONSE_WORDS);
        let mut words = [0u64; MAX_RESPONSE_WORDS];
        for (i, w) in words.iter_mut().enumerate().take(len) {
            *w = if i < FAST_MESSAGE_REGISTERS {
                fast[i]
            } else {
                msg[i]
            };
        }
        Response { info, words, len }
    }

    /// A response with the given label and words (for fakes and tests).
    pub fn new(label: u64, words: &[u64]) -> Response {
        let len = words.len().min(MAX_RESPONSE_WORDS);
        let mut r = Response {
            info: MessageInfo::new(label, 0, 0, len as u64),
            words: [0; MAX_RESPONSE_WORDS],
            len,
        };
        r.words[..len].copy_from_slice(&words[..len]);
        r
    }

    /// The reply tag.
    pub fn info(&self) -> MessageInfo {
        self.info
    }

    /// The reply words (results on success, error details on failure).
    pub fn words(&self) -> &[u64] {
        &self.words[..self.len]
    }

    /// Word `i`, or 0 if the reply is shorter.
    pub fn word(&self, i: usize) -> u64 {
        self.words().get(i).copied().unwrap_or(0)
    }

    /// `Ok(())` for label 0, else the error (see [`Error::check_label`]).
    pub fn result(&self) -> Result<()> {
        Error::check_label(self.info.label())
    }
}
