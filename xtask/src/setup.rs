//! What the build needs from the machine, and `cargo xtask setup`, which installs it.
//!
//! Host tools come from Debian packages ([`TOOLS`]); seL4's build scripts need a few Python
//! modules from PyPI's `sel4-deps`, which the kernel build provides itself in a virtualenv in the
//! cache when the system Python lacks them ([`python_path`]); the Rust target and components come
//! from rustup. `setup` installs what is missing with the ordinary clients when it can (root, or
//! password-less sudo) and otherwise prints the exact commands. A missing tool is always reported
//! as one line naming the tool, its package and what needs it ([`Tool::missing_message`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A host program the build runs.
#[derive(Debug, PartialEq, Eq)]
pub struct Tool {
    /// The command looked up on `PATH`.
    pub command: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
    /// What needs it.
    pub why: &'static str,
}

impl Tool {
    /// The one-line error for this tool being absent.
    pub fn missing_message(&self) -> String {
        format!(
            "missing tool `{}` (Debian package `{}`), needed {}; run `make setup` or \
             `sudo apt-get install {}`",
            self.command, self.package, self.why, self.package
        )
    }
}

/// Tools the kernel build and the ABI check of its install (`sel4-build`) need.
pub const KERNEL_TOOLS: &[Tool] = &[
    Tool {
        command: "git",
        package: "git",
        why: "to read the seL4 source",
    },
    Tool {
        command: "tar",
        package: "tar",
        why: "to unpack the seL4 source",
    },
    Tool {
        command: "cmake",
        package: "cmake",
        why: "to configure the seL4 kernel build",
    },
    Tool {
        command: "ninja",
        package: "ninja-build",
        why: "to run the seL4 kernel build",
    },
    Tool {
        command: "aarch64-linux-gnu-gcc",
        package: "gcc-aarch64-linux-gnu",
        why: "to compile the seL4 kernel for aarch64 (and by sel4-build to confirm the ABI \
              check's values for aarch64)",
    },
    Tool {
        command: "dtc",
        package: "device-tree-compiler",
        why: "by the seL4 kernel build for the platform's device tree",
    },
    Tool {
        command: "xmllint",
        package: "libxml2-utils",
        why: "by the seL4 kernel build to check its interface files",
    },
    Tool {
        command: "python3",
        package: "python3",
        why: "by the seL4 kernel build's generators",
    },
    Tool {
        command: "gcc",
        package: "gcc",
        why: "by sel4-build to compile and run its probe of libsel4's headers (the ABI check)",
    },
    QEMU,
];

/// QEMU: booting images, and the kernel build reads the `virt` machine's device tree from it.
pub const QEMU: Tool = Tool {
    command: "qemu-system-aarch64",
    package: "qemu-system-arm",
    why: "to boot images (and by the seL4 kernel build, for QEMU's device tree)",
};

/// Debian packages `setup` installs besides the tools' (the virtualenv fallback for Python).
const EXTRA_PACKAGES: &[&str] = &["python3-venv"];

/// Python modules seL4's kernel build imports (all from PyPI's `sel4-deps`).
pub const PYTHON_MODULES: &[&str] = &["jinja2", "jsonschema", "ply", "pyfdt", "yaml"];

/// The PyPI package that provides [`PYTHON_MODULES`].
pub const PYTHON_PACKAGE: &str = "sel4-deps";

/// Whether `command` is an executable file in one of `path`'s directories.
pub fn on_path(command: &str, path: &str) -> bool {
    std::env::split_paths(path).any(|dir| is_executable(&dir.join(command)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The tools of `tools` that are not on `path`.
pub fn missing<'a>(tools: &'a [Tool], path: &str) -> Vec<&'a Tool> {
    tools.iter().filter(|t| !on_path(t.command, path)).collect()
}

/// This process's `PATH`.
pub fn env_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// Fails with the one-line message of the first missing tool of `tools`.
pub fn require(tools: &[Tool]) -> Result<(), String> {
    match missing(tools, &env_path()).first() {
        Some(t) => Err(t.missing_message()),
        None => Ok(()),
    }
}

/// Whether `python` can import every module seL4's build needs.
fn python_has_modules(python: &Path) -> bool {
    let script = format!("import {}", PYTHON_MODULES.join(", "));
    Command::new(python)
        .args(["-c", &script])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A directory to put first on `PATH` for the kernel build so that `python3` has seL4's modules:
/// `None` if the system's `python3` has them; else a virtualenv in the cache, created (with
/// `pip install sel4-deps`) if needed.
pub fn python_path(cache_root: &Path) -> Result<Option<PathBuf>, String> {
    if python_has_modules(Path::new("python3")) {
        return Ok(None);
    }
    let venv = cache_root.join("python");
    let bin = venv.join("bin");
    if python_has_modules(&bin.join("python3")) {
        return Ok(Some(bin));
    }
    println!(
        "xtask: python3 lacks seL4's build modules ({}); installing `{PYTHON_PACKAGE}` into {}",
        PYTHON_MODULES.join(", "),
        venv.display()
    );
    let ok = |cmd: &mut Command| cmd.status().is_ok_and(|s| s.success());
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err(format!(
            "cannot create a Python virtualenv at {} (Debian package `python3-venv`); or install \
             the modules yourself: `python3 -m pip install {PYTHON_PACKAGE}`",
            venv.display()
        ));
    }
    if !ok(Command::new(bin.join("pip")).args(["install", "--quiet", PYTHON_PACKAGE])) {
        return Err(format!(
            "`pip install {PYTHON_PACKAGE}` into {} failed (is PyPI reachable?)",
            venv.display()
        ));
    }
    Ok(Some(bin))
}

/// How `setup` may run privileged commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    /// Running as root.
    Root,
    /// Password-less sudo works.
    Sudo,
    /// Neither: print the commands.
    None,
}

impl Privilege {
    fn detect() -> Privilege {
        let uid = Command::new("id").arg("-u").output();
        if uid.is_ok_and(|o| o.stdout.trim_ascii() == b"0") {
            return Privilege::Root;
        }
        let sudo = Command::new("sudo").args(["-n", "true"]).output();
        if sudo.is_ok_and(|o| o.status.success()) {
            Privilege::Sudo
        } else {
            Privilege::None
        }
    }
}

/// The Debian commands that install `packages`, with `sudo` unless running as root.
pub fn apt_commands(packages: &[&str], privilege: Privilege) -> Vec<Vec<String>> {
    let sudo: &[&str] = if privilege == Privilege::Root {
        &[]
    } else {
        &["sudo"]
    };
    let line =
        |args: &[&str]| -> Vec<String> { sudo.iter().chain(args).map(|s| s.to_string()).collect() };
    let mut install = line(&["apt-get", "install", "-y", "--no-install-recommends"]);
    install.extend(packages.iter().map(|p| p.to_string()));
    vec![line(&["apt-get", "update"]), install]
}

/// The Debian packages that provide the missing tools of `tools` (plus the extras when any is
/// missing), without repeats.
pub fn packages_for(missing: &[&Tool]) -> Vec<&'static str> {
    if missing.is_empty() {
        return Vec::new();
    }
    let mut packages: Vec<&'static str> = Vec::new();
    for p in missing
        .iter()
        .map(|t| t.package)
        .chain(EXTRA_PACKAGES.iter().copied())
    {
        if !packages.contains(&p) {
            packages.push(p);
        }
    }
    packages
}

fn run_line(line: &[String]) -> bool {
    println!("xtask: setup: {}", line.join(" "));
    let mut cmd = Command::new(&line[0]);
    cmd.args(&line[1..])
        .env("DEBIAN_FRONTEND", "noninteractive");
    cmd.status().is_ok_and(|s| s.success())
}

/// `setup [--best-effort]`: installs the Rust target and components, the Debian packages of
/// every missing tool, and checks Python. With `--best-effort` it never fails (what it could not
/// install is reported and the commands that need it say so later).
pub fn setup(args: &[String]) -> Result<(), String> {
    let best_effort = match args {
        [] => false,
        [flag] if flag == "--best-effort" => true,
        _ => return Err(format!("setup: unexpected `{}`", args.join(" "))),
    };
    let mut problems = Vec::new();
    if let Err(e) = rust_target() {
        problems.push(e);
    }
    let path = env_path();
    let absent = missing(KERNEL_TOOLS, &path);
    if absent.is_empty() {
        println!("xtask: setup: host tools present");
    } else {
        let names: Vec<&str> = absent.iter().map(|t| t.command).collect();
        println!("xtask: setup: missing {}", names.join(", "));
        let packages = packages_for(&absent);
        let privilege = Privilege::detect();
        let lines = apt_commands(&packages, privilege);
        let installed = privilege != Privilege::None && lines.iter().all(|l| run_line(l));
        if !installed {
            let shown: Vec<String> = lines.iter().map(|l| l.join(" ")).collect();
            problems.push(format!(
                "could not install Debian packages; run:\n  {}",
                shown.join("\n  ")
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false if best_effort => {
            for p in &problems {
                println!("xtask: setup: {p}");
            }
            Ok(())
        }
        false => Err(problems.join("\n")),
    }
}

/// The Rust target and components the build uses, added with rustup when missing.
fn rust_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| {
            format!(
                "cannot run rustup ({e}); install rustup and add the target `aarch64-unknown-none`"
            )
        })?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == crate::cmd::TARGET)
    {
        let line: Vec<String> = ["rustup", "target", "add", crate::cmd::TARGET]
            .map(String::from)
            .to_vec();
        if !run_line(&line) {
            return Err(format!("`{}` failed", line.join(" ")));
        }
    }
    let line: Vec<String> = ["rustup", "component", "add", "rustfmt", "clippy"]
        .map(String::from)
        .to_vec();
    let quiet = Command::new(&line[0]).args(&line[1..]).output();
    if !quiet.is_ok_and(|o| o.status.success()) {
        return Err(format!("`{}` failed", line.join(" ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bin(dir: &Path, name: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn missing_tools_are_found_on_path_only_if_executable() {
        let dir = std::env::temp_dir().join(format!("xtask-setup-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        fake_bin(&dir, "cmake", 0o755);
        fake_bin(&dir, "ninja", 0o644); // not executable: counts as missing
        let path = std::env::join_paths([&dir, Path::new("/nonexistent")])
            .unwrap()
            .into_string()
            .unwrap();
        let absent: Vec<&str> = missing(KERNEL_TOOLS, &path)
            .iter()
            .map(|t| t.command)
            .collect();
        assert!(!absent.contains(&"cmake"));
        assert!(absent.contains(&"ninja"));
        assert!(absent.contains(&"aarch64-linux-gnu-gcc"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_missing_tool_has_a_one_line_message_naming_tool_and_package() {
        for t in KERNEL_TOOLS {
            let m = t.missing_message();
            assert!(!m.contains('\n'), "{m}");
            assert!(m.contains(&format!("`{}`", t.command)), "{m}");
            assert!(m.contains(&format!("`{}`", t.package)), "{m}");
            assert!(m.contains("make setup"), "{m}");
        }
        assert_eq!(
            KERNEL_TOOLS
                .iter()
                .find(|t| t.command == "ninja")
                .unwrap()
                .missing_message(),
            "missing tool `ninja` (Debian package `ninja-build`), needed to run the seL4 kernel \
             build; run `make setup` or `sudo apt-get install ninja-build`"
        );
    }

    #[test]
    fn packages_are_deduplicated_and_include_venv_only_when_needed() {
        assert!(packages_for(&[]).is_empty());
        let gcc = &KERNEL_TOOLS[4];
        assert_eq!(
            packages_for(&[gcc, gcc]),
            ["gcc-aarch64-linux-gnu", "python3-venv"]
        );
    }

    #[test]
    fn apt_commands_use_sudo_unless_root() {
        let root = apt_commands(&["cmake"], Privilege::Root);
        assert_eq!(root[0], ["apt-get", "update"]);
        assert_eq!(
            root[1],
            [
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "cmake"
            ]
        );
        let user = apt_commands(&["cmake", "ninja-build"], Privilege::None);
        assert_eq!(user[0], ["sudo", "apt-get", "update"]);
        assert_eq!(user[1][0], "sudo");
        assert_eq!(user[1].last().unwrap(), "ninja-build");
    }
}
