//! `ipc-client` (tests/qemu/ipc.toml, used by `client-a` and `client-b`): every thread with an
//! endpoint calls the echo server a few rounds, yielding between rounds so the other components
//! (including the faulting one) run in between, and checks that the reply carries its own badge
//! (client id and thread id as the root task minted them) and its words. Then it says `BYE`,
//! reports to the root task and stops.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use plan::Role;
use qemu_test_support::{Test, echo};
use sel4::{Cap, MessageInfo, cap_type};
use vcpu_protocol::{Badge, ClientId, Sender, ThreadId};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("ipc-client is an seL4 component: build an image with `cargo xtask build`");
}

/// Calls per thread.
const ROUNDS: u64 = 3;

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    let me = *t.thread();
    let minted = Badge::Client(Sender {
        client: ClientId(t.boot.client_id),
        thread: ThreadId(me.id),
    })
    .encode();
    let is_client = t.boot.role() == Some(Role::Client) && me.endpoint != 0;
    t.check(
        "boot-page",
        is_client && me.badge == minted,
        format_args!(
            "client {} thread id {}: endpoint slot {}, badge {:#x}",
            t.boot.client_id, me.id, me.endpoint, me.badge
        ),
    );
    if !is_client {
        t.finish();
    }
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(me.endpoint);
    let mut bad: Option<(u64, MessageInfo, u64)> = None;
    for round in 0..ROUNDS {
        let words = [round, u64::from(me.id), 0x5eed_0000 + round, index as u64];
        t.ipc.msg_mut()[..4].copy_from_slice(&words);
        let reply = ep.call(t.ipc, MessageInfo::new(echo::ECHO, 0, 0, 4));
        let msg = t.ipc.msg();
        let ok = reply.label() == 0 && reply.length() == 5 && msg[0] == me.badge;
        if bad.is_none() && !(ok && msg[1..5] == words) {
            bad = Some((round, reply, msg[0]));
        }
        sel4::yield_now();
    }
    match bad {
        None => t.check(
            "badge-round-trip",
            true,
            format_args!(
                "badge {:#x} and words came back in {ROUNDS} rounds",
                me.badge
            ),
        ),
        Some((round, reply, seen)) => t.check(
            "badge-round-trip",
            false,
            format_args!(
                "round {round}: {reply:?}, badge seen {seen:#x}, mine {:#x}",
                me.badge
            ),
        ),
    };
    let bye = ep.call(t.ipc, MessageInfo::new(echo::BYE, 0, 0, 0));
    t.check(
        "bye",
        bye.label() == 0,
        format_args!("reply label {:#x}", bye.label()),
    );
    t.finish()
}
