//! The event loop: one endpoint, badges for identity, saved reply capabilities for deferred
//! calls and for faults.
//!
//! Each message is judged by its badge ([`Badge::decode`]):
//! - `Client(sender)`: a request. [`Request::decode`] checks it (a decode error is the reply);
//!   [`Server::handle_request`] answers it. Replies for other, earlier deferred callers
//!   (completions) go out first, each with `Send` on that thread's saved reply capability; then
//!   the caller gets its reply with `ReplyRecv`, or, when deferred, its reply capability is
//!   saved (`CNode_SaveCaller`) in the slot kept for its thread.
//! - `VcpuFault { slot, generation }`: a guest exit, or anything a guest sent through its fault
//!   endpoint with an HVC syscall: the same thing to the server. [`exit::decode`] is total;
//!   [`Server::handle_guest_exit`] saves the reply capability itself (through the backend) and
//!   answers it later. The transport never replies to such a message directly, and drops any
//!   capability that came with it.
//! - `Invalid`: dropped: no reply (the next receive deletes the reply capability) and any
//!   capability that came with it is deleted.
//!
//! Non-MCS rule: every `Recv`/`ReplyRecv` deletes a reply capability that was not saved, so
//! saving happens before the next receive. A client thread with a deferred call is blocked in
//! `Call` and cannot send again unless it was restarted, which also deleted its saved reply
//! capability; the core then drops the old call (`abandon`). Replying through a reply
//! capability whose caller is gone is a no-op.

use sel4::{Cap, MessageInfo, WORD_DEPTH, cap_type};
use vcpu_protocol::{Badge, MSG_MAX_WORDS, Reply, Request, Status, ThreadId, encode_reply};
use vcpu_server::{Completion, Server, exit};

use crate::backend::Sel4Backend;
use crate::frame;

/// Client threads the transport keeps reply slots for (every thread of every client at most).
pub const MAX_THREADS: usize = plan::MAX_CLIENTS * plan::MAX_THREADS;

/// One saved-reply slot per client thread.
pub struct ReplySlots {
    map: heapless::LinearMap<u16, u64, MAX_THREADS>,
}

impl ReplySlots {
    /// No slots.
    pub const fn new() -> Self {
        ReplySlots {
            map: heapless::LinearMap::new(),
        }
    }

    /// The slot of `thread`, allocating one with `alloc` the first time.
    pub fn slot(&mut self, thread: ThreadId, alloc: impl FnOnce() -> Option<u64>) -> Option<u64> {
        if let Some(&s) = self.map.get(&thread.0) {
            return Some(s);
        }
        let s = alloc()?;
        match self.map.insert(thread.0, s) {
            Ok(_) => Some(s),
            Err(_) => None,
        }
    }

    /// The slot of `thread`, if it has one.
    pub fn get(&self, thread: ThreadId) -> Option<u64> {
        self.map.get(&thread.0).copied()
    }
}

/// True if a real capability (not an unwrapped badge) arrived with a message: seL4 inserts at
/// most one, and marks each unwrapped one in `capsUnwrapped`.
pub fn received_cap(info: MessageInfo) -> bool {
    (0..info.extra_caps()).any(|i| info.caps_unwrapped() & (1 << i) == 0)
}

/// The transport state.
pub struct Transport {
    endpoint: Cap<cap_type::Endpoint>,
    rx: u64,
    replies: ReplySlots,
}

impl Transport {
    /// A transport on `endpoint` that receives capabilities into slot `rx`.
    pub const fn new(endpoint: u64, rx: u64) -> Self {
        Transport {
            endpoint: Cap::from_cptr(endpoint),
            rx,
            replies: ReplySlots::new(),
        }
    }

    /// Reserves the reply slot of `thread` now (at start-up, for every planned client thread),
    /// so that deferring its calls never needs a slot later.
    pub fn reserve(&mut self, backend: &mut Sel4Backend, thread: ThreadId) -> bool {
        self.replies
            .slot(thread, || backend.k.slots.alloc())
            .is_some()
    }

    /// Serves forever. Returns only if the backend lost its IPC buffer (it never does after
    /// start-up).
    pub fn run(&mut self, server: &mut Server<Sel4Backend>) {
        let mut reply: Option<MessageInfo> = None;
        let mut words = [0u64; MSG_MAX_WORDS];
        loop {
            let cnode = server.backend_mut().k.cnode();
            let Ok(ipc) = server.backend_mut().k.ipc() else {
                return;
            };
            ipc.set_receive_slot(cnode, self.rx, WORD_DEPTH);
            let (info, badge) = match reply.take() {
                Some(r) => self.endpoint.reply_recv(ipc, r),
                None => self.endpoint.recv(ipc),
            };
            let len = info.length().min(MSG_MAX_WORDS);
            words[..len].copy_from_slice(&ipc.msg()[..len]);
            reply = self.dispatch(server, info, badge, &words[..len]);
        }
    }

    /// Handles one message; returns the reply for the caller, if it gets one now.
    fn dispatch(
        &mut self,
        server: &mut Server<Sel4Backend>,
        info: MessageInfo,
        badge: u64,
        words: &[u64],
    ) -> Option<MessageInfo> {
        let got_cap = received_cap(info);
        match Badge::decode(badge) {
            Badge::Client(sender) => {
                let frame = if got_cap {
                    frame::accept(&mut server.backend_mut().k, self.rx)
                } else {
                    None
                };
                let request = match Request::decode(info.label(), words, info.extra_caps()) {
                    Ok(r) => r,
                    Err(status) => {
                        if let Some(f) = frame {
                            server.backend_mut().k.release_slot(f.slot);
                        }
                        return self.encode(server, &Err(status));
                    }
                };
                let response = server.handle_request(sender, request, frame);
                self.complete(server, response.completions.as_slice());
                match response.outcome {
                    vcpu_server::Outcome::Reply(r) => self.encode(server, &r),
                    vcpu_server::Outcome::Deferred => {
                        self.defer(server, sender.thread);
                        None
                    }
                }
            }
            Badge::VcpuFault { slot, generation } => {
                if got_cap {
                    server.backend_mut().k.clear(self.rx);
                }
                let exit = exit::decode(info.label(), words);
                let completions = server.handle_guest_exit(slot, generation, exit);
                self.complete(server, completions.as_slice());
                None
            }
            Badge::Invalid => {
                if got_cap {
                    server.backend_mut().k.clear(self.rx);
                }
                None
            }
        }
    }

    /// Writes `reply` into the IPC buffer; its tag.
    fn encode(&self, server: &mut Server<Sel4Backend>, reply: &Reply) -> Option<MessageInfo> {
        let ipc = server.backend_mut().k.ipc().ok()?;
        let n = encode_reply(reply, ipc.msg_mut());
        Some(MessageInfo::new(0, 0, 0, n as u64))
    }

    /// Sends each completion on its thread's saved reply capability.
    fn complete(&mut self, server: &mut Server<Sel4Backend>, completions: &[Completion]) {
        for c in completions {
            let Some(slot) = self.replies.get(c.thread) else {
                continue;
            };
            if let Some(info) = self.encode(server, &c.reply) {
                if let Ok(ipc) = server.backend_mut().k.ipc() {
                    Cap::<cap_type::Reply>::from_cptr(slot).send(ipc, info);
                }
            }
        }
    }

    /// Saves the caller's reply capability in its thread's slot. If no slot can be had, the
    /// call is abandoned and answered at once with `ZX_ERR_NO_RESOURCES`.
    fn defer(&mut self, server: &mut Server<Sel4Backend>, thread: ThreadId) {
        let backend = server.backend_mut();
        let slot = self.replies.slot(thread, || backend.k.slots.alloc());
        let saved = slot.is_some_and(|slot| {
            backend.k.clear(slot);
            let cnode = backend.k.cnode();
            backend
                .k
                .ipc()
                .is_ok_and(|ipc| cnode.cnode_save_caller(ipc, slot, WORD_DEPTH).is_ok())
        });
        if !saved {
            crate::warn(format_args!("no reply slot for thread {}", thread.0));
            server.abandon(thread);
            if let Some(info) = self.encode(server, &Err(Status::ERR_NO_RESOURCES)) {
                if let Ok(ipc) = server.backend_mut().k.ipc() {
                    ipc.reply(info);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ReplySlots, received_cap};
    use sel4::MessageInfo;
    use vcpu_protocol::ThreadId;

    #[test]
    fn cap_arrival() {
        assert!(!received_cap(MessageInfo::new(17, 0, 0, 3)));
        assert!(received_cap(MessageInfo::new(17, 0, 1, 3)));
        assert!(
            !received_cap(MessageInfo::new(17, 0b1, 1, 3)),
            "unwrapped badge only"
        );
        assert!(
            received_cap(MessageInfo::new(17, 0b01, 2, 3)),
            "second cap is real"
        );
        assert!(!received_cap(MessageInfo::new(17, 0b11, 2, 3)));
    }

    #[test]
    fn one_slot_per_thread() {
        let mut r = ReplySlots::new();
        let mut next = 100;
        let mut alloc = || {
            next += 1;
            Some(next)
        };
        assert_eq!(r.slot(ThreadId(1), &mut alloc), Some(101));
        assert_eq!(r.slot(ThreadId(1), &mut alloc), Some(101));
        assert_eq!(r.slot(ThreadId(2), &mut alloc), Some(102));
        assert_eq!(r.get(ThreadId(2)), Some(102));
        assert_eq!(r.get(ThreadId(3)), None);
        assert_eq!(r.slot(ThreadId(3), || None), None);
    }
}
