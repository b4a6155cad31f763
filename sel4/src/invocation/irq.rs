//! IRQ control and IRQ handler invocations.

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{Cap, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;

/// Trigger mode for `IRQControl_GetTrigger`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IrqTrigger {
    /// Level-triggered (word 0).
    Level,
    /// Edge-triggered (word 1).
    Edge,
}

impl IrqTrigger {
    /// The trigger word.
    pub const fn word(self) -> u64 {
        match self {
            IrqTrigger::Level => 0,
            IrqTrigger::Edge => 1,
        }
    }
}

impl Request {
    /// Builds `seL4_IRQControl_Get`: w0 irq, w1 index, w2 depth; c0 root.
    pub fn irq_control_get(irq: u64, root: Cap<cap_type::CNode>, index: u64, depth: u8) -> Request {
        Request::new(
            InvocationLabel::IRQIssueIRQHandler,
            &[irq, index, depth.into()],
            &[root.cptr()],
        )
    }

    /// Builds `seL4_IRQControl_GetTrigger`: w0 irq, w1 trigger, w2 index, w3 depth; c0 root.
    pub fn irq_control_get_trigger(
        irq: u64,
        trigger: IrqTrigger,
        root: Cap<cap_type::CNode>,
        index: u64,
        depth: u8,
    ) -> Request {
        Request::new(
            InvocationLabel::ARMIRQIssueIRQHandlerTrigger,
            &[irq, trigger.word(), index, depth.into()],
            &[root.cptr()],
        )
    }

    /// Builds `seL4_IRQHandler_Ack` (no arguments).
    pub fn irq_handler_ack() -> Request {
        Request::new(InvocationLabel::IRQAckIRQ, &[], &[])
    }

    /// Builds `seL4_IRQHandler_SetNotification`: c0 notification.
    pub fn irq_handler_set_notification(notification: Cap<cap_type::Notification>) -> Request {
        Request::new(
            InvocationLabel::IRQSetIRQHandler,
            &[],
            &[notification.cptr()],
        )
    }

    /// Builds `seL4_IRQHandler_Clear` (no arguments).
    pub fn irq_handler_clear() -> Request {
        Request::new(InvocationLabel::IRQClearIRQHandler, &[], &[])
    }
}

impl Cap<cap_type::IrqControl> {
    /// Creates a handler cap for `irq` at (`root`, `index`, `depth`).
    /// Corresponds to `seL4_IRQControl_Get`.
    pub fn irq_control_get(
        self,
        ipc: &mut IpcBuffer,
        irq: u64,
        root: Cap<cap_type::CNode>,
        index: u64,
        depth: u8,
    ) -> Result<()> {
        ipc.invoke(
            self.cptr(),
            &Request::irq_control_get(irq, root, index, depth),
        )
        .result()
    }

    /// Like [`Self::irq_control_get`] with an explicit trigger mode.
    /// Corresponds to `seL4_IRQControl_GetTrigger`.
    pub fn irq_control_get_trigger(
        self,
        ipc: &mut IpcBuffer,
        irq: u64,
        trigger: IrqTrigger,
        root: Cap<cap_type::CNode>,
        index: u64,
        depth: u8,
    ) -> Result<()> {
        let r = Request::irq_control_get_trigger(irq, trigger, root, index, depth);
        ipc.invoke(self.cptr(), &r).result()
    }
}

impl Cap<cap_type::IrqHandler> {
    /// Re-enables the interrupt after handling. Corresponds to `seL4_IRQHandler_Ack`.
    pub fn irq_handler_ack(self, ipc: &mut IpcBuffer) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::irq_handler_ack())
            .result()
    }

    /// Delivers the interrupt to `notification` (needs Write).
    /// Corresponds to `seL4_IRQHandler_SetNotification`.
    pub fn irq_handler_set_notification(
        self,
        ipc: &mut IpcBuffer,
        notification: Cap<cap_type::Notification>,
    ) -> Result<()> {
        ipc.invoke(
            self.cptr(),
            &Request::irq_handler_set_notification(notification),
        )
        .result()
    }

    /// Removes the notification. Corresponds to `seL4_IRQHandler_Clear`.
    pub fn irq_handler_clear(self, ipc: &mut IpcBuffer) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::irq_handler_clear())
            .result()
    }
}
