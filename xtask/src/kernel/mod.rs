//! The kernel every image is built against: which one, building it, and checking it.
//!
//! A command that needs a kernel gets its install prefix from [`prefix`]: `SEL4_PREFIX` when set
//! (an install made elsewhere), else the cached build of the selected configuration (`KERNEL`,
//! default [`configs::DEFAULT`]) at the pinned commit ([`pin`]), built on first use from
//! `SEL4_SRC` or the public repository ([`source`], [`build`], cached by [`cache`]).
//!
//! Before anything is built against it, a kernel passes two checks from `sel4-build` ([`check`]):
//! its configuration is one the project supports (`config::check_config`) and its libsel4
//! headers agree with the `sel4` crate's numbers and layouts (`abi::check_abi`). A refusal names
//! the prefix and every problem.

pub mod build;
pub mod cache;
pub mod configs;
pub mod pin;
pub mod source;

use std::path::{Path, PathBuf};

use sel4_build::config::KernelInfo;

use crate::setup;
use cache::Entry;
use configs::{CONFIGS, KernelConfig};
use source::{Network, Spec};

/// The kernel to use: `SEL4_PREFIX`, else the selected configuration from the cache, built
/// first if needed (fetching the source only if `network` allows).
pub fn prefix(network: Network) -> Result<PathBuf, String> {
    match std::env::var_os("SEL4_PREFIX") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => ensure(KernelConfig::selected()?, network, false, false),
    }
}

/// Why no kernel can be had for a test run (no network), if that is so: QEMU is missing, or no
/// kernel is installed or cached and it cannot be built (a tool is missing, or there is no
/// local source). `None` means [`prefix`] may go ahead (and report its own errors).
pub fn unavailable_offline() -> Option<String> {
    if let Some(t) = setup::missing(&[setup::QEMU], &setup::env_path()).first() {
        return Some(t.missing_message());
    }
    if std::env::var_os("SEL4_PREFIX").is_some_and(|p| !p.is_empty()) {
        return None;
    }
    let (config, root) = (KernelConfig::selected().ok()?, cache::root().ok()?);
    let spec = Spec::from_env();
    let commit = source::intended_commit(&spec, &root).ok()?;
    if Entry::new(&root, config, &commit).is_complete() {
        return None;
    }
    if let Err(e) = setup::require(setup::KERNEL_TOOLS) {
        return Some(format!("no cached kernel `{}`, and {e}", config.name));
    }
    match spec {
        Spec::Url(_) => source::resolve(&spec, &root, Network::Offline).err(),
        Spec::Path(_) => None,
    }
}

/// The cached install of `config`, built unless it is there already (or `force`).
pub fn ensure(
    config: &KernelConfig,
    network: Network,
    force: bool,
    verbose: bool,
) -> Result<PathBuf, String> {
    let root = cache::root()?;
    let spec = Spec::from_env();
    let entry = Entry::new(&root, config, &source::intended_commit(&spec, &root)?);
    if !force && entry.is_complete() {
        println!(
            "xtask: kernel `{}` is up to date: {}",
            config.name,
            entry.install.display()
        );
        return Ok(entry.install);
    }
    setup::require(setup::KERNEL_TOOLS)?;
    let resolved = source::resolve(&spec, &root, network)?;
    for note in &resolved.notes {
        println!("xtask: kernel: {note}");
    }
    let entry = Entry::new(&root, config, &resolved.commit);
    if !force && entry.is_complete() {
        return Ok(entry.install);
    }
    println!(
        "xtask: kernel: building `{}` ({}) from {} at {}",
        config.name,
        config.summary,
        spec.describe(),
        pin::short(&resolved.commit)
    );
    let inputs = build::Inputs {
        src: &source::extract(&resolved, &root)?,
        commit: &resolved.commit,
        origin: spec.describe(),
        path_first: setup::python_path(&root)?,
        verbose,
    };
    build::build(config, &entry, &inputs)?;
    Ok(entry.install)
}

/// The cached installs of every configuration the project supports (`sel4::Config::ALL`) that
/// are built, in that order, with their names. Never builds anything.
pub fn installed_supported() -> Vec<(&'static str, PathBuf)> {
    let (Ok(root), spec) = (cache::root(), Spec::from_env()) else {
        return Vec::new();
    };
    let Ok(commit) = source::intended_commit(&spec, &root) else {
        return Vec::new();
    };
    sel4::Config::ALL
        .iter()
        .filter_map(|c| KernelConfig::find(c.name()).ok())
        .map(|c| (c.name, Entry::new(&root, c, &commit)))
        .filter(|(_, e)| e.is_complete())
        .map(|(n, e)| (n, e.install))
        .collect()
}

/// True if the user chose one kernel (`SEL4_PREFIX` or `KERNEL`).
pub fn one_selected() -> bool {
    ["SEL4_PREFIX", "KERNEL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|p| !p.is_empty()))
}

/// Checks the kernel at `prefix`; says which configuration it is and prints its warnings.
pub fn check(prefix: &Path) -> Result<KernelInfo, String> {
    let refused = |why: String| format!("the kernel at {} is refused:\n{why}", prefix.display());
    let info = sel4_build::config::check_config(prefix).map_err(|e| refused(e.to_string()))?;
    println!(
        "xtask: kernel at {}: configuration `{}`",
        prefix.display(),
        info.config.name()
    );
    for w in &info.warnings {
        eprintln!("xtask: warning: kernel at {}: {w}", prefix.display());
    }
    let abi = sel4_build::abi::check_abi(prefix).map_err(|e| refused(e.to_string()))?;
    if !abi.mismatches().is_empty() {
        return Err(refused(format!(
            "its libsel4 ABI differs from the sel4 crate's: {abi}"
        )));
    }
    Ok(info)
}

/// `kernel [--config NAME | --all] [--force] [--verbose] | --list`.
pub fn command(args: &[String]) -> Result<(), String> {
    let mut selected: Vec<&KernelConfig> = Vec::new();
    let (mut force, mut verbose, mut list) = (false, false, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" => {
                let name = it.next().ok_or("--config needs a configuration name")?;
                selected.push(KernelConfig::find(name)?);
            }
            "--all" => selected.extend(CONFIGS),
            "--force" => force = true,
            "--verbose" | "-v" => verbose = true,
            "--list" => list = true,
            other => return Err(format!("kernel: unexpected `{other}`")),
        }
    }
    if list {
        return print_list();
    }
    if selected.is_empty() {
        selected.push(KernelConfig::selected()?);
    }
    let mut refused = Vec::new();
    for config in selected {
        let install = ensure(config, Network::Allowed, force, verbose)?;
        match check(&install) {
            Ok(_) => println!(
                "xtask: kernel `{}`: configuration and ABI checks passed",
                config.name
            ),
            Err(e) => {
                println!("xtask: kernel `{}`: built, but {e}", config.name);
                refused.push(config.name);
            }
        }
    }
    match refused.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the project does not support kernel configuration(s) {} yet",
            refused.join(", ")
        )),
    }
}

fn print_list() -> Result<(), String> {
    let root = cache::root()?;
    let default = KernelConfig::selected()?;
    println!(
        "kernel configurations (seL4 {} pinned at {}; cache {}):",
        pin::SEL4_VERSION,
        pin::short(pin::SEL4_COMMIT),
        root.display()
    );
    let installed = cache::installed(&root);
    let pinned = |c: &KernelConfig| Entry::new(&root, c, pin::SEL4_COMMIT).key;
    for c in CONFIGS {
        let mark = if c.name == default.name { '*' } else { ' ' };
        let found = installed.iter().find(|(_, s)| s.key == pinned(c));
        let state = match found {
            Some((p, _)) => p.display().to_string(),
            None => "not built".to_string(),
        };
        println!("{mark} {:<12} {:<76} {}", c.name, c.summary, state);
    }
    let others: Vec<_> = installed
        .iter()
        .filter(|(_, s)| !CONFIGS.iter().any(|c| pinned(c) == s.key))
        .collect();
    if !others.is_empty() {
        println!("other cached kernels (another commit or build format):");
        for (p, s) in others {
            println!(
                "  {:<12} {} from {}: {}",
                s.config,
                pin::short(&s.commit),
                s.source,
                p.display()
            );
        }
    }
    println!("* = the default (KERNEL=<name> selects another)");
    if let Some(p) = std::env::var_os("SEL4_PREFIX").filter(|p| !p.is_empty()) {
        println!(
            "note: SEL4_PREFIX={} is set and overrides the cache",
            Path::new(&p).display()
        );
    }
    Ok(())
}
