//! Shared test harness: the fake backend, request builders, and a `World` that drives a
//! server with a few clients.
#![allow(dead_code, unused_imports)]

pub mod fake;

use caps::Rights;
use vcpu_protocol::layout::{
    GUEST_TRAP_BELL, GUEST_TRAP_MEM, PacketGuestBell, PacketGuestMem, PacketGuestVcpu, PortPacket,
    RSRC_KIND_SYSTEM, TIME_INFINITE, VCPU_STATE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC,
    VcpuState,
};
use vcpu_protocol::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReq, HandleRightsReq, HandleSendReq, ObjectGetInfoReq,
    PortCreateReq, PortWaitReq, Request, VcpuCreateReq, VcpuInterruptReq, VcpuStateReq, VmarMapReq,
};
use vcpu_protocol::{Reply, ReplyPayload};
use vcpu_server::exit::GuestExit;
use vcpu_server::{
    ClientId, Completion, Completions, HandleValue, Outcome, Response, Sender, Server, Status,
    ThreadId,
};
use zerocopy::FromBytes;

pub use fake::{Call, FakeBackend, FakeFrame, FakeRun, Op};

pub const A: ClientId = ClientId(1);
pub const B: ClientId = ClientId(2);
pub const C: ClientId = ClientId(3);
/// A client the server never heard of.
pub const STRANGER: ClientId = ClientId(77);

/// The sender for thread `thread` of `client`.
pub const fn t(client: ClientId, thread: u16) -> Sender {
    Sender {
        client,
        thread: ThreadId(thread),
    }
}

/// Main threads of A, B, C.
pub const A1: Sender = t(A, 1);
pub const A2: Sender = t(A, 2);
pub const A3: Sender = t(A, 3);
pub const B1: Sender = t(B, 11);
pub const C1: Sender = t(C, 21);

pub const PAGE: u64 = 4096;

// ---- request builders ----------------------------------------------------------------------

pub fn guest_create(resource: HandleValue, options: u32) -> Request<'static> {
    Request::GuestCreate(GuestCreateReq { resource, options })
}
pub fn set_trap(
    guest: HandleValue,
    kind: u32,
    addr: u64,
    size: u64,
    port: HandleValue,
    key: u64,
) -> Request<'static> {
    Request::GuestSetTrap(GuestSetTrapReq {
        guest,
        kind,
        addr,
        size,
        port,
        reserved: 0,
        key,
    })
}
pub fn vcpu_create(guest: HandleValue, options: u32, entry: u64) -> Request<'static> {
    Request::VcpuCreate(VcpuCreateReq {
        guest,
        options,
        entry,
    })
}
fn handle_req(handle: HandleValue) -> HandleReq {
    HandleReq {
        handle,
        reserved: 0,
    }
}
pub fn enter(h: HandleValue) -> Request<'static> {
    Request::VcpuEnter(handle_req(h))
}
pub fn kick(h: HandleValue) -> Request<'static> {
    Request::VcpuKick(handle_req(h))
}
pub fn close(h: HandleValue) -> Request<'static> {
    Request::HandleClose(handle_req(h))
}
pub fn interrupt(vcpu: HandleValue, vector: u32) -> Request<'static> {
    Request::VcpuInterrupt(VcpuInterruptReq { vcpu, vector })
}
pub fn state_req(vcpu: HandleValue, kind: u32, buffer_size: u32) -> VcpuStateReq {
    VcpuStateReq {
        vcpu,
        kind,
        buffer_size,
        reserved: 0,
    }
}
pub fn read_state(vcpu: HandleValue) -> Request<'static> {
    Request::VcpuReadState(state_req(vcpu, VCPU_STATE, 264))
}
pub fn write_state<'a>(vcpu: HandleValue, buf: &'a [u8]) -> Request<'a> {
    Request::VcpuWriteState(state_req(vcpu, VCPU_STATE, buf.len() as u32), buf)
}
pub fn get_info(handle: HandleValue, topic: u32, buffer_size: u32) -> Request<'static> {
    Request::ObjectGetInfo(ObjectGetInfoReq {
        handle,
        topic,
        buffer_size,
        reserved: 0,
    })
}
pub fn duplicate(handle: HandleValue, rights: Rights) -> Request<'static> {
    Request::HandleDuplicate(HandleRightsReq {
        handle,
        rights: rights.bits(),
    })
}
pub fn replace(handle: HandleValue, rights: Rights) -> Request<'static> {
    Request::HandleReplace(HandleRightsReq {
        handle,
        rights: rights.bits(),
    })
}
pub fn send(handle: HandleValue, to: ClientId) -> Request<'static> {
    Request::HandleSend(HandleSendReq {
        handle,
        to_client: u32::from(to.0),
    })
}
pub fn port_create(options: u32) -> Request<'static> {
    Request::PortCreate(PortCreateReq {
        options,
        reserved: 0,
    })
}
pub fn port_wait(port: HandleValue, deadline: i64) -> Request<'static> {
    Request::PortWait(PortWaitReq {
        port,
        reserved: 0,
        deadline,
    })
}
pub fn vmar_map(vmar: HandleValue, options: u32, offset: u64, len: u64) -> Request<'static> {
    Request::VmarMap(VmarMapReq {
        vmar,
        options,
        vmar_offset: offset,
        len,
    })
}
pub fn port_queue(port: HandleValue, packet: PortPacket) -> Request<'static> {
    Request::PortQueue(vcpu_protocol::message::PortQueueReq {
        port,
        reserved: 0,
        packet,
    })
}
pub fn vmar_unmap(vmar: HandleValue, addr: u64, len: u64) -> Request<'static> {
    Request::VmarUnmap(vcpu_protocol::message::VmarUnmapReq {
        vmar,
        reserved: 0,
        addr,
        len,
    })
}
pub fn vmar_protect(vmar: HandleValue, options: u32, addr: u64, len: u64) -> Request<'static> {
    Request::VmarProtect(vcpu_protocol::message::VmarProtectReq {
        vmar,
        options,
        addr,
        len,
    })
}
/// A user packet with `key`, a type the server must overwrite, status -5 and payload bytes
/// 1..=32.
pub fn user_packet(key: u64) -> PortPacket {
    let mut payload = [0u8; 32];
    for (i, b) in payload.iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    PortPacket {
        key,
        packet_type: 0x77,
        status: -5,
        payload,
    }
}

/// Options of an ordinary RW mapping.
pub const RW_SPECIFIC: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_SPECIFIC;

// ---- packet decoding -------------------------------------------------------------------------

pub fn mem_of(p: &PortPacket) -> PacketGuestMem {
    PacketGuestMem::read_from_bytes(&p.payload).unwrap()
}
pub fn bell_of(p: &PortPacket) -> PacketGuestBell {
    PacketGuestBell::read_from_bytes(&p.payload).unwrap()
}
pub fn vcpu_of(p: &PortPacket) -> PacketGuestVcpu {
    PacketGuestVcpu::read_from_bytes(&p.payload).unwrap()
}

// ---- the world ---------------------------------------------------------------------------------

/// A server with clients A, B and C; A holds the hypervisor resource.
pub struct World {
    pub s: Box<Server<FakeBackend>>,
    /// A's hypervisor resource handle.
    pub rsrc: HandleValue,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        World::with_limits(vcpu_server::Limits::DEFAULT, vcpu_server::Limits::DEFAULT)
    }

    /// A world where A has `a` and B and C have `others` as limits.
    pub fn with_limits(a: vcpu_server::Limits, others: vcpu_server::Limits) -> World {
        let mut s = Box::new(Server::new(FakeBackend::default()));
        s.add_client_with(A, a).unwrap();
        for c in [B, C] {
            s.add_client_with(c, others).unwrap();
        }
        // Each client's memory covers exactly what its limits allow (the manifest's default).
        for (c, l) in [(A, a), (B, others), (C, others)] {
            let bytes = u64::from(l.guests) * FakeBackend::GUEST_BYTES
                + u64::from(l.vcpus) * FakeBackend::VCPU_BYTES;
            s.backend_mut().give_memory(c, bytes);
        }
        // A, B and C may send handles to each other (as a manifest would declare).
        for from in [A, B, C] {
            for to in [A, B, C] {
                s.allow_send(from, to).unwrap();
            }
        }
        let rights = caps::ObjType::Resource.default_rights();
        let rsrc = s.grant_resource(A, RSRC_KIND_SYSTEM, 0, 1, rights).unwrap();
        World { s, rsrc }
    }

    /// `client`'s limit of `kind`.
    pub fn limit(&self, client: vcpu_server::ClientId, kind: vcpu_server::Kind) -> usize {
        usize::from(self.s.quota(client).unwrap().0.of(kind))
    }

    pub fn fake(&mut self) -> &mut FakeBackend {
        self.s.backend_mut()
    }

    /// One request without a frame; checks the invariants afterwards.
    pub fn call(&mut self, who: Sender, req: Request<'_>) -> Response {
        let r = self.s.handle_request(who, req, None);
        self.s.check_invariants().unwrap();
        r
    }

    /// One request with a frame.
    pub fn call_frame(&mut self, who: Sender, req: Request<'_>, frame: FakeFrame) -> Response {
        let r = self.s.handle_request(who, req, Some(frame));
        self.s.check_invariants().unwrap();
        r
    }

    /// A request that must be answered at once and complete nobody else.
    pub fn reply(&mut self, who: Sender, req: Request<'_>) -> Reply {
        let r = self.call(who, req);
        assert!(
            r.completions.is_empty(),
            "unexpected completions {:?}",
            r.completions
        );
        match r.outcome {
            Outcome::Reply(reply) => reply,
            Outcome::Deferred => panic!("deferred"),
        }
    }

    /// The status of an immediate reply.
    pub fn status(&mut self, who: Sender, req: Request<'_>) -> Status {
        match self.reply(who, req) {
            Ok(_) => Status::OK,
            Err(s) => s,
        }
    }

    pub fn ok(&mut self, who: Sender, req: Request<'_>) -> ReplyPayload {
        self.reply(who, req).expect("request failed")
    }

    pub fn handle(&mut self, who: Sender, req: Request<'_>) -> HandleValue {
        match self.ok(who, req) {
            ReplyPayload::Handle(h) => h.handle,
            other => panic!("not a handle reply: {other:?}"),
        }
    }

    /// A new guest of `who` (via A's resource, which `who` must hold: only A does).
    pub fn guest(&mut self) -> (HandleValue, HandleValue) {
        match self.ok(A1, guest_create(self.rsrc, 0)) {
            ReplyPayload::GuestCreate(g) => (g.guest, g.vmar),
            other => panic!("{other:?}"),
        }
    }

    /// A VCPU of `guest` owned by `who`; returns its handle and the fake's id.
    pub fn vcpu(&mut self, who: Sender, guest: HandleValue, entry: u64) -> (HandleValue, u32) {
        let h = self.handle(who, vcpu_create(guest, 0, entry));
        let id = self.fake().vcpus.len() as u32 - 1;
        (h, id)
    }

    pub fn port(&mut self, who: Sender) -> HandleValue {
        self.handle(who, port_create(0))
    }

    /// `vcpu_enter` that must defer.
    pub fn enter_deferred(&mut self, who: Sender, h: HandleValue) {
        let r = self.call(who, enter(h));
        assert_eq!(r.outcome, Outcome::Deferred, "enter did not defer");
        assert!(r.completions.is_empty());
    }

    /// The guest of fake VCPU `id` exits with `exit`; returns the completions.
    pub fn exit(&mut self, id: u32, exit: GuestExit) -> Completions {
        self.fake().guest_faults(id);
        let key = self.fake().vcpus[id as usize].key;
        let c = self.s.handle_guest_exit(key.slot, key.generation, exit);
        self.s.check_invariants().unwrap();
        c
    }

    /// The running guest of fake VCPU `id` *sends* `exit` through its fault endpoint (HVC
    /// `Send`) and runs on; returns the completions.
    pub fn forged_exit(&mut self, id: u32, exit: GuestExit) -> Completions {
        self.fake().sending = Some(id);
        let key = self.fake().vcpus[id as usize].key;
        let c = self.s.handle_guest_exit(key.slot, key.generation, exit);
        self.fake().sending = None;
        self.s.check_invariants().unwrap();
        c
    }

    /// Like [`World::exit`], expecting exactly one completion for `who`; returns its reply.
    pub fn exit_completes(&mut self, id: u32, exit: GuestExit, who: Sender) -> Reply {
        let c = self.exit(id, exit);
        assert_eq!(c.len(), 1, "completions {c:?}");
        let Completion { thread, reply } = c.as_slice()[0];
        assert_eq!(thread, who.thread);
        reply
    }

    /// Like [`World::exit`], expecting the guest to be resumed with no completion.
    pub fn exit_resumes(&mut self, id: u32, exit: GuestExit) {
        let c = self.exit(id, exit);
        assert!(c.is_empty(), "completions {c:?}");
        assert_eq!(self.fake().vcpus[id as usize].run, FakeRun::Running);
    }

    /// The guest EOIs LR `lr` and the kernel reports the maintenance fault.
    pub fn maintenance(&mut self, id: u32, lr: usize) -> Completions {
        self.fake().guest_eois(id, lr);
        self.exit(id, GuestExit::Maintenance { lr: Some(lr as u8) })
    }

    /// Reads the VCPU state through the server.
    pub fn state(&mut self, who: Sender, h: HandleValue) -> VcpuState {
        match self.ok(who, read_state(h)) {
            ReplyPayload::State(s) => s,
            other => panic!("{other:?}"),
        }
    }

    /// Asserts the fake saw no contract violation and no frame leaked: every live frame is
    /// mapped.
    pub fn assert_clean(&mut self) {
        for c in [A, B, C] {
            // Each client's memory pays exactly for the objects the core charges to it.
            let u = self.s.quota(c).map(|q| q.1).unwrap_or_default();
            let charged = u64::from(u.guests) * FakeBackend::GUEST_BYTES
                + u64::from(u.vcpus) * FakeBackend::VCPU_BYTES;
            assert_eq!(self.fake().memory_used(c), charged, "memory of {c:?}");
        }
        let f = self.fake();
        assert!(f.violations.is_empty(), "violations: {:?}", f.violations);
        for id in &f.frames_alive {
            assert!(f.mapped.contains_key(id), "frame {id} leaked");
        }
    }

    /// A MEM trap at `addr` (one page) on `guest` with `key` (set by thread A3, so that a
    /// pending enter of A1 is not abandoned).
    pub fn mem_trap(&mut self, guest: HandleValue, addr: u64, key: u64) {
        let st = self.status(A3, set_trap(guest, GUEST_TRAP_MEM, addr, PAGE, 0, key));
        assert_eq!(st, Status::OK);
    }

    /// A BELL trap at `addr` (one page) on `guest` to `port` with `key`.
    pub fn bell_trap(&mut self, guest: HandleValue, addr: u64, port: HandleValue, key: u64) {
        let st = self.status(A3, set_trap(guest, GUEST_TRAP_BELL, addr, PAGE, port, key));
        assert_eq!(st, Status::OK);
    }

    /// `port_wait` with an infinite deadline.
    pub fn wait(&mut self, who: Sender, port: HandleValue) -> Response {
        self.call(who, port_wait(port, TIME_INFINITE))
    }
}

/// ESR of a data abort: ISV, SAS, SSE, SRT, WnR.
pub fn dabt_esr(isv: bool, size: u8, sse: bool, srt: u8, write: bool) -> u32 {
    let sas = size.trailing_zeros();
    (0x24 << 26)
        | (1 << 25)
        | (u32::from(isv) << 24)
        | (sas << 22)
        | (u32::from(sse) << 21)
        | (u32::from(srt) << 16)
        | (u32::from(write) << 6)
}

/// A data abort at `addr`.
pub fn dabt(addr: u64, esr: u32) -> GuestExit {
    GuestExit::MemAbort {
        ip: 0,
        addr,
        instruction: false,
        esr,
    }
}

/// The reply is a packet; returns it.
pub fn packet(reply: Reply) -> PortPacket {
    match reply {
        Ok(ReplyPayload::Packet(p)) => p,
        other => panic!("not a packet: {other:?}"),
    }
}
