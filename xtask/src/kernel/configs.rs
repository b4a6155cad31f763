//! The named kernel configurations the project builds, as CMake cache settings.
//!
//! Every configuration shares the platform settings in [`COMMON`] (README, "Supported kernel")
//! and differs in a few options. Which of them the rest of the project accepts is decided by the
//! configuration check (`sel4_build::config`), not here: this table only says how to build each
//! one, so that configurations can be built and cached side by side before the project supports
//! them (`cargo xtask kernel --config NAME`).

/// One named configuration.
#[derive(Debug, PartialEq, Eq)]
pub struct KernelConfig {
    /// Its name (`KERNEL=<name>`, `--config <name>`, and the first part of its cache name).
    pub name: &'static str,
    /// One line for `--list` and messages.
    pub summary: &'static str,
    /// Settings on top of [`COMMON`].
    pub settings: &'static [(&'static str, &'static str)],
}

/// Settings every configuration has: QEMU `virt`, aarch64 Cortex-A57 (44-bit PA), EL2
/// hypervisor support, 2 GiB of RAM, SMC calls allowed (PSCI power-off), the virtual counter
/// readable at EL0.
///
/// `KernelVerificationBuild` is on by default in seL4 and silently forces the debug build and
/// printing off, so it is always set explicitly. The CPU is chosen with `ARM_CPU` (the
/// qemu-arm-virt platform ignores `KernelArmCPU` and defaults to Cortex-A53, whose 40-bit PA
/// the project does not support).
pub const COMMON: &[(&str, &str)] = &[
    ("KernelPlatform", "qemu-arm-virt"),
    ("KernelSel4Arch", "aarch64"),
    ("ARM_CPU", "cortex-a57"),
    ("KernelArmHypervisorSupport", "ON"),
    ("QEMU_MEMORY", "2048"),
    ("KernelVerificationBuild", "OFF"),
    ("KernelAllowSMCCalls", "ON"),
    ("KernelArmExportVCNTUser", "ON"),
];

/// Debug build with kernel printing.
const DEBUG: &[(&str, &str)] = &[("KernelDebugBuild", "ON"), ("KernelPrinting", "ON")];
/// No debug system calls, no kernel printing.
const RELEASE: &[(&str, &str)] = &[("KernelDebugBuild", "OFF"), ("KernelPrinting", "OFF")];

/// The configurations, the default first.
pub static CONFIGS: &[KernelConfig] = &[
    KernelConfig {
        name: "debug",
        summary: "the reference: debug build with printing, non-MCS, 1 core",
        settings: &[
            DEBUG[0],
            DEBUG[1],
            ("KernelIsMCS", "OFF"),
            ("KernelMaxNumNodes", "1"),
        ],
    },
    KernelConfig {
        name: "release",
        summary: "release build (no debug system calls, no kernel printing), non-MCS, 1 core",
        settings: &[
            RELEASE[0],
            RELEASE[1],
            ("KernelIsMCS", "OFF"),
            ("KernelMaxNumNodes", "1"),
        ],
    },
    KernelConfig {
        name: "mcs",
        summary: "MCS (scheduling contexts), debug build with printing, 1 core",
        settings: &[
            DEBUG[0],
            DEBUG[1],
            ("KernelIsMCS", "ON"),
            ("KernelMaxNumNodes", "1"),
        ],
    },
    KernelConfig {
        name: "mcs-release",
        summary: "MCS, release build, 1 core",
        settings: &[
            RELEASE[0],
            RELEASE[1],
            ("KernelIsMCS", "ON"),
            ("KernelMaxNumNodes", "1"),
        ],
    },
    KernelConfig {
        name: "smp",
        summary: "debug build with printing, non-MCS, 4 cores",
        settings: &[
            DEBUG[0],
            DEBUG[1],
            ("KernelIsMCS", "OFF"),
            ("KernelMaxNumNodes", "4"),
        ],
    },
    KernelConfig {
        name: "mcs-smp",
        summary: "MCS, debug build with printing, 4 cores",
        settings: &[
            DEBUG[0],
            DEBUG[1],
            ("KernelIsMCS", "ON"),
            ("KernelMaxNumNodes", "4"),
        ],
    },
];

/// The configuration used when `KERNEL` is not set.
pub const DEFAULT: &str = "debug";

impl KernelConfig {
    /// Looks a configuration up by name; the error lists the known names.
    pub fn find(name: &str) -> Result<&'static KernelConfig, String> {
        CONFIGS.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
            format!(
                "unknown kernel configuration `{name}`; known: {}",
                names.join(", ")
            )
        })
    }

    /// The configuration `KERNEL` names, or the default.
    pub fn selected() -> Result<&'static KernelConfig, String> {
        match std::env::var("KERNEL") {
            Ok(name) if !name.is_empty() => KernelConfig::find(&name),
            _ => KernelConfig::find(DEFAULT),
        }
    }

    /// Every CMake setting of this configuration: [`COMMON`], then its own.
    pub fn defines(&self) -> Vec<(&'static str, &'static str)> {
        COMMON.iter().chain(self.settings).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_first_and_the_reference() {
        assert_eq!(CONFIGS[0].name, DEFAULT);
        let d = KernelConfig::find(DEFAULT).unwrap().defines();
        for want in [
            ("ARM_CPU", "cortex-a57"),
            ("KernelArmHypervisorSupport", "ON"),
            ("KernelVerificationBuild", "OFF"),
            ("KernelDebugBuild", "ON"),
            ("KernelPrinting", "ON"),
            ("KernelIsMCS", "OFF"),
            ("KernelMaxNumNodes", "1"),
            ("QEMU_MEMORY", "2048"),
        ] {
            assert!(d.contains(&want), "missing {want:?}");
        }
    }

    #[test]
    fn names_are_unique_and_settings_do_not_repeat() {
        for (i, c) in CONFIGS.iter().enumerate() {
            assert!(CONFIGS[i + 1..].iter().all(|o| o.name != c.name));
            let d = c.defines();
            for (j, (k, _)) in d.iter().enumerate() {
                assert!(
                    d[j + 1..].iter().all(|(o, _)| o != k),
                    "{}: {k} set twice",
                    c.name
                );
            }
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let e = KernelConfig::find("fast").unwrap_err();
        assert!(
            e.contains("`fast`") && e.contains("debug, release, mcs"),
            "{e}"
        );
    }
}
