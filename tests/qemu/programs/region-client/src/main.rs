//! `region-client` (tests/qemu/resources.toml): owns one region of each kind and checks what the
//! root task did with it: the frame capabilities sit in the listed slots, contiguous from the
//! region's physical address when the plan fixed one; mapped regions read as zeros (for
//! vm-memory that proves the root task cleared what QEMU left there, its device tree) and
//! writable ones keep what is written; read-only ones are mapped without write permission.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use plan::bootpage::{REGION_MAPPED, REGION_WRITABLE, RegionInfo};
use qemu_test_support::{Region, Test};
use sel4::{Cap, cap_type};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("region-client is an seL4 component: build an image with `cargo xtask build`");
}

/// Regions the manifest gives this component.
const REGIONS: usize = 5;

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    let regions = t.boot.regions();
    t.check(
        "regions",
        regions.len() == REGIONS,
        format_args!("{} regions in the boot page", regions.len()),
    );
    for r in regions {
        frames(&mut t, r);
        contents(&mut t, r);
    }
    t.finish()
}

/// The frame caps: present; contiguous from the fixed address if the plan fixed one (frames
/// of a region allocated anywhere need not be contiguous).
fn frames(t: &mut Test, r: &RegionInfo) {
    let page = 1u64 << r.page_bits;
    let mut first = None;
    let mut ok = r.frame_count * page == r.size;
    for k in 0..r.frame_count {
        // Any frame type: the invocation is the same for every size.
        let frame: Cap<cap_type::SmallPage> = Cap::from_cptr(r.frame_slot + k);
        match frame.frame_get_address(t.ipc) {
            Ok(a) => {
                let base = *first.get_or_insert(a);
                ok &= r.paddr == 0 || a == base + k * page;
            }
            Err(_) => ok = false,
        }
    }
    let fixed = r.paddr == 0 || first == Some(r.paddr);
    t.check(
        r.name(),
        ok && fixed,
        format_args!(
            "{} frame(s) of {page:#x} bytes in slots {}.., at {:x?} (plan: {:#x})",
            r.frame_count, r.frame_slot, first, r.paddr
        ),
    );
}

/// Mapped regions: zero, and writable exactly when the plan says so.
fn contents(t: &mut Test, r: &RegionInfo) {
    let mapped = r.flags & REGION_MAPPED != 0;
    let Some(region) = Region::new(r) else {
        t.check(r.name(), !mapped, format_args!("not mapped, as planned"));
        return;
    };
    let nonzero = (0..region.size())
        .step_by(8)
        .find(|&o| region.read(o) != Some(0));
    t.check(
        r.name(),
        nonzero.is_none(),
        format_args!(
            "{} bytes at {:#x} read as zero (first non-zero: {nonzero:x?})",
            region.size(),
            r.vaddr
        ),
    );
    let writable = r.flags & REGION_WRITABLE != 0;
    let last = region.size() - 8;
    let pattern = 0x5a5a_0000_0000_0000 | r.vaddr;
    let wrote = region.write(0, pattern) && region.write(last, !pattern);
    let kept = !wrote || (region.read(0) == Some(pattern) && region.read(last) == Some(!pattern));
    t.check(
        r.name(),
        wrote == writable && kept,
        format_args!("writable {writable}: wrote {wrote}, read back {kept}"),
    );
}
