//! The image pipeline: manifest -> programs -> plan -> root task -> loader image.
//!
//! For a manifest `M.toml` everything generated lands in `<target dir>/images/M/`:
//! `plan.rs` (the boot plan, `manifest::codegen`), `report.txt` (`manifest::report`),
//! `root-task.elf` and `image.elf` (the loader with kernel and root task, booted by QEMU).

use std::path::{Path, PathBuf};

use manifest::ValidatedSystem;

use crate::cargo::{Dir, Workspace};

/// Loads and validates a manifest; diagnostics are returned as `file:line:col: ...` lines.
pub fn load(path: &Path) -> Result<ValidatedSystem, String> {
    manifest::load(path).map_err(|diags| {
        let lines: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        format!(
            "{} has {} error(s):\n{}",
            path.display(),
            diags.len(),
            lines.join("\n")
        )
    })
}

/// The manifest's file stem (the name of its image directory).
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The programs of `system` that are not seL4 programs of the workspace.
pub fn missing<'a>(ws: &Workspace, system: &'a ValidatedSystem) -> Vec<&'a str> {
    system
        .programs()
        .into_iter()
        .filter(|p| !ws.programs.contains_key(*p))
        .collect()
}

/// Checks each built program against the loading conventions, then writes `plan.rs` and
/// `report.txt` for `system` into the image directory of `stem`. Returns the plan's path.
pub fn generate(ws: &Workspace, system: &ValidatedSystem, stem: &str) -> Result<PathBuf, String> {
    for program in system.programs() {
        let path = ws.binary(Dir::Programs, program);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        manifest::check_elf(program, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let source = manifest::codegen(system, |p| ws.binary(Dir::Programs, p))
        .map_err(|e| format!("generating the plan of {}: {e}", system.file))?;
    let dir = ws.image_dir(stem);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let plan = dir.join("plan.rs");
    write(&plan, &source)?;
    write(&dir.join("report.txt"), &manifest::report(system))?;
    Ok(plan)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    // Unchanged files keep their time stamp, so cargo does not rebuild for nothing.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Builds the bootable image of the manifest at `path` with the kernel at `prefix` (already
/// checked). Returns the image's path.
///
/// `as_test`: build a product system as a test system (the QEMU tier judges every manifest;
/// `xtask run` boots a product system as declared, and it then runs until QEMU is stopped).
pub fn build(ws: &Workspace, path: &Path, prefix: &Path, as_test: bool) -> Result<PathBuf, String> {
    build_with(ws, path, prefix, as_test, &[])
}

/// Like [`build`], with the programs built with cargo `features` (`package/feature`).
pub fn build_with(
    ws: &Workspace,
    path: &Path,
    prefix: &Path,
    as_test: bool,
    features: &[&str],
) -> Result<PathBuf, String> {
    let mut system = load(path)?;
    if as_test && system.kind == plan::SystemKind::Product {
        println!(
            "xtask: {} is a product system; the QEMU tier builds it as a test system so that \
             the root task judges the run",
            path.display()
        );
        system.kind = plan::SystemKind::Test;
    }
    let missing = missing(ws, &system);
    if !missing.is_empty() {
        return Err(format!(
            "{}: program(s) {} are not seL4 programs of this workspace (a package with that bin \
             target, depending on sel4-runtime)",
            path.display(),
            missing.join(", ")
        ));
    }
    let stem = stem(path);
    println!(
        "xtask: image `{stem}`: building programs {}",
        system.programs().join(", ")
    );
    ws.build_programs_with(&system.programs(), false, features)?;
    let plan = generate(ws, &system, &stem)?;
    let dir = ws.image_dir(&stem);
    println!("xtask: image `{stem}`: plan {}", plan.display());
    let root_task = ws.build_root_task(&plan, false)?;
    let root_task_elf = dir.join("root-task.elf");
    copy(&root_task, &root_task_elf)?;
    let loader = ws.build_loader(&prefix.join("bin/kernel.elf"), &root_task_elf)?;
    let image = dir.join("image.elf");
    copy(&loader, &image)?;
    println!("xtask: image `{stem}`: {}", image.display());
    Ok(image)
}
