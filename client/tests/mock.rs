//! The client against a scripted transport: the exact words each call sends, and how replies
//! (good, error, malformed) are decoded.

use std::collections::VecDeque;

use vcpu_client::{
    GuestPacket, HANDLE_INVALID, MSG_MAX_WORDS, PortPacket, Rights, Status, Transport, VcpuIo,
    VcpuState, guest_packet, handle_receive, handle_send, vcpu_info_flags, vcpu_read_state,
    vcpu_write_io, vcpu_write_state, zx_guest_create, zx_guest_set_trap, zx_handle_close,
    zx_handle_duplicate, zx_handle_replace, zx_object_get_info, zx_port_create, zx_port_wait,
    zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick, zx_vcpu_read_state,
    zx_vcpu_write_state, zx_vmar_map,
};
use vcpu_protocol::layout::{PKT_TYPE_GUEST_MEM, PacketGuestMem};
use zerocopy::IntoBytes;

/// One message as the transport saw it.
#[derive(Debug, PartialEq, Eq)]
struct Sent {
    label: u64,
    words: Vec<u64>,
    cap: Option<u32>,
}

/// Records every call and answers with scripted reply words.
#[derive(Default)]
struct Mock {
    sent: Vec<Sent>,
    replies: VecDeque<Vec<u64>>,
}

impl Mock {
    fn replying(replies: &[&[u64]]) -> Mock {
        Mock {
            sent: Vec::new(),
            replies: replies.iter().map(|r| r.to_vec()).collect(),
        }
    }

    fn only_sent(&self) -> &Sent {
        assert_eq!(self.sent.len(), 1, "{:?}", self.sent);
        &self.sent[0]
    }
}

impl Transport for Mock {
    type Cap = u32;

    fn call(
        &mut self,
        label: u64,
        words: &[u64],
        cap: Option<u32>,
        reply: &mut [u64; MSG_MAX_WORDS],
    ) -> usize {
        self.sent.push(Sent {
            label,
            words: words.to_vec(),
            cap,
        });
        let r = self.replies.pop_front().expect("a scripted reply");
        reply[..r.len()].copy_from_slice(&r);
        r.len()
    }
}

const OK: u64 = 0;

fn err(s: Status) -> u64 {
    i64::from(s.into_raw()) as u64
}

fn sent(label: u64, words: &[u64]) -> Sent {
    Sent {
        label,
        words: words.to_vec(),
        cap: None,
    }
}

#[test]
fn guest_create() {
    let mut t = Mock::replying(&[&[OK, 0x22 << 32 | 0x11]]);
    assert_eq!(zx_guest_create(&mut t, 7, 0), Ok((0x11, 0x22)));
    assert_eq!(t.only_sent(), &sent(1, &[7]));

    let mut t = Mock::replying(&[&[err(Status::ERR_ACCESS_DENIED)]]);
    assert_eq!(
        zx_guest_create(&mut t, 7, 1),
        Err(Status::ERR_ACCESS_DENIED)
    );
    assert_eq!(t.only_sent(), &sent(1, &[1 << 32 | 7]));
}

#[test]
fn guest_set_trap() {
    let mut t = Mock::replying(&[&[OK]]);
    let s = zx_guest_set_trap(&mut t, 3, 0, 0x1000, 0x2000, 9, 0xABCD);
    assert_eq!(s, Status::OK);
    assert_eq!(t.only_sent(), &sent(2, &[3, 0x1000, 0x2000, 9, 0xABCD]));

    let mut t = Mock::replying(&[&[err(Status::ERR_ALREADY_EXISTS)]]);
    let s = zx_guest_set_trap(&mut t, 3, 1, 0, 0x1000, HANDLE_INVALID, 0);
    assert_eq!(s, Status::ERR_ALREADY_EXISTS);
    assert_eq!(t.only_sent(), &sent(2, &[1 << 32 | 3, 0, 0x1000, 0, 0]));
}

#[test]
fn vcpu_create_kick_interrupt() {
    let mut t = Mock::replying(&[&[OK, 0x55], &[OK], &[OK], &[err(Status::ERR_OUT_OF_RANGE)]]);
    assert_eq!(zx_vcpu_create(&mut t, 3, 0, 0x4000_0000), Ok(0x55));
    assert_eq!(zx_vcpu_kick(&mut t, 0x55), Status::OK);
    assert_eq!(zx_vcpu_interrupt(&mut t, 0x55, 27), Status::OK);
    assert_eq!(
        zx_vcpu_interrupt(&mut t, 0x55, 256),
        Status::ERR_OUT_OF_RANGE
    );
    assert_eq!(
        t.sent,
        [
            sent(3, &[3, 0x4000_0000]),
            sent(5, &[0x55]),
            sent(6, &[27 << 32 | 0x55]),
            sent(6, &[256 << 32 | 0x55]),
        ]
    );
}

fn mem_packet() -> PortPacket {
    let mem = PacketGuestMem {
        addr: 0x900_0000,
        access_size: 4,
        sign_extend: 0,
        xt: 3,
        read: 0,
        padding1: [0; 4],
        data: 0xDEAD_BEEF,
        reserved: 0,
    };
    let mut payload = [0u8; 32];
    payload.copy_from_slice(mem.as_bytes());
    PortPacket {
        key: 42,
        packet_type: PKT_TYPE_GUEST_MEM,
        status: 0,
        payload,
    }
}

fn packet_reply(p: &PortPacket) -> Vec<u64> {
    let mut words = vec![OK];
    words.extend(
        p.as_bytes()
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
    );
    words
}

#[test]
fn vcpu_enter_writes_the_packet_only_on_ok() {
    let expected = mem_packet();
    let good = packet_reply(&expected);
    let mut t = Mock::replying(&[&good, &[err(Status::ERR_CANCELED)]]);
    let mut packet = PortPacket {
        key: 1,
        packet_type: 99,
        status: 5,
        payload: [7; 32],
    };
    assert_eq!(zx_vcpu_enter(&mut t, 0x55, &mut packet), Status::OK);
    assert_eq!(packet, expected);
    let GuestPacket::Mem(mem) = guest_packet(&packet) else {
        panic!("{packet:?}")
    };
    assert_eq!((mem.addr, mem.data, mem.xt), (0x900_0000, 0xDEAD_BEEF, 3));

    let before = PortPacket {
        key: 1,
        packet_type: 99,
        status: 5,
        payload: [7; 32],
    };
    let mut packet = before;
    assert_eq!(
        zx_vcpu_enter(&mut t, 0x55, &mut packet),
        Status::ERR_CANCELED
    );
    assert_eq!(packet, before, "not written on error");
    assert_eq!(t.sent, [sent(4, &[0x55]), sent(4, &[0x55])]);
    assert_eq!(guest_packet(&before), GuestPacket::Other(99));
}

#[test]
fn malformed_replies_are_internal_and_write_nothing() {
    let before = PortPacket {
        key: 1,
        packet_type: 2,
        status: 3,
        payload: [4; 32],
    };
    let short = &packet_reply(&mem_packet())[..6];
    let cases: [&[u64]; 5] = [
        &[],                              // empty
        short,                            // truncated payload
        &[OK, 1],                         // another operation's shape
        &[err(Status::ERR_BAD_STATE), 0], // an error with a payload
        &[1 << 40],                       // status word not a sign-extended i32
    ];
    for reply in cases {
        let mut t = Mock::replying(&[reply]);
        let mut packet = before;
        assert_eq!(
            zx_vcpu_enter(&mut t, 1, &mut packet),
            Status::ERR_INTERNAL,
            "{reply:x?}"
        );
        assert_eq!(packet, before);
    }
    // A transport claiming more words than a message holds.
    struct Liar;
    impl Transport for Liar {
        type Cap = ();
        fn call(
            &mut self,
            _: u64,
            _: &[u64],
            _: Option<()>,
            _: &mut [u64; MSG_MAX_WORDS],
        ) -> usize {
            MSG_MAX_WORDS + 1
        }
    }
    assert_eq!(zx_vcpu_kick(&mut Liar, 1), Status::ERR_INTERNAL);
}

fn state_reply(state: &VcpuState) -> Vec<u64> {
    let mut words = vec![OK];
    words.extend(
        state
            .as_bytes()
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
    );
    words
}

fn sample_state() -> VcpuState {
    let mut x = [0u64; 31];
    for (i, r) in x.iter_mut().enumerate() {
        *r = 0x100 + i as u64;
    }
    VcpuState {
        x,
        sp: 0x8000,
        cpsr: 0x6000_0000,
        padding1: [0; 4],
    }
}

#[test]
fn read_state_sends_the_size_as_given() {
    let state = sample_state();
    let mut t = Mock::replying(&[&state_reply(&state), &[err(Status::ERR_INVALID_ARGS)]]);
    let mut buf = [0u8; 264];
    assert_eq!(zx_vcpu_read_state(&mut t, 9, 0, &mut buf), Status::OK);
    assert_eq!(&buf[..], state.as_bytes());
    // A wrong size is the server's to refuse; the buffer stays untouched.
    let mut small = [0xAAu8; 100];
    assert_eq!(
        zx_vcpu_read_state(&mut t, 9, 0, &mut small),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(small, [0xAA; 100]);
    assert_eq!(t.sent, [sent(7, &[9, 264]), sent(7, &[9, 100])]);
    // An OK reply for a buffer of another size cannot be honoured.
    let mut t = Mock::replying(&[&state_reply(&state)]);
    assert_eq!(
        zx_vcpu_read_state(&mut t, 9, 0, &mut small),
        Status::ERR_INTERNAL
    );
    assert_eq!(small, [0xAA; 100]);
}

#[test]
fn write_state_sends_the_buffer_and_refuses_only_what_cannot_fit() {
    let mut t = Mock::replying(&[&[OK], &[err(Status::ERR_INVALID_ARGS)]]);
    assert_eq!(
        zx_vcpu_write_state(&mut t, 9, 1, &[1, 2, 3, 4, 5]),
        Status::OK
    );
    // Odd sizes go to the server as they are.
    assert_eq!(
        zx_vcpu_write_state(&mut t, 9, 0, &[0xFF; 9]),
        Status::ERR_INVALID_ARGS
    );
    assert_eq!(
        t.sent,
        [
            sent(8, &[1 << 32 | 9, 5, 0x05_04_03_02_01]),
            sent(8, &[9, 9, u64::MAX, 0xFF]),
        ]
    );
    // 945 bytes do not fit one message: refused locally, nothing sent.
    let mut t = Mock::default();
    assert_eq!(
        zx_vcpu_write_state(&mut t, 9, 0, &[0; 945]),
        Status::ERR_INVALID_ARGS
    );
    assert!(t.sent.is_empty());
}

#[test]
fn typed_state_helpers() {
    let state = sample_state();
    let mut t = Mock::replying(&[
        &state_reply(&state),
        &[OK],
        &[err(Status::ERR_INVALID_ARGS)],
    ]);
    assert_eq!(vcpu_read_state(&mut t, 9), Ok(state));
    assert_eq!(vcpu_write_state(&mut t, 9, &state), Status::OK);
    let io = VcpuIo {
        access_size: 4,
        padding1: [0; 3],
        data: [1, 2, 3, 4],
    };
    assert_eq!(vcpu_write_io(&mut t, 9, &io), Status::ERR_INVALID_ARGS);
    assert_eq!(t.sent[0], sent(7, &[9, 264]));
    assert_eq!(t.sent[1].words.len(), 2 + 33);
    assert_eq!(&t.sent[1].words[..2], &[9, 264]);
    assert_eq!(t.sent[1].words[2..].as_bytes(), state.as_bytes());
    assert_eq!(
        t.sent[2],
        sent(8, &[1 << 32 | 9, 8, 0x04_03_02_01_00_00_00_04])
    );
}

#[test]
fn object_get_info() {
    let mut t = Mock::replying(&[&[OK, 1], &[err(Status::ERR_BUFFER_TOO_SMALL)], &[OK, 0]]);
    let mut buf = [0xFFu8; 8];
    let (mut actual, mut avail) = (0, 0);
    let s = zx_object_get_info(&mut t, 9, 32, &mut buf, Some(&mut actual), Some(&mut avail));
    assert_eq!(s, Status::OK);
    assert_eq!(buf, [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!((actual, avail), (1, 1));
    let mut tiny = [0u8; 2];
    assert_eq!(
        zx_object_get_info(&mut t, 9, 32, &mut tiny, None, None),
        Status::ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(vcpu_info_flags(&mut t, 9), Ok(0));
    assert_eq!(
        t.sent,
        [
            sent(9, &[32 << 32 | 9, 8]),
            sent(9, &[32 << 32 | 9, 2]),
            sent(9, &[32 << 32 | 9, 4])
        ]
    );
}

#[test]
fn handle_calls() {
    let mut t = Mock::replying(&[
        &[OK, 0x77],
        &[err(Status::ERR_INVALID_ARGS)],
        &[OK, 0x78],
        &[OK],
        &[OK],
        &[OK, 0x8000_0015 << 32 | 0x79, 3 << 32 | 0xD01F],
    ]);
    assert_eq!(
        zx_handle_duplicate(&mut t, 0x55, Rights::SAME_RIGHTS),
        Ok(0x77)
    );
    assert_eq!(
        zx_handle_duplicate(&mut t, 0x55, Rights::MANAGE_JOB),
        Err(Status::ERR_INVALID_ARGS)
    );
    assert_eq!(
        zx_handle_replace(&mut t, 0x77, Rights::READ | Rights::WRITE),
        Ok(0x78)
    );
    assert_eq!(zx_handle_close(&mut t, HANDLE_INVALID), Status::OK);
    assert_eq!(handle_send(&mut t, 0x78, 2), Status::OK);
    let got = handle_receive(&mut t).unwrap();
    assert_eq!(
        (got.handle, got.obj_type, got.rights, got.from_client),
        (0x79, 0x8000_0015, 0xD01F, 3)
    );
    assert_eq!(
        t.sent,
        [
            sent(10, &[0x8000_0000 << 32 | 0x55]),
            sent(10, &[1 << 48 | 0x55]),
            sent(11, &[0xC << 32 | 0x77]),
            sent(12, &[0]),
            sent(13, &[2 << 32 | 0x78]),
            sent(14, &[]),
        ]
    );
}

#[test]
fn ports() {
    let expected = mem_packet();
    let mut t = Mock::replying(&[
        &[OK, 0x31],
        &packet_reply(&expected),
        &[err(Status::ERR_SHOULD_WAIT)],
    ]);
    assert_eq!(zx_port_create(&mut t, 0), Ok(0x31));
    let mut packet = PortPacket {
        key: 0,
        packet_type: 0,
        status: 0,
        payload: [0; 32],
    };
    assert_eq!(
        zx_port_wait(&mut t, 0x31, i64::MAX, &mut packet),
        Status::OK
    );
    assert_eq!(packet, expected);
    let mut untouched = packet;
    assert_eq!(
        zx_port_wait(&mut t, 0x31, 0, &mut untouched),
        Status::ERR_SHOULD_WAIT
    );
    assert_eq!(untouched, packet);
    assert_eq!(
        t.sent,
        [
            sent(15, &[0]),
            sent(16, &[0x31, i64::MAX as u64]),
            sent(16, &[0x31, 0])
        ]
    );
}

#[test]
fn vmar_map_sends_the_frame_cap() {
    let mut t = Mock::replying(&[&[OK, 0x4000_0000], &[err(Status::ERR_ACCESS_DENIED)]]);
    assert_eq!(
        zx_vmar_map(&mut t, 0x12, 0x403, 0x4000_0000, 77, 0x1000),
        Ok(0x4000_0000)
    );
    assert_eq!(
        zx_vmar_map(&mut t, 0x12, 0x407, 0x4000_0000, 78, 0x1000),
        Err(Status::ERR_ACCESS_DENIED)
    );
    assert_eq!(
        t.sent,
        [
            Sent {
                label: 17,
                words: vec![0x403 << 32 | 0x12, 0x4000_0000, 0x1000],
                cap: Some(77)
            },
            Sent {
                label: 17,
                words: vec![0x407 << 32 | 0x12, 0x4000_0000, 0x1000],
                cap: Some(78)
            },
        ]
    );
}

#[test]
fn port_queue_and_vmar_range_calls() {
    use vcpu_client::{zx_port_queue, zx_vmar_protect, zx_vmar_unmap};
    let mut t = Mock::replying(&[
        &[OK],
        &[err(Status::ERR_NOT_FOUND)],
        &[err(Status::ERR_ACCESS_DENIED)],
    ]);
    let packet = PortPacket {
        key: 5,
        packet_type: 0,
        status: -1,
        payload: [7; 32],
    };
    assert_eq!(zx_port_queue(&mut t, 0x31, &packet), Status::OK);
    assert_eq!(
        zx_vmar_unmap(&mut t, 0x43, 0x4000_0000, 0x1000),
        Status::ERR_NOT_FOUND
    );
    assert_eq!(
        zx_vmar_protect(&mut t, 0x43, 3, 0x4000_0000, 0x2000),
        Status::ERR_ACCESS_DENIED
    );
    let seven = u64::from_le_bytes([7; 8]);
    assert_eq!(
        t.sent,
        [
            sent(
                18,
                &[
                    0x31,
                    5,
                    (-1i32 as u32 as u64) << 32,
                    seven,
                    seven,
                    seven,
                    seven
                ]
            ),
            sent(19, &[0x43, 0x4000_0000, 0x1000]),
            sent(20, &[3 << 32 | 0x43, 0x4000_0000, 0x2000]),
        ]
    );
}

#[test]
fn vmar_map_frames_sends_the_cnode_cap() {
    let mut t = Mock::replying(&[&[OK, 0x4000_0000]]);
    assert_eq!(
        vcpu_client::vmar_map_frames(&mut t, 0x12, 0x403, 0x4000_0000, 0x1000, 1, 70, 16),
        Ok(0x4000_0000)
    );
    assert_eq!(
        t.sent,
        [Sent {
            label: 21,
            words: vec![0x403 << 32 | 0x12, 0x4000_0000, 0x1000, 70, 16],
            cap: Some(1)
        }]
    );
}
