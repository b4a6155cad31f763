//! [`Sel4Backend`]: the core's [`Backend`] trait on seL4 (see `docs/SERVER.md` for the
//! method-by-method mapping to invocations).
//!
//! The backend is built at compile time (it lives inside the server's `static`) and connected
//! to the kernel at start-up by [`Sel4Backend::start`]. Before that every method fails with
//! `ZX_ERR_BAD_STATE` (or does nothing).

use sel4::{Cap, UserContext, VirqInjection};
use vcpu_protocol::{ClientId, Status};
use vcpu_server::{Backend, GuestRegs, MapPerms, RegSet, Resume, SysReg, VcpuKey};

use crate::alloc::Objects;
use crate::frame::{self, Probe, Sel4Frame};
use crate::gic_enable::GicEnable;
use crate::guest::{self, Sel4Guest};
use crate::tables::PageTables;
use crate::vcpu::{self, REG_COUNT, Sel4Vcpu, VcpuParams};

/// List registers assumed when the kernel does not say (QEMU's GICv2 has 4).
pub const DEFAULT_LIST_REGISTERS: usize = 4;

/// Capabilities and limits the backend gets from the boot page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The server's own CNode slot.
    pub cnode: u64,
    /// The server's own TCB slot.
    pub tcb: u64,
    /// The unbadged server endpoint slot.
    pub endpoint: u64,
    /// The ASID pool slot.
    pub asid_pool: u64,
    /// The first GICV frame slot (0 = none); the other [`plan::cspace::GICV_FRAMES`]` - 1`
    /// frames follow in consecutive slots.
    pub gicv: u64,
    /// Priority of VCPU threads.
    pub vcpu_priority: u8,
    /// The server thread's MCP: the priority a new VCPU runs at while its GIC interface is
    /// enabled ([`crate::gic_enable`]).
    pub server_mcp: u8,
    /// Cores the kernel runs on (1 on a uniprocessor kernel).
    pub cores: u8,
    /// The core the server's event loop runs on.
    pub server_core: u8,
}

impl Config {
    const EMPTY: Config = Config {
        cnode: 0,
        tcb: 0,
        endpoint: 0,
        asid_pool: 0,
        gicv: 0,
        vcpu_priority: 0,
        server_mcp: 0,
        cores: 1,
        server_core: 0,
    };
}

/// The seL4 backend.
pub struct Sel4Backend {
    /// Kernel context, slots and untyped memory.
    pub k: Objects,
    cfg: Config,
    tables: PageTables,
    probe: Option<Probe>,
    num_lrs: usize,
    gic: Option<GicEnable>,
    saved_caller: Option<u64>,
    /// The VCPU (its TCB slot) whose fault message is being handled while its reply capability
    /// is still the server's caller, the guest not suspended.
    fault_caller: Option<u64>,
    /// The guest of that fault was resumed: answer the caller with the next `ReplyRecv`.
    reply_caller: bool,
    /// Scratch register context for partial register transfers (only the words a transfer
    /// names are meaningful), so that none is zeroed or built per exit.
    context: UserContext,
    /// Live VCPUs per core (the placement policy's load).
    per_core: [u16; MAX_CORES],
    /// The client whose memory is pool `i + 1` ([`crate::alloc`]), in boot-page order.
    pools: heapless::Vec<ClientId, { plan::MAX_CLIENTS }>,
}

/// What the transport does with the fault message it just handled ([`Sel4Backend::end_fault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEnd {
    /// Not a fault of a live VCPU, or already dealt with: nothing.
    Nothing,
    /// The guest goes on: answer the caller (an empty reply) with the next `ReplyRecv`.
    Reply,
}

/// Most cores the placement tracks (GICv2's limit).
pub const MAX_CORES: usize = 8;

/// The core for a new VCPU: the one with the fewest live VCPUs; among equals the first after
/// the server's core, in order, wrapping (so a lone VCPU does not share the server's core).
pub fn place(per_core: &[u16], server_core: usize) -> usize {
    let n = per_core.len().max(1);
    (1..=n)
        .map(|i| (server_core + i) % n)
        .min_by_key(|&c| per_core.get(c).copied().unwrap_or(u16::MAX))
        .unwrap_or(0)
}

/// Maps a kernel error to the status a client sees.
pub fn kernel_status(e: sel4::Error) -> Status {
    match e {
        sel4::Error::NotEnoughMemory => Status::ERR_NO_MEMORY,
        _ => Status::ERR_INTERNAL,
    }
}

impl Sel4Backend {
    /// A backend not yet connected to the kernel.
    pub const fn new() -> Self {
        Sel4Backend {
            k: Objects::new(),
            cfg: Config::EMPTY,
            tables: PageTables::new(),
            probe: None,
            num_lrs: DEFAULT_LIST_REGISTERS,
            gic: None,
            saved_caller: None,
            fault_caller: None,
            reply_caller: false,
            context: UserContext::zeroed(),
            per_core: [0; MAX_CORES],
            pools: heapless::Vec::new(),
        }
    }

    /// Gives `client` its memory pool: the untypeds of 2^`bits[i]` bytes in consecutive slots
    /// from `first`, cut into cells. Returns the pool's number. `ZX_ERR_NO_MEMORY` when more
    /// clients than [`plan::MAX_CLIENTS`] have one, or slots and cell records run out.
    pub fn add_pool(&mut self, client: ClientId, first: u64, bits: &[u8]) -> Result<u8, Status> {
        let pool = self.new_pool(client)?;
        for (i, &b) in bits.iter().enumerate() {
            self.k.add_pool(pool, first + i as u64, b)?;
        }
        Ok(pool)
    }

    /// Numbers a new, empty memory pool for `client` (`ZX_ERR_ALREADY_EXISTS` if it has one).
    pub fn new_pool(&mut self, client: ClientId) -> Result<u8, Status> {
        if self.pools.contains(&client) {
            return Err(Status::ERR_ALREADY_EXISTS);
        }
        self.pools.push(client).map_err(|_| Status::ERR_NO_MEMORY)?;
        Ok(self.pools.len() as u8)
    }

    /// The pool of `client`'s memory (`ZX_ERR_NO_MEMORY` if it has none: it may make nothing).
    pub fn pool_of(&self, client: ClientId) -> Result<u8, Status> {
        self.pools
            .iter()
            .position(|c| *c == client)
            .map(|i| i as u8 + 1)
            .ok_or(Status::ERR_NO_MEMORY)
    }

    /// Bytes free and in all of `client`'s memory pool.
    pub fn client_memory(&self, client: ClientId) -> (u64, u64) {
        match self.pool_of(client) {
            Ok(p) => (
                self.k.untyped.pool_free_bytes(p),
                self.k.untyped.pool_bytes(p),
            ),
            Err(_) => (0, 0),
        }
    }

    /// [`Backend::create_guest`] paid from memory pool `memory` (the benchmark pays from the
    /// server's own).
    pub fn create_guest_in(&mut self, memory: u8) -> Result<Sel4Guest, Status> {
        let asids = Cap::from_cptr(self.cfg.asid_pool);
        let gicv = (self.cfg.gicv != 0).then_some(self.cfg.gicv);
        let g = self.paid_by(memory, |b| {
            guest::create(&mut b.k, &mut b.tables, asids, gicv, memory)
        })?;
        Ok(g)
    }

    /// Runs `op` with the kernel objects it makes paid from `pool`.
    fn paid_by<T>(&mut self, pool: u8, op: impl FnOnce(&mut Self) -> T) -> T {
        let before = self.k.set_payer(pool);
        let result = op(self);
        self.k.set_payer(before);
        result
    }

    fn cores(&self) -> usize {
        usize::from(self.cfg.cores).clamp(1, MAX_CORES)
    }

    /// Runs `op` with the server's thread on `core` (then back on its own): a VCPU register
    /// the kernel does not write back when the VCPU merely stops (e.g. SP_EL1) is read or
    /// written correctly only on the core where that VCPU was last loaded (spec: seL4 SMP,
    /// VCPU_ReadRegs/WriteRegs have no remote path).
    fn on_core<T>(
        &mut self,
        core: u8,
        op: impl FnOnce(&mut Self) -> Result<T, Status>,
    ) -> Result<T, Status> {
        if !sel4::CONFIG.smp || core == self.cfg.server_core {
            return op(self);
        }
        let own: Cap<sel4::cap_type::Tcb> = Cap::from_cptr(self.cfg.tcb);
        let ipc = self.k.ipc()?;
        own.tcb_set_affinity(ipc, u64::from(core))
            .map_err(kernel_status)?;
        let result = op(self);
        let back = self.k.ipc().and_then(|ipc| {
            own.tcb_set_affinity(ipc, u64::from(self.cfg.server_core))
                .map_err(kernel_status)
        });
        result.and_then(|r| back.map(|()| r))
    }

    /// After a fault message was handled: whether the caller is answered by the next
    /// `ReplyRecv` (see [`FaultEnd`]); resets the record for the next message. A fault's reply
    /// capability is never saved: a guest that stays stopped was suspended, and the next
    /// receive deletes the capability.
    pub fn end_fault(&mut self) -> FaultEnd {
        let end = match self.reply_caller {
            true => FaultEnd::Reply,
            false => FaultEnd::Nothing,
        };
        self.reply_caller = false;
        self.fault_caller = None;
        end
    }

    /// Connects the backend: `k` must already have its IPC buffer, slots and untypeds. Builds
    /// the frame-size probe VSpace and counts the GIC list registers.
    pub fn start(&mut self, cfg: Config) -> Result<(), Status> {
        self.cfg = cfg;
        let pool = Cap::from_cptr(cfg.asid_pool);
        self.probe = Some(Probe::create(&mut self.k, pool)?);
        self.num_lrs = count_list_registers(&mut self.k)?;
        if cfg.gicv != 0 {
            let own = Cap::from_cptr(plan::cspace::VSPACE);
            self.gic = Some(GicEnable::create(&mut self.k, own, crate::raw::write_stub)?);
        }
        Ok(())
    }

    /// The slot holding the current caller's reply capability if a GIC-enable step moved it
    /// there ([`crate::gic_enable`]): the reply must be sent on it. Taken once.
    pub fn take_saved_caller(&mut self) -> Option<u64> {
        self.saved_caller.take()
    }

    /// Reads the first `count` registers of `v` into the scratch context, owed writes shown.
    /// With `suspend`, the guest is suspended by the same invocation (`suspend_source`):
    /// whatever it did, it is stopped afterwards, its fault's reply capability (if any) is
    /// gone, and it is resumed by a restart.
    fn read_context(&mut self, v: &mut Sel4Vcpu, count: u64, suspend: bool) -> Result<(), Status> {
        if suspend && self.fault_caller == Some(v.tcb.slot) {
            self.fault_caller = None;
        }
        let ipc = self.k.ipc()?;
        v.tcb()
            .tcb_read_registers_into(ipc, suspend, count, &mut self.context)
            .map_err(kernel_status)?;
        v.pending.overlay(&mut self.context, count);
        Ok(())
    }

    /// Whether a write of the first `count` registers of `v` is left for its restart: only
    /// if the guest was suspended (it is restarted later anyway, by `TCB_WriteRegisters` with
    /// `resume_target` then) and the write is small. A guest still blocked on the fault being
    /// handled is written at once: it is usually answered by the next `ReplyRecv`, cheaper
    /// than a restart followed by a receive.
    fn owes_writes(&self, v: &Sel4Vcpu, count: u64) -> bool {
        count as usize <= vcpu::PENDING_MAX && self.fault_caller != Some(v.tcb.slot)
    }

    /// The configuration given to [`Sel4Backend::start`].
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// What a new VCPU is made with (its fault endpoint, priority and authority).
    pub(crate) fn params(&self) -> VcpuParams {
        VcpuParams {
            endpoint: self.cfg.endpoint,
            authority: Cap::from_cptr(self.cfg.tcb),
            priority: self.cfg.vcpu_priority,
        }
    }

    /// [`Backend::create_vcpu`] once the payer's pool is chosen.
    fn create_vcpu_in(
        &mut self,
        guest: &mut Sel4Guest,
        key: VcpuKey,
        entry: u64,
        vmpidr: u64,
    ) -> Result<Sel4Vcpu, Status> {
        let params = self.params();
        let cores = self.cores();
        let core = place(&self.per_core[..cores], usize::from(self.cfg.server_core)) as u8;
        let mut v = vcpu::create(&mut self.k, &params, guest.cap(), key, entry, vmpidr)?;
        if sel4::CONFIG.smp && core != self.cfg.server_core {
            // A new TCB has the affinity of the core that retyped it (the server's); the VCPU
            // thread has never run, so nothing of it is loaded anywhere yet.
            let placed = self.k.ipc().and_then(|ipc| {
                v.tcb()
                    .tcb_set_affinity(ipc, u64::from(core))
                    .map_err(kernel_status)
            });
            if let Err(e) = placed {
                vcpu::destroy(&mut self.k, v);
                return Err(e);
            }
        }
        v.core = core;
        self.per_core[usize::from(core)] += 1;
        if let (Some(gic), true) = (&self.gic, guest.gicv[0].is_some()) {
            // The step's receive replaces the reply capability of the client being served:
            // keep it; the transport answers through it.
            if !vcpu::save_caller(&mut self.k, gic.caller) {
                vcpu::destroy(&mut self.k, v);
                return Err(Status::ERR_NO_RESOURCES);
            }
            self.saved_caller = Some(gic.caller);
            let step = vcpu::enable_gic(
                &mut self.k,
                &mut self.tables,
                guest,
                &v,
                &params,
                gic,
                self.cfg.server_mcp,
                key,
                entry,
            );
            if let Err(s) = step {
                vcpu::destroy(&mut self.k, v);
                return Err(s);
            }
        }
        Ok(v)
    }
}

/// Asks the kernel how many list registers the GIC has: `VCPU_InjectIRQ` on a scratch VCPU with
/// index 255 fails with `RangeError`, whose second word is the largest valid index.
fn count_list_registers(k: &mut Objects) -> Result<usize, Status> {
    let scratch = k.retype(sel4::ObjectType::Vcpu, 0)?;
    let request = sel4::Request::vcpu_inject_irq(VirqInjection {
        virq: 0,
        priority: 0,
        group: 0,
        index: u8::MAX,
    });
    let response = k.ipc()?.invoke(scratch.slot, &request);
    k.free(scratch);
    let n = match response.result() {
        Err(sel4::Error::RangeError) => usize::try_from(response.word(1)).ok(),
        _ => None,
    };
    match n.and_then(|max| max.checked_add(1)) {
        Some(n) if n <= 64 => Ok(n),
        _ => {
            crate::warn(format_args!(
                "list-register probe gave no range; assuming {DEFAULT_LIST_REGISTERS}"
            ));
            Ok(DEFAULT_LIST_REGISTERS)
        }
    }
}

impl Backend for Sel4Backend {
    type Guest = Sel4Guest;
    type Vcpu = Sel4Vcpu;
    type Frame = Sel4Frame;

    fn create_guest(&mut self, payer: ClientId) -> Result<Sel4Guest, Status> {
        let memory = self.pool_of(payer)?;
        self.create_guest_in(memory)
    }

    fn destroy_guest(&mut self, guest: Sel4Guest) {
        guest::destroy(&mut self.k, &mut self.tables, guest);
    }

    fn frame_size(&mut self, frame: &Sel4Frame) -> Result<u64, Status> {
        let probe = self.probe.as_ref().ok_or(Status::ERR_BAD_STATE)?;
        let bits = frame::probe_size(&mut self.k, probe, frame)?;
        Ok(1 << bits)
    }

    fn map_frame(
        &mut self,
        guest: &mut Sel4Guest,
        gpa: u64,
        frame: &Sel4Frame,
        perms: MapPerms,
    ) -> Result<(), Status> {
        if frame.bits.get() == 0 {
            self.frame_size(frame)?;
        }
        let (rights, attrs) = frame::mapping(perms);
        // Page tables are part of the guest: paid by the guest's payer.
        self.paid_by(guest.pool, |b| {
            guest::map(&mut b.k, &mut b.tables, guest, gpa, frame, rights, attrs)
        })
    }

    fn frame_from(&mut self, source: &Sel4Frame, slot: u64) -> Result<Sel4Frame, Status> {
        frame::take_from(&mut self.k, source, slot)
    }

    fn protect_frame(
        &mut self,
        guest: &mut Sel4Guest,
        gpa: u64,
        frame: &Sel4Frame,
        perms: MapPerms,
    ) -> Result<(), Status> {
        let (rights, attrs) = frame::mapping(perms);
        guest::protect(&mut self.k, guest, gpa, frame, rights, attrs)
    }

    fn unmap_frame(&mut self, guest: &mut Sel4Guest, gpa: u64, frame: &Sel4Frame) {
        guest::unmap(&mut self.k, &mut self.tables, guest, gpa, frame);
    }

    fn delete_frame(&mut self, frame: Sel4Frame) {
        self.k.release_slot(frame.slot);
    }

    fn create_vcpu(
        &mut self,
        guest: &mut Sel4Guest,
        key: VcpuKey,
        entry: u64,
        vmpidr: u64,
        payer: ClientId,
    ) -> Result<Sel4Vcpu, Status> {
        let memory = self.pool_of(payer)?;
        self.paid_by(memory, |b| b.create_vcpu_in(guest, key, entry, vmpidr))
    }

    fn destroy_vcpu(&mut self, v: Sel4Vcpu) {
        let core = usize::from(v.core);
        // On its own core: seL4 forgets a deleted VCPU's loaded state only on the core that
        // deletes it (`dissociateVCPUTCB` checks that core's current VCPU alone); deleted from
        // another core, the VCPU's core would later save registers into the freed object's
        // memory, which may by then hold a new CNode (observed: a new VCPU's fault endpoint
        // lost). The VCPU is loaded nowhere else, being pinned to its core.
        let moved = self.on_core(v.core, |b| {
            vcpu::destroy(&mut b.k, v);
            Ok(())
        });
        if let Err(e) = moved {
            crate::warn(format_args!(
                "VCPU on core {core}: could not move there to destroy it: {e:?}"
            ));
        }
        self.per_core[core] = self.per_core[core].saturating_sub(1);
    }

    fn take_fault(&mut self, v: &mut Sel4Vcpu) {
        // Kept as the caller until the message ends (`end_fault`): a guest resumed at once is
        // answered by the next ReplyRecv.
        self.fault_caller = Some(v.tcb.slot);
        self.reply_caller = false;
    }

    fn caller_waiting(&mut self, v: &mut Sel4Vcpu) -> bool {
        // The guest stays stopped. Unless a register read of this exit suspended it already,
        // it is suspended now (it may have sent the message without blocking): either way it
        // is really stopped, and its next resume restarts it. The fault's reply capability is
        // not kept (the next receive deletes it).
        if self.fault_caller == Some(v.tcb.slot) {
            self.fault_caller = None;
            return self
                .k
                .ipc()
                .is_ok_and(|ipc| v.tcb().tcb_suspend(ipc).is_ok());
        }
        true
    }

    fn resume_vcpu(&mut self, v: &mut Sel4Vcpu, how: Resume) -> Result<(), Status> {
        let current = self.fault_caller == Some(v.tcb.slot);
        if current {
            self.fault_caller = None;
        }
        // A fault still the server's caller is answered by the next ReplyRecv (cheaper than a
        // restart followed by a receive); any other stopped guest is restarted, by the write
        // of the owed registers if there are any.
        let answer = current && how == Resume::Fault;
        let ipc = self.k.ipc()?;
        if v.pending.n != 0 {
            let n = v.pending.take_into(&mut self.context);
            v.tcb()
                .tcb_write_registers(ipc, !answer, n, &self.context)
                .map_err(kernel_status)?;
        } else if !answer {
            v.tcb().tcb_resume(ipc).map_err(kernel_status)?;
        }
        self.reply_caller = answer;
        Ok(())
    }

    fn stop_vcpu(&mut self, v: &mut Sel4Vcpu) -> Result<(), Status> {
        let ipc = self.k.ipc()?;
        v.tcb().tcb_suspend(ipc).map_err(kernel_status)
    }

    fn read_regs(&mut self, v: &mut Sel4Vcpu) -> Result<GuestRegs, Status> {
        self.read_context(v, REG_COUNT, false)?;
        Ok(vcpu::from_context(&self.context))
    }

    fn write_regs(&mut self, v: &mut Sel4Vcpu, regs: &GuestRegs) -> Result<(), Status> {
        self.write_regs_in(v, regs, RegSet::pc_and_x(30))
    }

    fn read_regs_in(&mut self, v: &mut Sel4Vcpu, set: RegSet) -> Result<GuestRegs, Status> {
        let n = vcpu::reg_count(set);
        self.read_context(v, n, false)?;
        Ok(vcpu::from_context_first(&self.context, n))
    }

    fn write_regs_in(
        &mut self,
        v: &mut Sel4Vcpu,
        regs: &GuestRegs,
        set: RegSet,
    ) -> Result<(), Status> {
        let n = vcpu::reg_count(set);
        vcpu::to_context_first(&mut self.context, regs, n);
        if self.owes_writes(v, n) {
            v.pending.merge(&self.context, n);
            return Ok(());
        }
        // Covers every owed word (none are owed while the guest waits on its fault; else `n`
        // exceeds them, and `regs` came from a read, which showed them).
        v.pending.n = 0;
        let ipc = self.k.ipc()?;
        v.tcb()
            .tcb_write_registers(ipc, false, n, &self.context)
            .map_err(kernel_status)
    }

    fn advance_pc_to_stop(&mut self, v: &mut Sel4Vcpu, x: Option<u8>) -> Result<u64, Status> {
        // Reads up to x`n` in seL4 order (not x0..=x`n`), suspending the guest: the pc write is
        // owed to its restart.
        let at = x.and_then(UserContext::index_of_x);
        let count = at.map_or(1, |i| i as u64 + 1);
        self.read_context(v, count, true)?;
        let words = self.context.words();
        let value = at.map_or(0, |i| words[i]);
        let pc = words[0].wrapping_add(4);
        self.context.words_mut()[0] = pc;
        v.pending.merge(&self.context, 1);
        Ok(value)
    }

    fn advance_pc(&mut self, v: &mut Sel4Vcpu) -> Result<(), Status> {
        if v.pending.n == 0 {
            self.read_context(v, 1, false)?;
        } else {
            self.context.words_mut()[0] = v.pending.words[0];
        }
        let pc = &mut self.context.words_mut()[0];
        *pc = pc.wrapping_add(4);
        if self.owes_writes(v, 1) {
            v.pending.merge(&self.context, 1);
            return Ok(());
        }
        let ipc = self.k.ipc()?;
        v.tcb()
            .tcb_write_registers(ipc, false, 1, &self.context)
            .map_err(kernel_status)
    }

    fn read_sysreg(&mut self, v: &mut Sel4Vcpu, reg: SysReg) -> Result<u64, Status> {
        let cap = v.vcpu();
        let read = move |b: &mut Self| {
            let ipc = b.k.ipc()?;
            cap.vcpu_read_regs(ipc, vcpu::vcpu_reg(reg))
                .map_err(kernel_status)
        };
        match vcpu::saved_when_stopped(reg) {
            true => read(self),
            false => self.on_core(v.core, read),
        }
    }

    fn write_sysreg(&mut self, v: &mut Sel4Vcpu, reg: SysReg, value: u64) -> Result<(), Status> {
        let cap = v.vcpu();
        let write = move |b: &mut Self| {
            let ipc = b.k.ipc()?;
            cap.vcpu_write_regs(ipc, vcpu::vcpu_reg(reg), value)
                .map_err(kernel_status)
        };
        match vcpu::saved_when_stopped(reg) {
            true => write(self),
            false => self.on_core(v.core, write),
        }
    }

    fn num_list_registers(&self) -> usize {
        self.num_lrs
    }

    fn inject_irq(
        &mut self,
        v: &mut Sel4Vcpu,
        lr: u8,
        vector: u16,
        priority: u8,
        group: u8,
    ) -> Result<(), Status> {
        let ipc = self.k.ipc()?;
        v.vcpu()
            .vcpu_inject_irq(ipc, vector, priority, group, lr)
            .map_err(kernel_status)
    }

    fn ack_vppi(&mut self, v: &mut Sel4Vcpu, irq: u32) -> Result<(), Status> {
        let ipc = self.k.ipc()?;
        v.vcpu()
            .vcpu_ack_vppi(ipc, u64::from(irq))
            .map_err(kernel_status)
    }
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_LIST_REGISTERS, count_list_registers};
    use crate::fake;
    use sel4::{Error, InvocationLabel as L};

    fn lrs(c: &fake::Call) -> (u64, std::vec::Vec<u64>) {
        if c.label == L::ARMVCPUInjectIRQ.value() && c.words[0] >> 32 == 255 {
            return (Error::RangeError.code(), std::vec![0, 5]);
        }
        (0, std::vec![])
    }

    /// Issue 10: each client's kernel objects come from its own pool; a client whose pool is
    /// used up gets `ZX_ERR_NO_MEMORY` while its neighbour creates on, and every pool is back
    /// to its start value, byte for byte, once the objects are gone.
    #[test]
    fn kernel_memory_is_paid_per_client_and_comes_back_exactly() {
        use crate::frame::Sel4Frame;
        use vcpu_protocol::{ClientId, Status};
        use vcpu_server::{Backend, MapPerms, VcpuKey};
        fake::install(None);
        let mut b = super::Sel4Backend::new();
        b.k = fake::objects();
        let (a, n) = (ClientId(1), ClientId(2));
        // A: room for a guest (VSpace), a VCPU (TCB, VCPU, CNode) and two page tables.
        let pa = b.new_pool(a).unwrap();
        fake::add_pool(&mut b.k, pa, 6);
        let pn = b.new_pool(n).unwrap();
        fake::add_pool(&mut b.k, pn, 16);
        let start = (
            b.client_memory(a),
            b.client_memory(n),
            b.k.untyped.free_bytes(),
        );
        assert_eq!(start.0, (6 * 4096, 6 * 4096));
        let key = VcpuKey {
            slot: 0,
            generation: 1,
        };
        let mut g = b.create_guest(a).unwrap();
        let v = b.create_vcpu(&mut g, key, 0, 0, a).unwrap();
        assert_eq!(b.client_memory(a).0, 2 * 4096);
        // Slots: the VSpace; the TCB, VCPU and CNode.
        assert_eq!(b.k.slots.held_by(pa), 4);
        // A 4 KiB frame needs three tables: only two cells are left.
        let frame = Sel4Frame::new(900);
        frame.bits.set(12);
        let rw = MapPerms {
            read: true,
            write: true,
            execute: false,
        };
        assert_eq!(
            b.map_frame(&mut g, 0x1000, &frame, rw),
            Err(Status::ERR_NO_MEMORY)
        );
        assert_eq!(
            b.client_memory(a).0,
            2 * 4096,
            "the two tables made for the failed mapping are freed again"
        );
        // The two cells left hold two more guests (a VSpace each), then nothing.
        let more = [b.create_guest(a).unwrap(), b.create_guest(a).unwrap()];
        assert_eq!(b.create_guest(a).err(), Some(Status::ERR_NO_MEMORY));
        for g in more {
            b.destroy_guest(g);
        }
        assert_eq!(
            b.client_memory(n),
            start.1,
            "the neighbour's memory is untouched"
        );
        // The neighbour creates within its own memory, and maps.
        let mut gn = b.create_guest(n).unwrap();
        b.map_frame(&mut gn, 0x1000, &frame, rw).unwrap();
        assert_eq!(b.client_memory(n).0, 12 * 4096);
        assert_eq!(
            b.create_guest(ClientId(9)).err(),
            Some(Status::ERR_NO_MEMORY)
        );
        b.unmap_frame(&mut gn, 0x1000, &frame);
        assert_eq!(
            b.client_memory(n).0,
            15 * 4096,
            "unmapping freed the tables"
        );
        b.destroy_guest(gn);
        b.destroy_vcpu(v);
        b.destroy_guest(g);
        assert_eq!(
            (
                b.client_memory(a),
                b.client_memory(n),
                b.k.untyped.free_bytes()
            ),
            start,
            "every pool back to its start value"
        );
        assert_eq!((b.k.slots.held_by(pa), b.k.slots.held_by(pn)), (0, 0));
    }

    #[test]
    fn list_registers_from_the_range_error() {
        fake::install(Some(lrs));
        let mut k = fake::objects();
        assert_eq!(count_list_registers(&mut k), Ok(6));
        assert_eq!(k.untyped.free_bytes(), 1 << 20, "the scratch VCPU is freed");
        fake::install(None);
        assert_eq!(count_list_registers(&mut k), Ok(DEFAULT_LIST_REGISTERS));
    }
}
