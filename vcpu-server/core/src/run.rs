//! The VCPU run machinery shared by requests and guest exits: resuming the guest (Zircon's
//! run-loop steps 3 and 4: fill list registers, then check the kick flag before entering),
//! completing a pending `vcpu_enter` exactly once, and dropping an abandoned one.

use vcpu_protocol::{Reply, Status, ThreadId};

use crate::backend::{Backend, Resume};
use crate::handle::ObjRef;
use crate::quota::{Kind, Usage};
use crate::server::Server;
use crate::vcpu::Run;
use crate::vgic::lr_priority;

impl<B: Backend> Server<B> {
    /// Completes VCPU `v`'s pending enter with `reply`; the guest stays stopped. Does nothing if
    /// no enter is pending (so no enter is completed twice).
    pub(crate) fn finish_enter(&mut self, v: u16, reply: Reply) {
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return;
        };
        if vcpu.run == Run::Idle {
            return;
        }
        vcpu.run = Run::Idle;
        let owner = vcpu.owner;
        self.complete(owner, reply);
    }

    /// Writes pending vectors into free list registers (lowest vector first). A backend error
    /// leaves the remaining vectors pending.
    pub(crate) fn refill_lrs(&mut self, v: u16) {
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return;
        };
        while let Some((lr, vector)) = vcpu.vgic.next_fill() {
            let injected = self.backend.inject_irq(
                &mut vcpu.backend,
                lr,
                vector,
                lr_priority(vector),
                B::LR_GROUP,
            );
            if injected.is_err() {
                break;
            }
            vcpu.vgic.occupy(lr, vector);
        }
    }

    /// Fills list registers and lets the guest run; on success the VCPU is `Running`.
    pub(crate) fn try_resume(&mut self, v: u16) -> Result<(), Status> {
        self.refill_lrs(v);
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        self.backend.resume_vcpu(&mut vcpu.backend, vcpu.resume)?;
        vcpu.run = Run::Running;
        Ok(())
    }

    /// Continues a VCPU whose enter is pending and whose guest is stopped: a pending kick ends
    /// the enter with `ZX_ERR_CANCELED` (checked before every guest entry), otherwise the guest
    /// runs again; a backend failure ends the enter with its status.
    pub(crate) fn continue_guest(&mut self, v: u16) {
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return;
        };
        if vcpu.kicked {
            vcpu.kicked = false;
            self.finish_enter(v, Err(Status::ERR_CANCELED));
        } else if let Err(s) = self.try_resume(v) {
            self.finish_enter(v, Err(s));
        }
    }

    /// Ends the pending enter of the VCPU `thread` owns with `ZX_ERR_CANCELED`, stopping a
    /// running guest first (see [`Server::cancel_pending`]).
    pub(crate) fn cancel_enter(&mut self, thread: ThreadId) {
        let pending = self
            .vcpus
            .slots_where(|x| x.owner == thread && x.run != Run::Idle);
        for v in pending {
            self.stop_if_running(v);
            self.finish_enter(v, Err(Status::ERR_CANCELED));
        }
    }

    /// Stops VCPU `v`'s guest if it is running (the next entry restarts it). If stopping fails
    /// the guest runs on; its next fault is held (see `handle_guest_exit`) and the next enter
    /// resumes it.
    fn stop_if_running(&mut self, v: u16) {
        if let Some(vcpu) = self.vcpus.get_mut(v) {
            if vcpu.run == Run::Running {
                let _ = self.backend.stop_vcpu(&mut vcpu.backend);
                vcpu.resume = Resume::Restart;
            }
        }
    }

    /// Drops the pending enter of the VCPU `thread` owns, without a reply (see
    /// [`Server::abandon`]).
    pub(crate) fn abandon_enter(&mut self, thread: ThreadId) {
        let owned = self.vcpus.slots_where(|x| x.owner == thread);
        for v in owned {
            let Some(vcpu) = self.vcpus.get_mut(v) else {
                continue;
            };
            match vcpu.run {
                Run::Idle => {}
                Run::Running => {
                    // If stopping fails the guest runs on; its next fault is held (see
                    // `handle_guest_exit`) and the next enter resumes it.
                    let _ = self.backend.stop_vcpu(&mut vcpu.backend);
                    vcpu.resume = Resume::Restart;
                    vcpu.run = Run::Idle;
                }
                Run::Wfi | Run::BellBlocked { .. } => vcpu.run = Run::Idle,
            }
        }
    }
}

/// See [`Server::check_invariants`].
pub(crate) fn check_invariants<B: Backend>(s: &Server<B>) -> Result<(), &'static str> {
    if s.lost_completions != 0 {
        return Err("a completion was dropped for want of room");
    }
    check_accounting(s)?;
    // Each thread owns at most one VCPU.
    for (i, a) in s.vcpus.iter() {
        if s.vcpus.iter().any(|(j, b)| j != i && b.owner == a.owner) {
            return Err("a thread owns two VCPUs");
        }
    }
    // Every thread with a deferred call is known as one (else `abandon` would skip it).
    if !s.deferred_overflow {
        let enters = s
            .vcpus
            .iter()
            .filter(|(_, v)| v.run != Run::Idle)
            .map(|(_, v)| v.owner);
        let waits = s.ports.iter().flat_map(|(_, p)| p.waiters.iter().copied());
        if enters.chain(waits).any(|t| !s.deferred.contains(&t)) {
            return Err("a deferred call is not recorded as one");
        }
    }
    // Reference counts match the handles that exist (tables and inboxes).
    let mut counted = HandleCounts::default();
    for c in &s.clients {
        for e in c.entries() {
            if !counted.add(s, e.obj) {
                return Err("a handle names a dead object");
            }
        }
    }
    for (g, guest) in s.guests.iter() {
        let handles = counted.count(ObjRef::Guest(g));
        let vmars = counted.count(ObjRef::Vmar(g));
        let vcpus = s.vcpus.iter().filter(|(_, v)| v.guest == g).count();
        if guest.handles != handles || guest.vmar_handles != vmars {
            return Err("guest handle count is wrong");
        }
        if usize::from(guest.vcpus) != vcpus {
            return Err("guest VCPU count is wrong");
        }
        if handles == 0 && vmars == 0 && vcpus == 0 {
            return Err("an unreferenced guest is alive");
        }
    }
    for (v, vcpu) in s.vcpus.iter() {
        if vcpu.handles != counted.count(ObjRef::Vcpu(v)) || vcpu.handles == 0 {
            return Err("VCPU handle count is wrong");
        }
        if s.guests.get(vcpu.guest).is_none() {
            return Err("a VCPU outlived its guest");
        }
        if let Run::BellBlocked { trap, .. } = vcpu.run {
            if s.traps.get(trap).is_none() {
                return Err("a VCPU waits on a dead trap");
            }
        }
    }
    for (p, port) in s.ports.iter() {
        let traps = s.traps.iter().filter(|(_, t)| t.port == Some(p)).count();
        if port.handles != counted.count(ObjRef::Port(p)) || port.traps as usize != traps {
            return Err("port reference count is wrong");
        }
        if port.handles == 0 && traps == 0 {
            return Err("an unreferenced port is alive");
        }
        if port.handles == 0 && !port.waiters.is_empty() {
            return Err("a thread waits on a port without handles");
        }
        let seqs = port.user.iter().map(|u| u.seq).chain(
            s.traps
                .iter()
                .filter(|(_, t)| t.port == Some(p))
                .filter_map(|(_, t)| t.pool.and_then(|b| s.bell_pools.get(b)))
                .flat_map(|b| b.bells.iter().map(|b| b.seq)),
        );
        for seq in seqs {
            if port.next_seq.wrapping_sub(seq) > (1 << 30) || seq == port.next_seq {
                return Err("a queued packet has a sequence number not yet handed out");
            }
        }
    }
    for (t, trap) in s.traps.iter() {
        if s.guests.get(trap.guest).is_none() {
            return Err("a trap outlived its guest");
        }
        let queued = trap.pool.and_then(|b| s.bell_pools.get(b));
        if queued.is_some_and(|b| !b.bells.is_empty())
            && trap.port.is_none_or(|p| s.ports.get(p).is_none())
        {
            return Err("a trap holds packets but has no port");
        }
        if (trap.kind == crate::guest::TrapKind::Bell) != queued.is_some() {
            return Err("a BELL trap without its pool, or a MEM trap with one");
        }
        let _ = t;
    }
    for (_, m) in s.mappings.iter() {
        if s.guests.get(m.guest).is_none() {
            return Err("a mapping outlived its guest");
        }
    }
    for (_, r) in s.resources.iter() {
        if r.handles == 0 {
            return Err("an unreferenced resource is alive");
        }
    }
    Ok(())
}

/// Each client's usage equals the objects it pays for and stays within its limits; the
/// limits of all clients fit the server's capacity.
fn check_accounting<B: Backend>(s: &Server<B>) -> Result<(), &'static str> {
    for c in &s.clients {
        let owned = Usage {
            guests: s.guests.iter().filter(|(_, g)| g.payer == c.id).count() as u16,
            vcpus: s.vcpus.iter().filter(|(_, v)| v.payer == c.id).count() as u16,
            ports: s.ports.iter().filter(|(_, p)| p.payer == c.id).count() as u16,
            traps: s.traps.iter().filter(|(_, t)| t.payer == c.id).count() as u16,
            mappings: s.mappings.iter().filter(|(_, m)| m.payer == c.id).count() as u16,
        };
        if c.stopped && c.entries().next().is_some() {
            return Err("a stopped client holds handles");
        }
        if owned != c.usage {
            return Err("a client's usage differs from the objects it pays for");
        }
        if Kind::ALL.iter().any(|&k| c.usage.of(k) > c.limits.of(k)) {
            return Err("a client holds more than its limits");
        }
    }
    let known = |id| s.clients.iter().any(|c| c.id == id);
    let orphan = s.guests.iter().any(|(_, g)| !known(g.payer))
        || s.vcpus.iter().any(|(_, v)| !known(v.payer))
        || s.ports.iter().any(|(_, p)| !known(p.payer))
        || s.traps.iter().any(|(_, t)| !known(t.payer))
        || s.mappings.iter().any(|(_, m)| !known(m.payer));
    if orphan {
        return Err("an object is charged to an unknown client");
    }
    Ok(())
}

/// Handle counts per object, gathered from every table and inbox.
#[derive(Default)]
struct HandleCounts {
    counts: heapless::LinearMap<ObjRefKey, u32, 1024>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct ObjRefKey(u8, u16);

impl HandleCounts {
    fn key(obj: ObjRef) -> ObjRefKey {
        match obj {
            ObjRef::Resource(i) => ObjRefKey(0, i),
            ObjRef::Guest(i) => ObjRefKey(1, i),
            ObjRef::Vmar(i) => ObjRefKey(2, i),
            ObjRef::Vcpu(i) => ObjRefKey(3, i),
            ObjRef::Port(i) => ObjRefKey(4, i),
        }
    }

    /// Counts a handle; false if it names no live object.
    fn add<B: Backend>(&mut self, s: &Server<B>, obj: ObjRef) -> bool {
        let alive = match obj {
            ObjRef::Resource(i) => s.resources.get(i).is_some(),
            ObjRef::Guest(i) | ObjRef::Vmar(i) => s.guests.get(i).is_some(),
            ObjRef::Vcpu(i) => s.vcpus.get(i).is_some(),
            ObjRef::Port(i) => s.ports.get(i).is_some(),
        };
        let k = Self::key(obj);
        let n = self.counts.get(&k).copied().unwrap_or(0);
        // At most MAX_CLIENTS * (MAX_HANDLES_PER_CLIENT + INBOX_CAPACITY) distinct objects.
        let _ = self.counts.insert(k, n + 1);
        alive
    }

    fn count(&self, obj: ObjRef) -> u32 {
        self.counts.get(&Self::key(obj)).copied().unwrap_or(0)
    }
}
