//! Running cargo for the seL4 target, and finding the workspace's seL4 programs.
//!
//! Cross builds use their own target directories under `<target dir>/sel4/` so that builds with
//! different environments never invalidate each other: `programs` (components and test
//! programs, built without a plan), `root-task` (built with `VCPU_PLAN_RS`, which changes per
//! manifest) and `loader` (built with the kernel and root-task ELFs embedded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{TARGET, root};

/// A cross-build target directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Components and test programs.
    Programs,
    /// The root task.
    RootTask,
    /// The loader image.
    Loader,
}

impl Dir {
    fn name(self) -> &'static str {
        match self {
            Dir::Programs => "programs",
            Dir::RootTask => "root-task",
            Dir::Loader => "loader",
        }
    }
}

/// The workspace's cargo metadata (no dependencies), read once.
pub struct Workspace {
    /// The target directory (honours `CARGO_TARGET_DIR`).
    pub target_dir: PathBuf,
    /// seL4 programs: bin target name -> package, for every bin of a package that depends on
    /// `sel4-runtime` (a package without it is not, or not yet, an seL4 program).
    pub programs: BTreeMap<String, String>,
    /// For each program package, the workspace packages with binaries it depends on: their
    /// binaries are built first, for the target, into the same directory, since a program may
    /// embed them (the `vmm` embeds the `guests` images).
    pub embeds: BTreeMap<String, Vec<String>>,
}

impl Workspace {
    /// Reads `cargo metadata`.
    pub fn load() -> Result<Workspace, String> {
        let out = cargo()
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata: bad JSON: {e}"))?;
        let target_dir = meta["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .ok_or("cargo metadata: no target_directory")?;
        let packages: Vec<&serde_json::Value> =
            meta["packages"].as_array().into_iter().flatten().collect();
        // Embeddable: packages with binaries that are not seL4 programs themselves.
        let embeddable: Vec<&str> = packages
            .iter()
            .filter(|p| !bins(p).is_empty() && !depends_on(p, "sel4-runtime"))
            .filter_map(|p| p["name"].as_str())
            .collect();
        let mut programs = BTreeMap::new();
        let mut embeds = BTreeMap::new();
        for p in &packages {
            let Some(package) = p["name"].as_str() else {
                continue;
            };
            let deps: Vec<&str> = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .collect();
            if package == "root-task" || !deps.contains(&"sel4-runtime") {
                continue;
            }
            for bin in bins(p) {
                programs.insert(bin, package.to_string());
            }
            let embedded = deps.iter().filter(|d| embeddable.contains(d));
            embeds.insert(
                package.to_string(),
                embedded.map(|d| d.to_string()).collect(),
            );
        }
        Ok(Workspace {
            target_dir,
            programs,
            embeds,
        })
    }

    /// A cross-build target directory.
    pub fn dir(&self, dir: Dir) -> PathBuf {
        self.target_dir.join("sel4").join(dir.name())
    }

    /// Where a cross-built binary of `dir` lands.
    pub fn binary(&self, dir: Dir, bin: &str) -> PathBuf {
        self.dir(dir).join(TARGET).join("release").join(bin)
    }

    /// The directory of the generated files and image of manifest `stem`.
    pub fn image_dir(&self, stem: &str) -> PathBuf {
        self.target_dir.join("images").join(stem)
    }

    /// Builds (or lints, with `clippy`) the programs `bins` for the target, in release mode.
    pub fn build_programs(&self, bins: &[&str], clippy: bool) -> Result<(), String> {
        self.build_programs_with(bins, clippy, &[])
    }

    /// Like [`Workspace::build_programs`], with cargo `features` (`package/feature`).
    pub fn build_programs_with(
        &self,
        bins: &[&str],
        clippy: bool,
        features: &[&str],
    ) -> Result<(), String> {
        if bins.is_empty() {
            return Ok(());
        }
        let mut cmd = self.cross(Dir::Programs, clippy);
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        let mut embedded: Vec<&str> = Vec::new();
        for bin in bins {
            let package = self
                .programs
                .get(*bin)
                .ok_or_else(|| format!("`{bin}` is not an seL4 program of this workspace"))?;
            cmd.args(["-p", package, "--bin", bin]);
            for e in self.embeds.get(package).into_iter().flatten() {
                if !embedded.contains(&e.as_str()) {
                    embedded.push(e);
                }
            }
        }
        if !embedded.is_empty() {
            let mut pre = self.cross(Dir::Programs, false);
            for package in &embedded {
                pre.args(["-p", package]);
            }
            pre.arg("--bins");
            run(
                pre,
                &format!(
                    "building the binaries of {} (embedded)",
                    embedded.join(", ")
                ),
            )?;
        }
        if clippy {
            cmd.args(["--", "-D", "warnings"]);
        }
        run(cmd, &format!("building programs {}", bins.join(", ")))
    }

    /// Builds (or lints) the root task against the generated plan at `plan_rs`.
    pub fn build_root_task(&self, plan_rs: &Path, clippy: bool) -> Result<PathBuf, String> {
        let mut cmd = self.cross(Dir::RootTask, clippy);
        cmd.args(["-p", "root-task", "--bin", "root-task"]);
        cmd.env("VCPU_PLAN_RS", plan_rs);
        if clippy {
            cmd.args(["--", "-D", "warnings"]);
        }
        run(cmd, "building the root task")?;
        Ok(self.binary(Dir::RootTask, "root-task"))
    }

    /// Builds the loader image embedding `kernel` and `root_task`.
    pub fn build_loader(&self, kernel: &Path, root_task: &Path) -> Result<PathBuf, String> {
        let mut cmd = self.cross(Dir::Loader, false);
        cmd.args(["-p", "vcpu-loader", "--features", "image"]);
        cmd.env("SEL4_KERNEL_ELF", kernel)
            .env("ROOT_TASK_ELF", root_task);
        cmd.env_remove("SEL4_DTB");
        run(cmd, "building the loader image")?;
        Ok(self.binary(Dir::Loader, "vcpu-loader"))
    }

    fn cross(&self, dir: Dir, clippy: bool) -> Command {
        let mut cmd = cargo();
        cmd.arg(if clippy { "clippy" } else { "build" });
        cmd.args(["--release", "--target", TARGET]);
        cmd.env("CARGO_TARGET_DIR", self.dir(dir));
        cmd
    }
}

/// True if a metadata package has a normal dependency on `name`.
fn depends_on(package: &serde_json::Value, name: &str) -> bool {
    let deps = package["dependencies"].as_array().into_iter().flatten();
    deps.into_iter()
        .any(|d| d["name"] == name && d["kind"].is_null())
}

/// The names of a metadata package's bin targets.
fn bins(package: &serde_json::Value) -> Vec<String> {
    let targets = package["targets"].as_array().into_iter().flatten();
    targets
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect()
}

/// A cargo command run at the workspace root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, failing with `what` if it does not succeed.
pub fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}
