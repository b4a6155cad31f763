//! Located boot errors: what the root task was doing, for which component, and why it failed.
//!
//! Every fallible step of the boot returns a [`BootError`] naming the step (and the address or
//! slot involved); the component is added by the caller that knows it. The root task prints the
//! error and the failure sentinel instead of panicking on a kernel error.

use core::fmt;

/// Why a step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The kernel refused an invocation.
    Kernel(sel4::Error),
    /// No empty slot is left in the root CNode.
    OutOfSlots,
    /// No RAM untyped has room for an object of `2^bits` bytes.
    OutOfMemory {
        /// Object size, log2 bytes.
        bits: u32,
    },
    /// No untyped covers this physical address (or its memory before it is already used).
    Unreachable {
        /// The physical address.
        paddr: u64,
    },
    /// A frame meant for a fixed physical address landed elsewhere.
    WrongAddress {
        /// The address wanted.
        expected: u64,
        /// The address the kernel reports.
        got: u64,
    },
    /// The component's ELF image does not follow the loading conventions.
    BadElf(elf_image::Error),
    /// The plan contradicts itself or exceeds a limit of the root task.
    BadPlan(&'static str),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Kernel(e) => write!(f, "the kernel said {}", e.c_name()),
            Cause::OutOfSlots => write!(f, "the root CNode has no empty slot left"),
            Cause::OutOfMemory { bits } => {
                write!(f, "no RAM untyped has room for 2^{bits} bytes")
            }
            Cause::Unreachable { paddr } => {
                write!(
                    f,
                    "no untyped can still provide physical address {paddr:#x}"
                )
            }
            Cause::WrongAddress { expected, got } => {
                write!(f, "the frame is at {got:#x}, not at {expected:#x}")
            }
            Cause::BadElf(why) => write!(f, "bad ELF image: {why}"),
            Cause::BadPlan(why) => write!(f, "bad plan: {why}"),
        }
    }
}

/// A failed boot step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootError {
    /// The component being created, if any.
    pub component: Option<&'static str>,
    /// The step, e.g. "map a stack frame".
    pub step: &'static str,
    /// The address or slot the step was about, if any.
    pub at: Option<u64>,
    /// Why it failed.
    pub cause: Cause,
}

impl BootError {
    /// A failure of `step` (about `at`) because of `cause`.
    pub const fn new(step: &'static str, at: Option<u64>, cause: Cause) -> Self {
        BootError {
            component: None,
            step,
            at,
            cause,
        }
    }

    /// Names the component (keeps a name already set by an inner step).
    pub fn in_component(mut self, name: &'static str) -> Self {
        if self.component.is_none() {
            self.component = Some(name);
        }
        self
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.component {
            write!(f, "component `{c}`: ")?;
        }
        write!(f, "{}", self.step)?;
        if let Some(at) = self.at {
            write!(f, " ({at:#x})")?;
        }
        write!(f, ": {}", self.cause)
    }
}

/// Turns a kernel result into a located one.
pub trait Context<T> {
    /// Names the step and the address or slot it was about.
    fn at(self, step: &'static str, at: u64) -> Result<T, BootError>;
    /// Names the step.
    fn step(self, step: &'static str) -> Result<T, BootError>;
}

impl<T> Context<T> for Result<T, sel4::Error> {
    fn at(self, step: &'static str, at: u64) -> Result<T, BootError> {
        self.map_err(|e| BootError::new(step, Some(at), Cause::Kernel(e)))
    }

    fn step(self, step: &'static str) -> Result<T, BootError> {
        self.map_err(|e| BootError::new(step, None, Cause::Kernel(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_component_step_address_and_cause() {
        let e: Result<(), _> = Err(sel4::Error::FailedLookup);
        let e = e.at("map a stack frame", 0x20ff_0000).unwrap_err();
        assert_eq!(
            e.in_component("client-a").to_string(),
            "component `client-a`: map a stack frame (0x20ff0000): the kernel said seL4_FailedLookup"
        );
        let e = BootError::new("retype the CNode", None, Cause::OutOfMemory { bits: 17 });
        assert_eq!(
            e.in_component("a").in_component("b").to_string(),
            "component `a`: retype the CNode: no RAM untyped has room for 2^17 bytes"
        );
    }
}
