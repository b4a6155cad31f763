//! The deployment check: a system whose manifest says its guests are untrusted
//! (`[system.kernel] untrusted-guests = true`) is never built against a kernel whose debug
//! system calls a guest could reach.
//!
//! Why: a guest's `hvc` is an seL4 system call with x7 as its number. On a debug kernel the
//! debug syscalls exist and need no capability (DebugHalt stops the machine, DebugPutChar
//! prints, DebugDumpScheduler and DebugSnapshot dump every thread and capability,
//! DebugNameThread on a non-TCB halts). A release kernel (`release`, `mcs-release`) has none.

/// `Ok` unless `untrusted_guests` names where the manifest says its guests are untrusted and
/// `config` has debug syscalls; the error names the manifest location, the kernel, and every
/// debug syscall a guest could reach with its x7 number.
pub fn check(
    untrusted_guests: Option<&str>,
    config: sel4::Config,
    kernel: &str,
) -> Result<(), String> {
    let Some(location) = untrusted_guests else {
        return Ok(());
    };
    let reachable: Vec<String> = sel4::Syscall::ALL
        .iter()
        .filter(|s| s.is_debug())
        .filter_map(|s| {
            let name = s.c_name().trim_start_matches("seL4_Sys");
            s.number_in(config).map(|n| format!("{name} (x7 = {n})"))
        })
        .collect();
    if reachable.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{location}: the system's guests are untrusted, but the kernel {kernel} is the debug \
         configuration `{}`: a guest `hvc` reaches its debug system calls {} without any \
         capability (DebugHalt stops the whole machine). Build it against a release kernel: \
         KERNEL=mcs-release (recommended) or KERNEL=release",
        config.name(),
        reachable.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::check;
    use sel4::Config;

    #[test]
    fn untrusted_guests_on_a_debug_kernel_are_refused_with_the_syscalls() {
        let e = check(Some("m.toml:7:20"), Config::DEBUG, "/k").unwrap_err();
        assert!(e.starts_with("m.toml:7:20: "), "{e}");
        for want in [
            "`debug`",
            "DebugPutChar (x7 = -9)",
            "DebugHalt (x7 = -11)",
            "DebugNameThread (x7 = -14)",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
        let e = check(Some("m.toml:7:20"), Config::MCS, "/k").unwrap_err();
        assert!(e.contains("DebugHalt (x7 = -14)"), "{e}");
    }

    #[test]
    fn release_kernels_and_trusted_guests_pass() {
        assert!(check(Some("m.toml:1:1"), Config::RELEASE, "/k").is_ok());
        assert!(check(Some("m.toml:1:1"), Config::MCS_RELEASE, "/k").is_ok());
        for c in Config::ALL {
            assert!(check(None, c, "/k").is_ok());
        }
    }
}
