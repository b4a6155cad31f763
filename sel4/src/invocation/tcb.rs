//! TCB invocations (non-MCS).

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{CPtr, Cap, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;
use crate::message::CNodeCapData;
use crate::user_context::{USER_CONTEXT_WORDS, UserContext};

type Tcb = Cap<cap_type::Tcb>;

impl Request {
    /// Builds `seL4_TCB_ReadRegisters`: w0 = suspend_source (bit 0) | arch_flags << 8,
    /// w1 count.
    pub fn tcb_read_registers(suspend_source: bool, arch_flags: u8, count: u64) -> Request {
        let flags = u64::from(suspend_source) | (u64::from(arch_flags) << 8);
        Request::new(InvocationLabel::TCBReadRegisters, &[flags, count], &[])
    }

    /// Builds `seL4_TCB_WriteRegisters`: w0 = resume_target (bit 0) | arch_flags << 8,
    /// w1 count, then the first `count` registers in seL4 order. Unlike libsel4 (which always
    /// sends 38 words) the length is 2 + count; a count above 36 is sent as is with 36
    /// registers, and the kernel rejects it (TruncatedMessage).
    pub fn tcb_write_registers(
        resume_target: bool,
        arch_flags: u8,
        count: u64,
        regs: &UserContext,
    ) -> Request {
        let n = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(USER_CONTEXT_WORDS);
        let mut words = [0u64; 2 + USER_CONTEXT_WORDS];
        words[0] = u64::from(resume_target) | (u64::from(arch_flags) << 8);
        words[1] = count;
        words[2..2 + n].copy_from_slice(&regs.words()[..n]);
        Request::new(InvocationLabel::TCBWriteRegisters, &words[..2 + n], &[])
    }

    /// Builds `seL4_TCB_Configure` (non-MCS): w0 fault_ep, w1 cspace_root_data,
    /// w2 vspace_root_data, w3 buffer; c0 cspace_root, c1 vspace_root, c2 buffer_frame.
    pub fn tcb_configure(
        fault_ep: CPtr,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
        buffer: u64,
        buffer_frame: Cap<cap_type::SmallPage>,
    ) -> Request {
        Request::new(
            InvocationLabel::TCBConfigure,
            &[fault_ep, cspace_root_data.word(), vspace_root_data, buffer],
            &[cspace_root.cptr(), vspace_root.cptr(), buffer_frame.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetSpace` (non-MCS): w0 fault_ep, w1 cspace_root_data,
    /// w2 vspace_root_data; c0 cspace_root, c1 vspace_root.
    pub fn tcb_set_space(
        fault_ep: CPtr,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
    ) -> Request {
        Request::new(
            InvocationLabel::TCBSetSpace,
            &[fault_ep, cspace_root_data.word(), vspace_root_data],
            &[cspace_root.cptr(), vspace_root.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetIPCBuffer`: w0 buffer; c0 buffer_frame.
    pub fn tcb_set_ipc_buffer(buffer: u64, buffer_frame: Cap<cap_type::SmallPage>) -> Request {
        Request::new(
            InvocationLabel::TCBSetIPCBuffer,
            &[buffer],
            &[buffer_frame.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetPriority`: w0 priority; c0 authority.
    pub fn tcb_set_priority(authority: Tcb, priority: u64) -> Request {
        Request::new(
            InvocationLabel::TCBSetPriority,
            &[priority],
            &[authority.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetMCPriority`: w0 mcp; c0 authority.
    pub fn tcb_set_mc_priority(authority: Tcb, mcp: u64) -> Request {
        Request::new(
            InvocationLabel::TCBSetMCPriority,
            &[mcp],
            &[authority.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetSchedParams` (non-MCS): w0 mcp, w1 priority; c0 authority.
    pub fn tcb_set_sched_params(authority: Tcb, mcp: u64, priority: u64) -> Request {
        Request::new(
            InvocationLabel::TCBSetSchedParams,
            &[mcp, priority],
            &[authority.cptr()],
        )
    }

    /// Builds `seL4_TCB_Suspend` (no arguments).
    pub fn tcb_suspend() -> Request {
        Request::new(InvocationLabel::TCBSuspend, &[], &[])
    }

    /// Builds `seL4_TCB_Resume` (no arguments).
    pub fn tcb_resume() -> Request {
        Request::new(InvocationLabel::TCBResume, &[], &[])
    }

    /// Builds `seL4_TCB_BindNotification`: c0 notification.
    pub fn tcb_bind_notification(notification: Cap<cap_type::Notification>) -> Request {
        Request::new(
            InvocationLabel::TCBBindNotification,
            &[],
            &[notification.cptr()],
        )
    }

    /// Builds `seL4_TCB_UnbindNotification` (no arguments).
    pub fn tcb_unbind_notification() -> Request {
        Request::new(InvocationLabel::TCBUnbindNotification, &[], &[])
    }

    /// Builds `seL4_TCB_SetTLSBase`: w0 tls_base.
    pub fn tcb_set_tls_base(tls_base: u64) -> Request {
        Request::new(InvocationLabel::TCBSetTLSBase, &[tls_base], &[])
    }

    /// Builds `seL4_TCB_SetFlags`: w0 clear, w1 set.
    pub fn tcb_set_flags(clear: u64, set: u64) -> Request {
        Request::new(InvocationLabel::TCBSetFlags, &[clear, set], &[])
    }
}

impl Tcb {
    /// Reads the first `count` registers (seL4 order; the rest of the result is zero),
    /// optionally suspending the thread first. Corresponds to `seL4_TCB_ReadRegisters`.
    pub fn tcb_read_registers(
        self,
        ipc: &mut IpcBuffer,
        suspend_source: bool,
        count: u64,
    ) -> Result<UserContext> {
        let mut regs = UserContext::zeroed();
        self.tcb_read_registers_into(ipc, suspend_source, count, &mut regs)?;
        Ok(regs)
    }

    /// [`Self::tcb_read_registers`] into `regs` (only the first `count` words are written):
    /// the lean form for hot paths, which builds no request or response.
    pub fn tcb_read_registers_into(
        self,
        ipc: &mut IpcBuffer,
        suspend_source: bool,
        count: u64,
        regs: &mut UserContext,
    ) -> Result<()> {
        let flags = u64::from(suspend_source);
        let label = InvocationLabel::TCBReadRegisters;
        let (info, mrs) = ipc.invoke_fast(self.cptr(), label, [flags, count, 0, 0], 2);
        crate::error::Error::check_label(info.label())?;
        let n = info.length().min(USER_CONTEXT_WORDS);
        let words = regs.words_mut();
        for (i, w) in words.iter_mut().enumerate().take(n) {
            *w = if i < mrs.len() { mrs[i] } else { ipc.msg()[i] };
        }
        Ok(())
    }

    /// Writes the first `count` registers of `regs` (not allowed on the calling thread),
    /// optionally resuming the thread. Corresponds to `seL4_TCB_WriteRegisters`.
    pub fn tcb_write_registers(
        self,
        ipc: &mut IpcBuffer,
        resume_target: bool,
        count: u64,
        regs: &UserContext,
    ) -> Result<()> {
        // The words of `Request::tcb_write_registers`, written in place: flags, count and the
        // first two registers in MR0..3, the other registers in msg[4..].
        let n = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(USER_CONTEXT_WORDS);
        let w = regs.words();
        let reg = |i: usize| if i < n { w[i] } else { 0 };
        let fast = [u64::from(resume_target), count, reg(0), reg(1)];
        if n > 2 {
            ipc.msg_mut()[4..2 + n].copy_from_slice(&w[2..n]);
        }
        let label = InvocationLabel::TCBWriteRegisters;
        let (info, _) = ipc.invoke_fast(self.cptr(), label, fast, 2 + n);
        crate::error::Error::check_label(info.label())
    }

    /// Sets fault endpoint (a cptr in the thread's own CSpace), CSpace, VSpace and IPC buffer
    /// (vaddr 0 and a null frame for none). Corresponds to `seL4_TCB_Configure`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn tcb_configure(
        self,
        ipc: &mut IpcBuffer,
        fault_ep: CPtr,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
        buffer: u64,
        buffer_frame: Cap<cap_type::SmallPage>,
    ) -> Result<()> {
        let r = Request::tcb_configure(
            fault_ep,
            cspace_root,
            cspace_root_data,
            vspace_root,
            vspace_root_data,
            buffer,
            buffer_frame,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Sets fault endpoint, CSpace and VSpace. Corresponds to `seL4_TCB_SetSpace`.
    pub fn tcb_set_space(
        self,
        ipc: &mut IpcBuffer,
        fault_ep: CPtr,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
    ) -> Result<()> {
        let r = Request::tcb_set_space(
            fault_ep,
            cspace_root,
            cspace_root_data,
            vspace_root,
            vspace_root_data,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Sets the IPC buffer (1 KiB aligned vaddr inside `buffer_frame`).
    /// Corresponds to `seL4_TCB_SetIPCBuffer`.
    pub fn tcb_set_ipc_buffer(
        self,
        ipc: &mut IpcBuffer,
        buffer: u64,
        buffer_frame: Cap<cap_type::SmallPage>,
    ) -> Result<()> {
        ipc.invoke(
            self.cptr(),
            &Request::tcb_set_ipc_buffer(buffer, buffer_frame),
        )
        .result()
    }

    /// Sets the priority (≤ the authority's MCP). Corresponds to `seL4_TCB_SetPriority`.
    pub fn tcb_set_priority(
        self,
        ipc: &mut IpcBuffer,
        authority: Tcb,
        priority: u64,
    ) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::tcb_set_priority(authority, priority))
            .result()
    }

    /// Sets the maximum controlled priority. Corresponds to `seL4_TCB_SetMCPriority`.
    pub fn tcb_set_mc_priority(self, ipc: &mut IpcBuffer, authority: Tcb, mcp: u64) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::tcb_set_mc_priority(authority, mcp))
            .result()
    }

    /// Sets MCP and priority at once. Corresponds to `seL4_TCB_SetSchedParams`.
    pub fn tcb_set_sched_params(
        self,
        ipc: &mut IpcBuffer,
        authority: Tcb,
        mcp: u64,
        priority: u64,
    ) -> Result<()> {
        ipc.invoke(
            self.cptr(),
            &Request::tcb_set_sched_params(authority, mcp, priority),
        )
        .result()
    }

    /// Stops the thread. Corresponds to `seL4_TCB_Suspend`.
    pub fn tcb_suspend(self, ipc: &mut IpcBuffer) -> Result<()> {
        let (info, _) = ipc.invoke_fast(self.cptr(), InvocationLabel::TCBSuspend, [0; 4], 0);
        crate::error::Error::check_label(info.label())
    }

    /// Makes a suspended thread runnable. Corresponds to `seL4_TCB_Resume`.
    pub fn tcb_resume(self, ipc: &mut IpcBuffer) -> Result<()> {
        let (info, _) = ipc.invoke_fast(self.cptr(), InvocationLabel::TCBResume, [0; 4], 0);
        crate::error::Error::check_label(info.label())
    }

    /// Binds a notification (needs Read) so that signals arrive through endpoint receives.
    /// Corresponds to `seL4_TCB_BindNotification`.
    pub fn tcb_bind_notification(
        self,
        ipc: &mut IpcBuffer,
        notification: Cap<cap_type::Notification>,
    ) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::tcb_bind_notification(notification))
            .result()
    }

    /// Unbinds the bound notification. Corresponds to `seL4_TCB_UnbindNotification`.
    pub fn tcb_unbind_notification(self, ipc: &mut IpcBuffer) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::tcb_unbind_notification())
            .result()
    }

    /// Sets TPIDR_EL0. Corresponds to `seL4_TCB_SetTLSBase`.
    pub fn tcb_set_tls_base(self, ipc: &mut IpcBuffer, tls_base: u64) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::tcb_set_tls_base(tls_base))
            .result()
    }

    /// Clears then sets TCB flags (bit 0 = fpuDisabled); returns the new flags.
    /// Corresponds to `seL4_TCB_SetFlags`.
    pub fn tcb_set_flags(self, ipc: &mut IpcBuffer, clear: u64, set: u64) -> Result<u64> {
        let response = ipc.invoke(self.cptr(), &Request::tcb_set_flags(clear, set));
        response.result().map(|()| response.word(0))
    }
}
