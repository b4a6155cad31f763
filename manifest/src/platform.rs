//! Facts about the target platform (QEMU `virt`, the reference kernel build) that validation
//! checks manifests against.

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    /// Bytes in the range.
    pub const fn size(self) -> u64 {
        self.end - self.start
    }

    /// True if `[start, start + size)` lies inside.
    pub const fn contains(self, start: u64, size: u64) -> bool {
        start >= self.start && start < self.end && size <= self.end - start
    }
}

/// The platform a system is validated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// Name (`[system] platform`).
    pub name: &'static str,
    /// Kernel-managed RAM (the kernel's `avail_p_regs`).
    pub ram: Range,
    /// The start of RAM kept for the kernel image, the device tree, the root-task image (which
    /// embeds every component ELF) and boot-time frames; regions with a fixed physical address
    /// must lie above it.
    pub ram_reserved: Range,
    /// The reserved `vm-memory` range: a device untyped, never used by the kernel.
    pub vm_memory: Range,
    /// Physical address of the GIC virtual CPU interface (GICV), 8 KiB: the server gets its
    /// [`plan::cspace::GICV_FRAMES`] 4 KiB frames from here on.
    pub gicv: u64,
    /// Physical address of the PL011 UART (4 KiB), the console component's device frame.
    pub uart: u64,
    /// Free ASIDs of a fresh ASID pool (2^9 minus ASID 0).
    pub asids_per_pool: u64,
}

/// QEMU `virt`, Cortex-A57 (44-bit PA), 2 GiB RAM: the reference kernel.
pub const QEMU_ARM_VIRT: Platform = Platform {
    name: "qemu-arm-virt",
    ram: Range {
        start: 0x6000_0000,
        end: 0xC000_0000,
    },
    ram_reserved: Range {
        start: 0x6000_0000,
        end: 0x6400_0000,
    },
    vm_memory: Range {
        start: 0x4000_0000,
        end: 0x6000_0000,
    },
    gicv: 0x0804_0000,
    uart: plan::console::UART_PADDR,
    asids_per_pool: 511,
};

/// The same machine with a 40-bit-PA CPU (Cortex-A53 build, 1 GiB RAM).
pub const QEMU_ARM_VIRT_PA40: Platform = Platform {
    ram: Range {
        start: 0x6000_0000,
        end: 0x8000_0000,
    },
    ..QEMU_ARM_VIRT
};

/// The platform for a physical-address width, if supported.
pub const fn for_pa_bits(pa_bits: u8) -> Option<Platform> {
    match pa_bits {
        44 => Some(QEMU_ARM_VIRT),
        40 => Some(QEMU_ARM_VIRT_PA40),
        _ => None,
    }
}

/// Bytes of RAM a component's ELF image is assumed to need when loaded (the budget check runs
/// before the ELFs exist).
pub const ELF_ALLOWANCE: u64 = 4 << 20;

/// Untyped memory the server needs for its own objects (`[hypervisor] untyped-size` at least):
/// the frame-size probe (a VSpace and three page tables), the GIC-enable stub (a frame, its
/// tables and an endpoint) and a scratch VCPU at start-up, in 64 KiB chunks. Clients' objects
/// come from their own `memory`.
pub const SERVER_MIN_BYTES: u64 = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = QEMU_ARM_VIRT.vm_memory;
        assert!(r.contains(0x4000_0000, 0x2000_0000));
        assert!(!r.contains(0x4000_0000, 0x2000_1000));
        assert!(!r.contains(0x3FFF_F000, 0x1000));
        assert!(!r.contains(0x6000_0000, 0));
        assert!(!r.contains(u64::MAX, 2));
        assert_eq!(r.size(), 512 << 20);
    }
}
