//! The validated system: every name resolved, every number computed and checked.
//!
//! Produced only by [`crate::load`] / [`crate::load_str`]; [`crate::codegen`] and
//! [`crate::report`] read it. The per-component capability list reuses [`plan::CapPlan`], so the
//! report and the generated plan show the same thing.

use caps::{ObjType, Rights};
use plan::{
    CapPlan, ClientLimits, GrantObject, KernelRequirements, MemorySource, Role, SystemKind,
};

use crate::platform::Platform;

/// A system that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedSystem {
    /// The manifest file, as named to the loader.
    pub file: String,
    /// `[system] name`.
    pub name: String,
    /// `[system] description`.
    pub description: Option<String>,
    /// The platform it was validated for.
    pub platform: Platform,
    /// Kernel requirements.
    pub kernel: KernelRequirements,
    /// `[system.kernel] untrusted-guests = true`: where it says so (`file:line:col`). Such a
    /// system must not be built against a kernel whose debug syscalls a guest could reach.
    pub untrusted_guests: Option<String>,
    /// Product or test system (`[system] kind`, default product).
    pub kind: SystemKind,
    /// Components in manifest order.
    pub components: Vec<Component>,
    /// Index of the server.
    pub server: usize,
    /// Index of the console (the component the compiler adds last to every system).
    pub console: usize,
    /// The server's VCPU-making resources.
    pub hypervisor: Option<Hypervisor>,
    /// Initial handle grants in manifest order.
    pub grants: Vec<Grant>,
    /// Estimated RAM use, bytes (see [`crate::platform::ELF_ALLOWANCE`]).
    pub ram_estimate: u64,
}

/// A component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Position in [`ValidatedSystem::components`].
    pub index: usize,
    /// Name.
    pub name: String,
    /// Cargo package/binary of its ELF.
    pub program: String,
    /// Free text from the manifest.
    pub description: Option<String>,
    /// Role.
    pub role: Role,
    /// Client id (clients only).
    pub client_id: Option<u16>,
    /// CNode size (log2 slots).
    pub cspace_bits: u8,
    /// First free slot.
    pub first_free_slot: u64,
    /// Heap size (0 = none).
    pub heap_size: u64,
    /// Test systems: the root task must stop this component (`expect = "stopped"`).
    pub expect_stopped: bool,
    /// How often the root task restarts it after stopping it (0: never).
    pub restarts: u16,
    /// Heap address (0 = none).
    pub heap_vaddr: u64,
    /// Threads, main thread first.
    pub threads: Vec<Thread>,
    /// The client's endpoint to the server.
    pub endpoint: Option<Endpoint>,
    /// Regions it owns, in manifest order.
    pub regions: Vec<Region>,
    /// Initial handles, in grant order.
    pub handles: Vec<Handle>,
    /// Every capability placed in its CSpace, by slot.
    pub caps: Vec<CapPlan>,
}

/// A thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// Position in its component.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Thread id (client threads only).
    pub id: Option<u16>,
    /// Entry selector.
    pub entry: u32,
    /// Priority.
    pub priority: u8,
    /// Maximum controlled priority.
    pub mcp: u8,
    /// Stack size.
    pub stack_size: u64,
    /// Scheduling-context budget on MCS kernels (µs).
    pub budget_us: u64,
    /// Scheduling-context period on MCS kernels (µs).
    pub period_us: u64,
    /// Initial stack pointer.
    pub stack_top: u64,
    /// IPC buffer address.
    pub ipc_buffer: u64,
    /// TCB slot.
    pub tcb_slot: u64,
    /// Endpoint slot and badge, if the thread may call the server.
    pub endpoint: Option<(u64, u64)>,
    /// Fault endpoint slot.
    pub fault_slot: u64,
    /// Fault badge.
    pub fault_badge: u64,
    /// The core it runs on (manifest `core`, default 0).
    pub core: u8,
    /// Where the manifest names the core (`file:line:col`), if it does.
    pub core_location: Option<String>,
}

/// A client's connection to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The Zircon rights the endpoint capability stands for.
    pub zircon_rights: Rights,
    /// Its `seL4_CapRights` word (`caps::sel4::endpoint_rights`).
    pub rights: u64,
    /// Whether the threads may send capabilities (seL4 Grant).
    pub send_caps: bool,
    /// What the client may hold in the server at once.
    pub limits: ClientLimits,
    /// Client ids of the clients it may send handles to besides itself.
    pub send_to: Vec<u16>,
}

/// A memory region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Name.
    pub name: String,
    /// Size.
    pub size: u64,
    /// Page size, log2.
    pub page_bits: u8,
    /// Memory source.
    pub source: MemorySource,
    /// Physical address, if fixed (given, or placed at build time in `vm-memory`).
    pub paddr: Option<u64>,
    /// True if the manifest gave the physical address.
    pub paddr_given: bool,
    /// Address in the owner, if mapped.
    pub vaddr: Option<u64>,
    /// Zircon rights the owner's mapping stands for.
    pub zircon_rights: Rights,
    /// `seL4_CapRights` word of the frame caps (`caps::sel4::frame_mapping`).
    pub rights: u64,
    /// Mapped without execute permission.
    pub execute_never: bool,
    /// Usable as guest memory.
    pub guest: bool,
    /// The root task zeroes it.
    pub zero_fill: bool,
    /// Name of the boot-time blob the build places at its physical address (`preload`); such a
    /// region is never zeroed.
    pub preload: Option<String>,
    /// First frame slot.
    pub frame_slot: u64,
    /// Frame count.
    pub frame_count: u64,
}

/// An initial handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    /// Name the client looks it up by.
    pub name: String,
    /// Handle value.
    pub value: u32,
    /// The object.
    pub object: GrantObject,
    /// Its Zircon type.
    pub obj_type: ObjType,
    /// Its rights.
    pub rights: Rights,
}

/// An initial handle grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Receiving component.
    pub component: usize,
    /// Its client id.
    pub client_id: u16,
    /// The handle.
    pub handle: Handle,
}

/// `[hypervisor]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hypervisor {
    /// Untyped capability sizes (log2), largest first.
    pub untyped_size_bits: Vec<u8>,
    /// Total untyped bytes.
    pub untyped_bytes: u64,
    /// Most guests.
    pub max_guests: u16,
    /// Most VCPUs.
    pub max_vcpus: u16,
    /// VCPU thread priority.
    pub vcpu_priority: u8,
    /// GICV frame address, if given to the server.
    pub gicv_paddr: Option<u64>,
}

impl ValidatedSystem {
    /// The server component.
    pub fn server(&self) -> &Component {
        &self.components[self.server]
    }

    /// The distinct programs, in first-use order (what the build must compile).
    pub fn programs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.components {
            if !out.contains(&c.program.as_str()) {
                out.push(&c.program);
            }
        }
        out
    }
}

impl GrantObjectExt for GrantObject {
    fn obj_type(self) -> ObjType {
        match self {
            GrantObject::HypervisorResource => ObjType::Resource,
        }
    }

    fn manifest_name(self) -> &'static str {
        match self {
            GrantObject::HypervisorResource => "hypervisor-resource",
        }
    }
}

/// Facts about grantable objects.
pub trait GrantObjectExt {
    /// The Zircon object type.
    fn obj_type(self) -> ObjType;
    /// The manifest's name for it.
    fn manifest_name(self) -> &'static str;
}
