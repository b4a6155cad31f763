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
//!   [`Server::serve_guest_exit`] decides. The reply capability stays the server's caller
//!   meanwhile and is never saved: if the core resumed the guest without touching its
//!   registers, the next `ReplyRecv` answers it; otherwise the guest was suspended (by the
//!   register read, or by `TCB_Suspend` if it stays stopped), the next receive deletes the
//!   capability, and the guest is resumed later by a restart (`TCB_WriteRegisters` with
//!   `resume_target`, or `TCB_Resume`; see `vcpu.rs`). Any capability that came with it is
//!   dropped.
//! - `Invalid`: dropped: no reply (the next receive deletes the reply capability) and any
//!   capability that came with it is deleted.
//!
//! Non-MCS rule: every `Recv`/`ReplyRecv` deletes a reply capability that was not saved, so
//! saving happens before the next receive. A client thread with a deferred call is blocked in
//! `Call` and cannot send again unless it was restarted, which also deleted its saved reply
//! capability; the core then drops the old call (`abandon`). A caller that was suspended or
//! destroyed while its call was deferred loses its saved reply capability the same way (the
//! kernel deletes it): before each completion the transport asks the kernel whether the slot
//! still holds a capability (`DebugCapIdentify`, which prints nothing) and drops the reply
//! quietly if not, instead of a `Send` on an empty slot (which a debug kernel reports as
//! "Attempted to invoke a null cap"). The server already relies on debug syscalls (thread
//! names); the supported kernel is a debug build.

use caps::Operation;
use sel4::{Cap, MessageInfo, WORD_DEPTH, cap_type};
use vcpu_protocol::{
    Badge, LABEL_CLIENT_RESTARTED, LABEL_CLIENT_STOPPED, MSG_MAX_WORDS, Reply, Request, Status,
    ThreadId, encode_reply,
};
use vcpu_server::{Completion, Server, exit};

use crate::alloc::SERVER_POOL;
use crate::backend::{FaultEnd, Sel4Backend};
use crate::frame;

// The core decodes fault labels with its own constants (it does not depend on the seL4
// bindings); they must be the bindings' numbers, which the ABI test checks against the kernel.
const _: () = {
    use exit::label as core;
    use sel4::fault_label as sel4;
    assert!(core::CAP_FAULT == sel4::CAP_FAULT);
    assert!(core::UNKNOWN_SYSCALL == sel4::UNKNOWN_SYSCALL);
    assert!(core::USER_EXCEPTION == sel4::USER_EXCEPTION);
    assert!(core::VM_FAULT == sel4::VM_FAULT);
    assert!(core::VGIC_MAINTENANCE == sel4::VGIC_MAINTENANCE);
    assert!(core::VCPU_FAULT == sel4::VCPU_FAULT);
    assert!(core::VPPI_EVENT == sel4::VPPI_EVENT);
};

/// seL4's `cap_null_cap` type number: what `DebugCapIdentify` answers for an empty slot.
const NULL_CAP: u64 = 0;

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
    /// The clients of the plan (which threads each has), for the supervisor's notices.
    clients: &'static [plan::bootpage::ClientInfo],
    /// The server's part of the boot page (initial handles of a restarted client).
    plan: Option<&'static plan::bootpage::ServerInfo>,
    /// Untyped bytes and slots free once start-up was done: with no object live, the server
    /// must be back there.
    baseline: (u64, u64),
}

impl Transport {
    /// A transport on `endpoint` that receives capabilities into slot `rx`.
    pub const fn new(endpoint: u64, rx: u64) -> Self {
        Transport {
            endpoint: Cap::from_cptr(endpoint),
            rx,
            replies: ReplySlots::new(),
            clients: &[],
            plan: None,
            baseline: (0, 0),
        }
    }

    /// Records the free untyped bytes and slots at the end of start-up.
    pub fn set_baseline(&mut self, free_bytes: u64, free_slots: u64) {
        self.baseline = (free_bytes, free_slots);
    }

    /// The plan's clients (from the boot page), so that a notice that one was stopped can name
    /// its threads.
    pub fn set_clients(&mut self, clients: &'static [plan::bootpage::ClientInfo]) {
        self.clients = clients;
    }

    /// The server's part of the boot page: its clients (see [`Transport::set_clients`]) and
    /// their initial handles, given again to a restarted client.
    pub fn set_plan(&mut self, info: &'static plan::bootpage::ServerInfo) {
        self.set_clients(info.clients());
        self.plan = Some(info);
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
                // The slot of a capability the client sends is charged to the client.
                let backend = server.backend_mut();
                let pool = backend.pool_of(sender.client).unwrap_or(SERVER_POOL);
                let before = backend.k.set_payer(pool);
                let frame = match (got_cap, info.label() == Operation::VmarMapFrames.label()) {
                    (false, _) => None,
                    // A CNode of frames: kept as it is, used only as a copy source.
                    (true, true) => frame::accept_source(&mut backend.k, self.rx),
                    (true, false) => frame::accept(&mut backend.k, self.rx),
                };
                backend.k.set_payer(before);
                let request = match Request::decode(info.label(), words, info.extra_caps()) {
                    Ok(r) => r,
                    Err(status) => {
                        if let Some(f) = frame {
                            server.backend_mut().k.release_slot(f.slot);
                        }
                        return self.encode(server, &Err(status));
                    }
                };
                let outcome = server.serve_request(sender, request, frame);
                self.complete(server);
                match outcome {
                    vcpu_server::Outcome::Reply(r) => {
                        match server.backend_mut().take_saved_caller() {
                            // A GIC-enable step moved the caller's reply capability.
                            Some(slot) => {
                                let info = self.encode(server, &r)?;
                                let ipc = server.backend_mut().k.ipc().ok()?;
                                // Only a debug kernel can tell an empty slot (and only it
                                // prints a warning for one); elsewhere the Send on an empty
                                // slot does nothing.
                                if !sel4::CONFIG.debug || ipc.debug_cap_identify(slot) != NULL_CAP {
                                    Cap::<cap_type::Reply>::from_cptr(slot).send(ipc, info);
                                }
                                None
                            }
                            None => self.encode(server, &r),
                        }
                    }
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
                server.serve_guest_exit(slot, generation, exit);
                self.complete(server);
                let backend = server.backend_mut();
                match backend.end_fault() {
                    FaultEnd::Reply => Some(MessageInfo::new(0, 0, 0, 0)),
                    FaultEnd::Nothing => None,
                }
            }
            Badge::Supervisor => {
                if got_cap {
                    server.backend_mut().k.clear(self.rx);
                }
                match (info.label(), words.first()) {
                    (LABEL_CLIENT_STOPPED, Some(&id)) => self.client_stopped(server, id),
                    (LABEL_CLIENT_RESTARTED, Some(&id)) => self.client_restarted(server, id),
                    _ => {}
                }
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

    /// The root task stopped client `id`: the core releases everything it held; the saved reply
    /// capabilities of its threads are deleted (nobody will answer them). Not inlined: `dispatch`
    /// already holds large replies on the stack.
    #[inline(never)]
    fn client_stopped(&mut self, server: &mut Server<Sel4Backend>, id: u64) {
        let Some(info) = self.clients.iter().find(|c| u64::from(c.client_id) == id) else {
            return;
        };
        let threads: heapless::Vec<ThreadId, { plan::MAX_THREADS }> =
            info.thread_ids().iter().map(|&t| ThreadId(t)).collect();
        if server
            .client_stopped(vcpu_protocol::ClientId(info.client_id), &threads)
            .is_err()
        {
            return;
        }
        self.complete(server);
        for t in &threads {
            if let Some(slot) = self.replies.get(*t) {
                server.backend_mut().k.clear(slot);
            }
        }
        let client = vcpu_protocol::ClientId(info.client_id);
        let left = server.quota(client).map(|(_, u)| u).unwrap_or_default();
        let b = server.backend();
        let (mine, pool) = b.client_memory(client);
        let held = b.pool_of(client).map_or(0, |p| b.k.slots.held_by(p));
        let k = &b.k;
        let (free, total, slots) = (
            k.untyped.free_bytes() / 1024,
            k.untyped.total_bytes() / 1024,
            k.slots.free_count(),
        );
        if left == vcpu_server::Usage::default() {
            // Nothing of it survives: all its memory and slots must be back.
            let verdict = if mine == pool && held == 0 {
                "PASS"
            } else {
                "FAIL"
            };
            sel4_runtime::debug_println!(
                "{verdict} vcpu-server.client-stopped client {id}: everything it held is \
                 released; its memory {}/{} KiB free, {held} slots held; \
                 {free}/{total} KiB untyped free in all, {slots} free slots",
                mine / 1024,
                pool / 1024
            );
        } else {
            crate::warn(format_args!(
                "client {id} stopped: its handles are closed; objects other clients hold stay, \
                 charged to it ({left:?}); {free}/{total} KiB untyped free, {slots} free slots"
            ));
        }
        let live = vcpu_server::ObjectCounts {
            resources: 0,
            ..server.object_counts()
        };
        if live == vcpu_server::ObjectCounts::default() {
            // Nothing lives in the server now: its memory and slots must be as at start-up
            // (resources do not count: they are handles only).
            let k = &server.backend().k;
            let now = (k.untyped.free_bytes(), k.slots.free_count());
            let verdict = if now == self.baseline { "PASS" } else { "FAIL" };
            sel4_runtime::debug_println!(
                "{verdict} vcpu-server.no-trace after client {id} stopped: no object live, \
                 {} KiB untyped free and {} free slots (at start-up: {} KiB, {} slots)",
                now.0 / 1024,
                now.1,
                self.baseline.0 / 1024,
                self.baseline.1
            );
        }
    }

    /// The root task is about to start a new instance of stopped client `id`: the core makes it
    /// a fresh client and its initial handles are installed again, with the values the plan
    /// told it. Not inlined, as [`Transport::client_stopped`].
    #[inline(never)]
    fn client_restarted(&mut self, server: &mut Server<Sel4Backend>, id: u64) {
        let Ok(id) = u16::try_from(id) else { return };
        let client = vcpu_protocol::ClientId(id);
        if let Err(s) = server.client_restarted(client) {
            crate::warn(format_args!("client {id} cannot restart: {s:?}"));
            return;
        }
        let granted = match self.plan {
            Some(info) => crate::boot::install_grants(server, info, Some(client)),
            None => Ok(0),
        };
        let (free, total) = server.backend().client_memory(client);
        let slots = server.backend().k.slots.free_count();
        match granted {
            Ok(n) => sel4_runtime::debug_println!(
                "vcpu-server: client {id} restarted: {n} initial handles; its memory {}/{} KiB \
                 free; {}/{} KiB untyped free in all, {slots} free slots",
                free / 1024,
                total / 1024,
                server.backend().k.untyped.free_bytes() / 1024,
                server.backend().k.untyped.total_bytes() / 1024,
            ),
            Err(e) => crate::warn(format_args!(
                "client {id} restarted without its handles: {e}"
            )),
        }
    }

    /// Writes `reply` into the IPC buffer; its tag.
    fn encode(&self, server: &mut Server<Sel4Backend>, reply: &Reply) -> Option<MessageInfo> {
        let ipc = server.backend_mut().k.ipc().ok()?;
        let n = encode_reply(reply, ipc.msg_mut());
        Some(MessageInfo::new(0, 0, 0, n as u64))
    }

    /// Sends each completion on its thread's saved reply capability; a completion whose
    /// capability the kernel already deleted (the caller was suspended or destroyed) is dropped.
    fn complete(&mut self, server: &mut Server<Sel4Backend>) {
        let replies = &self.replies;
        server.deliver_completions(|backend, c: &Completion| {
            let Some(slot) = replies.get(c.thread) else {
                return;
            };
            if let Ok(ipc) = backend.k.ipc() {
                // Skips the kernel's null-cap warning on debug kernels; a release kernel has no
                // DebugCapIdentify, and its Send on an empty slot silently does nothing.
                if sel4::CONFIG.debug && ipc.debug_cap_identify(slot) == NULL_CAP {
                    return;
                }
                let n = encode_reply(&c.reply, ipc.msg_mut());
                let info = MessageInfo::new(0, 0, 0, n as u64);
                Cap::<cap_type::Reply>::from_cptr(slot).send(ipc, info);
            }
        });
    }

    /// Saves the caller's reply capability in its thread's slot. If no slot can be had, the
    /// call is abandoned and answered at once with `ZX_ERR_NO_RESOURCES`.
    fn defer(&mut self, server: &mut Server<Sel4Backend>, thread: ThreadId) {
        let backend = server.backend_mut();
        let slot = self.replies.slot(thread, || backend.k.slots.alloc());
        let saved = slot.is_some_and(|slot| crate::vcpu::save_caller(&mut backend.k, slot));
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
    use super::{ReplySlots, Transport, received_cap};
    use crate::backend::Sel4Backend;
    use crate::fake::{self, label};
    use caps::{Operation, Rights};
    use sel4::{InvocationLabel as L, MessageInfo};
    use std::boxed::Box;
    use vcpu_protocol::layout::{RSRC_KIND_SYSTEM, RSRC_SYSTEM_HYPERVISOR_BASE};
    use vcpu_protocol::message::{HandleReq, VcpuStateReq};
    use vcpu_protocol::{
        Badge, ClientId, MSG_MAX_WORDS, Request, Sender, Status, ThreadId, decode_reply,
    };
    use vcpu_server::Server;

    const RX: u64 = 90;
    const SENDER: Sender = Sender {
        client: ClientId(1),
        thread: ThreadId(1),
    };

    fn server() -> Box<Server<Sel4Backend>> {
        let mut s = crate::fake::server();
        s.backend_mut().k = fake::objects();
        s.add_client(ClientId(1)).unwrap();
        // Its memory: 16 cells.
        let pool = s.backend_mut().new_pool(ClientId(1)).unwrap();
        fake::add_pool(&mut s.backend_mut().k, pool, 16);
        s
    }

    /// Sends `req` from [`SENDER`] through `dispatch`; the decoded reply, if any.
    fn call(
        t: &mut Transport,
        s: &mut Server<Sel4Backend>,
        req: &Request<'_>,
        caps: u64,
    ) -> Option<vcpu_protocol::Reply> {
        let mut words = [0u64; MSG_MAX_WORDS];
        let (op, len, _) = req.encode(&mut words);
        let info = MessageInfo::new(op, 0, caps, len as u64);
        let badge = Badge::Client(SENDER).encode();
        let reply = t.dispatch(s, info, badge, &words[..len])?;
        let ipc = s.backend_mut().k.ipc().unwrap();
        let op = Operation::from_label(op).unwrap();
        Some(decode_reply(op, &ipc.msg()[..reply.length()]))
    }

    #[test]
    fn client_requests_are_answered() {
        fake::install(None);
        let mut s = server();
        let mut t = Transport::new(4, RX);
        let read = Request::VcpuReadState(VcpuStateReq {
            vcpu: 0x7,
            kind: 0,
            buffer_size: 0,
            reserved: 0,
        });
        assert_eq!(
            call(&mut t, &mut s, &read, 0),
            Some(Err(Status::ERR_BAD_HANDLE))
        );
        // A request the protocol refuses (a capability where none belongs) is answered with
        // the decode status, and the capability is deleted.
        let close = Request::HandleClose(HandleReq {
            handle: 0x7,
            reserved: 0,
        });
        assert_eq!(
            call(&mut t, &mut s, &close, 1),
            Some(Err(Status::ERR_INVALID_ARGS))
        );
        let calls = fake::take();
        assert_eq!(
            calls[0].label,
            label(L::CNodeMutate),
            "moved out of the receive slot"
        );
        assert_eq!(calls.last().unwrap().label, label(L::CNodeDelete));
        // An unknown label.
        let ipc = s.backend_mut().k.ipc().unwrap();
        ipc.msg_mut()[0] = 0;
        let badge = Badge::Client(SENDER).encode();
        let r = t.dispatch(&mut s, MessageInfo::new(99, 0, 0, 0), badge, &[]);
        assert_eq!(r.map(|i| i.length()), Some(1));
        let ipc = s.backend_mut().k.ipc().unwrap();
        assert_eq!(
            ipc.msg()[0] as i64,
            i64::from(Status::ERR_BAD_SYSCALL.into_raw())
        );
    }

    #[test]
    fn foreign_and_stale_messages_get_nothing() {
        fake::install(None);
        let mut s = server();
        let mut t = Transport::new(4, RX);
        let fault = Badge::VcpuFault {
            slot: 3,
            generation: 1,
        }
        .encode();
        let vm_fault = MessageInfo::new(5, 0, 0, 4);
        assert_eq!(t.dispatch(&mut s, vm_fault, fault, &[0, 0, 0, 0]), None);
        assert!(fake::take().is_empty(), "no VCPU: no kernel calls");
        // An unknown badge with a capability: no reply, the capability deleted.
        let with_cap = MessageInfo::new(1, 0, 1, 0);
        assert_eq!(t.dispatch(&mut s, with_cap, 0x1234, &[]), None);
        let calls = fake::take();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].label, &calls[0].words[..]),
            (label(L::CNodeDelete), &[RX, 64][..])
        );
        // A guest cannot hand over a capability either.
        assert_eq!(
            t.dispatch(&mut s, MessageInfo::new(7, 0, 1, 1), fault, &[0]),
            None
        );
        assert_eq!(fake::take()[0].words, [RX, 64]);
    }

    #[test]
    fn deferred_enter_is_completed_on_the_saved_reply() {
        use sel4::Syscall;
        use vcpu_protocol::ReplyPayload;
        use vcpu_protocol::message::{GuestCreateReq, VcpuCreateReq};

        /// The guest's registers read as pc 0x8000, all others 0.
        fn registers(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
            if c.label != L::TCBReadRegisters.value() {
                return (0, std::vec![]);
            }
            let mut words = std::vec![0; c.words[1] as usize];
            words[0] = 0x8000;
            (0, words)
        }
        fake::install(Some(registers));
        let mut s = server();
        let res = s
            .grant_resource(ClientId(1), RSRC_KIND_SYSTEM, 0, 1, Rights::INSPECT)
            .unwrap();
        let mut t = Transport::new(4, RX);
        assert!(t.reserve(s.backend_mut(), ThreadId(1)));
        let reply_slot = t.replies.get(ThreadId(1)).unwrap();
        let create = Request::GuestCreate(GuestCreateReq {
            resource: res,
            options: 0,
        });
        let Some(Ok(ReplyPayload::GuestCreate(g))) = call(&mut t, &mut s, &create, 0) else {
            panic!("guest_create failed");
        };
        let vcreate = Request::VcpuCreate(VcpuCreateReq {
            guest: g.guest,
            options: 0,
            entry: 0x1000,
        });
        let Some(Ok(ReplyPayload::Handle(v))) = call(&mut t, &mut s, &vcreate, 0) else {
            panic!("vcpu_create failed");
        };
        fake::take_all();
        let enter = Request::VcpuEnter(HandleReq {
            handle: v.handle,
            reserved: 0,
        });
        assert_eq!(
            call(&mut t, &mut s, &enter, 0),
            None,
            "deferred: no reply now"
        );
        let calls = fake::take();
        let labels: std::vec::Vec<u64> = calls.iter().map(|c| c.label).collect();
        assert_eq!(
            labels,
            [L::TCBResume, L::CNodeSaveCaller].map(label),
            "started, then the caller saved"
        );
        assert_eq!(calls[1].words, [reply_slot, 64]);
        // The guest's HVC (UnknownSyscall, 13 words) ends the enter with NOT_SUPPORTED.
        let exit = Badge::VcpuFault {
            slot: 0,
            generation: 1,
        }
        .encode();
        let words = [0u64; 13];
        assert_eq!(
            t.dispatch(&mut s, MessageInfo::new(2, 0, 0, 13), exit, &words),
            None,
            "the guest stays stopped: nothing to answer"
        );
        let all = fake::take_all();
        let sys: std::vec::Vec<Syscall> = all.iter().map(|c| c.sys).collect();
        assert_eq!(
            sys,
            [Syscall::Call, Syscall::DebugCapIdentify, Syscall::Send],
            "{all:?}"
        );
        // pc += 4 reads the pc and suspends the guest in the same invocation, as it stays
        // stopped: whatever it did, it is stopped; its fault's reply capability is never saved.
        assert_eq!(
            (all[0].label, &all[0].words[..]),
            (label(L::TCBReadRegisters), &[1, 1][..]),
            "suspend_source, one register"
        );
        assert_eq!(all[2].cptr, reply_slot, "sent on the thread's saved reply");
        assert_eq!(
            all[2].words,
            [i64::from(Status::ERR_NOT_SUPPORTED.into_raw()) as u64]
        );
        // The next enter makes the owed pc write and restarts the guest in one invocation.
        assert_eq!(call(&mut t, &mut s, &enter, 0), None);
        let calls = fake::take();
        assert_eq!(
            (calls[0].label, &calls[0].words[..]),
            (label(L::TCBWriteRegisters), &[1, 1, 0x8004][..]),
            "resume_target; pc + 4"
        );
        assert_eq!(calls[1].label, label(L::CNodeSaveCaller));
        // An exit the core ends without touching registers (a CapFault message, e.g. one the
        // guest sent without blocking): the guest is suspended, as it stays stopped.
        assert_eq!(
            t.dispatch(&mut s, MessageInfo::new(1, 0, 0, 4), exit, &[0; 4]),
            None
        );
        let labels: std::vec::Vec<u64> = fake::take().iter().map(|c| c.label).collect();
        assert_eq!(labels, [label(L::TCBSuspend)]);
        // Nothing owed: the next enter is a plain TCB_Resume.
        assert_eq!(call(&mut t, &mut s, &enter, 0), None);
        assert_eq!(fake::take()[0].label, label(L::TCBResume));
        // A VGIC maintenance exit resumes the guest without touching registers: answered by the
        // next ReplyRecv, no invocation.
        let maintenance = MessageInfo::new(sel4::fault_label::VGIC_MAINTENANCE, 0, 0, 1);
        assert_eq!(
            t.dispatch(&mut s, maintenance, exit, &[u64::MAX])
                .map(|i| i.length()),
            Some(0)
        );
        assert!(fake::take_all().is_empty());
        // A WFE exit resumes the guest after pc += 4: the pc is read and written without
        // suspending or resuming the guest, and the next ReplyRecv answers its fault.
        let wfe = MessageInfo::new(sel4::fault_label::VCPU_FAULT, 0, 0, 1);
        let esr = (0x01u64 << 26) | 1;
        assert_eq!(
            t.dispatch(&mut s, wfe, exit, &[esr]).map(|i| i.length()),
            Some(0)
        );
        let calls: std::vec::Vec<(u64, std::vec::Vec<u64>)> = fake::take()
            .iter()
            .map(|c| (c.label, c.words.clone()))
            .collect();
        assert_eq!(
            calls,
            [
                (label(L::TCBReadRegisters), std::vec![0, 1]),
                (label(L::TCBWriteRegisters), std::vec![0, 1, 0x8004])
            ]
        );
    }

    #[test]
    fn a_reply_for_a_vanished_caller_is_dropped() {
        use sel4::Syscall;
        use vcpu_protocol::message::PortWaitReq;
        use vcpu_protocol::{ReplyPayload, layout::TIME_INFINITE};

        fake::install(None);
        let mut s = server();
        let mut t = Transport::new(4, RX);
        assert!(t.reserve(s.backend_mut(), ThreadId(1)));
        assert!(t.reserve(s.backend_mut(), ThreadId(2)));
        let Some(Ok(ReplyPayload::Handle(port))) = call(
            &mut t,
            &mut s,
            &Request::PortCreate(vcpu_protocol::message::PortCreateReq {
                options: 0,
                reserved: 0,
            }),
            0,
        ) else {
            panic!("port_create failed");
        };
        // Thread 2 blocks in port_wait; its reply capability is saved.
        let wait = Request::PortWait(PortWaitReq {
            port: port.handle,
            reserved: 0,
            deadline: TIME_INFINITE,
        });
        let mut words = [0u64; MSG_MAX_WORDS];
        let (op, len, _) = wait.encode(&mut words);
        let other = Badge::Client(Sender {
            client: ClientId(1),
            thread: ThreadId(2),
        })
        .encode();
        let info = MessageInfo::new(op, 0, 0, len as u64);
        assert_eq!(t.dispatch(&mut s, info, other, &words[..len]), None);
        let slot = t.replies.get(ThreadId(2)).unwrap();
        // The thread is suspended meanwhile: the kernel deleted the saved capability.
        fake::set_empty(slot);
        fake::take_all();
        let queue = Request::PortQueue(vcpu_protocol::message::PortQueueReq {
            port: port.handle,
            reserved: 0,
            packet: vcpu_protocol::layout::PortPacket {
                key: 1,
                packet_type: 0,
                status: 0,
                payload: [0; 32],
            },
        });
        assert_eq!(
            call(&mut t, &mut s, &queue, 0),
            Some(Ok(ReplyPayload::Empty))
        );
        let all = fake::take_all();
        assert!(
            all.iter()
                .any(|c| c.sys == Syscall::DebugCapIdentify && c.cptr == slot),
            "the slot was checked"
        );
        assert!(
            !all.iter().any(|c| c.sys == Syscall::Send),
            "no send on the empty slot: {all:?}"
        );
    }

    #[test]
    fn guest_create_reaches_the_backend() {
        fake::install(None);
        let mut s = server();
        let h = s
            .grant_resource(
                ClientId(1),
                RSRC_KIND_SYSTEM,
                RSRC_SYSTEM_HYPERVISOR_BASE,
                1,
                Rights::INSPECT,
            )
            .unwrap();
        let mut t = Transport::new(4, RX);
        let req = Request::GuestCreate(vcpu_protocol::message::GuestCreateReq {
            resource: h,
            options: 0,
        });
        let reply = call(&mut t, &mut s, &req, 0);
        assert!(matches!(reply, Some(Ok(_))), "{reply:?}");
        let labels: std::vec::Vec<u64> = fake::take().iter().map(|c| c.label).collect();
        assert_eq!(
            labels,
            [label(L::UntypedRetype), label(L::ARMASIDPoolAssign)]
        );
        assert_eq!(s.object_counts().guests, 1);
    }

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
