//! Proptest strategies for valid requests and replies (every variant).

#![allow(dead_code)]

use proptest::prelude::*;
use vcpu_protocol::layout::{PortPacket, VcpuState};
use vcpu_protocol::message::{
    GuestCreateReply, HandleReply, InfoVcpu, MapReply, ReceivedHandle, VcpuStateReq,
};
use vcpu_protocol::{Operation, Reply, ReplyKind, ReplyPayload, Request, Status};
use zerocopy::FromBytes;

/// Any value of a plain-data message struct (every bit pattern is a value).
pub fn arb<T: FromBytes + core::fmt::Debug>() -> impl Strategy<Value = T> {
    prop::collection::vec(any::<u8>(), size_of::<T>())
        .prop_map(|bytes| T::read_from_bytes(&bytes).expect("exact size"))
}

/// A request that owns its `vcpu_write_state` buffer.
#[derive(Clone, Debug)]
pub enum Owned {
    /// Any request but `vcpu_write_state`.
    Fixed(Request<'static>),
    /// `vcpu_write_state`: header fields and buffer.
    WriteState(u32, u32, Vec<u8>),
}

impl Owned {
    /// The request (borrowing the buffer).
    pub fn request(&self) -> Request<'_> {
        match self {
            Owned::Fixed(r) => *r,
            Owned::WriteState(vcpu, kind, buf) => {
                Request::vcpu_write_state(*vcpu, *kind, buf).expect("buffer fits")
            }
        }
    }
}

/// Any valid request: every variant, reserved fields zero, write buffers of 0..=944 bytes.
pub fn any_request() -> impl Strategy<Value = Owned> {
    use Request as R;
    let fixed = prop_oneof![
        arb().prop_map(R::GuestCreate),
        arb().prop_map(|mut r: vcpu_protocol::message::GuestSetTrapReq| {
            r.reserved = 0;
            R::GuestSetTrap(r)
        }),
        arb().prop_map(R::VcpuCreate),
        arb().prop_map(|mut r: vcpu_protocol::message::HandleReq| {
            r.reserved = 0;
            R::VcpuEnter(r)
        }),
        arb().prop_map(|mut r: vcpu_protocol::message::HandleReq| {
            r.reserved = 0;
            R::VcpuKick(r)
        }),
        arb().prop_map(R::VcpuInterrupt),
        arb().prop_map(|mut r: VcpuStateReq| {
            r.reserved = 0;
            R::VcpuReadState(r)
        }),
        arb().prop_map(|mut r: vcpu_protocol::message::ObjectGetInfoReq| {
            r.reserved = 0;
            R::ObjectGetInfo(r)
        }),
        arb().prop_map(R::HandleDuplicate),
        arb().prop_map(R::HandleReplace),
        arb().prop_map(|mut r: vcpu_protocol::message::HandleReq| {
            r.reserved = 0;
            R::HandleClose(r)
        }),
        arb().prop_map(R::HandleSend),
        Just(R::HandleReceive),
        arb().prop_map(|mut r: vcpu_protocol::message::PortCreateReq| {
            r.reserved = 0;
            R::PortCreate(r)
        }),
        arb().prop_map(|mut r: vcpu_protocol::message::PortWaitReq| {
            r.reserved = 0;
            R::PortWait(r)
        }),
        arb().prop_map(R::VmarMap),
    ];
    prop_oneof![
        fixed.prop_map(Owned::Fixed),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..=vcpu_protocol::WRITE_STATE_MAX_BYTES)
        )
            .prop_map(|(v, k, b)| Owned::WriteState(v, k, b)),
    ]
}

/// Any payload of the given shape (reserved fields zero).
pub fn any_payload(kind: ReplyKind) -> BoxedStrategy<ReplyPayload> {
    match kind {
        ReplyKind::Empty => Just(ReplyPayload::Empty).boxed(),
        ReplyKind::GuestCreate => arb::<GuestCreateReply>()
            .prop_map(ReplyPayload::GuestCreate)
            .boxed(),
        ReplyKind::Handle => arb::<HandleReply>()
            .prop_map(|mut r| {
                r.reserved = 0;
                ReplyPayload::Handle(r)
            })
            .boxed(),
        ReplyKind::Packet => arb::<PortPacket>().prop_map(ReplyPayload::Packet).boxed(),
        ReplyKind::State => arb::<VcpuState>().prop_map(ReplyPayload::State).boxed(),
        ReplyKind::InfoVcpu => arb::<InfoVcpu>()
            .prop_map(|mut r| {
                r.reserved = 0;
                ReplyPayload::InfoVcpu(r)
            })
            .boxed(),
        ReplyKind::Received => arb::<ReceivedHandle>()
            .prop_map(ReplyPayload::Received)
            .boxed(),
        ReplyKind::Map => arb::<MapReply>().prop_map(ReplyPayload::Map).boxed(),
    }
}

/// Any operation.
pub fn any_op() -> impl Strategy<Value = Operation> {
    prop::sample::select(Operation::ALL.to_vec())
}

/// Any valid reply to `op`: an error status (nonzero) or the operation's payload.
pub fn any_reply(op: Operation) -> impl Strategy<Value = Reply> {
    prop_oneof![
        any::<i32>()
            .prop_filter("an error", |s| *s != 0)
            .prop_map(|s| Err(Status::from_raw(s))),
        any_payload(ReplyKind::of(op)).prop_map(Ok),
    ]
}
