//! `no-cap` (tests/qemu/ipc.toml): an isolated component that must not be able to reach the
//! server. Its boot page lists no endpoint; every slot where a component could hold the server's
//! endpoint (the server's own slot and each thread's client endpoint slot) is empty, which a
//! `CNode_Copy` from it proves by failing with `seL4_FailedLookup`. Last, it calls the slot a
//! client's first thread would use, as a client would call the server: the kernel answers the
//! invocation of an empty slot with `seL4_InvalidCapability`, and no message reaches anyone.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use plan::{MAX_THREADS, Role, cspace};
use qemu_test_support::{Test, echo};
use sel4::{Cap, CapRights, Error, MessageInfo, WORD_DEPTH, cap_type};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("no-cap is an seL4 component: build an image with `cargo xtask build`");
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    let no_endpoint = t
        .boot
        .threads()
        .iter()
        .all(|th| th.endpoint == 0 && th.badge == 0);
    t.check(
        "boot-page",
        t.boot.role() == Some(Role::Isolated) && no_endpoint,
        format_args!("role {:?}, no endpoint slot or badge", t.boot.role()),
    );
    let cnode: Cap<cap_type::CNode> = Cap::from_cptr(t.boot.cnode);
    let scratch = t.boot.first_free_slot;
    let slots = [cspace::SERVER_ENDPOINT]
        .into_iter()
        .chain((0..MAX_THREADS).map(cspace::endpoint));
    let mut reachable = None;
    let mut checked = 0;
    for slot in slots {
        let r = cnode.cnode_copy(
            t.ipc,
            scratch,
            WORD_DEPTH,
            cnode,
            slot,
            WORD_DEPTH,
            CapRights::ALL,
        );
        checked += 1;
        if r != Err(Error::FailedLookup) {
            reachable.get_or_insert((slot, r));
            let _ = cnode.cnode_delete(t.ipc, scratch, WORD_DEPTH);
        }
    }
    match reachable {
        None => t.check(
            "endpoint-slots-empty",
            true,
            format_args!("{checked} slots: copying from each fails with seL4_FailedLookup"),
        ),
        Some((slot, r)) => t.check(
            "endpoint-slots-empty",
            false,
            format_args!("slot {slot}: copy gave {r:?}, not seL4_FailedLookup"),
        ),
    };
    let slot = cspace::endpoint(0);
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(slot);
    let reply = ep.call(t.ipc, MessageInfo::new(echo::ECHO, 0, 0, 0));
    t.check(
        "call-without-endpoint-refused",
        reply.label() == Error::InvalidCapability.code(),
        format_args!(
            "calling empty slot {slot} gave error label {}",
            reply.label()
        ),
    );
    t.finish()
}
