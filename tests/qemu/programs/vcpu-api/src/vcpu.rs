//! Cases of `zx_vcpu_create`, `read_state`/`write_state`, `kick`, `interrupt`,
//! `object_get_info(ZX_INFO_VCPU)`, and thread affinity (spec §1.0, §1.3-§1.9, §3.8).

use core::sync::atomic::Ordering;

use caps::{ObjType, Rights};
use vcpu_client::VcpuIo;
use vcpu_client::{
    HandleValue, PortPacket, Status, VcpuState, vcpu_info_flags, vcpu_read_state, vcpu_write_io,
    vcpu_write_state, zx_object_get_info, zx_vcpu_create, zx_vcpu_enter, zx_vcpu_interrupt,
    zx_vcpu_kick, zx_vcpu_read_state, zx_vcpu_write_state,
};
use vcpu_protocol::layout::{
    GUEST_PHYS_SIZE, INFO_VCPU, INFO_VCPU_FLAG_KICKED, VCPU_IO, VCPU_STATE,
};
use zerocopy::{FromZeros, IntoBytes};

use vmm::fail;
use vmm::machine::Vm;
use vmm::report::{CaseResult, expect_eq, expect_err, expect_ok, expect_status, handle_value};

use crate::api::{
    self, Api, HELPER, HELPER_VCPU, JOB_CLOSE_OWN, JOB_WRONG_THREAD, TARGET, TARGET_GUEST, minus,
};

const VCPU_RIGHTS: Rights = ObjType::Vcpu.default_rights();

/// Runs `f` with a fresh guest and a VCPU of the main thread, then closes both.
fn with_vcpu(a: &mut Api, f: impl FnOnce(&mut Api, Vm, HandleValue) -> CaseResult) -> CaseResult {
    let (vm, vcpu) = a.guest_and_vcpu()?;
    let r = f(a, vm, vcpu);
    a.close(&[vcpu]);
    a.close_vm(vm);
    r
}

pub fn create(a: &mut Api) -> CaseResult {
    let vm = a.guest()?;
    let r = zx_vcpu_create(&mut a.ctx.t, vm.guest, 0, 0x4000_0000);
    let r = expect_ok("vcpu_create", r).map(|v| a.close(&[v]));
    // The VCPU kept the guest alive until now; closing it lets the guest go.
    a.close_vm(vm);
    r
}

pub fn create_errors(a: &mut Api) -> CaseResult {
    let vm = a.guest()?;
    let r = (|| {
        let t = &mut a.ctx.t;
        let inv = Status::ERR_INVALID_ARGS;
        // V3 order: options before the handle.
        expect_err("options 1, bad handle", inv, zx_vcpu_create(t, 0, 1, 0))?;
        expect_err("options 1", inv, zx_vcpu_create(t, vm.guest, 1, 0))?;
        let far = zx_vcpu_create(t, vm.guest, 0, GUEST_PHYS_SIZE);
        expect_err("entry 2^36", inv, far)?;
        let wrong = zx_vcpu_create(t, vm.vmar, 0, 0);
        expect_err("VMAR as guest", Status::ERR_WRONG_TYPE, wrong)?;
        let forged = zx_vcpu_create(t, handle_value(33, 2), 0, 0);
        expect_err("forged guest", Status::ERR_BAD_HANDLE, forged)?;
        let no_manage = minus(ObjType::Guest.default_rights(), Rights::MANAGE_THREAD);
        let g = a.dup(vm.guest, no_manage)?;
        let r = zx_vcpu_create(&mut a.ctx.t, g, 0, 0);
        a.close(&[g]);
        expect_err("guest without MANAGE_THREAD", Status::ERR_ACCESS_DENIED, r)
    })();
    a.close_vm(vm);
    r
}

pub fn one_per_thread(a: &mut Api) -> CaseResult {
    let vm = a.guest()?;
    let r = (|| {
        let first = expect_ok("first", zx_vcpu_create(&mut a.ctx.t, vm.guest, 0, 0))?;
        let second = zx_vcpu_create(&mut a.ctx.t, vm.guest, 0, 0);
        expect_err("second VCPU on the thread", Status::ERR_BAD_STATE, second)?;
        let other = a.guest()?;
        let third = zx_vcpu_create(&mut a.ctx.t, other.guest, 0, 0);
        a.close_vm(other);
        expect_err("VCPU of another guest", Status::ERR_BAD_STATE, third)?;
        // The thread is bound until the *last* handle is closed.
        let dup = a.dup(first, Rights::SAME_RIGHTS)?;
        a.close(&[first]);
        let again = zx_vcpu_create(&mut a.ctx.t, vm.guest, 0, 0);
        expect_err("while a duplicate lives", Status::ERR_BAD_STATE, again)?;
        a.close(&[dup]);
        let freed = expect_ok(
            "after the last close",
            zx_vcpu_create(&mut a.ctx.t, vm.guest, 0, 0),
        )?;
        a.close(&[freed]);
        Ok(())
    })();
    a.close_vm(vm);
    r
}

fn pattern() -> VcpuState {
    let mut s = VcpuState::new_zeroed();
    for (i, x) in s.x.iter_mut().enumerate() {
        *x = 0x1111_0000_0000_0000 * (i as u64 % 15 + 1) + i as u64;
    }
    s.sp = 0x4010_0000;
    s
}

pub fn state(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, _, v| {
        let t = &mut a.ctx.t;
        let fresh = expect_ok("read_state of a fresh VCPU", vcpu_read_state(t, v))?;
        expect_eq("fresh x0..x30", [0u64; 31], fresh.x)?;
        expect_eq("fresh sp", 0, fresh.sp)?;
        expect_eq("fresh cpsr (flags only)", 0, fresh.cpsr)?;
        let mut want = pattern();
        want.cpsr = 0x9000_0000;
        expect_status("write_state", Status::OK, vcpu_write_state(t, v, &want))?;
        let got = expect_ok("read_state", vcpu_read_state(t, v))?;
        expect_eq("x0..x30", want.x, got.x)?;
        expect_eq("sp", want.sp, got.sp)?;
        expect_eq("cpsr N and V", 0x9000_0000, got.cpsr)?;
        // cpsr is OR-ed in: flags can be set but never cleared; non-flag bits are ignored.
        let mut next = want;
        next.cpsr = 0x2000_03C5;
        expect_status("write_state", Status::OK, vcpu_write_state(t, v, &next))?;
        let got = expect_ok("read_state", vcpu_read_state(t, v))?;
        expect_eq("cpsr after OR", 0xB000_0000, got.cpsr)?;
        expect_eq("padding", [0u8; 4], got.padding1)
    })
}

pub fn state_sizes(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, _, v| {
        let t = &mut a.ctx.t;
        let inv = Status::ERR_INVALID_ARGS;
        for len in [0usize, 8, 263, 265, 512] {
            let mut buf = [0u8; 512];
            let s = zx_vcpu_read_state(t, v, VCPU_STATE, &mut buf[..len]);
            expect_status("read_state of a wrong size", inv, s)?;
            let s = zx_vcpu_write_state(t, v, VCPU_STATE, &buf[..len]);
            expect_status("write_state of a wrong size", inv, s)?;
        }
        let mut io = [0u8; 8];
        let s = zx_vcpu_read_state(t, v, VCPU_IO, &mut io);
        expect_status("read_state ZX_VCPU_IO", inv, s)?;
        let io_state = VcpuIo {
            access_size: 1,
            padding1: [0; 3],
            data: [0x41, 0, 0, 0],
        };
        expect_status(
            "write_state ZX_VCPU_IO (arm64)",
            inv,
            vcpu_write_io(t, v, &io_state),
        )?;
        let state = VcpuState::new_zeroed();
        let s = zx_vcpu_write_state(t, v, 2, state.as_bytes());
        expect_status("write_state kind 2", inv, s)?;
        let mut buf = [0u8; 264];
        expect_status(
            "read_state kind 7",
            inv,
            zx_vcpu_read_state(t, v, 7, &mut buf),
        )?;
        let huge = [0u8; 945];
        let s = zx_vcpu_write_state(t, v, VCPU_STATE, &huge);
        expect_status("write_state of 945 bytes (refused locally)", inv, s)
    })
}

pub fn state_rights(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, _, v| {
        let denied = Status::ERR_ACCESS_DENIED;
        let no_read = a.dup(v, minus(VCPU_RIGHTS, Rights::READ))?;
        let no_write = a.dup(v, minus(VCPU_RIGHTS, Rights::WRITE))?;
        let t = &mut a.ctx.t;
        let r = expect_err(
            "read_state without READ",
            denied,
            vcpu_read_state(t, no_read),
        )
        .and_then(|()| {
            let s = vcpu_write_state(t, no_write, &VcpuState::new_zeroed());
            expect_status("write_state without WRITE", denied, s)
        })
        .and_then(|()| expect_ok("read_state with READ", vcpu_read_state(t, no_write)).map(|_| ()));
        a.close(&[no_read, no_write]);
        r?;
        let wrong = vcpu_read_state(&mut a.ctx.t, a.resource);
        expect_err("read_state of a resource", Status::ERR_WRONG_TYPE, wrong)
    })
}

fn enter(a: &mut Api, v: HandleValue) -> Status {
    let mut packet = PortPacket::new_zeroed();
    zx_vcpu_enter(&mut a.ctx.t, v, &mut packet)
}

pub fn kick(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, vm, v| {
        expect_eq("flags before", Ok(0), vcpu_info_flags(&mut a.ctx.t, v))?;
        expect_status("kick", Status::OK, zx_vcpu_kick(&mut a.ctx.t, v))?;
        let kicked = Ok(INFO_VCPU_FLAG_KICKED);
        expect_eq(
            "flags after a kick",
            kicked,
            vcpu_info_flags(&mut a.ctx.t, v),
        )?;
        expect_status("second kick", Status::OK, zx_vcpu_kick(&mut a.ctx.t, v))?;
        expect_status("enter after kicks", Status::ERR_CANCELED, enter(a, v))?;
        expect_eq("flags after enter", Ok(0), vcpu_info_flags(&mut a.ctx.t, v))?;
        // (That the kicks coalesced, i.e. the next enter runs the guest, is a case of
        // vcpu-guests: no case here may let the main thread block before the last one.)
        let no_exec = a.dup(v, minus(VCPU_RIGHTS, Rights::EXECUTE))?;
        let denied = Status::ERR_ACCESS_DENIED;
        let k = zx_vcpu_kick(&mut a.ctx.t, no_exec);
        let e = enter(a, no_exec);
        a.close(&[no_exec]);
        expect_status("kick without EXECUTE", denied, k)?;
        expect_status("enter without EXECUTE", denied, e)?;
        let wrong = Status::ERR_WRONG_TYPE;
        expect_status("kick a guest", wrong, zx_vcpu_kick(&mut a.ctx.t, vm.guest))?;
        expect_status("enter a guest", wrong, enter(a, vm.guest))?;
        let forged = handle_value(60, 9);
        expect_status(
            "enter a forged handle",
            Status::ERR_BAD_HANDLE,
            enter(a, forged),
        )
    })
}

pub fn interrupt(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, vm, v| {
        let t = &mut a.ctx.t;
        for vector in [0, 15, 27, 31, 32, 255] {
            let s = zx_vcpu_interrupt(t, v, vector);
            expect_status("vector in range", Status::OK, s)?;
        }
        let range = Status::ERR_OUT_OF_RANGE;
        expect_status("vector 256", range, zx_vcpu_interrupt(t, v, 256))?;
        expect_status("vector u32::MAX", range, zx_vcpu_interrupt(t, v, u32::MAX))?;
        let s = zx_vcpu_interrupt(t, vm.guest, 40);
        expect_status("a guest", Status::ERR_WRONG_TYPE, s)?;
        let no_signal = a.dup(v, minus(VCPU_RIGHTS, Rights::SIGNAL))?;
        let s = zx_vcpu_interrupt(&mut a.ctx.t, no_signal, 40);
        // The handle is checked before the vector.
        let s300 = zx_vcpu_interrupt(&mut a.ctx.t, no_signal, 300);
        a.close(&[no_signal]);
        expect_status("without SIGNAL", Status::ERR_ACCESS_DENIED, s)?;
        expect_status(
            "without SIGNAL, vector 300",
            Status::ERR_ACCESS_DENIED,
            s300,
        )?;
        let only_signal = a.dup(v, Rights::SIGNAL)?;
        let ok = zx_vcpu_interrupt(&mut a.ctx.t, only_signal, 41);
        a.close(&[only_signal]);
        expect_status("SIGNAL only", Status::OK, ok)
    })
}

pub fn get_info(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, vm, v| {
        let t = &mut a.ctx.t;
        let mut buf = [0u8; 8];
        let mut actual = 0;
        let mut avail = 0;
        let s = zx_object_get_info(
            t,
            v,
            INFO_VCPU,
            &mut buf,
            Some(&mut actual),
            Some(&mut avail),
        );
        expect_status("ZX_INFO_VCPU", Status::OK, s)?;
        expect_eq("actual, avail", (1, 1), (actual, avail))?;
        // Zircon checks the topic first: even an invalid handle gets NOT_SUPPORTED.
        let s = zx_object_get_info(t, 0, 29, &mut buf, None, None);
        expect_status("topic 29, no handle", Status::ERR_NOT_SUPPORTED, s)?;
        let s = zx_object_get_info(t, v, INFO_VCPU, &mut buf[..3], None, None);
        expect_status("3-byte buffer", Status::ERR_BUFFER_TOO_SMALL, s)?;
        let s = zx_object_get_info(t, vm.guest, INFO_VCPU, &mut buf, None, None);
        expect_status("a guest", Status::ERR_WRONG_TYPE, s)?;
        let no_inspect = a.dup(v, minus(VCPU_RIGHTS, Rights::INSPECT))?;
        let s = zx_object_get_info(&mut a.ctx.t, no_inspect, INFO_VCPU, &mut buf, None, None);
        a.close(&[no_inspect]);
        expect_status("without INSPECT", Status::ERR_ACCESS_DENIED, s)
    })
}

/// A second thread of the same client: enter, read_state and write_state on the main
/// thread's VCPU are BAD_STATE (kind and size are checked first); kick, interrupt and get_info
/// work from any thread; the helper may create its own VCPU, which the main thread in turn
/// may not enter or read.
pub fn wrong_thread(a: &mut Api) -> CaseResult {
    with_vcpu(a, |a, vm, v| {
        TARGET.store(v, Ordering::SeqCst);
        TARGET_GUEST.store(vm.guest, Ordering::SeqCst);
        a.ctx.run_job(HELPER, JOB_WRONG_THREAD);
        let r = api::helper_results().and_then(|()| {
            let theirs = HELPER_VCPU.load(Ordering::SeqCst);
            let s = vcpu_read_state(&mut a.ctx.t, theirs)
                .err()
                .unwrap_or(Status::OK);
            expect_status("read_state of the helper's VCPU", Status::ERR_BAD_STATE, s)?;
            expect_status(
                "enter the helper's VCPU",
                Status::ERR_BAD_STATE,
                enter(a, theirs),
            )?;
            // The helper's kick is pending on the main thread's VCPU.
            expect_status(
                "enter after the helper's kick",
                Status::ERR_CANCELED,
                enter(a, v),
            )
        });
        a.ctx.run_job(HELPER, JOB_CLOSE_OWN);
        if HELPER_VCPU.load(Ordering::SeqCst) != 0 {
            return fail!("the helper did not close its VCPU");
        }
        r
    })
}
