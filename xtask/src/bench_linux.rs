//! `bench-linux`: the Linux guest's boot time through the VCPU server against a bare QEMU boot of
//! the same Image and initramfs. It measures and never asserts.
//!
//! Both runs use `-icount shift=0,sleep=off`: QEMU's virtual clock advances one nanosecond per
//! instruction executed, whoever executes it (guest, seL4, the server, the VMM), so the guest's
//! own clock is deterministic and counts every exit's cost. The bare run is
//! `qemu-system-aarch64 -machine virt,gic-version=2 -cpu cortex-a57 -m 256 -kernel Image -initrd
//! ... -append ...` (Linux at EL1, QEMU's own GIC, UART and PSCI, no hypervisor, the same 256 MiB
//! of RAM the VMM gives the guest).
//!
//! Both are measured with the kernel's printk clock (sched_clock on the virtual counter, which
//! starts when the kernel registers its timer, early in `time_init`): the timestamp of the line
//! `/init` writes to `/dev/kmsg` ("init: reached /init") and of "reboot: Power down". The server
//! run also reports the VMM's own count from its first `zx_vcpu_enter`, its exit counts, and the
//! guest's exits to EL2 by kind, counted from QEMU's `-d int` log (exceptions taken from EL1 to
//! EL2, classified by ESR exception class; the log does not change virtual time).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::cargo::Workspace;
use crate::cmd::{LINUX_MANIFEST, preload_args, root};
use crate::{image, kernel, linux, qemu};

/// Wall-clock bound of one QEMU run (seconds, through coreutils `timeout`).
const RUN_TIMEOUT_SECS: u32 = 900;
/// The kmsg line `/init` writes.
const INIT_KMSG: &str = "init: reached /init";
/// The kernel's last line.
const POWER_DOWN: &str = "reboot: Power down";

/// `bench-linux`.
pub fn bench_linux(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!(
            "bench-linux takes no arguments, got `{}`",
            args.join(" ")
        ));
    }
    let prefix = kernel::prefix(crate::kernel::source::Network::Allowed)?;
    kernel::check(&prefix)?;
    let cmdline = linux::cmdline(linux::CMDLINE_QUIET);
    let files = linux::guest_files()?;
    let ws = Workspace::load()?;
    let manifest = root().join(LINUX_MANIFEST);
    let image = image::build(&ws, &manifest, &prefix, true)?;
    let extra = preload_args(&manifest, &image, &cmdline)?;
    let dir = image.parent().ok_or("image has no directory")?;

    println!("xtask: bench-linux: server run (bootargs \"{cmdline}\")");
    let log = dir.join("bench-int.log");
    let mut server = qemu::qemu_command(&image);
    server.args(&extra).args(["-d", "int", "-D"]).arg(&log);
    let (server_out, server_wall) = capture(server)?;

    println!("xtask: bench-linux: bare run");
    let image_file = dir.join("bench-Image");
    let initrd_file = dir.join("bench-initrd");
    write(&image_file, &files.image)?;
    write(&initrd_file, &files.initrd)?;
    let mut bare = Command::new("qemu-system-aarch64");
    bare.args([
        "-machine",
        "virt,gic-version=2",
        "-cpu",
        "cortex-a57",
        "-smp",
        "1",
        "-m",
        "256",
        "-nographic",
        "-no-reboot",
        "-icount",
        "shift=0,sleep=off",
        "-kernel",
    ])
    .arg(&image_file)
    .arg("-initrd")
    .arg(&initrd_file)
    .args(["-append", &cmdline]);
    let (bare_out, bare_wall) = capture(bare)?;

    let s_init = stamp(&server_out, INIT_KMSG);
    let s_off = stamp(&server_out, POWER_DOWN);
    let b_init = stamp(&bare_out, INIT_KMSG);
    let b_off = stamp(&bare_out, POWER_DOWN);
    println!("xtask: bench-linux: {} ({})", files.origin, cmdline);
    for (what, s, b) in [("/init", s_init, b_init), ("power-off", s_off, b_off)] {
        match (s, b) {
            (Some(s), Some(b)) => println!(
                "linux boot: server {s} bare {b} ratio {:.3} (to {what}, ns of virtual time on the kernel's clock)",
                s as f64 / b as f64
            ),
            _ => println!(
                "linux boot: to {what}: no measurement (server {s:?}, bare {b:?}): a run did not get there"
            ),
        }
    }
    for line in &server_out {
        if line.starts_with("linux-vmm: exits") || line.starts_with("linux-vmm: timing") {
            println!("{line}");
        }
    }
    match std::fs::read_to_string(&log) {
        Ok(text) => {
            let counts = guest_exits(&text);
            let all: u64 = counts.values().sum();
            let list: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!(
                "linux boot: guest exits to EL2 by kind (QEMU -d int): {} (total {all})",
                list.join(", ")
            );
        }
        Err(e) => println!("linux boot: no exception log ({}: {e})", log.display()),
    }
    println!(
        "linux boot: wall clock: server {:.1} s (whole system, with -d int), bare {:.1} s",
        server_wall, bare_wall
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `cmd` under `timeout`, returning its output lines and the wall-clock seconds.
fn capture(cmd: Command) -> Result<(Vec<String>, f64), String> {
    let mut t = Command::new("timeout");
    t.arg(RUN_TIMEOUT_SECS.to_string())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let start = Instant::now();
    let out = t
        .output()
        .map_err(|e| format!("cannot run qemu-system-aarch64: {e}"))?;
    let wall = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    Ok((text.lines().map(str::to_string).collect(), wall))
}

/// The printk timestamp (ns) of the first line containing `what`: `[    2.106967] ...`.
pub fn stamp(lines: &[String], what: &str) -> Option<u64> {
    let line = lines.iter().find(|l| l.contains(what))?;
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    let t = line[open + 1..close].trim();
    let (secs, micros) = t.split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    Some(secs * 1_000_000_000 + micros * 1_000)
}

/// Counts the exceptions QEMU logged as taken from EL1 to EL2 (guest exits), by kind (QEMU
/// prints the exception class and the syndrome: `...with ESR 0x<EC>/0x<ISS>`).
pub fn guest_exits(log: &str) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    let mut lines = log.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("Taking exception ") else {
            continue;
        };
        let number: u32 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let mut from_guest = false;
        let mut esr = None;
        while let Some(next) = lines.peek() {
            if !next.starts_with("...") {
                break;
            }
            if next.contains("from EL1 to EL2") {
                from_guest = true;
            }
            // "...with ESR 0x<exception class>/0x<syndrome>"
            if let Some(v) = next.strip_prefix("...with ESR 0x") {
                let ec = v.split('/').next().unwrap_or("");
                esr = u64::from_str_radix(ec, 16).ok();
            }
            lines.next();
        }
        if !from_guest {
            continue;
        }
        let kind = match (number, esr) {
            (5, _) => "IRQ (virtual timer, GIC maintenance, seL4's tick)",
            (_, Some(0x01)) => "WFI/WFE",
            (_, Some(0x17)) => "SMC (PSCI)",
            (_, Some(0x16)) => "HVC",
            (_, Some(0x24)) => "data abort (MMIO: GICD, UART)",
            (_, Some(0x18)) => "sysreg",
            _ => "other",
        };
        *counts.entry(kind).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printk_stamps() {
        let lines = vec![
            "linux: [    0.1] x".to_string(),
            "linux: [    2.106967] init: reached /init".to_string(),
        ];
        assert_eq!(stamp(&lines, INIT_KMSG), Some(2_106_967_000));
        assert_eq!(stamp(&lines, POWER_DOWN), None);
    }

    #[test]
    fn exits_are_classified() {
        let log = "\
Taking exception 18 [Hypervisor Trap] on CPU 0
...from EL1 to EL2
...with ESR 0x17/0x5e000000
Taking exception 18 [Hypervisor Trap] on CPU 0
...from EL1 to EL2
...with ESR 0x24/0x93c08007
Taking exception 5 [IRQ] on CPU 0
...from EL1 to EL2
Taking exception 17 [Hypervisor Call] on CPU 0
...from EL0 to EL2
...with ESR 0x16/0x56000000
Taking exception 5 [IRQ] on CPU 0
...from EL1 to EL1
";
        let c = guest_exits(log);
        assert_eq!(c.get("SMC (PSCI)"), Some(&1));
        assert_eq!(c.get("data abort (MMIO: GICD, UART)"), Some(&1));
        assert_eq!(
            c.get("IRQ (virtual timer, GIC maintenance, seL4's tick)"),
            Some(&1)
        );
        assert_eq!(c.values().sum::<u64>(), 3);
    }
}
