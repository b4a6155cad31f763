//! The kernel configurations the bindings support, and the one this build targets.
//!
//! Six configurations of the pinned kernel differ in ways user code can see:
//!
//! | name | `KernelIsMCS` | `KernelDebugBuild` + `KernelPrinting` | `KernelMaxNumNodes` | cargo features of `sel4` |
//! |---|---|---|---|---|
//! | `debug` | off | on | 1 | (none) |
//! | `release` | off | off | 1 | `release` |
//! | `mcs` | on | on | 1 | `mcs` |
//! | `mcs-release` | on | off | 1 | `mcs`, `release` |
//! | `smp` | off | on | > 1 | `smp` |
//! | `mcs-smp` | on | on | > 1 | `mcs`, `smp` |
//!
//! MCS renumbers syscalls, invocation labels, object types and fault labels, moves BootInfo
//! fields and changes some invocations' layouts; a release kernel has no debug syscalls. SMP
//! (`CONFIG_ENABLE_SMP_SUPPORT`) adds `TCB_SetAffinity` on non-MCS kernels (renumbering every
//! later label) and two debug syscalls; the number of cores is a run-time fact
//! (`BootInfo::num_nodes`), not part of the configuration.
//!
//! Decision: every configuration-dependent number is a `const fn` of a [`Config`] (e.g.
//! `InvocationLabel::value_in`), so host tools (`sel4-build`, `xtask`) can check the bindings
//! against any installed kernel from one host build. Code that runs on seL4 uses [`CONFIG`],
//! chosen at compile time by the crate's cargo features (`xtask` sets them from the kernel it
//! builds against), so a component binary is built for exactly one configuration and pays
//! nothing for the others. Syscalls the target configuration lacks are never issued (see
//! `arch`), so a release build cannot reach a debug syscall whatever its callers do.

/// One supported kernel configuration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Config {
    /// `KernelIsMCS`: scheduling contexts, reply objects, the MCS syscall set.
    pub mcs: bool,
    /// `KernelDebugBuild` and `KernelPrinting`: the debug syscalls exist.
    pub debug: bool,
    /// `KernelMaxNumNodes` > 1 (`CONFIG_ENABLE_SMP_SUPPORT`): several cores.
    pub smp: bool,
}

impl Config {
    /// The reference: debug build with printing, non-MCS.
    pub const DEBUG: Config = Config {
        mcs: false,
        debug: true,
        smp: false,
    };
    /// Release build (no debug syscalls, no kernel printing), non-MCS.
    pub const RELEASE: Config = Config {
        mcs: false,
        debug: false,
        smp: false,
    };
    /// MCS, debug build with printing.
    pub const MCS: Config = Config {
        mcs: true,
        debug: true,
        smp: false,
    };
    /// MCS, release build.
    pub const MCS_RELEASE: Config = Config {
        mcs: true,
        debug: false,
        smp: false,
    };

    /// Non-MCS debug build with printing on several cores.
    pub const SMP: Config = Config {
        mcs: false,
        debug: true,
        smp: true,
    };
    /// MCS debug build with printing on several cores.
    pub const MCS_SMP: Config = Config {
        mcs: true,
        debug: true,
        smp: true,
    };

    /// Every supported configuration.
    pub const ALL: [Config; 6] = [
        Config::DEBUG,
        Config::RELEASE,
        Config::MCS,
        Config::MCS_RELEASE,
        Config::SMP,
        Config::MCS_SMP,
    ];

    /// The configuration's name (as `xtask kernel --list` and `KERNEL=` spell it). The two
    /// combinations no kernel is built for (SMP release builds) have names too, so messages
    /// can say what was found; they are not in [`Config::ALL`].
    pub const fn name(self) -> &'static str {
        match (self.mcs, self.debug, self.smp) {
            (false, true, false) => "debug",
            (false, false, false) => "release",
            (true, true, false) => "mcs",
            (true, false, false) => "mcs-release",
            (false, true, true) => "smp",
            (true, true, true) => "mcs-smp",
            (false, false, true) => "smp-release",
            (true, false, true) => "mcs-smp-release",
        }
    }

    /// True for the configurations of [`Config::ALL`].
    pub fn is_supported(self) -> bool {
        Config::ALL.contains(&self)
    }

    /// The configuration called `name`, if supported.
    pub fn from_name(name: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The cargo features of this crate that select the configuration.
    pub const fn features(self) -> &'static [&'static str] {
        match (self.mcs, self.debug, self.smp) {
            (false, true, false) => &[],
            (false, false, false) => &["release"],
            (true, true, false) => &["mcs"],
            (true, false, false) => &["mcs", "release"],
            (false, true, true) => &["smp"],
            (true, true, true) => &["mcs", "smp"],
            (false, false, true) => &["release", "smp"],
            (true, false, true) => &["mcs", "release", "smp"],
        }
    }
}

/// The configuration this build of the crate targets (cargo features `mcs`, `release`, `smp`).
pub const CONFIG: Config = Config {
    mcs: cfg!(feature = "mcs"),
    debug: !cfg!(feature = "release"),
    smp: cfg!(feature = "smp"),
};

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn names_round_trip() {
        for c in Config::ALL {
            assert_eq!(Config::from_name(c.name()), Some(c));
        }
        assert_eq!(Config::from_name("smp"), Some(Config::SMP));
        assert_eq!(Config::from_name("smp-release"), None);
        assert_eq!(Config::MCS_RELEASE.features(), ["mcs", "release"]);
        assert_eq!(Config::MCS_SMP.features(), ["mcs", "smp"]);
        let names: std::vec::Vec<&str> = Config::ALL.iter().map(|c| c.name()).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n} twice");
        }
    }
}
