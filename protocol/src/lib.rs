//! The VCPU server's wire protocol: the one definition shared by client and server.
//!
//! A request is one seL4 message: the [`caps::Operation`] in the message label, a fixed
//! `zerocopy` struct in the message words, and (for `vmar_map` only) one frame capability as an
//! extra cap. A reply carries the `zx_status_t` in word 0 and, on success, the operation's reply
//! struct in the following words.
//!
//! Modules: [`message`] (the structs and the [`Request`]/[`Reply`] types), [`codec`] (request
//! encode/decode), [`reply`] (reply encode/decode), [`layout`] (Zircon's public structs),
//! [`badge`] (sender identity). `docs/PROTOCOL.md` describes the format word by word.
//!
//! Invariants:
//! - [`Request::decode`] is the one decode point: an unknown label, a wrong length or a bad field
//!   yields a [`Status`], never a panic.
//! - Every request and reply fits one seL4 message ([`MSG_MAX_WORDS`] words); const assertions
//!   and property tests check it.
//! - Handle values, rights and statuses travel as Zircon's raw `u32`/`i32` values.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(not(target_endian = "little"))]
compile_error!("the wire format is the little-endian layout of the message structs");

pub mod badge;
pub mod codec;
pub mod layout;
pub mod message;
pub mod reply;
mod status;

pub use badge::{Badge, ClientId, LABEL_CLIENT_RESTARTED, LABEL_CLIENT_STOPPED, Sender, ThreadId};
pub use caps::Operation;
pub use codec::{WRITE_STATE_MAX_BYTES, request_caps, request_words};
pub use message::{Reply, ReplyPayload, Request};
pub use reply::{REPLY_MAX_WORDS, ReplyKind, decode_reply, encode_reply};
pub use status::Status;

/// Maximum number of message words in one seL4 message (`seL4_MsgMaxLength`).
pub const MSG_MAX_WORDS: usize = 120;

/// A raw handle value as clients see it (`zx_handle_t`). 0 is `ZX_HANDLE_INVALID`.
pub type HandleValue = u32;

/// `ZX_HANDLE_INVALID`.
pub const HANDLE_INVALID: HandleValue = 0;
