//! Guest exits: what the server does with each [`GuestExit`] (Zircon V3 arm64 `vmexit`
//! semantics, spec §3.2-3.5, adapted to seL4 faults).
//!
//! Every fault message means the VCPU's thread is blocked on a fault, so the core first asks
//! the backend to keep the reply capability ([`Backend::take_fault`]). Then:
//! - WFE: pc += 4, resume.
//! - WFI: pc += 4; resume at once if a vector is pending or in a list register, or if the
//!   guest's virtual timer is enabled and unmasked (deviation: the server keeps no clock, so an
//!   armed timer makes WFI a resume rather than a sleep until the deadline; the timer PPI then
//!   arrives as a VPPI event while the guest runs). Otherwise the VCPU waits, unanswered, until
//!   `vcpu_interrupt` (resume) or `vcpu_kick` (enter returns `ZX_ERR_CANCELED`).
//! - SMC (pc += 4 first): imm != 0 -> x0 = -1; PSCI_VERSION -> x0 = 2 (0.2); CPU_ON (SMC64
//!   id 0xC400_0003 only) -> x0 = 0 and enter returns `ZX_OK` with a GUEST_VCPU STARTUP packet
//!   (id = x1, entry = x2); CPU_OFF -> `ZX_ERR_STOP`; SYSTEM_OFF -> `ZX_ERR_UNAVAILABLE`;
//!   SYSTEM_RESET -> `ZX_ERR_CANCELED`; any other function -> x0 = -1.
//! - Stage-2 abort in a trap: instruction fetch -> `ZX_ERR_NOT_FOUND` (pc unchanged). Data
//!   access: pc += 4 first; BELL read -> `ZX_ERR_NOT_SUPPORTED`, BELL write -> doorbell (see
//!   [`crate::port`]) and resume; MEM without ISV -> `ZX_ERR_IO_DATA_INTEGRITY`, else enter
//!   returns `ZX_OK` with a GUEST_MEM packet.
//! - Stage-2 abort outside traps and mappings -> `ZX_ERR_NOT_FOUND`; inside a mapping (a
//!   permission fault, since mappings are installed eagerly) -> `ZX_ERR_ACCESS_DENIED`
//!   (Zircon's page-fault status; inferred). pc unchanged, so the next enter retries the access.
//! - HVC (UnknownSyscall): pc += 4 (Zircon's ELR for HVC is the next instruction), then
//!   `ZX_ERR_NOT_SUPPORTED`; the next enter continues after the HVC.
//! - Other system registers, other exception classes, UserException, CapFault and malformed
//!   messages: `ZX_ERR_NOT_SUPPORTED` with pc unchanged (the next enter retries, as in Zircon).
//! - VPPI event 27: vector 27 becomes pending; the kernel keeps the timer masked until the
//!   server acknowledges it (`AckVPPI`) on the maintenance exit of the LR that held 27.
//! - VGIC maintenance: the named LR is free again (an unknown index frees nothing); resume.
//!
//! Each resume refills list registers and checks the kick flag first. An exit from a VCPU with
//! no enter pending (possible only if stopping it failed) is held: the next enter resumes it
//! (re-executing the trapping instruction); only its vGIC bookkeeping (VPPI, maintenance) is
//! applied at once.

use vcpu_protocol::layout::{PacketGuestMem, PortPacket};
use vcpu_protocol::{ReplyPayload, Status};

use crate::backend::{Backend, GuestRegs, RegSet, SysReg};
use crate::exit::{DataAbort, GuestExit};
use crate::guest::TrapKind;
use crate::port::{Bell, mem_packet, startup_packet};
use crate::server::{Completions, Server};
use crate::vcpu::Run;
use crate::vgic::TIMER_VECTOR;

/// PSCI function ids (SMC calling convention, w0).
mod psci {
    pub const VERSION: u32 = 0x8400_0000;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON_64: u32 = 0xC400_0003;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    /// PSCI 0.2.
    pub const VERSION_0_2: u64 = 2;
    /// `PSCI_RET_NOT_SUPPORTED` (-1).
    pub const NOT_SUPPORTED: u64 = u64::MAX;
}

/// CNTV_CTL_EL0 bits.
const CNTV_ENABLE: u64 = 1 << 0;
const CNTV_IMASK: u64 = 1 << 1;

/// What to do after an exit. Small on purpose (a packet at most, not a whole `Reply`): it is
/// returned and moved on every exit.
enum Action {
    /// Let the guest run again (after the kick check).
    Resume,
    /// WFI with nothing to wake it: keep the fault unanswered.
    Wait,
    /// A doorbell found no room: wait for port space.
    BellBlocked { trap: u16, addr: u64 },
    /// End the pending enter with this status; the guest stays stopped.
    Fail(Status),
    /// End the pending enter with `ZX_OK` and this packet; the guest stays stopped.
    Packet(PortPacket),
}

impl<B: Backend> Server<B> {
    /// Handles a fault message from the VCPU `(slot, generation)` (the badge's fields). Returns
    /// the replies for deferred callers (the VCPU's enter, a `port_wait` given a doorbell). A
    /// stale or unknown VCPU yields no completions and no backend call (the transport then drops
    /// the fault's reply capability).
    pub fn handle_guest_exit(
        &mut self,
        slot: u16,
        generation: u16,
        exit: GuestExit,
    ) -> Completions {
        self.serve_guest_exit(slot, generation, exit);
        core::mem::take(&mut self.completions)
    }

    /// [`Server::handle_guest_exit`] without moving the completions out (see
    /// [`Server::deliver_completions`]).
    pub fn serve_guest_exit(&mut self, slot: u16, generation: u16, exit: GuestExit) {
        if let Some(vcpu) = self.vcpus.get_checked_mut(slot, generation) {
            self.backend.take_fault(&mut vcpu.backend);
            vcpu.resume = crate::backend::Resume::Fault;
            if vcpu.run == Run::Running {
                let action = self.exit_action(slot, exit).unwrap_or_else(Action::Fail);
                self.apply(slot, action);
            } else if matches!(exit, GuestExit::Vppi { .. } | GuestExit::Maintenance { .. }) {
                // Held, but the interrupt bookkeeping must not be lost (the kernel keeps the
                // timer masked until it is acknowledged). A backend error is retried on the
                // next maintenance exit.
                let _ = self.exit_action(slot, exit);
            }
            self.confirm_stopped(slot);
        }
    }

    /// An exit is a hint, never state: a guest can send any exit message through its fault
    /// endpoint (HVC `Send`) without stopping. Whenever the core keeps VCPU `v` stopped after
    /// an exit, it checks that the guest really waits for the reply; if not, it stops the
    /// guest (the next entry restarts it where it is), so the server never believes a running
    /// guest stopped and never reads or writes the registers of a running one afterwards.
    fn confirm_stopped(&mut self, v: u16) {
        let Some(vcpu) = self.vcpus.get_mut(v) else {
            return;
        };
        if vcpu.run == Run::Running || vcpu.resume != crate::backend::Resume::Fault {
            return;
        }
        if !self.backend.caller_waiting(&mut vcpu.backend) {
            // If stopping fails the guest runs on; its next exit is held as after a failed kick.
            let _ = self.backend.stop_vcpu(&mut vcpu.backend);
            vcpu.resume = crate::backend::Resume::Restart;
        }
    }

    fn apply(&mut self, v: u16, action: Action) {
        match action {
            Action::Resume => self.continue_guest(v),
            Action::Fail(status) => self.finish_enter(v, Err(status)),
            Action::Packet(packet) => self.finish_enter(v, Ok(ReplyPayload::Packet(packet))),
            Action::Wait => {
                if let Some(vcpu) = self.vcpus.get_mut(v) {
                    vcpu.run = Run::Wfi;
                }
            }
            Action::BellBlocked { trap, addr } => {
                if let Some(vcpu) = self.vcpus.get_mut(v) {
                    vcpu.run = Run::BellBlocked { trap, addr };
                }
            }
        }
    }

    fn exit_action(&mut self, v: u16, exit: GuestExit) -> Result<Action, Status> {
        match exit {
            GuestExit::Wfe => {
                self.advance_pc(v)?;
                Ok(Action::Resume)
            }
            GuestExit::Wfi => self.wfi(v),
            GuestExit::Smc { imm } => self.smc(v, imm),
            GuestExit::MemAbort {
                addr,
                instruction,
                esr,
                ..
            } => self.mem_abort(v, addr, instruction, esr),
            GuestExit::Vppi { irq } => {
                let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
                if irq == u32::from(TIMER_VECTOR) {
                    vcpu.vgic.raise(TIMER_VECTOR);
                    vcpu.vgic.timer_unacked = true;
                }
                Ok(Action::Resume)
            }
            GuestExit::Maintenance { lr } => {
                let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
                let freed = lr.and_then(|lr| vcpu.vgic.release(usize::from(lr)));
                if freed == Some(TIMER_VECTOR) && vcpu.vgic.timer_unacked {
                    vcpu.vgic.timer_unacked = false;
                    self.backend
                        .ack_vppi(&mut vcpu.backend, u32::from(TIMER_VECTOR))?;
                }
                Ok(Action::Resume)
            }
            GuestExit::Hvc { .. } => {
                self.advance_pc_to_stop(v, None)?;
                Ok(Action::Fail(Status::ERR_NOT_SUPPORTED))
            }
            GuestExit::SysReg { .. }
            | GuestExit::OtherClass { .. }
            | GuestExit::UserException { .. }
            | GuestExit::CapFault
            | GuestExit::Invalid { .. } => Ok(Action::Fail(Status::ERR_NOT_SUPPORTED)),
        }
    }

    /// Steps pc over the trapping instruction (reading and writing the pc alone).
    fn advance_pc(&mut self, v: u16) -> Result<(), Status> {
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        self.backend.advance_pc(&mut vcpu.backend)
    }

    /// pc += 4 plus `edit`, in one read of the registers in `read` (the only ones `edit` may
    /// look at) and one write of those in `write` (a part of `read`: the only ones `edit` may
    /// change).
    fn update_regs(
        &mut self,
        v: u16,
        read: RegSet,
        write: RegSet,
        edit: impl FnOnce(&mut GuestRegs),
    ) -> Result<(), Status> {
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        let mut regs = self.backend.read_regs_in(&mut vcpu.backend, read)?;
        regs.pc = regs.pc.wrapping_add(4);
        edit(&mut regs);
        self.backend.write_regs_in(&mut vcpu.backend, &regs, write)
    }

    /// Steps the pc over the trapping instruction of an exit after which the VCPU stays
    /// stopped; x`n` (n <= 30) if `x` is `Some(n)`, else 0.
    fn advance_pc_to_stop(&mut self, v: u16, x: Option<u8>) -> Result<u64, Status> {
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        self.backend.advance_pc_to_stop(&mut vcpu.backend, x)
    }

    fn wfi(&mut self, v: u16) -> Result<Action, Status> {
        self.advance_pc(v)?;
        let vcpu = self.vcpus.get_mut(v).ok_or(Status::ERR_BAD_HANDLE)?;
        if vcpu.vgic.any_pending() || vcpu.vgic.any_lr_occupied() {
            return Ok(Action::Resume);
        }
        let ctl = self
            .backend
            .read_sysreg(&mut vcpu.backend, SysReg::CntvCtl)?;
        if ctl & CNTV_ENABLE != 0 && ctl & CNTV_IMASK == 0 {
            return Ok(Action::Resume);
        }
        Ok(Action::Wait)
    }

    /// One read (pc, x0..x2) and one write (pc, x0; x0 as read when the call ends the enter).
    fn smc(&mut self, v: u16, imm: u16) -> Result<Action, Status> {
        let read = RegSet::pc_and_x(if imm != 0 { 0 } else { 2 });
        let mut outcome = Action::Resume;
        self.update_regs(v, read, RegSet::pc_and_x(0), |r| {
            let function = r.x[0] as u32;
            let x0 = match function {
                _ if imm != 0 => psci::NOT_SUPPORTED,
                psci::VERSION => psci::VERSION_0_2,
                psci::CPU_ON_64 => {
                    let packet = startup_packet(r.x[1], r.x[2]);
                    outcome = Action::Packet(packet);
                    0
                }
                psci::CPU_OFF | psci::SYSTEM_OFF | psci::SYSTEM_RESET => {
                    outcome = Action::Fail(match function {
                        psci::CPU_OFF => Status::ERR_STOP,
                        psci::SYSTEM_OFF => Status::ERR_UNAVAILABLE,
                        _ => Status::ERR_CANCELED,
                    });
                    return;
                }
                _ => psci::NOT_SUPPORTED,
            };
            r.x[0] = x0;
        })?;
        Ok(outcome)
    }

    fn mem_abort(
        &mut self,
        v: u16,
        addr: u64,
        instruction: bool,
        esr: u32,
    ) -> Result<Action, Status> {
        let g = self.vcpus.get(v).ok_or(Status::ERR_BAD_HANDLE)?.guest;
        let trap = self
            .traps
            .iter()
            .find(|(_, t)| t.guest == g && t.contains(addr))
            .map(|(i, t)| (i, t.kind, t.key));
        let Some((t, kind, key)) = trap else {
            let mapped = self
                .mappings
                .iter()
                .any(|(_, m)| m.guest == g && addr >= m.gpa && addr - m.gpa < m.size);
            let status = if mapped {
                Status::ERR_ACCESS_DENIED
            } else {
                Status::ERR_NOT_FOUND
            };
            return Ok(Action::Fail(status));
        };
        if instruction {
            return Ok(Action::Fail(Status::ERR_NOT_FOUND));
        }
        let abort = DataAbort::from_esr(esr);
        // The data of a MEM write is in x`srt`: only then is more than the pc read.
        let data_reg = kind == TrapKind::Mem && abort.isv && abort.write && abort.srt != 31;
        // A MEM access ends the enter, a BELL read fails it: the VCPU stays stopped.
        let written = if kind == TrapKind::Mem || !abort.write {
            self.advance_pc_to_stop(v, data_reg.then_some(abort.srt))?
        } else {
            self.advance_pc(v)?;
            0
        };
        match kind {
            TrapKind::Bell if !abort.write => Ok(Action::Fail(Status::ERR_NOT_SUPPORTED)),
            TrapKind::Bell => Ok(match self.ring_bell(t, addr) {
                Bell::Delivered => Action::Resume,
                Bell::Full => Action::BellBlocked { trap: t, addr },
                Bell::NoHandles => Action::Fail(Status::ERR_BAD_STATE),
            }),
            TrapKind::Mem if !abort.isv => Ok(Action::Fail(Status::ERR_IO_DATA_INTEGRITY)),
            TrapKind::Mem => {
                let data = if data_reg {
                    mask(written, abort.access_size)
                } else {
                    0
                };
                let body = PacketGuestMem {
                    addr,
                    access_size: abort.access_size,
                    sign_extend: u8::from(abort.sign_extend),
                    xt: abort.srt,
                    read: u8::from(!abort.write),
                    padding1: [0; 4],
                    data,
                    reserved: 0,
                };
                Ok(Action::Packet(mem_packet(key, body)))
            }
        }
    }
}

/// `value` truncated to `size` bytes (1, 2, 4 or 8).
fn mask(value: u64, size: u8) -> u64 {
    match size {
        1 => value & 0xFF,
        2 => value & 0xFFFF,
        4 => value & 0xFFFF_FFFF,
        _ => value,
    }
}
