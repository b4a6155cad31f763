//! `cargo xtask`: the project's build tool. The Makefile is thin porcelain over it.
//!
//! Subcommands (each documented in [`USAGE`]):
//! - `build-targets` / `clippy-targets`: build or lint every seL4-side crate for
//!   `aarch64-unknown-none`: libraries, every program a manifest names, and the root task
//!   against a generated plan (no kernel needed; this is what CI checks);
//! - `check-manifest FILE...`: validate manifests and print their reports;
//! - `build`, `run`: compose a bootable image from a manifest and boot it in QEMU;
//! - `test-qemu`: boot every manifest (`manifests/`, `tests/qemu/`) and judge the serial output;
//! - `bench`: boot the benchmark image and collect its numbers (`bench.rs`).
//!
//! - `setup`: install the host tools; `kernel`: build and cache kernel configurations.
//!
//! Everything that needs a kernel gets it from `kernel::prefix` (`SEL4_PREFIX`, else the cached
//! build of the selected configuration, built on first use) and checks it first; when none can
//! be had, `test-qemu --if-kernel` reports the tier as skipped and why. The image pipeline is in `image.rs`, cargo
//! invocations and target directories in `cargo.rs`.

mod bench;
mod bench_linux;
mod cargo;
mod cmd;
mod image;
mod kernel;
mod linux;
mod qemu;
mod setup;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup [--best-effort]    install what the build needs: the Rust target, Debian packages of
                           missing tools (as root or with sudo; else prints the commands)
  kernel [--config NAME | --all] [--force] [--verbose]
                           build and cache a kernel configuration (default: KERNEL or `debug`)
                           from SEL4_SRC or the public seL4 repository at the pinned commit,
                           then check it; nothing is rebuilt when the cached one matches
  kernel --list            the configurations, which are cached, and the default
  build-targets            build for aarch64-unknown-none (no kernel needed): the libraries, every
                           program a manifest names, and the root task against a generated plan
  clippy-targets           the same with clippy -D warnings
  check-manifest FILE...   validate manifests; print each report (errors as file:line:col)
  build [--manifest FILE]  build a bootable image into <target>/images/<stem>/
                           (default manifest: manifests/default.toml)
  run [--manifest FILE]    build and boot it in QEMU, console on stdio
  test                     what `make test` runs: setup (best effort), host tests, target builds,
                           the QEMU tier (skipped, saying why, when no kernel can be had offline)
  fetch-linux              fetch Debian's arm64 cloud kernel and busybox-static into the cache
                           ($XDG_CACHE_HOME or ~/.cache: sel4-vcpu/linux/) and build the initramfs
                           (LINUX_IMAGE / LINUX_INITRD override the files; both are checked)
  run-linux                fetch-linux, then build and boot manifests/linux.toml (LINUX_CMDLINE
                           overrides the kernel command line)
  bench-linux              boot the Linux guest (quiet) through the server and bare in QEMU under
                           -icount; print `linux boot: server <ns> bare <ns> ratio <x>` and the
                           exits by kind (measures, never asserts)
  bench [--tsv FILE] [--timeout SECS]
                           build and boot the benchmark image (tests/bench/bench.toml), print
                           its `bench` lines (and write them to FILE as TSV); never part of test
  test-qemu [--if-kernel] [--timeout SECS] [FILE...]
                           boot and judge each manifest (default: manifests/*.toml and
                           tests/qemu/*.toml);
                           --if-kernel: never use the network; without a kernel that can be had
                           locally, report the tier as skipped (and why) and succeed

kernel selection: SEL4_PREFIX (an installed kernel) if set, else the cached build of KERNEL
(default `debug`), built on first use from SEL4_SRC (a seL4 checkout, git directory or URL) or
the public repository; the cache is $XDG_CACHE_HOME/sel4-vcpu (else ~/.cache/sel4-vcpu).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match command.as_str() {
        "build-targets" => cmd::build_targets(false),
        "clippy-targets" => cmd::build_targets(true),
        "check-manifest" => cmd::check_manifests(rest),
        "build" => cmd::build(rest).map(|_| ()),
        "run" => cmd::run(rest),
        "test-qemu" => cmd::test_qemu(rest),
        "kernel" => kernel::command(rest),
        "test" => cmd::test_all(rest),
        "bench" => bench::command(rest),
        "setup" => setup::setup(rest),
        "run-linux" => cmd::run_linux(rest),
        "bench-linux" => bench_linux::bench_linux(rest),
        "fetch-linux" => linux::guest_files().map(|f| {
            println!(
                "xtask: Linux guest files ready: {} (Image {} bytes, initramfs {} bytes)",
                f.origin,
                f.image.len(),
                f.initrd.len()
            )
        }),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
