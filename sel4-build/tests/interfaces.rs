//! Label and syscall numbering from XML for several configurations (fixtures under
//! `tests/fixtures/xml` and `tests/fixtures/*.gen_config.json`), and, when installs are
//! available, a cross-check of the XML numbering against the C headers seL4 generated from the
//! same XML for that install's configuration (`SEL4_PREFIX`, plus any colon-separated
//! prefixes in `SEL4_BUILD_EXTRA_PREFIXES`, e.g. an MCS or SMP build).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sel4_build::interfaces::{INTERFACE_FILES, SYSCALL_FILE, invocation_labels, syscall_numbers};
use sel4_build::kconfig::KernelConfig;
use sel4_build::probe::{Answer, Query, probe};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn config(name: &str) -> KernelConfig {
    let mut c = KernelConfig::default();
    let path = Path::new(FIXTURES).join(format!("{name}.gen_config.json"));
    c.add_json(&std::fs::read(path).expect("fixture"))
        .expect("valid json");
    c
}

fn xml(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join("xml").join(name)).expect("fixture")
}

fn labels(cfg: &KernelConfig) -> BTreeMap<String, i128> {
    let texts = [
        "object-api.xml",
        "object-api-sel4-arch.xml",
        "object-api-arch.xml",
    ]
    .map(xml);
    let files = [0, 1, 2].map(|i| (INTERFACE_FILES[i], texts[i].as_str()));
    invocation_labels(cfg, &files).expect("fixture labels")
}

fn syscalls(cfg: &KernelConfig) -> BTreeMap<String, i128> {
    syscall_numbers(cfg, SYSCALL_FILE, &xml("syscall.xml")).expect("fixture syscalls")
}

/// The labels as (name, value) in numbering order, the counts included.
fn ordered(map: &BTreeMap<String, i128>) -> Vec<(&str, i128)> {
    let mut v: Vec<(&str, i128)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    v.sort_by_key(|(k, v)| (*v, !k.starts_with('n'), *k));
    v
}

#[test]
fn supported_configuration_numbers_labels_in_order() {
    let l = labels(&config("good"));
    assert_eq!(
        ordered(&l),
        [
            ("InvalidInvocation", 0),
            ("UntypedRetype", 1),
            ("TCBReadRegisters", 2),
            ("TCBConfigure", 3),
            ("TCBSetPriority", 4),
            ("TCBSetTLSBase", 5),
            ("CNodeSaveCaller", 6),
            ("CNodeRotate", 7),
            ("nInvocationLabels", 8),
            ("ARMVSpaceClean_Data", 8),
            ("ARMVSpaceInvalidate_Data", 9),
            ("ARMSMCCall", 10),
            ("nSeL4ArchInvocationLabels", 11),
            ("ARMPageTableMap", 11),
            ("ARMVCPUSetTCB", 12),
            ("ARMIRQIssueIRQHandlerTrigger", 13),
            ("ARMIRQIssueSGISignal", 14),
            ("nArchInvocationLabels", 15),
        ]
    );
}

#[test]
fn mcs_moves_tcb_configure_and_drops_save_caller() {
    let l = labels(&config("mcs"));
    let get = |n: &str| l.get(n).copied();
    assert_eq!(
        get("TCBConfigure"),
        Some(5),
        "MCS TCBConfigure sits after SetTimeoutEndpoint"
    );
    assert_eq!(get("TCBSetTimeoutEndpoint"), Some(4));
    assert_eq!(get("TCBSetTLSBase"), Some(6));
    assert_eq!(get("CNodeSaveCaller"), None);
    assert_eq!(get("CNodeRotate"), Some(7));
    assert_eq!(get("nInvocationLabels"), Some(8));
    assert_eq!(get("ARMIRQIssueSGISignal"), Some(14));
}

#[test]
fn smp_adds_affinity_and_core_targeted_irqs() {
    let l = labels(&config("smp"));
    let get = |n: &str| l.get(n).copied();
    assert_eq!(get("TCBSetAffinity"), Some(5));
    assert_eq!(get("TCBSetTLSBase"), Some(6));
    assert_eq!(get("ARMVSpaceClean_Data"), Some(9));
    assert_eq!(get("ARMIRQIssueIRQHandlerTriggerCore"), Some(15));
    assert_eq!(get("ARMIRQIssueSGISignal"), None);
    assert_eq!(get("nArchInvocationLabels"), Some(16));
}

#[test]
fn other_options_renumber_where_their_conditions_say() {
    let dbg = labels(&config("debug_api"));
    assert_eq!(dbg.get("TCBSetBreakpoint"), Some(&5));
    assert_eq!(dbg.get("TCBSetTLSBase"), Some(&6));
    let no_hyp = labels(&config("no_hyp"));
    assert_eq!(no_hyp.get("ARMVCPUSetTCB"), None);
    assert_eq!(no_hyp.get("ARMIRQIssueIRQHandlerTrigger"), Some(&12));
    let no_smc = labels(&config("release_no_smc"));
    assert_eq!(no_smc.get("ARMSMCCall"), None);
    assert_eq!(no_smc.get("ARMPageTableMap"), Some(&10));
}

#[test]
fn syscalls_follow_api_and_debug_conditions() {
    let seq = |m: BTreeMap<String, i128>| {
        let mut v: Vec<(String, i128)> = m.into_iter().collect();
        v.sort_by_key(|(_, n)| -n);
        v.into_iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
    };
    let base = [
        "seL4_SysCall=-1",
        "seL4_SysReplyRecv=-2",
        "seL4_SysSend=-3",
        "seL4_SysDebugPutChar=-4",
        "seL4_SysDebugHalt=-5",
    ];
    assert_eq!(seq(syscalls(&config("good"))), base);
    assert_eq!(
        seq(syscalls(&config("mcs"))),
        [
            "seL4_SysCall=-1",
            "seL4_SysReplyRecv=-2",
            "seL4_SysNBSendRecv=-3",
            "seL4_SysSend=-4",
            "seL4_SysWait=-5",
            "seL4_SysDebugPutChar=-6",
            "seL4_SysDebugHalt=-7",
        ]
    );
    let mut smp = base.to_vec();
    smp.push("seL4_SysDebugSendIPI=-6");
    assert_eq!(seq(syscalls(&config("smp"))), smp);
    // Release build: the debug syscalls are absent but still take their numbers.
    assert_eq!(
        seq(syscalls(&config("release_no_smc"))),
        &base[..3],
        "DebugPutChar needs CONFIG_PRINTING, DebugHalt CONFIG_DEBUG_BUILD"
    );
}

/// The C compiler's values of `names` (label and syscall enumerators of the headers seL4
/// generated for `prefix`); a name the headers lack has no value.
fn generated_header_numbers(prefix: &Path, names: &[&String]) -> BTreeMap<String, i128> {
    let queries: Vec<Query> = names.iter().map(|n| Query::Value((*n).clone())).collect();
    let answers = probe(&prefix.join("libsel4/include"), &queries)
        .unwrap_or_else(|e| panic!("{}: {e}", prefix.display()));
    let mut out = BTreeMap::new();
    for (name, answer) in names.iter().zip(answers) {
        if let Answer::Int(v) = answer {
            out.insert((*name).clone(), v);
        }
    }
    out
}

#[test]
fn xml_numbering_matches_the_generated_headers_of_each_install() {
    let mut prefixes: Vec<PathBuf> = std::env::var_os("SEL4_PREFIX")
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if let Some(extra) = std::env::var_os("SEL4_BUILD_EXTRA_PREFIXES") {
        prefixes.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    if prefixes.is_empty() {
        eprintln!("SKIPPED: neither SEL4_PREFIX nor SEL4_BUILD_EXTRA_PREFIXES is set");
        return;
    }
    for prefix in prefixes {
        let headers = sel4_build::abi::Headers::load(&prefix)
            .unwrap_or_else(|e| panic!("{}: {e}", prefix.display()));
        let names: Vec<&String> = headers
            .labels
            .keys()
            .chain(headers.syscalls.keys())
            .collect();
        let generated = generated_header_numbers(&prefix, &names);
        let mut compared = 0;
        for (name, value) in headers.labels.iter().chain(&headers.syscalls) {
            assert_eq!(
                generated.get(name),
                Some(value),
                "{}: {name}",
                prefix.display()
            );
            compared += 1;
        }
        eprintln!(
            "{}: {compared} XML numbers equal the generated headers'",
            prefix.display()
        );
        assert!(
            compared > 60,
            "{}: only {compared} numbers",
            prefix.display()
        );
    }
}
