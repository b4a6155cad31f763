//! Cases of the handle calls (`zx_handle_duplicate`, `_replace`, `_close`, `handle_send`,
//! `handle_receive`) and of ports (`zx_port_create`, `zx_port_wait`).

use caps::{ObjType, Rights};
use vcpu_client::{
    PortPacket, Status, handle_receive, handle_send, zx_handle_close, zx_handle_duplicate,
    zx_handle_replace, zx_port_create, zx_port_wait, zx_vcpu_kick,
};
use vcpu_protocol::layout::TIME_INFINITE;
use zerocopy::FromZeros;

use vmm::fail;
use vmm::report::{CaseResult, expect_eq, expect_err, expect_ok, expect_status, handle_value};

use crate::api::{Api, minus};

const VCPU_RIGHTS: Rights = ObjType::Vcpu.default_rights();
const PORT_RIGHTS: Rights = ObjType::Port.default_rights();
/// This program's client id (vcpu-api.toml).
const SELF: u32 = 1;

pub fn duplicate(a: &mut Api) -> CaseResult {
    let (vm, v) = a.guest_and_vcpu()?;
    let r = (|| {
        let same = a.dup(v, Rights::SAME_RIGHTS)?;
        let s = zx_vcpu_kick(&mut a.ctx.t, same);
        a.close(&[same]);
        expect_status("kick through a SAME_RIGHTS duplicate", Status::OK, s)?;
        let fewer = a.dup(v, Rights::EXECUTE.union(Rights::DUPLICATE))?;
        let t = &mut a.ctx.t;
        let more = zx_handle_duplicate(t, fewer, Rights::EXECUTE.union(Rights::READ));
        // Zircon compares with SAME_RIGHTS for equality; with other bits it asks for bit 31.
        let same_plus = zx_handle_duplicate(t, fewer, Rights::SAME_RIGHTS.union(Rights::EXECUTE));
        let none = zx_handle_duplicate(t, fewer, Rights::NONE);
        a.close(&[fewer]);
        expect_err("escalating rights", Status::ERR_INVALID_ARGS, more)?;
        expect_err(
            "SAME_RIGHTS with other bits",
            Status::ERR_INVALID_ARGS,
            same_plus,
        )?;
        let none = expect_ok("duplicate with no rights", none)?;
        let s = zx_vcpu_kick(&mut a.ctx.t, none);
        a.close(&[none]);
        expect_status("kick with no rights", Status::ERR_ACCESS_DENIED, s)?;
        let no_dup = a.dup(v, minus(VCPU_RIGHTS, Rights::DUPLICATE))?;
        let d = zx_handle_duplicate(&mut a.ctx.t, no_dup, Rights::SAME_RIGHTS);
        a.close(&[no_dup]);
        expect_err("without DUPLICATE", Status::ERR_ACCESS_DENIED, d)?;
        let forged = zx_handle_duplicate(&mut a.ctx.t, 0x1234_5670, Rights::SAME_RIGHTS);
        expect_err("forged handle", Status::ERR_BAD_HANDLE, forged)
    })();
    a.close(&[v]);
    a.close_vm(vm);
    r
}

pub fn replace(a: &mut Api) -> CaseResult {
    let (vm, v) = a.guest_and_vcpu()?;
    let r = (|| {
        let copy = a.dup(v, Rights::SAME_RIGHTS)?;
        let t = &mut a.ctx.t;
        let new = expect_ok("replace", zx_handle_replace(t, copy, Rights::EXECUTE))?;
        let old = zx_vcpu_kick(t, copy);
        let kick = zx_vcpu_kick(t, new);
        // An escalating replace fails, and still consumes the handle (Zircon).
        let up = zx_handle_replace(t, new, Rights::EXECUTE.union(Rights::READ));
        if let Ok(h) = up {
            let _ = zx_handle_close(t, h);
        }
        let gone = zx_vcpu_kick(t, new);
        expect_status("the replaced value", Status::ERR_BAD_HANDLE, old)?;
        expect_status("kick through the replacement", Status::OK, kick)?;
        expect_err("escalating replace", Status::ERR_INVALID_ARGS, up)?;
        expect_status("after a failed replace", Status::ERR_BAD_HANDLE, gone)
    })();
    a.close(&[v]);
    a.close_vm(vm);
    r
}

pub fn close_forged(a: &mut Api) -> CaseResult {
    let t = &mut a.ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    expect_status("close", Status::OK, zx_handle_close(t, port))?;
    let bad = Status::ERR_BAD_HANDLE;
    expect_status("close again (stale)", bad, zx_handle_close(t, port))?;
    expect_status("close ZX_HANDLE_INVALID", Status::OK, zx_handle_close(t, 0))?;
    // The same slot, another generation: what the next handle in that slot would be.
    let slot = port >> 18;
    let generation = ((port >> 2) & 0xFFFF) as u16;
    let next = handle_value(slot, generation.wrapping_add(1));
    let older = handle_value(slot, generation.wrapping_sub(1));
    for (what, h) in [
        ("next generation of the slot", next),
        ("older generation of the slot", older),
        ("without the fixed bits", port & !0b11),
        ("slot 63 (never used)", handle_value(63, 1)),
        ("slot beyond the table", handle_value(4000, 1)),
    ] {
        expect_status(what, bad, zx_handle_close(t, h))?;
    }
    // A new handle in that slot gets a new value; the stale one stays dead.
    let again = expect_ok("port_create", zx_port_create(t, 0))?;
    let stale = zx_handle_close(t, port);
    let _ = zx_handle_close(t, again);
    if again == port {
        return fail!("a handle value was reused: {again:#x}");
    }
    expect_status("stale value after reuse of its slot", bad, stale)
}

pub fn send_receive(a: &mut Api) -> CaseResult {
    let t = &mut a.ctx.t;
    expect_err(
        "receive with an empty inbox",
        Status::ERR_SHOULD_WAIT,
        handle_receive(t),
    )?;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    expect_status("send to self", Status::OK, handle_send(t, port, SELF))?;
    let old = zx_handle_close(t, port);
    expect_status("the sent value", Status::ERR_BAD_HANDLE, old)?;
    let got = expect_ok("receive", handle_receive(t))?;
    let _ = zx_handle_close(t, got.handle);
    expect_eq("type", ObjType::Port as u32, got.obj_type)?;
    expect_eq("rights", PORT_RIGHTS.bits(), got.rights)?;
    expect_eq("from", SELF, got.from_client)?;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let no_transfer = zx_handle_duplicate(t, port, minus(PORT_RIGHTS, Rights::TRANSFER));
    let nowhere = handle_send(t, port, 99);
    let no_transfer = expect_ok("duplicate", no_transfer)?;
    let denied = handle_send(t, no_transfer, SELF);
    let forged = handle_send(t, handle_value(45, 2), SELF);
    a.close(&[port, no_transfer]);
    expect_status("send to an unknown client", Status::ERR_NOT_FOUND, nowhere)?;
    expect_status("send without TRANSFER", Status::ERR_ACCESS_DENIED, denied)?;
    expect_status("send a forged handle", Status::ERR_BAD_HANDLE, forged)
}

/// Eight handles fill an inbox; the ninth send is `ZX_ERR_SHOULD_WAIT` and the sender keeps
/// the handle. (Duplicates of one port: the server has only a few port objects.)
pub fn inbox_full(a: &mut Api) -> CaseResult {
    const INBOX: usize = 8;
    let t = &mut a.ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let r = (|| {
        for _ in 0..INBOX {
            let d = expect_ok(
                "duplicate",
                zx_handle_duplicate(t, port, Rights::SAME_RIGHTS),
            )?;
            expect_status("send", Status::OK, handle_send(t, d, SELF))?;
        }
        let extra = expect_ok(
            "duplicate",
            zx_handle_duplicate(t, port, Rights::SAME_RIGHTS),
        )?;
        let full = handle_send(t, extra, SELF);
        let kept = zx_handle_close(t, extra);
        expect_status("a ninth send", Status::ERR_SHOULD_WAIT, full)?;
        expect_status("the refused handle stays", Status::OK, kept)
    })();
    let mut received = 0;
    while let Ok(got) = handle_receive(t) {
        let _ = zx_handle_close(t, got.handle);
        received += 1;
    }
    let _ = zx_handle_close(t, port);
    r?;
    expect_eq("handles received", INBOX, received)
}

pub fn port(a: &mut Api) -> CaseResult {
    let t = &mut a.ctx.t;
    let bad = zx_port_create(t, 1);
    expect_err("options 1", Status::ERR_INVALID_ARGS, bad)?;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let mut packet = PortPacket::new_zeroed();
    let r = (|| {
        let s = zx_port_wait(t, port, 0, &mut packet);
        expect_status("poll an empty port", Status::ERR_TIMED_OUT, s)?;
        let s = zx_port_wait(t, port, 1_000_000, &mut packet);
        expect_status("finite deadline (no clock)", Status::ERR_TIMED_OUT, s)?;
        let s = zx_port_wait(t, a.resource, 0, &mut packet);
        expect_status("wait on a resource", Status::ERR_WRONG_TYPE, s)?;
        let s = zx_port_wait(t, handle_value(44, 1), TIME_INFINITE, &mut packet);
        expect_status("wait on a forged handle", Status::ERR_BAD_HANDLE, s)?;
        let no_read = expect_ok(
            "duplicate",
            zx_handle_duplicate(t, port, minus(PORT_RIGHTS, Rights::READ)),
        )?;
        let s = zx_port_wait(t, no_read, 0, &mut packet);
        let _ = zx_handle_close(t, no_read);
        expect_status("wait without READ", Status::ERR_ACCESS_DENIED, s)
    })();
    let _ = zx_handle_close(t, port);
    r
}

/// A user packet with `key` and a recognisable payload (the type is the server's to set).
fn user_packet(key: u64) -> PortPacket {
    let mut p = PortPacket::new_zeroed();
    p.key = key;
    p.packet_type = 0x55;
    p.status = -7;
    for (i, b) in p.payload.iter_mut().enumerate() {
        *b = 0xA0 + i as u8;
    }
    p
}

/// `zx_port_queue`: user packets come back from `port_wait` in order with type USER and key,
/// status and payload as queued; the 65th is SHOULD_WAIT; WRITE is needed; a port full of user
/// packets still takes them again after a wait.
pub fn port_queue(a: &mut Api) -> CaseResult {
    use vcpu_client::zx_port_queue;
    let t = &mut a.ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    let r = (|| {
        let mut queued = 0u64;
        let refused = loop {
            let s = zx_port_queue(t, port, &user_packet(100 + queued));
            if s != Status::OK || queued > 1000 {
                break s;
            }
            queued += 1;
        };
        expect_status(
            "queue beyond the port's capacity",
            Status::ERR_SHOULD_WAIT,
            refused,
        )?;
        expect_eq("user packets a port holds", 32, queued)?;
        let mut packet = PortPacket::new_zeroed();
        for i in 0..queued {
            let s = zx_port_wait(t, port, 0, &mut packet);
            expect_status("port_wait", Status::OK, s)?;
            expect_eq("key (queue order)", 100 + i, packet.key)?;
            expect_eq("type ZX_PKT_TYPE_USER", 0, packet.packet_type)?;
            expect_eq("status as queued", -7, packet.status)?;
            expect_eq("payload as queued", user_packet(0).payload, packet.payload)?;
        }
        let s = zx_port_wait(t, port, 0, &mut packet);
        expect_status("empty again", Status::ERR_TIMED_OUT, s)?;
        let s = zx_port_queue(t, handle_value(44, 1), &user_packet(1));
        expect_status("queue on a forged handle", Status::ERR_BAD_HANDLE, s)?;
        let s = zx_port_queue(t, a.resource, &user_packet(1));
        expect_status("queue on a resource", Status::ERR_WRONG_TYPE, s)?;
        let no_write = expect_ok(
            "duplicate",
            zx_handle_duplicate(t, port, minus(PORT_RIGHTS, Rights::WRITE)),
        )?;
        let s = zx_port_queue(t, no_write, &user_packet(1));
        let _ = zx_handle_close(t, no_write);
        expect_status("queue without WRITE", Status::ERR_ACCESS_DENIED, s)
    })();
    let _ = zx_handle_close(t, port);
    r
}

/// A reply owed to a thread that was suspended meanwhile: the helper blocks in `port_wait`,
/// main suspends it (the kernel deletes its saved reply capability) and queues a packet, which
/// the server hands to the vanished waiter and drops quietly (no "Attempted to invoke a null
/// cap" from the kernel). Resumed, the helper's call starts again and gets the next packet.
pub fn port_waiter_vanished(a: &mut Api) -> CaseResult {
    use crate::api::{HELPER, JOB_WAIT_PORT, WAIT_PORT, WAIT_RESULT};
    use core::sync::atomic::Ordering;
    use vcpu_client::zx_port_queue;
    let port = expect_ok("port_create", zx_port_create(&mut a.ctx.t, 0))?;
    WAIT_PORT.store(port, Ordering::SeqCst);
    WAIT_RESULT.store(0, Ordering::SeqCst);
    // The helper runs at once (above main) and blocks in port_wait.
    a.ctx.start(HELPER, JOB_WAIT_PORT);
    let helper = a.ctx.tcb(HELPER);
    let r = (|| {
        let s = helper.tcb_suspend(a.ctx.ipc());
        expect_eq("suspend the helper", Ok(()), s)?;
        let s = zx_port_queue(&mut a.ctx.t, port, &user_packet(1));
        expect_status("queue for the suspended waiter", Status::OK, s)?;
        let mut packet = PortPacket::new_zeroed();
        let s = zx_port_wait(&mut a.ctx.t, port, 0, &mut packet);
        expect_status(
            "the packet went to the vanished waiter",
            Status::ERR_TIMED_OUT,
            s,
        )?;
        let s = zx_port_queue(&mut a.ctx.t, port, &user_packet(7));
        expect_status("calls still served", Status::OK, s)?;
        let s = helper.tcb_resume(a.ctx.ipc());
        expect_eq("resume the helper", Ok(()), s)?;
        Ok(())
    })();
    // Resumed, the helper repeats its port_wait and takes packet 7 (if resuming failed, close
    // the port so that nothing stays blocked).
    if r.is_err() {
        let _ = helper.tcb_resume(a.ctx.ipc());
    }
    a.ctx.wait(HELPER);
    let _ = zx_handle_close(&mut a.ctx.t, port);
    r?;
    expect_eq(
        "key the resumed helper received",
        7,
        WAIT_RESULT.load(Ordering::SeqCst),
    )
}
