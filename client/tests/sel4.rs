//! `Sel4Transport` against a fake kernel: the message lands in registers and the IPC buffer as
//! the protocol says, the frame goes as the one extra cap, and the reply comes back through the
//! same path. The fake kernel plays the server with the real decoder and reply encoder.
#![cfg(feature = "sel4")]

use std::cell::RefCell;

use sel4::host::set_syscall_handler;
use sel4::{Cap, IpcBuffer, MessageInfo, Syscall, SyscallRegs, cap_type};
use vcpu_client::{
    PortPacket, Sel4Transport, Status, VcpuState, zx_guest_create, zx_vcpu_enter,
    zx_vcpu_write_state, zx_vmar_map,
};
use vcpu_protocol::layout::{PKT_TYPE_GUEST_MEM, VCPU_STATE};
use vcpu_protocol::message::{GuestCreateReply, MapReply};
use vcpu_protocol::{MSG_MAX_WORDS, ReplyPayload, Request, encode_reply};
use zerocopy::{FromZeros, IntoBytes};

/// What the fake kernel saw of one Call.
#[derive(Debug, Default, Clone)]
struct Seen {
    dest: u64,
    label: u64,
    words: Vec<u64>,
    extra_caps: Vec<u64>,
}

thread_local! {
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
}

/// The fake kernel: on Call, reads the message as the kernel would (MR0..3 from x2..x5, the rest
/// from the buffer, the extra caps from `caps_or_badges`), answers as a tiny server, and writes
/// the reply back the same way.
fn kernel(sys: Syscall, regs: &mut SyscallRegs, buf: Option<&mut IpcBuffer>) {
    assert_eq!(sys, Syscall::Call, "the transport only ever calls");
    let buf = buf.expect("Call passes the IPC buffer");
    let info = MessageInfo::from_word(regs.x1);
    let len = info.length().min(120);
    let mut words: Vec<u64> = regs.mrs.to_vec();
    words.extend_from_slice(&buf.msg()[4..len.max(4)]);
    words.truncate(len);
    let extra_caps = buf.caps_or_badges()[..info.extra_caps()].to_vec();
    SEEN.with(|s| {
        s.borrow_mut().push(Seen {
            dest: regs.x0,
            label: info.label(),
            words: words.clone(),
            extra_caps: extra_caps.clone(),
        })
    });
    let reply = match Request::decode(info.label(), &words, extra_caps.len()) {
        Ok(Request::GuestCreate(r)) => Ok(ReplyPayload::GuestCreate(GuestCreateReply {
            guest: r.resource + 1,
            vmar: r.resource + 2,
        })),
        Ok(Request::VmarMap(r)) => Ok(ReplyPayload::Map(MapReply {
            mapped_addr: r.vmar_offset + extra_caps[0],
        })),
        Ok(Request::VcpuEnter(_)) => {
            let mut p = PortPacket::new_zeroed();
            p.key = 0x1234;
            p.packet_type = PKT_TYPE_GUEST_MEM;
            p.payload[..8].copy_from_slice(&0x0900_0000u64.to_le_bytes());
            Ok(ReplyPayload::Packet(p))
        }
        Ok(Request::VcpuWriteState(_, b)) if b.len() == 264 => Ok(ReplyPayload::Empty),
        Ok(_) => Err(Status::ERR_NOT_SUPPORTED),
        Err(s) => Err(s),
    };
    let mut out = [0u64; MSG_MAX_WORDS];
    let n = encode_reply(&reply, &mut out);
    regs.x0 = 0;
    regs.x1 = MessageInfo::new(0, 0, 0, n as u64).word();
    regs.mrs.copy_from_slice(&out[..4]);
    if n > 4 {
        buf.msg_mut()[4..n].copy_from_slice(&out[4..n]);
    }
}

fn seen() -> Vec<Seen> {
    SEEN.with(|s| s.borrow_mut().drain(..).collect())
}

// One test function: the fake kernel is process-wide.
#[test]
fn calls_travel_through_registers_buffer_and_extra_caps() {
    set_syscall_handler(Some(kernel));
    let mut ipc = Box::new(IpcBuffer::new());
    let ep = Cap::<cap_type::Endpoint>::from_cptr(24);
    let mut t = Sel4Transport::new(&mut ipc, ep);

    // A one-word request and a one-word reply payload.
    assert_eq!(zx_guest_create(&mut t, 0x7, 0), Ok((0x8, 0x9)));
    let s = seen();
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].dest, s[0].label), (24, 1));
    assert_eq!(s[0].words, [0x7]);
    assert!(s[0].extra_caps.is_empty());

    // The frame is the one extra cap; words 0..2 in registers.
    let frame = Cap::<cap_type::LargePage>::from_cptr(64).upcast();
    assert_eq!(
        zx_vmar_map(&mut t, 0x80007, 0x407, 0x4000_0000, frame, 0x20_0000),
        Ok(0x4000_0000 + 64)
    );
    let s = seen();
    assert_eq!(s[0].label, 17);
    assert_eq!(s[0].words, [0x80007 | 0x407 << 32, 0x4000_0000, 0x20_0000]);
    assert_eq!(s[0].extra_caps, [64]);

    // A long request (35 words: 4 in registers, 31 in the buffer) and a 7-word reply.
    let mut state = VcpuState::new_zeroed();
    for (i, x) in state.x.iter_mut().enumerate() {
        *x = 0x100 + i as u64;
    }
    assert_eq!(
        zx_vcpu_write_state(&mut t, 0xC0007, VCPU_STATE, state.as_bytes()),
        Status::OK
    );
    let s = seen();
    assert_eq!(s[0].words.len(), 2 + 33);
    assert_eq!(s[0].words[2..5], [0x100, 0x101, 0x102]);
    assert_eq!(s[0].words[32], 0x100 + 30);
    let mut packet = PortPacket::new_zeroed();
    assert_eq!(zx_vcpu_enter(&mut t, 0xC0007, &mut packet), Status::OK);
    assert_eq!(
        (packet.key, packet.packet_type),
        (0x1234, PKT_TYPE_GUEST_MEM)
    );

    // The server's status comes back as is.
    assert_eq!(
        vcpu_client::zx_vcpu_kick(&mut t, 0xC0007),
        Status::ERR_NOT_SUPPORTED
    );
    seen();

    // Raw calls send exactly what they are given, including a length the words do not fill.
    let info = t.call_raw(0, &[1, 2, 3, 4, 5], 127, &[]);
    assert_eq!(info.length(), 1);
    assert_eq!(
        t.ipc().msg()[0] as i64,
        i64::from(Status::ERR_BAD_SYSCALL.into_raw())
    );
    let s = seen();
    assert_eq!((s[0].label, s[0].words.len()), (0, 120));
    assert_eq!(s[0].words[..5], [1, 2, 3, 4, 5]);
    set_syscall_handler(None);
}
