//! The xtask subcommands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cargo::{self, Dir, Workspace};
use crate::kernel::source::Network;
use crate::{image, kernel, linux, qemu};

/// The target every seL4-side crate is built for.
pub const TARGET: &str = "aarch64-unknown-none";

/// Library crates that must also build for the target (shared by host and seL4 code, or used by
/// seL4 programs). `vcpu-server` is the server's core library; its seL4 component
/// (`vcpu-server-sel4`, no library) is built as the program `vcpu-server`.
const TARGET_LIBS: &[&str] = &[
    "caps",
    "elf-image",
    "vcpu-protocol",
    "vcpu-server",
    "vcpu-client",
    "plan",
    "sel4",
    "sel4-runtime",
    "root-task",
    "qemu-test-support",
];

/// The system the product image boots (`make run`).
const DEFAULT_MANIFEST: &str = "manifests/default.toml";
/// The test system the root task is compiled against while the default one is incomplete.
const FALLBACK_MANIFEST: &str = "tests/qemu/ipc.toml";

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .into()
}

/// `build-targets` / `clippy-targets`: the libraries, every program some manifest names, and
/// the root task against a generated plan. Needs no kernel.
pub fn build_targets(clippy: bool) -> Result<(), String> {
    let ws = Workspace::load()?;
    let verb = if clippy { "clippy" } else { "build" };
    let mut cmd = cargo::cargo();
    cmd.args([verb, "--release", "--target", TARGET, "--lib"]);
    cmd.env("CARGO_TARGET_DIR", ws.dir(Dir::Programs));
    for krate in TARGET_LIBS {
        cmd.args(["-p", krate]);
    }
    if clippy {
        cmd.args(["--", "-D", "warnings"]);
    }
    cargo::run(cmd, &format!("cargo {verb} of the libraries for {TARGET}"))?;

    let mut programs: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut manifests = all_manifests()?;
    manifests.push(root().join(crate::bench::MANIFEST));
    for path in manifests {
        let system = image::load(&path)?;
        for p in system.programs() {
            let list = if ws.programs.contains_key(p) {
                &mut programs
            } else {
                &mut missing
            };
            if !list.iter().any(|q| q == p) {
                list.push(p.to_string());
            }
        }
    }
    if !missing.is_empty() {
        println!(
            "xtask: note: manifests name programs that are not seL4 programs yet: {}",
            missing.join(", ")
        );
    }
    let names: Vec<&str> = programs.iter().map(String::as_str).collect();
    ws.build_programs(&names, clippy)?;
    // The benchmark server: the server with its `bench` feature.
    ws.build_programs_with(&["vcpu-server"], clippy, &["vcpu-server-sel4/bench"])?;

    // The root task needs a plan. It is compiled against the default system's plan once every
    // program of manifests/default.toml exists; until then (vmm and irq-source are still being
    // written) against tests/qemu/ipc.toml's, which this switches away from by itself.
    let default = root().join(DEFAULT_MANIFEST);
    let mut system = image::load(&default)?;
    let mut path = default;
    if !image::missing(&ws, &system).is_empty() {
        path = root().join(FALLBACK_MANIFEST);
        system = image::load(&path)?;
        println!(
            "xtask: note: {DEFAULT_MANIFEST} is incomplete; the root task is checked against \
             the plan of {FALLBACK_MANIFEST}"
        );
    }
    if clippy {
        ws.build_programs(&system.programs(), false)?; // the plan embeds their ELFs
    }
    let plan = image::generate(&ws, &system, &image::stem(&path))?;
    ws.build_root_task(&plan, clippy)?;
    Ok(())
}

/// The manifests the QEMU tier boots: all of them, except that manifests/linux.toml is booted by
/// its test twin tests/qemu/linux.toml (the same system; `linux_manifests_agree` checks it), so
/// one Linux boot per configuration is enough.
fn tier_manifests() -> Result<Vec<PathBuf>, String> {
    let mut files = all_manifests()?;
    files.retain(|f| !f.ends_with(LINUX_MANIFEST));
    Ok(files)
}

/// Every manifest of the repository: `manifests/*.toml` and `tests/qemu/*.toml`.
fn all_manifests() -> Result<Vec<PathBuf>, String> {
    let mut files = toml_files(&root().join("manifests"))?;
    files.extend(toml_files(&root().join("tests/qemu"))?);
    Ok(files)
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// `check-manifest FILE...`: each manifest's report, or its diagnostics (`file:line:col: ...`).
pub fn check_manifests(files: &[String]) -> Result<(), String> {
    if files.is_empty() {
        return Err("check-manifest needs at least one manifest file".into());
    }
    let mut failed = 0;
    for file in files {
        match manifest::load(file) {
            Ok(system) => print!("{}", manifest::report(&system)),
            Err(diags) => {
                failed += 1;
                for d in diags {
                    eprintln!("{d}");
                }
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} manifest(s) have errors", files.len())),
    }
}

/// `build [--manifest FILE]`: returns the bootable image and the kernel's number of cores.
pub fn build(args: &[String]) -> Result<(PathBuf, u32), String> {
    let manifest = manifest_arg(args)?;
    let prefix = kernel::prefix(Network::Allowed)?;
    let info = kernel::check(&prefix)?;
    let mut ws = Workspace::load()?;
    ws.sel4_config = info.config;
    Ok((image::build(&ws, &manifest, &prefix, false)?, info.cores))
}

/// `run [--manifest FILE]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let manifest = manifest_arg(args)?;
    let (image, cores) = build(args)?;
    let extra = preload_args(&manifest, &image, linux::CMDLINE)?;
    let mut cmd = qemu::qemu_command(&image, cores);
    cmd.args(&extra);
    cargo::run(cmd, "qemu")
}

/// `run-linux`: fetch the guest files (or take LINUX_IMAGE / LINUX_INITRD) and boot
/// `manifests/linux.toml`.
pub fn run_linux(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!(
            "run-linux takes no arguments, got `{}`",
            args.join(" ")
        ));
    }
    let manifest = root().join(LINUX_MANIFEST).display().to_string();
    run(&["--manifest".to_string(), manifest])
}

/// The manifest `make run-linux` boots.
pub const LINUX_MANIFEST: &str = "manifests/linux.toml";
/// QEMU timeout of a manifest that boots Linux (under TCG with -icount a boot takes minutes).
const LINUX_TIMEOUT: Duration = Duration::from_secs(900);

/// The regions of a manifest that the build must preload: (blob name, physical address, size).
pub fn preloads(manifest: &Path) -> Result<Vec<(String, u64, u64)>, String> {
    let system = image::load(manifest)?;
    let mut out = Vec::new();
    for c in &system.components {
        for r in &c.regions {
            if let (Some(name), Some(paddr)) = (&r.preload, r.paddr) {
                out.push((name.clone(), paddr, r.size));
            }
        }
    }
    Ok(out)
}

/// Builds every blob the manifest preloads (next to `image`) and returns QEMU's arguments that
/// place them. A blob that cannot be made is an error naming why.
pub fn preload_args(manifest: &Path, image: &Path, cmdline: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    for (name, paddr, size) in preloads(manifest)? {
        if name != linux::PRELOAD {
            return Err(format!(
                "{}: preload `{name}` is unknown (this build provides `{}`)",
                manifest.display(),
                linux::PRELOAD
            ));
        }
        let files = linux::guest_files()?;
        let cmdline = linux::cmdline(cmdline);
        let blob = linux::boot_blob(&files, &cmdline)?;
        if blob.len() as u64 > size {
            return Err(format!(
                "the boot blob is {} bytes; region `{name}` holds {size}",
                blob.len()
            ));
        }
        let path = image.with_file_name(format!("{name}.blob"));
        std::fs::write(&path, &blob).map_err(|e| format!("{}: {e}", path.display()))?;
        println!(
            "xtask: preload `{name}` at {paddr:#x}: {} ({} bytes; {}; bootargs \"{cmdline}\")",
            path.display(),
            blob.len(),
            files.origin
        );
        args.push("-device".to_string());
        args.push(format!(
            "loader,file={},addr={paddr:#x},force-raw=on",
            path.display()
        ));
    }
    Ok(args)
}

/// `test`: everything `make test` runs. The kernel is resolved first without the network (built
/// from a local source if needed), so that the host tests' ABI comparison and the QEMU tier both
/// use it; without one, both say they were skipped and why. Host tests and target builds run
/// whatever happened to the kernel; a kernel that could not be built fails the run at the end.
pub fn test_all(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!("test: unexpected `{}`", args.join(" ")));
    }
    crate::setup::setup(&["--best-effort".to_string()])?;
    let kernel = match kernel::unavailable_offline() {
        Some(why) => Err(Skip(why)),
        None => kernel::prefix(Network::Offline).map_err(Fail),
    };
    let mut host = cargo::cargo();
    host.arg("test");
    if let Ok(prefix) = &kernel {
        host.env("SEL4_PREFIX", prefix);
    }
    // The ABI test compares the bindings with every installed configuration too.
    let others: Vec<PathBuf> = kernel::installed_supported()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if !others.is_empty() {
        let joined = std::env::join_paths(&others).map_err(|e| e.to_string())?;
        host.env("SEL4_BUILD_EXTRA_PREFIXES", joined);
    }
    cargo::run(host, "host tests (cargo test)")?;
    // The bindings' own tests once more for each other kernel configuration (its features).
    for config in sel4::Config::ALL
        .iter()
        .filter(|c| !c.features().is_empty())
    {
        let features: Vec<String> = config
            .features()
            .iter()
            .map(|f| format!("sel4/{f}"))
            .collect();
        let mut cmd = cargo::cargo();
        cmd.args(["test", "-p", "sel4", "--features", &features.join(",")]);
        cargo::run(cmd, &format!("sel4 tests for `{}`", config.name()))?;
    }
    build_targets(false)?;
    match kernel {
        Ok(prefix) => test_qemu_each(prefix, tier_manifests()?, Duration::from_secs(300)),
        Err(Skip(why)) => {
            println!("QEMU tier: SKIPPED ({why})");
            Ok(())
        }
        Err(Fail(why)) => Err(format!("QEMU tier: no kernel: {why}")),
    }
}

/// Why `test` has no kernel.
enum NoKernel {
    /// None can be had here (no source, no tools): the tier is skipped.
    Skip(String),
    /// Getting one failed: the run fails.
    Fail(String),
}
use NoKernel::{Fail, Skip};

/// `test-qemu [--if-kernel] [--timeout SECS] [FILE...]`.
pub fn test_qemu(args: &[String]) -> Result<(), String> {
    let mut if_kernel = false;
    let mut timeout = Duration::from_secs(300);
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--if-kernel" => if_kernel = true,
            "--timeout" => {
                let secs = it.next().ok_or("--timeout needs a number of seconds")?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("bad --timeout `{secs}`"))?;
                timeout = Duration::from_secs(secs);
            }
            file => files.push(PathBuf::from(file)),
        }
    }
    // A test run never reaches the network: without a kernel it can have locally, the tier is
    // skipped (with --if-kernel) and says why.
    if if_kernel && let Some(why) = kernel::unavailable_offline() {
        println!("QEMU tier: SKIPPED ({why})");
        return Ok(());
    }
    let network = if if_kernel {
        Network::Offline
    } else {
        Network::Allowed
    };
    let prefix = kernel::prefix(network)?;
    if files.is_empty() {
        // The product's own manifests are judged too: the default system must boot and pass.
        files = tier_manifests()?;
    }
    test_qemu_each(prefix, files, timeout)
}

/// Runs the QEMU tier on `selected` when the user chose a kernel (`SEL4_PREFIX`, `KERNEL`);
/// otherwise on every installed supported configuration (at least `selected`, the default).
fn test_qemu_each(selected: PathBuf, files: Vec<PathBuf>, timeout: Duration) -> Result<(), String> {
    let mut kernels: Vec<(String, PathBuf)> = Vec::new();
    if !kernel::one_selected() {
        for (name, prefix) in kernel::installed_supported() {
            // Multi-core kernels run only when chosen: two suites (vcpu-api's peer-ordering
            // cases, the default demo's hand-offs) still rely on one core's priority order.
            let smp = sel4::Config::ALL.iter().any(|c| c.name() == name && c.smp);
            if smp {
                println!(
                    "== QEMU tier on kernel `{name}`: SKIPPED (multi-core kernels run only when \
                     chosen, `KERNEL={name} make test-qemu`: vcpu-api and the default demo still \
                     assume one core's thread order; see docs/SCENARIOS.md)"
                );
                continue;
            }
            kernels.push((name.to_string(), prefix));
        }
    }
    if !kernels.iter().any(|(_, p)| *p == selected) {
        let name = sel4_build::config::check_config(&selected)
            .map_or_else(|_| "selected".to_string(), |i| i.config.name().to_string());
        kernels.insert(0, (name, selected));
    }
    let mut failed = Vec::new();
    for (name, prefix) in &kernels {
        println!("== QEMU tier on kernel `{name}` ({})", prefix.display());
        if let Err(e) = test_qemu_with(prefix, files.clone(), timeout) {
            println!("== kernel `{name}`: {e}");
            failed.push(format!("{name}: {e}"));
        }
    }
    let names: Vec<&str> = kernels.iter().map(|(n, _)| n.as_str()).collect();
    match failed.is_empty() {
        true => {
            println!("QEMU tier passed on kernel(s) {}", names.join(", "));
            Ok(())
        }
        false => Err(format!("QEMU tier failed on {}", failed.join("; "))),
    }
}

/// Checks the kernel at `prefix`, then boots and judges each manifest of `files`.
fn test_qemu_with(prefix: &Path, files: Vec<PathBuf>, timeout: Duration) -> Result<(), String> {
    let info = kernel::check(prefix)?;
    let mut ws = Workspace::load()?;
    ws.sel4_config = info.config;
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for file in &files {
        let name = image::stem(file);
        if let Some(why) = image::unsupported(&image::load(file)?, info.config) {
            println!("== QEMU test {name}: SKIPPED ({why})");
            skipped.push(name);
            continue;
        }
        println!("== QEMU test {name} ({})", file.display());
        let image = image::build(&ws, file, prefix, true)?;
        let mut limit = timeout;
        if !preloads(file)?.is_empty() {
            limit = limit.max(LINUX_TIMEOUT);
        }
        let extra = match preload_args(file, &image, linux::CMDLINE) {
            Ok(extra) => extra,
            // Debian's files could not be fetched (offline, no Debian tools, not root): the test
            // cannot run here, which is said, not passed. A user's bad override is an error.
            Err(why) if !linux::overridden() => {
                println!("== {name}: SKIPPED (the Linux guest files cannot be had: {why})");
                skipped.push(name);
                continue;
            }
            Err(why) => return Err(why),
        };
        let verdict = qemu::run_test(&image, info.cores, &extra, limit, &format!("[{name}] "))?;
        println!(
            "== {name}: {} passed, {} failed{}{}",
            verdict.passed.len(),
            verdict.failed.len(),
            if verdict.timed_out { ", TIMED OUT" } else { "" },
            if verdict.success_sentinel {
                ""
            } else {
                ", no success sentinel"
            },
        );
        if !verdict.ok() {
            failures.push(name);
        }
    }
    if failures.is_empty() {
        let ran = files.len() - skipped.len();
        if skipped.is_empty() {
            println!("QEMU tier: {ran} image(s) passed");
        } else {
            println!(
                "QEMU tier: {ran} image(s) passed, {} SKIPPED: {}",
                skipped.len(),
                skipped.join(", ")
            );
        }
        Ok(())
    } else {
        Err(format!("QEMU tier failed: {}", failures.join(", ")))
    }
}

fn manifest_arg(args: &[String]) -> Result<PathBuf, String> {
    match args {
        [] => Ok(root().join(DEFAULT_MANIFEST)),
        [flag, file] if flag == "--manifest" => Ok(PathBuf::from(file)),
        _ => Err(format!(
            "expected `--manifest FILE`, got `{}`",
            args.join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_manifests_agree() {
        // test-qemu boots tests/qemu/linux.toml in place of manifests/linux.toml.
        let product = image::load(&root().join(LINUX_MANIFEST)).unwrap();
        let test = image::load(&root().join("tests/qemu/linux.toml")).unwrap();
        assert_eq!(product.components, test.components);
        assert_eq!(
            preloads(&root().join(LINUX_MANIFEST)).unwrap(),
            [(linux::PRELOAD.to_string(), 0x5800_0000, 128 << 20)]
        );
    }
}
