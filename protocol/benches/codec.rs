//! Decode + encode cost of one message per operation (requests), and of each reply shape.
//! Run with `cargo bench -p vcpu-protocol`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vcpu_protocol::layout::{PortPacket, VcpuState};
use vcpu_protocol::message::{
    GuestCreateReq, GuestSetTrapReq, HandleReply, HandleReq, HandleRightsReq, HandleSendReq,
    ObjectGetInfoReq, PortCreateReq, PortWaitReq, VcpuCreateReq, VcpuInterruptReq, VcpuStateReq,
    VmarMapReq,
};
use vcpu_protocol::{MSG_MAX_WORDS, Operation, ReplyPayload, Request, decode_reply, encode_reply};
use zerocopy::FromZeros;

fn sample_requests(state: &[u8]) -> Vec<Request<'_>> {
    let h = HandleReq {
        handle: 0x13,
        reserved: 0,
    };
    let st = VcpuStateReq {
        vcpu: 0x13,
        kind: 0,
        buffer_size: 264,
        reserved: 0,
    };
    vec![
        Request::GuestCreate(GuestCreateReq {
            resource: 1,
            options: 0,
        }),
        Request::GuestSetTrap(GuestSetTrapReq {
            guest: 2,
            kind: 1,
            addr: 0x800_0000,
            size: 0x1000,
            port: 0,
            reserved: 0,
            key: 7,
        }),
        Request::VcpuCreate(VcpuCreateReq {
            guest: 2,
            options: 0,
            entry: 0x4000_0000,
        }),
        Request::VcpuEnter(h),
        Request::VcpuKick(h),
        Request::VcpuInterrupt(VcpuInterruptReq {
            vcpu: 0x13,
            vector: 33,
        }),
        Request::VcpuReadState(st),
        Request::vcpu_write_state(0x13, 0, state).expect("fits"),
        Request::ObjectGetInfo(ObjectGetInfoReq {
            handle: 0x13,
            topic: 32,
            buffer_size: 4,
            reserved: 0,
        }),
        Request::HandleDuplicate(HandleRightsReq {
            handle: 0x13,
            rights: 1 << 31,
        }),
        Request::HandleReplace(HandleRightsReq {
            handle: 0x13,
            rights: 0xC,
        }),
        Request::HandleClose(h),
        Request::HandleSend(HandleSendReq {
            handle: 0x13,
            to_client: 1,
        }),
        Request::HandleReceive,
        Request::PortCreate(PortCreateReq {
            options: 0,
            reserved: 0,
        }),
        Request::PortWait(PortWaitReq {
            port: 3,
            reserved: 0,
            deadline: i64::MAX,
        }),
        Request::VmarMap(VmarMapReq {
            vmar: 4,
            options: 0x403,
            vmar_offset: 0x4000_0000,
            len: 0x1000,
        }),
    ]
}

fn requests(c: &mut Criterion) {
    let state = [0x5Au8; 264];
    let reqs = sample_requests(&state);
    assert_eq!(reqs.len(), Operation::ALL.len());
    let mut group = c.benchmark_group("request");
    for req in &reqs {
        let mut words = [0u64; MSG_MAX_WORDS];
        let (label, len, caps) = req.encode(&mut words);
        group.bench_function(req.op().name(), |b| {
            b.iter(|| {
                let decoded = Request::decode(black_box(label), black_box(&words[..len]), caps);
                let mut out = [0u64; MSG_MAX_WORDS];
                black_box(decoded.map(|r| r.encode(&mut out)))
            })
        });
    }
    group.finish();
}

fn replies(c: &mut Criterion) {
    let cases = [
        (Operation::VcpuKick, Ok(ReplyPayload::Empty)),
        (
            Operation::VcpuCreate,
            Ok(ReplyPayload::Handle(HandleReply {
                handle: 5,
                reserved: 0,
            })),
        ),
        (
            Operation::VcpuEnter,
            Ok(ReplyPayload::Packet(PortPacket::new_zeroed())),
        ),
        (
            Operation::VcpuReadState,
            Ok(ReplyPayload::State(VcpuState::new_zeroed())),
        ),
        (
            Operation::VcpuEnter,
            Err(vcpu_protocol::Status::ERR_CANCELED),
        ),
    ];
    let mut group = c.benchmark_group("reply");
    for (op, reply) in cases {
        let name = format!("{}/{}", op.name(), if reply.is_ok() { "ok" } else { "err" });
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut words = [0u64; MSG_MAX_WORDS];
                let len = encode_reply(black_box(&reply), &mut words);
                black_box(decode_reply(op, &words[..len]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, requests, replies);
criterion_main!(benches);
