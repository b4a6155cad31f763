//! A deterministic fake kernel backend: records every state-changing call, keeps VCPU register
//! files and list registers, tracks frame ownership, can be told to fail an operation, and
//! notes contract violations (a register access while running, a resume of a VCPU that is not
//! stopped, a double delete, ...) for tests to assert on.

use std::collections::{BTreeSet, HashMap};

use vcpu_protocol::ClientId;
use vcpu_server::{Backend, GuestRegs, MapPerms, Resume, Status, SysReg, VcpuKey};

/// A frame capability handed to the server.
#[derive(Debug, PartialEq, Eq)]
pub struct FakeFrame {
    pub id: u32,
    pub size: u64,
}

/// Backend operations that can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    CreateGuest,
    FrameSize,
    MapFrame,
    ProtectFrame,
    CreateVcpu,
    Resume,
    Stop,
    ReadRegs,
    WriteRegs,
    ReadSysreg,
    WriteSysreg,
    InjectIrq,
    AckVppi,
}

/// A recorded state-changing call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    CreateGuest(u32),
    DestroyGuest(u32),
    MapFrame {
        guest: u32,
        gpa: u64,
        frame: u32,
        perms: MapPerms,
    },
    UnmapFrame {
        guest: u32,
        gpa: u64,
        frame: u32,
    },
    ProtectFrame {
        guest: u32,
        gpa: u64,
        frame: u32,
        perms: MapPerms,
    },
    DeleteFrame(u32),
    FrameFrom {
        source: u32,
        slot: u64,
    },
    CreateVcpu {
        guest: u32,
        vcpu: u32,
        key: VcpuKey,
        entry: u64,
        vmpidr: u64,
    },
    DestroyVcpu(u32),
    TakeFault(u32),
    CallerWaiting(u32),
    Resume(u32, Resume),
    Stop(u32),
    Inject {
        vcpu: u32,
        lr: u8,
        vector: u16,
        priority: u8,
        group: u8,
    },
    AckVppi(u32, u32),
}

/// Where a fake VCPU's thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeRun {
    NotStarted,
    Running,
    AtFault,
    Stopped,
    Destroyed,
}

/// One fake VCPU.
#[derive(Clone, Debug)]
pub struct FakeVcpu {
    pub guest: u32,
    pub key: VcpuKey,
    pub regs: GuestRegs,
    pub sp_el1: u64,
    pub cntv_ctl: u64,
    pub vmpidr: u64,
    /// (vector, priority, group) per list register.
    pub lrs: [Option<(u16, u8, u8)>; FakeBackend::NUM_LRS],
    pub run: FakeRun,
    /// A fault message was delivered and its reply saved.
    pub fault_saved: bool,
}

/// The fake backend.
#[derive(Default)]
pub struct FakeBackend {
    /// The guest of this fake VCPU is sending an exit message without blocking (HVC `Send`):
    /// `take_fault` saves nothing, and a `Fault` resume is a no-op, as on seL4.
    pub sending: Option<u32>,
    pub calls: Vec<Call>,
    pub vcpus: Vec<FakeVcpu>,
    pub guests_alive: BTreeSet<u32>,
    next_guest: u32,
    next_frame: u32,
    /// Frames that exist (made by `new_frame`, not yet deleted).
    pub frames_alive: BTreeSet<u32>,
    /// CNode capabilities sent with `vmar_map_frames`: id -> the frame size in each slot
    /// (0: an empty slot).
    pub cnodes: HashMap<u32, Vec<u64>>,
    /// Frames currently mapped: frame id -> (guest, gpa).
    pub mapped: HashMap<u32, (u32, u64)>,
    fail: HashMap<Op, Status>,
    pub violations: Vec<String>,
    /// Memory of each paying client, as the seL4 backend's pools: its size (a client without
    /// an entry is not limited) and the bytes its live objects use.
    pub memory: HashMap<ClientId, u64>,
    pub memory_used: HashMap<ClientId, u64>,
    /// The payer of each live guest and VCPU.
    guest_payer: HashMap<u32, ClientId>,
    vcpu_payer: HashMap<u32, ClientId>,
}

impl FakeBackend {
    /// List registers the fake reports.
    pub const NUM_LRS: usize = 4;
    /// What a guest costs its payer (the seL4 backend: VSpace and three GICV tables, 4 KiB each).
    pub const GUEST_BYTES: u64 = 4 * 0x1000;
    /// What a VCPU costs (TCB, VCPU object and CNode, 4 KiB each).
    pub const VCPU_BYTES: u64 = 3 * 0x1000;

    /// Gives client `c` a memory pool of `bytes`.
    pub fn give_memory(&mut self, c: ClientId, bytes: u64) {
        self.memory.insert(c, bytes);
    }

    /// Bytes client `c`'s live objects use.
    pub fn memory_used(&self, c: ClientId) -> u64 {
        self.memory_used.get(&c).copied().unwrap_or(0)
    }

    fn pay(&mut self, c: ClientId, bytes: u64) -> Result<(), Status> {
        let size = self.memory.get(&c).copied().unwrap_or(u64::MAX);
        let used = self.memory_used.entry(c).or_default();
        if used.saturating_add(bytes) > size {
            return Err(Status::ERR_NO_MEMORY);
        }
        *used += bytes;
        Ok(())
    }

    fn refund(&mut self, c: Option<ClientId>, bytes: u64) {
        match c.and_then(|c| self.memory_used.get_mut(&c)) {
            Some(used) if *used >= bytes => *used -= bytes,
            _ => self
                .violations
                .push(format!("refund of {bytes} bytes to {c:?}")),
        }
    }

    /// A new frame capability of `size` bytes.
    pub fn new_frame(&mut self, size: u64) -> FakeFrame {
        self.next_frame += 1;
        self.frames_alive.insert(self.next_frame);
        FakeFrame {
            id: self.next_frame,
            size,
        }
    }

    /// A new CNode capability whose slots hold frames of `sizes` (0: empty slot).
    pub fn new_cnode(&mut self, sizes: &[u64]) -> FakeFrame {
        let c = self.new_frame(0);
        self.cnodes.insert(c.id, sizes.to_vec());
        c
    }

    /// Makes every later call of `op` fail with `status` until [`FakeBackend::heal`].
    pub fn fail(&mut self, op: Op, status: Status) {
        self.fail.insert(op, status);
    }

    /// Stops failing `op`.
    pub fn heal(&mut self, op: Op) {
        self.fail.remove(&op);
    }

    fn check(&self, op: Op) -> Result<(), Status> {
        self.fail.get(&op).map_or(Ok(()), |s| Err(*s))
    }

    /// The fake VCPU with this key (the live one).
    pub fn vcpu_by_key(&self, key: VcpuKey) -> Option<usize> {
        self.vcpus
            .iter()
            .position(|v| v.key == key && v.run != FakeRun::Destroyed)
    }

    fn stopped(&mut self, id: u32, what: &str) -> Option<&mut FakeVcpu> {
        // While its guest sends an exit message the thread is not executing (one core): the
        // kernel lets the server read and write its registers, which changes only that guest.
        let sending = self.sending == Some(id);
        let v = self.vcpus.get_mut(id as usize)?;
        if (v.run == FakeRun::Running && !sending) || v.run == FakeRun::Destroyed {
            let msg = format!("{what} on vcpu {id} in state {:?}", v.run);
            self.violations.push(msg);
            return self.vcpus.get_mut(id as usize);
        }
        self.vcpus.get_mut(id as usize)
    }

    /// Simulates the guest trapping: the VCPU's thread blocks on a fault.
    pub fn guest_faults(&mut self, id: u32) {
        if let Some(v) = self.vcpus.get_mut(id as usize) {
            if v.run != FakeRun::Running {
                let msg = format!("vcpu {id} faulted while {:?}", v.run);
                self.violations.push(msg);
            }
            v.run = FakeRun::AtFault;
        }
    }

    /// Calls recorded since index `from`, without register traffic.
    pub fn calls_since(&self, from: usize) -> &[Call] {
        &self.calls[from..]
    }
}

impl Backend for FakeBackend {
    type Guest = u32;
    type Vcpu = u32;
    type Frame = FakeFrame;

    fn create_guest(&mut self, payer: ClientId) -> Result<u32, Status> {
        self.check(Op::CreateGuest)?;
        self.pay(payer, Self::GUEST_BYTES)?;
        self.next_guest += 1;
        self.guest_payer.insert(self.next_guest, payer);
        self.guests_alive.insert(self.next_guest);
        self.calls.push(Call::CreateGuest(self.next_guest));
        Ok(self.next_guest)
    }

    fn destroy_guest(&mut self, guest: u32) {
        let payer = self.guest_payer.remove(&guest);
        self.refund(payer, Self::GUEST_BYTES);
        if !self.guests_alive.remove(&guest) {
            self.violations
                .push(format!("guest {guest} destroyed twice"));
        }
        if self.mapped.values().any(|(g, _)| *g == guest) {
            self.violations
                .push(format!("guest {guest} destroyed with frames mapped"));
        }
        let live_vcpus = self
            .vcpus
            .iter()
            .any(|v| v.guest == guest && v.run != FakeRun::Destroyed);
        if live_vcpus {
            self.violations
                .push(format!("guest {guest} destroyed with VCPUs"));
        }
        self.calls.push(Call::DestroyGuest(guest));
    }

    fn frame_from(&mut self, source: &FakeFrame, slot: u64) -> Result<FakeFrame, Status> {
        let size = self
            .cnodes
            .get(&source.id)
            .and_then(|c| c.get(usize::try_from(slot).ok()?))
            .copied()
            .unwrap_or(0);
        if size == 0 {
            return Err(Status::ERR_INVALID_ARGS);
        }
        self.calls.push(Call::FrameFrom {
            source: source.id,
            slot,
        });
        Ok(self.new_frame(size))
    }

    fn frame_size(&mut self, frame: &FakeFrame) -> Result<u64, Status> {
        self.check(Op::FrameSize)?;
        Ok(frame.size)
    }

    fn map_frame(
        &mut self,
        guest: &mut u32,
        gpa: u64,
        frame: &FakeFrame,
        perms: MapPerms,
    ) -> Result<(), Status> {
        self.check(Op::MapFrame)?;
        if self.mapped.insert(frame.id, (*guest, gpa)).is_some() {
            self.violations
                .push(format!("frame {} mapped twice", frame.id));
        }
        self.calls.push(Call::MapFrame {
            guest: *guest,
            gpa,
            frame: frame.id,
            perms,
        });
        Ok(())
    }

    fn protect_frame(
        &mut self,
        guest: &mut u32,
        gpa: u64,
        frame: &FakeFrame,
        perms: MapPerms,
    ) -> Result<(), Status> {
        self.check(Op::ProtectFrame)?;
        if self.mapped.get(&frame.id) != Some(&(*guest, gpa)) {
            self.violations
                .push(format!("frame {} protected but not mapped there", frame.id));
        }
        self.calls.push(Call::ProtectFrame {
            guest: *guest,
            gpa,
            frame: frame.id,
            perms,
        });
        Ok(())
    }

    fn unmap_frame(&mut self, guest: &mut u32, gpa: u64, frame: &FakeFrame) {
        if self.mapped.remove(&frame.id) != Some((*guest, gpa)) {
            self.violations
                .push(format!("frame {} unmapped but not mapped", frame.id));
        }
        self.calls.push(Call::UnmapFrame {
            guest: *guest,
            gpa,
            frame: frame.id,
        });
    }

    fn delete_frame(&mut self, frame: FakeFrame) {
        if !self.frames_alive.remove(&frame.id) {
            self.violations
                .push(format!("frame {} deleted twice", frame.id));
        }
        if self.mapped.contains_key(&frame.id) {
            self.violations
                .push(format!("frame {} deleted while mapped", frame.id));
        }
        self.calls.push(Call::DeleteFrame(frame.id));
    }

    fn create_vcpu(
        &mut self,
        guest: &mut u32,
        key: VcpuKey,
        entry: u64,
        vmpidr: u64,
        payer: ClientId,
    ) -> Result<u32, Status> {
        self.check(Op::CreateVcpu)?;
        self.pay(payer, Self::VCPU_BYTES)?;
        let id = self.vcpus.len() as u32;
        self.vcpu_payer.insert(id, payer);
        let regs = GuestRegs {
            pc: entry,
            spsr: 0x3C5,
            ..GuestRegs::default()
        };
        self.vcpus.push(FakeVcpu {
            guest: *guest,
            key,
            regs,
            sp_el1: 0,
            cntv_ctl: 0,
            vmpidr,
            lrs: [None; Self::NUM_LRS],
            run: FakeRun::NotStarted,
            fault_saved: false,
        });
        self.calls.push(Call::CreateVcpu {
            guest: *guest,
            vcpu: id,
            key,
            entry,
            vmpidr,
        });
        Ok(id)
    }

    fn destroy_vcpu(&mut self, vcpu: u32) {
        let payer = self.vcpu_payer.remove(&vcpu);
        self.refund(payer, Self::VCPU_BYTES);
        match self.vcpus.get_mut(vcpu as usize) {
            Some(v) if v.run != FakeRun::Destroyed => v.run = FakeRun::Destroyed,
            _ => self.violations.push(format!("vcpu {vcpu} destroyed twice")),
        }
        self.calls.push(Call::DestroyVcpu(vcpu));
    }

    fn take_fault(&mut self, vcpu: &mut u32) {
        let id = *vcpu;
        let sending = self.sending == Some(id);
        if let Some(v) = self.vcpus.get_mut(id as usize) {
            if sending {
                v.fault_saved = false;
            } else {
                if v.run != FakeRun::AtFault {
                    let msg = format!("take_fault on vcpu {id} in state {:?}", v.run);
                    self.violations.push(msg);
                }
                v.fault_saved = true;
            }
        }
        self.calls.push(Call::TakeFault(id));
    }

    fn caller_waiting(&mut self, vcpu: &mut u32) -> bool {
        let id = *vcpu;
        self.calls.push(Call::CallerWaiting(id));
        self.vcpus
            .get(id as usize)
            .is_some_and(|v| v.run == FakeRun::AtFault)
    }

    fn resume_vcpu(&mut self, vcpu: &mut u32, how: Resume) -> Result<(), Status> {
        self.check(Op::Resume)?;
        let id = *vcpu;
        self.calls.push(Call::Resume(id, how));
        let Some(v) = self.vcpus.get_mut(id as usize) else {
            return Err(Status::ERR_INTERNAL);
        };
        let expected = match how {
            Resume::Start => FakeRun::NotStarted,
            Resume::Fault => FakeRun::AtFault,
            Resume::Restart => FakeRun::Stopped,
        };
        if how == Resume::Fault && !v.fault_saved && v.run != FakeRun::AtFault {
            // A reply on an empty slot: seL4 does nothing (the guest never waited).
            return Ok(());
        }
        let ok = v.run == expected && (how != Resume::Fault || v.fault_saved);
        if !ok {
            let msg = format!("resume {how:?} of vcpu {id} in state {:?}", v.run);
            self.violations.push(msg);
        }
        v.fault_saved = false;
        v.run = FakeRun::Running;
        Ok(())
    }

    fn stop_vcpu(&mut self, vcpu: &mut u32) -> Result<(), Status> {
        self.check(Op::Stop)?;
        let id = *vcpu;
        self.calls.push(Call::Stop(id));
        match self.vcpus.get_mut(id as usize) {
            Some(v) if v.run == FakeRun::Running => {
                v.run = FakeRun::Stopped;
                Ok(())
            }
            _ => {
                self.violations
                    .push(format!("stop of vcpu {id} that is not running"));
                Ok(())
            }
        }
    }

    fn read_regs(&mut self, vcpu: &mut u32) -> Result<GuestRegs, Status> {
        self.check(Op::ReadRegs)?;
        let v = self
            .stopped(*vcpu, "read_regs")
            .ok_or(Status::ERR_INTERNAL)?;
        Ok(v.regs)
    }

    fn write_regs(&mut self, vcpu: &mut u32, regs: &GuestRegs) -> Result<(), Status> {
        self.check(Op::WriteRegs)?;
        let v = self
            .stopped(*vcpu, "write_regs")
            .ok_or(Status::ERR_INTERNAL)?;
        v.regs = *regs;
        Ok(())
    }

    fn read_sysreg(&mut self, vcpu: &mut u32, reg: SysReg) -> Result<u64, Status> {
        self.check(Op::ReadSysreg)?;
        let v = self
            .stopped(*vcpu, "read_sysreg")
            .ok_or(Status::ERR_INTERNAL)?;
        Ok(match reg {
            SysReg::SpEl1 => v.sp_el1,
            SysReg::CntvCtl => v.cntv_ctl,
        })
    }

    fn write_sysreg(&mut self, vcpu: &mut u32, reg: SysReg, value: u64) -> Result<(), Status> {
        self.check(Op::WriteSysreg)?;
        let v = self
            .stopped(*vcpu, "write_sysreg")
            .ok_or(Status::ERR_INTERNAL)?;
        match reg {
            SysReg::SpEl1 => v.sp_el1 = value,
            SysReg::CntvCtl => v.cntv_ctl = value,
        }
        Ok(())
    }

    fn num_list_registers(&self) -> usize {
        Self::NUM_LRS
    }

    fn inject_irq(
        &mut self,
        vcpu: &mut u32,
        lr: u8,
        vector: u16,
        priority: u8,
        group: u8,
    ) -> Result<(), Status> {
        self.check(Op::InjectIrq)?;
        let id = *vcpu;
        if priority > 31 || group > 1 {
            self.violations
                .push(format!("inject with priority {priority} group {group}"));
        }
        let v = self
            .vcpus
            .get_mut(id as usize)
            .ok_or(Status::ERR_INTERNAL)?;
        let slot = v
            .lrs
            .get_mut(usize::from(lr))
            .ok_or(Status::ERR_OUT_OF_RANGE)?;
        if slot.is_some() {
            self.violations
                .push(format!("inject into occupied LR {lr} of vcpu {id}"));
        }
        *slot = Some((vector, priority, group));
        self.calls.push(Call::Inject {
            vcpu: id,
            lr,
            vector,
            priority,
            group,
        });
        Ok(())
    }

    fn ack_vppi(&mut self, vcpu: &mut u32, irq: u32) -> Result<(), Status> {
        self.check(Op::AckVppi)?;
        self.calls.push(Call::AckVppi(*vcpu, irq));
        Ok(())
    }
}

impl FakeBackend {
    /// The guest EOIs list register `lr` (the kernel clears it before the maintenance fault).
    pub fn guest_eois(&mut self, id: u32, lr: usize) -> Option<u16> {
        let v = self.vcpus.get_mut(id as usize)?;
        v.lrs.get_mut(lr)?.take().map(|(vector, _, _)| vector)
    }
}
