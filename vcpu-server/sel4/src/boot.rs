//! Start-up: checking the boot page and installing the plan's clients and initial handles.
//!
//! Everything here is pure (host-tested): [`check`] turns the boot page into the backend's
//! [`Config`] and the slot/untyped ranges, refusing a page that does not describe a working
//! server; [`install`] registers every client and installs every grant in plan order,
//! checking that each handle gets exactly the value the plan told its client.

use core::fmt;

use caps::{ObjType, Rights};
use plan::bootpage::{BootPage, ServerInfo};
use plan::{GrantObject, Role, cspace};
use vcpu_protocol::layout::{RSRC_KIND_SYSTEM, RSRC_SYSTEM_HYPERVISOR_BASE};
use vcpu_protocol::{ClientId, Status};
use vcpu_server::{Backend, Limits, Server};

use crate::backend::Config;

/// The first GICV frame slot: 0 without a GICV, else the page must give all
/// [`cspace::GICV_FRAMES`] frames (the server maps the whole 8 KiB).
fn gicv_frames(s: &ServerInfo) -> Result<u64, StartError> {
    match s.gicv_frame {
        0 => Ok(0),
        slot if u64::from(s.gicv_frame_count) == cspace::GICV_FRAMES => Ok(slot),
        _ => Err(StartError::Missing("GICV frames")),
    }
}

/// What the server takes from its boot page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// Backend configuration.
    pub cfg: Config,
    /// The thread's IPC buffer address.
    pub ipc_buffer: u64,
    /// First free slot of the CNode.
    pub first_free: u64,
    /// One past the last slot.
    pub slot_limit: u64,
    /// First untyped slot.
    pub untyped_first: u64,
}

/// Why the server cannot start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The boot page is for another role.
    NotServer,
    /// Started as another thread than the plan's only thread 0.
    Thread(usize),
    /// A capability the server needs is missing (its name).
    Missing(&'static str),
    /// The server thread's MCP is below the VCPU priority, so it cannot set it.
    Mcp {
        /// The server thread's MCP.
        mcp: u8,
        /// The VCPU priority asked for.
        vcpu_priority: u8,
    },
    /// The free slot range is empty or inverted.
    Slots,
    /// A client could not be added (its id and the status).
    Client(u16, Status),
    /// A grant could not be installed (its index and the status).
    Grant(usize, Status),
    /// A grant names an object this server does not provide (its index).
    GrantObject(usize),
    /// A grant got another handle value than the plan told the client.
    GrantValue {
        /// Index of the grant.
        index: usize,
        /// The value in the plan.
        planned: u32,
        /// The value installed.
        installed: u32,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotServer => write!(f, "the boot page is not a server's"),
            StartError::Thread(t) => write!(f, "started as thread {t}; the server has one thread"),
            StartError::Missing(what) => write!(f, "the boot page gives no {what}"),
            StartError::Mcp { mcp, vcpu_priority } => write!(
                f,
                "the server's MCP {mcp} is below the VCPU priority {vcpu_priority}: \
                 it could not set the priority of VCPU threads"
            ),
            StartError::Slots => write!(f, "no free CNode slots"),
            StartError::Client(id, s) => write!(f, "cannot add client {id}: {s:?}"),
            StartError::Grant(i, s) => write!(f, "cannot install grant {i}: {s:?}"),
            StartError::GrantObject(i) => write!(f, "grant {i} names an unknown object"),
            StartError::GrantValue {
                index,
                planned,
                installed,
            } => write!(
                f,
                "grant {index}: the plan told the client handle {planned:#x}, \
                 the server installed {installed:#x}"
            ),
        }
    }
}

/// Checks the boot page of the server started as thread `thread`.
pub fn check(page: &BootPage, thread: usize) -> Result<Start, StartError> {
    if page.role() != Some(Role::Server) {
        return Err(StartError::NotServer);
    }
    if thread != 0 {
        return Err(StartError::Thread(thread));
    }
    let t = page
        .threads()
        .first()
        .ok_or(StartError::Missing("thread"))?;
    let s = &page.server;
    let need = |slot: u64, what| {
        if slot == 0 {
            Err(StartError::Missing(what))
        } else {
            Ok(slot)
        }
    };
    let cfg = Config {
        cnode: need(page.cnode, "CNode")?,
        tcb: need(t.tcb, "TCB")?,
        endpoint: need(s.endpoint, "endpoint")?,
        asid_pool: need(s.asid_pool, "ASID pool")?,
        gicv: gicv_frames(s)?,
        vcpu_priority: s.vcpu_priority,
        server_mcp: t.mcp,
        cores: page.cores.max(1),
        server_core: page.main_core,
    };
    if s.untyped_count == 0 || s.untyped_first == 0 {
        return Err(StartError::Missing("untyped memory"));
    }
    if t.ipc_buffer == 0 {
        return Err(StartError::Missing("IPC buffer"));
    }
    if t.mcp < s.vcpu_priority {
        return Err(StartError::Mcp {
            mcp: t.mcp,
            vcpu_priority: s.vcpu_priority,
        });
    }
    if page.first_free_slot == 0 || page.first_free_slot >= page.slot_limit {
        return Err(StartError::Slots);
    }
    Ok(Start {
        cfg,
        ipc_buffer: t.ipc_buffer,
        first_free: page.first_free_slot,
        slot_limit: page.slot_limit,
        untyped_first: s.untyped_first,
    })
}

/// Counts of what [`install`] set up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Installed {
    /// Clients added.
    pub clients: usize,
    /// Client threads (with an endpoint).
    pub threads: usize,
    /// Handles installed.
    pub grants: usize,
}

/// Adds every client of `info` and installs every grant in order, checking handle values.
pub fn install<B: Backend>(
    server: &mut Server<B>,
    info: &ServerInfo,
) -> Result<Installed, StartError> {
    let mut done = Installed::default();
    for c in info.clients() {
        let l = c.limits();
        let limits = Limits {
            handles: l.handles,
            guests: l.guests,
            vcpus: l.vcpus,
            ports: l.ports,
            traps: l.traps,
            mappings: l.mappings,
        };
        server
            .add_client_with(ClientId(c.client_id), limits)
            .map_err(|s| StartError::Client(c.client_id, s))?;
        done.clients += 1;
        done.threads += c.thread_ids().len();
    }
    let clients = info.clients();
    for c in clients {
        for (i, to) in clients.iter().enumerate() {
            if c.send_mask & (1 << i) != 0 {
                server
                    .allow_send(ClientId(c.client_id), ClientId(to.client_id))
                    .map_err(|s| StartError::Client(c.client_id, s))?;
            }
        }
    }
    done.grants = install_grants(server, info, None)?;
    Ok(done)
}

/// Installs the grants of `info` in order (only those of client `only`, if given: a restarted
/// client gets its initial handles again), checking each value against the plan. Returns how
/// many were installed.
pub fn install_grants<B: Backend>(
    server: &mut Server<B>,
    info: &ServerInfo,
    only: Option<ClientId>,
) -> Result<usize, StartError> {
    let mut installed_count = 0;
    for (index, g) in info.grants().iter().enumerate() {
        if only.is_some_and(|c| c.0 != g.client_id) {
            continue;
        }
        if g.object != GrantObject::HypervisorResource as u32
            || g.obj_type != ObjType::Resource as u32
        {
            return Err(StartError::GrantObject(index));
        }
        let installed = server
            .grant_resource(
                ClientId(g.client_id),
                RSRC_KIND_SYSTEM,
                RSRC_SYSTEM_HYPERVISOR_BASE,
                1,
                Rights::from_bits(g.rights),
            )
            .map_err(|s| StartError::Grant(index, s))?;
        if installed != g.value {
            return Err(StartError::GrantValue {
                index,
                planned: g.value,
                installed,
            });
        }
        installed_count += 1;
    }
    Ok(installed_count)
}

#[cfg(test)]
mod tests {
    use super::{StartError, check, install};
    use caps::{ObjType, Rights};
    use plan::bootpage::{BootPage, GrantInfo};
    use plan::{GrantObject, Role};
    use vcpu_protocol::{ClientId, Status};
    use zerocopy::FromZeros;

    fn server_page() -> BootPage {
        let mut p = BootPage::new_zeroed();
        p.role = Role::Server as u16;
        p.cnode = 1;
        p.first_free_slot = 64;
        p.slot_limit = 4096;
        p.thread_count = 1;
        p.threads[0].tcb = 16;
        p.threads[0].mcp = 200;
        p.threads[0].priority = 200;
        p.threads[0].ipc_buffer = 0x1001_0000;
        p.server.endpoint = 4;
        p.server.asid_pool = 3;
        p.server.gicv_frame = 5;
        p.server.gicv_frame_count = 2;
        p.server.untyped_first = 40;
        p.server.untyped_count = 1;
        p.server.untyped_size_bits[0] = 23;
        p.server.vcpu_priority = 50;
        p.server.max_guests = 4;
        p.server.max_vcpus = 8;
        p
    }

    fn grant(client: u16, value: u32, rights: Rights) -> GrantInfo {
        GrantInfo {
            client_id: client,
            component: 1,
            value,
            object: GrantObject::HypervisorResource as u32,
            obj_type: ObjType::Resource as u32,
            rights: rights.bits(),
            reserved: 0,
        }
    }

    #[test]
    fn accepts_a_server_page() {
        let s = check(&server_page(), 0).unwrap();
        assert_eq!((s.cfg.endpoint, s.cfg.asid_pool, s.cfg.gicv), (4, 3, 5));
        assert_eq!(
            (s.first_free, s.slot_limit, s.untyped_first),
            (64, 4096, 40)
        );
        assert_eq!(s.cfg.tcb, 16);
    }

    #[test]
    fn refuses_broken_pages() {
        let mut p = server_page();
        p.role = Role::Client as u16;
        assert_eq!(check(&p, 0), Err(StartError::NotServer));
        assert_eq!(check(&server_page(), 1), Err(StartError::Thread(1)));
        let mut p = server_page();
        p.threads[0].mcp = 49;
        assert_eq!(
            check(&p, 0),
            Err(StartError::Mcp {
                mcp: 49,
                vcpu_priority: 50
            })
        );
        let mut p = server_page();
        p.server.asid_pool = 0;
        assert_eq!(check(&p, 0), Err(StartError::Missing("ASID pool")));
        let mut p = server_page();
        p.server.untyped_count = 0;
        assert_eq!(check(&p, 0), Err(StartError::Missing("untyped memory")));
        let mut p = server_page();
        p.first_free_slot = 4096;
        assert_eq!(check(&p, 0), Err(StartError::Slots));
        let mut p = server_page();
        p.server.gicv_frame_count = 1;
        assert_eq!(check(&p, 0), Err(StartError::Missing("GICV frames")));
        let mut p = server_page();
        p.server.gicv_frame = 0;
        assert_eq!(check(&p, 0).map(|s| s.cfg.gicv), Ok(0), "no GICV at all");
    }

    fn limits(handles: u16, ports: u16) -> plan::bootpage::LimitsInfo {
        plan::bootpage::LimitsInfo {
            handles,
            guests: 1,
            vcpus: 1,
            ports,
            traps: 1,
            mappings: 1,
        }
    }

    #[test]
    fn installs_grants_with_planned_values() {
        let mut p = server_page();
        p.server.client_count = 2;
        p.server.clients[0].client_id = 1;
        p.server.clients[0].thread_count = 2;
        p.server.clients[1].client_id = 2;
        p.server.clients[1].thread_count = 1;
        p.server.clients[0].limits = limits(10, 3);
        p.server.clients[1].limits = limits(20, 5);
        p.server.grant_count = 2;
        p.server.grants[0] = grant(1, 0x7, Rights::INSPECT);
        p.server.grants[1] = grant(1, 0x40007, Rights::INSPECT | Rights::DUPLICATE);
        p.server.clients[0].send_mask = 0b10;
        let mut server = crate::fake::server();
        let done = install(&mut server, &p.server).unwrap();
        assert_eq!((done.clients, done.threads, done.grants), (2, 3, 2));
        assert_eq!(server.object_counts().resources, 2);
        // Each client got the limits of its plan entry.
        let (l1, _) = server.quota(ClientId(1)).unwrap();
        let (l2, _) = server.quota(ClientId(2)).unwrap();
        assert_eq!((l1.handles, l1.ports, l2.handles, l2.ports), (10, 3, 20, 5));
        assert_eq!(server.free_handles(ClientId(1)), Some(8));
    }

    #[test]
    fn refuses_limits_beyond_the_server() {
        let mut p = server_page();
        p.server.client_count = 1;
        p.server.clients[0].client_id = 1;
        p.server.clients[0].limits = limits(10, 3);
        p.server.clients[0].limits.vcpus = vcpu_server::MAX_VCPUS as u16 + 1;
        let mut server = crate::fake::server();
        assert_eq!(
            install(&mut server, &p.server),
            Err(StartError::Client(1, Status::ERR_NO_RESOURCES))
        );
    }

    #[test]
    fn reports_a_wrong_handle_value() {
        let mut p = server_page();
        p.server.client_count = 1;
        p.server.clients[0].client_id = 1;
        p.server.clients[0].limits = limits(8, 1);
        p.server.grant_count = 1;
        p.server.grants[0] = grant(1, 0x40007, Rights::INSPECT);
        let mut server = crate::fake::server();
        assert_eq!(
            install(&mut server, &p.server),
            Err(StartError::GrantValue {
                index: 0,
                planned: 0x40007,
                installed: 0x7
            })
        );
        let mut p = server_page();
        p.server.grant_count = 1;
        p.server.grants[0] = grant(9, 0x7, Rights::INSPECT);
        let mut server = crate::fake::server();
        assert!(matches!(
            install(&mut server, &p.server),
            Err(StartError::Grant(0, _))
        ));
        p.server.grants[0].object = 2;
        assert_eq!(
            install(&mut server, &p.server),
            Err(StartError::GrantObject(0))
        );
    }
}
