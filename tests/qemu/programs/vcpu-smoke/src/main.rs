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
//!   server steps over it and answers the call like a fault, so the guest goes on to `OFF`.

#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use qemu_test_support::{Region, Test};
use sel4::{Cap, cap_type};
use vcpu_client::{
    HandleValue, PortPacket, Sel4Transport, Status, zx_guest_create, zx_handle_close,
    zx_vcpu_create, zx_vcpu_enter, zx_vmar_map,
};
use vcpu_protocol::layout::{VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC};
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
/// The GICV page the server maps into every guest.
const GICV_GPA: u64 = 0x8_0000_1000;
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

/// Offsets of the three programs in the code frame.
const OFF_AT: u64 = 0;
const SEND_AT: u64 = 0x100;
const CALL_AT: u64 = 0x200;

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
        && write_code(&code_mem, CALL_AT + 32, &OFF);
    t.check(
        "guest-code",
        written,
        format_args!("three programs written"),
    );

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

    maps(&mut t, vmar, &code, &ram);
    guests(&mut t, guest);
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
        format_args!("a frame over the GICV page: {r:?}"),
    );
    let r = zx_vmar_map(
        &mut transport(t),
        vmar,
        RW,
        GICV_GPA - 0x1000,
        frame(f0 + 1),
        4096,
    );
    t.check(
        "map-next-to-gicv",
        r == Ok(GICV_GPA - 0x1000),
        format_args!("a frame beside the GICV page: {r:?}"),
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
