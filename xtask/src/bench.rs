//! `cargo xtask bench` (`make bench`): builds and boots the benchmark image
//! (`tests/bench/bench.toml`, the server built with its `bench` feature), collects its `bench`
//! lines, prints them and optionally writes them to a TSV file (what `docs/perf/sel4.svg` is
//! plotted from). It measures and never judges a time: it fails only if the image did not run
//! to its end or a path has no line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::cargo::Workspace;
use crate::cmd::root;
use crate::kernel::source::Network;
use crate::{image, kernel, qemu};

/// The benchmark system.
pub const MANIFEST: &str = "tests/bench/bench.toml";
/// The cargo feature that turns the server into the benchmark server.
const FEATURES: &[&str] = &["vcpu-server-sel4/bench"];

/// Every path the image times, in output order (the raw baselines first).
pub const PATHS: &[&str] = &[
    "raw-null-ipc",
    "raw-vm-fault",
    "request-kick",
    "request-get-info",
    "request-bad-handle",
    "request-read-state",
    "request-write-state",
    "request-interrupt",
    "exit-mem",
    "exit-wfi",
    "exit-psci",
    "exit-bell",
    "port-wait",
    "kick-latency",
];

/// One parsed `bench <path> median <m> min <a> max <b> ratio <x>` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Result {
    /// The path.
    pub path: String,
    /// Median, min and max in ticks.
    pub median: u64,
    /// Smallest.
    pub min: u64,
    /// Largest.
    pub max: u64,
    /// Median over the path's raw bound.
    pub ratio: f64,
}

/// Parses a path line; `None` for anything else (memory lines, errors).
pub fn parse(line: &str) -> Option<Result> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["bench", path, "median", m, "min", a, "max", b, "ratio", x] => Some(Result {
            path: path.to_string(),
            median: m.parse().ok()?,
            min: a.parse().ok()?,
            max: b.parse().ok()?,
            ratio: x.parse().ok()?,
        }),
        _ => None,
    }
}

/// `bench [--tsv FILE] [--timeout SECS]`.
pub fn command(args: &[String]) -> std::result::Result<(), String> {
    let mut tsv: Option<PathBuf> = None;
    let mut timeout = Duration::from_secs(600);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--tsv" => tsv = Some(it.next().ok_or("--tsv needs a file")?.into()),
            "--timeout" => {
                let secs = it.next().ok_or("--timeout needs a number of seconds")?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("bad --timeout `{secs}`"))?;
                timeout = Duration::from_secs(secs);
            }
            other => return Err(format!("bench: unexpected `{other}`")),
        }
    }
    let prefix = kernel::prefix(Network::Allowed)?;
    kernel::check(&prefix)?;
    let ws = Workspace::load()?;
    let image = image::build_with(&ws, &root().join(MANIFEST), &prefix, true, FEATURES)?;
    let verdict = qemu::run_test(&image, &[], timeout, "[bench] ")?;
    println!("== benchmark results (virtual-counter ticks; 1 tick = 16 instructions)");
    for line in &verdict.bench {
        println!("{line}");
    }
    let results: Vec<Result> = verdict.bench.iter().filter_map(|l| parse(l)).collect();
    let missing: Vec<&str> = PATHS
        .iter()
        .copied()
        .filter(|p| !results.iter().any(|r| r.path == *p))
        .collect();
    if let Some(file) = tsv {
        let text = tsv_text(&results, &verdict.bench);
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        println!("xtask: wrote {}", file.display());
    }
    if !verdict.ok() {
        return Err("the benchmark image did not run to its end".into());
    }
    if !missing.is_empty() {
        return Err(format!("no result for {}", missing.join(", ")));
    }
    Ok(())
}

/// The TSV file: a comment, a header, one row per path; memory lines as comments.
pub fn tsv_text(results: &[Result], lines: &[String]) -> String {
    let mut s = String::from(
        "# seL4 benchmark results (`cargo xtask bench --tsv`, tests/bench/bench.toml): virtual-counter\n\
         # ticks under QEMU -icount shift=0 (1 tick = 16 instructions). docs/perf/sel4.gp plots it.\n",
    );
    for l in lines.iter().filter(|l| l.starts_with("bench memory")) {
        let _ = writeln!(s, "# {l}");
    }
    s.push_str("path\tmedian\tmin\tmax\tratio\n");
    for r in results {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{:.2}",
            r.path, r.median, r.min, r.max, r.ratio
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{parse, tsv_text};

    #[test]
    fn path_lines_parse_and_others_do_not() {
        let r = parse("bench exit-mem median 1979 min 1950 max 2400 ratio 9.12").unwrap();
        assert_eq!(
            (r.path.as_str(), r.median, r.min, r.max),
            ("exit-mem", 1979, 1950, 2400)
        );
        assert!((r.ratio - 9.12).abs() < 1e-9);
        assert_eq!(parse("bench memory kernel guest 8192 vcpu 6208"), None);
        assert_eq!(parse("bench error: exit-mem: ERR_INTERNAL"), None);
        assert_eq!(
            parse("bench exit-mem median x min 1 max 2 ratio 1.00"),
            None
        );
    }

    #[test]
    fn tsv_has_a_row_per_result() {
        let line = "bench raw-null-ipc median 50 min 49 max 60 ratio 1.00".to_string();
        let mem = "bench memory kernel guest 8192 vcpu 6208".to_string();
        let r = parse(&line).unwrap();
        let text = tsv_text(&[r], &[line, mem]);
        assert!(text.contains("# bench memory kernel guest 8192 vcpu 6208\n"));
        assert!(text.ends_with("path\tmedian\tmin\tmax\tratio\nraw-null-ipc\t50\t49\t60\t1.00\n"));
    }
}
