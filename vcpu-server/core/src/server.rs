//! The server: object tables, client tables, the setup API and request dispatch.
//!
//! Object lifetimes (reference counts kept in the objects):
//! - a guest lives while it has guest handles, VMAR handles or VCPUs (a VMAR handle keeps the
//!   whole guest, i.e. its address space, traps and mappings, alive);
//! - a VCPU lives while it has handles; destroying it releases its VPID and its thread's mark;
//! - a port lives while it has handles or BELL traps pointing at it (a trap holds the port as in
//!   Zircon; with no handles left, BELL writes fail with `ZX_ERR_BAD_STATE`);
//! - a resource lives while it has handles.
//!
//! Handles waiting in an inbox count as handles. Destroying a guest unmaps and deletes its
//! frames and removes its traps, cancelling their queued packets.

use caps::{ObjType, Operation, Rights};
use heapless::Vec;
use vcpu_protocol::message::Request;
use vcpu_protocol::{ClientId, HandleValue, Reply, Sender, Status, ThreadId};

use crate::backend::Backend;
use crate::guest::{Guest, Mapping, Resource, Trap};
use crate::handle::{self, Client, Found, HandleEntry, ObjRef};
use crate::object::Table;
use crate::port::{BellPool, Port};
use crate::quota::{self, Kind, Limits, Usage};
use crate::vcpu::Vcpu;
use crate::{
    MAX_BELL_POOLS, MAX_CLIENTS, MAX_COMPLETIONS, MAX_GUESTS, MAX_MAPPINGS, MAX_PORTS,
    MAX_RESOURCES, MAX_TRAPS, MAX_VCPUS,
};

/// What the caller of [`Server::handle_request`] gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant, reason = "no allocator; moved once")]
pub enum Outcome {
    /// Reply now.
    Reply(Reply),
    /// Do not reply: keep the caller's reply capability, keyed by its [`ThreadId`]; a later
    /// [`Completion`] for that thread carries the reply.
    Deferred,
}

/// A reply for a thread whose call was deferred earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The blocked thread.
    pub thread: ThreadId,
    /// Its reply.
    pub reply: Reply,
}

/// Replies for deferred callers produced by one call into the server (at most
/// [`MAX_COMPLETIONS`]). Each deferred call is completed at most once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completions {
    items: Vec<Completion, MAX_COMPLETIONS>,
    /// Completions that found no room (always 0 while [`MAX_COMPLETIONS`] bounds what one call
    /// completes; checked in release builds too, see [`Completions::lost`]).
    lost: u16,
}

impl Completions {
    /// The completions, oldest first.
    pub fn as_slice(&self) -> &[Completion] {
        &self.items
    }

    /// Number of completions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over the completions.
    pub fn iter(&self) -> core::slice::Iter<'_, Completion> {
        self.items.iter()
    }

    /// Completions dropped for want of room. [`MAX_COMPLETIONS`] bounds what one call can
    /// complete, so this is 0 unless that bound is wrong; the transport reports a nonzero
    /// count (the dropped callers stay blocked), and [`Server::check_invariants`] fails.
    pub fn lost(&self) -> u16 {
        self.lost
    }

    /// Adds a completion; a full buffer counts it in [`Completions::lost`] and returns false
    /// (a hard check, in every build).
    pub(crate) fn push(&mut self, c: Completion) -> bool {
        let pushed = self.items.push(c).is_ok();
        if !pushed {
            self.lost = self.lost.saturating_add(1);
        }
        pushed
    }
}

impl IntoIterator for Completions {
    type Item = Completion;
    type IntoIter = heapless::vec::IntoIter<Completion, MAX_COMPLETIONS, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The result of [`Server::handle_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Response {
    /// What to do with the caller.
    pub outcome: Outcome,
    /// Replies for other, previously deferred threads.
    pub completions: Completions,
}

/// Numbers of live objects (diagnostics and leak checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// Resources.
    pub resources: usize,
    /// Guests.
    pub guests: usize,
    /// VCPUs.
    pub vcpus: usize,
    /// Traps.
    pub traps: usize,
    /// Mappings (frames held).
    pub mappings: usize,
    /// Ports.
    pub ports: usize,
}

/// The VCPU server core over backend `B`.
pub struct Server<B: Backend> {
    pub(crate) backend: B,
    pub(crate) clients: Vec<Client, MAX_CLIENTS>,
    pub(crate) resources: Table<Resource, MAX_RESOURCES>,
    pub(crate) guests: Table<Guest<B::Guest>, MAX_GUESTS>,
    pub(crate) vcpus: Table<Vcpu<B::Vcpu>, MAX_VCPUS>,
    pub(crate) traps: Table<Trap, MAX_TRAPS>,
    pub(crate) mappings: Table<Mapping<B::Frame>, MAX_MAPPINGS>,
    pub(crate) ports: Table<Port, MAX_PORTS>,
    pub(crate) bell_pools: Table<BellPool, MAX_BELL_POOLS>,
    pub(crate) completions: Completions,
    /// Threads that may have a deferred call (pending enter or port wait): added when a call
    /// is deferred, removed when it is completed or abandoned. [`Server::abandon`], made for
    /// every request, has nothing to do for a thread not in it.
    pub(crate) deferred: Vec<ThreadId, MAX_DEFERRED>,
    /// A deferral found `deferred` full (cannot happen within the capacities): every
    /// [`Server::abandon`] then searches all VCPUs and ports.
    pub(crate) deferred_overflow: bool,
    /// Completions ever dropped for want of room (see [`Completions::lost`]).
    pub(crate) lost_completions: u32,
}

/// Calls that can be deferred at once: one enter per VCPU, the waiters of every port.
const MAX_DEFERRED: usize = MAX_VCPUS + MAX_PORTS * crate::MAX_PORT_WAITERS;

impl<B: Backend> Server<B> {
    /// A server with no clients and no objects. `const`, so that a server can be built at
    /// compile time in a `static` (it is too large for a small stack).
    pub const fn new(backend: B) -> Self {
        Server {
            backend,
            clients: Vec::new(),
            resources: Table::new(),
            guests: Table::new(),
            vcpus: Table::new(),
            traps: Table::new(),
            mappings: Table::new(),
            ports: Table::new(),
            bell_pools: Table::new(),
            completions: Completions {
                items: Vec::new(),
                lost: 0,
            },
            deferred: Vec::new(),
            deferred_overflow: false,
            lost_completions: 0,
        }
    }

    /// Bytes of the server's own record of one guest (kernel objects not included).
    pub const GUEST_RECORD_BYTES: usize = size_of::<Guest<B::Guest>>();
    /// Bytes of the server's own record of one VCPU (its vGIC state included).
    pub const VCPU_RECORD_BYTES: usize = size_of::<Vcpu<B::Vcpu>>();

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably (for the transport's kernel work outside the core).
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Numbers of live objects.
    pub fn object_counts(&self) -> ObjectCounts {
        ObjectCounts {
            resources: self.resources.len(),
            guests: self.guests.len(),
            vcpus: self.vcpus.len(),
            traps: self.traps.len(),
            mappings: self.mappings.len(),
            ports: self.ports.len(),
        }
    }

    /// Registers a client with an empty handle table and [`Limits::DEFAULT`] (see
    /// [`Server::add_client_with`]).
    pub fn add_client(&mut self, id: ClientId) -> Result<(), Status> {
        self.add_client_with(id, Limits::DEFAULT)
    }

    /// Registers a client with an empty handle table and `limits`. `ZX_ERR_ALREADY_EXISTS` if
    /// it is known, `ZX_ERR_NO_MEMORY` beyond [`MAX_CLIENTS`], and [`quota::admit`]'s statuses
    /// when the limits are invalid or do not fit beside those of the known clients.
    pub fn add_client_with(&mut self, id: ClientId, limits: Limits) -> Result<(), Status> {
        // A stopped client whose objects are all gone may be added again (a restart).
        if let Some(c) = self.client_index(id) {
            let old = &self.clients[c];
            if !old.stopped || old.usage != Usage::default() {
                return Err(Status::ERR_ALREADY_EXISTS);
            }
            let others = self
                .clients
                .iter()
                .filter(|c| c.id != id)
                .map(|c| &c.limits);
            quota::admit(&limits, others)?;
            self.clients[c] = Client::new(id, limits);
            return Ok(());
        }
        if self.clients.is_full() {
            return Err(Status::ERR_NO_MEMORY);
        }
        quota::admit(&limits, self.clients.iter().map(|c| &c.limits))?;
        self.clients
            .push(Client::new(id, limits))
            .map_err(|_| Status::ERR_NO_MEMORY)
    }

    /// Client `client` was stopped (a kernel-authenticated notice from the root task): releases
    /// everything it held. Deferred calls of its `threads` are dropped without a reply (the
    /// threads are gone; a running guest is stopped), every handle in its table and its inbox
    /// is closed, so its guests (with their VCPUs, traps, mappings and page tables), VCPUs and
    /// ports are destroyed unless another client holds a handle to them (those stay, charged to
    /// the stopped client until they go). Requests under its badges are refused from now on
    /// (`ZX_ERR_BAD_STATE`). Returns the completions for other clients' threads (e.g. waiters on
    /// a port it closed), which stay in the server for [`Server::deliver_completions`] (or
    /// [`Server::pop_completion`]). `ZX_ERR_NOT_FOUND` for an unknown client.
    pub fn client_stopped(&mut self, client: ClientId, threads: &[ThreadId]) -> Result<(), Status> {
        let c = self.client_index(client).ok_or(Status::ERR_NOT_FOUND)?;
        self.clients[c].stopped = true;
        for &t in threads {
            self.abandon(t);
        }
        for v in self.vcpus.slots_where(|v| v.payer == client) {
            if let Some(owner) = self.vcpus.get(v).map(|v| v.owner) {
                self.abandon(owner);
            }
        }
        let held = self.clients[c].drain();
        for e in held {
            self.release(e.obj);
        }
        Ok(())
    }

    /// Stopped client `client` runs again as a new instance (the root task restarted it): it
    /// becomes a fresh client with an empty handle table and inbox and its own limits, and may
    /// send requests again. Objects of the old instance that other clients still hold stay
    /// charged to it (its usage is kept, so its limits and memory count them until they go).
    /// `ZX_ERR_NOT_FOUND` for an unknown client, `ZX_ERR_BAD_STATE` if it was not stopped.
    pub fn client_restarted(&mut self, client: ClientId) -> Result<(), Status> {
        let c = self.client_index(client).ok_or(Status::ERR_NOT_FOUND)?;
        let old = &self.clients[c];
        if !old.stopped {
            return Err(Status::ERR_BAD_STATE);
        }
        let mut fresh = Client::new(client, old.limits);
        fresh.usage = old.usage;
        fresh.may_send_to = old.may_send_to.clone();
        self.clients[c] = fresh;
        Ok(())
    }

    /// Takes the oldest completion left by [`Server::client_stopped`].
    pub fn pop_completion(&mut self) -> Option<Completion> {
        if self.completions.items.is_empty() {
            None
        } else {
            Some(self.completions.items.remove(0))
        }
    }

    /// Boot configuration: lets client `from` send handles to client `to` (`handle_send`);
    /// every client may send to itself. `ZX_ERR_NOT_FOUND` if either is unknown.
    pub fn allow_send(&mut self, from: ClientId, to: ClientId) -> Result<(), Status> {
        self.client_index(to).ok_or(Status::ERR_NOT_FOUND)?;
        let c = self.client_index(from).ok_or(Status::ERR_NOT_FOUND)?;
        let list = &mut self.clients[c].may_send_to;
        if !list.contains(&to) {
            // Cannot overflow: at most MAX_CLIENTS clients exist.
            let _ = list.push(to);
        }
        Ok(())
    }

    /// True if `from` may send handles to `to` (itself, or declared).
    pub(crate) fn may_send(&self, from: ClientId, to: ClientId) -> bool {
        from == to
            || self
                .client(from)
                .is_some_and(|c| c.may_send_to.contains(&to) && !c.stopped)
    }

    /// The limits and current usage of `client`.
    pub fn quota(&self, client: ClientId) -> Option<(Limits, Usage)> {
        self.client(client).map(|c| (c.limits, c.usage))
    }

    /// Free handle slots of `client` (`None` for an unknown client).
    pub fn free_handles(&self, client: ClientId) -> Option<usize> {
        self.client(client).map(Client::free_slots)
    }

    /// Boot configuration: gives `client` a handle to a new resource object of `kind` covering
    /// `[base, base + size)` with `rights` (a subset of the resource default rights, else
    /// `ZX_ERR_INVALID_ARGS`). The hypervisor resource is kind `ZX_RSRC_KIND_SYSTEM` (5), base
    /// `ZX_RSRC_SYSTEM_HYPERVISOR_BASE` (0), size 1. Unknown client: `ZX_ERR_NOT_FOUND`; table
    /// full: `ZX_ERR_NO_MEMORY`. Handle values are deterministic (see [`crate::handle`]).
    pub fn grant_resource(
        &mut self,
        client: ClientId,
        kind: u32,
        base: u64,
        size: u64,
        rights: Rights,
    ) -> Result<HandleValue, Status> {
        let c = self.client_index(client).ok_or(Status::ERR_NOT_FOUND)?;
        if !ObjType::Resource.default_rights().contains(rights) {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if self.clients[c].free_slots() == 0 {
            return Err(Status::ERR_NO_MEMORY);
        }
        let (r, _) = self
            .resources
            .insert(Resource {
                kind,
                base,
                size,
                handles: 1,
            })
            .map_err(|_| Status::ERR_NO_MEMORY)?;
        self.clients[c].install(HandleEntry {
            obj: ObjRef::Resource(r),
            rights,
        })
    }

    /// Handles one client request. `frame` is the frame capability that came with the message,
    /// if any: `vmar_map` consumes it (mapped, or handed back to [`Backend::delete_frame`] on
    /// failure); any other request hands it back at once.
    pub fn handle_request(
        &mut self,
        sender: Sender,
        req: Request<'_>,
        frame: Option<B::Frame>,
    ) -> Response {
        let outcome = self.serve_request(sender, req, frame);
        Response {
            outcome,
            completions: core::mem::take(&mut self.completions),
        }
    }

    /// [`Server::handle_request`] without moving the completions out: they stay in the server
    /// until [`Server::deliver_completions`] (the transport's path: the list is large, and
    /// usually empty).
    pub fn serve_request(
        &mut self,
        sender: Sender,
        req: Request<'_>,
        frame: Option<B::Frame>,
    ) -> Outcome {
        self.cancel_pending(sender.thread);
        if self.client(sender.client).is_some_and(|c| c.stopped) {
            if let Some(f) = frame {
                self.backend.delete_frame(f);
            }
            return Outcome::Reply(Err(Status::ERR_BAD_STATE));
        }
        let outcome = self.dispatch(sender, req, frame);
        if matches!(outcome, Outcome::Deferred) && self.deferred.push(sender.thread).is_err() {
            self.deferred_overflow = true;
        }
        outcome
    }

    fn dispatch(&mut self, sender: Sender, req: Request<'_>, frame: Option<B::Frame>) -> Outcome {
        let frame = match req {
            Request::VmarMap(_) | Request::VmarMapFrames(_) => frame,
            _ => {
                if let Some(f) = frame {
                    self.backend.delete_frame(f);
                }
                None
            }
        };
        match req {
            Request::GuestCreate(r) => Outcome::Reply(self.guest_create(sender, r)),
            Request::GuestSetTrap(r) => Outcome::Reply(self.guest_set_trap(sender, r)),
            Request::VcpuCreate(r) => Outcome::Reply(self.vcpu_create(sender, r)),
            Request::VcpuEnter(r) => self.vcpu_enter(sender, r.handle),
            Request::VcpuKick(r) => Outcome::Reply(self.vcpu_kick(sender, r.handle)),
            Request::VcpuInterrupt(r) => Outcome::Reply(self.vcpu_interrupt(sender, r)),
            Request::VcpuReadState(r) => Outcome::Reply(self.vcpu_read_state(sender, r)),
            Request::VcpuWriteState(r, buf) => {
                Outcome::Reply(self.vcpu_write_state(sender, r, buf))
            }
            Request::ObjectGetInfo(r) => Outcome::Reply(self.object_get_info(sender, r)),
            Request::HandleDuplicate(r) => Outcome::Reply(self.handle_duplicate(sender, r)),
            Request::HandleReplace(r) => Outcome::Reply(self.handle_replace(sender, r)),
            Request::HandleClose(r) => Outcome::Reply(self.handle_close(sender, r.handle)),
            Request::HandleSend(r) => Outcome::Reply(self.handle_send(sender, r)),
            Request::HandleReceive => Outcome::Reply(self.handle_receive(sender)),
            Request::PortCreate(r) => Outcome::Reply(self.port_create(sender, r)),
            Request::PortWait(r) => self.port_wait(sender, r),
            Request::VmarMap(r) => Outcome::Reply(self.vmar_map(sender, r, frame)),
            Request::PortQueue(r) => Outcome::Reply(self.port_queue(sender, r)),
            Request::VmarUnmap(r) => Outcome::Reply(self.vmar_unmap(sender, r)),
            Request::VmarProtect(r) => Outcome::Reply(self.vmar_protect(sender, r)),
            Request::VmarMapFrames(r) => Outcome::Reply(self.vmar_map_frames(sender, r, frame)),
        }
    }

    /// Hands each completion made since the last delivery to `deliver` (oldest first, with the
    /// backend, for the kernel work of replying), then forgets them. Nothing is copied.
    pub fn deliver_completions(&mut self, mut deliver: impl FnMut(&mut B, &Completion)) {
        for c in &self.completions.items {
            deliver(&mut self.backend, c);
        }
        self.completions.items.clear();
    }

    /// Drops any call `thread` still has deferred, without a reply: the transport calls this
    /// when it could not keep the thread's reply capability (so nobody could be answered;
    /// compare [`Server::cancel_pending`]). A pending
    /// `vcpu_enter` stops the guest (kick flag untouched; a doorbell waiting for port space is
    /// dropped); a pending `port_wait` is forgotten.
    pub fn abandon(&mut self, thread: ThreadId) {
        match self.deferred.iter().position(|t| *t == thread) {
            Some(i) => {
                self.deferred.swap_remove(i);
            }
            None if !self.deferred_overflow => return,
            None => {}
        }
        self.abandon_enter(thread);
        for p in self.ports.slots_where(|_| true) {
            if let Some(port) = self.ports.get_mut(p) {
                port.waiters.retain(|t| *t != thread);
            }
        }
    }

    /// Completes any call `thread` still has deferred with `ZX_ERR_CANCELED`:
    /// [`Server::handle_request`] does this for every sender first. A thread blocked in `Call`
    /// cannot send again, so a request from a thread with a deferred call comes either from the
    /// same thread after a restart (its reply capability is gone and the completion goes
    /// nowhere) or from a sibling thread of the same client using that thread's badge: the
    /// sibling's call then ends with a status rather than never. A pending `vcpu_enter` stops
    /// the guest first (kick flag untouched); a pending `port_wait` leaves the port's waiters.
    pub fn cancel_pending(&mut self, thread: ThreadId) {
        // Only threads in `deferred` can have a deferred call (unless it overflowed).
        if !self.deferred_overflow && !self.deferred.contains(&thread) {
            return;
        }
        self.cancel_enter(thread);
        for p in self
            .ports
            .slots_where(|port| port.waiters.iter().any(|t| *t == thread))
        {
            if let Some(port) = self.ports.get_mut(p) {
                port.waiters.retain(|t| *t != thread);
            }
            self.complete(thread, Err(Status::ERR_CANCELED));
        }
    }

    // ---- lookup helpers -------------------------------------------------------------------

    pub(crate) fn client(&self, id: ClientId) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    pub(crate) fn client_index(&self, id: ClientId) -> Option<usize> {
        self.clients.iter().position(|c| c.id == id)
    }

    /// Looks up handle argument `arg` of `op` (see [`handle::lookup`]).
    pub(crate) fn lookup(
        &self,
        client: ClientId,
        op: Operation,
        arg: usize,
        value: HandleValue,
        extra: Rights,
    ) -> Result<Option<Found>, Status> {
        handle::lookup(self.client(client), op, arg, value, extra)
    }

    /// Like [`Server::lookup`] for an argument that is not optional.
    pub(crate) fn lookup_required(
        &self,
        client: ClientId,
        op: Operation,
        arg: usize,
        value: HandleValue,
        extra: Rights,
    ) -> Result<Found, Status> {
        self.lookup(client, op, arg, value, extra)?
            .ok_or(Status::ERR_BAD_HANDLE)
    }

    /// Installs a new handle for `client` (`ZX_ERR_NO_MEMORY` if it has no free slot or is
    /// unknown). The caller has already counted the handle in its object.
    pub(crate) fn install(
        &mut self,
        client: ClientId,
        entry: HandleEntry,
    ) -> Result<HandleValue, Status> {
        let c = self.client_index(client).ok_or(Status::ERR_NO_MEMORY)?;
        self.clients[c].install(entry)
    }

    /// Free handle slots of `client` (0 for an unknown client).
    pub(crate) fn free_handle_slots(&self, client: ClientId) -> usize {
        self.client(client).map_or(0, Client::free_slots)
    }

    /// `ZX_OK` if `client` may create one more object of `kind`, else the kind's exhaustion
    /// status (an unknown client may create nothing).
    pub(crate) fn has_room(&self, client: ClientId, kind: Kind) -> Result<(), Status> {
        let c = self.client(client).ok_or(kind.exhausted())?;
        if c.usage.of(kind) >= c.limits.of(kind) {
            return Err(kind.exhausted());
        }
        Ok(())
    }

    /// Charges one object of `kind` to `client` (checked with [`Server::has_room`] first).
    pub(crate) fn charge(&mut self, client: ClientId, kind: Kind) -> Result<(), Status> {
        let c = self.client_index(client).ok_or(kind.exhausted())?;
        let client = &mut self.clients[c];
        client.usage.charge(&client.limits, kind)
    }

    /// Returns the charge of one object of `kind` to `client`.
    pub(crate) fn refund(&mut self, client: ClientId, kind: Kind) {
        if let Some(c) = self.client_index(client) {
            self.clients[c].usage.refund(kind);
        }
    }

    pub(crate) fn complete(&mut self, thread: ThreadId, reply: Reply) {
        if let Some(i) = self.deferred.iter().position(|t| *t == thread) {
            self.deferred.swap_remove(i);
        }
        if !self.completions.push(Completion { thread, reply }) {
            self.lost_completions = self.lost_completions.saturating_add(1);
        }
    }

    // ---- reference counting ---------------------------------------------------------------

    /// Counts one more handle to `obj`.
    pub(crate) fn add_ref(&mut self, obj: ObjRef) {
        match obj {
            ObjRef::Resource(i) => {
                if let Some(r) = self.resources.get_mut(i) {
                    r.handles += 1;
                }
            }
            ObjRef::Guest(i) => {
                if let Some(g) = self.guests.get_mut(i) {
                    g.handles += 1;
                }
            }
            ObjRef::Vmar(i) => {
                if let Some(g) = self.guests.get_mut(i) {
                    g.vmar_handles += 1;
                }
            }
            ObjRef::Vcpu(i) => {
                if let Some(v) = self.vcpus.get_mut(i) {
                    v.handles += 1;
                }
            }
            ObjRef::Port(i) => {
                if let Some(p) = self.ports.get_mut(i) {
                    p.handles += 1;
                }
            }
        }
    }

    /// Drops one handle to `obj`, destroying the object when nothing refers to it any more.
    pub(crate) fn release(&mut self, obj: ObjRef) {
        match obj {
            ObjRef::Resource(i) => {
                if let Some(r) = self.resources.get_mut(i) {
                    r.handles = r.handles.saturating_sub(1);
                    if r.handles == 0 {
                        self.resources.remove(i);
                    }
                }
            }
            ObjRef::Guest(i) | ObjRef::Vmar(i) => {
                if let Some(g) = self.guests.get_mut(i) {
                    if matches!(obj, ObjRef::Guest(_)) {
                        g.handles = g.handles.saturating_sub(1);
                    } else {
                        g.vmar_handles = g.vmar_handles.saturating_sub(1);
                    }
                }
                self.maybe_destroy_guest(i);
            }
            ObjRef::Vcpu(i) => {
                let last = self.vcpus.get_mut(i).is_some_and(|v| {
                    v.handles = v.handles.saturating_sub(1);
                    v.handles == 0
                });
                if last {
                    self.destroy_vcpu(i);
                }
            }
            ObjRef::Port(i) => {
                let last = self.ports.get_mut(i).is_some_and(|p| {
                    p.handles = p.handles.saturating_sub(1);
                    p.handles == 0
                });
                if last {
                    self.port_lost_last_handle(i);
                }
            }
        }
    }

    /// Destroys guest `g` if nothing refers to it: unmaps and deletes its frames, removes its
    /// traps (cancelling their packets), destroys its address space.
    pub(crate) fn maybe_destroy_guest(&mut self, g: u16) {
        let dead = self
            .guests
            .get(g)
            .is_some_and(|x| x.handles == 0 && x.vmar_handles == 0 && x.vcpus == 0);
        if !dead {
            return;
        }
        let Some(mut guest) = self.guests.remove(g) else {
            return;
        };
        self.refund(guest.payer, Kind::Guest);
        for m in self.mappings.slots_where(|m| m.guest == g) {
            if let Some(mapping) = self.mappings.remove(m) {
                self.refund(mapping.payer, Kind::Mapping);
                self.backend
                    .unmap_frame(&mut guest.backend, mapping.gpa, &mapping.frame);
                self.backend.delete_frame(mapping.frame);
            }
        }
        for t in self.traps.slots_where(|t| t.guest == g) {
            self.remove_trap(t);
        }
        self.backend.destroy_guest(guest.backend);
    }

    /// Checks the server's internal invariants; `Err` names the first one violated. For tests
    /// and debugging; linear in the table sizes.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        crate::run::check_invariants(self)
    }
}
