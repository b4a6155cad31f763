//! VCPUs: a TCB bound to a VCPU object, with a one-capability CSpace holding its fault
//! endpoint, and the register writes the server owes it before it runs again.
//!
//! Stopping and resuming (non-MCS): a fault's reply capability is never kept. Every register
//! read suspends the guest (`TCB_ReadRegisters` with `suspend_source`), which also deletes the
//! fault's reply capability; register writes of at most [`PENDING_MAX`] words are kept in
//! [`PendingRegs`] and made by the `TCB_WriteRegisters` that restarts the guest (`resume_target`:
//! `restart()` runs a thread that is inactive or blocked on a reply). A suspended guest is
//! really stopped whatever it did, so a guest that merely sent an exit message (HVC `Send`)
//! cannot keep running while the server believes it stopped.
//!
//! Creation order matters: `VCPU_SetTCB` comes before any register write, because seL4 forces
//! the SPSR of a TCB without a VCPU to EL0t (spec §3.3).
//!
//! The guest's CSpace is a 2-slot CNode (radix 1, guard 63 bits of 0, so cptrs resolve at depth
//! 64 like every other CSpace): slot 0 empty, slot 1 ([`FAULT_EP`]) a copy of the server's
//! endpoint minted with the badge `Badge::VcpuFault { slot, generation }` and only Write +
//! GrantReply. A guest HVC with x7 in -1..-8 runs a real seL4 syscall in this CSpace, so the
//! guest can at most send (or call) the server under its own badge; it cannot receive, grant
//! capabilities, or name anything else.

use sel4::{
    CNodeCapData, Cap, CapRights, NULL_CAP, ObjectType, UserContext, VcpuReg, WORD_DEPTH, cap_type,
};
use vcpu_protocol::{Badge, Status};
use vcpu_server::{GuestRegs, RegSet, SysReg, VcpuKey};

use crate::alloc::{Obj, Objects};

/// The fault endpoint's cptr in the guest's CSpace.
pub const FAULT_EP: u64 = 1;
/// Radix of the guest's CNode.
const GUEST_CNODE_RADIX: u32 = 1;
/// PSTATE of a new VCPU: EL1h with D, A, I and F masked.
pub const INITIAL_SPSR: u64 = 0x3C5;
/// Zircon's initial value of every guest system register a VCPU object holds (seL4's
/// `seL4_VCPUReg_*`), written at creation. Zircon zero-fills a new VCPU's EL1 state (spec §3.5:
/// "all saved EL1 system registers 0"); a fresh seL4 VCPU differs only in SCTLR_EL1, which the
/// kernel presets to 0x34d58820. Each register, and what its Zircon value means for the guest:
/// - SCTLR_EL1 = 0: stage-1 MMU, data and instruction caches off, alignment checks off,
///   little-endian; nTWI = nTWE = 0, so WFI/WFE at guest EL0 trap to the guest's own EL1 (not
///   to the server); UCI = UCT = DZE = 0, so EL0 cache maintenance, CTR_EL0 reads and DC ZVA
///   trap to EL1; SA0 = 0, no EL0 stack alignment check; CP15BEN = 0, AArch32 EL0 CP15
///   barriers undefined.
/// - CPACR_EL1 = 0: FP/SIMD use at EL0 and EL1 traps to the guest's EL1.
/// - TTBR0_EL1, TTBR1_EL1, TCR_EL1, MAIR_EL1, AMAIR_EL1 = 0: no stage-1 tables configured.
/// - CONTEXTIDR_EL1, TPIDR_EL1 = 0.
/// - ACTLR_EL1 = 0 (implementation defined; 0 on Cortex-A57 reset, and Zircon's zero state).
/// - AFSR0_EL1, AFSR1_EL1, ESR_EL1, FAR_EL1, PAR_EL1 = 0: no fault recorded.
/// - VBAR_EL1 = 0: the guest's exception vectors at 0 until it sets its own.
/// - ELR_EL1, SPSR_EL1 = 0.
/// - CNTV_CTL_EL0 = 0 (virtual timer off), CNTV_CVAL_EL0 = 0.
/// - CNTVOFF_EL2 = 0: the guest's virtual counter is the host's counter.
/// - CNTKCTL_EL1 = 0: EL0 access to the counters and timers traps to the guest's EL1.
/// - SP_EL1 = 0 (the `sp` of `zx_vcpu_state_t`).
///
/// Not in the table: VMPIDR_EL2 (from the VPID, written separately). General registers, PC and PSTATE are the TCB's; FP/SIMD
/// state and the TLS registers (TPIDR_EL0, TPIDRRO_EL0) of a new TCB are already 0. Registers
/// seL4 does not context-switch for a VCPU (MDSCR_EL1 and the debug registers, PMU, CSSELR_EL1)
/// cannot be reached: see docs/SCENARIOS.md.
pub const INITIAL_SYSREGS: [(VcpuReg, u64); 23] = [
    (VcpuReg::Sctlr, 0),
    (VcpuReg::Cpacr, 0),
    (VcpuReg::Ttbr0, 0),
    (VcpuReg::Ttbr1, 0),
    (VcpuReg::Tcr, 0),
    (VcpuReg::Mair, 0),
    (VcpuReg::Amair, 0),
    (VcpuReg::Cidr, 0),
    (VcpuReg::Actlr, 0),
    (VcpuReg::Afsr0, 0),
    (VcpuReg::Afsr1, 0),
    (VcpuReg::Esr, 0),
    (VcpuReg::Far, 0),
    (VcpuReg::Par, 0),
    (VcpuReg::Vbar, 0),
    (VcpuReg::TpidrEl1, 0),
    (VcpuReg::SpEl1, 0),
    (VcpuReg::ElrEl1, 0),
    (VcpuReg::SpsrEl1, 0),
    (VcpuReg::CntvCtl, 0),
    (VcpuReg::CntvCval, 0),
    (VcpuReg::Cntvoff, 0),
    (VcpuReg::CntkctlEl1, 0),
];

/// Registers read and written: the 34 of `seL4_UserContext` before the two TLS registers, which
/// the server never changes.
pub const REG_COUNT: u64 = 34;

/// Most register words a write may leave for the restart ([`PendingRegs`]): pc, sp, spsr and
/// x0, what the exits write (pc alone for pc += 4, pc..x0 for an SMC's result).
pub const PENDING_MAX: usize = 4;

/// Register writes not yet made: the first `n` words of the kernel context (seL4 order),
/// written by the `TCB_WriteRegisters` that restarts the guest. Reads see them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingRegs {
    /// How many of the first words are owed (0: none).
    pub n: u8,
    /// Their values.
    pub words: [u64; PENDING_MAX],
}

impl PendingRegs {
    /// Puts the owed words over the first `count` words of `c` (a context just read).
    pub fn overlay(&self, c: &mut UserContext, count: u64) {
        let n = usize::from(self.n).min(count as usize);
        c.words_mut()[..n].copy_from_slice(&self.words[..n]);
    }

    /// Owes the first `count` words of `c` (at most [`PENDING_MAX`]); words owed beyond them
    /// stay owed.
    pub fn merge(&mut self, c: &UserContext, count: u64) {
        let n = (count as usize).min(PENDING_MAX);
        self.words[..n].copy_from_slice(&c.words()[..n]);
        self.n = self.n.max(n as u8);
    }

    /// The owed words in a context (the others 0), and how many; nothing owed any more.
    pub fn take_into(&mut self, c: &mut UserContext) -> u64 {
        let n = usize::from(self.n);
        c.words_mut()[..n].copy_from_slice(&self.words[..n]);
        self.n = 0;
        n as u64
    }
}

/// A VCPU's kernel objects.
#[derive(Debug)]
pub struct Sel4Vcpu {
    /// The guest thread.
    pub tcb: Obj,
    /// The VCPU object bound to it.
    pub vcpu: Obj,
    /// Its CSpace (holds only the badged fault endpoint).
    pub cnode: Obj,
    /// The core its thread runs on, for its whole life (see `docs/SERVER.md`, placement).
    pub core: u8,
    /// Register writes owed to the guest before it runs again.
    pub pending: PendingRegs,
}

impl Sel4Vcpu {
    /// The TCB capability.
    pub fn tcb(&self) -> Cap<cap_type::Tcb> {
        self.tcb.cap()
    }

    /// The VCPU capability.
    pub fn vcpu(&self) -> Cap<cap_type::Vcpu> {
        self.vcpu.cap()
    }
}

/// The kernel register context for `regs` (TLS registers 0; only the first [`REG_COUNT`] are
/// written).
pub fn to_context(regs: &GuestRegs) -> UserContext {
    let mut c = UserContext::zeroed();
    for (n, value) in regs.x.iter().enumerate() {
        c.set_x(n as u8, *value);
    }
    c.set_pc(regs.pc);
    c.set_sp(regs.sp_el0);
    c.set_spsr(regs.spsr);
    c
}

/// The guest registers in a kernel register context.
pub fn from_context(c: &UserContext) -> GuestRegs {
    let mut regs = GuestRegs {
        pc: c.pc(),
        sp_el0: c.sp(),
        spsr: c.spsr(),
        ..GuestRegs::default()
    };
    for (n, x) in regs.x.iter_mut().enumerate() {
        *x = c.x(n as u8).unwrap_or(0);
    }
    regs
}

/// How many registers of `seL4_UserContext` (order: pc, sp, spsr, x0..x8, x16..x18, x29, x30,
/// x9..x15, x19..x28) cover `set`: pc, sp and spsr are the first three; x0 needs 4.
pub fn reg_count(set: RegSet) -> u64 {
    match set.x {
        None => 3,
        Some(n) => u64::from(COUNT_FOR_X[usize::from(n).min(30)]),
    }
}

/// For x`n`: how many context words cover x0..=x`n` (the largest index among them, plus 1).
const COUNT_FOR_X: [u8; 31] = {
    let mut t = [0u8; 31];
    let mut n = 0;
    let mut last = 0;
    while n < 31 {
        if let Some(i) = UserContext::index_of_x(n as u8) {
            if i + 1 > last {
                last = i + 1;
            }
        }
        t[n] = last as u8;
        n += 1;
    }
    t
};

/// Which x register sits at each index of the kernel context (3..34; inverse of
/// `UserContext::index_of_x`); 0 for the pc, sp and spsr.
const X_AT: [u8; 34] = {
    let mut t = [0u8; 34];
    let mut n = 0;
    while n < 31 {
        if let Some(i) = UserContext::index_of_x(n as u8) {
            t[i] = n as u8;
        }
        n += 1;
    }
    t
};

/// Writes the first `count` registers of the kernel context `c` (seL4 order) from `regs`;
/// the others are left as they are.
pub fn to_context_first(c: &mut UserContext, regs: &GuestRegs, count: u64) {
    let words = c.words_mut();
    let n = (count as usize).min(X_AT.len());
    let head = [regs.pc, regs.sp_el0, regs.spsr];
    let h = n.min(3);
    words[..h].copy_from_slice(&head[..h]);
    for i in 3..n {
        words[i] = regs.x[usize::from(X_AT[i])];
    }
}

/// The guest registers among the first `count` of the kernel context `c` (the others 0).
pub fn from_context_first(c: &UserContext, count: u64) -> GuestRegs {
    let w = c.words();
    let n = (count as usize).min(X_AT.len());
    let mut regs = GuestRegs::default();
    let head = [&mut regs.pc, &mut regs.sp_el0, &mut regs.spsr];
    for (r, &v) in head.into_iter().zip(&w[..n.min(3)]) {
        *r = v;
    }
    for i in 3..n {
        regs.x[usize::from(X_AT[i])] = w[i];
    }
    regs
}

/// Which x register sits at index `i` of the kernel context (inverse of
/// `UserContext::index_of_x`).
#[cfg(test)]
fn x_at(i: usize) -> Option<usize> {
    (3..X_AT.len()).contains(&i).then(|| usize::from(X_AT[i]))
}

/// The seL4 VCPU register for a core [`SysReg`].
pub fn vcpu_reg(reg: SysReg) -> VcpuReg {
    match reg {
        SysReg::SpEl1 => VcpuReg::SpEl1,
        SysReg::CntvCtl => VcpuReg::CntvCtl,
    }
}

/// True for the registers seL4 writes back to the VCPU object whenever the VCPU stops running
/// on its core (`vcpu_disable`: SCTLR, CPACR and the virtual timer), so any core reads or
/// writes them correctly while the VCPU is stopped; the others stay in that core's registers
/// until another VCPU is loaded there.
pub fn saved_when_stopped(reg: SysReg) -> bool {
    match reg {
        SysReg::CntvCtl => true,
        SysReg::SpEl1 => false,
    }
}

/// What [`create`] needs besides the guest.
pub struct VcpuParams {
    /// The server's endpoint slot (unbadged, all rights), to mint the fault endpoint from.
    pub endpoint: u64,
    /// The server's own TCB (authority for the priority).
    pub authority: Cap<cap_type::Tcb>,
    /// Priority of VCPU threads.
    pub priority: u8,
}

/// Creates a VCPU of the guest with VSpace `vspace` (see the module docs), not yet running.
pub fn create(
    k: &mut Objects,
    p: &VcpuParams,
    vspace: Cap<cap_type::VSpace>,
    key: VcpuKey,
    entry: u64,
    vmpidr: u64,
) -> Result<Sel4Vcpu, Status> {
    let tcb = k.retype(ObjectType::Tcb, 0)?;
    let vcpu = match k.retype(ObjectType::Vcpu, 0) {
        Ok(v) => v,
        Err(s) => {
            k.free(tcb);
            return Err(s);
        }
    };
    let cnode = match k.retype(ObjectType::CNode, GUEST_CNODE_RADIX) {
        Ok(c) => c,
        Err(s) => {
            k.free(vcpu);
            k.free(tcb);
            return Err(s);
        }
    };
    let v = Sel4Vcpu {
        tcb,
        vcpu,
        cnode,
        core: 0,
        pending: PendingRegs::default(),
    };
    match configure(k, p, &v, vspace, key, entry, vmpidr) {
        Ok(()) => Ok(v),
        Err(e) => {
            crate::warn(format_args!("VCPU {}: configure failed: {:?}", key.slot, e));
            destroy(k, v);
            Err(crate::kernel_status(e))
        }
    }
}

fn configure(
    k: &mut Objects,
    p: &VcpuParams,
    v: &Sel4Vcpu,
    vspace: Cap<cap_type::VSpace>,
    key: VcpuKey,
    entry: u64,
    vmpidr: u64,
) -> Result<(), sel4::Error> {
    let own = k.cnode();
    let ipc = k.ipc().map_err(|_| sel4::Error::IllegalOperation)?;
    let badge = Badge::VcpuFault {
        slot: key.slot,
        generation: key.generation,
    }
    .encode();
    let guest_cnode: Cap<cap_type::CNode> = v.cnode.cap();
    guest_cnode.cnode_mint(
        ipc,
        FAULT_EP,
        GUEST_CNODE_RADIX as u8,
        own,
        p.endpoint,
        WORD_DEPTH,
        fault_endpoint_rights(),
        badge,
    )?;
    v.vcpu().vcpu_set_tcb(ipc, v.tcb())?;
    let guard = CNodeCapData::new(0, u64::from(64 - GUEST_CNODE_RADIX));
    v.tcb().tcb_configure(
        ipc,
        FAULT_EP,
        guest_cnode,
        guard,
        vspace,
        0,
        0,
        NULL_CAP.cast(),
    )?;
    v.tcb()
        .tcb_set_sched_params(ipc, p.authority, 0, u64::from(p.priority))?;
    let regs = GuestRegs {
        pc: entry,
        spsr: INITIAL_SPSR,
        ..GuestRegs::default()
    };
    v.tcb()
        .tcb_write_registers(ipc, false, REG_COUNT, &to_context(&regs))?;
    v.vcpu().vcpu_write_regs(ipc, VcpuReg::VmpidrEl2, vmpidr)?;
    for (reg, value) in INITIAL_SYSREGS {
        v.vcpu().vcpu_write_regs(ipc, reg, value)?;
    }
    let mut name = [0u8; 16];
    ipc.debug_name_thread(v.tcb(), thread_name(&mut name, key.slot));
    Ok(())
}

/// Rights of the guest's fault endpoint: send (Write) and get a reply capability on a fault
/// (GrantReply); no Read, no Grant.
pub fn fault_endpoint_rights() -> CapRights {
    CapRights::new(true, false, false, true)
}

/// "vcpu<slot>" for kernel messages.
fn thread_name(buf: &mut [u8; 16], slot: u16) -> &str {
    buf[..4].copy_from_slice(b"vcpu");
    let mut n = 4;
    let mut digits = [0u8; 5];
    let mut d = 0;
    let mut s = slot;
    loop {
        digits[d] = b'0' + (s % 10) as u8;
        d += 1;
        s /= 10;
        if s == 0 {
            break;
        }
    }
    while d > 0 {
        d -= 1;
        buf[n] = digits[d];
        n += 1;
    }
    core::str::from_utf8(&buf[..n]).unwrap_or("vcpu")
}

/// Runs the one-time GIC-enable step on a VCPU [`create`] just made (see
/// [`crate::gic_enable`]), then puts back its fault endpoint, priority and registers exactly as
/// `create` left them. The caller has saved the current reply capability (the step's receive
/// replaces it).
#[allow(clippy::too_many_arguments)]
pub fn enable_gic(
    k: &mut Objects,
    tables: &mut crate::tables::PageTables,
    guest: &crate::guest::Sel4Guest,
    v: &Sel4Vcpu,
    p: &VcpuParams,
    gic: &crate::gic_enable::GicEnable,
    step_priority: u8,
    key: VcpuKey,
    entry: u64,
) -> Result<(), Status> {
    use crate::gic_enable::STUB_GPA;
    let copy = gic.frame_copy(k)?;
    let stub = crate::frame::Sel4Frame::new(copy);
    stub.bits.set(12);
    let mapped = crate::guest::map(
        k,
        tables,
        guest,
        STUB_GPA,
        &stub,
        CapRights::READ,
        sel4::VmAttributes::CACHEABLE,
    );
    if let Err(s) = mapped {
        k.release_slot(copy);
        return Err(s);
    }
    let ran = run_stub(k, v, p, gic, step_priority);
    crate::guest::unmap(k, tables, guest, STUB_GPA, &stub);
    k.release_slot(copy);
    let label = ran?;
    if label != sel4::fault_label::VCPU_FAULT {
        crate::warn(format_args!(
            "GIC-enable step of VCPU {} ended with fault label {label}",
            key.slot
        ));
    }
    restore_after_stub(k, p, v, key, entry).map_err(crate::kernel_status)
}

/// Starts the VCPU at the stub with the private endpoint as its fault endpoint and the server's
/// priority, waits for the stub's trap, and stops it; the fault label received.
fn run_stub(
    k: &mut Objects,
    v: &Sel4Vcpu,
    p: &VcpuParams,
    gic: &crate::gic_enable::GicEnable,
    step_priority: u8,
) -> Result<u64, Status> {
    let own = k.cnode();
    let ipc = k.ipc()?;
    let guest_cnode: Cap<cap_type::CNode> = v.cnode.cap();
    let depth = GUEST_CNODE_RADIX as u8;
    let fail = crate::kernel_status;
    guest_cnode
        .cnode_delete(ipc, FAULT_EP, depth)
        .map_err(fail)?;
    guest_cnode
        .cnode_copy(
            ipc,
            FAULT_EP,
            depth,
            own,
            gic.endpoint.slot,
            WORD_DEPTH,
            fault_endpoint_rights(),
        )
        .map_err(fail)?;
    let regs = GuestRegs {
        pc: crate::gic_enable::STUB_GPA,
        spsr: INITIAL_SPSR,
        ..GuestRegs::default()
    };
    v.tcb()
        .tcb_write_registers(ipc, false, REG_COUNT, &to_context(&regs))
        .map_err(fail)?;
    v.tcb()
        .tcb_set_sched_params(ipc, p.authority, 0, u64::from(step_priority))
        .map_err(fail)?;
    v.tcb().tcb_resume(ipc).map_err(fail)?;
    let (info, _) = gic.endpoint.cap::<cap_type::Endpoint>().recv(ipc);
    v.tcb().tcb_suspend(ipc).map_err(fail)?;
    Ok(info.label())
}

/// Puts back what [`run_stub`] changed: the badged fault endpoint, the VCPU priority and the
/// initial registers.
fn restore_after_stub(
    k: &mut Objects,
    p: &VcpuParams,
    v: &Sel4Vcpu,
    key: VcpuKey,
    entry: u64,
) -> Result<(), sel4::Error> {
    let own = k.cnode();
    let ipc = k.ipc().map_err(|_| sel4::Error::IllegalOperation)?;
    let guest_cnode: Cap<cap_type::CNode> = v.cnode.cap();
    let depth = GUEST_CNODE_RADIX as u8;
    guest_cnode.cnode_delete(ipc, FAULT_EP, depth)?;
    let badge = Badge::VcpuFault {
        slot: key.slot,
        generation: key.generation,
    }
    .encode();
    guest_cnode.cnode_mint(
        ipc,
        FAULT_EP,
        depth,
        own,
        p.endpoint,
        WORD_DEPTH,
        fault_endpoint_rights(),
        badge,
    )?;
    v.tcb()
        .tcb_set_sched_params(ipc, p.authority, 0, u64::from(p.priority))?;
    let regs = GuestRegs {
        pc: entry,
        spsr: INITIAL_SPSR,
        ..GuestRegs::default()
    };
    v.tcb()
        .tcb_write_registers(ipc, false, REG_COUNT, &to_context(&regs))
}

/// Destroys a VCPU in any state: deletes the TCB (which stops and unbinds it), the VCPU object
/// and the CSpace (with the fault endpoint in it).
pub fn destroy(k: &mut Objects, v: Sel4Vcpu) {
    if let Ok(ipc) = k.ipc() {
        let _ = v.tcb().tcb_suspend(ipc);
    }
    k.free(v.tcb);
    k.free(v.vcpu);
    k.free(v.cnode);
}

/// `CNode_SaveCaller` into `slot`. The slot is normally empty (a saved reply capability is
/// consumed by its reply, and deleted by the kernel when its thread is suspended or
/// destroyed); if a stale one is there, it is deleted and the save repeated. True if saved
/// (there may have been no caller: then the slot stays empty and a later reply does nothing).
pub fn save_caller(k: &mut Objects, slot: u64) -> bool {
    let cnode = k.cnode();
    let save = |k: &mut Objects| {
        k.ipc()
            .is_ok_and(|ipc| cnode.cnode_save_caller(ipc, slot, WORD_DEPTH).is_ok())
    };
    if save(k) {
        return true;
    }
    k.clear(slot);
    save(k)
}

#[cfg(test)]
mod tests {
    use super::{from_context, thread_name, to_context, vcpu_reg};
    use sel4::{UserContext, VcpuReg};
    use vcpu_server::{GuestRegs, SysReg};

    #[test]
    fn registers_round_trip_in_sel4_order() {
        let mut regs = GuestRegs {
            pc: 0x4000_0000,
            sp_el0: 0x1234,
            spsr: 0x3C5,
            ..GuestRegs::default()
        };
        for (n, x) in regs.x.iter_mut().enumerate() {
            *x = 100 + n as u64;
        }
        let c = to_context(&regs);
        let w = c.words();
        assert_eq!(&w[..3], &[0x4000_0000, 0x1234, 0x3C5]);
        assert_eq!(w[3], 100, "x0");
        assert_eq!(w[11], 108, "x8");
        assert_eq!(w[12], 116, "x16");
        assert_eq!(w[15], 129, "x29");
        assert_eq!(w[16], 130, "x30");
        assert_eq!(w[17], 109, "x9");
        assert_eq!(w[23], 115, "x15");
        assert_eq!(w[24], 119, "x19");
        assert_eq!(w[33], 128, "x28");
        assert_eq!(&w[34..], &[0, 0], "TLS registers untouched");
        assert_eq!(from_context(&c), regs);
        assert_eq!(UserContext::index_of_x(30), Some(16));
    }

    #[test]
    fn partial_contexts_agree_with_the_full_ones() {
        use super::{from_context_first, to_context_first, x_at};
        for n in 0..=30u8 {
            assert_eq!(
                x_at(UserContext::index_of_x(n).unwrap()),
                Some(usize::from(n))
            );
        }
        let mut regs = GuestRegs {
            pc: 0x4000_0000,
            sp_el0: 0x1234,
            spsr: 0x3C5,
            ..GuestRegs::default()
        };
        for (n, x) in regs.x.iter_mut().enumerate() {
            *x = 100 + n as u64;
        }
        let full = to_context(&regs);
        let mut c = UserContext::zeroed();
        c.words_mut().fill(7);
        to_context_first(&mut c, &regs, 4);
        assert_eq!(&c.words()[..4], &full.words()[..4]);
        assert_eq!(c.words()[4], 7, "beyond count: untouched");
        to_context_first(&mut c, &regs, 34);
        assert_eq!(&c.words()[..34], &full.words()[..34]);
        assert_eq!(from_context_first(&full, 34), regs);
        let first = from_context_first(&full, 5);
        assert_eq!(
            (first.pc, first.x[0], first.x[1], first.x[2]),
            (regs.pc, 100, 101, 0)
        );
    }

    #[test]
    fn register_counts_cover_the_set() {
        use super::reg_count;
        use vcpu_server::RegSet;
        assert_eq!(reg_count(RegSet::PC), 3);
        assert_eq!(reg_count(RegSet::pc_and_x(0)), 4);
        assert_eq!(reg_count(RegSet::pc_and_x(2)), 6);
        assert_eq!(reg_count(RegSet::pc_and_x(8)), 12);
        assert_eq!(reg_count(RegSet::pc_and_x(9)), 18, "x9 comes after x30");
        assert_eq!(reg_count(RegSet::pc_and_x(16)), 24, "x0..x16 need x15 too");
        assert_eq!(reg_count(RegSet::pc_and_x(30)), 34);
        assert_eq!(reg_count(RegSet::pc_and_x(31)), 34, "no x31: as x30");
    }

    #[test]
    fn sysregs_and_names() {
        assert_eq!(vcpu_reg(SysReg::SpEl1), VcpuReg::SpEl1);
        assert_eq!(vcpu_reg(SysReg::CntvCtl), VcpuReg::CntvCtl);
        assert_eq!(VcpuReg::SpEl1 as u64, 17);
        assert_eq!(VcpuReg::CntvCtl as u64, 20);
        let mut b = [0u8; 16];
        assert_eq!(thread_name(&mut b, 0), "vcpu0");
        assert_eq!(thread_name(&mut b, 65535), "vcpu65535");
    }

    #[test]
    fn create_binds_before_writing_registers() {
        use super::{VcpuParams, create, destroy};
        use crate::fake::{self, label};
        use sel4::{Cap, InvocationLabel as L, ObjectType};
        use vcpu_protocol::Badge;
        use vcpu_server::VcpuKey;

        fake::install(None);
        let mut k = fake::objects();
        let p = VcpuParams {
            endpoint: 4,
            authority: Cap::from_cptr(16),
            priority: 50,
        };
        let key = VcpuKey {
            slot: 3,
            generation: 7,
        };
        let v = create(
            &mut k,
            &p,
            Cap::from_cptr(200),
            key,
            0x4000_0000,
            0x8000_0001,
        )
        .unwrap();
        let calls = fake::take();
        let labels: std::vec::Vec<u64> = calls.iter().map(|c| c.label).take(9).collect();
        let expected = [
            L::UntypedRetype,
            L::UntypedRetype,
            L::UntypedRetype,
            L::CNodeMint,
            L::ARMVCPUSetTCB,
            L::TCBConfigure,
            L::TCBSetSchedParams,
            L::TCBWriteRegisters,
            L::ARMVCPUWriteReg,
        ]
        .map(label);
        assert_eq!(labels, expected, "VCPU_SetTCB before any register write");
        assert_eq!(calls[0].words[0], ObjectType::Tcb.value());
        assert_eq!(calls[1].words[0], ObjectType::Vcpu.value());
        assert_eq!(&calls[2].words[..2], &[ObjectType::CNode.value(), 1]);
        let badge = Badge::VcpuFault {
            slot: 3,
            generation: 7,
        }
        .encode();
        assert_eq!(calls[3].cptr, v.cnode.slot, "minted into the guest CNode");
        assert_eq!(calls[3].words, [1, 1, 4, 64, 0b1001, badge]);
        assert_eq!(calls[3].caps, [1], "from the server's own CNode");
        assert_eq!(
            (calls[4].cptr, &calls[4].caps[..]),
            (v.vcpu.slot, &[v.tcb.slot][..])
        );
        // fault_ep 1, guard size 63 guard 0, no IPC buffer; CSpace, VSpace, no frame.
        assert_eq!(calls[5].words, [1, 63, 0, 0]);
        assert_eq!(calls[5].caps, [v.cnode.slot, 200, 0]);
        assert_eq!(
            (calls[6].words.clone(), calls[6].caps.clone()),
            (vec![0, 50], vec![16])
        );
        let w = &calls[7].words;
        assert_eq!(&w[..2], &[0, 34], "no resume, 34 registers");
        assert_eq!((w[2], w[4]), (0x4000_0000, 0x3C5), "pc and spsr");
        assert_eq!(calls[8].words, [16, 0x8000_0001], "VMPIDR_EL2");
        // Then every other EL1 register to Zircon's initial value (0), SCTLR_EL1 first.
        let written: std::vec::Vec<(u64, u64)> = calls[9..9 + super::INITIAL_SYSREGS.len()]
            .iter()
            .map(|c| {
                assert_eq!(c.label, label(L::ARMVCPUWriteReg));
                (c.words[0], c.words[1])
            })
            .collect();
        let mut numbers: std::vec::Vec<u64> = written.iter().map(|w| w.0).collect();
        assert_eq!(written[0], (VcpuReg::Sctlr as u64, 0));
        assert!(written.iter().all(|w| w.1 == 0));
        numbers.push(VcpuReg::VmpidrEl2 as u64);
        numbers.sort();
        let all: std::vec::Vec<u64> = VcpuReg::ALL.iter().map(|r| *r as u64).collect();
        assert_eq!(numbers, all, "every VCPU register is set at creation");

        destroy(&mut k, v);
        let labels: std::vec::Vec<u64> = fake::take().iter().map(|c| c.label).collect();
        assert_eq!(labels[0], label(L::TCBSuspend));
        assert_eq!(
            labels
                .iter()
                .filter(|&&l| l == label(L::CNodeDelete))
                .count(),
            3,
            "TCB, VCPU and CNode"
        );
        assert_eq!(k.untyped.free_bytes(), 1 << 20, "all memory back");
    }

    #[test]
    fn failed_configure_frees_everything() {
        use super::{VcpuParams, create};
        use crate::fake;
        use sel4::{Cap, InvocationLabel as L};
        use vcpu_server::VcpuKey;

        fn refuse_sched(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
            let fail = c.label == L::TCBSetSchedParams.value();
            (
                if fail {
                    sel4::Error::RangeError.code()
                } else {
                    0
                },
                std::vec![],
            )
        }
        fake::install(Some(refuse_sched));
        let mut k = fake::objects();
        let free = k.slots.free_count();
        let p = VcpuParams {
            endpoint: 4,
            authority: Cap::from_cptr(16),
            priority: 250,
        };
        let key = VcpuKey {
            slot: 0,
            generation: 1,
        };
        let r = create(&mut k, &p, Cap::from_cptr(200), key, 0, 0);
        assert_eq!(r.err(), Some(vcpu_protocol::Status::ERR_INTERNAL));
        assert_eq!(k.slots.free_count(), free, "slots given back");
        assert_eq!(k.untyped.free_bytes(), 1 << 20, "memory given back");
    }

    #[test]
    fn a_stale_reply_is_deleted_before_saving() {
        use crate::fake::{self, label};
        use sel4::InvocationLabel as L;
        use std::cell::Cell;

        std::thread_local! {
            static SAVES: Cell<u32> = const { Cell::new(0) };
        }
        fn first_save_fails(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
            if c.label != L::CNodeSaveCaller.value() {
                return (0, std::vec![]);
            }
            let n = SAVES.with(|s| s.replace(s.get() + 1));
            (
                if n == 0 {
                    sel4::Error::DeleteFirst.code()
                } else {
                    0
                },
                std::vec![],
            )
        }
        fake::install(Some(first_save_fails));
        let mut k = fake::objects();
        assert!(super::save_caller(&mut k, 300));
        let labels: std::vec::Vec<u64> = fake::take().iter().map(|c| c.label).collect();
        assert_eq!(
            labels,
            [L::CNodeSaveCaller, L::CNodeDelete, L::CNodeSaveCaller].map(label)
        );
        assert!(super::save_caller(&mut k, 300));
        assert_eq!(fake::take().len(), 1, "an empty slot takes one invocation");
    }

    #[test]
    fn pending_writes_merge_and_show_through_reads() {
        use super::PendingRegs;
        let mut p = PendingRegs::default();
        let mut c = UserContext::zeroed();
        c.words_mut()[..4].copy_from_slice(&[0x1000, 2, 3, 4]);
        p.merge(&c, 4);
        c.words_mut()[0] = 0x2000;
        p.merge(&c, 1);
        assert_eq!((p.n, p.words), (4, [0x2000, 2, 3, 4]), "x0 still owed");
        let mut read = UserContext::zeroed();
        read.words_mut().fill(9);
        p.overlay(&mut read, 2);
        assert_eq!(&read.words()[..3], &[0x2000, 2, 9], "only the words read");
        let mut out = UserContext::zeroed();
        assert_eq!(p.take_into(&mut out), 4);
        assert_eq!(&out.words()[..4], &[0x2000, 2, 3, 4]);
        assert_eq!(p.n, 0, "nothing owed after the restart");
    }

    #[test]
    fn fault_endpoint_can_only_send_and_call() {
        let r = super::fault_endpoint_rights();
        assert_eq!(r.word(), 0b1001, "Write | GrantReply");
    }
}
