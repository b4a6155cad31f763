//! The VCPU client library: Zircon's hypervisor calls, by Zircon's names, over any [`Transport`].
//!
//! Each `zx_*` function builds one [`Request`], sends it with [`Transport::call`], and decodes the
//! reply with [`decode_reply`] for that operation. So the client and the server share one
//! definition of every message (`vcpu-protocol`), and a transport only moves words:
//! - on seL4, a `seL4_Call` on the client's badged endpoint to the server (MR0..3 in registers,
//!   the rest in the IPC buffer, the `vmar_map` frame as the one extra cap);
//! - on the host, a fake that hands the words to the server core directly (see [`Loopback`]).
//!
//! The seL4 transport is `Sel4Transport` (cargo feature `sel4`).
//!
//! Semantics follow Zircon (V3), with these rules of the library itself:
//! - Arguments are sent as given. The client does not pre-check sizes, kinds or options, so the
//!   server's status (and Zircon's check order) is what the caller sees. The one local check:
//!   a `vcpu_write_state` buffer larger than one message can carry
//!   ([`vcpu_protocol::WRITE_STATE_MAX_BYTES`], 944 bytes) fails with `ZX_ERR_INVALID_ARGS`
//!   without a call. A buffer length above `u32::MAX` is sent as `u32::MAX`.
//! - Output buffers and packets are written only on `ZX_OK`.
//! - A malformed reply (wrong length or shape for the operation) is `ZX_ERR_INTERNAL`.
//! - Functions that return new handles or values return `Result<_, Status>`; functions that only
//!   report success, or fill a caller buffer, return the [`Status`] as Zircon does.
#![no_std]
#![forbid(unsafe_code)]

mod calls;
mod loopback;
#[cfg(feature = "sel4")]
mod sel4;
mod typed;

pub use calls::{
    handle_receive, handle_send, vmar_map_frames, zx_guest_create, zx_guest_set_trap,
    zx_handle_close, zx_handle_duplicate, zx_handle_replace, zx_object_get_info, zx_port_create,
    zx_port_queue, zx_port_wait, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick,
    zx_vcpu_read_state, zx_vcpu_write_state, zx_vmar_map, zx_vmar_protect, zx_vmar_unmap,
};
pub use loopback::Loopback;
#[cfg(feature = "sel4")]
pub use sel4::Sel4Transport;
pub use typed::{
    GuestPacket, guest_packet, vcpu_info_flags, vcpu_read_state, vcpu_write_io, vcpu_write_state,
};

pub use caps::Rights;
pub use vcpu_protocol::layout::{PortPacket, VcpuIo, VcpuState};
pub use vcpu_protocol::message::{InfoVcpu, ReceivedHandle};
pub use vcpu_protocol::{HANDLE_INVALID, HandleValue, MSG_MAX_WORDS, Status};

use vcpu_protocol::{Reply, Request, decode_reply};

/// Moves one request to the VCPU server and its reply back.
///
/// Implementations copy words and capabilities only; they never interpret them. The seL4
/// implementation is a `seL4_Call` on the server endpoint; a host fake can decode the words with
/// `Request::decode`, run the server core, and encode its reply with `encode_reply` (this is
/// what [`Loopback`] does).
pub trait Transport {
    /// A capability that travels with a request (on seL4: a CPtr in the caller's CSpace). Only
    /// `zx_vmar_map` sends one: the frame to map.
    type Cap;

    /// Sends the request `words` with message `label` (and `cap`, if any) and waits for the
    /// reply. Writes the reply's words into `reply` and returns how many there are. A length
    /// above [`MSG_MAX_WORDS`] is treated as a malformed reply (`ZX_ERR_INTERNAL`).
    fn call(
        &mut self,
        label: u64,
        words: &[u64],
        cap: Option<Self::Cap>,
        reply: &mut [u64; MSG_MAX_WORDS],
    ) -> usize;

    /// Sends the request `encode` writes into a message buffer (it returns the label and the
    /// length in words) and returns what `decode` makes of the reply's words (an empty slice
    /// for a malformed reply longer than [`MSG_MAX_WORDS`]). The default goes through
    /// [`Transport::call`] with two local buffers; a transport that owns a message buffer
    /// (the seL4 one: the IPC buffer) encodes into it and decodes from it, copying nothing.
    fn call_in_place<R>(
        &mut self,
        encode: impl FnOnce(&mut [u64; MSG_MAX_WORDS]) -> (u64, usize),
        cap: Option<Self::Cap>,
        decode: impl FnOnce(&[u64]) -> R,
    ) -> R {
        let mut words = [0u64; MSG_MAX_WORDS];
        let (label, len) = encode(&mut words);
        let mut reply = [0u64; MSG_MAX_WORDS];
        let n = self.call(label, &words[..len.min(MSG_MAX_WORDS)], cap, &mut reply);
        decode(reply.get(..n).unwrap_or(&[]))
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    type Cap = T::Cap;

    fn call(
        &mut self,
        label: u64,
        words: &[u64],
        cap: Option<Self::Cap>,
        reply: &mut [u64; MSG_MAX_WORDS],
    ) -> usize {
        (**self).call(label, words, cap, reply)
    }

    fn call_in_place<R>(
        &mut self,
        encode: impl FnOnce(&mut [u64; MSG_MAX_WORDS]) -> (u64, usize),
        cap: Option<Self::Cap>,
        decode: impl FnOnce(&[u64]) -> R,
    ) -> R {
        (**self).call_in_place(encode, cap, decode)
    }
}

/// Sends `req` (with `cap`) and decodes the reply for its operation.
fn roundtrip<T: Transport + ?Sized>(t: &mut T, req: &Request<'_>, cap: Option<T::Cap>) -> Reply {
    let encode = |words: &mut [u64; MSG_MAX_WORDS]| {
        let (label, len, _caps) = req.encode(words);
        (label, len)
    };
    t.call_in_place(encode, cap, |reply| decode_reply(req.op(), reply))
}

/// A buffer length as the `u32` sent on the wire (saturating: the server rejects it by size).
fn wire_size(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
