//! Host checks of the contract tables against their own reference models and the link map.

use crate::hostile::{self, Action, Expect, STEPS};
use crate::layout::{self, GICC_BASE, GICC_SIZE, RAM_BASE, RAM_END, TESTDEV_BASE, UART_BASE};
use crate::mmio::{self, SEQUENCE};
use crate::testdev::{self, device_read, size_mask};
use crate::{compute, psci, zx};

/// The register value and the packet a read or write produces agree with the device model.
#[test]
fn mmio_sequence_matches_the_device_model() {
    for (i, a) in SEQUENCE.iter().enumerate() {
        assert!(
            a.addr >= TESTDEV_BASE && a.addr < TESTDEV_BASE + layout::TESTDEV_SIZE,
            "#{i}"
        );
        assert!(matches!(a.size, 1 | 2 | 4 | 8), "#{i}: size {}", a.size);
        assert_eq!(
            a.addr % u64::from(a.size),
            0,
            "#{i}: unaligned (Device memory)"
        );
        assert!(a.xt <= 31, "#{i}");
        if a.read {
            let raw = device_read(a.addr - TESTDEV_BASE, u64::from(a.size), 0);
            assert_eq!(a.data, raw, "#{i}: raw device value");
            let reg = if a.xt == 31 {
                0
            } else {
                mmio::extend(raw, a.size, a.sign_extend, a.wide)
            };
            assert_eq!(a.reg, reg, "#{i}: register value");
        } else {
            assert!(!a.sign_extend && !a.wide, "#{i}");
            assert_eq!(
                a.data & size_mask(u64::from(a.size)),
                a.data,
                "#{i}: data wider than size"
            );
            assert_eq!(a.reg, a.data, "#{i}");
            if a.xt == 31 {
                assert_eq!(a.data, 0, "#{i}: XZR stores 0");
            }
        }
    }
}

/// Every load but the one into XZR is echoed at once with its full register.
#[test]
fn mmio_loads_are_echoed() {
    let mut i = 0;
    let mut loads = 0;
    while i < SEQUENCE.len() {
        let a = SEQUENCE[i];
        if a.read && a.xt != 31 {
            let echo = SEQUENCE[i + 1];
            assert_eq!(echo.addr, TESTDEV_BASE + testdev::ECHO, "#{i}");
            assert_eq!(
                (echo.size, echo.xt, echo.data, echo.read),
                (8, a.xt, a.reg, false),
                "#{i}"
            );
            loads += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    assert_eq!(loads, 15);
}

/// The checksum is the sum of the echoed registers, and it is the last access.
#[test]
fn mmio_checksum_is_the_sum_of_the_loaded_registers() {
    let sum = SEQUENCE
        .iter()
        .filter(|a| a.read && a.xt != 31)
        .fold(0u64, |s, a| s.wrapping_add(a.reg));
    assert_eq!(sum, mmio::CHECKSUM);
    let last = SEQUENCE[SEQUENCE.len() - 1];
    assert_eq!(
        (last.addr, last.size, last.xt, last.data),
        (TESTDEV_BASE, 8, 21, sum)
    );
}

/// The sequence covers what the brief asks: every size read with and without sign extension,
/// both destination widths, XZR both ways, every store size.
#[test]
fn mmio_sequence_covers_every_access_kind() {
    let has = |f: &dyn Fn(&mmio::Access) -> bool| SEQUENCE.iter().any(f);
    for size in [1u8, 2, 4, 8] {
        assert!(
            has(&|a| a.read && a.size == size && !a.sign_extend),
            "plain load of {size}"
        );
        assert!(
            has(&|a| !a.read && a.size == size && a.xt != 31),
            "store of {size}"
        );
        if size < 8 {
            assert!(
                has(&|a| a.read && a.size == size && a.sign_extend && a.wide),
                "ldrs{size} to X"
            );
        }
        if size < 4 {
            assert!(
                has(&|a| a.read && a.size == size && a.sign_extend && !a.wide),
                "ldrs{size} to W"
            );
        }
    }
    assert!(has(&|a| a.read && a.xt == 31));
    assert!(has(&|a| !a.read && a.xt == 31));
    // A W-register load whose poisoned upper half must come back zero.
    assert!(has(&|a| a.read
        && !a.wide
        && a.reg >> 32 == 0
        && mmio::POISON >> 32 != 0));
}

#[test]
fn extend_follows_the_architecture() {
    assert_eq!(mmio::extend(0x80, 1, true, false), 0xFFFF_FF80);
    assert_eq!(mmio::extend(0x80, 1, true, true), 0xFFFF_FFFF_FFFF_FF80);
    assert_eq!(mmio::extend(0x7F, 1, true, true), 0x7F);
    assert_eq!(mmio::extend(0x8000, 2, false, true), 0x8000);
    assert_eq!(
        mmio::extend(0x8000_0000, 4, true, true),
        0xFFFF_FFFF_8000_0000
    );
    assert_eq!(mmio::extend(u64::MAX, 8, false, false), 0xFFFF_FFFF);
    assert_eq!(
        mmio::extend(0x1FF, 1, false, true),
        0xFF,
        "raw is masked to size"
    );
}

#[test]
fn device_model_answers() {
    assert_eq!(
        device_read(testdev::PATTERN_NEG, 8, 0),
        testdev::PATTERN_NEG_VALUE
    );
    assert_eq!(device_read(testdev::PATTERN_POS + 6, 2, 0), 0x7877);
    assert_eq!(device_read(testdev::IN_IRQ_COUNT, 8, 3), 3);
    assert_eq!(
        device_read(testdev::RESULT, 8, 3),
        0,
        "write-only registers read 0"
    );
    assert_eq!(
        device_read(testdev::PATTERN_NEG + 4, 8, 0),
        0,
        "straddling access"
    );
}

#[test]
fn compute_expectations() {
    assert_eq!(compute::fib(compute::FIB_N), compute::FIB_20);
    assert_eq!(compute::fib(compute::FIB_N + 1), compute::FIB_21);
    let mut input = [0u64; 31];
    for (i, x) in input.iter_mut().enumerate() {
        *x = 0x1000 + i as u64;
    }
    input[0] = u64::MAX;
    input[1] = 2;
    input[2] = 1 << 40;
    input[3] = 1 << 30;
    let out = compute::expected_x(input);
    assert_eq!(out[0], Some(u64::from(psci::CPU_OFF)));
    assert_eq!(out[19], Some(1), "wrapping add");
    assert_eq!(out[20], Some(0), "low 64 bits of 2^70");
    assert_eq!(out[21], Some(6765));
    assert_eq!((out[9], out[10]), (None, None));
    for i in [1, 2, 3, 4, 8, 11, 18, 26, 30] {
        assert_eq!(out[i], Some(input[i]), "x{i} unchanged");
    }
    assert_eq!(compute::expected_sp(1), RAM_END - layout::STACK_SIZE);
}

/// link.ld's numbers are the layout's.
#[test]
fn link_script_matches_layout() {
    let script = include_str!("../link.ld");
    let value = |name: &str| {
        let line = script
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} =")))
            .unwrap_or_else(|| panic!("{name} missing from link.ld"));
        let hex = line
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .trim_end_matches(';')
            .trim_start_matches("0x");
        u64::from_str_radix(hex, 16).unwrap()
    };
    assert_eq!(value("RAM_BASE"), RAM_BASE);
    assert_eq!(value("STACKS_BASE"), layout::STACKS_BASE);
}

#[test]
fn layout_is_consistent() {
    assert_eq!(layout::stack_top(0), RAM_END);
    assert_eq!(layout::STACKS_BASE, layout::stack_top(layout::MAX_CPUS));
    const { assert!(layout::MAX_CPUS >= 7, "Zircon allows 7 VCPUs per guest") };
    for base in [UART_BASE, TESTDEV_BASE, GICC_BASE, layout::GICD_BASE] {
        assert_eq!(base % layout::PAGE_SIZE, 0);
        assert!(base + layout::PAGE_SIZE <= RAM_BASE || base >= RAM_END);
    }
    assert_eq!(crate::gicc::CTLR_GUEST, 0b111);
}

fn outside_everything(addr: u64) -> bool {
    let within = |base: u64, size: u64| addr >= base && addr < base + size;
    !within(RAM_BASE, layout::RAM_SIZE)
        && !within(UART_BASE, layout::UART_SIZE)
        && !within(TESTDEV_BASE, layout::TESTDEV_SIZE)
        && !within(GICC_BASE, GICC_SIZE)
}

/// No step attempts a skipped syscall, touches RAM, or powers the guest off early; every
/// "not found" address is really outside the map; the table has the documented blocks.
#[test]
fn hostile_steps_are_safe_and_as_documented() {
    let mut counts = [0usize; 5];
    for (i, s) in STEPS.iter().enumerate() {
        match s.action {
            Action::Hvc { number, .. } | Action::HvcImmMax { number } => {
                assert!(
                    !hostile::SKIPPED_SEL4_SYSCALLS.contains(&number),
                    "#{i}: {number}"
                );
                let real = (-8..=-1).contains(&number) || number == -9 || number == -12;
                assert_eq!(
                    real,
                    matches!(s.expect, Expect::Sel4Syscall | Expect::Continue { .. }),
                    "#{i}"
                );
            }
            Action::Smc { function } => {
                let power = [
                    psci::CPU_OFF,
                    psci::CPU_ON,
                    psci::SYSTEM_OFF,
                    psci::SYSTEM_RESET,
                ];
                assert!(!power.iter().any(|&p| u64::from(p) == function), "#{i}");
            }
            Action::Load { addr }
            | Action::Store { addr }
            | Action::Store32 { addr }
            | Action::Jump { addr }
                if s.expect
                    == (Expect::Stuck {
                        status: zx::ERR_NOT_FOUND,
                    }) =>
            {
                // Executing from the test-device trap is the one deliberate exception.
                let fetch_from_trap =
                    matches!(s.action, Action::Jump { addr } if addr == TESTDEV_BASE);
                assert!(
                    outside_everything(addr) || fetch_from_trap,
                    "#{i}: {addr:#x}"
                );
                assert_eq!(addr % 8, 0, "#{i}: must not raise an alignment fault first");
            }
            Action::LoadPair { addr } | Action::LoadPostIndex { addr } => {
                assert!(addr >= TESTDEV_BASE && addr + 16 <= TESTDEV_BASE + layout::TESTDEV_SIZE);
            }
            _ => {}
        }
        counts[match s.expect {
            Expect::Continue { .. } => 0,
            Expect::GuestException { .. } => 1,
            Expect::Skipped { .. } => 2,
            Expect::Stuck { .. } => 3,
            Expect::Sel4Syscall => 4,
        }] += 1;
    }
    assert_eq!(counts, [18, 7, 11, 15, 72]);
    assert_eq!(STEPS.len(), hostile::LEN);
}

#[test]
fn hostile_args_are_reproducible_and_distinct() {
    assert_eq!(hostile::hvc_args(5), hostile::hvc_args(5));
    assert_ne!(hostile::hvc_args(5), hostile::hvc_args(6));
    // SplitMix64's first output for seed 0 (a published test vector).
    assert_eq!(hostile::hvc_args(0)[0], 0xE220_A839_7B1D_CDAF);
}

#[test]
fn esr_encoding() {
    assert_eq!(hostile::esr(0x15, 0), 0x5600_0000);
    assert_eq!(hostile::esr(0x3C, 0), 0xF200_0000);
    assert_eq!(hostile::esr(0x00, 0), 0x0200_0000);
    assert_eq!(hostile::esr(0x0E, 0), 0x3A00_0000);
    // The forged VMFault's ESR: data abort, ISV, 64-bit, SRT 9, SF, write, level-3 fault.
    let forged = hostile::FORGED_VMFAULT[4];
    assert_eq!(forged >> 26, 0x24);
    assert_eq!((forged >> 24) & 1, 1);
    assert_eq!((forged >> 22) & 3, 3);
    assert_eq!((forged >> 16) & 31, 9);
    assert_eq!((forged >> 6) & 1, 1);
}

/// `src/rt/mmio.rs` performs exactly the accesses of `SEQUENCE`, in order: every instruction
/// with an `[x10...]` operand, matched by mnemonic, transfer register and offset.
#[test]
fn mmio_program_performs_the_sequence_in_order() {
    let source = include_str!("rt/mmio.rs");
    let offset_of = |name: &str| match name {
        "neg" => testdev::PATTERN_NEG,
        "pos" => testdev::PATTERN_POS,
        "echo" => testdev::ECHO,
        "sink" => testdev::SINK,
        "result" => testdev::RESULT,
        other => panic!("unknown offset operand {other}"),
    };
    let accesses: Vec<(String, u64)> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.contains("[x10"))
        .map(|l| {
            let (insn, operand) = l.split_once(", [x10").unwrap();
            let operand = operand.trim_end_matches(']');
            let offset = match operand.strip_prefix(", #{") {
                None => 0,
                Some(rest) => {
                    let (name, add) = rest.split_once('}').unwrap();
                    let add = add.trim().trim_start_matches('+').trim();
                    let add = match add.strip_prefix("0x") {
                        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                        None if add.is_empty() => 0,
                        None => add.parse().unwrap(),
                    };
                    offset_of(name) + add
                }
            };
            (insn.to_string(), offset)
        })
        .collect();
    let expected: Vec<(String, u64)> = SEQUENCE
        .iter()
        .map(|a| (a.insn.to_string(), a.addr - TESTDEV_BASE))
        .collect();
    assert_eq!(accesses, expected);
}

/// The `timer` interval is about 1 ms of the counter, never 0 (TVAL = 0 would fire at once
/// forever) and fits TVAL's signed 32 bits.
#[test]
fn timer_interval_is_a_millisecond_and_in_range() {
    use crate::timer::interval;
    assert_eq!(interval(62_500_000), 62_500);
    assert_eq!(interval(1_000_000_000), 1_000_000);
    assert_eq!(interval(999), 1);
    assert_eq!(interval(0), 1);
    assert_eq!(interval(u64::MAX), i32::MAX as u64);
}

/// The `timer` guest's status code differs from every other STATUS value.
#[test]
fn timer_status_is_distinct() {
    let all = [
        testdev::STATUS_READY,
        testdev::STATUS_DONE,
        testdev::STATUS_CPU_ON_FAILED,
        testdev::STATUS_BAD_CPU,
        testdev::STATUS_PANIC,
    ];
    assert!(!all.contains(&testdev::STATUS_UNEXPECTED_IRQ));
    assert_eq!(
        testdev::STATUS_UNEXPECTED_IRQ & testdev::STATUS_EXCEPTION,
        0
    );
}
