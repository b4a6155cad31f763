//! Running an image in QEMU and judging its serial output.
//!
//! A test image prints one line per case, `PASS <case>` or `FAIL <case>: <detail>`, and ends with
//! a sentinel line: [`SUCCESS_SENTINEL`] when every case passed, [`FAILURE_SENTINEL`] otherwise
//! (the component runtime's panic handler prints the failure sentinel too). The runner enforces a
//! timeout, always stops QEMU, and turns the transcript into a verdict.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Printed by a test image after its last case when all passed.
pub const SUCCESS_SENTINEL: &str = "*** ALL TESTS PASSED ***";
/// Printed by a test image (or a panicking component) on failure.
pub const FAILURE_SENTINEL: &str = "*** TEST FAILURE ***";

/// QEMU's machine for the supported kernel configuration (see README "Supported kernel").
pub fn qemu_command(loader: &Path) -> Command {
    let mut cmd = Command::new("qemu-system-aarch64");
    cmd.args([
        "-machine",
        "virt,virtualization=on,secure=off,gic-version=2",
        "-cpu",
        "cortex-a57",
        "-smp",
        "1",
        "-m",
        "2048",
        "-nographic",
        "-icount",
        "shift=0,sleep=off",
        "-kernel",
    ]);
    cmd.arg(loader);
    cmd
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Cases that printed PASS.
    pub passed: Vec<String>,
    /// Cases that printed FAIL, with their detail.
    pub failed: Vec<String>,
    /// The success sentinel was seen.
    pub success_sentinel: bool,
    /// The failure sentinel was seen.
    pub failure_sentinel: bool,
    /// The timeout expired before a sentinel.
    pub timed_out: bool,
    /// Benchmark output: every line starting with `bench ` (see `cargo xtask bench`).
    pub bench: Vec<String>,
}

impl Verdict {
    /// Passed: success sentinel, no failure sentinel, no failed case, no timeout.
    pub fn ok(&self) -> bool {
        self.success_sentinel && !self.failure_sentinel && self.failed.is_empty() && !self.timed_out
    }

    /// Feeds one line of serial output.
    pub fn observe(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(case) = line.strip_prefix("PASS ") {
            self.passed.push(case.trim().to_string());
        } else if let Some(case) = line.strip_prefix("FAIL ") {
            self.failed.push(case.trim().to_string());
        }
        if line.starts_with("bench ") {
            self.bench.push(line.to_string());
        }
        if line.contains(SUCCESS_SENTINEL) {
            self.success_sentinel = true;
        }
        if line.contains(FAILURE_SENTINEL) {
            self.failure_sentinel = true;
        }
    }

    fn finished(&self) -> bool {
        self.success_sentinel || self.failure_sentinel
    }
}

/// Boots `loader` in QEMU (with `extra` arguments, e.g. preloaded blobs), echoes the serial output
/// with `prefix`, and judges it. QEMU is stopped when a sentinel appears (after a short grace
/// period for trailing output) or at `timeout`.
pub fn run_test(
    loader: &Path,
    extra: &[String],
    timeout: Duration,
    prefix: &str,
) -> Result<Verdict, String> {
    let mut child = qemu_command(loader)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-aarch64: {e} (install qemu-system-arm)"))?;
    let stdout = child.stdout.take().ok_or("qemu has no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut verdict = Verdict::default();
    let deadline = Instant::now() + timeout;
    let mut stop_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let limit = stop_at.unwrap_or(deadline).min(deadline);
        if now >= limit {
            verdict.timed_out = stop_at.is_none();
            break;
        }
        match rx.recv_timeout(limit - now) {
            Ok(line) => {
                println!("{prefix}{line}");
                let _ = std::io::stdout().flush();
                verdict.observe(&line);
                if verdict.finished() && stop_at.is_none() {
                    stop_at = Some(Instant::now() + Duration::from_millis(500));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // QEMU exited (e.g. the image powered off through PSCI SYSTEM_OFF).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    stop(&mut child);
    Ok(verdict)
}

fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_needs_success_sentinel_and_no_failures() {
        let mut v = Verdict::default();
        v.observe("PASS badge-arrives");
        assert!(!v.ok(), "no sentinel yet");
        v.observe(SUCCESS_SENTINEL);
        assert!(v.ok());
        v.observe("FAIL no-cap: reached the server");
        assert!(!v.ok());
        assert_eq!(v.failed, ["no-cap: reached the server"]);
    }

    #[test]
    fn failure_sentinel_fails_even_with_success_sentinel() {
        let mut v = Verdict::default();
        v.observe(SUCCESS_SENTINEL);
        v.observe(&format!("vmm panicked {FAILURE_SENTINEL}"));
        assert!(!v.ok());
    }

    #[test]
    fn timeout_fails() {
        let v = Verdict {
            success_sentinel: true,
            timed_out: true,
            ..Verdict::default()
        };
        assert!(!v.ok());
    }
}
