//! `vcpu-smoke` (tests/qemu/vcpu-smoke.toml): one client thread drives the seL4 VCPU server
//! through its backend and transport paths and checks every status.
//!
//! Guests are a few hand-assembled instructions written into a 4 KiB frame of the `code`
//! region (identity of the guest: no MMU, EL1h, entry = the frame's guest-physical address):
//! - `OFF`: `x0 = PSCI SYSTEM_OFF; smc #0` — `zx_vcpu_enter` returns `ZX_ERR_UNAVAILABLE`;
//! - `SEND`: an HVC syscall `Send` (x7 = -3) on cptr 1, the guest's fault endpoint, with label
//!   0, then `OFF`: the server sees a malformed exit under the VCPU's badge (enter returns
//!   `ZX_ERR_NOT_SUPPORTED`), the guest runs on, and the next enter ends with the SMC;
//! - `CALL`: an HVC syscall `Call` (x7 = -1) forging a WFE exit (label 7, ESR EC 1 TI 1): the
//!   server steps over it and answers the call like a fault, so the guest goes on to `OFF`;
//! - `BELL`: `x1 = 0x9000_0000; loop: str x0, [x1]; b loop` — rings a BELL trap forever.
//!
//! The second thread, `kicker` (priority 75: above the guest, below `main`), waits on the BELL
//! port; each doorbell means the guest is really running, and it kicks the VCPU
//! (`TCB_Suspend` in the server), which ends `main`'s enter with `ZX_ERR_CANCELED`; `main`'s next
//! enter restarts the suspended guest (`TCB_Resume`), which rings again.

#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

use qemu_test_support::{Region, Test};
use sel4::{Cap, cap_type};
use vcpu_client::{
    HandleValue, PortPacket, Sel4Transport, Status, vcpu_read_state, vcpu_write_state,
    zx_guest_create, zx_guest_set_trap, zx_handle_close, zx_port_create, zx_port_wait,
    zx_vcpu_create, zx_vcpu_enter, zx_vcpu_kick, zx_vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_BELL, PKT_TYPE_GUEST_BELL, TIME_INFINITE, VM_PERM_EXECUTE, VM_PERM_READ,
    VM_PERM_WRITE, VM_SPECIFIC,
};
use zerocopy::FromZeros;

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("vcpu-smoke is an seL4 component: build an image with `cargo xtask build`");
}

/// Guest-physical address of the code frame.
const CODE_GPA: u64 = 0x1000;
/// Guest-physical address of the 2 MiB frame.
const RAM_GPA: u64 = 0x4000_0000;
/// The GICV the server maps into every guest: 8 KiB, two 4 KiB pages.
const GICV_GPA: u64 = 0x8_0000_1000;
/// End of the GICV range.
const GICV_END: u64 = GICV_GPA + 0x2000;
/// Create/destroy rounds: far more memory than the server's 256 KiB budget in total.
const ROUNDS: usize = 40;

const RWX: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;
const RW: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_SPECIFIC;

/// `movz x0, #8; movk x0, #0x8400, lsl #16; smc #0; b .`
const OFF: [u32; 4] = [0xD280_0100, 0xF2B0_8000, 0xD400_0003, 0x1400_0000];
/// `movz x0, #1; movz x1, #0; movn x7, #2; hvc #0` then [`OFF`].
const SEND: [u32; 4] = [0xD280_0020, 0xD280_0001, 0x9280_0047, 0xD400_0002];
/// `movz x0, #1; movz x1, #0x7001; movz x2, #1; movk x2, #0x0600, lsl #16; movn x7, #0;
/// hvc #0; nop; nop` then [`OFF`].
const CALL: [u32; 8] = [
    0xD280_0020,
    0xD28E_0021,
    0xD280_0022,
    0xF2A0_C002,
    0x9280_0007,
    0xD400_0002,
    0xD503_201F,
    0xD503_201F,
];

/// `movz x1, #0x9000, lsl #16; loop: str x0, [x1]; b loop; nop`.
const BELL: [u32; 4] = [0xD2B2_0001, 0xF900_0020, 0x17FF_FFFF, 0xD503_201F];
/// The BELL trap.
const BELL_GPA: u64 = 0x9000_0000;
const BELL_KEY: u64 = 0x77;
/// Kicks the kicker makes.
const KICKS: usize = 2;

/// Offsets of the programs in the code frame.
const OFF_AT: u64 = 0;
const SEND_AT: u64 = 0x100;
const CALL_AT: u64 = 0x200;
const BELL_AT: u64 = 0x300;

/// Handles `main` publishes for `kicker` (same address space): the port and the VCPU.
static PORT: AtomicU32 = AtomicU32::new(0);
static VCPU: AtomicU32 = AtomicU32::new(0);

fn transport(t: &mut Test) -> Sel4Transport<'_> {
    let ep = Cap::from_cptr(t.thread().endpoint);
    Sel4Transport::new(t.ipc, ep)
}

fn frame(slot: u64) -> Cap<cap_type::Unspecified> {
    Cap::from_cptr(slot)
}

/// Writes instruction words at `offset` of the code region.
fn write_code(code: &Region, offset: u64, words: &[u32]) -> bool {
    words.chunks(2).enumerate().all(|(i, pair)| {
        let lo = u64::from(pair[0]);
        let hi = u64::from(pair.get(1).copied().unwrap_or(0xD503_201F));
        code.write(offset as usize + i * 8, lo | hi << 32)
    })
}

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    if index == 1 {
        kicker(t);
    }
    let hyp = t.boot.handle("hypervisor").map_or(0, |h| h.value);
    let code = t.boot.region("code").copied();
    let ram = t.boot.region("ram").copied();
    let (Some(code), Some(ram), true) = (code, ram, hyp != 0) else {
        t.check(
            "boot-page",
            false,
            format_args!("no hypervisor handle or regions"),
        );
        t.finish();
    };
    let Some(code_mem) = Region::new(&code) else {
        t.check(
            "boot-page",
            false,
            format_args!("the code region is not mapped"),
        );
        t.finish();
    };
    let written = write_code(&code_mem, OFF_AT, &OFF)
        && write_code(&code_mem, SEND_AT, &SEND)
        && write_code(&code_mem, SEND_AT + 16, &OFF)
        && write_code(&code_mem, CALL_AT, &CALL)
        && write_code(&code_mem, CALL_AT + 32, &OFF)
        && write_code(&code_mem, BELL_AT, &BELL);
    t.check("guest-code", written, format_args!("four programs written"));

    let created = zx_guest_create(&mut transport(&mut t), hyp, 0);
    let Ok((guest, vmar)) = created else {
        t.check("guest-create", false, format_args!("{created:?}"));
        t.finish();
    };
    t.check(
        "guest-create",
        true,
        format_args!("guest {guest:#x} vmar {vmar:#x}"),
    );
    let second = zx_guest_create(&mut transport(&mut t), hyp, 0);
    t.check(
        "guest-budget",
        second == Err(Status::ERR_NO_RESOURCES),
        format_args!("a second guest with max-guests = 1: {second:?}"),
    );

    // The kicker blocks on this port until the BELL guest rings (a spinning kicker would
    // starve every guest: it runs above them).
    let port = zx_port_create(&mut transport(&mut t), 0);
    let Ok(port) = port else {
        t.check("port-create", false, format_args!("{port:?}"));
        t.finish();
    };
    PORT.store(port, Ordering::Release);
    maps(&mut t, vmar, &code, &ram);
    guests(&mut t, guest);
    kicks(&mut t, guest, port);
    let closed = [guest, vmar].map(|h| zx_handle_close(&mut transport(&mut t), h));
    t.check(
        "close",
        closed == [Status::OK; 2],
        format_args!("guest and vmar: {closed:?}"),
    );
    recycle(&mut t, hyp, code.frame_slot);
    t.finish()
}

/// Frame probing and mapping.
fn maps(
    t: &mut Test,
    vmar: HandleValue,
    code: &plan::bootpage::RegionInfo,
    ram: &plan::bootpage::RegionInfo,
) {
    let f0 = code.frame_slot;
    let r = zx_vmar_map(&mut transport(t), vmar, RWX, CODE_GPA, frame(f0), 4096);
    t.check(
        "map-4k",
        r == Ok(CODE_GPA),
        format_args!("code frame at {CODE_GPA:#x}: {r:?}"),
    );
    let r = zx_vmar_map(
        &mut transport(t),
        vmar,
        RW,
        RAM_GPA,
        frame(ram.frame_slot),
        1 << 21,
    );
    t.check(
        "map-2m",
        r == Ok(RAM_GPA),
        format_args!("2 MiB frame at {RAM_GPA:#x}: {r:?}"),
    );
    let r = zx_vmar_map(
        &mut transport(t),
        vmar,
        RW,
        0x60_0000,
        frame(f0 + 1),
        1 << 21,
    );
    t.check(
        "map-wrong-len",
        r == Err(Status::ERR_INVALID_ARGS),
        format_args!("a 4 KiB frame claimed as 2 MiB: {r:?}"),
    );
    let r = zx_vmar_map(&mut transport(t), vmar, RW, GICV_GPA, frame(f0 + 1), 4096);
    t.check(
        "map-over-gicv",
        r == Err(Status::ERR_ALREADY_EXISTS),
        format_args!("a frame over the first GICV page: {r:?}"),
    );
    let r = zx_vmar_map(
        &mut transport(t),
        vmar,
        RW,
        GICV_GPA + 0x1000,
        frame(f0 + 1),
        4096,
    );
    t.check(
        "map-over-gicv-page-2",
        r == Err(Status::ERR_ALREADY_EXISTS),
        format_args!("a frame over the second GICV page (GICC_DIR): {r:?}"),
    );
    let r = zx_vmar_map(&mut transport(t), vmar, RW, GICV_END, frame(f0 + 1), 4096);
    t.check(
        "map-next-to-gicv",
        r == Ok(GICV_END),
        format_args!("a frame just past the GICV: {r:?}"),
    );
    // Capabilities that are no frame: the root task's fault endpoint (must never be invoked:
    // a Call on it would block the server), the client's own TCB, and the server's endpoint
    // itself (the kernel unwraps it to a badge: no capability arrives).
    let me = *t.thread();
    let fault_ep = plan::cspace::fault(t.index);
    for (case, slot) in [
        ("map-endpoint", fault_ep),
        ("map-tcb", me.tcb),
        ("map-own-endpoint", me.endpoint),
    ] {
        let r = zx_vmar_map(&mut transport(t), vmar, RW, 0x80_0000, frame(slot), 4096);
        t.check(
            case,
            r == Err(Status::ERR_INVALID_ARGS),
            format_args!("slot {slot}: {r:?}"),
        );
    }
}

/// Runs the three guest programs, each on a fresh VCPU (one VCPU per thread).
fn guests(t: &mut Test, guest: HandleValue) {
    let mut packet = PortPacket::new_zeroed();
    let runs: [(&str, u64, &[Status]); 3] = [
        ("vcpu-smc-off", OFF_AT, &[Status::ERR_UNAVAILABLE]),
        (
            "vcpu-hvc-send",
            SEND_AT,
            &[Status::ERR_NOT_SUPPORTED, Status::ERR_UNAVAILABLE],
        ),
        ("vcpu-hvc-call", CALL_AT, &[Status::ERR_UNAVAILABLE]),
    ];
    for (case, at, expected) in runs {
        let vcpu = match zx_vcpu_create(&mut transport(t), guest, 0, CODE_GPA + at) {
            Ok(v) => v,
            Err(s) => {
                t.check(case, false, format_args!("vcpu_create: {s:?}"));
                continue;
            }
        };
        let mut got: [Status; 2] = [Status::OK; 2];
        for g in got.iter_mut().take(expected.len()) {
            *g = zx_vcpu_enter(&mut transport(t), vcpu, &mut packet);
        }
        let closed = zx_handle_close(&mut transport(t), vcpu);
        t.check(
            case,
            &got[..expected.len()] == expected && closed == Status::OK,
            format_args!(
                "enters {:?} (expected {expected:?}), close {closed:?}",
                &got[..expected.len()]
            ),
        );
    }
}

/// A guest that rings a BELL trap in a loop, kicked by `kicker` while it runs; its state read
/// and written between the enters.
fn kicks(t: &mut Test, guest: HandleValue, port: HandleValue) {
    let trap = zx_guest_set_trap(
        &mut transport(t),
        guest,
        GUEST_TRAP_BELL,
        BELL_GPA,
        0x1000,
        port,
        BELL_KEY,
    );
    let vcpu = zx_vcpu_create(&mut transport(t), guest, 0, CODE_GPA + BELL_AT);
    let Ok(vcpu) = vcpu else {
        t.check("kick-setup", false, format_args!("vcpu_create: {vcpu:?}"));
        return;
    };
    t.check(
        "kick-setup",
        trap == Status::OK,
        format_args!("BELL trap: {trap:?}"),
    );
    VCPU.store(vcpu, Ordering::Release);
    let mut packet = PortPacket::new_zeroed();
    let mut got = [Status::OK; KICKS];
    for g in got.iter_mut() {
        *g = zx_vcpu_enter(&mut transport(t), vcpu, &mut packet);
    }
    t.check(
        "kick-running",
        got == [Status::ERR_CANCELED; KICKS],
        format_args!("enters {got:?}: kicked while running, restarted in between"),
    );
    let state = vcpu_read_state(&mut transport(t), vcpu);
    let read = state.is_ok_and(|s| s.x[1] == BELL_GPA);
    t.check(
        "read-state",
        read,
        format_args!("x1 = {:#x}", state.map_or(0, |s| s.x[1])),
    );
    if let Ok(mut s) = state {
        s.x[5] = 0x5eed;
        s.sp = 0x8000;
        let w = vcpu_write_state(&mut transport(t), vcpu, &s);
        let back = vcpu_read_state(&mut transport(t), vcpu);
        t.check(
            "write-state",
            w == Status::OK && back.is_ok_and(|b| b.x[5] == 0x5eed && b.sp == 0x8000),
            format_args!(
                "write {w:?}, read back x5/sp {:?}",
                back.map(|b| (b.x[5], b.sp))
            ),
        );
    }
    let closed = [vcpu, port].map(|h| zx_handle_close(&mut transport(t), h));
    t.check(
        "kick-close",
        closed == [Status::OK; 2],
        format_args!("{closed:?}"),
    );
}

/// The `kicker` thread: waits for each doorbell and kicks the VCPU that rang it.
///
/// It runs only while `main` is blocked in `vcpu_enter` (it is less urgent than `main`), and
/// `main` publishes the port before its first enter and the VCPU before ringing starts.
fn kicker(mut t: Test) -> ! {
    let port = PORT.load(Ordering::Acquire);
    let mut packet = PortPacket::new_zeroed();
    for round in 0..KICKS {
        let waited = zx_port_wait(&mut transport(&mut t), port, TIME_INFINITE, &mut packet);
        let vcpu = VCPU.load(Ordering::Acquire);
        let bell = waited == Status::OK
            && packet.key == BELL_KEY
            && packet.packet_type == PKT_TYPE_GUEST_BELL;
        let kicked = zx_vcpu_kick(&mut transport(&mut t), vcpu);
        t.check(
            "kick",
            bell && kicked == Status::OK,
            format_args!(
                "round {round}: port_wait {waited:?} (key {:#x}, type {}), kick {kicked:?}",
                packet.key, packet.packet_type
            ),
        );
    }
    t.finish()
}

/// Many create/map/run/destroy rounds: the server must recycle its untyped memory and slots.
fn recycle(t: &mut Test, hyp: HandleValue, code_frame: u64) {
    let mut packet = PortPacket::new_zeroed();
    for round in 0..ROUNDS {
        let result = (|| {
            let (guest, vmar) =
                zx_guest_create(&mut transport(t), hyp, 0).map_err(|s| ("guest_create", s))?;
            zx_vmar_map(
                &mut transport(t),
                vmar,
                RWX,
                CODE_GPA,
                frame(code_frame),
                4096,
            )
            .map_err(|s| ("vmar_map", s))?;
            let vcpu = zx_vcpu_create(&mut transport(t), guest, 0, CODE_GPA + OFF_AT)
                .map_err(|s| ("vcpu_create", s))?;
            let entered = zx_vcpu_enter(&mut transport(t), vcpu, &mut packet);
            if entered != Status::ERR_UNAVAILABLE {
                return Err(("vcpu_enter", entered));
            }
            for h in [vcpu, guest, vmar] {
                let s = zx_handle_close(&mut transport(t), h);
                if s != Status::OK {
                    return Err(("handle_close", s));
                }
            }
            Ok(())
        })();
        if let Err((what, s)) = result {
            t.check(
                "recycle",
                false,
                format_args!("round {round}: {what}: {s:?}"),
            );
            return;
        }
    }
    t.check(
        "recycle",
        true,
        format_args!("{ROUNDS} rounds of guest + frame + VCPU"),
    );
}
