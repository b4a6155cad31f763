//! `vcpu-bench` (tests/bench/bench.toml, `cargo xtask bench`): times the VCPU server's request
//! and guest-exit paths on the real kernel and prints one `bench` line per path (format and
//! counts: crate `bench-summary`). Measures, never asserts: whatever goes wrong is printed as a
//! `bench error` line and the path is left out.
//!
//! Thread `main` (priority 100), in order:
//! 1. raw null IPC: empty `seL4_Call`s, answered by the benchmark server before it serves
//!    (`vcpu-server/sel4/src/bench.rs`), which then sends back its raw VM-fault loop's numbers;
//! 2. requests on an idle VCPU it owns: `vcpu_kick`, `object_get_info`, a bad handle,
//!    `vcpu_read_state`, `vcpu_write_state`, `vcpu_interrupt` (each call timed by `main`);
//! 3. exits: `exit-mem` is one `vcpu_enter` returning a MEM packet (a guest storing to a MEM
//!    trap in a loop; timed by `main`); `exit-wfi`, `exit-psci`, `exit-bell` are exits the
//!    server answers itself, timed by the guest around the trapping instruction, which writes
//!    each time into guest RAM for `main` to read; the BELL packets are then taken one by one
//!    with `port_wait` (`port-wait`, a packet already queued);
//! 4. `kick-latency`: thread `kicker` (priority 75: above the guest, below `main`) kicks a
//!    spinning guest; the time from just before its kick call to `main`'s `vcpu_enter`
//!    returning `ZX_ERR_CANCELED`.
//!
//! Ratios: requests, `port-wait` and `kick-latency` against the raw null IPC; exits against the
//! raw VM-fault loop.
//!
//! Guest programs (hand-assembled, in the `code` frame at [`CODE_GPA`]; EL1, MMU off):
//! each timed loop is `mrs x2, cntvct_el0; <exit>; mrs x3, cntvct_el0; sub x3, x3, x2;
//! str x3, [x4], #8; subs x5, x5, #1; b.ne loop; hvc #0; b loop`: x4 (where to write) and x5
//! (how many) are set with `vcpu_write_state` before each enter, and the HVC ends the enter
//! with `ZX_ERR_NOT_SUPPORTED`.

#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use bench_summary::{Line, RAW_CALLS, RAW_STATS_WORDS, SAMPLES, Summary, WARMUP};
use qemu_test_support::{Region, Test};
use sel4::{Cap, MessageInfo, cap_type};
use sel4_runtime::{debug_println, virtual_counter as now};
use vcpu_client::{
    HandleValue, PortPacket, Sel4Transport, Status, vcpu_read_state, vcpu_write_state,
    zx_guest_create, zx_guest_set_trap, zx_handle_close, zx_object_get_info, zx_port_create,
    zx_port_wait, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt, zx_vcpu_kick, zx_vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_BELL, GUEST_TRAP_MEM, INFO_VCPU, TIME_INFINITE, VM_PERM_EXECUTE, VM_PERM_READ,
    VM_PERM_WRITE, VM_SPECIFIC,
};
use zerocopy::FromZeros;

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("vcpu-bench is an seL4 component: run it with `cargo xtask bench`");
}

/// Guest-physical address of the code frame.
const CODE_GPA: u64 = 0x1000;
/// Guest-physical address of the 2 MiB RAM frame (the guests' timings).
const RAM_GPA: u64 = 0x4000_0000;
/// The MEM trap the `MEM` program stores to.
const MEM_GPA: u64 = 0x9000_0000;
/// The BELL trap the `BELL` program rings (its packets go to `main`'s port).
const BELL_GPA: u64 = 0x9100_0000;
/// The BELL trap that wakes `kicker` (its packets go to `kicker`'s port).
const CONTROL_GPA: u64 = 0x9200_0000;

/// `movz x1, #0x9000, lsl #16; loop: str x0, [x1]; b loop`.
const MEM: [u32; 3] = [0xD2B2_0001, 0xF900_0020, 0x17FF_FFFF];
/// Arms the virtual timer far in the future (so WFI resumes at once: the server keeps no
/// clock), then the timed loop around `wfi`.
const WFI: [u32; 13] = [
    0x9280_0000, // movn x0, #0
    0xD51B_E340, // msr cntv_cval_el0, x0
    0xD280_0020, // movz x0, #1
    0xD51B_E320, // msr cntv_ctl_el0, x0 (enabled, unmasked)
    0xD53B_E042, // loop: mrs x2, cntvct_el0
    0xD503_207F, // wfi
    0xD53B_E043, // mrs x3, cntvct_el0
    0xCB02_0063, // sub x3, x3, x2
    0xF800_8483, // str x3, [x4], #8
    0xF100_04A5, // subs x5, x5, #1
    0x54FF_FF41, // b.ne loop
    0xD400_0002, // hvc #0
    0x17FF_FFF8, // b loop
];
/// The timed loop around `smc #0` with x0 = PSCI_VERSION.
const PSCI: [u32; 11] = [
    0xD53B_E042, // loop: mrs x2, cntvct_el0
    0xD280_0000, // movz x0, #0
    0xF2B0_8000, // movk x0, #0x8400, lsl #16
    0xD400_0003, // smc #0
    0xD53B_E043, // mrs x3, cntvct_el0
    0xCB02_0063, // sub x3, x3, x2
    0xF800_8483, // str x3, [x4], #8
    0xF100_04A5, // subs x5, x5, #1
    0x54FF_FF01, // b.ne loop
    0xD400_0002, // hvc #0
    0x17FF_FFF6, // b loop
];
/// x1 = [`BELL_GPA`], then the timed loop around `str x0, [x1]`.
const BELL: [u32; 10] = [
    0xD2B2_2001, // movz x1, #0x9100, lsl #16
    0xD53B_E042, // loop: mrs x2, cntvct_el0
    0xF900_0020, // str x0, [x1]
    0xD53B_E043, // mrs x3, cntvct_el0
    0xCB02_0063, // sub x3, x3, x2
    0xF800_8483, // str x3, [x4], #8
    0xF100_04A5, // subs x5, x5, #1
    0x54FF_FF41, // b.ne loop
    0xD400_0002, // hvc #0
    0x17FF_FFF8, // b loop
];
/// Rings the control trap once (wakes `kicker`), then spins: `b .`.
const KICK: [u32; 3] = [0xD2B2_4001, 0xF900_0020, 0x1400_0000];

/// Offsets of the programs in the code frame.
const MEM_AT: u64 = 0x000;
const WFI_AT: u64 = 0x100;
const PSCI_AT: u64 = 0x200;
const BELL_AT: u64 = 0x300;
const KICK_AT: u64 = 0x400;

/// Where in guest RAM each guest-timed path writes its times.
const WFI_TIMES: u64 = 0;
const PSCI_TIMES: u64 = 0x4000;
const BELL_TIMES: u64 = 0x8000;

/// BELL rings per enter (the port and the trap hold far more); `main` takes them after each.
const BELL_BATCH: usize = 100;
/// A handle value no table ever holds (slot 1023 is beyond every client's table).
const BAD_HANDLE: HandleValue = 1023 << 18 | 1 << 2 | 0b11;
/// A vector for `vcpu_interrupt` (an SPI).
const VECTOR: u32 = 40;

const RWX: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;
const RW: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_SPECIFIC;

/// `kicker`'s port (published by `kicker`), the VCPU it kicks and the time of its latest kick
/// (published by `main`).
static CONTROL_PORT: AtomicU32 = AtomicU32::new(0);
static KICK_VCPU: AtomicU32 = AtomicU32::new(0);
static KICK_T0: AtomicU64 = AtomicU64::new(0);

/// Raw baselines: the medians the other paths are compared with.
#[derive(Clone, Copy)]
struct Bounds {
    ipc: u64,
    fault: u64,
}

/// Timed iterations of one path (the warm-up ones are not kept).
struct Samples([u64; SAMPLES]);

impl Samples {
    /// Runs `f` [`WARMUP`] + [`SAMPLES`] times, timing each run; `Err` is `f`'s first
    /// unexpected status.
    fn time(&mut self, mut f: impl FnMut() -> Result<(), Status>) -> Result<Summary, Status> {
        for i in 0..WARMUP + SAMPLES {
            let t0 = now();
            f()?;
            let t = now() - t0;
            if let Some(s) = i.checked_sub(WARMUP) {
                self.0[s] = t;
            }
        }
        Summary::of(&mut self.0).ok_or(Status::ERR_INTERNAL)
    }
}

fn expect(got: Status, want: Status) -> Result<(), Status> {
    if got == want { Ok(()) } else { Err(got) }
}

fn print(path: &str, result: Result<Summary, Status>, bound: u64) {
    match result {
        Ok(summary) => debug_println!(
            "{}",
            Line {
                path,
                summary,
                bound
            }
        ),
        Err(s) => debug_println!("bench error: {path}: {s:?}"),
    }
}

fn transport(t: &mut Test) -> Sel4Transport<'_> {
    let ep = Cap::from_cptr(t.thread().endpoint);
    Sel4Transport::new(t.ipc, ep)
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
    let bounds = raw(&mut t);
    match setup(&mut t) {
        Ok(world) => {
            requests(&mut t, &world, bounds);
            exits(&mut t, &world, bounds);
            kick_latency(&mut t, &world, bounds);
        }
        Err(what) => debug_println!("bench error: set-up: {what}"),
    }
    // Wakes `kicker` if it still waits (closing the last handle of its port cancels the wait).
    let port = CONTROL_PORT.load(Ordering::Acquire);
    if port != 0 {
        let _ = zx_handle_close(&mut transport(&mut t), port);
    }
    debug_println!("bench done");
    t.finish()
}

/// The raw null IPC (timed here) and the raw VM-fault loop (timed by the server).
fn raw(t: &mut Test) -> Bounds {
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(t.thread().endpoint);
    let mut samples = Samples([0; SAMPLES]);
    let ipc = samples.time(|| {
        ep.call(t.ipc, MessageInfo::new(0, 0, 0, 0));
        Ok(())
    });
    let _ = RAW_CALLS; // the server answers WARMUP + SAMPLES calls, as `time` makes
    let info = ep.call(t.ipc, MessageInfo::new(0, 0, 0, 0));
    let fault = if info.length() == RAW_STATS_WORDS {
        let m = t.ipc.msg();
        Ok(Summary::from_words([m[0], m[1], m[2]]))
    } else {
        Err(Status::ERR_INTERNAL)
    };
    let bounds = Bounds {
        ipc: ipc.map_or(0, |s| s.median),
        fault: fault.map_or(0, |s| s.median),
    };
    print("raw-null-ipc", ipc, bounds.ipc);
    print("raw-vm-fault", fault, bounds.fault);
    bounds
}

/// The guest, its memory and traps.
struct World {
    guest: HandleValue,
    ram: Region,
    bell_port: HandleValue,
}

fn setup(t: &mut Test) -> Result<World, &'static str> {
    let hyp = t.boot.handle("hypervisor").map_or(0, |h| h.value);
    let code = t.boot.region("code").copied().ok_or("no code region")?;
    let ram = t.boot.region("ram").copied().ok_or("no ram region")?;
    let code_mem = Region::new(&code).ok_or("code region not mapped")?;
    let ram_mem = Region::new(&ram).ok_or("ram region not mapped")?;
    let written = write_code(&code_mem, MEM_AT, &MEM)
        && write_code(&code_mem, WFI_AT, &WFI)
        && write_code(&code_mem, PSCI_AT, &PSCI)
        && write_code(&code_mem, BELL_AT, &BELL)
        && write_code(&code_mem, KICK_AT, &KICK);
    if !written {
        return Err("cannot write the guest code");
    }
    let tr = &mut transport(t);
    let (guest, vmar) = zx_guest_create(tr, hyp, 0).map_err(|_| "guest_create")?;
    let code_frame = Cap::from_cptr(code.frame_slot);
    zx_vmar_map(tr, vmar, RWX, CODE_GPA, code_frame, 4096).map_err(|_| "map code")?;
    let ram_frame = Cap::from_cptr(ram.frame_slot);
    zx_vmar_map(tr, vmar, RW, RAM_GPA, ram_frame, 1 << 21).map_err(|_| "map ram")?;
    let mem = zx_guest_set_trap(tr, guest, GUEST_TRAP_MEM, MEM_GPA, 0x1000, 0, 1);
    let bell_port = zx_port_create(tr, 0).map_err(|_| "port_create")?;
    let bell = zx_guest_set_trap(tr, guest, GUEST_TRAP_BELL, BELL_GPA, 0x1000, bell_port, 2);
    if mem != Status::OK || bell != Status::OK {
        return Err("set_trap");
    }
    Ok(World {
        guest,
        ram: ram_mem,
        bell_port,
    })
}

/// Requests on an idle VCPU `main` owns.
fn requests(t: &mut Test, w: &World, b: Bounds) {
    let tr = &mut transport(t);
    let vcpu = match zx_vcpu_create(tr, w.guest, 0, CODE_GPA + KICK_AT) {
        Ok(v) => v,
        Err(s) => return print("request-kick", Err(s), 0),
    };
    let mut s = Samples([0; SAMPLES]);
    let r = s.time(|| expect(zx_vcpu_kick(tr, vcpu), Status::OK));
    print("request-kick", r, b.ipc);
    let mut info = [0u8; 4];
    let r = s.time(|| {
        let st = zx_object_get_info(tr, vcpu, INFO_VCPU, &mut info, None, None);
        expect(st, Status::OK)
    });
    print("request-get-info", r, b.ipc);
    let r = s.time(|| {
        let st = zx_object_get_info(tr, BAD_HANDLE, INFO_VCPU, &mut info, None, None);
        expect(st, Status::ERR_BAD_HANDLE)
    });
    print("request-bad-handle", r, b.ipc);
    let r = s.time(|| vcpu_read_state(tr, vcpu).map(|_| ()));
    print("request-read-state", r, b.ipc);
    match vcpu_read_state(tr, vcpu) {
        Ok(state) => {
            let r = s.time(|| expect(vcpu_write_state(tr, vcpu, &state), Status::OK));
            print("request-write-state", r, b.ipc);
        }
        Err(e) => print("request-write-state", Err(e), b.ipc),
    }
    let r = s.time(|| expect(zx_vcpu_interrupt(tr, vcpu, VECTOR), Status::OK));
    print("request-interrupt", r, b.ipc);
    let _ = zx_handle_close(tr, vcpu);
}

/// Sets x4 (where the guest writes its times) and x5 (how many) of the idle `vcpu`.
fn aim(
    tr: &mut Sel4Transport<'_>,
    vcpu: HandleValue,
    gpa: u64,
    count: usize,
) -> Result<(), Status> {
    let mut state = vcpu_read_state(tr, vcpu)?;
    state.x[4] = gpa;
    state.x[5] = count as u64;
    expect(vcpu_write_state(tr, vcpu, &state), Status::OK)
}

/// The guest's times at `offset` of guest RAM, warm-up dropped.
fn guest_times(ram: &Region, offset: u64) -> Result<Summary, Status> {
    let mut s = Samples([0; SAMPLES]);
    for (i, x) in s.0.iter_mut().enumerate() {
        *x = ram
            .read(offset as usize + 8 * (WARMUP + i))
            .ok_or(Status::ERR_OUT_OF_RANGE)?;
    }
    Summary::of(&mut s.0).ok_or(Status::ERR_INTERNAL)
}

/// Runs the guest program at `at` once for all iterations; its times.
fn guest_timed(
    tr: &mut Sel4Transport<'_>,
    w: &World,
    at: u64,
    times: u64,
) -> Result<Summary, Status> {
    let vcpu = zx_vcpu_create(tr, w.guest, 0, CODE_GPA + at)?;
    let mut packet = PortPacket::new_zeroed();
    let ran = aim(tr, vcpu, RAM_GPA + times, WARMUP + SAMPLES).and_then(|()| {
        expect(
            zx_vcpu_enter(tr, vcpu, &mut packet),
            Status::ERR_NOT_SUPPORTED,
        )
    });
    let _ = zx_handle_close(tr, vcpu);
    ran?;
    guest_times(&w.ram, times)
}

/// MEM (timed here), WFI, PSCI and BELL (timed by the guest), and `port_wait`.
fn exits(t: &mut Test, w: &World, b: Bounds) {
    let tr = &mut transport(t);
    let mut packet = PortPacket::new_zeroed();
    let mem = zx_vcpu_create(tr, w.guest, 0, CODE_GPA + MEM_AT).and_then(|vcpu| {
        let mut s = Samples([0; SAMPLES]);
        let r = s.time(|| expect(zx_vcpu_enter(tr, vcpu, &mut packet), Status::OK));
        let _ = zx_handle_close(tr, vcpu);
        r
    });
    print("exit-mem", mem, b.fault);
    print("exit-wfi", guest_timed(tr, w, WFI_AT, WFI_TIMES), b.fault);
    print(
        "exit-psci",
        guest_timed(tr, w, PSCI_AT, PSCI_TIMES),
        b.fault,
    );

    // BELL in batches; after each, its packets are taken one by one (port-wait).
    let mut waits = Samples([0; SAMPLES]);
    let bell = zx_vcpu_create(tr, w.guest, 0, CODE_GPA + BELL_AT).and_then(|vcpu| {
        let mut result = Ok(());
        for batch in 0..(WARMUP + SAMPLES) / BELL_BATCH {
            let first = batch * BELL_BATCH;
            let times = RAM_GPA + BELL_TIMES + 8 * first as u64;
            result = aim(tr, vcpu, times, BELL_BATCH).and_then(|()| {
                expect(
                    zx_vcpu_enter(tr, vcpu, &mut packet),
                    Status::ERR_NOT_SUPPORTED,
                )
            });
            for i in first..first + BELL_BATCH {
                if result.is_err() {
                    break;
                }
                let t0 = now();
                let st = zx_port_wait(tr, w.bell_port, 0, &mut packet);
                let time = now() - t0;
                result = expect(st, Status::OK);
                if let Some(j) = i.checked_sub(WARMUP) {
                    waits.0[j] = time;
                }
            }
            if result.is_err() {
                break;
            }
        }
        let _ = zx_handle_close(tr, vcpu);
        result
    });
    let waited = bell.and_then(|()| Summary::of(&mut waits.0).ok_or(Status::ERR_INTERNAL));
    print(
        "exit-bell",
        bell.and_then(|()| guest_times(&w.ram, BELL_TIMES)),
        b.fault,
    );
    print("port-wait", waited, b.ipc);
}

/// `kicker` kicks the spinning KICK guest; `main`'s enter returns CANCELED each time.
fn kick_latency(t: &mut Test, w: &World, b: Bounds) {
    let tr = &mut transport(t);
    let port = CONTROL_PORT.load(Ordering::Acquire);
    if port == 0 {
        return print("kick-latency", Err(Status::ERR_BAD_STATE), b.ipc);
    }
    let trap = zx_guest_set_trap(tr, w.guest, GUEST_TRAP_BELL, CONTROL_GPA, 0x1000, port, 3);
    let vcpu =
        expect(trap, Status::OK).and_then(|()| zx_vcpu_create(tr, w.guest, 0, CODE_GPA + KICK_AT));
    let vcpu = match vcpu {
        Ok(v) => v,
        Err(s) => return print("kick-latency", Err(s), b.ipc),
    };
    KICK_VCPU.store(vcpu, Ordering::Release);
    let mut packet = PortPacket::new_zeroed();
    let mut s = Samples([0; SAMPLES]);
    let mut result = Ok(());
    for i in 0..WARMUP + SAMPLES {
        let st = zx_vcpu_enter(tr, vcpu, &mut packet);
        let latency = now() - KICK_T0.load(Ordering::Acquire);
        if let Err(e) = expect(st, Status::ERR_CANCELED) {
            result = Err(e);
            break;
        }
        if let Some(j) = i.checked_sub(WARMUP) {
            s.0[j] = latency;
        }
    }
    let r = result.and_then(|()| Summary::of(&mut s.0).ok_or(Status::ERR_INTERNAL));
    print("kick-latency", r, b.ipc);
    let _ = zx_handle_close(tr, vcpu);
}

/// The `kicker` thread: makes its port, waits on it until the KICK guest rings, then kicks
/// that guest's VCPU once per iteration (it runs only while `main` is blocked in
/// `vcpu_enter`: it is less urgent than `main`).
fn kicker(mut t: Test) -> ! {
    let tr = &mut transport(&mut t);
    match zx_port_create(tr, 0) {
        Ok(port) => {
            CONTROL_PORT.store(port, Ordering::Release);
            let mut packet = PortPacket::new_zeroed();
            let _ = zx_port_wait(tr, port, TIME_INFINITE, &mut packet);
        }
        Err(s) => debug_println!("bench error: kicker: port_create: {s:?}"),
    }
    let vcpu = KICK_VCPU.load(Ordering::Acquire);
    if vcpu != 0 {
        for _ in 0..WARMUP + SAMPLES {
            KICK_T0.store(now(), Ordering::Release);
            let _ = zx_vcpu_kick(tr, vcpu);
        }
    }
    t.finish()
}
