//! ARM paging, cache maintenance and ASID invocations (stage-2 tables in hyp builds).

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{Cap, FrameType, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;
use crate::message::CapRights;
use crate::object::VmAttributes;

type VSpace = Cap<cap_type::VSpace>;

/// A cache-maintenance operation on a range (`*_Clean_Data` etc.).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CacheOp {
    /// Clean to the point of coherency.
    Clean,
    /// Invalidate.
    Invalidate,
    /// Clean and invalidate.
    CleanInvalidate,
    /// Make the instruction cache coherent with the data cache.
    UnifyInstruction,
}

impl CacheOp {
    const fn page_label(self) -> InvocationLabel {
        match self {
            CacheOp::Clean => InvocationLabel::ARMPageClean_Data,
            CacheOp::Invalidate => InvocationLabel::ARMPageInvalidate_Data,
            CacheOp::CleanInvalidate => InvocationLabel::ARMPageCleanInvalidate_Data,
            CacheOp::UnifyInstruction => InvocationLabel::ARMPageUnify_Instruction,
        }
    }

    const fn vspace_label(self) -> InvocationLabel {
        match self {
            CacheOp::Clean => InvocationLabel::ARMVSpaceClean_Data,
            CacheOp::Invalidate => InvocationLabel::ARMVSpaceInvalidate_Data,
            CacheOp::CleanInvalidate => InvocationLabel::ARMVSpaceCleanInvalidate_Data,
            CacheOp::UnifyInstruction => InvocationLabel::ARMVSpaceUnify_Instruction,
        }
    }
}

impl Request {
    /// Builds `seL4_ARM_PageTable_Map`: w0 vaddr, w1 attr; c0 vspace.
    pub fn page_table_map(vspace: VSpace, vaddr: u64, attr: VmAttributes) -> Request {
        Request::new(
            InvocationLabel::ARMPageTableMap,
            &[vaddr, attr.word()],
            &[vspace.cptr()],
        )
    }

    /// Builds `seL4_ARM_PageTable_Unmap` (no arguments).
    pub fn page_table_unmap() -> Request {
        Request::new(InvocationLabel::ARMPageTableUnmap, &[], &[])
    }

    /// Builds `seL4_ARM_Page_Map`: w0 vaddr, w1 rights, w2 attr; c0 vspace.
    pub fn frame_map(vspace: VSpace, vaddr: u64, rights: CapRights, attr: VmAttributes) -> Request {
        Request::new(
            InvocationLabel::ARMPageMap,
            &[vaddr, rights.word(), attr.word()],
            &[vspace.cptr()],
        )
    }

    /// Builds `seL4_ARM_Page_Unmap` (no arguments).
    pub fn frame_unmap() -> Request {
        Request::new(InvocationLabel::ARMPageUnmap, &[], &[])
    }

    /// Builds `seL4_ARM_Page_GetAddress` (no arguments; reply w0 = physical address).
    pub fn frame_get_address() -> Request {
        Request::new(InvocationLabel::ARMPageGetAddress, &[], &[])
    }

    /// Builds `seL4_ARM_Page_{Clean,Invalidate,CleanInvalidate}_Data` /
    /// `seL4_ARM_Page_Unify_Instruction`: w0 start offset, w1 end offset within the frame.
    pub fn frame_cache_op(op: CacheOp, start_offset: u64, end_offset: u64) -> Request {
        Request::new(op.page_label(), &[start_offset, end_offset], &[])
    }

    /// Builds `seL4_ARM_VSpace_{Clean,Invalidate,CleanInvalidate}_Data` /
    /// `seL4_ARM_VSpace_Unify_Instruction`: w0 start vaddr, w1 end vaddr.
    pub fn vspace_cache_op(op: CacheOp, start: u64, end: u64) -> Request {
        Request::new(op.vspace_label(), &[start, end], &[])
    }

    /// Builds `seL4_ARM_ASIDControl_MakePool`: w0 index, w1 depth; c0 untyped, c1 root.
    pub fn asid_control_make_pool(
        untyped: Cap<cap_type::Untyped>,
        root: Cap<cap_type::CNode>,
        index: u64,
        depth: u8,
    ) -> Request {
        Request::new(
            InvocationLabel::ARMASIDControlMakePool,
            &[index, depth.into()],
            &[untyped.cptr(), root.cptr()],
        )
    }

    /// Builds `seL4_ARM_ASIDPool_Assign`: c0 vspace.
    pub fn asid_pool_assign(vspace: VSpace) -> Request {
        Request::new(InvocationLabel::ARMASIDPoolAssign, &[], &[vspace.cptr()])
    }
}

impl Cap<cap_type::PageTable> {
    /// Installs this table at the first missing level of the walk to `vaddr` in `vspace`
    /// (DeleteFirst if none is missing). Corresponds to `seL4_ARM_PageTable_Map`.
    pub fn page_table_map(
        self,
        ipc: &mut IpcBuffer,
        vspace: VSpace,
        vaddr: u64,
        attr: VmAttributes,
    ) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::page_table_map(vspace, vaddr, attr))
            .result()
    }

    /// Unmaps the table. Corresponds to `seL4_ARM_PageTable_Unmap`.
    pub fn page_table_unmap(self, ipc: &mut IpcBuffer) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::page_table_unmap())
            .result()
    }
}

impl<F: FrameType> Cap<F> {
    /// Maps the frame at `vaddr` with `rights` (Read, or Read+Write) and `attr`.
    /// Corresponds to `seL4_ARM_Page_Map`.
    pub fn frame_map(
        self,
        ipc: &mut IpcBuffer,
        vspace: VSpace,
        vaddr: u64,
        rights: CapRights,
        attr: VmAttributes,
    ) -> Result<()> {
        ipc.invoke(
            self.cptr(),
            &Request::frame_map(vspace, vaddr, rights, attr),
        )
        .result()
    }

    /// Unmaps the frame. Corresponds to `seL4_ARM_Page_Unmap`.
    pub fn frame_unmap(self, ipc: &mut IpcBuffer) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::frame_unmap()).result()
    }

    /// The frame's physical address. Corresponds to `seL4_ARM_Page_GetAddress`.
    pub fn frame_get_address(self, ipc: &mut IpcBuffer) -> Result<u64> {
        let response = ipc.invoke(self.cptr(), &Request::frame_get_address());
        response.result().map(|()| response.word(0))
    }

    /// Cleans the data cache for `[start, end)` offsets of the (mapped) frame.
    /// Corresponds to `seL4_ARM_Page_Clean_Data`.
    pub fn frame_clean_data(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::frame_cache_op(CacheOp::Clean, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Invalidates the data cache for a range of the frame.
    /// Corresponds to `seL4_ARM_Page_Invalidate_Data`.
    pub fn frame_invalidate_data(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::frame_cache_op(CacheOp::Invalidate, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Cleans and invalidates the data cache for a range of the frame.
    /// Corresponds to `seL4_ARM_Page_CleanInvalidate_Data`.
    pub fn frame_clean_invalidate_data(
        self,
        ipc: &mut IpcBuffer,
        start: u64,
        end: u64,
    ) -> Result<()> {
        let r = Request::frame_cache_op(CacheOp::CleanInvalidate, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Makes instruction fetches see a range of the frame.
    /// Corresponds to `seL4_ARM_Page_Unify_Instruction`.
    pub fn frame_unify_instruction(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::frame_cache_op(CacheOp::UnifyInstruction, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }
}

impl VSpace {
    /// Cleans the data cache for `[start, end)` of this VSpace.
    /// Corresponds to `seL4_ARM_VSpace_Clean_Data`.
    pub fn vspace_clean_data(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::vspace_cache_op(CacheOp::Clean, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Invalidates the data cache for a range. Corresponds to `seL4_ARM_VSpace_Invalidate_Data`.
    pub fn vspace_invalidate_data(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::vspace_cache_op(CacheOp::Invalidate, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Cleans and invalidates the data cache for a range.
    /// Corresponds to `seL4_ARM_VSpace_CleanInvalidate_Data`.
    pub fn vspace_clean_invalidate_data(
        self,
        ipc: &mut IpcBuffer,
        start: u64,
        end: u64,
    ) -> Result<()> {
        let r = Request::vspace_cache_op(CacheOp::CleanInvalidate, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Makes instruction fetches see a range. Corresponds to `seL4_ARM_VSpace_Unify_Instruction`.
    pub fn vspace_unify_instruction(self, ipc: &mut IpcBuffer, start: u64, end: u64) -> Result<()> {
        let r = Request::vspace_cache_op(CacheOp::UnifyInstruction, start, end);
        ipc.invoke(self.cptr(), &r).result()
    }
}

impl Cap<cap_type::AsidControl> {
    /// Turns a 4 KiB, childless, non-device untyped into an ASID pool placed at (`root`,
    /// `index`, `depth`). Corresponds to `seL4_ARM_ASIDControl_MakePool`.
    pub fn asid_control_make_pool(
        self,
        ipc: &mut IpcBuffer,
        untyped: Cap<cap_type::Untyped>,
        root: Cap<cap_type::CNode>,
        index: u64,
        depth: u8,
    ) -> Result<()> {
        let r = Request::asid_control_make_pool(untyped, root, index, depth);
        ipc.invoke(self.cptr(), &r).result()
    }
}

impl Cap<cap_type::AsidPool> {
    /// Gives `vspace` an ASID from this pool. Corresponds to `seL4_ARM_ASIDPool_Assign`.
    pub fn asid_pool_assign(self, ipc: &mut IpcBuffer, vspace: VSpace) -> Result<()> {
        ipc.invoke(self.cptr(), &Request::asid_pool_assign(vspace))
            .result()
    }
}
