//! Dispatch cost of each operation on the fake backend: the server's own work from a decoded
//! request (or fault) to its reply, without message decoding or kernel calls. No thresholds;
//! run with `cargo bench -p vcpu-server --bench dispatch`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use caps::Rights;
use common::{A1, A2, B, B1, PAGE, RW_SPECIFIC, World};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vcpu_protocol::layout::{GUEST_TRAP_MEM, INFO_VCPU, TIME_INFINITE, VcpuState};
use vcpu_protocol::message::Request;
use vcpu_protocol::{HandleValue, ReplyPayload};
use vcpu_server::exit::GuestExit;
use vcpu_server::{Sender, Server};
use zerocopy::IntoBytes;

type S = Server<common::FakeBackend>;

/// One request, no frame, result kept alive.
fn req(s: &mut S, who: Sender, r: Request<'_>) -> vcpu_server::Response {
    black_box(s.handle_request(who, black_box(r), None))
}

fn handle_of(r: vcpu_server::Response) -> HandleValue {
    match r.outcome {
        vcpu_server::Outcome::Reply(Ok(ReplyPayload::Handle(h))) => h.handle,
        other => panic!("{other:?}"),
    }
}

/// A world with a guest, a VCPU of A1, a port, and a MEM trap.
struct Setup {
    w: World,
    g: HandleValue,
    vmar: HandleValue,
    v: HandleValue,
    id: u32,
    port: HandleValue,
}

fn setup() -> Setup {
    let mut w = World::new();
    let (g, vmar) = w.guest();
    let (v, id) = w.vcpu(A1, g, 0x1000);
    let port = w.port(A2);
    w.mem_trap(g, 0x9000_0000, 1);
    Setup {
        w,
        g,
        vmar,
        v,
        id,
        port,
    }
}

fn vcpu_ops(c: &mut Criterion) {
    let mut st = setup();
    let (v, id) = (st.v, st.id);
    let s = &mut st.w.s;
    c.bench_function("vcpu_kick (idle)", |b| {
        b.iter(|| req(s, A2, common::kick(v)))
    });
    c.bench_function("vcpu_interrupt", |b| {
        b.iter(|| req(s, A2, common::interrupt(v, 40)))
    });
    c.bench_function("object_get_info", |b| {
        b.iter(|| req(s, A2, common::get_info(v, INFO_VCPU, 4)))
    });
    c.bench_function("vcpu_read_state", |b| {
        b.iter(|| req(s, A1, common::read_state(v)))
    });
    let state = VcpuState {
        x: [7; 31],
        sp: 0,
        cpsr: 0,
        padding1: [0; 4],
    };
    let bytes = state.as_bytes().to_vec();
    c.bench_function("vcpu_write_state", |b| {
        b.iter(|| req(s, A1, common::write_state(v, &bytes)))
    });
    // Clear any pending kick, then measure enter (deferred) + kick (completes it).
    let _ = req(s, A1, common::enter(v));
    c.bench_function("vcpu_enter + vcpu_kick", |b| {
        b.iter(|| {
            let _ = req(s, A1, common::enter(v));
            req(s, A2, common::kick(v))
        })
    });
    let key = s.backend().vcpus[id as usize].key;
    let mem = common::dabt(0x9000_0000, common::dabt_esr(true, 4, false, 1, true));
    c.bench_function("vcpu_enter + MEM exit (packet)", |b| {
        b.iter(|| {
            let _ = req(s, A1, common::enter(v));
            s.backend_mut().guest_faults(id);
            black_box(s.handle_guest_exit(key.slot, key.generation, black_box(mem)))
        })
    });
    let _ = req(s, A1, common::enter(v));
    c.bench_function("guest exit WFE (resume)", |b| {
        b.iter(|| {
            s.backend_mut().guest_faults(id);
            black_box(s.handle_guest_exit(key.slot, key.generation, GuestExit::Wfe))
        })
    });
}

fn handle_ops(c: &mut Criterion) {
    let mut st = setup();
    let (port, v) = (st.port, st.v);
    let s = &mut st.w.s;
    c.bench_function("handle_duplicate + handle_close", |b| {
        b.iter(|| {
            let h = handle_of(req(s, A1, common::duplicate(port, Rights::SAME_RIGHTS)));
            req(s, A1, common::close(h))
        })
    });
    let mut h = handle_of(req(s, A1, common::duplicate(port, Rights::SAME_RIGHTS)));
    c.bench_function("handle_replace", |b| {
        b.iter(|| {
            h = handle_of(req(s, A1, common::replace(h, Rights::SAME_RIGHTS)));
        })
    });
    c.bench_function("handle_send + handle_receive", |b| {
        b.iter(|| {
            let d = handle_of(req(s, A1, common::duplicate(v, Rights::SAME_RIGHTS)));
            let _ = req(s, A1, common::send(d, B));
            let r = req(s, B1, Request::HandleReceive);
            if let vcpu_server::Outcome::Reply(Ok(ReplyPayload::Received(x))) = r.outcome {
                let _ = req(s, B1, common::close(x.handle));
            }
        })
    });
    c.bench_function("port_create + handle_close", |b| {
        b.iter(|| {
            let p = handle_of(req(s, A1, common::port_create(0)));
            req(s, A1, common::close(p))
        })
    });
    c.bench_function("port_wait (empty, poll)", |b| {
        b.iter(|| req(s, A2, common::port_wait(port, 0)))
    });
    c.bench_function("port_wait (deferred)", |b| {
        b.iter(|| req(s, A2, common::port_wait(port, TIME_INFINITE)))
    });
    c.bench_function("bad handle", |b| {
        b.iter(|| req(s, A1, common::kick(0x1234_5673)))
    });
}

fn object_ops(c: &mut Criterion) {
    let mut st = setup();
    let (g, vmar) = (st.g, st.vmar);
    let rsrc = st.w.rsrc;
    let s = &mut st.w.s;
    c.bench_function("guest_create + 2x handle_close", |b| {
        b.iter(|| {
            let r = req(s, A1, common::guest_create(rsrc, 0));
            if let vcpu_server::Outcome::Reply(Ok(ReplyPayload::GuestCreate(x))) = r.outcome {
                let _ = req(s, A1, common::close(x.guest));
                let _ = req(s, A1, common::close(x.vmar));
            }
        })
    });
    let thread = common::t(common::A, 40);
    c.bench_function("vcpu_create + handle_close", |b| {
        b.iter(|| {
            let h = handle_of(req(s, thread, common::vcpu_create(g, 0, 0)));
            req(s, thread, common::close(h))
        })
    });
    c.bench_function("guest_set_trap (overlap)", |b| {
        b.iter(|| {
            req(
                s,
                A1,
                common::set_trap(g, GUEST_TRAP_MEM, 0x9000_0000, PAGE, 0, 1),
            )
        })
    });
    c.bench_function("guest_set_trap (new, fresh world)", |b| {
        b.iter_batched(
            setup,
            |mut st| {
                let g = st.g;
                let _ = req(
                    &mut st.w.s,
                    A1,
                    common::set_trap(g, GUEST_TRAP_MEM, 0, PAGE, 0, 1),
                );
                st
            },
            BatchSize::LargeInput,
        )
    });
    c.bench_function("vmar_map (fresh world)", |b| {
        b.iter_batched(
            || {
                let mut st = setup();
                let f = st.w.fake().new_frame(PAGE);
                (st, f)
            },
            |(mut st, f)| {
                let vmar = st.vmar;
                let r = st.w.s.handle_request(
                    A1,
                    common::vmar_map(vmar, RW_SPECIFIC, 0x4000_0000, PAGE),
                    Some(f),
                );
                let _ = black_box(r);
                st
            },
            BatchSize::LargeInput,
        )
    });
    let _ = vmar;
}

criterion_group!(benches, vcpu_ops, handle_ops, object_ops);
criterion_main!(benches);
