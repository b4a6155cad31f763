//! CNode invocations. The invoked CNode is the destination root; every index is resolved at
//! the given depth (64 for a single-level CNode with the right guard, e.g. the root CNode).

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{Badge, Cap, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;
use crate::message::CapRights;

type CNode = Cap<cap_type::CNode>;

impl Request {
    /// Builds `seL4_CNode_Copy`: w0 dest_index, w1 dest_depth, w2 src_index, w3 src_depth,
    /// w4 rights; c0 src_root.
    pub fn cnode_copy(
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        rights: CapRights,
    ) -> Request {
        let words = [
            dest_index,
            dest_depth.into(),
            src_index,
            src_depth.into(),
            rights.word(),
        ];
        Request::new(InvocationLabel::CNodeCopy, &words, &[src_root.cptr()])
    }

    /// Builds `seL4_CNode_Mint`: as Copy plus w5 badge.
    pub fn cnode_mint(
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        rights: CapRights,
        badge: Badge,
    ) -> Request {
        let words = [
            dest_index,
            dest_depth.into(),
            src_index,
            src_depth.into(),
            rights.word(),
            badge,
        ];
        Request::new(InvocationLabel::CNodeMint, &words, &[src_root.cptr()])
    }

    /// Builds `seL4_CNode_Move`: w0 dest_index, w1 dest_depth, w2 src_index, w3 src_depth;
    /// c0 src_root.
    pub fn cnode_move(
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
    ) -> Request {
        let words = [dest_index, dest_depth.into(), src_index, src_depth.into()];
        Request::new(InvocationLabel::CNodeMove, &words, &[src_root.cptr()])
    }

    /// Builds `seL4_CNode_Mutate`: as Move plus w4 badge (guard data).
    pub fn cnode_mutate(
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        badge: Badge,
    ) -> Request {
        let words = [
            dest_index,
            dest_depth.into(),
            src_index,
            src_depth.into(),
            badge,
        ];
        Request::new(InvocationLabel::CNodeMutate, &words, &[src_root.cptr()])
    }

    /// Builds `seL4_CNode_Rotate`: w0 dest_index, w1 dest_depth, w2 dest_badge,
    /// w3 pivot_index, w4 pivot_depth, w5 pivot_badge, w6 src_index, w7 src_depth;
    /// c0 pivot_root, c1 src_root.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn cnode_rotate(
        dest_index: u64,
        dest_depth: u8,
        dest_badge: Badge,
        pivot_root: CNode,
        pivot_index: u64,
        pivot_depth: u8,
        pivot_badge: Badge,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
    ) -> Request {
        let words = [
            dest_index,
            dest_depth.into(),
            dest_badge,
            pivot_index,
            pivot_depth.into(),
            pivot_badge,
            src_index,
            src_depth.into(),
        ];
        Request::new(
            InvocationLabel::CNodeRotate,
            &words,
            &[pivot_root.cptr(), src_root.cptr()],
        )
    }

    /// Builds the one-slot CNode invocations (Delete, Revoke, SaveCaller,
    /// CancelBadgedSends): w0 index, w1 depth.
    pub fn cnode_slot_op(label: CNodeSlotOp, index: u64, depth: u8) -> Request {
        Request::new(label.label(), &[index, depth.into()], &[])
    }
}

/// The CNode invocations that name a single slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CNodeSlotOp {
    /// `seL4_CNode_Delete`.
    Delete,
    /// `seL4_CNode_Revoke`.
    Revoke,
    /// `seL4_CNode_SaveCaller`.
    SaveCaller,
    /// `seL4_CNode_CancelBadgedSends`.
    CancelBadgedSends,
}

impl CNodeSlotOp {
    fn label(self) -> InvocationLabel {
        match self {
            CNodeSlotOp::Delete => InvocationLabel::CNodeDelete,
            CNodeSlotOp::Revoke => InvocationLabel::CNodeRevoke,
            CNodeSlotOp::SaveCaller => InvocationLabel::CNodeSaveCaller,
            CNodeSlotOp::CancelBadgedSends => InvocationLabel::CNodeCancelBadgedSends,
        }
    }
}

impl CNode {
    /// Copies the cap at (`src_root`, `src_index`, `src_depth`) into (`self`, `dest_index`,
    /// `dest_depth`), masking its rights with `rights`; a badged cap keeps its badge.
    ///
    /// Corresponds to `seL4_CNode_Copy`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn cnode_copy(
        self,
        ipc: &mut IpcBuffer,
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        rights: CapRights,
    ) -> Result<()> {
        let r = Request::cnode_copy(
            dest_index, dest_depth, src_root, src_index, src_depth, rights,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Like [`Self::cnode_copy`] but also sets `badge` (endpoint/notification; the source must
    /// be unbadged) or guard data (CNode caps).
    ///
    /// Corresponds to `seL4_CNode_Mint`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn cnode_mint(
        self,
        ipc: &mut IpcBuffer,
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        rights: CapRights,
        badge: Badge,
    ) -> Result<()> {
        let r = Request::cnode_mint(
            dest_index, dest_depth, src_root, src_index, src_depth, rights, badge,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Moves a cap between slots. Corresponds to `seL4_CNode_Move`.
    pub fn cnode_move(
        self,
        ipc: &mut IpcBuffer,
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
    ) -> Result<()> {
        let r = Request::cnode_move(dest_index, dest_depth, src_root, src_index, src_depth);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Moves a cap and changes its guard data (CNode caps only; endpoints cannot be badged
    /// this way). Corresponds to `seL4_CNode_Mutate`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn cnode_mutate(
        self,
        ipc: &mut IpcBuffer,
        dest_index: u64,
        dest_depth: u8,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
        badge: Badge,
    ) -> Result<()> {
        let r = Request::cnode_mutate(
            dest_index, dest_depth, src_root, src_index, src_depth, badge,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Moves pivot → dest and src → pivot atomically, rebadging both.
    /// Corresponds to `seL4_CNode_Rotate`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn cnode_rotate(
        self,
        ipc: &mut IpcBuffer,
        dest_index: u64,
        dest_depth: u8,
        dest_badge: Badge,
        pivot_root: CNode,
        pivot_index: u64,
        pivot_depth: u8,
        pivot_badge: Badge,
        src_root: CNode,
        src_index: u64,
        src_depth: u8,
    ) -> Result<()> {
        let r = Request::cnode_rotate(
            dest_index,
            dest_depth,
            dest_badge,
            pivot_root,
            pivot_index,
            pivot_depth,
            pivot_badge,
            src_root,
            src_index,
            src_depth,
        );
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Deletes the cap in a slot. Corresponds to `seL4_CNode_Delete`.
    pub fn cnode_delete(self, ipc: &mut IpcBuffer, index: u64, depth: u8) -> Result<()> {
        let r = Request::cnode_slot_op(CNodeSlotOp::Delete, index, depth);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Deletes every cap derived from the cap in a slot. Corresponds to `seL4_CNode_Revoke`.
    pub fn cnode_revoke(self, ipc: &mut IpcBuffer, index: u64, depth: u8) -> Result<()> {
        let r = Request::cnode_slot_op(CNodeSlotOp::Revoke, index, depth);
        ipc.invoke(self.cptr(), &r).result()
    }

    /// Moves the current reply cap into an empty slot (so a later Recv does not destroy it).
    /// Corresponds to `seL4_CNode_SaveCaller`.
    pub fn cnode_save_caller(self, ipc: &mut IpcBuffer, index: u64, depth: u8) -> Result<()> {
        let label = CNodeSlotOp::SaveCaller.label();
        let (info, _) = ipc.invoke_fast(self.cptr(), label, [index, depth.into(), 0, 0], 2);
        crate::error::Error::check_label(info.label())
    }

    /// Aborts pending sends that carry the badge of the cap in a slot.
    /// Corresponds to `seL4_CNode_CancelBadgedSends`.
    pub fn cnode_cancel_badged_sends(
        self,
        ipc: &mut IpcBuffer,
        index: u64,
        depth: u8,
    ) -> Result<()> {
        let r = Request::cnode_slot_op(CNodeSlotOp::CancelBadgedSends, index, depth);
        ipc.invoke(self.cptr(), &r).result()
    }
}
