//! `vcpu-smp` (tests/qemu/vcpu-smp.toml): VCPUs of one guest on every core, exiting at once.
//!
//! Four client threads (`main` and `w1`..`w3`) each create one VCPU of the same guest (a VCPU
//! belongs to the thread that created it) and enter it [`ROUNDS`] times. The server places
//! each new VCPU on the least-loaded core, so on a 4-core kernel the four guest threads run on
//! four different cores and their exits reach the server's one event loop concurrently.
//!
//! Guest `i` (entry `CODE_GPA + i * 0x40`, EL1h, MMU off) counts in `x0` and stores the count
//! to its own word of a MEM trap at `MEM_GPA + i * 0x100` in a loop:
//! `movz x1, #lo; movk x1, #0x9000, lsl 16; movz x0, #0; 1: add x0, x0, #1; str x0, [x1]; b 1b`.
//! Each store is a synchronous exit; the thread checks that its packets carry its own address
//! and the counts 1, 2, 3, ... with none lost, repeated or reordered, whatever the other cores
//! do meanwhile. Then `main` kicks `w1`'s VCPU, which runs its store loop on another core, while
//! `w1` is entered, [`KICKS`] times.
//!
//! Waiting: once guests run, a thread that waits for another blocks in `zx_port_wait` on
//! `main`'s port (user packets the others queue); it never spins, because a spinning client
//! thread (priority 100) would starve a guest (priority 50) on its core.
//!
//! On a one-core kernel the same test runs with every VCPU on core 0 (it then checks the
//! ordering under time-slicing only).

#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

use qemu_test_support::{Region, Test};
use sel4::Cap;
use vcpu_client::{
    GuestPacket, HandleValue, PortPacket, Sel4Transport, Status, guest_packet, zx_guest_create,
    zx_guest_set_trap, zx_handle_close, zx_port_create, zx_port_queue, zx_port_wait,
    zx_vcpu_create, zx_vcpu_enter, zx_vcpu_kick, zx_vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_MEM, PKT_TYPE_USER, TIME_INFINITE, VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE,
    VM_SPECIFIC,
};
use zerocopy::FromZeros;

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("vcpu-smp is an seL4 component: build an image with `cargo xtask build`");
}

/// Guest-physical address of the code frame.
const CODE_GPA: u64 = 0x1000;
/// The MEM trap: one 0x100-byte slot per VCPU.
const MEM_GPA: u64 = 0x9000_0000;
/// Exits each VCPU makes.
const ROUNDS: u64 = 200;
/// VCPUs (= client threads).
const VCPUS: usize = 4;
/// Enters of `w1` that `main` kicks.
const KICKS: u32 = 3;
/// `w1` is about to enter and waits for a kick.
const KEY_READY: u64 = 1;
/// A worker is done.
const KEY_DONE: u64 = 2;

const RWX: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;

/// The guest handle `main` publishes (0 until the guest and [`PORT`] are ready).
static GUEST: AtomicU32 = AtomicU32::new(0);
/// `main`'s port, for the others' [`KEY_READY`] and [`KEY_DONE`] packets.
static PORT: AtomicU32 = AtomicU32::new(0);
/// `w1`'s port: `main` queues one packet on it once `main` serves kicks (`w1` waits for it, so
/// that on one core its exit loop cannot keep `main`'s guest from running first).
static PORT_W1: AtomicU32 = AtomicU32::new(0);
/// `w1`'s VCPU, published for `main`'s kicks.
static W1_VCPU: AtomicU32 = AtomicU32::new(0);

fn transport(t: &mut Test) -> Sel4Transport<'_> {
    let ep = Cap::from_cptr(t.thread().endpoint);
    Sel4Transport::new(t.ipc, ep)
}

/// Guest `i`'s instructions.
fn program(i: usize) -> [u32; 6] {
    let lo = (MEM_GPA as u32 & 0xffff) + (i as u32) * 0x100;
    let hi = (MEM_GPA >> 16) as u32;
    [
        0xD280_0001 | lo << 5, // movz x1, #lo
        0xF2A0_0001 | hi << 5, // movk x1, #hi, lsl #16
        0xD280_0000,           // movz x0, #0
        0x9100_0400,           // 1: add x0, x0, #1
        0xF900_0020,           // str x0, [x1]
        0x17FF_FFFE,           // b 1b
    ]
}

/// Writes instruction words at `offset` of the code region.
fn write_code(code: &Region, offset: u64, words: &[u32]) -> bool {
    words.chunks(2).enumerate().all(|(i, pair)| {
        let lo = u64::from(pair[0]);
        let hi = u64::from(pair.get(1).copied().unwrap_or(0xD503_201F));
        code.write(offset as usize + i * 8, lo | hi << 32)
    })
}

/// Waits (yielding, so a one-core kernel runs `main` too) until `main` published the guest; no
/// guest runs before that, so this spinning starves none.
fn wait_for_guest() -> HandleValue {
    loop {
        let guest = GUEST.load(Ordering::Acquire);
        if guest != 0 {
            return guest;
        }
        sel4::yield_now();
    }
}

/// Queues a user packet with `key` on `main`'s port.
fn tell_main(t: &mut Test, key: u64) -> Status {
    let mut packet = PortPacket::new_zeroed();
    packet.key = key;
    packet.packet_type = PKT_TYPE_USER;
    zx_port_queue(&mut transport(t), PORT.load(Ordering::Acquire), &packet)
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    if index == 0 && !set_up(&mut t) {
        t.finish();
    }
    let guest = wait_for_guest();
    exits(&mut t, guest, index);
    if index == 1 {
        let mut packet = PortPacket::new_zeroed();
        let port = PORT_W1.load(Ordering::Acquire);
        let go = zx_port_wait(&mut transport(&mut t), port, TIME_INFINITE, &mut packet);
        t.check("go", go == Status::OK, format_args!("port_wait {go:?}"));
        kicked(&mut t);
    }
    if index == 0 {
        let mut packet = PortPacket::new_zeroed();
        packet.packet_type = PKT_TYPE_USER;
        let port = PORT_W1.load(Ordering::Acquire);
        let go = zx_port_queue(&mut transport(&mut t), port, &packet);
        t.check("go", go == Status::OK, format_args!("port_queue {go:?}"));
        serve(&mut t, guest);
    } else {
        let told = tell_main(&mut t, KEY_DONE);
        t.check(
            "done",
            told == Status::OK,
            format_args!("port_queue {told:?}"),
        );
    }
    t.finish()
}

/// Creates the guest, its code, its MEM trap and `main`'s port; publishes them.
fn set_up(t: &mut Test) -> bool {
    let hyp = t.boot.handle("hypervisor").map_or(0, |h| h.value);
    let code = t.boot.region("code").copied();
    let Some((code, mem)) = code.and_then(|c| Region::new(&c).map(|m| (c, m))) else {
        t.check("setup", false, format_args!("no mapped code region"));
        return false;
    };
    let written = (0..VCPUS).all(|i| write_code(&mem, i as u64 * 0x40, &program(i)));
    let created = zx_guest_create(&mut transport(t), hyp, 0);
    let Ok((guest, vmar)) = created else {
        t.check("setup", false, format_args!("guest_create: {created:?}"));
        return false;
    };
    let frame = Cap::from_cptr(code.frame_slot);
    let mapped = zx_vmar_map(&mut transport(t), vmar, RWX, CODE_GPA, frame, 4096);
    let trap = zx_guest_set_trap(
        &mut transport(t),
        guest,
        GUEST_TRAP_MEM,
        MEM_GPA,
        0x1000,
        0,
        0x5a,
    );
    let closed = zx_handle_close(&mut transport(t), vmar);
    let port = zx_port_create(&mut transport(t), 0);
    let port_w1 = zx_port_create(&mut transport(t), 0);
    let ok = written && mapped.is_ok() && trap == Status::OK && closed == Status::OK;
    t.check(
        "setup",
        ok && port.is_ok() && port_w1.is_ok(),
        format_args!(
            "code {written}, map {mapped:?}, MEM trap {trap:?}, vmar close {closed:?}, \
             ports {port:?} {port_w1:?}"
        ),
    );
    match (ok, port, port_w1) {
        (true, Ok(port), Ok(port_w1)) => {
            PORT.store(port, Ordering::Release);
            PORT_W1.store(port_w1, Ordering::Release);
            GUEST.store(guest, Ordering::Release);
            true
        }
        _ => false,
    }
}

/// Creates VCPU `i` and checks [`ROUNDS`] exits in order.
fn exits(t: &mut Test, guest: HandleValue, i: usize) {
    let case = ["exits.0", "exits.1", "exits.2", "exits.3"][i.min(VCPUS - 1)];
    let vcpu = match zx_vcpu_create(&mut transport(t), guest, 0, CODE_GPA + i as u64 * 0x40) {
        Ok(v) => v,
        Err(s) => {
            t.check(case, false, format_args!("vcpu_create: {s:?}"));
            return;
        }
    };
    let addr = MEM_GPA + i as u64 * 0x100;
    let mut packet = PortPacket::new_zeroed();
    for round in 1..=ROUNDS {
        let entered = zx_vcpu_enter(&mut transport(t), vcpu, &mut packet);
        let got = match guest_packet(&packet) {
            GuestPacket::Mem(m) if entered == Status::OK => Some((m.addr, m.data)),
            _ => None,
        };
        if got != Some((addr, round)) {
            t.check(
                case,
                false,
                format_args!("exit {round}: enter {entered:?}, (addr, data) {got:x?}"),
            );
            return;
        }
    }
    t.check(
        case,
        true,
        format_args!("{ROUNDS} MEM exits at {addr:#x} carried 1..={ROUNDS} in order"),
    );
    if i == 1 {
        W1_VCPU.store(vcpu, Ordering::Release);
    } else {
        let closed = zx_handle_close(&mut transport(t), vcpu);
        t.check(case, closed == Status::OK, format_args!("close {closed:?}"));
    }
}

/// `w1`: enters its VCPU until [`KICKS`] enters ended `ZX_ERR_CANCELED` (kicked by `main` while
/// its VCPU ran on another core), checking every other enter is a MEM exit; before its first
/// enter and after each kick it tells `main` it is ready for the next one.
fn kicked(t: &mut Test) {
    let vcpu = W1_VCPU.load(Ordering::Acquire);
    let mut packet = PortPacket::new_zeroed();
    let mut canceled = 0;
    let mut exits = 0u64;
    let mut told = tell_main(t, KEY_READY);
    while canceled < KICKS && exits < 10_000_000 && told == Status::OK {
        match zx_vcpu_enter(&mut transport(t), vcpu, &mut packet) {
            Status::ERR_CANCELED => {
                canceled += 1;
                if canceled < KICKS {
                    told = tell_main(t, KEY_READY);
                }
            }
            Status::OK if matches!(guest_packet(&packet), GuestPacket::Mem(_)) => exits += 1,
            other => {
                t.check("kick-remote", false, format_args!("enter: {other:?}"));
                return;
            }
        }
    }
    let closed = zx_handle_close(&mut transport(t), vcpu);
    t.check(
        "kick-remote",
        canceled == KICKS && closed == Status::OK && told == Status::OK,
        format_args!(
            "{canceled} enters canceled by kicks, {exits} MEM exits between, port_queue \
             {told:?}, close {closed:?}"
        ),
    );
}

/// `main`: serves the others' packets in arrival order: kicks `w1`'s VCPU for each READY
/// ([`KICKS`] of them), counts DONEs (one per worker), then closes the guest.
fn serve(t: &mut Test, guest: HandleValue) {
    let port = PORT.load(Ordering::Acquire);
    let mut packet = PortPacket::new_zeroed();
    let (mut kicks, mut done) = (0, 0);
    let mut failure = None;
    while failure.is_none() && (kicks < KICKS || done < VCPUS - 1) {
        let s = zx_port_wait(&mut transport(t), port, TIME_INFINITE, &mut packet);
        match (s, packet.key) {
            (Status::OK, KEY_READY) if kicks < KICKS => {
                let vcpu = W1_VCPU.load(Ordering::Acquire);
                match zx_vcpu_kick(&mut transport(t), vcpu) {
                    Status::OK => kicks += 1,
                    other => failure = Some((other, KEY_READY)),
                }
            }
            (Status::OK, KEY_DONE) => done += 1,
            (s, key) => failure = Some((s, key)),
        }
    }
    t.check(
        "kick-send",
        kicks == KICKS && failure.is_none(),
        format_args!("{kicks} kicks, {done} workers done, failure {failure:?}"),
    );
    let closed = zx_handle_close(&mut transport(t), guest);
    t.check(
        "close",
        closed == Status::OK,
        format_args!("guest: {closed:?}"),
    );
}
