//! The program proper (target only); see the binary's documentation.

use caps::{Operation, Rights};
use vcpu_client::{MSG_MAX_WORDS, VcpuState};
use vcpu_client::{
    PortPacket, Status, handle_send, vcpu_read_state, vcpu_write_state, zx_guest_create,
    zx_guest_set_trap, zx_handle_close, zx_handle_duplicate, zx_handle_replace, zx_object_get_info,
    zx_port_create, zx_port_wait, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick,
};
use vcpu_protocol::layout::{GUEST_TRAP_MEM, INFO_VCPU, TIME_INFINITE};
use vcpu_protocol::{ReplyPayload, Request, decode_reply, request_words};
use zerocopy::FromZeros;

use vmm::report::{Case, CaseResult, SplitMix, Suite, detail, expect_ok, expect_status};
use vmm::rt::{Ctx, DebugWriter, debug_println};
use vmm::token;

vmm::component!(main = main);

/// Receivers of the done token: `vcpu-api` and the peer.
const TOKEN_TO: [(u32, &str); 2] = [(1, "hostile-token-to-api"), (2, "hostile-token-to-peer")];

const CASES: &[Case<Ctx>] = &[
    Case {
        name: "hostile-unknown-labels",
        run: unknown_labels,
    },
    Case {
        name: "hostile-wrong-lengths",
        run: wrong_lengths,
    },
    Case {
        name: "hostile-length-above-maximum",
        run: too_long,
    },
    Case {
        name: "hostile-random-messages",
        run: random_messages,
    },
    Case {
        name: "hostile-random-handles",
        run: random_handles,
    },
    Case {
        name: "hostile-calls-after-close",
        run: after_close,
    },
    Case {
        name: "hostile-caps-without-grant",
        run: caps_without_grant,
    },
];

fn main(mut ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    suite.run(&mut ctx, CASES);
    let passed = suite.all_passed();
    for (to, name) in TOKEN_TO {
        let sent = token::send_done(&mut ctx.t, to, passed);
        suite.record(name, expect_status("handle_send", Status::OK, sent));
    }
    suite.summary("vcpu-hostile-client");
    ctx.finish(suite.passed(), suite.failed())
}

/// Sends `words` (all of them: `length` is `words.len()` unless given) with `label` and the
/// extra `caps`, and checks the reply against the decoder oracle. A handle the server created
/// for a request that happened to be valid is closed again.
fn probe(ctx: &mut Ctx, label: u64, words: &[u64], length: u64, caps: &[u64]) -> CaseResult {
    let info = ctx.t.call_raw(label, words, length, caps);
    let mut reply = [0u64; MSG_MAX_WORDS];
    let n = info.length().min(MSG_MAX_WORDS);
    reply[..n].copy_from_slice(&ctx.t.ipc().msg()[..n]);
    let sent = words.len().min(length.min(120) as usize);
    // Without Grant no capability is transferred.
    match Request::decode(label, &words[..sent], 0) {
        Err(want) => {
            let want_word = i64::from(want.into_raw()) as u64;
            if n != 1 || reply[0] != want_word || info.label() != 0 {
                return Err(detail(format_args!(
                    "label {label:#x} len {sent}: expected [{want:?}], got {n} words {:#x}",
                    reply[0]
                )));
            }
            Ok(())
        }
        Ok(req) => {
            let op = req.op();
            match decode_reply(op, &reply[..n]) {
                Err(Status::ERR_INTERNAL) => Err(detail(format_args!(
                    "{}: malformed reply of {n} words",
                    op.name()
                ))),
                Ok(ReplyPayload::Handle(h)) => {
                    let _ = zx_handle_close(&mut ctx.t, h.handle);
                    Ok(())
                }
                Ok(ReplyPayload::GuestCreate(g)) => {
                    let _ = zx_handle_close(&mut ctx.t, g.guest);
                    let _ = zx_handle_close(&mut ctx.t, g.vmar);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    }
}

fn unknown_labels(ctx: &mut Ctx) -> CaseResult {
    let words = [0x7u64, 0, 0, 0, 0, 0];
    let labels = [0u64, 22, 23, 100, 0x5354_0001, 0xFFFF, (1 << 52) - 1];
    for label in labels {
        for len in [0usize, 1, 6] {
            probe(ctx, label, &words[..len], len as u64, &[])?;
        }
    }
    Ok(())
}

fn wrong_lengths(ctx: &mut Ctx) -> CaseResult {
    let words = [0x7u64; 120];
    let mut checked = 0;
    for op in Operation::ALL {
        let right = request_words(op);
        for len in [0, right.saturating_sub(1), right + 1, right + 7, 119, 120] {
            if len == right {
                continue;
            }
            probe(ctx, op.label(), &words[..len], len as u64, &[])?;
            checked += 1;
        }
    }
    debug_println!("vcpu-hostile-client: {checked} messages of the wrong length");
    Ok(())
}

/// A length field above 120 (the kernel sends 120 words).
fn too_long(ctx: &mut Ctx) -> CaseResult {
    let words = [0u64; 120];
    for op in [
        Operation::VcpuWriteState,
        Operation::HandleClose,
        Operation::GuestCreate,
    ] {
        probe(ctx, op.label(), &words, 127, &[])?;
    }
    Ok(())
}

fn random_messages(ctx: &mut Ctx) -> CaseResult {
    let mut rng = SplitMix(0x5EED_0001);
    let mut words = [0u64; 120];
    const COUNT: u32 = 400;
    for _ in 0..COUNT {
        let label = rng.below(24);
        let len = if rng.below(4) == 0 {
            rng.below(121)
        } else {
            rng.below(8)
        } as usize;
        for w in words.iter_mut().take(len) {
            *w = match rng.below(4) {
                0 => 0,
                1 => rng.below(0x100_0000) << 2 | 0b11,
                _ => rng.next_u64(),
            };
        }
        probe(ctx, label, &words[..len], len as u64, &[])?;
    }
    debug_println!("vcpu-hostile-client: {COUNT} random messages answered as the decoder predicts");
    Ok(())
}

/// Every call that takes a handle, with random values (this client holds none): BAD_HANDLE.
fn random_handles(ctx: &mut Ctx) -> CaseResult {
    let mut rng = SplitMix(0x5EED_0002);
    let bad = Status::ERR_BAD_HANDLE;
    for _ in 0..40 {
        let h = match rng.below(3) {
            0 => rng.next_u64() as u32,
            1 => (rng.next_u64() as u32) | 0b11,
            _ => vmm::report::handle_value(rng.below(64) as u32, rng.below(8) as u16),
        };
        if h == 0 {
            continue;
        }
        let t = &mut ctx.t;
        let mut packet = PortPacket::new_zeroed();
        let mut buf = [0u8; 4];
        let calls = [
            (
                "guest_create",
                zx_guest_create(t, h, 0).err().unwrap_or(Status::OK),
            ),
            (
                "set_trap",
                zx_guest_set_trap(t, h, GUEST_TRAP_MEM, 0, 0x1000, 0, 0),
            ),
            (
                "vcpu_create",
                zx_vcpu_create(t, h, 0, 0).err().unwrap_or(Status::OK),
            ),
            ("enter", zx_vcpu_enter(t, h, &mut packet)),
            ("kick", zx_vcpu_kick(t, h)),
            ("interrupt", zx_vcpu_interrupt(t, h, 40)),
            (
                "read_state",
                vcpu_read_state(t, h).err().unwrap_or(Status::OK),
            ),
            (
                "write_state",
                vcpu_write_state(t, h, &VcpuState::new_zeroed()),
            ),
            (
                "get_info",
                zx_object_get_info(t, h, INFO_VCPU, &mut buf, None, None),
            ),
            (
                "duplicate",
                zx_handle_duplicate(t, h, Rights::SAME_RIGHTS)
                    .err()
                    .unwrap_or(Status::OK),
            ),
            (
                "replace",
                zx_handle_replace(t, h, Rights::SAME_RIGHTS)
                    .err()
                    .unwrap_or(Status::OK),
            ),
            ("close", zx_handle_close(t, h)),
            ("send", handle_send(t, h, 1)),
            ("port_wait", zx_port_wait(t, h, TIME_INFINITE, &mut packet)),
        ];
        for (what, got) in calls {
            if got != bad {
                return Err(detail(format_args!(
                    "{what}({h:#x}): expected ZX_ERR_BAD_HANDLE, got {got:?}"
                )));
            }
        }
    }
    Ok(())
}

fn after_close(ctx: &mut Ctx) -> CaseResult {
    let t = &mut ctx.t;
    let port = expect_ok("port_create", zx_port_create(t, 0))?;
    expect_status("close", Status::OK, zx_handle_close(t, port))?;
    let bad = Status::ERR_BAD_HANDLE;
    let mut packet = PortPacket::new_zeroed();
    let calls: [(&str, Status); 5] = [
        (
            "port_wait",
            zx_port_wait(t, port, TIME_INFINITE, &mut packet),
        ),
        ("close", zx_handle_close(t, port)),
        (
            "duplicate",
            zx_handle_duplicate(t, port, Rights::SAME_RIGHTS)
                .err()
                .unwrap_or(Status::OK),
        ),
        ("send", handle_send(t, port, 1)),
        (
            "set_trap with it as port",
            zx_guest_set_trap(t, port, 0, 0, 0x1000, port, 0),
        ),
    ];
    for (what, got) in calls {
        expect_status(what, bad, got)?;
    }
    Ok(())
}

/// Capabilities attached without Grant never reach the server: `vmar_map` arrives without its
/// frame (INVALID_ARGS); other calls arrive as if no capability was attached.
fn caps_without_grant(ctx: &mut Ctx) -> CaseResult {
    let own_tcb = ctx.tcb(0).cptr();
    let own_ep = ctx.t.endpoint().cptr();
    let map = [0x7u64 | 0x407 << 32, 0x4000_0000, 0x20_0000];
    probe(ctx, Operation::VmarMap.label(), &map, 3, &[own_tcb])?;
    probe(ctx, Operation::VmarMap.label(), &map, 3, &[own_ep])?;
    probe(
        ctx,
        Operation::HandleClose.label(),
        &[0x40007],
        1,
        &[own_tcb],
    )
}
