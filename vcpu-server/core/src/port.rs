//! Ports and BELL packets: `port_create`, `port_wait`, and doorbell delivery.
//!
//! A port holds only BELL packets (this server has no user packets). Delivery of a doorbell:
//! a thread blocked in `port_wait` gets it at once; otherwise it is queued, unless the trap
//! already has [`BELL_PACKETS_PER_TRAP`] packets queued or the port holds
//! [`PORT_QUEUE_CAPACITY`]: then the VCPU waits (its `vcpu_enter` stays pending, the guest stays
//! stopped) until `port_wait` takes a packet from that port, as Zircon blocks on an exhausted
//! packet pool. A kick does not wake such a VCPU (Zircon), but the kick is reported as soon as
//! the doorbell is delivered. When a port loses its last handle, threads blocked in `port_wait`
//! on it get `ZX_ERR_CANCELED` (as Zircon cancels waits on a closed handle) and VCPUs waiting
//! for space in it get `ZX_ERR_BAD_STATE` (a BELL write to a port without handles).
//!
//! `port_wait` never waits with a finite deadline: the server keeps no clock, so a deadline
//! other than `ZX_TIME_INFINITE` on an empty port is `ZX_ERR_TIMED_OUT` at once.

use caps::{ObjType, Operation, Rights};
use heapless::Deque;
use vcpu_protocol::layout::{
    PKT_GUEST_VCPU_STARTUP, PKT_TYPE_GUEST_BELL, PKT_TYPE_GUEST_MEM, PKT_TYPE_GUEST_VCPU,
    PacketGuestBell, PacketGuestMem, PacketGuestVcpu, PortPacket, TIME_INFINITE,
};
use vcpu_protocol::message::{HandleReply, PortCreateReq, PortWaitReq};
use vcpu_protocol::{ClientId, Reply, ReplyPayload, Sender, Status, ThreadId};
use zerocopy::IntoBytes;

use crate::backend::Backend;
use crate::handle::{HandleEntry, ObjRef};
use crate::quota::Kind;
use crate::server::{Outcome, Server};
use crate::vcpu::Run;
use crate::{MAX_PORT_WAITERS, PORT_QUEUE_CAPACITY};

#[cfg(doc)]
use crate::BELL_PACKETS_PER_TRAP;

/// A queued BELL packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueuedBell {
    pub(crate) trap: u16,
    pub(crate) key: u64,
    pub(crate) addr: u64,
}

/// A port.
pub(crate) struct Port {
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) handles: u32,
    pub(crate) traps: u32,
    pub(crate) queue: Deque<QueuedBell, PORT_QUEUE_CAPACITY>,
    pub(crate) waiters: Deque<ThreadId, MAX_PORT_WAITERS>,
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
            queue: Deque::new(),
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
        let Some(port) = self.ports.get_mut(p) else {
            return Outcome::Reply(Err(Status::ERR_BAD_HANDLE));
        };
        if let Some(q) = port.queue.pop_front() {
            if let Some(trap) = self.traps.get_mut(q.trap) {
                trap.queued = trap.queued.saturating_sub(1);
            }
            self.unblock_bells(p);
            return Outcome::Reply(Ok(ReplyPayload::Packet(bell_packet(q.key, q.addr))));
        }
        if req.deadline != TIME_INFINITE {
            return Outcome::Reply(Err(Status::ERR_TIMED_OUT));
        }
        match port.waiters.push_back(sender.thread) {
            Ok(()) => Outcome::Deferred,
            Err(_) => Outcome::Reply(Err(Status::ERR_NO_RESOURCES)),
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
        if trap.pool_full() || port.queue.is_full() {
            return Bell::Full;
        }
        let q = QueuedBell {
            trap: t,
            key: trap.key,
            addr,
        };
        if port.queue.push_back(q).is_err() {
            return Bell::Full;
        }
        trap.queued += 1;
        Bell::Delivered
    }

    /// Retries the doorbells of VCPUs waiting for space in port `p`.
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
