//! The kernel configurations the bindings support, and the one this build targets.
//!
//! Four configurations of the pinned kernel differ in ways user code can see:
//!
//! | name | `KernelIsMCS` | `KernelDebugBuild` + `KernelPrinting` | cargo features of `sel4` |
//! |---|---|---|---|
//! | `debug` | off | on | (none) |
//! | `release` | off | off | `release` |
//! | `mcs` | on | on | `mcs` |
//! | `mcs-release` | on | off | `mcs`, `release` |
//!
//! MCS renumbers syscalls, invocation labels, object types and fault labels, moves BootInfo
//! fields and changes some invocations' layouts; a release kernel has no debug syscalls.
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
}

impl Config {
    /// The reference: debug build with printing, non-MCS.
    pub const DEBUG: Config = Config {
        mcs: false,
        debug: true,
    };
    /// Release build (no debug syscalls, no kernel printing), non-MCS.
    pub const RELEASE: Config = Config {
        mcs: false,
        debug: false,
    };
    /// MCS, debug build with printing.
    pub const MCS: Config = Config {
        mcs: true,
        debug: true,
    };
    /// MCS, release build.
    pub const MCS_RELEASE: Config = Config {
        mcs: true,
        debug: false,
    };

    /// Every supported configuration.
    pub const ALL: [Config; 4] = [
        Config::DEBUG,
        Config::RELEASE,
        Config::MCS,
        Config::MCS_RELEASE,
    ];

    /// The configuration's name (as `xtask kernel --list` and `KERNEL=` spell it).
    pub const fn name(self) -> &'static str {
        match (self.mcs, self.debug) {
            (false, true) => "debug",
            (false, false) => "release",
            (true, true) => "mcs",
            (true, false) => "mcs-release",
        }
    }

    /// The configuration called `name`, if supported.
    pub fn from_name(name: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The cargo features of this crate that select the configuration.
    pub const fn features(self) -> &'static [&'static str] {
        match (self.mcs, self.debug) {
            (false, true) => &[],
            (false, false) => &["release"],
            (true, true) => &["mcs"],
            (true, false) => &["mcs", "release"],
        }
    }
}

/// The configuration this build of the crate targets (cargo features `mcs`, `release`).
pub const CONFIG: Config = Config {
    mcs: cfg!(feature = "mcs"),
    debug: !cfg!(feature = "release"),
};

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn names_round_trip() {
        for c in Config::ALL {
            assert_eq!(Config::from_name(c.name()), Some(c));
        }
        assert_eq!(Config::from_name("smp"), None);
        assert_eq!(Config::MCS_RELEASE.features(), ["mcs", "release"]);
    }
}
