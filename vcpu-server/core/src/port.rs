//! Ports and BELL packets: `port_create`, `port_wait`, and doorbell delivery.
//!
//! A port holds two kinds of packets, as in Zircon: BELL packets, each drawn from its trap's
//! own pool of [`BELL_PACKETS_PER_TRAP`] (Zircon's `kMaxPacketsPerRange`; the pools live in the
//! server's pool table, one per BELL trap, at most [`crate::MAX_BELL_POOLS`], so a port full of other traps' doorbells or of user packets never blocks a doorbell),
//! and user packets (`zx_port_queue`, at most [`PORT_QUEUE_CAPACITY`] per port, then
//! `ZX_ERR_SHOULD_WAIT`). `port_wait` returns packets in the order they were queued, across
//! traps and user packets: every packet gets the port's next sequence number, and `port_wait`
//! takes the oldest head among the user queue and the pools of the port's traps.
//!
//! Delivery of a doorbell: a thread blocked in `port_wait` gets it at once; otherwise it is
//! queued in its trap's pool, unless that pool is full: then the VCPU waits (its `vcpu_enter`
//! stays pending, the guest stays stopped) until `port_wait` takes a packet of that trap, as
//! Zircon blocks on an exhausted packet pool. A kick does not wake such a VCPU (Zircon), but the kick is reported as soon as
//! the doorbell is delivered. When a port loses its last handle, threads blocked in `port_wait`
//! on it get `ZX_ERR_CANCELED` (as Zircon cancels waits on a closed handle) and VCPUs waiting
//! for space in it get `ZX_ERR_BAD_STATE` (a BELL write to a port without handles). Removing a
//! trap (its guest is destroyed) cancels the packets of its pool and nothing else: user packets
//! stay queued.
//!
//! `port_wait` never waits with a finite deadline: the server keeps no clock, so a deadline
//! other than `ZX_TIME_INFINITE` on an empty port is `ZX_ERR_TIMED_OUT` at once.

use caps::{ObjType, Operation, Rights};
use heapless::Deque;
use vcpu_protocol::layout::{
    PKT_GUEST_VCPU_STARTUP, PKT_TYPE_GUEST_BELL, PKT_TYPE_GUEST_MEM, PKT_TYPE_GUEST_VCPU,
    PKT_TYPE_USER, PacketGuestBell, PacketGuestMem, PacketGuestVcpu, PortPacket, TIME_INFINITE,
};
use vcpu_protocol::message::{HandleReply, PortCreateReq, PortQueueReq, PortWaitReq};
use vcpu_protocol::{ClientId, Reply, ReplyPayload, Sender, Status, ThreadId};
use zerocopy::IntoBytes;

use crate::backend::Backend;
use crate::handle::{HandleEntry, ObjRef};
use crate::quota::Kind;
use crate::server::{Outcome, Server};
use crate::vcpu::Run;
use crate::{BELL_PACKETS_PER_TRAP, MAX_PORT_WAITERS, PORT_QUEUE_CAPACITY};

/// A BELL packet waiting in its trap's pool: the port's sequence number and the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingBell {
    pub(crate) seq: u32,
    pub(crate) addr: u64,
}

/// A BELL trap's own pool: its packets queued on its port, oldest first.
pub(crate) struct BellPool {
    pub(crate) bells: Deque<PendingBell, BELL_PACKETS_PER_TRAP>,
}

impl BellPool {
    /// An empty pool.
    pub(crate) const fn new() -> BellPool {
        BellPool {
            bells: Deque::new(),
        }
    }
}

/// A user packet waiting in a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserPacket {
    pub(crate) seq: u32,
    pub(crate) packet: PortPacket,
}

/// A port.
pub(crate) struct Port {
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) handles: u32,
    pub(crate) traps: u32,
    /// User packets, oldest first.
    pub(crate) user: Deque<UserPacket, PORT_QUEUE_CAPACITY>,
    /// Sequence number of the next packet queued on this port (wraps; at most
    /// `MAX_BELL_POOLS * BELL_PACKETS_PER_TRAP + PORT_QUEUE_CAPACITY` packets are ever queued at once,
    /// far below 2^31, so wrapping comparison orders them).
    pub(crate) next_seq: u32,
    pub(crate) waiters: Deque<ThreadId, MAX_PORT_WAITERS>,
}

impl Port {
    /// Takes the next sequence number.
    fn seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq = s.wrapping_add(1);
        s
    }
}

/// True if sequence number `a` was handed out before `b`.
fn older(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What became of a doorbell.
pub(crate) enum Bell {
    /// Delivered to a waiter or queued: the guest may continue.
    Delivered,
    /// No room: the VCPU must wait.
    Full,
    /// The port has no handles left (`ZX_ERR_BAD_STATE`).
    NoHandles,
}

fn packet(key: u64, packet_type: u32, payload: &[u8]) -> PortPacket {
    let mut p = PortPacket {
        key,
        packet_type,
        status: 0,
        payload: [0; 32],
    };
    p.payload.copy_from_slice(payload);
    p
}

/// A `ZX_PKT_TYPE_GUEST_BELL` packet.
pub(crate) fn bell_packet(key: u64, addr: u64) -> PortPacket {
    let body = PacketGuestBell {
        addr,
        reserved: [0; 3],
    };
    packet(key, PKT_TYPE_GUEST_BELL, body.as_bytes())
}

/// A `ZX_PKT_TYPE_GUEST_MEM` packet.
pub(crate) fn mem_packet(key: u64, body: PacketGuestMem) -> PortPacket {
    packet(key, PKT_TYPE_GUEST_MEM, body.as_bytes())
}

/// A `ZX_PKT_TYPE_GUEST_VCPU` / `ZX_PKT_GUEST_VCPU_STARTUP` packet (key 0).
pub(crate) fn startup_packet(id: u64, entry: u64) -> PortPacket {
    let body = PacketGuestVcpu {
        vcpu_type: PKT_GUEST_VCPU_STARTUP,
        padding1: [0; 4],
        word0: id,
        word1: entry,
        reserved: 0,
    };
    packet(0, PKT_TYPE_GUEST_VCPU, body.as_bytes())
}

impl<B: Backend> Server<B> {
    /// `zx_port_create`.
    pub(crate) fn port_create(&mut self, sender: Sender, req: PortCreateReq) -> Reply {
        if req.options != 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        self.has_room(sender.client, Kind::Port)?;
        if self.free_handle_slots(sender.client) == 0 {
            return Err(Status::ERR_NO_MEMORY);
        }
        let port = Port {
            payer: sender.client,
            handles: 1,
            traps: 0,
            user: Deque::new(),
            next_seq: 0,
            waiters: Deque::new(),
        };
        let (p, _) = self.ports.insert(port).map_err(|_| Status::ERR_NO_MEMORY)?;
        // Cannot fail: room was checked.
        self.charge(sender.client, Kind::Port)?;
        let entry = HandleEntry {
            obj: ObjRef::Port(p),
            rights: ObjType::Port.default_rights(),
        };
        let handle = self.install(sender.client, entry)?;
        Ok(ReplyPayload::Handle(HandleReply {
            handle,
            reserved: 0,
        }))
    }

    /// `zx_port_wait`.
    pub(crate) fn port_wait(&mut self, sender: Sender, req: PortWaitReq) -> Outcome {
        let op = Operation::PortWait;
        let found = match self.lookup_required(sender.client, op, 0, req.port, Rights::NONE) {
            Ok(f) => f,
            Err(s) => return Outcome::Reply(Err(s)),
        };
        let ObjRef::Port(p) = found.entry.obj else {
            return Outcome::Reply(Err(Status::ERR_WRONG_TYPE));
        };
        if let Some(packet) = self.take_packet(p) {
            return Outcome::Reply(Ok(ReplyPayload::Packet(packet)));
        }
        let Some(port) = self.ports.get_mut(p) else {
            return Outcome::Reply(Err(Status::ERR_BAD_HANDLE));
        };
        if req.deadline != TIME_INFINITE {
            return Outcome::Reply(Err(Status::ERR_TIMED_OUT));
        }
        match port.waiters.push_back(sender.thread) {
            Ok(()) => Outcome::Deferred,
            Err(_) => Outcome::Reply(Err(Status::ERR_NO_RESOURCES)),
        }
    }

    /// `zx_port_queue`: a user packet (type forced to `ZX_PKT_TYPE_USER`; key, status and
    /// payload as given) for the oldest waiter, else queued (`ZX_ERR_SHOULD_WAIT` when the port
    /// already holds [`PORT_QUEUE_CAPACITY`] user packets).
    pub(crate) fn port_queue(&mut self, sender: Sender, req: PortQueueReq) -> Reply {
        let op = Operation::PortQueue;
        let found = self.lookup_required(sender.client, op, 0, req.port, Rights::NONE)?;
        let ObjRef::Port(p) = found.entry.obj else {
            return Err(Status::ERR_WRONG_TYPE);
        };
        let port = self.ports.get_mut(p).ok_or(Status::ERR_BAD_HANDLE)?;
        let packet = PortPacket {
            packet_type: PKT_TYPE_USER,
            ..req.packet
        };
        if let Some(thread) = port.waiters.pop_front() {
            self.complete(thread, Ok(ReplyPayload::Packet(packet)));
            return Ok(ReplyPayload::Empty);
        }
        if port.user.is_full() {
            return Err(Status::ERR_SHOULD_WAIT);
        }
        let seq = port.seq();
        // Cannot fail: checked not full.
        let _ = port.user.push_back(UserPacket { seq, packet });
        Ok(ReplyPayload::Empty)
    }

    /// Takes the oldest packet of port `p` (a user packet or the head of one of its traps'
    /// pools); a trap's pool that gains room retries the doorbells waiting for it.
    fn take_packet(&mut self, p: u16) -> Option<PortPacket> {
        let port = self.ports.get(p)?;
        let mut best: Option<(u32, Option<u16>)> = port.user.front().map(|u| (u.seq, None));
        for (t, trap) in self.traps.iter() {
            if trap.port != Some(p) {
                continue;
            }
            let head = trap
                .pool
                .and_then(|b| self.bell_pools.get(b))
                .and_then(|b| b.bells.front());
            if let Some(head) = head {
                if best.is_none_or(|(seq, _)| older(head.seq, seq)) {
                    best = Some((head.seq, Some(t)));
                }
            }
        }
        match best? {
            (_, None) => self.ports.get_mut(p)?.user.pop_front().map(|u| u.packet),
            (_, Some(t)) => {
                let trap = self.traps.get(t)?;
                let key = trap.key;
                let pool = self.bell_pools.get_mut(trap.pool?)?;
                let head = pool.bells.pop_front()?;
                let packet = bell_packet(key, head.addr);
                self.unblock_bells(p);
                Some(packet)
            }
        }
    }

    /// Delivers a doorbell of trap `t` at `addr`.
    pub(crate) fn ring_bell(&mut self, t: u16, addr: u64) -> Bell {
        let Some(trap) = self.traps.get_mut(t) else {
            return Bell::NoHandles;
        };
        let Some(port) = trap.port.and_then(|p| self.ports.get_mut(p)) else {
            return Bell::NoHandles;
        };
        if port.handles == 0 {
            return Bell::NoHandles;
        }
        if let Some(thread) = port.waiters.pop_front() {
            let reply = Ok(ReplyPayload::Packet(bell_packet(trap.key, addr)));
            self.complete(thread, reply);
            return Bell::Delivered;
        }
        let Some(pool) = trap.pool.and_then(|b| self.bell_pools.get_mut(b)) else {
            return Bell::NoHandles;
        };
        if pool.bells.is_full() {
            return Bell::Full;
        }
        let seq = port.seq();
        match pool.bells.push_back(PendingBell { seq, addr }) {
            Ok(()) => Bell::Delivered,
            Err(_) => Bell::Full,
        }
    }

    /// Retries the doorbells of VCPUs waiting for space in a pool of a trap on port `p`.
    fn unblock_bells(&mut self, p: u16) {
        let waiting = self
            .vcpus
            .slots_where(|v| matches!(v.run, Run::BellBlocked { .. }));
        for v in waiting {
            let Some(Run::BellBlocked { trap, addr }) = self.vcpus.get(v).map(|v| v.run) else {
                continue;
            };
            if self.traps.get(trap).and_then(|t| t.port) != Some(p) {
                continue;
            }
            match self.ring_bell(trap, addr) {
                Bell::Delivered => self.continue_guest(v),
                Bell::Full => {}
                Bell::NoHandles => self.finish_enter(v, Err(Status::ERR_BAD_STATE)),
            }
        }
    }

    /// Port `p` lost its last handle: cancel its waiters, fail VCPUs waiting for space in it,
    /// and destroy it if no trap refers to it.
    pub(crate) fn port_lost_last_handle(&mut self, p: u16) {
        while let Some(thread) = self
            .ports
            .get_mut(p)
            .and_then(|port| port.waiters.pop_front())
        {
            self.complete(thread, Err(Status::ERR_CANCELED));
        }
        let blocked = self
            .vcpus
            .slots_where(|v| matches!(v.run, Run::BellBlocked { .. }));
        for v in blocked {
            let on_this_port = match self.vcpus.get(v).map(|v| v.run) {
                Some(Run::BellBlocked { trap, .. }) => {
                    self.traps.get(trap).and_then(|t| t.port) == Some(p)
                }
                _ => false,
            };
            if on_this_port {
                self.finish_enter(v, Err(Status::ERR_BAD_STATE));
            }
        }
        self.maybe_destroy_port(p);
    }

    /// Destroys port `p` if it has neither handles nor traps.
    pub(crate) fn maybe_destroy_port(&mut self, p: u16) {
        if self
            .ports
            .get(p)
            .is_some_and(|port| port.handles == 0 && port.traps == 0)
        {
            if let Some(port) = self.ports.remove(p) {
                self.refund(port.payer, Kind::Port);
            }
        }
    }
}
