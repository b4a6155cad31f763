//! Host-test harness: the real server core (`vcpu-server`) behind a [`Loopback`] transport,
//! with a backend that keeps registers in memory and a scripted guest: when `vcpu_enter` is
//! deferred, the next scripted [`GuestExit`] is fed to the core until the enter completes.

use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;

use vcpu_client::Loopback;
use vcpu_protocol::{ClientId, Reply, Request, Sender, Status, ThreadId};
use vcpu_server::exit::GuestExit;
use vcpu_server::{Backend, GuestRegs, MapPerms, Outcome, Resume, Server, SysReg, VcpuKey};

/// A VCPU of the simulated kernel (its registers live in the backend, keyed by slot, so the
/// script can change them).
pub struct SimVcpu {
    pub key: VcpuKey,
}

/// A backend that only keeps state.
#[derive(Default)]
pub struct SimBackend {
    pub last_vcpu: Option<VcpuKey>,
    pub mapped: Vec<u64>,
    /// Registers and SP_EL1 of each live VCPU, by slot.
    pub vcpus: BTreeMap<u16, (GuestRegs, u64)>,
}

impl SimBackend {
    fn regs(&mut self, v: &SimVcpu) -> &mut (GuestRegs, u64) {
        self.vcpus.entry(v.key.slot).or_default()
    }
}

impl Backend for SimBackend {
    type Guest = ();
    type Vcpu = SimVcpu;
    type Frame = u64;

    fn create_guest(&mut self, _: ClientId) -> Result<(), Status> {
        Ok(())
    }
    fn destroy_guest(&mut self, _: ()) {}
    fn frame_size(&mut self, frame: &u64) -> Result<u64, Status> {
        Ok(*frame)
    }
    fn map_frame(&mut self, _: &mut (), gpa: u64, _: &u64, _: MapPerms) -> Result<(), Status> {
        self.mapped.push(gpa);
        Ok(())
    }
    fn frame_from(&mut self, _: &u64, _: u64) -> Result<u64, Status> {
        Err(Status::ERR_NOT_SUPPORTED)
    }
    fn protect_frame(&mut self, _: &mut (), _: u64, _: &u64, _: MapPerms) -> Result<(), Status> {
        Ok(())
    }
    fn unmap_frame(&mut self, _: &mut (), _: u64, _: &u64) {}
    fn delete_frame(&mut self, _: u64) {}
    fn create_vcpu(
        &mut self,
        _: &mut (),
        key: VcpuKey,
        entry: u64,
        _: u64,
        _: ClientId,
    ) -> Result<SimVcpu, Status> {
        self.last_vcpu = Some(key);
        let regs = GuestRegs {
            pc: entry,
            spsr: 0x3C5,
            ..GuestRegs::default()
        };
        self.vcpus.insert(key.slot, (regs, 0));
        Ok(SimVcpu { key })
    }
    fn destroy_vcpu(&mut self, v: SimVcpu) {
        self.vcpus.remove(&v.key.slot);
    }
    fn take_fault(&mut self, _: &mut SimVcpu) {}
    // Every exit of the simulated guest is a real fault: its caller waits.
    fn caller_waiting(&mut self, _: &mut SimVcpu) -> bool {
        true
    }
    fn resume_vcpu(&mut self, _: &mut SimVcpu, _: Resume) -> Result<(), Status> {
        Ok(())
    }
    fn stop_vcpu(&mut self, _: &mut SimVcpu) -> Result<(), Status> {
        Ok(())
    }
    fn read_regs(&mut self, v: &mut SimVcpu) -> Result<GuestRegs, Status> {
        Ok(self.regs(v).0)
    }
    fn write_regs(&mut self, v: &mut SimVcpu, regs: &GuestRegs) -> Result<(), Status> {
        self.regs(v).0 = *regs;
        Ok(())
    }
    fn read_sysreg(&mut self, v: &mut SimVcpu, reg: SysReg) -> Result<u64, Status> {
        Ok(match reg {
            SysReg::SpEl1 => self.regs(v).1,
            SysReg::CntvCtl => 0,
        })
    }
    fn write_sysreg(&mut self, v: &mut SimVcpu, reg: SysReg, value: u64) -> Result<(), Status> {
        if reg == SysReg::SpEl1 {
            self.regs(v).1 = value;
        }
        Ok(())
    }
    fn num_list_registers(&self) -> usize {
        4
    }
    fn inject_irq(&mut self, _: &mut SimVcpu, _: u8, _: u16, _: u8, _: u8) -> Result<(), Status> {
        Ok(())
    }
    fn ack_vppi(&mut self, _: &mut SimVcpu, _: u32) -> Result<(), Status> {
        Ok(())
    }
}

/// The client the harness talks for.
pub const ME: Sender = Sender {
    client: ClientId(1),
    thread: ThreadId(1),
};

/// One step of a scripted guest.
#[derive(Clone, Copy, Debug)]
pub enum Act {
    /// The guest sets `x[reg]` (runs without exiting).
    Set(usize, u64),
    /// The guest exits.
    Exit(GuestExit),
}

/// A server with one client ([`ME`]) holding the hypervisor resource (handle 0x7), and a guest
/// script for the most recently created VCPU.
pub struct Sim {
    pub server: Server<SimBackend>,
    pub script: VecDeque<Act>,
    /// Exits the script ran out of (an enter with nothing left to run fails with this).
    pub exhausted: Status,
}

impl Sim {
    pub fn new(script: impl IntoIterator<Item = Act>) -> Sim {
        let mut server = Server::new(SimBackend::default());
        server.add_client(ME.client).unwrap();
        let rights = caps::ObjType::Resource.default_rights();
        let h = server.grant_resource(ME.client, 5, 0, 1, rights).unwrap();
        assert_eq!(h, 0x7);
        Sim {
            server,
            script: script.into_iter().collect(),
            exhausted: Status::ERR_TIMED_OUT,
        }
    }

    /// Handles one request as the seL4 transport would, running the script while an enter is
    /// deferred.
    pub fn handle(&mut self, req: Request<'_>, frame: Option<u64>) -> Reply {
        let response = self.server.handle_request(ME, req, frame);
        if let Outcome::Reply(r) = response.outcome {
            return r;
        }
        while let Some(act) = self.script.pop_front() {
            let key = self.server.backend().last_vcpu.expect("a VCPU exists");
            let exit = match act {
                Act::Set(reg, value) => {
                    let regs = self.server.backend_mut().vcpus.entry(key.slot).or_default();
                    regs.0.x[reg] = value;
                    continue;
                }
                Act::Exit(exit) => exit,
            };
            let done = self
                .server
                .handle_guest_exit(key.slot, key.generation, exit);
            if let Some(c) = done.iter().find(|c| c.thread == ME.thread) {
                return c.reply;
            }
        }
        Err(self.exhausted)
    }

    /// A transport into this simulation.
    pub fn transport(
        &mut self,
    ) -> Loopback<u64, impl FnMut(Request<'_>, Option<u64>) -> Reply + '_> {
        Loopback::new(move |req, frame| self.handle(req, frame))
    }
}

/// ESR_EL2 of a data abort with a valid syndrome: `size` bytes, register `srt`.
pub fn dabt_esr(size: u8, srt: u8, write: bool, sign_extend: bool) -> u32 {
    let sas = size.trailing_zeros();
    0x24 << 26
        | 1 << 25
        | 1 << 24
        | sas << 22
        | u32::from(sign_extend) << 21
        | u32::from(srt) << 16
        | u32::from(write) << 6
}

/// A data abort at `addr`.
pub fn mem(addr: u64, size: u8, srt: u8, write: bool, sign_extend: bool) -> Act {
    Act::Exit(GuestExit::MemAbort {
        ip: 0x4000_0000,
        addr,
        instruction: false,
        esr: dabt_esr(size, srt, write, sign_extend),
    })
}

/// A byte store of `byte` (from x9) at `addr`.
pub fn store_byte(addr: u64, byte: u8) -> [Act; 2] {
    [Act::Set(9, u64::from(byte)), mem(addr, 1, 9, true, false)]
}

/// `smc #0` with x0 = `function` (PSCI).
pub fn psci(function: u32) -> [Act; 2] {
    [
        Act::Set(0, u64::from(function)),
        Act::Exit(GuestExit::Smc { imm: 0 }),
    ]
}
