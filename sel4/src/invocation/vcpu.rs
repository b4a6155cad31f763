//! ARM VCPU and SMC invocations.

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{Cap, cap_type};
use crate::error::{Error, Result};
use crate::ipc_buffer::IpcBuffer;
use crate::user_context::VcpuReg;

type Vcpu = Cap<cap_type::Vcpu>;

/// The single word of `VCPU_InjectIRQ`: virq in bits 0..16, priority 16..24, group 24..32,
/// list-register index 32..40.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VirqInjection {
    /// Virtual interrupt id (≤ 1023).
    pub virq: u16,
    /// Priority, 0 (highest) ..= 31.
    pub priority: u8,
    /// Interrupt group (use 0 with GICv2).
    pub group: u8,
    /// List register to write.
    pub index: u8,
}

impl VirqInjection {
    /// The packed word.
    pub const fn word(self) -> u64 {
        (self.virq as u64)
            | ((self.priority as u64) << 16)
            | ((self.group as u64) << 24)
            | ((self.index as u64) << 32)
    }
}

/// Arguments or results of an SMC call: x0..x7.
pub type SmcArgs = [u64; 8];

impl Request {
    /// Builds `seL4_ARM_VCPU_SetTCB`: c0 tcb.
    pub fn vcpu_set_tcb(tcb: Cap<cap_type::Tcb>) -> Request {
        Request::new(InvocationLabel::ARMVCPUSetTCB, &[], &[tcb.cptr()])
    }

    /// Builds `seL4_ARM_VCPU_InjectIRQ`: w0 = the packed injection.
    pub fn vcpu_inject_irq(injection: VirqInjection) -> Request {
        Request::new(InvocationLabel::ARMVCPUInjectIRQ, &[injection.word()], &[])
    }

    /// Builds `seL4_ARM_VCPU_ReadRegs`: w0 register number.
    pub fn vcpu_read_regs(reg: VcpuReg) -> Request {
        Request::new(InvocationLabel::ARMVCPUReadReg, &[reg.number()], &[])
    }

    /// Builds `seL4_ARM_VCPU_WriteRegs`: w0 register number, w1 value.
    pub fn vcpu_write_regs(reg: VcpuReg, value: u64) -> Request {
        Request::new(
            InvocationLabel::ARMVCPUWriteReg,
            &[reg.number(), value],
            &[],
        )
    }

    /// Builds `seL4_ARM_VCPU_AckVPPI`: w0 irq.
    pub fn vcpu_ack_vppi(irq: u64) -> Request {
        Request::new(InvocationLabel::ARMVCPUAckVPPI, &[irq], &[])
    }

    /// Builds `seL4_ARM_SMC_Call`: w0..w7 = x0..x7.
    pub fn smc_call(args: &SmcArgs) -> Request {
        Request::new(InvocationLabel::ARMSMCCall, args, &[])
    }
}

impl Vcpu {
    /// Binds this VCPU to `tcb` (unbinding previous partners).
    /// Corresponds to `seL4_ARM_VCPU_SetTCB`.
    pub fn vcpu_set_tcb(self, ipc: &mut IpcBuffer, tcb: Cap<cap_type::Tcb>) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::vcpu_set_tcb(tcb))
            .result()
    }

    /// Writes a pending virtual interrupt into list register `index` (a pending entry there is
    /// overwritten silently; an active one gives DeleteFirst).
    /// Corresponds to `seL4_ARM_VCPU_InjectIRQ`.
    pub fn vcpu_inject_irq(
        self,
        ipc: &mut IpcBuffer,
        virq: u16,
        priority: u8,
        group: u8,
        index: u8,
    ) -> Result<()> {
        let injection = VirqInjection {
            virq,
            priority,
            group,
            index,
        };
        let label = InvocationLabel::ARMVCPUInjectIRQ;
        let (info, _) = ipc.invoke_fast(self.cptr(), label, [injection.word(), 0, 0, 0], 1);
        Error::check_label(info.label())
    }

    /// Reads a VCPU register. Corresponds to `seL4_ARM_VCPU_ReadRegs`.
    pub fn vcpu_read_regs(self, ipc: &mut IpcBuffer, reg: VcpuReg) -> Result<u64> {
        let label = InvocationLabel::ARMVCPUReadReg;
        let (info, mrs) = ipc.invoke_fast(self.cptr(), label, [reg.number(), 0, 0, 0], 1);
        Error::check_label(info.label())?;
        Ok(if info.length() > 0 { mrs[0] } else { 0 })
    }

    /// Writes a VCPU register. Corresponds to `seL4_ARM_VCPU_WriteRegs`.
    pub fn vcpu_write_regs(self, ipc: &mut IpcBuffer, reg: VcpuReg, value: u64) -> Result<()> {
        let label = InvocationLabel::ARMVCPUWriteReg;
        let (info, _) = ipc.invoke_fast(self.cptr(), label, [reg.number(), value, 0, 0], 2);
        Error::check_label(info.label())
    }

    /// Re-enables delivery of virtual PPI `irq` (27, the virtual timer) after the guest
    /// handled it. Corresponds to `seL4_ARM_VCPU_AckVPPI`.
    pub fn vcpu_ack_vppi(self, ipc: &mut IpcBuffer, irq: u64) -> Result<()> {
        let label = InvocationLabel::ARMVCPUAckVPPI;
        let (info, _) = ipc.invoke_fast(self.cptr(), label, [irq, 0, 0, 0], 1);
        Error::check_label(info.label())
    }
}

impl Cap<cap_type::Smc> {
    /// Executes `smc #0` with x0..x7 = `args` in the kernel; returns x0..x7.
    /// Corresponds to `seL4_ARM_SMC_Call`.
    pub fn smc_call(self, ipc: &mut IpcBuffer, args: &SmcArgs) -> Result<SmcArgs> {
        let response = ipc.invoke(self.cptr(), &Request::smc_call(args));
        response.result()?;
        let mut out = [0u64; 8];
        for (i, w) in out.iter_mut().enumerate() {
            *w = response.word(i);
        }
        Ok(out)
    }
}
