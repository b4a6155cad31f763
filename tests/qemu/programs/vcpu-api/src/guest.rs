//! Cases of `zx_guest_create` and `zx_guest_set_trap` (spec §1.1, §1.2; V3 check order).

use caps::{ObjType, Rights};
use vcpu_client::{
    HandleValue, Status, handle_send, zx_guest_create, zx_guest_set_trap, zx_port_create,
};
use vcpu_protocol::layout::{
    GUEST_OPT_DIRECT, GUEST_PHYS_SIZE, GUEST_TRAP_BELL, GUEST_TRAP_IO, GUEST_TRAP_MEM,
};

use vmm::fail;
use vmm::machine::Vm;
use vmm::report::{CaseResult, Detail, expect_err, expect_ok, expect_status, handle_value};

use crate::api::{Api, minus};

const PAGE: u64 = 0x1000;
const MEM: u32 = GUEST_TRAP_MEM;
const BELL: u32 = GUEST_TRAP_BELL;

/// Zircon handle values have their two low bits set and are never 0.
fn plausible(h: HandleValue) -> bool {
    h != 0 && h & 0b11 == 0b11
}

pub fn create(a: &mut Api) -> CaseResult {
    let (guest, vmar) = expect_ok("guest_create", zx_guest_create(&mut a.ctx.t, a.resource, 0))?;
    let ok = plausible(guest) && plausible(vmar) && guest != vmar;
    a.close(&[guest, vmar]);
    if !ok {
        return fail!("implausible handles guest {guest:#x} vmar {vmar:#x}");
    }
    // Closing both lets the guest go; a second guest can be made right away.
    let vm = a.guest()?;
    a.close_vm(vm);
    Ok(())
}

pub fn create_options(a: &mut Api) -> CaseResult {
    let t = &mut a.ctx.t;
    let r = a.resource;
    expect_err(
        "options 2",
        Status::ERR_INVALID_ARGS,
        zx_guest_create(t, r, 2),
    )?;
    let direct = zx_guest_create(t, r, GUEST_OPT_DIRECT);
    expect_err("ZX_GUEST_OPT_DIRECT", Status::ERR_NOT_SUPPORTED, direct)?;
    expect_err(
        "options !0",
        Status::ERR_INVALID_ARGS,
        zx_guest_create(t, r, u32::MAX),
    )?;
    // V3 order: the resource is checked before the options.
    let bad = zx_guest_create(t, 0, 2);
    expect_err("bad handle and options", Status::ERR_BAD_HANDLE, bad)
}

pub fn create_handles(a: &mut Api) -> CaseResult {
    let bad = Status::ERR_BAD_HANDLE;
    for (what, h) in [
        ("ZX_HANDLE_INVALID", 0),
        ("value without the fixed bits", 0x1234_5678),
        ("never-allocated slot", handle_value(40, 1)),
        ("all ones", u32::MAX),
    ] {
        expect_err(what, bad, zx_guest_create(&mut a.ctx.t, h, 0))?;
    }
    let port = expect_ok("port_create", zx_port_create(&mut a.ctx.t, 0))?;
    let wrong = zx_guest_create(&mut a.ctx.t, port, 0);
    a.close(&[port]);
    expect_err("a port as resource", Status::ERR_WRONG_TYPE, wrong)?;
    // V3: zx_guest_create needs no right on the resource.
    let (g, v) = expect_ok(
        "INSPECT-only resource",
        zx_guest_create(&mut a.ctx.t, a.inspect_only, 0),
    )?;
    a.close(&[g, v]);
    Ok(())
}

pub fn resource_rights(a: &mut Api) -> CaseResult {
    let denied = Status::ERR_ACCESS_DENIED;
    let dup = vcpu_client::zx_handle_duplicate(&mut a.ctx.t, a.inspect_only, Rights::SAME_RIGHTS);
    expect_err("duplicate without DUPLICATE", denied, dup)?;
    let sent = handle_send(&mut a.ctx.t, a.inspect_only, 1);
    expect_status("send without TRANSFER", denied, sent)?;
    let full = a.dup(a.resource, Rights::SAME_RIGHTS)?;
    let created = zx_guest_create(&mut a.ctx.t, full, 0);
    a.close(&[full]);
    let (g, v) = expect_ok("guest_create with the duplicate", created)?;
    a.close(&[g, v]);
    Ok(())
}

/// A guest and a port for the trap cases; closed by the caller with [`done`].
fn guest_and_port(a: &mut Api) -> Result<(Vm, HandleValue), Detail> {
    let vm = a.guest()?;
    match zx_port_create(&mut a.ctx.t, 0) {
        Ok(p) => Ok((vm, p)),
        Err(s) => {
            a.close_vm(vm);
            fail!("port_create: {s:?}")
        }
    }
}

fn done(a: &mut Api, vm: Vm, port: HandleValue, r: CaseResult) -> CaseResult {
    a.close_vm(vm);
    a.close(&[port]);
    r
}

fn trap(a: &mut Api, g: HandleValue, kind: u32, addr: u64, size: u64, port: HandleValue) -> Status {
    zx_guest_set_trap(&mut a.ctx.t, g, kind, addr, size, port, 0x55)
}

pub fn set_trap(a: &mut Api) -> CaseResult {
    let (vm, port) = guest_and_port(a)?;
    let r = (|| {
        expect_status(
            "MEM",
            Status::OK,
            trap(a, vm.guest, MEM, 0x0900_0000, PAGE, 0),
        )?;
        let bell = trap(a, vm.guest, BELL, 0x0a00_0000, 4 * PAGE, port);
        expect_status("BELL", Status::OK, bell)?;
        let big = trap(a, vm.guest, MEM, 0x1_0000_0000, 0x1000_0000, 0);
        expect_status("256 MiB MEM", Status::OK, big)
    })();
    done(a, vm, port, r)
}

pub fn set_trap_alignment(a: &mut Api) -> CaseResult {
    let (vm, port) = guest_and_port(a)?;
    let inv = Status::ERR_INVALID_ARGS;
    let r = (|| {
        let g = vm.guest;
        expect_status(
            "misaligned addr",
            inv,
            trap(a, g, MEM, 0x0900_0800, PAGE, 0),
        )?;
        expect_status(
            "misaligned size",
            inv,
            trap(a, g, MEM, 0x0900_0000, 0x800, 0),
        )?;
        expect_status("size 0", inv, trap(a, g, MEM, 0x0900_0000, 0, 0))?;
        expect_status("BELL size 0", inv, trap(a, g, BELL, 0x0900_0000, 0, port))?;
        let end = GUEST_PHYS_SIZE;
        expect_status("at 2^36", inv, trap(a, g, MEM, end, PAGE, 0))?;
        expect_status("across 2^36", inv, trap(a, g, MEM, end - PAGE, 2 * PAGE, 0))?;
        let wrap = trap(a, g, MEM, u64::MAX - PAGE + 1, 2 * PAGE, 0);
        expect_status("wrapping range", inv, wrap)?;
        let last = trap(a, g, MEM, end - PAGE, PAGE, 0);
        expect_status("last page of the space", Status::OK, last)
    })();
    done(a, vm, port, r)
}

pub fn set_trap_overlap(a: &mut Api) -> CaseResult {
    let (vm, port) = guest_and_port(a)?;
    let exists = Status::ERR_ALREADY_EXISTS;
    let r = (|| {
        let g = vm.guest;
        let base = 0x2000_0000;
        expect_status("first MEM", Status::OK, trap(a, g, MEM, base, 4 * PAGE, 0))?;
        expect_status("same range", exists, trap(a, g, MEM, base, 4 * PAGE, 0))?;
        expect_status("inside", exists, trap(a, g, MEM, base + PAGE, PAGE, 0))?;
        expect_status(
            "covering",
            exists,
            trap(a, g, MEM, base - PAGE, 6 * PAGE, 0),
        )?;
        let tail = trap(a, g, MEM, base + 3 * PAGE, 4 * PAGE, 0);
        expect_status("overlapping the tail", exists, tail)?;
        let bell = trap(a, g, BELL, base + 2 * PAGE, PAGE, port);
        expect_status("BELL over MEM", exists, bell)?;
        expect_status(
            "adjacent below",
            Status::OK,
            trap(a, g, MEM, base - PAGE, PAGE, 0),
        )?;
        let above = trap(a, g, BELL, base + 4 * PAGE, PAGE, port);
        expect_status("adjacent above (BELL)", Status::OK, above)?;
        // Traps are per guest: another guest may trap the same range.
        let other = a.guest()?;
        let s = trap(a, other.guest, MEM, base, 4 * PAGE, 0);
        a.close_vm(other);
        expect_status("same range in another guest", Status::OK, s)
    })();
    done(a, vm, port, r)
}

pub fn set_trap_kinds(a: &mut Api) -> CaseResult {
    let (vm, port) = guest_and_port(a)?;
    let inv = Status::ERR_INVALID_ARGS;
    let r = (|| {
        let g = vm.guest;
        let at = 0x3000_0000;
        expect_status("MEM with a port", inv, trap(a, g, MEM, at, PAGE, port))?;
        expect_status("BELL without a port", inv, trap(a, g, BELL, at, PAGE, 0))?;
        let io = trap(a, g, GUEST_TRAP_IO, 0x60, 1, 0);
        expect_status("IO (x86 only)", Status::ERR_NOT_SUPPORTED, io)?;
        expect_status("kind 3", inv, trap(a, g, 3, at, PAGE, 0))?;
        expect_status("kind 3 with a port", inv, trap(a, g, 3, at, PAGE, port))
    })();
    done(a, vm, port, r)
}

pub fn set_trap_rights(a: &mut Api) -> CaseResult {
    let (vm, port) = guest_and_port(a)?;
    let r = (|| {
        let denied = Status::ERR_ACCESS_DENIED;
        let guest_rights = ObjType::Guest.default_rights();
        let g_ro = a.dup(vm.guest, minus(guest_rights, Rights::WRITE))?;
        let s = trap(a, g_ro, MEM, 0x0900_0000, PAGE, 0);
        a.close(&[g_ro]);
        expect_status("guest without WRITE", denied, s)?;
        let port_rights = ObjType::Port.default_rights();
        let p_ro = a.dup(port, minus(port_rights, Rights::WRITE))?;
        let s = trap(a, vm.guest, BELL, 0x0900_0000, PAGE, p_ro);
        a.close(&[p_ro]);
        expect_status("port without WRITE", denied, s)?;
        let wrong = Status::ERR_WRONG_TYPE;
        expect_status(
            "VMAR as guest",
            wrong,
            trap(a, vm.vmar, MEM, 0x0900_0000, PAGE, 0),
        )?;
        let s = trap(a, vm.guest, BELL, 0x0900_0000, PAGE, vm.vmar);
        expect_status("VMAR as port", wrong, s)?;
        let s = trap(a, vm.guest, BELL, 0x0900_0000, PAGE, handle_value(50, 3));
        expect_status("forged port", Status::ERR_BAD_HANDLE, s)
    })();
    done(a, vm, port, r)
}
