//! Guests, their traps and mappings: `guest_create`, `guest_set_trap`, `vmar_map`.
//!
//! Decisions beyond Zircon:
//! - `guest_create` accepts a resource of kind `ZX_RSRC_KIND_SYSTEM` whose range covers the
//!   hypervisor base (base 0, size >= 1), as Zircon's ranged-resource check does; anything else
//!   is `ZX_ERR_ACCESS_DENIED`. The 254-guest limit (VMIDs 1..=254) is `ZX_ERR_NO_RESOURCES`.
//! - `guest_set_trap` step 6 (unmap) can only unmap whole frames. A trap never removes memory
//!   outside its range: if a mapping intersects the range without lying wholly inside it (a
//!   2 MiB or 1 GiB frame that the trap covers only in part), the call fails with
//!   `ZX_ERR_NOT_SUPPORTED` before anything is unmapped (back trappable ranges with 4 KiB frames:
//!   docs/GUESTS.md). Otherwise every mapping in the range is unmapped, even if step 7 then
//!   fails (Zircon's side effect).
//! - `vmar_unmap` and `vmar_protect` work on whole frames too, with the same
//!   `ZX_ERR_NOT_SUPPORTED` for a range that would split one. `vmar_unmap` of a range without any
//!   mapping is `ZX_ERR_NOT_FOUND`; `vmar_protect` needs every page of the range mapped
//!   (`ZX_ERR_NOT_FOUND` otherwise). Protection changes remap each frame with seL4 rights from
//!   `caps::sel4::frame_mapping` (through the backend), masked by the kernel with the frame
//!   capability's own rights.
//! - `vmar_map` maps exactly one frame: `ZX_VM_SPECIFIC` is required (`ZX_ERR_NOT_SUPPORTED`
//!   without it), `len` must be the frame's size and `vmar_offset` a multiple of it, the range
//!   must lie in [0, 2^36), and it may overlap neither a trap nor another mapping
//!   (`ZX_ERR_ALREADY_EXISTS`, as Zircon's SPECIFIC without OVERWRITE).
//!   Order: VMAR handle with the rights the permissions need; option bits; frame present;
//!   size/alignment/range; overlap; capacity; backend.
//! - `vmar_map_frames` maps `count` frames of `len` bytes from consecutive slots of a sent
//!   CNode, back to back, in one call, all or nothing. Order: VMAR handle with the rights the
//!   permissions need; option bits (INVALID_ARGS); `ZX_VM_SPECIFIC` (NOT_SUPPORTED); CNode
//!   present, `count` > 0, `len` a power of two >= 4 KiB, `vmar_offset` a multiple of it, the
//!   whole range inside [0, 2^36) (INVALID_ARGS); overlap with a trap or mapping
//!   (ALREADY_EXISTS); `count` above the free mapping capacity (NO_MEMORY); then per frame:
//!   taken from the CNode and probed (INVALID_ARGS for an empty slot, a non-frame or a frame of
//!   another size), mapped; on any failure every frame this call mapped is unmapped again.

use caps::{ObjType, Operation, Rights};
use vcpu_protocol::layout::{
    GUEST_OPT_DIRECT, GUEST_OPT_NORMAL, GUEST_PHYS_SIZE, GUEST_TRAP_BELL, GUEST_TRAP_IO,
    GUEST_TRAP_MEM, RSRC_KIND_SYSTEM, RSRC_SYSTEM_HYPERVISOR_BASE, VM_PERM_EXECUTE, VM_PERM_READ,
    VM_PERM_WRITE, VM_SPECIFIC,
};
use vcpu_protocol::message::{
    GuestCreateReply, GuestCreateReq, GuestSetTrapReq, MapReply, VmarMapFramesReq, VmarMapReq,
    VmarProtectReq, VmarUnmapReq,
};
use vcpu_protocol::{ClientId, Reply, ReplyPayload, Sender, Status};

use crate::backend::{Backend, MapPerms};
use crate::handle::{HandleEntry, ObjRef};
use crate::port::BellPool;
use crate::quota::Kind;
use crate::server::Server;
use crate::{MAX_MAPPINGS, MAX_VCPUS_PER_GUEST};

const PAGE_SIZE: u64 = 4096;

/// A resource object (only the hypervisor resource authorises anything here).
pub(crate) struct Resource {
    pub(crate) kind: u32,
    pub(crate) base: u64,
    pub(crate) size: u64,
    pub(crate) handles: u32,
}

impl Resource {
    /// True if this resource authorises `zx_guest_create`.
    fn permits_guest_create(&self) -> bool {
        // [base, base + size) must contain the hypervisor base, which is 0.
        self.kind == RSRC_KIND_SYSTEM && self.base == RSRC_SYSTEM_HYPERVISOR_BASE && self.size >= 1
    }
}

/// VPIDs 1..=7 with next-fit allocation (a freed id is not reused at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VpidAllocator {
    used: u8,
    next: u8,
}

impl VpidAllocator {
    const fn new() -> VpidAllocator {
        VpidAllocator { used: 0, next: 1 }
    }

    /// The first free id at or after the hint, wrapping.
    pub(crate) fn alloc(&mut self) -> Option<u8> {
        let n = MAX_VCPUS_PER_GUEST as u8;
        for i in 0..n {
            let id = (self.next - 1 + i) % n + 1;
            if self.used & (1 << id) == 0 {
                self.used |= 1 << id;
                self.next = id % n + 1;
                return Some(id);
            }
        }
        None
    }

    pub(crate) fn free(&mut self, id: u8) {
        if (1..=MAX_VCPUS_PER_GUEST as u8).contains(&id) {
            self.used &= !(1 << id);
        }
    }
}

/// A guest: its address space and reference counts.
pub(crate) struct Guest<G> {
    pub(crate) backend: G,
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) handles: u32,
    pub(crate) vmar_handles: u32,
    pub(crate) vcpus: u8,
    pub(crate) vpids: VpidAllocator,
}

/// Trap kinds served on arm64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrapKind {
    Bell,
    Mem,
}

/// A trap of one guest.
pub(crate) struct Trap {
    pub(crate) guest: u16,
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) kind: TrapKind,
    pub(crate) addr: u64,
    pub(crate) size: u64,
    pub(crate) port: Option<u16>,
    pub(crate) key: u64,
    /// A BELL trap's own pool of packets (slot in the server's pool table; Zircon's per-trap
    /// pool of `kMaxPacketsPerRange`); `None` for a MEM trap.
    pub(crate) pool: Option<u16>,
}

impl Trap {
    pub(crate) fn contains(&self, addr: u64) -> bool {
        addr >= self.addr && addr - self.addr < self.size
    }
}

/// A frame mapped into a guest.
pub(crate) struct Mapping<F> {
    pub(crate) guest: u16,
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) gpa: u64,
    pub(crate) size: u64,
    pub(crate) frame: F,
}

/// True if `[a, a + a_len)` and `[b, b + b_len)` intersect (lengths are non-zero and the ranges
/// do not overflow).
fn intersects(a: u64, a_len: u64, b: u64, b_len: u64) -> bool {
    a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

impl<B: Backend> Server<B> {
    /// `zx_guest_create` (V3 order: resource, options, VMID, capacity, backend).
    pub(crate) fn guest_create(&mut self, sender: Sender, req: GuestCreateReq) -> Reply {
        let op = Operation::GuestCreate;
        let found = self.lookup_required(sender.client, op, 0, req.resource, Rights::NONE)?;
        let ObjRef::Resource(r) = found.entry.obj else {
            return Err(Status::ERR_WRONG_TYPE);
        };
        let permitted = self
            .resources
            .get(r)
            .is_some_and(Resource::permits_guest_create);
        if !permitted {
            return Err(Status::ERR_ACCESS_DENIED);
        }
        match req.options {
            GUEST_OPT_NORMAL => {}
            GUEST_OPT_DIRECT => return Err(Status::ERR_NOT_SUPPORTED),
            _ => return Err(Status::ERR_INVALID_ARGS),
        }
        if self.guests.is_full() {
            return Err(Status::ERR_NO_RESOURCES);
        }
        self.has_room(sender.client, Kind::Guest)?;
        if self.free_handle_slots(sender.client) < 2 {
            return Err(Status::ERR_NO_MEMORY);
        }
        let backend = self.backend.create_guest(sender.client)?;
        let guest = Guest {
            backend,
            payer: sender.client,
            handles: 1,
            vmar_handles: 1,
            vcpus: 0,
            vpids: VpidAllocator::new(),
        };
        let g = match self.guests.insert(guest) {
            Ok((g, _)) => g,
            Err(guest) => {
                self.backend.destroy_guest(guest.backend);
                return Err(Status::ERR_NO_RESOURCES);
            }
        };
        // Cannot fail: room was checked.
        self.charge(sender.client, Kind::Guest)?;
        let guest_handle = self.install(
            sender.client,
            HandleEntry {
                obj: ObjRef::Guest(g),
                rights: ObjType::Guest.default_rights(),
            },
        );
        let vmar_handle = self.install(
            sender.client,
            HandleEntry {
                obj: ObjRef::Vmar(g),
                rights: ObjType::Vmar.default_rights(),
            },
        );
        match (guest_handle, vmar_handle) {
            (Ok(guest), Ok(vmar)) => {
                Ok(ReplyPayload::GuestCreate(GuestCreateReply { guest, vmar }))
            }
            // Unreachable: two slots were checked free.
            _ => Err(Status::ERR_NO_MEMORY),
        }
    }

    /// `zx_guest_set_trap` (V3 order, arm64).
    pub(crate) fn guest_set_trap(&mut self, sender: Sender, req: GuestSetTrapReq) -> Reply {
        let op = Operation::GuestSetTrap;
        let guest = self.lookup_required(sender.client, op, 0, req.guest, Rights::NONE)?;
        let port = self.lookup(sender.client, op, 1, req.port, Rights::NONE)?;
        let ObjRef::Guest(g) = guest.entry.obj else {
            return Err(Status::ERR_WRONG_TYPE);
        };
        let port = match port.map(|p| p.entry.obj) {
            None => None,
            Some(ObjRef::Port(p)) => Some(p),
            Some(_) => return Err(Status::ERR_WRONG_TYPE),
        };
        let kind = match (req.kind, port) {
            (GUEST_TRAP_MEM, None) => TrapKind::Mem,
            (GUEST_TRAP_BELL, Some(_)) => TrapKind::Bell,
            (GUEST_TRAP_IO, _) => return Err(Status::ERR_NOT_SUPPORTED),
            _ => return Err(Status::ERR_INVALID_ARGS),
        };
        if req.addr % PAGE_SIZE != 0 || req.size % PAGE_SIZE != 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        let in_space = req
            .addr
            .checked_add(req.size)
            .is_some_and(|end| end <= GUEST_PHYS_SIZE);
        if req.size == 0 || !in_space {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if self.splits_a_frame(g, req.addr, req.size) {
            return Err(Status::ERR_NOT_SUPPORTED);
        }
        self.unmap_range(g, req.addr, req.size);
        if self.traps.is_full() || (kind == TrapKind::Bell && self.bell_pools.is_full()) {
            return Err(Status::ERR_NO_MEMORY);
        }
        self.has_room(sender.client, Kind::Trap)?;
        let overlap = self
            .traps
            .iter()
            .any(|(_, t)| t.guest == g && intersects(t.addr, t.size, req.addr, req.size));
        if overlap {
            return Err(Status::ERR_ALREADY_EXISTS);
        }
        let trap = Trap {
            guest: g,
            payer: sender.client,
            kind,
            addr: req.addr,
            size: req.size,
            port,
            key: req.key,
            pool: None,
        };
        let (t, _) = self.traps.insert(trap).map_err(|_| Status::ERR_NO_MEMORY)?;
        if kind == TrapKind::Bell {
            // Cannot fail: room was checked.
            match self.bell_pools.insert(BellPool::new()) {
                Ok((pool, _)) => {
                    if let Some(trap) = self.traps.get_mut(t) {
                        trap.pool = Some(pool);
                    }
                }
                Err(_) => {
                    self.traps.remove(t);
                    return Err(Status::ERR_NO_MEMORY);
                }
            }
        }
        // Cannot fail: room was checked.
        self.charge(sender.client, Kind::Trap)?;
        if let Some(p) = port.and_then(|p| self.ports.get_mut(p)) {
            p.traps += 1;
        }
        Ok(ReplyPayload::Empty)
    }

    /// True if a mapping of guest `g` intersects `[addr, addr + size)` without lying wholly
    /// inside it: acting on the range would have to split a frame.
    fn splits_a_frame(&self, g: u16, addr: u64, size: u64) -> bool {
        self.mappings.iter().any(|(_, m)| {
            m.guest == g
                && intersects(m.gpa, m.size, addr, size)
                && (m.gpa < addr || m.gpa + m.size > addr + size)
        })
    }

    /// `zx_vmar_unmap` on a guest VMAR: removes the whole frames in `[addr, addr + len)`.
    /// Order: VMAR handle; alignment, length 0, range in [0, 2^36) (INVALID_ARGS); a frame only
    /// partly in the range (NOT_SUPPORTED); no mapping in the range (NOT_FOUND).
    pub(crate) fn vmar_unmap(&mut self, sender: Sender, req: VmarUnmapReq) -> Reply {
        let g = self.vmar_range_check(sender, Operation::VmarUnmap, Rights::NONE, req.vmar)?;
        self.check_range(g, req.addr, req.len)?;
        let any = self
            .mappings
            .iter()
            .any(|(_, m)| m.guest == g && intersects(m.gpa, m.size, req.addr, req.len));
        if !any {
            return Err(Status::ERR_NOT_FOUND);
        }
        self.unmap_range(g, req.addr, req.len);
        Ok(ReplyPayload::Empty)
    }

    /// `zx_vmar_protect` on a guest VMAR: new permissions for the whole frames in
    /// `[addr, addr + len)`. Order: VMAR handle with the rights the permissions need; unknown
    /// option bits or WRITE without READ (INVALID_ARGS); alignment, length 0, range
    /// (INVALID_ARGS); a frame only partly in the range (NOT_SUPPORTED); a page of the range not
    /// mapped (NOT_FOUND); then each frame is remapped (a backend failure stops there).
    pub(crate) fn vmar_protect(&mut self, sender: Sender, req: VmarProtectReq) -> Reply {
        let perms = MapPerms {
            read: req.options & VM_PERM_READ != 0,
            write: req.options & VM_PERM_WRITE != 0,
            execute: req.options & VM_PERM_EXECUTE != 0,
        };
        let extra = Operation::vmar_map_rights(perms.read, perms.write, perms.execute);
        let g = self.vmar_range_check(sender, Operation::VmarProtect, extra, req.vmar)?;
        let known = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE;
        if req.options & !known != 0 || (perms.write && !perms.read) {
            return Err(Status::ERR_INVALID_ARGS);
        }
        self.check_range(g, req.addr, req.len)?;
        let mapped: u64 = self
            .mappings
            .iter()
            .filter(|(_, m)| m.guest == g && intersects(m.gpa, m.size, req.addr, req.len))
            .map(|(_, m)| m.size)
            .sum();
        if mapped != req.len {
            return Err(Status::ERR_NOT_FOUND);
        }
        let Some(guest) = self.guests.get_mut(g) else {
            return Err(Status::ERR_BAD_HANDLE);
        };
        for m in self
            .mappings
            .slots_where(|m| m.guest == g && intersects(m.gpa, m.size, req.addr, req.len))
        {
            if let Some(mapping) = self.mappings.get(m) {
                self.backend.protect_frame(
                    &mut guest.backend,
                    mapping.gpa,
                    &mapping.frame,
                    perms,
                )?;
            }
        }
        Ok(ReplyPayload::Empty)
    }

    /// The VMAR handle check of `vmar_unmap` / `vmar_protect`: the guest slot.
    fn vmar_range_check(
        &self,
        sender: Sender,
        op: Operation,
        extra: Rights,
        vmar: vcpu_protocol::HandleValue,
    ) -> Result<u16, Status> {
        let found = self.lookup_required(sender.client, op, 0, vmar, extra)?;
        match found.entry.obj {
            ObjRef::Vmar(g) => Ok(g),
            _ => Err(Status::ERR_WRONG_TYPE),
        }
    }

    /// Range checks shared by `vmar_unmap` and `vmar_protect`: page-aligned address and length,
    /// length > 0, inside [0, 2^36) (INVALID_ARGS), and no frame split (NOT_SUPPORTED).
    fn check_range(&self, g: u16, addr: u64, len: u64) -> Result<(), Status> {
        let in_space = addr
            .checked_add(len)
            .is_some_and(|end| end <= GUEST_PHYS_SIZE);
        if addr % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 || len == 0 || !in_space {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if self.splits_a_frame(g, addr, len) {
            return Err(Status::ERR_NOT_SUPPORTED);
        }
        Ok(())
    }

    /// Unmaps (and deletes) every frame of guest `g` that intersects `[addr, addr + size)`.
    fn unmap_range(&mut self, g: u16, addr: u64, size: u64) {
        let Some(guest) = self.guests.get_mut(g) else {
            return;
        };
        let mut payers: heapless::Vec<ClientId, MAX_MAPPINGS> = heapless::Vec::new();
        for m in self
            .mappings
            .slots_where(|m| m.guest == g && intersects(m.gpa, m.size, addr, size))
        {
            if let Some(mapping) = self.mappings.remove(m) {
                // Cannot overflow: at most MAX_MAPPINGS mappings exist.
                let _ = payers.push(mapping.payer);
                self.backend
                    .unmap_frame(&mut guest.backend, mapping.gpa, &mapping.frame);
                self.backend.delete_frame(mapping.frame);
            }
        }
        for payer in payers {
            self.refund(payer, Kind::Mapping);
        }
    }

    /// Removes trap `t`: its pool of queued packets goes with it (user packets on the port stay),
    /// and it drops its port reference.
    pub(crate) fn remove_trap(&mut self, t: u16) {
        let Some(trap) = self.traps.remove(t) else {
            return;
        };
        self.refund(trap.payer, Kind::Trap);
        if let Some(pool) = trap.pool {
            self.bell_pools.remove(pool);
        }
        if let Some(p) = trap.port {
            if let Some(port) = self.ports.get_mut(p) {
                port.traps = port.traps.saturating_sub(1);
            }
            self.maybe_destroy_port(p);
        }
    }

    /// `zx_vmar_map` of one frame into a guest VMAR. The frame is always consumed.
    pub(crate) fn vmar_map(
        &mut self,
        sender: Sender,
        req: VmarMapReq,
        frame: Option<B::Frame>,
    ) -> Reply {
        match self.vmar_map_check(sender, req, frame.as_ref()) {
            Ok((g, perms)) => {
                let Some(frame) = frame else {
                    return Err(Status::ERR_INVALID_ARGS);
                };
                let Some(guest) = self.guests.get_mut(g) else {
                    self.backend.delete_frame(frame);
                    return Err(Status::ERR_BAD_HANDLE);
                };
                if let Err(s) =
                    self.backend
                        .map_frame(&mut guest.backend, req.vmar_offset, &frame, perms)
                {
                    self.backend.delete_frame(frame);
                    return Err(s);
                }
                let mapping = Mapping {
                    guest: g,
                    payer: sender.client,
                    gpa: req.vmar_offset,
                    size: req.len,
                    frame,
                };
                if let Err(m) = self.mappings.insert(mapping) {
                    // Unreachable: capacity was checked.
                    self.backend
                        .unmap_frame(&mut guest.backend, m.gpa, &m.frame);
                    self.backend.delete_frame(m.frame);
                    return Err(Status::ERR_NO_MEMORY);
                }
                // Cannot fail: room was checked.
                self.charge(sender.client, Kind::Mapping)?;
                Ok(ReplyPayload::Map(MapReply {
                    mapped_addr: req.vmar_offset,
                }))
            }
            Err(s) => {
                if let Some(f) = frame {
                    self.backend.delete_frame(f);
                }
                Err(s)
            }
        }
    }

    /// `vmar_map_frames`: `count` frames from the sent CNode `source` (always given back).
    pub(crate) fn vmar_map_frames(
        &mut self,
        sender: Sender,
        req: VmarMapFramesReq,
        source: Option<B::Frame>,
    ) -> Reply {
        let r = self.map_frames(sender, req, source.as_ref());
        if let Some(s) = source {
            self.backend.delete_frame(s);
        }
        r.map(|()| {
            ReplyPayload::Map(MapReply {
                mapped_addr: req.vmar_offset,
            })
        })
    }

    fn map_frames(
        &mut self,
        sender: Sender,
        req: VmarMapFramesReq,
        source: Option<&B::Frame>,
    ) -> Result<(), Status> {
        let perms = MapPerms {
            read: req.options & VM_PERM_READ != 0,
            write: req.options & VM_PERM_WRITE != 0,
            execute: req.options & VM_PERM_EXECUTE != 0,
        };
        let extra = Operation::vmar_map_rights(perms.read, perms.write, perms.execute);
        let g = self.vmar_range_check(sender, Operation::VmarMapFrames, extra, req.vmar)?;
        let known = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;
        if req.options & !known != 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if req.options & VM_SPECIFIC == 0 {
            return Err(Status::ERR_NOT_SUPPORTED);
        }
        let source = source.ok_or(Status::ERR_INVALID_ARGS)?;
        let total = u64::from(req.count).checked_mul(req.len);
        let in_space = total
            .and_then(|t| req.vmar_offset.checked_add(t))
            .is_some_and(|end| end <= GUEST_PHYS_SIZE);
        if req.count == 0
            || req.len < PAGE_SIZE
            || !req.len.is_power_of_two()
            || req.vmar_offset % req.len != 0
            || !in_space
        {
            return Err(Status::ERR_INVALID_ARGS);
        }
        let (gpa, len) = (req.vmar_offset, req.len * u64::from(req.count));
        let overlap = self
            .traps
            .iter()
            .any(|(_, t)| t.guest == g && intersects(t.addr, t.size, gpa, len))
            || self
                .mappings
                .iter()
                .any(|(_, m)| m.guest == g && intersects(m.gpa, m.size, gpa, len));
        if overlap {
            return Err(Status::ERR_ALREADY_EXISTS);
        }
        if MAX_MAPPINGS - self.mappings.len() < req.count as usize {
            return Err(Status::ERR_NO_MEMORY);
        }
        // The client's mapping quota must hold all of them.
        let room = self.client(sender.client).map_or(0, |c| {
            c.limits
                .of(Kind::Mapping)
                .saturating_sub(c.usage.of(Kind::Mapping))
        });
        if u32::from(room) < req.count {
            return Err(Kind::Mapping.exhausted());
        }
        let mut done: heapless::Vec<u16, MAX_MAPPINGS> = heapless::Vec::new();
        for i in 0..u64::from(req.count) {
            let at = gpa + i * req.len;
            let slot = req.first_slot.wrapping_add(i);
            match self.map_one_from(g, sender.client, source, slot, at, req.len, perms) {
                // Cannot overflow: count <= free capacity <= MAX_MAPPINGS.
                Ok(m) => {
                    let _ = done.push(m);
                }
                Err(s) => {
                    self.unmap_slots(g, &done);
                    return Err(s);
                }
            }
        }
        Ok(())
    }

    /// Unmaps and deletes the mappings in `slots` (of guest `g`).
    fn unmap_slots(&mut self, g: u16, slots: &[u16]) {
        for &m in slots {
            let Some(mapping) = self.mappings.remove(m) else {
                continue;
            };
            if let Some(guest) = self.guests.get_mut(g) {
                self.backend
                    .unmap_frame(&mut guest.backend, mapping.gpa, &mapping.frame);
            }
            self.backend.delete_frame(mapping.frame);
            self.refund(mapping.payer, Kind::Mapping);
        }
    }

    /// Takes slot `slot` of `source` as a frame of `len` bytes and maps it at `at`, charged to
    /// `payer` (room checked by the caller); its mapping slot.
    #[allow(clippy::too_many_arguments)]
    fn map_one_from(
        &mut self,
        g: u16,
        payer: ClientId,
        source: &B::Frame,
        slot: u64,
        at: u64,
        len: u64,
        perms: MapPerms,
    ) -> Result<u16, Status> {
        let frame = self.backend.frame_from(source, slot)?;
        match self.backend.frame_size(&frame) {
            Ok(size) if size == len => {}
            Ok(_) => {
                self.backend.delete_frame(frame);
                return Err(Status::ERR_INVALID_ARGS);
            }
            Err(s) => {
                self.backend.delete_frame(frame);
                return Err(s);
            }
        }
        let Some(guest) = self.guests.get_mut(g) else {
            self.backend.delete_frame(frame);
            return Err(Status::ERR_BAD_HANDLE);
        };
        if let Err(s) = self
            .backend
            .map_frame(&mut guest.backend, at, &frame, perms)
        {
            self.backend.delete_frame(frame);
            return Err(s);
        }
        let mapping = Mapping {
            guest: g,
            payer,
            gpa: at,
            size: len,
            frame,
        };
        match self.mappings.insert(mapping) {
            Ok((m, _)) => match self.charge(payer, Kind::Mapping) {
                Ok(()) => Ok(m),
                // Unreachable: room for every frame of the call was checked.
                Err(s) => {
                    if let Some(mapping) = self.mappings.remove(m) {
                        if let Some(guest) = self.guests.get_mut(g) {
                            self.backend.unmap_frame(
                                &mut guest.backend,
                                mapping.gpa,
                                &mapping.frame,
                            );
                        }
                        self.backend.delete_frame(mapping.frame);
                    }
                    Err(s)
                }
            },
            Err(m) => {
                // Unreachable: capacity was checked.
                self.backend
                    .unmap_frame(&mut guest.backend, m.gpa, &m.frame);
                self.backend.delete_frame(m.frame);
                Err(Status::ERR_NO_MEMORY)
            }
        }
    }

    /// The checks of `vmar_map`, in order; the guest slot and permissions on success.
    fn vmar_map_check(
        &mut self,
        sender: Sender,
        req: VmarMapReq,
        frame: Option<&B::Frame>,
    ) -> Result<(u16, MapPerms), Status> {
        let perms = MapPerms {
            read: req.options & VM_PERM_READ != 0,
            write: req.options & VM_PERM_WRITE != 0,
            execute: req.options & VM_PERM_EXECUTE != 0,
        };
        let extra = Operation::vmar_map_rights(perms.read, perms.write, perms.execute);
        let found = self.lookup_required(sender.client, Operation::VmarMap, 0, req.vmar, extra)?;
        let ObjRef::Vmar(g) = found.entry.obj else {
            return Err(Status::ERR_WRONG_TYPE);
        };
        let known = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;
        if req.options & !known != 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if req.options & VM_SPECIFIC == 0 {
            return Err(Status::ERR_NOT_SUPPORTED);
        }
        let frame = frame.ok_or(Status::ERR_INVALID_ARGS)?;
        let frame_size = self.backend.frame_size(frame)?;
        let in_space = req
            .vmar_offset
            .checked_add(req.len)
            .is_some_and(|end| end <= GUEST_PHYS_SIZE);
        if req.len != frame_size
            || frame_size < PAGE_SIZE
            || !frame_size.is_power_of_two()
            || req.vmar_offset % frame_size != 0
            || !in_space
        {
            return Err(Status::ERR_INVALID_ARGS);
        }
        let (gpa, len) = (req.vmar_offset, req.len);
        let overlap = self
            .traps
            .iter()
            .any(|(_, t)| t.guest == g && intersects(t.addr, t.size, gpa, len))
            || self
                .mappings
                .iter()
                .any(|(_, m)| m.guest == g && intersects(m.gpa, m.size, gpa, len));
        if overlap {
            return Err(Status::ERR_ALREADY_EXISTS);
        }
        if self.mappings.is_full() {
            return Err(Status::ERR_NO_MEMORY);
        }
        self.has_room(sender.client, Kind::Mapping)?;
        Ok((g, perms))
    }
}

#[cfg(test)]
mod tests {
    use super::{VpidAllocator, intersects};

    #[test]
    fn vpids_are_next_fit_and_bounded() {
        let mut a = VpidAllocator::new();
        let ids: std::vec::Vec<u8> = (0..7).filter_map(|_| a.alloc()).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(a.alloc(), None);
        a.free(2);
        a.free(5);
        assert_eq!(a.alloc(), Some(2));
        assert_eq!(a.alloc(), Some(5));
        a.free(0);
        a.free(8);
        let mut b = VpidAllocator::new();
        assert_eq!(b.alloc(), Some(1));
        b.free(1);
        assert_eq!(b.alloc(), Some(2), "a freed id is not reused at once");
    }

    #[test]
    fn ranges() {
        assert!(intersects(0, 4096, 4095, 1));
        assert!(!intersects(0, 4096, 4096, 4096));
        assert!(intersects(4096, 8192, 0, 8192));
    }
}
