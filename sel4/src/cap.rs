//! Typed capability pointers.
//!
//! A [`Cap<T>`] is a capability pointer (a CPtr word, resolved in the caller's CSpace at depth
//! 64) tagged with the kind of object it is expected to name. The tag only selects which
//! invocations are offered; it is not a proof: the kernel checks the real cap type and answers a
//! mismatch with `InvalidCapability` or `IllegalOperation`. Creating a `Cap` is therefore safe.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;

use crate::object::{HUGE_PAGE_BITS, LARGE_PAGE_BITS, ObjectType, PAGE_BITS, init_slot};

/// A raw capability pointer (`seL4_CPtr`).
pub type CPtr = u64;

/// A badge word (`seL4_Word`; all 64 bits are significant on aarch64).
pub type Badge = u64;

/// A kind of object a capability can name.
pub trait CapType: sealed::Sealed {
    /// Name used by `Debug`.
    const NAME: &'static str;
}

/// A frame (page) object size.
pub trait FrameType: CapType {
    /// Log2 of the frame size in bytes.
    const SIZE_BITS: u32;
    /// The object type to retype.
    const OBJECT_TYPE: ObjectType;
}

mod sealed {
    pub trait Sealed {}
}

/// Marker types for [`Cap`].
pub mod cap_type {
    use super::{CapType, FrameType, sealed};
    use crate::object::ObjectType;

    macro_rules! cap_types {
        ($($(#[$doc:meta])* $name:ident,)*) => {
            $(
                $(#[$doc])*
                #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
                pub enum $name {}
                impl sealed::Sealed for $name {}
                impl CapType for $name {
                    const NAME: &'static str = stringify!($name);
                }
            )*
        };
    }

    cap_types! {
        /// A cap of unknown or irrelevant type (e.g. the null slot).
        Unspecified,
        /// Untyped memory.
        Untyped,
        /// A thread control block.
        Tcb,
        /// A CNode (capability table).
        CNode,
        /// An endpoint.
        Endpoint,
        /// A notification.
        Notification,
        /// A reply capability: saved with `CNode_SaveCaller` (non-MCS) or a reply object (MCS);
        /// invoke with Send to reply.
        Reply,
        /// A scheduling context (MCS).
        SchedContext,
        /// A SchedControl capability (MCS): configures scheduling contexts of one core.
        SchedControl,
        /// An ARM VSpace (stage-2 root table in hyp builds).
        VSpace,
        /// An ARM page table (any level below the root).
        PageTable,
        /// A 4 KiB frame.
        SmallPage,
        /// A 2 MiB frame.
        LargePage,
        /// A 1 GiB frame.
        HugePage,
        /// The ASID control capability.
        AsidControl,
        /// An ASID pool.
        AsidPool,
        /// A virtual CPU.
        Vcpu,
        /// The IRQ control capability.
        IrqControl,
        /// An IRQ handler.
        IrqHandler,
        /// The SMC capability (forwards SMC calls to firmware).
        Smc,
        /// The domain capability.
        Domain,
    }

    impl FrameType for SmallPage {
        const SIZE_BITS: u32 = super::PAGE_BITS;
        const OBJECT_TYPE: ObjectType = ObjectType::SmallPage;
    }
    impl FrameType for LargePage {
        const SIZE_BITS: u32 = super::LARGE_PAGE_BITS;
        const OBJECT_TYPE: ObjectType = ObjectType::LargePage;
    }
    impl FrameType for HugePage {
        const SIZE_BITS: u32 = super::HUGE_PAGE_BITS;
        const OBJECT_TYPE: ObjectType = ObjectType::HugePage;
    }
}

/// A capability pointer expected to name an object of kind `T`.
#[repr(transparent)]
pub struct Cap<T: CapType> {
    cptr: CPtr,
    _type: PhantomData<T>,
}

impl<T: CapType> Cap<T> {
    /// The cap at `cptr` in the caller's CSpace.
    pub const fn from_cptr(cptr: CPtr) -> Self {
        Cap {
            cptr,
            _type: PhantomData,
        }
    }

    /// The capability pointer.
    pub const fn cptr(self) -> CPtr {
        self.cptr
    }

    /// The same pointer, expected to name a `U` instead.
    pub const fn cast<U: CapType>(self) -> Cap<U> {
        Cap::from_cptr(self.cptr)
    }

    /// The same pointer with its type forgotten.
    pub const fn upcast(self) -> Cap<cap_type::Unspecified> {
        self.cast()
    }

    /// True for cptr 0, the null slot.
    pub const fn is_null(self) -> bool {
        self.cptr == 0
    }
}

impl<T: CapType> Clone for Cap<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: CapType> Copy for Cap<T> {}
impl<T: CapType> PartialEq for Cap<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cptr == other.cptr
    }
}
impl<T: CapType> Eq for Cap<T> {}
impl<T: CapType> Hash for Cap<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.cptr.hash(state);
    }
}
impl<T: CapType> fmt::Debug for Cap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cap<{}>({:#x})", T::NAME, self.cptr)
    }
}

/// The null capability (slot 0).
pub const NULL_CAP: Cap<cap_type::Unspecified> = Cap::from_cptr(init_slot::NULL);

/// The root task's initial capabilities, typed (see [`crate::init_slot`] for raw slots).
pub mod init {
    use super::{Cap, cap_type};
    use crate::object::init_slot;

    /// The root task's own TCB.
    pub const TCB: Cap<cap_type::Tcb> = Cap::from_cptr(init_slot::TCB);
    /// The root task's CSpace root (4096 slots, depth 64).
    pub const CNODE: Cap<cap_type::CNode> = Cap::from_cptr(init_slot::CNODE);
    /// The root task's VSpace.
    pub const VSPACE: Cap<cap_type::VSpace> = Cap::from_cptr(init_slot::VSPACE);
    /// IRQ control.
    pub const IRQ_CONTROL: Cap<cap_type::IrqControl> = Cap::from_cptr(init_slot::IRQ_CONTROL);
    /// ASID control.
    pub const ASID_CONTROL: Cap<cap_type::AsidControl> = Cap::from_cptr(init_slot::ASID_CONTROL);
    /// The root task's ASID pool.
    pub const ASID_POOL: Cap<cap_type::AsidPool> = Cap::from_cptr(init_slot::ASID_POOL);
    /// The BootInfo frame.
    pub const BOOT_INFO_FRAME: Cap<cap_type::SmallPage> =
        Cap::from_cptr(init_slot::BOOT_INFO_FRAME);
    /// The root task's IPC buffer frame.
    pub const IPC_BUFFER: Cap<cap_type::SmallPage> = Cap::from_cptr(init_slot::IPC_BUFFER);
    /// The domain capability.
    pub const DOMAIN: Cap<cap_type::Domain> = Cap::from_cptr(init_slot::DOMAIN);
    /// The SMC capability.
    pub const SMC: Cap<cap_type::Smc> = Cap::from_cptr(init_slot::SMC);
}

#[cfg(test)]
mod tests {
    use super::{Cap, FrameType, cap_type, init};

    #[test]
    fn caps_are_plain_words() {
        assert_eq!(core::mem::size_of::<Cap<cap_type::Tcb>>(), 8);
        let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(0x42);
        assert_eq!(ep.cptr(), 0x42);
        assert_eq!(ep.cast::<cap_type::Notification>().cptr(), 0x42);
        assert!(!ep.is_null() && ep.upcast().cast::<cap_type::Reply>().cptr() == 0x42);
        assert_eq!(std::format!("{:?}", init::SMC), "Cap<Smc>(0xf)");
        assert_eq!(init::CNODE.cptr(), 2);
    }

    #[test]
    fn frame_sizes() {
        assert_eq!(cap_type::SmallPage::SIZE_BITS, 12);
        assert_eq!(cap_type::LargePage::SIZE_BITS, 21);
        assert_eq!(cap_type::HugePage::SIZE_BITS, 30);
    }
}
