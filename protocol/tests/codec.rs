//! Request and reply encoding: round trips, exact word layouts, and the decode rules.

mod strategies;

use proptest::prelude::*;
use vcpu_protocol::message::{
    GuestSetTrapReq, HandleReply, HandleReq, InfoVcpu, ObjectGetInfoReq, PortCreateReq,
    PortWaitReq, VcpuStateReq, VmarMapReq,
};
use vcpu_protocol::{
    MSG_MAX_WORDS, Operation, REPLY_MAX_WORDS, ReplyKind, ReplyPayload, Request, Status,
    WRITE_STATE_MAX_BYTES, decode_reply, encode_reply, request_caps, request_words,
};

const INVALID: Result<Request<'static>, Status> = Err(Status::ERR_INVALID_ARGS);

fn encode(req: &Request<'_>) -> (u64, Vec<u64>, usize) {
    let mut out = [0u64; MSG_MAX_WORDS];
    let (label, len, caps) = req.encode(&mut out);
    (label, out[..len].to_vec(), caps)
}

proptest! {
    #[test]
    fn request_round_trip(owned in strategies::any_request()) {
        let req = owned.request();
        let (label, words, caps) = encode(&req);
        prop_assert_eq!(label, req.op().label());
        prop_assert_eq!(caps, request_caps(req.op()));
        prop_assert!(words.len() <= MSG_MAX_WORDS);
        let expected_len = match req {
            Request::VcpuWriteState(_, buf) => 2 + buf.len().div_ceil(8),
            _ => request_words(req.op()),
        };
        prop_assert_eq!(words.len(), expected_len);
        prop_assert_eq!(Request::decode(label, &words, caps), Ok(req));
    }

    #[test]
    fn wrong_cap_count_is_invalid(owned in strategies::any_request(), caps in 0usize..4) {
        let req = owned.request();
        let (label, words, right) = encode(&req);
        prop_assume!(caps != right);
        prop_assert_eq!(Request::decode(label, &words, caps), INVALID);
    }

    #[test]
    fn wrong_length_is_invalid(owned in strategies::any_request(), extra in 1usize..4, cut in any::<bool>()) {
        let req = owned.request();
        let (label, mut words, caps) = encode(&req);
        if cut {
            prop_assume!(!words.is_empty());
            words.truncate(words.len().saturating_sub(extra));
        } else {
            words.extend(std::iter::repeat_n(0, extra));
        }
        prop_assert_eq!(Request::decode(label, &words, caps), INVALID);
    }

    #[test]
    fn unknown_labels_are_bad_syscall(
        label in any::<u64>(),
        words in prop::collection::vec(any::<u64>(), 0..=130),
        caps in 0usize..4,
    ) {
        prop_assume!(Operation::from_label(label).is_none());
        prop_assert_eq!(Request::decode(label, &words, caps), Err(Status::ERR_BAD_SYSCALL));
    }

    #[test]
    fn reply_round_trip(
        (op, reply) in strategies::any_op().prop_flat_map(|op| (Just(op), strategies::any_reply(op)))
    ) {
        let mut out = [0u64; MSG_MAX_WORDS];
        let len = encode_reply(&reply, &mut out);
        prop_assert!(len <= REPLY_MAX_WORDS);
        prop_assert_eq!(len, match reply {
            Ok(ref p) => 1 + p.kind().words(),
            Err(_) => 1,
        });
        prop_assert_eq!(decode_reply(op, &out[..len]), reply);
    }

    #[test]
    fn status_word_must_be_sign_extended(op in strategies::any_op(), word in any::<u64>()) {
        let reply = decode_reply(op, &[word]);
        match i32::try_from(word as i64) {
            Ok(0) => prop_assert!(
                reply == Ok(ReplyPayload::Empty) || reply == Err(Status::ERR_INTERNAL)
            ),
            Ok(s) => prop_assert_eq!(reply, Err(Status::from_raw(s))),
            Err(_) => prop_assert_eq!(reply, Err(Status::ERR_INTERNAL)),
        }
    }
}

#[test]
fn every_reply_shape_fits() {
    for op in Operation::ALL {
        assert!(ReplyKind::of(op).words() < REPLY_MAX_WORDS, "{op:?}");
    }
    const { assert!(REPLY_MAX_WORDS <= MSG_MAX_WORDS) };
}

#[test]
fn fixed_layouts_are_pinned() {
    // guest_set_trap: [guest | kind << 32, addr, size, port | reserved << 32, key].
    let req = Request::GuestSetTrap(GuestSetTrapReq {
        guest: 0x11,
        kind: 1,
        addr: 0x1000,
        size: 0x2000,
        port: 0x22,
        reserved: 0,
        key: 0x33,
    });
    assert_eq!(
        encode(&req),
        (2, vec![0x1_0000_0011, 0x1000, 0x2000, 0x22, 0x33], 0)
    );
    // vmar_map: [vmar | options << 32, vmar_offset, len], one cap.
    let req = Request::VmarMap(VmarMapReq {
        vmar: 7,
        options: 0x403,
        vmar_offset: 0x4000_0000,
        len: 0x1000,
    });
    assert_eq!(
        encode(&req),
        (17, vec![0x403_0000_0007, 0x4000_0000, 0x1000], 1)
    );
    // handle_receive: no words.
    assert_eq!(encode(&Request::HandleReceive), (14, vec![], 0));
    // port_wait: [port | reserved << 32, deadline].
    let req = Request::PortWait(PortWaitReq {
        port: 5,
        reserved: 0,
        deadline: -1,
    });
    assert_eq!(encode(&req), (16, vec![5, u64::MAX], 0));
}

#[test]
fn request_word_counts() {
    use Operation as O;
    let expected = [
        (O::GuestCreate, 1),
        (O::GuestSetTrap, 5),
        (O::VcpuCreate, 2),
        (O::VcpuEnter, 1),
        (O::VcpuKick, 1),
        (O::VcpuInterrupt, 1),
        (O::VcpuReadState, 2),
        (O::VcpuWriteState, 2),
        (O::ObjectGetInfo, 2),
        (O::HandleDuplicate, 1),
        (O::HandleReplace, 1),
        (O::HandleClose, 1),
        (O::HandleSend, 1),
        (O::HandleReceive, 0),
        (O::PortCreate, 1),
        (O::PortWait, 2),
        (O::VmarMap, 3),
    ];
    for (op, words) in expected {
        assert_eq!(request_words(op), words, "{op:?}");
        assert_eq!(request_caps(op), usize::from(op == O::VmarMap), "{op:?}");
    }
    assert_eq!(WRITE_STATE_MAX_BYTES, 944);
}

#[test]
fn reserved_fields_must_be_zero() {
    let cases: [(u64, Vec<u64>); 8] = [
        (Operation::GuestSetTrap.label(), vec![0, 0, 0, 1 << 32, 0]),
        (Operation::VcpuEnter.label(), vec![1 << 32]),
        (Operation::VcpuKick.label(), vec![1 << 32]),
        (Operation::HandleClose.label(), vec![1 << 32]),
        (Operation::VcpuReadState.label(), vec![0, 1 << 32]),
        (Operation::ObjectGetInfo.label(), vec![0, 1 << 32]),
        (Operation::PortCreate.label(), vec![1 << 32]),
        (Operation::PortWait.label(), vec![1 << 32, 0]),
    ];
    for (label, words) in cases {
        assert_eq!(Request::decode(label, &words, 0), INVALID, "label {label}");
        let mut clean = words.clone();
        for w in &mut clean {
            *w &= !(0xFFFF_FFFF << 32);
        }
        assert!(Request::decode(label, &clean, 0).is_ok(), "label {label}");
    }
    // Structs with no reserved field accept every bit pattern.
    let any = Request::decode(Operation::VcpuCreate.label(), &[u64::MAX, u64::MAX], 0);
    assert!(any.is_ok());
    let _ = (
        HandleReq {
            handle: 0,
            reserved: 0,
        },
        PortCreateReq {
            options: 0,
            reserved: 0,
        },
    );
    let _ = ObjectGetInfoReq {
        handle: 0,
        topic: 0,
        buffer_size: 0,
        reserved: 0,
    };
}

#[test]
fn write_state_buffer_rules() {
    let label = Operation::VcpuWriteState.label();
    let header = |size: u32| (1u64 | 1 << 32, u64::from(size));
    // 5 bytes: one buffer word, bytes 5..8 must be zero.
    let (w0, w1) = header(5);
    let words = [w0, w1, 0x05_04_03_02_01];
    let ok = Request::decode(label, &words, 0).unwrap();
    let Request::VcpuWriteState(h, buf) = ok else {
        panic!("{ok:?}")
    };
    assert_eq!((h.vcpu, h.kind, h.buffer_size), (1, 1, 5));
    assert_eq!(buf, [1, 2, 3, 4, 5]);
    assert_eq!(
        Request::decode(label, &[w0, w1, 0x01_00_00_00_00_00], 0),
        INVALID
    );
    // Too few or too many buffer words.
    assert_eq!(Request::decode(label, &[w0, w1], 0), INVALID);
    assert_eq!(Request::decode(label, &[w0, w1, 0, 0], 0), INVALID);
    // Header only with size 0 is a valid, empty buffer.
    let (w0, w1) = header(0);
    assert_eq!(
        Request::decode(label, &[w0, w1], 0),
        Ok(Request::VcpuWriteState(
            VcpuStateReq {
                vcpu: 1,
                kind: 1,
                buffer_size: 0,
                reserved: 0
            },
            &[]
        ))
    );
    // The largest buffer fills the message; one byte more cannot be carried.
    let (w0, w1) = header(944);
    let mut words = vec![w0, w1];
    words.resize(120, 0);
    assert!(Request::decode(label, &words, 0).is_ok());
    let (w0, w1) = header(945);
    let mut words = vec![w0, w1];
    words.resize(120, 0);
    assert_eq!(Request::decode(label, &words, 0), INVALID);
    words.push(0);
    assert_eq!(Request::decode(label, &words, 0), INVALID);
    // A huge buffer_size never overflows anything.
    let (w0, w1) = header(u32::MAX);
    assert_eq!(Request::decode(label, &[w0, w1], 0), INVALID);
    // Header shorter than two words.
    assert_eq!(Request::decode(label, &[w0], 0), INVALID);
    // The constructor refuses what one message cannot carry.
    assert!(Request::vcpu_write_state(1, 0, &[0; 944]).is_ok());
    assert_eq!(Request::vcpu_write_state(1, 0, &[0; 945]), INVALID);
}

#[test]
fn reply_layouts_and_malformed_replies() {
    let mut out = [0u64; MSG_MAX_WORDS];
    // Errors: the status alone, sign-extended.
    assert_eq!(encode_reply(&Err(Status::ERR_BAD_STATE), &mut out), 1);
    assert_eq!(out[0], (-20i64) as u64);
    // Err(OK) is not a reply; it is sent as INTERNAL.
    assert_eq!(encode_reply(&Err(Status::OK), &mut out), 1);
    assert_eq!(out[0], (-1i64) as u64);
    // A handle reply: [0, handle].
    let reply = Ok(ReplyPayload::Handle(HandleReply {
        handle: 0x1234,
        reserved: 0,
    }));
    assert_eq!(encode_reply(&reply, &mut out), 2);
    assert_eq!(&out[..2], &[0, 0x1234]);
    assert_eq!(decode_reply(Operation::VcpuCreate, &out[..2]), reply);
    // The same words are malformed for an operation with another reply shape.
    assert_eq!(
        decode_reply(Operation::VcpuKick, &out[..2]),
        Err(Status::ERR_INTERNAL)
    );
    assert_eq!(
        decode_reply(Operation::VcpuEnter, &out[..2]),
        Err(Status::ERR_INTERNAL)
    );
    // Reserved fields in replies must be zero.
    assert_eq!(
        decode_reply(Operation::VcpuCreate, &[0, 1 << 32]),
        Err(Status::ERR_INTERNAL)
    );
    assert_eq!(
        decode_reply(Operation::ObjectGetInfo, &[0, 1 << 32]),
        Err(Status::ERR_INTERNAL)
    );
    assert_eq!(
        decode_reply(Operation::ObjectGetInfo, &[0, 1]),
        Ok(ReplyPayload::InfoVcpu(InfoVcpu {
            flags: 1,
            reserved: 0
        }))
    );
    // Empty, and errors with trailing words.
    assert_eq!(
        decode_reply(Operation::VcpuKick, &[]),
        Err(Status::ERR_INTERNAL)
    );
    assert_eq!(
        decode_reply(Operation::VcpuKick, &[(-10i64) as u64, 0]),
        Err(Status::ERR_INTERNAL)
    );
    assert_eq!(
        decode_reply(Operation::VcpuKick, &[0]),
        Ok(ReplyPayload::Empty)
    );
    // vcpu_read_state is the longest reply.
    assert_eq!(REPLY_MAX_WORDS, 34);
    assert_eq!(ReplyKind::of(Operation::VcpuReadState).words(), 33);
    assert_eq!(ReplyKind::of(Operation::VcpuEnter).words(), 6);
}
