//! The program's context, its case table, the helper thread's jobs, and shared helpers.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use caps::Rights;
use vcpu_client::{
    HandleValue, PortPacket, Status, VcpuState, vcpu_info_flags, vcpu_read_state, vcpu_write_state,
    zx_handle_close, zx_handle_duplicate, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt,
    zx_vcpu_kick, zx_vcpu_read_state,
};
use zerocopy::FromZeros;

use vmm::machine::Vm;
use vmm::report::{Case, CaseResult, Detail, Suite, detail, expect_ok};
use vmm::rt::{Ctx, DebugWriter, GuestRam, debug_println};

use crate::{guest, handles, limits, peers, vcpu, vmar};

vmm::component!(main = main, worker = helper);

/// The case context.
pub struct Api {
    /// The main thread.
    pub ctx: Ctx,
    /// The `hypervisor` grant (the resource's default rights).
    pub resource: HandleValue,
    /// The `hypervisor-inspect` grant (INSPECT only).
    pub inspect_only: HandleValue,
    /// Region `ram`: one 2 MiB frame.
    pub ram: GuestRam,
    /// Region `small`: 16 frames of 4 KiB.
    pub small: GuestRam,
}

macro_rules! case {
    ($name:literal, $f:path) => {
        Case {
            name: $name,
            run: $f,
        }
    };
}

/// Every case, in order. Each cleans up what it creates, so the order matters only for the
/// last one (`api-guest-run-with-peers`), which lets the other clients run.
pub const CASES: &[Case<Api>] = &[
    case!("api-guest-create", guest::create),
    case!("api-guest-create-options", guest::create_options),
    case!("api-guest-create-handles", guest::create_handles),
    case!("api-resource-rights", guest::resource_rights),
    case!("api-set-trap", guest::set_trap),
    case!("api-set-trap-alignment-range", guest::set_trap_alignment),
    case!("api-set-trap-overlap", guest::set_trap_overlap),
    case!("api-set-trap-kinds", guest::set_trap_kinds),
    case!("api-set-trap-rights-types", guest::set_trap_rights),
    case!("api-vcpu-create", vcpu::create),
    case!("api-vcpu-create-errors", vcpu::create_errors),
    case!("api-vcpu-one-per-thread", vcpu::one_per_thread),
    case!("api-vcpu-state", vcpu::state),
    case!("api-vcpu-state-sizes-kinds", vcpu::state_sizes),
    case!("api-vcpu-state-rights", vcpu::state_rights),
    case!("api-vcpu-kick", vcpu::kick),
    case!("api-vcpu-interrupt", vcpu::interrupt),
    case!("api-vcpu-get-info", vcpu::get_info),
    case!("api-vcpu-wrong-thread", vcpu::wrong_thread),
    case!("api-handle-duplicate", handles::duplicate),
    case!("api-handle-replace", handles::replace),
    case!("api-handle-close-forged-stale", handles::close_forged),
    case!("api-handle-send-receive", handles::send_receive),
    case!("api-handle-inbox-full", handles::inbox_full),
    case!("api-port", handles::port),
    case!("api-port-queue", handles::port_queue),
    case!("api-port-waiter-vanished", handles::port_waiter_vanished),
    case!("api-vmar-map-large", vmar::large),
    case!("api-vmar-map-errors", vmar::errors),
    case!("api-vmar-map-small", vmar::small),
    case!("api-vmar-map-over-traps", vmar::traps),
    case!("api-vmar-unmap-protect", vmar::unmap_protect),
    case!("api-vmar-map-frames", vmar::map_frames),
    case!("api-trap-in-large-frame", vmar::trap_in_large_frame),
    case!(
        "api-guest-destroy-releases-frames",
        vmar::remap_after_destroy
    ),
    case!("api-guest-budget", limits::guest_budget),
    case!("api-handle-table-full", limits::handle_table_full),
    case!("api-port-capacity", limits::port_capacity),
    case!("api-guest-run-with-peers", peers::run_with_peers),
    case!("api-peer-tokens", peers::tokens),
];

fn main(mut ctx: Ctx) -> ! {
    let mut suite = Suite::new(DebugWriter);
    match setup(&mut ctx) {
        Ok((resource, inspect_only, ram, small)) => {
            let mut api = Api {
                ctx,
                resource,
                inspect_only,
                ram,
                small,
            };
            suite.run(&mut api, CASES);
            suite.summary("vcpu-api");
            api.ctx.finish(suite.passed(), suite.failed())
        }
        Err(d) => {
            suite.record("api-setup", Err(d));
            ctx.finish(suite.passed(), suite.failed())
        }
    }
}

fn setup(ctx: &mut Ctx) -> Result<(HandleValue, HandleValue, GuestRam, GuestRam), Detail> {
    let resource = ctx
        .handle("hypervisor")
        .ok_or_else(|| detail(format_args!("no grant")))?;
    let inspect = ctx.handle("hypervisor-inspect");
    let inspect = inspect.ok_or_else(|| detail(format_args!("no inspect grant")))?;
    let ram = GuestRam::take(ctx.boot, "ram").map_err(|e| detail(format_args!("ram: {e:?}")))?;
    let small = GuestRam::take(ctx.boot, "small");
    let small = small.map_err(|e| detail(format_args!("small: {e:?}")))?;
    debug_println!("vcpu-api: resource {resource:#x}, inspect-only resource {inspect:#x}");
    Ok((resource, inspect, ram, small))
}

// ---- helpers ----------------------------------------------------------------------------

impl Api {
    /// A new guest without RAM or traps.
    pub fn guest(&mut self) -> Result<Vm, Detail> {
        expect_ok("guest_create", Vm::create(&mut self.ctx.t, self.resource))
    }

    /// Closes `handles` (ignoring errors: for cleaning up).
    pub fn close(&mut self, handles: &[HandleValue]) {
        for &h in handles {
            let _ = zx_handle_close(&mut self.ctx.t, h);
        }
    }

    /// Closes a guest's two handles.
    pub fn close_vm(&mut self, vm: Vm) {
        self.close(&[vm.guest, vm.vmar]);
    }

    /// `zx_handle_duplicate(h, rights)`.
    pub fn dup(&mut self, h: HandleValue, rights: Rights) -> Result<HandleValue, Detail> {
        expect_ok("duplicate", zx_handle_duplicate(&mut self.ctx.t, h, rights))
    }

    /// A guest and a VCPU of the main thread at an unmapped entry (it faults at once if
    /// entered: `ZX_ERR_NOT_FOUND`).
    pub fn guest_and_vcpu(&mut self) -> Result<(Vm, HandleValue), Detail> {
        let vm = self.guest()?;
        match zx_vcpu_create(&mut self.ctx.t, vm.guest, 0, UNMAPPED_ENTRY) {
            Ok(v) => Ok((vm, v)),
            Err(s) => {
                self.close_vm(vm);
                Err(detail(format_args!(
                    "vcpu_create: expected ZX_OK, got {s:?}"
                )))
            }
        }
    }
}

/// A guest-physical entry with nothing mapped there.
pub const UNMAPPED_ENTRY: u64 = 0x1000;

/// `rights` minus `without`.
pub fn minus(rights: Rights, without: Rights) -> Rights {
    rights.difference(without)
}

// ---- the helper thread ------------------------------------------------------------------

/// The helper's thread index.
pub const HELPER: usize = 1;
/// Job: the wrong-thread checks on [`TARGET`] (see `vcpu::wrong_thread`).
pub const JOB_WRONG_THREAD: u32 = 1;
/// Job: close the helper's own VCPU [`HELPER_VCPU`].
pub const JOB_CLOSE_OWN: u32 = 2;
/// Job: `port_wait` on [`WAIT_PORT`] (infinite deadline); the key received into
/// [`WAIT_RESULT`] (its status negated if not OK).
pub const JOB_WAIT_PORT: u32 = 3;

/// The port of [`JOB_WAIT_PORT`].
pub static WAIT_PORT: AtomicU32 = AtomicU32::new(0);
/// What [`JOB_WAIT_PORT`] received.
pub static WAIT_RESULT: core::sync::atomic::AtomicI64 = core::sync::atomic::AtomicI64::new(0);

/// The main thread's VCPU and its guest, for the helper.
pub static TARGET: AtomicU32 = AtomicU32::new(0);
pub static TARGET_GUEST: AtomicU32 = AtomicU32::new(0);
/// The VCPU the helper created.
pub static HELPER_VCPU: AtomicU32 = AtomicU32::new(0);
/// What the helper saw, in the order of [`HELPER_CALLS`].
pub static HELPER_RESULTS: [AtomicI32; HELPER_CALLS.len()] =
    [const { AtomicI32::new(0) }; HELPER_CALLS.len()];

/// The calls the helper makes on the main thread's VCPU, and what each must return.
pub const HELPER_CALLS: [(&str, Status); 9] = [
    ("enter from another thread", Status::ERR_BAD_STATE),
    ("read_state from another thread", Status::ERR_BAD_STATE),
    ("write_state from another thread", Status::ERR_BAD_STATE),
    (
        "read_state of 8 bytes from another thread",
        Status::ERR_INVALID_ARGS,
    ),
    ("kick from another thread", Status::OK),
    ("interrupt from another thread", Status::OK),
    ("get_info from another thread", Status::OK),
    ("vcpu_create on the helper thread", Status::OK),
    ("read_state of its own VCPU", Status::OK),
];

fn helper(ctx: &mut Ctx, job: u32) {
    match job {
        JOB_WRONG_THREAD => wrong_thread_job(ctx),
        JOB_CLOSE_OWN => {
            let own = HELPER_VCPU.swap(0, Ordering::SeqCst);
            let _ = zx_handle_close(&mut ctx.t, own);
        }
        JOB_WAIT_PORT => {
            let mut packet = PortPacket::new_zeroed();
            let port = WAIT_PORT.load(Ordering::SeqCst);
            let s = vcpu_client::zx_port_wait(
                &mut ctx.t,
                port,
                vcpu_protocol::layout::TIME_INFINITE,
                &mut packet,
            );
            let result = if s == Status::OK {
                packet.key as i64
            } else {
                -i64::from(s.into_raw())
            };
            WAIT_RESULT.store(result, Ordering::SeqCst);
        }
        _ => {}
    }
}

fn wrong_thread_job(ctx: &mut Ctx) {
    let target = TARGET.load(Ordering::SeqCst);
    let guest = TARGET_GUEST.load(Ordering::SeqCst);
    let t = &mut ctx.t;
    let mut packet = PortPacket::new_zeroed();
    let mut small = [0u8; 8];
    let statuses = [
        zx_vcpu_enter(t, target, &mut packet),
        vcpu_read_state(t, target).err().unwrap_or(Status::OK),
        vcpu_write_state(t, target, &VcpuState::new_zeroed()),
        zx_vcpu_read_state(t, target, 0, &mut small),
        zx_vcpu_kick(t, target),
        zx_vcpu_interrupt(t, target, 33),
        vcpu_info_flags(t, target).err().unwrap_or(Status::OK),
        match zx_vcpu_create(t, guest, 0, UNMAPPED_ENTRY) {
            Ok(v) => {
                HELPER_VCPU.store(v, Ordering::SeqCst);
                Status::OK
            }
            Err(s) => s,
        },
        vcpu_read_state(t, HELPER_VCPU.load(Ordering::SeqCst))
            .err()
            .unwrap_or(Status::OK),
    ];
    for (slot, s) in HELPER_RESULTS.iter().zip(statuses) {
        slot.store(s.into_raw(), Ordering::SeqCst);
    }
}

/// Checks the helper's results against [`HELPER_CALLS`].
pub fn helper_results() -> CaseResult {
    for ((what, want), got) in HELPER_CALLS.iter().zip(&HELPER_RESULTS) {
        let got = Status::from_raw(got.load(Ordering::SeqCst));
        vmm::report::expect_status(what, *want, got)?;
    }
    Ok(())
}
