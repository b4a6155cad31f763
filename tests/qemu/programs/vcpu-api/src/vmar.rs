//! Cases of `zx_vmar_map` on a guest VMAR (one frame capability per call), and of how traps
//! and guest destruction interact with mappings.

use caps::{ObjType, Rights};
use sel4::{Cap, cap_type};
use vcpu_client::{HandleValue, Status, zx_guest_set_trap, zx_vmar_map};
use vcpu_protocol::layout::{
    GUEST_PHYS_SIZE, GUEST_TRAP_MEM, VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC,
};

use vmm::fail;
use vmm::machine::{RAM_OPTIONS, Vm};
use vmm::report::{CaseResult, expect_eq, expect_err, expect_ok, expect_status};

use crate::api::{Api, minus};

const LARGE: u64 = 0x20_0000;
const PAGE: u64 = 0x1000;
const VMAR_RIGHTS: Rights = ObjType::Vmar.default_rights();

type Frame = Cap<cap_type::Unspecified>;

fn large_frame(a: &Api) -> Frame {
    a.ram.frames().next().unwrap_or(Cap::from_cptr(0))
}

fn map(
    a: &mut Api,
    vmar: HandleValue,
    options: u32,
    at: u64,
    frame: Frame,
    len: u64,
) -> Result<u64, Status> {
    zx_vmar_map(&mut a.ctx.t, vmar, options, at, frame, len)
}

/// Runs `f` on a fresh guest, then closes it.
fn with_guest(a: &mut Api, f: impl FnOnce(&mut Api, Vm) -> CaseResult) -> CaseResult {
    let vm = a.guest()?;
    let r = f(a, vm);
    a.close_vm(vm);
    r
}

pub fn large(a: &mut Api) -> CaseResult {
    with_guest(a, |a, vm| {
        let f = large_frame(a);
        let at = 0x4000_0000;
        let got = expect_ok("map 2 MiB", map(a, vm.vmar, RAM_OPTIONS, at, f, LARGE))?;
        expect_eq("mapped address", at, got)?;
        let again = map(a, vm.vmar, RAM_OPTIONS, at, f, LARGE);
        expect_err("the same address again", Status::ERR_ALREADY_EXISTS, again)?;
        // Each call sends a new derived copy of the capability: one frame may back two ranges.
        let second = map(a, vm.vmar, RAM_OPTIONS, at + LARGE, f, LARGE);
        expect_ok("the same frame elsewhere", second)?;
        let read_only = a.dup(vm.vmar, Rights::READ)?;
        let ro = map(
            a,
            read_only,
            VM_PERM_READ | VM_SPECIFIC,
            at + 2 * LARGE,
            f,
            LARGE,
        );
        a.close(&[read_only]);
        expect_ok("read-only mapping through a READ-only VMAR", ro)?;
        let last = GUEST_PHYS_SIZE - LARGE;
        expect_ok(
            "the last 2 MiB of the space",
            map(a, vm.vmar, RAM_OPTIONS, last, f, LARGE),
        )
        .map(|_| ())
    })
}

pub fn errors(a: &mut Api) -> CaseResult {
    with_guest(a, |a, vm| {
        let f = large_frame(a);
        let at = 0x4000_0000;
        let inv = Status::ERR_INVALID_ARGS;
        let v = vm.vmar;
        expect_err(
            "misaligned",
            inv,
            map(a, v, RAM_OPTIONS, at + PAGE, f, LARGE),
        )?;
        expect_err("length of 4 KiB", inv, map(a, v, RAM_OPTIONS, at, f, PAGE))?;
        expect_err(
            "length of 4 MiB",
            inv,
            map(a, v, RAM_OPTIONS, at, f, 2 * LARGE),
        )?;
        expect_err(
            "at 2^36",
            inv,
            map(a, v, RAM_OPTIONS, GUEST_PHYS_SIZE, f, LARGE),
        )?;
        let wrap = map(a, v, RAM_OPTIONS, u64::MAX - LARGE + 1, f, LARGE);
        expect_err("wrapping", inv, wrap)?;
        let no_specific = VM_PERM_READ | VM_PERM_WRITE;
        let s = map(a, v, no_specific, at, f, LARGE);
        expect_err("without ZX_VM_SPECIFIC", Status::ERR_NOT_SUPPORTED, s)?;
        expect_err(
            "unknown option",
            inv,
            map(a, v, RAM_OPTIONS | 1 << 20, at, f, LARGE),
        )?;
        let wrong = map(a, vm.guest, RAM_OPTIONS, at, f, LARGE);
        expect_err("a guest handle", Status::ERR_WRONG_TYPE, wrong)?;
        let denied = Status::ERR_ACCESS_DENIED;
        let no_write = a.dup(v, minus(VMAR_RIGHTS, Rights::WRITE))?;
        let no_exec = a.dup(v, minus(VMAR_RIGHTS, Rights::EXECUTE))?;
        let w = map(a, no_write, RAM_OPTIONS, at, f, LARGE);
        let x = map(a, no_exec, VM_PERM_EXECUTE | VM_SPECIFIC, at, f, LARGE);
        a.close(&[no_write, no_exec]);
        expect_err("PERM_WRITE without WRITE", denied, w)?;
        expect_err("PERM_EXECUTE without EXECUTE", denied, x)?;
        // Capabilities that are no frame: an empty slot (nothing arrives), this thread's TCB
        // and its own endpoint to the server (which seL4 unwraps into a badge).
        let empty = Cap::from_cptr(a.ctx.boot.first_free_slot + 7);
        expect_err(
            "an empty slot",
            inv,
            map(a, v, RAM_OPTIONS, at, empty, LARGE),
        )?;
        let tcb = a.ctx.tcb(0).upcast();
        expect_err(
            "a TCB capability",
            inv,
            map(a, v, RAM_OPTIONS, at, tcb, LARGE),
        )?;
        let ep = a.ctx.t.endpoint().upcast();
        expect_err(
            "the server endpoint",
            inv,
            map(a, v, RAM_OPTIONS, at, ep, LARGE),
        )?;
        // None of the failures mapped anything.
        expect_ok(
            "map after the failures",
            map(a, v, RAM_OPTIONS, at, f, LARGE),
        )
        .map(|_| ())
    })
}

pub fn small(a: &mut Api) -> CaseResult {
    with_guest(a, |a, vm| {
        let base = 0x8000_0000;
        let frames: [Frame; 16] = {
            let mut out = [Cap::from_cptr(0); 16];
            for (o, f) in out.iter_mut().zip(a.small.frames()) {
                *o = f;
            }
            out
        };
        for (i, &f) in frames.iter().enumerate() {
            let at = base + i as u64 * PAGE;
            let got = expect_ok("map 4 KiB", map(a, vm.vmar, RAM_OPTIONS, at, f, PAGE))?;
            expect_eq("mapped address", at, got)?;
        }
        let f = frames[0];
        let inv = Status::ERR_INVALID_ARGS;
        expect_err(
            "misaligned",
            inv,
            map(a, vm.vmar, RAM_OPTIONS, base + 0x800, f, PAGE),
        )?;
        expect_err(
            "length 8 KiB",
            inv,
            map(a, vm.vmar, RAM_OPTIONS, base + LARGE, f, 2 * PAGE),
        )?;
        let exists = map(a, vm.vmar, RAM_OPTIONS, base + 5 * PAGE, f, PAGE);
        expect_err("over a mapped page", Status::ERR_ALREADY_EXISTS, exists)?;
        // A 2 MiB frame over a range that holds 4 KiB mappings.
        let big = map(a, vm.vmar, RAM_OPTIONS, base, large_frame(a), LARGE);
        expect_err("2 MiB over 4 KiB mappings", Status::ERR_ALREADY_EXISTS, big)
    })
}

pub fn traps(a: &mut Api) -> CaseResult {
    with_guest(a, |a, vm| {
        let base = 0x9000_0000;
        let f = a.small.frames().next().unwrap_or(Cap::from_cptr(0));
        let t = &mut a.ctx.t;
        let s = zx_guest_set_trap(t, vm.guest, GUEST_TRAP_MEM, base, PAGE, 0, 1);
        expect_status("trap", Status::OK, s)?;
        let over = map(a, vm.vmar, RAM_OPTIONS, base, f, PAGE);
        expect_err("map over a trap", Status::ERR_ALREADY_EXISTS, over)?;
        // A trap over mapped RAM unmaps it (Zircon), so the range then belongs to the trap.
        let at = base + 4 * PAGE;
        expect_ok("map", map(a, vm.vmar, RAM_OPTIONS, at, f, PAGE))?;
        let t = &mut a.ctx.t;
        let s = zx_guest_set_trap(t, vm.guest, GUEST_TRAP_MEM, at, PAGE, 0, 2);
        expect_status("trap over a mapping", Status::OK, s)?;
        let again = map(a, vm.vmar, RAM_OPTIONS, at, f, PAGE);
        expect_err(
            "map where the trap replaced RAM",
            Status::ERR_ALREADY_EXISTS,
            again,
        )?;
        // A failed trap still unmaps (Zircon's side effect): map, then trap with an overlap.
        let next = at + PAGE;
        expect_ok("map", map(a, vm.vmar, RAM_OPTIONS, next, f, PAGE))?;
        let t = &mut a.ctx.t;
        let s = zx_guest_set_trap(t, vm.guest, GUEST_TRAP_MEM, at, 2 * PAGE, 0, 3);
        expect_status("overlapping trap", Status::ERR_ALREADY_EXISTS, s)?;
        let remap = map(a, vm.vmar, RAM_OPTIONS, next, f, PAGE);
        expect_ok("the failed trap unmapped the page", remap).map(|_| ())
    })
}

/// Closing a guest's last handles unmaps its frames and gives the server's copies back, so the
/// same frames map again into a new guest (done a few times in a row).
pub fn remap_after_destroy(a: &mut Api) -> CaseResult {
    for round in 0..3 {
        let vm = a.guest()?;
        let frames = a.small.frames();
        let mapped = vm.map(&mut a.ctx.t, 0x4000_0000, PAGE, frames);
        let large = map(a, vm.vmar, RAM_OPTIONS, 0x5000_0000, large_frame(a), LARGE);
        a.close_vm(vm);
        if let Err(s) = mapped.and(large.map(|_| ())) {
            return fail!("round {round}: map: {s:?}");
        }
    }
    Ok(())
}

/// `zx_vmar_protect` and `zx_vmar_unmap` on 4 KiB and 2 MiB frames: checks in order, remaps
/// the kernel accepts (read-only, then read-execute, then read-write again), whole frames only.
pub fn unmap_protect(a: &mut Api) -> CaseResult {
    use vcpu_client::{zx_vmar_protect, zx_vmar_unmap};
    with_guest(a, |a, vm| {
        let base = 0x8000_0000;
        let frames: [Frame; 4] = {
            let mut out = [Cap::from_cptr(0); 4];
            for (o, f) in out.iter_mut().zip(a.small.frames()) {
                *o = f;
            }
            out
        };
        for (i, &f) in frames.iter().enumerate() {
            let at = base + i as u64 * PAGE;
            expect_ok("map 4 KiB", map(a, vm.vmar, RAM_OPTIONS, at, f, PAGE))?;
        }
        let big_at = 0x4000_0000;
        expect_ok(
            "map 2 MiB",
            map(a, vm.vmar, RAM_OPTIONS, big_at, large_frame(a), LARGE),
        )?;
        let t = &mut a.ctx.t;
        let r = VM_PERM_READ;
        let s = zx_vmar_protect(t, vm.guest, r, base, PAGE);
        expect_status("protect through a guest handle", Status::ERR_WRONG_TYPE, s)?;
        let read_only = expect_ok(
            "duplicate",
            vcpu_client::zx_handle_duplicate(t, vm.vmar, Rights::READ),
        )?;
        let s = zx_vmar_protect(t, read_only, r | VM_PERM_WRITE, base, PAGE);
        expect_status(
            "write through a READ-only VMAR",
            Status::ERR_ACCESS_DENIED,
            s,
        )?;
        let s = zx_vmar_protect(t, vm.vmar, VM_PERM_WRITE, base, PAGE);
        expect_status("write without read", Status::ERR_INVALID_ARGS, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r, base + 0x800, PAGE);
        expect_status("misaligned", Status::ERR_INVALID_ARGS, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r, base, 5 * PAGE);
        expect_status("a page not mapped", Status::ERR_NOT_FOUND, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r, big_at + PAGE, PAGE);
        expect_status("part of a 2 MiB frame", Status::ERR_NOT_SUPPORTED, s)?;
        let s = zx_vmar_protect(t, read_only, r, base, 4 * PAGE);
        let _ = vcpu_client::zx_handle_close(t, read_only);
        expect_status("read-only through a READ-only VMAR", Status::OK, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r | VM_PERM_EXECUTE, big_at, LARGE);
        expect_status("2 MiB read-execute", Status::OK, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r | VM_PERM_WRITE, base, 4 * PAGE);
        expect_status("read-write again", Status::OK, s)?;
        // Unmap: whole frames, partial large frames refused, empty ranges NOT_FOUND.
        let s = zx_vmar_unmap(t, vm.vmar, big_at, PAGE);
        expect_status("unmap part of a 2 MiB frame", Status::ERR_NOT_SUPPORTED, s)?;
        let s = zx_vmar_unmap(t, vm.vmar, 0x7000_0000, PAGE);
        expect_status("unmap where nothing is mapped", Status::ERR_NOT_FOUND, s)?;
        let s = zx_vmar_unmap(t, vm.vmar, base, 0);
        expect_status("length 0", Status::ERR_INVALID_ARGS, s)?;
        let s = zx_vmar_unmap(t, vm.vmar, base + PAGE, 2 * PAGE);
        expect_status("unmap two pages", Status::OK, s)?;
        let s = zx_vmar_protect(t, vm.vmar, r, base, 4 * PAGE);
        expect_status("protect over the hole", Status::ERR_NOT_FOUND, s)?;
        let s = zx_vmar_unmap(t, vm.vmar, big_at, LARGE);
        expect_status("unmap the 2 MiB frame", Status::OK, s)?;
        // The addresses are free again.
        expect_ok(
            "map again where a page was unmapped",
            map(a, vm.vmar, RAM_OPTIONS, base + PAGE, frames[1], PAGE),
        )?;
        expect_ok(
            "map 2 MiB again",
            map(a, vm.vmar, RAM_OPTIONS, big_at, large_frame(a), LARGE),
        )
        .map(|_| ())
    })
}

/// A trap never removes memory outside its range: one page of a 2 MiB frame is
/// NOT_SUPPORTED and leaves the frame mapped; over 4 KiB frames only the trapped page goes.
pub fn trap_in_large_frame(a: &mut Api) -> CaseResult {
    with_guest(a, |a, vm| {
        let big_at = 0x4000_0000;
        expect_ok(
            "map 2 MiB",
            map(a, vm.vmar, RAM_OPTIONS, big_at, large_frame(a), LARGE),
        )?;
        let base = 0x8000_0000;
        let frames: [Frame; 3] = {
            let mut out = [Cap::from_cptr(0); 3];
            for (o, f) in out.iter_mut().zip(a.small.frames()) {
                *o = f;
            }
            out
        };
        for (i, &f) in frames.iter().enumerate() {
            let at = base + i as u64 * PAGE;
            expect_ok("map 4 KiB", map(a, vm.vmar, RAM_OPTIONS, at, f, PAGE))?;
        }
        let t = &mut a.ctx.t;
        let s = zx_guest_set_trap(t, vm.guest, GUEST_TRAP_MEM, big_at + 0x10_0000, PAGE, 0, 1);
        expect_status(
            "trap one page of a 2 MiB frame",
            Status::ERR_NOT_SUPPORTED,
            s,
        )?;
        let again = map(a, vm.vmar, RAM_OPTIONS, big_at, large_frame(a), LARGE);
        expect_err(
            "the 2 MiB frame is still mapped",
            Status::ERR_ALREADY_EXISTS,
            again,
        )?;
        let t = &mut a.ctx.t;
        let s = zx_guest_set_trap(t, vm.guest, GUEST_TRAP_MEM, base + PAGE, PAGE, 0, 2);
        expect_status("trap the middle 4 KiB page", Status::OK, s)?;
        for (i, want) in [
            (0, Status::ERR_ALREADY_EXISTS),
            (2, Status::ERR_ALREADY_EXISTS),
        ] {
            let at = base + i * PAGE;
            let r = map(a, vm.vmar, RAM_OPTIONS, at, frames[0], PAGE);
            expect_err("neighbouring page still mapped", want, r)?;
        }
        Ok(())
    })
}

/// `vmar_map_frames`: the 16 frames of region `small` (consecutive slots of this client's own
/// CNode, sent as the capability) mapped back to back in one call; each page is then taken
/// (mapping over it ALREADY_EXISTS) and one `vmar_unmap` frees them all. A frame sent instead
/// of a CNode, a range reaching an empty slot: INVALID_ARGS, nothing left mapped.
pub fn map_frames(a: &mut Api) -> CaseResult {
    use vcpu_client::{vmar_map_frames, zx_vmar_unmap};
    with_guest(a, |a, vm| {
        let base = 0x8000_0000;
        let first = a.small.frames().next().map_or(0, |f| f.cptr());
        let count = a.small.frames().count() as u32;
        let own: Frame = Cap::from_cptr(a.ctx.boot.cnode);
        let t = &mut a.ctx.t;
        let r = vmar_map_frames(t, vm.vmar, RAM_OPTIONS, base, PAGE, own, first, 0);
        expect_err("count 0", Status::ERR_INVALID_ARGS, r)?;
        let not_a_cnode = a.small.frames().next().unwrap_or(Cap::from_cptr(0));
        let r = vmar_map_frames(t, vm.vmar, RAM_OPTIONS, base, PAGE, not_a_cnode, first, 2);
        expect_err("a frame instead of a CNode", Status::ERR_INVALID_ARGS, r)?;
        let r = vmar_map_frames(t, vm.vmar, RAM_OPTIONS, base, LARGE, own, first, 2);
        expect_err("4 KiB frames as 2 MiB ones", Status::ERR_INVALID_ARGS, r)?;
        let r = vmar_map_frames(t, vm.vmar, RAM_OPTIONS, base, PAGE, own, first, count);
        expect_eq("16 frames in one call", Ok(base), r)?;
        for i in 0..u64::from(count) {
            let f = a.small.frames().next().unwrap_or(Cap::from_cptr(0));
            let again = map(a, vm.vmar, RAM_OPTIONS, base + i * PAGE, f, PAGE);
            expect_err("page mapped by the call", Status::ERR_ALREADY_EXISTS, again)?;
        }
        let t = &mut a.ctx.t;
        let s = zx_vmar_unmap(t, vm.vmar, base, u64::from(count) * PAGE);
        expect_status("unmap all 16 in one call", Status::OK, s)?;
        let s = zx_vmar_unmap(t, vm.vmar, base, u64::from(count) * PAGE);
        expect_status("nothing left", Status::ERR_NOT_FOUND, s)
    })
}
