//! `Untyped_Retype`.

use super::Request;
use crate::abi::InvocationLabel;
use crate::cap::{Cap, cap_type};
use crate::error::Result;
use crate::ipc_buffer::IpcBuffer;
use crate::object::ObjectType;

impl Request {
    /// Builds `seL4_Untyped_Retype`: w0 type, w1 size_bits, w2 node_index, w3 node_depth,
    /// w4 node_offset, w5 num_objects; c0 root.
    pub fn untyped_retype(
        object_type: ObjectType,
        size_bits: u64,
        root: Cap<cap_type::CNode>,
        node_index: u64,
        node_depth: u64,
        node_offset: u64,
        num_objects: u64,
    ) -> Request {
        Request::new(
            InvocationLabel::UntypedRetype,
            &[
                object_type.value(),
                size_bits,
                node_index,
                node_depth,
                node_offset,
                num_objects,
            ],
            &[root.cptr()],
        )
    }
}

impl Cap<cap_type::Untyped> {
    /// Creates `num_objects` objects of `object_type` in slots `node_offset..` of the CNode
    /// found at (`node_index`, `node_depth`) in `root` (depth 0 means `root` itself).
    /// `size_bits` matters only for Untyped (log2 bytes) and CNode (log2 slots).
    ///
    /// Corresponds to `seL4_Untyped_Retype`.
    #[allow(clippy::too_many_arguments)] // mirrors the seL4 signature one to one
    pub fn untyped_retype(
        self,
        ipc: &mut IpcBuffer,
        object_type: ObjectType,
        size_bits: u64,
        root: Cap<cap_type::CNode>,
        node_index: u64,
        node_depth: u64,
        node_offset: u64,
        num_objects: u64,
    ) -> Result<()> {
        let request = Request::untyped_retype(
            object_type,
            size_bits,
            root,
            node_index,
            node_depth,
            node_offset,
            num_objects,
        );
        ipc.invoke(self.cptr(), &request).result()
    }
}
