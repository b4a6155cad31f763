//! The tables in `docs/GUESTS.md` between `<!-- generated:NAME begin -->` and
//! `<!-- generated:NAME end -->` must be exactly what this test generates from the contract
//! (`guests::mmio::SEQUENCE`, `guests::hostile::STEPS`). Run with `UPDATE_DOCS=1` to rewrite
//! them.

use std::fmt::Write as _;
use std::path::PathBuf;

use guests::hostile::{self, Action, Expect, STEPS};
use guests::layout::TESTDEV_BASE;
use guests::mmio::SEQUENCE;
use guests::{psci, testdev, zx};

fn mmio_table() -> String {
    let mut t = String::from(
        "| # | instruction | addr | size | sign_extend | xt | read | packet data | x[xt] after |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (i, a) in SEQUENCE.iter().enumerate() {
        let name = match a.addr - TESTDEV_BASE {
            testdev::ECHO => " (ECHO)",
            testdev::RESULT => " (RESULT)",
            _ => "",
        };
        let (data, after) = match (a.read, a.xt) {
            (true, 31) => ("0".to_string(), "— (XZR)".to_string()),
            (true, _) => ("0".to_string(), format!("{:#x}", a.reg)),
            (false, _) => (format!("{:#x}", a.data), String::new()),
        };
        writeln!(
            t,
            "| {} | `{}` | {:#x}{name} | {} | {} | {} | {} | {data} | {after} |",
            i + 1,
            a.insn,
            a.addr,
            a.size,
            u8::from(a.sign_extend),
            a.xt,
            u8::from(a.read),
        )
        .unwrap();
    }
    t
}

fn smc_name(function: u64) -> &'static str {
    match function {
        f if f == u64::from(psci::VERSION) => " (PSCI_VERSION)",
        f if f == u64::from(psci::FEATURES) => " (PSCI_FEATURES)",
        f if f == u64::from(psci::CPU_SUSPEND) => " (CPU_SUSPEND)",
        f if f == u64::from(psci::AFFINITY_INFO) => " (AFFINITY_INFO)",
        f if f == u64::from(psci::MIGRATE_INFO_TYPE) => " (MIGRATE_INFO_TYPE)",
        f if f == u64::from(psci::CPU_ON_32) => " (CPU_ON, SMC32 id)",
        f if f == u64::from(psci::SYSTEM_OFF) => " (SYSTEM_OFF id)",
        0x8000_0000 => " (SMCCC_VERSION)",
        0x8000_8000 => " (SMCCC_ARCH_WORKAROUND_1)",
        0xC200_0000 => " (SiP)",
        0xC300_0000 => " (OEM)",
        0xB200_0000 => " (Trusted OS)",
        _ => "",
    }
}

fn action(a: &Action) -> String {
    match *a {
        Action::Hvc { number, x0, args } if args == hostile::FORGED_VMFAULT => {
            format!("`hvc #0`, x7 = {number}, x0 = {x0}, forged VMFault message")
        }
        Action::Hvc { number, x0, .. } => format!("`hvc #0`, x7 = {number}, x0 = {x0:#x}"),
        Action::HvcImmMax { number } => format!("`hvc #0xffff`, x7 = {number:#x}"),
        Action::Smc { function } => format!("`smc #0`, x0 = {function:#x}{}", smc_name(function)),
        Action::SmcImm1 { function } => {
            format!("`smc #1`, x0 = {function:#x}{}", smc_name(function))
        }
        Action::SmcImmMax { function } => {
            format!("`smc #0xffff`, x0 = {function:#x}{}", smc_name(function))
        }
        Action::Load { addr } => format!("`ldr x9, [x10]`, x10 = {addr:#x}"),
        Action::Store { addr } => format!("`str x9, [x10]`, x10 = {addr:#x}"),
        Action::Store32 { addr } => format!("`str w9, [x10]`, x10 = {addr:#x}"),
        Action::LoadPair { addr } => format!("`ldp x9, x11, [x10]`, x10 = {addr:#x}"),
        Action::LoadPostIndex { addr } => format!("`ldr x9, [x10], #8`, x10 = {addr:#x}"),
        Action::Jump { addr } => format!("`blr x10`, x10 = {addr:#x}"),
        Action::ReadCntpCtl => "`mrs x9, cntp_ctl_el0`".into(),
        Action::WriteCntpCtl => "`msr cntp_ctl_el0, x9` (x9 = 1)".into(),
        Action::ReadCntpct => "`mrs x9, cntpct_el0`".into(),
        Action::Svc0 => "`svc #0`".into(),
        Action::SvcMax => "`svc #0xffff`".into(),
        Action::Brk0 => "`brk #0`".into(),
        Action::Udf => "`udf #0`".into(),
        Action::ReadHcrEl2 => "`mrs x9, hcr_el2`".into(),
        Action::WriteVbarEl2 => "`msr vbar_el2, x9`".into(),
        Action::IllegalEret => "`eret` to EL2h (SPSR_EL1 = 0x3c9)".into(),
    }
}

fn status(s: i32) -> &'static str {
    match s {
        zx::ERR_NOT_SUPPORTED => "`ZX_ERR_NOT_SUPPORTED`",
        zx::ERR_NOT_FOUND => "`ZX_ERR_NOT_FOUND`",
        zx::ERR_IO_DATA_INTEGRITY => "`ZX_ERR_IO_DATA_INTEGRITY`",
        _ => "(unnamed status)",
    }
}

fn expect(e: &Expect) -> String {
    match *e {
        Expect::Continue { result } => format!("continues; RESULT = {result:#x}"),
        Expect::GuestException { esr } => format!("guest vector; RESULT = ESR {esr:#x}"),
        Expect::Skipped { status: s, result } => {
            format!("{} once; RESULT = {result:#x}", status(s))
        }
        Expect::Stuck { status: s } => format!("{} stuck", status(s)),
        Expect::Sel4Syscall => "seL4 syscall".into(),
    }
}

fn hostile_table() -> String {
    let mut t = String::from("| # | action | expected |\n|---|---|---|\n");
    for (i, s) in STEPS.iter().enumerate() {
        writeln!(t, "| {i} | {} | {} |", action(&s.action), expect(&s.expect)).unwrap();
    }
    t
}

/// Replaces (or checks) the generated region `name` of `doc`.
fn region(doc: &str, name: &str, body: &str) -> (String, bool) {
    let begin = format!("<!-- generated:{name} begin -->\n");
    let end = format!("<!-- generated:{name} end -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("{begin:?} missing"))
        + begin.len();
    let stop = start
        + doc[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("{end:?} missing"));
    let current = doc[start..stop] == *body;
    (format!("{}{body}{}", &doc[..start], &doc[stop..]), current)
}

#[test]
fn guests_md_tables_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/GUESTS.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/GUESTS.md");
    let (doc2, mmio_ok) = region(&doc, "mmio", &mmio_table());
    let (doc3, hostile_ok) = region(&doc2, "hostile", &hostile_table());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, doc3).expect("write docs/GUESTS.md");
        return;
    }
    assert!(
        mmio_ok && hostile_ok,
        "docs/GUESTS.md tables are stale; regenerate with \
         `UPDATE_DOCS=1 cargo test -p guests --test guests_doc`"
    );
}

#[test]
fn guests_md_states_the_layout() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/GUESTS.md"),
    )
    .unwrap();
    for needle in [
        "0x4000_0000",
        "0x0900_0000",
        "0x0a00_0000",
        "0x8_0000_1000",
        "0x0800_0000",
    ] {
        assert!(doc.contains(needle), "{needle} missing");
    }
    for n in hostile::SKIPPED_SEL4_SYSCALLS {
        assert!(
            doc.contains(&format!("{n} ")),
            "skipped syscall {n} not explained"
        );
    }
}
