//! A guest with RAM from one of the component's regions, ready to run the guest images: the
//! common set-up of the VMM and the scenario programs.

use vcpu_client::{HandleValue, zx_handle_close, zx_vcpu_create};

use crate::elf::Loaded;
use crate::machine::Vm;
use crate::report::{Detail, detail, expect_ok};

use super::{Ctx, GuestRam};

/// A guest with RAM mapped at `base` and the UART and test-device traps.
#[derive(Clone, Copy, Debug)]
pub struct GuestVm {
    /// The guest and VMAR handles.
    pub vm: Vm,
    /// Guest-physical base of the RAM.
    pub base: u64,
}

impl GuestVm {
    /// Creates a guest with `resource`, maps `ram` at `base` (the server gets derived copies of
    /// the frame capabilities, so one region can back several guests), and sets the device
    /// traps.
    pub fn new(
        ctx: &mut Ctx,
        resource: HandleValue,
        ram: &GuestRam,
        base: u64,
    ) -> Result<GuestVm, Detail> {
        let vm = expect_ok("guest_create", Vm::create(&mut ctx.t, resource))?;
        let frames = ram.frames();
        expect_ok(
            "vmar_map",
            vm.map(&mut ctx.t, base, ram.frame_size(), frames),
        )?;
        expect_ok("set_trap", vm.trap_devices(&mut ctx.t))?;
        Ok(GuestVm { vm, base })
    }

    /// Loads `image` into `ram` (caches cleaned).
    pub fn load(&self, ctx: &mut Ctx, ram: &mut GuestRam, image: &[u8]) -> Result<Loaded, Detail> {
        ram.load(ctx.ipc(), image, self.base)
            .map_err(|e| detail(format_args!("loading the image: {e}")))
    }

    /// Loads `image` into `ram` and creates a VCPU (of the calling thread) at its entry.
    pub fn boot(
        &self,
        ctx: &mut Ctx,
        ram: &mut GuestRam,
        image: &[u8],
    ) -> Result<HandleValue, Detail> {
        let loaded = self.load(ctx, ram, image)?;
        expect_ok(
            "vcpu_create",
            zx_vcpu_create(&mut ctx.t, self.vm.guest, 0, loaded.entry),
        )
    }

    /// Closes the guest and VMAR handles (the guest lives on while VCPUs or other handles do).
    pub fn close(self, ctx: &mut Ctx) {
        let _ = zx_handle_close(&mut ctx.t, self.vm.guest);
        let _ = zx_handle_close(&mut ctx.t, self.vm.vmar);
    }
}
