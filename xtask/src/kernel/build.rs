//! Configuring, building and installing one kernel configuration with CMake and Ninja.
//!
//! The project's own invocation of seL4's standalone kernel build: `cmake -G Ninja` with the
//! source's GCC toolchain file, the aarch64 cross prefix, the install prefix and the
//! configuration's settings, then `ninja install`. Output goes to `build.log` in the build tree
//! (streamed with `--verbose`); a failure names the step, shows the log's tail and its path.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::cache::{Entry, STAMP, Stamp};
use super::configs::KernelConfig;

/// The cross-compiler prefix of Debian's `gcc-aarch64-linux-gnu`.
pub const CROSS_PREFIX: &str = "aarch64-linux-gnu-";

/// The `cmake` arguments that configure `config` from `src` into `build`, installing to
/// `install`.
pub fn cmake_args(src: &Path, build: &Path, install: &Path, config: &KernelConfig) -> Vec<String> {
    let mut args = vec![
        "-G".to_string(),
        "Ninja".to_string(),
        "-S".to_string(),
        src.display().to_string(),
        "-B".to_string(),
        build.display().to_string(),
        format!("-DCMAKE_TOOLCHAIN_FILE={}", src.join("gcc.cmake").display()),
        format!("-DCROSS_COMPILER_PREFIX={CROSS_PREFIX}"),
        format!("-DCMAKE_INSTALL_PREFIX={}", install.display()),
    ];
    args.extend(config.defines().iter().map(|(k, v)| format!("-D{k}={v}")));
    args
}

/// The `ninja` arguments that build and install from `build`.
pub fn ninja_args(build: &Path) -> Vec<String> {
    vec!["-C".into(), build.display().to_string(), "install".into()]
}

/// One step's command, with `path_first` put in front of `PATH` (the Python virtualenv).
fn command(program: &str, args: &[String], path_first: Option<&Path>) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(dir) = path_first {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let joined = std::env::join_paths(
            std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)),
        );
        if let Ok(joined) = joined {
            cmd.env("PATH", joined);
        }
    }
    cmd
}

/// Runs one step, its output appended to `log` (or on the terminal when `verbose`).
fn step(mut cmd: Command, what: &str, log: &Path, verbose: bool) -> Result<(), String> {
    println!("xtask: kernel: {what}");
    if !verbose {
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| format!("{e}"))?;
        cmd.stdout(Stdio::from(file)).stderr(Stdio::from(err));
    }
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Err(match verbose {
        true => format!("{what} failed ({status})"),
        false => format!(
            "{what} failed ({status}); last lines of the log:\n{tail}\nfull log: {}",
            log.display()
        ),
    })
}

/// What one build needs besides the configuration.
pub struct Inputs<'a> {
    /// The extracted source tree.
    pub src: &'a Path,
    /// The commit it holds.
    pub commit: &'a str,
    /// Where it came from (recorded in the stamp).
    pub origin: String,
    /// A directory to put first on `PATH` (Python modules), if any.
    pub path_first: Option<PathBuf>,
    /// Stream the build's output instead of logging it.
    pub verbose: bool,
}

/// Builds and installs `config` into `entry`, then writes its stamp.
pub fn build(config: &KernelConfig, entry: &Entry, inputs: &Inputs) -> Result<(), String> {
    let started = Instant::now();
    let mkdir = |d: &Path| std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()));
    mkdir(&entry.build)?;
    // A partial install from an interrupted build is removed before building again.
    let _ = std::fs::remove_dir_all(&entry.install);
    mkdir(&entry.install)?;
    let log = entry.build.join("build.log");
    let _ = std::fs::remove_file(&log);
    let path_first = inputs.path_first.as_deref();
    let cmake = command(
        "cmake",
        &cmake_args(inputs.src, &entry.build, &entry.install, config),
        path_first,
    );
    step(
        cmake,
        &format!("configuring `{}` (cmake)", config.name),
        &log,
        inputs.verbose,
    )?;
    let ninja = command("ninja", &ninja_args(&entry.build), path_first);
    step(
        ninja,
        &format!("building `{}` (ninja install)", config.name),
        &log,
        inputs.verbose,
    )?;
    let stamp = Stamp {
        key: entry.key.clone(),
        config: config.name.to_string(),
        commit: inputs.commit.to_string(),
        source: inputs.origin.clone(),
    };
    let path = entry.install.join(STAMP);
    std::fs::write(&path, stamp.to_json()).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "xtask: kernel: `{}` installed at {} in {:.1} s",
        config.name,
        entry.install.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::configs::CONFIGS;
    use super::*;

    #[test]
    fn cmake_command_line_of_the_reference_configuration() {
        let args = cmake_args(
            Path::new("/s"),
            Path::new("/b"),
            Path::new("/i"),
            &CONFIGS[0],
        );
        assert_eq!(
            args,
            [
                "-G",
                "Ninja",
                "-S",
                "/s",
                "-B",
                "/b",
                "-DCMAKE_TOOLCHAIN_FILE=/s/gcc.cmake",
                "-DCROSS_COMPILER_PREFIX=aarch64-linux-gnu-",
                "-DCMAKE_INSTALL_PREFIX=/i",
                "-DKernelPlatform=qemu-arm-virt",
                "-DKernelSel4Arch=aarch64",
                "-DARM_CPU=cortex-a57",
                "-DKernelArmHypervisorSupport=ON",
                "-DQEMU_MEMORY=2048",
                "-DKernelVerificationBuild=OFF",
                "-DKernelAllowSMCCalls=ON",
                "-DKernelArmExportVCNTUser=ON",
                "-DKernelDebugBuild=ON",
                "-DKernelPrinting=ON",
                "-DKernelIsMCS=OFF",
                "-DKernelMaxNumNodes=1",
            ]
        );
        assert_eq!(ninja_args(Path::new("/b")), ["-C", "/b", "install"]);
    }

    #[test]
    fn path_first_is_prepended() {
        let cmd = command("true", &[], Some(Path::new("/venv/bin")));
        let path = cmd
            .get_envs()
            .find(|(k, _)| *k == "PATH")
            .and_then(|(_, v)| v)
            .unwrap();
        assert!(path.to_string_lossy().starts_with("/venv/bin:"));
    }

    #[test]
    fn a_failed_step_names_itself_shows_the_log_tail_and_path() {
        let dir = std::env::temp_dir().join(format!("xtask-build-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("build.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo CMake Error at config.cmake:1; exit 3"]);
        let e = step(cmd, "configuring `debug` (cmake)", &log, false).unwrap_err();
        assert!(e.starts_with("configuring `debug` (cmake) failed"), "{e}");
        assert!(e.contains("CMake Error at config.cmake:1"), "{e}");
        assert!(e.contains(&format!("full log: {}", log.display())), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
