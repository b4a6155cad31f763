//! The boot page: what a component learns about itself at start, instead of hard-coding slots.
//!
//! The root task writes one [`BootPage`] (built by [`crate::Plan::boot_page`]) into a 4 KiB frame
//! and maps it read-only at [`crate::vspace::BOOT_PAGE`] in the component; every thread starts
//! with that address in `x0` and its thread index in `x1`. A component checks the page with
//! [`BootPage::from_bytes`] and then reads its slots, addresses, regions and initial handles.
//!
//! Layout rules: `#[repr(C)]`, little-endian, no implicit padding (zerocopy's `IntoBytes` derive
//! proves it), fixed-size arrays with a count, names as NUL-padded UTF-8. Fields are only ever
//! added at the end, with a [`VERSION`] bump. A slot or address of 0 means "none".

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::{
    ComponentPlan, MAX_CLIENTS, MAX_GRANTS, MAX_HANDLES, MAX_REGIONS, MAX_THREADS, MAX_UNTYPED,
    MemorySource, Plan, Role, cspace,
};

/// `b"sel4boot"` as a little-endian word.
pub const MAGIC: u64 = u64::from_le_bytes(*b"sel4boot");
/// Layout version.
pub const VERSION: u32 = 4;
/// Bytes of a component or region name field.
pub const NAME_LEN: usize = 32;
/// Bytes of a thread name field.
pub const THREAD_NAME_LEN: usize = 16;
/// Bytes of a handle name field.
pub const HANDLE_NAME_LEN: usize = 24;

/// [`RegionInfo::flags`]: usable as guest memory (its frames may be sent to the server).
pub const REGION_GUEST: u32 = 1 << 0;
/// [`RegionInfo::flags`]: mapped into the component at `vaddr`.
pub const REGION_MAPPED: u32 = 1 << 1;
/// [`RegionInfo::flags`]: frames come from the `vm-memory` device range.
pub const REGION_VM_MEMORY: u32 = 1 << 2;
/// [`RegionInfo::flags`]: the mapping is writable.
pub const REGION_WRITABLE: u32 = 1 << 3;

/// The whole page (3392 bytes of a 4 KiB frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BootPage {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`VERSION`].
    pub version: u32,
    /// `size_of::<BootPage>()`.
    pub size: u32,
    /// Component name.
    pub name: [u8; NAME_LEN],
    /// Component index in the plan.
    pub component: u16,
    /// [`Role`] as its `u16` value.
    pub role: u16,
    /// Client id (0 unless a client).
    pub client_id: u16,
    /// Valid entries of `threads`.
    pub thread_count: u16,
    /// Valid entries of `regions`.
    pub region_count: u16,
    /// Valid entries of `handles`.
    pub handle_count: u16,
    /// The CNode has `2^cspace_size_bits` slots.
    pub cspace_size_bits: u16,
    /// Cores the kernel runs on (BootInfo `numNodes`, written by the root task at boot).
    pub cores: u8,
    /// The core thread 0 runs on (its manifest `core`).
    pub main_core: u8,
    /// Slot of the own CNode (resolve at depth 64).
    pub cnode: u64,
    /// Slot of the own VSpace.
    pub vspace: u64,
    /// First free slot.
    pub first_free_slot: u64,
    /// One past the last slot (`2^cspace_size_bits`).
    pub slot_limit: u64,
    /// Heap address (0 = no heap).
    pub heap_vaddr: u64,
    /// Heap size.
    pub heap_size: u64,
    /// Threads, thread 0 first.
    pub threads: [ThreadInfo; MAX_THREADS],
    /// Memory regions.
    pub regions: [RegionInfo; MAX_REGIONS],
    /// Initial handles, in grant order.
    pub handles: [HandleInfo; MAX_HANDLES],
    /// Server resources (all zero unless the component is the server).
    pub server: ServerInfo,
}

/// One thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ThreadInfo {
    /// Thread name.
    pub name: [u8; THREAD_NAME_LEN],
    /// Thread id (0 unless a client thread).
    pub id: u16,
    /// Priority.
    pub priority: u8,
    /// Maximum controlled priority.
    pub mcp: u8,
    /// Entry selector.
    pub entry: u32,
    /// Slot of its TCB.
    pub tcb: u64,
    /// Slot of its badged endpoint to the server (0 = none).
    pub endpoint: u64,
    /// That endpoint's badge (0 = none).
    pub badge: u64,
    /// IPC buffer address.
    pub ipc_buffer: u64,
    /// Initial stack pointer.
    pub stack_top: u64,
    /// Stack size.
    pub stack_size: u64,
}

/// One memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct RegionInfo {
    /// Region name.
    pub name: [u8; NAME_LEN],
    /// Where it is mapped (0 = not mapped).
    pub vaddr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Physical address when fixed at build time (0 = unknown).
    pub paddr: u64,
    /// First frame cap slot.
    pub frame_slot: u64,
    /// Number of frame caps.
    pub frame_count: u64,
    /// Frame size, log2 bytes (12 or 21).
    pub page_bits: u32,
    /// `REGION_*` flags.
    pub flags: u32,
}

/// One initial handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HandleInfo {
    /// Grant name.
    pub name: [u8; HANDLE_NAME_LEN],
    /// Handle value.
    pub value: u32,
    /// `zx_obj_type_t`.
    pub obj_type: u32,
    /// `zx_rights_t`.
    pub rights: u32,
    /// [`crate::GrantObject`] as its `u32` value.
    pub object: u32,
}

/// What only the server needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ServerInfo {
    /// Slot of the unbadged server endpoint (all rights).
    pub endpoint: u64,
    /// Slot of the dedicated ASID pool (0 = none).
    pub asid_pool: u64,
    /// Slot of the first GICV frame (0 = none); the others follow (see `gicv_frame_count`).
    pub gicv_frame: u64,
    /// Physical address of the first GICV frame; the others are the next 4 KiB pages.
    pub gicv_paddr: u64,
    /// First untyped slot (the others follow).
    pub untyped_first: u64,
    /// Total untyped bytes.
    pub untyped_bytes: u64,
    /// Number of untyped caps.
    pub untyped_count: u16,
    /// Budget: most guests.
    pub max_guests: u16,
    /// Budget: most VCPUs.
    pub max_vcpus: u16,
    /// Priority for VCPU threads.
    pub vcpu_priority: u8,
    /// Number of 4 KiB GICV frames from `gicv_frame` (0 = none, at most
    /// [`cspace::GICV_FRAMES`]; was a zero reserved byte before version 2).
    pub gicv_frame_count: u8,
    /// Size (log2 bytes) of each untyped cap.
    pub untyped_size_bits: [u8; MAX_UNTYPED],
    /// Valid entries of `clients`.
    pub client_count: u32,
    /// Valid entries of `grants`.
    pub grant_count: u32,
    /// Every client of the system.
    pub clients: [ClientInfo; MAX_CLIENTS],
    /// Every initial handle grant, in manifest order.
    pub grants: [GrantInfo; MAX_GRANTS],
}

/// A client, as the server sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ClientInfo {
    /// Client id.
    pub client_id: u16,
    /// Component index.
    pub component: u16,
    /// Valid entries of `thread_ids`.
    pub thread_count: u16,
    /// Zero.
    pub reserved: u16,
    /// Ids of the threads that hold an endpoint.
    pub thread_ids: [u16; MAX_THREADS],
    /// Its limits in the server (version 3).
    pub limits: LimitsInfo,
    /// The clients it may send handles to: bit `i` is entry `i` of [`ServerInfo::clients`]
    /// (version 3).
    pub send_mask: u16,
    /// Valid entries of `memory_bits` (version 4).
    pub memory_count: u8,
    /// Zero.
    pub reserved2: u8,
    /// Slot of the first untyped capability of its memory pool; the others follow
    /// (version 4).
    pub memory_slot: u64,
    /// Size (log2 bytes) of each untyped capability of its memory pool (version 4).
    pub memory_bits: [u8; crate::MAX_MEMORY_BLOCKS],
}

impl ClientInfo {
    /// The sizes of its memory pool's untyped capabilities.
    pub fn memory_bits(&self) -> &[u8] {
        &self.memory_bits[..usize::from(self.memory_count).min(crate::MAX_MEMORY_BLOCKS)]
    }

    /// Bytes of its memory pool.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bits()
            .iter()
            .map(|&b| 1u64.checked_shl(u32::from(b)).unwrap_or(0))
            .sum()
    }
}

/// [`crate::ClientLimits`] in the boot page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct LimitsInfo {
    /// Handle-table slots.
    pub handles: u16,
    /// Live guests.
    pub guests: u16,
    /// Live VCPUs.
    pub vcpus: u16,
    /// Live ports.
    pub ports: u16,
    /// Live traps.
    pub traps: u16,
    /// Live mappings.
    pub mappings: u16,
}

impl ClientInfo {
    /// The limits as the plan states them (`memory` from the memory pool).
    pub fn limits(&self) -> crate::ClientLimits {
        let l = &self.limits;
        crate::ClientLimits {
            handles: l.handles,
            guests: l.guests,
            vcpus: l.vcpus,
            ports: l.ports,
            traps: l.traps,
            mappings: l.mappings,
            memory: self.memory_bytes(),
        }
    }
}

/// An initial handle to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantInfo {
    /// Receiving client.
    pub client_id: u16,
    /// Its component index.
    pub component: u16,
    /// Handle value the client was told.
    pub value: u32,
    /// [`crate::GrantObject`] as its `u32` value.
    pub object: u32,
    /// `zx_obj_type_t`.
    pub obj_type: u32,
    /// `zx_rights_t`.
    pub rights: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = assert!(size_of::<BootPage>() <= 4096);
const _: () = assert!(size_of::<BootPage>() == 3392);
const _: () = assert!(MAX_CLIENTS <= 16, "send_mask has one bit per client");

/// Why [`BootPage::from_bytes`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootPageError {
    /// Fewer bytes than a boot page, or misaligned.
    TooShort,
    /// Wrong magic.
    BadMagic,
    /// Another layout version or size.
    BadVersion,
    /// A count exceeds its array.
    BadCount,
}

/// The text of a NUL-padded name field (up to the first NUL; invalid UTF-8 reads as "").
pub fn field_str(field: &[u8]) -> &str {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    core::str::from_utf8(&field[..len]).unwrap_or("")
}

fn fill(field: &mut [u8], text: &str) {
    let n = text.len().min(field.len());
    field[..n].copy_from_slice(&text.as_bytes()[..n]);
}

impl BootPage {
    /// Checks and views a boot page at the start of `bytes` (which must be 8-byte aligned).
    pub fn from_bytes(bytes: &[u8]) -> Result<&BootPage, BootPageError> {
        let (page, _) = BootPage::ref_from_prefix(bytes).map_err(|_| BootPageError::TooShort)?;
        if page.magic != MAGIC {
            return Err(BootPageError::BadMagic);
        }
        if page.version != VERSION || page.size as usize != size_of::<BootPage>() {
            return Err(BootPageError::BadVersion);
        }
        let s = &page.server;
        if page.thread_count as usize > MAX_THREADS
            || page.region_count as usize > MAX_REGIONS
            || page.handle_count as usize > MAX_HANDLES
            || s.untyped_count as usize > MAX_UNTYPED
            || u64::from(s.gicv_frame_count) > cspace::GICV_FRAMES
            || s.client_count as usize > MAX_CLIENTS
            || s.grant_count as usize > MAX_GRANTS
            || s.clients.iter().any(|c| {
                c.thread_count as usize > MAX_THREADS
                    || usize::from(c.memory_count) > crate::MAX_MEMORY_BLOCKS
            })
        {
            return Err(BootPageError::BadCount);
        }
        Ok(page)
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        field_str(&self.name)
    }

    /// The component's role, if the value is known.
    pub fn role(&self) -> Option<Role> {
        match self.role {
            1 => Some(Role::Server),
            2 => Some(Role::Client),
            3 => Some(Role::Isolated),
            _ => None,
        }
    }

    /// The valid thread entries.
    pub fn threads(&self) -> &[ThreadInfo] {
        &self.threads[..(self.thread_count as usize).min(MAX_THREADS)]
    }

    /// The valid region entries.
    pub fn regions(&self) -> &[RegionInfo] {
        &self.regions[..(self.region_count as usize).min(MAX_REGIONS)]
    }

    /// The valid handle entries.
    pub fn handles(&self) -> &[HandleInfo] {
        &self.handles[..(self.handle_count as usize).min(MAX_HANDLES)]
    }

    /// The region called `name`.
    pub fn region(&self, name: &str) -> Option<&RegionInfo> {
        self.regions().iter().find(|r| r.name() == name)
    }

    /// The initial handle called `name`.
    pub fn handle(&self, name: &str) -> Option<&HandleInfo> {
        self.handles().iter().find(|h| h.name() == name)
    }
}

impl ThreadInfo {
    /// The thread's name.
    pub fn name(&self) -> &str {
        field_str(&self.name)
    }
}

impl RegionInfo {
    /// The region's name.
    pub fn name(&self) -> &str {
        field_str(&self.name)
    }
}

impl HandleInfo {
    /// The handle's name.
    pub fn name(&self) -> &str {
        field_str(&self.name)
    }
}

impl ServerInfo {
    /// The valid client entries.
    pub fn clients(&self) -> &[ClientInfo] {
        &self.clients[..(self.client_count as usize).min(MAX_CLIENTS)]
    }

    /// The valid grant entries.
    pub fn grants(&self) -> &[GrantInfo] {
        &self.grants[..(self.grant_count as usize).min(MAX_GRANTS)]
    }

    /// The sizes of the valid untyped caps.
    pub fn untyped_size_bits(&self) -> &[u8] {
        &self.untyped_size_bits[..(self.untyped_count as usize).min(MAX_UNTYPED)]
    }
}

impl ClientInfo {
    /// The valid thread ids.
    pub fn thread_ids(&self) -> &[u16] {
        &self.thread_ids[..(self.thread_count as usize).min(MAX_THREADS)]
    }
}

/// Builds component `c`'s boot page. Entries beyond the fixed array sizes are dropped (the
/// manifest compiler rejects such systems, so this never happens for a generated plan).
pub(crate) fn build(plan: &Plan, c: &ComponentPlan) -> BootPage {
    let mut page = BootPage::new_zeroed();
    page.magic = MAGIC;
    page.version = VERSION;
    page.size = size_of::<BootPage>() as u32;
    fill(&mut page.name, c.name);
    page.component = c.index;
    page.role = c.role as u16;
    page.client_id = c.client_id;
    page.cspace_size_bits = c.cspace_size_bits as u16;
    page.cores = 1;
    page.main_core = c.threads.first().map_or(0, |t| t.core);
    page.cnode = cspace::CNODE;
    page.vspace = cspace::VSPACE;
    page.first_free_slot = c.first_free_slot;
    page.slot_limit = 1u64 << c.cspace_size_bits.min(63);
    page.heap_vaddr = c.heap_vaddr;
    page.heap_size = c.heap_size;
    for (info, t) in page.threads.iter_mut().zip(c.threads) {
        fill(&mut info.name, t.name);
        info.id = t.id;
        info.priority = t.priority;
        info.mcp = t.mcp;
        info.entry = t.entry;
        info.tcb = t.tcb_slot;
        info.endpoint = t.endpoint_slot;
        info.badge = t.badge;
        info.ipc_buffer = t.ipc_buffer;
        info.stack_top = t.stack_top;
        info.stack_size = t.stack_size;
    }
    page.thread_count = c.threads.len().min(MAX_THREADS) as u16;
    for (info, r) in page.regions.iter_mut().zip(c.regions) {
        fill(&mut info.name, r.name);
        info.vaddr = r.vaddr.unwrap_or(0);
        info.size = r.size;
        info.paddr = r.paddr.unwrap_or(0);
        info.frame_slot = r.frame_slot;
        info.frame_count = r.frame_count;
        info.page_bits = r.page_bits as u32;
        let mut flags = 0;
        if r.guest {
            flags |= REGION_GUEST;
        }
        if r.vaddr.is_some() {
            flags |= REGION_MAPPED;
        }
        if r.source == MemorySource::VmMemory {
            flags |= REGION_VM_MEMORY;
        }
        // seL4_CanWrite is bit 0 of a rights word.
        if r.rights & 1 != 0 {
            flags |= REGION_WRITABLE;
        }
        info.flags = flags;
    }
    page.region_count = c.regions.len().min(MAX_REGIONS) as u16;
    for (info, h) in page.handles.iter_mut().zip(c.handles) {
        fill(&mut info.name, h.name);
        info.value = h.value;
        info.obj_type = h.obj_type;
        info.rights = h.rights;
        info.object = h.object as u32;
    }
    page.handle_count = c.handles.len().min(MAX_HANDLES) as u16;
    if c.role == Role::Server {
        page.server = server_info(plan);
    }
    page
}

fn server_info(plan: &Plan) -> ServerInfo {
    let mut s = ServerInfo::new_zeroed();
    s.endpoint = cspace::SERVER_ENDPOINT;
    if let Some(hv) = &plan.hypervisor {
        s.asid_pool = cspace::ASID_POOL;
        if let Some(paddr) = hv.gicv_paddr {
            s.gicv_frame = cspace::GICV_FRAME;
            s.gicv_paddr = paddr;
            s.gicv_frame_count = cspace::GICV_FRAMES as u8;
        }
        s.untyped_first = cspace::untyped(0);
        s.untyped_bytes = hv.untyped_bytes;
        for (dst, &bits) in s.untyped_size_bits.iter_mut().zip(hv.untyped_size_bits) {
            *dst = bits;
        }
        s.untyped_count = hv.untyped_size_bits.len().min(MAX_UNTYPED) as u16;
        s.max_guests = hv.max_guests;
        s.max_vcpus = hv.max_vcpus;
        s.vcpu_priority = hv.vcpu_priority;
    }
    let clients = plan.components.iter().filter(|c| c.role == Role::Client);
    let mut count = 0;
    for (info, c) in s.clients.iter_mut().zip(clients) {
        info.client_id = c.client_id;
        info.component = c.index;
        let mut n = 0;
        for t in c
            .threads
            .iter()
            .filter(|t| t.endpoint_slot != 0)
            .take(MAX_THREADS)
        {
            info.thread_ids[n] = t.id;
            n += 1;
        }
        info.thread_count = n as u16;
        // Its memory pool: the server's `ClientMemory` capabilities naming it, in slot order.
        let server = plan.components.get(usize::from(plan.server));
        let pool = server
            .into_iter()
            .flat_map(|s| s.caps)
            .filter_map(|cp| match cp.cap {
                crate::Cap::ClientMemory {
                    client_id,
                    size_bits,
                } if client_id == c.client_id => Some((cp.slot, size_bits)),
                _ => None,
            });
        let mut m = 0;
        for (slot, bits) in pool.take(crate::MAX_MEMORY_BLOCKS) {
            if m == 0 {
                info.memory_slot = slot;
            }
            info.memory_bits[m] = bits;
            m += 1;
        }
        info.memory_count = m as u8;
        let l = c.limits;
        info.limits = LimitsInfo {
            handles: l.handles,
            guests: l.guests,
            vcpus: l.vcpus,
            ports: l.ports,
            traps: l.traps,
            mappings: l.mappings,
        };
        count += 1;
    }
    s.client_count = count;
    let mut ids = [0u16; MAX_CLIENTS];
    for (id, c) in ids
        .iter_mut()
        .zip(plan.components.iter().filter(|c| c.role == Role::Client))
    {
        *id = c.client_id;
    }
    let ids = &ids[..(count as usize).min(MAX_CLIENTS)];
    for (info, c) in s
        .clients
        .iter_mut()
        .zip(plan.components.iter().filter(|c| c.role == Role::Client))
    {
        info.send_mask = c
            .send_to
            .iter()
            .filter_map(|id| ids.iter().position(|x| x == id))
            .fold(0u16, |m, i| m | 1 << i);
    }
    for (info, g) in s.grants.iter_mut().zip(plan.grants) {
        info.client_id = g.client_id;
        info.component = g.component;
        info.value = g.handle.value;
        info.object = g.handle.object as u32;
        info.obj_type = g.handle.obj_type;
        info.rights = g.handle.rights;
    }
    s.grant_count = plan.grants.len().min(MAX_GRANTS) as u32;
    s
}
