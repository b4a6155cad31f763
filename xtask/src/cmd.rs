//! The xtask subcommands.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::qemu;

/// The target every seL4-side crate is built for.
pub const TARGET: &str = "aarch64-unknown-none";

/// Library crates that must also build for the target (they are shared by host and seL4 code).
const TARGET_LIBS: &[&str] =
    &["caps", "vcpu-protocol", "vcpu-server", "vcpu-client", "plan", "sel4", "sel4-runtime"];

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").into()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run_status(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// `build-targets` / `clippy-targets`.
pub fn build_targets(clippy: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.arg(if clippy { "clippy" } else { "build" });
    cmd.args(["--release", "--target", TARGET, "--lib"]);
    for krate in TARGET_LIBS {
        cmd.args(["-p", krate]);
    }
    if clippy {
        cmd.args(["--", "-D", "warnings"]);
    }
    run_status(cmd, &format!("cargo {} for {TARGET}", if clippy { "clippy" } else { "build" }))
}

/// `check-manifest FILE...`.
pub fn check_manifests(files: &[String]) -> Result<(), String> {
    if files.is_empty() {
        return Err("check-manifest needs at least one manifest file".into());
    }
    Err("check-manifest: the manifest compiler is not wired in yet".into())
}

/// Where the installed kernel is, or why a kernel is needed.
pub fn sel4_prefix() -> Result<PathBuf, String> {
    match std::env::var_os("SEL4_PREFIX") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Err("SEL4_PREFIX is not set: booting needs an installed seL4 kernel (see README, \
                  \"Supported kernel\"); set SEL4_PREFIX to its install prefix"
            .into()),
    }
}

/// `build [--manifest FILE]`: returns the bootable loader image.
pub fn build(args: &[String]) -> Result<PathBuf, String> {
    let _manifest = manifest_arg(args)?;
    let _prefix = sel4_prefix()?;
    Err("build: the image pipeline is not wired in yet".into())
}

/// `run [--manifest FILE]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let loader = build(args)?;
    run_status(qemu::qemu_command(&loader), "qemu")
}

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
                let secs: u64 = secs.parse().map_err(|_| format!("bad --timeout `{secs}`"))?;
                timeout = Duration::from_secs(secs);
            }
            file => files.push(PathBuf::from(file)),
        }
    }
    if let Err(why) = sel4_prefix() {
        if if_kernel {
            println!("QEMU tier: SKIPPED ({why})");
            return Ok(());
        }
        return Err(why);
    }
    if files.is_empty() {
        files = test_manifests()?;
    }
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        println!("== QEMU test {name} ({})", file.display());
        let loader = build(&["--manifest".into(), file.display().to_string()])?;
        let verdict = qemu::run_test(&loader, timeout, &format!("[{name}] "))?;
        println!(
            "== {name}: {} passed, {} failed{}{}",
            verdict.passed.len(),
            verdict.failed.len(),
            if verdict.timed_out { ", TIMED OUT" } else { "" },
            if verdict.success_sentinel { "" } else { ", no success sentinel" },
        );
        if !verdict.ok() {
            failures.push(name);
        }
    }
    if failures.is_empty() {
        println!("QEMU tier: {} image(s) passed", files.len());
        Ok(())
    } else {
        Err(format!("QEMU tier failed: {}", failures.join(", ")))
    }
}

fn test_manifests() -> Result<Vec<PathBuf>, String> {
    let dir = root().join("tests/qemu");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn manifest_arg(args: &[String]) -> Result<PathBuf, String> {
    match args {
        [] => Ok(root().join("manifests/default.toml")),
        [flag, file] if flag == "--manifest" => Ok(PathBuf::from(file)),
        _ => Err(format!("expected `--manifest FILE`, got `{}`", args.join(" "))),
    }
}
