//! The `linux-vmm` program proper (target only); see the binary's documentation.

use vcpu_client::{
    GuestPacket, HandleValue, PortPacket, Status, guest_packet, vcpu_read_state, vcpu_write_state,
    zx_guest_set_trap, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt,
};
use vcpu_protocol::layout::GUEST_TRAP_MEM;
use zerocopy::FromZeros;

use linux_vmm::blob::{self, Blob, INIT_MARKER};
use linux_vmm::board::{Board, ExitRecord, Kind};
use linux_vmm::layout::{self, GICD_BASE, GICD_SIZE, Placement, RAM_BASE, UART_BASE, UART_SIZE};
use linux_vmm::psci::{self, Event};
use linux_vmm::rt::{self, Bump};
use linux_vmm::{fdt, image};
use vmm::elf::GuestMemory;
use vmm::fail;
use vmm::machine::{Vm, complete_read};
use vmm::report::{Detail, Suite, detail, expect_ok};
use vmm::rt::{Ctx, DebugWriter, GuestRam, debug_print, debug_println};

vmm::component!(main = main);

#[global_allocator]
static HEAP: Bump = Bump::new();

/// Trap key of the distributor page.
const KEY_GICD: u64 = 0x6769_6364; // "gicd"
/// Trap key of the UART page.
const KEY_UART: u64 = 0x7561_7274; // "uart"
/// Exits after which the VMM gives up on a guest that never powers off.
const MAX_EXITS: u64 = 5_000_000;
/// The Linux banner's start.
const BANNER: &str = "Linux version ";

fn main(mut ctx: Ctx) -> ! {
    HEAP.init(ctx.boot);
    debug_println!("linux-vmm: starting");
    let mut suite = Suite::new(DebugWriter);
    match prepare(&mut ctx) {
        Ok((vcpu, blob, p)) => {
            suite.record("linux-vmm-setup", Ok(()));
            debug_println!(
                "linux-vmm: Image at {:#x}, initramfs {:#x}..{:#x}, DTB at {:#x}; bootargs \"{}\"",
                p.image,
                p.initrd,
                p.initrd_end,
                p.dtb,
                blob.cmdline
            );
            let run = run(&mut ctx, vcpu);
            judge(&mut suite, &blob, &run);
        }
        Err(d) => suite.record("linux-vmm-setup", Err(d)),
    }
    let ok = suite.summary("linux-vmm");
    debug_println!(
        "linux-vmm: {}",
        if ok {
            "the guest booted and powered off"
        } else {
            "the guest run failed"
        }
    );
    ctx.finish(suite.passed(), suite.failed())
}

/// Loads the boot files into guest RAM, creates the guest and its boot VCPU.
fn prepare(ctx: &mut Ctx) -> Result<(HandleValue, Blob<'static>, Placement), Detail> {
    let Some(resource) = ctx.handle("hypervisor") else {
        return fail!("no `hypervisor` handle in the boot page");
    };
    let Some(region) = rt::read_only_region(ctx.boot, "linux-boot") else {
        return fail!("no mapped `linux-boot` region in the boot page");
    };
    let blob = blob::decode(region).map_err(|e| detail(format_args!("{e}")))?;
    let header = image::parse(blob.image).map_err(|e| detail(format_args!("the Image: {e}")))?;
    let p = layout::place(&header, blob.initrd.len() as u64)
        .map_err(|e| detail(format_args!("placing the boot files: {e}")))?;
    let mut ram = match GuestRam::take(ctx.boot, "guest-ram") {
        Ok(r) => r,
        Err(e) => return fail!("guest-ram: {e:?}"),
    };
    let ram_size = ram.frame_size() * ram.frame_count();
    if ram_size != layout::RAM_SIZE || ram.frame_size() != 2 << 20 {
        return fail!(
            "guest-ram is {ram_size:#x} bytes in {:#x}-byte frames; the layout needs {:#x} in 2 MiB frames",
            ram.frame_size(),
            layout::RAM_SIZE
        );
    }
    let dtb = fdt::build(&p, blob.cmdline)
        .map_err(|e| detail(format_args!("writing the device tree: {e:?}")))?;
    if dtb.len() as u64 > layout::DTB_MAX {
        return fail!("the device tree is {} bytes", dtb.len());
    }
    let off = |gpa: u64| (gpa - RAM_BASE) as usize;
    // The Image's BSS (`image_size` past the file) must read as zero: the root task zeroed the
    // region, and nothing else is written there.
    ram.write(off(p.image), blob.image);
    ram.write(off(p.initrd), blob.initrd);
    ram.write(off(p.dtb), &dtb);

    // Mapping cleans and invalidates each frame, so the guest (caches off) sees what we wrote.
    let vm = expect_ok("guest_create", Vm::create(&mut ctx.t, resource))?;
    expect_ok(
        "vmar_map",
        vm.map(&mut ctx.t, RAM_BASE, ram.frame_size(), ram.frames()),
    )?;
    for (addr, size, key) in [
        (GICD_BASE, GICD_SIZE, KEY_GICD),
        (UART_BASE, UART_SIZE, KEY_UART),
    ] {
        let s = zx_guest_set_trap(&mut ctx.t, vm.guest, GUEST_TRAP_MEM, addr, size, 0, key);
        expect_ok("set_trap", s.ok())?;
    }
    let vcpu = expect_ok(
        "vcpu_create",
        zx_vcpu_create(&mut ctx.t, vm.guest, 0, p.image),
    )?;
    let mut state = expect_ok("read_state", vcpu_read_state(&mut ctx.t, vcpu))?;
    state.x[0] = p.dtb;
    state.x[1] = 0;
    state.x[2] = 0;
    state.x[3] = 0;
    expect_ok(
        "write_state",
        vcpu_write_state(&mut ctx.t, vcpu, &state).ok(),
    )?;
    Ok((vcpu, blob, p))
}

/// How the run went.
struct Run {
    /// The first banner line, if seen.
    banner: bool,
    /// Counter ticks from the first enter to the `/init` line.
    init_line: Option<u64>,
    /// Counter ticks from the first enter to power-off.
    power_off: Option<u64>,
    /// Why the run ended, if not by power-off.
    failure: Option<Detail>,
    board: Board,
    enters: u64,
    loads: u64,
}

fn run(ctx: &mut Ctx, vcpu: HandleValue) -> Run {
    let mut r = Run {
        banner: false,
        init_line: None,
        power_off: None,
        failure: None,
        board: Board::new(),
        enters: 0,
        loads: 0,
    };
    let mut packet = PortPacket::new_zeroed();
    let start = rt::counter();
    while r.enters < MAX_EXITS {
        r.enters += 1;
        let status = zx_vcpu_enter(&mut ctx.t, vcpu, &mut packet);
        if !status.is_ok() {
            r.board.record(ExitRecord {
                kind: Kind::Status,
                addr: status.into_raw() as u64,
                size: 0,
                read: false,
                value: 0,
            });
            match psci::from_status(status) {
                Some(Event::SystemOff) => {
                    r.power_off = Some(rt::counter() - start);
                }
                _ => {
                    debug_println!(
                        "linux-vmm: vcpu_enter returned {status:?} after {} exits: {}",
                        r.enters,
                        psci::explain(status)
                    );
                    r.failure = Some(detail(format_args!(
                        "vcpu_enter returned {status:?} after {} exits",
                        r.enters
                    )));
                }
            }
            return r;
        }
        if let Err(d) = handle_packet(ctx, vcpu, &packet, &mut r, start) {
            r.failure = Some(d);
            return r;
        }
    }
    r.failure = Some(detail(format_args!("no power-off after {MAX_EXITS} exits")));
    r
}

fn handle_packet(
    ctx: &mut Ctx,
    vcpu: HandleValue,
    packet: &PortPacket,
    r: &mut Run,
    start: u64,
) -> Result<(), Detail> {
    let m = match guest_packet(packet) {
        GuestPacket::Mem(m) if packet.key == KEY_GICD || packet.key == KEY_UART => m,
        GuestPacket::Vcpu(v) => {
            r.board.counts.packets += 1;
            return fail!(
                "unexpected VCPU packet {:?} (one VCPU only)",
                psci::from_vcpu_packet(&v)
            );
        }
        other => {
            r.board.counts.packets += 1;
            return fail!("unexpected packet key {:#x}: {other:?}", packet.key);
        }
    };
    let out = r.board.mem(&m);
    if out.wild {
        return fail!(
            "wild MMIO: {} of {} bytes at {:#x} (no device there)",
            if m.read != 0 { "read" } else { "write" },
            m.access_size,
            m.addr
        );
    }
    if let Some(line) = &out.line {
        debug_println!("linux: {}", line.as_str());
        if line.contains(BANNER) {
            r.banner = true;
        }
        if r.init_line.is_none() && line.starts_with(INIT_MARKER) {
            r.init_line = Some(rt::counter() - start);
        }
    }
    for &intid in &out.interrupts {
        let s = zx_vcpu_interrupt(&mut ctx.t, vcpu, intid);
        if !s.is_ok() {
            return fail!("vcpu_interrupt({intid}): {s:?}");
        }
    }
    if let Some(value) = out.load {
        r.loads += 1;
        let s = complete_read(&mut ctx.t, vcpu, m.xt, value);
        if !s.is_ok() {
            return fail!("completing a load at {:#x}: {s:?}", m.addr);
        }
    }
    Ok(())
}

fn judge(suite: &mut Suite<DebugWriter>, blob: &Blob<'_>, r: &Run) {
    let c = &r.board.counts;
    let hz = rt::counter_hz().max(1);
    let ns = |ticks: u64| (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64;
    debug_println!(
        "linux-vmm: exits seen by the VMM: {} enters, gicd {}, uart {}, wild {}, other packets {}; {} loads completed, {} interrupts injected",
        r.enters,
        c.gicd,
        c.uart,
        c.wild,
        c.packets,
        r.loads,
        c.injected
    );
    debug_println!(
        "linux-vmm: timing (virtual counter from the first enter): init-line {} ns, power-off {} ns",
        r.init_line.map_or(0, ns),
        r.power_off.map_or(0, ns)
    );
    if let Some(d) = &r.failure {
        print_last_exits(r);
        suite.record("linux-power-off", Err(d.clone()));
    } else {
        suite.record("linux-power-off", Ok(()));
    }
    let quiet = blob.cmdline.split(' ').any(|a| a == "quiet");
    if !quiet {
        let banner = if r.banner {
            Ok(())
        } else {
            Err(detail(format_args!(
                "no `{BANNER}` line on the guest console"
            )))
        };
        suite.record("linux-banner", banner);
    }
    if blob.own_init {
        let init = if r.init_line.is_some() {
            Ok(())
        } else {
            Err(detail(format_args!("no `{INIT_MARKER}` line from /init")))
        };
        suite.record("linux-init-line", init);
    }
    if r.board.gicd.ignored + r.board.uart.ignored > 0 {
        debug_println!(
            "linux-vmm: note: {} distributor and {} UART accesses hit no register",
            r.board.gicd.ignored,
            r.board.uart.ignored
        );
    }
}

fn print_last_exits(r: &Run) {
    debug_println!("linux-vmm: the last exits, oldest first:");
    for e in r.board.last_exits() {
        match e.kind {
            Kind::Status => {
                let status = Status::from_raw(e.addr as i64 as i32);
                debug_println!("  enter -> {status:?}");
            }
            _ => debug_println!(
                "  {:?} {} {}B at {:#x} value {:#x}",
                e.kind,
                if e.read { "read" } else { "write" },
                e.size,
                e.addr,
                e.value
            ),
        }
    }
    let pending = r.board.uart.pending();
    if !pending.is_empty() {
        debug_print!("linux: {pending}\n");
    }
}
