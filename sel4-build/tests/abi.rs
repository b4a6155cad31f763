//! Compares every number of the `sel4` crate with the kernel installed at `SEL4_PREFIX`.
//! Without `SEL4_PREFIX` the comparison is skipped (and says so); the test then passes.

use std::path::PathBuf;

#[test]
fn sel4_crate_matches_installed_headers() {
    let Some(prefix) = std::env::var_os("SEL4_PREFIX").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: SEL4_PREFIX is not set, so there are no installed libsel4 headers to \
             compare the sel4 crate with (set SEL4_PREFIX=/path/to/install to run this check)"
        );
        return;
    };
    let report = match sel4_build::abi::check_abi(&prefix) {
        Ok(r) => r,
        Err(e) => panic!("ABI check of {} failed: {e}", prefix.display()),
    };
    eprint!("{report}");
    assert!(
        report.checks.len() > 300,
        "suspiciously few items compared: {}",
        report.checks.len()
    );
    let bad = report.mismatches();
    assert!(bad.is_empty(), "{report}");
}

/// The comparison must notice a changed number (guards against a checker that compares
/// nothing): renumber one label and one stub word in the loaded headers.
#[test]
fn comparison_detects_a_changed_number() {
    let Some(prefix) = std::env::var_os("SEL4_PREFIX").map(PathBuf::from) else {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
        return;
    };
    let mut headers = sel4_build::abi::Headers::load(&prefix).expect("headers load");
    headers.labels.insert("TCBConfigure".to_string(), 99);
    if let Some(f) = headers.client.get_mut("seL4_CNode_Mint") {
        f.words.insert(5, "src_index".to_string());
    }
    let report = sel4_build::abi::compare(&headers);
    let bad: Vec<String> = report.mismatches().iter().map(|c| c.item.clone()).collect();
    assert!(
        bad.contains(&"invocation label TCBConfigure".to_string()),
        "{bad:?}"
    );
    assert!(
        bad.contains(&"seL4_TCB_Configure: label".to_string()),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|b| b.starts_with("seL4_CNode_Mint: MR5")),
        "{bad:?}"
    );
    assert_eq!(bad.len(), 3, "{bad:?}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of the install's libsel4 whose XML and configuration were edited must be refused:
/// one extra method before `TCBConfigure` renumbers it and every later label, and a
/// configuration without printing loses the debug-print syscalls.
#[test]
fn modified_interface_files_are_detected() {
    let Some(prefix) = std::env::var_os("SEL4_PREFIX").map(PathBuf::from) else {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&prefix.join("libsel4"), &dir.path().join("libsel4"));
    let inc = dir.path().join("libsel4/include");
    let api = inc.join("interfaces/object-api.xml");
    let text = std::fs::read_to_string(&api).expect("xml");
    let at = text
        .find("<method id=\"TCBConfigure\"")
        .expect("TCBConfigure in the XML");
    let edited = format!(
        "{}<method id=\"TCBExtra\" name=\"Extra\"/>\n{}",
        &text[..at],
        &text[at..]
    );
    std::fs::write(&api, edited).expect("write");
    let cfg = inc.join("kernel/gen_config.json");
    let text = std::fs::read_to_string(&cfg).expect("json");
    std::fs::write(
        &cfg,
        text.replace("\"PRINTING\": true", "\"PRINTING\": false"),
    )
    .expect("write");

    let report = sel4_build::abi::check_abi(dir.path()).expect("still readable");
    let bad: Vec<String> = report.mismatches().iter().map(|c| c.item.clone()).collect();
    for item in [
        "invocation label TCBConfigure",
        "invocation label TCBSetTLSBase",
        "invocation label ARMVCPUSetTCB",
        "seL4_TCB_Configure: label",
        "syscall seL4_SysDebugPutChar",
    ] {
        assert!(
            bad.iter().any(|b| b == item),
            "{item} not reported: {bad:?}"
        );
    }
    assert!(
        !bad.iter().any(|b| b == "invocation label UntypedRetype"),
        "labels before the insertion keep their numbers: {bad:?}"
    );
    let unmodified = sel4_build::abi::check_abi(&prefix).expect("install readable");
    assert_eq!(
        report.checks.len(),
        unmodified.checks.len(),
        "the same items are compared"
    );
}
