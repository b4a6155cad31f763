//! The IPC buffer and the message-passing syscalls that use it.
//!
//! The message model: the whole outgoing message lives in [`IpcBuffer::msg`]; the send-type
//! methods move words 0..4 into x2..x5 (the kernel never reads msg[0..4] from memory) and the
//! receive-type methods copy x2..x5 back into msg[0..4], so after a receive `msg()[..len]` is
//! the whole incoming message. Invocations ([`IpcBuffer::invoke`]) do not touch msg[0..4]: they
//! carry their own words in a [`Request`] and return a [`Response`].

use core::mem::offset_of;

use crate::abi::Syscall;
use crate::arch::{SyscallRegs, syscall};
use crate::cap::{Badge, CPtr, Cap, cap_type};
use crate::config::CONFIG;
use crate::invocation::{Request, Response};
use crate::message::{FAST_MESSAGE_REGISTERS, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH, MessageInfo};

/// The IPC buffer (`seL4_IPCBuffer`): 1024 bytes, 1 KiB aligned.
///
/// On the target a `&mut IpcBuffer` is only obtained from [`IpcBuffer::from_addr`] (unsafe:
/// the address must be the calling thread's registered buffer), which is what makes the safe
/// syscall methods sound: the kernel writes this memory only during a syscall that borrows it.
#[repr(C, align(1024))]
pub struct IpcBuffer {
    tag: u64,
    msg: [u64; MSG_MAX_LENGTH],
    user_data: u64,
    caps_or_badges: [u64; MSG_MAX_EXTRA_CAPS],
    receive_cnode: u64,
    receive_index: u64,
    receive_depth: u64,
}

const _: () = assert!(core::mem::size_of::<IpcBuffer>() == 1 << crate::IPC_BUFFER_SIZE_BITS);

impl IpcBuffer {
    /// Byte offset of `tag`.
    pub const OFFSET_TAG: usize = offset_of!(IpcBuffer, tag);
    /// Byte offset of `msg`.
    pub const OFFSET_MSG: usize = offset_of!(IpcBuffer, msg);
    /// Byte offset of `userData`.
    pub const OFFSET_USER_DATA: usize = offset_of!(IpcBuffer, user_data);
    /// Byte offset of `caps_or_badges`.
    pub const OFFSET_CAPS_OR_BADGES: usize = offset_of!(IpcBuffer, caps_or_badges);
    /// Byte offset of `receiveCNode`.
    pub const OFFSET_RECEIVE_CNODE: usize = offset_of!(IpcBuffer, receive_cnode);
    /// Byte offset of `receiveIndex`.
    pub const OFFSET_RECEIVE_INDEX: usize = offset_of!(IpcBuffer, receive_index);
    /// Byte offset of `receiveDepth`.
    pub const OFFSET_RECEIVE_DEPTH: usize = offset_of!(IpcBuffer, receive_depth);
    /// Size in bytes.
    pub const SIZE: usize = core::mem::size_of::<IpcBuffer>();

    /// A zeroed buffer, for host-side fakes and tests (not available on the target, where the
    /// only buffer is the one the kernel was told about).
    #[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
    #[allow(clippy::new_without_default)] // a Default impl would invite buffers on the target
    pub const fn new() -> Self {
        IpcBuffer {
            tag: 0,
            msg: [0; MSG_MAX_LENGTH],
            user_data: 0,
            caps_or_badges: [0; MSG_MAX_EXTRA_CAPS],
            receive_cnode: 0,
            receive_index: 0,
            receive_depth: 0,
        }
    }

    /// The message words.
    pub fn msg(&self) -> &[u64; MSG_MAX_LENGTH] {
        &self.msg
    }

    /// The message words, for writing an outgoing message.
    pub fn msg_mut(&mut self) -> &mut [u64; MSG_MAX_LENGTH] {
        &mut self.msg
    }

    /// Outgoing: cptrs of the extra caps. Incoming: badges of unwrapped caps.
    pub fn caps_or_badges(&self) -> &[u64; MSG_MAX_EXTRA_CAPS] {
        &self.caps_or_badges
    }

    /// Outgoing extra-cap cptrs (set `extra_caps` in the tag accordingly).
    pub fn caps_or_badges_mut(&mut self) -> &mut [u64; MSG_MAX_EXTRA_CAPS] {
        &mut self.caps_or_badges
    }

    /// The user-data word (free for the program; the kernel ignores it).
    pub fn user_data(&self) -> u64 {
        self.user_data
    }

    /// Sets the user-data word.
    pub fn set_user_data(&mut self, value: u64) {
        self.user_data = value;
    }

    /// Where a received cap goes: slot `index` at `depth` bits inside the CNode `cnode`
    /// (looked up at depth 64). For the root CNode: `(init::CNODE, slot, 64)`.
    pub fn set_receive_slot(&mut self, cnode: Cap<cap_type::CNode>, index: u64, depth: u8) {
        self.receive_cnode = cnode.cptr();
        self.receive_index = index;
        self.receive_depth = u64::from(depth);
    }

    /// The receive slot as (cnode, index, depth).
    pub fn receive_slot(&self) -> (CPtr, u64, u64) {
        (self.receive_cnode, self.receive_index, self.receive_depth)
    }

    /// Performs an invocation: `Call` on `service` with the request's label, words and caps.
    ///
    /// Words 4.. and the caps are written to this buffer, words 0..4 travel in registers;
    /// the response's words 0..4 come from registers and the rest from this buffer.
    pub fn invoke(&mut self, service: CPtr, request: &Request) -> Response {
        let words = request.words();
        for (i, w) in words.iter().enumerate().skip(FAST_MESSAGE_REGISTERS) {
            self.msg[i] = *w;
        }
        for (i, c) in request.caps().iter().enumerate() {
            self.caps_or_badges[i] = *c;
        }
        let mut mrs = [0u64; FAST_MESSAGE_REGISTERS];
        for (m, w) in mrs.iter_mut().zip(words) {
            *m = *w;
        }
        let regs = SyscallRegs {
            x0: service,
            x1: request.info().word(),
            mrs,
        };
        let out = syscall(self, Syscall::Call, regs);
        let info = MessageInfo::from_word(out.x1);
        Response::from_parts(info, out.mrs, &self.msg)
    }

    /// A lean invocation for the hot paths: `Call` on `service` with `label`, `len` words of
    /// which the first four are `fast` (in registers) and the rest already written to
    /// msg[4..len], and no caps; no [`Request`] or [`Response`] is built. Returns the reply
    /// tag and MR0..3; reply words 4.. are in msg[4..]. The words must be those of the
    /// corresponding `Request` builder (the wrappers' tests compare them).
    pub(crate) fn invoke_fast(
        &mut self,
        service: CPtr,
        label: crate::abi::InvocationLabel,
        fast: [u64; FAST_MESSAGE_REGISTERS],
        len: usize,
    ) -> (MessageInfo, [u64; FAST_MESSAGE_REGISTERS]) {
        let info = MessageInfo::new(label.value(), 0, 0, len.min(MSG_MAX_LENGTH) as u64);
        let regs = SyscallRegs {
            x0: service,
            x1: info.word(),
            mrs: fast,
        };
        let out = syscall(self, Syscall::Call, regs);
        (MessageInfo::from_word(out.x1), out.mrs)
    }

    /// Send-type syscall: MR0..3 from msg[0..4].
    fn send_like(&mut self, sys: Syscall, dest: CPtr, info: MessageInfo) {
        let mrs = self.fast_mrs();
        syscall(
            self,
            sys,
            SyscallRegs {
                x0: dest,
                x1: info.word(),
                mrs,
            },
        );
    }

    /// Receive-type syscall: MR0..3 go back to msg[0..4]; returns (info, badge).
    fn recv_like(&mut self, sys: Syscall, src: CPtr, info: MessageInfo) -> (MessageInfo, Badge) {
        let mrs = self.fast_mrs();
        let out = syscall(
            self,
            sys,
            SyscallRegs {
                x0: src,
                x1: info.word(),
                mrs,
            },
        );
        self.msg[..FAST_MESSAGE_REGISTERS].copy_from_slice(&out.mrs);
        (MessageInfo::from_word(out.x1), out.x0)
    }

    /// Like `recv_like`, with x6 = `x6` (MCS: the reply object).
    fn recv_like_x6(
        &mut self,
        sys: Syscall,
        src: CPtr,
        info: MessageInfo,
        x6: u64,
    ) -> (MessageInfo, Badge) {
        let mrs = self.fast_mrs();
        let out = crate::arch::syscall_x6(
            self,
            sys,
            SyscallRegs {
                x0: src,
                x1: info.word(),
                mrs,
            },
            x6,
        );
        self.msg[..FAST_MESSAGE_REGISTERS].copy_from_slice(&out.mrs);
        (MessageInfo::from_word(out.x1), out.x0)
    }

    fn fast_mrs(&self) -> [u64; FAST_MESSAGE_REGISTERS] {
        let mut mrs = [0u64; FAST_MESSAGE_REGISTERS];
        mrs.copy_from_slice(&self.msg[..FAST_MESSAGE_REGISTERS]);
        mrs
    }

    /// Replies to the current caller with `info` and msg[..length] (`seL4_Reply`; on MCS a
    /// Send on this thread's reply object, see [`Self::set_reply_object`]).
    pub fn reply(&mut self, info: MessageInfo) {
        if CONFIG.mcs {
            let reply = self.reply_object();
            self.send_like(Syscall::Send, reply, info);
        } else {
            self.send_like(Syscall::Reply, 0, info);
        }
    }

    /// MCS: names the reply object this thread's [`Cap::recv`](Cap#method.recv),
    /// `reply_recv`, `nb_recv` and [`Self::reply`] use (kept in the buffer's `userData` word,
    /// which the kernel never touches). Unused on other kernels.
    pub fn set_reply_object(&mut self, reply: CPtr) {
        self.user_data = reply;
    }

    /// The reply object named by [`Self::set_reply_object`] (0 if none).
    pub fn reply_object(&self) -> CPtr {
        self.user_data
    }

    /// The type number of the capability at `cptr` in the caller's CSpace, 0 for an empty slot
    /// (`seL4_DebugCapIdentify`, debug kernels only: built for a release kernel it is not
    /// issued and answers 0; the kernel prints nothing, even for an empty slot). Uses x0 only.
    pub fn debug_cap_identify(&mut self, cptr: u64) -> u64 {
        let regs = SyscallRegs {
            x0: cptr,
            ..SyscallRegs::default()
        };
        syscall(self, Syscall::DebugCapIdentify, regs).x0
    }

    /// Names `tcb` in kernel messages (debug kernels only: built for a release kernel this
    /// does nothing; a debug kernel halts if `tcb` is not a TCB). The name is truncated to 959
    /// bytes and stops at the first NUL. Corresponds to
    /// `seL4_DebugNameThread`.
    pub fn debug_name_thread(&mut self, tcb: Cap<cap_type::Tcb>, name: &str) {
        let bytes = name.as_bytes();
        let len = bytes.len().min(MSG_MAX_LENGTH * 8 - 1);
        for (i, word) in self.msg.iter_mut().enumerate() {
            let mut chunk = [0u8; 8];
            for (j, b) in chunk.iter_mut().enumerate() {
                if let Some(c) = bytes[..len].get(i * 8 + j) {
                    *b = *c;
                }
            }
            // The kernel reads the name as bytes in memory order (little-endian words).
            *word = u64::from_le_bytes(chunk);
        }
        let regs = SyscallRegs {
            x0: tcb.cptr(),
            ..SyscallRegs::default()
        };
        syscall(self, Syscall::DebugNameThread, regs);
    }
}

impl Cap<cap_type::Endpoint> {
    /// Sends msg[..length] and blocks until received. Corresponds to `seL4_Send`.
    pub fn send(self, ipc: &mut IpcBuffer, info: MessageInfo) {
        ipc.send_like(Syscall::Send, self.cptr(), info);
    }

    /// Sends only if a receiver is waiting, else drops the message. Corresponds to `seL4_NBSend`.
    pub fn nb_send(self, ipc: &mut IpcBuffer, info: MessageInfo) {
        ipc.send_like(Syscall::NBSend, self.cptr(), info);
    }

    /// Sends and waits for the reply, which replaces msg[..]; returns the reply tag.
    /// Corresponds to `seL4_Call`.
    pub fn call(self, ipc: &mut IpcBuffer, info: MessageInfo) -> MessageInfo {
        ipc.recv_like(Syscall::Call, self.cptr(), info).0
    }

    /// Blocks for a message; returns its tag and the sender's badge. Corresponds to `seL4_Recv`
    /// (non-MCS: a Call's reply capability goes to the caller slot; MCS: to the thread's reply
    /// object, [`IpcBuffer::set_reply_object`]; for messages that need no reply use
    /// [`Self::wait`]).
    pub fn recv(self, ipc: &mut IpcBuffer) -> (MessageInfo, Badge) {
        let reply = ipc.reply_object();
        ipc.recv_like_x6(Syscall::Recv, self.cptr(), MessageInfo::default(), reply)
    }

    /// Blocks for a message, keeping a caller's reply in `reply` (MCS: the reply object in
    /// x6; non-MCS: plain Recv, `reply` is unused). Corresponds to `seL4_Recv` with a reply.
    pub fn recv_reply(
        self,
        ipc: &mut IpcBuffer,
        reply: Cap<cap_type::Reply>,
    ) -> (MessageInfo, Badge) {
        ipc.recv_like_x6(
            Syscall::Recv,
            self.cptr(),
            MessageInfo::default(),
            reply.cptr(),
        )
    }

    /// Blocks for a message that needs no reply (a Send): `seL4_Wait` on MCS, `seL4_Recv`
    /// otherwise. A Call received this way can never be answered.
    pub fn wait(self, ipc: &mut IpcBuffer) -> (MessageInfo, Badge) {
        let sys = if CONFIG.mcs {
            Syscall::Wait
        } else {
            Syscall::Recv
        };
        ipc.recv_like(sys, self.cptr(), MessageInfo::default())
    }

    /// Sends a message of at most 4 words, all in registers, without touching any IPC buffer
    /// (`seL4_Send` with length <= 4 and no caps; longer inputs are cut to 4 words). For
    /// code that has no IPC buffer at hand, such as a panic handler printing.
    pub fn send_registers(self, label: u64, words: &[u64]) {
        crate::arch::send_registers(self.cptr(), label, words);
    }

    /// Calls with a message of at most 4 words, all in registers, without an IPC buffer, and
    /// returns the reply tag. The receiver must answer with at most 4 words and no
    /// capabilities (the kernel then writes nothing to the caller's buffer); the console does.
    pub fn call_registers(self, label: u64, words: &[u64]) -> MessageInfo {
        crate::arch::call_registers(self.cptr(), label, words)
    }

    /// Like [`Self::recv`] but returns badge 0 and an empty tag at once if no sender waits.
    /// Corresponds to `seL4_NBRecv`.
    pub fn nb_recv(self, ipc: &mut IpcBuffer) -> (MessageInfo, Badge) {
        let reply = ipc.reply_object();
        ipc.recv_like_x6(Syscall::NBRecv, self.cptr(), MessageInfo::default(), reply)
    }

    /// Replies to the current caller with `info`/msg, then receives on this endpoint.
    /// Corresponds to `seL4_ReplyRecv`.
    pub fn reply_recv(self, ipc: &mut IpcBuffer, info: MessageInfo) -> (MessageInfo, Badge) {
        let reply = ipc.reply_object();
        ipc.recv_like_x6(Syscall::ReplyRecv, self.cptr(), info, reply)
    }
}

impl Cap<cap_type::Reply> {
    /// Replies through a reply cap saved with `CNode_SaveCaller` (Send on it; the slot becomes
    /// empty). Corresponds to `seL4_Send` on a reply capability.
    pub fn send(self, ipc: &mut IpcBuffer, info: MessageInfo) {
        ipc.send_like(Syscall::Send, self.cptr(), info);
    }
}

impl Cap<cap_type::Notification> {
    /// Signals the notification (ORs this cap's badge into its word). Corresponds to
    /// `seL4_Signal`. Needs no IPC buffer: the kernel sends an empty message.
    pub fn signal(self) {
        crate::arch::signal(self.cptr());
    }

    /// Blocks until signalled; returns the notification word and clears it.
    /// Corresponds to `seL4_Wait`.
    pub fn wait(self, ipc: &mut IpcBuffer) -> Badge {
        let sys = if CONFIG.mcs {
            Syscall::Wait
        } else {
            Syscall::Recv
        };
        ipc.recv_like(sys, self.cptr(), MessageInfo::default()).1
    }

    /// Returns and clears the notification word without blocking (0 if not signalled, so use
    /// non-zero badges). Corresponds to `seL4_Poll`.
    pub fn poll(self, ipc: &mut IpcBuffer) -> Badge {
        let sys = if CONFIG.mcs {
            Syscall::NBWait
        } else {
            Syscall::NBRecv
        };
        ipc.recv_like(sys, self.cptr(), MessageInfo::default()).1
    }
}

#[cfg(test)]
mod tests {
    use super::IpcBuffer;

    #[test]
    fn thread_names_are_nul_terminated_bytes() {
        let mut ipc = IpcBuffer::new();
        ipc.msg_mut().fill(u64::MAX);
        ipc.debug_name_thread(crate::init::TCB, "vcpu-server");
        assert_eq!(ipc.msg()[0], u64::from_le_bytes(*b"vcpu-ser"));
        assert_eq!(ipc.msg()[1], u64::from_le_bytes(*b"ver\0\0\0\0\0"));
        assert_eq!(ipc.msg()[2], 0);
        let long = "x".repeat(2000);
        ipc.debug_name_thread(crate::init::TCB, &long);
        assert_eq!(ipc.msg()[119].to_le_bytes()[7], 0, "always NUL-terminated");
    }

    #[test]
    fn layout_matches_sel4() {
        assert_eq!(IpcBuffer::OFFSET_TAG, 0);
        assert_eq!(IpcBuffer::OFFSET_MSG, 8);
        assert_eq!(IpcBuffer::OFFSET_USER_DATA, 968);
        assert_eq!(IpcBuffer::OFFSET_CAPS_OR_BADGES, 976);
        assert_eq!(IpcBuffer::OFFSET_RECEIVE_CNODE, 1000);
        assert_eq!(IpcBuffer::OFFSET_RECEIVE_INDEX, 1008);
        assert_eq!(IpcBuffer::OFFSET_RECEIVE_DEPTH, 1016);
        assert_eq!(IpcBuffer::SIZE, 1024);
        assert_eq!(core::mem::align_of::<IpcBuffer>(), 1024);
    }
}
