//! Compares every number of the `sel4` crate with each installed kernel: `SEL4_PREFIX` and
//! every prefix of `SEL4_BUILD_EXTRA_PREFIXES` (separated by `:`; `xtask test` passes every installed
//! configuration there). Each install is compared with the crate's numbers for that install's
//! configuration. Without either variable the comparison is skipped (and says so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sel4_build::abi::Headers;

/// The installs to compare with.
fn prefixes() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::env::var_os("SEL4_PREFIX")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(list) = std::env::var_os("SEL4_BUILD_EXTRA_PREFIXES") {
        for p in std::env::split_paths(&list) {
            if !p.as_os_str().is_empty() && !all.contains(&p) {
                all.push(p);
            }
        }
    }
    all
}

/// An install's headers, loaded once per test binary (each load compiles and runs the probe).
fn loaded(prefix: &Path) -> Headers {
    static CACHE: OnceLock<Mutex<BTreeMap<PathBuf, Headers>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(prefix.to_path_buf())
        .or_insert_with(|| {
            Headers::load(prefix)
                .unwrap_or_else(|e| panic!("ABI check of {} failed: {e}", prefix.display()))
        })
        .clone()
}

#[test]
fn sel4_crate_matches_installed_headers() {
    let all = prefixes();
    if all.is_empty() {
        eprintln!(
            "SKIPPED: neither SEL4_PREFIX nor SEL4_BUILD_EXTRA_PREFIXES is set, so there are no installed \
             libsel4 headers to compare the sel4 crate with (set SEL4_PREFIX=/path/to/install \
             to run this check)"
        );
        return;
    }
    for prefix in all {
        let headers = loaded(&prefix);
        let report = sel4_build::abi::compare(&headers);
        let config = headers.sel4_config();
        eprint!("{} ({}): {report}", prefix.display(), config.name());
        assert!(
            report.checks.len() > 300,
            "suspiciously few items compared: {}",
            report.checks.len()
        );
        let bad = report.mismatches();
        assert!(bad.is_empty(), "{}: {report}", prefix.display());
    }
}

/// The comparison must notice a changed number (guards against a checker that compares
/// nothing): change one value of each kind in the loaded headers.
#[test]
fn comparison_detects_a_changed_number() {
    let all = prefixes();
    if all.is_empty() {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
    }
    for prefix in all {
        changed_number_is_detected(&prefix);
    }
}

fn changed_number_is_detected(prefix: &std::path::Path) {
    use sel4_build::abi::Fact;
    let mut headers = loaded(prefix);
    headers.labels.insert("TCBConfigure".to_string(), 99);
    headers
        .values
        .insert("seL4_PageBits".to_string(), Fact::Has(13));
    let Some(Fact::Has(mint)) = headers.calls.get_mut("seL4_CNode_Mint") else {
        panic!("no seL4_CNode_Mint in {}", prefix.display());
    };
    mint.words[5] = mint.words[2];
    let Some(Fact::Has(configure)) = headers.calls.get_mut("seL4_TCB_Configure") else {
        panic!("no seL4_TCB_Configure in {}", prefix.display());
    };
    configure.label = 99;
    let ipc = headers
        .layouts
        .get_mut("seL4_IPCBuffer")
        .expect("IPC buffer layout");
    ipc.fields[1].1 = Fact::Absent;
    let report = sel4_build::abi::compare(&headers);
    let bad: Vec<String> = report.mismatches().iter().map(|c| c.item.clone()).collect();
    assert_eq!(
        bad,
        [
            "invocation label TCBConfigure",
            "constant seL4_PageBits",
            "offset of seL4_IPCBuffer.msg",
            "seL4_CNode_Mint: MR5",
            "seL4_TCB_Configure: label",
        ],
        "{}",
        prefix.display()
    );
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
/// one extra method before `TCBConfigure` renumbers it and every later label, and toggling
/// printing (without the debug build) adds or removes the debug-print syscall.
#[test]
fn modified_interface_files_are_detected() {
    let all = prefixes();
    if all.is_empty() {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
    }
    for prefix in all {
        modified_install_is_detected(&prefix);
    }
}

fn modified_install_is_detected(prefix: &std::path::Path) {
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
    let toggled = if text.contains("\"PRINTING\": true") {
        text.replace("\"PRINTING\": true", "\"PRINTING\": false")
    } else {
        text.replace("\"PRINTING\": false", "\"PRINTING\": true")
    };
    assert_ne!(toggled, text, "PRINTING is in {}", cfg.display());
    std::fs::write(&cfg, toggled).expect("write");

    let report = sel4_build::abi::check_abi(dir.path()).expect("still readable");
    let bad: Vec<String> = report.mismatches().iter().map(|c| c.item.clone()).collect();
    for item in [
        "invocation label TCBConfigure",
        "invocation label TCBSetTLSBase",
        "invocation label ARMVCPUSetTCB",
        "syscall seL4_SysDebugPutChar",
    ] {
        assert!(
            bad.iter().any(|b| b == item),
            "{item} not reported: {bad:?}"
        );
    }
    // A stub's label is what the compiled `sel4_client.h` sends, numbered by the headers seL4
    // generated from the unedited XML; it still agrees with the crate.
    assert!(
        !bad.iter().any(|b| b == "seL4_TCB_Configure: label"),
        "the compiled stubs are unchanged: {bad:?}"
    );
    assert!(
        !bad.iter().any(|b| b == "invocation label UntypedRetype"),
        "labels before the insertion keep their numbers: {bad:?}"
    );
    let unmodified = sel4_build::abi::compare(&loaded(prefix));
    assert_eq!(
        report.checks.len(),
        unmodified.checks.len(),
        "the same items are compared"
    );
}

/// Replaces `from` by `to` in one file of a copied install (which must contain it).
fn edit(inc: &std::path::Path, file: &str, from: &str, to: &str) {
    let path = inc.join(file);
    let text = std::fs::read_to_string(&path).expect("header");
    assert!(text.contains(from), "`{from}` in {}", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

/// A copy of the install whose C headers were edited must be refused item by item: a changed
/// constant, an enum with an extra member, a reordered struct, a stub that marshals another
/// argument and a stub that is gone.
#[test]
fn edited_headers_are_detected() {
    let all = prefixes();
    if all.is_empty() {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
    }
    for prefix in all {
        edited_headers_detected(&prefix);
    }
}

fn edited_headers_detected(prefix: &std::path::Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&prefix.join("libsel4"), &dir.path().join("libsel4"));
    let inc = dir.path().join("libsel4/include");
    edit(
        &inc,
        "sel4/sel4_arch/constants.h",
        "#define seL4_VCPUBits       12",
        "#define seL4_VCPUBits       13",
    );
    edit(
        &inc,
        "sel4/errors.h",
        "seL4_FailedLookup,",
        "seL4_FailedLookup,\n    seL4_Extra,",
    );
    edit(
        &inc,
        "sel4/bootinfo_types.h",
        "seL4_Uint8 sizeBits;/* size (2^n) bytes of each untyped */\n    seL4_Uint8 isDevice;",
        "seL4_Uint8 isDevice;\n    seL4_Uint8 sizeBits;",
    );
    let client = "interfaces/sel4_client.h";
    edit(
        &inc,
        client,
        "seL4_SetMR(5, badge);",
        "seL4_SetMR(5, src_index);",
    );
    edit(
        &inc,
        client,
        "\nseL4_ARM_VCPU_AckVPPI(",
        "\nseL4_ARM_VCPU_AckVPPI_Gone(",
    );

    let report = sel4_build::abi::check_abi(dir.path()).expect("edited headers still compile");
    let bad: Vec<String> = report.mismatches().iter().map(|c| c.item.clone()).collect();
    let expected = [
        "error seL4_TruncatedMessage",
        "error seL4_DeleteFirst",
        "error seL4_RevokeFirst",
        "error seL4_NotEnoughMemory",
        "constant seL4_VCPUBits",
        "constant seL4_NumErrors",
        "offset of seL4_UntypedDesc.sizeBits",
        "offset of seL4_UntypedDesc.isDevice",
        "seL4_CNode_Mint: MR5",
        "seL4_ARM_VCPU_AckVPPI: stub",
    ];
    assert_eq!(bad, expected, "{}: {report}", prefix.display());
    let unmodified = sel4_build::abi::compare(&loaded(prefix));
    let gone = unmodified
        .checks
        .iter()
        .filter(|c| c.item.starts_with("seL4_ARM_VCPU_AckVPPI: "))
        .count();
    assert_eq!(
        report.checks.len() + gone - 1,
        unmodified.checks.len(),
        "the same items, the missing stub's as one"
    );
}

/// Headers that do not compile are a located error: the compiler's message names the header
/// and line.
#[test]
fn broken_header_is_a_located_error() {
    let all = prefixes();
    let Some(prefix) = all.first() else {
        eprintln!("SKIPPED: SEL4_PREFIX is not set");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&prefix.join("libsel4"), &dir.path().join("libsel4"));
    let inc = dir.path().join("libsel4/include");
    edit(
        &inc,
        "sel4/errors.h",
        "seL4_RangeError,",
        "seL4_RangeError,,",
    );
    let err = sel4_build::abi::check_abi(dir.path()).expect_err("broken header refused");
    let text = err.to_string();
    assert!(text.contains("sel4/errors.h:"), "{text}");
    assert!(text.contains("error:"), "{text}");
    if let sel4_build::abi::AbiError::Probe(sel4_build::probe::ProbeError::Compile {
        kept, ..
    }) = &err
    {
        std::fs::remove_dir_all(kept).expect("clean up the kept probe");
    } else {
        panic!("not a compile error: {text}");
    }
}
