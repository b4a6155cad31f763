//! The client through `Loopback`: requests go through the real decoder, replies through the real
//! encoder, so a handler sees exactly what the server would.

use vcpu_client::{Loopback, Status, Transport, zx_vcpu_create, zx_vcpu_write_state, zx_vmar_map};
use vcpu_protocol::message::{HandleReply, MapReply};
use vcpu_protocol::{MSG_MAX_WORDS, ReplyPayload, Request};

#[test]
fn requests_arrive_decoded_and_replies_come_back() {
    let mut seen = Vec::new();
    let mut t = Loopback::new(|req: Request<'_>, cap: Option<u8>| {
        seen.push(format!("{req:?} {cap:?}"));
        match req {
            Request::VcpuCreate(r) if r.options == 0 => Ok(ReplyPayload::Handle(HandleReply {
                handle: r.guest + 1,
                reserved: 0,
            })),
            Request::VmarMap(r) => Ok(ReplyPayload::Map(MapReply {
                mapped_addr: r.vmar_offset,
            })),
            Request::VcpuWriteState(_, buf) if buf.len() == 3 => Ok(ReplyPayload::Empty),
            _ => Err(Status::ERR_INVALID_ARGS),
        }
    });
    assert_eq!(zx_vcpu_create(&mut t, 4, 0, 0), Ok(5));
    assert_eq!(
        zx_vcpu_create(&mut t, 4, 1, 0),
        Err(Status::ERR_INVALID_ARGS)
    );
    assert_eq!(zx_vmar_map(&mut t, 1, 3, 0x1000, 9, 0x1000), Ok(0x1000));
    assert_eq!(zx_vcpu_write_state(&mut t, 1, 0, &[1, 2, 3]), Status::OK);
    assert_eq!(seen.len(), 4);
    assert!(seen[2].ends_with("Some(9)"), "{}", seen[2]);
}

#[test]
fn undecodable_requests_never_reach_the_handler() {
    let mut calls = 0;
    let mut t = Loopback::new(|_: Request<'_>, _: Option<u8>| {
        calls += 1;
        Ok(ReplyPayload::Empty)
    });
    let mut reply = [0u64; MSG_MAX_WORDS];
    // Unknown label.
    assert_eq!(t.call(99, &[], None, &mut reply), 1);
    assert_eq!(reply[0] as i64, -13);
    // vmar_map without its cap.
    assert_eq!(t.call(17, &[0, 0, 0], None, &mut reply), 1);
    assert_eq!(reply[0] as i64, -10);
    // A kick with a cap it must not carry.
    assert_eq!(t.call(5, &[1], Some(3), &mut reply), 1);
    assert_eq!(reply[0] as i64, -10);
    assert_eq!(calls, 0);
}
