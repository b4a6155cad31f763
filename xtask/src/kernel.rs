//! Checking the installed kernel (`SEL4_PREFIX`) before anything is built against it.
//!
//! Two checks from `sel4-build`, both must pass: the kernel configuration is one the project
//! supports (`config::check_config`: aarch64 QEMU virt, hypervisor, non-MCS, one core, PA44,
//! GICv2, printing), and the installed libsel4 headers agree with the `sel4` crate's numbers and
//! layouts (`abi::check_abi`). A refusal names the prefix and every problem.

use std::path::{Path, PathBuf};

use sel4_build::config::KernelInfo;

/// Where the installed kernel is, or why a kernel is needed.
pub fn prefix() -> Result<PathBuf, String> {
    match std::env::var_os("SEL4_PREFIX") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Err(
            "SEL4_PREFIX is not set: booting needs an installed seL4 kernel (see README, \
                  \"Supported kernel\"); set SEL4_PREFIX to its install prefix"
                .into(),
        ),
    }
}

/// Checks the kernel at `prefix`; prints its warnings.
pub fn check(prefix: &Path) -> Result<KernelInfo, String> {
    let refused = |why: String| format!("the kernel at {} is refused:\n{why}", prefix.display());
    let info = sel4_build::config::check_config(prefix).map_err(|e| refused(e.to_string()))?;
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
