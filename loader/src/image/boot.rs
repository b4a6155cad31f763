//! The boot sequence: check EL2, plan, load, map, enable the MMU, jump.
//!
//! Every decision is made by the pure library before the first byte of kernel
//! RAM is written; any error is printed on the UART and the CPU halts.

use core::convert::Infallible;
use core::fmt::{self, Write as _};

use vcpu_loader::elf::{Elf, ElfError};
use vcpu_loader::layout::{self, Image, KernelArgs, LayoutError, Platform};
use vcpu_loader::pagetable::{Builder, MapError, TABLE_SIZE};
use vcpu_loader::{qemu_virt, regs};

#[allow(unsafe_code)]
mod arch;
#[allow(unsafe_code)]
mod mem;
#[allow(unsafe_code)]
mod uart;

/// The images selected at build time (`build.rs`).
mod payload {
    include!(concat!(env!("OUT_DIR"), "/payload.rs"));
}

/// Prints one line on the console UART.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(uart::console(), $($arg)*);
    }};
}

/// Why boot stopped.
enum Error {
    Elf(Image, ElfError),
    Layout(LayoutError),
    Map(MapError),
    TablesTaken,
    CpuOn(u64, i64),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Elf(image, e) => write!(f, "{image} ELF: {e}"),
            Self::Layout(e) => write!(f, "layout: {e}"),
            Self::Map(e) => write!(f, "page tables: {e}"),
            Self::TablesTaken => f.write_str("page-table buffer already in use"),
            Self::CpuOn(core, status) => write!(
                f,
                "PSCI CPU_ON of core {core} failed with {status} (the kernel needs {} cores: \
                 start QEMU with -smp {})",
                payload::KERNEL_CORES,
                payload::KERNEL_CORES
            ),
        }
    }
}

/// Called by the entry assembly with a stack, a zeroed BSS and FP enabled.
pub extern "C" fn loader_main() -> ! {
    say!("loader: vcpu-loader (seL4 kernel loader for QEMU virt, EL2)");
    let el = regs::current_el(arch::current_el());
    if el != 2 {
        say!(
            "loader: error: running at EL{el}, but the seL4 hypervisor kernel must be \
             entered at EL2; start QEMU with -machine virt,virtualization=on,secure=off"
        );
        arch::halt();
    }
    match boot() {
        Ok(never) => match never {},
        Err(e) => {
            say!("loader: error: {e}");
            arch::halt();
        }
    }
}

fn boot() -> Result<Infallible, Error> {
    let kernel = Elf::parse(payload::SEL4_KERNEL_ELF).map_err(|e| Error::Elf(Image::Kernel, e))?;
    let root = Elf::parse(payload::ROOT_TASK_ELF).map_err(|e| Error::Elf(Image::RootTask, e))?;
    let platform = Platform {
        ram: qemu_virt::KERNEL_RAM,
        loader: mem::loader_image(),
        uart: qemu_virt::UART,
        user_top: qemu_virt::USER_TOP,
    };
    let plan = layout::plan(&kernel, payload::SEL4_DTB, &root, &platform).map_err(Error::Layout)?;
    let args = &plan.args;
    say!(
        "loader: image [{:#x}, {:#x})",
        platform.loader.start,
        platform.loader.end
    );
    say!(
        "loader: kernel {:#x}..{:#x} entry {:#x}",
        plan.kernel.start,
        plan.kernel.end,
        plan.kernel_entry
    );
    if let Some(dtb) = &plan.dtb {
        say!("loader: dtb {:#x}..{:#x}", dtb.start, dtb.end);
    }
    say!(
        "loader: root task {:#x}..{:#x} pv_offset {:#x} entry {:#x}",
        args.ui_p_reg_start,
        args.ui_p_reg_end,
        args.pv_offset,
        args.v_entry
    );

    let sources = mem::Sources {
        kernel: payload::SEL4_KERNEL_ELF,
        dtb: payload::SEL4_DTB.unwrap_or(&[]),
        root_task: payload::ROOT_TASK_ELF,
    };
    mem::load(&plan, &sources).map_err(Error::Layout)?;

    let (tables, tables_pa) = mem::page_tables().ok_or(Error::TablesTaken)?;
    let mut builder = Builder::new(tables, tables_pa).map_err(Error::Map)?;
    for m in &plan.mappings {
        builder
            .map(m.va, m.pa, m.size, m.memory)
            .map_err(Error::Map)?;
    }
    let tables_end = tables_pa + builder.tables_used() as u64 * TABLE_SIZE;

    for op in &plan.ops {
        arch::clean_dcache_to_poc(op.written());
    }
    arch::clean_dcache_to_poc(tables_pa..tables_end);
    arch::invalidate_icache();

    if payload::KERNEL_CORES > 1 {
        start_secondaries(mem::Handover {
            tables_pa,
            entry: plan.kernel_entry,
            args: *args,
        })?;
    }
    say!("loader: entering seL4 at {:#x}", plan.kernel_entry);
    hand_over(tables_pa, plan.kernel_entry, args, 0)
}

/// Starts cores 1..KERNEL_CORES (an SMP kernel waits until every one of them has entered
/// it). Each enters the kernel on its own, possibly before this core does: the kernel is
/// loaded and its BSS zeroed already, and the kernel makes secondaries wait for the boot core.
fn start_secondaries(h: mem::Handover) -> Result<(), Error> {
    mem::publish_handover(h);
    for core in 1..payload::KERNEL_CORES {
        let status = arch::psci_cpu_on(core);
        if status != 0 {
            return Err(Error::CpuOn(core, status));
        }
    }
    say!("loader: started cores 1..{}", payload::KERNEL_CORES - 1);
    Ok(())
}

/// Called by a secondary core's entry assembly with its index (1..KERNEL_CORES).
pub extern "C" fn secondary_main(core: u64) -> ! {
    match mem::handover() {
        Some(h) => hand_over(h.tables_pa, h.entry, &h.args, core),
        None => arch::halt(),
    }
}

/// Turns the MMU on with the loader's tables and branches into the kernel as core `core`.
#[allow(unsafe_code)]
fn hand_over(tables_pa: u64, entry: u64, args: &KernelArgs, core: u64) -> ! {
    // Safety: the tables at `tables_pa` hold the plan's mappings (built and
    // cleaned to PoC above): this image and the UART identity-mapped, so
    // execution continues after the switch, and the kernel window the kernel
    // needs at entry. The kernel, its zeroed BSS, the DTB and the root task
    // are in place and cleaned to PoC, as spec §4.2 requires; every core uses
    // the same tables, so the kernel sees the same cacheable memory on each.
    unsafe {
        arch::enable_mmu(tables_pa, core);
        arch::enter_kernel(entry, args)
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("loader: panic: {info}");
    arch::halt()
}
