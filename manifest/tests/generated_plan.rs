//! Compiles the committed snapshots of generated plans (default, ipc, full) against the `plan`
//! crate (with `include_bytes!` replaced by a stand-in, since the ELFs are not built here), and
//! checks the plan's invariants: badges decode to the right client and thread, slots are distinct
//! and inside each CSpace, boot pages verify and say what the manifest says.

use plan::bootpage::BootPage;
use plan::{Cap, Role};
use vcpu_protocol::{Badge, ClientId, Sender, ThreadId};
use zerocopy::IntoBytes;

macro_rules! include_bytes {
    ($path:literal) => {
        b"\x7fELF stand-in"
    };
}

mod default_plan {
    include!("snapshots/default.plan.rs");
}

mod ipc_plan {
    include!("snapshots/ipc.plan.rs");
}

mod full_plan {
    include!("snapshots/full.plan.rs");
}

use default_plan::PLAN;

#[test]
fn every_generated_plan_yields_valid_boot_pages() {
    for plan in [&default_plan::PLAN, &ipc_plan::PLAN, &full_plan::PLAN] {
        assert_eq!(plan.version, plan::PLAN_VERSION);
        for (i, c) in plan.components.iter().enumerate() {
            let page = plan.boot_page(i).expect("component");
            let mut words = vec![0u64; size_of::<BootPage>() / 8];
            words.as_mut_bytes().copy_from_slice(page.as_bytes());
            let view = BootPage::from_bytes(words.as_bytes()).expect("valid");
            assert_eq!((view.name(), view.role()), (c.name, Some(c.role)));
            assert_eq!(view.regions().len(), c.regions.len());
            assert_eq!(view.handles().len(), c.handles.len());
        }
    }
    let ipc = &ipc_plan::PLAN;
    let no_cap = ipc
        .components
        .iter()
        .find(|c| c.name == "no-cap")
        .expect("no-cap");
    assert_eq!(no_cap.role, Role::Isolated);
    assert!(
        no_cap
            .caps
            .iter()
            .all(|c| !matches!(c.cap, Cap::ServerEndpoint { .. })),
        "an isolated component holds no endpoint to the server"
    );
    assert!(
        no_cap
            .threads
            .iter()
            .all(|t| t.endpoint_slot == 0 && t.badge == 0)
    );
}

#[test]
fn plan_header() {
    assert_eq!(PLAN.version, plan::PLAN_VERSION);
    assert_eq!(PLAN.system, "default");
    let server = PLAN.server().expect("server");
    assert_eq!(server.role, Role::Server);
    assert_eq!(server.name, "vcpu-server");
    assert_eq!(
        PLAN.components
            .iter()
            .filter(|c| c.role == Role::Server)
            .count(),
        1
    );
    for (i, c) in PLAN.components.iter().enumerate() {
        assert_eq!(c.index as usize, i);
        assert_eq!(c.elf, b"\x7fELF stand-in");
    }
}

#[test]
fn badges_decode_to_their_thread() {
    let mut seen = Vec::new();
    for c in PLAN.components {
        for t in c.threads {
            if t.endpoint_slot == 0 {
                assert_eq!(t.badge, 0);
                continue;
            }
            assert_eq!(c.role, Role::Client);
            let sender = Sender {
                client: ClientId(c.client_id),
                thread: ThreadId(t.id),
            };
            assert_eq!(
                Badge::decode(t.badge),
                Badge::Client(sender),
                "{}/{}",
                c.name,
                t.name
            );
            assert!(!seen.contains(&t.badge), "badge reused");
            seen.push(t.badge);
            assert_eq!(
                plan::decode_fault_badge(t.fault_badge),
                Some((c.index, t.index as u16))
            );
        }
    }
    assert_eq!(seen.len(), 3, "vmm/main, vmm/kicker, irq-source/main");
}

#[test]
fn slots_are_distinct_and_inside_the_cspace() {
    for c in PLAN.components {
        let limit = 1u64 << c.cspace_size_bits;
        let mut used: Vec<(u64, u64)> = Vec::new();
        for cp in c.caps {
            let n = match cp.cap {
                Cap::RegionFrames { count, .. } => count,
                _ => 1,
            };
            assert!(cp.slot > 0, "{}: slot 0 must stay null", c.name);
            assert!(
                cp.slot + n <= limit,
                "{}: slot {} beyond the CSpace",
                c.name,
                cp.slot
            );
            for (s, m) in &used {
                assert!(
                    cp.slot + n <= *s || s + m <= cp.slot,
                    "{}: slots overlap",
                    c.name
                );
            }
            used.push((cp.slot, n));
        }
        let end = used.iter().map(|(s, n)| s + n).max().unwrap_or(0);
        assert!(
            end <= c.first_free_slot,
            "{}: caps after first_free_slot",
            c.name
        );
        assert!(c.first_free_slot + plan::cspace::MIN_FREE_SLOTS <= limit);
        for t in c.threads {
            assert!(
                c.caps
                    .iter()
                    .any(|cp| cp.slot == t.tcb_slot && cp.cap == Cap::Tcb { thread: t.index })
            );
            assert!(c.caps.iter().any(|cp| cp.slot == t.fault_slot
                && matches!(cp.cap, Cap::FaultEndpoint { badge, .. } if badge == t.fault_badge)));
        }
    }
}

#[test]
fn rights_words_come_from_the_caps_mapping() {
    use caps::Rights;
    use caps::sel4::endpoint_rights;
    let server = PLAN.server().expect("server");
    let own = server
        .caps
        .iter()
        .find(|c| c.slot == plan::cspace::SERVER_ENDPOINT)
        .expect("ep");
    let all = endpoint_rights(Rights::READ | Rights::WRITE | Rights::TRANSFER).word();
    assert_eq!(
        own.cap,
        Cap::ServerEndpoint {
            rights: all,
            badge: 0
        }
    );
    let vmm = &PLAN.components[1];
    let irq = &PLAN.components[2];
    let ep = |c: &plan::ComponentPlan| {
        c.caps.iter().find_map(|cp| match cp.cap {
            Cap::ServerEndpoint { rights, .. } => Some(rights),
            _ => None,
        })
    };
    assert_eq!(
        ep(vmm),
        Some(endpoint_rights(Rights::WRITE | Rights::TRANSFER).word())
    );
    assert_eq!(ep(irq), Some(endpoint_rights(Rights::WRITE).word()));
    // No client can receive on the server's endpoint.
    assert_eq!(
        ep(vmm).unwrap_or(0) & caps::sel4::Sel4Rights::READ.word(),
        0
    );
}

#[test]
fn boot_pages_verify_and_match_the_manifest() {
    for (i, c) in PLAN.components.iter().enumerate() {
        let page = PLAN.boot_page(i).expect("component");
        let bytes = page.as_bytes().to_vec();
        // Copy into an 8-byte aligned buffer, as a mapped page is.
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        words.as_mut_bytes()[..bytes.len()].copy_from_slice(&bytes);
        let view = BootPage::from_bytes(words.as_bytes()).expect("valid boot page");
        assert_eq!(view.name(), c.name);
        assert_eq!(view.threads().len(), c.threads.len());
        assert_eq!(view.role(), Some(c.role));
    }
    let vmm = PLAN.boot_page(1).expect("vmm");
    assert_eq!(vmm.client_id, 1);
    let hv = vmm.handle("hypervisor").expect("granted handle");
    assert_eq!(hv.value, plan::grant_handle_value(0));
    assert_eq!(hv.rights, caps::Rights::INSPECT.bits());
    assert_eq!(hv.obj_type, caps::ObjType::Resource as u32);
    let ram = vmm.region("guest-ram").expect("guest RAM");
    assert_eq!((ram.size, ram.frame_count, ram.page_bits), (2 << 20, 1, 21));
    assert_eq!(ram.vaddr, plan::vspace::REGION_BASE);
    assert_ne!(ram.flags & plan::bootpage::REGION_GUEST, 0);
    assert_eq!(vmm.threads()[1].name(), "kicker");
    assert_ne!(vmm.threads()[1].endpoint, 0);
    let irq = PLAN.boot_page(2).expect("irq-source");
    assert!(irq.handles().is_empty());
    let server = PLAN.boot_page(0).expect("server");
    let s = &server.server;
    assert_eq!(s.endpoint, plan::cspace::SERVER_ENDPOINT);
    assert_eq!(s.asid_pool, plan::cspace::ASID_POOL);
    assert_eq!(s.gicv_paddr, 0x0804_0000);
    assert_eq!(
        (s.gicv_frame, s.gicv_frame_count),
        (plan::cspace::GICV_FRAME, 2)
    );
    assert_eq!(s.untyped_size_bits(), &[23]);
    assert_eq!(s.clients().len(), 2);
    assert_eq!(s.clients()[0].thread_ids(), &[1, 2]);
    assert_eq!(s.grants().len(), 1);
    assert_eq!(
        (s.grants()[0].client_id, s.grants()[0].value),
        (1, hv.value)
    );
    assert_eq!(vmm.server, zerocopy::FromZeros::new_zeroed());
}
