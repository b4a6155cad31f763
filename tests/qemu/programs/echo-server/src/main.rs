//! `echo-server` (tests/qemu/ipc.toml): the server. Answers every `ECHO` request with the badge
//! the kernel delivered and the request's words, so each client can check that its badge
//! arrives exactly as the root task minted it. Its boot page lists every client thread that
//! holds an endpoint; once each has said `BYE`, it checks that every one of them called with
//! its own badge, reports to the root task, and keeps serving.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use qemu_test_support::{Test, echo};
use sel4::{Cap, MessageInfo, cap_type};
use vcpu_protocol::{Badge, ClientId, Sender, ThreadId};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("echo-server is an seL4 component: build an image with `cargo xtask build`");
}

/// A client thread the server expects to hear from.
struct Caller {
    sender: Sender,
    calls: u32,
    bye: bool,
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    let boot = t.boot;
    let server = &boot.server;
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(server.endpoint);
    let mut callers: heapless::Vec<Caller, 128> = heapless::Vec::new();
    for c in server.clients() {
        for &id in c.thread_ids() {
            let sender = Sender {
                client: ClientId(c.client_id),
                thread: ThreadId(id),
            };
            let _ = callers.push(Caller {
                sender,
                calls: 0,
                bye: false,
            });
        }
    }
    let n = callers.len();
    t.check(
        "knows-its-clients",
        n > 0 && server.endpoint != 0,
        format_args!("{n} client threads, endpoint slot {}", server.endpoint),
    );
    let mut reported = false;
    loop {
        let (info, badge) = ep.recv(t.ipc);
        let caller = match Badge::decode(badge) {
            Badge::Client(s) => callers.iter_mut().find(|c| c.sender == s),
            _ => None,
        };
        let reply = match (caller, info.label()) {
            (Some(c), echo::ECHO) => {
                c.calls += 1;
                let len = info.length().min(sel4::MSG_MAX_LENGTH - 1);
                let msg = t.ipc.msg_mut();
                msg.copy_within(0..len, 1);
                msg[0] = badge;
                MessageInfo::new(0, 0, 0, len as u64 + 1)
            }
            (Some(c), echo::BYE) => {
                c.bye = true;
                MessageInfo::new(0, 0, 0, 0)
            }
            (found, label) => {
                t.check(
                    "request",
                    false,
                    format_args!(
                        "badge {badge:#x} (known: {}) label {label:#x}",
                        found.is_some()
                    ),
                );
                MessageInfo::new(echo::REFUSED, 0, 0, 0)
            }
        };
        t.ipc.reply(reply);
        if !reported && callers.iter().all(|c| c.bye) {
            reported = true;
            for c in &callers {
                let s = c.sender;
                t.check(
                    "badged-caller",
                    c.calls > 0,
                    format_args!(
                        "client {} thread {} called {} times with badge {:#x}",
                        s.client.0,
                        s.thread.0,
                        c.calls,
                        Badge::Client(s).encode()
                    ),
                );
            }
            t.report();
        }
    }
}
