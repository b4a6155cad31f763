//! The seL4 [`Transport`]: one `seL4_Call` on the calling thread's badged endpoint to the server.
//!
//! A request travels as the protocol describes (`docs/PROTOCOL.md`): the operation in the message
//! label, words 0..3 in registers x2..x5 and words 4.. in the IPC buffer (the `sel4` crate's
//! message model: the whole message is written to [`IpcBuffer::msg_mut`] and the syscall moves
//! the first four words into registers), and the `vmar_map` frame as the one extra capability
//! (`caps_or_badges[0]`, `extraCaps = 1`). The kernel transfers it only if the endpoint
//! capability has Grant (Zircon `TRANSFER` on the endpoint: `send-caps = true` in the
//! manifest); without Grant the server receives no capability and answers
//! `ZX_ERR_INVALID_ARGS`.
//!
//! Invariants:
//! - one transport per thread: it owns that thread's IPC buffer (`&mut`), so no other code can
//!   touch the buffer while the kernel writes the reply into it;
//! - the endpoint is the thread's own badged capability (from its boot page), so the server
//!   identifies the thread by the badge the kernel delivers, never by anything in the message.

use sel4::{Cap, IpcBuffer, MSG_MAX_LENGTH, MessageInfo, cap_type};

use crate::{MSG_MAX_WORDS, Transport};

/// A [`Transport`] over `seL4_Call` on a badged endpoint capability to the VCPU server.
pub struct Sel4Transport<'a> {
    ipc: &'a mut IpcBuffer,
    endpoint: Cap<cap_type::Endpoint>,
}

impl<'a> Sel4Transport<'a> {
    /// A transport for the thread whose IPC buffer is `ipc`, calling through `endpoint` (its
    /// badged endpoint slot from the boot page).
    pub fn new(ipc: &'a mut IpcBuffer, endpoint: Cap<cap_type::Endpoint>) -> Self {
        Sel4Transport { ipc, endpoint }
    }

    /// The endpoint this transport calls.
    pub fn endpoint(&self) -> Cap<cap_type::Endpoint> {
        self.endpoint
    }

    /// The thread's IPC buffer, for other invocations between calls (cache maintenance, TCB
    /// operations).
    pub fn ipc(&mut self) -> &mut IpcBuffer {
        self.ipc
    }

    /// Sends a message exactly as given (`label`, `words`, and `caps` as the extra caps, at
    /// most 3) and returns the reply's tag; the reply's words are in [`Self::ipc`]`.msg()`.
    /// Words beyond the buffer's 120 are dropped, but `length` is sent as given (the kernel
    /// clamps it to 120). For tests that must send what the typed API never would.
    pub fn call_raw(
        &mut self,
        label: u64,
        words: &[u64],
        length: u64,
        caps: &[u64],
    ) -> MessageInfo {
        let n = words.len().min(MSG_MAX_LENGTH);
        self.ipc.msg_mut()[..n].copy_from_slice(&words[..n]);
        let slots = self.ipc.caps_or_badges_mut();
        let extra = caps.len().min(slots.len());
        slots[..extra].copy_from_slice(&caps[..extra]);
        let info = MessageInfo::new(label, 0, extra as u64, length);
        self.endpoint.call(self.ipc, info)
    }
}

impl Transport for Sel4Transport<'_> {
    type Cap = Cap<cap_type::Unspecified>;

    fn call(
        &mut self,
        label: u64,
        words: &[u64],
        cap: Option<Self::Cap>,
        reply: &mut [u64; MSG_MAX_WORDS],
    ) -> usize {
        let caps = cap.map(|c| [c.cptr()]);
        let caps: &[u64] = caps.as_ref().map_or(&[], |c| c.as_slice());
        let n = words.len().min(MSG_MAX_LENGTH);
        let info = self.call_raw(label, &words[..n], n as u64, caps);
        let len = info.length();
        if len > MSG_MAX_WORDS {
            // The kernel never delivers more than 120 words; treat it as malformed anyway.
            return len;
        }
        reply[..len].copy_from_slice(&self.ipc.msg()[..len]);
        len
    }

    /// Encodes straight into the IPC buffer and decodes the reply where the kernel put it.
    fn call_in_place<R>(
        &mut self,
        encode: impl FnOnce(&mut [u64; MSG_MAX_WORDS]) -> (u64, usize),
        cap: Option<Self::Cap>,
        decode: impl FnOnce(&[u64]) -> R,
    ) -> R {
        let (label, len) = encode(self.ipc.msg_mut());
        let extra = match cap {
            Some(c) => {
                self.ipc.caps_or_badges_mut()[0] = c.cptr();
                1
            }
            None => 0,
        };
        let info = MessageInfo::new(label, 0, extra, len.min(MSG_MAX_LENGTH) as u64);
        let reply = self.endpoint.call(self.ipc, info);
        decode(self.ipc.msg().get(..reply.length()).unwrap_or(&[]))
    }
}
