//! The kernel interface the server core drives: everything that needs a kernel object.
//!
//! The seL4 component implements [`Backend`] with TCBs, VCPU objects, VSpaces and frame
//! capabilities; host tests implement it with a recording fake. Every method returns a
//! [`Status`] on failure (the core passes it on to the client) and must never panic.
//!
//! Contract shared by all methods:
//! - The core calls methods only for objects it created through this backend and has not
//!   destroyed; each object is destroyed exactly once.
//! - Register access ([`Backend::read_regs`] etc.) happens only while the VCPU is not running
//!   (never started, blocked on a fault, or stopped).
//! - On one core the server runs at a higher priority than the guests, so a guest is never
//!   running while the server runs; list-register injection goes to the saved VCPU state.

use crate::Status;
use vcpu_protocol::ClientId;

/// Identity of a VCPU for the transport: its slot in the server's VCPU table and the slot's
/// generation. The backend mints the VCPU's fault-endpoint badge from it
/// (`Badge::VcpuFault { slot, generation }`), and the transport gives both back to
/// [`crate::Server::handle_guest_exit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VcpuKey {
    /// Slot in the VCPU table.
    pub slot: u16,
    /// Generation of that slot.
    pub generation: u16,
}

/// How to set a stopped VCPU running again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resume {
    /// First run: start the VCPU's thread at its entry state.
    Start,
    /// The VCPU is blocked on a fault whose reply capability [`Backend::take_fault`] saved:
    /// reply to it (an empty reply with label 0 resumes every fault type seL4 sends).
    Fault,
    /// The VCPU was stopped by [`Backend::stop_vcpu`]: restart its thread.
    Restart,
}

/// A guest system register the core reads or writes (seL4 `seL4_VCPUReg_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SysReg {
    /// `SP_EL1`: the `sp` of `zx_vcpu_state_t`.
    SpEl1,
    /// `CNTV_CTL_EL0`: the guest's virtual-timer control (bit 0 ENABLE, bit 1 IMASK).
    CntvCtl,
}

/// The guest's general registers as the kernel keeps them in the VCPU's thread
/// (seL4 `seL4_UserContext` minus the TLS registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GuestRegs {
    /// x0..x30.
    pub x: [u64; 31],
    /// Guest PC (ELR_EL2).
    pub pc: u64,
    /// Guest SP_EL0.
    pub sp_el0: u64,
    /// Guest PSTATE (SPSR_EL2).
    pub spsr: u64,
}

/// The general registers an access needs: always the pc, `sp_el0` and PSTATE, and x0..=x`n`
/// when `x` is `Some(n)`. A backend may read more; see [`Backend::read_regs_in`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegSet {
    /// The highest x register needed (with all below it), if any.
    pub x: Option<u8>,
}

impl RegSet {
    /// The pc, `sp_el0` and PSTATE.
    pub const PC: RegSet = RegSet { x: None };

    /// Those and x0..=x`n`.
    pub const fn pc_and_x(n: u8) -> RegSet {
        RegSet { x: Some(n) }
    }
}

/// Stage-2 permissions of a mapping (from `ZX_VM_PERM_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MapPerms {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub execute: bool,
}

/// What the kernel does for the server core.
pub trait Backend {
    /// A guest-physical address space (seL4: a VSpace with an ASID, and its page tables).
    type Guest;
    /// A VCPU (seL4: a TCB bound to a VCPU object, plus a slot for its saved fault reply).
    type Vcpu;
    /// A frame capability handed over by a client with `vmar_map`.
    type Frame;

    /// GIC group used for injected interrupts (0 on GICv2, as Linux enables only group 0 on a
    /// GICv2 virtual CPU interface; 1 on GICv3).
    const LR_GROUP: u8 = 0;

    /// Creates an empty guest-physical address space of 2^36 bytes. Its kernel objects, and the
    /// page tables its mappings need later, are paid by client `payer` (the seL4 backend
    /// retypes them from that client's memory, and a client out of memory gets
    /// `ZX_ERR_NO_MEMORY` alone).
    fn create_guest(&mut self, payer: ClientId) -> Result<Self::Guest, Status>;
    /// Destroys a guest address space. Every VCPU and mapping of it is gone already.
    fn destroy_guest(&mut self, guest: Self::Guest);

    /// The size in bytes of the frame `frame` names (`ZX_ERR_INVALID_ARGS` if it is no frame).
    fn frame_size(&mut self, frame: &Self::Frame) -> Result<u64, Status>;
    /// Maps `frame` at guest-physical `gpa` with `perms` (page tables as needed).
    fn map_frame(
        &mut self,
        guest: &mut Self::Guest,
        gpa: u64,
        frame: &Self::Frame,
        perms: MapPerms,
    ) -> Result<(), Status>;
    /// Changes the permissions of a frame mapped by [`Backend::map_frame`] at `gpa`
    /// (`zx_vmar_protect`; seL4: `Page_Map` of the same capability at the same address).
    fn protect_frame(
        &mut self,
        guest: &mut Self::Guest,
        gpa: u64,
        frame: &Self::Frame,
        perms: MapPerms,
    ) -> Result<(), Status>;
    /// Unmaps a frame mapped by [`Backend::map_frame`]. Cannot fail from the core's view.
    fn unmap_frame(&mut self, guest: &mut Self::Guest, gpa: u64, frame: &Self::Frame);
    /// Takes the capability in slot `slot` of `source`, a CNode capability sent with
    /// `vmar_map_frames`, as a frame (seL4: `CNode_Copy` out of the CNode, then the same
    /// acceptance as a frame sent with `vmar_map`). `ZX_ERR_INVALID_ARGS` if `source` is no
    /// CNode, the slot is empty or out of range, or the capability may not be used as a frame;
    /// whether it really is a frame (and its size) is [`Backend::frame_size`]'s to tell.
    fn frame_from(&mut self, source: &Self::Frame, slot: u64) -> Result<Self::Frame, Status>;
    /// Deletes a frame capability the server no longer needs (never mapped, or unmapped).
    fn delete_frame(&mut self, frame: Self::Frame);

    /// Creates a VCPU of `guest` that is not yet running, with Zircon's initial state: pc =
    /// `entry`, PSTATE = EL1h with D, A, I, F masked (0x3C5), x0..x30 = 0, SP_EL1 = 0, every
    /// other EL1 system register the kernel lets the server set at Zircon's value (0; notably
    /// SCTLR_EL1 = 0, so guest-EL0 WFI traps to the guest's EL1), the GIC virtual CPU interface
    /// enabled as Zircon enables it (group 0 on, priority mask 0xF8), and VMPIDR_EL2 = `vmpidr`. Its faults go to the server's endpoint with a badge made from `key`.
    /// Its kernel objects are paid by client `payer`, as for [`Backend::create_guest`].
    fn create_vcpu(
        &mut self,
        guest: &mut Self::Guest,
        key: VcpuKey,
        entry: u64,
        vmpidr: u64,
        payer: ClientId,
    ) -> Result<Self::Vcpu, Status>;
    /// Destroys a VCPU (whatever its state: running, blocked on a fault, stopped).
    fn destroy_vcpu(&mut self, vcpu: Self::Vcpu);
    /// A fault message from this VCPU was just received: keep its reply capability (seL4
    /// non-MCS: `CNode_SaveCaller` into the VCPU's reply slot) so that
    /// [`Backend::resume_vcpu`] with [`Resume::Fault`] can answer it later.
    fn take_fault(&mut self, vcpu: &mut Self::Vcpu);
    /// After [`Backend::take_fault`]: true if the guest is really stopped (blocked on the
    /// message: a fault, or an HVC `Call`), false if it sent the message without blocking (an
    /// HVC `Send`: the guest runs on). The core asks only when it keeps the VCPU stopped, and
    /// stops a guest for which this is false. A backend may instead stop the guest itself
    /// (seL4: it was suspended by [`Backend::advance_pc_to_stop`], or is suspended now) and
    /// answer true; its next [`Backend::resume_vcpu`] then restarts it.
    fn caller_waiting(&mut self, vcpu: &mut Self::Vcpu) -> bool;
    /// Lets the VCPU run (see [`Resume`]).
    fn resume_vcpu(&mut self, vcpu: &mut Self::Vcpu, how: Resume) -> Result<(), Status>;
    /// Stops a running VCPU promptly (seL4: `TCB_Suspend`).
    fn stop_vcpu(&mut self, vcpu: &mut Self::Vcpu) -> Result<(), Status>;

    /// Reads the VCPU's general registers.
    fn read_regs(&mut self, vcpu: &mut Self::Vcpu) -> Result<GuestRegs, Status>;
    /// Writes the VCPU's general registers (pc included).
    fn write_regs(&mut self, vcpu: &mut Self::Vcpu, regs: &GuestRegs) -> Result<(), Status>;
    /// Reads at least the registers of `set` (the others in the result are either exact or 0).
    /// The default reads all of them.
    fn read_regs_in(&mut self, vcpu: &mut Self::Vcpu, set: RegSet) -> Result<GuestRegs, Status> {
        let _ = set;
        self.read_regs(vcpu)
    }
    /// Writes the registers of `set` from `regs`, which holds what [`Backend::read_regs_in`]
    /// returned for `set` or a larger set (with the changes to make): registers that read did
    /// not return exactly are left alone. The default writes all of them.
    fn write_regs_in(
        &mut self,
        vcpu: &mut Self::Vcpu,
        regs: &GuestRegs,
        set: RegSet,
    ) -> Result<(), Status> {
        let _ = set;
        self.write_regs(vcpu, regs)
    }
    /// Steps the pc over the trapping instruction (pc += 4), nothing else. The default is a
    /// [`Backend::read_regs_in`] / [`Backend::write_regs_in`] of [`RegSet::PC`].
    fn advance_pc(&mut self, vcpu: &mut Self::Vcpu) -> Result<(), Status> {
        let mut regs = self.read_regs_in(vcpu, RegSet::PC)?;
        regs.pc = regs.pc.wrapping_add(4);
        self.write_regs_in(vcpu, &regs, RegSet::PC)
    }
    /// [`Backend::advance_pc`] on an exit after which the core keeps the VCPU stopped (it will
    /// end the enter or wait), also returning x`n` (n <= 30) when `x` is `Some(n)` (0 else):
    /// the backend may stop the guest in the same step, so that [`Backend::caller_waiting`]
    /// then needs no kernel call. The default reads the pc (and x0..=x`n`) with
    /// [`Backend::read_regs_in`] and writes the pc with [`Backend::write_regs_in`].
    fn advance_pc_to_stop(&mut self, vcpu: &mut Self::Vcpu, x: Option<u8>) -> Result<u64, Status> {
        let set = x.map_or(RegSet::PC, RegSet::pc_and_x);
        let mut regs = self.read_regs_in(vcpu, set)?;
        regs.pc = regs.pc.wrapping_add(4);
        self.write_regs_in(vcpu, &regs, RegSet::PC)?;
        Ok(x.map_or(0, |n| regs.x.get(usize::from(n)).copied().unwrap_or(0)))
    }
    /// Reads a guest system register.
    fn read_sysreg(&mut self, vcpu: &mut Self::Vcpu, reg: SysReg) -> Result<u64, Status>;
    /// Writes a guest system register.
    fn write_sysreg(
        &mut self,
        vcpu: &mut Self::Vcpu,
        reg: SysReg,
        value: u64,
    ) -> Result<(), Status>;

    /// Number of GIC list registers (the core clamps it to [`crate::MAX_LIST_REGISTERS`]).
    fn num_list_registers(&self) -> usize;
    /// Writes list register `lr` as pending virtual interrupt `vector` with `priority` (seL4's
    /// 5-bit field, 0 highest) and `group`, with EOI maintenance (seL4 `ARM_VCPU_InjectIRQ`).
    fn inject_irq(
        &mut self,
        vcpu: &mut Self::Vcpu,
        lr: u8,
        vector: u16,
        priority: u8,
        group: u8,
    ) -> Result<(), Status>;
    /// Unmasks a virtual PPI after the guest handled it (seL4 `ARM_VCPU_AckVPPI`; only 27).
    fn ack_vppi(&mut self, vcpu: &mut Self::Vcpu, irq: u32) -> Result<(), Status>;
}
