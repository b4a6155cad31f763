//! The program's context, its case table, and the helpers the cases share.

use guests::layout::RAM_BASE;
use heapless::{String, Vec};
use vcpu_client::{HandleValue, zx_handle_close};

use vmm::machine::{Devices, RunEnd, run};
use vmm::report::{Case, Detail, Suite, detail};
use vmm::rt::{Ctx, DebugWriter, GuestRam, GuestVm, debug_println};

use crate::{conform, exec, helper, multi, vgic};

vmm::component!(main = main, worker = helper::job);

/// The case context.
pub struct G {
    /// The main thread.
    pub ctx: Ctx,
    /// The hypervisor resource.
    pub resource: HandleValue,
    /// Region `ram-a`: the RAM of the guests main runs.
    pub ram_a: GuestRam,
    /// Region `ram-b`: the RAM of a second guest.
    pub ram_b: GuestRam,
}

macro_rules! case {
    ($name:literal, $f:path) => {
        Case {
            name: $name,
            run: $f,
        }
    };
}

/// Every case, in order; each makes its own guest (so VCPU ids, and the CPU numbers the
/// guests print, start from 0) and closes everything it made.
pub const CASES: &[Case<G>] = &[
    case!("guests-compute-registers", exec::compute),
    case!("guests-psci-power-results", exec::psci),
    case!("guests-hello-uart", exec::hello),
    case!("guests-mmio-every-size", exec::mmio),
    case!("guests-bell-port", exec::bell),
    case!("guests-bell-pool-per-trap", exec::bell_pool_per_trap),
    case!("guests-irq-injected", exec::irq),
    case!("guests-kick-wfi", exec::kick_wfi),
    case!("guests-kick-before-enter", exec::kick_before_enter),
    case!("guests-kick-running-guest", exec::kick_running),
    case!("guest-vtimer", vgic::vtimer),
    case!("guest-irq-overflow", vgic::irq_overflow),
    case!("guests-smp-two-vcpus", multi::smp),
    case!("guests-two-guests-at-once", multi::two_guests),
    case!("guests-gic-default-spin", conform::gic_default_spin),
    case!("guests-gic-default-iar-wfi", conform::gic_default_iar_wfi),
    case!("guests-el0-wfi-aarch64", conform::el0_wfi_aarch64),
    case!("guests-el0-wfi-aarch32", conform::el0_wfi_aarch32),
    case!("guests-still-served", exec::compute),
];

fn main(ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    let setup = (|| {
        let resource = ctx
            .handle("hypervisor")
            .ok_or_else(|| detail(format_args!("no grant")))?;
        let take = |name| GuestRam::take(ctx.boot, name);
        let ram_a = take("ram-a").map_err(|e| detail(format_args!("ram-a: {e:?}")))?;
        let ram_b = take("ram-b").map_err(|e| detail(format_args!("ram-b: {e:?}")))?;
        Ok::<_, Detail>((resource, ram_a, ram_b))
    })();
    match setup {
        Ok((resource, ram_a, ram_b)) => {
            let mut g = G {
                ctx,
                resource,
                ram_a,
                ram_b,
            };
            suite.run(&mut g, CASES);
            suite.summary("vcpu-guests");
            g.ctx.finish(suite.passed(), suite.failed())
        }
        Err(d) => {
            suite.record("guests-setup", Err(d));
            ctx.finish(suite.passed(), suite.failed())
        }
    }
}

/// Exits allowed per run.
pub const MAX_EXITS: u32 = 20_000;

/// Lines a guest printed.
pub type Lines = Vec<String<64>, 8>;

impl G {
    /// A fresh guest on `ram-a` with the device traps.
    pub fn fresh(&mut self) -> Result<GuestVm, Detail> {
        GuestVm::new(&mut self.ctx, self.resource, &self.ram_a, RAM_BASE)
    }

    /// Loads `image` into `ram-a` and creates a VCPU of the main thread in `gvm` at its entry.
    pub fn boot(&mut self, gvm: &GuestVm, image: &[u8]) -> Result<HandleValue, Detail> {
        gvm.boot(&mut self.ctx, &mut self.ram_a, image)
    }

    /// Runs `vcpu` with `devs`, printing and collecting the guest's UART lines.
    pub fn run(&mut self, vcpu: HandleValue, devs: &mut Devices, lines: &mut Lines) -> RunEnd {
        run(&mut self.ctx.t, vcpu, MAX_EXITS, |_, p| {
            devs.handle(p, &mut |l| {
                debug_println!("guest: {l}");
                let _ = lines.push(l.chars().take(64).collect());
            })
        })
    }

    /// Closes handles (ignoring errors: for cleaning up).
    pub fn close(&mut self, handles: &[HandleValue]) {
        for &h in handles {
            let _ = zx_handle_close(&mut self.ctx.t, h);
        }
    }
}
