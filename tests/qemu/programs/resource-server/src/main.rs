//! `resource-server` (tests/qemu/resources.toml): the server of a system with a `[hypervisor]`
//! section. It checks each resource the root task gave it by using it: the untyped memory (its
//! size, and retyping a VSpace and a VCPU from it), the dedicated ASID pool (assigning that
//! VSpace), and both GICV frames (their physical addresses). Then it reports and serves its
//! endpoint.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

use qemu_test_support::Test;
use sel4::{Cap, MessageInfo, ObjectType, cap_type};

#[cfg(target_os = "none")]
sel4_runtime::entry!(run);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("resource-server is an seL4 component: build an image with `cargo xtask build`");
}

/// The GICV frame of QEMU virt (GICv2 virtual CPU interface).
const GICV_PADDR: u64 = 0x0804_0000;

fn run(boot: usize, index: usize) -> ! {
    let mut t = Test::start(boot, index);
    let boot = t.boot;
    let s = &boot.server;
    let sizes = s.untyped_size_bits();
    let total: u64 = sizes.iter().map(|&b| 1u64 << b).sum();
    t.check(
        "untyped-budget",
        !sizes.is_empty() && total == s.untyped_bytes && s.untyped_first != 0,
        format_args!(
            "{} untyped caps from slot {}, {total} bytes",
            sizes.len(),
            s.untyped_first
        ),
    );
    let cnode: Cap<cap_type::CNode> = Cap::from_cptr(boot.cnode);
    let untyped: Cap<cap_type::Untyped> = Cap::from_cptr(s.untyped_first);
    let (vspace, vcpu) = (boot.first_free_slot, boot.first_free_slot + 1);
    let made = untyped
        .untyped_retype(t.ipc, ObjectType::VSpace, 0, cnode, 0, 0, vspace, 1)
        .and_then(|()| untyped.untyped_retype(t.ipc, ObjectType::Vcpu, 0, cnode, 0, 0, vcpu, 1));
    t.check(
        "untyped-retype",
        made.is_ok(),
        format_args!(
            "a VSpace and a VCPU from untyped slot {}: {made:?}",
            s.untyped_first
        ),
    );
    let pool: Cap<cap_type::AsidPool> = Cap::from_cptr(s.asid_pool);
    let assigned = pool.asid_pool_assign(t.ipc, Cap::from_cptr(vspace));
    t.check(
        "asid-pool",
        s.asid_pool != 0 && assigned.is_ok(),
        format_args!(
            "pool slot {}: assigning the new VSpace gave {assigned:?}",
            s.asid_pool
        ),
    );
    let gicv: Cap<cap_type::SmallPage> = Cap::from_cptr(s.gicv_frame);
    let paddr = gicv.frame_get_address(t.ipc);
    t.check(
        "gicv-frame",
        s.gicv_paddr == GICV_PADDR && paddr == Ok(GICV_PADDR),
        format_args!(
            "slot {}: boot page says {:#x}, the frame is at {paddr:x?}",
            s.gicv_frame, s.gicv_paddr
        ),
    );
    // The second GICV page (GICC_DIR) follows in the next slot.
    let gicv2: Cap<cap_type::SmallPage> = Cap::from_cptr(s.gicv_frame + 1);
    let paddr2 = gicv2.frame_get_address(t.ipc);
    t.check(
        "gicv-frame-2",
        s.gicv_frame_count == 2 && paddr2 == Ok(GICV_PADDR + 0x1000),
        format_args!(
            "slot {}: {} frame(s), the second is at {paddr2:x?}",
            s.gicv_frame + 1,
            s.gicv_frame_count
        ),
    );
    t.report();
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(s.endpoint);
    loop {
        let _ = ep.recv(t.ipc);
        t.ipc.reply(MessageInfo::new(0, 0, 0, 0));
    }
}
