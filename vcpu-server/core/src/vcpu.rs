//! VCPUs: `vcpu_create`, `vcpu_enter`, `vcpu_kick`, `vcpu_interrupt`, `vcpu_read_state`,
//! `vcpu_write_state`, `object_get_info(ZX_INFO_VCPU)`.
//!
//! Run states ([`Run`]): `Idle` (no `vcpu_enter` pending; the guest is stopped), `Running`
//! (enter pending, guest running), `Wfi` (enter pending, guest blocked in WFI waiting for an
//! interrupt or a kick), `BellBlocked` (enter pending, guest waiting for port space). Only the
//! owning thread can have an enter pending, so the completion always goes to the owner.
//!
//! Decisions:
//! - `vcpu_interrupt` with vector >= 256 is `ZX_ERR_OUT_OF_RANGE` (the documented behaviour).
//! - `object_get_info` follows Zircon's order: a topic other than `ZX_INFO_VCPU` is
//!   `ZX_ERR_NOT_SUPPORTED` before any handle check (Zircon's topic switch), then the handle
//!   (VCPU with INSPECT), then `buffer_size < 4` is `ZX_ERR_BUFFER_TOO_SMALL`.
//! - Closing the last VCPU handle while its thread is in `vcpu_enter` completes that enter with
//!   `ZX_ERR_CANCELED` (as Zircon cancels a wait on a closed handle) and destroys the VCPU.

use caps::{ObjType, Operation, Rights};
use vcpu_protocol::layout::{
    GUEST_PHYS_SIZE, INFO_VCPU, INFO_VCPU_FLAG_KICKED, VCPU_STATE, VcpuState,
};
use vcpu_protocol::message::{
    HandleReply, InfoVcpu, ObjectGetInfoReq, VcpuCreateReq, VcpuInterruptReq, VcpuStateReq,
};
use vcpu_protocol::{ClientId, HandleValue, Reply, ReplyPayload, Sender, Status, ThreadId};
use zerocopy::FromBytes;

use crate::NUM_VECTORS;
use crate::backend::{Backend, RegSet, Resume, SysReg, VcpuKey};
use crate::handle::{HandleEntry, ObjRef};
use crate::quota::Kind;
use crate::server::{Outcome, Server};
use crate::vgic::Vgic;

/// NZCV: the only PSTATE bits `zx_vcpu_state_t.cpsr` carries.
pub(crate) const CPSR_NZCV: u64 = 0xF000_0000;

/// Where a VCPU's `vcpu_enter` stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    Idle,
    Running,
    Wfi,
    BellBlocked { trap: u16, addr: u64 },
}

/// A VCPU.
pub(crate) struct Vcpu<V> {
    pub(crate) backend: V,
    pub(crate) guest: u16,
    pub(crate) vpid: u8,
    pub(crate) owner: ThreadId,
    /// The client charged for it.
    pub(crate) payer: ClientId,
    pub(crate) handles: u32,
    pub(crate) kicked: bool,
    pub(crate) run: Run,
    /// How to set the guest running again when it is stopped.
    pub(crate) resume: Resume,
    pub(crate) vgic: Vgic,
}

impl<B: Backend> Server<B> {
    /// Looks up the VCPU handle of `op` (argument 0) and returns its slot.
    fn vcpu_arg(&self, sender: Sender, op: Operation, value: HandleValue) -> Result<u16, Status> {
        let found = self.lookup_required(sender.client, op, 0, value, Rights::NONE)?;
        match found.entry.obj {
            ObjRef::Vcpu(v) if self.vcpus.get(v).is_some() => Ok(v),
            ObjRef::Vcpu(_) => Err(Status::ERR_BAD_HANDLE),
            _ => Err(Status::ERR_WRONG_TYPE),
        }
    }

    /// `zx_vcpu_create` (V3 order).
    pub(crate) fn vcpu_create(&mut self, sender: Sender, req: VcpuCreateReq) -> Reply {
        if req.options != 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        let op = Operation::VcpuCreate;
        let found = self.lookup_required(sender.client, op, 0, req.guest, Rights::NONE)?;
        let ObjRef::Guest(g) = found.entry.obj else {
            return Err(Status::ERR_WRONG_TYPE);
        };
        if req.entry >= GUEST_PHYS_SIZE {
            return Err(Status::ERR_INVALID_ARGS);
        }
        if self.vcpus.iter().any(|(_, v)| v.owner == sender.thread) {
            return Err(Status::ERR_BAD_STATE);
        }
        let vpid = self
            .guests
            .get_mut(g)
            .ok_or(Status::ERR_BAD_HANDLE)?
            .vpids
            .alloc()
            .ok_or(Status::ERR_NO_RESOURCES)?;
        let result = self.vcpu_create_with(sender, g, vpid, req.entry);
        if result.is_err() {
            if let Some(guest) = self.guests.get_mut(g) {
                guest.vpids.free(vpid);
            }
        }
        result
    }

    fn vcpu_create_with(&mut self, sender: Sender, g: u16, vpid: u8, entry: u64) -> Reply {
        let (slot, generation) = self.vcpus.vacant().ok_or(Status::ERR_NO_MEMORY)?;
        self.has_room(sender.client, Kind::Vcpu)?;
        if self.free_handle_slots(sender.client) == 0 {
            return Err(Status::ERR_NO_MEMORY);
        }
        let guest = self.guests.get_mut(g).ok_or(Status::ERR_BAD_HANDLE)?;
        let vmpidr = u64::from(vpid - 1) | 1 << 31;
        let key = VcpuKey { slot, generation };
        let backend =
            self.backend
                .create_vcpu(&mut guest.backend, key, entry, vmpidr, sender.client)?;
        guest.vcpus += 1;
        let vcpu = Vcpu {
            backend,
            guest: g,
            vpid,
            owner: sender.thread,
            payer: sender.client,
            handles: 1,
            kicked: false,
            run: Run::Idle,
            resume: Resume::Start,
            vgic: Vgic::new(self.backend.num_list_registers()),
        };
        let (v, _) = match self.vcpus.insert(vcpu) {
            Ok(x) => x,
            Err(vcpu) => {
                // Unreachable: a slot was vacant.
                self.backend.destroy_vcpu(vcpu.backend);
                guest.vcpus -= 1;
                return Err(Status::ERR_NO_MEMORY);
            }
        };
        // Cannot fail: room was checked.
        self.charge(sender.client, Kind::Vcpu)?;
        let entry = HandleEntry {
            obj: ObjRef::Vcpu(v),
            rights: ObjType::Vcpu.default_rights(),
        };
        let handle = self.install(sender.client, entry)?;
        Ok(ReplyPayload::Handle(HandleReply {
            handle,
            reserved: 0,
        }))
    }

    /// `zx_vcpu_enter`: CANCELED at once if kicked, else resume the guest and defer.
    pub(crate) fn vcpu_enter(&mut self, sender: Sender, handle: HandleValue) -> Outcome {
        let v = match self.vcpu_arg(sender, Operation::VcpuEnter, handle) {
            Ok(v) => v,
            Err(s) => return Outcome::Reply(Err(s)),
        };
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return Outcome::Reply(Err(Status::ERR_BAD_HANDLE));
        };
        // `Run` is always Idle here: the owner's previous call was abandoned by dispatch.
        if vcpu.owner != sender.thread || vcpu.run != Run::Idle {
            return Outcome::Reply(Err(Status::ERR_BAD_STATE));
        }
        if vcpu.kicked {
            vcpu.kicked = false;
            return Outcome::Reply(Err(Status::ERR_CANCELED));
        }
        match self.try_resume(v) {
            Ok(()) => Outcome::Deferred,
            Err(s) => Outcome::Reply(Err(s)),
        }
    }

    /// `zx_vcpu_kick`.
    pub(crate) fn vcpu_kick(&mut self, sender: Sender, handle: HandleValue) -> Reply {
        let v = self.vcpu_arg(sender, Operation::VcpuKick, handle)?;
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return Err(Status::ERR_BAD_HANDLE);
        };
        vcpu.kicked = true;
        match vcpu.run {
            Run::Running => {
                // Even if stopping fails, the enter is answered; a later fault is held.
                let _ = self.backend.stop_vcpu(&mut vcpu.backend);
                vcpu.resume = Resume::Restart;
                vcpu.kicked = false;
                self.finish_enter(v, Err(Status::ERR_CANCELED));
            }
            Run::Wfi => {
                vcpu.kicked = false;
                self.finish_enter(v, Err(Status::ERR_CANCELED));
            }
            // A VCPU waiting for port space is not woken (Zircon); the kick is reported once
            // the doorbell is delivered. An idle VCPU reports it on its next enter.
            Run::BellBlocked { .. } | Run::Idle => {}
        }
        Ok(ReplyPayload::Empty)
    }

    /// `zx_vcpu_interrupt`.
    pub(crate) fn vcpu_interrupt(&mut self, sender: Sender, req: VcpuInterruptReq) -> Reply {
        let v = self.vcpu_arg(sender, Operation::VcpuInterrupt, req.vcpu)?;
        if req.vector as usize >= NUM_VECTORS {
            return Err(Status::ERR_OUT_OF_RANGE);
        }
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return Err(Status::ERR_BAD_HANDLE);
        };
        vcpu.vgic.raise(req.vector as u16);
        let waiting = vcpu.run == Run::Wfi;
        self.refill_lrs(v);
        if waiting {
            self.continue_guest(v);
        }
        Ok(ReplyPayload::Empty)
    }

    /// `zx_vcpu_read_state` (V3 order: handle, kind/size, thread).
    pub(crate) fn vcpu_read_state(&mut self, sender: Sender, req: VcpuStateReq) -> Reply {
        let v = self.vcpu_arg(sender, Operation::VcpuReadState, req.vcpu)?;
        if req.kind != VCPU_STATE || req.buffer_size as usize != size_of::<VcpuState>() {
            return Err(Status::ERR_INVALID_ARGS);
        }
        self.check_owner_idle(sender, v)?;
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        let regs = self.backend.read_regs(&mut vcpu.backend)?;
        let sp = self.backend.read_sysreg(&mut vcpu.backend, SysReg::SpEl1)?;
        Ok(ReplyPayload::State(VcpuState {
            x: regs.x,
            sp,
            cpsr: (regs.spsr & CPSR_NZCV) as u32,
            padding1: [0; 4],
        }))
    }

    /// `zx_vcpu_write_state` (V3 order: handle, kind, size, copy-in, thread).
    pub(crate) fn vcpu_write_state(
        &mut self,
        sender: Sender,
        req: VcpuStateReq,
        buf: &[u8],
    ) -> Reply {
        let v = self.vcpu_arg(sender, Operation::VcpuWriteState, req.vcpu)?;
        let size = req.buffer_size as usize;
        match req.kind {
            VCPU_STATE => {
                if size != size_of::<VcpuState>() {
                    return Err(Status::ERR_INVALID_ARGS);
                }
                let state =
                    VcpuState::read_from_bytes(buf).map_err(|_| Status::ERR_INVALID_ARGS)?;
                self.check_owner_idle(sender, v)?;
                let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
                // Every x register is replaced: only pc, sp_el0 and PSTATE need reading.
                let mut regs = self.backend.read_regs_in(&mut vcpu.backend, RegSet::PC)?;
                regs.x = state.x;
                regs.spsr |= u64::from(state.cpsr) & CPSR_NZCV;
                self.backend.write_regs(&mut vcpu.backend, &regs)?;
                self.backend
                    .write_sysreg(&mut vcpu.backend, SysReg::SpEl1, state.sp)?;
                Ok(ReplyPayload::Empty)
            }
            // ZX_VCPU_IO: a wrong size, a short buffer and arm64 itself (no port I/O) all give
            // INVALID_ARGS, without a thread check. Any other kind: INVALID_ARGS.
            _ => Err(Status::ERR_INVALID_ARGS),
        }
    }

    /// `ZX_ERR_BAD_STATE` unless `sender` is the thread of VCPU `v`. The VCPU is never running
    /// then, because the owner's pending enter was abandoned by dispatch.
    fn check_owner_idle(&self, sender: Sender, v: u16) -> Result<(), Status> {
        let vcpu = self.vcpus.get(v).ok_or(Status::ERR_BAD_HANDLE)?;
        if vcpu.owner != sender.thread || vcpu.run != Run::Idle {
            return Err(Status::ERR_BAD_STATE);
        }
        Ok(())
    }

    /// `zx_object_get_info(ZX_INFO_VCPU)`.
    pub(crate) fn object_get_info(&mut self, sender: Sender, req: ObjectGetInfoReq) -> Reply {
        if req.topic != INFO_VCPU {
            return Err(Status::ERR_NOT_SUPPORTED);
        }
        let v = self.vcpu_arg(sender, Operation::ObjectGetInfo, req.handle)?;
        if (req.buffer_size as usize) < size_of::<u32>() {
            return Err(Status::ERR_BUFFER_TOO_SMALL);
        }
        let kicked = self.vcpus.get(v).is_some_and(|x| x.kicked);
        Ok(ReplyPayload::InfoVcpu(InfoVcpu {
            flags: if kicked { INFO_VCPU_FLAG_KICKED } else { 0 },
            reserved: 0,
        }))
    }

    /// Destroys VCPU `v` (its last handle is gone): completes a pending enter with
    /// `ZX_ERR_CANCELED`, destroys the kernel objects, frees the VPID, and lets the guest go if
    /// nothing else holds it.
    pub(crate) fn destroy_vcpu(&mut self, v: u16) {
        if self.vcpus.get(v).is_some_and(|x| x.run != Run::Idle) {
            self.finish_enter(v, Err(Status::ERR_CANCELED));
        }
        let Some(vcpu) = self.vcpus.remove(v) else {
            return;
        };
        self.refund(vcpu.payer, Kind::Vcpu);
        self.backend.destroy_vcpu(vcpu.backend);
        if let Some(guest) = self.guests.get_mut(vcpu.guest) {
            guest.vpids.free(vcpu.vpid);
            guest.vcpus = guest.vcpus.saturating_sub(1);
        }
        self.maybe_destroy_guest(vcpu.guest);
    }
}
