//! [`Loopback`]: a [`Transport`] that runs a request handler in the same address space, through
//! the real encode/decode path. Host tests use it to drive a server core with the client API.

use core::marker::PhantomData;

use vcpu_protocol::{MSG_MAX_WORDS, Reply, Request, encode_reply};

use crate::Transport;

/// A transport that decodes each request with `Request::decode` (exactly as the server does),
/// passes it and the capability to `handler`, and encodes the handler's reply with
/// `encode_reply`. A request the decoder refuses is answered with the decoder's status without
/// calling the handler.
pub struct Loopback<C, F> {
    handler: F,
    cap: PhantomData<fn(C)>,
}

impl<C, F> Loopback<C, F>
where
    F: FnMut(Request<'_>, Option<C>) -> Reply,
{
    /// A loopback transport around `handler`.
    pub fn new(handler: F) -> Self {
        Loopback {
            handler,
            cap: PhantomData,
        }
    }

    /// The handler (e.g. to inspect a fake server's state).
    pub fn handler_mut(&mut self) -> &mut F {
        &mut self.handler
    }
}

impl<C, F> Transport for Loopback<C, F>
where
    F: FnMut(Request<'_>, Option<C>) -> Reply,
{
    type Cap = C;

    fn call(
        &mut self,
        label: u64,
        words: &[u64],
        cap: Option<C>,
        reply: &mut [u64; MSG_MAX_WORDS],
    ) -> usize {
        let caps = usize::from(cap.is_some());
        let answer = match Request::decode(label, words, caps) {
            Ok(req) => (self.handler)(req, cap),
            Err(status) => Err(status),
        };
        encode_reply(&answer, reply)
    }
}
