//! `check_config` against fixture installs: a good one, one per unsupported option, missing
//! and malformed files, and (when `SEL4_PREFIX` is set) the real install.

use std::fs;
use std::path::{Path, PathBuf};

use sel4_build::config::{ConfigError, check_config};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A minimal aarch64 ELF64 header (what check_config inspects of kernel.elf).
fn fake_elf() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // 64-bit
    h[5] = 1; // little-endian
    h[18..20].copy_from_slice(&183u16.to_le_bytes());
    h
}

/// Builds an install prefix whose kernel configuration is fixture `<name>.gen_config.json`.
fn prefix(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().to_path_buf();
    let put = |rel: &str, bytes: &[u8]| {
        let path = p.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("write");
    };
    let fixture = |f: &str| fs::read(Path::new(FIXTURES).join(f)).expect("fixture");
    put("bin/kernel.elf", &fake_elf());
    put(
        "libsel4/include/kernel/gen_config.json",
        &fixture(&format!("{name}.gen_config.json")),
    );
    put(
        "libsel4/include/sel4/gen_config.json",
        &fixture("libsel4.gen_config.json"),
    );
    put("support/platform_gen.json", &fixture("platform_gen.json"));
    (dir, p)
}

fn refused(name: &str) -> (Vec<&'static str>, String) {
    let (_d, p) = prefix(name);
    match check_config(&p) {
        Err(e @ ConfigError::Unsupported { .. }) => {
            let msg = e.to_string();
            let ConfigError::Unsupported { problems, .. } = e else {
                unreachable!()
            };
            (problems.iter().map(|u| u.option).collect(), msg)
        }
        other => panic!("{name}: expected Unsupported, got {other:?}"),
    }
}

#[test]
fn good_configuration_is_accepted() {
    let (_d, p) = prefix("good");
    let info = check_config(&p).expect("supported");
    assert_eq!(info.platform, "qemu-arm-virt");
    assert_eq!(info.cpu.as_deref(), Some("cortex-a57"));
    assert!(info.debug_build && info.smc_calls_allowed);
    assert_eq!(
        (info.root_cnode_size_bits, info.max_bootinfo_untypeds),
        (12, 230)
    );
    assert_eq!(info.memory, [(0x6000_0000, 0xC000_0000)]);
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert_eq!(info.kernel_elf, p.join("bin/kernel.elf"));
}

#[test]
fn each_unsupported_option_is_named_with_what_is_supported() {
    let cases = [
        ("x86_64", "CONFIG_SEL4_ARCH", "x86_64"),
        ("not_qemu", "CONFIG_PLAT", "odroidc4"),
        ("no_hyp", "CONFIG_ARM_HYPERVISOR_SUPPORT", "disabled"),
        ("mcs", "CONFIG_KERNEL_MCS", "enabled"),
        ("smp", "CONFIG_MAX_NUM_NODES", "4"),
        ("pa40", "CONFIG_ARM_PA_SIZE_BITS_44", "disabled"),
        ("gicv3", "CONFIG_ARM_GIC_V3_SUPPORT", "enabled"),
        ("no_printing", "CONFIG_PRINTING", "disabled"),
        ("debug_api", "CONFIG_HARDWARE_DEBUG_API", "enabled"),
    ];
    for (fixture, option, found) in cases {
        let (options, msg) = refused(fixture);
        assert_eq!(options, [option], "{fixture}");
        assert!(
            msg.contains(&format!("{option} is {found}; supported: ")),
            "{fixture}: {msg}"
        );
        assert!(msg.contains("supported: aarch64 qemu-arm-virt"), "{msg}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let (options, _) = refused("mcs_and_gicv3");
    assert_eq!(options, ["CONFIG_KERNEL_MCS", "CONFIG_ARM_GIC_V3_SUPPORT"]);
}

#[test]
fn soft_differences_are_warnings() {
    let (_d, p) = prefix("release_no_smc");
    let info = check_config(&p).expect("still supported");
    assert!(!info.debug_build && !info.smc_calls_allowed);
    assert_eq!(info.warnings.len(), 2, "{:?}", info.warnings);
}

#[test]
fn missing_files_are_named() {
    for rel in [
        "bin/kernel.elf",
        "libsel4/include/kernel/gen_config.json",
        "libsel4/include/sel4/gen_config.json",
        "support/platform_gen.json",
    ] {
        let (_d, p) = prefix("good");
        fs::remove_file(p.join(rel)).expect("rm");
        match check_config(&p) {
            Err(e @ ConfigError::Missing { .. }) => {
                assert!(
                    e.to_string().contains(&p.join(rel).display().to_string()),
                    "{e}"
                );
            }
            other => panic!("{rel}: expected Missing, got {other:?}"),
        }
    }
}

#[test]
fn malformed_files_are_refused() {
    let (_d, p) = prefix("good");
    fs::write(p.join("bin/kernel.elf"), b"not an elf").expect("write");
    assert!(matches!(
        check_config(&p),
        Err(ConfigError::Malformed { .. })
    ));
    let (_d, p) = prefix("good");
    let mut elf = fake_elf();
    elf[18] = 62; // x86-64
    fs::write(p.join("bin/kernel.elf"), elf).expect("write");
    let e = check_config(&p).expect_err("wrong machine");
    assert!(e.to_string().contains("e_machine is 62"), "{e}");
    let (_d, p) = prefix("good");
    fs::write(p.join("support/platform_gen.json"), b"{\"memory\": 3}").expect("write");
    assert!(matches!(
        check_config(&p),
        Err(ConfigError::Malformed { .. })
    ));
    let (_d, p) = prefix("good");
    fs::write(
        p.join("libsel4/include/kernel/gen_config.json"),
        b"{\"A\": [1]}",
    )
    .expect("write");
    assert!(matches!(
        check_config(&p),
        Err(ConfigError::Malformed { .. })
    ));
}

#[test]
fn installed_kernel_when_available() {
    let Some(prefix) = std::env::var_os("SEL4_PREFIX").map(PathBuf::from) else {
        eprintln!("SKIPPED: SEL4_PREFIX is not set; no installed kernel to check");
        return;
    };
    let info = check_config(&prefix).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{info:?}");
    assert_eq!(info.platform, "qemu-arm-virt");
}
