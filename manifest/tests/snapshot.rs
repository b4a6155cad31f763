//! Snapshot tests: the generated plan and the report of `manifests/default.toml` (and the plans of
//! `tests/qemu/ipc.toml` and `tests/manifests/ok/full.toml`) must equal the committed files in
//! `tests/snapshots/`. After an intended change, regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test -p manifest --test snapshot` and review the diff.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Stand-in ELF paths: absolute and machine-independent (the `generated_plan` test compiles the
/// snapshot with `include_bytes!` shadowed, so these files need not exist).
fn elf(program: &str) -> PathBuf {
    PathBuf::from(format!("/elf/{program}.elf"))
}

fn check(actual: &str, snapshot: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(snapshot);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!(
            "{} is stale (first differing line: {:?}); regenerate with UPDATE_SNAPSHOTS=1 and \
             review the diff",
            path.display(),
            first.map(|i| i + 1)
        );
    }
}

fn default_system() -> manifest::ValidatedSystem {
    manifest::load(repo().join("manifests/default.toml")).expect("default manifest validates")
}

#[test]
fn default_plan_snapshot() {
    let source = manifest::codegen(&default_system(), elf).expect("codegen");
    check(&source, "default.plan.rs");
}

#[test]
fn other_plan_snapshots() {
    for (manifest, snapshot) in [
        ("tests/qemu/ipc.toml", "ipc.plan.rs"),
        ("tests/manifests/ok/full.toml", "full.plan.rs"),
    ] {
        let system = manifest::load(repo().join(manifest)).expect("validates");
        check(&manifest::codegen(&system, elf).expect("codegen"), snapshot);
    }
}

#[test]
fn default_report_snapshot() {
    check(&manifest::report(&default_system()), "default.report.txt");
}

#[test]
fn codegen_is_deterministic_and_embeds_each_program_once() {
    let system = default_system();
    let a = manifest::codegen(&system, elf).expect("codegen");
    let b = manifest::codegen(&system, elf).expect("codegen");
    assert_eq!(a, b);
    for program in system.programs() {
        let needle = format!("include_bytes!(\"/elf/{program}.elf\")");
        assert_eq!(a.matches(&needle).count(), 1, "{program}");
    }
}

#[test]
fn codegen_refuses_relative_elf_paths() {
    let err = manifest::codegen(&default_system(), |p| PathBuf::from(format!("target/{p}")))
        .expect_err("relative path");
    assert!(
        matches!(err, manifest::CodegenError::RelativeElfPath { .. }),
        "{err}"
    );
}
