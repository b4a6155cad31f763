//! The boot plan: everything the root task needs to compose a system, fully resolved.
//!
//! The manifest compiler (`manifest` crate, on the host, at build time) validates a system
//! manifest and generates Rust source defining `pub static PLAN: plan::Plan`. The root task
//! `include!`s it and only *executes* it: it parses nothing and decides no policy. Every number
//! that matters for isolation (badges, rights words, slot numbers, addresses, priorities, handle
//! values) is computed and checked before the image is built.
//!
//! What the root task does for each [`ComponentPlan`], in order:
//! 1. create a VSpace, a CNode of `2^cspace_size_bits` slots, one TCB per [`ThreadPlan`];
//! 2. load the ELF's `PT_LOAD` segments (which must lie in `vspace::IMAGE_START..IMAGE_END`);
//! 3. map the boot page (read-only) at [`vspace::BOOT_PAGE`], the IPC buffers, stacks and heap at
//!    the addresses in the plan, and each [`RegionPlan`] with a `vaddr`;
//! 4. place every [`CapPlan`] at its slot (see [`cspace`] for the layout);
//! 5. write [`Plan::boot_page`] into the boot page;
//! 6. configure each TCB (CSpace with [`cspace::guard_data`], VSpace, IPC buffer, fault endpoint
//!    [`ThreadPlan::fault_slot`], priority and MCP) and start it with `pc` = ELF entry,
//!    `sp` = [`ThreadPlan::stack_top`], `x0` = [`vspace::BOOT_PAGE`], `x1` = thread index.
//!
//! Faults of every component thread arrive at the root task's fault endpoint with the badge
//! [`fault_badge`]`(component, thread)`; the root task reports them and keeps the rest running.
//!
//! Invariants (established by the manifest compiler, relied on by the root task):
//! - exactly one component has [`Role::Server`]; [`Plan::server`] is its index;
//! - slot numbers are distinct within a CSpace and below `2^cspace_size_bits`;
//! - client thread badges are distinct and follow `vcpu_protocol::Badge::Client`'s layout;
//! - every rights word is a `seL4_CapRights` word computed through `caps::sel4`;
//! - array lengths fit the boot page limits ([`MAX_THREADS`], [`MAX_REGIONS`], [`MAX_HANDLES`],
//!   [`MAX_UNTYPED`], [`MAX_CLIENTS`], [`MAX_GRANTS`]).
#![no_std]
#![forbid(unsafe_code)]

pub mod bootpage;
pub mod console;
pub mod cspace;
pub mod vspace;

pub use bootpage::BootPage;

/// Version of these types; generated plans record the version they were generated for.
pub const PLAN_VERSION: u32 = 1;

/// Most threads a component may have.
pub const MAX_THREADS: usize = 8;
/// Most memory regions a component may own.
pub const MAX_REGIONS: usize = 8;
/// Most initial handles a client may be granted.
pub const MAX_HANDLES: usize = 8;
/// Most untyped capabilities the server may receive.
pub const MAX_UNTYPED: usize = 16;
/// Most clients a system may have.
pub const MAX_CLIENTS: usize = 16;
/// Most initial handle grants in a system.
pub const MAX_GRANTS: usize = 32;

/// Bit 62 marks a root-task fault badge (the root task's fault endpoint is its own, so this only
/// keeps fault badges nonzero and recognisable).
pub const FAULT_BADGE_BIT: u64 = 1 << 62;

/// The badge of the fault endpoint capability named by thread `thread` of component `component`.
pub const fn fault_badge(component: u16, thread: u16) -> u64 {
    FAULT_BADGE_BIT | (component as u64) << 16 | thread as u64
}

/// The `(component, thread)` a fault badge names, or `None` for any other word.
pub const fn decode_fault_badge(badge: u64) -> Option<(u16, u16)> {
    if badge & !(FAULT_BADGE_BIT | 0xFFFF_FFFF) != 0 || badge & FAULT_BADGE_BIT == 0 {
        return None;
    }
    Some(((badge >> 16) as u16, badge as u16))
}

/// The handle value of a client's `index`-th initial grant (grant order in the manifest).
///
/// Contract with the VCPU server: it installs each client's initial grants, in order, into that
/// client's fresh handle table, so grant `index` lands in table slot `index` with generation 1.
/// This is the value of that handle under the server's encoding
/// `slot << 18 | generation << 2 | 0b11` (`vcpu-server/core/src/handle.rs`): the first grant is 0x7.
/// Values always have the two low bits set, like Zircon's, and are never `ZX_HANDLE_INVALID`.
pub const fn grant_handle_value(index: usize) -> u32 {
    ((index as u32) << 18) | (1 << 2) | 0b11
}

/// A complete system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// [`PLAN_VERSION`] of the generator.
    pub version: u32,
    /// The system's name.
    pub system: &'static str,
    /// What the kernel must provide.
    pub kernel: KernelRequirements,
    /// Components, in manifest order (a component's index is its position).
    pub components: &'static [ComponentPlan],
    /// Index of the server component.
    pub server: u16,
    /// Index of the console component (created and started first; every component prints
    /// through it).
    pub console: u16,
    /// VCPU-making resources of the server, if the system has a `[hypervisor]` section.
    pub hypervisor: Option<HypervisorPlan>,
    /// Every initial handle grant, in manifest order (the server installs them at start).
    pub grants: &'static [GrantPlan],
    /// Product or test system: decides what the root task does with faults and status
    /// messages.
    pub kind: SystemKind,
}

/// What kind of system a plan describes (`[system] kind` in the manifest).
///
/// Supervision is a policy, not a verdict: in both kinds a component that faults (or sends a
/// message on its fault endpoint that is no status message, e.g. a forged fault) is stopped
/// alone and the rest keeps running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum SystemKind {
    /// A deployed system: the root task never powers the machine off and never judges;
    /// status messages are refused (answered with a non-zero label).
    Product = 1,
    /// A test system: the root task follows the status protocol, judges the run (PASS/FAIL
    /// lines and a sentinel) and powers the machine off once it has a verdict.
    Test = 2,
}

/// Kernel configuration the system needs (the build checks the installed kernel against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRequirements {
    /// `KernelArmHypervisorSupport`.
    pub hypervisor: bool,
    /// Physical address bits (`KernelArmPASizeBits40`/`44`).
    pub pa_bits: u8,
}

/// What a component is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Role {
    /// The server: receives on its endpoint.
    Server = 1,
    /// A client: each listed thread holds a badged endpoint to the server.
    Client = 2,
    /// No capability to the server at all (negative tests).
    Isolated = 3,
}

/// One component: a process with its own VSpace, CSpace and threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentPlan {
    /// Position in [`Plan::components`].
    pub index: u16,
    /// Name (also written into the boot page; at most 31 bytes).
    pub name: &'static str,
    /// Cargo package/binary the ELF was built from.
    pub program: &'static str,
    /// The ELF image.
    pub elf: &'static [u8],
    /// Role.
    pub role: Role,
    /// Client id (`vcpu_protocol::ClientId`), 0 unless [`Role::Client`].
    pub client_id: u16,
    /// The CNode has `2^cspace_size_bits` slots.
    pub cspace_size_bits: u8,
    /// First slot the component may use freely (up to `2^cspace_size_bits`).
    pub first_free_slot: u64,
    /// Heap address ([`vspace::HEAP`]) or 0 when `heap_size` is 0.
    pub heap_vaddr: u64,
    /// Heap size in bytes (page multiple; 0 = no heap).
    pub heap_size: u64,
    /// Threads; thread 0 is the main thread.
    pub threads: &'static [ThreadPlan],
    /// Every capability to place in the component's CSpace.
    pub caps: &'static [CapPlan],
    /// Memory regions the component owns.
    pub regions: &'static [RegionPlan],
    /// Initial handles the component is told about (grant order).
    pub handles: &'static [HandlePlan],
    /// What the server lets this client hold at once (all zero unless [`Role::Client`]).
    pub limits: ClientLimits,
    /// Test systems only: the component is meant to misbehave (fault, forge a fault message,
    /// report twice) and the run passes only if the root task stops it alone.
    pub expect_stopped: bool,
    /// How often the root task restarts this component after stopping it for misbehaviour
    /// (`restart = "on-failure"`, `max-restarts` in the manifest); 0: never. Each restart is a
    /// fresh instance: new CNode, VSpace, TCBs and frames, the image loaded again from
    /// [`ComponentPlan::elf`], the capabilities and badges of this plan.
    pub restarts: u16,
    /// Client ids of the clients this client may send handles to (`handle_send`), besides
    /// itself (`send-handles-to` in the manifest).
    pub send_to: &'static [u16],
}

/// A client's limits in the server (`[endpoint.limits]` in the manifest, or the server's
/// defaults): the server charges every object to the client that created it and refuses one
/// beyond these with a status for that client alone. The manifest compiler checks that the
/// limits of all clients fit the server's capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientLimits {
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
    /// Live guest-physical mappings.
    pub mappings: u16,
    /// Bytes of untyped memory the client's kernel objects in the server are retyped from
    /// (`memory` in `[endpoint.limits]`, default [`default_client_memory`] of the limits); the
    /// server gets it as [`Cap::ClientMemory`] capabilities.
    pub memory: u64,
}

/// Bytes one guest of a client costs in the server's kernel objects, as the default memory
/// counts it: its VSpace, the three page tables of its GICV mapping and eight more tables for
/// its mappings (mappings in four 1 GiB regions, say), each in its own 4 KiB cell (see
/// `docs/SERVER.md`, *Accounting*).
pub const GUEST_MEMORY: u64 = 12 * 0x1000;
/// Bytes one VCPU costs: its TCB, VCPU object and CNode, one 4 KiB cell each.
pub const VCPU_MEMORY: u64 = 3 * 0x1000;
/// Most bytes of client memory the server tracks, all clients together (it cuts each pool
/// into 4 KiB cells and keeps one record per cell).
pub const MAX_CLIENT_MEMORY: u64 = 1024 * 0x1000;
/// Most power-of-two blocks one client's memory is given in.
pub const MAX_MEMORY_BLOCKS: usize = 8;

/// The memory a client gets when its manifest entry does not say: [`GUEST_MEMORY`] per guest
/// and [`VCPU_MEMORY`] per VCPU its limits allow.
pub const fn default_client_memory(guests: u16, vcpus: u16) -> u64 {
    guests as u64 * GUEST_MEMORY + vcpus as u64 * VCPU_MEMORY
}

/// One thread of a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Position in [`ComponentPlan::threads`] (passed in `x1`).
    pub index: u8,
    /// Name (at most 15 bytes).
    pub name: &'static str,
    /// Thread id (`vcpu_protocol::ThreadId`), 0 unless the thread belongs to a client.
    pub id: u16,
    /// Entry selector the component's runtime dispatches on.
    pub entry: u32,
    /// Scheduling priority (0..=254).
    pub priority: u8,
    /// Maximum controlled priority (the server's threads may set VCPU threads up to it).
    pub mcp: u8,
    /// Initial stack pointer.
    pub stack_top: u64,
    /// Stack size in bytes (mapped at `[stack_top - stack_size, stack_top)`).
    pub stack_size: u64,
    /// MCS kernels: the budget of the thread's scheduling context (µs; <= `period_us`).
    pub budget_us: u64,
    /// MCS kernels: its period (µs; equal to the budget: round-robin).
    pub period_us: u64,
    /// IPC buffer address.
    pub ipc_buffer: u64,
    /// Slot of this thread's TCB in the component's CSpace.
    pub tcb_slot: u64,
    /// Slot of this thread's badged endpoint to the server, or 0 if it has none.
    pub endpoint_slot: u64,
    /// The badge of that endpoint, or 0.
    pub badge: u64,
    /// Slot of this thread's fault endpoint (the TCB's `fault_ep`).
    pub fault_slot: u64,
    /// The fault endpoint's badge ([`fault_badge`]).
    pub fault_badge: u64,
    /// The core the thread runs on (`TCB_SetAffinity` before it starts; 0 = the boot core).
    pub core: u8,
}

/// A capability placed at a fixed slot of a component's CSpace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapPlan {
    /// The slot (for [`Cap::RegionFrames`], the first of `count` consecutive slots).
    pub slot: u64,
    /// What goes there.
    pub cap: Cap,
}

/// The kinds of capability a component can be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// The component's own CNode, minted with [`cspace::guard_data`].
    CNode,
    /// The component's own VSpace root.
    VSpace,
    /// The TCB of thread `thread` of this component.
    Tcb {
        /// Thread index.
        thread: u8,
    },
    /// An endpoint capability to the server's endpoint (minted from the original).
    ServerEndpoint {
        /// `seL4_CapRights` word.
        rights: u64,
        /// Badge (0 = the unbadged original, for the server itself).
        badge: u64,
    },
    /// An endpoint capability to the console's endpoint (minted from the original; the
    /// console's own is the unbadged receive capability).
    ConsoleEndpoint {
        /// `seL4_CapRights` word.
        rights: u64,
        /// Badge ([`console::badge`], or 0 for the console itself).
        badge: u64,
    },
    /// A badged endpoint capability to the root task's fault endpoint.
    FaultEndpoint {
        /// `seL4_CapRights` word.
        rights: u64,
        /// Badge ([`fault_badge`]).
        badge: u64,
    },
    /// A new ASID pool (`ASIDControl_MakePool` from a fresh 4 KiB untyped).
    AsidPool,
    /// An untyped capability of `2^size_bits` bytes, retyped from RAM.
    Untyped {
        /// Size.
        size_bits: u8,
    },
    /// Server only: an untyped capability of `2^size_bits` bytes, retyped from RAM, from which
    /// the server makes the kernel objects of client `client_id` (its memory pool; several
    /// blocks of one client are in consecutive slots).
    ClientMemory {
        /// The paying client.
        client_id: u16,
        /// Size.
        size_bits: u8,
    },
    /// A frame of device memory at a fixed physical address.
    DeviceFrame {
        /// Physical address.
        paddr: u64,
        /// Frame size (12 or 21).
        size_bits: u8,
        /// `seL4_CapRights` word.
        rights: u64,
    },
    /// The frame capabilities of region `region` of this component, `count` consecutive slots in
    /// ascending address order (the same caps that map the region into the component, if mapped;
    /// sending one over IPC transfers a derived, unmapped copy).
    RegionFrames {
        /// Index into [`ComponentPlan::regions`].
        region: u8,
        /// Number of frames.
        count: u64,
    },
}

/// Where a region's frames come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MemorySource {
    /// Kernel-managed RAM (RAM untypeds; the kernel zeroes it).
    Ram = 1,
    /// The reserved `vm-memory` range (a device untyped; not zeroed by the kernel).
    VmMemory = 2,
    /// A device's registers at a fixed address (a device untyped): mapped uncached and never
    /// executable, never zeroed (the console's PL011).
    Device = 3,
}

/// A memory region owned by a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionPlan {
    /// Name (at most 31 bytes).
    pub name: &'static str,
    /// Size in bytes (a multiple of the page size).
    pub size: u64,
    /// Page size: 12 (4 KiB) or 21 (2 MiB).
    pub page_bits: u8,
    /// Where the frames come from.
    pub source: MemorySource,
    /// Fixed physical address, or `None` for any RAM.
    pub paddr: Option<u64>,
    /// Where it is mapped in the owner, or `None` if it is not mapped.
    pub vaddr: Option<u64>,
    /// `seL4_CapRights` word of the frame caps and of the owner's mapping.
    pub rights: u64,
    /// The owner's mapping is never executable when true.
    pub execute_never: bool,
    /// Usable as guest memory: the owner may send its frames to the server (`vmar_map`).
    pub guest: bool,
    /// The root task must zero the frames before handing them over (device memory is not zeroed
    /// by the kernel, and QEMU leaves its device tree at the start of `vm-memory`).
    pub zero_fill: bool,
    /// First slot of the frame caps.
    pub frame_slot: u64,
    /// Number of frames.
    pub frame_count: u64,
}

/// The kinds of object a client can be granted a handle to at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum GrantObject {
    /// The hypervisor resource (`ZX_OBJ_TYPE_RESOURCE`, kind hypervisor): authorises
    /// `zx_guest_create`.
    HypervisorResource = 1,
}

/// An initial handle as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlePlan {
    /// Name the client looks it up by (at most 23 bytes).
    pub name: &'static str,
    /// Handle value ([`grant_handle_value`] of its position).
    pub value: u32,
    /// The object.
    pub object: GrantObject,
    /// `zx_obj_type_t` of the object.
    pub obj_type: u32,
    /// Zircon rights (`zx_rights_t`), a subset of the type's default rights.
    pub rights: u32,
}

/// An initial handle as the server installs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantPlan {
    /// Index of the client component.
    pub component: u16,
    /// Its client id.
    pub client_id: u16,
    /// The handle.
    pub handle: HandlePlan,
}

/// The server's VCPU-making resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HypervisorPlan {
    /// Sizes (log2 bytes) of the untyped capabilities, at slots [`cspace::untyped`]`(i)`.
    pub untyped_size_bits: &'static [u8],
    /// Their total in bytes.
    pub untyped_bytes: u64,
    /// Budget: most guests at once.
    pub max_guests: u16,
    /// Budget: most VCPUs at once.
    pub max_vcpus: u16,
    /// Priority of the TCBs that run VCPUs (below every server and client thread).
    pub vcpu_priority: u8,
    /// Physical address of the first of the [`cspace::GICV_FRAMES`] GICV frames given from
    /// [`cspace::GICV_FRAME`] on (consecutive 4 KiB pages), if any.
    pub gicv_paddr: Option<u64>,
}

impl Plan {
    /// The server component.
    pub fn server(&self) -> Option<&ComponentPlan> {
        self.components.get(self.server as usize)
    }

    /// The boot page of component `index`, or `None` if there is no such component.
    pub fn boot_page(&self, index: usize) -> Option<BootPage> {
        self.components.get(index).map(|c| bootpage::build(self, c))
    }
}
