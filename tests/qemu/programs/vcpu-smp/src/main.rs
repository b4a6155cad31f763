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
//! do meanwhile. `main` then kicks a VCPU spinning in its store loop on another core from a
//! second thread's point of view: `w1`'s VCPU is kicked by `main` while `w1` is entered.
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
    zx_guest_set_trap, zx_handle_close, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_kick, zx_vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_MEM, VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC,
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

const RWX: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;

/// The guest handle `main` publishes (0 until the guest is ready).
static GUEST: AtomicU32 = AtomicU32::new(0);
/// `w1`'s VCPU, published for `main`'s kicks.
static W1_VCPU: AtomicU32 = AtomicU32::new(0);
/// Threads that finished their exit rounds.
static DONE: AtomicU32 = AtomicU32::new(0);
/// Kicks `main` made that `w1` has not yet seen end an enter.
static KICKED: AtomicU32 = AtomicU32::new(0);

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

/// Waits (yielding, so a one-core kernel runs the others) until `ready` holds.
fn wait_for(ready: impl Fn() -> bool) {
    while !ready() {
        sel4::yield_now();
    }
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    if index == 0 && !set_up(&mut t) {
        t.finish();
    }
    wait_for(|| GUEST.load(Ordering::Acquire) != 0);
    let guest = GUEST.load(Ordering::Acquire);
    exits(&mut t, guest, index);
    DONE.fetch_add(1, Ordering::AcqRel);
    if index == 1 {
        kicked(&mut t);
    }
    if index == 0 {
        kick_w1(&mut t);
        wait_for(|| DONE.load(Ordering::Acquire) == VCPUS as u32 + 1);
        let closed = zx_handle_close(&mut transport(&mut t), guest);
        t.check(
            "close",
            closed == Status::OK,
            format_args!("guest: {closed:?}"),
        );
    }
    t.finish()
}

/// Creates the guest, its code, its MEM trap; publishes it.
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
    let ok = written && mapped.is_ok() && trap == Status::OK && closed == Status::OK;
    t.check(
        "setup",
        ok,
        format_args!("code {written}, map {mapped:?}, MEM trap {trap:?}, vmar close {closed:?}"),
    );
    if ok {
        GUEST.store(guest, Ordering::Release);
    }
    ok
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
/// its VCPU ran on another core), checking every other enter is a MEM exit.
fn kicked(t: &mut Test) {
    let vcpu = W1_VCPU.load(Ordering::Acquire);
    let mut packet = PortPacket::new_zeroed();
    let mut canceled = 0;
    let mut exits = 0u64;
    while canceled < KICKS && exits < 1_000_000 {
        match zx_vcpu_enter(&mut transport(t), vcpu, &mut packet) {
            Status::ERR_CANCELED => {
                canceled += 1;
                KICKED.fetch_sub(1, Ordering::AcqRel);
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
        canceled == KICKS && closed == Status::OK,
        format_args!(
            "{canceled} enters canceled by kicks, {exits} MEM exits between, close {closed:?}"
        ),
    );
    DONE.fetch_add(1, Ordering::AcqRel);
}

/// `main`: kicks `w1`'s VCPU [`KICKS`] times, each once `w1` saw the previous one.
fn kick_w1(t: &mut Test) {
    wait_for(|| W1_VCPU.load(Ordering::Acquire) != 0);
    let vcpu = W1_VCPU.load(Ordering::Acquire);
    let mut statuses = [Status::OK; KICKS as usize];
    for s in statuses.iter_mut() {
        wait_for(|| KICKED.load(Ordering::Acquire) == 0);
        KICKED.fetch_add(1, Ordering::AcqRel);
        *s = zx_vcpu_kick(&mut transport(t), vcpu);
    }
    t.check(
        "kick-send",
        statuses.iter().all(|s| *s == Status::OK),
        format_args!("kicks {statuses:?}"),
    );
}
