//! The program proper (target only); see the binary's documentation.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use caps::Rights;
use vcpu_client::{
    HandleValue, Status, zx_guest_create, zx_guest_set_trap, zx_handle_duplicate, zx_port_create,
    zx_vcpu_create, zx_vmar_map,
};
use vcpu_protocol::layout::{GUEST_TRAP_MEM, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC};

use vmm::images;
use vmm::report::{CaseResult, Suite, expect_eq, expect_err, expect_ok};
use vmm::rt::{Ctx, DebugWriter, GuestRam, GuestVm, debug_println};
use zerocopy::FromZeros;

vmm::component!(main = main, worker = worker);

/// `greedy`'s limits (tests/qemu/vcpu-quota.toml).
const HANDLES: usize = 16;
const PORTS: usize = 3;
const TRAPS: u64 = 2;
const MAPPINGS: usize = 2;

/// The worker's job: create a VCPU on the guest in [`GUEST`] and store the status in
/// [`SECOND_VCPU`] (a thread owns at most one VCPU, so a second VCPU needs a second thread).
const JOB_VCPU: u32 = 1;
static GUEST: AtomicU32 = AtomicU32::new(0);
static SECOND_VCPU: AtomicI32 = AtomicI32::new(0);

const RW_SPECIFIC: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_SPECIFIC;
const PAGE: u64 = 4096;
const MMIO: u64 = 0x9000_0000;

fn main(mut ctx: Ctx) -> ! {
    if ctx.client_id() == VICTIM {
        victim(ctx);
    }
    let mut suite = Suite::new(DebugWriter);
    let who = if ctx.client_id() == 1 {
        "greedy"
    } else {
        "neighbour"
    };
    let result = if ctx.client_id() == 1 {
        greedy(&mut ctx)
    } else {
        neighbour(&mut ctx)
    };
    let name = if ctx.client_id() == 1 {
        "quota-greedy-gets-clean-statuses"
    } else {
        "quota-neighbour-unaffected"
    };
    suite.record(name, result);
    suite.summary(who);
    ctx.finish(suite.passed(), suite.failed())
}

/// The client id of `victim` (tests/qemu/supervision.toml).
const VICTIM: u16 = 3;
/// The worker's job in `victim`: fault (read address 0) while main is in `vcpu_enter`.
const JOB_FAULT: u32 = 2;

/// `victim`: runs a spinning guest in `vcpu_enter` while its worker (lower priority, above the
/// VCPU) faults; the root task stops the whole component and tells the server, which must
/// release the guest, its VCPU, mapping and traps, and every handle. Never returns: `vcpu_enter`
/// does not come back to a stopped component.
fn victim(mut ctx: Ctx) -> ! {
    let rsrc = resource(&ctx);
    let setup = (|| {
        let mut ram = GuestRam::take(ctx.boot, "victim-ram")
            .map_err(|e| vmm::report::detail(format_args!("guest RAM region: {e:?}")))?;
        let gvm = GuestVm::new(&mut ctx, rsrc, &ram, guests::layout::RAM_BASE)?;
        let v = gvm.boot(&mut ctx, &mut ram, images::SPIN)?;
        expect_ok("port_create", zx_port_create(&mut ctx.t, 0))?;
        Ok::<_, vmm::report::Detail>(v)
    })();
    match setup {
        Ok(v) => {
            debug_println!("vcpu-quota: victim enters a spinning guest; its worker will fault");
            ctx.start(1, JOB_FAULT);
            let mut packet = vcpu_protocol::layout::PortPacket::new_zeroed();
            let s = vcpu_client::zx_vcpu_enter(&mut ctx.t, v, &mut packet);
            debug_println!("FAIL victim: vcpu_enter returned {s:?} to a stopped component");
        }
        Err(d) => debug_println!("FAIL victim set-up: {d:?}"),
    }
    ctx.finish(0, 1)
}

fn worker(ctx: &mut Ctx, job: u32) {
    if job == JOB_FAULT {
        read_address_zero();
    }
    if job == JOB_VCPU {
        let guest = GUEST.load(Ordering::SeqCst);
        let s = zx_vcpu_create(&mut ctx.t, guest, 0, 0x4000).map_or_else(|e| e, |_| Status::OK);
        SECOND_VCPU.store(s.into_raw(), Ordering::SeqCst);
    }
}

fn resource(ctx: &Ctx) -> HandleValue {
    ctx.handle("hypervisor").unwrap_or(0)
}

/// Takes every limit of `greedy` and checks the status one beyond it.
fn greedy(ctx: &mut Ctx) -> CaseResult {
    let rsrc = resource(ctx);
    let ram = GuestRam::take(ctx.boot, "ram")
        .map_err(|e| vmm::report::detail(format_args!("guest RAM region: {e:?}")))?;
    let t = &mut ctx.t;
    // Guests: one, then NO_RESOURCES (as Zircon's VMIDs).
    let (guest, vmar) = expect_ok("guest_create", zx_guest_create(t, rsrc, 0))?;
    expect_err(
        "second guest_create",
        Status::ERR_NO_RESOURCES,
        zx_guest_create(t, rsrc, 0),
    )?;
    // VCPUs: one here, then the worker's is NO_MEMORY.
    expect_ok("vcpu_create", zx_vcpu_create(t, guest, 0, 0x4000))?;
    GUEST.store(guest, Ordering::SeqCst);
    ctx.run_job(1, JOB_VCPU);
    let second = Status::from_raw(SECOND_VCPU.load(Ordering::SeqCst));
    expect_eq("second VCPU (other thread)", Status::ERR_NO_MEMORY, second)?;
    let t = &mut ctx.t;
    // Ports: the runtime parks each waiting thread on a port of its own, so the program
    // creates ports until refused and checks the status and that it never got more than the
    // limit.
    let mut ports = 0;
    let last = loop {
        match zx_port_create(t, 0) {
            Ok(_) if ports < PORTS + 1 => ports += 1,
            Ok(_) => break Status::OK,
            Err(s) => break s,
        }
    };
    expect_eq("port_create beyond the limit", Status::ERR_NO_MEMORY, last)?;
    if ports == 0 || ports > PORTS {
        return Err(vmm::report::detail(format_args!(
            "created {ports} ports with a limit of {PORTS}"
        )));
    }
    // Traps.
    for i in 0..TRAPS {
        let s = zx_guest_set_trap(t, guest, GUEST_TRAP_MEM, MMIO + i * PAGE, PAGE, 0, i);
        expect_eq("set_trap", Status::OK, s)?;
    }
    let s = zx_guest_set_trap(t, guest, GUEST_TRAP_MEM, MMIO + 16 * PAGE, PAGE, 0, 9);
    expect_eq("set_trap beyond the limit", Status::ERR_NO_MEMORY, s)?;
    // Mappings: the region has one frame more than the limit.
    let mut frames = ram.frames();
    for i in 0..MAPPINGS as u64 {
        let f = frames.next().unwrap_or(sel4::Cap::from_cptr(0));
        let at = expect_ok(
            "vmar_map",
            zx_vmar_map(t, vmar, RW_SPECIFIC, i * PAGE, f, PAGE),
        )?;
        expect_eq("mapped at", i * PAGE, at)?;
    }
    let f = frames.next().unwrap_or(sel4::Cap::from_cptr(0));
    expect_err(
        "vmar_map beyond the limit",
        Status::ERR_NO_MEMORY,
        zx_vmar_map(t, vmar, RW_SPECIFIC, 0x10_0000, f, PAGE),
    )?;
    // Handles: duplicates until the table (HANDLES slots) is full.
    let mut dups = 0;
    let last = loop {
        match zx_handle_duplicate(t, rsrc, Rights::SAME_RIGHTS) {
            Ok(_) if dups < HANDLES => dups += 1,
            Ok(_) => break Status::OK,
            Err(s) => break s,
        }
    };
    expect_eq("duplicate with a full table", Status::ERR_NO_MEMORY, last)?;
    // At least resource, guest, VMAR, VCPU and one port are held besides the duplicates.
    if dups == 0 || dups > HANDLES - 5 {
        return Err(vmm::report::detail(format_args!(
            "{dups} duplicates fit a table of {HANDLES}"
        )));
    }
    debug_println!(
        "vcpu-quota: greedy holds its limit of every kind: 1 guest, 1 VCPU, {PORTS} ports \
         ({ports} created here), {TRAPS} traps, {MAPPINGS} mappings, {HANDLES} handles \
         ({dups} duplicates); one more of each is refused"
    );
    Ok(())
}

/// Creates one object of every kind after `greedy` exhausted its limits.
fn neighbour(ctx: &mut Ctx) -> CaseResult {
    let rsrc = resource(ctx);
    let ram = GuestRam::take(ctx.boot, "neighbour-ram")
        .map_err(|e| vmm::report::detail(format_args!("guest RAM region: {e:?}")))?;
    let t = &mut ctx.t;
    let (guest, vmar) = expect_ok("guest_create", zx_guest_create(t, rsrc, 0))?;
    expect_ok("second guest_create", zx_guest_create(t, rsrc, 0))?;
    expect_ok("vcpu_create", zx_vcpu_create(t, guest, 0, 0x4000))?;
    for _ in 0..PORTS {
        expect_ok("port_create", zx_port_create(t, 0))?;
    }
    for i in 0..3 {
        let s = zx_guest_set_trap(t, guest, GUEST_TRAP_MEM, MMIO + i * PAGE, PAGE, 0, i);
        expect_eq("set_trap", Status::OK, s)?;
    }
    for (i, f) in ram.frames().enumerate() {
        let at = i as u64 * PAGE;
        expect_ok("vmar_map", zx_vmar_map(t, vmar, RW_SPECIFIC, at, f, PAGE))?;
    }
    for _ in 0..20 {
        expect_ok(
            "duplicate",
            zx_handle_duplicate(t, rsrc, Rights::SAME_RIGHTS),
        )?;
    }
    debug_println!("vcpu-quota: neighbour served beyond every limit of greedy");
    Ok(())
}

/// Loads a word from address 0 (in assembly: in Rust a null read would be undefined behaviour).
#[allow(unsafe_code)]
fn read_address_zero() {
    // Safety: the load faults (address 0 is never mapped in a component, see plan::vspace) and
    // the root task never resumes this thread; no Rust-visible memory or register is changed.
    unsafe {
        core::arch::asm!("mov {tmp}, #0", "ldr {tmp}, [{tmp}]", tmp = out(reg) _, options(nostack, readonly));
    }
}
