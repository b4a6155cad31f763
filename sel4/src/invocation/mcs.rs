//! Invocations whose layout is MCS's own (`KernelIsMCS`): the TCB methods that take a
//! scheduling context or a fault endpoint *capability*, and the scheduling-context objects.
//!
//! On MCS the kernel keeps copies of the fault and timeout endpoint capabilities in the TCB
//! (checked when installed), instead of a cptr looked up in the faulting thread's CSpace at
//! fault time; so a thread can have a fault handler while its own CSpace is empty.

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{CPtr, Cap, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;
use crate::message::CNodeCapData;

impl Request {
    /// Builds `seL4_TCB_Configure` (MCS): w0 cspace_root_data, w1 vspace_root_data, w2 buffer;
    /// c0 cspace_root, c1 vspace_root, c2 buffer_frame (no fault endpoint, no SC).
    pub fn tcb_configure_mcs(
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
        buffer: u64,
        buffer_frame: Cap<cap_type::SmallPage>,
    ) -> Request {
        Request::new(
            InvocationLabel::TCBConfigure,
            &[cspace_root_data.word(), vspace_root_data, buffer],
            &[cspace_root.cptr(), vspace_root.cptr(), buffer_frame.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetSpace` (MCS): w0 cspace_root_data, w1 vspace_root_data;
    /// c0 fault_ep (a capability in the caller's CSpace, copied into the TCB), c1 cspace_root,
    /// c2 vspace_root.
    pub fn tcb_set_space_mcs(
        fault_ep: CPtr,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
    ) -> Request {
        Request::new(
            InvocationLabel::TCBSetSpace,
            &[cspace_root_data.word(), vspace_root_data],
            &[fault_ep, cspace_root.cptr(), vspace_root.cptr()],
        )
    }

    /// Builds `seL4_TCB_SetSchedParams` (MCS): w0 mcp, w1 priority; c0 authority,
    /// c1 sched_context (0 unbinds), c2 fault_ep (0 clears the fault handler).
    pub fn tcb_set_sched_params_mcs(
        authority: Cap<cap_type::Tcb>,
        mcp: u64,
        priority: u64,
        sched_context: CPtr,
        fault_ep: CPtr,
    ) -> Request {
        Request::new(
            InvocationLabel::TCBSetSchedParams,
            &[mcp, priority],
            &[authority.cptr(), sched_context, fault_ep],
        )
    }

    /// Builds `seL4_TCB_SetTimeoutEndpoint` (MCS): c0 timeout_fault_ep.
    pub fn tcb_set_timeout_endpoint(timeout_fault_ep: CPtr) -> Request {
        Request::new(
            InvocationLabel::TCBSetTimeoutEndpoint,
            &[],
            &[timeout_fault_ep],
        )
    }

    /// Builds `seL4_SchedControl_ConfigureFlags`: w0 budget (µs), w1 period (µs),
    /// w2 extra_refills, w3 badge, w4 flags; c0 schedcontext.
    pub fn sched_control_configure_flags(
        schedcontext: CPtr,
        budget_us: u64,
        period_us: u64,
        extra_refills: u64,
        badge: u64,
        flags: u64,
    ) -> Request {
        Request::new(
            InvocationLabel::SchedControlConfigureFlags,
            &[budget_us, period_us, extra_refills, badge, flags],
            &[schedcontext],
        )
    }

    /// Builds `seL4_SchedContext_Bind`: c0 the TCB or notification.
    pub fn sched_context_bind(object: CPtr) -> Request {
        Request::new(InvocationLabel::SchedContextBind, &[], &[object])
    }

    /// Builds `seL4_SchedContext_Unbind` (no arguments).
    pub fn sched_context_unbind() -> Request {
        Request::new(InvocationLabel::SchedContextUnbind, &[], &[])
    }

    /// Builds `seL4_SchedContext_UnbindObject`: c0 the bound TCB or notification.
    pub fn sched_context_unbind_object(object: CPtr) -> Request {
        Request::new(InvocationLabel::SchedContextUnbindObject, &[], &[object])
    }

    /// Builds `seL4_SchedContext_Consumed` (no arguments; the reply's MR0 is the time in µs).
    pub fn sched_context_consumed() -> Request {
        Request::new(InvocationLabel::SchedContextConsumed, &[], &[])
    }
}

impl Cap<cap_type::Tcb> {
    /// Sets CSpace, VSpace and IPC buffer (MCS layout: no fault endpoint). Corresponds to
    /// `seL4_TCB_Configure` on MCS kernels.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn tcb_configure_mcs(
        self,
        ipc: &mut IpcBuffer,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: CNodeCapData,
        vspace_root: Cap<cap_type::VSpace>,
        vspace_root_data: u64,
        buffer: u64,
        buffer_frame: Cap<cap_type::SmallPage>,
    ) -> Result<()> {
        let r = Request::tcb_configure_mcs(
            cspace_root,
            cspace_root_data,
            vspace_root,
            vspace_root_data,
            buffer,
            buffer_frame,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Sets MCP and priority, binds `sched_context` and installs a copy of `fault_ep` (both
    /// capabilities in the caller's CSpace; 0 unbinds / clears). Corresponds to
    /// `seL4_TCB_SetSchedParams` on MCS kernels.
    pub fn tcb_set_sched_params_mcs(
        self,
        ipc: &mut IpcBuffer,
        authority: Cap<cap_type::Tcb>,
        mcp: u64,
        priority: u64,
        sched_context: CPtr,
        fault_ep: CPtr,
    ) -> Result<()> {
        let r =
            Request::tcb_set_sched_params_mcs(authority, mcp, priority, sched_context, fault_ep);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Installs a copy of `timeout_fault_ep` (a capability in the caller's CSpace) as the
    /// timeout handler. Corresponds to `seL4_TCB_SetTimeoutEndpoint`.
    pub fn tcb_set_timeout_endpoint(
        self,
        ipc: &mut IpcBuffer,
        timeout_fault_ep: CPtr,
    ) -> Result<()> {
        let r = Request::tcb_set_timeout_endpoint(timeout_fault_ep);
        ipc.invoke(self.cptr(), &r).result()
    }
}

impl Cap<cap_type::SchedControl> {
    /// Configures `sched_context`: `budget_us` of CPU every `period_us` (equal: round-robin),
    /// `badge` reported in its timeout faults. Corresponds to
    /// `seL4_SchedControl_ConfigureFlags`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn sched_control_configure_flags(
        self,
        ipc: &mut IpcBuffer,
        sched_context: Cap<cap_type::SchedContext>,
        budget_us: u64,
        period_us: u64,
        extra_refills: u64,
        badge: u64,
        flags: u64,
    ) -> Result<()> {
        let r = Request::sched_control_configure_flags(
            sched_context.cptr(),
            budget_us,
            period_us,
            extra_refills,
            badge,
            flags,
        );
        ipc.invoke(self.cptr(), &r).result()
    }
}
