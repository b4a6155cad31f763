//! Checks that an installed kernel (`SEL4_PREFIX`) is one this project supports, reading its
//! configuration from the installed `gen_config.json` files (see [`crate::kconfig`]).
//!
//! Hard requirements (refused otherwise), each because something in the project depends on it:
//!
//! | option | required | why |
//! |---|---|---|
//! | `CONFIG_ARCH_AARCH64` | on | the bindings and the runtime are aarch64 only |
//! | `CONFIG_PLAT_QEMU_ARM_VIRT` | on | the loader, memory map and devices are QEMU `virt`'s |
//! | `CONFIG_ARM_HYPERVISOR_SUPPORT` | on | VCPU objects and EL2 exist only then |
//! | `CONFIG_KERNEL_MCS` | off | the bindings use the non-MCS API (SaveCaller, TCB_Configure layout) |
//! | `CONFIG_MAX_NUM_NODES` | 1 | the runtime is uniprocessor |
//! | `CONFIG_ARM_PA_SIZE_BITS_44` | on | loader TCR_EL2 value, VSpace size and page-table depth |
//! | `CONFIG_ARM_GIC_V3_SUPPORT` | off | the VCPU server drives a GICv2 virtual CPU interface |
//! | `CONFIG_PRINTING` | on | the console is `seL4_DebugPutChar`; tests read it |
//! | `CONFIG_HARDWARE_DEBUG_API`, `CONFIG_ARM_SMMU`, `CONFIG_TK1_SMMU` | off | they renumber labels or object types |
//!
//! Soft (reported in [`KernelInfo::warnings`]): `CONFIG_DEBUG_BUILD` off (no DebugHalt or
//! DebugNameThread), `CONFIG_ALLOW_SMC_CALLS` off (no PSCI power-off, so QEMU runs end by
//! timeout), an untyped-list size other than 230 (BootInfo size; the ABI check reports it).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::kconfig::KernelConfig;

/// Files an install must have, relative to the prefix.
pub const REQUIRED_FILES: [(&str, &str); 4] = [
    ("bin/kernel.elf", "the kernel image"),
    (
        "libsel4/include/kernel/gen_config.json",
        "the kernel configuration",
    ),
    (
        "libsel4/include/sel4/gen_config.json",
        "the libsel4 configuration",
    ),
    ("support/platform_gen.json", "the platform's memory map"),
];

/// A supported kernel, as installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelInfo {
    /// The install prefix.
    pub prefix: PathBuf,
    /// `<prefix>/bin/kernel.elf`.
    pub kernel_elf: PathBuf,
    /// `CONFIG_PLAT`.
    pub platform: String,
    /// The selected `CONFIG_ARM_CORTEX_*`, lower-case (e.g. `cortex-a57`), if any.
    pub cpu: Option<String>,
    /// `CONFIG_DEBUG_BUILD`.
    pub debug_build: bool,
    /// `CONFIG_ALLOW_SMC_CALLS`.
    pub smc_calls_allowed: bool,
    /// `CONFIG_ROOT_CNODE_SIZE_BITS`.
    pub root_cnode_size_bits: u32,
    /// `CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS`.
    pub max_bootinfo_untypeds: u32,
    /// Kernel RAM regions `[start, end)` from `platform_gen.json`.
    pub memory: Vec<(u64, u64)>,
    /// Non-fatal differences from the reference configuration.
    pub warnings: Vec<String>,
}

/// One unmet hard requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The configuration option.
    pub option: &'static str,
    /// What the install has.
    pub found: String,
    /// What is supported, and why.
    pub supported: &'static str,
}

/// Why an install was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// A required file is missing.
    Missing {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// A file exists but cannot be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file is malformed.
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is readable but not supported.
    Unsupported {
        /// The install prefix.
        prefix: PathBuf,
        /// Every unmet requirement.
        problems: Vec<Unsupported>,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing { path, what } => {
                write!(
                    f,
                    "missing {} ({what}); is SEL4_PREFIX an seL4 install?",
                    path.display()
                )
            }
            ConfigError::Unreadable { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            ConfigError::Malformed { path, reason } => write!(f, "{}: {reason}", path.display()),
            ConfigError::Unsupported { prefix, problems } => {
                writeln!(f, "the kernel at {} is not supported:", prefix.display())?;
                for p in problems {
                    writeln!(
                        f,
                        "  - {} is {}; supported: {}",
                        p.option, p.found, p.supported
                    )?;
                }
                write!(
                    f,
                    "(supported: aarch64 qemu-arm-virt, hypervisor, non-MCS, one core, PA44, GICv2, printing)"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, ConfigError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ConfigError::Missing {
            path: path.to_path_buf(),
            what,
        }),
        Err(error) => Err(ConfigError::Unreadable {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Reads and checks the install at `prefix`.
pub fn check_config(prefix: &Path) -> Result<KernelInfo, ConfigError> {
    let mut texts = Vec::new();
    for (rel, what) in REQUIRED_FILES {
        texts.push(read(&prefix.join(rel), what)?);
    }
    let elf_path = prefix.join(REQUIRED_FILES[0].0);
    check_elf(&texts[0]).map_err(|reason| ConfigError::Malformed {
        path: elf_path.clone(),
        reason,
    })?;
    let mut config = KernelConfig::default();
    for (i, bytes) in texts.iter().enumerate().take(3).skip(1) {
        config
            .add_json(bytes)
            .map_err(|reason| ConfigError::Malformed {
                path: prefix.join(REQUIRED_FILES[i].0),
                reason,
            })?;
    }
    let json_path = prefix.join(REQUIRED_FILES[3].0);
    let memory = parse_memory(&texts[3]).map_err(|reason| ConfigError::Malformed {
        path: json_path,
        reason,
    })?;
    let info = evaluate(prefix, elf_path, &config, memory)?;
    Ok(info)
}

fn check_elf(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a little-endian 64-bit ELF".into());
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    if machine != 183 {
        return Err(format!("e_machine is {machine}, not 183 (AArch64)"));
    }
    Ok(())
}

fn parse_memory(bytes: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let regions = v
        .get("memory")
        .and_then(|m| m.as_array())
        .ok_or("no \"memory\" array")?;
    regions
        .iter()
        .map(|r| {
            let get = |k: &str| r.get(k).and_then(serde_json::Value::as_u64);
            match (get("start"), get("end")) {
                (Some(s), Some(e)) if s < e => Ok((s, e)),
                _ => Err(format!("bad memory region {r}")),
            }
        })
        .collect()
}

fn evaluate(
    prefix: &Path,
    kernel_elf: PathBuf,
    config: &KernelConfig,
    memory: Vec<(u64, u64)>,
) -> Result<KernelInfo, ConfigError> {
    let on = |name: &str| config.is_defined(name);
    let num = |name: &str| config.number(name);
    let state = |b: bool| {
        if b {
            "enabled".to_string()
        } else {
            "disabled".to_string()
        }
    };
    let mut problems = Vec::new();
    let mut need = |ok: bool, option: &'static str, found: String, supported: &'static str| {
        if !ok {
            problems.push(Unsupported {
                option,
                found,
                supported,
            });
        }
    };
    let arch = config
        .text("CONFIG_SEL4_ARCH")
        .unwrap_or("<unset>")
        .to_string();
    need(
        on("CONFIG_ARCH_AARCH64"),
        "CONFIG_SEL4_ARCH",
        arch,
        "aarch64 (the bindings are aarch64 only)",
    );
    let plat = config.text("CONFIG_PLAT").unwrap_or("<unset>").to_string();
    need(
        on("CONFIG_PLAT_QEMU_ARM_VIRT"),
        "CONFIG_PLAT",
        plat.clone(),
        "qemu-arm-virt (loader, memory map and devices are QEMU virt's)",
    );
    need(
        on("CONFIG_ARM_HYPERVISOR_SUPPORT"),
        "CONFIG_ARM_HYPERVISOR_SUPPORT",
        state(on("CONFIG_ARM_HYPERVISOR_SUPPORT")),
        "enabled (VCPU objects and EL2 exist only in hypervisor builds)",
    );
    need(
        !on("CONFIG_KERNEL_MCS"),
        "CONFIG_KERNEL_MCS",
        state(on("CONFIG_KERNEL_MCS")),
        "disabled (MCS is not yet supported: the bindings use the non-MCS API, SaveCaller and the TCB_Configure layout)",
    );
    let nodes = num("CONFIG_MAX_NUM_NODES").unwrap_or(1);
    need(
        nodes == 1,
        "CONFIG_MAX_NUM_NODES",
        nodes.to_string(),
        "1 (SMP is not yet supported: the runtime is uniprocessor)",
    );
    need(
        on("CONFIG_ARM_PA_SIZE_BITS_44"),
        "CONFIG_ARM_PA_SIZE_BITS_44",
        state(on("CONFIG_ARM_PA_SIZE_BITS_44")),
        "enabled (loader TCR_EL2 value, 4 KiB VSpace root and page-table depth assume PA44)",
    );
    need(
        !on("CONFIG_ARM_GIC_V3_SUPPORT"),
        "CONFIG_ARM_GIC_V3_SUPPORT",
        state(on("CONFIG_ARM_GIC_V3_SUPPORT")),
        "disabled (GICv2: the VCPU server maps the GICv2 virtual CPU interface)",
    );
    need(
        on("CONFIG_PRINTING"),
        "CONFIG_PRINTING",
        state(on("CONFIG_PRINTING")),
        "enabled (the console is seL4_DebugPutChar and tests read it)",
    );
    for (opt, why) in [
        (
            "CONFIG_HARDWARE_DEBUG_API",
            "disabled (renumbers TCB invocation labels)",
        ),
        (
            "CONFIG_ARM_SMMU",
            "disabled (renumbers ARM invocation labels)",
        ),
        ("CONFIG_TK1_SMMU", "disabled (renumbers object types)"),
    ] {
        need(!on(opt), opt, state(on(opt)), why);
    }
    if !problems.is_empty() {
        return Err(ConfigError::Unsupported {
            prefix: prefix.to_path_buf(),
            problems,
        });
    }
    let mut warnings = Vec::new();
    let debug_build = on("CONFIG_DEBUG_BUILD");
    if !debug_build {
        warnings.push(
            "CONFIG_DEBUG_BUILD is disabled: DebugHalt and DebugNameThread are unavailable".into(),
        );
    }
    let smc_calls_allowed = on("CONFIG_ALLOW_SMC_CALLS");
    if !smc_calls_allowed {
        warnings.push(
            "CONFIG_ALLOW_SMC_CALLS is disabled: no SMC cap, so images cannot power QEMU off"
                .into(),
        );
    }
    let untypeds = num("CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS").unwrap_or(0);
    if untypeds != sel4::MAX_BOOTINFO_UNTYPEDS as u64 {
        warnings.push(format!(
            "CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS is {untypeds}, the sel4 crate assumes {}",
            sel4::MAX_BOOTINFO_UNTYPEDS
        ));
    }
    let cpu = ["A53", "A55", "A57", "A72", "A76", "A35"]
        .iter()
        .find(|c| on(&format!("CONFIG_ARM_CORTEX_{c}")))
        .map(|c| format!("cortex-{}", c.to_lowercase()));
    Ok(KernelInfo {
        prefix: prefix.to_path_buf(),
        kernel_elf,
        platform: plat,
        cpu,
        debug_build,
        smc_calls_allowed,
        root_cnode_size_bits: u32::try_from(num("CONFIG_ROOT_CNODE_SIZE_BITS").unwrap_or(0))
            .unwrap_or(0),
        max_bootinfo_untypeds: u32::try_from(untypeds).unwrap_or(0),
        memory,
        warnings,
    })
}
