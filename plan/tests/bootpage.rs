//! Boot page and plan helpers, on a hand-written plan (independent of the manifest compiler).

use plan::bootpage::{
    BootPage, BootPageError, MAGIC, REGION_GUEST, REGION_MAPPED, REGION_WRITABLE,
};
use plan::{
    Cap, CapPlan, ClientLimits, ComponentPlan, GrantObject, GrantPlan, HandlePlan, HypervisorPlan,
    KernelRequirements, MemorySource, Plan, RegionPlan, Role, SystemKind, ThreadPlan, cspace,
    vspace,
};
use zerocopy::{FromZeros, IntoBytes};

const HANDLE: HandlePlan = HandlePlan {
    name: "hypervisor",
    value: plan::grant_handle_value(0),
    object: GrantObject::HypervisorResource,
    obj_type: 15,
    rights: 0x8000,
};

const fn thread(index: u8, name: &'static str, id: u16, endpoint: bool) -> ThreadPlan {
    ThreadPlan {
        index,
        name,
        id,
        entry: index as u32,
        priority: 100,
        mcp: 0,
        stack_top: vspace::stack_top(index as usize),
        stack_size: 0x4000,
        budget_us: 10_000,
        period_us: 10_000,
        ipc_buffer: vspace::ipc_buffer(index as usize),
        tcb_slot: cspace::tcb(index as usize),
        endpoint_slot: if endpoint {
            cspace::endpoint(index as usize)
        } else {
            0
        },
        badge: if endpoint {
            1 << 63 | 3 << 32 | id as u64
        } else {
            0
        },
        fault_slot: cspace::fault(index as usize),
        fault_badge: plan::fault_badge(1, index as u16),
        core: 0,
    }
}

static PLAN: Plan = Plan {
    version: plan::PLAN_VERSION,
    system: "test",
    kernel: KernelRequirements {
        hypervisor: true,
        pa_bits: 44,
    },
    components: &[
        ComponentPlan {
            index: 0,
            name: "server",
            program: "srv",
            elf: &[],
            role: Role::Server,
            client_id: 0,
            cspace_size_bits: 12,
            first_free_slot: 64,
            heap_vaddr: 0,
            heap_size: 0,
            threads: &[ThreadPlan {
                mcp: 200,
                priority: 200,
                ..thread(0, "main", 0, false)
            }],
            caps: &[
                CapPlan {
                    slot: cspace::CNODE,
                    cap: Cap::CNode,
                },
                CapPlan {
                    slot: 64,
                    cap: Cap::ClientMemory {
                        client_id: 3,
                        size_bits: 16,
                    },
                },
                CapPlan {
                    slot: 65,
                    cap: Cap::ClientMemory {
                        client_id: 3,
                        size_bits: 14,
                    },
                },
            ],
            regions: &[],
            handles: &[],
            limits: ClientLimits {
                handles: 0,
                guests: 0,
                vcpus: 0,
                ports: 0,
                traps: 0,
                mappings: 0,
                memory: 0,
            },
            expect_stopped: false,
            restarts: 0,
            send_to: &[3],
        },
        ComponentPlan {
            index: 1,
            name: "client-with-a-name-of-31-bytes!",
            program: "cli",
            elf: &[],
            role: Role::Client,
            client_id: 3,
            cspace_size_bits: 10,
            first_free_slot: 66,
            heap_vaddr: vspace::HEAP,
            heap_size: 0x10_0000,
            threads: &[thread(0, "main", 7, true), thread(1, "worker", 8, false)],
            caps: &[],
            regions: &[RegionPlan {
                name: "ram",
                size: 0x2000,
                page_bits: 12,
                source: MemorySource::VmMemory,
                paddr: Some(0x4000_0000),
                vaddr: Some(vspace::REGION_BASE),
                rights: 0x3,
                execute_never: true,
                guest: true,
                zero_fill: true,
                frame_slot: 64,
                frame_count: 2,
            }],
            handles: &[HANDLE],
            limits: ClientLimits {
                handles: 40,
                guests: 1,
                vcpus: 2,
                ports: 3,
                traps: 4,
                mappings: 5,
                memory: 0x1_4000,
            },
            expect_stopped: false,
            restarts: 0,
            send_to: &[3],
        },
    ],
    server: 0,
    console: 1,
    hypervisor: Some(HypervisorPlan {
        untyped_size_bits: &[22, 20],
        untyped_bytes: 0x50_0000,
        max_guests: 2,
        max_vcpus: 4,
        vcpu_priority: 50,
        gicv_paddr: Some(0x0804_0000),
    }),
    grants: &[GrantPlan {
        component: 1,
        client_id: 3,
        handle: HANDLE,
    }],
    kind: SystemKind::Test,
};

fn aligned(page: &BootPage) -> Vec<u64> {
    let mut words = vec![0u64; size_of::<BootPage>() / 8];
    words.as_mut_bytes().copy_from_slice(page.as_bytes());
    words
}

#[test]
fn client_page() {
    let page = PLAN.boot_page(1).expect("exists");
    let words = aligned(&page);
    let p = BootPage::from_bytes(words.as_bytes()).expect("valid");
    assert_eq!(p.magic, MAGIC);
    assert_eq!(p.name(), "client-with-a-name-of-31-bytes!");
    assert_eq!(p.role(), Some(Role::Client));
    assert_eq!(
        (p.client_id, p.cnode, p.vspace),
        (3, cspace::CNODE, cspace::VSPACE)
    );
    assert_eq!((p.first_free_slot, p.slot_limit), (66, 1024));
    assert_eq!((p.heap_vaddr, p.heap_size), (vspace::HEAP, 0x10_0000));
    let t = p.threads();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].name(), t[0].id, t[0].endpoint),
        ("main", 7, cspace::endpoint(0))
    );
    assert_eq!(t[0].badge, 1 << 63 | 3 << 32 | 7);
    assert_eq!((t[1].name(), t[1].endpoint, t[1].badge), ("worker", 0, 0));
    assert_eq!(t[1].stack_top, vspace::stack_top(1));
    let r = p.region("ram").expect("region");
    assert_eq!(
        (r.vaddr, r.paddr, r.frame_slot, r.frame_count),
        (vspace::REGION_BASE, 0x4000_0000, 64, 2)
    );
    assert_eq!(
        r.flags & (REGION_GUEST | REGION_MAPPED | REGION_WRITABLE),
        REGION_GUEST | REGION_MAPPED | REGION_WRITABLE
    );
    let h = p.handle("hypervisor").expect("handle");
    assert_eq!(
        (h.value, h.rights, h.object),
        (7, 0x8000, GrantObject::HypervisorResource as u32)
    );
    assert!(p.handle("other").is_none());
    assert_eq!(p.server, plan::bootpage::ServerInfo::new_zeroed());
}

#[test]
fn server_page() {
    let page = PLAN.boot_page(0).expect("exists");
    let s = &page.server;
    assert_eq!(page.role(), Some(Role::Server));
    assert_eq!(
        (s.endpoint, s.asid_pool, s.gicv_frame),
        (
            cspace::SERVER_ENDPOINT,
            cspace::ASID_POOL,
            cspace::GICV_FRAME
        )
    );
    assert_eq!((s.gicv_paddr, s.gicv_frame_count), (0x0804_0000, 2));
    assert_eq!(s.untyped_size_bits(), &[22, 20]);
    assert_eq!(
        (s.untyped_first, s.untyped_bytes),
        (cspace::untyped(0), 0x50_0000)
    );
    assert_eq!((s.max_guests, s.max_vcpus, s.vcpu_priority), (2, 4, 50));
    assert_eq!(s.clients().len(), 1);
    assert_eq!(
        (s.clients()[0].client_id, s.clients()[0].thread_ids()),
        (3, &[7u16][..])
    );
    assert_eq!(
        s.clients()[0].limits(),
        ClientLimits {
            handles: 40,
            guests: 1,
            vcpus: 2,
            ports: 3,
            traps: 4,
            mappings: 5,
            memory: 0x1_4000,
        }
    );
    let c = &s.clients()[0];
    assert_eq!(
        (c.memory_slot, c.memory_bits()),
        (64, &[16u8, 14][..]),
        "its memory pool: the server's ClientMemory caps naming it, in slot order"
    );
    assert_eq!(
        s.clients()[0].send_mask,
        0b1,
        "client 3 may send to itself: entry 0"
    );
    assert_eq!(s.grants().len(), 1);
    assert_eq!(
        (
            s.grants()[0].client_id,
            s.grants()[0].value,
            s.grants()[0].component
        ),
        (3, 7, 1)
    );
    assert!(PLAN.boot_page(2).is_none());
}

#[test]
fn corrupt_pages_are_refused() {
    let page = PLAN.boot_page(1).expect("exists");
    let mut words = aligned(&page);
    assert_eq!(
        BootPage::from_bytes(&words.as_bytes()[..100]),
        Err(BootPageError::TooShort)
    );
    words[0] ^= 1;
    assert_eq!(
        BootPage::from_bytes(words.as_bytes()).err(),
        Some(BootPageError::BadMagic)
    );
    let mut bad = page;
    bad.version += 1;
    assert_eq!(
        BootPage::from_bytes(aligned(&bad).as_bytes()).err(),
        Some(BootPageError::BadVersion)
    );
    let mut bad = page;
    bad.thread_count = plan::MAX_THREADS as u16 + 1;
    assert_eq!(
        BootPage::from_bytes(aligned(&bad).as_bytes()).err(),
        Some(BootPageError::BadCount)
    );
    let mut bad = page;
    bad.server.clients[0].thread_count = 9;
    assert_eq!(
        BootPage::from_bytes(aligned(&bad).as_bytes()).err(),
        Some(BootPageError::BadCount)
    );
    let mut bad = page;
    bad.server.gicv_frame_count = cspace::GICV_FRAMES as u8 + 1;
    assert_eq!(
        BootPage::from_bytes(aligned(&bad).as_bytes()).err(),
        Some(BootPageError::BadCount)
    );
}

#[test]
fn fault_badges_round_trip_and_reject_others() {
    for (c, t) in [(0u16, 0u16), (1, 7), (u16::MAX, u16::MAX)] {
        let b = plan::fault_badge(c, t);
        assert_ne!(b, 0);
        assert_eq!(plan::decode_fault_badge(b), Some((c, t)));
    }
    assert_eq!(plan::decode_fault_badge(0), None);
    assert_eq!(plan::decode_fault_badge(1 << 63 | 1 << 32 | 1), None);
    assert_eq!(
        plan::decode_fault_badge(plan::FAULT_BADGE_BIT | 1 << 40),
        None
    );
}

#[test]
fn handle_values_follow_the_server_encoding() {
    // slot << 18 | generation 1 << 2 | 0b11
    assert_eq!(plan::grant_handle_value(0), 0x7);
    assert_eq!(plan::grant_handle_value(1), 0x4_0007);
    assert_eq!(plan::grant_handle_value(7), 7 << 18 | 0x7);
}

#[test]
fn layout_conventions() {
    assert_eq!(cspace::guard_data(12), 52);
    assert!(cspace::fault(plan::MAX_THREADS - 1) < cspace::UNTYPED_BASE);
    assert_eq!(
        vspace::next_region(vspace::REGION_BASE),
        vspace::REGION_BASE
    );
    let after = vspace::next_region(vspace::REGION_BASE + 0x1000);
    assert!(after >= vspace::REGION_BASE + 0x1000 + vspace::REGION_GUARD);
    assert_eq!(after % vspace::REGION_ALIGN, 0);
    assert_eq!(vspace::stack_top(0) % 16, 0);
    assert_eq!(vspace::ipc_buffer(1) % 1024, 0);
    assert_eq!(BootPage::new_zeroed().as_bytes().len(), 3392);
}
