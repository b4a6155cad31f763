//! The server-core fuzzing oracle (issue 10), shared by the bounded proptest run in
//! `cargo test -p vcpu-server --test dispatch_fuzz` and the coverage-guided target
//! `fuzz/fuzz_targets/server_core.rs`.
//!
//! [`run`] reads bytes as a sequence of steps and drives a server (three clients with the
//! hypervisor resource each, on the fake backend) through the real decoders and dispatch:
//! - a **client message**: a badge (one of the clients' threads, or a client the server does
//!   not know), a label and message words, optionally with a frame capability, through
//!   `Request::decode` and `Server::handle_request`;
//! - a **guest exit**: a VCPU badge (a live VCPU's, a stale generation of a live slot, or any
//!   slot and generation), a fault label and words, through `exit::decode` and
//!   `Server::handle_guest_exit`; for a live running VCPU the guest either faults (its thread
//!   blocks) or *sends* the exit (HVC `Send`: it runs on), as a hostile guest may;
//! - a **client death** (`Server::client_stopped`) of one client, which is then added again.
//!
//! After every step the server's invariants must hold (`Server::check_invariants`: reference
//! counts, accounting, run states, no lost completion) and the fake kernel must have seen no
//! contract violation (an object used after deletion, registers of a running VCPU touched, a
//! fault answered twice, ...). Any failure panics with the step that caused it.

use vcpu_protocol::message::Request;
use vcpu_protocol::{ClientId, ReplyPayload, Sender, ThreadId};
use vcpu_server::exit::{self, GuestExit};
use vcpu_server::{Backend, Limits, Server};

use crate::common::fake::{FakeBackend, FakeRun};

const CLIENTS: [ClientId; 3] = [ClientId(1), ClientId(2), ClientId(3)];
const STRANGER: ClientId = ClientId(9);

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// Three bytes (the oracle folds them into plausible words).
    fn u24(&mut self) -> u64 {
        let mut w = [0u8; 8];
        let n = self.0.len().min(3);
        w[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(w)
    }

    fn u64(&mut self) -> Option<u64> {
        let mut w = [0u8; 8];
        let n = self.0.len().min(8);
        w[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        (n > 0).then(|| u64::from_le_bytes(w))
    }
}

fn sender(pick: u8) -> Sender {
    let client = if pick % 8 == 7 {
        STRANGER
    } else {
        CLIENTS[usize::from(pick % 3)]
    };
    // Two threads per client; thread ids are unique system-wide.
    Sender {
        client,
        thread: ThreadId(client.0 * 10 + u16::from(pick / 8 % 2)),
    }
}

fn new_server() -> Box<Server<FakeBackend>> {
    let mut s = Box::new(Server::new(FakeBackend::default()));
    for c in CLIENTS {
        s.add_client_with(c, Limits::DEFAULT).unwrap();
    }
    for c in CLIENTS {
        for to in CLIENTS {
            s.allow_send(c, to).unwrap();
        }
        grant(&mut s, c);
    }
    s
}

fn grant(s: &mut Server<FakeBackend>, c: ClientId) {
    let rights = caps::ObjType::Resource.default_rights();
    s.grant_resource(c, vcpu_protocol::layout::RSRC_KIND_SYSTEM, 0, 1, rights)
        .unwrap();
}

fn check(s: &mut Server<FakeBackend>, step: usize, what: &str) {
    if let Err(e) = s.check_invariants() {
        panic!("step {step} ({what}): invariant broken: {e}");
    }
    let v = &s.backend().violations;
    assert!(
        v.is_empty(),
        "step {step} ({what}): fake kernel contract violated: {v:?}"
    );
}

/// How far one run got (for judging the harness, not the server).
#[derive(Default, Debug)]
pub struct Stats {
    /// Requests answered `ZX_OK`.
    pub ok: usize,
    /// Most live guests at once.
    pub guests: usize,
    /// Most live VCPUs at once.
    pub vcpus: usize,
}

/// Runs the steps `data` encodes (see the module documentation); returns how far it got.
pub fn run(data: &[u8]) -> Stats {
    let mut s = new_server();
    let mut b = Bytes(data);
    let mut words = [0u64; 8];
    let mut step = 0;
    let mut stats = Stats::default();
    // Handle values the server gave out (any client's: a value is meaningful only to its
    // owner, which is part of what is tested).
    let mut handles: Vec<u32> = Vec::new();
    while let Some(kind) = b.u8() {
        step += 1;
        match kind % 8 {
            // Client messages (most steps).
            0..=4 => {
                let who = sender(b.u8().unwrap_or(0));
                // Mostly one of the operations' labels (1..=21), sometimes anything.
                let raw_label = b.u8().unwrap_or(0);
                let label = u64::from(if raw_label < 240 {
                    raw_label % 24
                } else {
                    raw_label
                });
                let mode = b.u8().unwrap_or(0);
                for w in words.iter_mut() {
                    // Small values are handles, sizes and options far more often than random
                    // words would be: fold most words onto a small range.
                    // Handle values (`slot << 18 | generation << 2 | 3`, small slots and
                    // generations), small numbers (sizes, options, vectors), or anything.
                    let raw = b.u24();
                    let pooled = if handles.is_empty() {
                        0x7
                    } else {
                        handles[(raw >> 8) as usize % handles.len()]
                    };
                    *w = match raw & 7 {
                        0 | 1 => u64::from(pooled),
                        2 => u64::from(pooled) | (raw >> 16 & 0xFFFF) << 32,
                        3 | 4 => 0,
                        5 => raw >> 3 & 0xFFF,
                        6 => ((raw >> 3) % 8) << 18 | (1 + (raw >> 6) % 3) << 2 | 3,
                        _ => raw.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    };
                }
                let with_frame = kind % 8 == 4;
                let frame = with_frame.then(|| {
                    let size = if words[0] & 1 == 0 { 4096 } else { 2 << 20 };
                    s.backend_mut().new_frame(size)
                });
                let caps = usize::from(with_frame);
                // Usually the length the operation wants (the first that decodes), so that
                // most steps get past the decoder; sometimes any length.
                let n = if mode % 4 == 0 {
                    usize::from(mode % 9)
                } else {
                    (0..=8)
                        .find(|&n| Request::decode(label, &words[..n], caps).is_ok())
                        .unwrap_or(usize::from(mode % 9))
                };
                match Request::decode(label, &words[..n], caps) {
                    Ok(req) => {
                        let r = s.handle_request(who, req, frame);
                        if let vcpu_server::Outcome::Reply(Ok(payload)) = r.outcome {
                            stats.ok += 1;
                            let got = match payload {
                                ReplyPayload::Handle(h) => [Some(h.handle), None],
                                ReplyPayload::GuestCreate(g) => [Some(g.guest), Some(g.vmar)],
                                ReplyPayload::Received(h) => [Some(h.handle), None],
                                _ => [None, None],
                            };
                            for h in got.into_iter().flatten() {
                                if handles.len() < 64 {
                                    handles.push(h);
                                }
                            }
                        }
                    }
                    Err(_) => {
                        if let Some(f) = frame {
                            // The transport deletes a capability that came with a bad message.
                            s.backend_mut().delete_frame(f);
                        }
                    }
                }
                check(&mut s, step, "client message");
                let counts = s.object_counts();
                stats.guests = stats.guests.max(counts.guests);
                stats.vcpus = stats.vcpus.max(counts.vcpus);
            }
            // Guest exits.
            5 | 6 => {
                let pick = b.u8().unwrap_or(0);
                let label = u64::from(b.u8().unwrap_or(0) % 10);
                let n = usize::from(b.u8().unwrap_or(0) % 5);
                for w in words.iter_mut().take(n) {
                    *w = b.u64().unwrap_or(0);
                }
                let exit = exit::decode(label, &words[..n]);
                guest_exit(&mut s, pick, exit, kind % 8 == 6);
                check(&mut s, step, "guest exit");
            }
            // A client dies and comes back.
            _ => {
                let c = CLIENTS[usize::from(b.u8().unwrap_or(0) % 3)];
                let threads = [ThreadId(c.0 * 10), ThreadId(c.0 * 10 + 1)];
                s.client_stopped(c, &threads).unwrap();
                let _ = s.pop_completion();
                check(&mut s, step, "client death");
                // Back once nothing is charged to it; until then it stays stopped.
                if s.add_client_with(c, Limits::DEFAULT).is_ok() {
                    for to in CLIENTS {
                        s.allow_send(c, to).unwrap();
                        s.allow_send(to, c).unwrap();
                    }
                    grant(&mut s, c);
                }
                check(&mut s, step, "client restart");
            }
        }
    }
    stats
}

/// A guest exit under a real, stale or forged VCPU badge. A live running VCPU's guest faults
/// (blocks) or, with `send`, sends the message and runs on; any other badge must change
/// nothing.
fn guest_exit(s: &mut Server<FakeBackend>, pick: u8, exit: GuestExit, send: bool) {
    let live: Vec<u32> = (0..s.backend().vcpus.len() as u32)
        .filter(|&i| s.backend().vcpus[i as usize].run != FakeRun::Destroyed)
        .collect();
    let target = (!live.is_empty()).then(|| live[usize::from(pick) % live.len()]);
    match (target, pick % 4) {
        (Some(id), 0..=2) => {
            let v = &s.backend().vcpus[id as usize];
            let (key, running) = (v.key, v.run == FakeRun::Running);
            if pick % 4 == 2 {
                // Stale: the same slot, another generation.
                let calls = s.backend().calls.len();
                let _ = s.handle_guest_exit(key.slot, key.generation.wrapping_add(1), exit);
                assert_eq!(
                    s.backend().calls.len(),
                    calls,
                    "a stale badge touched the kernel"
                );
            } else if running {
                if send {
                    s.backend_mut().sending = Some(id);
                } else {
                    s.backend_mut().guest_faults(id);
                }
                let _ = s.handle_guest_exit(key.slot, key.generation, exit);
                s.backend_mut().sending = None;
            }
            // A VCPU that is not running cannot exit.
        }
        _ => {
            // Forged slot and generation: nothing may happen unless they name a live VCPU by
            // chance, which the generation makes unlikely; skip that case.
            let (slot, generation) = (u16::from(pick) % 70, 0xBEEF);
            let named = s
                .backend()
                .vcpus
                .iter()
                .any(|v| v.key.slot == slot && v.key.generation == generation);
            if !named {
                let calls = s.backend().calls.len();
                let _ = s.handle_guest_exit(slot, generation, exit);
                assert_eq!(
                    s.backend().calls.len(),
                    calls,
                    "a forged badge touched the kernel"
                );
            }
        }
    }
}
